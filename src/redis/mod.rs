//! Shared state on Redis for several instances (feature `redis`).
//!
//! One instance keeps its replay guard, throttle and caches in memory; several instances behind
//! a load balancer share them here:
//!
//! | type | trait | Redis down |
//! |---|---|---|
//! | [`RedisReplayGuard`] | [`ReplayGuard`](crate::issue::ReplayGuard) | **fails closed**: assertions get `503 temporarily_unavailable` |
//! | [`RedisThrottle`] | [`AuthThrottle`](crate::issue::throttle::AuthThrottle) | falls back to the in-memory throttle, with a warning (at most one a minute) |
//! | [`CredentialInvalidation`] | [`TokenIssuer::forget_credentials`](crate::issue::TokenIssuer::forget_credentials) on every instance | messages are lost; a changed client is still refused at its next grant (see its docs) |
//! | [`RedisTokenCache`] | [`SharedTokenCache`](crate::outbound::SharedTokenCache) | skipped: each instance fetches its own token, with a warning |
//!
//! All of them share one [`RedisConnection`]: a `redis` connection manager that reconnects by
//! itself, and a deadline on every command (default 500 ms), so a Redis that hangs fails as
//! fast as one that is down. Nothing here waits for Redis at start-up: an instance starts with
//! Redis down and uses it once it is up.
//!
//! Keys live under a prefix (default [`DEFAULT_PREFIX`]) so that several deployments or tests
//! can share one Redis. Keys never hold a secret; the outbound token tier's *values* are access
//! tokens, which are secrets: restrict who can read that Redis (ACLs, TLS with `rediss://`).
//!
//! ```no_run
//! use tower_client_credentials::issue::TokenIssuer;
//! use tower_client_credentials::issue::throttle::ThrottleLimits;
//! use tower_client_credentials::redis::{RedisConnection, RedisReplayGuard, RedisThrottle};
//!
//! # fn run(builder: tower_client_credentials::issue::TokenIssuerBuilder) -> Result<(), Box<dyn std::error::Error>> {
//! let redis = RedisConnection::open("redis://127.0.0.1:6379")?.with_prefix("auth:");
//! let issuer = builder
//!     .replay_guard(RedisReplayGuard::new(redis.clone()))
//!     .throttle(RedisThrottle::new(redis, ThrottleLimits::default()))
//!     .build()?;
//! # let _ = issuer; Ok(()) }
//! ```

mod connection;
#[cfg(feature = "issue")]
mod invalidation;
#[cfg(feature = "issue")]
mod replay;
#[cfg(feature = "issue")]
mod throttle;
#[cfg(feature = "client")]
mod token_cache;

pub use connection::{DEFAULT_COMMAND_TIMEOUT, DEFAULT_PREFIX, RedisConfigError, RedisConnection};
#[cfg(feature = "issue")]
pub use invalidation::{CredentialInvalidation, CredentialListener};
#[cfg(feature = "issue")]
pub use replay::RedisReplayGuard;
#[cfg(feature = "issue")]
pub use throttle::RedisThrottle;
#[cfg(feature = "client")]
pub use token_cache::RedisTokenCache;
