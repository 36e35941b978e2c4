//! Authentication errors and their RFC 6750 (and gRPC) responses.
//!
//! gRPC statuses answer only gRPC calls: HTTP/2 requests whose `content-type` is
//! `application/grpc` (or `application/grpc+…`). Any other request, including an HTTP/1.1 one
//! with that content type, gets the RFC 6750 status code, so a proxy that reads only the status
//! code (forward auth) never sees a 200 for a refused request.
//!
//! | error | HTTP status | `WWW-Authenticate` | gRPC status |
//! |---|---|---|---|
//! | [`AuthError::MissingToken`] | 401 | `Bearer realm="…"` | 16 `UNAUTHENTICATED` |
//! | [`AuthError::InvalidRequest`] | 400 | `Bearer realm="…", error="invalid_request", …` | 16 |
//! | [`AuthError::InvalidToken`] | 401 | `Bearer realm="…", error="invalid_token", …` | 16 |
//! | [`AuthError::InsufficientScope`] | 403 | `Bearer realm="…", error="insufficient_scope", scope="…"` | 7 `PERMISSION_DENIED` |
//!
//! With [`BearerAuthLayer::resource_metadata`](crate::BearerAuthLayer::resource_metadata), every
//! challenge above carries `resource_metadata="…"` after the realm (RFC 9728 §5.1, which names
//! 401 and 403; the 400 carries it too, since a client that sent a malformed header needs the
//! pointer as much).
//!
//! Descriptions are fixed phrases: no token, claim value or key material ever appears in them.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Response, StatusCode, Version, header};

use crate::http_auth::{BearerChallenge, InvalidRequest};

/// Why a request failed authentication or authorization.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No bearer credentials: no `Authorization` header, or another scheme (RFC 6750 §3.1:
    /// the challenge carries no error code).
    #[error("no bearer token")]
    MissingToken,
    /// The `Authorization` header is malformed (RFC 6750 §3.1 `invalid_request`).
    #[error("invalid request: {0}")]
    InvalidRequest(InvalidRequest),
    /// The token is not acceptable (RFC 6750 §3.1 `invalid_token`).
    #[error("invalid token: {0}")]
    InvalidToken(TokenError),
    /// The token is valid but lacks a scope the route needs (RFC 6750 §3.1
    /// `insufficient_scope`).
    #[error("insufficient scope")]
    InsufficientScope {
        /// The scopes the route asks for, space-separated.
        required: Arc<str>,
    },
}

/// Why a token was rejected. Each variant maps to a short, fixed description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Longer than the validator's maximum; rejected before any decoding.
    #[error("the token is too large")]
    TooLarge,
    /// Not three base64url segments, or the header or claims are not valid JSON.
    #[error("the token is malformed")]
    Malformed,
    /// The header names `none` or an algorithm this crate does not support.
    #[error("the token algorithm is not supported")]
    UnsupportedAlgorithm,
    /// The header's `alg` is not the algorithm of the key its `kid` selects.
    #[error("the token algorithm does not match the key")]
    AlgorithmMismatch,
    /// No key of the issuer has the token's `kid`, or no `kid` and the issuer has several keys.
    #[error("the signing key is not known")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token signature is invalid")]
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("the token is issued in the future")]
    IssuedInFuture,
    /// `exp − iat` (or, without `iat`, `exp − now`) is longer than the issuer's maximum token
    /// lifetime.
    #[error("the token lifetime is too long")]
    LifetimeTooLong,
    /// `iss` is not a trusted issuer.
    #[error("the token issuer is not trusted")]
    InvalidIssuer,
    /// No `aud` value is an accepted audience.
    #[error("the token audience is not accepted")]
    InvalidAudience,
    /// The header `typ` is not the required type (`at+jwt` by default).
    #[error("the token type is not accepted")]
    InvalidType,
    /// The header has a `crit` member (in any form, even `null` or `[]`): this crate
    /// understands no JWS extension.
    #[error("the token uses an unsupported critical header")]
    UnsupportedCritical,
    /// A required claim is missing, has the wrong type (a string or a negative number where a
    /// number of seconds belongs, a number beyond `u64`, a scope claim that is neither a string
    /// nor an array, or holds no valid scope), or a claim is given twice.
    #[error("the token lacks a required claim")]
    MissingClaim,
    /// The token's client id is not one its issuer's rules allow
    /// ([`TrustedIssuer::allowed_clients`](crate::protect::TrustedIssuer::allowed_clients)), or
    /// the token names no client.
    #[error("the token client is not allowed")]
    ClientNotAllowed,
    /// The issuer's keys could not be obtained.
    #[error("the signing keys are not available")]
    KeysUnavailable,
}

