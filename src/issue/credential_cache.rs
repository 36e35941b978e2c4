//! [`CredentialCache`]: Argon2id client secrets that verified, remembered for a few minutes so
//! that a client presenting the same secret again does not pay the hash again.
//!
//! The cache lives in the issuer; [`CredentialCache`] is its configuration and explains what
//! it keeps and when it forgets.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, Zeroizing};

use crate::clients::RegisteredSecret;
use crate::time::Clock;

/// The default number of clients whose verified secret is remembered.
pub const DEFAULT_CREDENTIAL_CACHE_CAPACITY: usize = 10_000;
/// The default time a verified secret is remembered.
pub const DEFAULT_CREDENTIAL_CACHE_TTL: Duration = Duration::from_secs(5 * 60);
/// The longest time a verified secret may be remembered.
pub const MAX_CREDENTIAL_CACHE_TTL: Duration = Duration::from_secs(60 * 60);

/// How many verified Argon2id secrets a [`TokenIssuer`](super::TokenIssuer) remembers, and for
/// how long. Set it with
/// [`TokenIssuerBuilder::credential_cache`](super::TokenIssuerBuilder::credential_cache).
///
/// An Argon2id check costs a core ~15 ms, which caps the token endpoint at ~65 grants a second
/// per core for clients with human-chosen secrets. After a successful check the issuer
/// remembers, per client id, an HMAC-SHA-256 of the presented secret under a key drawn from the
/// OS generator when the issuer is built (it never leaves the process), and a fingerprint of
/// what the secret was verified against: the stored hash that matched (of the client's live
/// secrets), its `not_after`, and whether the client was enabled. A
/// later grant for that client whose secret has the same HMAC, and whose record (fetched from
/// the store for every grant anyway) still has the same fingerprint, skips Argon2id.
///
/// - Only successes are remembered, and only for Argon2id secrets (SHA-256 ones are cheap).
///   One entry per client: while a client has two live secrets, the one presented last is
///   remembered, so instances alternating between them each pay Argon2id.
/// - A hit is only ever the answer Argon2id would give for the record the store returns now:
///   a rotated secret, a disabled or a removed client never hits (in this process or any
///   other: each compares with the record its store returns), and its entry is dropped at
///   that grant. The cache adds no staleness of its own.
///   [`TokenIssuer::forget_credentials`](super::TokenIssuer::forget_credentials) and
///   [`TokenIssuer::forget_all_credentials`](super::TokenIssuer::forget_all_credentials) drop
///   entries at once, for a store's change notifications.
/// - A wrong secret, an unknown client id and a miss take the path they took without the cache,
///   plus one HMAC, one fingerprint and one probe that every Argon2id check pays alike: the
///   cache tells no one whether a client id exists (DESIGN.md decision 5). Failures still count
///   for the [throttle](super::throttle); a hit is a success for it, like any other.
/// - Entries live at most the TTL (default 5 min, at most [`MAX_CREDENTIAL_CACHE_TTL`]), in a
///   bounded cache (default [`DEFAULT_CREDENTIAL_CACHE_CAPACITY`] clients). The cache never
///   holds a secret, only its keyed hash, zeroed when dropped; `Debug` shows counts only.
/// - The trade-off: someone who can read the process's memory finds the key and the keyed
///   hashes together, and can test guesses at a cached client's secret at HMAC speed instead
///   of Argon2id speed, for as long as the entry lives (see SECURITY.md). Turn the cache off
///   with [`CredentialCache::disabled`] where that matters more than throughput.
///
/// ```
/// use std::time::Duration;
/// use tower_client_credentials::clients::{Client, ClientSecret, MemoryClientStore};
/// use tower_client_credentials::issue::{ClientAuth, CredentialCache, TokenIssuer, TokenRequest};
/// use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder("ops-dashboard")
///     .secret(ClientSecret::hash_password("correct horse battery staple")?)
///     .audiences(["reports-api"])
///     .build()?;
/// let issuer = TokenIssuer::builder()
///     .issuer("https://auth.example.com")
///     .keys(KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?))
///     .clients(MemoryClientStore::new().with_client(client))
///     .credential_cache(CredentialCache::new(1_000, Duration::from_secs(120)))
///     .build()?;
/// let auth = || ClientAuth::Basic {
///     client_id: "ops-dashboard".into(),
///     secret: "correct horse battery staple".to_owned().into(),
/// };
/// for _ in 0..3 {
///     issuer.issue(auth(), TokenRequest::client_credentials(None)).await?;
/// }
/// let stats = issuer.credential_cache_stats();
/// assert_eq!((stats.misses, stats.hits), (1, 2)); // one Argon2id check for three grants
/// # Ok(()) }
/// ```
///
/// # Settings
///
/// The default remembers [`DEFAULT_CREDENTIAL_CACHE_CAPACITY`] clients for
/// [`DEFAULT_CREDENTIAL_CACHE_TTL`]. The builder refuses a capacity of zero and a TTL under
/// 1 s or over [`MAX_CREDENTIAL_CACHE_TTL`]
/// ([`IssuerConfigError::BadCredentialCache`](super::IssuerConfigError::BadCredentialCache)).
///
/// ```
/// use std::time::Duration;
/// use tower_client_credentials::issue::CredentialCache;
///
/// let cache = CredentialCache::new(500, Duration::from_secs(60));
/// assert_eq!((cache.capacity(), cache.ttl()), (500, Duration::from_secs(60)));
/// assert!(cache.is_enabled());
/// assert!(!CredentialCache::disabled().is_enabled());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialCache {
    capacity: usize,
    ttl: Duration,
    enabled: bool,
}

