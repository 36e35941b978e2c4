//! axum extractors: handlers take [`Claims<E>`] or `Option<Claims<E>>`.
//!
//! `Claims<E>` rejects with [`ClaimsRejection`] (the RFC 6750 401, with the realm of the
//! [`BearerAuthLayer`](crate::BearerAuthLayer) in front) when the request carries no verified
//! claims: the route is not behind a `BearerAuthLayer`, or the layer is optional and no token
//! came. `Option<Claims<E>>` is `None` then.

use std::fmt;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use super::AuthContext;
use super::on_error::Challenge;
use crate::claims::Claims;
use crate::error::{AuthError, is_grpc_call};

impl<S, E> FromRequestParts<S> for Claims<E>
where
    S: Send + Sync,
    E: Clone + Send + Sync + 'static,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(claims) = parts.extensions.get::<Arc<Claims<E>>>() {
            return Ok(Claims::clone(claims));
        }
        let challenge = parts
            .extensions
            .get::<AuthContext>()
            .map(|context| context.challenge.clone())
            .unwrap_or_default();
        crate::metrics::bearer(crate::metrics::BearerOutcome::Missing);
        Err(ClaimsRejection {
            challenge,
            grpc: is_grpc_call(parts.version, &parts.headers),
        })
    }
}

impl<S, E> OptionalFromRequestParts<S> for Claims<E>
where
    S: Send + Sync,
    E: Clone + Send + Sync + 'static,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Arc<Claims<E>>>()
            .map(|claims| Claims::clone(claims)))
    }
}

/// The rejection of the [`Claims`] extractor: the request has no verified claims. Answers 401
/// with `WWW-Authenticate: Bearer realm="…"` (the bearer layer's realm, and its
/// `resource_metadata` URL when it names one), or gRPC status 16 to a gRPC call (HTTP/2 with
/// an `application/grpc` content type).
#[derive(Clone)]
pub struct ClaimsRejection {
    challenge: Challenge,
    grpc: bool,
}

impl ClaimsRejection {
    /// The realm of the challenge.
    pub fn realm(&self) -> &str {
        self.challenge.realm()
    }

    /// The RFC 9728 `resource_metadata` URL of the challenge, when the bearer layer in front
    /// names one ([`BearerAuthLayer::resource_metadata`](crate::BearerAuthLayer::resource_metadata)).
    pub fn resource_metadata(&self) -> Option<&str> {
        self.challenge.resource_metadata()
    }
}

impl fmt::Debug for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimsRejection")
            .field("realm", &self.realm())
            .field("resource_metadata", &self.resource_metadata())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request carries no verified bearer token")
    }
}

impl std::error::Error for ClaimsRejection {}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        if self.grpc {
            return AuthError::MissingToken.to_grpc_response();
        }
        AuthError::MissingToken
            .to_http_response_with_metadata(self.realm(), self.resource_metadata())
    }
}
