//! `SqlClientStore` (feature `sqlx`): SQLite in a temporary file always; PostgreSQL when
//! `TEST_POSTGRES_URL` is set (each test in its own schema), failing when it is set but
//! unreachable. The store's behaviour, migrations, rotation, hostile rows, bad URLs, the token
//! endpoint's cases over the SQL store, and two instances sharing one PostgreSQL.
#![cfg(all(feature = "sqlx", feature = "issue"))]

mod common;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use common::issue::{Reply, basic, http, scopes, serve_with_connect_info};
use common::store_cases::{self, GRANT, invalid_client_with_challenge};
use common::{AUDIENCE, ISSUER, now};
use sqlx::Connection;
use tower_client_credentials::clients::{
    AuthMethod, Client, ClientSecret, ClientStore, MemoryClientStore, SqlClientStore, SqlStoreError,
};
use tower_client_credentials::issue::{ClientCredentialsTokenService, TokenIssuer};
use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};
use tower_client_credentials::store::StoreError;

/// A fresh SQLite file under the temp dir (removed at the end of the test when it passes).
struct SqliteFile(PathBuf);

impl SqliteFile {
    fn new() -> Self {
        let name = format!("tcc-sql-{:016x}.db", rand::random::<u64>());
        SqliteFile(std::env::temp_dir().join(name))
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

/// A schema of its own in the `TEST_POSTGRES_URL` database.
struct PgSchema {
    base: String,
    schema: String,
}

impl PgSchema {
    /// `None` (and a note saying why) without `TEST_POSTGRES_URL`; a failed test when it is
    /// set but the database cannot be reached.
    async fn new(test: &str) -> Option<Self> {
        let Ok(base) = std::env::var("TEST_POSTGRES_URL") else {
            // Straight to stderr, past the test harness's capture: the line shows in a plain
            // `cargo test` run, where the test itself reports `ok`.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: TEST_POSTGRES_URL is not set \
                 (e.g. postgres://postgres@127.0.0.1:5432/test)"
            );
            return None;
        };
        let schema = format!("t_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("TEST_POSTGRES_URL is set but unreachable: {e}"));
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .expect("create schema");
        Some(PgSchema { base, schema })
    }

    fn url(&self) -> String {
        let separator = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}options=-csearch_path%3D{}",
            self.base, self.schema
        )
    }

    async fn drop_schema(self) {
        let mut conn = sqlx::PgConnection::connect(&self.base)
            .await
            .expect("connect");
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .execute(&mut conn)
            .await
            .expect("drop schema");
    }
}

/// Runs raw SQL against the store's database (to plant hostile rows and newer versions).
async fn raw_sql(url: &str, statements: &[&str]) {
    if url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        for statement in statements {
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .expect(statement);
        }
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
        for statement in statements {
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .expect(statement);
        }
    }
}

/// A token endpoint over `store` on 127.0.0.1: the token URL.
async fn token_endpoint(store: impl ClientStore) -> String {
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).expect("keygen"));
    let issuer = TokenIssuer::builder()
        .issuer(ISSUER)
        .keys(ring)
        .clients(store)
        .build()
        .expect("issuer");
    let app =
        Router::new().route_service("/oauth2/token", ClientCredentialsTokenService::new(issuer));
    format!("{}/oauth2/token", serve_with_connect_info(app).await)
}

/// A client-credentials grant with Basic: the answer.
async fn grant(url: &str, id: &str, secret: &str) -> Reply {
    let request = http()
        .post(url)
        .header("content-type", store_cases::FORM)
        .header("authorization", basic(id, secret))
        .body(GRANT);
    Reply::read(request.send().await.expect("request")).await
}

fn exporter() -> tower_client_credentials::clients::ClientBuilder {
    Client::builder("reports-exporter")
        .allowed_scopes(scopes("reports:read reports:write"))
        .default_scopes(scopes("reports:read"))
        .audiences([AUDIENCE, "audit-api"])
}

// ---- the store's behaviour, on any backend ----

