//! The token endpoint's wire types, for both ends of the exchange: [`TokenResponse`]
//! (RFC 6749 §5.1) and [`OAuthError`] (§5.2). The issuer writes them; an outbound client reads a
//! provider's answers with them. Not behind a feature.
//!
//! ```
//! use tower_client_credentials::token_endpoint::{OAuthError, OAuthErrorCode, TokenResponse};
//!
//! let granted: TokenResponse =
//!     serde_json::from_str(r#"{"access_token":"eyJhbGciOi","token_type":"Bearer","expires_in":300}"#)?;
//! assert!(granted.is_bearer());
//! assert_eq!((granted.expires_in, granted.scope), (Some(300), None));
//!
//! let refused: OAuthError =
//!     serde_json::from_str(r#"{"error":"slow_down","error_description":"try later"}"#)?;
//! assert_eq!(refused.code(), &OAuthErrorCode::Other("slow_down".into()));
//! assert_eq!(refused.to_string(), "slow_down: try later");
//! # Ok::<_, serde_json::Error>(())
//! ```

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::http_auth::basic_challenge;

/// A successful token response (RFC 6749 §5.1). Unknown members (`refresh_expires_in`,
/// `not-before-policy`, …) are ignored when parsing. This crate's issuer never sends a refresh
/// token: client credentials have none (RFC 6749 §4.4.3).
///
/// `Debug` never shows the access token.
///
/// ```
/// use tower_client_credentials::token_endpoint::TokenResponse;
///
/// let response = TokenResponse::bearer("eyJhbGciOi").with_expires_in(900).with_scope("reports:read");
/// assert_eq!(
///     serde_json::to_string(&response)?,
///     r#"{"access_token":"eyJhbGciOi","token_type":"Bearer","expires_in":900,"scope":"reports:read"}"#
/// );
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token (from this crate's issuer, a signed JWT).
    pub access_token: String,
    /// The token type: `Bearer` from this crate's issuer. RFC 6749 §5.1 makes it
    /// case-insensitive: compare with [`TokenResponse::is_bearer`].
    pub token_type: String,
    /// Lifetime in seconds (for this crate's tokens, `exp - iat`, always sent). RFC 6749 §5.1
    /// only recommends it, so providers may omit it; a numeric string (`"3599"`, as some
    /// older providers send) is read as a number.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "seconds"
    )]
    pub expires_in: Option<u64>,
    /// The granted scopes, space-separated; omitted when none (RFC 6749 §5.1 also lets a
    /// provider omit it when it granted exactly what was asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl TokenResponse {
    /// A `Bearer` response for `access_token`, without lifetime or scope.
    pub fn bearer(access_token: impl Into<String>) -> Self {
        TokenResponse {
            access_token: access_token.into(),
            token_type: "Bearer".to_owned(),
            expires_in: None,
            scope: None,
        }
    }

    /// Sets `expires_in` (seconds).
    #[must_use]
    pub fn with_expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = Some(seconds);
        self
    }

    /// Sets the granted `scope` (space-separated); an empty one is omitted.
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into()).filter(|s| !s.is_empty());
        self
    }

    /// Whether `token_type` is `Bearer`, in any case (RFC 6749 §5.1).
    pub fn is_bearer(&self) -> bool {
        self.token_type.eq_ignore_ascii_case("bearer")
    }

    /// The HTTP response: 200, JSON, `Cache-Control: no-store`, `Pragma: no-cache`.
    pub fn to_response(&self) -> Response<Full<Bytes>> {
        json_response(StatusCode::OK, serde_json::to_vec(self).unwrap_or_default())
    }
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

/// `expires_in` as a number or a numeric string; absent or `null` is `None`.
fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Number(u64),
        Text(String),
    }
    match Option::<Seconds>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Seconds::Number(n)) => Ok(Some(n)),
        Some(Seconds::Text(text)) => text
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom("expires_in is not a whole number of seconds")),
    }
}

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
    /// A backing store failed (HTTP 503).
    TemporarilyUnavailable,
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
            OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
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
}

impl OAuthError {
    /// An error with a fixed description.
    pub fn new(code: OAuthErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            uri: None,
            basic_challenge: false,
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
    #[cfg(feature = "issue")]
    pub(crate) fn with_basic_challenge(mut self, used_basic: bool) -> Self {
        self.basic_challenge = used_basic && self.code == OAuthErrorCode::InvalidClient;
        self
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

    /// The HTTP response: JSON body, `Cache-Control: no-store`, `Pragma: no-cache`, and the
    /// `Allow` or `WWW-Authenticate` header where one applies.
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
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::error::Category;

    fn parse<T: serde::de::DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).expect("parses")
    }

