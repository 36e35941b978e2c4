//! The Redis stores (feature `redis`) over real HTTP on 127.0.0.1 and a real Redis: two
//! token-endpoint instances sharing one Redis, each with its own in-memory client store
//! holding the same clients.
//!
//! The tests run when `TEST_REDIS_URL` is set (`.ci/run` sets it to the local server) and
//! fail, not skip, when it is set but Redis does not answer. Each test writes under its own
//! random key prefix. Outages go through a TCP proxy the test closes: pausing the real server
//! would stall the other tests running beside it.
#![cfg(all(
    feature = "redis",
    feature = "axum",
    feature = "issue",
    feature = "client"
))]

mod common;

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use common::issue::{FORM, Reply, basic, scopes, serve_with_connect_info, urlencode};
use common::{AUDIENCE, ISSUER, http, now};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower_client_credentials::clients::{AuthMethod, Client, ClientSecret, MemoryClientStore};
use tower_client_credentials::issue::throttle::ThrottleLimits;
use tower_client_credentials::issue::{
    ClientCredentialsTokenService, JWT_BEARER_ASSERTION, TokenIssuer,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};
use tower_client_credentials::outbound::{
    CachedTokenSource, ClientCredentials, TokenSource, TokenSourceError,
};
use tower_client_credentials::redis::{
    CredentialInvalidation, RedisConnection, RedisReplayGuard, RedisThrottle, RedisTokenCache,
};

const TOKEN_URL: &str = "https://auth.test/oauth2/token";
const GRANT: &str = "grant_type=client_credentials";
/// A client with a generated (SHA-256) secret.
const EXPORTER: &str = "reports-exporter";
/// A `private_key_jwt` client.
const SIGNER: &str = "billing";
/// A client with a human-chosen (Argon2id) secret: the credential cache remembers it.
const OPERATOR: &str = "ops-dashboard";
const PASSWORD: &str = "correct horse battery staple";

/// Argon2id is slow in debug builds: hash once per test binary.
fn password_hash() -> ClientSecret {
    static HASH: OnceLock<ClientSecret> = OnceLock::new();
    HASH.get_or_init(|| ClientSecret::hash_password(PASSWORD).expect("argon2id"))
        .clone()
}

/// The Redis of `TEST_REDIS_URL`, under a prefix of its own; `None` (and a line saying why)
/// when the variable is unset. Panics when it is set and Redis does not answer.
async fn redis(test: &str) -> Option<RedisConnection> {
    let Ok(url) = std::env::var("TEST_REDIS_URL") else {
        // Straight to stderr, past the test harness's capture: the line shows in a plain
        // `cargo test` run, where the test itself reports `ok`.
        let _ = writeln!(
            std::io::stderr(),
            "skipped {test}: TEST_REDIS_URL is not set (.ci/run sets it)"
        );
        return None;
    };
    let redis = RedisConnection::open(&url)
        .unwrap_or_else(|e| panic!("TEST_REDIS_URL is set but unusable: {e}"))
        .with_prefix(format!("tcc-test:{}:", random_hex()));
    if let Err(e) = redis.ping().await {
        panic!("TEST_REDIS_URL is set but Redis does not answer: {e}");
    }
    Some(redis)
}

fn random_hex() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What both instances of a test share: the clients' secrets and keys.
struct Clients {
    secret: String,
    stored: ClientSecret,
    signer: SigningKey,
}

impl Clients {
    fn new() -> Self {
        let (plain, stored) = ClientSecret::generate();
        Clients {
            secret: plain.expose().to_owned(),
            stored,
            signer: SigningKey::generate(Algorithm::EdDSA).expect("keygen"),
        }
    }

