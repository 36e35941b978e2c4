//! [`Validator`]: checks one access token, completely, before anything trusts it; remembers the
//! tokens it verified.
//!
//! ```
//! use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
//! use tower_client_credentials::Validator;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
//! let validator = Validator::builder()
//!     .issuer("https://auth.example.com", KeySource::local(ring.clone()))
//!     .audience("reports-api")
//!     .build()?;
//!
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
//! let token = ring.active().sign("at+jwt", &serde_json::json!({
//!     "iss": "https://auth.example.com", "sub": "svc", "aud": "reports-api",
//!     "exp": now + 60, "iat": now, "jti": "1", "client_id": "svc", "scope": "reports:read",
//! }))?;
//! let claims = validator.verify(&token).await?;
//! assert_eq!(claims.sub, "svc");
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde::de::DeserializeOwned;

use super::cache::TokenCache;
use super::rules::IssuerRules;
use crate::claims::{Claims, ExtraClaims, Payload};
use crate::error::TokenError;
use crate::jws::{Compact, TimeClaims, TimeWindow};
use crate::keys::{KeyLookup, VerifyingKey};
use crate::metrics::CacheOutcome;
use crate::time::Clock;

/// Checks access tokens: size, structure, `crit` (present in any form: refused), issuer (by its
/// name or an alias), `typ`, key by `kid`, algorithm from the key, signature, `exp`/`nbf`/`iat`
/// with leeway, the maximum lifetime, audience, required claims and allowed clients, each
/// against the rules of the issuer the token names; the scopes and the client id are read from
/// the claims that issuer's rules name. The payload is read once. Claims the crate does not
/// name are deserialised into `E` (a JSON map by default; see
/// [`ValidatorBuilder::claims`](super::ValidatorBuilder::claims)).
///
/// Verified tokens are remembered (up to [`DEFAULT_CACHE_CAPACITY`](super::DEFAULT_CACHE_CAPACITY), keyed by the token's
/// exact bytes, never past `exp` plus leeway), so a client that reuses its token pays for the
/// signature check once. Clones share the cache: give the same validator to every layer,
/// extractor and gRPC service that should share it.
///
/// Built once with [`Validator::builder`]; cheap to clone (one `Arc`).
pub struct Validator<E = ExtraClaims> {
    pub(super) inner: Arc<Inner<E>>,
}

pub(super) struct Inner<E> {
    pub(super) issuers: Box<[IssuerRules]>,
    pub(super) leeway: u64,
    pub(super) max_token_bytes: usize,
    pub(super) clock: Clock,
    pub(super) cache: Option<TokenCache<E>>,
}

impl<E> Clone for Validator<E> {
    fn clone(&self) -> Self {
        Validator {
            inner: self.inner.clone(),
        }
    }
}

/// How verification of one token goes on after the synchronous part.
enum Step<E> {
    Done(Result<Arc<Claims<E>>, TokenError>),
    /// The issuer's keys must be fetched first; the payload, already read, waits with them.
    Fetch {
        fetch: crate::keys::KeyFuture,
        payload: Payload,
        issuer: usize,
    },
}