impl CredentialCache {
    /// Remembers up to `capacity` clients' verified secrets for `ttl` each (whole seconds,
    /// rounded down, so an entry never lives longer than `ttl`).
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        CredentialCache {
            capacity,
            ttl,
            enabled: true,
        }
    }

    /// No cache: every grant of an Argon2id client pays Argon2id.
    pub fn disabled() -> Self {
        CredentialCache {
            capacity: 0,
            ttl: Duration::ZERO,
            enabled: false,
        }
    }

    /// The most clients remembered (0 when disabled).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How long a verified secret is remembered (zero when disabled).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether verified secrets are remembered at all.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Whether the builder accepts these settings.
    pub(super) fn is_valid(&self) -> bool {
        !self.enabled
            || (self.capacity > 0
                && self.ttl.as_secs() >= 1
                && self.ttl <= MAX_CREDENTIAL_CACHE_TTL)
    }
}

impl Default for CredentialCache {
    /// [`DEFAULT_CREDENTIAL_CACHE_CAPACITY`] clients for [`DEFAULT_CREDENTIAL_CACHE_TTL`].
    fn default() -> Self {
        CredentialCache::new(
            DEFAULT_CREDENTIAL_CACHE_CAPACITY,
            DEFAULT_CREDENTIAL_CACHE_TTL,
        )
    }
}

/// A snapshot of an issuer's credential cache, from
/// [`TokenIssuer::credential_cache_stats`](super::TokenIssuer::credential_cache_stats): counts
/// only, for metrics and health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CredentialCacheStats {
    /// Argon2id checks answered from the cache, without hashing.
    pub hits: u64,
    /// Argon2id checks the cache did not answer (wrong secrets and unknown client ids
    /// included): each went on to Argon2id, or to 503 when no hashing permit came free. Counted
    /// with the cache disabled too.
    pub misses: u64,
    /// Clients remembered now (expired entries included until they are swept, at most one
    /// TTL after they expire).
    pub entries: usize,
    /// The most clients remembered (0 when disabled).
    pub capacity: usize,
}

/// The cache an issuer owns, built from a [`CredentialCache`].
pub(crate) struct VerifiedSecrets {
    memory: Option<Memory>,
    hits: AtomicU64,
    misses: AtomicU64,
}