    /// A fresh in-memory store holding the same clients.
    fn store(&self) -> MemoryClientStore {
        let exporter = Client::builder(EXPORTER)
            .secret(self.stored.clone())
            .auth_methods([AuthMethod::ClientSecretBasic])
            .allowed_scopes(scopes("reports:read"))
            .default_scopes(scopes("reports:read"))
            .audiences([AUDIENCE])
            .build()
            .expect("client");
        let signer = Client::builder(SIGNER)
            .auth_methods([AuthMethod::PrivateKeyJwt])
            .keys([self.signer.verifying_key().clone()])
            .allowed_scopes(scopes("invoices:read"))
            .audiences([AUDIENCE])
            .build()
            .expect("client");
        let operator = Client::builder(OPERATOR)
            .secret(password_hash())
            .auth_methods([AuthMethod::ClientSecretBasic])
            .allowed_scopes(scopes("reports:read"))
            .audiences([AUDIENCE])
            .build()
            .expect("client");
        MemoryClientStore::new()
            .with_client(exporter)
            .with_client(operator)
            .with_client(signer)
    }

    /// An assertion of the signer with this `jti`, valid for a minute.
    fn assertion(&self, jti: &str) -> String {
        let now = now();
        let claims = json!({
            "iss": SIGNER, "sub": SIGNER, "aud": TOKEN_URL,
            "iat": now, "exp": now + 60, "jti": jti,
        });
        self.signer.sign("JWT", &claims).expect("sign")
    }
}

/// One token-endpoint instance.
struct Instance {
    url: String,
    http: reqwest::Client,
    issuer: TokenIssuer,
}

impl Instance {
    /// An instance whose replay guard and throttle are on `redis`.
    async fn start(clients: &Clients, redis: &RedisConnection, limits: ThrottleLimits) -> Self {
        let issuer = TokenIssuer::builder()
            .issuer(ISSUER)
            .keys(KeyRing::new(
                SigningKey::generate(Algorithm::EdDSA).expect("keygen"),
            ))
            .clients(clients.store())
            .replay_guard(RedisReplayGuard::new(redis.clone()))
            .throttle(RedisThrottle::new(redis.clone(), limits))
            .build()
            .expect("issuer");
        let app = Router::new().route_service(
            "/oauth2/token",
            ClientCredentialsTokenService::new(issuer.clone()),
        );
        let base = serve_with_connect_info(app).await;
        Instance {
            url: format!("{base}/oauth2/token"),
            http: http(),
            issuer,
        }
    }

    async fn post(&self, authorization: Option<&str>, body: String) -> Reply {
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", FORM)
            .body(body);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        Reply::read(request.send().await.expect("request")).await
    }

    async fn post_secret(&self, secret: &str) -> Reply {
        self.post(Some(&basic(EXPORTER, secret)), GRANT.to_owned())
            .await
    }

    async fn post_assertion(&self, assertion: &str) -> Reply {
        let body = format!(
            "{GRANT}&client_assertion_type={}&client_assertion={}",
            urlencode(JWT_BEARER_ASSERTION),
            urlencode(assertion)
        );
        self.post(None, body).await
    }
}

fn invalid_client() -> Reply {
    Reply::error(401, "invalid_client", "client authentication failed")
}

