//! Discovery: the JWKS (RFC 7517) and the authorization server metadata (RFC 8414).

use std::convert::Infallible;
use std::future::Ready;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use serde::Serialize;
use tower_service::Service;

use super::TokenIssuer;
use crate::clients::AuthMethod;
use crate::well_known::{get_only, json, well_known_path};

/// RFC 8414 §2 authorization server metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuthorizationServerMetadata {
    /// The issuer URL.
    pub issuer: String,
    /// The token endpoint URL.
    pub token_endpoint: String,
    /// The JWKS URL.
    pub jwks_uri: String,
    /// Always `["client_credentials"]`.
    pub grant_types_supported: Vec<&'static str>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt`.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The algorithms accepted for `private_key_jwt` assertions.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// The scopes configured with `scopes_supported` on the builder.
    pub scopes_supported: Vec<String>,
    /// Empty: this server has no authorization endpoint (RFC 8414 requires the member).
    pub response_types_supported: Vec<&'static str>,
}

impl TokenIssuer {
    /// The RFC 8414 metadata document.
    pub fn metadata(&self) -> AuthorizationServerMetadata {
        AuthorizationServerMetadata {
            issuer: self.inner.issuer.clone(),
            token_endpoint: self.inner.token_endpoint.clone(),
            jwks_uri: self.inner.jwks_uri.clone(),
            grant_types_supported: vec!["client_credentials"],
            token_endpoint_auth_methods_supported: vec![
                AuthMethod::ClientSecretBasic.as_str(),
                AuthMethod::ClientSecretPost.as_str(),
                AuthMethod::PrivateKeyJwt.as_str(),
            ],
            token_endpoint_auth_signing_alg_values_supported: vec![
                "EdDSA", "ES256", "RS256", "PS256",
            ],
            scopes_supported: self.inner.scopes_supported.clone(),
            response_types_supported: Vec::new(),
        }
    }

    /// The path the metadata is served at: RFC 8414 §3 inserts the well-known segment before
    /// the issuer's own path.
    pub fn metadata_path(&self) -> String {
        well_known_path("oauth-authorization-server", &url_path(&self.inner.issuer))
    }

    /// The path of [`TokenIssuer::jwks_uri`].
    pub fn jwks_path(&self) -> String {
        url_path(&self.inner.jwks_uri)
    }
}

fn url_path(url: &str) -> String {
    url.parse::<http::Uri>()
        .map(|uri| uri.path().to_owned())
        .unwrap_or_else(|_| "/".to_owned())
}

/// Serves the issuer's live public keys as a JWKS (`GET`). A rotation shows at once.
#[derive(Clone, Debug)]
pub struct JwksService {
    issuer: TokenIssuer,
}

impl JwksService {
    /// The JWKS of `issuer`'s key ring.
    pub fn new(issuer: TokenIssuer) -> Self {
        JwksService { issuer }
    }
}

impl<B> Service<Request<B>> for JwksService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        get_only(&req, || {
            // Short caching: a rotated-in key must reach verifiers well within a token lifetime.
            json(
                Bytes::from(self.issuer.keys().jwks().to_json()),
                "public, max-age=60",
            )
        })
    }
}

/// Serves the RFC 8414 metadata document (`GET`).
#[derive(Clone, Debug)]
pub struct MetadataService {
    body: Bytes,
}

impl MetadataService {
    /// The metadata of `issuer` (computed once).
    pub fn new(issuer: &TokenIssuer) -> Self {
        MetadataService {
            body: Bytes::from(serde_json::to_vec(&issuer.metadata()).unwrap_or_default()),
        }
    }
}

impl<B> Service<Request<B>> for MetadataService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        get_only(&req, || json(self.body.clone(), "public, max-age=300"))
    }
}

/// An axum router serving the JWKS at the path of [`TokenIssuer::jwks_uri`] and the metadata
/// at [`TokenIssuer::metadata_path`] (`/.well-known/jwks.json` and
/// `/.well-known/oauth-authorization-server` for an issuer without a path).
#[cfg(feature = "axum")]
pub fn discovery_routes<S>(issuer: &TokenIssuer) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    axum::Router::new()
        .route_service(&issuer.jwks_path(), JwksService::new(issuer.clone()))
        .route_service(&issuer.metadata_path(), MetadataService::new(issuer))
}
