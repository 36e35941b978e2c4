//! The remote key cache: the last good key set behind an [`ArcSwap`] (lock-free reads), one
//! fetch in flight at a time, an atomic cool-down for fetches caused by unknown `kid`s, and
//! the background task that refreshes the set before it goes stale.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use rand::Rng;
use reqwest::Url;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tracing::Instrument;

use super::RemoteKeysError;
use super::http::{FetchedKeys, JwksClient};
use crate::keys::{KeyError, KeyFuture, KeyProvider, VerifyingKey};
use crate::time::Clock;

/// The first retry after a failed fetch comes after 0.5–1 s; each failure doubles it, up to
/// [`MAX_BACKOFF`] (each delay is half fixed, half random, so a fleet does not retry in step).
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(120);
/// `miss_claimed_at` before any unknown `kid` claimed a fetch.
const NEVER: u64 = u64::MAX;

/// Where the keys come from.
pub(super) enum Target {
    /// A JWKS URL, as configured.
    Jwks(Url),
    /// An issuer whose metadata names the JWKS URL; `expected` holds the issuer and its
    /// aliases, any of which the metadata's `issuer` may be.
    Discover { issuer: Url, expected: Vec<String> },
}

/// Timing settings, in whole seconds where the clock reads seconds.
pub(super) struct Timing {
    pub(super) request_timeout: Duration,
    pub(super) default_lifetime: Duration,
    pub(super) min_lifetime: Duration,
    pub(super) max_lifetime: Duration,
    pub(super) cool_down: u64,
    pub(super) max_staleness: u64,
}

/// One key set, as fetched (or seeded).
pub(super) struct KeySet {
    pub(super) keys: Box<[VerifyingKey]>,
    /// Unix time it was fetched; 0 for the empty set the cache starts with.
    pub(super) fetched_at: u64,
    /// Unix time after which it is stale (its clamped `max-age` has passed).
    pub(super) fresh_until: u64,
}

impl KeySet {
    /// The background task refreshes the set once 90% of its lifetime has passed.
    fn refresh_at(&self) -> u64 {
        let lifetime = self.fresh_until.saturating_sub(self.fetched_at);
        self.fetched_at.saturating_add(lifetime - lifetime / 10)
    }
}

/// Counters and the last error, for [`RemoteKeys::status`](super::RemoteKeys::status). Only
/// fetches touch it, never the request path.
#[derive(Default)]
pub(super) struct Stats {
    pub(super) attempts: u64,
    pub(super) failures: u64,
    pub(super) last_error: Option<RemoteKeysError>,
}

/// Everything one remote key source shares between its handles, the fetch task and the
/// background task.
pub(super) struct KeyCache {
    pub(super) target: Target,
    pub(super) http: JwksClient,
    pub(super) timing: Timing,
    pub(super) clock: Clock,
    pub(super) set: ArcSwap<KeySet>,
    /// The `jwks_uri` discovery found; forgotten when a JWKS fetch fails, so a moved JWKS is
    /// found again by the next discovery.
    pub(super) discovered: Mutex<Option<Url>>,
    /// Unix time an unknown `kid` last claimed a fetch ([`NEVER`] before the first).
    pub(super) miss_claimed_at: AtomicU64,
    /// Whether a fetch is in flight (single flight: set by whoever starts it).
    pub(super) fetching: AtomicBool,
    /// Consecutive failed fetches (for the background task's backoff).
    pub(super) failures: AtomicU32,
    /// Whether the last fetch succeeded; sent at the end of every fetch.
    pub(super) done: watch::Sender<bool>,
    pub(super) stats: Mutex<Stats>,
    pub(super) background_started: AtomicBool,
    pub(super) background: OnceLock<AbortHandle>,
}

impl KeyCache {
    pub(super) fn new(
        target: Target,
        http: JwksClient,
        timing: Timing,
        clock: Clock,
        seed: Vec<VerifyingKey>,
    ) -> Self {
        let now = clock.now();
        let set = KeySet {
            fetched_at: if seed.is_empty() { 0 } else { now },
            // A seed is used at once and replaced by the first fetch.
            fresh_until: if seed.is_empty() { 0 } else { now },
            keys: seed.into(),
        };
        KeyCache {
            target,
            http,
            timing,
            clock,
            set: ArcSwap::from_pointee(set),
            discovered: Mutex::new(None),
            miss_claimed_at: AtomicU64::new(NEVER),
            fetching: AtomicBool::new(false),
            failures: AtomicU32::new(0),
            done: watch::Sender::new(false),
            stats: Mutex::new(Stats::default()),
            background_started: AtomicBool::new(false),
            background: OnceLock::new(),
        }
    }