async fn full_behaviour(url: &str) {
    let store = SqlClientStore::connect(url).await.expect("connect");
    // A client with everything: two secrets, a key, scopes, audiences, ttl, both methods.
    let signer = SigningKey::generate(Algorithm::ES256).expect("keygen");
    let (_, old) = ClientSecret::generate();
    let new = ClientSecret::hash_password("correct horse").expect("argon2id");
    let full = Client::builder("billing")
        .add_secret(old, Some(now() + 3600))
        .add_secret(new, None)
        .auth_methods([AuthMethod::ClientSecretPost, AuthMethod::PrivateKeyJwt])
        .keys([signer.verifying_key().clone()])
        .allowed_scopes(scopes("invoices:read invoices:write"))
        .default_scopes(scopes("invoices:read"))
        .audiences(["billing-api", "audit-api"])
        .default_audience("audit-api")
        .token_ttl(Duration::from_secs(120))
        .build()
        .expect("client");
    store.insert(&full).await.expect("insert");
    let found = store.find("billing").await.expect("find").expect("stored");
    assert_eq!(found.id(), "billing");
    let expiries: Vec<_> = found.secrets().iter().map(|s| s.not_after()).collect();
    let stored: Vec<_> = full.secrets().iter().map(|s| s.not_after()).collect();
    assert_eq!(expiries, stored);
    assert!(expiries[0].is_some() && expiries[1].is_none());
    assert!(found.secrets()[1].secret().verify(b"correct horse"));
    assert_eq!(found.auth_methods().len(), 2);
    assert!(found.allows(AuthMethod::PrivateKeyJwt) && found.allows(AuthMethod::ClientSecretPost));
    assert_eq!(found.keys()[0].kid(), signer.verifying_key().kid());
    assert_eq!(found.allowed_scopes(), full.allowed_scopes());
    assert_eq!(found.default_scopes(), full.default_scopes());
    assert_eq!(found.audiences(), ["billing-api", "audit-api"]);
    assert_eq!(found.default_audience(), "audit-api");
    assert_eq!(found.token_ttl(), Some(Duration::from_secs(120)));
    assert!(found.is_enabled());
    assert!(store.find("nobody").await.expect("find").is_none());
    // Unknown ids are checked against an Argon2id dummy once an Argon2id secret is stored.
    assert!(store.dummy_secret().is_expensive());

    // add: a generated secret, returned once.
    let secret = store.add(exporter()).await.expect("add");
    let record = store
        .show("reports-exporter")
        .await
        .expect("show")
        .expect("there");
    assert!(
        record.client.secrets()[0]
            .secret()
            .verify(secret.expose().as_bytes())
    );
    assert_eq!(record.secrets.len(), 1);
    assert_eq!(record.secrets[0].kind, "sha256");
    assert!(record.created_at >= now() - 5 && record.updated_at >= record.created_at);
    let again = store.add(exporter()).await.unwrap_err();
    assert_eq!(
        again,
        SqlStoreError::DuplicateClient("reports-exporter".into())
    );
    let ids: Vec<String> = store
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.client.id().to_owned())
        .collect();
    assert_eq!(ids, ["billing", "reports-exporter"]);
    assert_eq!(store.count().await.expect("count"), 2);

    // disable / enable: this process's writes are seen at once, cache or not.
    store.disable("reports-exporter").await.expect("disable");
    assert!(
        !store
            .find("reports-exporter")
            .await
            .unwrap()
            .unwrap()
            .is_enabled()
    );
    store.enable("reports-exporter").await.expect("enable");
    assert!(
        store
            .find("reports-exporter")
            .await
            .unwrap()
            .unwrap()
            .is_enabled()
    );

    // add_secret / expire_secret.
    let (second, second_id) = store
        .add_secret("reports-exporter", None)
        .await
        .expect("add_secret");
    let live: Vec<_> = store
        .find("reports-exporter")
        .await
        .unwrap()
        .unwrap()
        .live_secrets(now())
        .cloned()
        .collect();
    assert_eq!(live.len(), 2);
    assert!(live[1].secret().verify(second.expose().as_bytes()));
    let first_id = record.secrets[0].id;
    store
        .expire_secret("reports-exporter", first_id, None)
        .await
        .expect("expire");
    let client = store.find("reports-exporter").await.unwrap().unwrap();
    assert_eq!(client.live_secrets(now() + 1).count(), 1);
    let missing = store
        .expire_secret("reports-exporter", second_id + 100, None)
        .await
        .unwrap_err();
    assert_eq!(
        missing,
        SqlStoreError::UnknownSecret {
            client: "reports-exporter".into(),
            secret: second_id + 100
        }
    );

    // remove, and unknown ids everywhere.
    store.remove("reports-exporter").await.expect("remove");
    assert!(store.find("reports-exporter").await.unwrap().is_none());
    let unknown = SqlStoreError::UnknownClient("reports-exporter".into());
    assert_eq!(store.remove("reports-exporter").await.unwrap_err(), unknown);
    assert_eq!(
        store.disable("reports-exporter").await.unwrap_err(),
        unknown
    );
    assert_eq!(
        store
            .add_secret("reports-exporter", None)
            .await
            .unwrap_err(),
        unknown
    );
    assert_eq!(
        store
            .expire_secret("reports-exporter", 1, None)
            .await
            .unwrap_err(),
        unknown
    );
}