fn invalid_client_basic() -> Reply {
    invalid_client().with_header("www-authenticate", r#"Basic realm="token""#)
}

fn replay_guard_unavailable() -> Reply {
    Reply::error(
        503,
        "temporarily_unavailable",
        "the replay guard is unavailable",
    )
}

/// A 429 whose `Retry-After` is within the window; returns it.
fn assert_throttled(reply: &Reply, window: u64) -> u64 {
    assert_eq!(reply.status, 429, "{}", reply.body);
    let retry_after: u64 = reply
        .headers
        .iter()
        .find(|(name, _)| name == "retry-after")
        .map(|(_, value)| value.parse().expect("seconds"))
        .expect("Retry-After");
    assert!((1..=window).contains(&retry_after), "{retry_after}");
    retry_after
}

/// A TCP proxy to Redis that the test can cut (every connection closed, new ones refused at
/// once) and restore, on the same address.
struct Proxy {
    url: String,
    up: watch::Sender<bool>,
}

impl Proxy {
    async fn to(target_url: &str) -> Self {
        let target = target_url
            .trim_start_matches("redis://")
            .split('/')
            .next()
            .expect("host:port")
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("redis://{}", listener.local_addr().expect("addr"));
        let (up, watcher) = watch::channel(true);
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !*watcher.borrow() {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let mut down = watcher.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { url, up }
    }

    fn cut(&self) {
        self.up.send_replace(false);
    }

    fn restore(&self) {
        self.up.send_replace(true);
    }
}

/// Polls `check` every 50 ms for up to `within`.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// --- replay guard ----------------------------------------------------------------------------

#[tokio::test]
async fn an_assertion_used_on_one_instance_is_refused_on_the_other() {
    let Some(redis) = redis("an_assertion_used_on_one_instance_is_refused_on_the_other").await
    else {
        return;
    };
    let clients = Clients::new();
    let a = Instance::start(&clients, &redis, ThrottleLimits::default()).await;
    let b = Instance::start(&clients, &redis, ThrottleLimits::default()).await;
    let assertion = clients.assertion("shared-once");
    assert_eq!(
        a.post_assertion(&assertion).await.token()["scope"],
        "invoices:read"
    );
    assert_eq!(b.post_assertion(&assertion).await, invalid_client());
    assert_eq!(a.post_assertion(&assertion).await, invalid_client());
    // Another jti is another assertion.
    let other = clients.assertion("shared-twice");
    assert_eq!(
        b.post_assertion(&other).await.token()["scope"],
        "invoices:read"
    );
}

#[tokio::test]
async fn redis_down_refuses_assertions_with_503_and_recovers() {
    let Some(redis) = redis("redis_down_refuses_assertions_with_503_and_recovers").await else {
        return;
    };
    let url = std::env::var("TEST_REDIS_URL").expect("set");
    let proxy = Proxy::to(&url).await;
    let through = RedisConnection::open(&proxy.url)
        .expect("url")
        .with_prefix(redis.prefix().to_owned());
    let clients = Clients::new();
    let a = Instance::start(&clients, &through, ThrottleLimits::default()).await;
    let b = Instance::start(&clients, &redis, ThrottleLimits::default()).await;

    let before = clients.assertion("before-outage");
    assert_eq!(a.post_assertion(&before).await.status, 200);

    proxy.cut();
    let during = clients.assertion("during-outage");
    assert_eq!(a.post_assertion(&during).await, replay_guard_unavailable());
    // A secret does not need the guard.
    assert_eq!(a.post_secret(&clients.secret).await.status, 200);
    // The refused assertion was not recorded: it still works where Redis answers.
    assert_eq!(b.post_assertion(&during).await.status, 200);

    proxy.restore();
    let after = clients.assertion("after-outage");
    let recovered = eventually(Duration::from_secs(10), || async {
        a.post_assertion(&after).await.status == 200
    })
    .await;
    assert!(recovered, "the guard did not recover");
    // And it remembers across instances again.
    assert_eq!(b.post_assertion(&after).await, invalid_client());
    assert_eq!(a.post_assertion(&before).await, invalid_client());
}

// --- throttle --------------------------------------------------------------------------------

#[tokio::test]
async fn ten_wrong_secrets_on_one_instance_lock_the_client_out_on_the_other() {
    let Some(redis) =
        redis("ten_wrong_secrets_on_one_instance_lock_the_client_out_on_the_other").await
    else {
        return;
    };
    let clients = Clients::new();
    let a = Instance::start(&clients, &redis, ThrottleLimits::default()).await;
    let b = Instance::start(&clients, &redis, ThrottleLimits::default()).await;
    for _ in 0..10 {
        assert_eq!(a.post_secret("wrong").await, invalid_client_basic());
    }
    // Refused without checking, even the right secret, on the other instance.
    let reply = b.post_secret(&clients.secret).await;
    let retry_after = assert_throttled(&reply, 60);
    assert_eq!(
        reply,
        Reply::error(
            429,
            "temporarily_unavailable",
            "too many failed client authentications"
        )
        .with_header("retry-after", &retry_after.to_string())
    );
    assert_throttled(&a.post_secret(&clients.secret).await, 60);
}

#[tokio::test]
async fn a_success_clears_the_shared_count() {
    let Some(redis) = redis("a_success_clears_the_shared_count").await else {
        return;
    };
    let clients = Clients::new();
    let limits = ThrottleLimits::default().with_client_failures(3);
    let a = Instance::start(&clients, &redis, limits).await;
    let b = Instance::start(&clients, &redis, limits).await;
    assert_eq!(a.post_secret("wrong").await, invalid_client_basic());
    assert_eq!(b.post_secret("wrong").await, invalid_client_basic());
    assert_eq!(b.post_secret(&clients.secret).await.status, 200);
    assert_eq!(a.post_secret("wrong").await, invalid_client_basic());
    assert_eq!(b.post_secret("wrong").await, invalid_client_basic());
    // Two failures since the success: not locked.
    assert_eq!(a.post_secret(&clients.secret).await.status, 200);
}

#[tokio::test]
async fn redis_down_the_throttle_limits_in_memory_and_recovers() {
    let Some(redis) = redis("redis_down_the_throttle_limits_in_memory_and_recovers").await else {
        return;
    };
    let url = std::env::var("TEST_REDIS_URL").expect("set");
    let proxy = Proxy::to(&url).await;
    let through = RedisConnection::open(&proxy.url)
        .expect("url")
        .with_prefix(redis.prefix().to_owned());
    let clients = Clients::new();
    let limits = ThrottleLimits::default().with_client_failures(3);
    let a = Instance::start(&clients, &through, limits).await;
    let b = Instance::start(&clients, &redis, limits).await;

    proxy.cut();
    for _ in 0..3 {
        assert_eq!(a.post_secret("wrong").await, invalid_client_basic());
    }
    // Still limiting, in A's memory only: B never saw those failures.
    assert_throttled(&a.post_secret(&clients.secret).await, 60);
    assert_eq!(b.post_secret(&clients.secret).await.status, 200);

    proxy.restore();
    // Back on Redis: failures on A count on B again (an unknown id counts like a known one).
    let mut round = 0;
    let shared = eventually(Duration::from_secs(10), || {
        round += 1;
        let id = format!("unknown-{round}");
        let (a, b) = (&a, &b);
        async move {
            for _ in 0..3 {
                a.post(Some(&basic(&id, "wrong")), GRANT.to_owned()).await;
            }
            b.post(Some(&basic(&id, "wrong")), GRANT.to_owned())
                .await
                .status
                == 429
        }
    })
    .await;
    assert!(shared, "the throttle did not go back to Redis");
    // The lock-out made in memory during the outage still holds on A.
    assert_throttled(&a.post_secret(&clients.secret).await, 60);
}

// --- credential-cache invalidation -----------------------------------------------------------

impl Instance {
    /// Grants the operator a token with its (Argon2id) password.
    async fn grant_operator(&self) {
        let reply = self
            .post(Some(&basic(OPERATOR, PASSWORD)), GRANT.to_owned())
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    fn cached_credentials(&self) -> usize {
        self.issuer.credential_cache_stats().entries
    }
}

#[tokio::test]
async fn a_forget_published_on_one_instance_empties_the_cache_of_the_other() {
    let Some(redis) =
        redis("a_forget_published_on_one_instance_empties_the_cache_of_the_other").await
    else {
        return;
    };
    let clients = Clients::new();
    let a = Instance::start(&clients, &redis, ThrottleLimits::default()).await;
    let b = Instance::start(&clients, &redis, ThrottleLimits::default()).await;
    let invalidation = CredentialInvalidation::new(redis.clone());
    let listener_a = invalidation.listen(a.issuer.clone());
    let listener_b = invalidation.listen(b.issuer.clone());
    listener_a.subscribed().await;
    listener_b.subscribed().await;

    a.grant_operator().await;
    b.grant_operator().await;
    assert_eq!((a.cached_credentials(), b.cached_credentials()), (1, 1));
    // Another client's message leaves it.
    assert_eq!(invalidation.publish_forget(EXPORTER).await, Ok(2));
    assert_eq!(invalidation.publish_forget(OPERATOR).await, Ok(2));
    let forgotten = eventually(Duration::from_secs(2), || async {
        a.cached_credentials() == 0 && b.cached_credentials() == 0
    })
    .await;
    assert!(forgotten, "the forget did not reach both instances");

    b.grant_operator().await;
    assert_eq!(invalidation.publish_forget_all().await, Ok(2));
    assert!(
        eventually(Duration::from_secs(2), || async {
            b.cached_credentials() == 0
        })
        .await
    );

    // A dropped listener no longer listens.
    drop(listener_a);
    assert!(
        eventually(Duration::from_secs(2), || async {
            invalidation.publish_forget(OPERATOR).await == Ok(1)
        })
        .await
    );
}

#[tokio::test]
async fn a_listener_that_lost_its_subscription_forgets_everything_when_it_is_back() {
    let Some(redis) =
        redis("a_listener_that_lost_its_subscription_forgets_everything_when_it_is_back").await
    else {
        return;
    };
    let url = std::env::var("TEST_REDIS_URL").expect("set");
    let proxy = Proxy::to(&url).await;
    let through = RedisConnection::open(&proxy.url)
        .expect("url")
        .with_prefix(redis.prefix().to_owned());
    let clients = Clients::new();
    let a = Instance::start(&clients, &redis, ThrottleLimits::default()).await;
    let listener = CredentialInvalidation::new(through).listen(a.issuer.clone());
    listener.subscribed().await;

    proxy.cut();
    assert!(
        eventually(Duration::from_secs(2), || async {
            !listener.is_subscribed()
        })
        .await
    );
    a.grant_operator().await;
    assert_eq!(a.cached_credentials(), 1);
    // A message it cannot get.
    let published = CredentialInvalidation::new(redis.clone())
        .publish_forget(OPERATOR)
        .await;
    assert_eq!(published, Ok(0));

    proxy.restore();
    tokio::time::timeout(Duration::from_secs(10), listener.subscribed())
        .await
        .expect("subscribed again");
    assert_eq!(a.cached_credentials(), 0);
}

// --- outbound shared tier ------------------------------------------------------------------

/// A token endpoint that counts its requests and answers each after `delay` with a new token
/// living five minutes.
async fn counting_token_endpoint(delay: Duration) -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let app = Router::new().route(
        "/token",
        axum::routing::post(move || {
            let seen = seen.clone();
            async move {
                let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(delay).await;
                axum::Json(json!({
                    "access_token": format!("token-{n}"),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "scope": "reports:read",
                }))
            }
        }),
    );
    (format!("{}/token", common::serve(app).await), count)
}

fn outbound_client(endpoint: &str) -> ClientCredentials {
    ClientCredentials::builder()
        .token_endpoint(endpoint)
        .client_id("billing")
        .client_secret("not-sent-to-redis")
        .scope("reports:read")
        .allow_http()
        .build()
        .expect("client")
}

/// A source with the shared tier on `redis`, as one instance would build it.
fn shared_source(endpoint: &str, redis: &RedisConnection) -> CachedTokenSource {
    CachedTokenSource::builder(outbound_client(endpoint))
        .shared(RedisTokenCache::new(redis.clone()))
        .build()
}

/// Forty concurrent callers on each of `sources`; every token they got.
async fn many_callers(sources: &[CachedTokenSource]) -> Vec<Result<String, TokenSourceError>> {
    let calls: Vec<_> = sources
        .iter()
        .flat_map(|source| {
            (0..40).map(move |_| {
                let source = source.clone();
                tokio::spawn(async move { source.token().await.map(|t| t.secret().to_owned()) })
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for call in calls {
        tokens.push(call.await.expect("task"));
    }
    tokens
}

#[tokio::test]
async fn two_instances_sharing_the_redis_tier_make_one_token_request() {
    let Some(redis) = redis("two_instances_sharing_the_redis_tier_make_one_token_request").await
    else {
        return;
    };
    let (endpoint, count) = counting_token_endpoint(Duration::from_millis(200)).await;
    let sources = [
        shared_source(&endpoint, &redis),
        shared_source(&endpoint, &redis),
    ];
    let tokens = many_callers(&sources).await;
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert!(tokens.iter().all(|t| t.as_deref() == Ok("token-1")));
    // A third instance started later finds it too, and keeps the expiry and scope.
    let late = shared_source(&endpoint, &redis);
    let token = late.token().await.expect("token");
    assert_eq!(token.secret(), "token-1");
    assert_eq!(token.scope(), Some("reports:read"));
    assert_eq!(
        token.expires_at(),
        sources[0].token().await.expect("held").expires_at()
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
    // The key names no secret and no token; only the token's value holds it.
    let mut conn = redis.manager();
    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg(format!("{}*", redis.prefix()))
        .query_async(&mut conn)
        .await
        .expect("keys");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(!keys[0].contains("not-sent-to-redis") && !keys[0].contains("billing"));
}

#[tokio::test]
async fn a_token_refused_with_401_is_not_served_again_from_the_shared_tier() {
    let Some(redis) =
        redis("a_token_refused_with_401_is_not_served_again_from_the_shared_tier").await
    else {
        return;
    };
    let (endpoint, count) = counting_token_endpoint(Duration::ZERO).await;
    let a = shared_source(&endpoint, &redis);
    let b = shared_source(&endpoint, &redis);
    let first = a.token().await.expect("token");
    assert_eq!(b.token().await.expect("token").secret(), "token-1");
    let renewed = a.renew(&first).await.expect("renewed");
    assert_eq!(renewed.secret(), "token-2");
    // The other instance picks the new one up when it is refused the old one.
    let held = b.token().await.expect("token");
    assert_eq!(b.renew(&held).await.expect("renewed").secret(), "token-2");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn redis_down_each_instance_fetches_its_own_token_and_recovers() {
    let Some(redis) = redis("redis_down_each_instance_fetches_its_own_token_and_recovers").await
    else {
        return;
    };
    let url = std::env::var("TEST_REDIS_URL").expect("set");
    let proxy = Proxy::to(&url).await;
    let through = RedisConnection::open(&proxy.url)
        .expect("url")
        .with_prefix(redis.prefix().to_owned());
    let (endpoint, count) = counting_token_endpoint(Duration::from_millis(100)).await;

    proxy.cut();
    let sources = [
        shared_source(&endpoint, &through),
        shared_source(&endpoint, &through),
    ];
    let tokens = many_callers(&sources).await;
    assert!(tokens.iter().all(Result::is_ok), "{tokens:?}");
    // Single flight still holds per instance.
    assert_eq!(count.load(Ordering::SeqCst), 2);

    proxy.restore();
    let recovered = eventually(Duration::from_secs(10), || async {
        through.ping().await.is_ok()
    })
    .await;
    assert!(recovered);
    let before = count.load(Ordering::SeqCst);
    let sources = [
        shared_source(&endpoint, &through),
        shared_source(&endpoint, &through),
    ];
    let tokens = many_callers(&sources).await;
    assert!(tokens.iter().all(Result::is_ok), "{tokens:?}");
    assert_eq!(count.load(Ordering::SeqCst), before + 1);
}
