//! [`RedisTokenCache`]: the outbound token tier shared by the instances of one service.

use std::fmt;
use std::time::Duration;

use ::redis::Script;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use super::RedisConnection;
use crate::outbound::{AccessToken, SharedTokenCache};
use crate::store::{StoreError, StoreFuture};

/// Deletes the lock only when `owner` still holds it (it may have expired and been taken).
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// A [`SharedTokenCache`] on Redis: set it with
/// [`CachedTokenSourceBuilder::shared`](crate::outbound::CachedTokenSourceBuilder::shared) on
/// every instance of a service, and they make one token request per client, scope set and
/// resource between them.
///
/// A token is stored under `<prefix>token:<digest>` (the digest of the token endpoint, client
/// id, scopes, resources and parameters: never of the secret) as JSON, expiring when the token
/// is due for refresh; the fetch lock is `<prefix>token-lock:<digest>` (`SET NX PX`, released
/// by its owner only).
///
/// **The values are access tokens, which are secrets**: anyone who can read this Redis can call
/// the services they are for until they expire. Give Redis a password or ACL user, TLS where
/// the network is not trusted (`rediss://`), and keep it out of backups you would not give
/// the tokens to.
///
/// **When Redis is down** each source skips the shared tier and fetches its own token from the
/// token endpoint (a warning at most once a minute per source): more token requests, no
/// outage.
///
/// ```no_run
/// use tower_client_credentials::outbound::{CachedTokenSource, ClientCredentials};
/// use tower_client_credentials::redis::{RedisConnection, RedisTokenCache};
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = RedisConnection::open("redis://127.0.0.1:6379")?.with_prefix("billing:");
/// let tokens = CachedTokenSource::builder(ClientCredentials::from_env()?)
///     .shared(RedisTokenCache::new(redis))
///     .build();
/// # let _ = tokens; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisTokenCache {
    redis: RedisConnection,
    unlock: Script,
}

/// A token as stored.
#[derive(Serialize)]
struct Stored<'a> {
    access_token: &'a str,
    expires_at: u64,
    refresh_at: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
}

/// A token as read back (owned: JSON escapes cannot be borrowed).
#[derive(Deserialize)]
struct Loaded {
    access_token: String,
    expires_at: u64,
    refresh_at: u64,
    #[serde(default)]
    scope: Option<String>,
}

impl Drop for Loaded {
    fn drop(&mut self) {
        self.access_token.zeroize();
    }
}

impl RedisTokenCache {
    /// A token tier on `redis`.
    pub fn new(redis: RedisConnection) -> Self {
        RedisTokenCache {
            redis,
            unlock: Script::new(UNLOCK),
        }
    }

    fn token_key(&self, key: &str) -> String {
        self.redis.key(&format!("token:{key}"))
    }

    fn lock_key(&self, key: &str) -> String {
        self.redis.key(&format!("token-lock:{key}"))
    }
}

/// Milliseconds, at least one (Redis refuses an expiry of 0).
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl SharedTokenCache for RedisTokenCache {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Result<Option<AccessToken>, StoreError>> {
        Box::pin(async move {
            let value: Option<Vec<u8>> = self
                .redis
                .query(::redis::cmd("GET").arg(self.token_key(key)))
                .await?;
            let Some(value) = value.map(Zeroizing::new) else {
                return Ok(None);
            };
            let stored: Loaded = serde_json::from_slice(&value)
                .map_err(|_| StoreError::InvalidRecord("a shared token that is not one".into()))?;
            let token = AccessToken::new(
                &stored.access_token,
                stored.expires_at,
                stored.scope.clone(),
            )
            .map_err(|_| StoreError::InvalidRecord("a shared token that cannot be sent".into()))?
            .with_refresh_at(stored.refresh_at);
            Ok(Some(token))
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        token: &'a AccessToken,
        ttl: Duration,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let stored = Stored {
                access_token: token.secret(),
                expires_at: token.expires_at(),
                refresh_at: token.refresh_at(),
                scope: token.scope(),
            };
            let value = Zeroizing::new(
                serde_json::to_vec(&stored)
                    .map_err(|_| StoreError::InvalidRecord("unserialisable token".into()))?,
            );
            self.redis
                .query::<()>(
                    ::redis::cmd("SET")
                        .arg(self.token_key(key))
                        .arg(value.as_slice())
                        .arg("PX")
                        .arg(millis(ttl)),
                )
                .await
        })
    }

    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let taken: Option<String> = self
                .redis
                .query(
                    ::redis::cmd("SET")
                        .arg(self.lock_key(key))
                        .arg(owner)
                        .arg("NX")
                        .arg("PX")
                        .arg(millis(ttl)),
                )
                .await?;
            Ok(taken.is_some())
        })
    }

    fn unlock<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut call = self.unlock.prepare_invoke();
            call.key(self.lock_key(key)).arg(owner);
            let mut conn = self.redis.manager();
            self.redis
                .within(call.invoke_async::<i64>(&mut conn))
                .await
                .map(drop)
        })
    }
}

impl fmt::Debug for RedisTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTokenCache")
            .field("redis", &self.redis)
            .finish_non_exhaustive()
    }
}
