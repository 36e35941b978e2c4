//! Keys of another identity provider, fetched from its JWKS (feature `remote-jwks`).
//!
//! [`RemoteKeys::discover`] finds the JWKS through the issuer's metadata (RFC 8414, then
//! OpenID Connect Discovery); [`RemoteKeys::jwks_uri`] takes the JWKS URL as it is.
//! [`KeySource::discover`] and [`KeySource::remote`] are the one-line forms with the defaults.
//!
//! ```no_run
//! use std::time::Duration;
//! use tower_client_credentials::Validator;
//! use tower_client_credentials::keys::remote::RemoteKeys;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = RemoteKeys::discover("https://login.example.com/realms/acme")
//!     .cool_down(Duration::from_secs(10))
//!     .build()?;
//! let validator = Validator::builder()
//!     .issuer("https://login.example.com/realms/acme", keys.key_source())
//!     .audience("reports-api")
//!     .build()?;
//! // Optional: hold the readiness probe back until the keys are in.
//! tokio::time::timeout(Duration::from_secs(10), keys.ready()).await?;
//! # Ok(()) }
//! ```
//!
//! # How the keys are kept
//!
//! - **Lock-free reads.** Requests read the last good key set through an `ArcSwap`; they never
//!   wait for a fetch unless their token names a `kid` the set lacks.
//! - **Refresh before stale.** A background task fetches the set when it is built, then again
//!   when 90% of its lifetime has passed; the lifetime is the response's
//!   `Cache-Control: max-age` (default [`DEFAULT_REFRESH`]) clamped to [`MIN_REFRESH`]..=
//!   [`MAX_REFRESH`] (see [`RemoteKeysBuilder::refresh_bounds`]).
//! - **Unknown `kid`s cannot cause a fetch flood.** A miss may start a fetch only by winning one
//!   compare-exchange on the time of the last such fetch: at most one per
//!   [`DEFAULT_COOL_DOWN`], however many requests carry random `kid`s. Misses while a fetch
//!   is in flight wait for that one fetch, each at most the request timeout; the others are
//!   answered at once (401, unknown key).
//! - **Stale if error.** A fetch that fails or returns no usable key changes nothing: the
//!   last good set keeps serving, with a `warn!`, until it is [`DEFAULT_MAX_STALENESS`] old;
//!   then tokens are refused (401, keys unavailable) until a fetch succeeds.
//! - **Starts while the provider is down.** Building never fetches; until the first fetch
//!   succeeds tokens are refused, and the background task retries with exponential backoff
//!   (0.5–1 s, doubling to at most 2 min, jittered).
//!
//! The background task is spawned by [`RemoteKeysBuilder::build`] when it runs inside a tokio
//! runtime, otherwise on first use (the first token verified, or [`RemoteKeys::ready`])
//! inside one. Without any tokio runtime nothing is fetched and nothing panics: tokens are
//! refused as keys unavailable. The task ends when the last handle is dropped.
//!
//! # What is fetched, and how
//!
//! Only `https` URLs, or `http` to a loopback host (127.0.0.0/8, `::1`, `localhost`), unless
//! [`allow_http`](RemoteKeysBuilder::allow_http) opts in; the same rule holds for the
//! `jwks_uri` a metadata document names. Discovery tries
//! `/.well-known/oauth-authorization-server` inserted before the issuer's path (RFC 8414 §3),
//! then, when that answers an HTTP error, `/.well-known/openid-configuration` appended to it;
//! the document's `issuer` must be the configured issuer or one of its
//! [aliases](RemoteKeysBuilder::issuer_alias). Requests have a connect timeout
//! ([`DEFAULT_CONNECT_TIMEOUT`]) and a whole-request timeout ([`DEFAULT_REQUEST_TIMEOUT`]);
//! bodies are read up to 256 KiB ([`MAX_JWKS_BYTES`](crate::keys::MAX_JWKS_BYTES)) whatever
//! their `Content-Length` says; redirects are followed only within the same host and port, never
//! from `https` to `http`. The built-in client is reqwest with rustls and the Mozilla roots;
//! it ignores proxy settings for loopback URLs.

