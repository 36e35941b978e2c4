//! [`AddBearerLayer`] → [`AddBearer`] → [`AddBearerFuture`]: outbound requests carry a
//! [`TokenSource`]'s access token, to the origins it is meant for; a refused token is renewed
//! and the request sent once more.
//!
//! With hyper-util's client (absolute URIs: name the origins that get the token):
//!
//! ```no_run
//! use bytes::Bytes;
//! use http_body_util::Empty;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//! use tower_client_credentials::outbound::{AddBearerLayer, CachedTokenSource, ClientCredentials};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let tokens = CachedTokenSource::new(ClientCredentials::from_env()?);
//! let mut reports = ServiceBuilder::new()
//!     .layer(AddBearerLayer::new(tokens).origin("http://reports.internal:8080")?)
//!     .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
//! let request = http::Request::get("http://reports.internal:8080/api/reports")
//!     .body(Empty::new())?;
//! let response = reports.ready().await?.call(request).await?;
//! # let _ = response; Ok(()) }
//! ```
//!
//! With a tonic channel (bound to one origin; the URIs its layers see are relative, so every
//! call gets the token):
//!
//! ```no_run
//! use tower::Layer;
//! use tower_client_credentials::outbound::{AddBearerLayer, CachedTokenSource, ClientCredentials};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let tokens = CachedTokenSource::new(ClientCredentials::from_env()?);
//! let channel = tonic::transport::Endpoint::from_static("http://reports.internal:50051")
//!     .connect()
//!     .await?;
//! let grpc = tonic::client::Grpc::new(AddBearerLayer::new(tokens).layer(channel));
//! # let _ = grpc; Ok(()) }
//! ```

mod future;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response, header::AUTHORIZATION};
use tower_layer::Layer;
use tower_service::Service;

use super::origin::Origins;
use super::{InvalidOrigin, ReplayBody, ReplayEmpty, TokenSource, TokenSourceError};
pub use future::AddBearerFuture;
use future::{ErasedSource, Replay};

/// Adds `Authorization: Bearer <token>` to outbound requests, for the origins it is configured
/// for, from a [`TokenSource`] (a [`CachedTokenSource`](super::CachedTokenSource), say).
///
/// **Which requests get the token.** A request whose URI has no authority (a relative URI,
/// as every call through a tonic channel has: the channel is bound to one origin), and a
/// request to an origin added with [`origin`](Self::origin): the scheme, host and port are
/// compared, the host without regard to case, a missing port as the scheme's default. Any
/// other request passes through untouched: a token is never sent to a host it was not meant
/// for, whatever URL a request names. Put the layer inside (below) a layer that follows
/// redirects, so that every hop is checked. A request that already carries an `Authorization`
/// header is left alone too (the caller chose its credentials), and its 401 is not acted on.
///
/// **The header** is the token's
/// [`AccessToken::authorization`](super::AccessToken::authorization), marked sensitive (HTTP/2
/// never indexes it; `Debug` hides it).
///
/// **A refused token.** When the answer is 401 with a Bearer `error="invalid_token"`
/// challenge (RFC 6750 §3.1), or a trailers-only gRPC `UNAUTHENTICATED`, the layer asks the
/// source to [`renew`](TokenSource::renew) the token it sent, and sends the request once more
/// with the new token when the [`ReplayBody`] policy could copy it ([`ReplayEmpty`] by
/// default: bodiless requests). The retry's answer comes back as it is, a second 401
/// included: never a loop. A request that cannot be replayed still renews the token (the next
/// request gets the new one) and its 401 comes back; so does the 401 when renewal fails or
/// hands back the refused token.
///
/// **Cost.** With a token at hand ([`TokenSource::cached`]), the header is added and the inner
/// service called at once: no boxed future, no lock. A request that may be replayed also
/// clones its head and the inner service. Only a token fetch and a renewal box a future.
///
/// Cheap to clone (the source is shared).
pub struct AddBearerLayer<T, P = ReplayEmpty> {
    source: Arc<T>,
    origins: Origins,
    replay: P,
}

impl<T: TokenSource> AddBearerLayer<T> {
    /// Tokens from `source` for requests with relative URIs; add origins with
    /// [`origin`](Self::origin).
    pub fn new(source: T) -> Self {
        AddBearerLayer {
            source: Arc::new(source),
            origins: Origins::default(),
            replay: ReplayEmpty,
        }
    }
}

impl<T, P> AddBearerLayer<T, P> {
    /// Also sends the token to `origin`: an absolute `http` or `https` URL with nothing after
    /// the host and port but an optional `/` (`"https://api.example.com"`,
    /// `"http://10.0.0.7:8080"`). May be repeated.
    ///
    /// ```
    /// # use tower_client_credentials::outbound::{AccessToken, TokenSourceError};
    /// use tower_client_credentials::outbound::{AddBearerLayer, InvalidOrigin, TokenSource};
    /// # struct Fixed;
    /// # impl TokenSource for Fixed {
    /// #     async fn token(&self) -> Result<AccessToken, TokenSourceError> { Err(TokenSourceError::Cancelled) }
    /// # }
    ///
    /// let layer = AddBearerLayer::new(Fixed)
    ///     .origin("https://reports.example.com")?
    ///     .origin("https://billing.example.com:8443")?;
    /// assert!(matches!(layer.origin("reports.example.com"), Err(InvalidOrigin::NotAUrl)));
    /// # Ok::<_, InvalidOrigin>(())
    /// ```
    pub fn origin(self, origin: &str) -> Result<Self, InvalidOrigin> {
        Ok(AddBearerLayer {
            origins: self.origins.with(origin)?,
            ..self
        })
    }

