//! The outbound half over real HTTP: the crate's own token service and a protected API on
//! 127.0.0.1, each counting the requests it gets, called through `AddBearerLayer` (hyper-util's
//! client, a tonic channel to the gRPC example) and `BearerMiddleware` (reqwest-middleware).

mod common;
// The gRPC example itself (its server and client), as tests/grpc.rs includes it.
#[allow(dead_code)]
#[path = "../examples/grpc.rs"]
mod grpc_example;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Request as AxumRequest;
use axum::middleware::{self, Next};
use axum::routing::{get, post};
use bytes::Bytes;
use common::issue::scopes;
use common::{AUDIENCE, invalid_token, listen, serve, serve_on};
use grpc_example::{GetReportRequest, Report, ReportsClient};
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tonic::Code;
use tower::{Layer, Service, ServiceExt};
use tower_client_credentials::clients::{Client, ClientSecret, MemoryClientStore};
use tower_client_credentials::issue::{
    ClientCredentialsTokenService, TokenIssuer, discovery_routes,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::outbound::{
    AddBearerError, AddBearerLayer, BearerMiddleware, CachedTokenSource, ClientCredentials,
    ReplayClone, TokenSource, TokenSourceError,
};
use tower_client_credentials::token_endpoint::OAuthErrorCode;
use tower_client_credentials::{BearerAuthLayer, Claims, RequireScopeLayer, Validator};

const CLIENT_ID: &str = "svc-reports";

/// A token service, a protected API (which trusts its own copy of the issuer's keys, so a
/// rotation can retire the old key at once) and an unrelated server that records the
/// `Authorization` header it is sent.
struct World {
    auth: String,
    api: String,
    other: String,
    token_requests: Arc<AtomicUsize>,
    api_requests: Arc<AtomicUsize>,
    seen_by_other: Arc<Mutex<Vec<Option<String>>>>,
    issuer_ring: KeyRing,
    api_ring: KeyRing,
    secret: String,
}

/// `router` with every request counted in `count`.
fn counted(router: Router, count: Arc<AtomicUsize>) -> Router {
    router.layer(middleware::from_fn(
        move |request: AxumRequest, next: Next| {
            let count = count.clone();
            async move {
                count.fetch_add(1, Ordering::SeqCst);
                next.run(request).await
            }
        },
    ))
}

async fn whoami(claims: Claims) -> axum::Json<Value> {
    axum::Json(json!({"sub": claims.sub, "scope": claims.scope.to_string()}))
}

async fn always_refused() -> impl axum::response::IntoResponse {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            r#"Bearer realm="api", error="invalid_token", error_description="never""#,
        )],
        "refused",
    )
}

