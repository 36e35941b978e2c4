//! [`AccessToken`], [`TokenSourceError`] and the [`TokenSource`] trait.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;

use crate::token_endpoint::{OAuthError, OAuthErrorCode};

/// An access token as a token source hands it out: cheap to clone (one reference count), with
/// its `Authorization` header value built once and marked sensitive.
///
/// `Debug` shows the expiry and scope, never the token.
///
/// ```
/// use tower_client_credentials::outbound::AccessToken;
///
/// let token = AccessToken::new("eyJhbGciOi", 1_900_000_300, Some("reports:read".into()))?;
/// assert_eq!(token.secret(), "eyJhbGciOi");
/// assert_eq!(token.authorization().to_str()?, "Bearer eyJhbGciOi");
/// assert!(token.authorization().is_sensitive());
/// assert!(!format!("{token:?}").contains("eyJ"));
/// assert!(token.is_usable_at(1_900_000_299) && !token.is_usable_at(1_900_000_300));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct AccessToken {
    inner: Arc<Inner>,
}

struct Inner {
    /// `Bearer <token>`, sensitive.
    header: HeaderValue,
    /// Unix seconds after which the token must not be sent.
    expires_at: u64,
    /// Unix seconds from which a source fetches a replacement.
    refresh_at: u64,
    scope: Option<String>,
}

/// Why a token cannot be wrapped: its characters cannot be sent in a header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the access token holds characters that cannot be sent in an HTTP header")]
pub struct InvalidAccessToken;

impl AccessToken {
    /// A token valid until `expires_at` (Unix seconds) with the granted `scope`, refreshed by
    /// a source from its expiry on (see [`AccessToken::with_refresh_at`]).
    ///
    /// RFC 6750 §2.1 limits a bearer token to `b64token` characters; anything else that is
    /// visible ASCII is accepted too (some providers send opaque tokens with other
    /// characters), control characters and non-ASCII are refused.
    pub fn new(
        token: &str,
        expires_at: u64,
        scope: Option<String>,
    ) -> Result<Self, InvalidAccessToken> {
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidAccessToken);
        }
        let mut value = Vec::with_capacity(7 + token.len());
        value.extend_from_slice(b"Bearer ");
        value.extend_from_slice(token.as_bytes());
        let mut header =
            HeaderValue::from_maybe_shared(Bytes::from(value)).map_err(|_| InvalidAccessToken)?;
        header.set_sensitive(true);
        Ok(AccessToken {
            inner: Arc::new(Inner {
                header,
                expires_at,
                refresh_at: expires_at,
                scope,
            }),
        })
    }

    /// Sets when a source should start fetching a replacement (Unix seconds, at most the
    /// expiry).
    #[must_use]
    pub fn with_refresh_at(self, refresh_at: u64) -> Self {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            header: shared.header.clone(),
            expires_at: shared.expires_at,
            refresh_at: shared.refresh_at,
            scope: shared.scope.clone(),
        });
        AccessToken {
            inner: Arc::new(Inner {
                refresh_at: refresh_at.min(inner.expires_at),
                ..inner
            }),
        }
    }

    /// The token itself. Keep it out of logs.
    pub fn secret(&self) -> &str {
        // The header was built from "Bearer " and visible ASCII.
        self.inner
            .header
            .to_str()
            .map(|value| &value[7..])
            .unwrap_or_default()
    }

    /// The `Authorization` header value, `Bearer <token>`, marked sensitive (HTTP/2 and HTTP/3
    /// never put it in their header compression tables; `Debug` of the value hides it).
    /// Cloning it does not allocate.
    pub fn authorization(&self) -> HeaderValue {
        self.inner.header.clone()
    }

    /// When the token expires (Unix seconds).
    pub fn expires_at(&self) -> u64 {
        self.inner.expires_at
    }

    /// When a source starts fetching a replacement (Unix seconds).
    pub fn refresh_at(&self) -> u64 {
        self.inner.refresh_at
    }

    /// The granted scope, as the token endpoint reported it.
    pub fn scope(&self) -> Option<&str> {
        self.inner.scope.as_deref()
    }

    /// Whether the token may still be sent at `now` (Unix seconds): before its expiry.
    pub fn is_usable_at(&self, now: u64) -> bool {
        now < self.inner.expires_at
    }

    /// Whether `self` and `other` are the same token handed out by a source (not merely equal
    /// strings): how a source tells that a token refused with 401 is still the one it holds.
    pub fn same_as(&self, other: &AccessToken) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_at", &self.inner.expires_at)
            .field("refresh_at", &self.inner.refresh_at)
            .field("scope", &self.inner.scope)
            .finish_non_exhaustive()
    }
}

