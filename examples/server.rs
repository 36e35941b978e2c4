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
//! - `DATABASE_URL` — keep the clients in SQL instead (feature `sqlx`): `sqlite://file.db`
//!   (created when missing) or `postgres://…`; seeded from `CLIENTS_FILE` while it has no
//!   clients, then managed with `examples/clients.rs`.
//! - `SIGNING_KEY_FILE` — an EdDSA PKCS#8 PEM key (default: a fresh key at start-up).
//! - `TRUSTED_ISSUERS` — comma-separated issuer URLs of other identity providers whose tokens
//!   `/api/*` also accepts (needs the `remote-jwks` feature): audience `reports-api`, keys by
//!   discovery, header `typ` `at+jwt`, `JWT` or none, scopes from `scope` or `scp`, the client
//!   from `client_id`, `azp`, `cid` or `appid`.
//! - `REDIS_URL` — a Redis (`redis://host:6379`) shared with the other instances: the
//!   `private_key_jwt` replay guard and the brute-force throttle move there (needs the `redis`
//!   feature: `cargo run --features redis --example server`). Without it, both stay in memory.
//!   With it, Redis down refuses assertions (503) and throttles in memory; see the README's
//!   "Running more than one instance".
//! - `RUST_LOG` — log filter (default `info`).
//!
//! Routes: `POST /oauth2/token`, `GET /.well-known/jwks.json`,
//! `GET /.well-known/oauth-authorization-server`,
//! `GET /.well-known/oauth-protected-resource/api` (the API's RFC 9728 metadata; see
//! [`resource_metadata`]), `GET /openapi.json` (feature `utoipa`; the security scheme comes
//! from the issuer), `GET /healthz`, `GET /metrics` (the crate's counters in the Prometheus
//! text format, with `cargo run --features metrics --example server`; without the feature, a
//! 404 that says so), `GET /api/whoami` (any valid token for `reports-api`),
//! `GET /api/reports` (`reports:read`), `POST /api/reports` (`reports:write`). The API's 401
//! and 403 challenges name its metadata (`resource_metadata="…"`).
//!
//! Limits, since the demo listens on a socket like any server:
//! - a client has [`HEADER_READ_TIMEOUT`] (10 s) to send a request's head, or the connection
//!   is closed (slowloris);
//! - `POST /api/reports` reads at most [`MAX_REPORT_BODY_BYTES`] (4 KiB; larger is 413) and
//!   takes titles of at most [`MAX_TITLE_CHARS`] (200) characters (longer is 400);
//! - the report list keeps the newest [`MAX_REPORTS`] (1000) reports; older ones are dropped.
//!
//! The banner prints the demo clients' secrets only when the demo's own clients file is loaded.
//!
//! `tests/demo.rs` includes this file as a module (`#[path]`): it builds the app with
//! [`token_issuer`] and [`app`] and serves it in-process, and runs the built binary only where
//! the process itself is the subject (the README's curl lines as a reader runs them, SIGTERM).
//! The items it uses are `pub(crate)` for that reason only.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::error::Error;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tower::ServiceExt;
use tower_client_credentials::clients::{ClientStore, MemoryClientStore};
use tower_client_credentials::issue::{
    ClientCredentialsTokenService, TokenIssuer, TokenIssuerBuilder, discovery_routes,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
#[cfg(feature = "remote-jwks")]
use tower_client_credentials::protect::Provider;
use tower_client_credentials::protect::{TrustedIssuer, resource_metadata_routes};
use tower_client_credentials::{
    BearerAuthLayer, Claims, ProtectedResourceMetadata, RequireScopeLayer, Validator,
};
use tracing_subscriber::EnvFilter;

const AUDIENCE: &str = "reports-api";

/// How long a client may take to send a request's head (request line and headers) before the
/// connection is closed: a slowloris client trickling header bytes holds a connection for this
/// long at most.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest `POST /api/reports` body read (413 beyond).
pub(crate) const MAX_REPORT_BODY_BYTES: usize = 4 * 1024;
/// The longest report title, in characters (400 beyond).
pub(crate) const MAX_TITLE_CHARS: usize = 200;
/// How many reports the demo keeps; each new one beyond drops the oldest.
pub(crate) const MAX_REPORTS: usize = 1000;
/// How long shutdown waits for open connections to finish their requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

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
    /// How long a client may take to send a request's head ([`HEADER_READ_TIMEOUT`]).
    pub(crate) header_read_timeout: Duration,
    /// `TRUSTED_ISSUERS`: other identity providers whose tokens the API accepts.
    pub(crate) trusted_issuers: Vec<String>,
    /// `REDIS_URL`: the replay guard and throttle on Redis; `None` keeps them in memory.
    pub(crate) redis_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:3000".to_owned(),
            issuer: None,
            clients_file: PathBuf::from("examples/clients.toml"),
            signing_key_file: None,
            header_read_timeout: HEADER_READ_TIMEOUT,
            trusted_issuers: Vec::new(),
            redis_url: None,
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
            header_read_timeout: default.header_read_timeout,
            trusted_issuers: std::env::var("TRUSTED_ISSUERS")
                .map(|list| parse_issuer_list(&list))
                .unwrap_or_default(),
            redis_url: std::env::var("REDIS_URL")
                .ok()
                .filter(|url| !url.is_empty()),
        }
    }

    /// Whether the clients file is the demo's own `examples/clients.toml` (under any spelling
    /// of its path), whose secrets the README publishes. Any other file holds someone's real
    /// secrets, which the banner must not guess at or print.
    pub(crate) fn uses_demo_clients(&self) -> bool {
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/clients.toml");
        match (self.clients_file.canonicalize(), demo.canonicalize()) {
            (Ok(file), Ok(demo)) => file == demo,
            _ => false,
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

/// The newest [`MAX_REPORTS`] reports; ids keep counting when old ones are dropped, so an id
/// never names two reports.
struct ReportList {
    reports: VecDeque<Report>,
    next_id: u64,
}

impl ReportList {
    fn new(seed: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut list = ReportList {
            reports: VecDeque::new(),
            next_id: 1,
        };
        for (title, author) in seed {
            list.add(title, author);
        }
        list
    }

    /// Adds a report, dropping the oldest when the list is full: memory stays bounded and the
    /// API stays writable (refusing writes once full would let one client lock out the others).
    fn add(&mut self, title: String, author: String) -> Report {
        let report = Report {
            id: self.next_id,
            title,
            author,
        };
        self.next_id += 1;
        if self.reports.len() == MAX_REPORTS {
            self.reports.pop_front();
        }
        self.reports.push_back(report.clone());
        report
    }
}

type Reports = Arc<Mutex<ReportList>>;

async fn healthz() -> &'static str {
    "ok"
}

/// The verified claims, as the API sees them.
async fn whoami(claims: Claims) -> Json<Claims> {
    Json(claims)
}

async fn list_reports(State(reports): State<Reports>) -> Result<Json<Vec<Report>>, StatusCode> {
    let list = reports
        .lock()
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(list.reports.iter().cloned().collect()))
}

