//! [`TokenResponse`]: a successful token response (RFC 6749 §5.1).

use std::fmt;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use super::json_response;

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

    /// The HTTP response: 200, JSON, `Cache-Control: no-store`, `Pragma: no-cache`,
    /// `X-Content-Type-Options: nosniff`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::error::Category;

    fn parse(json: &str) -> TokenResponse {
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
        assert_eq!(parse(&json), ours);
        let no_scope = TokenResponse::bearer("t")
            .with_expires_in(60)
            .with_scope("");
        let json = serde_json::to_string(&no_scope).unwrap();
        assert_eq!(
            json,
            r#"{"access_token":"t","token_type":"Bearer","expires_in":60}"#
        );
        assert_eq!(parse(&json), no_scope);
    }

    #[test]
    fn keycloak_like_response_keeps_scope_and_ignores_extra_members() {
        let response = parse(
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
        let response =
            parse(r#"{"access_token":"eyJ.a0.sig","expires_in":86400,"token_type":"Bearer"}"#);
        assert_eq!(
            response,
            TokenResponse::bearer("eyJ.a0.sig").with_expires_in(86400)
        );
    }

    #[test]
    fn response_without_expires_in_and_lowercase_bearer() {
        let response = parse(r#"{"access_token":"opaque","token_type":"bearer"}"#);
        assert_eq!(response.expires_in, None);
        assert!(response.is_bearer());
        let null = parse(r#"{"access_token":"opaque","token_type":"Bearer","expires_in":null}"#);
        assert_eq!(null.expires_in, None);
        let mac = parse(r#"{"access_token":"opaque","token_type":"mac"}"#);
        assert!(!mac.is_bearer());
    }

    #[test]
    fn expires_in_as_a_numeric_string_is_read_as_a_number() {
        let response = parse(r#"{"access_token":"t","token_type":"Bearer","expires_in":"3599"}"#);
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
    fn malformed_json_is_a_typed_serde_error() {
        let cases = [
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
    }
}
