//! The cache's rules without a provider: a seed, a closed loopback port, a manual clock. The
//! HTTP behaviour is tested against a real provider in `tests/remote_jwks.rs`.

use std::net::TcpListener;
use std::sync::atomic::Ordering;

use super::*;
use crate::keys::{Algorithm, KeyProvider, SigningKey};
use crate::time::ManualClock;

/// A loopback URL nothing listens on (the port was free a moment ago): fetches fail fast.
fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/jwks")
}

fn seeded(clock: &ManualClock) -> (SigningKey, RemoteKeys) {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let seed = Jwks::from_keys(&[key.verifying_key().clone()]).to_json();
    let keys = RemoteKeys::jwks_uri(dead_url())
        .seed_jwks(seed)
        .clock(clock.clock())
        .build()
        .unwrap();
    (key, keys)
}

#[test]
fn settings_are_checked() {
    let bad = |b: RemoteKeysBuilder| b.build().unwrap_err();
    let jwks = || RemoteKeys::jwks_uri("https://id.example.com/jwks");
    assert_eq!(
        bad(RemoteKeys::jwks_uri("not a url")),
        RemoteKeysConfigError::InvalidUrl
    );
    assert_eq!(
        bad(RemoteKeys::discover("http://id.example.com")),
        RemoteKeysConfigError::InsecureUrl
    );
    assert_eq!(
        bad(RemoteKeys::discover("https://id.example.com/?tenant=1")),
        RemoteKeysConfigError::IssuerQueryOrFragment
    );
    assert!(matches!(
        bad(jwks().request_timeout(Duration::ZERO)),
        RemoteKeysConfigError::InvalidSetting(_)
    ));
    assert!(matches!(
        bad(jwks().cool_down(Duration::from_millis(500))),
        RemoteKeysConfigError::InvalidSetting(_)
    ));
    assert!(matches!(
        bad(jwks().refresh_bounds(Duration::from_secs(600), Duration::from_secs(60))),
        RemoteKeysConfigError::InvalidSetting(_)
    ));
    assert!(matches!(
        bad(jwks().max_staleness(Duration::from_secs(10))),
        RemoteKeysConfigError::InvalidSetting(_)
    ));
    assert_eq!(
        bad(jwks().seed_jwks(r#"{"keys": []}"#)),
        RemoteKeysConfigError::InvalidSeed(KeyError::NoUsableKey)
    );
    assert_eq!(
        bad(jwks().seed_jwks("garbage")),
        RemoteKeysConfigError::InvalidSeed(KeyError::InvalidJwks)
    );
    assert!(
        RemoteKeys::jwks_uri("http://id.example.com/jwks")
            .allow_http(true)
            .build()
            .is_ok()
    );
}

#[test]
fn without_a_runtime_nothing_is_fetched_and_nothing_panics() {
    let clock = ManualClock::new(1_900_000_000);
    let (key, keys) = seeded(&clock);
    let provider = RemoteProvider(keys.cache.clone());
    assert_eq!(
        provider.find(Some(key.kid())).map(|k| k.kid().to_owned()),
        Some(key.kid().to_owned())
    );
    assert!(keys.is_ready());
    // A miss without a runtime: the future is built, but nothing is spawned.
    assert!(provider.fetch(Some("other")).is_some());
    assert!(!keys.cache.background_started.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_seed_serves_until_the_maximum_staleness_then_requests_fail_closed() {
    let clock = ManualClock::new(1_900_000_000);
    let (key, keys) = seeded(&clock);
    let provider = RemoteProvider(keys.cache.clone());
    assert!(provider.find(Some(key.kid())).is_some());
    clock.advance(DEFAULT_MAX_STALENESS);
    assert!(provider.find(Some(key.kid())).is_some());
    clock.advance(Duration::from_secs(1));
    assert!(provider.find(Some(key.kid())).is_none());
    assert!(!keys.is_ready());
    // The miss claims a fetch, which fails (nothing listens): keys unavailable.
    let fetch = provider.fetch(Some(key.kid())).unwrap();
    assert_eq!(fetch.await.unwrap_err(), KeyError::Unavailable);
    // Within the cool-down: answered at once, still unavailable.
    let fetch = provider.fetch(Some(key.kid())).unwrap();
    assert_eq!(fetch.await.unwrap_err(), KeyError::Unavailable);
    let status = keys.status();
    assert!(!status.ready);
    assert_eq!(status.last_error, Some(RemoteKeysError::Connect));
}

#[test]
fn an_unknown_kid_claims_one_fetch_per_cool_down() {
    // Built outside a runtime, and `fetch` alone never starts the background task: every
    // fetch counted below is one a miss claimed.
    let clock = ManualClock::new(1_900_000_000);
    let (_key, keys) = seeded(&clock);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(one_fetch_per_cool_down(&clock, &keys));
    assert!(!keys.cache.background_started.load(Ordering::SeqCst));
}

async fn one_fetch_per_cool_down(clock: &ManualClock, keys: &RemoteKeys) {
    let provider = RemoteProvider(keys.cache.clone());
    let before = keys.status().fetches;
    let first = provider
        .fetch(Some("random-1"))
        .expect("the first miss fetches");
    assert!(matches!(first.await, Ok(None)));
    for i in 0..1000 {
        assert!(provider.fetch(Some(&format!("random-{i}"))).is_none());
    }
    assert_eq!(keys.status().fetches, before + 1);
    clock.advance(DEFAULT_COOL_DOWN - Duration::from_secs(1));
    assert!(provider.fetch(Some("random-x")).is_none());
    clock.advance(Duration::from_secs(1));
    let again = provider
        .fetch(Some("random-y"))
        .expect("a new cool-down period");
    assert!(matches!(again.await, Ok(None)));
    assert_eq!(keys.status().fetches, before + 2);
}

#[tokio::test]
async fn dropping_every_handle_ends_the_background_task() {
    let clock = ManualClock::new(1_900_000_000);
    let (_key, keys) = seeded(&clock);
    let weak = Arc::downgrade(&keys.cache);
    let source = keys.key_source();
    drop(keys);
    assert!(weak.upgrade().is_some(), "the key source keeps the cache");
    drop(source);
    // A fetch in flight holds the cache until it ends (fast: nothing listens).
    for _ in 0..200 {
        if weak.upgrade().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the cache outlived its handles");
}
