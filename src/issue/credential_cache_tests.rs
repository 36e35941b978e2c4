use std::sync::OnceLock;

use super::*;
use crate::clients::ClientSecret;
use crate::time::ManualClock;

const NOW: u64 = 1_900_000_000;
const TTL: Duration = Duration::from_secs(300);

/// Argon2id is slow in debug builds: hash once for all tests.
fn argon2id() -> ClientSecret {
    static HASH: OnceLock<ClientSecret> = OnceLock::new();
    HASH.get_or_init(|| ClientSecret::hash_password("pw").unwrap())
        .clone()
}

fn cache(capacity: usize) -> (VerifiedSecrets, ManualClock) {
    let time = ManualClock::new(NOW);
    let secrets = VerifiedSecrets::new(CredentialCache::new(capacity, TTL), time.clock());
    (secrets, time)
}

/// A check of `presented` for `id` against the Argon2id record, remembered when it misses (as
/// the issuer does after Argon2id said yes); whether it hit.
fn check_and_remember(secrets: &VerifiedSecrets, id: &str, presented: &[u8]) -> bool {
    match secrets.look_up(id, &[live(argon2id())], true, presented) {
        Lookup::Hit => true,
        Lookup::Miss(verified) => {
            secrets.remember(id, verified.unwrap(), 0);
            false
        }
    }
}

/// A secret that never expires.
fn live(secret: ClientSecret) -> RegisteredSecret {
    RegisteredSecret::from(secret)
}

fn hits(secrets: &VerifiedSecrets, id: &str, stored: &ClientSecret, presented: &[u8]) -> bool {
    let live = [live(stored.clone())];
    matches!(secrets.look_up(id, &live, true, presented), Lookup::Hit)
}

#[test]
fn a_secret_that_verified_hits_for_the_same_client_and_record() {
    let (secrets, _) = cache(10);
    assert!(!check_and_remember(&secrets, "a", b"pw"));
    assert!(check_and_remember(&secrets, "a", b"pw"));
    assert!(hits(&secrets, "a", &argon2id(), b"pw"));
    let stats = secrets.stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (2, 1, 1));
}

#[test]
fn another_secret_or_another_client_misses() {
    let (secrets, _) = cache(10);
    check_and_remember(&secrets, "a", b"pw");
    assert!(!hits(&secrets, "a", &argon2id(), b"pw "));
    assert!(!hits(&secrets, "a", &argon2id(), b""));
    assert!(!hits(&secrets, "b", &argon2id(), b"pw"));
    assert!(!hits(&secrets, "", &argon2id(), b"pw"));
    assert_eq!(secrets.stats().misses, 5);
}

#[test]
fn an_entry_dies_at_its_ttl() {
    let (secrets, time) = cache(10);
    check_and_remember(&secrets, "a", b"pw");
    time.advance(TTL - Duration::from_secs(1));
    assert!(hits(&secrets, "a", &argon2id(), b"pw"));
    time.advance(Duration::from_secs(1));
    assert!(!hits(&secrets, "a", &argon2id(), b"pw"));
}

#[test]
fn a_rotated_secret_or_a_disabled_client_misses() {
    let (secrets, _) = cache(10);
    check_and_remember(&secrets, "a", b"pw");
    // The same password hashed again (another salt), as a rotation to the same value would be.
    let rehashed = ClientSecret::hash_password("pw").unwrap();
    assert!(!hits(&secrets, "a", &rehashed, b"pw"));
    assert!(!hits(&secrets, "a", &ClientSecret::dummy(), b"pw"));
    // A changed record also drops the entry: the record as it was no longer hits either.
    assert_eq!(secrets.stats().entries, 0);
    assert!(!hits(&secrets, "a", &argon2id(), b"pw"));
    check_and_remember(&secrets, "a", b"pw");
    let disabled = secrets.look_up("a", &[live(argon2id())], false, b"pw");
    assert!(matches!(disabled, Lookup::Miss(Some(_))));
    assert!(!hits(&secrets, "a", &argon2id(), b"pw"));
}