/// Both secrets work, then the old one is expired and refused; an expired secret is refused;
/// a disabled client is refused.
async fn rotation_over_http(url: &str) {
    let store = SqlClientStore::connect(url).await.expect("connect");
    let endpoint = token_endpoint(store.clone()).await;
    let old = store.add(exporter()).await.expect("add");
    let old_id = store
        .show("reports-exporter")
        .await
        .unwrap()
        .unwrap()
        .secrets[0]
        .id;
    assert_eq!(
        grant(&endpoint, "reports-exporter", old.expose())
            .await
            .status,
        200
    );
    let (new, _) = store
        .add_secret("reports-exporter", None)
        .await
        .expect("add_secret");
    assert_eq!(
        grant(&endpoint, "reports-exporter", old.expose())
            .await
            .status,
        200,
        "old"
    );
    assert_eq!(
        grant(&endpoint, "reports-exporter", new.expose())
            .await
            .status,
        200,
        "new"
    );
    store
        .expire_secret("reports-exporter", old_id, None)
        .await
        .expect("expire");
    let refused = grant(&endpoint, "reports-exporter", old.expose()).await;
    assert_eq!(
        refused,
        invalid_client_with_challenge(),
        "expired old secret"
    );
    assert_eq!(
        grant(&endpoint, "reports-exporter", new.expose())
            .await
            .status,
        200
    );

    // A secret stored already past its not_after.
    let (plain, stale) = ClientSecret::generate();
    let expired = Client::builder("expired")
        .add_secret(stale, Some(now() - 1))
        .audiences([AUDIENCE])
        .build()
        .expect("client");
    store.insert(&expired).await.expect("insert");
    let refused = grant(&endpoint, "expired", plain.expose()).await;
    assert_eq!(refused, invalid_client_with_challenge(), "expired secret");

    store.disable("reports-exporter").await.expect("disable");
    let refused = grant(&endpoint, "reports-exporter", new.expose()).await;
    assert_eq!(refused, invalid_client_with_challenge(), "disabled client");
    store.enable("reports-exporter").await.expect("enable");
    assert_eq!(
        grant(&endpoint, "reports-exporter", new.expose())
            .await
            .status,
        200
    );
}

