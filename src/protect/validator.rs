//! [`Validator`]: checks one access token, completely, before anything trusts it.
//!
//! ```
//! use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
//! use tower_client_credentials::Validator;
//!
//! let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
//! let validator = Validator::builder()
//!     .issuer("https://auth.example.com", KeySource::local(ring.clone()))
//!     .audience("reports-api")
//!     .build()?;
//!
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
//! let token = ring.active().sign("at+jwt", &serde_json::json!({
//!     "iss": "https://auth.example.com", "sub": "svc", "aud": "reports-api",
//!     "exp": now + 60, "iat": now, "jti": "1", "client_id": "svc", "scope": "reports:read",
//! }))?;
//! let claims = validator.verify::<tower_client_credentials::ExtraClaims>(&token)?;
//! assert_eq!(claims.sub, "svc");
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::claims::Claims;
use crate::error::TokenError;
use crate::jws::Compact;
use crate::keys::KeySource;

/// Default clock leeway for `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// The largest leeway the builder accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Default maximum token length, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// A source of the current Unix time in seconds.
type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Checks access tokens: size, structure, `crit`, `typ`, issuer, key by `kid`, algorithm from
/// the key, signature, `exp`/`nbf` with leeway, audience and required claims.
///
/// Built once with [`Validator::builder`]; cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: Vec<(String, KeySource)>,
    audiences: Vec<String>,
    leeway: u64,
    typ: TokenType,
    max_token_bytes: usize,
    require: Required,
    clock: Clock,
}

#[derive(Debug, Clone, Copy, Default)]
struct Required {
    iat: bool,
    nbf: bool,
    jti: bool,
    client_id: bool,
}

/// Which JOSE header `typ` the validator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenType {
    /// RFC 9068 access tokens: `at+jwt` or `application/at+jwt` (case-insensitive), and the
    /// RFC 9068 claims `iat`, `jti` and `client_id` are required. The default.
    AccessToken,
    /// Exactly this `typ` (case-insensitive, with or without the `application/` prefix).
    Exact(String),
    /// Any `typ`, or none: plain JWTs from an identity provider that does not follow RFC 9068.
    Any,
}

impl TokenType {
    fn accepts(&self, typ: Option<&str>) -> bool {
        let wanted = match self {
            TokenType::Any => return true,
            TokenType::AccessToken => "at+jwt",
            TokenType::Exact(t) => t.as_str(),
        };
        // RFC 7515 §4.1.9: media types compare case-insensitively, `application/` optional.
        typ.is_some_and(|typ| {
            strip_application(typ).eq_ignore_ascii_case(strip_application(wanted))
        })
    }
}

fn strip_application(media_type: &str) -> &str {
    match media_type.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &media_type[12..],
        _ => media_type,
    }
}

/// A validator configuration mistake, reported by [`ValidatorBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No trusted issuer was configured.
    #[error("at least one issuer is required")]
    NoIssuer,
    /// An issuer was configured twice, or with an empty name.
    #[error("issuer names must be non-empty and unique")]
    BadIssuer,
    /// No audience was configured: a token for any service would be accepted.
    #[error("at least one audience is required")]
    NoAudience,
    /// Leeway above [`MAX_LEEWAY`].
    #[error("leeway may be at most 300 seconds")]
    LeewayTooLarge,
    /// A zero maximum token size.
    #[error("the maximum token size must be positive")]
    BadMaxSize,
    /// A required-claim name the validator does not know.
    #[error("unknown required claim (known: iat, nbf, jti, client_id)")]
    UnknownClaim,
}

/// Builds a [`Validator`].
#[must_use]
pub struct ValidatorBuilder {
    issuers: Vec<(String, KeySource)>,
    audiences: Vec<String>,
    leeway: Duration,
    typ: TokenType,
    max_token_bytes: usize,
    require: Required,
    unknown_claim: bool,
    clock: Option<Clock>,
}

impl Validator {
    /// Starts a builder: leeway 30 s, `typ` `at+jwt`, tokens up to 8 KiB.
    pub fn builder() -> ValidatorBuilder {
        ValidatorBuilder {
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            typ: TokenType::AccessToken,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            require: Required::default(),
            unknown_claim: false,
            clock: None,
        }
    }

