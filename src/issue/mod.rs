//! The authorization-server half: the OAuth 2.0 client credentials grant (RFC 6749 §4.4) with
//! JWT access tokens (RFC 9068).
//!
//! [`TokenIssuer`] is the HTTP-free core (authenticate the client, apply its policy, sign);
//! [`ClientCredentialsTokenService`] is the tower service you mount at your token route, and
//! [`discovery_routes`] serves the JWKS and the RFC 8414 metadata.
//!
//! ```no_run
//! use std::time::Duration;
//! use axum::Router;
//! use tower_client_credentials::clients::MemoryClientStore;
//! use tower_client_credentials::issue::{discovery_routes, ClientCredentialsTokenService, TokenIssuer};
//! use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
//! let issuer = TokenIssuer::builder()
//!     .issuer("https://auth.example.com")
//!     .keys(ring)
//!     .clients(MemoryClientStore::from_toml_file("clients.toml")?)
//!     .default_ttl(Duration::from_secs(900))
//!     .build()?;
//! let app: Router = Router::new()
//!     .route_service("/oauth2/token", ClientCredentialsTokenService::new(issuer.clone()))
//!     .merge(discovery_routes(&issuer));
//! # Ok(()) }
//! ```

mod assertion;
mod builder;
mod discovery;
mod request;
mod service;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use zeroize::Zeroizing;

use crate::claims::Audience;
use crate::clients::{AuthMethod, Client, ClientStore};
use crate::keys::KeyRing;
use crate::scope::ScopeSet;
use crate::token_endpoint::{OAuthError, OAuthErrorCode, TokenResponse};

pub use assertion::{MAX_ASSERTION_LIFETIME_SECS, MemoryReplayGuard, ReplayGuard};
pub use builder::{IssuerConfigError, TokenIssuerBuilder};
#[cfg(feature = "axum")]
pub use discovery::discovery_routes;
pub use discovery::{AuthorizationServerMetadata, JwksService, MetadataService};
pub use request::{ClientAuth, JWT_BEARER_ASSERTION, TokenRequest};
pub use service::{ClientCredentialsTokenService, MAX_BODY_BYTES, TokenFuture};

use assertion::Assertion;
use request::{non_empty, unsupported_grant};

/// Default access-token lifetime.
pub const DEFAULT_TTL: Duration = Duration::from_secs(900);
/// Default upper bound on any client's token lifetime.
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(3600);

/// Issues access tokens for the client credentials grant. Cheap to clone.
#[derive(Clone)]
pub struct TokenIssuer {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) issuer: String,
    pub(crate) token_endpoint: String,
    pub(crate) jwks_uri: String,
    pub(crate) keys: KeyRing,
    pub(crate) clients: Arc<dyn ClientStore>,
    pub(crate) replay: Arc<dyn ReplayGuard>,
    pub(crate) default_ttl: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) realm: String,
}

/// The claims of an issued access token (RFC 9068 §2.2).
#[derive(Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Audience,
    exp: u64,
    iat: u64,
    jti: String,
    client_id: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    scope: String,
}

impl TokenIssuer {
    /// The issuer URL (`iss` of every token).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The token endpoint URL (published in the metadata; accepted as assertion `aud`).
    pub fn token_endpoint(&self) -> &str {
        &self.inner.token_endpoint
    }

    /// The JWKS URL published in the metadata.
    pub fn jwks_uri(&self) -> &str {
        &self.inner.jwks_uri
    }

    /// The key ring tokens are signed with.
    pub fn keys(&self) -> &KeyRing {
        &self.inner.keys
    }

    /// Handles one token request: authenticate the client, check the grant, scope and
    /// audience against the client's registration, sign. Errors carry the `WWW-Authenticate:
    /// Basic` flag when the client used Basic authentication.
    pub async fn issue(
        &self,
        auth: ClientAuth,
        request: TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        let used_basic = auth.used_basic();
        self.issue_for(auth, request)
            .await
            .map_err(|e| e.with_basic_challenge(used_basic))
    }

    async fn issue_for(
        &self,
        auth: ClientAuth,
        request: TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        match non_empty(request.grant_type.as_deref()) {
            None => return Err(OAuthError::invalid_request("grant_type is missing")),
            Some("client_credentials") => {}
            Some(_) => return Err(unsupported_grant()),
        }
        let client = self.authenticate(auth).await?;

        let scope = match non_empty(request.scope.as_deref()) {
            None => client.default_scopes().clone(),
            Some(wire) => {
                let requested = ScopeSet::parse(wire).map_err(|_| {
                    OAuthError::new(OAuthErrorCode::InvalidScope, "the scope is malformed")
                })?;
                if !requested.is_subset(client.allowed_scopes()) {
                    return Err(OAuthError::new(
                        OAuthErrorCode::InvalidScope,
                        "a requested scope is not allowed for this client",
                    ));
                }
                requested
            }
        };
        let audience = match non_empty(request.resource.as_deref()) {
            None => client.default_audience(),
            Some(resource) => client
                .audiences()
                .iter()
                .find(|a| *a == resource)
                .ok_or_else(|| {
                    OAuthError::new(
                        OAuthErrorCode::InvalidTarget,
                        "the resource is not allowed for this client",
                    )
                })?,
        };

        let ttl = client
            .token_ttl()
            .unwrap_or(self.inner.default_ttl)
            .min(self.inner.max_ttl)
            .as_secs();
        let iat = crate::time::Clock::system().now();
        let claims = AccessClaims {
            iss: &self.inner.issuer,
            sub: client.id(),
            aud: Audience::One(audience.to_owned()),
            exp: iat + ttl,
            iat,
            jti: crate::random::id(),
            client_id: client.id(),
            scope: scope.to_string(),
        };
        let key = self.inner.keys.active();
        let access_token = key.sign("at+jwt", &claims).map_err(|_| {
            tracing::error!(kid = key.kid(), "signing an access token failed");
            OAuthError::new(OAuthErrorCode::ServerError, "the token could not be signed")
        })?;
        tracing::info!(client_id = client.id(), scope = %claims.scope, aud = audience, "access token issued");
        Ok(TokenResponse::bearer(access_token)
            .with_expires_in(ttl)
            .with_scope(claims.scope))
    }

