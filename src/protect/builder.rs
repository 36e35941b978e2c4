//! [`ValidatorBuilder`]: a [`Validator`]'s settings, checked against each other once, with
//! each trusted issuer's rules resolved against the builder's defaults.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use super::cache::{DEFAULT_CACHE_CAPACITY, TokenCache};
use super::rules::{IssuerRules, Required, TokenType, TrustedIssuer};
use super::validator::{Inner, Validator};
use crate::claims::ExtraClaims;
use crate::keys::KeySource;
use crate::time::Clock;

/// Default clock leeway for `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// The largest leeway the builder accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Default maximum token length, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Default maximum token lifetime: `exp − iat` (or `exp − now` for a token without `iat`) may
/// be at most this long.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

impl Validator<ExtraClaims> {
    /// Starts a builder: leeway 30 s, `typ` `at+jwt`, tokens up to 8 KiB living at most 24 h, a
    /// cache of [`DEFAULT_CACHE_CAPACITY`] tokens, the system clock, extra claims as a JSON map.
    pub fn builder() -> ValidatorBuilder<ExtraClaims> {
        ValidatorBuilder {
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            typ: TokenType::AccessToken,
            required: Vec::new(),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            clock: Clock::system(),
            claims: PhantomData,
        }
    }
}

/// A validator configuration mistake, reported by [`ValidatorBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidatorConfigError {
    /// No trusted issuer was configured.
    #[error("at least one issuer is required")]
    NoIssuer,
    /// An issuer was configured twice, or with an empty name, or an alias is empty or is
    /// another issuer's name or alias.
    #[error("issuer names and aliases must be non-empty and unique")]
    BadIssuer,
    /// An issuer has no audience, and none was set on the builder: a token for any service
    /// would be accepted.
    #[error("issuer {issuer:?} has no audience (at least one is required)")]
    NoAudience {
        /// The issuer without an audience.
        issuer: String,
    },
    /// Leeway above [`MAX_LEEWAY`].
    #[error("leeway may be at most 300 seconds")]
    LeewayTooLarge,
    /// A zero maximum token size.
    #[error("the maximum token size must be positive")]
    BadMaxSize,
    /// A maximum token lifetime under one second, on the builder or on an issuer.
    #[error("the maximum token lifetime must be at least one second")]
    BadMaxLifetime,
    /// A required-claim name the validator does not know.
    #[error("unknown required claim {claim:?} (known: iat, nbf, jti, client_id)")]
    UnknownClaim {
        /// The unknown name.
        claim: String,
    },
    /// A scope or client-id claim path of an issuer is empty or has an empty level (`a..b`).
    #[error("issuer {issuer:?} names an empty claim path")]
    BadClaimPath {
        /// The issuer with the bad path.
        issuer: String,
    },
    /// An issuer's list of allowed clients is empty: none of its tokens could pass.
    #[error("issuer {issuer:?} allows no client (the list of allowed clients is empty)")]
    NoAllowedClient {
        /// The issuer without an allowed client.
        issuer: String,
    },
}

/// Builds a [`Validator`]. The order of the calls does not matter.
#[must_use]
pub struct ValidatorBuilder<E = ExtraClaims> {
    issuers: Vec<TrustedIssuer>,
    audiences: Vec<String>,
    leeway: Duration,
    typ: TokenType,
    required: Vec<String>,
    max_token_bytes: usize,
    max_lifetime: Duration,
    cache_capacity: usize,
    clock: Clock,
    claims: PhantomData<fn() -> E>,
}

impl<E> ValidatorBuilder<E> {
    /// Trusts tokens whose `iss` is exactly `issuer`, signed by a key of `keys`, under the
    /// builder's audiences, `typ` and required claims. Call again to trust several issuers;
    /// each token is checked against its own issuer's keys only. Use [`trust`](Self::trust)
    /// for an issuer with rules of its own.
    pub fn issuer(self, issuer: impl Into<String>, keys: KeySource) -> Self {
        self.trust(TrustedIssuer::new(issuer, keys))
    }

    /// Trusts an issuer with its own rules; settings it leaves unset come from the builder.
    pub fn trust(mut self, issuer: TrustedIssuer) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// Accepts tokens whose `aud` contains `audience`, for every issuer that sets no audience
    /// of its own. Call again to accept several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Clock leeway for `exp` and `nbf` (default 30 s, at most 5 min; whole seconds).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Which header `typ` to accept from issuers that set none of their own (default
    /// [`TokenType::AccessToken`]).
    pub fn token_type(mut self, typ: TokenType) -> Self {
        self.typ = typ;
        self
    }

