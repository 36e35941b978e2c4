//! The token-endpoint target of `scripts/load.sh`: `POST /oauth2/token` (client credentials,
//! EdDSA tokens) and `GET /healthz` on one server, so that grants per second can be read as a
//! ratio to the cheapest route of the same server.
//!
//! ```text
//! cargo run --release --example load_issuer   # ADDR=127.0.0.1:3101 OUT=target/load
//! ```
//!
//! Clients (all `client_secret_basic`, scope `reports:read`, audience `load`):
//! - `sha`: a generated secret, stored as SHA-256;
//! - `argon`: a password stored as Argon2id (default parameters), for the repeated grant;
//! - `argon-0` … `argon-{ARGON_CLIENTS-1}` (default 50 000): the same Argon2id password hash
//!   under distinct ids, so that each grant with a new id is a first grant: a cache of verified
//!   credentials keyed by (client id, secret) misses, and Argon2id runs.
//!
//! With feature `sqlx`, `POST /sql/oauth2/token` is the same issuer with its clients in a SQLite
//! file (`OUT/issuer.sqlite`): the `sha` client again as `sql-sha` (`issuer-sql.auth`), for the
//! SQL store's row against the memory store's.
//!
//! It writes the `Authorization` header values to `OUT`: `issuer-sha.auth`,
//! `issuer-argon.auth` (one line each) and `issuer-argon-first.auth` (one line per id), then
//! prints `ready http://ADDR`.
//!
//! The defences are the defaults except one: the brute-force throttle only counts failed
//! authentications (a success never does, from any address), so successful grants from
//! 127.0.0.1 are never throttled; but a grant waits at most 1 s for an Argon2id permit by
//! default, and 32 connections queueing for two permits would then measure the 503s of the
//! limiter rather than grants, so the wait is raised to 60 s.

use std::error::Error;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tower_client_credentials::ScopeSet;
use tower_client_credentials::clients::{Client, ClientSecret, MemoryClientStore};
use tower_client_credentials::issue::{ClientCredentialsTokenService, HashingLimit, TokenIssuer};
use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};

const ISSUER: &str = "https://auth.load.test";
const AUDIENCE: &str = "load";
/// The Argon2id clients' password (alphanumeric: nothing to form-encode, RFC 6749 §2.3.1).
const PASSWORD: &str = "loadharnesspassword";

/// The same issuer with its clients in a SQLite file (`OUT/issuer.sqlite`, made afresh): the
/// `sha` client again, under the id `sql-sha` with the same secret, for the SQL store's row.
#[cfg(feature = "sqlx")]
async fn sql_issuer(
    out: &std::path::Path,
    sha_plain: &str,
    sha_stored: ClientSecret,
) -> Result<TokenIssuer, Box<dyn Error>> {
    use tower_client_credentials::clients::SqlClientStore;
    let path = out.join("issuer.sqlite");
    let _ = std::fs::remove_file(&path);
    let store = SqlClientStore::connect(&format!("sqlite://{}", path.display())).await?;
    store.insert(&client("sql-sha", sha_stored)?).await?;
    std::fs::write(out.join("issuer-sql.auth"), basic("sql-sha", sha_plain))?;
    Ok(TokenIssuer::builder()
        .issuer(ISSUER)
        .keys(KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?))
        .clients(store)
        .build()?)
}

fn client(id: &str, secret: ClientSecret) -> Result<Client, Box<dyn Error>> {
    Ok(Client::builder(id)
        .secret(secret)
        .allowed_scopes(ScopeSet::parse("reports:read")?)
        .audiences([AUDIENCE])
        .build()?)
}

/// `Basic base64(id:secret)`: ids and secrets here are all URL-safe characters, which the
/// form-encoding of RFC 6749 §2.3.1 leaves as they are.
fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}\n", STANDARD.encode(format!("{id}:{secret}")))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let addr = env("ADDR").unwrap_or_else(|| "127.0.0.1:3101".to_owned());
    let out = PathBuf::from(env("OUT").unwrap_or_else(|| "target/load".to_owned()));
    let first_grants: usize = env("ARGON_CLIENTS").map_or(Ok(50_000), |v| v.parse())?;
    std::fs::create_dir_all(&out)?;

    let (sha_plain, sha_stored) = ClientSecret::generate();
    // One Argon2id hash (15 ms) shared by every Argon2id client: registering 50 000 clients
    // stays instant, and each verification still runs Argon2id in full.
    let argon = ClientSecret::hash_password(PASSWORD)?;
    let mut store = MemoryClientStore::new()
        .with_client(client("sha", sha_stored.clone())?)
        .with_client(client("argon", argon.clone())?);
    let mut first = String::with_capacity(first_grants * 48);
    for i in 0..first_grants {
        let id = format!("argon-{i}");
        store.insert(client(&id, argon.clone())?);
        first.push_str(&basic(&id, PASSWORD));
    }
    std::fs::write(
        out.join("issuer-sha.auth"),
        basic("sha", sha_plain.expose()),
    )?;
    std::fs::write(out.join("issuer-argon.auth"), basic("argon", PASSWORD))?;
    std::fs::write(out.join("issuer-argon-first.auth"), first)?;

    let issuer = TokenIssuer::builder()
        .issuer(ISSUER)
        .keys(KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?))
        .clients(store)
        .hashing_limit(HashingLimit::default().with_wait(Duration::from_secs(60)))
        .build()?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route_service(
            "/oauth2/token",
            ClientCredentialsTokenService::new(issuer.clone()),
        );
    #[cfg(feature = "sqlx")]
    let app = app.route_service(
        "/sql/oauth2/token",
        ClientCredentialsTokenService::new(sql_issuer(&out, sha_plain.expose(), sha_stored).await?),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("ready http://{}", listener.local_addr()?);
    // With the peer address, as in production: the per-address limit is live (it counts
    // failures only, and the harness sends none).
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
