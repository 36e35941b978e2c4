//! The resource-server half: [`BearerAuthLayer`] authenticates, [`RequireScopeLayer`]
//! authorizes, handlers read [`Claims`].
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
//! use tower_client_credentials::{BearerAuthLayer, Claims, RequireScopeLayer, Validator};
//!
//! async fn list(claims: Claims) -> String {
//!     format!("reports for {}", claims.sub)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
//! let validator = Validator::builder()
//!     .issuer("https://auth.example.com", KeySource::local(ring))
//!     .audience("reports-api")
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/reports", get(list).layer(RequireScopeLayer::all(["reports:read"])))
//!     .layer(BearerAuthLayer::new(validator).realm("reports"));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! # The shape
//!
//! One pipeline verifies every token: the [`Validator`] (the issuers it trusts, each with its
//! [`TrustedIssuer`] rules and keys, the clock, and the verified-token cache). The layer, the
//! extractors, a gRPC service and your own code ([`Validator::verify`]) all go through it, so
//! they share one cached result per token.
//!
//! - [`BearerAuthLayer`] → [`BearerAuth`] → [`BearerAuthFuture`]: reads the header, asks the
//!   validator, inserts `Arc<Claims<E>>` into the request extensions. A cached token or a
//!   locally held key is answered synchronously; only a key that must be fetched (a
//!   [`KeyProvider`](crate::keys::KeyProvider)) makes the future wait, then call the inner
//!   service.
//! - [`RequireScopeLayer`] → [`RequireScope`] → [`RequireScopeFuture`]: 403
//!   `insufficient_scope` unless the verified token holds the route's scopes.
//! - Rejections go through an [`OnAuthError`] ([`Rfc6750`] by default); the realm set on the
//!   bearer layer reaches the scope layers and the extractors behind it, and so does the
//!   RFC 9728 `resource_metadata` URL
//!   ([`BearerAuthLayer::resource_metadata`](crate::BearerAuthLayer::resource_metadata)).
//! - [`ProtectedResourceMetadata`](crate::ProtectedResourceMetadata) and
//!   [`ResourceMetadataService`]: the RFC 9728 document, served at
//!   `/.well-known/oauth-protected-resource` (`resource_metadata_routes` with axum).
//!
//! # Tokens from another identity provider
//!
//! Each issuer's [`TrustedIssuer`] says where its tokens keep their scopes (`scope`, `scp`,
//! roles; [`TrustedIssuer::scope_claims`]) and their client id (`client_id`, `azp`, `cid`,
//! `appid`; [`TrustedIssuer::client_id_claims`]), which clients may call
//! ([`TrustedIssuer::allowed_clients`]) and under which other names it signs
//! ([`TrustedIssuer::alias`]). [`Provider`] presets fill these in for Keycloak, Auth0, Entra ID
//! and Okta. The token's own (not yet verified) `iss` picks the issuer; only that issuer's keys
//! and rules apply to it.

pub(crate) mod bearer;
mod builder;
mod cache;
mod claim_map;
#[cfg(feature = "axum")]
mod extract;
mod on_error;
mod providers;
pub(crate) mod require_scope;
pub(crate) mod resource_metadata;
mod rules;
pub(crate) mod validator;

use std::sync::Arc;

use crate::claims::Claims;
use crate::scope::ScopeSet;
use on_error::Challenge;

// Named in the docs above; their public paths are at the crate root.
#[cfg(doc)]
use {bearer::BearerAuthLayer, require_scope::RequireScopeLayer, validator::Validator};

pub use crate::error::TokenError;
pub use crate::http_auth::InvalidRequest;
pub use bearer::{BearerAuth, BearerAuthFuture};
pub use builder::{
    DEFAULT_LEEWAY, DEFAULT_MAX_LIFETIME, DEFAULT_MAX_TOKEN_BYTES, MAX_LEEWAY, ValidatorBuilder,
    ValidatorConfigError,
};
pub use cache::DEFAULT_CACHE_CAPACITY;
pub use claim_map::{ClaimPath, DEFAULT_CLIENT_ID_CLAIMS, DEFAULT_SCOPE_CLAIMS};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use extract::ClaimsRejection;
pub use on_error::{DEFAULT_REALM, OnAuthError, Rejection, Rfc6750};
pub use providers::Provider;
pub use require_scope::{RequireScope, RequireScopeFuture};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use resource_metadata::resource_metadata_routes;
pub use resource_metadata::{
    ProtectedResourceMetadataBuilder, ResourceMetadataConfigError, ResourceMetadataService,
};
pub use rules::{TokenType, TrustedIssuer};
pub use validator::Verify;

/// What [`BearerAuth`] leaves in the request extensions for the layers and extractors behind
/// it, whatever the claims type: the verified scopes (none when an optional layer let a request
/// without a token through) and the challenge parameters.
#[derive(Clone)]
pub(crate) struct AuthContext {
    pub(crate) scope: Option<Arc<dyn HasScope>>,
    pub(crate) challenge: Challenge,
}

impl AuthContext {
    fn authenticated(scope: Arc<dyn HasScope>, challenge: &Challenge) -> Self {
        AuthContext {
            scope: Some(scope),
            challenge: challenge.clone(),
        }
    }

    fn anonymous(challenge: &Challenge) -> Self {
        AuthContext {
            scope: None,
            challenge: challenge.clone(),
        }
    }
}

pub(crate) trait HasScope: Send + Sync {
    fn scope(&self) -> &ScopeSet;
}

impl<E: Send + Sync> HasScope for Claims<E> {
    fn scope(&self) -> &ScopeSet {
        &self.scope
    }
}
