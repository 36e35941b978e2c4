//! [`OAuthError`]: a token endpoint error (RFC 6749 §5.2), and its [`OAuthErrorCode`].

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::json_response;
use crate::http_auth::basic_challenge;

/// The `error` codes of RFC 6749 §5.2 (plus RFC 8707 `invalid_target`), the HTTP-level errors
/// of the token endpoint, and any other code a provider sends.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The body is larger than the endpoint reads (HTTP 413; `invalid_request` on the wire).
    RequestTooLarge,
    /// A method other than POST (HTTP 405, `Allow: POST`; `invalid_request` on the wire).
    MethodNotAllowed,
    /// A backing store failed, or the server is too busy to check a secret now (HTTP 503).
    TemporarilyUnavailable,
    /// Too many failed client authentications for this client id or from this address
    /// (HTTP 429 with `Retry-After`; `temporarily_unavailable` on the wire, since RFC 6749 §5.2
    /// has no code for it).
    TooManyRequests,
    /// Signing failed (HTTP 500).
    ServerError,
    /// A code this crate does not know, such as a provider's extension (RFC 6749 §8.5), kept
    /// with its wire name so that nothing is lost. [`OAuthErrorCode::from_wire`] returns it
    /// only for names that match no other variant.
    Other(Cow<'static, str>),
}

/// The codes [`OAuthErrorCode::from_wire`] recognises: one per wire name.
const KNOWN: [OAuthErrorCode; 9] = [
    OAuthErrorCode::InvalidRequest,
    OAuthErrorCode::InvalidClient,
    OAuthErrorCode::InvalidGrant,
    OAuthErrorCode::UnauthorizedClient,
    OAuthErrorCode::UnsupportedGrantType,
    OAuthErrorCode::InvalidScope,
    OAuthErrorCode::InvalidTarget,
    OAuthErrorCode::TemporarilyUnavailable,
    OAuthErrorCode::ServerError,
];

impl OAuthErrorCode {
    /// The code for the `error` member `name`: a known variant, or [`OAuthErrorCode::Other`].
    ///
    /// ```
    /// use tower_client_credentials::token_endpoint::OAuthErrorCode;
    /// assert_eq!(OAuthErrorCode::from_wire("invalid_scope"), OAuthErrorCode::InvalidScope);
    /// assert_eq!(OAuthErrorCode::from_wire("slow_down").as_str(), "slow_down");
    /// ```
    pub fn from_wire(name: &str) -> Self {
        KNOWN
            .into_iter()
            .find(|code| code.as_str() == name)
            .unwrap_or_else(|| OAuthErrorCode::Other(Cow::Owned(name.to_owned())))
    }

    /// The wire name, as in the `error` member.
    pub fn as_str(&self) -> &str {
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
            OAuthErrorCode::TemporarilyUnavailable | OAuthErrorCode::TooManyRequests => {
                "temporarily_unavailable"
            }
            OAuthErrorCode::ServerError => "server_error",
            OAuthErrorCode::Other(name) => name,
        }
    }

    /// The HTTP status this crate's token endpoint answers the code with (RFC 6749 §5.2: 400
    /// unless stated otherwise, which includes [`OAuthErrorCode::Other`]).
    pub fn status(&self) -> StatusCode {
        match self {
            OAuthErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            OAuthErrorCode::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            OAuthErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            OAuthErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token endpoint error: the RFC 6749 §5.2 JSON body `{error, error_description,
/// error_uri}`.
///
/// The ones this crate's issuer sends have fixed descriptions that never echo a secret, an
/// assertion or a token, and never tell an unknown client from a wrong secret. Parsed ones
/// keep what the provider sent, an unknown `error` code included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    code: OAuthErrorCode,
    description: Cow<'static, str>,
    uri: Option<String>,
    basic_challenge: bool,
    retry_after: Option<u64>,
}

impl OAuthError {
    /// An error with a fixed description.
    pub fn new(code: OAuthErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            uri: None,
            basic_challenge: false,
            retry_after: None,
        }
    }

    #[cfg(feature = "issue")]
    pub(crate) fn invalid_request(description: &'static str) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }

    #[cfg(feature = "issue")]
    pub(crate) fn invalid_client() -> Self {
        Self::new(
            OAuthErrorCode::InvalidClient,
            "client authentication failed",
        )
    }

    /// Adds `WWW-Authenticate: Basic` to an `invalid_client` answer (RFC 6749 §5.2: when the
    /// client used the `Authorization` header).
    #[cfg(any(feature = "issue", feature = "testing"))]
    pub(crate) fn with_basic_challenge(mut self, used_basic: bool) -> Self {
        self.basic_challenge = used_basic && self.code == OAuthErrorCode::InvalidClient;
        self
    }

    /// Adds `Retry-After: {seconds}` to the response (at least 1): when a 429 or 503 answer
    /// may be retried.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// The `Retry-After` seconds this error's response carries, if any.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The error code.
    pub fn code(&self) -> &OAuthErrorCode {
        &self.code
    }

    /// The human-readable `error_description`; empty when a provider sent none.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The `error_uri`, when a provider sent one.
    pub fn error_uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// The HTTP response: JSON body, `Cache-Control: no-store`, `Pragma: no-cache`,
    /// `X-Content-Type-Options: nosniff`, and the `Allow`, `WWW-Authenticate` or `Retry-After`
    /// header where one applies.
    pub fn to_response(&self, realm: &str) -> Response<Full<Bytes>> {
        let body = serde_json::to_vec(self).unwrap_or_default();
        let mut response = json_response(self.code.status(), body);
        let headers = response.headers_mut();
        if self.code == OAuthErrorCode::MethodNotAllowed {
            headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        if self.basic_challenge
            && let Ok(value) = HeaderValue::from_str(&basic_challenge(realm))
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.as_str())?;
        if !self.description.is_empty() {
            write!(f, ": {}", self.description)?;
        }
        Ok(())
    }
}

impl std::error::Error for OAuthError {}

/// The RFC 6749 §5.2 body, as written.
#[derive(Serialize)]
struct WireOut<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    error_description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_uri: Option<&'a str>,
}

