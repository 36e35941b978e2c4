//! Brute-force throttling of client authentication. RFC 6749 §2.3.1: an authorization server
//! that accepts passwords "MUST protect any endpoint utilizing it against brute force attacks".
//!
//! After too many failed client authentications for one client id, or from one address, within
//! a window, the token endpoint answers further attempts for that id or from that address with
//! `429` (`{"error":"temporarily_unavailable",…}` and `Retry-After`: the seconds until the window
//! closes), **without checking any secret, even the right one**, until the window closes.
//!
//! | limit ([`ThrottleLimits::default`]) | default | counts |
//! |---|---|---|
//! | per client id | 10 failures | `client_secret_basic`, `client_secret_post` |
//! | per peer address | 100 failures | every `invalid_client` answer (many clients may share one address) |
//! | window | 60 s | opens with the first failure; the count is forgotten when it closes |
//!
//! - Unknown client ids count like known ones: against the id (so that a lock-out tells no
//!   known id from an unknown one) and against the peer (so that spraying random ids is
//!   throttled by the peer limit).
//! - `private_key_jwt` failures count against the peer only: a signature cannot be guessed, and
//!   a lock per id would only let anyone who knows a client's id lock it out.
//! - A success clears the client id's count, never the peer's.
//! - The peer is the address of axum's `ConnectInfo<SocketAddr>` (serve with
//!   `into_make_service_with_connect_info::<SocketAddr>()`); without it, only the per-id limit
//!   applies. `X-Forwarded-For` / `Forwarded` are read only when the direct peer is one of the
//!   [`TrustedProxies`]. IPv6 peers are counted per /64 (one host usually holds a whole /64).
//! - A throttle that fails ([`StoreError`]) lets the attempt through, logged at `warn`: an outage
//!   of a shared throttle store must not become an outage of the token endpoint, and the
//!   [`HashingLimit`](super::HashingLimit) still bounds the work.
//! - Checking and recording are separate calls, so attempts already in flight when the limit is
//!   reached still finish: the overshoot is at most the requests in flight.
//!
//! [`MemoryAuthThrottle`] is the in-process default (bounded: see its documentation for what
//! happens when it is full); a shared implementation serves several token-endpoint instances.
//!
//! ```
//! use std::time::Duration;
//! use tower_client_credentials::issue::throttle::{MemoryAuthThrottle, ThrottleLimits};
//! use tower_client_credentials::time::ManualClock;
//!
//! let limits = ThrottleLimits::default()
//!     .with_client_failures(5)
//!     .with_peer_failures(50)
//!     .with_window(Duration::from_secs(300));
//! let throttle = MemoryAuthThrottle::new(limits).with_clock(ManualClock::new(1_900_000_000).clock());
//! // TokenIssuer::builder()….throttle(throttle)
//! # let _ = throttle;
//! ```

mod memory;
mod proxies;
pub(crate) mod windows;

use std::net::IpAddr;
use std::time::Duration;

use crate::store::{StoreError, StoreFuture};

pub use memory::MemoryAuthThrottle;
pub use proxies::TrustedProxies;

/// The default failures allowed per client id in a window.
pub const DEFAULT_CLIENT_FAILURES: u32 = 10;
/// The default failures allowed per peer address in a window.
pub const DEFAULT_PEER_FAILURES: u32 = 100;
/// The default window.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// One client authentication attempt, as the throttle sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt<'a> {
    /// The client id a secret was presented for; `None` for `private_key_jwt` and for requests
    /// without client authentication (they count against the peer only).
    pub client_id: Option<&'a str>,
    /// The caller's address, when known.
    pub peer: Option<IpAddr>,
}

impl<'a> Attempt<'a> {
    /// An attempt for `client_id` from `peer`.
    pub fn new(client_id: Option<&'a str>, peer: Option<IpAddr>) -> Self {
        Attempt { client_id, peer }
    }
}

/// A throttle's answer before an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admission {
    /// Check the credentials.
    Allowed,
    /// Refuse without checking: too many recent failures for the id or from the peer.
    Throttled {
        /// When the caller may try again.
        retry_after: Duration,
    },
}

/// Counts failed client authentications and refuses attempts after too many, per client id and
/// per peer address (see the [module documentation](self) for the rules). Used as
/// `Arc<dyn AuthThrottle>`; set with
/// [`TokenIssuerBuilder::throttle`](super::TokenIssuerBuilder::throttle).
///
/// ```
/// use tower_client_credentials::issue::throttle::{Admission, Attempt, AuthThrottle};
/// use tower_client_credentials::store::{StoreError, StoreFuture};
///
/// /// Never throttles (for a token endpoint that only private networks reach).
/// struct Unthrottled;
///
/// impl AuthThrottle for Unthrottled {
///     fn check<'a>(&'a self, _: Attempt<'a>) -> StoreFuture<'a, Result<Admission, StoreError>> {
///         Box::pin(async { Ok(Admission::Allowed) })
///     }
///     fn record_failure<'a>(&'a self, _: Attempt<'a>) -> StoreFuture<'a, Result<(), StoreError>> {
///         Box::pin(async { Ok(()) })
///     }
///     fn record_success<'a>(&'a self, _: Attempt<'a>) -> StoreFuture<'a, Result<(), StoreError>> {
///         Box::pin(async { Ok(()) })
///     }
/// }
/// ```
pub trait AuthThrottle: Send + Sync + 'static {
    /// Whether `attempt` may be checked now.
    fn check<'a>(&'a self, attempt: Attempt<'a>) -> StoreFuture<'a, Result<Admission, StoreError>>;

    /// Counts a failed authentication against the attempt's client id and peer.
    fn record_failure<'a>(
        &'a self,
        attempt: Attempt<'a>,
    ) -> StoreFuture<'a, Result<(), StoreError>>;

    /// Clears the client id's count after a successful authentication (not the peer's).
    fn record_success<'a>(
        &'a self,
        attempt: Attempt<'a>,
    ) -> StoreFuture<'a, Result<(), StoreError>>;
}

/// How many failures, per client id and per peer, within how long a window. Zero failures turns
/// that limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    client_failures: u32,
    peer_failures: u32,
    window: Duration,
}

impl Default for ThrottleLimits {
    /// 10 failures per client id, 100 per peer, in a 60 s window.
    fn default() -> Self {
        ThrottleLimits {
            client_failures: DEFAULT_CLIENT_FAILURES,
            peer_failures: DEFAULT_PEER_FAILURES,
            window: DEFAULT_WINDOW,
        }
    }
}

impl ThrottleLimits {
    /// Failures per client id before its attempts are refused (default 10; 0: no limit).
    #[must_use]
    pub fn with_client_failures(mut self, failures: u32) -> Self {
        self.client_failures = failures;
        self
    }

    /// Failures per peer address before its attempts are refused (default 100; 0: no limit).
    #[must_use]
    pub fn with_peer_failures(mut self, failures: u32) -> Self {
        self.peer_failures = failures;
        self
    }

    /// The window failures are counted in (default 60 s; whole seconds, at least 1).
    #[must_use]
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = Duration::from_secs(window.as_secs().max(1));
        self
    }

    /// Failures allowed per client id (0: no limit).
    pub fn client_failures(&self) -> u32 {
        self.client_failures
    }

    /// Failures allowed per peer address (0: no limit).
    pub fn peer_failures(&self) -> u32 {
        self.peer_failures
    }

    /// The counting window.
    pub fn window(&self) -> Duration {
        self.window
    }
}
