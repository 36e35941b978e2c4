//! The verified-credential cache over real HTTP: repeated grants of an Argon2id client pay
//! Argon2id once; wrong secrets, unknown ids and changed records never hit and still count for
//! the throttle; the store's changes and `forget_credentials` cut a cached secret off.
#![cfg(feature = "issue")]

mod common;

use std::future::ready;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use axum::Router;
use common::ISSUER;
use common::issue::{FORM, Reply, basic, http, serve_with_connect_info};
use tower_client_credentials::clients::{Client, ClientSecret, ClientStore, MemoryClientStore};
use tower_client_credentials::issue::throttle::{MemoryAuthThrottle, ThrottleLimits};
use tower_client_credentials::issue::{
    ClientCredentialsTokenService, CredentialCache, CredentialCacheStats, HashingLimit,
    IssuerConfigError, TokenIssuer,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};
use tower_client_credentials::store::{StoreError, StoreFuture};
use tower_client_credentials::time::ManualClock;

const NOW: u64 = 1_900_000_000;
const GRANT: &str = "grant_type=client_credentials";
const CHALLENGE: &str = r#"Basic realm="token""#;
/// Argon2id password.
const OPERATOR: &str = "ops-dashboard";
const PASSWORD: &str = "correct horse battery staple";
/// Another Argon2id client: keeps the store's dummy Argon2id when the operator is removed.
const AUDITOR: &str = "auditor";
/// A generated (SHA-256) secret: never cached.
const EXPORTER: &str = "reports-exporter";

/// Argon2id is slow in debug builds: hash once per test binary.
fn password_hash() -> ClientSecret {
    static HASH: OnceLock<ClientSecret> = OnceLock::new();
    HASH.get_or_init(|| ClientSecret::hash_password(PASSWORD).expect("argon2id"))
        .clone()
}

fn client(id: &str, secret: ClientSecret) -> Client {
    Client::builder(id)
        .secret(secret)
        .audiences(["reports-api"])
        .build()
        .expect("client")
}

/// A `MemoryClientStore` that can change while the issuer reads it, as behind an admin API.
#[derive(Clone)]
struct SharedStore(Arc<RwLock<MemoryClientStore>>);

impl SharedStore {
    /// Adds `client`, replacing the one with the same id (`MemoryClientStore::insert`).
    fn put(&self, client: Client) {
        self.0.write().expect("store lock").insert(client);
    }

    /// Replaces every client.
    fn replace_all(&self, store: MemoryClientStore) {
        *self.0.write().expect("store lock") = store;
    }
}

impl ClientStore for SharedStore {
    fn find<'a>(
        &'a self,
        client_id: &'a str,
    ) -> StoreFuture<'a, Result<Option<Client>, StoreError>> {
        let found = self.0.read().expect("store lock").get(client_id).cloned();
        Box::pin(ready(Ok(found)))
    }

    fn dummy_secret(&self) -> ClientSecret {
        self.0.read().expect("store lock").dummy_secret()
    }
}

struct Endpoint {
    url: String,
    issuer: TokenIssuer,
    store: SharedStore,
    time: ManualClock,
    exporter_secret: String,
}

async fn endpoint() -> Endpoint {
    endpoint_with(CredentialCache::default(), ThrottleLimits::default()).await
}

async fn endpoint_with(cache: CredentialCache, limits: ThrottleLimits) -> Endpoint {
    endpoint_hashing_with(cache, limits, HashingLimit::default()).await
}

async fn endpoint_hashing_with(
    cache: CredentialCache,
    limits: ThrottleLimits,
    hashing: HashingLimit,
) -> Endpoint {
    let time = ManualClock::new(NOW);
    let (plain, stored) = ClientSecret::generate();
    let store = SharedStore(Arc::new(RwLock::new(
        MemoryClientStore::new()
            .with_client(client(OPERATOR, password_hash()))
            .with_client(client(AUDITOR, password_hash()))
            .with_client(client(EXPORTER, stored)),
    )));
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).expect("keygen"))
        .with_clock(time.clock());
    let issuer = TokenIssuer::builder()
        .issuer(ISSUER)
        .keys(ring)
        .clients(store.clone())
        .clock(time.clock())
        .throttle(MemoryAuthThrottle::new(limits).with_clock(time.clock()))
        .credential_cache(cache)
        .hashing_limit(hashing)
        .build()
        .expect("issuer");
    let app = Router::new().route_service(
        "/oauth2/token",
        ClientCredentialsTokenService::new(issuer.clone()),
    );
    let base = serve_with_connect_info(app).await;
    Endpoint {
        url: format!("{base}/oauth2/token"),
        issuer,
        store,
        time,
        exporter_secret: plain.expose().to_owned(),
    }
}