struct Memory {
    entries: quick_cache::sync::Cache<String, Entry>,
    /// HMAC-SHA-256 keyed with 32 bytes from the OS generator; the raw key is zeroed once this
    /// state is derived from it.
    mac: Hmac<Sha256>,
    ttl_secs: u64,
    clock: Clock,
    /// Bumped by every forget, so that a check in flight during one does not store its result.
    generation: AtomicU64,
    /// When expired entries are next swept.
    next_sweep: AtomicU64,
}

#[derive(Clone)]
struct Entry {
    /// HMAC of the presented secret.
    tag: [u8; 32],
    /// HMAC of what it was verified against.
    fingerprint: [u8; 32],
    /// The first Unix second at which the entry is dead.
    expires_at: u64,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.tag.zeroize();
        self.fingerprint.zeroize();
    }
}

/// What an Argon2id check found in the cache.
pub(crate) enum Lookup {
    /// The same secret verified against the same record, within the TTL: no need to hash.
    Hit,
    /// Hash; if it matches and the client may have a token, [`VerifiedSecrets::remember`] this.
    Miss(Option<Verified>),
}

/// A presented secret and the records it is checked against (one per live secret), keyed,
/// waiting for the Argon2id answer.
pub(crate) struct Verified {
    tag: Zeroizing<[u8; 32]>,
    fingerprints: Vec<[u8; 32]>,
    generation: u64,
}

impl VerifiedSecrets {
    pub(crate) fn new(config: CredentialCache, clock: Clock) -> Self {
        let memory = if config.enabled {
            let key = Zeroizing::new(crate::random::bytes::<32>());
            // HMAC takes keys of any length: the error (never) would leave the cache off.
            Hmac::new_from_slice(&key[..]).ok().map(|mac| Memory {
                entries: quick_cache::sync::Cache::new(config.capacity),
                mac,
                ttl_secs: config.ttl.as_secs(),
                clock,
                generation: AtomicU64::new(0),
                next_sweep: AtomicU64::new(0),
            })
        } else {
            None
        };
        VerifiedSecrets {
            memory,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Whether `presented` for `client_id` verified against one of the `live` secrets (with the
    /// same `not_after`) and the same enabled state within the TTL. Every call does the same
    /// work whether the id is known, has an entry or not: one HMAC, one fingerprint per live
    /// secret, one probe, constant-time comparisons against every fingerprint.
    pub(crate) fn look_up(
        &self,
        client_id: &str,
        live: &[RegisteredSecret],
        enabled: bool,
        presented: &[u8],
    ) -> Lookup {
        let Some(memory) = &self.memory else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return Lookup::Miss(None);
        };
        let now = memory.clock.now();
        memory.sweep(now);
        let verified = Verified {
            // Read before the probe: a forget from here on keeps the result out.
            generation: memory.generation.load(Ordering::SeqCst),
            tag: memory.tag(client_id, presented),
            fingerprints: live
                .iter()
                .map(|secret| memory.fingerprint(secret, enabled))
                .collect(),
        };
        let found = memory.entries.get(client_id);
        let none = Entry {
            tag: [0; 32],
            fingerprint: [0; 32],
            expires_at: 0,
        };
        let entry = found.as_ref().unwrap_or(&none);
        // No early exit: the work does not depend on which secret the entry was for.
        let same_record = verified
            .fingerprints
            .iter()
            .fold(Choice::from(0), |any, f| {
                any | entry.fingerprint[..].ct_eq(&f[..])
            });
        let hit = Choice::from(u8::from(found.is_some()))
            & entry.tag[..].ct_eq(&verified.tag[..])
            & same_record
            & Choice::from(u8::from(now < entry.expires_at));
        if found.is_some() && !bool::from(same_record) {
            // The record changed (the secret rotated out or expired, the client disabled or
            // removed): the entry dies, unless a success against the new record replaced it
            // meanwhile. This depends on the record only, never on the presented secret.
            let stale = entry.fingerprint;
            memory
                .entries
                .remove_if(client_id, |e| e.fingerprint[..].ct_eq(&stale[..]).into());
        }
        if hit.into() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            Lookup::Hit
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            Lookup::Miss(Some(verified))
        }
    }

    /// Remembers a secret that verified against the `matched`-th of the live secrets given to
    /// [`look_up`](Self::look_up), for a client that got its token.
    pub(crate) fn remember(&self, client_id: &str, verified: Verified, matched: usize) {
        let Some(memory) = &self.memory else { return };
        let Some(fingerprint) = verified.fingerprints.get(matched) else {
            return;
        };
        let entry = Entry {
            tag: *verified.tag,
            fingerprint: *fingerprint,
            expires_at: memory.clock.now().saturating_add(memory.ttl_secs),
        };
        memory.entries.insert(client_id.to_owned(), entry);
        // A forget that began after the check may have run before this insert: undo it.
        // (Forgets bump the generation before they remove, so one of the two sees the other.)
        if memory.generation.load(Ordering::SeqCst) != verified.generation {
            memory.entries.remove(client_id);
        }
    }

    pub(crate) fn forget(&self, client_id: &str) {
        if let Some(memory) = &self.memory {
            memory.generation.fetch_add(1, Ordering::SeqCst);
            memory.entries.remove(client_id);
        }
    }

    pub(crate) fn forget_all(&self) {
        if let Some(memory) = &self.memory {
            memory.generation.fetch_add(1, Ordering::SeqCst);
            memory.entries.clear();
        }
    }

    pub(crate) fn stats(&self) -> CredentialCacheStats {
        let (entries, capacity) = self.memory.as_ref().map_or((0, 0), |m| {
            let capacity = usize::try_from(m.entries.capacity()).unwrap_or(usize::MAX);
            (m.entries.len(), capacity)
        });
        CredentialCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries,
            capacity,
        }
    }
}