/// The RFC 6749 §5.2 body, as read; other members are ignored.
#[derive(Deserialize)]
struct WireIn {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    error_uri: Option<String>,
}

impl Serialize for OAuthError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WireOut {
            error: self.code.as_str(),
            error_description: &self.description,
            error_uri: self.uri.as_deref(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for OAuthError {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WireIn::deserialize(deserializer)?;
        if wire.error.is_empty() {
            return Err(D::Error::custom("the error member is empty"));
        }
        Ok(OAuthError {
            code: OAuthErrorCode::from_wire(&wire.error),
            description: wire.error_description.unwrap_or_default().into(),
            uri: wire.error_uri,
            basic_challenge: false,
            retry_after: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::error::Category;

    fn parse(json: &str) -> OAuthError {
        serde_json::from_str(json).expect("parses")
    }

    #[test]
    fn our_error_bodies_are_unchanged() {
        let error = OAuthError::new(OAuthErrorCode::InvalidScope, "the scope is malformed");
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"error":"invalid_scope","error_description":"the scope is malformed"}"#
        );
        assert_eq!(parse(&serde_json::to_string(&error).unwrap()), error);
        let too_large = OAuthError::new(OAuthErrorCode::RequestTooLarge, "too large");
        let response = too_large.to_response("token");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            serde_json::to_string(&too_large).unwrap(),
            r#"{"error":"invalid_request","error_description":"too large"}"#
        );
    }

    #[test]
    fn error_responses_are_never_cached_nor_sniffed() {
        let response = OAuthError::new(OAuthErrorCode::InvalidRequest, "x").to_response("token");
        let headers = response.headers();
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::PRAGMA], "no-cache");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(headers.get(header::RETRY_AFTER).is_none());
    }

    #[test]
    fn too_many_requests_is_429_temporarily_unavailable_with_retry_after() {
        let error = OAuthError::new(OAuthErrorCode::TooManyRequests, "slow").with_retry_after(42);
        assert_eq!(error.retry_after(), Some(42));
        let response = error.to_response("token");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"error":"temporarily_unavailable","error_description":"slow"}"#
        );
        let zero = OAuthError::new(OAuthErrorCode::TemporarilyUnavailable, "busy");
        assert_eq!(zero.with_retry_after(0).retry_after(), Some(1));
    }

    #[test]
    fn error_with_an_unknown_code_keeps_its_wire_name() {
        let error = parse(
            r#"{"error":"slow_down","error_description":"wait","error_uri":"https://idp.test/e"}"#,
        );
        assert_eq!(error.code(), &OAuthErrorCode::Other("slow_down".into()));
        assert_eq!(error.code().as_str(), "slow_down");
        assert_eq!(error.code().status(), StatusCode::BAD_REQUEST);
        assert_eq!(error.description(), "wait");
        assert_eq!(error.error_uri(), Some("https://idp.test/e"));
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"error":"slow_down","error_description":"wait","error_uri":"https://idp.test/e"}"#
        );
    }

    #[test]
    fn error_with_a_known_code_and_no_description() {
        let error = parse(r#"{"error":"invalid_client"}"#);
        assert_eq!(error.code(), &OAuthErrorCode::InvalidClient);
        assert_eq!(error.description(), "");
        assert_eq!(error.to_string(), "invalid_client");
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"error":"invalid_client"}"#
        );
    }

    #[test]
    fn malformed_json_is_a_typed_serde_error() {
        for (json, category) in [
            ("{", Category::Eof),
            ("not json", Category::Syntax),
            (r#"{"error_description":"x"}"#, Category::Data),
            (r#"{"error":5}"#, Category::Data),
            (r#"{"error":""}"#, Category::Data),
        ] {
            let err = serde_json::from_str::<OAuthError>(json).unwrap_err();
            assert_eq!(err.classify(), category, "{json}");
        }
    }
}