    #[test]
    fn our_token_response_round_trips_byte_for_byte() {
        let ours = TokenResponse::bearer("eyJ.x.y")
            .with_expires_in(900)
            .with_scope("a b");
        let json = serde_json::to_string(&ours).unwrap();
        assert_eq!(
            json,
            r#"{"access_token":"eyJ.x.y","token_type":"Bearer","expires_in":900,"scope":"a b"}"#
        );
        assert_eq!(parse::<TokenResponse>(&json), ours);
        let no_scope = TokenResponse::bearer("t")
            .with_expires_in(60)
            .with_scope("");
        let json = serde_json::to_string(&no_scope).unwrap();
        assert_eq!(
            json,
            r#"{"access_token":"t","token_type":"Bearer","expires_in":60}"#
        );
        assert_eq!(parse::<TokenResponse>(&json), no_scope);
    }

    #[test]
    fn keycloak_like_response_keeps_scope_and_ignores_extra_members() {
        let response: TokenResponse = parse(
            r#"{"access_token":"eyJ.kc.sig","expires_in":300,"refresh_expires_in":0,
                "token_type":"Bearer","not-before-policy":0,"scope":"profile email"}"#,
        );
        assert_eq!(response.access_token, "eyJ.kc.sig");
        assert!(response.is_bearer());
        assert_eq!(response.expires_in, Some(300));
        assert_eq!(response.scope.as_deref(), Some("profile email"));
    }

    #[test]
    fn auth0_like_response_without_scope() {
        let response: TokenResponse =
            parse(r#"{"access_token":"eyJ.a0.sig","expires_in":86400,"token_type":"Bearer"}"#);
        assert_eq!(
            response,
            TokenResponse::bearer("eyJ.a0.sig").with_expires_in(86400)
        );
    }

    #[test]
    fn response_without_expires_in_and_lowercase_bearer() {
        let response: TokenResponse = parse(r#"{"access_token":"opaque","token_type":"bearer"}"#);
        assert_eq!(response.expires_in, None);
        assert!(response.is_bearer());
        let null: TokenResponse =
            parse(r#"{"access_token":"opaque","token_type":"Bearer","expires_in":null}"#);
        assert_eq!(null.expires_in, None);
        let mac: TokenResponse = parse(r#"{"access_token":"opaque","token_type":"mac"}"#);
        assert!(!mac.is_bearer());
    }

    #[test]
    fn expires_in_as_a_numeric_string_is_read_as_a_number() {
        let response: TokenResponse =
            parse(r#"{"access_token":"t","token_type":"Bearer","expires_in":"3599"}"#);
        assert_eq!(response.expires_in, Some(3599));
        for bad in [r#""soon""#, "-1", "1.5", "true"] {
            let json =
                format!(r#"{{"access_token":"t","token_type":"Bearer","expires_in":{bad}}}"#);
            let err = serde_json::from_str::<TokenResponse>(&json).unwrap_err();
            assert_eq!(err.classify(), Category::Data, "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_access_token() {
        let shown = format!("{:?}", TokenResponse::bearer("eyJ.secret.sig"));
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn our_error_bodies_are_unchanged() {
        let error = OAuthError::new(OAuthErrorCode::InvalidScope, "the scope is malformed");
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"error":"invalid_scope","error_description":"the scope is malformed"}"#
        );
        assert_eq!(
            parse::<OAuthError>(&serde_json::to_string(&error).unwrap()),
            error
        );
        let too_large = OAuthError::new(OAuthErrorCode::RequestTooLarge, "too large");
        let response = too_large.to_response("token");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            serde_json::to_string(&too_large).unwrap(),
            r#"{"error":"invalid_request","error_description":"too large"}"#
        );
    }

    #[test]
    fn error_with_an_unknown_code_keeps_its_wire_name() {
        let error: OAuthError = parse(
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
        let error: OAuthError = parse(r#"{"error":"invalid_client"}"#);
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
        let cases: [(&str, Category); 6] = [
            ("{", Category::Eof),
            ("not json", Category::Syntax),
            ("[]", Category::Data),
            (r#"{"token_type":"Bearer"}"#, Category::Data),
            (
                r#"{"access_token":5,"token_type":"Bearer"}"#,
                Category::Data,
            ),
            (r#"{"access_token":"t"}"#, Category::Data),
        ];
        for (json, category) in cases {
            let err = serde_json::from_str::<TokenResponse>(json).unwrap_err();
            assert_eq!(err.classify(), category, "{json}");
        }
        for (json, category) in [
            ("{", Category::Eof),
            (r#"{"error_description":"x"}"#, Category::Data),
            (r#"{"error":5}"#, Category::Data),
            (r#"{"error":""}"#, Category::Data),
        ] {
            let err = serde_json::from_str::<OAuthError>(json).unwrap_err();
            assert_eq!(err.classify(), category, "{json}");
        }
    }
}