impl Memory {
    /// HMAC of the presented secret, bound to the client id (length-prefixed).
    fn tag(&self, client_id: &str, presented: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut mac = self.mac.clone();
        mac.update(b"secret\0");
        mac.update(&(client_id.len() as u64).to_be_bytes());
        mac.update(client_id.as_bytes());
        mac.update(presented);
        Zeroizing::new(mac.finalize().into_bytes().into())
    }

    /// HMAC of what a secret is verified against: the stored hash with its `not_after` (so
    /// expiring the secret ends the entry) and the enabled state.
    fn fingerprint(&self, stored: &RegisteredSecret, enabled: bool) -> [u8; 32] {
        let (kind, bytes) = stored.secret().identity();
        let not_after = stored.not_after().map_or([0; 9], |end| {
            let mut field = [1; 9];
            field[1..].copy_from_slice(&end.to_be_bytes());
            field
        });
        let mut mac = self.mac.clone();
        mac.update(b"record\0");
        mac.update(&[kind, u8::from(enabled)]);
        mac.update(&not_after);
        mac.update(bytes);
        mac.finalize().into_bytes().into()
    }

    /// Drops expired entries, at most once a TTL, so that no keyed hash outlives its TTL by
    /// more than one more (when no grant replaces it first).
    fn sweep(&self, now: u64) {
        let due = self.next_sweep.load(Ordering::Relaxed);
        if now < due {
            return;
        }
        let next = now.saturating_add(self.ttl_secs);
        let claimed =
            self.next_sweep
                .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed);
        if claimed.is_ok() {
            self.entries.retain(|_, entry| now < entry.expires_at);
        }
    }
}

impl fmt::Debug for VerifiedSecrets {
    /// Counts only: never a tag, a fingerprint or the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.stats();
        f.debug_struct("CredentialCache")
            .field("enabled", &self.memory.is_some())
            .field("ttl_secs", &self.memory.as_ref().map_or(0, |m| m.ttl_secs))
            .field("entries", &stats.entries)
            .field("capacity", &stats.capacity)
            .field("hits", &stats.hits)
            .field("misses", &stats.misses)
            .finish()
    }
}

#[cfg(test)]
#[path = "credential_cache_tests.rs"]
mod tests;
