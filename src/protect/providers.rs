//! Presets for the identity providers whose tokens an API most often receives: each knows the
//! exact issuer URL(s) its provider signs as, the header `typ` it sends, and the claims that
//! carry its scopes and its client id.
//!
//! ```
//! use tower_client_credentials::Validator;
//! use tower_client_credentials::keys::KeySource;
//! use tower_client_credentials::protect::Provider;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let ring = tower_client_credentials::keys::KeyRing::new(
//! #     tower_client_credentials::keys::SigningKey::generate(
//! #         tower_client_credentials::keys::Algorithm::RS256)?);
//! # let jwks = ring.jwks().to_json();
//! let validator = Validator::builder()
//!     .trust(
//!         Provider::entra_id("9188040d-6c67-4c5b-b112-36a304b66dad")
//!             .with_keys(KeySource::jwks(&jwks)?)
//!             .audience("api://reports"),
//!     )
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! A preset is a starting point: [`Provider::with_keys`] returns a [`TrustedIssuer`], whose
//! setters change any of it (more audiences, allowed clients, other scope claims).

use std::fmt;

use super::claim_map::{self, ClaimPath, DEFAULT_CLIENT_ID_CLAIMS, DEFAULT_SCOPE_CLAIMS};
use super::rules::{TokenType, TrustedIssuer};
use crate::keys::KeySource;

/// An identity provider's conventions: its issuer URL and aliases, the header `typ` of its
/// access tokens, where its scopes and its client id live. Turn it into a [`TrustedIssuer`]
/// with [`with_keys`](Self::with_keys).
///
/// | preset | `iss` | `typ` | scopes from | client id from |
/// |---|---|---|---|---|
/// | [`keycloak`](Self::keycloak) | the realm URL | `JWT`, `at+jwt` or none | `scope`, `realm_access.roles` | `azp` |
/// | [`auth0`](Self::auth0) | `https://{domain}/` | `JWT`, `at+jwt` or none | `scope`, `permissions` | `client_id`, `azp` |
/// | [`entra_id`](Self::entra_id) | `https://login.microsoftonline.com/{tenant}/v2.0`, alias `https://sts.windows.net/{tenant}/` | `JWT` | `scp`, `roles` | `azp`, `appid` |
/// | [`okta`](Self::okta) | the authorization server URL | `JWT`, `at+jwt` or none | `scp` | `cid` |
/// | [`oidc`](Self::oidc) | as given | `JWT`, `at+jwt` or none | `scope`, `scp` | `client_id`, `azp`, `cid`, `appid` |
///
/// Scopes are the union of the listed claims; the client id is the first listed claim present
/// (see [`TrustedIssuer::scope_claims`] and [`TrustedIssuer::client_id_claims`]).
#[derive(Clone)]
#[must_use]
pub struct Provider {
    issuer: String,
    aliases: Vec<String>,
    typ: TokenType,
    scope_claims: Vec<ClaimPath>,
    client_id_claims: Vec<ClaimPath>,
}

impl Provider {
    fn new(issuer: String, typ: TokenType, scopes: &[&str], client_ids: &[&str]) -> Self {
        Provider {
            issuer,
            aliases: Vec::new(),
            typ,
            scope_claims: claim_map::paths(scopes),
            client_id_claims: claim_map::paths(client_ids),
        }
    }

