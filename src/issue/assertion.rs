//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3) and the replay guard.
//!
//! The client signs a short-lived JWT with a key registered for it: `iss` = `sub` = its
//! `client_id`, `aud` = the issuer or the token endpoint URL, `exp` at most five minutes ahead,
//! and a `jti` that is accepted once.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Deserialize;

use crate::claims::Audience;
use crate::clients::Client;
use crate::error::TokenError;
use crate::jws::{Compact, TimeWindow};
use crate::keys;
use crate::store::{StoreError, StoreFuture};
use crate::time::Clock;

/// Longest assertion read, before any decoding.
pub(crate) const MAX_ASSERTION_BYTES: usize = 8 * 1024;
/// How far ahead an assertion's `exp` may be.
pub const MAX_ASSERTION_LIFETIME_SECS: u64 = 300;
/// Clock leeway for assertion `exp` / `nbf`.
pub(crate) const ASSERTION_LEEWAY_SECS: u64 = 30;

/// Remembers assertion `jti`s so that each is accepted once within its lifetime
/// (RFC 7523 §3, item 7).
///
/// The default is [`MemoryReplayGuard`]; deployments with several token-endpoint instances
/// need a shared implementation.
pub trait ReplayGuard: Send + Sync + 'static {
    /// Records `jti` of `client_id` until `expires_at` (Unix seconds). `Ok(false)` means it was
    /// recorded before: a replay.
    fn first_use<'a>(
        &'a self,
        client_id: &'a str,
        jti: &'a str,
        expires_at: u64,
    ) -> StoreFuture<'a, Result<bool, StoreError>>;
}

/// An in-process [`ReplayGuard`], bounded in size. When it is full of unexpired entries it
/// refuses new assertions (fails closed) rather than forgetting old ones.
///
/// ```
/// use tower_client_credentials::issue::MemoryReplayGuard;
/// use tower_client_credentials::time::ManualClock;
///
/// let time = ManualClock::new(1_900_000_000);
/// let guard = MemoryReplayGuard::new(10_000).with_clock(time.clock());
/// # let _ = guard;
/// ```
#[derive(Debug)]
pub struct MemoryReplayGuard {
    seen: Mutex<HashMap<(String, String), u64>>,
    capacity: usize,
    clock: Clock,
}

impl MemoryReplayGuard {
    /// A guard remembering at most `capacity` live `jti`s, on the system clock.
    pub fn new(capacity: usize) -> Self {
        MemoryReplayGuard {
            seen: Mutex::new(HashMap::new()),
            capacity,
            clock: Clock::system(),
        }
    }

    /// The clock that decides when a remembered `jti` has expired. The issuer's default guard
    /// runs on [`TokenIssuerBuilder::clock`](super::TokenIssuerBuilder::clock).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

impl Default for MemoryReplayGuard {
    /// Room for 100 000 live assertions.
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl ReplayGuard for MemoryReplayGuard {
    fn first_use<'a>(
        &'a self,
        client_id: &'a str,
        jti: &'a str,
        expires_at: u64,
    ) -> StoreFuture<'a, Result<bool, StoreError>> {
        let result = (|| {
            let now = self.clock.now();
            let mut seen = self
                .seen
                .lock()
                .map_err(|_| StoreError::Unavailable("replay guard poisoned".into()))?;
            let key = (client_id.to_owned(), jti.to_owned());
            if seen.get(&key).is_some_and(|until| *until > now) {
                return Ok(false);
            }
            if seen.len() >= self.capacity {
                seen.retain(|_, until| *until > now);
                if seen.len() >= self.capacity {
                    return Err(StoreError::Unavailable("replay guard is full".into()));
                }
            }
            seen.insert(key, expires_at);
            Ok(true)
        })();
        Box::pin(std::future::ready(result))
    }
}

#[derive(Deserialize)]
pub(crate) struct AssertionClaims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    aud: Audience,
    pub(crate) exp: u64,
    #[serde(default)]
    nbf: Option<u64>,
    pub(crate) jti: String,
}

