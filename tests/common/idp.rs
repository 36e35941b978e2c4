//! An identity provider on 127.0.0.1 for tests that trust tokens from another issuer: RFC 8414
//! and OpenID Connect metadata and a JWKS, served from a [`KeyRing`], with switchable
//! behaviour (outage, hang, garbage, wrong `issuer`, oversized body, redirect, `max-age`),
//! counting its requests.
//!
//! ```ignore
//! let idp = Idp::start().await;                       // issuer http://127.0.0.1:port
//! let idp = Idp::builder().path("/realms/acme").start().await;
//! let token = idp.token(&idp.claims("svc", "reports:read"));
//! idp.set(Behaviour::Status(500));                    // an outage
//! assert_eq!(idp.jwks_requests(), 1);
//! ```

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};

/// What the provider does on its next requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Metadata and JWKS as they should be.
    Normal,
    /// Every request answers this status (an outage: 500, 503, …).
    Status(u16),
    /// Every request hangs for a minute before answering.
    Hang,
    /// The JWKS is not JSON (the metadata stays valid).
    InvalidJson,
    /// The JWKS is valid JSON with no key in it.
    EmptyJwks,
    /// The metadata names another `issuer`.
    WrongIssuer,
    /// The JWKS is padded past 256 KiB and sent chunked, without `Content-Length`.
    HugeChunked,
    /// The JWKS is padded past 256 KiB, with an honest `Content-Length`.
    HugeSized,
    /// The JWKS answers `302 Found` to this URL. `{base}{path}/jwks-moved` serves the JWKS
    /// (a same-host move).
    RedirectJwks(String),
}

/// How the provider is set up before it starts.
pub struct IdpBuilder {
    path: String,
    oauth_metadata: bool,
    key: Option<SigningKey>,
}

impl IdpBuilder {
    /// The issuer's path (for example `/realms/acme`); default none.
    pub fn path(mut self, path: &str) -> Self {
        self.path = path.to_owned();
        self
    }

    /// Serves only OpenID Connect discovery: the RFC 8414 URL answers 404.
    pub fn oidc_only(mut self) -> Self {
        self.oauth_metadata = false;
        self
    }

    /// The first signing key (default: a new EdDSA key).
    pub fn key(mut self, key: SigningKey) -> Self {
        self.key = Some(key);
        self
    }

    pub async fn start(self) -> Idp {
        let (listener, base) = super::listen().await;
        let key = self
            .key
            .unwrap_or_else(|| SigningKey::generate(Algorithm::EdDSA).expect("generate key"));
        let state = Arc::new(IdpState {
            issuer: format!("{base}{}", self.path),
            path: self.path,
            oauth_metadata: self.oauth_metadata,
            ring: KeyRing::new(key),
            behaviour: Mutex::new(Behaviour::Normal),
            max_age: Mutex::new(None),
            oauth_requests: AtomicUsize::new(0),
            oidc_requests: AtomicUsize::new(0),
            jwks_requests: AtomicUsize::new(0),
        });
        let app = Router::new().fallback(serve).with_state(state.clone());
        super::serve_on(listener, app);
        Idp { base, state }
    }
}

struct IdpState {
    issuer: String,
    path: String,
    oauth_metadata: bool,
    ring: KeyRing,
    behaviour: Mutex<Behaviour>,
    max_age: Mutex<Option<u64>>,
    oauth_requests: AtomicUsize,
    oidc_requests: AtomicUsize,
    jwks_requests: AtomicUsize,
}

/// A running provider. Dropping it does not stop the server; the test runtime's end does.
#[derive(Clone)]
pub struct Idp {
    base: String,
    state: Arc<IdpState>,
}

impl Idp {
    pub fn builder() -> IdpBuilder {
        IdpBuilder {
            path: String::new(),
            oauth_metadata: true,
            key: None,
        }
    }

    /// A provider at the root of a fresh 127.0.0.1 port, with a new EdDSA key.
    pub async fn start() -> Idp {
        Self::builder().start().await
    }