mod cache;
mod error;
mod http;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

pub use self::error::{RemoteKeysConfigError, RemoteKeysError};

use self::cache::{KeyCache, RemoteProvider, Target, Timing};
use self::http::JwksClient;
use super::{Jwks, KeyError, KeySource};
use crate::http_client::{check_url, default_client};
use crate::time::Clock;

/// How long connecting to the provider may take.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one request (connect, send, read the body) may take; also the longest a request
/// waits for a fetch its unknown `kid` joined.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// A key set's lifetime when the response has no `Cache-Control: max-age`.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(10 * 60);
/// The shortest lifetime a `max-age` may give a key set (default lower bound).
pub const MIN_REFRESH: Duration = Duration::from_secs(60);
/// The longest lifetime a `max-age` may give a key set (default upper bound).
pub const MAX_REFRESH: Duration = Duration::from_secs(24 * 60 * 60);
/// The least time between two fetches caused by unknown `kid`s.
pub const DEFAULT_COOL_DOWN: Duration = Duration::from_secs(30);
/// How old the last good key set may grow, while fetches fail, before tokens are refused.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(24 * 60 * 60);

/// An identity provider's published keys, kept fresh in the background; see the
/// [module documentation](self).
///
/// Cheap to clone; clones share the keys, the fetches and the background task. Give
/// [`key_source`](Self::key_source) to a validator and keep a clone for readiness checks.
#[derive(Clone)]
pub struct RemoteKeys {
    cache: Arc<KeyCache>,
}

impl RemoteKeys {
    /// Keys found through `issuer`'s metadata (RFC 8414, then OpenID Connect Discovery).
    pub fn discover(issuer: impl Into<String>) -> RemoteKeysBuilder {
        RemoteKeysBuilder::new(Location::Issuer(issuer.into()))
    }

    /// Keys at a JWKS URL.
    pub fn jwks_uri(jwks_uri: impl Into<String>) -> RemoteKeysBuilder {
        RemoteKeysBuilder::new(Location::Jwks(jwks_uri.into()))
    }

    /// The [`KeySource`] to trust the issuer with.
    pub fn key_source(&self) -> KeySource {
        KeySource::provider(RemoteProvider(self.cache.clone()))
    }

    /// Whether keys are loaded and not beyond the maximum staleness: tokens signed by them
    /// verify now.
    pub fn is_ready(&self) -> bool {
        let cache = &self.cache;
        cache.usable(&cache.set.load(), cache.clock.now())
    }

    /// Waits until [`is_ready`](Self::is_ready), starting the background task if it is not
    /// running yet. It waits for as long as the provider stays down: put a timeout around it.
    /// Call it inside a tokio runtime.
    pub async fn ready(&self) {
        let mut done = self.cache.done.subscribe();
        loop {
            if self.is_ready() {
                return;
            }
            self.cache.start_background();
            if done.changed().await.is_err() {
                return;
            }
        }
    }

    /// What the source holds and how its fetches went, for health checks and logs.
    pub fn status(&self) -> RemoteKeysStatus {
        let set = self.cache.set.load();
        let (attempts, failures, last_error) = match self.cache.stats.lock() {
            Ok(stats) => (stats.attempts, stats.failures, stats.last_error.clone()),
            Err(_) => (0, 0, None),
        };
        let loaded = set.fetched_at != 0 || !set.keys.is_empty();
        RemoteKeysStatus {
            ready: self.is_ready(),
            kids: set.keys.iter().map(|k| k.kid().to_owned()).collect(),
            fetched_at: loaded.then_some(set.fetched_at),
            fresh_until: loaded.then_some(set.fresh_until),
            fetches: attempts,
            failed_fetches: failures,
            last_error,
        }
    }
}

impl fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = match &self.cache.target {
            Target::Jwks(url) => url.as_str(),
            Target::Discover { issuer, .. } => issuer.as_str(),
        };
        f.debug_struct("RemoteKeys")
            .field("location", &location)
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

