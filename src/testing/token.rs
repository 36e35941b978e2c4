//! [`TokenBuilder`]: RFC 9068 access tokens from a [`TestIssuer`], valid or broken on purpose.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use super::issuer::{DEFAULT_CLIENT_ID, DEFAULT_TOKEN_LIFETIME, TestIssuer};
use crate::keys::{KeyError, SigningKey};

/// How far outside the validity window the `expired` and `not_yet_valid` tokens are: an hour,
/// far beyond the largest leeway a validator accepts (5 minutes).
const OUTSIDE: u64 = 3600;

/// The `aud` of [`TokenBuilder::wrong_audience`].
const WRONG_AUDIENCE: &str = "https://another-api.test";

/// Builds one access token of a [`TestIssuer`] (from [`TestIssuer::token`]).
///
/// By default the token is valid: header `typ: at+jwt`, the issuer's `kid` and algorithm;
/// claims `iss`, `sub` and `client_id` ([`DEFAULT_CLIENT_ID`]), `aud` (the issuer's audience),
/// `iat` (now, on the issuer's clock), `exp` (`iat` + [`DEFAULT_TOKEN_LIFETIME`]), a fresh
/// `jti`, and `scope` when one is set.
///
/// The methods that break a token say which [`TokenError`](crate::protect::TokenError) the
/// issuer's validator answers, and so which `error_description` a [`BearerAuthLayer`]'s 401
/// carries (its `WWW-Authenticate` is `Bearer realm="api", error="invalid_token",
/// error_description="…"`). Each breaks one thing, so the answer is exactly that one.
///
/// [`BearerAuthLayer`]: crate::BearerAuthLayer
///
/// ```
/// use tower_client_credentials::protect::TokenError;
/// use tower_client_credentials::testing::TestIssuer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let issuer = TestIssuer::new();
/// let validator = issuer.validator();
/// let token = issuer.token().client_id("svc-a").scope("reports:read").sign();
/// assert_eq!(validator.verify(&token).await.unwrap().sub, "svc-a");
/// let expired = issuer.token().expired().sign();
/// assert_eq!(validator.verify(&expired).await.unwrap_err(), TokenError::Expired);
/// # }
/// ```
#[must_use]
pub struct TokenBuilder {
    issuer: TestIssuer,
    iss: Option<String>,
    subject: Option<String>,
    client_id: String,
    scope: Option<String>,
    audience: Option<Value>,
    lifetime: u64,
    window: Window,
    typ: String,
    signer: Signer,
    claims: Map<String, Value>,
    removed: Vec<String>,
}

/// Where the token's validity window sits relative to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    Now,
    Expired,
    NotYetValid,
}

/// Which key signs the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signer {
    Issuer,
    /// A new key under the issuer's `kid`.
    WrongKey,
    /// A new key under its own `kid`.
    UnknownKey,
}

impl TokenBuilder {
    pub(super) fn new(issuer: TestIssuer) -> Self {
        TokenBuilder {
            issuer,
            iss: None,
            subject: None,
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            scope: None,
            audience: None,
            lifetime: DEFAULT_TOKEN_LIFETIME.as_secs(),
            window: Window::Now,
            typ: "at+jwt".to_owned(),
            signer: Signer::Issuer,
            claims: Map::new(),
            removed: Vec::new(),
        }
    }

