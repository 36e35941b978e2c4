//! OAuth 2.0 client credentials for [tower](https://docs.rs/tower): protect routes with JWT bearer tokens, issue
//! those tokens, and call other services with them.
//!
//! # Protect
//!
//! [`BearerAuthLayer`] reads `Authorization: Bearer <jwt>`, checks it with a [`Validator`]
//! (signature with the key its `kid` names and that key's one algorithm, `exp`/`nbf` with
//! leeway, `iss`, `aud`, `typ`) and puts the verified [`Claims`] into the request extensions.
//! [`RequireScopeLayer`] answers 403 `insufficient_scope` for tokens that lack a scope; with the
//! `axum` feature, handlers take `Claims` or `Option<Claims>` as extractors. Failures answer as
//! RFC 6750 says (see [`AuthError`]), and gRPC calls (HTTP/2) get gRPC statuses.
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
//! # Layout
//!
//! The crate root holds the types the README names and the vocabulary both halves share
//! ([`Claims`], [`Audience`], [`Scope`], [`ScopeSet`], [`AuthError`]); every other public item has
//! one path, in its module:
//!
//! - [`protect`]: the verification pipeline. A [`Validator`] holds the trusted issuers, each with
//!   its own rules ([`protect::TrustedIssuer`]: keys, audiences, `typ`, required claims, where
//!   its scopes and client id live, allowed clients, aliases; [`protect::Provider`] presets for
//!   Keycloak, Auth0, Entra ID and Okta), the clock and the verified-token cache;
//!   [`BearerAuthLayer`], [`RequireScopeLayer`], the extractors and your own code all verify
//!   through it.
//! - [`keys`]: signing and verifying keys, the rotating [`keys::KeyRing`], JWKS, and where a
//!   validator finds an issuer's keys ([`keys::KeySource`], [`keys::KeyProvider`] for keys that
//!   must be fetched).
//! - [`time`]: the injectable [`time::Clock`] every time rule reads.
//! - [`token_endpoint`]: the token endpoint's wire types, for issuers and callers alike.
//! - [`store`]: what the pluggable stores share (their future and error types).
//! - `issue` and `clients` (feature `issue`): the authorization server, authenticate → policy →
//!   sign, and the client registry.
//! - `outbound` (feature `client`): calling other services: `ClientCredentials`, the cached
//!   token source (early refresh, single flight, retries, renewal after a 401), `TokenSources`,
//!   `AddBearerLayer` for tower clients and, with feature `reqwest`, `BearerMiddleware`.
//! - `testing` (feature `testing`): `TestIssuer` and `MockTokenEndpoint` for your own tests.
//! - [`metrics`]: the metric names and labels (recorded with feature `metrics`) and the tracing
//!   spans and events, documented and kept stable.
//!
//! Dependencies point down: `protect` never uses `issue` or `clients`; shared pieces (`jws`,
//! the `Authorization` / `WWW-Authenticate` codec, the clock) sit below both halves.
//!
//! # Features
//!
//! - `axum` (default): the `Claims` extractors, the discovery routers, and the peer address
//!   (`ConnectInfo`) for the token endpoint's per-address limit.
//! - `issue` (default): the token-issuing half.
//! - `aws-lc-rs` (default) / `rust-crypto`: the crypto backend of `jsonwebtoken`. With both,
//!   aws-lc-rs is used.
//! - `remote-jwks`: keys fetched from an issuer's JWKS or discovery document
//!   ([`keys::remote`]), for tokens from identity providers you do not run.
//! - `client` (default): calling other services with client-credentials tokens (`outbound`): a
//!   cached token source and `AddBearerLayer` for tower clients (hyper-util, tonic).
//! - `reqwest` (implies `client`): `outbound::BearerMiddleware` for reqwest-middleware 0.4.
//! - `sqlx` (implies `issue`): `clients::SqlClientStore`, the client registry in SQLite or
//!   PostgreSQL.
//! - `redis`: the replay guard, throttle, credential-cache invalidation and shared outbound
//!   token cache of several instances, on Redis (`redis`).
//! - `utoipa`: `openapi::ClientCredentialsScheme`, the OAuth 2.0 client-credentials security
//!   scheme of your OpenAPI document.
//! - `testing`: helpers for your own tests: `testing::TestIssuer` (tokens, valid and
//!   deliberately invalid, and the validator that trusts them) and `testing::MockTokenEndpoint`
//!   (a scripted token endpoint on 127.0.0.1 for outbound code).
//! - `metrics`: counters through the `metrics` facade (0.24), with the names and labels
//!   [`metrics`] documents (that module, and its tracing tables, exist without the feature).

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod claims;
#[cfg(feature = "issue")]
#[cfg_attr(docsrs, doc(cfg(feature = "issue")))]
pub mod clients;
mod error;
mod http_auth;
#[cfg(any(feature = "remote-jwks", feature = "client"))]
mod http_client;
#[cfg(feature = "issue")]
#[cfg_attr(docsrs, doc(cfg(feature = "issue")))]
pub mod issue;
mod jws;
pub mod keys;
pub mod metrics;
#[cfg(feature = "utoipa")]
#[cfg_attr(docsrs, doc(cfg(feature = "utoipa")))]
pub mod openapi;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod outbound;
pub mod protect;
mod random;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
mod scope;
pub mod store;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod time;
pub mod token_endpoint;
mod well_known;

// The vocabulary both halves share, and the types the README names, live at the root; every
// other public item has its one path in its module.
pub use claims::{Audience, Claims, ExtraClaims};
pub use error::AuthError;
pub use protect::bearer::BearerAuthLayer;
pub use protect::require_scope::RequireScopeLayer;
pub use protect::resource_metadata::ProtectedResourceMetadata;
pub use protect::validator::Validator;
pub use scope::{Scope, ScopeError, ScopeSet};

// Compile and run the README's examples as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
