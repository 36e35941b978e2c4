//! [`KeySource`]: where a validator finds an issuer's keys, held locally or fetched by a
//! [`KeyProvider`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Jwks, KeyError, KeyRing, VerifyingKey};

/// The keys a validator trusts for one issuer: a local [`KeyRing`] (shared with a token issuer
/// in the same process, so rotations are seen at once) or a fixed set of verifying keys (for
/// example parsed from the issuer's JWKS).
///
/// ```
/// use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
///
/// let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
/// let local = KeySource::local(ring.clone());
/// let fixed = KeySource::jwks(&ring.jwks().to_json())?;
/// # Ok::<_, tower_client_credentials::keys::KeyError>(())
/// ```
#[derive(Clone)]
pub struct KeySource {
    inner: Source,
}

#[derive(Clone)]
enum Source {
    Ring(KeyRing),
    Fixed(Arc<[VerifyingKey]>),
    Provider(Arc<dyn KeyProvider>),
}

/// The future of a key fetch: the key the token named, `None` when the fresh key set has no
/// such key, or an error when the keys could not be obtained.
pub type KeyFuture =
    Pin<Box<dyn Future<Output = Result<Option<VerifyingKey>, KeyError>> + Send + 'static>>;

/// Keys that may have to be fetched: a remote JWKS, a secrets manager, a database.
///
/// The validator first asks [`find`](Self::find), synchronously, on every request that is not
/// a cache hit; only when it misses does it call [`fetch`](Self::fetch) and await the result,
/// without blocking the runtime. Implementations keep the keys they hold in memory, and make
/// `fetch` cheap to call many times: deduplicate concurrent fetches and rate-limit them, since
/// an unknown `kid` is chosen by whoever sends the token.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tower_client_credentials::keys::{KeyFuture, KeyProvider, KeySource, VerifyingKey};
///
/// /// Keys that an admin task loads into memory; a miss re-reads them once.
/// struct Vault { keys: Arc<Mutex<Vec<VerifyingKey>>> }
///
/// impl KeyProvider for Vault {
///     fn find(&self, kid: Option<&str>) -> Option<VerifyingKey> {
///         let keys = self.keys.lock().ok()?;
///         keys.iter().find(|k| Some(k.kid()) == kid).cloned()
///     }
///
///     fn fetch(&self, kid: Option<&str>) -> Option<KeyFuture> {
///         let (keys, kid) = (self.keys.clone(), kid?.to_owned());
///         Some(Box::pin(async move {
///             // … reload `keys` from the vault here …
///             let keys = keys.lock().map_err(|_| tower_client_credentials::keys::KeyError::Unavailable)?;
///             Ok(keys.iter().find(|k| k.kid() == kid).cloned())
///         }))
///     }
/// }
///
/// let source = KeySource::provider(Vault { keys: Arc::default() });
/// ```
pub trait KeyProvider: Send + Sync + 'static {
    /// The key with this `kid` (or, without a `kid`, the only key) if it is held now.
    fn find(&self, kid: Option<&str>) -> Option<VerifyingKey>;

    /// Called after `find` missed: a future that fetches the keys and resolves to the key the
    /// token named. `None` when there is nothing to fetch (the token is then refused at once
    /// as signed by an unknown key).
    fn fetch(&self, kid: Option<&str>) -> Option<KeyFuture>;
}

/// What a [`KeySource`] has for a token's `kid`.
pub(crate) enum KeyLookup {
    Found(VerifyingKey),
    Missing,
    Fetch(KeyFuture),
}

impl KeySource {
    /// The live keys of `ring`.
    pub fn local(ring: KeyRing) -> Self {
        KeySource {
            inner: Source::Ring(ring),
        }
    }

    /// A fixed set of keys. Refuses an empty set ([`KeyError::NoUsableKey`]), and HS256 secrets
    /// mixed with asymmetric keys.
    pub fn keys(keys: impl IntoIterator<Item = VerifyingKey>) -> Result<Self, KeyError> {
        let keys: Arc<[VerifyingKey]> = keys.into_iter().collect();
        let symmetric = keys.iter().filter(|k| k.algorithm().is_symmetric()).count();
        if symmetric != 0 && symmetric != keys.len() {
            return Err(KeyError::MixedKeyFamilies);
        }
        if keys.is_empty() {
            return Err(KeyError::NoUsableKey);
        }
        Ok(KeySource {
            inner: Source::Fixed(keys),
        })
    }

    /// Keys held or fetched by `provider`; see [`KeyProvider`].
    pub fn provider(provider: impl KeyProvider) -> Self {
        KeySource {
            inner: Source::Provider(Arc::new(provider)),
        }
    }

    /// The usable keys of a JWKS document (see [`Jwks::parse`]: keys that cannot verify are
    /// skipped, with a debug log); [`KeyError::NoUsableKey`] when none is left.
    pub fn jwks(json: &str) -> Result<Self, KeyError> {
        Self::keys(Jwks::parse(json)?)
    }

    /// The keys published at `jwks_uri`, kept fresh with the defaults of
    /// [`RemoteKeys`](super::remote::RemoteKeys) (feature `remote-jwks`). For other settings, or a
    /// readiness check, build a `RemoteKeys` and call its
    /// [`key_source`](super::remote::RemoteKeys::key_source).
    ///
    /// ```
    /// use tower_client_credentials::keys::KeySource;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let keys = KeySource::remote("https://login.example.com/oauth2/jwks")?;
    /// assert!(KeySource::remote("http://login.example.com/oauth2/jwks").is_err());
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "remote-jwks")]
    pub fn remote(jwks_uri: &str) -> Result<Self, super::remote::RemoteKeysConfigError> {
        super::remote::RemoteKeys::jwks_uri(jwks_uri)
            .build()
            .map(|keys| keys.key_source())
    }

    /// The keys of `issuer`, found through its metadata (RFC 8414, then OpenID Connect
    /// Discovery) and kept fresh with the defaults of [`RemoteKeys`](super::remote::RemoteKeys)
    /// (feature `remote-jwks`).
    ///
    /// ```
    /// use tower_client_credentials::keys::KeySource;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let keys = KeySource::discover("https://login.example.com/realms/acme")?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "remote-jwks")]
    pub fn discover(issuer: &str) -> Result<Self, super::remote::RemoteKeysConfigError> {
        super::remote::RemoteKeys::discover(issuer)
            .build()
            .map(|keys| keys.key_source())
    }

    /// The key a token names with `kid`. Without a `kid`, the source's only key, when it has
    /// exactly one (DESIGN decision 2).
    pub(crate) fn lookup(&self, kid: Option<&str>) -> KeyLookup {
        let found = match (&self.inner, kid) {
            (Source::Ring(ring), Some(kid)) => ring.find(kid),
            (Source::Ring(ring), None) => ring.only_key(),
            (Source::Fixed(keys), kid) => super::select(keys, kid).cloned(),
            (Source::Provider(provider), kid) => match provider.find(kid) {
                Some(key) => Some(key),
                None => {
                    return provider
                        .fetch(kid)
                        .map_or(KeyLookup::Missing, KeyLookup::Fetch);
                }
            },
        };
        found.map_or(KeyLookup::Missing, KeyLookup::Found)
    }
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Source::Ring(ring) => f.debug_tuple("KeySource::Local").field(ring).finish(),
            Source::Fixed(keys) => f.debug_tuple("KeySource::Fixed").field(keys).finish(),
            Source::Provider(_) => f.write_str("KeySource::Provider"),
        }
    }
}
