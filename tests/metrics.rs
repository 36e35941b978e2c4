//! The `metrics` feature over real HTTP on 127.0.0.1: each documented counter, with its
//! documented name and labels, recorded by a `DebuggingRecorder` for every outcome the tests
//! cause, and no client id, secret or token in any label.
//!
//! A process has one global recorder: it is installed once, the tests take turns (one lock)
//! and each reads the counters as deltas (a snapshot resets them).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use common::idp::{Behaviour, Idp};
use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::json;
use tower_client_credentials::clients::{AuthMethod, Client, ClientSecret, MemoryClientStore};
use tower_client_credentials::issue::throttle::{MemoryAuthThrottle, ThrottleLimits};
use tower_client_credentials::issue::{ClientCredentialsTokenService, TokenIssuer};
use tower_client_credentials::keys::remote::RemoteKeys;
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::metrics::*;
use tower_client_credentials::outbound::{CachedTokenSource, ClientCredentials, TokenSource};
use tower_client_credentials::time::ManualClock;
use tower_client_credentials::{BearerAuthLayer, Claims, RequireScopeLayer, Validator};

/// A client id and secret no label may ever show.
const CLIENT_ID: &str = "billing-7f3a9c";

/// Counters by name and (sorted) labels.
type Counters = BTreeMap<(String, Vec<(String, String)>), u64>;

static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The counters recorded since the last call (the snapshot resets them).
fn take() -> Counters {
    let snapshotter = SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("the only recorder of this process");
        snapshotter
    });
    let mut counters = Counters::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let DebugValue::Counter(n) = value else {
            panic!("only counters are documented: {key:?}");
        };
        if n == 0 {
            continue;
        }
        let key = key.key();
        let mut labels: Vec<(String, String)> = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        labels.sort();
        *counters.entry((key.name().to_owned(), labels)).or_default() += n;
    }
    counters
}

/// The counters of `name`, by their labels as `key=value,...` (sorted), for exact comparison.
fn of(counters: &Counters, name: &str) -> BTreeMap<String, u64> {
    counters
        .iter()
        .filter(|((n, _), _)| n == name)
        .map(|((_, labels), v)| {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            (labels.join(","), *v)
        })
        .collect()
}

fn expect(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// Every counter has a documented name, documented label keys and documented values, and no
/// label value holds any of `secrets`.
fn assert_documented(counters: &Counters, secrets: &[&str]) {
    for (name, labels) in counters.keys() {
        let allowed: &[(&str, &[&str])] = match name.as_str() {
            BEARER_REQUESTS => &[(OUTCOME, BEARER_OUTCOMES)],
            VERIFY_CACHE_LOOKUPS => &[(OUTCOME, &["hit", "miss"])],
            TOKEN_REQUESTS => &[(AUTH_METHOD, AUTH_METHODS), (OUTCOME, TOKEN_OUTCOMES)],
            THROTTLE_LOCKOUTS => &[(SUBJECT, &["client_id", "peer"])],
            JWKS_FETCHES => &[
                (OUTCOME, JWKS_OUTCOMES),
                (TRIGGER, &["kid_miss", "refresh"]),
            ],
            OUTBOUND_TOKEN_FETCHES => &[(OUTCOME, OUTBOUND_OUTCOMES)],
            OUTBOUND_TOKEN_RETRIES => &[(REASON, &OUTBOUND_OUTCOMES[1..])],
            other => panic!("undocumented metric {other}"),
        };
        let keys: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
        let want: Vec<&str> = allowed.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, want, "{name}");
        for ((_, value), (_, values)) in labels.iter().zip(allowed) {
            assert!(values.contains(&value.as_str()), "{name}: {value}");
            for secret in secrets {
                assert!(!value.contains(secret), "{name}: {value} holds {secret}");
            }
        }
    }
}

async fn whoami(claims: Claims) -> String {
    claims.sub.clone()
}

/// `/api/whoami` (any token), `/api/reports` (`reports:read`) behind `BearerAuthLayer`;
/// `/open` behind an optional layer with a handler that needs claims.
async fn protected_app(validator: Validator) -> String {
    let api = Router::new()
        .route("/api/whoami", get(whoami))
        .route(
            "/api/reports",
            get(whoami).layer(RequireScopeLayer::all(["reports:read"])),
        )
        .layer(BearerAuthLayer::new(validator.clone()));
    let open = Router::new()
        .route("/open", get(whoami))
        .layer(BearerAuthLayer::optional(validator));
    serve(Router::new().merge(api).merge(open)).await
}