/// Bodies over [`MAX_REPORT_BODY_BYTES`] never get here: the `Json` extractor answers 413.
async fn create_report(
    State(reports): State<Reports>,
    claims: Claims,
    Json(new): Json<NewReport>,
) -> Result<(StatusCode, HeaderMap, Json<Report>), (StatusCode, &'static str)> {
    if new.title.chars().count() > MAX_TITLE_CHARS {
        return Err((
            StatusCode::BAD_REQUEST,
            "the title is longer than 200 characters",
        ));
    }
    let report = reports
        .lock()
        .map_err(|_| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the report list is unusable",
            )
        })?
        .add(new.title, claims.sub);
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
    let clients = MemoryClientStore::from_toml_file(&config.clients_file)?;
    token_issuer_with(config, issuer_url, clients)
}

/// `DATABASE_URL`, when set: the clients in SQL (feature `sqlx`), seeded from `CLIENTS_FILE`
/// while the database has no clients.
#[cfg(feature = "sqlx")]
async fn database_clients(config: &Config) -> Result<Option<Arc<dyn ClientStore>>, Box<dyn Error>> {
    use tower_client_credentials::clients::SqlClientStore;
    let Ok(url) = std::env::var("DATABASE_URL") else {
        return Ok(None);
    };
    let store = SqlClientStore::connect(&url).await?;
    if store.count().await? == 0 {
        let seed = MemoryClientStore::from_toml_file(&config.clients_file)?;
        for client in seed.clients() {
            store.insert(client).await?;
        }
        tracing::info!(clients = seed.len(), from = %config.clients_file.display(), "seeded the client database");
    }
    Ok(Some(Arc::new(store)))
}

