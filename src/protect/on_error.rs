//! Turning a rejection into a response: the [`OnAuthError`] trait, its RFC 6750 default
//! [`Rfc6750`], and the challenge parameters (the realm, the RFC 9728 `resource_metadata` URL)
//! one [`BearerAuthLayer`] hands to every layer and extractor behind it.
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
/// [`RequireScopeLayer`](crate::RequireScopeLayer)s and extractors behind it. One `Arc`: every
/// request that passes the layer clones it once, whatever it holds.
#[derive(Clone)]
pub(crate) struct Challenge(Arc<ChallengeParams>);

struct ChallengeParams {
    realm: Arc<str>,
    /// RFC 9728 §5.1: the URL of the protected resource's metadata.
    resource_metadata: Option<Arc<str>>,
}

impl Challenge {
    pub(crate) fn realm(&self) -> &str {
        &self.0.realm
    }

    pub(crate) fn resource_metadata(&self) -> Option<&str> {
        self.0.resource_metadata.as_deref()
    }

    /// These parameters with another realm.
    pub(crate) fn with_realm(&self, realm: impl Into<Arc<str>>) -> Self {
        Challenge(Arc::new(ChallengeParams {
            realm: realm.into(),
            resource_metadata: self.0.resource_metadata.clone(),
        }))
    }

    /// These parameters with a `resource_metadata` URL.
    pub(crate) fn with_resource_metadata(&self, url: impl Into<Arc<str>>) -> Self {
        Challenge(Arc::new(ChallengeParams {
            realm: self.0.realm.clone(),
            resource_metadata: Some(url.into()),
        }))
    }
}

impl Default for Challenge {
    fn default() -> Self {
        // One shared allocation for every layer that keeps the default.
        static DEFAULT: std::sync::OnceLock<Challenge> = std::sync::OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                Challenge(Arc::new(ChallengeParams {
                    realm: DEFAULT_REALM.into(),
                    resource_metadata: None,
                }))
            })
            .clone()
    }
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("realm", &self.realm())
            .field("resource_metadata", &self.resource_metadata())
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

    /// The RFC 9728 metadata URL configured on the [`BearerAuthLayer`](crate::BearerAuthLayer)
    /// ([`BearerAuthLayer::resource_metadata`](crate::BearerAuthLayer::resource_metadata)), if
    /// any: the default response names it in its challenge.
    pub fn resource_metadata(&self) -> Option<&'a str> {
        self.challenge.resource_metadata()
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

    /// The default response: a gRPC status for gRPC calls, RFC 6750 for everything else, its
    /// challenge with the realm and, when configured, the `resource_metadata` URL (see
    /// [`AuthError::to_response`] and [`AuthError::to_http_response_with_metadata`]).
    pub fn to_response<B: Default>(&self) -> Response<B> {
        self.error.to_response_with_metadata(
            self.realm(),
            self.resource_metadata(),
            self.request_version,
            self.request_headers,
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_one_pointer_and_keeps_both_parameters_in_either_order() {
        // Every authenticated request clones it: one reference count, whatever it holds.
        assert_eq!(size_of::<Challenge>(), size_of::<usize>());
        let url = "https://api.example.com/.well-known/oauth-protected-resource";
        for challenge in [
            Challenge::default()
                .with_realm("tools")
                .with_resource_metadata(url),
            Challenge::default()
                .with_resource_metadata(url)
                .with_realm("tools"),
        ] {
            assert_eq!(challenge.realm(), "tools");
            assert_eq!(challenge.resource_metadata(), Some(url));
        }
        let default = Challenge::default();
        assert_eq!(
            (default.realm(), default.resource_metadata()),
            ("api", None)
        );
        assert!(Arc::ptr_eq(&default.0, &Challenge::default().0));
    }
}