impl From<RemoteKeys> for KeySource {
    fn from(keys: RemoteKeys) -> Self {
        keys.key_source()
    }
}

/// A snapshot of a [`RemoteKeys`]: what it holds, and how its fetches went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteKeysStatus {
    /// Whether tokens signed by the held keys verify now.
    pub ready: bool,
    /// The `kid`s of the held keys.
    pub kids: Vec<String>,
    /// Unix time the held set was fetched (or seeded); `None` before any.
    pub fetched_at: Option<u64>,
    /// Unix time the held set goes stale (its clamped `max-age` passed); `None` before any.
    pub fresh_until: Option<u64>,
    /// Fetches attempted so far (discovery and JWKS count as one).
    pub fetches: u64,
    /// Fetches that failed so far.
    pub failed_fetches: u64,
    /// Why the last fetch failed; `None` when it succeeded.
    pub last_error: Option<RemoteKeysError>,
}

enum Location {
    Issuer(String),
    Jwks(String),
}

/// Settings of a [`RemoteKeys`]; from [`RemoteKeys::discover`] or [`RemoteKeys::jwks_uri`].
#[must_use = "call build() to get the RemoteKeys"]
pub struct RemoteKeysBuilder {
    location: Location,
    client: Option<reqwest::Client>,
    connect_timeout: Duration,
    request_timeout: Duration,
    default_refresh: Duration,
    min_refresh: Duration,
    max_refresh: Duration,
    cool_down: Duration,
    max_staleness: Duration,
    aliases: Vec<String>,
    seed: Option<String>,
    allow_http: bool,
    clock: Clock,
}

impl RemoteKeysBuilder {
    fn new(location: Location) -> Self {
        RemoteKeysBuilder {
            location,
            client: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            default_refresh: DEFAULT_REFRESH,
            min_refresh: MIN_REFRESH,
            max_refresh: MAX_REFRESH,
            cool_down: DEFAULT_COOL_DOWN,
            max_staleness: DEFAULT_MAX_STALENESS,
            aliases: Vec::new(),
            seed: None,
            allow_http: false,
            clock: Clock::system(),
        }
    }

    /// The HTTP client to fetch with, instead of the built-in one (for a proxy, extra root
    /// certificates, or a client shared with the application). Its own timeouts and redirect
    /// policy apply, plus this source's: the request timeout, and a response that ended on
    /// another host after redirects is refused.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// How long connecting may take (built-in client only). Default
    /// [`DEFAULT_CONNECT_TIMEOUT`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one request may take, body included, and the longest a request waits for a
    /// fetch. Default [`DEFAULT_REQUEST_TIMEOUT`].
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// A key set's lifetime when its response has no `max-age`. Default [`DEFAULT_REFRESH`];
    /// clamped to the [bounds](Self::refresh_bounds) too.
    pub fn refresh_interval(mut self, lifetime: Duration) -> Self {
        self.default_refresh = lifetime;
        self
    }

