//! [`MockTokenEndpoint`]: a scripted token endpoint on 127.0.0.1, and its [`MockAnswer`]s.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use tokio::net::TcpListener;
use tokio::sync::watch;
use zeroize::Zeroizing;

use super::TestingError;
use super::answer::{MockAnswer, status_response};
use super::issuer::{TestIssuer, TestIssuerBuilder};
use super::record::RecordedTokenRequest;

/// The path of the token endpoint under the mock's base URL.
const TOKEN_PATH: &str = "/oauth2/token";

/// A token endpoint on 127.0.0.1 for testing code that fetches tokens (the crate's
/// `outbound::ClientCredentials` and `CachedTokenSource`, or any OAuth client).
///
/// It serves, under [`issuer_url`](Self::issuer_url) (`http://127.0.0.1:<port>`):
///
/// - `POST /oauth2/token` ([`url`](Self::url)): the next queued [`MockAnswer`]
///   ([`then`](Self::then)), or the default one ([`set_default`](Self::set_default);
///   [`MockAnswer::issue`] to begin with: a token its [`TestIssuer`] signs for the requesting
///   client and scope). Every request is counted ([`requests`](Self::requests)) and recorded
///   ([`received`](Self::received)) before it is answered.
/// - `GET /.well-known/oauth-authorization-server`: RFC 8414 metadata pointing at it, so
///   clients that discover the endpoint from the issuer URL find it.
/// - `GET /.well-known/jwks.json`: its issuer's public keys.
///
/// Its [`issuer`](Self::issuer) is a [`TestIssuer`] whose `iss` is the base URL, so the API a
/// test calls can trust the tokens the client fetched: `endpoint.issuer().layer()`.
///
/// Dropping it stops the server: it accepts no more connections, closes idle ones, and cuts
/// short any delayed answer (with a 503), so no task outlives the test for long.
///
/// ```
/// use std::time::Duration;
/// use http::StatusCode;
/// use tower_client_credentials::outbound::{CachedTokenSource, ClientCredentials, TokenSource};
/// use tower_client_credentials::testing::{MockAnswer, MockTokenEndpoint};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let endpoint = MockTokenEndpoint::start().await?;
/// endpoint.then(MockAnswer::status(StatusCode::BAD_GATEWAY)); // one 502, then tokens
/// let client = ClientCredentials::builder()
///     .token_endpoint(endpoint.url())
///     .client_id("svc")
///     .client_secret("s3cret")
///     .scope("reports:read")
///     .build()?;
/// let tokens = CachedTokenSource::builder(client)
///     .backoff(Duration::from_millis(10), Duration::from_millis(20))
///     .build();
/// let token = tokens.token().await?;
/// assert_eq!(endpoint.requests(), 2); // the 502 was retried
/// let request = &endpoint.received()[1];
/// assert_eq!(request.client_id(), Some("svc"));
/// assert_eq!(request.auth_method(), Some("client_secret_basic"));
/// let claims = endpoint.issuer().validator().verify(token.secret()).await?;
/// assert_eq!(claims.scope.to_string(), "reports:read");
/// # Ok(()) }
/// ```
pub struct MockTokenEndpoint {
    base: String,
    token_url: String,
    shared: Arc<Shared>,
    /// Dropped with the endpoint: every receiver (the server, delayed answers) wakes.
    _stop: watch::Sender<()>,
}

pub(super) struct Shared {
    pub(super) issuer: TestIssuer,
    queue: Mutex<VecDeque<MockAnswer>>,
    default: Mutex<MockAnswer>,
    received: Mutex<Vec<RecordedTokenRequest>>,
    /// The clients [`MockAnswer::issue`] authenticates, when there are any.
    clients: Mutex<Vec<(String, Zeroizing<String>)>>,
    count: AtomicUsize,
    stop: watch::Receiver<()>,
}

