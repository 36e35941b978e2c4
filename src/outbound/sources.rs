//! [`TokenSources`]: one cached source per client, scope set and resource.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use super::config::CacheKey;
use super::{AccessToken, CachedTokenSource, ClientCredentials, TokenSource, TokenSourceError};

/// How many sources a [`TokenSources`] keeps by default.
const DEFAULT_CAPACITY: usize = 256;

/// Cached token sources for several clients, scope sets and resources in one process, each
/// created on first use. Cheap to clone; clones share the sources.
///
/// A source is keyed by the token endpoint (or issuer), the client id, the scope set (in any
/// order: `"a b"` and `"b a"` are one set), the RFC 8707 resources and the extra parameters,
/// so two scope sets (or two audiences) never share a token. At most `capacity` sources are
/// kept; the least used are dropped first (a dropped source only costs a new token request).
///
/// ```no_run
/// use tower_client_credentials::outbound::{ClientCredentials, TokenSources};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let billing = ClientCredentials::builder()
///     .token_endpoint("https://auth.example.com/oauth2/token")
///     .client_id("billing")
///     .client_secret_env("BILLING_CLIENT_SECRET")
///     .build()?;
/// let sources = TokenSources::new();
/// let read = sources.token(&billing.with_scope("reports:read")?).await?;
/// let write = sources.token(&billing.with_scope("reports:write")?).await?;
/// assert_ne!(read.secret(), write.secret());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TokenSources {
    inner: Arc<Inner>,
}

type Factory = dyn Fn(ClientCredentials) -> CachedTokenSource + Send + Sync;

struct Inner {
    sources: quick_cache::sync::Cache<CacheKey, CachedTokenSource>,
    factory: Box<Factory>,
}

impl Default for TokenSources {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenSources {
    /// At most 256 sources, each with the default settings.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// At most `capacity` sources, each with the default settings.
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_factory(capacity, CachedTokenSource::new)
    }

    /// At most `capacity` sources, each made by `factory` (for settings other than the
    /// defaults).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_client_credentials::outbound::{CachedTokenSource, TokenSources};
    ///
    /// let sources = TokenSources::with_factory(64, |client| {
    ///     CachedTokenSource::builder(client)
    ///         .retry_deadline(Duration::from_secs(30))
    ///         .build()
    /// });
    /// # let _ = sources;
    /// ```
    pub fn with_factory(
        capacity: usize,
        factory: impl Fn(ClientCredentials) -> CachedTokenSource + Send + Sync + 'static,
    ) -> Self {
        TokenSources {
            inner: Arc::new(Inner {
                sources: quick_cache::sync::Cache::new(capacity.max(1)),
                factory: Box::new(factory),
            }),
        }
    }

    /// The source for `client` (its endpoint, id, scope set, resources and parameters),
    /// created on first use.
    pub fn source(&self, client: &ClientCredentials) -> CachedTokenSource {
        let key = client.cache_key();
        let made = self.inner.sources.get_or_insert_with(&key, || {
            Ok::<_, Infallible>((self.inner.factory)(client.clone()))
        });
        match made {
            Ok(source) => source,
            Err(never) => match never {},
        }
    }

    /// A token for `client`, from its source.
    pub async fn token(&self, client: &ClientCredentials) -> Result<AccessToken, TokenSourceError> {
        self.source(client).token().await
    }

    /// How many sources it holds.
    pub fn len(&self) -> usize {
        self.inner.sources.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.inner.sources.is_empty()
    }
}

impl fmt::Debug for TokenSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSources")
            .field("sources", &self.inner.sources.len())
            .field("capacity", &self.inner.sources.capacity())
            .finish()
    }
}