impl Endpoint {
    async fn grant(&self, client_id: &str, secret: &str) -> Reply {
        let request = http()
            .post(&self.url)
            .header("content-type", FORM)
            .header("authorization", basic(client_id, secret))
            .body(GRANT);
        Reply::read(request.send().await.expect("request")).await
    }

    /// (Argon2id checks that hashed, answered from the cache).
    fn checks(&self) -> (u64, u64) {
        let CredentialCacheStats { misses, hits, .. } = self.issuer.credential_cache_stats();
        (misses, hits)
    }
}

fn invalid_client() -> Reply {
    Reply::error(401, "invalid_client", "client authentication failed")
        .with_header("www-authenticate", CHALLENGE)
}

fn throttled(retry_after: u64) -> Reply {
    Reply::error(
        429,
        "temporarily_unavailable",
        "too many failed client authentications",
    )
    .with_header("retry-after", &retry_after.to_string())
}

#[tokio::test]
async fn repeated_grants_of_an_argon2id_client_pay_argon2id_once() {
    let e = endpoint().await;
    for i in 0..5 {
        let reply = e.grant(OPERATOR, PASSWORD).await;
        assert_eq!(reply.token()["token_type"], "Bearer", "grant {i}");
    }
    assert_eq!(e.checks(), (1, 4));
    let stats = e.issuer.credential_cache_stats();
    assert_eq!((stats.entries, stats.capacity), (1, 10_000));
}

#[tokio::test]
async fn generated_secrets_are_never_cached() {
    let e = endpoint().await;
    for _ in 0..3 {
        assert_eq!(e.grant(EXPORTER, &e.exporter_secret).await.status, 200);
    }
    assert_eq!(e.checks(), (0, 0));
    assert_eq!(e.issuer.credential_cache_stats().entries, 0);
}

#[tokio::test]
async fn a_wrong_secret_after_a_cached_success_is_invalid_client_and_hashes() {
    let e = endpoint().await;
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    for wrong in [
        "correct horse battery stable",
        "",
        "correct horse battery staple ",
    ] {
        assert_eq!(
            e.grant(OPERATOR, wrong).await,
            invalid_client(),
            "{wrong:?}"
        );
    }
    // The first grant and the three wrong secrets hashed; the second grant did not.
    assert_eq!(e.checks(), (4, 1));
    // The cached secret still works.
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    assert_eq!(e.checks(), (4, 2));
}

#[tokio::test]
async fn failures_after_a_cached_success_count_for_the_throttle() {
    let limits = ThrottleLimits::default().with_client_failures(3);
    let e = endpoint_with(CredentialCache::default(), limits).await;
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    for i in 0..3 {
        assert_eq!(e.grant(OPERATOR, "guess").await, invalid_client(), "{i}");
    }
    // Locked: refused without a check, even though the right secret is cached.
    assert_eq!(e.grant(OPERATOR, PASSWORD).await, throttled(60));
    assert_eq!(e.checks(), (4, 0));
    e.time.advance(Duration::from_secs(60));
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    assert_eq!(e.checks(), (4, 1));
}

#[tokio::test]
async fn a_cache_hit_clears_the_client_id_count_like_any_success() {
    let limits = ThrottleLimits::default().with_client_failures(3);
    let e = endpoint_with(CredentialCache::default(), limits).await;
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    for round in 0..3 {
        for i in 0..2 {
            let reply = e.grant(OPERATOR, "guess").await;
            assert_eq!(reply, invalid_client(), "round {round}, failure {i}");
        }
        assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200, "{round}");
    }
    assert_eq!(e.checks(), (7, 3));
}

#[tokio::test]
async fn a_cached_secret_needs_no_hashing_permit() {
    let hashing = HashingLimit::new(1).with_wait(Duration::ZERO);
    let cache = CredentialCache::default();
    let e = endpoint_hashing_with(cache, ThrottleLimits::default(), hashing.clone()).await;
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    let _held = hashing.acquire().await.expect("the only permit");
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    // Anything that must hash waits for the permit: busy.
    let busy = Reply::error(
        503,
        "temporarily_unavailable",
        "the server is busy, retry later",
    )
    .with_header("retry-after", "1");
    assert_eq!(e.grant(AUDITOR, PASSWORD).await, busy);
    assert_eq!(e.grant(OPERATOR, "guess").await, busy);
    assert_eq!(e.checks(), (3, 1));
}

#[tokio::test]
async fn unknown_client_ids_hash_like_wrong_secrets() {
    let e = endpoint().await;
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    assert_eq!(e.grant("no-such-client", PASSWORD).await, invalid_client());
    assert_eq!(e.grant(OPERATOR, "guess").await, invalid_client());
    assert_eq!(e.checks(), (3, 0));
}

