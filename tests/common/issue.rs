//! Shared setup for the issue-half tests (tests/issue.rs, tests/issue_errors.rs).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tower_client_credentials::ScopeSet;

pub fn scopes(wire: &str) -> ScopeSet {
    ScopeSet::parse(wire).expect("scopes")
}

/// Segment `index` of a compact JWS (0 = header, 1 = claims), decoded as JSON.
pub fn decode_segment(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).expect("segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("json")
}

/// An HTTP client for the test servers on 127.0.0.1: never through a proxy from the
/// environment, never following redirects (the token endpoint must answer itself).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}