fn local_validator(ring: &KeyRing) -> Validator {
    Validator::builder()
        .issuer(ISSUER, KeySource::local(ring.clone()))
        .audience(AUDIENCE)
        .build()
        .expect("validator")
}

async fn get_with(url: String, authorization: Option<&str>) -> u16 {
    let mut request = http().get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.expect("request").status().as_u16()
}

#[tokio::test]
async fn each_bearer_outcome_is_counted_with_its_documented_reason() {
    let _turn = TURN.lock().await;
    let key = SigningKey::generate(Algorithm::EdDSA).expect("key");
    let ring = KeyRing::new(key.clone());
    let base = protected_app(local_validator(&ring)).await;
    take();

    let valid = token(&key, &access_claims(CLIENT_ID, "reports:read"));
    let no_scope = token(&key, &access_claims(CLIENT_ID, ""));
    let now = now();
    let mut expired_claims = access_claims(CLIENT_ID, "reports:read");
    expired_claims["exp"] = json!(now - 3600);
    expired_claims["iat"] = json!(now - 3660);
    let expired = token(&key, &expired_claims);
    let other = SigningKey::generate(Algorithm::EdDSA).expect("key");
    let bad_signature = token(
        &other.clone().with_kid(key.kid()),
        &access_claims(CLIENT_ID, ""),
    );
    let unknown_key = token(
        &other.with_kid("not-a-kid-of-the-issuer"),
        &access_claims(CLIENT_ID, ""),
    );
    let mut audience_claims = access_claims(CLIENT_ID, "");
    audience_claims["aud"] = json!("another-api");
    let wrong_audience = token(&key, &audience_claims);

    let whoami = || format!("{base}/api/whoami");
    let bearer = |t: &str| format!("Bearer {t}");
    assert_eq!(get_with(whoami(), Some(&bearer(&valid))).await, 200);
    assert_eq!(
        get_with(format!("{base}/api/reports"), Some(&bearer(&valid))).await,
        200
    );
    assert_eq!(get_with(whoami(), None).await, 401);
    assert_eq!(get_with(whoami(), Some("Bearer a,b")).await, 400);
    assert_eq!(get_with(whoami(), Some("Bearer not.a.token")).await, 401);
    assert_eq!(get_with(whoami(), Some(&bearer(&expired))).await, 401);
    assert_eq!(get_with(whoami(), Some(&bearer(&bad_signature))).await, 401);
    assert_eq!(get_with(whoami(), Some(&bearer(&unknown_key))).await, 401);
    assert_eq!(
        get_with(whoami(), Some(&bearer(&wrong_audience))).await,
        401
    );
    let reports = format!("{base}/api/reports");
    assert_eq!(get_with(reports, Some(&bearer(&no_scope))).await, 403);
    // The optional layer lets the request through; the extractor refuses it.
    assert_eq!(get_with(format!("{base}/open"), None).await, 401);

    let counters = take();
    assert_eq!(
        of(&counters, BEARER_REQUESTS),
        expect(&[
            ("outcome=anonymous", 1),
            ("outcome=bad_signature", 1),
            ("outcome=expired", 1),
            ("outcome=insufficient_scope", 1),
            ("outcome=invalid_request", 1),
            ("outcome=malformed", 1),
            ("outcome=missing", 2),
            // Both valid requests, and the one without the scope the bearer layer let through.
            ("outcome=ok", 3),
            ("outcome=unknown_key", 1),
            ("outcome=wrong_audience", 1),
        ])
    );
    let secrets = [
        CLIENT_ID,
        valid.as_str(),
        no_scope.as_str(),
        expired.as_str(),
    ];
    assert_documented(&counters, &secrets);
}

