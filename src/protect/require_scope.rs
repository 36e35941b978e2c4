//! [`RequireScopeLayer`]: answers 403 `insufficient_scope` unless the verified token carries
//! the scopes a route needs.
//!
//! Place it inside (after) [`BearerAuthLayer`](super::BearerAuthLayer). A request that reaches
//! it without verified claims (an optional `BearerAuthLayer` and no token, or a layer order
//! mistake) gets a 401, never a pass.
//!
//! ```
//! use tower_client_credentials::RequireScopeLayer;
//!
//! let read = RequireScopeLayer::all(["reports:read"]);
//! let admin_or_auditor = RequireScopeLayer::any(["admin", "audit:read"]);
//! ```

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::{GrantedScope, ResponseFuture};
use crate::error::{AuthError, OnAuthError, Rfc6750};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    All,
    Any,
}

#[derive(Debug)]
struct Rule {
    mode: Mode,
    scopes: Vec<String>,
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
    pub fn all<I, T>(scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Self::with_mode(Mode::All, scopes)
    }

    /// At least one of `scopes` is required.
    pub fn any<I, T>(scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Self::with_mode(Mode::Any, scopes)
    }

    fn with_mode<I, T>(mode: Mode, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        let challenge = scopes.join(" ").into();
        RequireScopeLayer {
            rule: Arc::new(Rule {
                mode,
                scopes,
                challenge,
            }),
            on_error: Rfc6750::default(),
        }
    }
}

impl<H> RequireScopeLayer<H> {
    /// Uses `realm` in the RFC 6750 challenges (default `"api"`).
    pub fn realm(self, realm: impl Into<Arc<str>>) -> RequireScopeLayer<Rfc6750> {
        self.on_error(Rfc6750::new(realm))
    }

    /// Replaces the error responses; see [`OnAuthError`].
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
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let rule = &self.layer.rule;
        let outcome = match req.extensions().get::<GrantedScope>() {
            None => Err(AuthError::MissingToken),
            Some(GrantedScope(claims)) => {
                let granted = claims.scope();
                let ok = match rule.mode {
                    Mode::All => granted.contains_all(&rule.scopes),
                    Mode::Any => granted.contains_any(&rule.scopes),
                };
                if ok {
                    Ok(())
                } else {
                    Err(AuthError::InsufficientScope {
                        required: rule.challenge.clone(),
                    })
                }
            }
        };
        match outcome {
            Ok(()) => ResponseFuture::inner(self.inner.call(req)),
            Err(error) => {
                tracing::debug!(%error, "scope check failed");
                ResponseFuture::error(self.layer.on_error.on_auth_error(&error, req.headers()))
            }
        }
    }
}
