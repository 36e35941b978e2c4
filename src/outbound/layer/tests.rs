//! Unit tests of `AddBearer`: a scripted inner service and token source.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{HeaderValue, Method, Request, Response, StatusCode, header::AUTHORIZATION};
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use super::{AddBearerError, AddBearerLayer};
use crate::outbound::{
    AccessToken, NoReplay, ReplayBody, ReplayClone, TokenSource, TokenSourceError,
};

/// Hands out `t0`, `t1`, …: `token` the current one, `renew` the next.
struct Tokens {
    current: Mutex<AccessToken>,
    at_hand: bool,
    renewals: AtomicUsize,
    fetches: AtomicUsize,
    fail: bool,
    renew_to_same: bool,
}

fn numbered(n: usize) -> AccessToken {
    AccessToken::new(&format!("t{n}"), u64::MAX, None).unwrap()
}

impl Tokens {
    fn at_hand() -> Self {
        Tokens {
            current: Mutex::new(numbered(0)),
            at_hand: true,
            renewals: AtomicUsize::new(0),
            fetches: AtomicUsize::new(0),
            fail: false,
            renew_to_same: false,
        }
    }
}

impl TokenSource for Arc<Tokens> {
    async fn token(&self) -> Result<AccessToken, TokenSourceError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            return Err(TokenSourceError::Connect);
        }
        Ok(self.current.lock().unwrap().clone())
    }

    async fn renew(&self, rejected: &AccessToken) -> Result<AccessToken, TokenSourceError> {
        let n = self.renewals.fetch_add(1, Ordering::SeqCst) + 1;
        let mut current = self.current.lock().unwrap();
        if current.same_as(rejected) && !self.renew_to_same {
            *current = numbered(n);
        }
        Ok(current.clone())
    }

    fn cached(&self) -> Option<AccessToken> {
        self.at_hand.then(|| self.current.lock().unwrap().clone())
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: Method,
    uri: String,
    authorization: Option<String>,
    sensitive: bool,
    trace: Option<String>,
    extension: Option<&'static str>,
    body: String,
}

/// An inner service that records what it is sent and answers from a script (then 200).
/// A clone is not ready until polled: calling it unpolled fails the test.
struct Api {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<Response<String>>>>,
    ready: bool,
}

impl Clone for Api {
    fn clone(&self) -> Self {
        Api {
            seen: self.seen.clone(),
            script: self.script.clone(),
            ready: false,
        }
    }
}

