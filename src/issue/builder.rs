//! [`TokenIssuerBuilder`]: configuration of a [`TokenIssuer`], checked once at build time.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::credential_cache::VerifiedSecrets;
use super::policy::Lifetimes;
use super::throttle::{AuthThrottle, MemoryAuthThrottle, TrustedProxies};
use super::{
    CredentialCache, DEFAULT_MAX_TTL, DEFAULT_TTL, HashingLimit, Inner, MemoryReplayGuard,
    ReplayGuard, TokenIssuer,
};
use crate::clients::ClientStore;
use crate::keys::KeyRing;
use crate::time::Clock;
use crate::well_known::absolute_http_url;

/// A [`TokenIssuer`] configuration mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerConfigError {
    /// No issuer URL, or not an absolute `http`/`https` URL without query or fragment
    /// (RFC 8414 §2).
    #[error("the issuer must be an absolute http(s) URL without query or fragment")]
    BadIssuer,
    /// A token endpoint or JWKS URL that is not an absolute `http`/`https` URL.
    #[error("endpoint URLs must be absolute http(s) URLs")]
    BadEndpoint,
    /// No key ring.
    #[error("a key ring is required")]
    NoKeys,
    /// No client store.
    #[error("a client store is required")]
    NoClients,
    /// A zero lifetime, or a default above the maximum.
    #[error("token lifetimes must be positive, with the default at most the maximum")]
    BadTtl,
    /// The key ring would drop retired keys before tokens they signed expire.
    #[error("the key ring retention must be at least the maximum token lifetime")]
    RetentionTooShort,
    /// A [`HashingLimit`] of zero: no Argon2id secret could ever be checked.
    #[error("the hashing limit must allow at least one verification at a time")]
    NoHashingCapacity,
    /// A [`CredentialCache`] with a capacity of zero, or a TTL under 1 s or over
    /// [`MAX_CREDENTIAL_CACHE_TTL`](super::MAX_CREDENTIAL_CACHE_TTL) (1 h). Turn the cache off
    /// with [`CredentialCache::disabled`].
    #[error("the credential cache needs a capacity of at least 1 and a TTL from 1 s to 1 h")]
    BadCredentialCache,
}

/// Builds a [`TokenIssuer`].
#[must_use]
pub struct TokenIssuerBuilder {
    issuer: Option<String>,
    token_endpoint: Option<String>,
    jwks_uri: Option<String>,
    keys: Option<KeyRing>,
    clients: Option<Arc<dyn ClientStore>>,
    replay: Option<Arc<dyn ReplayGuard>>,
    throttle: Option<Arc<dyn AuthThrottle>>,
    hashing: Option<HashingLimit>,
    credential_cache: CredentialCache,
    proxies: TrustedProxies,
    default_ttl: Duration,
    max_ttl: Duration,
    clock: Clock,
    scopes_supported: Vec<String>,
    realm: String,
}

impl TokenIssuer {
    /// Starts a builder: tokens live 15 minutes by default, at most an hour.
    pub fn builder() -> TokenIssuerBuilder {
        TokenIssuerBuilder {
            issuer: None,
            token_endpoint: None,
            jwks_uri: None,
            keys: None,
            clients: None,
            replay: None,
            throttle: None,
            hashing: None,
            credential_cache: CredentialCache::default(),
            proxies: TrustedProxies::none(),
            default_ttl: DEFAULT_TTL,
            max_ttl: DEFAULT_MAX_TTL,
            clock: Clock::system(),
            scopes_supported: Vec::new(),
            realm: "token".to_owned(),
        }
    }
}

/// No credentials, query or fragment in a URL that every token and the metadata repeat.
fn is_absolute_http(url: &str) -> bool {
    absolute_http_url(url).is_some_and(|uri| uri.query().is_none()) && !url.contains('#')
}

