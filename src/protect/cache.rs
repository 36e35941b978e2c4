//! The verified-token cache (DESIGN decision 4), owned by the validator so that every caller
//! (layers, extractors, gRPC, direct `verify` calls) shares one result and one place can evict.
//!
//! Machine clients reuse one token for minutes, so re-verifying its signature on every request
//! is wasted work. Entries are keyed by the SHA-256 of the whole token (so only the exact bytes
//! that were verified can hit), bounded in number, and never outlive the token: a hit re-checks
//! `exp` (with the validator's leeway) against the clock.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::claims::Claims;

/// Default number of verified tokens a [`Validator`](crate::Validator) remembers.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

pub(crate) struct TokenCache<E> {
    entries: quick_cache::sync::Cache<[u8; 32], Entry<E>>,
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

pub(crate) type CacheKey = [u8; 32];

impl<E> TokenCache<E> {
    pub(crate) fn new(capacity: usize) -> Self {
        TokenCache {
            entries: quick_cache::sync::Cache::new(capacity),
        }
    }

    pub(crate) fn key(token: &str) -> CacheKey {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The cached claims, if the token was verified before and has not expired since.
    pub(crate) fn get(&self, key: &CacheKey, now: u64) -> Option<Arc<Claims<E>>> {
        let entry = self.entries.get(key)?;
        if now < entry.expires_at {
            Some(entry.claims)
        } else {
            self.entries.remove(key);
            None
        }
    }

    pub(crate) fn insert(&self, key: CacheKey, claims: Arc<Claims<E>>, expires_at: u64) {
        self.entries.insert(key, Entry { claims, expires_at });
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
