//! [`MemoryAuthThrottle`]: failure counts in process memory, bounded in size.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use super::windows::{Windows, peer_group};
use super::{Admission, Attempt, AuthThrottle, ThrottleLimits};
use crate::store::{StoreError, StoreFuture};
use crate::time::Clock;

/// The in-process [`AuthThrottle`]: one failure window per client id and per peer address,
/// on an injectable [`Clock`] (the issuer's, for its default throttle).
///
/// **Bounded.** It keeps at most `capacity` windows for client ids and as many for peers
/// (default 100 000 each, about 3 MB each at most). Ids are kept as 64-bit keyed hashes (the key
/// is random per process, so collisions cannot be aimed), never as the strings sent, so a 16 KiB
/// id costs what a short one does.
///
/// **When full**, it first forgets the windows that have closed; if none has, it forgets the
/// oldest eighth of the windows, those below their limit before those that are locked. It
/// fails toward *allowing*: a throttle that refused every id it has no room for would turn a
/// flood of random ids into an outage for every client. The cost is that an attacker who opens
/// `capacity` windows within one window can free a locked id or address early; the per-peer
/// limit makes that take `capacity / peer limit` addresses (1 000 with the defaults) within one
/// window, and the [`HashingLimit`](crate::issue::HashingLimit) still bounds the guesses per
/// second.
///
/// ```
/// use tower_client_credentials::issue::throttle::{Admission, Attempt, AuthThrottle, MemoryAuthThrottle, ThrottleLimits};
/// use tower_client_credentials::time::ManualClock;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let time = ManualClock::new(1_900_000_000);
/// let throttle = MemoryAuthThrottle::new(ThrottleLimits::default().with_client_failures(2))
///     .with_clock(time.clock());
/// let attempt = Attempt::new(Some("reports-exporter"), None);
/// throttle.record_failure(attempt).await?;
/// throttle.record_failure(attempt).await?;
/// assert!(matches!(throttle.check(attempt).await?, Admission::Throttled { .. }));
/// time.advance(std::time::Duration::from_secs(60));
/// assert_eq!(throttle.check(attempt).await?, Admission::Allowed);
/// # Ok(()) }
/// ```
pub struct MemoryAuthThrottle {
    state: Mutex<State>,
    limits: ThrottleLimits,
    capacity: usize,
    clock: Clock,
    keys: RandomState,
}

#[derive(Default)]
struct State {
    clients: Windows,
    peers: Windows,
}

impl MemoryAuthThrottle {
    /// The default capacity: windows kept per kind (client ids, peers).
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A throttle with these limits, the default capacity, on the system clock.
    pub fn new(limits: ThrottleLimits) -> Self {
        MemoryAuthThrottle {
            state: Mutex::new(State::default()),
            limits,
            capacity: Self::DEFAULT_CAPACITY,
            clock: Clock::system(),
            keys: RandomState::new(),
        }
    }

    /// The clock windows are measured on. The issuer's default throttle runs on
    /// [`TokenIssuerBuilder::clock`](crate::issue::TokenIssuerBuilder::clock).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The most windows kept per kind (default [`Self::DEFAULT_CAPACITY`]); 0 keeps none, which
    /// turns throttling off.
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The limits.
    pub fn limits(&self) -> ThrottleLimits {
        self.limits
    }

