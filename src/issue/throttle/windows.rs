//! [`Windows`]: failure windows of one kind of subject (client ids or peers), bounded in
//! number, with the eviction rule [`MemoryAuthThrottle`](super::MemoryAuthThrottle) documents.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

/// IPv4 addresses as they are (IPv4-mapped IPv6 ones too); IPv6 ones by their /64.
pub(crate) fn peer_group(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
    }
}

/// One subject's failures since its window opened.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// When the first failure of the window happened (Unix seconds).
    start: u64,
    failures: u32,
}

/// The windows of one kind of subject, by keyed hash.
#[derive(Default)]
pub(super) struct Windows {
    map: HashMap<u64, Window>,
}

impl Windows {
    /// The windows kept.
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// Forgets `key`'s window.
    pub(super) fn forget(&mut self, key: u64) {
        self.map.remove(&key);
    }

    /// The seconds until the window of `key` closes, when it holds `limit` failures or more.
    pub(super) fn locked_for(&self, key: u64, now: u64, limit: u32, window: u64) -> Option<u64> {
        if limit == 0 {
            return None;
        }
        let w = self.map.get(&key)?;
        let end = w.start.saturating_add(window);
        (w.failures >= limit && now < end).then(|| end - now)
    }

    /// Counts a failure for `key`; `true` when this one reached the limit.
    pub(super) fn fail(
        &mut self,
        key: u64,
        now: u64,
        limit: u32,
        window: u64,
        capacity: usize,
    ) -> bool {
        if let Some(w) = self.map.get_mut(&key) {
            if now < w.start.saturating_add(window) {
                w.failures = w.failures.saturating_add(1);
            } else {
                *w = Window {
                    start: now,
                    failures: 1,
                };
            }
            return w.failures == limit;
        }
        if capacity == 0 {
            return false;
        }
        self.make_room(now, limit, window, capacity);
        self.map.insert(
            key,
            Window {
                start: now,
                failures: 1,
            },
        );
        limit == 1
    }

    /// Below `capacity` again: closed windows go first, then the oldest eighth (unlocked
    /// before locked). One pass per eighth of the capacity keeps the cost per failure constant.
    fn make_room(&mut self, now: u64, limit: u32, window: u64, capacity: usize) {
        if self.map.len() < capacity {
            return;
        }
        self.map.retain(|_, w| now < w.start.saturating_add(window));
        if self.map.len() < capacity {
            return;
        }
        let mut order: Vec<(bool, u64, u64)> = self
            .map
            .iter()
            .map(|(key, w)| (limit > 0 && w.failures >= limit, w.start, *key))
            .collect();
        let evict = (order.len() / 8).clamp(1, order.len());
        order.select_nth_unstable(evict - 1);
        for (_, _, key) in &order[..evict] {
            self.map.remove(key);
        }
    }
}
