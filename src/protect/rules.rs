//! Per-issuer rules: each trusted issuer carries its own keys, audiences, `typ` policy and
//! required claims ([`TrustedIssuer`]); the validator routes a token to its issuer's rules by
//! `iss` and never applies one issuer's keys or audiences to another's tokens.

use std::fmt;
use std::time::Duration;

use crate::jws::{TimeClaims, TimeWindow};
use crate::keys::KeySource;

/// Which JOSE header `typ` an issuer's tokens must carry.
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
    pub(crate) fn accepts(&self, typ: Option<&str>) -> bool {
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

/// A trusted issuer and the rules its tokens are held to, for
/// [`ValidatorBuilder::trust`](super::ValidatorBuilder::trust).
///
/// A setting left unset here falls back to the one set on the builder
/// ([`audience`](super::ValidatorBuilder::audience),
/// [`token_type`](super::ValidatorBuilder::token_type),
/// [`required_claims`](super::ValidatorBuilder::required_claims)), so a single-issuer setup
/// never needs this type.
///
/// ```
/// use tower_client_credentials::Validator;
/// use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
/// use tower_client_credentials::protect::{TokenType, TrustedIssuer};
///
/// let ours = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
/// let partner = KeyRing::new(SigningKey::generate(Algorithm::ES256)?);
/// let validator = Validator::builder()
///     .issuer("https://auth.example.com", KeySource::local(ours))
///     .audience("reports-api")
///     .trust(
///         TrustedIssuer::new("https://idp.partner.example", KeySource::local(partner))
///             .audience("api://reports")
///             .token_type(TokenType::Any)
///             .required_claims(["jti"]),
///     )
///     .build()?;
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct TrustedIssuer {
    pub(super) issuer: String,
    pub(super) keys: KeySource,
    pub(super) audiences: Vec<String>,
    pub(super) typ: Option<TokenType>,
    pub(super) required: Option<Vec<String>>,
    pub(super) max_lifetime: Option<Duration>,
}

impl TrustedIssuer {
    /// Trusts tokens whose `iss` is exactly `issuer`, signed by a key of `keys`.
    pub fn new(issuer: impl Into<String>, keys: KeySource) -> Self {
        TrustedIssuer {
            issuer: issuer.into(),
            keys,
            audiences: Vec::new(),
            typ: None,
            required: None,
            max_lifetime: None,
        }
    }

    /// Accepts this issuer's tokens whose `aud` contains `audience`. Call again to accept
    /// several. When never called, the builder's audiences apply.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Which header `typ` this issuer's tokens must carry (default: the builder's, which
    /// defaults to [`TokenType::AccessToken`]).
    pub fn token_type(mut self, typ: TokenType) -> Self {
        self.typ = Some(typ);
        self
    }

    /// Claims this issuer's tokens must carry besides `iss`, `sub`, `aud` and `exp`: any of
    /// `iat`, `nbf`, `jti`, `client_id` (default: the builder's). RFC 9068 tokens
    /// ([`TokenType::AccessToken`]) always require `iat`, `jti` and `client_id`.
    pub fn required_claims<I, T>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.required = Some(claims.into_iter().map(Into::into).collect());
        self
    }

    /// The longest lifetime accepted for this issuer's tokens (default: the builder's, which
    /// defaults to [`DEFAULT_MAX_LIFETIME`](super::DEFAULT_MAX_LIFETIME)); see
    /// [`ValidatorBuilder::max_lifetime`](super::ValidatorBuilder::max_lifetime).
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = Some(max);
        self
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}

impl fmt::Debug for TrustedIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedIssuer")
            .field("issuer", &self.issuer)
            .field("keys", &self.keys)
            .field("audiences", &self.audiences)
            .field("typ", &self.typ)
            .field("required", &self.required)
            .field("max_lifetime", &self.max_lifetime)
            .finish()
    }
}

/// Optional claims an issuer's tokens must carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Required {
    pub(crate) iat: bool,
    pub(crate) nbf: bool,
    pub(crate) jti: bool,
    pub(crate) client_id: bool,
}

impl Required {
    /// Parses claim names; `Err` carries the first unknown one.
    pub(crate) fn parse(names: &[String]) -> Result<Self, String> {
        let mut required = Required::default();
        for name in names {
            match name.as_str() {
                "iat" => required.iat = true,
                "nbf" => required.nbf = true,
                "jti" => required.jti = true,
                "client_id" => required.client_id = true,
                // Always required.
                "iss" | "sub" | "aud" | "exp" => {}
                _ => return Err(name.clone()),
            }
        }
        Ok(required)
    }
}

/// The checked, resolved rules of one issuer, as the validator applies them.
///
/// The place where per-provider conventions grow: the claim that carries the scopes, the claim
/// that names the client, issuer aliases.
pub(crate) struct IssuerRules {
    pub(crate) issuer: String,
    pub(crate) keys: KeySource,
    pub(crate) audiences: Box<[String]>,
    pub(crate) typ: TokenType,
    pub(crate) required: Required,
    /// Seconds; at least 1.
    pub(crate) max_lifetime: u64,
}

impl IssuerRules {
    pub(crate) fn accepts_audience(&self, aud: &crate::claims::Audience) -> bool {
        self.audiences.iter().any(|a| aud.contains(a))
    }

    /// Whether the token lives no longer than the issuer allows: `exp − iat`, or, without
    /// `iat`, `exp − now` with the leeway for the issuer's clock being ahead of ours. An `exp`
    /// far in the future (`u64::MAX`) never passes.
    pub(crate) fn accepts_lifetime(&self, times: TimeClaims, window: TimeWindow) -> bool {
        let lifetime = match times.iat {
            Some(iat) => times.exp.saturating_sub(iat),
            None => times
                .exp
                .saturating_sub(window.now)
                .saturating_sub(window.leeway),
        };
        lifetime <= self.max_lifetime
    }
}

impl fmt::Debug for IssuerRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("typ", &self.typ)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_matching_is_case_insensitive_with_optional_application_prefix() {
        let at = TokenType::AccessToken;
        for typ in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/At+Jwt",
        ] {
            assert!(at.accepts(Some(typ)), "{typ}");
        }
        for typ in ["JWT", "at+jwt2", "application/", ""] {
            assert!(!at.accepts(Some(typ)), "{typ}");
        }
        assert!(!at.accepts(None));
        assert!(TokenType::Any.accepts(None));
        assert!(TokenType::Exact("JWT".into()).accepts(Some("application/jwt")));
    }

    #[test]
    fn required_claim_names_are_checked() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Required::parse(&names(&["jti", "exp"])),
            Ok(Required {
                jti: true,
                ..Required::default()
            })
        );
        assert_eq!(
            Required::parse(&names(&["tenant"])),
            Err("tenant".to_owned())
        );
    }
}
