//! The outbound client over real HTTP: `CachedTokenSource` and `TokenSources` against the
//! crate's own token service on 127.0.0.1, behind a scripted layer that counts the token
//! requests and can answer 500, 429 or late.

mod common;

use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::issue::{decode_segment, scopes};
use common::*;
use http::StatusCode;
use serde_json::json;
use tower_client_credentials::clients::{AuthMethod, Client, ClientSecret, MemoryClientStore};
use tower_client_credentials::issue::{
    ClientCredentialsTokenService, TokenIssuer, discovery_routes,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};
use tower_client_credentials::outbound::{
    CachedTokenSource, ClientConfigError, ClientCredentials, SecretMethod, TokenSource,
    TokenSourceError, TokenSources,
};
use tower_client_credentials::time::ManualClock;
use tower_client_credentials::token_endpoint::OAuthErrorCode;

const CLIENT: &str = "svc";
const JWT_CLIENT: &str = "svc-jwt";

/// What the scripted layer does with the next token request.
#[derive(Clone, Debug)]
enum Answer {
    /// Answer this status with a plain-text body.
    Status(u16),
    /// 429 `temporarily_unavailable` with `Retry-After: {0}`.
    RateLimited(u64),
    /// Pass it on after this delay.
    Delay(Duration),
}

#[derive(Default)]
struct Script {
    requests: AtomicUsize,
    queue: Mutex<VecDeque<Answer>>,
    /// Answers every request, once the queue is empty.
    always: Mutex<Option<Answer>>,
    /// The form bodies received, in order.
    forms: Mutex<Vec<String>>,
    /// When each request arrived.
    arrivals: Mutex<Vec<Instant>>,
}

impl Script {
    fn then(&self, answers: impl IntoIterator<Item = Answer>) {
        self.queue.lock().unwrap().extend(answers);
    }

    fn always(&self, answer: Option<Answer>) {
        *self.always.lock().unwrap() = answer;
    }

    fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn forms(&self) -> Vec<String> {
        self.forms.lock().unwrap().clone()
    }
}

async fn scripted(State(script): State<Arc<Script>>, request: Request, next: Next) -> Response {
    script.requests.fetch_add(1, Ordering::SeqCst);
    script.arrivals.lock().unwrap().push(Instant::now());
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap();
    script
        .forms
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&bytes).into_owned());
    let answer = {
        let next = script.queue.lock().unwrap().pop_front();
        next.or_else(|| script.always.lock().unwrap().clone())
    };
    match answer {
        Some(Answer::Status(status)) => (
            StatusCode::from_u16(status).unwrap(),
            "the token service is having a bad day",
        )
            .into_response(),
        Some(Answer::RateLimited(seconds)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("retry-after", seconds.to_string()),
                ("content-type", "application/json".to_owned()),
            ],
            r#"{"error":"temporarily_unavailable","error_description":"slow down"}"#,
        )
            .into_response(),
        Some(Answer::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        None => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    }
}

struct TokenServer {
    base: String,
    secret: String,
    jwt_key: SigningKey,
    script: Arc<Script>,
    server: tokio::task::JoinHandle<()>,
}

impl TokenServer {
    fn token_endpoint(&self) -> String {
        format!("{}/oauth2/token", self.base)
    }

    /// A client for `svc` with its secret, sent as `method`.
    fn client(&self, method: SecretMethod) -> ClientCredentials {
        ClientCredentials::builder()
            .token_endpoint(self.token_endpoint())
            .client_id(CLIENT)
            .client_secret(self.secret.clone())
            .secret_method(method)
            .scope("reports:read")
            .http_client(no_pool())
            .build()
            .expect("client")
    }
}

/// A client that keeps no idle connection, so a stopped server is really unreachable.
fn no_pool() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .expect("reqwest client")
}