impl World {
    async fn start() -> World {
        let first = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
        let issuer_ring = KeyRing::new(first.clone());
        let api_ring = KeyRing::new(first).with_retention(Duration::ZERO);

        let (listener, auth) = listen().await;
        let (plain, stored) = ClientSecret::generate();
        let clients = MemoryClientStore::new().with_client(
            Client::builder(CLIENT_ID)
                .secret(stored)
                .allowed_scopes(scopes("reports:read"))
                .default_scopes(scopes("reports:read"))
                .audiences([AUDIENCE])
                .build()
                .expect("client"),
        );
        let issuer = TokenIssuer::builder()
            .issuer(auth.clone())
            .keys(issuer_ring.clone())
            .clients(clients)
            .default_ttl(Duration::from_secs(900))
            .build()
            .expect("issuer");
        let token_requests = Arc::new(AtomicUsize::new(0));
        let token_service = counted(
            Router::new().route_service(
                "/oauth2/token",
                ClientCredentialsTokenService::new(issuer.clone()),
            ),
            token_requests.clone(),
        );
        serve_on(listener, token_service.merge(discovery_routes(&issuer)));

        let api_requests = Arc::new(AtomicUsize::new(0));
        let api = Router::new()
            .route(
                "/api/reports",
                get(whoami).layer(RequireScopeLayer::all(["reports:read"])),
            )
            .route("/api/echo", post(|body: String| async move { body }))
            .layer(BearerAuthLayer::new(validator(&auth, &api_ring)))
            .route("/always-refused", get(always_refused).post(always_refused));
        let api = serve(counted(api, api_requests.clone())).await;

        let seen_by_other = Arc::new(Mutex::new(Vec::new()));
        let seen = seen_by_other.clone();
        let other = serve(Router::new().fallback(move |headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                let authorization = headers
                    .get(header::AUTHORIZATION)
                    .map(|v| v.to_str().expect("ascii").to_owned());
                seen.lock().expect("lock").push(authorization);
                "seen"
            }
        }))
        .await;

        World {
            auth,
            api,
            other,
            token_requests,
            api_requests,
            seen_by_other,
            issuer_ring,
            api_ring,
            secret: plain.expose().to_owned(),
        }
    }

    /// A token source for the client, with its secret.
    fn tokens(&self) -> CachedTokenSource {
        self.tokens_with_secret(&self.secret)
    }

    fn tokens_with_secret(&self, secret: &str) -> CachedTokenSource {
        let client = ClientCredentials::builder()
            .token_endpoint(format!("{}/oauth2/token", self.auth))
            .client_id(CLIENT_ID)
            .client_secret(secret)
            .build()
            .expect("client credentials");
        CachedTokenSource::new(client)
    }

    /// The issuer signs with a new key; the API (and the gRPC server) no longer knows the
    /// old one, so tokens signed with it get 401 `invalid_token`.
    fn rotate(&self) {
        let next = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
        self.issuer_ring.rotate(next.clone()).expect("rotate");
        self.api_ring.rotate(next).expect("rotate");
    }

    /// (token requests, API requests) so far.
    fn counts(&self) -> (usize, usize) {
        (
            self.token_requests.load(Ordering::SeqCst),
            self.api_requests.load(Ordering::SeqCst),
        )
    }

    fn seen_by_other(&self) -> Vec<Option<String>> {
        self.seen_by_other.lock().expect("lock").clone()
    }

    /// The gRPC example's server, trusting the API's keys and this issuer.
    async fn serve_grpc(&self) -> SocketAddr {
        let validator = validator(&self.auth, &self.api_ring);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            grpc_example::serve(listener, validator)
                .await
                .expect("grpc server runs")
        });
        addr
    }
}

fn validator(issuer: &str, ring: &KeyRing) -> Validator {
    Validator::builder()
        .issuer(issuer, KeySource::local(ring.clone()))
        .audience(AUDIENCE)
        // Every request is verified against the ring as it is now.
        .cache_capacity(0)
        .build()
        .expect("validator")
}

/// Status, `WWW-Authenticate` and body of an answer.
#[derive(Debug, PartialEq, Eq)]
struct Reply {
    status: u16,
    challenge: Option<String>,
    body: String,
}

impl Reply {
    fn ok(body: &str) -> Self {
        Reply {
            status: 200,
            challenge: None,
            body: body.to_owned(),
        }
    }

    fn refused(description: &str, body: &str) -> Self {
        Reply {
            status: 401,
            challenge: invalid_token(description),
            body: body.to_owned(),
        }
    }

    fn reports() -> Self {
        Reply::ok(&json!({"sub": CLIENT_ID, "scope": "reports:read"}).to_string())
    }

    async fn of_hyper(response: Response<Incoming>) -> Self {
        let status = response.status().as_u16();
        let challenge = challenge(response.headers());
        let body = response.into_body().collect().await.expect("body");
        Reply {
            status,
            challenge,
            body: String::from_utf8(body.to_bytes().to_vec()).expect("utf-8"),
        }
    }

    async fn of_reqwest(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let challenge = challenge(response.headers());
        Reply {
            status,
            challenge,
            body: response.text().await.expect("body"),
        }
    }
}