#[cfg(not(feature = "sqlx"))]
async fn database_clients(_: &Config) -> Result<Option<Arc<dyn ClientStore>>, Box<dyn Error>> {
    match std::env::var_os("DATABASE_URL") {
        Some(_) => Err(
            "DATABASE_URL needs the sqlx feature: cargo run --example server --features sqlx"
                .into(),
        ),
        None => Ok(None),
    }
}

/// [`token_issuer`] over another client store.
pub(crate) fn token_issuer_with(
    config: &Config,
    issuer_url: String,
    clients: impl ClientStore,
) -> Result<TokenIssuer, Box<dyn Error>> {
    let ring = KeyRing::new(signing_key(config.signing_key_file.as_deref())?);
    let builder = TokenIssuer::builder()
        .issuer(issuer_url)
        .keys(ring)
        .clients(clients)
        .scopes_supported(["reports:read", "reports:write"]);
    Ok(with_redis(builder, config.redis_url.as_deref())?.build()?)
}

/// `REDIS_URL`: the replay guard and the throttle on Redis, shared with the other instances.
/// Nothing is sent to Redis here: an instance starts while Redis is down.
#[cfg(feature = "redis")]
fn with_redis(
    builder: TokenIssuerBuilder,
    url: Option<&str>,
) -> Result<TokenIssuerBuilder, Box<dyn Error>> {
    use tower_client_credentials::issue::throttle::ThrottleLimits;
    use tower_client_credentials::redis::{RedisConnection, RedisReplayGuard, RedisThrottle};

    let Some(url) = url else {
        return Ok(builder);
    };
    let redis = RedisConnection::open(url).map_err(|e| format!("REDIS_URL: {e}"))?;
    tracing::info!("replay guard and throttle on Redis (REDIS_URL)");
    Ok(builder
        .replay_guard(RedisReplayGuard::new(redis.clone()))
        .throttle(RedisThrottle::new(redis, ThrottleLimits::default())))
}

/// Without the `redis` feature, `REDIS_URL` is an error rather than silently ignored.
#[cfg(not(feature = "redis"))]
fn with_redis(
    builder: TokenIssuerBuilder,
    url: Option<&str>,
) -> Result<TokenIssuerBuilder, Box<dyn Error>> {
    match url {
        Some(_) => Err(
            "REDIS_URL needs the redis feature: cargo run --features redis --example server".into(),
        ),
        None => Ok(builder),
    }
}

/// `TRUSTED_ISSUERS`: comma-separated, spaces trimmed, empty entries skipped.
pub(crate) fn parse_issuer_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|issuer| !issuer.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The reports API's RFC 9728 metadata. The demo serves the API and its issuer at one origin,
/// so the resource is `<the issuer URL's origin>/api` (metadata at
/// `/.well-known/oauth-protected-resource/api`) and the issuer is its authorization server.
/// The API accepts two audiences: `reports-api`, which the demo clients are registered with,
/// and the resource URL itself, which an MCP client asks for with RFC 8707
/// `resource=<base>/api` (when its registration allows that audience). `allow_http`: the demo
/// speaks plain http, on whatever host `ISSUER` names.
pub(crate) fn resource_metadata(
    issuer: &TokenIssuer,
) -> Result<ProtectedResourceMetadata, Box<dyn Error>> {
    let url: axum::http::Uri = issuer.issuer().parse()?;
    let (Some(scheme), Some(authority)) = (url.scheme_str(), url.authority()) else {
        return Err("the issuer URL has no scheme or host".into());
    };
    Ok(
        ProtectedResourceMetadata::builder(format!("{scheme}://{authority}/api"))
            .authorization_server(issuer.issuer())
            .scopes_supported(["reports:read", "reports:write"])
            .resource_name("tower-client-credentials demo reports API")
            .allow_http()
            .build()?,
    )
}

