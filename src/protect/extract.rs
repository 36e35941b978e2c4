//! axum extractors: handlers take [`Claims<E>`] or `Option<Claims<E>>`.
//!
//! `Claims<E>` rejects with the RFC 6750 401 when the request carries no verified claims (the
//! route is not behind [`BearerAuthLayer`](super::BearerAuthLayer), or the layer is optional and
//! no token came); `Option<Claims<E>>` is `None` then.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::claims::Claims;
use crate::error::AuthError;

impl<S, E> FromRequestParts<S> for Claims<E>
where
    S: Send + Sync,
    E: Clone + Send + Sync + 'static,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Arc<Claims<E>>>()
            .map(|claims| Claims::clone(claims))
            .ok_or(AuthError::MissingToken)
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
