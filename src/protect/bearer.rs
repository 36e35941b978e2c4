//! [`BearerAuthLayer`] → [`BearerAuth`] → [`BearerAuthFuture`]: authenticate a request by its
//! bearer token.

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

use super::on_error::{Challenge, OnAuthError, Rejection, Rfc6750};
use super::resource_metadata::ProtectedResourceMetadata;
use super::validator::{Validator, Verify};
use super::{AuthContext, HasScope};
use crate::claims::{Claims, ExtraClaims};
use crate::error::AuthError;
use crate::http_auth::{b64token, bearer_credentials};
use crate::metrics::BearerOutcome;

/// Authenticates requests with `Authorization: Bearer <jwt>`.
///
/// On success the verified claims go into the request extensions as `Arc<Claims<E>>` and the
/// request reaches the inner service; otherwise the inner service is not called and the
/// [`OnAuthError`] handler (RFC 6750 by default) answers. Tokens are read from the
/// `Authorization` header only, never from the query string or body.
///
/// Verification, and its cache, belong to the [`Validator`]: layers built from clones of one
/// validator share one cache.
///
/// Cheap to clone. Generic over request and response bodies; any response body that is
/// `Default` works with the default error responses.
pub struct BearerAuthLayer<E = ExtraClaims, H = Rfc6750> {
    validator: Validator<E>,
    on_error: H,
    optional: bool,
    challenge: Challenge,
}

impl<E> BearerAuthLayer<E> {
    /// Every request must carry a valid bearer token.
    pub fn new(validator: Validator<E>) -> Self {
        BearerAuthLayer {
            validator,
            on_error: Rfc6750,
            optional: false,
            challenge: Challenge::default(),
        }
    }

    /// Requests without bearer credentials pass through with no claims (handlers take
    /// `Option<Claims>`); a token that is present but bad is still rejected.
    pub fn optional(validator: Validator<E>) -> Self {
        BearerAuthLayer {
            optional: true,
            ..Self::new(validator)
        }
    }
}

impl<E, H> BearerAuthLayer<E, H> {
    /// The realm of the `WWW-Authenticate` challenges (default `"api"`). It reaches the error
    /// handler (see [`Rejection::realm`]) and every [`RequireScopeLayer`](crate::RequireScopeLayer)
    /// and `Claims` extractor behind this layer.
    pub fn realm(mut self, realm: impl Into<Arc<str>>) -> Self {
        self.challenge = self.challenge.with_realm(realm);
        self
    }

    /// Names the protected resource's RFC 9728 metadata in every `WWW-Authenticate: Bearer`
    /// challenge (§5.1): `resource_metadata="<metadata.metadata_url()>"` on the 401s and 400s of
    /// this layer, and on the 401s and 403s of the [`RequireScopeLayer`](crate::RequireScopeLayer)s
    /// and `Claims` extractors behind it. A client that calls without a token learns from the
    /// 401 where the metadata is, and from the metadata which authorization server to ask.
    /// gRPC statuses carry no challenge and are unchanged. Custom error handlers read it from
    /// [`Rejection::resource_metadata`].
    ///
    /// ```
    /// use tower_client_credentials::{BearerAuthLayer, ProtectedResourceMetadata, Validator};
    ///
    /// # fn make(validator: Validator) -> Result<(), Box<dyn std::error::Error>> {
    /// let metadata = ProtectedResourceMetadata::builder("https://api.example.com/mcp")
    ///     .authorization_server("https://auth.example.com")
    ///     .build()?;
    /// let layer = BearerAuthLayer::new(validator).resource_metadata(&metadata);
    /// // 401: WWW-Authenticate: Bearer realm="api",
    /// //   resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"
    /// # Ok(()) }
    /// ```
    pub fn resource_metadata(mut self, metadata: &ProtectedResourceMetadata) -> Self {
        self.challenge = self
            .challenge
            .with_resource_metadata(metadata.metadata_url());
        self
    }

    /// Replaces the error responses; see [`OnAuthError`]. The realm and the
    /// `resource_metadata` URL are kept.
    pub fn on_error<H2>(self, on_error: H2) -> BearerAuthLayer<E, H2> {
        BearerAuthLayer {
            validator: self.validator,
            on_error,
            optional: self.optional,
            challenge: self.challenge,
        }
    }

    /// The validator this layer checks tokens with.
    pub fn validator(&self) -> &Validator<E> {
        &self.validator
    }
}

impl<E, H: Clone> Clone for BearerAuthLayer<E, H> {
    fn clone(&self) -> Self {
        BearerAuthLayer {
            validator: self.validator.clone(),
            on_error: self.on_error.clone(),
            optional: self.optional,
            challenge: self.challenge.clone(),
        }
    }
}

impl<E, H> fmt::Debug for BearerAuthLayer<E, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuthLayer")
            .field("validator", &self.validator)
            .field("optional", &self.optional)
            .field("realm", &self.challenge.realm())
            .field("resource_metadata", &self.challenge.resource_metadata())
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

impl<S, E> BearerAuth<S, E> {
    /// Wraps `inner`; the same as `BearerAuthLayer::new(validator).layer(inner)`.
    pub fn new(inner: S, validator: Validator<E>) -> Self {
        BearerAuthLayer::new(validator).layer(inner)
    }