/// The crate's issuer (its `iss` is its own URL) with two clients: `svc` (a secret, Basic or
/// post) and `svc-jwt` (private_key_jwt), tokens living `ttl`.
async fn token_server(ttl: Duration) -> TokenServer {
    let (listener, base) = listen().await;
    let (plain, stored) = ClientSecret::generate();
    let jwt_key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let clients = MemoryClientStore::new()
        .with_client(
            Client::builder(CLIENT)
                .secret(stored)
                .auth_methods([AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost])
                .allowed_scopes(scopes("reports:read reports:write"))
                .audiences([AUDIENCE])
                .build()
                .expect("client"),
        )
        .with_client(
            Client::builder(JWT_CLIENT)
                .auth_methods([AuthMethod::PrivateKeyJwt])
                .keys([jwt_key.verifying_key().clone()])
                .allowed_scopes(scopes("reports:read"))
                .audiences([AUDIENCE])
                .build()
                .expect("client"),
        );
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).expect("keygen"));
    let issuer = TokenIssuer::builder()
        .issuer(base.clone())
        .keys(ring)
        .clients(clients)
        .default_ttl(ttl)
        .max_ttl(ttl)
        .scopes_supported(["reports:read", "reports:write"])
        .build()
        .expect("issuer");
    let script = Arc::new(Script::default());
    let app = Router::new()
        .route_service(
            "/oauth2/token",
            ClientCredentialsTokenService::new(issuer.clone()),
        )
        .route_layer(from_fn_with_state(script.clone(), scripted))
        .merge(discovery_routes(&issuer));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    TokenServer {
        base,
        secret: plain.expose().to_owned(),
        jwt_key,
        script,
        server,
    }
}

/// Waits (up to 5 s) until `script` has seen `n` requests.
async fn until_count(script: &Script, n: usize) {
    for _ in 0..500 {
        if script.count() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {n} token requests, saw {}", script.count());
}

#[tokio::test]
async fn a_hundred_concurrent_callers_on_a_cold_cache_cause_one_token_request() {
    let server = token_server(Duration::from_secs(300)).await;
    server
        .script
        .then([Answer::Delay(Duration::from_millis(300))]);
    let source = CachedTokenSource::new(server.client(SecretMethod::Basic));
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(caller.await.unwrap().expect("token"));
    }
    assert_eq!(server.script.count(), 1);
    assert!(tokens.iter().all(|t| t.secret() == tokens[0].secret()));
    let claims = decode_segment(tokens[0].secret(), 1);
    assert_eq!(claims["client_id"], CLIENT);
    assert_eq!(claims["scope"], "reports:read");
    assert_eq!(tokens[0].scope(), Some("reports:read"));
    // Cached from now on.
    let again = source.token().await.expect("token");
    assert_eq!(again.secret(), tokens[0].secret());
    assert_eq!(server.script.count(), 1);
}

#[tokio::test]
async fn tokens_are_refreshed_early_and_an_expired_token_is_never_served() {
    let server = token_server(Duration::from_secs(100)).await;
    let time = ManualClock::new(1_900_000_000);
    let source = CachedTokenSource::builder(server.client(SecretMethod::Post))
        .clock(time.clock())
        .retry_deadline(Duration::from_secs(2))
        .backoff(Duration::from_millis(50), Duration::from_millis(100))
        .build();
    let first = source.token().await.expect("token");
    // 100 s lifetime: refreshed min(60 s, 50 s) = 50 s before it expires.
    assert_eq!(first.expires_at(), 1_900_000_100);
    assert_eq!(first.refresh_at(), 1_900_000_050);
    time.advance(Duration::from_secs(49));
    assert_eq!(source.token().await.unwrap().secret(), first.secret());
    assert_eq!(server.script.count(), 1);

    // Due: the held token is still handed out at once while one background fetch runs.
    time.advance(Duration::from_secs(1));
    assert_eq!(source.token().await.unwrap().secret(), first.secret());
    until_count(&server.script, 2).await;
    let mut second = source.token().await.unwrap();
    for _ in 0..100 {
        if second.secret() != first.secret() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        second = source.token().await.unwrap();
    }
    assert_ne!(second.secret(), first.secret());
    assert_eq!(second.expires_at(), 1_900_000_150);
    assert_eq!(server.script.count(), 2);

    // The endpoint fails from now on. In the refresh window the held token is still served.
    server.script.always(Some(Answer::Status(500)));
    time.advance(Duration::from_secs(60)); // 1_900_000_110: due at 100, expires at 150
    assert_eq!(source.token().await.unwrap().secret(), second.secret());
    until_count(&server.script, 3).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(source.token().await.unwrap().secret(), second.secret());

    // At its expiry it is never served: the caller gets the failure.
    time.set(1_900_000_150);
    let error = source
        .token()
        .await
        .expect_err("expired token must not be served");
    assert_eq!(error, TokenSourceError::Status(500));
    time.set(1_900_000_500);
    assert_eq!(
        source.token().await.unwrap_err(),
        TokenSourceError::Status(500)
    );
}