impl TokenIssuerBuilder {
    /// The issuer URL: the `iss` of every token, and the base of the default endpoint URLs.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The token endpoint URL (default `{issuer}/oauth2/token`).
    pub fn token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.token_endpoint = Some(url.into());
        self
    }

    /// The JWKS URL (default `{issuer}/.well-known/jwks.json`).
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.jwks_uri = Some(url.into());
        self
    }

    /// The signing keys; share the same ring with the validators of this process.
    pub fn keys(mut self, ring: KeyRing) -> Self {
        self.keys = Some(ring);
        self
    }

    /// The client registry.
    pub fn clients(mut self, store: impl ClientStore) -> Self {
        self.clients = Some(Arc::new(store));
        self
    }

    /// The `jti` replay guard for client assertions (default [`MemoryReplayGuard`]).
    pub fn replay_guard(mut self, guard: impl ReplayGuard) -> Self {
        self.replay = Some(Arc::new(guard));
        self
    }

    /// The brute-force throttle (RFC 6749 §2.3.1; default [`MemoryAuthThrottle`] on the
    /// builder's clock: 10 failures per client id and 100 per peer address in a minute). See
    /// the [`throttle`](super::throttle) module for the rules.
    pub fn throttle(mut self, throttle: impl AuthThrottle) -> Self {
        self.throttle = Some(Arc::new(throttle));
        self
    }

    /// The bound on Argon2id verifications running at once, and on the wait for one (default
    /// [`HashingLimit::default`]: one per core, 1 s). Share one limit between issuers to bound
    /// the process as a whole.
    pub fn hashing_limit(mut self, limit: HashingLimit) -> Self {
        self.hashing = Some(limit);
        self
    }

    /// How many verified Argon2id secrets are remembered, and for how long (default
    /// [`CredentialCache::default`]: 10 000 clients, 5 min each); [`CredentialCache::disabled`]
    /// makes every grant hash. Entries run on the builder's [clock](Self::clock). See
    /// [`CredentialCache`] for what is kept and when it is dropped.
    pub fn credential_cache(mut self, cache: CredentialCache) -> Self {
        self.credential_cache = cache;
        self
    }

    /// The reverse proxies whose forwarded header names the caller for the per-peer throttle
    /// (default none: the TCP peer is the caller).
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// Token lifetime for clients that do not set their own (default 15 min).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// Upper bound on every token lifetime (default 1 h). The key ring's retention must cover
    /// it.
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl;
        self
    }

    /// The clock for the `iat` and `exp` of issued tokens and for the time checks of client
    /// assertions (default the system clock). The default replay guard and throttle run on it
    /// too; give the key ring the same one ([`KeyRing::with_clock`]) so that retention is
    /// measured alike.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The scopes published as `scopes_supported` in the metadata.
    pub fn scopes_supported<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The realm of the `WWW-Authenticate: Basic` challenge (default `"token"`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Checks the configuration and builds the issuer.
    pub fn build(self) -> Result<TokenIssuer, IssuerConfigError> {
        let issuer = self.issuer.ok_or(IssuerConfigError::BadIssuer)?;
        if !is_absolute_http(&issuer) {
            return Err(IssuerConfigError::BadIssuer);
        }
        let base = issuer.trim_end_matches('/');
        let token_endpoint = self
            .token_endpoint
            .unwrap_or_else(|| format!("{base}/oauth2/token"));
        let jwks_uri = self
            .jwks_uri
            .unwrap_or_else(|| format!("{base}/.well-known/jwks.json"));
        if !is_absolute_http(&token_endpoint) || !is_absolute_http(&jwks_uri) {
            return Err(IssuerConfigError::BadEndpoint);
        }
        let keys = self.keys.ok_or(IssuerConfigError::NoKeys)?;
        let clients = self.clients.ok_or(IssuerConfigError::NoClients)?;
        if self.default_ttl.as_secs() == 0 || self.default_ttl > self.max_ttl {
            return Err(IssuerConfigError::BadTtl);
        }
        if keys.retention() < self.max_ttl {
            return Err(IssuerConfigError::RetentionTooShort);
        }
        let hashing = self.hashing.unwrap_or_default();
        if hashing.concurrency() == 0 {
            return Err(IssuerConfigError::NoHashingCapacity);
        }
        if !self.credential_cache.is_valid() {
            return Err(IssuerConfigError::BadCredentialCache);
        }
        let credentials = VerifiedSecrets::new(self.credential_cache, self.clock.clone());
        Ok(TokenIssuer {
            inner: Arc::new(Inner {
                issuer,
                token_endpoint,
                jwks_uri,
                keys,
                clients,
                replay: self.replay.unwrap_or_else(|| {
                    Arc::new(MemoryReplayGuard::default().with_clock(self.clock.clone()))
                }),
                throttle: self.throttle.unwrap_or_else(|| {
                    Arc::new(MemoryAuthThrottle::default().with_clock(self.clock.clone()))
                }),
                hashing,
                credentials,
                proxies: self.proxies,
                lifetimes: Lifetimes {
                    default: self.default_ttl,
                    max: self.max_ttl,
                },
                clock: self.clock,
                scopes_supported: self.scopes_supported,
                realm: self.realm,
            }),
        })
    }
}

impl fmt::Debug for TokenIssuerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuerBuilder")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}
