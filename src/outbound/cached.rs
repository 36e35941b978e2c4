//! [`CachedTokenSource`]: a client-credentials client with a token cache, early refresh,
//! single-flight fetches and retries.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use super::shared::{DEFAULT_LOCK_TTL, SharedTier};
use super::{AccessToken, ClientCredentials, SharedTokenCache, TokenSource, TokenSourceError};
use crate::time::Clock;

/// A failed background refresh is not tried again for this long (the held token is still
/// served; once it expires, callers fetch at once).
const BACKGROUND_PAUSE_SECS: u64 = 5;

/// The result every caller waiting on one fetch gets.
type Shared = Option<Result<AccessToken, TokenSourceError>>;

/// A [`TokenSource`] for one [`ClientCredentials`] client: it fetches a token, holds it, and
/// hands it out until it is due for refresh. Clones share the token.
///
/// - **Early refresh**: from `min(refresh margin, half the lifetime)` before the expiry (the
///   margin is 60 s by default), callers still get the held token at once while one
///   background fetch replaces it. A token whose answer had no `expires_in` is kept for the
///   default lifetime (60 s). An expired token is never handed out.
/// - **Single flight**: however many callers ask while no token is usable, one token request
///   is made, and all of them get its token or its error. The fetch runs on its own task, so a
///   caller that gives up does not cancel it for the others.
/// - **Failures are never cached**: the next caller after a failed fetch starts a new one. A
///   failed background refresh leaves the held token in service until it expires.
/// - **Retries**: connection failures, timeouts, 5xx, 429 and `temporarily_unavailable` are
///   retried with jittered exponential backoff (from 200 ms, at most 2 s apart), honouring
///   `Retry-After`, until the retry deadline (10 s). `invalid_client`, `invalid_scope`,
///   `unauthorized_client` and the other RFC 6749 errors come back at once, typed.
/// - **Renewal**: [`TokenSource::renew`] after a 401 drops the refused token (once, however
///   many callers saw it refused) and fetches a new one; [`CachedTokenSource::invalidate`]
///   drops the held token.
///
/// - **Shared tier** (optional, [`CachedTokenSourceBuilder::shared`]): instances of one
///   service share their tokens through a [`SharedTokenCache`] (Redis with the `redis`
///   feature): a fetch first looks there, and one instance at a time fetches for all of them.
///   A shared tier that fails is skipped (each instance fetches for itself, with a warning).
///
/// A cache hit reads one atomic pointer and the clock, and clones one reference count: no
/// lock, no allocation.
///
/// ```no_run
/// use tower_client_credentials::outbound::{CachedTokenSource, ClientCredentials, TokenSource};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = ClientCredentials::builder()
///     .token_endpoint("https://auth.example.com/oauth2/token")
///     .client_id("billing")
///     .client_secret_env("BILLING_CLIENT_SECRET")
///     .scope("reports:read")
///     .build()?;
/// let tokens = CachedTokenSource::new(client);
/// let token = tokens.token().await?; // fetched
/// let again = tokens.token().await?; // cached
/// assert_eq!(token.secret(), again.secret());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CachedTokenSource {
    shared: Arc<Inner>,
}

struct Inner {
    client: ClientCredentials,
    settings: Settings,
    clock: Clock,
    current: ArcSwapOption<AccessToken>,
    flight: Mutex<Option<Flight>>,
    flights: AtomicU64,
    /// No background refresh before this time (Unix seconds): the last one failed.
    paused_until: AtomicU64,
    shared: Option<SharedTier>,
}

