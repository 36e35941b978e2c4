//! [`HashingLimit`]: a bound on the Argon2id verifications that run at once.
//!
//! One Argon2id verification holds its memory cost (19 MiB with the default parameters, at most
//! [`ClientSecret::MAX_ARGON2_MEMORY_KIB`](crate::clients::ClientSecret::MAX_ARGON2_MEMORY_KIB))
//! and a core for milliseconds. Without a bound, a flood of requests naming random client ids
//! (each checked against the Argon2id dummy) multiplies both by the number of requests in flight.
//! With it, the token endpoint's hashing memory is at most `concurrency ×` the memory cost, and
//! a request that finds every permit taken waits at most [`HashingLimit::wait`], then gets
//! `503 temporarily_unavailable` with `Retry-After`, without hashing.
//!
//! ```
//! use std::time::Duration;
//! use tower_client_credentials::issue::HashingLimit;
//!
//! let limit = HashingLimit::new(2).with_wait(Duration::from_millis(250));
//! assert_eq!((limit.concurrency(), limit.wait()), (2, Duration::from_millis(250)));
//! // Several issuers may share one limit (one budget of hashing for the process).
//! let shared = limit.clone();
//! assert_eq!(shared.available(), 2);
//! ```

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::clients::HashMemory;

/// The default longest wait for a hashing permit.
pub const DEFAULT_HASH_WAIT: Duration = Duration::from_secs(1);

/// How many Argon2id verifications may run at once, and how long a request waits for its turn.
/// Cheap to clone; clones share the permits.
///
/// The default allows as many verifications as the machine has cores
/// ([`std::thread::available_parallelism`], 1 if unknown) and waits at most
/// [`DEFAULT_HASH_WAIT`] (1 s). Set it with
/// [`TokenIssuerBuilder::hashing_limit`](super::TokenIssuerBuilder::hashing_limit).
///
/// Waiting uses tokio's timer: the runtime must have time enabled (as `#[tokio::main]` does).
#[derive(Clone)]
pub struct HashingLimit {
    permits: Arc<Semaphore>,
    /// The working memory of finished verifications, reused by the next permits: at most one
    /// buffer per permit ever exists, so the hashing memory stays within the bound even with
    /// an allocator that keeps freed memory (glibc keeps freed 19 MiB blocks after the first).
    memory: Arc<Mutex<Vec<HashMemory>>>,
    concurrency: usize,
    wait: Duration,
}

impl HashingLimit {
    /// At most `concurrency` verifications at once (capped at tokio's semaphore maximum), with
    /// the default wait. Zero is refused by the issuer builder.
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.min(Semaphore::MAX_PERMITS);
        HashingLimit {
            permits: Arc::new(Semaphore::new(concurrency)),
            memory: Arc::default(),
            concurrency,
            wait: DEFAULT_HASH_WAIT,
        }
    }

    /// How long a request waits for a permit before it is answered 503 (default 1 s).
    #[must_use]
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The most verifications that run at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The longest wait for a permit.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// The permits free now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// A permit to run one expensive verification, waiting at most [`HashingLimit::wait`];
    /// `None` when none came free in time. Other expensive work of the application (a password
    /// check elsewhere) may take permits too, to share the same budget.
    pub async fn acquire(&self) -> Option<HashingPermit> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Some(self.permit(permit));
        }
        if self.wait.is_zero() {
            return None;
        }
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Some(self.permit(permit)),
            // Timed out; or the semaphore was closed, which this type never does.
            _ => None,
        }
    }

    fn permit(&self, permit: OwnedSemaphorePermit) -> HashingPermit {
        let memory = lock(&self.memory).pop().unwrap_or_default();
        HashingPermit {
            memory,
            pool: self.memory.clone(),
            _permit: permit,
        }
    }

    /// The working-memory buffers kept for reuse (at most [`concurrency`](Self::concurrency)).
    #[cfg(test)]
    fn pooled(&self) -> usize {
        lock(&self.memory).len()
    }

    /// The `Retry-After` seconds of a refusal: the wait, rounded up, at least 1.
    pub(crate) fn retry_after_secs(&self) -> u64 {
        let secs = self.wait.as_secs();
        let rounded = if self.wait.subsec_nanos() > 0 {
            secs.saturating_add(1)
        } else {
            secs
        };
        rounded.max(1)
    }
}