#[tokio::test]
async fn the_verified_token_cache_counts_a_miss_then_hits_then_a_miss_after_clearing() {
    let _turn = TURN.lock().await;
    let key = SigningKey::generate(Algorithm::EdDSA).expect("key");
    let validator = local_validator(&KeyRing::new(key.clone()));
    let base = protected_app(validator.clone()).await;
    let valid = token(&key, &access_claims(CLIENT_ID, ""));
    take();

    for _ in 0..3 {
        assert_eq!(
            get_bearer(&format!("{base}/api/whoami"), Some(&valid))
                .await
                .0,
            200
        );
    }
    validator.clear_cache();
    assert_eq!(
        get_bearer(&format!("{base}/api/whoami"), Some(&valid))
            .await
            .0,
        200
    );

    let counters = take();
    assert_eq!(
        of(&counters, VERIFY_CACHE_LOOKUPS),
        expect(&[("outcome=hit", 2), ("outcome=miss", 2)])
    );
    assert_eq!(of(&counters, BEARER_REQUESTS), expect(&[("outcome=ok", 4)]));
    assert_documented(&counters, &[CLIENT_ID, valid.as_str()]);
}

/// A token endpoint on 127.0.0.1 (with the peer address) for `CLIENT_ID` and its secret, a
/// client-id lock-out after `client_failures` failures; returns its base URL and the secret.
async fn token_server(client_failures: u32) -> (String, String) {
    let (plain, stored) = ClientSecret::generate();
    let clients = MemoryClientStore::new().with_client(
        Client::builder(CLIENT_ID)
            .secret(stored)
            .auth_methods([AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost])
            .audiences([AUDIENCE])
            .build()
            .expect("client"),
    );
    let (listener, base) = listen().await;
    let issuer = TokenIssuer::builder()
        .issuer(base.clone())
        .keys(KeyRing::new(
            SigningKey::generate(Algorithm::EdDSA).expect("key"),
        ))
        .clients(clients)
        .throttle(MemoryAuthThrottle::new(
            ThrottleLimits::default().with_client_failures(client_failures),
        ))
        .build()
        .expect("issuer");
    let app =
        Router::new().route_service("/oauth2/token", ClientCredentialsTokenService::new(issuer));
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, service).await.expect("server runs");
    });
    (base, plain.expose().to_owned())
}

async fn token_status(request: reqwest::RequestBuilder) -> u16 {
    request
        .send()
        .await
        .expect("token request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn grants_and_refusals_are_counted_by_auth_method_and_error_code() {
    let _turn = TURN.lock().await;
    let (base, secret) = token_server(10).await;
    let url = format!("{base}/oauth2/token");
    let grant = [("grant_type", "client_credentials")];
    take();

    let http = http();
    let basic = |s: &str| http.post(&url).basic_auth(CLIENT_ID, Some(s.to_owned()));
    assert_eq!(token_status(basic(&secret).form(&grant)).await, 200);
    let post_form = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", secret.as_str()),
    ];
    assert_eq!(token_status(http.post(&url).form(&post_form)).await, 200);
    assert_eq!(
        token_status(basic("not-the-secret").form(&grant)).await,
        401
    );
    assert_eq!(token_status(http.post(&url).form(&grant)).await, 401);
    let password = [("grant_type", "password")];
    assert_eq!(token_status(basic(&secret).form(&password)).await, 400);
    assert_eq!(token_status(http.get(&url)).await, 405);

    let counters = take();
    assert_eq!(
        of(&counters, TOKEN_REQUESTS),
        expect(&[
            ("auth_method=client_secret_basic,outcome=invalid_client", 1),
            ("auth_method=client_secret_basic,outcome=ok", 1),
            (
                "auth_method=client_secret_basic,outcome=unsupported_grant_type",
                1
            ),
            ("auth_method=client_secret_post,outcome=ok", 1),
            ("auth_method=none,outcome=invalid_client", 1),
            ("auth_method=unknown,outcome=method_not_allowed", 1),
        ])
    );
    assert_eq!(of(&counters, THROTTLE_LOCKOUTS), expect(&[]));
    assert_documented(&counters, &[CLIENT_ID, &secret, "127.0.0.1"]);
}