/// A fetch in progress, and how to wait for it.
struct Flight {
    id: u64,
    done: watch::Receiver<Shared>,
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    refresh_margin: Duration,
    default_lifetime: Duration,
    retry_deadline: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            refresh_margin: Duration::from_secs(60),
            default_lifetime: Duration::from_secs(60),
            retry_deadline: Duration::from_secs(10),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// Builds a [`CachedTokenSource`] with settings other than the defaults.
///
/// ```
/// use std::time::Duration;
/// use tower_client_credentials::outbound::{CachedTokenSource, ClientCredentials};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let client = ClientCredentials::builder()
/// #     .token_endpoint("https://auth.example.com/oauth2/token")
/// #     .client_id("billing").client_secret("x").build()?;
/// let tokens = CachedTokenSource::builder(client)
///     .refresh_margin(Duration::from_secs(120))
///     .retry_deadline(Duration::from_secs(30))
///     .build();
/// # let _ = tokens; Ok(()) }
/// ```
pub struct CachedTokenSourceBuilder {
    client: ClientCredentials,
    settings: Settings,
    clock: Clock,
    shared: Option<Arc<dyn SharedTokenCache>>,
    shared_lock_ttl: Duration,
}

impl fmt::Debug for CachedTokenSourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedTokenSourceBuilder")
            .field("client", &self.client)
            .field("settings", &self.settings)
            .field("clock", &self.clock)
            .field("shared", &self.shared.is_some())
            .field("shared_lock_ttl", &self.shared_lock_ttl)
            .finish()
    }
}

impl CachedTokenSourceBuilder {
    /// How long before the expiry a replacement is fetched, at most (default 60 s); never
    /// more than half the token's lifetime.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.settings.refresh_margin = margin;
        self
    }

    /// How long a token whose answer had no `expires_in` is kept (default 60 s).
    pub fn default_lifetime(mut self, lifetime: Duration) -> Self {
        self.settings.default_lifetime = lifetime;
        self
    }

    /// How long one fetch may keep retrying transient failures (default 10 s).
    pub fn retry_deadline(mut self, deadline: Duration) -> Self {
        self.settings.retry_deadline = deadline;
        self
    }

    /// The first retry delay and the longest one (defaults 200 ms and 2 s); each delay is
    /// drawn at random between half and all of its value.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.settings.initial_backoff = initial;
        self.settings.max_backoff = max.max(initial);
        self
    }

    /// The clock that decides when a token is due for refresh and when it has expired
    /// (default: the system clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Shares tokens with the other instances of this service through `cache` (see
    /// [`SharedTokenCache`]): a fetch looks there first, and one instance at a time fetches
    /// for all. The tokens stored there are secrets.
    pub fn shared(mut self, cache: impl SharedTokenCache) -> Self {
        self.shared = Some(Arc::new(cache));
        self
    }

    /// How long one instance may hold the shared fetch lock (default 5 s): the others wait
    /// that long at most before fetching by themselves.
    pub fn shared_lock_ttl(mut self, ttl: Duration) -> Self {
        self.shared_lock_ttl = ttl;
        self
    }

    /// The source.
    pub fn build(self) -> CachedTokenSource {
        let key = self.client.cache_key().digest();
        let lock_ttl = self.shared_lock_ttl;
        let shared = self
            .shared
            .map(|cache| SharedTier::new(cache, key, lock_ttl));
        CachedTokenSource {
            shared: Arc::new(Inner {
                client: self.client,
                settings: self.settings,
                clock: self.clock,
                current: ArcSwapOption::empty(),
                flight: Mutex::new(None),
                flights: AtomicU64::new(0),
                paused_until: AtomicU64::new(0),
                shared,
            }),
        }
    }
}

impl CachedTokenSource {
    /// A source for `client` with the default settings.
    pub fn new(client: ClientCredentials) -> Self {
        Self::builder(client).build()
    }

    /// A builder for a source for `client`.
    pub fn builder(client: ClientCredentials) -> CachedTokenSourceBuilder {
        CachedTokenSourceBuilder {
            client,
            settings: Settings::default(),
            clock: Clock::system(),
            shared: None,
            shared_lock_ttl: DEFAULT_LOCK_TTL,
        }
    }

    /// The client it fetches tokens for.
    pub fn client(&self) -> &ClientCredentials {
        &self.shared.client
    }

    /// Drops the held token: the next caller fetches a new one.
    pub fn invalidate(&self) {
        self.shared.current.store(None);
    }

