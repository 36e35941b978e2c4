//! [`KeySource`]: where a validator finds an issuer's keys.

use std::fmt;
use std::sync::Arc;

use super::{Jwks, KeyError, KeyRing, VerifyingKey};
use crate::error::TokenError;

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
}

impl KeySource {
    /// The live keys of `ring`.
    pub fn local(ring: KeyRing) -> Self {
        KeySource {
            inner: Source::Ring(ring),
        }
    }

    /// A fixed set of keys. Refuses an empty set, and HS256 secrets mixed with asymmetric keys.
    pub fn keys(keys: impl IntoIterator<Item = VerifyingKey>) -> Result<Self, KeyError> {
        let keys: Arc<[VerifyingKey]> = keys.into_iter().collect();
        let symmetric = keys.iter().filter(|k| k.algorithm().is_symmetric()).count();
        if symmetric != 0 && symmetric != keys.len() {
            return Err(KeyError::MixedKeyFamilies);
        }
        if keys.is_empty() {
            return Err(KeyError::InvalidJwks);
        }
        Ok(KeySource {
            inner: Source::Fixed(keys),
        })
    }

    /// The usable keys of a JWKS document (see [`Jwks::parse`]); at least one is required.
    pub fn jwks(json: &str) -> Result<Self, KeyError> {
        Self::keys(Jwks::parse(json)?)
    }

    /// The key a token names with `kid`. Without a `kid`, the source's only key, when it has
    /// exactly one (DESIGN decision 2).
    pub(crate) fn select(&self, kid: Option<&str>) -> Result<VerifyingKey, TokenError> {
        match (&self.inner, kid) {
            (Source::Ring(ring), Some(kid)) => ring.find(kid),
            (Source::Ring(ring), None) => ring.only_key(),
            (Source::Fixed(keys), kid) => super::select(keys, kid).cloned(),
        }
        .ok_or(TokenError::UnknownKey)
    }
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Source::Ring(ring) => f.debug_tuple("KeySource::Local").field(ring).finish(),
            Source::Fixed(keys) => f.debug_tuple("KeySource::Fixed").field(keys).finish(),
        }
    }
}
