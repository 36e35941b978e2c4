//! The injectable clock: every time-dependent rule in the crate (token `exp`/`nbf`, the
//! verified-token cache, key-ring retention, issued `iat`/`exp`, the assertion replay guard)
//! reads the time through a [`Clock`], so tests and simulations can move time instead of
//! sleeping.
//!
//! ```
//! use std::time::Duration;
//! use tower_client_credentials::time::{Clock, ManualClock};
//!
//! let manual = ManualClock::new(1_900_000_000);
//! let clock: Clock = manual.clock();
//! assert_eq!(clock.now(), 1_900_000_000);
//! manual.advance(Duration::from_secs(90));
//! assert_eq!(clock.now(), 1_900_000_090);
//! assert!(Clock::system().now() > 1_700_000_000);
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current Unix time in whole seconds. Cheap to clone.
///
/// [`Clock::system`] (the default everywhere) reads the system clock; [`ManualClock`] is moved
/// by hand; [`Clock::from_fn`] wraps any function.
#[derive(Clone, Default)]
pub struct Clock {
    source: Source,
}

#[derive(Clone, Default)]
enum Source {
    #[default]
    System,
    Manual(Arc<AtomicU64>),
    Custom(Arc<dyn Fn() -> u64 + Send + Sync>),
}

impl Clock {
    /// The system clock (a time before 1970 reads as 0).
    pub fn system() -> Self {
        Clock {
            source: Source::System,
        }
    }

    /// A clock that calls `now` for the current Unix time in seconds.
    ///
    /// ```
    /// use tower_client_credentials::time::Clock;
    /// let frozen = Clock::from_fn(|| 1_900_000_000);
    /// assert_eq!(frozen.now(), 1_900_000_000);
    /// ```
    pub fn from_fn(now: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Clock {
            source: Source::Custom(Arc::new(now)),
        }
    }

    /// The current Unix time in seconds.
    #[inline]
    pub fn now(&self) -> u64 {
        match &self.source {
            Source::System => system_now(),
            Source::Manual(now) => now.load(Ordering::SeqCst),
            Source::Custom(now) => now(),
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.source {
            Source::System => "system",
            Source::Manual(_) => "manual",
            Source::Custom(_) => "custom",
        };
        f.debug_tuple("Clock").field(&kind).finish()
    }
}

fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A clock that stands still until it is set or advanced; for tests. Clones share the time.
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `unix_seconds`.
    pub fn new(unix_seconds: u64) -> Self {
        ManualClock {
            now: Arc::new(AtomicU64::new(unix_seconds)),
        }
    }

    /// A clock starting at the current system time.
    pub fn starting_now() -> Self {
        Self::new(system_now())
    }

    /// The [`Clock`] to hand to validators, key rings and issuers; it follows this clock.
    pub fn clock(&self) -> Clock {
        Clock {
            source: Source::Manual(self.now.clone()),
        }
    }

    /// The time it reads.
    pub fn now(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }

    /// Sets the time.
    pub fn set(&self, unix_seconds: u64) {
        self.now.store(unix_seconds, Ordering::SeqCst);
    }

    /// Moves the time forward by `by` (whole seconds; saturating).
    pub fn advance(&self, by: Duration) {
        let secs = by.as_secs();
        let _ = self
            .now
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(secs))
            });
    }
}

impl From<ManualClock> for Clock {
    fn from(manual: ManualClock) -> Self {
        manual.clock()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_saturates_instead_of_wrapping() {
        let manual = ManualClock::new(u64::MAX - 1);
        manual.advance(Duration::from_secs(10));
        assert_eq!(manual.clock().now(), u64::MAX);
    }

    #[test]
    fn debug_names_the_kind() {
        assert_eq!(format!("{:?}", Clock::system()), r#"Clock("system")"#);
        assert_eq!(format!("{:?}", ManualClock::new(5)), "ManualClock(5)");
    }
}
