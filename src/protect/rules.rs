//! Per-issuer rules: each trusted issuer carries its own keys, audiences, `typ` policy, required
//! claims, the claims its scopes and client id live in, its allowed clients and the other names
//! it signs as ([`TrustedIssuer`]); the validator routes a token to its issuer's rules by `iss`
//! and never applies one issuer's keys or audiences to another's tokens.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::claim_map::{self, ClaimPath, DEFAULT_CLIENT_ID_CLAIMS, DEFAULT_SCOPE_CLAIMS};
use crate::claims::{Claims, Payload};
use crate::error::TokenError;
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
    /// `at+jwt`, `JWT` or no `typ` at all: access tokens from identity providers that send
    /// plain JWTs (Keycloak, Auth0, Okta), while a token that says it is something else
    /// (`id+jwt`, `logout+jwt`, `secevent+jwt`, …) is still refused. The RFC 9068 claims are
    /// not required.
    Jwt,
    /// Any `typ`, or none: plain JWTs from an identity provider that does not follow RFC 9068.
    Any,
}

impl TokenType {
    pub(crate) fn accepts(&self, typ: Option<&str>) -> bool {
        // RFC 7515 §4.1.9: media types compare case-insensitively, `application/` optional.
        let is = |typ: &str, wanted: &str| {
            strip_application(typ).eq_ignore_ascii_case(strip_application(wanted))
        };
        match (self, typ) {
            (TokenType::Any, _) | (TokenType::Jwt, None) => true,
            (TokenType::Jwt, Some(typ)) => is(typ, "at+jwt") || is(typ, "JWT"),
            (TokenType::AccessToken, typ) => typ.is_some_and(|typ| is(typ, "at+jwt")),
            (TokenType::Exact(wanted), typ) => typ.is_some_and(|typ| is(typ, wanted)),
        }
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
/// never needs this type. [`Provider`](super::Provider) presets fill it in for Keycloak, Auth0,
/// Entra ID and Okta.
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
///             .required_claims(["jti"])
///             .scope_claims(["scp", "realm_access.roles"])
///             .client_id_claims(["azp"])
///             .allowed_clients(["reports-cli"]),
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
    pub(super) aliases: Vec<String>,
    pub(super) scope_claims: Vec<ClaimPath>,
    pub(super) client_id_claims: Vec<ClaimPath>,
    pub(super) allowed_clients: Option<Vec<String>>,
}

impl TrustedIssuer {
    /// Trusts tokens whose `iss` is exactly `issuer`, signed by a key of `keys`, with scopes
    /// from [`DEFAULT_SCOPE_CLAIMS`](super::DEFAULT_SCOPE_CLAIMS) and the client id from
    /// [`DEFAULT_CLIENT_ID_CLAIMS`](super::DEFAULT_CLIENT_ID_CLAIMS).
    pub fn new(issuer: impl Into<String>, keys: KeySource) -> Self {
        TrustedIssuer {
            issuer: issuer.into(),
            keys,
            audiences: Vec::new(),
            typ: None,
            required: None,
            max_lifetime: None,
            aliases: Vec::new(),
            scope_claims: claim_map::paths(&DEFAULT_SCOPE_CLAIMS),
            client_id_claims: claim_map::paths(&DEFAULT_CLIENT_ID_CLAIMS),
            allowed_clients: None,
        }
    }

    /// Another `iss` value this issuer signs as, judged by the same keys and rules: Entra ID's
    /// v1 tokens say `https://sts.windows.net/{tenant}/` where its v2 tokens say
    /// `https://login.microsoftonline.com/{tenant}/v2.0`. Call again for several. An alias may
    /// not be another issuer's name or alias. [`Claims::iss`](crate::Claims::iss) keeps the
    /// token's own spelling.
    pub fn alias(mut self, issuer: impl Into<String>) -> Self {
        self.aliases.push(issuer.into());
        self
    }

    /// The claims that carry this issuer's scopes (default `scope` and `scp`), such as
    /// Keycloak's `realm_access.roles` (dots separate levels; see [`ClaimPath`]). Replaces the
    /// list.
    ///
    /// The scopes of a token are the **union** of every listed claim it carries; each is a
    /// space-separated string or an array of strings. Entries that are not RFC 6749 scope
    /// tokens (a role named `Some Role`, a number) are skipped with a debug log; the token is
    /// refused (`invalid_token`) only when it carries scope entries and none is valid, or when
    /// a listed claim is neither a string nor an array. An empty list: no scopes, ever.
    pub fn scope_claims<I, T>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<ClaimPath>,
    {
        self.scope_claims = claims.into_iter().map(Into::into).collect();
        self
    }

