//! [`KeyRing`]: one active signing key plus retired keys that still verify.
//!
//! Readers (every request that verifies a token) take no lock: the ring's state sits behind an
//! [`ArcSwap`], and [`KeyRing::rotate`] swaps in a new state.
//!
//! ```
//! use std::time::Duration;
//! use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};
//!
//! let first = SigningKey::generate(Algorithm::EdDSA)?;
//! let ring = KeyRing::new(first.clone()).with_retention(Duration::from_secs(3900));
//! let second = SigningKey::generate(Algorithm::EdDSA)?;
//! ring.rotate(second.clone())?;
//! assert_eq!(ring.active().kid(), second.kid());
//! // Tokens signed by the first key keep verifying until the retention has passed.
//! assert!(ring.find(first.kid()).is_some());
//! assert_eq!(ring.jwks().keys.len(), 2);
//! # Ok::<_, tower_client_credentials::keys::KeyError>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use super::{Jwks, KeyError, SigningKey, VerifyingKey};
use crate::time::Clock;

/// How long a retired key stays published and accepted when no retention is set: the default
/// maximum token lifetime (1 h) plus the maximum validator leeway (5 min).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(3600 + 300);

/// One active [`SigningKey`] and the retired keys whose tokens may still be in use.
///
/// Cheap to clone; clones share the same keys, so a rotation is seen by every clone (the token
/// endpoint, the JWKS route and the validator alike).
#[derive(Clone)]
pub struct KeyRing {
    state: Arc<ArcSwap<RingState>>,
    retention: Duration,
    clock: Clock,
}

struct RingState {
    active: SigningKey,
    /// Retired keys and the Unix time after which they no longer verify.
    retired: Vec<(VerifyingKey, u64)>,
}

impl KeyRing {
    /// A ring whose active key is `active`.
    pub fn new(active: SigningKey) -> Self {
        KeyRing {
            state: Arc::new(ArcSwap::from_pointee(RingState {
                active,
                retired: Vec::new(),
            })),
            retention: DEFAULT_RETENTION,
            clock: Clock::system(),
        }
    }

    /// The clock retention is measured with (default the system clock). Set it before the
    /// ring is cloned: clones keep the clock they were made with.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// How long a key stays published and accepted after [`rotate`](Self::rotate) retires it.
    /// Must cover the longest token lifetime plus the validators' leeway; the token issuer
    /// refuses a ring whose retention is shorter than its maximum lifetime.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The configured retention.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// The key new tokens are signed with.
    pub fn active(&self) -> SigningKey {
        self.state.load().active.clone()
    }

    /// Makes `next` the active key. The previous active key is retired: it stays published and
    /// accepted for [`retention`](Self::retention), then drops out. Mixing HS256 with
    /// asymmetric keys is refused.
    pub fn rotate(&self, next: SigningKey) -> Result<(), KeyError> {
        let current = self.state.load();
        if current.active.algorithm().is_symmetric() != next.algorithm().is_symmetric() {
            return Err(KeyError::MixedKeyFamilies);
        }
        let now = self.clock.now();
        let until = now.saturating_add(self.retention.as_secs());
        self.state.rcu(|state| {
            let mut retired: Vec<(VerifyingKey, u64)> = state
                .retired
                .iter()
                .filter(|(key, expiry)| *expiry > now && key.kid() != next.kid())
                .cloned()
                .collect();
            if state.active.kid() != next.kid() {
                retired.push((state.active.verifying_key().clone(), until));
            }
            RingState {
                active: next.clone(),
                retired,
            }
        });
        tracing::info!(kid = next.kid(), alg = %next.algorithm(), "signing key rotated");
        Ok(())
    }

    /// The live key with this `kid`: the active key, or a retired key still within its
    /// retention.
    pub fn find(&self, kid: &str) -> Option<VerifyingKey> {
        let state = self.state.load();
        if state.active.kid() == kid {
            return Some(state.active.verifying_key().clone());
        }
        let now = self.clock.now();
        state
            .retired
            .iter()
            .find(|(key, until)| key.kid() == kid && *until > now)
            .map(|(key, _)| key.clone())
    }

    /// Every live verifying key, the active one first.
    pub fn verifying_keys(&self) -> Vec<VerifyingKey> {
        let state = self.state.load();
        let now = self.clock.now();
        std::iter::once(state.active.verifying_key().clone())
            .chain(
                state
                    .retired
                    .iter()
                    .filter(|(_, until)| *until > now)
                    .map(|(key, _)| key.clone()),
            )
            .collect()
    }

    /// The live public keys as a JWKS document (HS256 secrets are never included).
    pub fn jwks(&self) -> Jwks {
        Jwks::from_keys(&self.verifying_keys())
    }

    /// The single live key when there is exactly one (tokens without `kid` are accepted only
    /// then).
    pub(crate) fn only_key(&self) -> Option<VerifyingKey> {
        let state = self.state.load();
        let now = self.clock.now();
        if state.retired.iter().any(|(_, until)| *until > now) {
            None
        } else {
            Some(state.active.verifying_key().clone())
        }
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load();
        f.debug_struct("KeyRing")
            .field("active", &state.active)
            .field("retired", &state.retired.len())
            .field("retention", &self.retention)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Algorithm;

    #[test]
    fn retired_key_drops_out_after_retention() {
        let first = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let ring = KeyRing::new(first.clone()).with_retention(Duration::ZERO);
        ring.rotate(SigningKey::generate(Algorithm::EdDSA).unwrap())
            .unwrap();
        assert!(ring.find(first.kid()).is_none());
        assert_eq!(ring.verifying_keys().len(), 1);
        assert!(ring.only_key().is_some());
    }

    #[test]
    fn mixing_hmac_and_asymmetric_is_refused() {
        let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
        let hs = SigningKey::generate(Algorithm::HS256).unwrap();
        assert_eq!(ring.rotate(hs).unwrap_err(), KeyError::MixedKeyFamilies);
    }

    #[test]
    fn rotating_to_the_same_key_keeps_one_entry() {
        let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let ring = KeyRing::new(key.clone());
        ring.rotate(key).unwrap();
        assert_eq!(ring.verifying_keys().len(), 1);
    }
}
