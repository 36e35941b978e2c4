//! [`RedisThrottle`]: failure counts in Redis, shared by every instance, with the in-memory
//! throttle as the fallback.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;

use ::redis::Script;

use super::RedisConnection;
use super::connection::{hashed, warn_rarely};
use crate::issue::throttle::windows::peer_group;
use crate::issue::throttle::{
    Admission, Attempt, AuthThrottle, MemoryAuthThrottle, ThrottleLimits,
};
use crate::store::{StoreError, StoreFuture};

/// Seconds between two "Redis is unavailable" warnings of one throttle.
const WARN_EVERY_SECS: u64 = 60;

/// Counts a failure: the first one of a window opens it (the key expires when it closes),
/// later ones add to it; returns the count. Atomic, so two instances never both open a window.
const FAIL: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return n
";

/// For each key: its count (0 when absent) and the milliseconds until its window closes.
const CHECK: &str = r"
local out = {}
for i, key in ipairs(KEYS) do
  out[2 * i - 1] = tonumber(redis.call('GET', key) or '0')
  out[2 * i] = redis.call('PTTL', key)
end
return out
";

/// An [`AuthThrottle`] on Redis: the failure windows of the
/// [throttle module](crate::issue::throttle) (same limits, same window, same rules), counted
/// in Redis so that every instance sees every failure: ten wrong secrets spread over three
/// instances lock the client id out on all of them.
///
/// A window is one key per client id (`<prefix>throttle:client:<SHA-256 of the id>`) and per
/// peer (`<prefix>throttle:peer:<address or IPv6 /64>`), incremented by a Lua script that sets
/// its expiry with the first failure, so it closes `window` after that failure, as in memory.
///
/// **Falls back to memory**: when Redis is down, slow or failing, attempts are counted and
/// checked by a [`MemoryAuthThrottle`] with the same limits in this process, and a warning is
/// logged (at most one a minute, plus one line when Redis answers again). The limits then hold
/// per instance instead of across them; the token endpoint stays up. Lock-outs made in memory
/// during an outage still hold after Redis is back, until their window closes: every check asks
/// both and answers with the longer lock-out.
///
/// ```no_run
/// use std::time::Duration;
/// use tower_client_credentials::issue::throttle::ThrottleLimits;
/// use tower_client_credentials::redis::{RedisConnection, RedisThrottle};
///
/// # fn run(builder: tower_client_credentials::issue::TokenIssuerBuilder) -> Result<(), Box<dyn std::error::Error>> {
/// let redis = RedisConnection::open("redis://127.0.0.1:6379")?;
/// let limits = ThrottleLimits::default().with_window(Duration::from_secs(300));
/// let issuer = builder.throttle(RedisThrottle::new(redis, limits)).build()?;
/// # let _ = issuer; Ok(()) }
/// ```
pub struct RedisThrottle {
    redis: RedisConnection,
    limits: ThrottleLimits,
    fallback: MemoryAuthThrottle,
    fail: Script,
    check: Script,
    degraded: AtomicBool,
    last_warning: AtomicU64,
}

impl RedisThrottle {
    /// A throttle on `redis` with `limits`, falling back to a [`MemoryAuthThrottle`] with the
    /// same limits.
    pub fn new(redis: RedisConnection, limits: ThrottleLimits) -> Self {
        Self::with_fallback(redis, MemoryAuthThrottle::new(limits))
    }

    /// A throttle on `redis` falling back to `fallback`, whose limits it uses (set its clock and
    /// capacity as you like; its clock is only read while Redis is down).
    pub fn with_fallback(redis: RedisConnection, fallback: MemoryAuthThrottle) -> Self {
        RedisThrottle {
            redis,
            limits: fallback.limits(),
            fallback,
            fail: Script::new(FAIL),
            check: Script::new(CHECK),
            degraded: AtomicBool::new(false),
            last_warning: AtomicU64::new(0),
        }
    }

    /// The limits.
    pub fn limits(&self) -> ThrottleLimits {
        self.limits
    }

    /// The in-memory throttle used while Redis is unavailable.
    pub fn fallback(&self) -> &MemoryAuthThrottle {
        &self.fallback
    }