impl From<TokenError> for AuthError {
    fn from(error: TokenError) -> Self {
        AuthError::InvalidToken(error)
    }
}

impl AuthError {
    /// The HTTP status of this error's RFC 6750 response.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::MissingToken | AuthError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            AuthError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            AuthError::InsufficientScope { .. } => StatusCode::FORBIDDEN,
        }
    }

    /// The RFC 6750 error code, `None` for a missing token.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            AuthError::MissingToken => None,
            AuthError::InvalidRequest(_) => Some("invalid_request"),
            AuthError::InvalidToken(_) => Some("invalid_token"),
            AuthError::InsufficientScope { .. } => Some("insufficient_scope"),
        }
    }

    /// The gRPC status code: 7 (`PERMISSION_DENIED`) for a missing scope, otherwise 16
    /// (`UNAUTHENTICATED`).
    pub fn grpc_code(&self) -> u16 {
        match self {
            AuthError::InsufficientScope { .. } => 7,
            _ => 16,
        }
    }

    fn description(&self) -> Option<String> {
        match self {
            AuthError::MissingToken | AuthError::InsufficientScope { .. } => None,
            AuthError::InvalidRequest(why) => Some(why.to_string()),
            AuthError::InvalidToken(why) => Some(why.to_string()),
        }
    }

    /// The `WWW-Authenticate` challenge for this error (RFC 6750 §3).
    ///
    /// ```
    /// use tower_client_credentials::AuthError;
    /// use tower_client_credentials::protect::TokenError;
    /// let e = AuthError::InvalidToken(TokenError::Expired);
    /// assert_eq!(
    ///     e.challenge("api"),
    ///     r#"Bearer realm="api", error="invalid_token", error_description="the token has expired""#
    /// );
    /// assert_eq!(AuthError::MissingToken.challenge("api"), r#"Bearer realm="api""#);
    /// ```
    pub fn challenge(&self, realm: &str) -> String {
        self.challenge_with_metadata(realm, None)
    }

    /// The `WWW-Authenticate` challenge for this error (RFC 6750 §3) with, when given, the
    /// RFC 9728 §5.1 `resource_metadata` parameter: the URL of the protected resource's
    /// metadata, where a client learns which authorization server to ask for a token.
    ///
    /// ```
    /// use tower_client_credentials::AuthError;
    /// let url = "https://api.example.com/.well-known/oauth-protected-resource/mcp";
    /// assert_eq!(
    ///     AuthError::MissingToken.challenge_with_metadata("api", Some(url)),
    ///     format!(r#"Bearer realm="api", resource_metadata="{url}""#)
    /// );
    /// ```
    pub fn challenge_with_metadata(&self, realm: &str, resource_metadata: Option<&str>) -> String {
        let description = self.description();
        let scope = match self {
            AuthError::InsufficientScope { required } => Some(&**required),
            _ => None,
        };
        BearerChallenge {
            realm,
            resource_metadata,
            error: self.error_code(),
            error_description: description.as_deref(),
            scope,
        }
        .to_header_value()
    }

    /// Builds the response to a request of HTTP `version` with `request_headers`: a
    /// trailers-only gRPC status ([`to_grpc_response`](Self::to_grpc_response)) for gRPC
    /// calls, HTTP/2 requests whose `content-type` is `application/grpc`,
    /// `application/grpc+<codec>` or `application/grpc;<params>`; RFC 6750
    /// ([`to_http_response`](Self::to_http_response)) for everything else.
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue, Response, Version, header};
    /// use tower_client_credentials::AuthError;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    /// let grpc: Response<String> =
    ///     AuthError::MissingToken.to_response("api", Version::HTTP_2, &headers);
    /// assert_eq!(grpc.status().as_u16(), 200);
    /// assert_eq!(grpc.headers()["grpc-status"], "16");
    /// // The same content type over HTTP/1.1 is not gRPC: the RFC 6750 401.
    /// let http1: Response<String> =
    ///     AuthError::MissingToken.to_response("api", Version::HTTP_11, &headers);
    /// assert_eq!(http1.status().as_u16(), 401);
    /// ```
    pub fn to_response<B: Default>(
        &self,
        realm: &str,
        version: Version,
        request_headers: &HeaderMap,
    ) -> Response<B> {
        self.to_response_with_metadata(realm, None, version, request_headers)
    }

    /// [`to_response`](Self::to_response) with, for HTTP, the challenge of
    /// [`challenge_with_metadata`](Self::challenge_with_metadata).
    pub(crate) fn to_response_with_metadata<B: Default>(
        &self,
        realm: &str,
        resource_metadata: Option<&str>,
        version: Version,
        request_headers: &HeaderMap,
    ) -> Response<B> {
        if is_grpc_call(version, request_headers) {
            return self.to_grpc_response();
        }
        self.to_http_response_with_metadata(realm, resource_metadata)
    }

    /// Builds the RFC 6750 response: the status, and the `WWW-Authenticate` challenge for
    /// `realm`, with an empty body.
    pub fn to_http_response<B: Default>(&self, realm: &str) -> Response<B> {
        self.to_http_response_with_metadata(realm, None)
    }

    /// [`to_http_response`](Self::to_http_response) with the challenge of
    /// [`challenge_with_metadata`](Self::challenge_with_metadata).
    pub fn to_http_response_with_metadata<B: Default>(
        &self,
        realm: &str,
        resource_metadata: Option<&str>,
    ) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = self.status();
        let challenge =
            HeaderValue::from_str(&self.challenge_with_metadata(realm, resource_metadata))
                .unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
        response
    }

    /// Builds a trailers-only gRPC response (HTTP 200, `grpc-status`, `grpc-message`).
    pub fn to_grpc_response<B: Default>(&self) -> Response<B> {
        let mut response = Response::new(B::default());
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert("grpc-status", HeaderValue::from(self.grpc_code()));
        let message = self.description().unwrap_or_else(|| self.to_string());
        // gRPC over HTTP/2: grpc-message is percent-encoded outside printable ASCII and `%`.
        let message = percent_encoding::utf8_percent_encode(&message, GRPC_MESSAGE).to_string();
        if let Ok(value) = HeaderValue::from_str(&message) {
            headers.insert("grpc-message", value);
        }
        response
    }
}