    /// The issuer identifier: the base URL plus the path.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// `http://127.0.0.1:port`.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.state.issuer)
    }

    pub fn ring(&self) -> &KeyRing {
        &self.state.ring
    }

    /// Switches what the provider does from the next request on.
    pub fn set(&self, behaviour: Behaviour) {
        *self.state.behaviour.lock().expect("behaviour lock") = behaviour;
    }

    /// `Cache-Control: max-age` on the JWKS (default: none).
    pub fn set_max_age(&self, seconds: Option<u64>) {
        *self.state.max_age.lock().expect("max-age lock") = seconds;
    }

    /// Rotates to a new EdDSA key; the old one stays published (the ring's retention).
    pub fn rotate(&self) -> SigningKey {
        let next = SigningKey::generate(Algorithm::EdDSA).expect("generate key");
        self.state.ring.rotate(next.clone()).expect("rotate");
        next
    }

    pub fn jwks_requests(&self) -> usize {
        self.state.jwks_requests.load(Ordering::SeqCst)
    }

    /// Requests to the RFC 8414 metadata URL (path-inserted).
    pub fn oauth_metadata_requests(&self) -> usize {
        self.state.oauth_requests.load(Ordering::SeqCst)
    }

    /// Requests to the OpenID Connect metadata URL (appended).
    pub fn oidc_metadata_requests(&self) -> usize {
        self.state.oidc_requests.load(Ordering::SeqCst)
    }

    /// RFC 9068 claims from this issuer for `sub` with `scope`, valid for a minute.
    pub fn claims(&self, sub: &str, scope: &str) -> Value {
        let now = super::now();
        json!({
            "iss": self.state.issuer, "sub": sub, "aud": super::AUDIENCE,
            "exp": now + 60, "iat": now, "jti": format!("jti-{sub}-{now}"),
            "client_id": sub, "scope": scope,
        })
    }

    /// An `at+jwt` signed with the provider's active key.
    pub fn token(&self, claims: &Value) -> String {
        super::token(&self.state.ring.active(), claims)
    }
}

async fn serve(State(idp): State<Arc<IdpState>>, uri: Uri) -> Response {
    let path = uri.path();
    let oauth = format!("/.well-known/oauth-authorization-server{}", idp.path);
    let oidc = format!("{}/.well-known/openid-configuration", idp.path);
    let jwks = format!("{}/jwks", idp.path);
    let moved = format!("{}/jwks-moved", idp.path);
    let kind = if path == oauth && idp.oauth_metadata {
        idp.oauth_requests.fetch_add(1, Ordering::SeqCst);
        Kind::Metadata
    } else if path == oidc {
        idp.oidc_requests.fetch_add(1, Ordering::SeqCst);
        Kind::Metadata
    } else if path == jwks {
        idp.jwks_requests.fetch_add(1, Ordering::SeqCst);
        Kind::Jwks
    } else if path == moved {
        // Where a same-host redirect lands: always the plain JWKS.
        idp.jwks_requests.fetch_add(1, Ordering::SeqCst);
        return jwks_response(&idp, Behaviour::Normal);
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let behaviour = idp.behaviour.lock().expect("behaviour lock").clone();
    match behaviour {
        Behaviour::Status(code) => {
            return StatusCode::from_u16(code)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response();
        }
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        _ => {}
    }
    match kind {
        Kind::Metadata => {
            let issuer = match behaviour {
                Behaviour::WrongIssuer => format!("{}/other", idp.issuer),
                _ => idp.issuer.clone(),
            };
            axum::Json(json!({
                "issuer": issuer,
                "jwks_uri": format!("{}/jwks", idp.issuer),
                "token_endpoint": format!("{}/token", idp.issuer),
            }))
            .into_response()
        }
        Kind::Jwks => jwks_response(&idp, behaviour),
    }
}

enum Kind {
    Metadata,
    Jwks,
}

fn jwks_response(idp: &IdpState, behaviour: Behaviour) -> Response {
    let mut body = idp.ring.jwks().to_json();
    match behaviour {
        Behaviour::RedirectJwks(to) => {
            return (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
        }
        Behaviour::InvalidJson => body = r#"{"keys": ["#.to_owned(),
        Behaviour::EmptyJwks => body = r#"{"keys": []}"#.to_owned(),
        Behaviour::HugeChunked | Behaviour::HugeSized => {
            let pad = "x".repeat(300 * 1024);
            body = format!("{}, \"pad\": \"{pad}\"}}", body.trim_end_matches('}'));
        }
        _ => {}
    }
    let mut response = if behaviour == Behaviour::HugeChunked {
        let chunks: Vec<Result<String, Infallible>> = body
            .as_bytes()
            .chunks(16 * 1024)
            .map(|c| Ok(String::from_utf8_lossy(c).into_owned()))
            .collect();
        Body::from_stream(tokio_stream::iter(chunks)).into_response()
    } else {
        body.into_response()
    };
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    if let Some(seconds) = *idp.max_age.lock().expect("max-age lock") {
        let value = format!("public, max-age={seconds}");
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_str(&value).expect("header value"),
        );
    }
    response
}