    /// The windows kept now: (client ids, peers).
    pub fn tracked(&self) -> (usize, usize) {
        let state = self.lock();
        (state.clients.len(), state.peers.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The maps hold plain counters: whatever a panicking holder left is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn client_key(&self, client_id: &str) -> u64 {
        self.keys.hash_one(client_id)
    }

    fn peer_key(&self, peer: IpAddr) -> u64 {
        self.keys.hash_one(peer_group(peer))
    }

    fn window_secs(&self) -> u64 {
        self.limits.window().as_secs()
    }
}

impl Default for MemoryAuthThrottle {
    /// [`ThrottleLimits::default`] (10 per id, 100 per peer, 60 s), 100 000 windows per kind.
    fn default() -> Self {
        Self::new(ThrottleLimits::default())
    }
}

impl AuthThrottle for MemoryAuthThrottle {
    fn check<'a>(&'a self, attempt: Attempt<'a>) -> StoreFuture<'a, Result<Admission, StoreError>> {
        let now = self.clock.now();
        let window = self.window_secs();
        let state = self.lock();
        let by_client = attempt.client_id.and_then(|id| {
            let limit = self.limits.client_failures();
            state
                .clients
                .locked_for(self.client_key(id), now, limit, window)
        });
        let by_peer = attempt.peer.and_then(|peer| {
            let limit = self.limits.peer_failures();
            state
                .peers
                .locked_for(self.peer_key(peer), now, limit, window)
        });
        drop(state);
        let admission = match by_client.max(by_peer) {
            Some(secs) => Admission::Throttled {
                retry_after: std::time::Duration::from_secs(secs),
            },
            None => Admission::Allowed,
        };
        Box::pin(std::future::ready(Ok(admission)))
    }

    fn record_failure<'a>(
        &'a self,
        attempt: Attempt<'a>,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        let now = self.clock.now();
        let window = self.window_secs();
        let mut state = self.lock();
        if let Some(id) = attempt.client_id {
            let limit = self.limits.client_failures();
            let key = self.client_key(id);
            if state.clients.fail(key, now, limit, window, self.capacity) {
                tracing::warn!(client_id = ?excerpt(id), "client authentication throttled: too many failures for this client id");
                crate::metrics::throttle_lockout("client_id");
            }
        }
        if let Some(peer) = attempt.peer {
            let limit = self.limits.peer_failures();
            let key = self.peer_key(peer);
            if state.peers.fail(key, now, limit, window, self.capacity) {
                tracing::warn!(%peer, "client authentication throttled: too many failures from this address");
                crate::metrics::throttle_lockout("peer");
            }
        }
        drop(state);
        Box::pin(std::future::ready(Ok(())))
    }

    fn record_success<'a>(
        &'a self,
        attempt: Attempt<'a>,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        if let Some(id) = attempt.client_id {
            let key = self.client_key(id);
            self.lock().clients.forget(key);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

/// At most 64 bytes of an id for a log line (it is attacker-chosen and may be 16 KiB).
fn excerpt(id: &str) -> &str {
    let mut end = id.len().min(64);
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    &id[..end]
}

impl fmt::Debug for MemoryAuthThrottle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryAuthThrottle")
            .field("limits", &self.limits)
            .field("capacity", &self.capacity)
            .field("tracked", &self.tracked())
            .field("clock", &self.clock)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::time::ManualClock;

    const NOW: u64 = 1_900_000_000;

    fn throttle(client: u32, peer: u32) -> (MemoryAuthThrottle, ManualClock) {
        let time = ManualClock::new(NOW);
        let limits = ThrottleLimits::default()
            .with_client_failures(client)
            .with_peer_failures(peer);
        (
            MemoryAuthThrottle::new(limits).with_clock(time.clock()),
            time,
        )
    }

    async fn fail(t: &MemoryAuthThrottle, attempt: Attempt<'_>, times: u32) {
        for _ in 0..times {
            t.record_failure(attempt).await.unwrap();
        }
    }

    fn throttled(secs: u64) -> Admission {
        Admission::Throttled {
            retry_after: Duration::from_secs(secs),
        }
    }

    #[tokio::test]
    async fn a_client_id_is_locked_until_its_window_closes() {
        let (t, time) = throttle(3, 100);
        let a = Attempt::new(Some("svc"), None);
        fail(&t, a, 2).await;
        assert_eq!(t.check(a).await.unwrap(), Admission::Allowed);
        time.advance(Duration::from_secs(10));
        fail(&t, a, 1).await;
        assert_eq!(t.check(a).await.unwrap(), throttled(50));
        assert_eq!(
            t.check(Attempt::new(Some("other"), None)).await.unwrap(),
            Admission::Allowed
        );
        time.advance(Duration::from_secs(49));
        assert_eq!(t.check(a).await.unwrap(), throttled(1));
        time.advance(Duration::from_secs(1));
        assert_eq!(t.check(a).await.unwrap(), Admission::Allowed);
        // A new window opens with the next failure.
        fail(&t, a, 1).await;
        assert_eq!(t.check(a).await.unwrap(), Admission::Allowed);
    }

    #[tokio::test]
    async fn a_success_clears_the_client_id_but_not_the_peer() {
        let (t, _) = throttle(2, 2);
        let peer: IpAddr = "192.0.2.7".parse().unwrap();
        let a = Attempt::new(Some("svc"), Some(peer));
        fail(&t, a, 1).await;
        t.record_success(a).await.unwrap();
        fail(&t, Attempt::new(Some("svc"), None), 1).await;
        assert_eq!(
            t.check(Attempt::new(Some("svc"), None)).await.unwrap(),
            Admission::Allowed
        );
        fail(&t, Attempt::new(None, Some(peer)), 1).await;
        assert_eq!(t.check(a).await.unwrap(), throttled(60));
    }

    #[tokio::test]
    async fn random_ids_from_one_peer_lock_the_peer_and_ipv6_counts_per_64() {
        let (t, _) = throttle(10, 5);
        let peer: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        for i in 0..5 {
            let id = format!("random-{i}");
            fail(&t, Attempt::new(Some(&id), Some(peer)), 1).await;
        }
        let neighbour: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let fresh = Attempt::new(Some("fresh"), Some(neighbour));
        assert_eq!(t.check(fresh).await.unwrap(), throttled(60));
        let other_net: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let elsewhere = Attempt::new(Some("fresh"), Some(other_net));
        assert_eq!(t.check(elsewhere).await.unwrap(), Admission::Allowed);
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let plain: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(peer_group(mapped), plain);
    }

    #[tokio::test]
    async fn zero_turns_a_limit_off() {
        let (t, _) = throttle(0, 0);
        let a = Attempt::new(Some("svc"), Some([192, 0, 2, 1].into()));
        fail(&t, a, 1000).await;
        assert_eq!(t.check(a).await.unwrap(), Admission::Allowed);
    }

    #[tokio::test]
    async fn a_flood_of_random_ids_and_peers_stays_within_capacity() {
        let (t, time) = throttle(3, 3);
        let t = t.with_capacity(64);
        let locked = Attempt::new(Some("victim"), None);
        fail(&t, locked, 3).await;
        for i in 0..10_000u32 {
            let id = format!("random-{i}");
            let peer = IpAddr::from(i.to_be_bytes());
            fail(&t, Attempt::new(Some(&id), Some(peer)), 1).await;
            let (clients, peers) = t.tracked();
            assert!(clients <= 64 && peers <= 64, "{clients} {peers}");
        }
        // Locked windows are forgotten last: the victim's lock outlived 10 000 random ids.
        assert_eq!(t.check(locked).await.unwrap(), throttled(60));
        time.advance(Duration::from_secs(60));
        assert_eq!(t.check(locked).await.unwrap(), Admission::Allowed);
    }

    #[tokio::test]
    async fn closed_windows_make_room_first() {
        let (t, time) = throttle(3, 3);
        let t = t.with_capacity(4);
        for id in ["a", "b", "c", "d"] {
            fail(&t, Attempt::new(Some(id), None), 1).await;
        }
        assert_eq!(t.tracked(), (4, 0));
        time.advance(Duration::from_secs(60));
        fail(&t, Attempt::new(Some("late"), None), 1).await;
        assert_eq!(t.tracked(), (1, 0));
    }

    #[tokio::test]
    async fn zero_capacity_keeps_nothing() {
        let (t, _) = throttle(1, 1);
        let t = t.with_capacity(0);
        let a = Attempt::new(Some("svc"), Some([192, 0, 2, 1].into()));
        fail(&t, a, 5).await;
        assert_eq!(t.tracked(), (0, 0));
        assert_eq!(t.check(a).await.unwrap(), Admission::Allowed);
    }

    #[test]
    fn debug_shows_settings_not_ids_and_log_excerpts_are_short() {
        let (t, _) = throttle(1, 1);
        let shown = format!("{t:?}");
        assert!(shown.starts_with("MemoryAuthThrottle { limits: ThrottleLimits {"));
        assert_eq!(excerpt(&"é".repeat(100)).len(), 64);
        assert_eq!(excerpt("short"), "short");
    }
}
