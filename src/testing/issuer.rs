//! [`TestIssuer`]: an in-process issuer with a generated key, and the validator that trusts it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::TestingError;
use super::token::TokenBuilder;
use crate::BearerAuthLayer;
use crate::Validator;
use crate::keys::{Algorithm, Jwks, KeyRing, KeySource, SigningKey};
use crate::time::Clock;

/// The `iss` of a [`TestIssuer`] unless [`TestIssuerBuilder::issuer`] says otherwise.
pub const DEFAULT_ISSUER: &str = "https://issuer.test";
/// The `aud` of a [`TestIssuer`]'s tokens, and the one audience its validator accepts, unless
/// [`TestIssuerBuilder::audience`] says otherwise.
pub const DEFAULT_AUDIENCE: &str = "test-api";
/// The `client_id` (and `sub`) of a token unless [`TokenBuilder::client_id`] says otherwise.
pub const DEFAULT_CLIENT_ID: &str = "test-client";
/// How long a token lives unless [`TokenBuilder::expires_in`] says otherwise: 5 minutes.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// An in-process issuer for tests: a generated key (EdDSA unless
/// [`TestIssuerBuilder::algorithm`] picks another), a [`Validator`] that trusts it, and a
/// [`TokenBuilder`] for RFC 9068 access tokens, valid or deliberately broken.
///
/// Cheap to clone: clones share the key and the validator (and so its verified-token cache).
/// `Debug` shows the issuer, audience, `kid` and algorithm, never key material.
///
/// ```
/// use tower_client_credentials::testing::TestIssuer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let issuer = TestIssuer::builder()
///     .issuer("https://auth.example.com")
///     .audience("reports-api")
///     .build()?;
/// let token = issuer.token_with_scope("reports:read");
/// let claims = issuer.validator().verify(&token).await?;
/// assert_eq!(claims.iss, "https://auth.example.com");
/// assert_eq!(claims.scope.to_string(), "reports:read");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TestIssuer {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audience: String,
    key: SigningKey,
    ring: KeyRing,
    validator: Validator,
    clock: Clock,
}

impl TestIssuer {
    /// An issuer at [`DEFAULT_ISSUER`] for [`DEFAULT_AUDIENCE`], with a new EdDSA key and the
    /// system clock.
    ///
    /// # Panics
    ///
    /// If the crypto backend cannot generate an Ed25519 key (it always can); use
    /// [`TestIssuer::builder`] for a `Result`.
    pub fn new() -> Self {
        match Self::builder().build() {
            Ok(issuer) => issuer,
            Err(error) => panic!("TestIssuer::new: {error}"),
        }
    }

    /// Settings for an issuer: its URL, audience, algorithm or key, and clock.
    pub fn builder() -> TestIssuerBuilder {
        TestIssuerBuilder::default()
    }

    /// The issuer URL, the `iss` of its tokens.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The audience of its tokens, the one its validator accepts.
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// The key its tokens are signed with (for tokens the [`TokenBuilder`] cannot make).
    pub fn signing_key(&self) -> &SigningKey {
        &self.inner.key
    }

    /// Its key ring (one key), e.g. to rotate in a new key or to build a validator of your own.
    pub fn key_ring(&self) -> &KeyRing {
        &self.inner.ring
    }

    /// Its keys as a [`KeySource`], for a [`Validator`] built by hand.
    pub fn key_source(&self) -> KeySource {
        KeySource::local(self.inner.ring.clone())
    }

    /// Its public keys as a JWKS document, to serve to a validator that fetches keys.
    pub fn jwks(&self) -> Jwks {
        self.inner.ring.jwks()
    }

    /// The clock its tokens' `iat` and `exp` and its validator read.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// A validator that trusts this issuer's keys, for its issuer URL and audience, with the
    /// crate's defaults otherwise (`typ` `at+jwt`, 30 s leeway) and this issuer's clock.
    /// Clones share one verified-token cache.
    pub fn validator(&self) -> Validator {
        self.inner.validator.clone()
    }

    /// A [`BearerAuthLayer`] over [`validator`](Self::validator), realm `"api"`.
    pub fn layer(&self) -> BearerAuthLayer {
        BearerAuthLayer::new(self.validator())
    }

    /// A token builder: by default a valid token for [`DEFAULT_CLIENT_ID`], no scope, living
    /// [`DEFAULT_TOKEN_LIFETIME`].
    pub fn token(&self) -> TokenBuilder {
        TokenBuilder::new(self.clone())
    }

    /// A valid token for [`DEFAULT_CLIENT_ID`] with `scope` (space-separated).
    ///
    /// # Panics
    ///
    /// As [`TokenBuilder::sign`].
    pub fn token_with_scope(&self, scope: &str) -> String {
        self.token().scope(scope).sign()
    }
}

impl Default for TestIssuer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field("kid", &self.inner.key.kid())
            .field("alg", &self.inner.key.algorithm())
            .finish_non_exhaustive()
    }
}

/// Builds a [`TestIssuer`].
#[derive(Debug)]
#[must_use]
pub struct TestIssuerBuilder {
    issuer: String,
    audience: String,
    algorithm: Algorithm,
    key: Option<SigningKey>,
    clock: Clock,
}

impl Default for TestIssuerBuilder {
    fn default() -> Self {
        TestIssuerBuilder {
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            algorithm: Algorithm::EdDSA,
            key: None,
            clock: Clock::system(),
        }
    }
}

impl TestIssuerBuilder {
    /// The issuer URL (default [`DEFAULT_ISSUER`]).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// The audience (default [`DEFAULT_AUDIENCE`]).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// The algorithm of the generated key (default EdDSA); RSA keys take a moment to generate.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Signs with `key` instead of generating one (its algorithm wins over
    /// [`algorithm`](Self::algorithm)).
    pub fn key(mut self, key: SigningKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The clock for the tokens' `iat`/`exp` and for the validator (default the system
    /// clock): with a [`ManualClock`](crate::time::ManualClock), a test moves time for both.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Generates the key (unless one was given) and builds the validator.
    pub fn build(self) -> Result<TestIssuer, TestingError> {
        let key = match self.key {
            Some(key) => key,
            None => SigningKey::generate(self.algorithm)?,
        };
        let ring = KeyRing::new(key.clone()).with_clock(self.clock.clone());
        let validator = Validator::builder()
            .issuer(self.issuer.clone(), KeySource::local(ring.clone()))
            .audience(self.audience.clone())
            .clock(self.clock.clone())
            .build()?;
        Ok(TestIssuer {
            inner: Arc::new(Inner {
                issuer: self.issuer,
                audience: self.audience,
                key,
                ring,
                validator,
                clock: self.clock,
            }),
        })
    }
}