impl Api {
    fn answering(script: impl IntoIterator<Item = Response<String>>) -> Self {
        Api {
            seen: Arc::default(),
            script: Arc::new(Mutex::new(script.into_iter().collect())),
            ready: false,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Service<Request<String>> for Api {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<String>) -> Self::Future {
        assert!(self.ready, "called without poll_ready");
        self.ready = false;
        let header = |name| {
            request
                .headers()
                .get(name)
                .map(|v: &HeaderValue| v.to_str().unwrap().to_owned())
        };
        self.seen.lock().unwrap().push(Seen {
            method: request.method().clone(),
            uri: request.uri().to_string(),
            authorization: header("authorization"),
            sensitive: request
                .headers()
                .get(AUTHORIZATION)
                .is_some_and(HeaderValue::is_sensitive),
            trace: header("x-trace"),
            extension: request.extensions().get::<&'static str>().copied(),
            body: request.body().clone(),
        });
        let next = self.script.lock().unwrap().pop_front();
        std::future::ready(Ok(next.unwrap_or_else(|| Response::new("ok".to_owned()))))
    }
}

fn invalid_token() -> Response<String> {
    Response::builder()
        .status(StatusCode::UNAUTHORIZED)
        .header(
            "www-authenticate",
            r#"Bearer realm="api", error="invalid_token""#,
        )
        .body("refused".to_owned())
        .unwrap()
}

fn get(uri: &str) -> Request<String> {
    Request::get(uri).body(String::new()).unwrap()
}

fn seen(uri: &str, authorization: Option<&str>, body: &str) -> Seen {
    Seen {
        method: if body.is_empty() {
            Method::GET
        } else {
            Method::POST
        },
        uri: uri.to_owned(),
        authorization: authorization.map(str::to_owned),
        sensitive: authorization.is_some(),
        trace: None,
        extension: None,
        body: body.to_owned(),
    }
}

async fn send<P: ReplayBody<String> + Clone>(
    layer: &AddBearerLayer<Arc<Tokens>, P>,
    api: &Api,
    request: Request<String>,
) -> Result<(StatusCode, String), AddBearerError<Infallible>> {
    let response = layer.layer(api.clone()).oneshot(request).await?;
    Ok((response.status(), response.into_body()))
}

#[tokio::test]
async fn a_token_at_hand_is_added_to_relative_uris_and_listed_origins_only() {
    let tokens = Arc::new(Tokens::at_hand());
    let layer = AddBearerLayer::new(tokens.clone())
        .origin("https://api.example.com")
        .unwrap();
    let api = Api::answering([]);
    for uri in [
        "/reports.Reports/GetReport",
        "https://API.example.com:443/r",
        "https://other.example.com/r",
        "http://api.example.com/r",
    ] {
        assert_eq!(
            send(&layer, &api, get(uri)).await.unwrap(),
            (StatusCode::OK, "ok".into())
        );
    }
    assert_eq!(
        api.seen(),
        [
            seen("/reports.Reports/GetReport", Some("Bearer t0"), ""),
            seen("https://API.example.com:443/r", Some("Bearer t0"), ""),
            seen("https://other.example.com/r", None, ""),
            seen("http://api.example.com/r", None, ""),
        ]
    );
    assert_eq!(
        tokens.fetches.load(Ordering::SeqCst),
        0,
        "served from cached()"
    );
}

#[tokio::test]
async fn an_authorization_header_already_there_is_kept_and_its_401_left_alone() {
    let tokens = Arc::new(Tokens::at_hand());
    let layer = AddBearerLayer::new(tokens.clone());
    let api = Api::answering([invalid_token()]);
    let mut request = get("/r");
    request
        .headers_mut()
        .insert(AUTHORIZATION, HeaderValue::from_static("Basic YTpi"));
    let (status, _) = send(&layer, &api, request).await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.seen()[0].authorization.as_deref(), Some("Basic YTpi"));
    assert_eq!(api.seen().len(), 1);
    assert_eq!(tokens.renewals.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_refused_token_is_renewed_and_the_request_replayed_whole_once() {
    let tokens = Arc::new(Tokens::at_hand());
    let layer = AddBearerLayer::new(tokens.clone());
    let api = Api::answering([invalid_token()]);
    let mut request = get("/r?x=1");
    request
        .headers_mut()
        .insert("x-trace", HeaderValue::from_static("abc"));
    request.extensions_mut().insert("marker");
    let reply = send(&layer, &api, request).await.unwrap();
    assert_eq!(reply, (StatusCode::OK, "ok".into()));
    let first = Seen {
        trace: Some("abc".into()),
        extension: Some("marker"),
        ..seen("/r?x=1", Some("Bearer t0"), "")
    };
    let retry = Seen {
        authorization: Some("Bearer t1".into()),
        ..first.clone()
    };
    assert_eq!(api.seen(), [first, retry]);
    assert_eq!(tokens.renewals.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_second_refusal_is_returned_as_it_is() {
    let tokens = Arc::new(Tokens::at_hand());
    let layer = AddBearerLayer::new(tokens.clone());
    let api = Api::answering([invalid_token(), invalid_token(), invalid_token()]);
    let reply = send(&layer, &api, get("/r")).await.unwrap();
    assert_eq!(reply, (StatusCode::UNAUTHORIZED, "refused".into()));
    assert_eq!(api.seen().len(), 2);
    assert_eq!(tokens.renewals.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_body_that_cannot_be_replayed_renews_the_token_and_returns_the_401() {
    let tokens = Arc::new(Tokens::at_hand());
    let api = Api::answering([invalid_token(), invalid_token()]);
    let post = || Request::post("/r").body("payload".to_owned()).unwrap();
    let layer = AddBearerLayer::new(tokens.clone());
    let reply = send(&layer, &api, post()).await.unwrap();
    assert_eq!(reply, (StatusCode::UNAUTHORIZED, "refused".into()));
    let no_replay = layer.clone().replay(NoReplay);
    let reply = send(&no_replay, &api, get("/r")).await.unwrap();
    assert_eq!(reply, (StatusCode::UNAUTHORIZED, "refused".into()));
    assert_eq!(
        api.seen(),
        [
            seen("/r", Some("Bearer t0"), "payload"),
            seen("/r", Some("Bearer t1"), ""),
        ]
    );
    assert_eq!(tokens.renewals.load(Ordering::SeqCst), 2);
    // The next request has the renewed token.
    send(&layer, &api, get("/r")).await.unwrap();
    assert_eq!(api.seen()[2].authorization.as_deref(), Some("Bearer t2"));
}

#[tokio::test]
async fn replay_clone_sends_the_same_body_again() {
    let tokens = Arc::new(Tokens::at_hand());
    let layer = AddBearerLayer::new(tokens.clone()).replay(ReplayClone);
    let api = Api::answering([invalid_token()]);
    let request = Request::post("/r").body("payload".to_owned()).unwrap();
    let reply = send(&layer, &api, request).await.unwrap();
    assert_eq!(reply, (StatusCode::OK, "ok".into()));
    assert_eq!(
        api.seen(),
        [
            seen("/r", Some("Bearer t0"), "payload"),
            seen("/r", Some("Bearer t1"), "payload"),
        ]
    );
}

#[tokio::test]
async fn without_a_token_at_hand_it_is_fetched_first_and_a_refusal_still_retried() {
    let tokens = Arc::new(Tokens {
        at_hand: false,
        ..Tokens::at_hand()
    });
    let layer = AddBearerLayer::new(tokens.clone());
    let api = Api::answering([invalid_token()]);
    let reply = send(&layer, &api, get("/r")).await.unwrap();
    assert_eq!(reply, (StatusCode::OK, "ok".into()));
    assert_eq!(
        api.seen(),
        [
            seen("/r", Some("Bearer t0"), ""),
            seen("/r", Some("Bearer t1"), ""),
        ]
    );
    assert!(api.seen().iter().all(|s| s.sensitive));
    assert_eq!(tokens.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_token_source_failure_is_a_token_error_and_nothing_is_sent() {
    let tokens = Arc::new(Tokens {
        at_hand: false,
        fail: true,
        ..Tokens::at_hand()
    });
    let layer = AddBearerLayer::new(tokens);
    let api = Api::answering([]);
    let error = send(&layer, &api, get("/r")).await.unwrap_err();
    assert!(matches!(
        error,
        AddBearerError::Token(TokenSourceError::Connect)
    ));
    assert_eq!(
        error.to_string(),
        "could not get an access token: could not connect to the token endpoint"
    );
    assert!(api.seen().is_empty());
}

#[tokio::test]
async fn a_renewal_that_hands_back_the_refused_token_is_not_retried() {
    let tokens = Arc::new(Tokens {
        renew_to_same: true,
        ..Tokens::at_hand()
    });
    let layer = AddBearerLayer::new(tokens.clone());
    let api = Api::answering([invalid_token()]);
    let reply = send(&layer, &api, get("/r")).await.unwrap();
    assert_eq!(reply, (StatusCode::UNAUTHORIZED, "refused".into()));
    assert_eq!(api.seen().len(), 1);
    assert_eq!(tokens.renewals.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn other_refusals_are_not_renewed() {
    let tokens = Arc::new(Tokens::at_hand());
    let layer = AddBearerLayer::new(tokens.clone());
    let forbidden = Response::builder()
        .status(StatusCode::FORBIDDEN)
        .header("www-authenticate", r#"Bearer error="insufficient_scope""#)
        .body(String::new())
        .unwrap();
    let bare_401 = Response::builder()
        .status(StatusCode::UNAUTHORIZED)
        .body(String::new())
        .unwrap();
    let api = Api::answering([forbidden, bare_401]);
    assert_eq!(
        send(&layer, &api, get("/r")).await.unwrap().0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&layer, &api, get("/r")).await.unwrap().0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(api.seen().len(), 2);
    assert_eq!(tokens.renewals.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn grpc_unauthenticated_renews_the_token() {
    let tokens = Arc::new(Tokens::at_hand());
    let layer = AddBearerLayer::new(tokens.clone()).replay(NoReplay);
    let unauthenticated = Response::builder()
        .header("content-type", "application/grpc")
        .header("grpc-status", "16")
        .body(String::new())
        .unwrap();
    let api = Api::answering([unauthenticated]);
    send(&layer, &api, get("/reports.Reports/GetReport"))
        .await
        .unwrap();
    assert_eq!(tokens.renewals.load(Ordering::SeqCst), 1);
    assert_eq!(api.seen().len(), 1);
}

#[test]
fn debug_output_never_shows_the_token() {
    let tokens = Arc::new(Tokens::at_hand());
    let layer = AddBearerLayer::new(tokens)
        .origin("https://API.example.com")
        .unwrap();
    let service = layer.layer(Api::answering([]).seen);
    let shown = format!("{layer:?} {service:?}");
    assert!(!shown.contains("t0"), "{shown}");
    assert!(shown.contains("https://api.example.com:443"), "{shown}");
}