impl Default for HashingLimit {
    /// One verification per core, waiting at most 1 s.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        HashingLimit::new(cores)
    }
}

impl fmt::Debug for HashingLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashingLimit")
            .field("concurrency", &self.concurrency)
            .field("available", &self.available())
            .field("wait", &self.wait)
            .finish()
    }
}

/// The right to run one expensive verification, with the working memory it hashes in; released
/// when dropped. Move it into the blocking task that hashes, so that a cancelled request does
/// not free it early.
#[derive(Debug)]
pub struct HashingPermit {
    memory: HashMemory,
    pool: Arc<Mutex<Vec<HashMemory>>>,
    // Dropped last: the memory is back in the pool before the next request can take a permit.
    _permit: OwnedSemaphorePermit,
}

impl HashingPermit {
    /// The working memory to verify in.
    pub(crate) fn memory(&mut self) -> &mut HashMemory {
        &mut self.memory
    }
}

impl Drop for HashingPermit {
    fn drop(&mut self) {
        lock(&self.pool).push(std::mem::take(&mut self.memory));
    }
}

/// The pool's lock; a panic while holding it cannot leave the list inconsistent.
fn lock(pool: &Mutex<Vec<HashMemory>>) -> std::sync::MutexGuard<'_, Vec<HashMemory>> {
    pool.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_beyond_the_limit_waits_then_gets_none() {
        let limit = HashingLimit::new(1).with_wait(Duration::from_millis(5));
        let held = limit.acquire().await.unwrap();
        assert_eq!(limit.available(), 0);
        assert!(limit.acquire().await.is_none());
        drop(held);
        assert!(limit.acquire().await.is_some());
        let none = HashingLimit::new(1).with_wait(Duration::ZERO);
        let _held = none.acquire().await.unwrap();
        assert!(none.acquire().await.is_none());
    }

    #[tokio::test]
    async fn working_memory_is_reused_and_never_exceeds_one_buffer_per_permit() {
        let limit = HashingLimit::new(2);
        for _ in 0..5 {
            let a = limit.acquire().await.unwrap();
            let b = limit.acquire().await.unwrap();
            drop((a, b));
        }
        assert_eq!(limit.pooled(), 2);
        let mut one = limit.acquire().await.unwrap();
        let secret = crate::clients::ClientSecret::hash_password("pw").unwrap();
        assert!(secret.verify_in(b"pw", one.memory()));
        let held = one.memory().len_bytes();
        drop(one);
        let mut again = limit.acquire().await.unwrap();
        // The buffer that hashed comes back (LIFO), already the size of the hash.
        assert_eq!(again.memory().len_bytes(), held);
        drop(again);
        assert_eq!(limit.pooled(), 2);
    }

    #[tokio::test]
    async fn a_permit_freed_during_the_wait_is_taken() {
        let limit = HashingLimit::new(1).with_wait(Duration::from_secs(30));
        let held = limit.acquire().await.unwrap();
        let waiter = tokio::spawn({
            let limit = limit.clone();
            async move { limit.acquire().await.is_some() }
        });
        tokio::task::yield_now().await;
        drop(held);
        assert!(waiter.await.unwrap());
    }

    #[test]
    fn retry_after_rounds_the_wait_up_to_whole_seconds() {
        let secs = |wait| HashingLimit::new(1).with_wait(wait).retry_after_secs();
        assert_eq!(secs(Duration::ZERO), 1);
        assert_eq!(secs(Duration::from_millis(5)), 1);
        assert_eq!(secs(Duration::from_secs(1)), 1);
        assert_eq!(secs(Duration::from_millis(1500)), 2);
    }

    #[test]
    fn default_is_one_per_core_and_one_second() {
        let limit = HashingLimit::default();
        assert!(limit.concurrency() >= 1);
        assert_eq!(limit.wait(), DEFAULT_HASH_WAIT);
        assert!(format!("{limit:?}").starts_with("HashingLimit { concurrency: "));
    }
}
