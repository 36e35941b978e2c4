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

/// `application/x-www-form-urlencoded`.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// Serves `app` on an ephemeral 127.0.0.1 port with axum's `ConnectInfo<SocketAddr>` (the
/// token endpoint's per-peer throttle reads it) and returns its base URL.
pub async fn serve_with_connect_info(app: axum::Router) -> String {
    let (listener, base) = super::listen().await;
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, service).await.expect("server runs");
    });
    base
}

/// `application/x-www-form-urlencoded` serialization (RFC 6749 Appendix B).
pub fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// RFC 6749 §2.3.1: id and secret are form-encoded, then joined and base64-encoded.
pub fn basic(id: &str, secret: &str) -> String {
    basic_raw(&format!("{}:{}", urlencode(id), urlencode(secret)))
}

/// A Basic header over `user_pass` as given, without form-encoding.
pub fn basic_raw(user_pass: &str) -> String {
    use base64::engine::general_purpose::STANDARD;
    format!("Basic {}", STANDARD.encode(user_pass))
}

/// A token endpoint answer: status, every header but `date` and `content-length` (sorted),
/// and the body.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// Reads `response` whole.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "date" | "content-length"))
            .map(|(name, value)| {
                let value = value.to_str().expect("ascii header");
                (name.as_str().to_owned(), value.to_owned())
            })
            .collect();
        headers.sort();
        let body = response.text().await.expect("body");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A JSON answer with the headers every token endpoint answer carries: never cached
    /// (RFC 6749 §5.1), never sniffed.
    pub fn json(status: u16, body: String) -> Self {
        let headers = [
            ("cache-control", "no-store"),
            ("content-type", "application/json"),
            ("pragma", "no-cache"),
            ("x-content-type-options", "nosniff"),
        ];
        Reply {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body,
        }
    }

    /// An RFC 6749 §5.2 error answer.
    pub fn error(status: u16, error: &str, description: &str) -> Self {
        let body = format!(r#"{{"error":"{error}","error_description":"{description}"}}"#);
        Self::json(status, body)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self.headers.sort();
        self
    }

    /// The success body, parsed; panics with the body otherwise.
    pub fn token(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.body);
        serde_json::from_str(&self.body).expect("json body")
    }
}