    /// Verifies `token` and returns its claims.
    pub fn verify<E: DeserializeOwned>(&self, token: &str) -> Result<Claims<E>, TokenError> {
        let inner = &*self.inner;
        let jws = Compact::parse(token, inner.max_token_bytes)?;
        if !inner.typ.accepts(jws.header.typ.as_deref()) {
            return Err(TokenError::InvalidType);
        }

        let claims: Claims<E> = jws.claims()?;
        let keys = inner
            .issuers
            .iter()
            .find(|(iss, _)| *iss == claims.iss)
            .map(|(_, keys)| keys)
            .ok_or(TokenError::InvalidIssuer)?;
        // The key comes from the issuer and the kid; its one algorithm is the only one accepted.
        let key = keys.select(jws.header.kid.as_deref())?;
        if key.algorithm() != jws.alg {
            return Err(TokenError::AlgorithmMismatch);
        }
        if !key.verify_signature(jws.message.as_bytes(), jws.signature) {
            return Err(TokenError::InvalidSignature);
        }

        let now = (inner.clock)();
        // RFC 7519 §4.1.4: reject on or after exp (+ leeway).
        if now >= self.expires_at(claims.exp) {
            return Err(TokenError::Expired);
        }
        if claims
            .nbf
            .is_some_and(|nbf| now.saturating_add(inner.leeway) < nbf)
        {
            return Err(TokenError::NotYetValid);
        }
        if !inner.audiences.iter().any(|a| claims.aud.contains(a)) {
            return Err(TokenError::InvalidAudience);
        }
        let r = inner.require;
        if (r.iat && claims.iat.is_none())
            || (r.nbf && claims.nbf.is_none())
            || (r.jti && claims.jti.is_none())
            || (r.client_id && claims.client_id.is_none())
        {
            return Err(TokenError::MissingClaim);
        }
        Ok(claims)
    }

    /// The current time by this validator's clock (Unix seconds).
    pub(crate) fn now(&self) -> u64 {
        (self.inner.clock)()
    }

    /// The first Unix second at which a token with this `exp` counts as expired.
    pub(crate) fn expires_at(&self, exp: u64) -> u64 {
        exp.saturating_add(self.inner.leeway)
    }

    /// The largest token this validator reads.
    pub fn max_token_bytes(&self) -> usize {
        self.inner.max_token_bytes
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Validator")
            .field(
                "issuers",
                &inner.issuers.iter().map(|(i, _)| i).collect::<Vec<_>>(),
            )
            .field("audiences", &inner.audiences)
            .field("leeway", &inner.leeway)
            .field("typ", &inner.typ)
            .field("max_token_bytes", &inner.max_token_bytes)
            .finish_non_exhaustive()
    }
}

impl ValidatorBuilder {
    /// Trusts tokens whose `iss` is exactly `issuer`, signed by a key of `keys`. Call again to
    /// trust several issuers; each token is checked against its own issuer's keys only.
    pub fn issuer(mut self, issuer: impl Into<String>, keys: KeySource) -> Self {
        self.issuers.push((issuer.into(), keys));
        self
    }

    /// Accepts tokens whose `aud` contains `audience`. Call again to accept several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Clock leeway for `exp` and `nbf` (default 30 s, at most 5 min; whole seconds).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Which header `typ` to accept (default [`TokenType::AccessToken`]).
    pub fn token_type(mut self, typ: TokenType) -> Self {
        self.typ = typ;
        self
    }

    /// The longest token read, in bytes (default 8 KiB). Longer tokens are rejected before
    /// any decoding.
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    /// Requires these claims besides `iss`, `sub`, `aud` and `exp` (always required): any of
    /// `iat`, `nbf`, `jti`, `client_id`.
    pub fn required_claims<I, T>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        for claim in claims {
            match claim.as_ref() {
                "iat" => self.require.iat = true,
                "nbf" => self.require.nbf = true,
                "jti" => self.require.jti = true,
                "client_id" => self.require.client_id = true,
                "iss" | "sub" | "aud" | "exp" => {}
                _ => self.unknown_claim = true,
            }
        }
        self
    }

    /// Replaces the clock (Unix seconds); for tests and simulations.
    pub fn clock(mut self, now: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(now));
        self
    }

    /// Checks the configuration and builds the validator.
    pub fn build(self) -> Result<Validator, ConfigError> {
        if self.issuers.is_empty() {
            return Err(ConfigError::NoIssuer);
        }
        for (i, (name, _)) in self.issuers.iter().enumerate() {
            if name.is_empty() || self.issuers[..i].iter().any(|(n, _)| n == name) {
                return Err(ConfigError::BadIssuer);
            }
        }
        if self.audiences.is_empty() {
            return Err(ConfigError::NoAudience);
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge);
        }
        if self.max_token_bytes == 0 {
            return Err(ConfigError::BadMaxSize);
        }
        if self.unknown_claim {
            return Err(ConfigError::UnknownClaim);
        }
        let mut require = self.require;
        if self.typ == TokenType::AccessToken {
            // RFC 9068 §2.2 makes these mandatory in access tokens.
            require.iat = true;
            require.jti = true;
            require.client_id = true;
        }
        Ok(Validator {
            inner: Arc::new(Inner {
                issuers: self.issuers,
                audiences: self.audiences,
                leeway: self.leeway.as_secs(),
                typ: self.typ,
                max_token_bytes: self.max_token_bytes,
                require,
                clock: self
                    .clock
                    .unwrap_or_else(|| Arc::new(|| crate::time::Clock::system().now())),
            }),
        })
    }
}