    /// The range a `Cache-Control: max-age` is clamped to. Default [`MIN_REFRESH`] ..=
    /// [`MAX_REFRESH`] (1 min to 24 h). Whole seconds.
    pub fn refresh_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_refresh = min;
        self.max_refresh = max;
        self
    }

    /// The least time between two fetches caused by unknown `kid`s (whole seconds, at least
    /// 1). Default [`DEFAULT_COOL_DOWN`].
    pub fn cool_down(mut self, cool_down: Duration) -> Self {
        self.cool_down = cool_down;
        self
    }

    /// How old the last good set may grow while fetches fail before tokens are refused.
    /// Default [`DEFAULT_MAX_STALENESS`]; at least the lower refresh bound.
    pub fn max_staleness(mut self, max_staleness: Duration) -> Self {
        self.max_staleness = max_staleness;
        self
    }

    /// Another spelling of the issuer that the metadata's `issuer` may have (discovery only).
    pub fn issuer_alias(mut self, alias: impl Into<String>) -> Self {
        self.aliases.push(alias.into());
        self
    }

    /// A JWKS document to use until the first fetch succeeds (for example shipped with the
    /// deployment), so tokens verify even if the provider is down at start-up. It is refreshed
    /// at once, and refused after the maximum staleness like any fetched set.
    pub fn seed_jwks(mut self, jwks_json: impl Into<String>) -> Self {
        self.seed = Some(jwks_json.into());
        self
    }

    /// Allows `http` URLs to hosts that are not loopback (default: refused). Only for
    /// networks where the transport is protected otherwise: anyone who can change a JWKS in
    /// transit can mint tokens.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// The clock for lifetimes, cool-down and staleness (default: the system clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the settings and builds the source. Never fetches; spawns the background task
    /// when called inside a tokio runtime (otherwise it starts on first use).
    pub fn build(self) -> Result<RemoteKeys, RemoteKeysConfigError> {
        let setting = RemoteKeysConfigError::InvalidSetting;
        if self.connect_timeout.is_zero() || self.request_timeout.is_zero() {
            return Err(setting("timeouts must be longer than zero"));
        }
        if self.min_refresh.as_secs() == 0 || self.min_refresh > self.max_refresh {
            return Err(setting("the refresh bounds need 1 s <= min <= max"));
        }
        if self.cool_down.as_secs() == 0 {
            return Err(setting("the cool-down must be at least 1 s"));
        }
        if self.max_staleness < self.min_refresh {
            return Err(setting(
                "the maximum staleness must be at least the lower refresh bound",
            ));
        }
        let raw = match &self.location {
            Location::Issuer(url) | Location::Jwks(url) => url.as_str(),
        };
        let url = Url::parse(raw).map_err(|_| RemoteKeysConfigError::InvalidUrl)?;
        if url.cannot_be_a_base() || url.host_str().is_none() {
            return Err(RemoteKeysConfigError::InvalidUrl);
        }
        check_url(&url, self.allow_http)?;
        let target = match self.location {
            Location::Jwks(_) => Target::Jwks(url.clone()),
            Location::Issuer(issuer) => {
                if url.query().is_some() || url.fragment().is_some() {
                    return Err(RemoteKeysConfigError::IssuerQueryOrFragment);
                }
                let mut expected = vec![issuer];
                expected.extend(self.aliases);
                Target::Discover {
                    issuer: url.clone(),
                    expected,
                }
            }
        };
        let seed = match &self.seed {
            Some(json) => {
                let keys = Jwks::parse(json).map_err(RemoteKeysConfigError::InvalidSeed)?;
                if keys.is_empty() {
                    return Err(RemoteKeysConfigError::InvalidSeed(KeyError::NoUsableKey));
                }
                keys
            }
            None => Vec::new(),
        };
        let client = match self.client {
            Some(client) => client,
            None => default_client(&url, self.connect_timeout, self.request_timeout)
                .map_err(|_| RemoteKeysConfigError::Client)?,
        };
        let timing = Timing {
            request_timeout: self.request_timeout,
            default_lifetime: self.default_refresh,
            min_lifetime: Duration::from_secs(self.min_refresh.as_secs()),
            max_lifetime: Duration::from_secs(self.max_refresh.as_secs()),
            cool_down: self.cool_down.as_secs(),
            max_staleness: self.max_staleness.as_secs(),
        };
        let http = JwksClient {
            client,
            request_timeout: self.request_timeout,
            allow_http: self.allow_http,
        };
        let cache = Arc::new(KeyCache::new(target, http, timing, self.clock, seed));
        cache.start_background();
        Ok(RemoteKeys { cache })
    }
}

impl fmt::Debug for RemoteKeysBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteKeysBuilder")
            .field("request_timeout", &self.request_timeout)
            .field("cool_down", &self.cool_down)
            .field("max_staleness", &self.max_staleness)
            .field("allow_http", &self.allow_http)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