    /// Whether `set` may verify tokens now: it has keys and is not older than the maximum
    /// staleness.
    pub(super) fn usable(&self, set: &KeySet, now: u64) -> bool {
        !set.keys.is_empty() && now.saturating_sub(set.fetched_at) <= self.timing.max_staleness
    }

    /// The key for `kid` in the current set, if the set is usable. Lock-free.
    pub(super) fn find(&self, kid: Option<&str>) -> Option<VerifyingKey> {
        let set = self.set.load();
        if !self.usable(&set, self.clock.now()) {
            return None;
        }
        crate::keys::select(&set.keys, kid).cloned()
    }

    /// Claims the one fetch an unknown `kid` may cause per cool-down: a compare-exchange on the
    /// claim time, so of any number of concurrent misses exactly one wins.
    fn claim_miss(&self, now: u64) -> bool {
        let last = self.miss_claimed_at.load(Ordering::Acquire);
        if last != NEVER && now < last.saturating_add(self.timing.cool_down) {
            return false;
        }
        self.miss_claimed_at
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Starts the background refresh task once, if a tokio runtime is at hand.
    pub(super) fn start_background(self: &Arc<Self>) {
        if self.background_started.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = Handle::try_current() else {
            return;
        };
        if self
            .background_started
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let task = runtime.spawn(background(Arc::downgrade(self)));
            let _ = self.background.set(task.abort_handle());
        }
    }

    /// Starts a fetch unless one is in flight. Whether a fetch is in flight afterwards (false
    /// only without a tokio runtime to run it on).
    fn start_fetch(self: &Arc<Self>, trigger: &'static str) -> bool {
        if self
            .fetching
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return true;
        }
        match Handle::try_current() {
            Ok(runtime) => {
                let guard = FlightGuard {
                    cache: self.clone(),
                    trigger,
                    ok: false,
                };
                runtime.spawn(guard.run());
                true
            }
            Err(_) => {
                self.fetching.store(false, Ordering::Release);
                let error = RemoteKeysError::NoRuntime;
                crate::metrics::jwks_fetch(trigger, crate::metrics::jwks_error_label(&error));
                self.record(Err(error));
                false
            }
        }
    }

    /// Starts (or joins) a fetch and waits for it to end; whether it succeeded.
    pub(super) async fn refresh(self: &Arc<Self>) -> bool {
        let mut done = self.done.subscribe();
        if !self.start_fetch("refresh") {
            return false;
        }
        // The sender lives as long as `self`: `changed` only ends with a new value.
        match done.changed().await {
            Ok(()) => *done.borrow(),
            Err(_) => false,
        }
    }

    /// One fetch: discovery (when the JWKS URL is not known yet), then the JWKS.
    async fn load(&self) -> Result<FetchedKeys, RemoteKeysError> {
        let jwks_uri = match &self.target {
            Target::Jwks(url) => url.clone(),
            Target::Discover { issuer, expected } => {
                let known = self.discovered.lock().ok().and_then(|known| known.clone());
                match known {
                    Some(url) => url,
                    None => {
                        let url = self.http.discover(issuer, expected).await?;
                        if let Ok(mut known) = self.discovered.lock() {
                            *known = Some(url.clone());
                        }
                        url
                    }
                }
            }
        };
        let fetched = self.http.jwks(&jwks_uri).await;
        if fetched.is_err()
            && let Ok(mut known) = self.discovered.lock()
        {
            *known = None;
        }
        fetched
    }

    /// Installs a fetched set, or keeps the last good one and says so.
    fn record(&self, result: Result<FetchedKeys, RemoteKeysError>) -> bool {
        let now = self.clock.now();
        let ok = result.is_ok();
        let error = match result {
            Ok(fetched) => {
                let t = &self.timing;
                let lifetime = fetched
                    .max_age
                    .unwrap_or(t.default_lifetime)
                    .clamp(t.min_lifetime, t.max_lifetime)
                    .as_secs();
                let count = fetched.keys.len();
                self.set.store(Arc::new(KeySet {
                    keys: fetched.keys.into(),
                    fetched_at: now,
                    fresh_until: now.saturating_add(lifetime),
                }));
                self.failures.store(0, Ordering::Release);
                tracing::debug!(keys = count, lifetime_secs = lifetime, "JWKS loaded");
                None
            }
            Err(error) => {
                self.failures.fetch_add(1, Ordering::AcqRel);
                let set = self.set.load();
                let age_secs = now.saturating_sub(set.fetched_at);
                if self.usable(&set, now) {
                    tracing::warn!(%error, age_secs, "JWKS fetch failed; the last good keys keep serving");
                } else if set.keys.is_empty() {
                    tracing::warn!(%error, "JWKS fetch failed; no keys yet, tokens are refused");
                } else {
                    tracing::warn!(%error, age_secs, "JWKS fetch failed; the last good keys are too old, tokens are refused");
                }
                Some(error)
            }
        };
        if let Ok(mut stats) = self.stats.lock() {
            stats.attempts += 1;
            stats.failures += u64::from(error.is_some());
            stats.last_error = error;
        }
        ok
    }

    /// How long the background task waits before its next fetch.
    fn next_delay(&self) -> Duration {
        let failures = self.failures.load(Ordering::Acquire);
        if failures == 0 {
            let now = self.clock.now();
            let due = self.set.load().refresh_at();
            return Duration::from_secs(due.saturating_sub(now));
        }
        let doubled = FIRST_BACKOFF.saturating_mul(1u32 << failures.min(16).saturating_sub(1));
        let base = doubled.min(MAX_BACKOFF);
        let half = base / 2;
        half + rand::thread_rng().gen_range(Duration::ZERO..=half)
    }
}

