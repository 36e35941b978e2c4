//! [`SqlClientStore`]: the client registry in SQLite or PostgreSQL (feature `sqlx`).
//!
//! The schema, the cache and the admin operations are described on [`SqlClientStore`].

mod admin;
mod error;
pub(crate) mod records;

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection};

pub use admin::{ClientRecord, SecretRecord};
pub use error::SqlStoreError;

use self::error::redact;
use self::records::{fetch_raw, unavailable};
use super::{Client, ClientSecret, ClientStore};
use crate::store::{StoreError, StoreFuture};

/// How long [`SqlClientStore`] serves a looked-up client before asking the database again.
pub const DEFAULT_SQL_CACHE_TTL: Duration = Duration::from_secs(5);
/// How many clients [`SqlClientStore`] keeps cached by default.
pub const DEFAULT_SQL_CACHE_CAPACITY: usize = 10_000;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The pool of one backend.
#[derive(Clone)]
pub(super) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the pool, whichever backend it is (the SQL is the same:
/// both take `$1` placeholders).
macro_rules! on_pool {
    ($backend:expr, $pool:ident => $body:expr) => {
        match $backend {
            $crate::clients::sql::Backend::Sqlite($pool) => $body,
            $crate::clients::sql::Backend::Postgres($pool) => $body,
        }
    };
}
pub(super) use on_pool;

/// A [`ClientStore`] over SQLite or PostgreSQL, with the admin operations. Cheap to clone:
/// clones share the pool and the cache.
///
/// One schema for both, in embedded migrations applied when the store connects (the
/// `migrations/sqlite` and `migrations/postgres` folders of the crate):
///
/// | table | holds |
/// |---|---|
/// | `clients` | `id`, `enabled`, `token_ttl_secs`, `default_audience`, `created_at`, `updated_at` |
/// | `client_secrets` | `id`, `client_id`, `hash` (never plaintext), `not_after`, `created_at` |
/// | `client_keys` | the public keys for `private_key_jwt`, one JWK (JSON) per row |
/// | `client_scopes` | `scope`, `is_default` |
/// | `client_audiences` | `audience`, in order (the first is the default unless set) |
/// | `client_auth_methods` | RFC 8414 names |
///
/// Times are Unix seconds. Lookups are cached in-process for [`DEFAULT_SQL_CACHE_TTL`]
/// (bounded; this process's own writes drop their entry at once), so a grant is not a
/// database round trip each time; another instance's changes are seen within that TTL. When
/// the database fails, a cached record up to [`SqlClientStore::STALE_IF_ERROR`] old is
/// served instead (DESIGN.md decision 10), with a warning.
///
/// ```no_run
/// use tower_client_credentials::clients::{AuthMethod, Client, SqlClientStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = SqlClientStore::connect("sqlite://clients.db").await?; // created when missing
/// let secret = store
///     .add(Client::builder("reports-exporter").audiences(["reports-api"]))
///     .await?;
/// println!("client secret (shown once): {}", secret.expose());
/// // Rotation: a second live secret; the first one expires in a day.
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
/// let (new_secret, _id) = store.add_secret("reports-exporter", Some(now + 86_400)).await?;
/// # drop(new_secret);
/// # Ok(()) }
/// ```

#[derive(Clone)]
pub struct SqlClientStore {
    shared: Arc<Shared>,
}

struct Shared {
    backend: Backend,
    cache: quick_cache::sync::Cache<String, Cached>,
    ttl: Duration,
    /// An Argon2id hash of a random password, once any client is seen with an Argon2id secret.
    argon2_dummy: OnceLock<ClientSecret>,
}

#[derive(Clone)]
struct Cached {
    client: Option<Client>,
    fetched: Instant,
}

impl SqlClientStore {
    /// How long past its TTL a cached client is still served while the database fails.
    pub const STALE_IF_ERROR: Duration = Duration::from_secs(60);

    /// Connects to `url` and applies the embedded migrations.
    ///
    /// - `sqlite://path/to/file.db` (or `sqlite:file.db`): the file is created when missing;
    ///   `sqlite::memory:` for a private in-memory database.
    /// - `postgres://user:password@host:port/database` (or `postgresql://`), with libpq-style
    ///   parameters such as `?sslmode=require` or `?options=-csearch_path%3Dauth`.
    ///
    /// A malformed URL, a database that cannot be reached and a schema newer than this binary
    /// each give their own [`SqlStoreError`], none with the password.
    pub async fn connect(url: &str) -> Result<Self, SqlStoreError> {
        let password = &url_passwords(url)[..];
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        let backend = match scheme {
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| SqlStoreError::InvalidUrl(redact(&e.to_string(), password)))?
                    .create_if_missing(true);
                // An in-memory database lives while a connection to it does: keep one, for
                // ever, so the migrated schema and the clients stay.
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let pool = if in_memory {
                    SqlitePoolOptions::new()
                        .max_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                } else {
                    SqlitePoolOptions::new()
                };
                let pool = pool
                    .connect_with(options)
                    .await
                    .map_err(|e| SqlStoreError::Connect(redact(&e.to_string(), password)))?;
                Backend::Sqlite(pool)
            }
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|e| SqlStoreError::InvalidUrl(redact(&e.to_string(), password)))?;
                // One connection first: the pool would retry until its timeout and then report
                // only that, not why (refused, unknown host, authentication failed, …).
                let probe = options
                    .connect()
                    .await
                    .map_err(|e| SqlStoreError::Connect(redact(&e.to_string(), password)))?;
                let _ = probe.close().await;
                let pool = PgPoolOptions::new()
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(|e| SqlStoreError::Connect(redact(&e.to_string(), password)))?;
                Backend::Postgres(pool)
            }
            "" => {
                return Err(SqlStoreError::InvalidUrl(
                    "no scheme: expected sqlite://… or postgres://…".into(),
                ));
            }
            other => {
                let shown = error::shown_id(other);
                return Err(SqlStoreError::InvalidUrl(format!(
                    "unsupported scheme `{shown}`: expected sqlite://… or postgres://…"
                )));
            }
        };
        migrate(&backend).await?;
        let store = SqlClientStore {
            shared: Arc::new(Shared {
                backend,
                cache: quick_cache::sync::Cache::new(DEFAULT_SQL_CACHE_CAPACITY),
                ttl: DEFAULT_SQL_CACHE_TTL,
                argon2_dummy: OnceLock::new(),
            }),
        };
        if store.has_argon2_secrets().await? {
            store.note_argon2();
        }
        Ok(store)
    }

    /// The same store with its own lookup cache: up to `capacity` clients (at least one),
    /// each for `ttl` (zero: no caching, every lookup asks the database).
    pub fn with_cache(self, capacity: usize, ttl: Duration) -> Self {
        SqlClientStore {
            shared: Arc::new(Shared {
                backend: self.shared.backend.clone(),
                cache: quick_cache::sync::Cache::new(capacity.max(1)),
                ttl,
                argon2_dummy: self.shared.argon2_dummy.clone(),
            }),
        }
    }

    /// How long a looked-up client is served from the cache.
    pub fn cache_ttl(&self) -> Duration {
        self.shared.ttl
    }

    /// Drops every cached client, so the next lookups ask the database.
    pub fn clear_cache(&self) {
        self.shared.cache.clear();
    }

    pub(super) fn backend(&self) -> &Backend {
        &self.shared.backend
    }

    /// Drops `id`'s cache entry: this process's own writes are seen at once.
    pub(super) fn invalidate(&self, id: &str) {
        self.shared.cache.remove(id);
    }

    /// Unknown ids must cost an Argon2id check once any client has an Argon2id secret.
    pub(super) fn note_argon2(&self) {
        self.shared.argon2_dummy.get_or_init(|| {
            ClientSecret::hash_password(&crate::random::id())
                .unwrap_or_else(|_| ClientSecret::dummy())
        });
    }

    async fn has_argon2_secrets(&self) -> Result<bool, SqlStoreError> {
        let query = "SELECT COUNT(*) AS n FROM client_secrets WHERE hash LIKE '$argon2%'";
        let count: i64 = on_pool!(self.backend(), pool => {
            let row = sqlx::query(query).fetch_one(pool).await.map_err(unavailable)?;
            records::column(&row, "-", "client_secrets", "n")?
        });
        Ok(count > 0)
    }

    /// The client from the database, uncached.
    pub(super) async fn load(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let raw = on_pool!(self.backend(), pool => fetch_raw!(pool, id).await?);
        let client = raw.map(records::RawClient::into_client).transpose()?;
        let expensive = client
            .iter()
            .flat_map(|c| c.secrets())
            .any(|s| s.secret().is_expensive());
        if expensive {
            self.note_argon2();
        }
        Ok(client)
    }

    async fn find_cached(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let shared = &self.shared;
        let cached = shared.cache.get(id);
        if let Some(entry) = &cached
            && entry.fetched.elapsed() < shared.ttl
        {
            return Ok(entry.client.clone());
        }
        match self.load(id).await {
            Ok(client) => {
                if !shared.ttl.is_zero() {
                    let entry = Cached {
                        client: client.clone(),
                        fetched: Instant::now(),
                    };
                    shared.cache.insert(id.to_owned(), entry);
                }
                Ok(client)
            }
            Err(StoreError::Unavailable(reason)) => match cached {
                Some(entry) if entry.fetched.elapsed() < shared.ttl + Self::STALE_IF_ERROR => {
                    tracing::warn!(%reason, "client database unavailable; serving a cached record");
                    Ok(entry.client)
                }
                _ => Err(StoreError::Unavailable(reason)),
            },
            Err(other) => Err(other),
        }
    }
}