/// The whole demo: the token endpoint, discovery, `/healthz` and the reports API, whose tokens
/// `issuer` signs, as do the identity providers at `trusted_issuers` (`TRUSTED_ISSUERS`).
pub(crate) fn app(
    issuer: &TokenIssuer,
    trusted_issuers: &[String],
) -> Result<Router, Box<dyn Error>> {
    let metadata = resource_metadata(issuer)?;
    let mut validator = Validator::builder()
        .issuer(issuer.issuer(), KeySource::local(issuer.keys().clone()))
        .audience(AUDIENCE)
        .audience(metadata.resource());
    for url in trusted_issuers {
        validator = validator.trust(trusted_issuer(url)?);
    }
    let validator = validator.build()?;
    let reports: Reports = Arc::new(Mutex::new(ReportList::new([
        ("Q1 revenue".into(), "finance".into()),
        ("Q2 revenue".into(), "finance".into()),
    ])));
    let api = Router::new()
        .route("/api/whoami", get(whoami))
        .route(
            "/api/reports",
            get(list_reports)
                .layer(RequireScopeLayer::all(["reports:read"]))
                .merge(
                    post(create_report)
                        .layer::<_, Infallible>(DefaultBodyLimit::max(MAX_REPORT_BODY_BYTES))
                        .layer(RequireScopeLayer::all(["reports:write"])),
                ),
        )
        .layer(BearerAuthLayer::new(validator).resource_metadata(&metadata))
        .with_state(reports);
    Ok(Router::new()
        .route_service(
            "/oauth2/token",
            ClientCredentialsTokenService::new(issuer.clone()),
        )
        .route("/healthz", get(healthz))
        .merge(discovery_routes(issuer))
        .merge(resource_metadata_routes(&metadata))
        .merge(openapi_routes(issuer))
        .merge(metrics_routes()?)
        .merge(api))
}

/// `GET /metrics`: the counters `tower_client_credentials::metrics` documents, rendered by the
/// process's Prometheus recorder.
#[cfg(feature = "metrics")]
fn metrics_routes() -> Result<Router, Box<dyn Error>> {
    let handle = prometheus_handle()?;
    let render = move || {
        let handle = handle.clone();
        async move {
            handle.run_upkeep();
            (
                [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                handle.render(),
            )
        }
    };
    Ok(Router::new().route("/metrics", get(render)))
}

/// The process's Prometheus recorder, installed on first use: a process has one global
/// recorder, and the in-process tests build the app more than once.
#[cfg(feature = "metrics")]
pub(crate) fn prometheus_handle()
-> Result<metrics_exporter_prometheus::PrometheusHandle, Box<dyn Error>> {
    static HANDLE: Mutex<Option<metrics_exporter_prometheus::PrometheusHandle>> = Mutex::new(None);
    let mut slot = HANDLE
        .lock()
        .map_err(|_| "the metrics recorder lock is poisoned")?;
    if let Some(handle) = slot.as_ref() {
        return Ok(handle.clone());
    }
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    *slot = Some(handle.clone());
    Ok(handle)
}

/// Without the `metrics` feature, `GET /metrics` says how to turn it on.
#[cfg(not(feature = "metrics"))]
fn metrics_routes() -> Result<Router, Box<dyn Error>> {
    let off = || async {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "metrics are off: run the demo with `--features metrics`\n",
        )
    };
    Ok(Router::new().route("/metrics", get(off)))
}

/// `GET /openapi.json`: the API's OpenAPI document, whose OAuth 2.0 client-credentials security
/// scheme (token URL, scopes) comes from `issuer` (feature `utoipa`).
#[cfg(feature = "utoipa")]
fn openapi_routes(issuer: &TokenIssuer) -> Router {
    use tower_client_credentials::openapi::ClientCredentialsScheme;
    use utoipa::Modify;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};
    use utoipa::openapi::{InfoBuilder, OpenApiBuilder};

    let scheme = ClientCredentialsScheme::from_issuer(issuer)
        .scope("reports:read", "List the reports")
        .scope("reports:write", "Create reports")
        .description("Machine clients: a client-credentials token for the audience reports-api");
    let operation = |summary: &str, scopes: &[&str]| {
        OperationBuilder::new()
            .summary(Some(summary))
            .security(scheme.requirement(scopes.iter().copied()))
            .build()
    };
    let mut reports = PathItem::new(
        HttpMethod::Get,
        operation("List the reports", &["reports:read"]),
    );
    reports.post = Some(operation("Create a report", &["reports:write"]));
    let paths = PathsBuilder::new()
        .path(
            "/api/whoami",
            PathItem::new(HttpMethod::Get, operation("The token's claims", &[])),
        )
        .path("/api/reports", reports);
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("tower-client-credentials demo")
                .version(env!("CARGO_PKG_VERSION"))
                .build(),
        )
        .paths(paths)
        .build();
    scheme.modify(&mut doc);
    // Serialized once; each answer shares the bytes.
    let json = axum::body::Bytes::from(serde_json::to_vec_pretty(&doc).unwrap_or_default());
    Router::new().route(
        "/openapi.json",
        get(move || {
            std::future::ready(([(header::CONTENT_TYPE, "application/json")], json.clone()))
        }),
    )
}

