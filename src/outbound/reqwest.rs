//! [`BearerMiddleware`]: the outbound token for reqwest, as a `reqwest_middleware::Middleware`
//! (feature `reqwest`).

use std::fmt;
use std::sync::Arc;

use ::reqwest::header::AUTHORIZATION;
use ::reqwest::{Request, Response};
use http::Extensions;
use reqwest_middleware::{Error, Middleware, Next, Result};

use super::challenge::refuses_token;
use super::origin::Origins;
use super::{InvalidOrigin, TokenSource};

/// Adds `Authorization: Bearer <token>` to the requests of a `reqwest_middleware` client that
/// go to the origins it is configured for, and renews a refused token: the reqwest
/// counterpart of [`AddBearerLayer`](super::AddBearerLayer).
///
/// - **Origins.** reqwest requests always carry absolute URLs, so the origins must be named:
///   scheme, host and port are compared (the host without regard to case, a missing port as
///   the scheme's default). A request to any other origin passes through untouched; so does a
///   request that already has an `Authorization` header. With no origins, no request gets the
///   token. The middleware sees a request once, before reqwest follows redirects; reqwest
///   drops the header on a redirect to another host or port (but not from `https` to `http`
///   on the same one: give the client `redirect::Policy::none()` where that matters).
/// - **The header** is the token's [`AccessToken::authorization`](super::AccessToken::authorization),
///   marked sensitive.
/// - **A refused token** (401 with a Bearer `error="invalid_token"` challenge, RFC 6750
///   §3.1, or a trailers-only gRPC `UNAUTHENTICATED`): the token is
///   [renewed](TokenSource::renew) and, when `Request::try_clone` could copy the request
///   (any body but a stream), the request is sent once more with the new token. The retry's
///   answer comes back as it is, never retried again. A request that could not be copied
///   still renews the token (the next request gets the new one) and its 401 comes back; so
///   does the 401 when renewal fails or hands back the refused token.
/// - **No token**: a [`TokenSourceError`](super::TokenSourceError) comes back as
///   `reqwest_middleware::Error::Middleware` (downcast it to match on it); the request is not
///   sent.
///
/// Cheap to clone. `Debug` never shows the token.
///
/// ```no_run
/// use reqwest_middleware::ClientBuilder;
/// use tower_client_credentials::outbound::{BearerMiddleware, CachedTokenSource, ClientCredentials};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let tokens = CachedTokenSource::new(ClientCredentials::from_env()?);
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(BearerMiddleware::new(tokens, ["https://reports.example.com"])?)
///     .build();
/// let reports = client
///     .get("https://reports.example.com/api/reports")
///     .send()
///     .await?;
/// # let _ = reports; Ok(()) }
/// ```
pub struct BearerMiddleware<T> {
    source: Arc<T>,
    origins: Origins,
}

impl<T: TokenSource> BearerMiddleware<T> {
    /// Tokens from `source` for requests to `origins`: absolute `http` or `https` URLs with
    /// nothing after the host and port but an optional `/` (`"https://api.example.com"`).
    ///
    /// ```
    /// # use tower_client_credentials::outbound::{AccessToken, TokenSourceError};
    /// use tower_client_credentials::outbound::{BearerMiddleware, InvalidOrigin, TokenSource};
    /// # struct Fixed;
    /// # impl TokenSource for Fixed {
    /// #     async fn token(&self) -> Result<AccessToken, TokenSourceError> { Err(TokenSourceError::Cancelled) }
    /// # }
    ///
    /// let refused = BearerMiddleware::new(Fixed, ["https://api.example.com/v1"]);
    /// assert_eq!(refused.unwrap_err(), InvalidOrigin::NotAnOrigin);
    /// ```
    pub fn new<I>(source: T, origins: I) -> std::result::Result<Self, InvalidOrigin>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let origins = origins
            .into_iter()
            .try_fold(Origins::default(), |list, origin| {
                list.with(origin.as_ref())
            })?;
        Ok(BearerMiddleware {
            source: Arc::new(source),
            origins,
        })
    }
}

impl<T> BearerMiddleware<T> {
    /// Also sends the token to `origin`.
    pub fn origin(self, origin: &str) -> std::result::Result<Self, InvalidOrigin> {
        Ok(BearerMiddleware {
            origins: self.origins.with(origin)?,
            ..self
        })
    }

    /// The token source.
    pub fn source(&self) -> &T {
        &self.source
    }
}

impl<T> Clone for BearerMiddleware<T> {
    fn clone(&self) -> Self {
        BearerMiddleware {
            source: self.source.clone(),
            origins: self.origins.clone(),
        }
    }
}

impl<T> fmt::Debug for BearerMiddleware<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The source's own Debug is not trusted to keep its token out.
        f.debug_struct("BearerMiddleware")
            .field("source", &std::any::type_name::<T>())
            .field("origins", &self.origins)
            .finish()
    }
}

#[async_trait::async_trait]
impl<T: TokenSource> Middleware for BearerMiddleware<T> {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        if request.headers().contains_key(AUTHORIZATION) || !self.origins.admits_url(request.url())
        {
            return next.run(request, extensions).await;
        }
        let token = self.source.token().await.map_err(Error::middleware)?;
        request
            .headers_mut()
            .insert(AUTHORIZATION, token.authorization());
        // Taken before the request is sent: a streamed body cannot be copied afterwards.
        let copy = request.try_clone();
        let response = next.clone().run(request, &mut *extensions).await?;
        if !refuses_token(response.status(), response.headers()) {
            return Ok(response);
        }
        tracing::debug!(
            retry = copy.is_some(),
            "the server refused the access token; renewing it"
        );
        let fresh = match self.source.renew(&token).await {
            Ok(fresh) if !fresh.same_as(&token) && fresh.secret() != token.secret() => fresh,
            Ok(_) => {
                tracing::debug!("renewal handed back the refused access token");
                return Ok(response);
            }
            Err(error) => {
                tracing::debug!(%error, "could not renew the refused access token");
                return Ok(response);
            }
        };
        let Some(mut retry) = copy else {
            return Ok(response);
        };
        drop(response);
        retry
            .headers_mut()
            .insert(AUTHORIZATION, fresh.authorization());
        next.run(retry, extensions).await
    }
}