/// Applies the backend's embedded migrations; a database migrated by a newer binary is
/// [`SqlStoreError::SchemaTooNew`].
async fn migrate(backend: &Backend) -> Result<(), SqlStoreError> {
    let (migrator, result) = match backend {
        Backend::Sqlite(pool) => (&SQLITE_MIGRATIONS, SQLITE_MIGRATIONS.run(pool).await),
        Backend::Postgres(pool) => (&POSTGRES_MIGRATIONS, POSTGRES_MIGRATIONS.run(pool).await),
    };
    let binary = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    result.map_err(|e| match e {
        MigrateError::VersionMissing(database) if database > binary => {
            SqlStoreError::SchemaTooNew { database, binary }
        }
        MigrateError::VersionMissing(version) => SqlStoreError::Migration(format!(
            "the database has migration {version}, which this binary does not know"
        )),
        other => SqlStoreError::Migration(redact(&other.to_string(), &[])),
    })
}

/// The password in `scheme://user:password@host…`, as written and percent-decoded, to keep
/// it out of messages.
fn url_passwords(url: &str) -> Vec<String> {
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return Vec::new();
    };
    let Some((_, password)) = userinfo.split_once(':') else {
        return Vec::new();
    };
    let decoded = percent_encoding::percent_decode_str(password).decode_utf8_lossy();
    let mut spellings = vec![password.to_owned()];
    if decoded != password {
        spellings.push(decoded.into_owned());
    }
    spellings
}

impl ClientStore for SqlClientStore {
    fn find<'a>(
        &'a self,
        client_id: &'a str,
    ) -> StoreFuture<'a, Result<Option<Client>, StoreError>> {
        Box::pin(self.find_cached(client_id))
    }

    fn dummy_secret(&self) -> ClientSecret {
        self.shared
            .argon2_dummy
            .get()
            .cloned()
            .unwrap_or_else(ClientSecret::dummy)
    }
}

impl fmt::Debug for SqlClientStore {
    /// The backend and the cache size; never the URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match self.shared.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        };
        f.debug_struct("SqlClientStore")
            .field("backend", &backend)
            .field("cached", &self.shared.cache.len())
            .field("cache_ttl", &self.shared.ttl)
            .finish_non_exhaustive()
    }
}