#[tokio::test]
async fn a_throttle_lock_out_is_counted_once_and_its_refusals_as_too_many_requests() {
    let _turn = TURN.lock().await;
    let (base, secret) = token_server(2).await;
    let url = format!("{base}/oauth2/token");
    let grant = [("grant_type", "client_credentials")];
    take();

    let http = http();
    let wrong = || {
        http.post(&url)
            .basic_auth(CLIENT_ID, Some("not-the-secret"))
            .form(&grant)
    };
    assert_eq!(token_status(wrong()).await, 401);
    assert_eq!(token_status(wrong()).await, 401);
    assert_eq!(token_status(wrong()).await, 429);
    let right = http
        .post(&url)
        .basic_auth(CLIENT_ID, Some(&secret))
        .form(&grant);
    assert_eq!(token_status(right).await, 429);

    let counters = take();
    assert_eq!(
        of(&counters, THROTTLE_LOCKOUTS),
        expect(&[("subject=client_id", 1)])
    );
    assert_eq!(
        of(&counters, TOKEN_REQUESTS),
        expect(&[
            ("auth_method=client_secret_basic,outcome=invalid_client", 2),
            (
                "auth_method=client_secret_basic,outcome=too_many_requests",
                2
            ),
        ])
    );
    assert_documented(&counters, &[CLIENT_ID, &secret, "127.0.0.1"]);
}

#[tokio::test]
async fn jwks_fetches_are_counted_by_trigger_and_outcome() {
    let _turn = TURN.lock().await;
    let idp = Idp::start().await;
    let clock = ManualClock::starting_now();
    let keys = RemoteKeys::jwks_uri(idp.jwks_uri())
        .clock(clock.clock())
        .request_timeout(Duration::from_millis(500))
        .build()
        .expect("keys");
    let validator = Validator::builder()
        .issuer(idp.issuer(), keys.key_source())
        .audience(AUDIENCE)
        .build()
        .expect("validator");
    let base = protected_app(validator).await;
    take();

    tokio::time::timeout(Duration::from_secs(10), keys.ready())
        .await
        .expect("keys load");
    // A key the provider rotated to: an unknown kid, one fetch that finds it.
    let next = idp.rotate();
    let rotated = token(&next, &idp.claims(CLIENT_ID, ""));
    let whoami = format!("{base}/api/whoami");
    assert_eq!(get_bearer(&whoami, Some(&rotated)).await.0, 200);
    // The provider fails; past the cool-down another unknown kid fetches, and fails.
    idp.set(Behaviour::Status(500));
    clock.advance(Duration::from_secs(31));
    let stray = token(
        &next.clone().with_kid("stray-kid"),
        &idp.claims(CLIENT_ID, ""),
    );
    assert_eq!(get_bearer(&whoami, Some(&stray)).await.0, 401);

    let counters = take();
    assert_eq!(
        of(&counters, JWKS_FETCHES),
        expect(&[
            ("outcome=http_error,trigger=kid_miss", 1),
            ("outcome=ok,trigger=kid_miss", 1),
            ("outcome=ok,trigger=refresh", 1),
        ])
    );
    assert_eq!(
        of(&counters, BEARER_REQUESTS),
        expect(&[("outcome=ok", 1), ("outcome=unknown_key", 1)])
    );
    // Neither the issuer URL, the kid nor the token is a label.
    let secrets = [
        CLIENT_ID,
        idp.base(),
        "stray-kid",
        next.kid(),
        rotated.as_str(),
    ];
    assert_documented(&counters, &secrets);
}

#[tokio::test]
async fn outbound_fetches_are_counted_once_each_with_their_retries() {
    let _turn = TURN.lock().await;
    let (base, secret) = token_server(10).await;
    // A token endpoint that answers 500 every time, counting its requests.
    let failures = Arc::new(AtomicUsize::new(0));
    let seen = failures.clone();
    let broken = serve(Router::new().route(
        "/oauth2/token",
        post(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async { (http::StatusCode::INTERNAL_SERVER_ERROR, "down") }
        }),
    ))
    .await;
    let client = |endpoint: String, secret: &str| {
        ClientCredentials::builder()
            .token_endpoint(endpoint)
            .client_id(CLIENT_ID)
            .client_secret(secret.to_owned())
            .build()
            .expect("client")
    };
    take();

    let tokens = CachedTokenSource::new(client(format!("{base}/oauth2/token"), &secret));
    let token = tokens.token().await.expect("token");
    tokens.token().await.expect("the cached token");
    let refused = CachedTokenSource::new(client(format!("{base}/oauth2/token"), "wrong"));
    refused.token().await.expect_err("invalid_client");
    let flaky = CachedTokenSource::builder(client(format!("{broken}/oauth2/token"), &secret))
        .retry_deadline(Duration::from_millis(600))
        .backoff(Duration::from_millis(20), Duration::from_millis(40))
        .build();
    flaky.token().await.expect_err("500 until the deadline");

    let counters = take();
    assert_eq!(
        of(&counters, OUTBOUND_TOKEN_FETCHES),
        expect(&[
            ("outcome=http_error", 1),
            ("outcome=invalid_client", 1),
            ("outcome=ok", 1),
        ])
    );
    let requests = failures.load(Ordering::SeqCst) as u64;
    assert!(requests >= 2, "{requests} requests");
    // Every request to the broken endpoint but the last was retried (or every one, when the
    // last backoff sleep overran the deadline by a hair and the loop ended without another).
    let retries = of(&counters, OUTBOUND_TOKEN_RETRIES);
    let retried = retries.get("reason=http_error").copied().unwrap_or(0);
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert!(
        retried == requests - 1 || retried == requests,
        "{retried} retries of {requests} requests"
    );
    let secrets = [CLIENT_ID, secret.as_str(), token.secret()];
    assert_documented(&counters, &secrets);
}

