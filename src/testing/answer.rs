//! [`MockAnswer`]: what the [`MockTokenEndpoint`](super::MockTokenEndpoint) answers, and how.

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};

use super::endpoint::Shared;
use super::issuer::{DEFAULT_CLIENT_ID, DEFAULT_TOKEN_LIFETIME, TestIssuer};
use super::record::RecordedTokenRequest;
use crate::token_endpoint::{OAuthError, OAuthErrorCode, TokenResponse};

/// The realm of the `WWW-Authenticate: Basic` challenge on `invalid_client`.
const REALM: &str = "token";

/// What the [`MockTokenEndpoint`](super::MockTokenEndpoint) answers to one token request,
/// optionally after a delay ([`after`](Self::after)).
#[derive(Clone, Debug)]
#[must_use]
pub struct MockAnswer {
    kind: Kind,
    pub(super) delay: Duration,
}

#[derive(Clone, Debug)]
enum Kind {
    Issue {
        expires_in: u64,
    },
    Token(TokenResponse),
    Error(OAuthError),
    Status(StatusCode),
    Raw {
        status: StatusCode,
        content_type: String,
        body: String,
    },
}

impl MockAnswer {
    /// A token like a real issuer's: 200 with an RFC 6749 §5.1 body, the access token signed
    /// by the endpoint's [`TestIssuer`] for the requesting client (from `Authorization:
    /// Basic`, `client_id`, or the client assertion's `sub`; [`DEFAULT_CLIENT_ID`] when none)
    /// with the requested `scope` and the issuer's audience as `aud` (whatever `resource` was
    /// asked for), `expires_in` 300, once the client passes the check that
    /// [`require_secret`](super::MockTokenEndpoint::require_secret) sets up (if any). A
    /// request whose `grant_type` is not `client_credentials` is refused as a real endpoint
    /// would: 400 `invalid_request` (missing) or `unsupported_grant_type`.
    pub fn issue() -> Self {
        Self::issue_expiring_in(DEFAULT_TOKEN_LIFETIME)
    }

    /// As [`issue`](Self::issue), the token living `lifetime` (whole seconds; `expires_in`
    /// says the same).
    pub fn issue_expiring_in(lifetime: Duration) -> Self {
        Self::new(Kind::Issue {
            expires_in: lifetime.as_secs(),
        })
    }

    /// As [`issue`](Self::issue), after `delay`: for clients' timeouts and single-flight.
    pub fn delay(delay: Duration) -> Self {
        Self::issue().after(delay)
    }

    /// Exactly `response`, 200, whatever the request.
    pub fn token(response: TokenResponse) -> Self {
        Self::new(Kind::Token(response))
    }

    /// An RFC 6749 §5.2 error: the status of its code (401 `invalid_client`, 400 for most,
    /// see [`OAuthErrorCode::status`]), the JSON body, `Retry-After` when the error carries
    /// one, and `WWW-Authenticate: Basic realm="token"` on `invalid_client` when the client
    /// used Basic authentication.
    pub fn error(error: OAuthError) -> Self {
        Self::new(Kind::Error(error))
    }

    /// 401 `invalid_client` ("client authentication failed").
    pub fn invalid_client() -> Self {
        Self::error(OAuthError::new(
            OAuthErrorCode::InvalidClient,
            "client authentication failed",
        ))
    }

    /// 400 `invalid_scope` ("the requested scope is not allowed").
    pub fn invalid_scope() -> Self {
        Self::error(OAuthError::new(
            OAuthErrorCode::InvalidScope,
            "the requested scope is not allowed",
        ))
    }

    /// A bare `status` (e.g. 500, 502, 503) with a plain-text body, as a proxy or a crashed
    /// server answers.
    pub fn status(status: StatusCode) -> Self {
        Self::new(Kind::Status(status))
    }

    /// 429 `temporarily_unavailable` with `Retry-After` (whole seconds, at least 1).
    pub fn rate_limited(retry_after: Duration) -> Self {
        Self::error(
            OAuthError::new(OAuthErrorCode::TooManyRequests, "slow down")
                .with_retry_after(retry_after.as_secs()),
        )
    }

    /// 200 `application/json` whose body is not a token response (cut off mid-object).
    pub fn malformed() -> Self {
        Self::raw(
            StatusCode::OK,
            "application/json",
            r#"{"access_token": "eyJhbGciOiJFZERTQSJ9.e30."#,
        )
    }

    /// Any `status`, `content_type` (left out when it is not a valid header value) and
    /// `body`.
    pub fn raw(
        status: StatusCode,
        content_type: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        Self::new(Kind::Raw {
            status,
            content_type: content_type.into(),
            body: body.into(),
        })
    }

    /// The same answer, sent `delay` after the request arrived.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn new(kind: Kind) -> Self {
        MockAnswer {
            kind,
            delay: Duration::ZERO,
        }
    }

    pub(super) fn respond(self, shared: &Shared, request: &RecordedTokenRequest) -> Response {
        let error = |error: OAuthError| {
            error
                .with_basic_challenge(request.auth_method() == Some("client_secret_basic"))
                .to_response(REALM)
                .map(Body::new)
        };
        match self.kind {
            Kind::Issue { expires_in } => match request.grant_type() {
                Some("client_credentials") if !shared.authenticates(request) => {
                    error(OAuthError::new(
                        OAuthErrorCode::InvalidClient,
                        "client authentication failed",
                    ))
                }
                Some("client_credentials") => {
                    issue(&shared.issuer, request, expires_in).unwrap_or_else(error)
                }
                Some(_) => error(OAuthError::new(
                    OAuthErrorCode::UnsupportedGrantType,
                    "only client_credentials is supported",
                )),
                None => error(OAuthError::new(
                    OAuthErrorCode::InvalidRequest,
                    "grant_type is required",
                )),
            },
            Kind::Token(response) => response.to_response().map(Body::new),
            Kind::Error(oauth) => error(oauth),
            Kind::Status(status) => status_response(status),
            Kind::Raw {
                status,
                content_type,
                body,
            } => {
                let mut response = Response::new(Body::from(body));
                *response.status_mut() = status;
                if let Ok(value) = HeaderValue::from_str(&content_type) {
                    response.headers_mut().insert(header::CONTENT_TYPE, value);
                }
                response
            }
        }
    }
}

pub(super) fn status_response(status: StatusCode) -> Response {
    let mut response = Response::new(Body::from(format!(
        "the mock token endpoint answers {}",
        status.as_u16()
    )));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A token for the requesting client and scope.
fn issue(
    issuer: &TestIssuer,
    request: &RecordedTokenRequest,
    expires_in: u64,
) -> Result<Response, OAuthError> {
    let client_id = request.client_id().unwrap_or(DEFAULT_CLIENT_ID);
    let scope = request.scope().unwrap_or_default();
    let mut token = issuer
        .token()
        .client_id(client_id)
        .expires_in(Duration::from_secs(expires_in));
    if !scope.is_empty() {
        token = token.scope(scope);
    }
    let access_token = token.try_sign().map_err(|_| {
        OAuthError::new(OAuthErrorCode::ServerError, "the token could not be signed")
    })?;
    Ok(TokenResponse::bearer(access_token)
        .with_expires_in(expires_in)
        .with_scope(scope)
        .to_response()
        .map(Body::new))
}
