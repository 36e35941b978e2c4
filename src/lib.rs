//! OAuth 2.0 client credentials for [tower](https://docs.rs/tower): protect routes with JWT bearer tokens, and issue
//! those tokens.
//!
//! # Protect
//!
//! [`BearerAuthLayer`] reads `Authorization: Bearer <jwt>`, checks it with a [`Validator`]
//! (signature with the key its `kid` names and that key's one algorithm, `exp`/`nbf` with
//! leeway, `iss`, `aud`, `typ`) and puts the verified [`Claims`] into the request extensions.
//! [`RequireScopeLayer`] answers 403 `insufficient_scope` for tokens that lack a scope; with the
//! `axum` feature, handlers take `Claims` or `Option<Claims>` as extractors. Failures answer as
//! RFC 6750 says (see [`AuthError`]), and gRPC callers get gRPC statuses.
//!
//! ```
//! use axum::{Router, routing::get};
//! use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
//! use tower_client_credentials::{BearerAuthLayer, Claims, RequireScopeLayer, Validator};
//!
//! async fn list(claims: Claims) -> String {
//!     format!("{} may read reports", claims.sub)
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
//! let validator = Validator::builder()
//!     .issuer("https://auth.example.com", KeySource::local(ring))
//!     .audience("reports-api")
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/reports", get(list).layer(RequireScopeLayer::all(["reports:read"])))
//!     .layer(BearerAuthLayer::new(validator));
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! - `axum` (default): the `Claims` extractors and `IntoResponse` for [`AuthError`].
//! - `issue` (default): the token-issuing half.
//! - `aws-lc-rs` (default) / `rust-crypto`: the crypto backend of `jsonwebtoken`. With both,
//!   aws-lc-rs is used.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod claims;
#[cfg(feature = "issue")]
pub mod clients;
mod error;
mod http_auth;
#[cfg(feature = "issue")]
pub mod issue;
mod jws;
pub mod keys;
pub mod protect;
mod random;
mod scope;
pub mod store;
pub mod time;
pub mod token_endpoint;

pub use claims::{Audience, Claims, ExtraClaims};
#[cfg(feature = "issue")]
pub use clients::{
    AuthMethod, Client, ClientBuilder, ClientSecret, ClientStore, MemoryClientStore,
};
pub use error::{AuthError, DEFAULT_REALM, InvalidRequest, OnAuthError, Rfc6750, TokenError};
#[cfg(feature = "issue")]
pub use issue::{ClientCredentialsTokenService, TokenIssuer};
pub use protect::{
    BearerAuth, BearerAuthLayer, RequireScope, RequireScopeLayer, ResponseFuture, TokenType,
    Validator, ValidatorBuilder,
};
pub use scope::{Scope, ScopeError, ScopeSet};

// Compile and run the README's examples as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