/// Why no token could be had. Cheap to clone: every caller waiting on one fetch gets the same
/// error. Messages never carry a secret, an assertion or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenSourceError {
    /// The token endpoint refused the request with an RFC 6749 §5.2 error:
    /// `invalid_client`, `invalid_scope`, `unauthorized_client`, `invalid_grant`, … These are
    /// not retried (except `temporarily_unavailable` and `slow_down`, which are, until the
    /// deadline).
    #[error("the token endpoint refused the request (HTTP {status}): {error}")]
    Refused {
        /// The HTTP status it answered with.
        status: u16,
        /// The error it sent.
        error: OAuthError,
    },
    /// The token endpoint answered with an error status and no RFC 6749 error body.
    #[error("the token endpoint answered HTTP {0}")]
    Status(u16),
    /// The token endpoint answered 429 (or 503) with a `Retry-After` beyond the retry
    /// deadline, or kept answering it until then.
    #[error("the token endpoint asked to retry later")]
    RateLimited {
        /// What its last `Retry-After` asked for.
        retry_after: Option<Duration>,
    },
    /// The token endpoint could not be reached.
    #[error("could not connect to the token endpoint")]
    Connect,
    /// The token endpoint did not answer within the request timeout (or the retry deadline).
    #[error("the token endpoint did not answer in time")]
    Timeout,
    /// The connection failed after it was made (reset, TLS failure, truncated body).
    #[error("the request to the token endpoint failed")]
    Transport,
    /// A 2xx answer that is not a usable token response: not JSON, not a `Bearer` token,
    /// a token that cannot be sent in a header, or larger than 64 KiB.
    #[error("the token endpoint's answer is not a usable token response: {0}")]
    InvalidResponse(&'static str),
    /// The token endpoint could not be found from the issuer's metadata (RFC 8414).
    #[error("the token endpoint could not be discovered: {0}")]
    Discovery(&'static str),
    /// The client secret could not be read (its variable or file is gone).
    #[error("the client secret could not be read from {0}")]
    Secret(String),
    /// The private_key_jwt assertion could not be signed.
    #[error("the client assertion could not be signed")]
    Signing,
    /// The fetch stopped before it finished (its runtime shut down).
    #[error("the token fetch was cancelled")]
    Cancelled,
}

impl TokenSourceError {
    /// Whether another attempt may succeed without a configuration change: connection errors,
    /// timeouts, 5xx, 429, and the `temporarily_unavailable` / `slow_down` errors.
    pub fn is_transient(&self) -> bool {
        match self {
            TokenSourceError::Refused { status, error } => {
                *status >= 500
                    || *status == 429
                    || matches!(error.code(), OAuthErrorCode::TemporarilyUnavailable)
                    || matches!(error.code(), OAuthErrorCode::Other(code) if code == "slow_down")
            }
            TokenSourceError::Status(status) => *status >= 500 || *status == 429 || *status == 408,
            TokenSourceError::RateLimited { .. }
            | TokenSourceError::Connect
            | TokenSourceError::Timeout
            | TokenSourceError::Transport => true,
            TokenSourceError::InvalidResponse(_)
            | TokenSourceError::Discovery(_)
            | TokenSourceError::Secret(_)
            | TokenSourceError::Signing
            | TokenSourceError::Cancelled => false,
        }
    }

    /// The RFC 6749 error the endpoint sent, if it sent one.
    pub fn oauth_error(&self) -> Option<&OAuthError> {
        match self {
            TokenSourceError::Refused { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Something that hands out access tokens for outbound calls: [`CachedTokenSource`] (a
/// client-credentials client with a cache), or your own.
///
/// `token` is called before every outbound request, so it should be cheap when it has a token;
/// `renew` is called when a server refused a token with 401 `invalid_token`.
///
/// ```
/// use tower_client_credentials::outbound::{AccessToken, TokenSource, TokenSourceError};
///
/// /// A fixed token, for a test.
/// struct Fixed(AccessToken);
///
/// impl TokenSource for Fixed {
///     async fn token(&self) -> Result<AccessToken, TokenSourceError> {
///         Ok(self.0.clone())
///     }
/// }
/// ```
///
/// [`CachedTokenSource`]: super::CachedTokenSource
pub trait TokenSource: Send + Sync + 'static {
    /// A token to send now.
    fn token(&self) -> impl Future<Output = Result<AccessToken, TokenSourceError>> + Send;

    /// A token to replace `rejected`, which a server refused (401 `invalid_token`): a new one
    /// if `rejected` is still the one held, or the one another caller already renewed to.
    /// By default, [`TokenSource::token`].
    fn renew(
        &self,
        rejected: &AccessToken,
    ) -> impl Future<Output = Result<AccessToken, TokenSourceError>> + Send {
        let _ = rejected;
        self.token()
    }

    /// The token `token` would return, when it has one at hand without waiting: the layers'
    /// fast path, which then needs no future of its own. `None` by default.
    fn cached(&self) -> Option<AccessToken> {
        None
    }
}

impl<T: TokenSource> TokenSource for Arc<T> {
    fn token(&self) -> impl Future<Output = Result<AccessToken, TokenSourceError>> + Send {
        (**self).token()
    }

    fn renew(
        &self,
        rejected: &AccessToken,
    ) -> impl Future<Output = Result<AccessToken, TokenSourceError>> + Send {
        (**self).renew(rejected)
    }

    fn cached(&self) -> Option<AccessToken> {
        (**self).cached()
    }
}
