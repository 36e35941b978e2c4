//! The resource-server half: [`BearerAuthLayer`] authenticates, [`RequireScopeLayer`]
//! authorizes.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
//! use tower_client_credentials::{BearerAuthLayer, Claims, RequireScopeLayer, Validator};
//!
//! async fn list(claims: Claims) -> String {
//!     format!("reports for {}", claims.sub)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
//! let validator = Validator::builder()
//!     .issuer("https://auth.example.com", KeySource::local(ring))
//!     .audience("reports-api")
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/reports", get(list).layer(RequireScopeLayer::all(["reports:read"])))
//!     .layer(BearerAuthLayer::new(validator));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

mod cache;
#[cfg(feature = "axum")]
mod extract;
mod require_scope;
pub mod validator;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use serde::de::DeserializeOwned;
use tower_layer::Layer;
use tower_service::Service;

use crate::claims::{Claims, ExtraClaims};
use crate::error::{AuthError, OnAuthError, Rfc6750};
use crate::http_auth::bearer_token;
use crate::scope::ScopeSet;
use cache::TokenCache;

pub use cache::DEFAULT_CACHE_CAPACITY;
pub use require_scope::{RequireScope, RequireScopeLayer};
pub use validator::{ConfigError, TokenType, Validator, ValidatorBuilder};

/// Authenticates requests with `Authorization: Bearer <jwt>`.
///
/// On success the verified claims go into the request extensions as `Arc<Claims<E>>` and the
/// request reaches the inner service; otherwise the inner service is not called and the
/// [`OnAuthError`] handler (RFC 6750 by default) answers. Tokens are read from the
/// `Authorization` header only, never from the query string or body.
///
/// Verified tokens are cached (up to [`DEFAULT_CACHE_CAPACITY`] per layer, never past their
/// `exp`), so a client that reuses its token pays for the signature check once; see
/// [`cache_capacity`](Self::cache_capacity).
///
/// Cheap to clone (clones share the cache). Generic over request and response bodies; any
/// response body that is `Default` works with the default error responses.
pub struct BearerAuthLayer<E = ExtraClaims, H = Rfc6750> {
    validator: Validator,
    on_error: H,
    optional: bool,
    cache: Option<Arc<TokenCache<E>>>,
}

impl BearerAuthLayer {
    /// Every request must carry a valid bearer token.
    pub fn new(validator: Validator) -> Self {
        BearerAuthLayer {
            validator,
            on_error: Rfc6750::default(),
            optional: false,
            cache: Some(Arc::new(TokenCache::new(DEFAULT_CACHE_CAPACITY))),
        }
    }

    /// Requests without bearer credentials pass through with no claims (handlers take
    /// `Option<Claims>`); a token that is present but bad is still rejected.
    pub fn optional(validator: Validator) -> Self {
        BearerAuthLayer {
            optional: true,
            ..Self::new(validator)
        }
    }
}

impl<E, H> BearerAuthLayer<E, H> {
    /// Uses `realm` in the RFC 6750 challenges (default `"api"`).
    pub fn realm(self, realm: impl Into<Arc<str>>) -> BearerAuthLayer<E, Rfc6750> {
        self.on_error(Rfc6750::new(realm))
    }

    /// Replaces the error responses; see [`OnAuthError`].
    pub fn on_error<H2>(self, on_error: H2) -> BearerAuthLayer<E, H2> {
        BearerAuthLayer {
            validator: self.validator,
            on_error,
            optional: self.optional,
            cache: self.cache,
        }
    }

    /// Deserialises the claims the crate does not name into `E2` instead of a JSON map.
    ///
    /// ```
    /// # fn make(validator: tower_client_credentials::Validator) {
    /// #[derive(Clone, serde::Deserialize)]
    /// struct Tenant { tenant: String }
    /// let layer = tower_client_credentials::BearerAuthLayer::new(validator).with_claims::<Tenant>();
    /// # }
    /// ```
    pub fn with_claims<E2>(self) -> BearerAuthLayer<E2, H> {
        let capacity = self.cache.as_ref().map(|_| DEFAULT_CACHE_CAPACITY);
        BearerAuthLayer {
            validator: self.validator,
            on_error: self.on_error,
            optional: self.optional,
            cache: capacity.map(|c| Arc::new(TokenCache::new(c))),
        }
    }