#[test]
fn a_wrong_secret_leaves_the_entry_for_the_right_one() {
    let (secrets, _) = cache(10);
    check_and_remember(&secrets, "a", b"pw");
    for _ in 0..3 {
        assert!(!hits(&secrets, "a", &argon2id(), b"guess"));
    }
    assert!(hits(&secrets, "a", &argon2id(), b"pw"));
}

#[test]
fn forget_drops_one_client_and_forget_all_every_client() {
    let (secrets, _) = cache(10);
    check_and_remember(&secrets, "a", b"pw");
    check_and_remember(&secrets, "b", b"pw");
    secrets.forget("a");
    assert!(!hits(&secrets, "a", &argon2id(), b"pw"));
    assert!(hits(&secrets, "b", &argon2id(), b"pw"));
    secrets.forget("nobody");
    secrets.forget_all();
    assert!(!hits(&secrets, "b", &argon2id(), b"pw"));
    assert_eq!(secrets.stats().entries, 0);
}

#[test]
fn a_check_in_flight_during_a_forget_is_not_remembered() {
    let (secrets, _) = cache(10);
    let Lookup::Miss(Some(verified)) = secrets.look_up("a", &[live(argon2id())], true, b"pw")
    else {
        panic!("first check must miss");
    };
    // Argon2id runs here; the store says the client changed.
    secrets.forget("a");
    secrets.remember("a", verified, 0);
    assert!(!hits(&secrets, "a", &argon2id(), b"pw"));
    assert_eq!(secrets.stats().entries, 0);
}

#[test]
fn the_number_of_clients_remembered_is_bounded() {
    let (secrets, _) = cache(100);
    for i in 0..1_000 {
        check_and_remember(&secrets, &format!("client-{i}"), b"pw");
    }
    let stats = secrets.stats();
    assert_eq!(stats.capacity, 100);
    assert!(stats.entries <= 100, "{stats:?}");
    assert!(hits(&secrets, "client-999", &argon2id(), b"pw"));
}

#[test]
fn expired_entries_are_swept_by_later_checks() {
    let (secrets, time) = cache(10);
    check_and_remember(&secrets, "a", b"pw");
    check_and_remember(&secrets, "b", b"pw");
    time.advance(TTL);
    assert_eq!(secrets.stats().entries, 2);
    assert!(!hits(&secrets, "c", &argon2id(), b"pw"));
    assert_eq!(secrets.stats().entries, 0);
}

#[test]
fn a_disabled_cache_never_hits_and_counts_every_check_as_a_miss() {
    let time = ManualClock::new(NOW);
    let secrets = VerifiedSecrets::new(CredentialCache::disabled(), time.clock());
    for _ in 0..3 {
        let Lookup::Miss(verified) = secrets.look_up("a", &[live(argon2id())], true, b"pw") else {
            panic!("a disabled cache never hits");
        };
        assert!(verified.is_none());
    }
    let stats = secrets.stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (0, 3, 0));
    assert_eq!(stats.capacity, 0);
}

#[test]
fn settings_are_checked_against_their_bounds() {
    let valid = |capacity, secs| CredentialCache::new(capacity, Duration::from_secs(secs));
    assert!(valid(1, 1).is_valid());
    assert!(valid(10_000, 3600).is_valid());
    assert!(!valid(0, 300).is_valid());
    assert!(!valid(10, 0).is_valid());
    assert!(!valid(10, 3601).is_valid());
    assert!(!CredentialCache::new(10, Duration::from_millis(999)).is_valid());
    assert!(CredentialCache::disabled().is_valid());
    let default = CredentialCache::default();
    assert_eq!(
        (default.capacity(), default.ttl(), default.is_enabled()),
        (10_000, Duration::from_secs(300), true)
    );
}

#[test]
fn debug_shows_counts_only() {
    let (secrets, _) = cache(10);
    check_and_remember(&secrets, "a", b"pw");
    check_and_remember(&secrets, "a", b"pw");
    assert_eq!(
        format!("{secrets:?}"),
        "CredentialCache { enabled: true, ttl_secs: 300, entries: 1, capacity: 10, hits: 1, \
         misses: 1 }"
    );
}
