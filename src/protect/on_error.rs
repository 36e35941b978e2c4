//! Turning a rejection into a response: the [`OnAuthError`] trait, its RFC 6750 default
//! [`Rfc6750`], and the challenge parameters (the realm) one [`BearerAuthLayer`] hands to every
//! layer and extractor behind it.
//!
//! [`BearerAuthLayer`]: crate::BearerAuthLayer

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, Response, Version};

use crate::error::{AuthError, is_grpc_call};

/// The realm used when none is configured.
pub const DEFAULT_REALM: &str = "api";

/// The parameters of the `WWW-Authenticate: Bearer` challenges: set once on the
/// [`BearerAuthLayer`](crate::BearerAuthLayer), carried in the request extensions to the
/// [`RequireScopeLayer`](crate::RequireScopeLayer)s and extractors behind it.
#[derive(Clone)]
pub(crate) struct Challenge {
    realm: Arc<str>,
}

impl Challenge {
    pub(crate) fn new(realm: impl Into<Arc<str>>) -> Self {
        Challenge {
            realm: realm.into(),
        }
    }

    pub(crate) fn realm(&self) -> &str {
        &self.realm
    }
}

impl Default for Challenge {
    fn default() -> Self {
        // One shared allocation for every layer that keeps the default.
        static DEFAULT: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
        Challenge {
            realm: DEFAULT.get_or_init(|| DEFAULT_REALM.into()).clone(),
        }
    }
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("realm", &self.realm)
            .finish()
    }
}

/// A rejected request, as an [`OnAuthError`] handler sees it.
#[derive(Debug, Clone, Copy)]
pub struct Rejection<'a> {
    error: &'a AuthError,
    challenge: &'a Challenge,
    request_version: Version,
    request_headers: &'a HeaderMap,
}

impl<'a> Rejection<'a> {
    pub(crate) fn new<B>(
        error: &'a AuthError,
        challenge: &'a Challenge,
        request: &'a http::Request<B>,
    ) -> Self {
        Rejection {
            error,
            challenge,
            request_version: request.version(),
            request_headers: request.headers(),
        }
    }

    /// Why the request was rejected.
    pub fn error(&self) -> &'a AuthError {
        self.error
    }

    /// The realm configured on the [`BearerAuthLayer`](crate::BearerAuthLayer).
    pub fn realm(&self) -> &'a str {
        self.challenge.realm()
    }

    /// The rejected request's headers.
    pub fn request_headers(&self) -> &'a HeaderMap {
        self.request_headers
    }

    /// The rejected request's HTTP version.
    pub fn request_version(&self) -> Version {
        self.request_version
    }

    /// Whether the rejected request is a gRPC call (HTTP/2 with an `application/grpc` content
    /// type), which [`to_response`](Self::to_response) answers with a gRPC status.
    pub fn is_grpc_call(&self) -> bool {
        is_grpc_call(self.request_version, self.request_headers)
    }

    /// The default response: a gRPC status for gRPC calls, RFC 6750 for everything else (see
    /// [`AuthError::to_response`]).
    pub fn to_response<B: Default>(&self) -> Response<B> {
        self.error
            .to_response(self.realm(), self.request_version, self.request_headers)
    }
}

/// Turns a rejected request into the response a layer sends back.
///
/// The default, [`Rfc6750`], answers as RFC 6750 says (and with gRPC statuses to gRPC calls).
/// Supply your own to change the body or add headers; any `Fn(&Rejection<'_>) -> Response<B>`
/// closure works, and [`Rejection::to_response`] gives the default to start from:
///
/// ```
/// use http::Response;
/// use tower_client_credentials::{BearerAuthLayer, Validator};
/// use tower_client_credentials::protect::Rejection;
///
/// fn json_errors(rejection: &Rejection<'_>) -> Response<String> {
///     let mut response: Response<String> = rejection.to_response();
///     let code = rejection.error().error_code().unwrap_or("unauthorized");
///     *response.body_mut() = format!(r#"{{"error":"{code}"}}"#);
///     response
/// }
/// # fn make(validator: Validator) {
/// let layer = BearerAuthLayer::new(validator).on_error(json_errors).realm("reports");
/// # }
/// ```
pub trait OnAuthError<B> {
    /// Builds the response for `rejection`.
    fn on_auth_error(&self, rejection: &Rejection<'_>) -> Response<B>;
}

/// The default [`OnAuthError`]: RFC 6750 challenges with an empty body, gRPC statuses for gRPC
/// calls (HTTP/2 with an `application/grpc` content type; an HTTP/1.1 request with that content
/// type gets the RFC 6750 status).
#[derive(Debug, Clone, Copy, Default)]
pub struct Rfc6750;

impl<B: Default> OnAuthError<B> for Rfc6750 {
    fn on_auth_error(&self, rejection: &Rejection<'_>) -> Response<B> {
        rejection.to_response()
    }
}

impl<B, F> OnAuthError<B> for F
where
    F: Fn(&Rejection<'_>) -> Response<B>,
{
    fn on_auth_error(&self, rejection: &Rejection<'_>) -> Response<B> {
        self(rejection)
    }
}