    /// The claims that name this issuer's client, **first present wins** (default `client_id`,
    /// `azp`, `cid`, `appid`); the value must be a string. It becomes
    /// [`Claims::client_id`](crate::Claims::client_id). Replaces the list. RFC 9068 tokens
    /// ([`TokenType::AccessToken`]) must still carry `client_id` itself.
    pub fn client_id_claims<I, T>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<ClaimPath>,
    {
        self.client_id_claims = claims.into_iter().map(Into::into).collect();
        self
    }

    /// Accepts this issuer's tokens only when their client id (see
    /// [`client_id_claims`](Self::client_id_claims)) is one of `clients`; any other token, or
    /// one without a client id, is `invalid_token` ([`TokenError::ClientNotAllowed`]). Call
    /// again to allow more. Identity providers mint tokens for every client registered with
    /// them; this keeps the API to the ones it knows.
    pub fn allowed_clients<I, T>(mut self, clients: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.allowed_clients
            .get_or_insert_with(Vec::new)
            .extend(clients.into_iter().map(Into::into));
        self
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

    /// The other `iss` values this issuer signs as.
    pub fn aliases(&self) -> &[String] {
        &self.aliases
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
            .field("aliases", &self.aliases)
            .field("scope_claims", &self.scope_claims)
            .field("client_id_claims", &self.client_id_claims)
            .field("allowed_clients", &self.allowed_clients)
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
pub(crate) struct IssuerRules {
    pub(crate) issuer: String,
    pub(crate) aliases: Box<[String]>,
    pub(crate) keys: KeySource,
    pub(crate) audiences: Box<[String]>,
    pub(crate) typ: TokenType,
    pub(crate) required: Required,
    /// Seconds; at least 1.
    pub(crate) max_lifetime: u64,
    pub(crate) scope_claims: Box<[ClaimPath]>,
    pub(crate) client_id_claims: Box<[ClaimPath]>,
    pub(crate) allowed_clients: Option<Box<[String]>>,
}

impl IssuerRules {
    /// Whether `iss` is this issuer's name or one of its aliases.
    pub(crate) fn signs_as(&self, iss: &str) -> bool {
        self.issuer == iss || self.aliases.iter().any(|alias| alias == iss)
    }

    /// The required claims, the client id and the scopes of a token whose signature, times and
    /// audience passed; then the rest of its claims become `E`.
    pub(crate) fn claims<E: DeserializeOwned + 'static>(
        &self,
        payload: Payload,
    ) -> Result<Claims<E>, TokenError> {
        let mut rest = payload.rest.0;
        let r = self.required;
        // A named required claim is that claim itself, whatever the client id is read from.
        let raw_client_id = rest.get("client_id").filter(|id| !id.is_null());
        if (r.iat && payload.iat.is_none())
            || (r.nbf && payload.nbf.is_none())
            || (r.jti && payload.jti.is_none())
            || (r.client_id && !raw_client_id.is_some_and(serde_json::Value::is_string))
        {
            return Err(TokenError::MissingClaim);
        }
        let client_id = claim_map::client_id(&rest, &self.client_id_claims)?;
        if let Some(allowed) = &self.allowed_clients {
            let known = client_id.as_deref();
            if !known.is_some_and(|id| allowed.iter().any(|a| a == id)) {
                return Err(TokenError::ClientNotAllowed);
            }
        }
        let scope = claim_map::scopes(&rest, &self.scope_claims)?;
        // `Claims` names these two; the claims they may have been read from stay in `extra`.
        rest.remove("scope");
        rest.remove("client_id");
        Ok(Claims {
            iss: payload.iss,
            sub: payload.sub,
            aud: payload.aud,
            exp: payload.exp.0,
            iat: payload.iat.map(|d| d.0),
            nbf: payload.nbf.map(|d| d.0),
            jti: payload.jti,
            client_id,
            scope,
            extra: claim_map::extra(rest)?,
        })
    }

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
            .field("aliases", &self.aliases)
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
        let jwt = TokenType::Jwt;
        for typ in [
            None,
            Some("JWT"),
            Some("jwt"),
            Some("at+jwt"),
            Some("application/JWT"),
        ] {
            assert!(jwt.accepts(typ), "{typ:?}");
        }
        for typ in ["id+jwt", "logout+jwt", "secevent+jwt", "JOSE", ""] {
            assert!(!jwt.accepts(Some(typ)), "{typ}");
        }
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