const GRPC_MESSAGE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');

/// Whether a request is a gRPC call: HTTP/2 (gRPC runs over nothing else) with a
/// `content-type` of `application/grpc`, `application/grpc+<codec>` or
/// `application/grpc;<params>` (case-insensitive).
pub(crate) fn is_grpc_call(version: Version, headers: &HeaderMap) -> bool {
    const GRPC: &[u8] = b"application/grpc";
    if version != Version::HTTP_2 {
        return false;
    }
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else {
        return false;
    };
    let value = content_type.as_bytes();
    let Some((prefix, rest)) = value.split_at_checked(GRPC.len()) else {
        return false;
    };
    // `application/grpc-web` and `application/grpcfoo` are other media types.
    prefix.eq_ignore_ascii_case(GRPC) && matches!(rest.first(), None | Some(b'+' | b';'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insufficient_scope_names_scopes() {
        let e = AuthError::InsufficientScope {
            required: "a b".into(),
        };
        assert_eq!(
            e.challenge("api"),
            r#"Bearer realm="api", error="insufficient_scope", scope="a b""#
        );
        assert_eq!(e.status(), StatusCode::FORBIDDEN);
        assert_eq!(e.grpc_code(), 7);
    }

    #[test]
    fn grpc_response_is_trailers_only() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc+proto"),
        );
        let expired = AuthError::InvalidToken(TokenError::Expired);
        let r: Response<String> = expired.to_response("api", Version::HTTP_2, &headers);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["grpc-status"], "16");
        assert_eq!(r.headers()["grpc-message"], "the token has expired");
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn grpc_content_type_over_http1_gets_the_rfc6750_status() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        for version in [Version::HTTP_09, Version::HTTP_10, Version::HTTP_11] {
            let r: Response<String> = AuthError::MissingToken.to_response("api", version, &headers);
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{version:?}");
            assert_eq!(
                r.headers()[header::WWW_AUTHENTICATE],
                r#"Bearer realm="api""#
            );
            assert!(r.headers().get("grpc-status").is_none());
        }
    }

    #[test]
    fn only_grpc_media_types_count() {
        let call = |content_type: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            is_grpc_call(Version::HTTP_2, &headers)
        };
        for yes in [
            "application/grpc",
            "application/grpc+proto",
            "Application/GRPC+json",
            "application/grpc;charset=utf-8",
        ] {
            assert!(call(yes), "{yes}");
        }
        for no in [
            "application/grpc-web",
            "application/grpcx",
            "application/json",
            "application/grp",
            "",
        ] {
            assert!(!call(no), "{no}");
        }
        assert!(!is_grpc_call(Version::HTTP_2, &HeaderMap::new()));
    }
}
