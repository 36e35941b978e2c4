//! [`RedisConnection`]: the connection manager, key prefix and command deadline every Redis
//! store shares.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, Cmd, FromRedisValue, RedisError};

use crate::store::StoreError;

/// The key prefix when none is set.
pub const DEFAULT_PREFIX: &str = "tcc:";
/// How long one Redis command may take before the store reports it unavailable.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

/// Why a Redis URL cannot be used. Never holds the URL (it may carry a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedisConfigError {
    /// Not a `redis://`, `rediss://` or `redis+unix://` URL the `redis` crate accepts.
    #[error("not a usable Redis URL ({0})")]
    InvalidUrl(String),
}

/// A Redis server the stores of this module share: the `redis` crate's
/// [`ConnectionManager`] (one multiplexed connection, reconnected automatically after a
/// failure), a key prefix, and a deadline per command. Cheap to clone; clones share the
/// connection.
///
/// Opening does no I/O: the connection is made at the first command, and remade after any
/// failure, so an instance starts while Redis is down. A command that fails or misses its
/// deadline is a [`StoreError::Unavailable`]; each store documents what it does then.
///
/// ```no_run
/// use std::time::Duration;
/// use tower_client_credentials::redis::RedisConnection;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = RedisConnection::open("redis://127.0.0.1:6379")?
///     .with_prefix("billing-auth:")
///     .with_command_timeout(Duration::from_millis(250));
/// redis.ping().await?; // optional: report Redis at start-up
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisConnection {
    client: Client,
    manager: ConnectionManager,
    prefix: String,
    timeout: Duration,
}

impl RedisConnection {
    /// A connection to the server at `url` (`redis://[user:password@]host:port[/db]`,
    /// `rediss://` for TLS when the `redis` crate has a TLS feature on), made at the first
    /// command, with the [`DEFAULT_PREFIX`] and the [`DEFAULT_COMMAND_TIMEOUT`].
    pub fn open(url: &str) -> Result<Self, RedisConfigError> {
        let client = Client::open(url).map_err(|e| RedisConfigError::InvalidUrl(kind(&e)))?;
        Self::from_client(client)
    }

    /// A connection through an already configured `redis` client.
    pub fn from_client(client: Client) -> Result<Self, RedisConfigError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|e| RedisConfigError::InvalidUrl(kind(&e)))?;
        Ok(RedisConnection {
            client,
            manager,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_COMMAND_TIMEOUT,
        })
    }

    /// The prefix of every key the stores write (default [`DEFAULT_PREFIX`]): give each
    /// deployment sharing a Redis its own.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one command may take (default [`DEFAULT_COMMAND_TIMEOUT`]) before it counts as
    /// Redis being unavailable.
    #[must_use]
    pub fn with_command_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The deadline per command.
    pub fn command_timeout(&self) -> Duration {
        self.timeout
    }

    /// The connection manager, for commands of your own.
    pub fn manager(&self) -> ConnectionManager {
        self.manager.clone()
    }

    /// The `redis` client (the subscriber of [`CredentialInvalidation`](super::CredentialInvalidation)
    /// opens its own connection with it).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends `PING`: `Ok` when Redis answers within the deadline.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.query::<String>(&::redis::cmd("PING")).await.map(drop)
    }

    /// `prefix` + `part`.
    #[cfg(any(feature = "issue", feature = "client"))]
    pub(crate) fn key(&self, part: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + part.len());
        key.push_str(&self.prefix);
        key.push_str(part);
        key
    }

    /// Runs `cmd` within the deadline.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut conn = self.manager.clone();
        self.within(cmd.query_async::<T>(&mut conn)).await
    }

    /// Awaits a Redis call within the deadline; failures become [`StoreError::Unavailable`]
    /// (the error's kind only: its text may quote the server).
    pub(crate) async fn within<T>(
        &self,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(StoreError::Unavailable(format!("redis: {}", kind(&error)))),
            Err(_) => Err(StoreError::Unavailable(format!(
                "redis: no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client's connection info may hold a password: not shown.
        f.debug_struct("RedisConnection")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// What kind of failure `error` is, without its detail.
fn kind(error: &RedisError) -> String {
    format!("{:?}", error.kind())
}

/// SHA-256 of `parts`, each length-prefixed (so no two lists collide), as lowercase hex: keys
/// of bounded size whatever the caller sent.
#[cfg(feature = "issue")]
pub(crate) fn hashed(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            use std::fmt::Write;
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Logs a warning at most once per `every` seconds per `last` (Unix seconds of the last one):
/// an outage must not write a line per request.
#[cfg(feature = "issue")]
pub(crate) fn warn_rarely(last: &std::sync::atomic::AtomicU64, every: u64, log: impl FnOnce()) {
    use std::sync::atomic::Ordering;
    use std::time::{SystemTime, UNIX_EPOCH};
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let before = last.load(Ordering::Relaxed);
    if now >= before.saturating_add(every)
        && last
            .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        log();
    }
}
