//! [`SharedTokenCache`]: a token tier shared by the instances of one service, in front of the
//! token endpoint, and how [`CachedTokenSource`](super::CachedTokenSource) uses it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::{AccessToken, TokenSourceError};
use crate::store::{StoreError, StoreFuture};
use crate::time::Clock;

/// How often a source waiting for another instance's fetch looks for its token.
const POLL: Duration = Duration::from_millis(50);
/// The default lifetime of the lock one instance holds while it fetches.
pub(super) const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(5);
/// Seconds between two "shared tier unavailable" warnings of one source.
const WARN_EVERY_SECS: u64 = 60;

/// A store that several instances of one service share their outbound tokens through (set it
/// with [`CachedTokenSourceBuilder::shared`](super::CachedTokenSourceBuilder::shared)), so that
/// they make one token request per client, scope set and resource instead of one each. The
/// `redis` feature provides `RedisTokenCache`.
///
/// Keys are SHA-256 hex digests of what identifies the tokens (the token endpoint or issuer,
/// the client id, the scope set, the resources, the extra parameters), never of the secret.
/// Values are access tokens: **secrets**. Whoever can read the store can call the services
/// those tokens are for until they expire; protect it like the client secrets.
///
/// A source looks here before fetching; on a miss it takes the key's lock ([`try_lock`]), fetches,
/// stores the token with a TTL that ends when the token is due for refresh, and unlocks. A
/// source that finds the lock held looks for the token every 50 ms, taking the lock itself if
/// it is released without a token (the fetch failed), and fetches by itself once the lock's
/// TTL has passed. A store that fails (any [`StoreError`]) is skipped: the source fetches as if
/// it had none, with a warning at most once a minute.
///
/// [`try_lock`]: SharedTokenCache::try_lock
pub trait SharedTokenCache: Send + Sync + 'static {
    /// The token stored under `key`, if any.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Result<Option<AccessToken>, StoreError>>;

    /// Stores `token` under `key` for `ttl` (it must keep its expiry, refresh time and scope).
    fn put<'a>(
        &'a self,
        key: &'a str,
        token: &'a AccessToken,
        ttl: Duration,
    ) -> StoreFuture<'a, Result<(), StoreError>>;

    /// Takes the lock of `key` for `owner` for at most `ttl`; `false` when another owner holds
    /// it.
    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, Result<bool, StoreError>>;

    /// Releases the lock of `key` if `owner` still holds it.
    fn unlock<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
    ) -> StoreFuture<'a, Result<(), StoreError>>;
}

/// A source's shared tier: the store, its key for the source's tokens, the lock TTL.
pub(super) struct SharedTier {
    cache: Arc<dyn SharedTokenCache>,
    key: String,
    lock_ttl: Duration,
    last_warning: AtomicU64,
}

impl SharedTier {
    pub(super) fn new(cache: Arc<dyn SharedTokenCache>, key: String, lock_ttl: Duration) -> Self {
        SharedTier {
            cache,
            key,
            lock_ttl,
            last_warning: AtomicU64::new(0),
        }
    }

    /// A token from the shared tier, or from `fetch` (stored for the others), as described on
    /// [`SharedTokenCache`]. A stored token equal to `rejected` (refused with 401) is ignored.
    pub(super) async fn obtain<F, Fut>(
        &self,
        clock: &Clock,
        rejected: Option<&AccessToken>,
        fetch: F,
    ) -> Result<AccessToken, TokenSourceError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, TokenSourceError>>,
    {
        let fresh = |token: &AccessToken| {
            clock.now() < token.refresh_at()
                && rejected.is_none_or(|r| r.secret() != token.secret())
        };
        let owner = owner();
        let deadline = Instant::now() + self.lock_ttl;
        loop {
            match self.cache.get(&self.key).await {
                Ok(Some(token)) if fresh(&token) => return Ok(token),
                Ok(_) => {}
                Err(error) => return self.skip(&error, fetch).await,
            }
            match self.cache.try_lock(&self.key, &owner, self.lock_ttl).await {
                Ok(true) => return self.fetch_and_share(clock, &owner, fetch).await,
                Ok(false) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
                // The other instance took too long: do not wait any longer.
                Ok(false) => return fetch().await,
                Err(error) => return self.skip(&error, fetch).await,
            }
        }
    }

    async fn fetch_and_share<F, Fut>(
        &self,
        clock: &Clock,
        owner: &str,
        fetch: F,
    ) -> Result<AccessToken, TokenSourceError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, TokenSourceError>>,
    {
        let result = fetch().await;
        if let Ok(token) = &result {
            // The entry ends when the token is due for refresh: no instance is handed a token
            // it would refresh at once.
            let ttl = token.refresh_at().saturating_sub(clock.now());
            if ttl > 0
                && let Err(error) = self
                    .cache
                    .put(&self.key, token, Duration::from_secs(ttl))
                    .await
            {
                self.warn(&error);
            }
        }
        if let Err(error) = self.cache.unlock(&self.key, owner).await {
            self.warn(&error);
        }
        result
    }

    async fn skip<F, Fut>(
        &self,
        error: &StoreError,
        fetch: F,
    ) -> Result<AccessToken, TokenSourceError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, TokenSourceError>>,
    {
        self.warn(error);
        fetch().await
    }

    fn warn(&self, error: &StoreError) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let before = self.last_warning.load(Ordering::Relaxed);
        if now >= before.saturating_add(WARN_EVERY_SECS)
            && self
                .last_warning
                .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(%error, "shared token cache unavailable; fetching tokens directly");
        }
    }
}

/// A random lock owner: one per fetch, so a source never releases another's lock.
fn owner() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