/// A writer the test's subscriber formats into.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A subscriber that logs span closes (with their fields) into the returned buffer.
fn capture() -> (Captured, impl tracing::Subscriber) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    (captured, subscriber)
}

/// The fields of every closed span named `name`, in order.
fn closed_spans(log: &str, name: &str) -> Vec<String> {
    log.lines()
        .filter(|line| line.contains(": close"))
        .filter_map(|line| line.split_once(&format!("{name}{{"))?.1.split_once('}'))
        .map(|(fields, _)| fields.to_owned())
        .collect()
}

#[tokio::test]
async fn the_outbound_token_fetch_span_names_the_own_client_and_the_outcome() {
    let _turn = TURN.lock().await;
    let (base, secret) = token_server(10).await;
    let (captured, subscriber) = capture();
    let _default = tracing::subscriber::set_default(subscriber);
    let client = ClientCredentials::builder()
        .token_endpoint(format!("{base}/oauth2/token"))
        .client_id(CLIENT_ID)
        .client_secret(secret.clone())
        .build()
        .expect("client");
    let token = CachedTokenSource::new(client).token().await.expect("token");
    take();

    let log = String::from_utf8(captured.0.lock().expect("log lock").clone()).expect("utf-8");
    assert_eq!(
        closed_spans(&log, "outbound_token_fetch"),
        [format!(r#"client_id={CLIENT_ID} outcome="ok""#)],
        "{log}"
    );
    for secret in [secret.as_str(), token.secret()] {
        assert!(!log.contains(secret), "{log}");
    }
}

#[tokio::test]
async fn the_token_request_span_carries_the_documented_fields_and_no_secret() {
    use tower_client_credentials::issue::{ClientAuth, TokenRequest};

    let _turn = TURN.lock().await;
    let (plain, stored) = ClientSecret::generate();
    let secret = plain.expose().to_owned();
    let issuer = TokenIssuer::builder()
        .issuer(ISSUER)
        .keys(KeyRing::new(
            SigningKey::generate(Algorithm::EdDSA).expect("key"),
        ))
        .clients(
            MemoryClientStore::new().with_client(
                Client::builder(CLIENT_ID)
                    .secret(stored)
                    .audiences([AUDIENCE])
                    .build()
                    .expect("client"),
            ),
        )
        .build()
        .expect("issuer");
    let (captured, subscriber) = capture();
    let _default = tracing::subscriber::set_default(subscriber);
    let basic = |secret: &str| ClientAuth::Basic {
        client_id: CLIENT_ID.to_owned(),
        secret: secret.to_owned().into(),
    };
    let granted = issuer
        .issue(basic(&secret), TokenRequest::client_credentials(None))
        .await
        .expect("granted");
    issuer
        .issue(
            basic("not-the-secret"),
            TokenRequest::client_credentials(None),
        )
        .await
        .expect_err("refused");
    take();

    let log = String::from_utf8(captured.0.lock().expect("log lock").clone()).expect("utf-8");
    assert_eq!(
        closed_spans(&log, "token_request"),
        [
            r#"auth_method="client_secret_basic" outcome="ok""#,
            r#"auth_method="client_secret_basic" outcome="invalid_client""#,
        ],
        "{log}"
    );
    for secret in [
        secret.as_str(),
        "not-the-secret",
        granted.access_token.as_str(),
    ] {
        assert!(!log.contains(secret), "{log}");
    }
}
