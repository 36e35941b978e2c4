//! Calling other services with client-credentials tokens (feature `client`).
//!
//! - [`ClientCredentials`]: the token endpoint (or an issuer whose metadata names it), the
//!   client id, its secret (a value, an environment variable, a file) or private key
//!   (`private_key_jwt`), the scopes and RFC 8707 resources it asks for.
//! - [`CachedTokenSource`]: a [`TokenSource`] that holds the token, refreshes it early,
//!   fetches once for any number of concurrent callers, retries transient failures and
//!   renews after a 401.
//! - [`TokenSources`]: a source per client, scope set and resource, created on first use.
//!
//! ```no_run
//! use tower_client_credentials::outbound::{CachedTokenSource, ClientCredentials, TokenSource};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let tokens = CachedTokenSource::new(ClientCredentials::from_env()?);
//! let token = tokens.token().await?;
//! let reports = reqwest::Client::new()
//!     .get("https://reports.example.com/api/reports")
//!     .header(http::header::AUTHORIZATION, token.authorization())
//!     .send()
//!     .await?;
//! # let _ = reports; Ok(()) }
//! ```

mod cached;
mod config;
mod request;
mod sources;
mod token;

pub use cached::{CachedTokenSource, CachedTokenSourceBuilder};
pub use config::{ClientConfigError, ClientCredentials, ClientCredentialsBuilder, SecretMethod};
pub use sources::TokenSources;
pub use token::{AccessToken, InvalidAccessToken, TokenSource, TokenSourceError};