impl fmt::Debug for ValidatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatorBuilder").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::ExtraClaims;
    use crate::keys::Algorithm;
    use crate::keys::{KeyRing, SigningKey};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    const ISS: &str = "https://issuer.test";
    const NOW: u64 = 1_900_000_000;

    fn setup(alg: Algorithm) -> (SigningKey, Validator) {
        let key = SigningKey::generate(alg).unwrap();
        let validator = Validator::builder()
            .issuer(ISS, KeySource::local(KeyRing::new(key.clone())))
            .audience("api")
            .clock(|| NOW)
            .build()
            .unwrap();
        (key, validator)
    }

    fn claims(exp: u64) -> serde_json::Value {
        json!({"iss": ISS, "sub": "c", "aud": "api", "exp": exp, "iat": NOW - 10,
               "jti": "j", "client_id": "c", "scope": "a b"})
    }

    fn forge(header: serde_json::Value, claims: &serde_json::Value, sig: &str) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{h}.{c}.{sig}")
    }

    #[test]
    fn exp_boundary_with_leeway() {
        let (key, v) = setup(Algorithm::EdDSA);
        // exp + leeway == now + 1: still valid; exp + leeway == now: expired.
        let ok = key.sign("at+jwt", &claims(NOW - 30 + 1)).unwrap();
        assert!(v.verify::<ExtraClaims>(&ok).is_ok());
        let late = key.sign("at+jwt", &claims(NOW - 30)).unwrap();
        assert_eq!(
            v.verify::<ExtraClaims>(&late).unwrap_err(),
            TokenError::Expired
        );
    }

    #[test]
    fn none_algorithm_in_every_spelling_is_rejected() {
        let (_, v) = setup(Algorithm::EdDSA);
        for alg in ["none", "None", "NONE", "nOnE"] {
            let t = forge(json!({"alg": alg, "typ": "at+jwt"}), &claims(NOW + 60), "x");
            assert_eq!(
                v.verify::<ExtraClaims>(&t).unwrap_err(),
                TokenError::UnsupportedAlgorithm
            );
            let empty_sig = forge(json!({"alg": alg, "typ": "at+jwt"}), &claims(NOW + 60), "");
            assert!(v.verify::<ExtraClaims>(&empty_sig).is_err());
        }
    }

    #[test]
    fn crit_is_rejected_and_jku_is_ignored() {
        let (key, v) = setup(Algorithm::EdDSA);
        let t = forge(
            json!({"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid(), "crit": ["exp"]}),
            &claims(NOW + 60),
            "x",
        );
        assert_eq!(
            v.verify::<ExtraClaims>(&t).unwrap_err(),
            TokenError::UnsupportedCritical
        );
    }

    #[test]
    fn typ_variants() {
        let (key, v) = setup(Algorithm::EdDSA);
        for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
            let t = key.sign(typ, &claims(NOW + 60)).unwrap();
            assert!(v.verify::<ExtraClaims>(&t).is_ok(), "{typ}");
        }
        for typ in ["JWT", "jwt", "at+jwt2"] {
            let t = key.sign(typ, &claims(NOW + 60)).unwrap();
            assert_eq!(
                v.verify::<ExtraClaims>(&t).unwrap_err(),
                TokenError::InvalidType
            );
        }
    }

    #[test]
    fn rfc9068_claims_are_required_for_access_tokens() {
        let (key, v) = setup(Algorithm::EdDSA);
        let mut c = claims(NOW + 60);
        c.as_object_mut().unwrap().remove("jti");
        let t = key.sign("at+jwt", &c).unwrap();
        assert_eq!(
            v.verify::<ExtraClaims>(&t).unwrap_err(),
            TokenError::MissingClaim
        );
    }

    #[test]
    fn structural_garbage_is_malformed() {
        let (_, v) = setup(Algorithm::EdDSA);
        for bad in [
            "",
            ".",
            "..",
            "a.b",
            "a.b.c.d",
            "!!.!!.!!",
            "e30.e30.",
            "e30.e30.e30",
        ] {
            let err = v.verify::<ExtraClaims>(bad).unwrap_err();
            assert!(
                matches!(err, TokenError::Malformed | TokenError::MissingClaim),
                "{bad}: {err:?}"
            );
        }
        let big = "a".repeat(DEFAULT_MAX_TOKEN_BYTES + 1);
        assert_eq!(
            v.verify::<ExtraClaims>(&big).unwrap_err(),
            TokenError::TooLarge
        );
    }

    #[test]
    fn builder_refuses_unsafe_configs() {
        let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
        let src = || KeySource::local(ring.clone());
        assert_eq!(
            Validator::builder().audience("a").build().unwrap_err(),
            ConfigError::NoIssuer
        );
        assert_eq!(
            Validator::builder().issuer(ISS, src()).build().unwrap_err(),
            ConfigError::NoAudience
        );
        assert_eq!(
            Validator::builder()
                .issuer(ISS, src())
                .issuer(ISS, src())
                .audience("a")
                .build()
                .unwrap_err(),
            ConfigError::BadIssuer
        );
        assert_eq!(
            Validator::builder()
                .issuer(ISS, src())
                .audience("a")
                .leeway(Duration::from_secs(301))
                .build()
                .unwrap_err(),
            ConfigError::LeewayTooLarge
        );
        assert_eq!(
            Validator::builder()
                .issuer(ISS, src())
                .audience("a")
                .required_claims(["tenant"])
                .build()
                .unwrap_err(),
            ConfigError::UnknownClaim
        );
    }
}
