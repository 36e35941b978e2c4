//! [`RedisReplayGuard`]: assertion `jti`s remembered in Redis, shared by every instance.

use std::fmt;

use super::RedisConnection;
use super::connection::hashed;
use crate::issue::ReplayGuard;
use crate::store::{StoreError, StoreFuture};
use crate::time::Clock;

/// A [`ReplayGuard`] on Redis: an assertion accepted by one instance is refused by all
/// (RFC 7523 §3, item 7).
///
/// Each `jti` is one key, `<prefix>jti:<SHA-256 of the client id and the jti>`, written with
/// `SET … NX EX` so the first instance to write it wins, and expiring when the assertion could
/// no longer be accepted anyway. Redis evicts nothing by itself here unless its `maxmemory`
/// policy says so: use `noeviction` or `volatile-*` with headroom, since an evicted `jti` could
/// be replayed until its assertion expires.
///
/// **Fails closed**: when Redis is down, slow (beyond the connection's command deadline) or
/// answers an error, the guard answers [`StoreError::Unavailable`] and the token endpoint
/// refuses the assertion with `503 temporarily_unavailable`: accepting it unchecked would let a
/// stolen assertion be replayed. Client secrets do not use the guard and keep working. The
/// connection is remade automatically; the first request after Redis is back succeeds.
///
/// ```no_run
/// use tower_client_credentials::redis::{RedisConnection, RedisReplayGuard};
///
/// # fn run(builder: tower_client_credentials::issue::TokenIssuerBuilder) -> Result<(), Box<dyn std::error::Error>> {
/// let redis = RedisConnection::open("redis://127.0.0.1:6379")?;
/// let issuer = builder.replay_guard(RedisReplayGuard::new(redis)).build()?;
/// # let _ = issuer; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisReplayGuard {
    redis: RedisConnection,
    clock: Clock,
}

impl RedisReplayGuard {
    /// A guard on `redis`, on the system clock.
    pub fn new(redis: RedisConnection) -> Self {
        RedisReplayGuard {
            redis,
            clock: Clock::system(),
        }
    }

    /// The clock expiries are computed from (use the issuer's).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The key a `jti` of `client_id` is remembered under.
    fn key(&self, client_id: &str, jti: &str) -> String {
        self.redis.key(&format!(
            "jti:{}",
            hashed(&[client_id.as_bytes(), jti.as_bytes()])
        ))
    }
}

impl ReplayGuard for RedisReplayGuard {
    fn first_use<'a>(
        &'a self,
        client_id: &'a str,
        jti: &'a str,
        expires_at: u64,
    ) -> StoreFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            // At least a second: an assertion checked at its last second is still remembered.
            let ttl = expires_at.saturating_sub(self.clock.now()).max(1);
            let written: Option<String> = self
                .redis
                .query(
                    ::redis::cmd("SET")
                        .arg(self.key(client_id, jti))
                        .arg(1)
                        .arg("NX")
                        .arg("EX")
                        .arg(ttl),
                )
                .await?;
            Ok(written.is_some())
        })
    }
}

impl fmt::Debug for RedisReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisReplayGuard")
            .field("redis", &self.redis)
            .field("clock", &self.clock)
            .finish()
    }
}
