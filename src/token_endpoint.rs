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

mod error;
mod response;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

pub use error::{OAuthError, OAuthErrorCode};
pub use response::TokenResponse;

/// A JSON answer of the token endpoint. RFC 6749 §5.1: token responses (and errors) must not
/// be cached; `nosniff` keeps a browser from reading the JSON as anything else.
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
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
