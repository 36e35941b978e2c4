//! Token endpoint responses: [`TokenResponse`] (RFC 6749 §5.1) and [`OAuthError`] (§5.2).

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;

use crate::http_auth::basic_challenge;

/// A successful token response (RFC 6749 §5.1). No refresh token: client credentials have none
/// (RFC 6749 §4.4.3).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    /// The signed JWT access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime in seconds; equals the token's `exp - iat`.
    pub expires_in: u64,
    /// The granted scopes, space-separated (omitted when none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"***")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// The RFC 6749 §5.2 error codes (plus RFC 8707 `invalid_target`) and the HTTP-level errors of
/// the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// Malformed request: missing or repeated parameter, bad encoding, two auth methods.
    InvalidRequest,
    /// Client authentication failed (unknown client, wrong secret, bad assertion, disabled).
    InvalidClient,
    /// The grant is not acceptable.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// A grant type other than `client_credentials`.
    UnsupportedGrantType,
    /// A requested scope the client is not allowed.
    InvalidScope,
    /// RFC 8707: a `resource` the client may not get tokens for.
    InvalidTarget,
    /// The body is larger than the endpoint reads (HTTP 413).
    RequestTooLarge,
    /// A method other than POST (HTTP 405, `Allow: POST`).
    MethodNotAllowed,
    /// A backing store failed (HTTP 503).
    TemporarilyUnavailable,
    /// Signing failed (HTTP 500).
    ServerError,
}

impl OAuthErrorCode {
    /// The wire name, as in the `error` member.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest
            | OAuthErrorCode::RequestTooLarge
            | OAuthErrorCode::MethodNotAllowed => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::InvalidTarget => "invalid_target",
            OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthErrorCode::ServerError => "server_error",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            OAuthErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            OAuthErrorCode::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            OAuthErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// A token endpoint error: an RFC 6749 §5.2 JSON body `{error, error_description}`.
///
/// Descriptions are fixed phrases; they never echo a secret, an assertion or a token, and they
/// never tell an unknown client from a wrong secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    code: OAuthErrorCode,
    description: Cow<'static, str>,
    basic_challenge: bool,
}

impl OAuthError {
    /// An error with a fixed description.
    pub fn new(code: OAuthErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            basic_challenge: false,
        }
    }

    pub(crate) fn invalid_request(description: &'static str) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }

    pub(crate) fn invalid_client() -> Self {
        Self::new(
            OAuthErrorCode::InvalidClient,
            "client authentication failed",
        )
    }

    /// Adds `WWW-Authenticate: Basic` to an `invalid_client` answer (RFC 6749 §5.2: when the
    /// client used the `Authorization` header).
    pub(crate) fn with_basic_challenge(mut self, used_basic: bool) -> Self {
        self.basic_challenge = used_basic && self.code == OAuthErrorCode::InvalidClient;
        self
    }

    /// The error code.
    pub fn code(&self) -> OAuthErrorCode {
        self.code
    }

    /// The human-readable description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The HTTP response: JSON body, `Cache-Control: no-store`, `Pragma: no-cache`, and the
    /// `Allow` or `WWW-Authenticate` header where one applies.
    pub fn to_response(&self, realm: &str) -> Response<Full<Bytes>> {
        #[derive(Serialize)]
        struct Body<'a> {
            error: &'a str,
            error_description: &'a str,
        }
        let body = serde_json::to_vec(&Body {
            error: self.code.as_str(),
            error_description: &self.description,
        })
        .unwrap_or_default();
        let mut response = json_response(self.code.status(), body);
        let headers = response.headers_mut();
        if self.code == OAuthErrorCode::MethodNotAllowed {
            headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        if self.basic_challenge {
            if let Ok(value) = HeaderValue::from_str(&basic_challenge(realm)) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

impl TokenResponse {
    /// The HTTP response: 200, JSON, `Cache-Control: no-store`, `Pragma: no-cache`.
    pub fn to_response(&self) -> Response<Full<Bytes>> {
        json_response(StatusCode::OK, serde_json::to_vec(self).unwrap_or_default())
    }
}

/// RFC 6749 §5.1: token responses (and errors) must not be cached.
fn json_response(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
