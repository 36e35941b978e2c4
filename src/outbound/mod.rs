//! Calling other services with client-credentials tokens (feature `client`).
//!
//! - [`ClientCredentials`]: the token endpoint (or an issuer whose metadata names it), the
//!   client id, its secret (a value, an environment variable, a file) or private key
//!   (`private_key_jwt`), the scopes and RFC 8707 resources it asks for.
//! - [`CachedTokenSource`]: a [`TokenSource`] that holds the token, refreshes it early,
//!   fetches once for any number of concurrent callers, retries transient failures and
//!   renews after a 401.
//! - [`SharedTokenCache`]: a token tier the instances of one service share (Redis with the
//!   `redis` feature), so that one of them fetches a token for all.
//! - [`TokenSources`]: a source per client, scope set and resource, created on first use.
//! - [`AddBearerLayer`]: a tower layer for outbound clients (hyper-util's client, tonic
//!   channels) that adds the token to requests for the origins it is meant for, renews a
//!   refused token and sends the request once more when its [`ReplayBody`] policy allows.
//! - `BearerMiddleware` (feature `reqwest`): the same for a `reqwest_middleware` client.
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
mod challenge;
mod config;
mod layer;
mod origin;
mod replay;
mod request;
#[cfg(feature = "reqwest")]
mod reqwest;
mod shared;
mod sources;
mod token;

#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use self::reqwest::BearerMiddleware;
pub use cached::{CachedTokenSource, CachedTokenSourceBuilder};
pub use config::{ClientConfigError, ClientCredentials, ClientCredentialsBuilder, SecretMethod};
pub use layer::{AddBearer, AddBearerError, AddBearerFuture, AddBearerLayer};
pub use origin::InvalidOrigin;
pub use replay::{NoReplay, ReplayBody, ReplayClone, ReplayEmpty};
pub use shared::SharedTokenCache;
pub use sources::TokenSources;
pub use token::{AccessToken, InvalidAccessToken, TokenSource, TokenSourceError};