#[tokio::test]
async fn transient_failures_are_retried_and_refusals_are_not() {
    let server = token_server(Duration::from_secs(300)).await;
    // 500 twice, then the token.
    server
        .script
        .then([Answer::Status(500), Answer::Status(500)]);
    let source = CachedTokenSource::builder(server.client(SecretMethod::Basic))
        .backoff(Duration::from_millis(20), Duration::from_millis(40))
        .build();
    source.token().await.expect("token after two 500s");
    assert_eq!(server.script.count(), 3);

    // 429 with Retry-After: 1 is honoured.
    let source = CachedTokenSource::builder(server.client(SecretMethod::Basic))
        .backoff(Duration::from_millis(20), Duration::from_millis(40))
        .build();
    server.script.then([Answer::RateLimited(1)]);
    let started = Instant::now();
    source.token().await.expect("token after a 429");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let arrivals = server.script.arrivals.lock().unwrap().clone();
    let gap = arrivals[4] - arrivals[3];
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    assert_eq!(server.script.count(), 5);

    // A Retry-After beyond the deadline is not waited for.
    let source = CachedTokenSource::builder(server.client(SecretMethod::Basic))
        .retry_deadline(Duration::from_secs(2))
        .build();
    server.script.then([Answer::RateLimited(30)]);
    let error = source.token().await.unwrap_err();
    assert_eq!(
        error,
        TokenSourceError::RateLimited {
            retry_after: Some(Duration::from_secs(30))
        }
    );
    assert_eq!(server.script.count(), 6);

    // invalid_client: no retry, a typed error.
    let wrong = ClientCredentials::builder()
        .token_endpoint(server.token_endpoint())
        .client_id(CLIENT)
        .client_secret("not-the-secret")
        .build()
        .unwrap();
    let error = CachedTokenSource::new(wrong).token().await.unwrap_err();
    let TokenSourceError::Refused {
        status,
        error: oauth,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        (*status, oauth.code()),
        (401, &OAuthErrorCode::InvalidClient)
    );
    assert!(!error.is_transient());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.script.count(), 7);

    // invalid_scope: no retry either.
    let greedy = server
        .client(SecretMethod::Basic)
        .with_scope("admin")
        .unwrap();
    let error = CachedTokenSource::new(greedy).token().await.unwrap_err();
    assert_eq!(
        error.oauth_error().map(|e| e.code()),
        Some(&OAuthErrorCode::InvalidScope)
    );
    assert_eq!(server.script.count(), 8);

    // A failure is not cached: the next call asks again, and gets the token. (The first
    // backoff, 2.5–5 s, is past the 2 s deadline: one request, then the error.)
    server.script.then([Answer::Status(503)]);
    let source = CachedTokenSource::builder(server.client(SecretMethod::Basic))
        .retry_deadline(Duration::from_secs(2))
        .backoff(Duration::from_secs(5), Duration::from_secs(5))
        .build();
    assert_eq!(
        source.token().await.unwrap_err(),
        TokenSourceError::Status(503)
    );
    source.token().await.expect("the next call fetches again");
    assert_eq!(server.script.count(), 10);
}