fn challenge(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().expect("ascii").to_owned())
}

// --- hyper-util's client through AddBearerLayer -------------------------------------------

type HyperBody = BoxBody<Bytes, Infallible>;

fn empty() -> HyperBody {
    Empty::new().boxed()
}

/// A body that is a stream: not at its end before it is sent, so never replayed.
fn streamed(text: &'static str) -> HyperBody {
    let frames = tokio_stream::iter([Ok(Frame::data(Bytes::from_static(text.as_bytes())))]);
    StreamBody::new(frames).boxed()
}

fn hyper_client<B>() -> HyperClient<HttpConnector, B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    HyperClient::builder(TokioExecutor::new()).build_http()
}

/// Sends `request` through `service` (polled ready, then called).
async fn send<S, B>(service: &S, request: Request<B>) -> Reply
where
    S: Service<Request<B>, Response = Response<Incoming>> + Clone,
    S::Error: std::fmt::Debug,
{
    let response = service.clone().oneshot(request).await.expect("response");
    Reply::of_hyper(response).await
}

fn get_req(url: String) -> Request<HyperBody> {
    Request::get(url).body(empty()).expect("request")
}

#[tokio::test]
async fn hyper_client_sends_the_token_to_its_origin_and_never_to_another() {
    let world = World::start().await;
    let layer = AddBearerLayer::new(world.tokens())
        .origin(&world.api)
        .expect("origin");
    let client = layer.layer(hyper_client());

    let api = format!("{}/api/reports", world.api);
    assert_eq!(send(&client, get_req(api.clone())).await, Reply::reports());
    assert_eq!(send(&client, get_req(api)).await, Reply::reports());
    let other = format!("{}/anything", world.other);
    assert_eq!(send(&client, get_req(other)).await, Reply::ok("seen"));

    assert_eq!(world.seen_by_other(), [None]);
    assert_eq!(world.counts(), (1, 2), "one token for both API calls");
}

#[tokio::test]
async fn hyper_client_renews_once_after_key_rotation_and_retries() {
    let world = World::start().await;
    let client = AddBearerLayer::new(world.tokens())
        .origin(&world.api)
        .expect("origin")
        .layer(hyper_client());
    let api = format!("{}/api/reports", world.api);
    assert_eq!(send(&client, get_req(api.clone())).await, Reply::reports());
    assert_eq!(world.counts(), (1, 1));

    world.rotate();
    assert_eq!(send(&client, get_req(api.clone())).await, Reply::reports());
    assert_eq!(world.counts(), (2, 3), "one 401, one renewal, one retry");
    assert_eq!(send(&client, get_req(api)).await, Reply::reports());
    assert_eq!(world.counts(), (2, 4));
}

#[tokio::test]
async fn hyper_client_returns_a_persistent_401_after_exactly_one_retry() {
    let world = World::start().await;
    let client = AddBearerLayer::new(world.tokens())
        .origin(&world.api)
        .expect("origin")
        .layer(hyper_client());
    let url = format!("{}/always-refused", world.api);
    assert_eq!(
        send(&client, get_req(url)).await,
        Reply::refused("never", "refused")
    );
    assert_eq!(
        world.counts(),
        (2, 2),
        "a fetch, a renewal; a call, a retry"
    );
}

#[tokio::test]
async fn hyper_streamed_body_is_not_retried_but_the_token_is_renewed() {
    let world = World::start().await;
    let tokens = world.tokens();
    let held = tokens.token().await.expect("token");
    let client = AddBearerLayer::new(tokens.clone())
        .origin(&world.api)
        .expect("origin")
        .layer(hyper_client());
    world.rotate();

    let request = Request::post(format!("{}/api/echo", world.api))
        .body(streamed("payload"))
        .expect("request");
    assert_eq!(
        send(&client, request).await,
        Reply::refused("the signing key is not known", "")
    );
    assert_eq!(world.counts(), (2, 1), "renewed, not sent again");
    let renewed = tokens.token().await.expect("token");
    assert_ne!(renewed.secret(), held.secret());

    let api = format!("{}/api/reports", world.api);
    assert_eq!(send(&client, get_req(api)).await, Reply::reports());
    assert_eq!(
        world.counts(),
        (2, 2),
        "the next request has the renewed token"
    );
}