#[cfg(not(feature = "utoipa"))]
fn openapi_routes(_: &TokenIssuer) -> Router {
    Router::new().route(
        "/openapi.json",
        get(|| async {
            (
                StatusCode::NOT_FOUND,
                "/openapi.json needs the utoipa feature: cargo run --example server --features metrics,utoipa\n",
            )
        }),
    )
}

/// Another identity provider, as `TRUSTED_ISSUERS` describes it: its keys by discovery (loopback
/// over http, anything else over https), plain JWTs or RFC 9068 tokens, scopes from `scope` or
/// `scp`.
#[cfg(feature = "remote-jwks")]
fn trusted_issuer(url: &str) -> Result<TrustedIssuer, Box<dyn Error>> {
    Ok(Provider::oidc(url).discover()?.audience(AUDIENCE))
}

#[cfg(not(feature = "remote-jwks"))]
fn trusted_issuer(url: &str) -> Result<TrustedIssuer, Box<dyn Error>> {
    Err(format!("TRUSTED_ISSUERS ({url}) needs the remote-jwks feature").into())
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open connections finish
/// their requests (for [`SHUTDOWN_GRACE`] at most).
///
/// `axum::serve` would do, but it sets no header-read timeout, so a client trickling a request
/// head byte by byte holds its connection (and a task) for as long as it likes. A
/// `tower_http::timeout` layer cannot help: a tower service is called only once the head has
/// been read. So this is hyper-util's server builder, with HTTP/1 `header_read_timeout` on a
/// tokio timer (HTTP/2 is served too, as `axum::serve` does). Each request carries the peer
/// address as axum's `ConnectInfo<SocketAddr>`, as `into_make_service_with_connect_info` would
/// add it, for per-peer limits in the app.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(error) => {
                    // Out of file descriptors, most likely: wait instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small JSON answers: do not hold them back for Nagle.
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection closed with an error");
            }
        });
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period; closing them");
    }
}

/// The start-up banner; its first line announces the base URL (tests read it). The demo
/// clients' secrets are shown only when [`Config::uses_demo_clients`].
pub(crate) fn banner(config: &Config, base: &str, issuer_url: &str, kid: &str) -> String {
    let mut lines = vec![
        format!("tower-client-credentials demo listening on {base}"),
        format!("  issuer:  {issuer_url}  (signing key kid {kid})"),
    ];
    if config.uses_demo_clients() {
        lines.extend([
            "  clients: demo / demo-secret      (reports:read reports:write)".to_owned(),
            "           reader / reader-secret  (reports:read)".to_owned(),
            format!(
                "  try:     curl -s -u demo:demo-secret -d grant_type=client_credentials {base}/oauth2/token"
            ),
        ]);
    } else {
        lines.push(format!("  clients: from {}", config.clients_file.display()));
    }
    lines.join("\n")
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
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound: SocketAddr = listener.local_addr()?;
    let base = format!("http://{bound}");
    let issuer_url = config.issuer.clone().unwrap_or_else(|| base.clone());

    let issuer = match database_clients(&config).await? {
        Some(clients) => token_issuer_with(&config, issuer_url.clone(), clients)?,
        None => token_issuer(&config, issuer_url.clone())?,
    };
    let app = app(&issuer, &config.trusted_issuers)?;
    let shutdown = shutdown_signal();

    let kid = issuer.keys().active().kid().to_owned();
    println!("{}", banner(&config, &base, &issuer_url, &kid));
    tracing::info!(%base, clients = %config.clients_file.display(), "ready");

    serve(listener, app, config.header_read_timeout, shutdown).await;
    Ok(())
}