#[tokio::test]
async fn a_valid_cached_token_is_served_while_the_endpoint_is_down() {
    let server = token_server(Duration::from_secs(100)).await;
    let time = ManualClock::new(1_900_000_000);
    let source = CachedTokenSource::builder(server.client(SecretMethod::Basic))
        .clock(time.clock())
        .retry_deadline(Duration::from_millis(300))
        .build();
    let held = source.token().await.expect("token");
    server.server.abort();
    let _ = (&mut { server.server }).await;
    // Due for refresh, still valid: the refresh fails, the held token is served.
    time.advance(Duration::from_secs(70));
    for _ in 0..5 {
        assert_eq!(source.token().await.unwrap().secret(), held.secret());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Expired, and the endpoint still down: an error, never the expired token.
    time.advance(Duration::from_secs(30));
    let error = source.token().await.unwrap_err();
    assert!(
        matches!(error, TokenSourceError::Connect | TokenSourceError::Timeout),
        "{error:?}"
    );
}

#[tokio::test]
async fn two_scope_sets_get_two_tokens_that_never_swap() {
    let server = token_server(Duration::from_secs(300)).await;
    server.script.then([
        Answer::Delay(Duration::from_millis(200)),
        Answer::Delay(Duration::from_millis(100)),
    ]);
    let sources = TokenSources::new();
    let base = server.client(SecretMethod::Basic);
    let read = base.with_scope("reports:read").unwrap();
    let write = base.with_scope("reports:write reports:read").unwrap();
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let sources = sources.clone();
            let client = if i % 2 == 0 {
                read.clone()
            } else {
                write.clone()
            };
            tokio::spawn(async move {
                let token = sources.token(&client).await.expect("token");
                (client.scope().to_string(), token)
            })
        })
        .collect();
    for task in tasks {
        let (asked, token) = task.await.unwrap();
        let claims = decode_segment(token.secret(), 1);
        assert_eq!(claims["scope"], asked.as_str());
    }
    assert_eq!(server.script.count(), 2);
    assert_eq!(sources.len(), 2);
    // The same set in another order is the same source.
    let reordered = base.with_scope("reports:read reports:write").unwrap();
    let token = sources.token(&reordered).await.unwrap();
    assert_eq!(
        decode_segment(token.secret(), 1)["scope"],
        "reports:read reports:write"
    );
    assert_eq!((server.script.count(), sources.len()), (2, 2));
}

#[tokio::test]
async fn private_key_jwt_sends_a_new_assertion_for_every_request_and_retry() {
    let server = token_server(Duration::from_secs(300)).await;
    let client = ClientCredentials::builder()
        .token_endpoint(server.token_endpoint())
        .client_id(JWT_CLIENT)
        .private_key_jwt(server.jwt_key.clone())
        .scope("reports:read")
        .build()
        .unwrap();
    server.script.then([Answer::Status(502)]);
    let source = CachedTokenSource::builder(client)
        .backoff(Duration::from_millis(20), Duration::from_millis(40))
        .build();
    let first = source.token().await.expect("token after a retry");
    // A renewal (after a 401) is a third request, with a third assertion; the server's
    // replay guard accepts each.
    let renewed = source.renew(&first).await.expect("renewed");
    assert_ne!(first.secret(), renewed.secret());
    source.invalidate();
    source.token().await.expect("fetched again");
    let forms = server.script.forms();
    assert_eq!(forms.len(), 4);
    let mut jtis = Vec::new();
    for form in &forms {
        let assertion = form
            .split('&')
            .find_map(|pair| pair.strip_prefix("client_assertion="))
            .expect("an assertion in every request");
        assert!(form.contains(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
        ));
        let claims = decode_segment(assertion, 1);
        assert_eq!(claims["iss"], JWT_CLIENT);
        assert_eq!(claims["sub"], JWT_CLIENT);
        assert_eq!(claims["aud"], server.token_endpoint().as_str());
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            60
        );
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
    }
    jtis.sort();
    jtis.dedup();
    assert_eq!(jtis.len(), 4, "every request carries a new jti");
}