    /// Whether the last Redis call failed (the fallback is in use).
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The windows `attempt` counts against, with their keys and limits (limits of 0 are not
    /// counted).
    fn subjects(&self, attempt: Attempt<'_>) -> Vec<(Subject, String, u32)> {
        let mut keys = Vec::with_capacity(2);
        if let Some(id) = attempt.client_id
            && self.limits.client_failures() > 0
        {
            keys.push((
                Subject::Client,
                self.client_key(id),
                self.limits.client_failures(),
            ));
        }
        if let Some(peer) = attempt.peer
            && self.limits.peer_failures() > 0
        {
            let key = format!("throttle:peer:{}", peer_group(peer));
            keys.push((
                Subject::Peer,
                self.redis.key(&key),
                self.limits.peer_failures(),
            ));
        }
        keys
    }

    fn client_key(&self, client_id: &str) -> String {
        self.redis.key(&format!(
            "throttle:client:{}",
            hashed(&[client_id.as_bytes()])
        ))
    }

    /// Notes whether Redis answered, with a (rare) warning when it did not.
    fn outcome<T>(&self, result: Result<T, StoreError>) -> Option<T> {
        use std::sync::atomic::Ordering::Relaxed;
        match result {
            Ok(value) => {
                if self.degraded.swap(false, Relaxed) {
                    tracing::info!("authentication throttle: Redis answers again; counting there");
                }
                Some(value)
            }
            Err(error) => {
                self.degraded.store(true, Relaxed);
                warn_rarely(&self.last_warning, WARN_EVERY_SECS, || {
                    tracing::warn!(
                        %error,
                        "authentication throttle: Redis unavailable; counting in this process's memory until it is back"
                    );
                });
                None
            }
        }
    }

    async fn check_redis(&self, attempt: Attempt<'_>) -> Result<Option<u64>, StoreError> {
        let subjects = self.subjects(attempt);
        if subjects.is_empty() {
            return Ok(None);
        }
        let mut call = self.check.prepare_invoke();
        for (_, key, _) in &subjects {
            call.key(key);
        }
        let mut conn = self.redis.manager();
        let answer: Vec<i64> = self.redis.within(call.invoke_async(&mut conn)).await?;
        let mut locked: Option<u64> = None;
        for ((_, _, limit), pair) in subjects.iter().zip(answer.chunks(2)) {
            let [count, pttl] = pair else {
                return Err(StoreError::Unavailable(
                    "redis: short throttle answer".into(),
                ));
            };
            if *count >= i64::from(*limit) && *pttl > 0 {
                // Whole seconds, rounded up: never invite a retry before the window closes.
                let secs = (*pttl as u64).div_ceil(1000);
                locked = locked.max(Some(secs));
            }
        }
        Ok(locked)
    }

    async fn fail_redis(&self, attempt: Attempt<'_>) -> Result<(), StoreError> {
        let window = self.limits.window().as_secs().max(1);
        let mut conn = self.redis.manager();
        for (subject, key, limit) in self.subjects(attempt) {
            let mut call = self.fail.prepare_invoke();
            call.key(&key).arg(window);
            let count: i64 = self.redis.within(call.invoke_async(&mut conn)).await?;
            if count == i64::from(limit) {
                match subject {
                    Subject::Client => {
                        tracing::warn!(
                            "client authentication throttled: too many failures for this client id"
                        );
                        crate::metrics::throttle_lockout("client_id");
                    }
                    Subject::Peer => {
                        tracing::warn!(
                            peer = ?attempt.peer,
                            "client authentication throttled: too many failures from this address"
                        );
                        crate::metrics::throttle_lockout("peer");
                    }
                }
            }
        }
        Ok(())
    }

    async fn success_redis(&self, attempt: Attempt<'_>) -> Result<(), StoreError> {
        let Some(id) = attempt.client_id else {
            return Ok(());
        };
        self.redis
            .query::<i64>(::redis::cmd("DEL").arg(self.client_key(id)))
            .await
            .map(drop)
    }
}

/// What a window counts failures of.
#[derive(Clone, Copy)]
enum Subject {
    Client,
    Peer,
}

impl AuthThrottle for RedisThrottle {
    fn check<'a>(&'a self, attempt: Attempt<'a>) -> StoreFuture<'a, Result<Admission, StoreError>> {
        Box::pin(async move {
            let shared = self.outcome(self.check_redis(attempt).await).flatten();
            let local = match self.fallback.check(attempt).await? {
                Admission::Throttled { retry_after } => Some(retry_after.as_secs()),
                _ => None,
            };
            Ok(match shared.max(local) {
                Some(secs) => Admission::Throttled {
                    retry_after: Duration::from_secs(secs),
                },
                None => Admission::Allowed,
            })
        })
    }

    fn record_failure<'a>(
        &'a self,
        attempt: Attempt<'a>,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if self.outcome(self.fail_redis(attempt).await).is_none() {
                self.fallback.record_failure(attempt).await?;
            }
            Ok(())
        })
    }

    fn record_success<'a>(
        &'a self,
        attempt: Attempt<'a>,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.fallback.record_success(attempt).await?;
            self.outcome(self.success_redis(attempt).await);
            Ok(())
        })
    }
}

impl fmt::Debug for RedisThrottle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisThrottle")
            .field("redis", &self.redis)
            .field("limits", &self.limits)
            .field("degraded", &self.is_degraded())
            .field("fallback", &self.fallback)
            .finish()
    }
}