    /// A Keycloak realm, by its URL as Keycloak writes it in `iss`:
    /// `https://{host}/realms/{realm}` (older versions: `https://{host}/auth/realms/{realm}`).
    ///
    /// Keycloak's access tokens carry header `typ` `JWT`, the client in `azp`, OAuth scopes in
    /// `scope` and the realm roles in `realm_access.roles`; both become scopes. The header
    /// `typ` may be `JWT`, `at+jwt` (a client switched to RFC 9068) or absent
    /// ([`TokenType::Jwt`]); other types (`id+jwt`, `logout+jwt`) are refused.
    ///
    /// Evidence: Keycloak's Server Administration Guide on service accounts and token claims
    /// (<https://www.keycloak.org/docs/latest/server_admin/>), and decoded service-account
    /// (client credentials) tokens as published in Keycloak guides: header
    /// `{"alg":"RS256","typ":"JWT","kid":…}`; claims `iss` (the realm URL), `azp`,
    /// `realm_access.roles`, `scope`, `typ: "Bearer"`.
    pub fn keycloak(realm_url: impl Into<String>) -> Self {
        Provider::new(
            realm_url.into(),
            TokenType::Jwt,
            &["scope", "realm_access.roles"],
            &["azp"],
        )
    }

    /// An Auth0 tenant, by its domain (`example.eu.auth0.com`, or a custom domain); the issuer
    /// is `https://{domain}/`, with the trailing slash Auth0 writes. A leading `https://` and
    /// trailing slashes in `domain` are tolerated.
    ///
    /// Auth0's default ("Auth0") token profile sends header `typ` `JWT` and the client in
    /// `azp`; its RFC 9068 profile sends `at+jwt` and `client_id`: both pass. Scopes come from
    /// `scope` and, with RBAC's "Add Permissions in the Access Token", the `permissions` array.
    /// `aud` is often an array (your API and `https://{domain}/userinfo`).
    ///
    /// Evidence: Auth0's "Access Token Profiles" page, with a sample token of each profile
    /// (<https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles>), and its RBAC
    /// documentation for `permissions`.
    pub fn auth0(domain: impl AsRef<str>) -> Self {
        let domain = domain.as_ref();
        let host = domain.strip_prefix("https://").unwrap_or(domain);
        Provider::new(
            format!("https://{}/", host.trim_end_matches('/')),
            TokenType::Jwt,
            &["scope", "permissions"],
            &["client_id", "azp"],
        )
    }

    /// A Microsoft Entra ID (Azure AD) tenant, by its tenant id. v2.0 tokens say
    /// `https://login.microsoftonline.com/{tenant}/v2.0`; v1.0 tokens, which Entra still issues
    /// for APIs whose manifest does not ask for v2 (`accessTokenAcceptedVersion`), say
    /// `https://sts.windows.net/{tenant}/`: the second is an alias of the first, with the same
    /// keys and rules.
    ///
    /// Header `typ` is always `JWT` (checked exactly). Delegated permissions come in `scp` (a
    /// space-separated string), application permissions in `roles` (an array); both become
    /// scopes. The client is `azp` in v2.0 tokens, `appid` in v1.0 tokens. Tokens for
    /// Microsoft's own APIs (Graph) are not meant to be validated by yours.
    ///
    /// Evidence: Microsoft's "Access token claims reference"
    /// (<https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference>):
    /// header `typ` "always JWT", `iss`, `ver`, `scp`, `roles`, `azp`, `appid`.
    pub fn entra_id(tenant_id: impl AsRef<str>) -> Self {
        let tenant = tenant_id.as_ref();
        let mut provider = Provider::new(
            format!("https://login.microsoftonline.com/{tenant}/v2.0"),
            TokenType::Exact("JWT".to_owned()),
            &["scp", "roles"],
            &["azp", "appid"],
        );
        provider
            .aliases
            .push(format!("https://sts.windows.net/{tenant}/"));
        provider
    }

    /// An Okta authorization server, by its issuer URL as given
    /// (`https://{org}.okta.com/oauth2/default`, or a custom authorization server's).
    ///
    /// Okta's access tokens carry no header `typ` ([`TokenType::Jwt`] accepts that), the scopes as an `scp`
    /// array and the client in `cid`.
    ///
    /// Evidence: Okta's OpenID Connect API reference, "Access token" (header
    /// `{"kid":…,"alg":"RS256"}`; claims `ver`, `jti`, `iss`, `aud`, `iat`, `exp`, `cid`, `uid`,
    /// `scp` as an array, `sub`) (<https://developer.okta.com/docs/reference/api/oidc/#access-token>).
    pub fn okta(issuer: impl Into<String>) -> Self {
        Provider::new(issuer.into(), TokenType::Jwt, &["scp"], &["cid"])
    }