#[tokio::test]
async fn rotating_the_secret_in_the_store_stops_the_cached_secret() {
    let e = endpoint().await;
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    let rotated = ClientSecret::hash_password("a new passphrase").expect("argon2id");
    e.store.put(client(OPERATOR, rotated));
    assert_eq!(e.grant(OPERATOR, PASSWORD).await, invalid_client());
    assert_eq!(e.grant(OPERATOR, "a new passphrase").await.status, 200);
    assert_eq!(e.grant(OPERATOR, "a new passphrase").await.status, 200);
    assert_eq!(e.grant(OPERATOR, PASSWORD).await, invalid_client());
    assert_eq!(e.checks(), (4, 2));
}

#[tokio::test]
async fn disabling_the_client_stops_the_cached_secret() {
    let e = endpoint().await;
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    let disabled = Client::builder(OPERATOR)
        .secret(password_hash())
        .audiences(["reports-api"])
        .enabled(false)
        .build()
        .expect("client");
    e.store.put(disabled);
    assert_eq!(e.grant(OPERATOR, PASSWORD).await, invalid_client());
    // Enabled again: the record differs from the disabled one, so it hashes once more.
    e.store.put(client(OPERATOR, password_hash()));
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    assert_eq!(e.checks(), (3, 0));
}

#[tokio::test]
async fn removing_the_client_stops_the_cached_secret() {
    let e = endpoint().await;
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    e.store
        .replace_all(MemoryClientStore::new().with_client(client(AUDITOR, password_hash())));
    assert_eq!(e.grant(OPERATOR, PASSWORD).await, invalid_client());
    assert_eq!(e.checks(), (2, 0));
}

#[tokio::test]
async fn forget_credentials_makes_the_next_grant_hash_again() {
    let e = endpoint().await;
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    assert_eq!(e.grant(AUDITOR, PASSWORD).await.status, 200);
    e.issuer.forget_credentials(OPERATOR);
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    assert_eq!(e.grant(AUDITOR, PASSWORD).await.status, 200);
    assert_eq!(e.checks(), (3, 1));
    e.issuer.forget_all_credentials();
    assert_eq!(e.issuer.credential_cache_stats().entries, 0);
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    assert_eq!(e.grant(AUDITOR, PASSWORD).await.status, 200);
    assert_eq!(e.checks(), (5, 1));
}

#[tokio::test]
async fn a_cached_secret_expires_with_its_ttl() {
    let cache = CredentialCache::new(100, Duration::from_secs(60));
    let e = endpoint_with(cache, ThrottleLimits::default()).await;
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    e.time.advance(Duration::from_secs(59));
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    e.time.advance(Duration::from_secs(1));
    assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    assert_eq!(e.checks(), (2, 1));
}

#[tokio::test]
async fn a_disabled_cache_hashes_every_grant() {
    let e = endpoint_with(CredentialCache::disabled(), ThrottleLimits::default()).await;
    for _ in 0..3 {
        assert_eq!(e.grant(OPERATOR, PASSWORD).await.status, 200);
    }
    assert_eq!(e.checks(), (3, 0));
    let stats = e.issuer.credential_cache_stats();
    assert_eq!((stats.entries, stats.capacity), (0, 0));
}

#[test]
fn the_builder_refuses_a_cache_without_room_or_with_a_ttl_beyond_an_hour() {
    let build = |cache: CredentialCache| {
        let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
        TokenIssuer::builder()
            .issuer(ISSUER)
            .keys(KeyRing::new(key))
            .clients(MemoryClientStore::new())
            .credential_cache(cache)
            .build()
            .map(|_| ())
    };
    let secs = Duration::from_secs;
    for bad in [
        CredentialCache::new(0, secs(300)),
        CredentialCache::new(10, secs(0)),
        CredentialCache::new(10, Duration::from_millis(500)),
        CredentialCache::new(10, secs(3601)),
    ] {
        assert_eq!(
            build(bad),
            Err(IssuerConfigError::BadCredentialCache),
            "{bad:?}"
        );
    }
    assert_eq!(build(CredentialCache::new(1, secs(3600))), Ok(()));
    assert_eq!(build(CredentialCache::disabled()), Ok(()));
}

#[test]
fn debug_of_the_issuer_shows_cache_counts_only() {
    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let issuer = TokenIssuer::builder()
        .issuer(ISSUER)
        .keys(KeyRing::new(key))
        .clients(MemoryClientStore::new())
        .build()
        .expect("issuer");
    let shown = format!("{issuer:?}");
    let expected = "credential_cache: CredentialCache { enabled: true, ttl_secs: 300, \
                    entries: 0, capacity: 10000, hits: 0, misses: 0 }";
    assert!(shown.contains(expected), "{shown}");
}