impl<E> Validator<E>
where
    E: DeserializeOwned + Send + Sync + 'static,
{
    /// Verifies `token` and returns its claims.
    ///
    /// The returned future is ready at once, without an await point, when the token is cached
    /// or its issuer's keys are held locally; it waits only when a key must be fetched (see
    /// [`KeyProvider`](crate::keys::KeyProvider)). [`Verify::into_ready`] takes the result
    /// without polling.
    pub fn verify(&self, token: &str) -> Verify<E> {
        match self.verify_now(token) {
            Step::Done(result) => Verify::ready(result),
            Step::Fetch {
                fetch,
                payload,
                issuer,
            } => {
                // The slow path owns what it needs: a copy of the token, its payload as read
                // once, and the validator.
                let token: Box<str> = token.into();
                let validator = self.clone();
                Verify::pending(Box::pin(async move {
                    let key = fetch.await.map_err(|_| TokenError::KeysUnavailable)?;
                    validator.finish(&token, payload, issuer, key.as_ref())
                }))
            }
        }
    }

    /// The claims of `token` when exactly these bytes were verified before and have not
    /// expired: the layer's first step, before any syntax check (a cached token passed every
    /// check when it was verified).
    #[inline]
    pub(crate) fn cached(&self, token: &[u8]) -> Option<Arc<Claims<E>>> {
        let inner = &*self.inner;
        if token.len() > inner.max_token_bytes {
            return None;
        }
        let claims = inner.cache.as_ref()?.get(token, inner.clock.now());
        // A miss here is counted by the full verification that follows (`verify_now` looks
        // again), so that each token is one lookup in the metrics.
        if claims.is_some() {
            crate::metrics::cache(CacheOutcome::Hit);
        }
        claims
    }

    fn verify_now(&self, token: &str) -> Step<E> {
        let inner = &*self.inner;
        // Bound the work before hashing or decoding anything (DESIGN decision 2).
        if token.len() > inner.max_token_bytes {
            return Step::Done(Err(TokenError::TooLarge));
        }
        if let Some(cache) = &inner.cache {
            if let Some(claims) = cache.get(token.as_bytes(), inner.clock.now()) {
                crate::metrics::cache(CacheOutcome::Hit);
                return Step::Done(Ok(claims));
            }
            crate::metrics::cache(CacheOutcome::Miss);
        }
        let (jws, payload, issuer) = match self.parse(token) {
            Ok(parsed) => parsed,
            Err(e) => return Step::Done(Err(e)),
        };
        let Some(rules) = inner.issuers.get(issuer) else {
            return Step::Done(Err(TokenError::InvalidIssuer));
        };
        let kid = jws.header.kid.as_deref();
        let key = match rules.keys.lookup(kid) {
            KeyLookup::Found(key) => key,
            KeyLookup::Missing => return Step::Done(Err(TokenError::UnknownKey)),
            KeyLookup::Fetch(fetch) => {
                return Step::Fetch {
                    fetch,
                    payload,
                    issuer,
                };
            }
        };
        Step::Done(self.check(token, &jws, payload, rules, Some(&key)))
    }

    /// The rest of the pipeline once `key` was fetched: the header is split off again (the
    /// payload is not read again).
    fn finish(
        &self,
        token: &str,
        payload: Payload,
        issuer: usize,
        key: Option<&VerifyingKey>,
    ) -> Result<Arc<Claims<E>>, TokenError> {
        let jws = Compact::parse(token, self.inner.max_token_bytes)?;
        let rules = self
            .inner
            .issuers
            .get(issuer)
            .ok_or(TokenError::InvalidIssuer)?;
        // The fetched key must still be the one the token names.
        let key = key.filter(|k| jws.header.kid.as_deref().is_none_or(|kid| k.kid() == kid));
        self.check(token, &jws, payload, rules, key)
    }

    /// Structure, header, the one read of the payload, and the issuer the (not yet verified)
    /// `iss` names, by its name or an alias, before any key is looked at.
    fn parse<'t>(&self, token: &'t str) -> Result<(Compact<'t>, Payload, usize), TokenError> {
        let jws = Compact::parse(token, self.inner.max_token_bytes)?;
        let payload: Payload = jws.claims()?;
        let (issuer, rules) = self
            .inner
            .issuers
            .iter()
            .enumerate()
            .find(|(_, rules)| rules.signs_as(&payload.iss))
            .ok_or(TokenError::InvalidIssuer)?;
        if !rules.typ.accepts(jws.header.typ.as_deref()) {
            return Err(TokenError::InvalidType);
        }
        Ok((jws, payload, issuer))
    }

    /// Signature, time, lifetime, audience; then the issuer's rules turn the payload into
    /// claims (required claims, client id, allowed clients, scopes), and the cache remembers
    /// the result.
    fn check(
        &self,
        token: &str,
        jws: &Compact<'_>,
        payload: Payload,
        rules: &IssuerRules,
        key: Option<&VerifyingKey>,
    ) -> Result<Arc<Claims<E>>, TokenError> {
        let window = TimeWindow {
            now: self.inner.clock.now(),
            leeway: self.inner.leeway,
        };
        let times = TimeClaims {
            exp: payload.exp.0,
            nbf: payload.nbf.map(|d| d.0),
            iat: payload.iat.map(|d| d.0),
        };
        jws.verify_times(key, times, window)?;
        if !rules.accepts_lifetime(times, window) {
            return Err(TokenError::LifetimeTooLong);
        }
        if !rules.accepts_audience(&payload.aud) {
            return Err(TokenError::InvalidAudience);
        }
        let claims = Arc::new(rules.claims::<E>(payload)?);
        if let Some(cache) = &self.inner.cache {
            let expires_at = window.expires_at(claims.exp);
            cache.insert(token, claims.clone(), expires_at);
        }
        Ok(claims)
    }
}

