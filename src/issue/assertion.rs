//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3) and the replay guard.
//!
//! The client signs a short-lived JWT with a key registered for it: `iss` = `sub` = its
//! `client_id`, `aud` = the issuer or the token endpoint URL, `exp` at most five minutes ahead,
//! and a `jti` that is accepted once.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Deserialize;

use crate::claims::Audience;
use crate::clients::Client;
use crate::jws::Compact;
use crate::store::{StoreError, StoreFuture};

/// Longest assertion read, before any decoding.
pub(crate) const MAX_ASSERTION_BYTES: usize = 8 * 1024;
/// How far ahead an assertion's `exp` may be.
pub const MAX_ASSERTION_LIFETIME_SECS: u64 = 300;
/// Clock leeway for assertion `exp` / `nbf`.
pub(crate) const ASSERTION_LEEWAY_SECS: u64 = 30;

/// Remembers assertion `jti`s so that each is accepted once within its lifetime
/// (RFC 7523 §3, item 7).
///
/// The default is [`MemoryReplayGuard`]; deployments with several token-endpoint instances
/// need a shared implementation.
pub trait ReplayGuard: Send + Sync + 'static {
    /// Records `jti` of `client_id` until `expires_at` (Unix seconds). `Ok(false)` means it was
    /// recorded before: a replay.
    fn first_use<'a>(
        &'a self,
        client_id: &'a str,
        jti: &'a str,
        expires_at: u64,
    ) -> StoreFuture<'a, Result<bool, StoreError>>;
}

/// An in-process [`ReplayGuard`], bounded in size. When it is full of unexpired entries it
/// refuses new assertions (fails closed) rather than forgetting old ones.
#[derive(Debug)]
pub struct MemoryReplayGuard {
    seen: Mutex<HashMap<(String, String), u64>>,
    capacity: usize,
}

impl MemoryReplayGuard {
    /// A guard remembering at most `capacity` live `jti`s.
    pub fn new(capacity: usize) -> Self {
        MemoryReplayGuard {
            seen: Mutex::new(HashMap::new()),
            capacity,
        }
    }
}

impl Default for MemoryReplayGuard {
    /// Room for 100 000 live assertions.
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl ReplayGuard for MemoryReplayGuard {
    fn first_use<'a>(
        &'a self,
        client_id: &'a str,
        jti: &'a str,
        expires_at: u64,
    ) -> StoreFuture<'a, Result<bool, StoreError>> {
        let result = (|| {
            let now = crate::time::Clock::system().now();
            let mut seen = self
                .seen
                .lock()
                .map_err(|_| StoreError::Unavailable("replay guard poisoned".into()))?;
            let key = (client_id.to_owned(), jti.to_owned());
            if seen.get(&key).is_some_and(|until| *until > now) {
                return Ok(false);
            }
            if seen.len() >= self.capacity {
                seen.retain(|_, until| *until > now);
                if seen.len() >= self.capacity {
                    return Err(StoreError::Unavailable("replay guard is full".into()));
                }
            }
            seen.insert(key, expires_at);
            Ok(true)
        })();
        Box::pin(std::future::ready(result))
    }
}

#[derive(Deserialize)]
pub(crate) struct AssertionClaims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    aud: Audience,
    pub(crate) exp: u64,
    #[serde(default)]
    nbf: Option<u64>,
    pub(crate) jti: String,
}

/// Why an assertion failed; logged at debug level, never sent (the client sees
/// `invalid_client` only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AssertionError {
    #[error("assertion is malformed")]
    Malformed,
    #[error("iss and sub differ, or do not match client_id")]
    Subject,
    #[error("no registered key matches the assertion")]
    UnknownKey,
    #[error("assertion algorithm does not match the key")]
    Algorithm,
    #[error("assertion signature is invalid")]
    Signature,
    #[error("assertion audience is not this server")]
    Audience,
    #[error("assertion expired, not yet valid, or lives too long")]
    Lifetime,
}

/// A parsed but not yet verified assertion.
pub(crate) struct Assertion<'a> {
    jws: Compact<'a>,
    pub(crate) claims: AssertionClaims,
}

impl<'a> Assertion<'a> {
    /// Splits and decodes; checks `iss` = `sub` (= `client_id` when sent).
    pub(crate) fn parse(token: &'a str, client_id: Option<&str>) -> Result<Self, AssertionError> {
        let jws =
            Compact::parse(token, MAX_ASSERTION_BYTES).map_err(|_| AssertionError::Malformed)?;
        let claims: AssertionClaims = jws.claims().map_err(|_| AssertionError::Malformed)?;
        if claims.iss != claims.sub || client_id.is_some_and(|id| id != claims.sub) {
            return Err(AssertionError::Subject);
        }
        Ok(Assertion { jws, claims })
    }

    /// Checks the signature with the client's registered keys, the audience and the lifetime.
    pub(crate) fn verify(
        &self,
        client: &Client,
        audiences: [&str; 2],
        now: u64,
    ) -> Result<(), AssertionError> {
        let key = crate::keys::select(client.keys(), self.jws.header.kid.as_deref())
            .ok_or(AssertionError::UnknownKey)?;
        if key.algorithm() != self.jws.alg {
            return Err(AssertionError::Algorithm);
        }
        if !key.verify_signature(self.jws.message.as_bytes(), self.jws.signature) {
            return Err(AssertionError::Signature);
        }
        if !audiences.iter().any(|a| self.claims.aud.contains(a)) {
            return Err(AssertionError::Audience);
        }
        let c = &self.claims;
        let expired = now >= c.exp.saturating_add(ASSERTION_LEEWAY_SECS);
        let too_long =
            c.exp > now.saturating_add(MAX_ASSERTION_LIFETIME_SECS + ASSERTION_LEEWAY_SECS);
        let early = c
            .nbf
            .is_some_and(|nbf| now.saturating_add(ASSERTION_LEEWAY_SECS) < nbf);
        if expired || too_long || early || c.jti.is_empty() {
            return Err(AssertionError::Lifetime);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replay_guard_accepts_each_jti_once() {
        let guard = MemoryReplayGuard::new(2);
        let later = crate::time::Clock::system().now() + 60;
        assert!(guard.first_use("c", "1", later).await.unwrap());
        assert!(!guard.first_use("c", "1", later).await.unwrap());
        assert!(guard.first_use("d", "1", later).await.unwrap());
        // Full of live entries: fail closed.
        assert!(guard.first_use("c", "2", later).await.is_err());
    }

    #[tokio::test]
    async fn expired_entries_make_room() {
        let guard = MemoryReplayGuard::new(1);
        let past = crate::time::Clock::system().now() - 1;
        assert!(guard.first_use("c", "1", past).await.unwrap());
        assert!(guard.first_use("c", "2", past + 120).await.unwrap());
    }
}