    /// How many verified tokens to remember (default [`DEFAULT_CACHE_CAPACITY`]); `0` turns
    /// the cache off, so every request pays for a signature check.
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = (capacity > 0).then(|| Arc::new(TokenCache::new(capacity)));
        self
    }

    fn authenticate(&self, token: &str) -> Result<Arc<Claims<E>>, AuthError>
    where
        E: DeserializeOwned,
    {
        let Some(cache) = &self.cache else {
            return self
                .validator
                .verify(token)
                .map(Arc::new)
                .map_err(AuthError::InvalidToken);
        };
        if token.len() > self.validator.max_token_bytes() {
            return Err(AuthError::InvalidToken(crate::TokenError::TooLarge));
        }
        let key = TokenCache::<E>::key(token);
        if let Some(claims) = cache.get(&key, self.validator.now()) {
            return Ok(claims);
        }
        let claims = Arc::new(
            self.validator
                .verify(token)
                .map_err(AuthError::InvalidToken)?,
        );
        cache.insert(key, claims.clone(), self.validator.expires_at(claims.exp));
        Ok(claims)
    }
}

impl<E, H: Clone> Clone for BearerAuthLayer<E, H> {
    fn clone(&self) -> Self {
        BearerAuthLayer {
            validator: self.validator.clone(),
            on_error: self.on_error.clone(),
            optional: self.optional,
            cache: self.cache.clone(),
        }
    }
}

impl<E, H> fmt::Debug for BearerAuthLayer<E, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuthLayer")
            .field("validator", &self.validator)
            .field("optional", &self.optional)
            .field("cache", &self.cache.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, E, H: Clone> Layer<S> for BearerAuthLayer<E, H> {
    type Service = BearerAuth<S, E, H>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerAuth {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`BearerAuthLayer`] builds.
pub struct BearerAuth<S, E = ExtraClaims, H = Rfc6750> {
    inner: S,
    layer: BearerAuthLayer<E, H>,
}

impl<S> BearerAuth<S> {
    /// Wraps `inner`; the same as `BearerAuthLayer::new(validator).layer(inner)`.
    pub fn new(inner: S, validator: Validator) -> Self {
        BearerAuthLayer::new(validator).layer(inner)
    }

    /// A [`BearerAuthLayer`] (the shorthand tower-http services offer).
    pub fn layer(validator: Validator) -> BearerAuthLayer {
        BearerAuthLayer::new(validator)
    }
}

impl<S, E, H> BearerAuth<S, E, H> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, E, H: Clone> Clone for BearerAuth<S, E, H> {
    fn clone(&self) -> Self {
        BearerAuth {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, E, H> fmt::Debug for BearerAuth<S, E, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuth")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

/// What [`RequireScopeLayer`] reads: the verified scopes, whatever the claims type.
#[derive(Clone)]
pub(crate) struct GrantedScope(pub(crate) Arc<dyn HasScope>);

pub(crate) trait HasScope: Send + Sync {
    fn scope(&self) -> &ScopeSet;
}

impl<E: Send + Sync> HasScope for Claims<E> {
    fn scope(&self) -> &ScopeSet {
        &self.scope
    }
}

impl<S, E, H, ReqBody, ResBody> Service<Request<ReqBody>> for BearerAuth<S, E, H>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    E: DeserializeOwned + Send + Sync + 'static,
    H: OnAuthError<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let verified = match bearer_token(req.headers()) {
            Ok(Some(token)) => self.layer.authenticate(token).map(Some),
            Ok(None) if self.layer.optional => Ok(None),
            Ok(None) => Err(AuthError::MissingToken),
            Err(e) => Err(AuthError::InvalidRequest(e)),
        };
        match verified {
            Ok(Some(claims)) => {
                req.extensions_mut()
                    .insert(GrantedScope(claims.clone() as Arc<dyn HasScope>));
                req.extensions_mut().insert(claims);
                ResponseFuture::inner(self.inner.call(req))
            }
            Ok(None) => ResponseFuture::inner(self.inner.call(req)),
            Err(error) => {
                tracing::debug!(%error, "bearer authentication failed");
                ResponseFuture::error(self.layer.on_error.on_auth_error(&error, req.headers()))
            }
        }
    }
}

pin_project! {
    /// The response future of [`BearerAuth`] and [`RequireScope`]: the inner service's future,
    /// or an error response ready at once.
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F },
        Error { response: Option<Response<B>> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(future: F) -> Self {
        ResponseFuture {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn error(response: Response<B>) -> Self {
        ResponseFuture {
            kind: Kind::Error {
                response: Some(response),
            },
        }
    }
}

impl<F, B, Err> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, Err>>,
{
    type Output = Result<Response<B>, Err>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Error { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled again after completion: a caller bug, not an input problem.
                None => Poll::Pending,
            },
        }
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
