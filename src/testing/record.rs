//! [`RecordedTokenRequest`]: what a [`MockTokenEndpoint`](super::MockTokenEndpoint) received.

use std::fmt;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use zeroize::Zeroizing;

use crate::http_auth::{basic_credentials, form_decode};

/// One request the mock token endpoint received: its form parameters (decoded, in order) and
/// headers, for assertions.
///
/// `Debug` leaves out the client secret, the client assertion and the `Authorization` header.
#[derive(Clone)]
pub struct RecordedTokenRequest {
    form: Vec<(String, Zeroizing<String>)>,
    headers: HeaderMap,
    basic: Option<(String, Zeroizing<String>)>,
    assertion_subject: Option<String>,
    received_at: Instant,
}

/// Form parameters whose values `Debug` does not show.
const SECRET_PARAMS: [&str; 2] = ["client_secret", "client_assertion"];

impl RecordedTokenRequest {
    pub(super) fn new(headers: HeaderMap, body: &[u8], received_at: Instant) -> Self {
        let form = body
            .split(|&b| b == b'&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = match pair.iter().position(|&b| b == b'=') {
                    Some(at) => (&pair[..at], &pair[at + 1..]),
                    None => (pair, &[][..]),
                };
                let decode = |raw: &[u8]| {
                    form_decode(raw).unwrap_or_else(|| String::from_utf8_lossy(raw).into_owned())
                };
                (decode(name), Zeroizing::new(decode(value)))
            })
            .collect();
        let basic = basic_credentials(&headers).ok().flatten();
        let mut recorded = RecordedTokenRequest {
            form,
            headers,
            basic,
            assertion_subject: None,
            received_at,
        };
        recorded.assertion_subject = recorded.client_assertion().and_then(assertion_subject);
        recorded
    }

    /// The first value of form parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of form parameter `name`, in order (`resource` may repeat).
    pub fn params<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.form
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every form parameter name, in order.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.form.iter().map(|(n, _)| n.as_str())
    }

    /// `grant_type`.
    pub fn grant_type(&self) -> Option<&str> {
        self.param("grant_type")
    }

    /// `scope`, as sent.
    pub fn scope(&self) -> Option<&str> {
        self.param("scope")
    }

    /// The `resource` parameters (RFC 8707), in order.
    pub fn resources(&self) -> Vec<&str> {
        self.params("resource").collect()
    }

    /// The client id: from `Authorization: Basic`, else the `client_id` parameter, else the
    /// `sub` of an unverified `client_assertion`.
    pub fn client_id(&self) -> Option<&str> {
        if let Some((id, _)) = &self.basic {
            return Some(id);
        }
        self.param("client_id")
            .or(self.assertion_subject.as_deref())
    }

    /// The client secret: from `Authorization: Basic` (form-decoded, RFC 6749 §2.3.1), else
    /// the `client_secret` parameter.
    pub fn client_secret(&self) -> Option<&str> {
        match &self.basic {
            Some((_, secret)) => Some(secret),
            None => self.param("client_secret"),
        }
    }

    /// The `client_assertion` (RFC 7523), as sent.
    pub fn client_assertion(&self) -> Option<&str> {
        self.param("client_assertion")
    }

    /// How the client authenticated, by its RFC 8414 name: `client_secret_basic`,
    /// `client_secret_post`, `private_key_jwt`; `None` for none of these.
    pub fn auth_method(&self) -> Option<&'static str> {
        if self.basic.is_some() {
            Some("client_secret_basic")
        } else if self.param("client_assertion").is_some() {
            Some("private_key_jwt")
        } else if self.param("client_secret").is_some() {
            Some("client_secret_post")
        } else {
            None
        }
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// When the request arrived.
    pub fn received_at(&self) -> Instant {
        self.received_at
    }
}

/// The `sub` of an (unverified) client assertion: the client it speaks for (RFC 7523 §3).
fn assertion_subject(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Some(claims.get("sub")?.as_str()?.to_owned())
}

impl fmt::Debug for RecordedTokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let form: Vec<(&str, &str)> = self
            .form
            .iter()
            .map(|(name, value)| {
                let shown = if SECRET_PARAMS.contains(&name.as_str()) {
                    "<redacted>"
                } else {
                    value.as_str()
                };
                (name.as_str(), shown)
            })
            .collect();
        f.debug_struct("RecordedTokenRequest")
            .field("form", &form)
            .field("client_id", &self.client_id())
            .field("auth_method", &self.auth_method())
            .finish_non_exhaustive()
    }
}
