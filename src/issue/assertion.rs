//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3) and the replay guard.
//!
//! The client signs a short-lived JWT with a key registered for it: `iss` = `sub` = its
//! `client_id`, `aud` = the issuer or the token endpoint URL (a string, or an array holding
//! nothing else), `exp` at most five minutes ahead, and a `jti` of at most 256 bytes that is
//! accepted once.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Deserialize;

use crate::claims::Audience;
use crate::clients::Client;
use crate::error::TokenError;
use crate::jws::{Compact, TimeClaims, TimeWindow};
use crate::keys;
use crate::store::{StoreError, StoreFuture};
use crate::time::Clock;

/// Longest assertion read, before any decoding.
pub(crate) const MAX_ASSERTION_BYTES: usize = 8 * 1024;
/// How far ahead an assertion's `exp` may be.
pub const MAX_ASSERTION_LIFETIME_SECS: u64 = 300;
/// Clock leeway for assertion `exp` / `nbf`.
pub(crate) const ASSERTION_LEEWAY_SECS: u64 = 30;
/// The longest assertion `jti` accepted, in bytes: the replay guard keeps each one for minutes.
pub const MAX_ASSERTION_JTI_BYTES: usize = 256;

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
/// refuses new assertions (fails closed: `503 temporarily_unavailable`) rather than forgetting
/// old ones.
///
/// Each client may hold at most its quota of the entries (by default a tenth of the capacity),
/// so one client (a buggy one, or one whose key leaked) that sends assertions as fast as it can
/// is refused alone, and cannot fill the guard to lock the others out.
///
/// ```
/// use tower_client_credentials::issue::MemoryReplayGuard;
/// use tower_client_credentials::time::ManualClock;
///
/// let time = ManualClock::new(1_900_000_000);
/// let guard = MemoryReplayGuard::new(10_000)
///     .with_client_quota(2_000)
///     .with_clock(time.clock());
/// # let _ = guard;
/// ```
#[derive(Debug)]
pub struct MemoryReplayGuard {
    seen: Mutex<Seen>,
    capacity: usize,
    client_quota: usize,
    clock: Clock,
}

/// The remembered `jti`s by client, with their expiry, and how many there are in all.
#[derive(Debug, Default)]
struct Seen {
    by_client: HashMap<String, HashMap<String, u64>>,
    total: usize,
}

impl Seen {
    /// Forgets the expired `jti`s of `client_id` (of every client when `None`).
    fn purge(&mut self, client_id: Option<&str>, now: u64) {
        let mut total = self.total;
        let mut purge_one = |jtis: &mut HashMap<String, u64>| {
            let before = jtis.len();
            jtis.retain(|_, until| *until > now);
            total -= before - jtis.len();
        };
        match client_id {
            Some(id) => {
                if let Some(jtis) = self.by_client.get_mut(id) {
                    purge_one(jtis);
                }
            }
            None => self.by_client.values_mut().for_each(purge_one),
        }
        self.total = total;
        self.by_client.retain(|_, jtis| !jtis.is_empty());
    }
}

impl MemoryReplayGuard {
    /// A guard remembering at most `capacity` live `jti`s, at most a tenth of them (at least
    /// one) for any one client, on the system clock.
    pub fn new(capacity: usize) -> Self {
        MemoryReplayGuard {
            seen: Mutex::new(Seen::default()),
            capacity,
            client_quota: (capacity / 10).max(1),
            clock: Clock::system(),
        }
    }