#[tokio::test]
async fn hyper_replay_clone_sends_a_full_body_again_after_renewal() {
    let world = World::start().await;
    let tokens = world.tokens();
    tokens.token().await.expect("token");
    let client = AddBearerLayer::new(tokens)
        .origin(&world.api)
        .expect("origin")
        .replay(ReplayClone)
        .layer(hyper_client::<Full<Bytes>>());
    world.rotate();

    let request = Request::post(format!("{}/api/echo", world.api))
        .body(Full::new(Bytes::from_static(b"payload")))
        .expect("request");
    assert_eq!(send(&client, request).await, Reply::ok("payload"));
    assert_eq!(world.counts(), (2, 2));
}

#[tokio::test]
async fn a_token_endpoint_refusal_is_a_typed_error_and_the_api_is_not_called() {
    let world = World::start().await;
    let client = AddBearerLayer::new(world.tokens_with_secret("wrong"))
        .origin(&world.api)
        .expect("origin")
        .layer(hyper_client::<HyperBody>());
    let error = client
        .oneshot(get_req(format!("{}/api/reports", world.api)))
        .await
        .expect_err("no token");
    let AddBearerError::Token(TokenSourceError::Refused { status, error }) = error else {
        panic!("not a token refusal: {error:?}");
    };
    assert_eq!(
        (status, error.code()),
        (401, &OAuthErrorCode::InvalidClient)
    );

    let client = reqwest_middleware::ClientBuilder::new(common::http())
        .with(
            BearerMiddleware::new(world.tokens_with_secret("wrong"), [&world.api]).expect("origin"),
        )
        .build();
    let error = client
        .get(format!("{}/api/reports", world.api))
        .send()
        .await
        .expect_err("no token");
    let reqwest_middleware::Error::Middleware(error) = error else {
        panic!("not a middleware error: {error:?}");
    };
    assert!(matches!(
        error.downcast_ref::<TokenSourceError>(),
        Some(TokenSourceError::Refused { status: 401, .. })
    ));
    assert_eq!(world.counts(), (2, 0));
}

// --- reqwest through BearerMiddleware -----------------------------------------------------

fn reqwest_client(
    world: &World,
    tokens: CachedTokenSource,
) -> reqwest_middleware::ClientWithMiddleware {
    let middleware = BearerMiddleware::new(tokens, [&world.api]).expect("origin");
    reqwest_middleware::ClientBuilder::new(common::http())
        .with(middleware)
        .build()
}

#[tokio::test]
async fn reqwest_middleware_sends_the_token_to_its_origin_and_never_to_another() {
    let world = World::start().await;
    let client = reqwest_client(&world, world.tokens());
    for _ in 0..2 {
        let response = client
            .get(format!("{}/api/reports", world.api))
            .send()
            .await
            .expect("response");
        assert_eq!(Reply::of_reqwest(response).await, Reply::reports());
    }
    let response = client
        .get(format!("{}/anything", world.other))
        .send()
        .await
        .expect("response");
    assert_eq!(Reply::of_reqwest(response).await, Reply::ok("seen"));
    assert_eq!(world.seen_by_other(), [None]);
    assert_eq!(world.counts(), (1, 2));
}

#[tokio::test]
async fn reqwest_middleware_renews_once_after_key_rotation_and_retries() {
    let world = World::start().await;
    let client = reqwest_client(&world, world.tokens());
    let api = format!("{}/api/reports", world.api);
    let response = client.get(&api).send().await.expect("response");
    assert_eq!(Reply::of_reqwest(response).await, Reply::reports());
    assert_eq!(world.counts(), (1, 1));

    world.rotate();
    let echo = format!("{}/api/echo", world.api);
    let response = client
        .post(&echo)
        .body("payload")
        .send()
        .await
        .expect("response");
    assert_eq!(Reply::of_reqwest(response).await, Reply::ok("payload"));
    assert_eq!(
        world.counts(),
        (2, 3),
        "one 401, one renewal, one retry with the body"
    );
}