/// Locks `mutex`, whatever a panicking test thread left in it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MockTokenEndpoint {
    /// Starts an endpoint on an ephemeral 127.0.0.1 port, with a [`TestIssuer`] of the
    /// default audience and a new EdDSA key. Call it inside a tokio runtime.
    pub async fn start() -> Result<Self, TestingError> {
        Self::start_with(TestIssuer::builder()).await
    }

    /// Starts an endpoint whose issuer is built from `issuer` (its audience, algorithm, key or
    /// clock); the issuer URL is always the endpoint's base URL.
    pub async fn start_with(issuer: TestIssuerBuilder) -> Result<Self, TestingError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let token_url = format!("{base}{TOKEN_PATH}");
        let issuer = issuer.issuer(base.clone()).build()?;
        let (stop_tx, stop_rx) = watch::channel(());
        let shared = Arc::new(Shared {
            issuer,
            queue: Mutex::new(VecDeque::new()),
            default: Mutex::new(MockAnswer::issue()),
            received: Mutex::new(Vec::new()),
            clients: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
            stop: stop_rx.clone(),
        });
        let metadata = metadata(&base, &token_url);
        let jwks = shared.issuer.jwks().to_json();
        let app = Router::new()
            .route(TOKEN_PATH, post(answer))
            .route(
                "/.well-known/oauth-authorization-server",
                get(move || async move { json(StatusCode::OK, metadata) }),
            )
            .route(
                "/.well-known/jwks.json",
                get(move || async move { json(StatusCode::OK, jwks) }),
            )
            .with_state(shared.clone());
        let mut stop = stop_rx;
        tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.changed().await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::debug!(%error, "the mock token endpoint stopped");
            }
        });
        Ok(MockTokenEndpoint {
            base,
            token_url,
            shared,
            _stop: stop_tx,
        })
    }

    /// The token endpoint URL (`http://127.0.0.1:<port>/oauth2/token`).
    pub fn url(&self) -> &str {
        &self.token_url
    }

    /// The issuer URL (`http://127.0.0.1:<port>`), where the RFC 8414 metadata is served.
    pub fn issuer_url(&self) -> &str {
        &self.base
    }

    /// The issuer that signs the [`MockAnswer::issue`] tokens: its
    /// [`validator`](TestIssuer::validator) and [`layer`](TestIssuer::layer) trust them.
    pub fn issuer(&self) -> &TestIssuer {
        &self.shared.issuer
    }

    /// Queues `answer` for the next request not yet answered by an earlier queued one.
    pub fn then(&self, answer: MockAnswer) -> &Self {
        lock(&self.shared.queue).push_back(answer);
        self
    }

    /// The answer for every request once the queue is empty (initially
    /// [`MockAnswer::issue`]).
    pub fn set_default(&self, answer: MockAnswer) {
        *lock(&self.shared.default) = answer;
    }

    /// Makes [`MockAnswer::issue`] check client secrets: from now on a request that
    /// authenticates with a secret (Basic or in the form) gets a token only for a client
    /// registered here with that secret, and 401 `invalid_client` otherwise; a request with
    /// neither a secret nor a client assertion is `invalid_client` too. Client assertions
    /// (private_key_jwt) are recorded but not verified. Call again for more clients.
    pub fn require_secret(&self, client_id: impl Into<String>, secret: impl Into<String>) -> &Self {
        lock(&self.shared.clients).push((client_id.into(), Zeroizing::new(secret.into())));
        self
    }

    /// How many token requests arrived so far (answered or still being answered).
    pub fn requests(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }

    /// The token requests received so far, in order of arrival.
    pub fn received(&self) -> Vec<RecordedTokenRequest> {
        lock(&self.shared.received).clone()
    }
}

impl fmt::Debug for MockTokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockTokenEndpoint")
            .field("url", &self.token_url)
            .field("issuer", &self.shared.issuer)
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

/// RFC 8414 §2 metadata for the mock.
fn metadata(base: &str, token_url: &str) -> String {
    serde_json::json!({
        "issuer": base,
        "token_endpoint": token_url,
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA", "ES256", "RS256", "PS256"],
        "response_types_supported": [],
    })
    .to_string()
}

fn json(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The token endpoint: record, pick the answer, wait its delay, answer.
async fn answer(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let request = RecordedTokenRequest::new(headers, &body, Instant::now());
    lock(&shared.received).push(request.clone());
    shared.count.fetch_add(1, Ordering::SeqCst);
    let answer = lock(&shared.queue).pop_front();
    let answer = answer.unwrap_or_else(|| lock(&shared.default).clone());
    if !answer.delay.is_zero() {
        let mut stop = shared.stop.clone();
        // Ends early when the endpoint is dropped (the sender goes away).
        if tokio::time::timeout(answer.delay, stop.changed())
            .await
            .is_ok()
        {
            return status_response(StatusCode::SERVICE_UNAVAILABLE);
        }
    }
    answer.respond(&shared, &request)
}

impl Shared {
    /// Whether `request` passes the client check of [`MockTokenEndpoint::require_secret`].
    pub(super) fn authenticates(&self, request: &RecordedTokenRequest) -> bool {
        let clients = lock(&self.clients);
        if clients.is_empty() || request.auth_method() == Some("private_key_jwt") {
            return true;
        }
        let (Some(id), Some(secret)) = (request.client_id(), request.client_secret()) else {
            return false;
        };
        clients
            .iter()
            .any(|(known, expected)| known == id && expected.as_str() == secret)
    }
}