    /// Any other OpenID Connect provider, by its issuer URL as given: any header `typ`, scopes
    /// from `scope` and `scp`, the client id from `client_id`, `azp`, `cid` or `appid` (the
    /// defaults of [`TrustedIssuer`]).
    pub fn oidc(issuer: impl Into<String>) -> Self {
        Provider::new(
            issuer.into(),
            TokenType::Jwt,
            &DEFAULT_SCOPE_CLAIMS,
            &DEFAULT_CLIENT_ID_CLAIMS,
        )
    }

    /// The issuer URL, exactly as the provider writes it in `iss` (and in its discovery
    /// document's `issuer`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The other `iss` values the provider signs as (Entra ID's v1.0 issuer).
    pub fn aliases(&self) -> &[String] {
        &self.aliases
    }

    /// The provider's rules, with its keys: a [`TrustedIssuer`] for
    /// [`ValidatorBuilder::trust`](super::ValidatorBuilder::trust). Set at least an audience on
    /// it (or on the builder).
    pub fn with_keys(self, keys: KeySource) -> TrustedIssuer {
        let mut trusted = TrustedIssuer::new(self.issuer, keys)
            .token_type(self.typ)
            .scope_claims(self.scope_claims)
            .client_id_claims(self.client_id_claims);
        for alias in self.aliases {
            trusted = trusted.alias(alias);
        }
        trusted
    }

    /// The provider's rules, with its keys found through its discovery document (RFC 8414,
    /// then OpenID Connect) and kept fresh in the background; see
    /// [`RemoteKeys`](crate::keys::remote::RemoteKeys) for the cache's defaults, and build one
    /// yourself for other settings (then [`with_keys`](Self::with_keys)). The document's
    /// `issuer` may be the preset's issuer or one of its aliases.
    ///
    /// ```no_run
    /// use tower_client_credentials::Validator;
    /// use tower_client_credentials::protect::Provider;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let validator = Validator::builder()
    ///     .trust(Provider::keycloak("https://sso.example.com/realms/acme").discover()?.audience("reports-api"))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "remote-jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "remote-jwks")))]
    pub fn discover(self) -> Result<TrustedIssuer, crate::keys::remote::RemoteKeysConfigError> {
        let mut remote = crate::keys::remote::RemoteKeys::discover(self.issuer.clone());
        for alias in &self.aliases {
            remote = remote.issuer_alias(alias.clone());
        }
        Ok(self.with_keys(remote.build()?.key_source()))
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.issuer)
            .field("aliases", &self.aliases)
            .field("typ", &self.typ)
            .field("scope_claims", &self.scope_claims)
            .field("client_id_claims", &self.client_id_claims)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_preset_names_its_issuer_exactly() {
        assert_eq!(
            Provider::keycloak("https://kc.example/realms/acme").issuer(),
            "https://kc.example/realms/acme"
        );
        for domain in [
            "acme.eu.auth0.com",
            "https://acme.eu.auth0.com",
            "https://acme.eu.auth0.com/",
        ] {
            assert_eq!(
                Provider::auth0(domain).issuer(),
                "https://acme.eu.auth0.com/"
            );
        }
        let entra = Provider::entra_id("t1");
        assert_eq!(entra.issuer(), "https://login.microsoftonline.com/t1/v2.0");
        assert_eq!(entra.aliases(), ["https://sts.windows.net/t1/"]);
        assert_eq!(
            Provider::okta("https://acme.okta.com/oauth2/default").issuer(),
            "https://acme.okta.com/oauth2/default"
        );
        assert!(Provider::oidc("https://idp.example").aliases().is_empty());
    }
}
