//! [`AddBearerFuture`]: the token fetch (only without a token at hand), the call, and after a
//! refused token the renewal and the one retry.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Request, Response, header::AUTHORIZATION};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::AddBearerError;
use crate::outbound::challenge::refuses_token;
use crate::outbound::{AccessToken, TokenSource, TokenSourceError};

pub(super) type TokenFuture =
    Pin<Box<dyn Future<Output = Result<AccessToken, TokenSourceError>> + Send>>;

/// A [`TokenSource`] whose futures are boxed and own the source, so that the response future
/// names neither the source's type nor a borrow of it.
pub(super) trait ErasedSource: Send + Sync {
    fn boxed_token(self: Arc<Self>) -> TokenFuture;
    fn boxed_renew(self: Arc<Self>, rejected: AccessToken) -> TokenFuture;
}

impl<T: TokenSource> ErasedSource for T {
    fn boxed_token(self: Arc<Self>) -> TokenFuture {
        Box::pin(async move { T::token(&self).await })
    }

    fn boxed_renew(self: Arc<Self>, rejected: AccessToken) -> TokenFuture {
        Box::pin(async move { T::renew(&self, &rejected).await })
    }
}

pin_project! {
    /// The response future of [`AddBearer`](super::AddBearer): the inner service's future
    /// when a token was at hand (or none was needed), else the token fetch first; after a
    /// refused token, the renewal and the one retry.
    pub struct AddBearerFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        // The source had no token at hand.
        Fetching {
            fetch: TokenFuture,
            pending: Option<Pending<S, ReqBody>>,
        },
        // The first attempt; `sent` is `None` when the layer added no token.
        Calling {
            #[pin]
            future: S::Future,
            sent: Option<Sent<S, ReqBody>>,
        },
        Renewing {
            renew: TokenFuture,
            refused: Option<Refused<S, ReqBody>>,
        },
        // Waiting for the service to be ready for the retry.
        Retrying {
            retry: Option<(S, Request<ReqBody>)>,
        },
        Retried {
            #[pin]
            future: S::Future,
        },
    }
}

/// A request waiting for its token.
struct Pending<S, B> {
    source: Arc<dyn ErasedSource>,
    service: S,
    request: Request<B>,
    copy: Option<(Request<()>, B)>,
}

/// What the first attempt keeps for a refusal: the token sent, whom to renew it with, and the
/// copy to send again.
struct Sent<S, B> {
    source: Arc<dyn ErasedSource>,
    token: AccessToken,
    replay: Option<Replay<S, B>>,
}

/// What a retry is made of: the service that sent the first attempt, and its copy.
pub(super) struct Replay<S, B> {
    pub(super) service: S,
    pub(super) head: Request<()>,
    pub(super) body: B,
}

struct Refused<S: Service<Request<B>>, B> {
    response: S::Response,
    token: AccessToken,
    replay: Option<Replay<S, B>>,
}

impl<S, ReqBody> AddBearerFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    pub(super) fn passthrough(future: S::Future) -> Self {
        AddBearerFuture {
            state: State::Calling { future, sent: None },
        }
    }

    pub(super) fn calling(
        future: S::Future,
        source: Arc<dyn ErasedSource>,
        token: AccessToken,
        replay: Option<Replay<S, ReqBody>>,
    ) -> Self {
        AddBearerFuture {
            state: State::Calling {
                future,
                sent: Some(Sent {
                    source,
                    token,
                    replay,
                }),
            },
        }
    }

    pub(super) fn fetching(
        fetch: TokenFuture,
        source: Arc<dyn ErasedSource>,
        service: S,
        request: Request<ReqBody>,
        copy: Option<(Request<()>, ReqBody)>,
    ) -> Self {
        AddBearerFuture {
            state: State::Fetching {
                fetch,
                pending: Some(Pending {
                    source,
                    service,
                    request,
                    copy,
                }),
            },
        }
    }
}

impl<S, ReqBody, ResBody> Future for AddBearerFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Output = Result<Response<ResBody>, AddBearerError<S::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Fetching { fetch, pending } => {
                    let token = ready!(fetch.as_mut().poll(cx)).map_err(AddBearerError::Token)?;
                    let Some(Pending {
                        source,
                        mut service,
                        mut request,
                        copy,
                    }) = pending.take()
                    else {
                        // Polled again after completion: a caller bug, not an input problem.
                        return Poll::Pending;
                    };
                    request
                        .headers_mut()
                        .insert(AUTHORIZATION, token.authorization());
                    let future = service.call(request);
                    let replay = copy.map(|(head, body)| Replay {
                        service,
                        head,
                        body,
                    });
                    this.state.set(State::Calling {
                        future,
                        sent: Some(Sent {
                            source,
                            token,
                            replay,
                        }),
                    });
                }
                StateProj::Calling { future, sent } => {
                    let response = ready!(future.poll(cx)).map_err(AddBearerError::Inner)?;
                    let refused =
                        sent.is_some() && refuses_token(response.status(), response.headers());
                    let Some(Sent {
                        source,
                        token,
                        replay,
                    }) = sent.take().filter(|_| refused)
                    else {
                        return Poll::Ready(Ok(response));
                    };
                    tracing::debug!(
                        retry = replay.is_some(),
                        "the server refused the access token; renewing it"
                    );
                    let renew = source.boxed_renew(token.clone());
                    this.state.set(State::Renewing {
                        renew,
                        refused: Some(Refused {
                            response,
                            token,
                            replay,
                        }),
                    });
                }
                StateProj::Renewing { renew, refused } => {
                    let renewed = ready!(renew.as_mut().poll(cx));
                    let Some(Refused {
                        response,
                        token,
                        replay,
                    }) = refused.take()
                    else {
                        return Poll::Pending;
                    };
                    let fresh = match renewed {
                        Ok(fresh) if !fresh.same_as(&token) && fresh.secret() != token.secret() => {
                            fresh
                        }
                        Ok(_) => {
                            tracing::debug!("renewal handed back the refused access token");
                            return Poll::Ready(Ok(response));
                        }
                        Err(error) => {
                            tracing::debug!(%error, "could not renew the refused access token");
                            return Poll::Ready(Ok(response));
                        }
                    };
                    let Some(Replay {
                        service,
                        head,
                        body,
                    }) = replay
                    else {
                        return Poll::Ready(Ok(response));
                    };
                    let mut request = head.map(|()| body);
                    request
                        .headers_mut()
                        .insert(AUTHORIZATION, fresh.authorization());
                    this.state.set(State::Retrying {
                        retry: Some((service, request)),
                    });
                }
                StateProj::Retrying { retry } => {
                    let Some((service, _)) = retry.as_mut() else {
                        return Poll::Pending;
                    };
                    ready!(service.poll_ready(cx)).map_err(AddBearerError::Inner)?;
                    let Some((mut service, request)) = retry.take() else {
                        return Poll::Pending;
                    };
                    this.state.set(State::Retried {
                        future: service.call(request),
                    });
                }
                StateProj::Retried { future } => {
                    return future.poll(cx).map_err(AddBearerError::Inner);
                }
            }
        }
    }
}

impl<S, ReqBody> fmt::Debug for AddBearerFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddBearerFuture").finish_non_exhaustive()
    }
}
