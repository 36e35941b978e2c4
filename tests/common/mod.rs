//! Shared setup for the integration tests: real servers on 127.0.0.1, real HTTP clients.
#![allow(dead_code)]

pub mod example_process;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower_client_credentials::keys::SigningKey;

#[cfg(feature = "issue")]
pub mod issue;

#[cfg(feature = "issue")]
pub mod store_cases;

#[cfg(feature = "remote-jwks")]
pub mod idp;

pub const ISSUER: &str = "https://auth.test";
pub const AUDIENCE: &str = "reports-api";

/// A listener on an ephemeral 127.0.0.1 port and its base URL, for an app that must know its
/// own URL before it is built (an issuer whose endpoints are under it).
pub async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr: SocketAddr = listener.local_addr().expect("local addr");
    (listener, format!("http://{addr}"))
}

/// Serves `app` on `listener` until the test's runtime ends.
pub fn serve_on(listener: TcpListener, app: axum::Router) {
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
}

/// Serves `app` on an ephemeral 127.0.0.1 port and returns its base URL.
pub async fn serve(app: axum::Router) -> String {
    let (listener, base) = listen().await;
    serve_on(listener, app);
    base
}

/// The HTTP client for talking to the servers above.
///
/// It ignores `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY`: a proxy cannot reach our loopback
/// servers, and a developer machine with one set would otherwise fail every test. It does not
/// follow redirects, so a test sees the exact response (as the `oauth2` crate also requires, to
/// avoid SSRF), and gives up on a hung server instead of hanging the suite.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// RFC 9068 claims for `sub` with `scope`, valid for a minute.
pub fn access_claims(sub: &str, scope: &str) -> Value {
    let now = now();
    json!({
        "iss": ISSUER, "sub": sub, "aud": AUDIENCE, "exp": now + 60, "iat": now,
        "jti": format!("jti-{sub}-{now}"), "client_id": sub, "scope": scope,
    })
}

/// A properly signed access token.
pub fn token(key: &SigningKey, claims: &Value) -> String {
    key.sign("at+jwt", claims).expect("sign")
}

/// A token with an arbitrary header and signature segment (for forgeries).
pub fn forge(header: &Value, claims: &Value, signature: &str) -> String {
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let c = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{h}.{c}.{signature}")
}

/// Segment `index` of a compact JWS (0 the header, 1 the claims), decoded as JSON.
pub fn decode_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

/// Status, `WWW-Authenticate` and body of a response.
pub async fn parts(response: reqwest::Response) -> (u16, Option<String>, String) {
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("ascii header").to_owned());
    let body = response.text().await.expect("body");
    (status, challenge, body)
}

/// `GET {url}`, with `Authorization: Bearer {token}` when a token is given: status,
/// `WWW-Authenticate` and body.
pub async fn get_bearer(url: &str, token: Option<&str>) -> (u16, Option<String>, String) {
    let mut request = http().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    parts(request.send().await.expect("request")).await
}

pub fn invalid_token(description: &str) -> Option<String> {
    Some(format!(
        r#"Bearer realm="api", error="invalid_token", error_description="{description}""#
    ))
}