impl Drop for KeyCache {
    fn drop(&mut self) {
        if let Some(task) = self.background.get() {
            task.abort();
        }
    }
}

/// The background task: fetch, then wait until the set is due for a refresh (or, after a
/// failure, for the backoff), for as long as the cache is alive. It holds the cache only
/// weakly between fetches, so dropping every handle ends it.
async fn background(cache: Weak<KeyCache>) {
    loop {
        let Some(strong) = cache.upgrade() else {
            return;
        };
        let due = strong.set.load().refresh_at();
        let failed_before = strong.failures.load(Ordering::Acquire) > 0;
        if failed_before || strong.clock.now() >= due {
            strong.refresh().await;
        }
        let delay = strong.next_delay().max(Duration::from_millis(100));
        drop(strong);
        tokio::time::sleep(delay).await;
    }
}

/// Runs one fetch and, however it ends (even dropped with its runtime), clears `fetching`
/// and wakes everyone waiting for it.
struct FlightGuard {
    cache: Arc<KeyCache>,
    /// What started the fetch, for the metrics and the span: `refresh` or `kid_miss`.
    trigger: &'static str,
    ok: bool,
}

impl FlightGuard {
    async fn run(mut self) {
        let cache = &self.cache;
        // Discovery (two URLs at most) plus the JWKS: three requests.
        let limit = cache.timing.request_timeout.saturating_mul(3);
        let span = tracing::info_span!(
            "jwks_fetch",
            trigger = self.trigger,
            outcome = tracing::field::Empty
        );
        let result = tokio::time::timeout(limit, cache.load())
            .instrument(span.clone())
            .await
            .unwrap_or(Err(RemoteKeysError::Timeout));
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) => crate::metrics::jwks_error_label(error),
        };
        span.record("outcome", outcome);
        crate::metrics::jwks_fetch(self.trigger, outcome);
        self.ok = span.in_scope(|| cache.record(result));
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        self.cache.fetching.store(false, Ordering::Release);
        let ok = self.ok;
        self.cache.done.send_modify(|done| *done = ok);
    }
}

/// The [`KeyProvider`] a [`RemoteKeys`](super::RemoteKeys) hands to validators.
pub(super) struct RemoteProvider(pub(super) Arc<KeyCache>);

impl KeyProvider for RemoteProvider {
    fn find(&self, kid: Option<&str>) -> Option<VerifyingKey> {
        self.0.start_background();
        self.0.find(kid)
    }

    fn fetch(&self, kid: Option<&str>) -> Option<KeyFuture> {
        let cache = &self.0;
        let now = cache.clock.now();
        let claimed = cache.claim_miss(now);
        if !claimed && !cache.fetching.load(Ordering::Acquire) {
            // Within the cool-down and nothing in flight: answer from what is held, at once.
            if cache.usable(&cache.set.load(), now) {
                return None;
            }
            return Some(Box::pin(std::future::ready(Err(KeyError::Unavailable))));
        }
        let (cache, kid) = (cache.clone(), kid.map(str::to_owned));
        Some(Box::pin(async move {
            // Subscribed before looking at `fetching`: the end of the fetch cannot be missed.
            let mut done = cache.done.subscribe();
            let in_flight = if claimed {
                cache.start_fetch("kid_miss")
            } else {
                cache.fetching.load(Ordering::Acquire)
            };
            if in_flight && Handle::try_current().is_ok() {
                // No request waits longer than one request timeout, however long the fetch.
                let _ = tokio::time::timeout(cache.timing.request_timeout, done.changed()).await;
            }
            let set = cache.set.load();
            if !cache.usable(&set, cache.clock.now()) {
                return Err(KeyError::Unavailable);
            }
            Ok(crate::keys::select(&set.keys, kid.as_deref()).cloned())
        }))
    }
}
