//! The demo: a token endpoint and a protected reports API in one axum app.
//!
//! ```text
//! cargo run --example server
//! ```
//!
//! Environment:
//! - `ADDR` — listen address (default `127.0.0.1:3000`; port 0 picks a free one).
//! - `ISSUER` — the issuer URL (default `http://<the bound address>`).
//! - `CLIENTS_FILE` — the clients TOML (default `examples/clients.toml`).
//! - `SIGNING_KEY_FILE` — an EdDSA PKCS#8 PEM key (default: a fresh key at start-up).
//! - `RUST_LOG` — log filter (default `info`).
//!
//! Routes: `POST /oauth2/token`, `GET /.well-known/jwks.json`,
//! `GET /.well-known/oauth-authorization-server`, `GET /healthz`, `GET /api/whoami` (any valid
//! token for `reports-api`), `GET /api/reports` (`reports:read`), `POST /api/reports`
//! (`reports:write`).
//!
//! `tests/demo.rs` includes this file as a module (`#[path]`): it builds the app with
//! [`token_issuer`] and [`app`] and serves it in-process, and runs the built binary only where
//! the process itself is the subject (the README's curl lines as a reader runs them, SIGTERM).
//! The items it uses are `pub(crate)` for that reason only.

use std::error::Error;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_client_credentials::clients::MemoryClientStore;
use tower_client_credentials::issue::{
    ClientCredentialsTokenService, TokenIssuer, discovery_routes,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::{BearerAuthLayer, Claims, RequireScopeLayer, Validator};
use tracing_subscriber::EnvFilter;

const AUDIENCE: &str = "reports-api";

/// The demo's settings: [`Config::from_env`] reads them, [`Default`] is what an empty
/// environment gives.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// `ADDR`: the listen address; port 0 picks a free one.
    pub(crate) addr: String,
    /// `ISSUER`: the issuer URL; `None` means `http://<the bound address>`.
    pub(crate) issuer: Option<String>,
    /// `CLIENTS_FILE`: the clients TOML.
    pub(crate) clients_file: PathBuf,
    /// `SIGNING_KEY_FILE`: an EdDSA PKCS#8 PEM key; `None` means a fresh key at start-up.
    pub(crate) signing_key_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:3000".to_owned(),
            issuer: None,
            clients_file: PathBuf::from("examples/clients.toml"),
            signing_key_file: None,
        }
    }
}

impl Config {
    /// `ADDR`, `ISSUER` and `CLIENTS_FILE` that are unset or not UTF-8 keep their defaults.
    pub(crate) fn from_env() -> Self {
        let default = Self::default();
        Self {
            addr: std::env::var("ADDR").unwrap_or(default.addr),
            issuer: std::env::var("ISSUER").ok(),
            clients_file: std::env::var("CLIENTS_FILE")
                .map(PathBuf::from)
                .unwrap_or(default.clients_file),
            signing_key_file: std::env::var_os("SIGNING_KEY_FILE").map(PathBuf::from),
        }
    }
}

#[derive(Clone, Serialize)]
struct Report {
    id: u64,
    title: String,
    author: String,
}

#[derive(Deserialize)]
struct NewReport {
    title: String,
}

type Reports = Arc<Mutex<Vec<Report>>>;

async fn healthz() -> &'static str {
    "ok"
}

/// The verified claims, as the API sees them.
async fn whoami(claims: Claims) -> Json<Claims> {
    Json(claims)
}

async fn list_reports(State(reports): State<Reports>) -> Result<Json<Vec<Report>>, StatusCode> {
    let reports = reports
        .lock()
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(reports.clone()))
}

async fn create_report(
    State(reports): State<Reports>,
    claims: Claims,
    Json(new): Json<NewReport>,
) -> Result<(StatusCode, HeaderMap, Json<Report>), StatusCode> {
    let mut reports = reports
        .lock()
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let report = Report {
        id: reports.len() as u64 + 1,
        title: new.title,
        author: claims.sub,
    };
    reports.push(report.clone());
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/reports/{}", report.id)) {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, Json(report)))
}

fn signing_key(file: Option<&Path>) -> Result<SigningKey, Box<dyn Error>> {
    match file {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read SIGNING_KEY_FILE {}: {e}", path.display()))?;
            Ok(SigningKey::from_pem(Algorithm::EdDSA, &pem)?)
        }
        None => Ok(SigningKey::generate(Algorithm::EdDSA)?),
    }
}

/// The token issuer for `issuer_url`, with the configured signing key and clients.
pub(crate) fn token_issuer(
    config: &Config,
    issuer_url: String,
) -> Result<TokenIssuer, Box<dyn Error>> {
    let ring = KeyRing::new(signing_key(config.signing_key_file.as_deref())?);
    let clients = MemoryClientStore::from_toml_file(&config.clients_file)?;
    Ok(TokenIssuer::builder()
        .issuer(issuer_url)
        .keys(ring)
        .clients(clients)
        .scopes_supported(["reports:read", "reports:write"])
        .build()?)
}

/// The whole demo: the token endpoint, discovery, `/healthz` and the reports API, whose tokens
/// `issuer` signs.
pub(crate) fn app(issuer: &TokenIssuer) -> Result<Router, Box<dyn Error>> {
    let validator = Validator::builder()
        .issuer(issuer.issuer(), KeySource::local(issuer.keys().clone()))
        .audience(AUDIENCE)
        .build()?;
    let reports: Reports = Arc::new(Mutex::new(vec![
        Report {
            id: 1,
            title: "Q1 revenue".into(),
            author: "finance".into(),
        },
        Report {
            id: 2,
            title: "Q2 revenue".into(),
            author: "finance".into(),
        },
    ]));
    let api = Router::new()
        .route("/api/whoami", get(whoami))
        .route(
            "/api/reports",
            get(list_reports)
                .layer(RequireScopeLayer::all(["reports:read"]))
                .merge(post(create_report).layer(RequireScopeLayer::all(["reports:write"]))),
        )
        .layer(BearerAuthLayer::new(validator))
        .with_state(reports);
    Ok(Router::new()
        .route_service(
            "/oauth2/token",
            ClientCredentialsTokenService::new(issuer.clone()),
        )
        .route("/healthz", get(healthz))
        .merge(discovery_routes(issuer))
        .merge(api))
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called (before the
/// banner is printed), so a signal sent as soon as the server announces itself is not lost.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        match signals {
            (Ok(mut interrupt), Ok(mut terminate)) => {
                tokio::select! {
                    _ = interrupt.recv() => {},
                    _ = terminate.recv() => {},
                }
            }
            _ => {
                tracing::error!("cannot listen for signals; stop the demo by killing it");
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let config = Config::from_env();
    let addr = &config.addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound: SocketAddr = listener.local_addr()?;
    let base = format!("http://{bound}");
    let issuer_url = config.issuer.clone().unwrap_or_else(|| base.clone());

    let issuer = token_issuer(&config, issuer_url.clone())?;
    let app = app(&issuer)?;
    let shutdown = shutdown_signal();

    println!("tower-client-credentials demo listening on {base}");
    println!(
        "  issuer:  {issuer_url}  (signing key kid {})",
        issuer.keys().active().kid()
    );
    println!("  clients: demo / demo-secret      (reports:read reports:write)");
    println!("           reader / reader-secret  (reports:read)");
    println!(
        "  try:     curl -s -u demo:demo-secret -d grant_type=client_credentials {base}/oauth2/token"
    );
    tracing::info!(%base, clients = %config.clients_file.display(), "ready");

    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