impl<E> Validator<E> {
    /// The largest token this validator reads.
    pub fn max_token_bytes(&self) -> usize {
        self.inner.max_token_bytes
    }

    /// How many verified tokens the cache holds at most (`0`: no cache).
    pub fn cache_capacity(&self) -> u64 {
        self.inner.cache.as_ref().map_or(0, TokenCache::capacity)
    }

    /// How many verified tokens the cache holds now.
    pub fn cached_tokens(&self) -> usize {
        self.inner.cache.as_ref().map_or(0, TokenCache::len)
    }

    /// Forgets every verified token, so the next request with each pays for a full check
    /// again: call it after removing a key or revoking a client whose live tokens must stop
    /// working at once.
    pub fn clear_cache(&self) {
        if let Some(cache) = &self.inner.cache {
            cache.clear();
        }
    }

    /// The issuer URLs this validator trusts, in the order they were configured (aliases not
    /// included).
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.inner.issuers.iter().map(|rules| rules.issuer.as_str())
    }
}

impl<E> fmt::Debug for Validator<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Validator")
            .field("issuers", &inner.issuers)
            .field("leeway", &inner.leeway)
            .field("max_token_bytes", &inner.max_token_bytes)
            .field("cache_capacity", &self.cache_capacity())
            .finish_non_exhaustive()
    }
}

type PendingVerify<E> = Pin<Box<dyn Future<Output = Result<Arc<Claims<E>>, TokenError>> + Send>>;

/// The future [`Validator::verify`] returns: ready at once for cached tokens and local keys
/// (no allocation, no await point), boxed only when a key must be fetched.
#[must_use = "futures do nothing unless polled"]
pub struct Verify<E = ExtraClaims> {
    state: VerifyState<E>,
}

enum VerifyState<E> {
    Ready(Option<Result<Arc<Claims<E>>, TokenError>>),
    Pending(PendingVerify<E>),
}

impl<E> Verify<E> {
    fn ready(result: Result<Arc<Claims<E>>, TokenError>) -> Self {
        Verify {
            state: VerifyState::Ready(Some(result)),
        }
    }

    fn pending(future: PendingVerify<E>) -> Self {
        Verify {
            state: VerifyState::Pending(future),
        }
    }

    /// The result, if it is known without waiting; otherwise the future back, to be awaited.
    ///
    /// ```
    /// # use tower_client_credentials::Validator;
    /// # fn check(validator: &Validator, token: &str) {
    /// match validator.verify(token).into_ready() {
    ///     Ok(Ok(claims)) => println!("verified {}", claims.sub),
    ///     Ok(Err(error)) => println!("rejected: {error}"),
    ///     Err(pending) => { /* a key is being fetched: `pending.await` */ }
    /// }
    /// # }
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn into_ready(self) -> Result<Result<Arc<Claims<E>>, TokenError>, Self> {
        match self.state {
            VerifyState::Ready(Some(result)) => Ok(result),
            state => Err(Verify { state }),
        }
    }
}

impl<E> Future for Verify<E> {
    type Output = Result<Arc<Claims<E>>, TokenError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            VerifyState::Ready(result) => match result.take() {
                Some(result) => Poll::Ready(result),
                // Polled again after completion: a caller bug, not an input problem.
                None => Poll::Pending,
            },
            VerifyState::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

impl<E> fmt::Debug for Verify<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            VerifyState::Ready(_) => "ready",
            VerifyState::Pending(_) => "fetching keys",
        };
        f.debug_tuple("Verify").field(&state).finish()
    }
}

#[cfg(test)]
#[path = "validator_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "validator_time_tests.rs"]
mod time_tests;

#[cfg(test)]
#[path = "validator_rules_tests.rs"]
mod rules_tests;