    /// The most live `jti`s one client may hold (default a tenth of the capacity). A client
    /// over its quota is refused (503) until its older assertions expire; the others are not.
    #[must_use]
    pub fn with_client_quota(mut self, quota: usize) -> Self {
        self.client_quota = quota;
        self
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
    /// Room for 100 000 live assertions, at most 10 000 of one client.
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
            let known = seen.by_client.get(client_id).and_then(|j| j.get(jti));
            if known.is_some_and(|until| *until > now) {
                return Ok(false);
            }
            // An expired entry for the same jti is overwritten in place: no room needed.
            if known.is_none() {
                let held = |seen: &Seen| seen.by_client.get(client_id).map_or(0, HashMap::len);
                if held(&seen) >= self.client_quota {
                    seen.purge(Some(client_id), now);
                    if held(&seen) >= self.client_quota {
                        return Err(StoreError::Unavailable(
                            "replay guard: this client's quota is full".into(),
                        ));
                    }
                }
                if seen.total >= self.capacity {
                    seen.purge(None, now);
                    if seen.total >= self.capacity {
                        return Err(StoreError::Unavailable("replay guard is full".into()));
                    }
                }
                seen.total += 1;
            }
            seen.by_client
                .entry(client_id.to_owned())
                .or_default()
                .insert(jti.to_owned(), expires_at);
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
    #[serde(default)]
    iat: Option<u64>,
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
    #[error("assertion jti is empty or longer than 256 bytes")]
    Jti,
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
    /// the audience is this server and nothing else, `exp` is at most five minutes ahead, `jti`
    /// is 1 to 256 bytes.
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
        let times = TimeClaims {
            exp: c.exp,
            nbf: c.nbf,
            iat: c.iat,
        };
        self.jws.verify_times(key, times, window)?;
        // RFC 7523 §3 item 3, narrowed as RFC 7523bis does against audience injection: an
        // assertion that also names another audience could have been made for (and replayed
        // from) that other server.
        if !names_only(&c.aud, audiences) {
            return Err(AssertionError::Audience);
        }
        if c.exp > now.saturating_add(MAX_ASSERTION_LIFETIME_SECS + ASSERTION_LEEWAY_SECS) {
            return Err(AssertionError::Lifetime);
        }
        // RFC 7523 §3 item 7: the replay guard keys on it, and keeps it for minutes.
        if c.jti.is_empty() || c.jti.len() > MAX_ASSERTION_JTI_BYTES {
            return Err(AssertionError::Jti);
        }
        Ok(())
    }
}

/// Whether `aud` is one of `accepted`, or an array of at least one value, each one of them.
fn names_only(aud: &Audience, accepted: [&str; 2]) -> bool {
    match aud {
        Audience::One(one) => accepted.contains(&one.as_str()),
        Audience::Many(many) => {
            !many.is_empty() && many.iter().all(|a| accepted.contains(&a.as_str()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ManualClock;

    const NOW: u64 = 1_900_000_000;

    #[test]
    fn audience_must_name_this_server_and_nothing_else() {
        let ours = ["https://as.test", "https://as.test/token"];
        let many = |v: &[&str]| Audience::Many(v.iter().map(|s| (*s).to_owned()).collect());
        assert!(names_only(&Audience::One(ours[0].into()), ours));
        assert!(names_only(&Audience::One(ours[1].into()), ours));
        assert!(names_only(&many(&[ours[1]]), ours));
        assert!(names_only(&many(&ours), ours));
        assert!(!names_only(&many(&[]), ours));
        assert!(!names_only(&many(&[ours[0], "https://rs.test"]), ours));
        assert!(!names_only(&Audience::One("https://as.test/".into()), ours));
    }

    #[tokio::test]
    async fn one_client_cannot_fill_the_guard_for_the_others() {
        let time = ManualClock::new(NOW);
        let guard = MemoryReplayGuard::new(4)
            .with_client_quota(2)
            .with_clock(time.clock());
        assert!(guard.first_use("greedy", "1", NOW + 60).await.unwrap());
        assert!(guard.first_use("greedy", "2", NOW + 60).await.unwrap());
        assert!(guard.first_use("greedy", "3", NOW + 60).await.is_err());
        assert!(guard.first_use("other", "1", NOW + 60).await.unwrap());
        assert!(guard.first_use("third", "1", NOW + 120).await.unwrap());
        // Full: every new jti is refused until entries expire.
        assert!(guard.first_use("fourth", "1", NOW + 60).await.is_err());
        time.advance(std::time::Duration::from_secs(60));
        assert!(guard.first_use("greedy", "3", NOW + 120).await.unwrap());
        assert!(guard.first_use("fourth", "1", NOW + 120).await.unwrap());
    }

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