    /// Joins the fetch in progress or starts one, unless a usable token (other than
    /// `rejected`) turns up first.
    async fn fetch(&self, rejected: Option<&AccessToken>) -> Result<AccessToken, TokenSourceError> {
        let waiting = {
            let mut slot = self
                .shared
                .flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // Under the lock, so that a fetch that has just finished is seen, not repeated.
            let now = self.shared.clock.now();
            if let Some(held) = self.shared.current.load().as_deref()
                && held.is_usable_at(now)
                && !rejected.is_some_and(|r| r.same_as(held))
            {
                return Ok(held.clone());
            }
            match slot.as_ref() {
                Some(flight) => Some(flight.done.clone()),
                None => self.start(&mut slot, false, rejected.cloned()),
            }
        };
        let Some(mut done) = waiting else {
            // No tokio runtime to run the fetch on: this caller runs it.
            let result = self.shared.obtain(rejected).await;
            if let Ok(token) = &result {
                self.shared.current.store(Some(Arc::new(token.clone())));
            }
            return result;
        };
        match done.wait_for(Option::is_some).await {
            Ok(result) => result.clone().unwrap_or(Err(TokenSourceError::Cancelled)),
            Err(_) => Err(TokenSourceError::Cancelled),
        }
    }

    /// Starts a fetch on its own task, recorded in `slot`; `None` without a tokio runtime. A
    /// failure is logged as a warning when nobody waits for it (a `background` refresh), at
    /// debug level otherwise (the callers get the error).
    fn start(
        &self,
        slot: &mut Option<Flight>,
        background: bool,
        rejected: Option<AccessToken>,
    ) -> Option<watch::Receiver<Shared>> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let id = self.shared.flights.fetch_add(1, Ordering::Relaxed);
        let (tx, done) = watch::channel(None);
        *slot = Some(Flight {
            id,
            done: done.clone(),
        });
        let shared = self.shared.clone();
        runtime.spawn(async move {
            let result = shared.obtain(rejected.as_ref()).await;
            let now = shared.clock.now();
            match &result {
                Ok(token) => {
                    shared.current.store(Some(Arc::new(token.clone())));
                    shared.paused_until.store(0, Ordering::Relaxed);
                }
                Err(error) if background => {
                    tracing::warn!(
                        client_id = %shared.client.client_id(),
                        %error,
                        "could not refresh the access token; the held one is still served"
                    );
                    shared
                        .paused_until
                        .store(now + BACKGROUND_PAUSE_SECS, Ordering::Relaxed);
                }
                Err(error) => {
                    tracing::debug!(
                        client_id = %shared.client.client_id(),
                        %error,
                        "could not get an access token"
                    );
                    shared
                        .paused_until
                        .store(now + BACKGROUND_PAUSE_SECS, Ordering::Relaxed);
                }
            }
            {
                let mut slot = shared.flight.lock().unwrap_or_else(PoisonError::into_inner);
                if slot.as_ref().is_some_and(|f| f.id == id) {
                    *slot = None;
                }
            }
            tx.send_replace(Some(result));
        });
        Some(done)
    }

    /// Starts a background refresh unless one is running or the last one failed recently.
    fn refresh_in_background(&self, now: u64) {
        if now < self.shared.paused_until.load(Ordering::Relaxed) {
            return;
        }
        let mut slot = self
            .shared
            .flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let due = self
            .shared
            .current
            .load()
            .as_deref()
            .is_none_or(|held| now >= held.refresh_at());
        if slot.is_none() && due {
            // Without a runtime there is no background: the token is fetched when it expires.
            let _ = self.start(&mut slot, true, None);
        }
    }
}

impl Inner {
    /// A token from the shared tier when there is one (see [`SharedTokenCache`]), else from the
    /// token endpoint.
    async fn obtain(
        &self,
        rejected: Option<&AccessToken>,
    ) -> Result<AccessToken, TokenSourceError> {
        match &self.shared {
            Some(tier) => {
                tier.obtain(&self.clock, rejected, || self.fetch_with_retries())
                    .await
            }
            None => self.fetch_with_retries().await,
        }
    }