    /// A [`BearerAuthLayer`] (the shorthand tower-http services offer).
    pub fn layer(validator: Validator<E>) -> BearerAuthLayer<E> {
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

impl<S, E, H, ReqBody, ResBody> Service<Request<ReqBody>> for BearerAuth<S, E, H>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    E: DeserializeOwned + Send + Sync + 'static,
    H: OnAuthError<ResBody> + Clone,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BearerAuthFuture<S, ReqBody, E, H>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let validator = &self.layer.validator;
        let verified = match bearer_credentials(req.headers()) {
            // A token verified before, byte for byte: no syntax check, no parsing.
            Ok(Some(raw)) => match validator.cached(raw) {
                Some(claims) => Ok(Ok(claims)),
                None => match b64token(raw) {
                    Ok(token) => validator
                        .verify(token)
                        .into_ready()
                        .map(|result| result.map_err(AuthError::from)),
                    Err(invalid) => Ok(Err(AuthError::InvalidRequest(invalid))),
                },
            },
            Ok(None) if self.layer.optional => {
                crate::metrics::bearer(BearerOutcome::Anonymous);
                let context = AuthContext::anonymous(&self.layer.challenge);
                req.extensions_mut().insert(context);
                return BearerAuthFuture::inner(self.inner.call(req));
            }
            Ok(None) => Ok(Err(AuthError::MissingToken)),
            Err(invalid) => Ok(Err(AuthError::InvalidRequest(invalid))),
        };
        match verified {
            Ok(Ok(claims)) => {
                authorize(&mut req, claims, &self.layer.challenge);
                BearerAuthFuture::inner(self.inner.call(req))
            }
            Ok(Err(error)) => BearerAuthFuture::error(reject(&self.layer, &error, &req)),
            Err(pending) => {
                // A key is being fetched: the service that was polled ready goes with the
                // request; a clone takes its place (tower's contract for deferred calls).
                let clone = self.inner.clone();
                let service = std::mem::replace(&mut self.inner, clone);
                BearerAuthFuture::verifying(pending, service, req, self.layer.clone())
            }
        }
    }
}

fn authorize<B, E: Send + Sync + 'static>(
    req: &mut Request<B>,
    claims: Arc<Claims<E>>,
    challenge: &Challenge,
) {
    crate::metrics::bearer(BearerOutcome::Ok);
    let context = AuthContext::authenticated(claims.clone() as Arc<dyn HasScope>, challenge);
    req.extensions_mut().insert(context);
    req.extensions_mut().insert(claims);
}

fn reject<B, ReqBody, E, H: OnAuthError<B>>(
    layer: &BearerAuthLayer<E, H>,
    error: &AuthError,
    req: &Request<ReqBody>,
) -> Response<B> {
    tracing::debug!(%error, "bearer authentication failed");
    crate::metrics::bearer_error(error);
    let rejection = Rejection::new(error, &layer.challenge, req);
    layer.on_error.on_auth_error(&rejection)
}

pin_project! {
    /// The response future of [`BearerAuth`]: the inner service's future, an error response
    /// ready at once, or (only while a key is fetched) the verification, then the inner call.
    pub struct BearerAuthFuture<S, ReqBody, E, H>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody, E, H>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody, E, H>
    where
        S: Service<Request<ReqBody>>,
    {
        Inner { #[pin] future: S::Future },
        Error { response: Option<S::Response> },
        // Boxed so that the common states stay small: this one is built only while a key is
        // fetched, never on the cached or local-key path.
        Verifying {
            verify: Verify<E>,
            deferred: Option<Box<Deferred<S, ReqBody, E, H>>>,
        },
    }
}

/// What the inner call needs once a fetched key has verified the token.
struct Deferred<S, ReqBody, E, H> {
    service: S,
    request: Request<ReqBody>,
    layer: BearerAuthLayer<E, H>,
}

impl<S, ReqBody, E, H> BearerAuthFuture<S, ReqBody, E, H>
where
    S: Service<Request<ReqBody>>,
{
    fn inner(future: S::Future) -> Self {
        BearerAuthFuture {
            state: State::Inner { future },
        }
    }

    fn error(response: S::Response) -> Self {
        BearerAuthFuture {
            state: State::Error {
                response: Some(response),
            },
        }
    }

    fn verifying(
        verify: Verify<E>,
        service: S,
        request: Request<ReqBody>,
        layer: BearerAuthLayer<E, H>,
    ) -> Self {
        BearerAuthFuture {
            state: State::Verifying {
                verify,
                deferred: Some(Box::new(Deferred {
                    service,
                    request,
                    layer,
                })),
            },
        }
    }
}

impl<S, ReqBody, ResBody, E, H> Future for BearerAuthFuture<S, ReqBody, E, H>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    E: Send + Sync + 'static,
    H: OnAuthError<ResBody>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Inner { future } => return future.poll(cx),
                StateProj::Error { response } => {
                    return match response.take() {
                        Some(response) => Poll::Ready(Ok(response)),
                        // Polled again after completion: a caller bug, not an input problem.
                        None => Poll::Pending,
                    };
                }
                StateProj::Verifying { verify, deferred } => {
                    let result = match Pin::new(verify).poll(cx) {
                        Poll::Ready(result) => result,
                        Poll::Pending => return Poll::Pending,
                    };
                    let Some(deferred) = deferred.take() else {
                        return Poll::Pending;
                    };
                    let Deferred {
                        mut service,
                        mut request,
                        layer,
                    } = *deferred;
                    let next = match result {
                        Ok(claims) => {
                            authorize(&mut request, claims, &layer.challenge);
                            State::Inner {
                                future: service.call(request),
                            }
                        }
                        Err(error) => State::Error {
                            response: Some(reject(&layer, &error.into(), &request)),
                        },
                    };
                    this.state.set(next);
                }
            }
        }
    }
}

impl<S, ReqBody, E, H> fmt::Debug for BearerAuthFuture<S, ReqBody, E, H>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuthFuture").finish_non_exhaustive()
    }
}