#[tokio::test]
async fn renewal_after_a_401_fetches_once_for_all_callers() {
    let server = token_server(Duration::from_secs(300)).await;
    let source = CachedTokenSource::new(server.client(SecretMethod::Basic));
    let refused = source.token().await.unwrap();
    server
        .script
        .then([Answer::Delay(Duration::from_millis(200))]);
    let renewals: Vec<_> = (0..20)
        .map(|_| {
            let (source, refused) = (source.clone(), refused.clone());
            tokio::spawn(async move { source.renew(&refused).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for renewal in renewals {
        tokens.push(renewal.await.unwrap().expect("renewed"));
    }
    assert!(tokens.iter().all(|t| t.secret() == tokens[0].secret()));
    assert_ne!(tokens[0].secret(), refused.secret());
    assert_eq!(server.script.count(), 2);
    // A late caller with the old token gets the renewed one without a new request.
    let late = source.renew(&refused).await.unwrap();
    assert_eq!(late.secret(), tokens[0].secret());
    assert_eq!(server.script.count(), 2);
}

#[tokio::test]
async fn the_token_endpoint_is_discovered_from_the_issuer_metadata() {
    let server = token_server(Duration::from_secs(300)).await;
    let client = ClientCredentials::builder()
        .issuer(server.base.clone())
        .client_id(CLIENT)
        .client_secret(server.secret.clone())
        .build()
        .unwrap();
    let token = CachedTokenSource::new(client).token().await.expect("token");
    assert_eq!(
        decode_segment(token.secret(), 1)["iss"],
        server.base.as_str()
    );
    assert_eq!(server.script.count(), 1);

    // Metadata that names another issuer is refused.
    let impostor = Router::new().route(
        "/.well-known/oauth-authorization-server",
        get(|| async {
            axum::Json(json!({
                "issuer": "https://evil.example",
                "token_endpoint": "https://evil.example/token"
            }))
        }),
    );
    let base = serve(impostor).await;
    let client = ClientCredentials::builder()
        .issuer(base)
        .client_id(CLIENT)
        .client_secret("s")
        .build()
        .unwrap();
    assert_eq!(
        CachedTokenSource::new(client).token().await.unwrap_err(),
        TokenSourceError::Discovery("the metadata names another issuer")
    );
}

#[tokio::test]
async fn a_secret_file_is_read_for_every_token_request() {
    let server = token_server(Duration::from_secs(300)).await;
    let dir = std::env::temp_dir().join(format!("tcc-outbound-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("secret");
    std::fs::write(&path, format!("{}\n", server.secret)).unwrap();
    let client = ClientCredentials::builder()
        .token_endpoint(server.token_endpoint())
        .client_id(CLIENT)
        .client_secret_file(&path)
        .build()
        .unwrap();
    let source = CachedTokenSource::new(client);
    source.token().await.expect("token with the file's secret");
    // The file is rotated (to a wrong secret, here): the next request reads it.
    std::fs::File::create(&path)
        .unwrap()
        .write_all(b"rotated-away")
        .unwrap();
    source.invalidate();
    let error = source.token().await.unwrap_err();
    assert_eq!(
        error.oauth_error().map(|e| e.code()),
        Some(&OAuthErrorCode::InvalidClient)
    );
    std::fs::remove_file(&path).unwrap();
    source.invalidate();
    assert!(matches!(
        source.token().await.unwrap_err(),
        TokenSourceError::Secret(_)
    ));
    // A missing file is refused when the client is built.
    let missing = ClientCredentials::builder()
        .token_endpoint(server.token_endpoint())
        .client_id(CLIENT)
        .client_secret_file(&path)
        .build()
        .unwrap_err();
    assert!(matches!(missing, ClientConfigError::Secret(_)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn from_env_names_the_missing_or_malformed_variable() {
    let vars = |pairs: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    };
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "environment variable OAUTH_CLIENT_ID: missing"),
        (
            &[("OAUTH_CLIENT_ID", "svc")],
            "environment variable OAUTH_CLIENT_SECRET: missing (or set OAUTH_CLIENT_SECRET_FILE)",
        ),
        (
            &[("OAUTH_CLIENT_ID", "svc"), ("OAUTH_CLIENT_SECRET", "s")],
            "environment variable OAUTH_TOKEN_ENDPOINT: missing (or set OAUTH_ISSUER)",
        ),
        (
            &[
                ("OAUTH_CLIENT_ID", "svc"),
                ("OAUTH_CLIENT_SECRET", "s"),
                ("OAUTH_TOKEN_ENDPOINT", "http://auth.example.com/token"),
            ],
            "environment variable OAUTH_TOKEN_ENDPOINT: not an https URL",
        ),
        (
            &[
                ("OAUTH_CLIENT_ID", "svc"),
                ("OAUTH_CLIENT_SECRET", "s"),
                ("OAUTH_ISSUER", "not a url"),
            ],
            "environment variable OAUTH_ISSUER: not an https URL",
        ),
        (
            &[
                ("OAUTH_CLIENT_ID", "svc"),
                ("OAUTH_CLIENT_SECRET", "s"),
                ("OAUTH_TOKEN_ENDPOINT", "https://auth.example.com/token"),
                ("OAUTH_SCOPE", "a \"b"),
            ],
            "environment variable OAUTH_SCOPE: not a space-separated list of scopes",
        ),
        (
            &[
                ("OAUTH_CLIENT_ID", "svc"),
                ("OAUTH_CLIENT_SECRET", "s"),
                ("OAUTH_TOKEN_ENDPOINT", "https://auth.example.com/token"),
                ("OAUTH_RESOURCE", "relative/path"),
            ],
            "environment variable OAUTH_RESOURCE: not a space-separated list of absolute URIs without fragments",
        ),
        (
            &[
                ("OAUTH_CLIENT_ID", "svc"),
                ("OAUTH_CLIENT_SECRET_FILE", "/nonexistent/secret"),
                ("OAUTH_TOKEN_ENDPOINT", "https://auth.example.com/token"),
            ],
            "environment variable OAUTH_CLIENT_SECRET_FILE: the file cannot be read, or is empty",
        ),
        (
            &[
                ("OAUTH_CLIENT_ID", "svc"),
                ("OAUTH_CLIENT_SECRET", "s"),
                ("OAUTH_TOKEN_ENDPOINT", "https://auth.example.com/token"),
                ("OAUTH_TOKEN_ENDPOINT_AUTH_METHOD", "private_key_jwt"),
            ],
            "environment variable OAUTH_TOKEN_ENDPOINT_AUTH_METHOD: must be client_secret_basic or client_secret_post",
        ),
    ];
    for (pairs, want) in cases {
        let error = ClientCredentials::from_vars(vars(pairs)).unwrap_err();
        assert_eq!(error.to_string(), *want);
    }
    let client = ClientCredentials::from_vars(vars(&[
        ("OAUTH_CLIENT_ID", "svc"),
        ("OAUTH_CLIENT_SECRET", "hunter2-secret"),
        ("OAUTH_TOKEN_ENDPOINT", "https://auth.example.com/token"),
        ("OAUTH_SCOPE", "reports:write reports:read"),
        ("OAUTH_RESOURCE", "https://reports.example.com/"),
    ]))
    .expect("client");
    assert_eq!(client.client_id(), "svc");
    assert_eq!(client.scope().to_string(), "reports:read reports:write");
    assert_eq!(client.resources(), ["https://reports.example.com/"]);
    assert!(!format!("{client:?}").contains("hunter2"));
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_and_tokens_never_reach_logs_or_debug_output() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = token_server(Duration::from_secs(300)).await;
    server.script.then([Answer::Status(500)]);
    let basic = CachedTokenSource::builder(server.client(SecretMethod::Basic))
        .backoff(Duration::from_millis(10), Duration::from_millis(20))
        .build();
    let token = basic.token().await.expect("token");
    let post = CachedTokenSource::new(server.client(SecretMethod::Post));
    let other = post.token().await.expect("token");
    let jwt = CachedTokenSource::new(
        ClientCredentials::builder()
            .token_endpoint(server.token_endpoint())
            .client_id(JWT_CLIENT)
            .private_key_jwt(server.jwt_key.clone())
            .build()
            .unwrap(),
    );
    let third = jwt.token().await.expect("token");
    let wrong = ClientCredentials::builder()
        .token_endpoint(server.token_endpoint())
        .client_id(CLIENT)
        .client_secret("wrong-secret-value")
        .build()
        .unwrap();
    let error = CachedTokenSource::new(wrong.clone())
        .token()
        .await
        .unwrap_err();

    let debug = format!(
        "{basic:?} {post:?} {jwt:?} {token:?} {other:?} {third:?} {error:?} {error} {wrong:?} {:?}",
        token.authorization()
    );
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "the retry was logged: {logs}");
    let assertion = server.script.forms()[3].clone();
    for secret in [
        server.secret.as_str(),
        "wrong-secret-value",
        token.secret(),
        other.secret(),
        third.secret(),
        assertion.as_str(),
    ] {
        assert!(!debug.contains(secret), "Debug shows a secret: {debug}");
        assert!(!logs.contains(secret), "a log line shows a secret");
    }
}