/// Each hostile value is an invalid record naming the client and the field.
async fn hostile_rows(url: &str) {
    let store = SqlClientStore::connect(url)
        .await
        .expect("connect")
        .with_cache(10, Duration::ZERO);
    let signer = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let client = Client::builder("victim")
        .secret(ClientSecret::generate().1)
        .auth_methods([AuthMethod::ClientSecretBasic, AuthMethod::PrivateKeyJwt])
        .keys([signer.verifying_key().clone()])
        .allowed_scopes(scopes("a"))
        .audiences([AUDIENCE])
        .build()
        .expect("client");
    let cases: [(&str, &str, &str); 6] = [
        (
            "UPDATE client_secrets SET hash = 'sha256:hunter2' WHERE client_id = 'victim'",
            "client_secrets.hash",
            "hunter2",
        ),
        (
            "UPDATE client_keys SET jwk = '{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"!!\"}' WHERE client_id = 'victim'",
            "client_keys.jwk",
            "!!",
        ),
        (
            "UPDATE client_keys SET jwk = 'not json' WHERE client_id = 'victim'",
            "client_keys.jwk",
            "not json",
        ),
        (
            "UPDATE client_scopes SET scope = 'a\"b' WHERE client_id = 'victim'",
            "client_scopes.scope",
            "a\"b",
        ),
        (
            "UPDATE clients SET token_ttl_secs = -5 WHERE id = 'victim'",
            "clients.token_ttl_secs",
            "-5",
        ),
        (
            "UPDATE client_auth_methods SET method = 'client_secret_jwt' WHERE client_id = 'victim' AND method = 'private_key_jwt'",
            "client_auth_methods.method",
            "client_secret_jwt",
        ),
    ];
    for (statement, field, value) in cases {
        store.insert(&client).await.expect("insert");
        raw_sql(url, &[statement]).await;
        let err = store.find("victim").await.unwrap_err();
        let StoreError::InvalidRecord(message) = &err else {
            panic!("{statement}: not an invalid record: {err:?}");
        };
        assert!(
            message.contains("client `victim`") && message.contains(field),
            "{message}"
        );
        assert!(!message.contains(value), "{message} shows the value");
        store.remove("victim").await.expect("remove");
    }
    // Not-null columns of the wrong type (SQLite stores whatever it is given).
    if url.starts_with("sqlite") {
        store.insert(&client).await.expect("insert");
        raw_sql(
            url,
            &["UPDATE clients SET enabled = 'yes' WHERE id = 'victim'"],
        )
        .await;
        let err = store.find("victim").await.unwrap_err();
        assert!(err.to_string().contains("clients.enabled"), "{err}");
        // Over HTTP: the server's problem, 503, never a panic.
        let endpoint = token_endpoint(store.clone()).await;
        let reply = grant(&endpoint, "victim", "whatever").await;
        assert_eq!(reply.status, 503, "{}", reply.body);
    }
}

/// A database migrated by a newer binary is a typed error naming both versions.
async fn newer_schema(url: &str) {
    SqlClientStore::connect(url)
        .await
        .expect("first connect migrates");
    let binary = 20261127000001_i64;
    let checksum = if url.starts_with("sqlite") {
        "X'00'"
    } else {
        "'\\x00'::bytea"
    };
    raw_sql(url, &[&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (30000101000000, 'from the future', TRUE, {checksum}, 0)"
    )])
    .await;
    let err = SqlClientStore::connect(url).await.unwrap_err();
    assert_eq!(
        err,
        SqlStoreError::SchemaTooNew {
            database: 30000101000000,
            binary
        }
    );
    assert!(
        err.to_string().contains("30000101000000") && err.to_string().contains(&binary.to_string())
    );
}

// ---- SQLite: always ----

#[tokio::test]
async fn sqlite_store_full_behaviour() {
    let file = SqliteFile::new();
    full_behaviour(&file.url()).await;
}

#[tokio::test]
async fn sqlite_migrations_create_the_file_and_rerun_on_an_existing_database() {
    let file = SqliteFile::new();
    assert!(!file.0.exists());
    let store = SqlClientStore::connect(&file.url())
        .await
        .expect("empty database");
    assert!(file.0.exists());
    let secret = store.add(exporter()).await.expect("add");
    drop(store);
    let again = SqlClientStore::connect(&file.url())
        .await
        .expect("migrated database");
    let client = again.find("reports-exporter").await.unwrap().expect("kept");
    assert!(
        client.secrets()[0]
            .secret()
            .verify(secret.expose().as_bytes())
    );
}

#[tokio::test]
async fn sqlite_in_memory_database_keeps_its_schema_and_clients() {
    let store = SqlClientStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    let secret = store.add(exporter()).await.expect("add");
    store.clear_cache();
    let client = store.find("reports-exporter").await.unwrap().expect("kept");
    assert!(
        client.secrets()[0]
            .secret()
            .verify(secret.expose().as_bytes())
    );
}

