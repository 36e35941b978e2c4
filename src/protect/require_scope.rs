//! [`RequireScopeLayer`]: answers 403 `insufficient_scope` unless the verified token carries
//! the scopes a route needs.
//!
//! Place it inside (after) [`BearerAuthLayer`](crate::BearerAuthLayer), whose realm its
//! challenges use. A request that reaches it without verified claims (an optional
//! `BearerAuthLayer` and no token, or a layer order mistake) gets a 401, never a pass.
//!
//! ```
//! use tower_client_credentials::RequireScopeLayer;
//!
//! let read = RequireScopeLayer::all(["reports:read"]);
//! let admin_or_auditor = RequireScopeLayer::any(["admin", "audit:read"]);
//! // Scopes from configuration: a typed error instead of a panic.
//! assert!(RequireScopeLayer::try_all(["reports read"]).is_err());
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::AuthContext;
use super::on_error::{Challenge, OnAuthError, Rejection, Rfc6750};
use crate::error::AuthError;
use crate::scope::{Scope, ScopeError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    All,
    Any,
}

#[derive(Debug)]
struct Rule {
    mode: Mode,
    /// In the order given, which the challenge repeats.
    scopes: Vec<Scope>,
    /// The `scope` attribute of the challenge, space-separated (RFC 6750 §3).
    challenge: Arc<str>,
}

/// Requires that the verified token holds all, or any, of a list of scopes.
pub struct RequireScopeLayer<H = Rfc6750> {
    rule: Arc<Rule>,
    on_error: H,
}

impl RequireScopeLayer {
    /// Every one of `scopes` is required.
    ///
    /// # Panics
    ///
    /// When `scopes` is empty (the rule would let every token through) or a scope is not an
    /// RFC 6749 §3.3 scope token (it could never match): both are programming mistakes in a
    /// static route table. Use [`try_all`](Self::try_all) for scopes read from configuration.
    #[track_caller]
    pub fn all<I, T>(scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Self::try_all(scopes).unwrap_or_else(|e| panic!("RequireScopeLayer::all: {e}"))
    }

    /// At least one of `scopes` is required.
    ///
    /// # Panics
    ///
    /// As [`all`](Self::all); use [`try_any`](Self::try_any) for scopes from configuration.
    #[track_caller]
    pub fn any<I, T>(scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Self::try_any(scopes).unwrap_or_else(|e| panic!("RequireScopeLayer::any: {e}"))
    }

    /// Every one of `scopes` is required; an empty list or an invalid scope is an error.
    pub fn try_all<I, T>(scopes: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Self::with_mode(Mode::All, scopes)
    }

    /// At least one of `scopes` is required; an empty list or an invalid scope is an error.
    pub fn try_any<I, T>(scopes: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Self::with_mode(Mode::Any, scopes)
    }

    fn with_mode<I, T>(mode: Mode, scopes: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let scopes = scopes
            .into_iter()
            .map(|scope| Scope::new(scope))
            .collect::<Result<Vec<_>, _>>()?;
        if scopes.is_empty() {
            return Err(ScopeError::Empty);
        }
        let names: Vec<&str> = scopes.iter().map(Scope::as_str).collect();
        let challenge = names.join(" ").into();
        Ok(RequireScopeLayer {
            rule: Arc::new(Rule {
                mode,
                scopes,
                challenge,
            }),
            on_error: Rfc6750,
        })
    }
}

impl<H> RequireScopeLayer<H> {
    /// Replaces the error responses; see [`OnAuthError`]. The realm is the one set on the
    /// [`BearerAuthLayer`](crate::BearerAuthLayer) in front.
    pub fn on_error<H2>(self, on_error: H2) -> RequireScopeLayer<H2> {
        RequireScopeLayer {
            rule: self.rule,
            on_error,
        }
    }
}

impl<H: Clone> Clone for RequireScopeLayer<H> {
    fn clone(&self) -> Self {
        RequireScopeLayer {
            rule: self.rule.clone(),
            on_error: self.on_error.clone(),
        }
    }
}

impl<H> fmt::Debug for RequireScopeLayer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScopeLayer")
            .field("mode", &self.rule.mode)
            .field("scopes", &self.rule.scopes)
            .finish_non_exhaustive()
    }
}

impl<S, H: Clone> Layer<S> for RequireScopeLayer<H> {
    type Service = RequireScope<S, H>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScope {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`RequireScopeLayer`] builds.
pub struct RequireScope<S, H = Rfc6750> {
    inner: S,
    layer: RequireScopeLayer<H>,
}

impl<S, H> RequireScope<S, H> {
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

impl<S: Clone, H: Clone> Clone for RequireScope<S, H> {
    fn clone(&self) -> Self {
        RequireScope {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, H> fmt::Debug for RequireScope<S, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScope")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, H, ReqBody, ResBody> Service<Request<ReqBody>> for RequireScope<S, H>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    H: OnAuthError<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RequireScopeFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let rule = &self.layer.rule;
        let context = req.extensions().get::<AuthContext>();
        let granted = context.and_then(|c| c.scope.as_ref()).map(|s| s.scope());
        let error = match granted {
            None => AuthError::MissingToken,
            Some(granted) => {
                let ok = match rule.mode {
                    Mode::All => granted.contains_all(&rule.scopes),
                    Mode::Any => granted.contains_any(&rule.scopes),
                };
                if ok {
                    return RequireScopeFuture::inner(self.inner.call(req));
                }
                AuthError::InsufficientScope {
                    required: rule.challenge.clone(),
                }
            }
        };
        tracing::debug!(%error, "scope check failed");
        crate::metrics::bearer_error(&error);
        let fallback;
        let challenge = match context {
            Some(context) => &context.challenge,
            None => {
                fallback = Challenge::default();
                &fallback
            }
        };
        let rejection = Rejection::new(&error, challenge, &req);
        RequireScopeFuture::error(self.layer.on_error.on_auth_error(&rejection))
    }
}

pin_project! {
    /// The response future of [`RequireScope`]: the inner service's future, or an error
    /// response ready at once.
    pub struct RequireScopeFuture<F, B> {
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

impl<F, B> RequireScopeFuture<F, B> {
    fn inner(future: F) -> Self {
        RequireScopeFuture {
            kind: Kind::Inner { future },
        }
    }

    fn error(response: Response<B>) -> Self {
        RequireScopeFuture {
            kind: Kind::Error {
                response: Some(response),
            },
        }
    }
}

impl<F, B, Err> Future for RequireScopeFuture<F, B>
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

impl<F, B> fmt::Debug for RequireScopeFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScopeFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_or_empty_scope_lists_are_refused() {
        assert_eq!(
            RequireScopeLayer::try_all(["a b"]).unwrap_err(),
            ScopeError::InvalidCharacter
        );
        assert_eq!(
            RequireScopeLayer::try_any([""]).unwrap_err(),
            ScopeError::Empty
        );
        assert_eq!(
            RequireScopeLayer::try_all(Vec::<String>::new()).unwrap_err(),
            ScopeError::Empty
        );
        assert!(RequireScopeLayer::try_any(["a", "b:c"]).is_ok());
    }

    #[test]
    #[should_panic(expected = "RequireScopeLayer::all")]
    fn all_panics_on_a_scope_with_a_space() {
        let _ = RequireScopeLayer::all(["reports read"]);
    }

    #[test]
    #[should_panic(expected = "RequireScopeLayer::any")]
    fn any_panics_on_an_empty_list() {
        let _ = RequireScopeLayer::any(Vec::<&str>::new());
    }
}
