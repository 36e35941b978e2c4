//! The verified-token cache (DESIGN decision 4), owned by the validator so that every caller
//! (layers, extractors, gRPC, direct `verify` calls) shares one result and one place can evict.
//!
//! Machine clients reuse one token for minutes, so re-verifying its signature on every request
//! is wasted work. Entries are keyed by the whole token: a lookup hashes it with the cache's
//! per-instance randomly seeded hasher (foldhash, so nobody outside can aim tokens at one
//! bucket) and a hit requires the stored token to equal the presented one byte for byte. They
//! are bounded in number (each holds its token, at most the validator's maximum token size, and
//! its claims), and never outlive the token: a hit re-checks `exp` (with the validator's leeway)
//! against the clock.

use std::sync::Arc;

use crate::claims::Claims;

/// Default number of verified tokens a [`Validator`](crate::Validator) remembers.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

pub(crate) struct TokenCache<E> {
    entries: quick_cache::sync::Cache<Box<[u8]>, Entry<E>>,
}

struct Entry<E> {
    claims: Arc<Claims<E>>,
    /// The first Unix second at which the token is expired.
    expires_at: u64,
}

impl<E> Clone for Entry<E> {
    fn clone(&self) -> Self {
        Entry {
            claims: self.claims.clone(),
            expires_at: self.expires_at,
        }
    }
}

impl<E> TokenCache<E> {
    pub(crate) fn new(capacity: usize) -> Self {
        TokenCache {
            entries: quick_cache::sync::Cache::new(capacity),
        }
    }

    /// The cached claims, if exactly this token was verified before and has not expired since.
    #[inline]
    pub(crate) fn get(&self, token: &[u8], now: u64) -> Option<Arc<Claims<E>>> {
        let entry = self.entries.get(token)?;
        if now < entry.expires_at {
            Some(entry.claims)
        } else {
            self.entries.remove(token);
            None
        }
    }

    pub(crate) fn insert(&self, token: &str, claims: Arc<Claims<E>>, expires_at: u64) {
        self.entries
            .insert(token.as_bytes().into(), Entry { claims, expires_at });
    }

    /// Forgets every verified token.
    pub(crate) fn clear(&self) {
        self.entries.clear();
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.entries.capacity()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