/// Why an assertion failed; logged at debug level, never sent (the client sees
/// `invalid_client` only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AssertionError {
    #[error("assertion is malformed")]
    Malformed,
    #[error("iss and sub differ, or do not match client_id")]
    Subject,
    #[error("no registered key matches the assertion")]
    UnknownKey,
    #[error("assertion algorithm does not match the key")]
    Algorithm,
    #[error("assertion signature is invalid")]
    Signature,
    #[error("assertion audience is not this server")]
    Audience,
    #[error("assertion expired, not yet valid, or lives too long")]
    Lifetime,
    #[error("assertion has an empty jti")]
    EmptyJti,
}

impl From<TokenError> for AssertionError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::UnknownKey => AssertionError::UnknownKey,
            TokenError::AlgorithmMismatch => AssertionError::Algorithm,
            TokenError::InvalidSignature => AssertionError::Signature,
            TokenError::Expired | TokenError::NotYetValid => AssertionError::Lifetime,
            _ => AssertionError::Malformed,
        }
    }
}

/// A parsed but not yet verified assertion.
pub(crate) struct Assertion<'a> {
    jws: Compact<'a>,
    pub(crate) claims: AssertionClaims,
}

impl<'a> Assertion<'a> {
    /// Splits and decodes; checks `iss` = `sub` (= `client_id` when sent).
    pub(crate) fn parse(token: &'a str, client_id: Option<&str>) -> Result<Self, AssertionError> {
        let jws =
            Compact::parse(token, MAX_ASSERTION_BYTES).map_err(|_| AssertionError::Malformed)?;
        let claims: AssertionClaims = jws.claims().map_err(|_| AssertionError::Malformed)?;
        if claims.iss != claims.sub || client_id.is_some_and(|id| id != claims.sub) {
            return Err(AssertionError::Subject);
        }
        Ok(Assertion { jws, claims })
    }

    /// The shared signature-and-time check with the client's registered keys (the `kid`
    /// selects one, its algorithm is the only one accepted), then the assertion's own rules:
    /// the audience is this server, `exp` is at most five minutes ahead, `jti` is not empty.
    pub(crate) fn verify(
        &self,
        client: &Client,
        audiences: [&str; 2],
        now: u64,
    ) -> Result<(), AssertionError> {
        let c = &self.claims;
        let key = keys::select(client.keys(), self.jws.header.kid.as_deref());
        let window = TimeWindow {
            now,
            leeway: ASSERTION_LEEWAY_SECS,
        };
        self.jws.verify(key, c.exp, c.nbf, window)?;
        // RFC 7523 §3 items 3 and 4.
        if !audiences.iter().any(|a| c.aud.contains(a)) {
            return Err(AssertionError::Audience);
        }
        if c.exp > now.saturating_add(MAX_ASSERTION_LIFETIME_SECS + ASSERTION_LEEWAY_SECS) {
            return Err(AssertionError::Lifetime);
        }
        // RFC 7523 §3 item 7: the replay guard keys on it.
        if c.jti.is_empty() {
            return Err(AssertionError::EmptyJti);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ManualClock;

    const NOW: u64 = 1_900_000_000;

    #[tokio::test]
    async fn replay_guard_accepts_each_jti_once() {
        let guard = MemoryReplayGuard::new(2).with_clock(ManualClock::new(NOW).clock());
        let later = NOW + 60;
        assert!(guard.first_use("c", "1", later).await.unwrap());
        assert!(!guard.first_use("c", "1", later).await.unwrap());
        assert!(guard.first_use("d", "1", later).await.unwrap());
        // Full of live entries: fail closed.
        assert!(guard.first_use("c", "2", later).await.is_err());
    }

    #[tokio::test]
    async fn expired_entries_make_room() {
        let guard = MemoryReplayGuard::new(1).with_clock(ManualClock::new(NOW).clock());
        let past = NOW - 1;
        assert!(guard.first_use("c", "1", past).await.unwrap());
        assert!(guard.first_use("c", "2", past + 120).await.unwrap());
    }

    #[tokio::test]
    async fn a_jti_is_forgotten_once_its_time_on_the_guard_clock_has_passed() {
        let time = ManualClock::new(NOW);
        let guard = MemoryReplayGuard::new(10).with_clock(time.clock());
        assert!(guard.first_use("c", "1", NOW + 60).await.unwrap());
        time.advance(std::time::Duration::from_secs(59));
        assert!(!guard.first_use("c", "1", NOW + 60).await.unwrap());
        time.advance(std::time::Duration::from_secs(1));
        assert!(guard.first_use("c", "1", NOW + 120).await.unwrap());
    }
}