#[tokio::test]
async fn reqwest_middleware_returns_a_persistent_401_after_exactly_one_retry() {
    let world = World::start().await;
    let client = reqwest_client(&world, world.tokens());
    let response = client
        .get(format!("{}/always-refused", world.api))
        .send()
        .await
        .expect("response");
    assert_eq!(
        Reply::of_reqwest(response).await,
        Reply::refused("never", "refused")
    );
    assert_eq!(world.counts(), (2, 2));
}

#[tokio::test]
async fn reqwest_streamed_body_is_not_retried_but_the_token_is_renewed() {
    let world = World::start().await;
    let tokens = world.tokens();
    let held = tokens.token().await.expect("token");
    let client = reqwest_client(&world, tokens.clone());
    world.rotate();

    let body = reqwest::Body::wrap_stream(tokio_stream::iter([Ok::<_, Infallible>(
        Bytes::from_static(b"payload"),
    )]));
    let response = client
        .post(format!("{}/api/echo", world.api))
        .body(body)
        .send()
        .await
        .expect("response");
    assert_eq!(
        Reply::of_reqwest(response).await,
        Reply::refused("the signing key is not known", "")
    );
    assert_eq!(world.counts(), (2, 1), "renewed, not sent again");
    assert_ne!(tokens.token().await.expect("token").secret(), held.secret());
}

// --- a tonic channel through AddBearerLayer -----------------------------------------------

#[tokio::test]
async fn tonic_channel_through_the_layer_gets_the_report_and_renews_after_rotation() {
    let world = World::start().await;
    let addr = world.serve_grpc().await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    // No origin: the URIs a channel's outer layers see are relative.
    let client = ReportsClient::new(AddBearerLayer::new(world.tokens()).layer(channel));
    let get_report = || {
        let mut client = client.clone();
        async move {
            client
                .get_report(GetReportRequest { id: "r-1".into() })
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| (status.code(), status.message().to_owned()))
        }
    };
    let report = Report {
        id: "r-1".into(),
        title: "Report r-1".into(),
        owner: CLIENT_ID.into(),
    };
    assert_eq!(get_report().await, Ok(report.clone()));
    assert_eq!(world.counts().0, 1);

    // gRPC bodies are streams: the refused call is not replayed, but the token is renewed.
    world.rotate();
    assert_eq!(
        get_report().await,
        Err((
            Code::Unauthenticated,
            "the signing key is not known".to_owned()
        ))
    );
    assert_eq!(world.counts().0, 2);
    assert_eq!(get_report().await, Ok(report));
    assert_eq!(world.counts().0, 2);
}

// --- hygiene ------------------------------------------------------------------------------

#[tokio::test]
async fn debug_output_of_the_layer_and_the_middleware_never_shows_the_token() {
    let world = World::start().await;
    let tokens = world.tokens();
    let token = tokens.token().await.expect("token");
    let layer = AddBearerLayer::new(tokens.clone())
        .origin(&world.api)
        .expect("origin");
    let service = layer.layer(hyper_client::<HyperBody>());
    let middleware = BearerMiddleware::new(tokens, [&world.api]).expect("origin");
    let shown = format!("{layer:?}\n{service:?}\n{middleware:?}\n{token:?}");
    assert!(!shown.contains(token.secret()), "{shown}");
    // The parts of a JWT are long base64url runs; none of them may show either.
    for part in token.secret().split('.') {
        assert!(!shown.contains(part), "{shown}");
    }
    assert!(shown.contains("AddBearerLayer") && shown.contains("BearerMiddleware"));
}