    /// The `client_id` claim, and the `sub` unless [`subject`](Self::subject) sets another
    /// (RFC 9068 §2.2: for the client credentials grant the subject is the client).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// The `sub` claim (default: the client id).
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The `scope` claim, space-separated (default: none). Scopes the crate cannot parse make
    /// the token [`MissingClaim`](crate::protect::TokenError::MissingClaim).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The `aud` claim (default: the issuer's audience). Another value than the validator's
    /// audience makes the token
    /// [`InvalidAudience`](crate::protect::TokenError::InvalidAudience) (`"the token audience
    /// is not accepted"`).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(Value::String(audience.into()));
        self
    }

    /// Several audiences, as a JSON array (the token passes when any one is accepted).
    pub fn audiences<I, A>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        let list = audiences
            .into_iter()
            .map(|a| Value::String(a.into()))
            .collect();
        self.audience = Some(Value::Array(list));
        self
    }

    /// An audience the issuer's validator does not accept: the token is
    /// [`InvalidAudience`](crate::protect::TokenError::InvalidAudience), `"the token audience
    /// is not accepted"`.
    pub fn wrong_audience(self) -> Self {
        self.audience(WRONG_AUDIENCE)
    }

    /// Another `iss` than the issuer's: the token is
    /// [`InvalidIssuer`](crate::protect::TokenError::InvalidIssuer), `"the token issuer is not
    /// trusted"`.
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.iss = Some(iss.into());
        self
    }

    /// How long the token lives: `exp` = `iat` + `lifetime`, whole seconds (default
    /// [`DEFAULT_TOKEN_LIFETIME`]). Beyond the validator's maximum lifetime (24 h by default)
    /// the token is [`LifetimeTooLong`](crate::protect::TokenError::LifetimeTooLong).
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime.as_secs();
        self
    }

    /// A token that expired an hour ago (its lifetime kept): the token is
    /// [`Expired`](crate::protect::TokenError::Expired), `"the token has expired"`, whatever
    /// the validator's leeway.
    pub fn expired(mut self) -> Self {
        self.window = Window::Expired;
        self
    }

    /// A token with `nbf` an hour from now (`iat` now, `exp` its lifetime after `nbf`): the
    /// token is [`NotYetValid`](crate::protect::TokenError::NotYetValid), `"the token is not
    /// valid yet"`.
    pub fn not_yet_valid(mut self) -> Self {
        self.window = Window::NotYetValid;
        self
    }

    /// The header `typ` (default `at+jwt`). `"JWT"`, or none at all (`typ("")`), makes the
    /// token [`InvalidType`](crate::protect::TokenError::InvalidType), `"the token type is not
    /// accepted"`, for a validator that requires RFC 9068 access tokens (the default).
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = typ.into();
        self
    }

    /// Signed by a new key that carries the issuer's `kid`: the validator finds the issuer's
    /// key and the signature does not verify. The token is
    /// [`InvalidSignature`](crate::protect::TokenError::InvalidSignature), `"the token
    /// signature is invalid"`.
    pub fn signed_by_wrong_key(mut self) -> Self {
        self.signer = Signer::WrongKey;
        self
    }

    /// Signed by a new key with a `kid` of its own, which the issuer does not have. The token
    /// is [`UnknownKey`](crate::protect::TokenError::UnknownKey), `"the signing key is not
    /// known"`.
    pub fn signed_by_unknown_key(mut self) -> Self {
        self.signer = Signer::UnknownKey;
        self
    }

    /// Sets the claim `name` to `value`, any JSON, over whatever the builder would write
    /// (`"exp"`, `"aud"`, `"scope"` included), or adds a claim of your own (`"tenant"`).
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let name = name.into();
        self.removed.retain(|removed| *removed != name);
        self.claims.insert(name, value.into());
        self
    }

    /// Leaves the claim `name` out. Without `iss`, `sub`, `aud` or `exp` the token is
    /// [`MissingClaim`](crate::protect::TokenError::MissingClaim), `"the token lacks a
    /// required claim"` (without `iss`, the issuer is unknown:
    /// [`InvalidIssuer`](crate::protect::TokenError::InvalidIssuer)).
    pub fn without_claim(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.claims.remove(&name);
        self.removed.push(name);
        self
    }

    /// The claims as they will be signed.
    pub fn claims(&self) -> Value {
        let now = self.issuer.clock().now();
        let (iat, exp, nbf) = match self.window {
            Window::Now => (now, now.saturating_add(self.lifetime), None),
            Window::Expired => {
                let exp = now.saturating_sub(OUTSIDE);
                (exp.saturating_sub(self.lifetime), exp, None)
            }
            Window::NotYetValid => {
                let nbf = now.saturating_add(OUTSIDE);
                (now, nbf.saturating_add(self.lifetime), Some(nbf))
            }
        };
        let audience = self
            .audience
            .clone()
            .unwrap_or_else(|| Value::String(self.issuer.audience().to_owned()));
        let mut claims = Map::new();
        let iss = self.iss.as_deref().unwrap_or(self.issuer.issuer());
        claims.insert("iss".into(), iss.into());
        let sub = self.subject.as_deref().unwrap_or(&self.client_id);
        claims.insert("sub".into(), sub.into());
        claims.insert("aud".into(), audience);
        claims.insert("exp".into(), exp.into());
        claims.insert("iat".into(), iat.into());
        if let Some(nbf) = nbf {
            claims.insert("nbf".into(), nbf.into());
        }
        claims.insert("jti".into(), crate::random::id().into());
        claims.insert("client_id".into(), self.client_id.clone().into());
        if let Some(scope) = &self.scope {
            claims.insert("scope".into(), scope.clone().into());
        }
        for (name, value) in &self.claims {
            claims.insert(name.clone(), value.clone());
        }
        for name in &self.removed {
            claims.remove(name);
        }
        Value::Object(claims)
    }

    /// Signs the token (a compact JWS), with the crate's own signing ([`SigningKey::sign`]).
    ///
    /// # Panics
    ///
    /// If signing fails, or a key for [`signed_by_wrong_key`](Self::signed_by_wrong_key) /
    /// [`signed_by_unknown_key`](Self::signed_by_unknown_key) cannot be generated; neither
    /// happens with the crate's algorithms. [`try_sign`](Self::try_sign) returns the error.
    pub fn sign(self) -> String {
        match self.try_sign() {
            Ok(token) => token,
            Err(error) => panic!("TokenBuilder::sign: {error}"),
        }
    }

    /// Signs the token, or says why it could not.
    pub fn try_sign(self) -> Result<String, KeyError> {
        let claims = self.claims();
        let issuer_key = self.issuer.signing_key();
        let key = match self.signer {
            Signer::Issuer => issuer_key.clone(),
            Signer::WrongKey => {
                SigningKey::generate(issuer_key.algorithm())?.with_kid(issuer_key.kid())
            }
            Signer::UnknownKey => SigningKey::generate(issuer_key.algorithm())?,
        };
        if self.typ.is_empty() {
            return sign_without_typ(&key, &claims);
        }
        key.sign(&self.typ, &claims)
    }
}

/// A token whose header has no `typ` at all.
fn sign_without_typ(key: &SigningKey, claims: &Value) -> Result<String, KeyError> {
    key.sign_with_header(None, claims)
}

impl fmt::Debug for TokenBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("window", &self.window)
            .field("typ", &self.typ)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