    /// One fetch, in its span and counted once: token requests until one succeeds, a
    /// non-transient error, or the deadline.
    async fn fetch_with_retries(&self) -> Result<AccessToken, TokenSourceError> {
        let span = tracing::info_span!(
            "outbound_token_fetch",
            client_id = %self.client.client_id(),
            outcome = tracing::field::Empty
        );
        let result = self.retry_loop().instrument(span.clone()).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) => crate::metrics::outbound_error_label(error),
        };
        span.record("outcome", outcome);
        crate::metrics::outbound_fetch(outcome);
        result
    }

    async fn retry_loop(&self) -> Result<AccessToken, TokenSourceError> {
        let s = self.settings;
        let deadline = Instant::now() + s.retry_deadline;
        let mut backoff = s.initial_backoff;
        // The last answer that was not cut short by the deadline: what the caller is told when
        // the deadline ends an attempt (the endpoint's own failure says more than "timeout").
        let mut last: Option<TokenSourceError> = None;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(last.unwrap_or(TokenSourceError::Timeout));
            }
            let now = self.clock.now();
            let failure = match self.client.request_token(now, remaining).await {
                Ok(answer) => {
                    return ClientCredentials::token_from(
                        answer,
                        now,
                        s.refresh_margin,
                        s.default_lifetime,
                    );
                }
                Err(failure) => failure,
            };
            if !failure.error.is_transient() {
                return Err(failure.error);
            }
            if failure.error == TokenSourceError::Timeout && Instant::now() >= deadline {
                return Err(last.unwrap_or(TokenSourceError::Timeout));
            }
            let wait = match failure.retry_after {
                Some(asked) => asked,
                None => {
                    let half = backoff / 2;
                    half + rand::thread_rng().gen_range(Duration::ZERO..=half)
                }
            };
            if Instant::now() + wait >= deadline {
                return Err(match failure.retry_after {
                    Some(asked) => TokenSourceError::RateLimited {
                        retry_after: Some(asked),
                    },
                    None => failure.error,
                });
            }
            tracing::debug!(
                client_id = %self.client.client_id(),
                error = %failure.error,
                wait_ms = wait.as_millis() as u64,
                "token request failed; retrying"
            );
            crate::metrics::outbound_retry(crate::metrics::outbound_error_label(&failure.error));
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(s.max_backoff);
            last = Some(failure.error);
        }
    }
}

/// The future of [`CachedTokenSource::token`]: ready at once on a cache hit (no state
/// machine to build or move), a boxed fetch otherwise.
enum TokenFuture<'a> {
    Ready(Option<AccessToken>),
    Fetch(Pin<Box<dyn Future<Output = Result<AccessToken, TokenSourceError>> + Send + 'a>>),
}

impl Future for TokenFuture<'_> {
    type Output = Result<AccessToken, TokenSourceError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            // Polled again after it completed: nothing left to give.
            TokenFuture::Ready(token) => {
                Poll::Ready(token.take().ok_or(TokenSourceError::Cancelled))
            }
            TokenFuture::Fetch(fetch) => fetch.as_mut().poll(cx),
        }
    }
}

impl TokenSource for CachedTokenSource {
    #[inline]
    fn token(&self) -> impl Future<Output = Result<AccessToken, TokenSourceError>> + Send {
        match self.cached() {
            Some(token) => TokenFuture::Ready(Some(token)),
            None => TokenFuture::Fetch(Box::pin(self.fetch(None))),
        }
    }

    async fn renew(&self, rejected: &AccessToken) -> Result<AccessToken, TokenSourceError> {
        // Only the first caller to see this token refused drops it; the others then find the
        // fetch it started, or its result.
        let current = self.shared.current.load_full();
        if current
            .as_deref()
            .is_some_and(|held| held.same_as(rejected))
        {
            self.shared
                .current
                .compare_and_swap(&current, None::<Arc<AccessToken>>);
        }
        self.fetch(Some(rejected)).await
    }

    #[inline]
    fn cached(&self) -> Option<AccessToken> {
        let now = self.shared.clock.now();
        let held = self.shared.current.load();
        let token = held.as_deref()?;
        if now < token.refresh_at() {
            return Some(token.clone());
        }
        if token.is_usable_at(now) {
            let token = token.clone();
            drop(held);
            self.refresh_in_background(now);
            return Some(token);
        }
        None
    }
}

impl fmt::Debug for CachedTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedTokenSource")
            .field("client", &self.shared.client)
            .field("token", &self.shared.current.load().as_deref())
            .field("settings", &self.shared.settings)
            .finish()
    }
}