    /// Replaces the policy that decides which requests are sent again after a refused token
    /// ([`ReplayEmpty`] by default; [`ReplayClone`](super::ReplayClone),
    /// [`NoReplay`](super::NoReplay), or your own [`ReplayBody`]).
    pub fn replay<P2>(self, policy: P2) -> AddBearerLayer<T, P2> {
        AddBearerLayer {
            source: self.source,
            origins: self.origins,
            replay: policy,
        }
    }

    /// The token source.
    pub fn source(&self) -> &T {
        &self.source
    }
}

impl<T, P: Clone> Clone for AddBearerLayer<T, P> {
    fn clone(&self) -> Self {
        AddBearerLayer {
            source: self.source.clone(),
            origins: self.origins.clone(),
            replay: self.replay.clone(),
        }
    }
}

impl<T, P: fmt::Debug> fmt::Debug for AddBearerLayer<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The source's own Debug is not trusted to keep its token out.
        f.debug_struct("AddBearerLayer")
            .field("source", &std::any::type_name::<T>())
            .field("origins", &self.origins)
            .field("replay", &self.replay)
            .finish()
    }
}

impl<S, T, P: Clone> Layer<S> for AddBearerLayer<T, P> {
    type Service = AddBearer<S, T, P>;

    fn layer(&self, inner: S) -> Self::Service {
        AddBearer {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`AddBearerLayer`] builds; see there.
pub struct AddBearer<S, T, P = ReplayEmpty> {
    inner: S,
    layer: AddBearerLayer<T, P>,
}

impl<S, T: TokenSource> AddBearer<S, T> {
    /// Wraps `inner`; the same as `AddBearerLayer::new(source).layer(inner)`.
    pub fn new(inner: S, source: T) -> Self {
        AddBearerLayer::new(source).layer(inner)
    }

    /// An [`AddBearerLayer`] (the shorthand tower-http services offer).
    pub fn layer(source: T) -> AddBearerLayer<T> {
        AddBearerLayer::new(source)
    }
}

impl<S, T, P> AddBearer<S, T, P> {
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

impl<S: Clone, T, P: Clone> Clone for AddBearer<S, T, P> {
    fn clone(&self) -> Self {
        AddBearer {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, T, P: fmt::Debug> fmt::Debug for AddBearer<S, T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddBearer")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

/// Why [`AddBearer`] could not answer: no token could be had, or the inner service failed.
///
/// A `std::error::Error` when the inner error is, so tonic (which wants errors that convert
/// into `Box<dyn Error + Send + Sync>`) and `?` into a boxed error both take it.
#[derive(Debug, thiserror::Error)]
pub enum AddBearerError<E> {
    /// The token source had no token for the request (it was not sent).
    #[error("could not get an access token: {0}")]
    Token(TokenSourceError),
    /// The inner service failed.
    #[error(transparent)]
    Inner(E),
}

impl<S, T, P, ReqBody, ResBody> Service<Request<ReqBody>> for AddBearer<S, T, P>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    T: TokenSource,
    P: ReplayBody<ReqBody>,
{
    type Response = Response<ResBody>;
    type Error = AddBearerError<S::Error>;
    type Future = AddBearerFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(AddBearerError::Inner)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        if request.headers().contains_key(AUTHORIZATION)
            || !self.layer.origins.admits_uri(request.uri())
        {
            return AddBearerFuture::passthrough(self.inner.call(request));
        }
        // Taken before the body is handed over: once sent, it is gone.
        let copy = self
            .layer
            .replay
            .replay(request.body())
            .map(|body| (head_of(&request), body));
        let source: Arc<dyn ErasedSource> = self.layer.source.clone();
        let Some(token) = self.layer.source.cached() else {
            let fetch = source.clone().boxed_token();
            return AddBearerFuture::fetching(fetch, source, self.take_ready(), request, copy);
        };
        request
            .headers_mut()
            .insert(AUTHORIZATION, token.authorization());
        match copy {
            Some((head, body)) => {
                // The ready service goes with the future: the retry calls it again.
                let mut service = self.take_ready();
                let future = service.call(request);
                let replay = Replay {
                    service,
                    head,
                    body,
                };
                AddBearerFuture::calling(future, source, token, Some(replay))
            }
            None => AddBearerFuture::calling(self.inner.call(request), source, token, None),
        }
    }
}

impl<S: Clone, T, P> AddBearer<S, T, P> {
    /// The service that was polled ready, for a call made later or made twice; a clone takes
    /// its place and is polled ready before the next call (tower's contract for deferred
    /// calls).
    fn take_ready(&mut self) -> S {
        let clone = self.inner.clone();
        std::mem::replace(&mut self.inner, clone)
    }
}

/// The request's head, with an empty body: what a replay is rebuilt from.
fn head_of<B>(request: &Request<B>) -> Request<()> {
    let mut head = Request::new(());
    *head.method_mut() = request.method().clone();
    *head.uri_mut() = request.uri().clone();
    *head.version_mut() = request.version();
    *head.headers_mut() = request.headers().clone();
    *head.extensions_mut() = request.extensions().clone();
    head
}

#[cfg(test)]
mod tests;