    /// The longest token read, in bytes (default 8 KiB). Longer tokens are rejected before
    /// any decoding or hashing.
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    /// The longest token lifetime accepted from issuers that set none of their own (default
    /// 24 h, whole seconds): a token whose `exp − iat`, or `exp − now` when it has no `iat`
    /// (with the leeway on top, as `now` is this clock's), is longer is `invalid_token`. Bounds
    /// how long a leaked token stays usable, whatever `exp` its issuer wrote.
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max;
        self
    }

    /// Requires these claims besides `iss`, `sub`, `aud` and `exp` (always required), for
    /// issuers that set none of their own: any of `iat`, `nbf`, `jti`, `client_id`.
    pub fn required_claims<I, T>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.required = claims.into_iter().map(Into::into).collect();
        self
    }

    /// How many verified tokens to remember (default [`DEFAULT_CACHE_CAPACITY`]); `0` turns
    /// the cache off, so every request pays for a signature check.
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// The clock for `exp`, `nbf` and cache expiry (default the system clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Deserialises the claims the crate does not name into `E2` instead of a JSON map; every
    /// other setting is kept.
    ///
    /// ```
    /// # use tower_client_credentials::{Claims, Validator};
    /// # use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
    /// #[derive(Clone, serde::Deserialize)]
    /// struct Tenant { tenant: String }
    ///
    /// # let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
    /// let validator: Validator<Tenant> = Validator::builder()
    ///     .issuer("https://auth.example.com", KeySource::local(ring))
    ///     .audience("reports-api")
    ///     .claims::<Tenant>()
    ///     .build()?;
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn claims<E2>(self) -> ValidatorBuilder<E2> {
        ValidatorBuilder {
            issuers: self.issuers,
            audiences: self.audiences,
            leeway: self.leeway,
            typ: self.typ,
            required: self.required,
            max_token_bytes: self.max_token_bytes,
            max_lifetime: self.max_lifetime,
            cache_capacity: self.cache_capacity,
            clock: self.clock,
            claims: PhantomData,
        }
    }

    /// Checks the configuration and builds the validator.
    pub fn build(self) -> Result<Validator<E>, ValidatorConfigError> {
        if self.leeway > MAX_LEEWAY {
            return Err(ValidatorConfigError::LeewayTooLarge);
        }
        if self.max_token_bytes == 0 {
            return Err(ValidatorConfigError::BadMaxSize);
        }
        let issuers = self.resolve_issuers()?;
        Ok(Validator {
            inner: Arc::new(Inner {
                issuers,
                leeway: self.leeway.as_secs(),
                max_token_bytes: self.max_token_bytes,
                cache: (self.cache_capacity > 0).then(|| TokenCache::new(self.cache_capacity)),
                clock: self.clock,
            }),
        })
    }

    /// Each issuer's rules, with the builder's settings filled in where it set none.
    fn resolve_issuers(&self) -> Result<Box<[IssuerRules]>, ValidatorConfigError> {
        if self.issuers.is_empty() {
            return Err(ValidatorConfigError::NoIssuer);
        }
        let unknown = |claim| ValidatorConfigError::UnknownClaim { claim };
        let defaults = Required::parse(&self.required).map_err(unknown)?;
        let mut resolved = Vec::with_capacity(self.issuers.len());
        let mut names = std::collections::HashSet::new();
        for trusted in &self.issuers {
            let name = &trusted.issuer;
            // One `iss` value names one issuer: its keys and rules, no other's.
            for spelling in std::iter::once(name).chain(&trusted.aliases) {
                if spelling.is_empty() || !names.insert(spelling.as_str()) {
                    return Err(ValidatorConfigError::BadIssuer);
                }
            }
            let paths = trusted.scope_claims.iter().chain(&trusted.client_id_claims);
            if !paths.into_iter().all(|path| path.is_valid()) {
                return Err(ValidatorConfigError::BadClaimPath {
                    issuer: name.clone(),
                });
            }
            if trusted.allowed_clients.as_ref().is_some_and(Vec::is_empty) {
                return Err(ValidatorConfigError::NoAllowedClient {
                    issuer: name.clone(),
                });
            }
            let audiences = match trusted.audiences.is_empty() {
                true => self.audiences.clone(),
                false => trusted.audiences.clone(),
            };
            if audiences.is_empty() {
                return Err(ValidatorConfigError::NoAudience {
                    issuer: name.clone(),
                });
            }
            let typ = trusted.typ.clone().unwrap_or_else(|| self.typ.clone());
            let max_lifetime = trusted.max_lifetime.unwrap_or(self.max_lifetime).as_secs();
            if max_lifetime == 0 {
                return Err(ValidatorConfigError::BadMaxLifetime);
            }
            let mut required = match &trusted.required {
                Some(names) => Required::parse(names).map_err(unknown)?,
                None => defaults,
            };
            if typ == TokenType::AccessToken {
                // RFC 9068 §2.2 makes these mandatory in access tokens.
                required.iat = true;
                required.jti = true;
                required.client_id = true;
            }
            resolved.push(IssuerRules {
                issuer: name.clone(),
                aliases: trusted.aliases.clone().into(),
                keys: trusted.keys.clone(),
                audiences: audiences.into(),
                typ,
                required,
                max_lifetime,
                scope_claims: trusted.scope_claims.clone().into(),
                client_id_claims: trusted.client_id_claims.clone().into(),
                allowed_clients: trusted.allowed_clients.clone().map(Into::into),
            });
        }
        Ok(resolved.into())
    }
}

impl<E> fmt::Debug for ValidatorBuilder<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatorBuilder")
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}