#[tokio::test]
async fn sqlite_rotation_expiry_and_disabling_over_http() {
    let file = SqliteFile::new();
    rotation_over_http(&file.url()).await;
}

#[tokio::test]
async fn sqlite_hostile_rows_are_invalid_records() {
    let file = SqliteFile::new();
    hostile_rows(&file.url()).await;
}

#[tokio::test]
async fn sqlite_newer_schema_version_is_a_typed_error() {
    let file = SqliteFile::new();
    newer_schema(&file.url()).await;
}

#[tokio::test]
async fn malformed_or_unreachable_database_urls_are_typed_errors_without_the_password() {
    let invalid = |e: &SqlStoreError| matches!(e, SqlStoreError::InvalidUrl(_));
    for url in [
        "",
        "clients.db",
        "mysql://root:hunter2@127.0.0.1/db",
        "postgres://user:hunter2@127.0.0.1:notaport/db",
        "postgres://user:hunter%32@[::1/db",
        "sqlite://file.db?mode=sideways",
    ] {
        let err = SqlClientStore::connect(url).await.unwrap_err();
        assert!(invalid(&err), "{url}: {err:?}");
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("hunter%32"),
            "{shown}"
        );
    }
    // Nothing listens on port 1.
    let err = SqlClientStore::connect("postgres://user:hunter2@127.0.0.1:1/db")
        .await
        .unwrap_err();
    assert!(matches!(err, SqlStoreError::Connect(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let missing_dir = "sqlite:///nonexistent-dir-for-tcc/clients.db";
    let err = SqlClientStore::connect(missing_dir).await.unwrap_err();
    assert!(matches!(err, SqlStoreError::Connect(_)), "{err:?}");
}

/// tests/issue_errors.rs's store-dependent cases, against the memory store and SQLite.
#[tokio::test]
async fn issue_error_cases_against_the_memory_and_sqlite_stores() {
    let fixture = store_cases::fixture();
    let memory = fixture
        .clients
        .iter()
        .cloned()
        .fold(MemoryClientStore::new(), MemoryClientStore::with_client);
    store_cases::run_all(&store_cases::endpoint(memory, &fixture).await).await;

    let file = SqliteFile::new();
    let sql = SqlClientStore::connect(&file.url()).await.expect("connect");
    for client in &fixture.clients {
        sql.insert(client).await.expect("insert");
    }
    store_cases::run_all(&store_cases::endpoint(sql, &fixture).await).await;
}

// ---- PostgreSQL: when TEST_POSTGRES_URL is set ----

#[tokio::test]
async fn postgres_store_full_behaviour() {
    let Some(pg) = PgSchema::new("postgres_store_full_behaviour").await else {
        return;
    };
    full_behaviour(&pg.url()).await;
    pg.drop_schema().await;
}

#[tokio::test]
async fn postgres_rotation_expiry_and_disabling_over_http() {
    let Some(pg) = PgSchema::new("postgres_rotation_expiry_and_disabling_over_http").await else {
        return;
    };
    rotation_over_http(&pg.url()).await;
    pg.drop_schema().await;
}

#[tokio::test]
async fn postgres_hostile_rows_are_invalid_records() {
    let Some(pg) = PgSchema::new("postgres_hostile_rows_are_invalid_records").await else {
        return;
    };
    hostile_rows(&pg.url()).await;
    pg.drop_schema().await;
}

#[tokio::test]
async fn postgres_migrations_and_newer_schema_version() {
    let Some(pg) = PgSchema::new("postgres_migrations_and_newer_schema_version").await else {
        return;
    };
    SqlClientStore::connect(&pg.url())
        .await
        .expect("empty schema");
    SqlClientStore::connect(&pg.url())
        .await
        .expect("migrated schema");
    newer_schema(&pg.url()).await;
    pg.drop_schema().await;
}

#[tokio::test]
async fn issue_error_cases_against_the_postgres_store() {
    let Some(pg) = PgSchema::new("issue_error_cases_against_the_postgres_store").await else {
        return;
    };
    let fixture = store_cases::fixture();
    let sql = SqlClientStore::connect(&pg.url()).await.expect("connect");
    for client in &fixture.clients {
        sql.insert(client).await.expect("insert");
    }
    store_cases::run_all(&store_cases::endpoint(sql, &fixture).await).await;
    pg.drop_schema().await;
}

/// Two token services sharing one PostgreSQL: a client added through A authenticates on B; a
/// secret expired on A stops working on B within B's cache TTL.
#[tokio::test]
async fn two_instances_share_clients_and_secret_expiry_through_postgres() {
    let Some(pg) =
        PgSchema::new("two_instances_share_clients_and_secret_expiry_through_postgres").await
    else {
        return;
    };
    let ttl = Duration::from_secs(1);
    let a = SqlClientStore::connect(&pg.url())
        .await
        .expect("a")
        .with_cache(100, ttl);
    let b = SqlClientStore::connect(&pg.url())
        .await
        .expect("b")
        .with_cache(100, ttl);
    let (url_a, url_b) = (
        token_endpoint(a.clone()).await,
        token_endpoint(Arc::new(b)).await,
    );
    // B looks the id up before it exists: the miss is cached for at most the TTL.
    let secret = ClientSecret::generate().0;
    assert_eq!(
        grant(&url_b, "reports-exporter", secret.expose())
            .await
            .status,
        401
    );
    let old = a.add(exporter()).await.expect("add on a");
    let old_id = a.show("reports-exporter").await.unwrap().unwrap().secrets[0].id;
    // (Polling with a wrong answer would count failures for the throttle: wait instead.)
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    let reply = grant(&url_b, "reports-exporter", old.expose()).await;
    assert_eq!(reply.status, 200, "B sees the client added on A: {reply:?}");
    let (new, _) = a
        .add_secret("reports-exporter", None)
        .await
        .expect("rotate on a");
    a.expire_secret("reports-exporter", old_id, None)
        .await
        .expect("expire on a");
    assert_eq!(
        grant(&url_a, "reports-exporter", old.expose()).await.status,
        401,
        "A at once"
    );
    let expired_at = std::time::Instant::now();
    loop {
        let reply = grant(&url_b, "reports-exporter", old.expose()).await;
        if reply.status == 401 {
            break;
        }
        assert!(
            expired_at.elapsed() <= ttl + Duration::from_millis(500),
            "B kept accepting the expired secret"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        grant(&url_b, "reports-exporter", new.expose()).await.status,
        200
    );
    assert_eq!(
        grant(&url_a, "reports-exporter", new.expose()).await.status,
        200
    );
    pg.drop_schema().await;
}

/// The demo with `DATABASE_URL`: seeds an empty database from `CLIENTS_FILE` once, then serves
/// the clients from it (a client removed there stays removed across restarts).
#[tokio::test]
async fn demo_server_seeds_an_empty_database_once_and_serves_from_it() {
    let file = SqliteFile::new();
    let start = || {
        common::example_process::ExampleProcess::start("server", |command| {
            command
                .env("DATABASE_URL", file.url())
                .env("ADDR", "127.0.0.1:0")
                .env_remove("CLIENTS_FILE");
        })
    };
    let base_of = |line: &str| line.rsplit(' ').next().expect("base url").to_owned();
    let demo = start();
    let url = format!("{}/oauth2/token", base_of(demo.first_line()));
    assert_eq!(grant(&url, "demo", "demo-secret").await.status, 200);
    assert_eq!(grant(&url, "reader", "reader-secret").await.status, 200);
    drop(demo);
    let store = SqlClientStore::connect(&file.url()).await.expect("connect");
    assert_eq!(store.count().await.expect("count"), 2);
    store.remove("reader").await.expect("remove");
    let demo = start();
    let url = format!("{}/oauth2/token", base_of(demo.first_line()));
    assert_eq!(grant(&url, "demo", "demo-secret").await.status, 200);
    let refused = grant(&url, "reader", "reader-secret").await;
    assert_eq!(refused, invalid_client_with_challenge(), "not seeded again");
}
