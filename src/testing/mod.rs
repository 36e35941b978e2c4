//! Helpers for your own tests (feature `testing`): tokens without a token server, and a token
//! server you can script.
//!
//! - [`TestIssuer`]: an in-process issuer with a freshly generated key. Its
//!   [`validator`](TestIssuer::validator) and [`layer`](TestIssuer::layer) trust it, and its
//!   [`token`](TestIssuer::token) builder signs RFC 9068 access tokens, valid ones and the
//!   usual invalid ones (expired, not yet valid, wrong audience, wrong issuer, wrong key,
//!   unknown `kid`, wrong `typ`, a claim left out), each documented with the exact
//!   [`TokenError`](crate::protect::TokenError) the validator answers.
//! - [`MockTokenEndpoint`]: a token endpoint on 127.0.0.1 for code that fetches tokens
//!   (`outbound::ClientCredentials`, `CachedTokenSource`, or any other client). It answers
//!   with tokens its own `TestIssuer` signs, or with what you queue: a delay, a 5xx, a 429 with
//!   `Retry-After`, an RFC 6749 §5.2 error such as `invalid_client`, a malformed body; it can
//!   check client secrets. It counts and records every request, and stops when dropped.
//!
//! Test a route in a few lines with `tower::ServiceExt::oneshot`:
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, StatusCode};
//! use tower::ServiceExt as _;
//! use tower_client_credentials::Claims;
//! use tower_client_credentials::testing::TestIssuer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let issuer = TestIssuer::new();
//! let app = Router::new()
//!     .route("/whoami", get(|claims: Claims| async move { claims.sub }))
//!     .layer(issuer.layer());
//!
//! let token = issuer.token().client_id("svc-a").scope("reports:read").sign();
//! let request = Request::get("/whoami").header("authorization", format!("Bearer {token}"));
//! let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let expired = issuer.token().expired().sign();
//! let request = Request::get("/whoami").header("authorization", format!("Bearer {expired}"));
//! let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(
//!     response.headers()["www-authenticate"],
//!     r#"Bearer realm="api", error="invalid_token", error_description="the token has expired""#
//! );
//! # }
//! ```
//!
//! None of this is meant for production: the keys live in memory only, and the mock endpoint
//! speaks plain HTTP on the loopback interface.

mod answer;
mod endpoint;
mod issuer;
mod record;
mod token;

pub use answer::MockAnswer;
pub use endpoint::MockTokenEndpoint;
pub use issuer::{
    DEFAULT_AUDIENCE, DEFAULT_CLIENT_ID, DEFAULT_ISSUER, DEFAULT_TOKEN_LIFETIME, TestIssuer,
    TestIssuerBuilder,
};
pub use record::RecordedTokenRequest;
pub use token::TokenBuilder;

/// Why a [`TestIssuer`] or a [`MockTokenEndpoint`] could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestingError {
    /// The key could not be generated, or a token could not be signed.
    #[error("test key: {0}")]
    Key(#[from] crate::keys::KeyError),
    /// The validator that trusts the issuer refused the settings (an empty issuer or
    /// audience).
    #[error("test validator: {0}")]
    Validator(#[from] crate::protect::ValidatorConfigError),
    /// The mock endpoint could not listen on 127.0.0.1.
    #[error("mock token endpoint: {0}")]
    Io(#[from] std::io::Error),
}