    /// Authenticates the client. Every failure is the same `invalid_client`; unknown clients
    /// are checked against a dummy secret so that they take the same path (DESIGN decision 5).
    async fn authenticate(&self, auth: ClientAuth) -> Result<Client, OAuthError> {
        match auth {
            ClientAuth::Basic { client_id, secret } => {
                self.check_secret(&client_id, secret, AuthMethod::ClientSecretBasic)
                    .await
            }
            ClientAuth::Post { client_id, secret } => {
                self.check_secret(&client_id, secret, AuthMethod::ClientSecretPost)
                    .await
            }
            ClientAuth::PrivateKeyJwt {
                client_id,
                assertion,
            } => self.check_assertion(client_id.as_deref(), &assertion).await,
            ClientAuth::None => {
                tracing::debug!("token request without client authentication");
                Err(OAuthError::invalid_client())
            }
        }
    }

    async fn find(&self, client_id: &str) -> Result<Option<Client>, OAuthError> {
        self.inner.clients.find(client_id).await.map_err(|error| {
            tracing::warn!(%error, "client store lookup failed");
            OAuthError::new(
                OAuthErrorCode::TemporarilyUnavailable,
                "the client registry is unavailable",
            )
        })
    }

    async fn check_secret(
        &self,
        client_id: &str,
        presented: Zeroizing<String>,
        method: AuthMethod,
    ) -> Result<Client, OAuthError> {
        let client = self.find(client_id).await?;
        let (stored, usable) = match &client {
            Some(c) => match c.secret() {
                Some(secret) => (secret.clone(), c.is_enabled() && c.allows(method)),
                None => (self.inner.clients.dummy_secret(), false),
            },
            None => (self.inner.clients.dummy_secret(), false),
        };
        let matches = if stored.is_expensive() {
            // Argon2id takes milliseconds of CPU: keep it off the async workers.
            tokio::task::spawn_blocking(move || stored.verify(presented.as_bytes()))
                .await
                .unwrap_or(false)
        } else {
            stored.verify(presented.as_bytes())
        };
        match client {
            Some(client) if matches && usable => Ok(client),
            _ => {
                tracing::debug!(
                    client_id,
                    method = method.as_str(),
                    "client authentication failed"
                );
                Err(OAuthError::invalid_client())
            }
        }
    }

    async fn check_assertion(
        &self,
        client_id: Option<&str>,
        token: &str,
    ) -> Result<Client, OAuthError> {
        let fail = |reason: assertion::AssertionError| {
            tracing::debug!(%reason, "client assertion rejected");
            OAuthError::invalid_client()
        };
        let assertion = Assertion::parse(token, client_id).map_err(fail)?;
        let client = self
            .find(&assertion.claims.sub)
            .await?
            .filter(|c| c.is_enabled() && c.allows(AuthMethod::PrivateKeyJwt))
            .ok_or_else(|| fail(assertion::AssertionError::UnknownKey))?;
        let audiences = [
            self.inner.issuer.as_str(),
            self.inner.token_endpoint.as_str(),
        ];
        assertion
            .verify(&client, audiences, crate::time::Clock::system().now())
            .map_err(fail)?;
        let expires_at = assertion
            .claims
            .exp
            .saturating_add(assertion::ASSERTION_LEEWAY_SECS);
        let first = self
            .inner
            .replay
            .first_use(client.id(), &assertion.claims.jti, expires_at)
            .await
            .map_err(|error| {
                tracing::warn!(%error, "replay guard failed");
                OAuthError::new(
                    OAuthErrorCode::TemporarilyUnavailable,
                    "the replay guard is unavailable",
                )
            })?;
        if !first {
            tracing::warn!(client_id = client.id(), "client assertion replayed");
            return Err(OAuthError::invalid_client());
        }
        Ok(client)
    }
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.inner.issuer)
            .field("token_endpoint", &self.inner.token_endpoint)
            .field("keys", &self.inner.keys)
            .field("default_ttl", &self.inner.default_ttl)
            .field("max_ttl", &self.inner.max_ttl)
            .finish_non_exhaustive()
    }
}
