//! HTTP authentication headers, in one place: reading the single `Authorization` header
//! (RFC 7235 §2.1) as Bearer (RFC 6750 §2.1) or Basic (RFC 7617, with RFC 6749 §2.3.1's
//! form-encoding), and building the `WWW-Authenticate` challenges both sides answer with.

use std::borrow::Cow;

#[cfg(any(feature = "issue", feature = "testing"))]
use base64::{Engine, engine::general_purpose::STANDARD};
use http::{HeaderMap, header};
#[cfg(any(feature = "issue", feature = "testing"))]
use percent_encoding::percent_decode;
#[cfg(any(feature = "issue", feature = "testing"))]
use zeroize::Zeroizing;

/// Ways an `Authorization: Bearer` header can be malformed (RFC 6750 §3.1 `invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// More than one `Authorization` header.
    #[error("more than one Authorization header")]
    DuplicateAuthorization,
    /// `Bearer` with nothing after it.
    #[error("empty bearer token")]
    EmptyToken,
    /// The credentials are not RFC 6750 `b64token` syntax (or not visible ASCII).
    #[error("malformed bearer token")]
    MalformedCredentials,
}

/// Why `Authorization: Basic` credentials cannot be used.
#[cfg(any(feature = "issue", feature = "testing"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BasicError {
    /// More than one `Authorization` header.
    Duplicate,
    /// Not base64, not UTF-8, no `:`, bad form-encoding, or an empty client id.
    Malformed,
    /// A scheme other than Basic.
    OtherScheme,
}

/// The scheme and the credentials (trimmed of spaces) of the request's single `Authorization`
/// header; `Ok(None)` when there is none.
#[cfg(any(feature = "issue", feature = "testing"))]
fn authorization(headers: &HeaderMap) -> Result<Option<(&str, &str)>, HeaderError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(HeaderError::Duplicate);
    }
    let value = value.to_str().map_err(|_| HeaderError::NotAscii)?;
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    Ok(Some((scheme, credentials.trim_matches(' '))))
}

#[cfg(any(feature = "issue", feature = "testing"))]
enum HeaderError {
    Duplicate,
    NotAscii,
}

/// The bearer credentials of the `Authorization` header (RFC 6750 §2.1), as sent and not yet
/// checked against the `b64token` syntax (see [`b64token`]). `Ok(None)`: no bearer credentials
/// (no header, or another scheme). Never reads the query string or the body.
///
/// Every request pays for this, so the header is read as bytes: only a header of another scheme
/// is checked for readability as a whole (an unreadable one is malformed, whatever its scheme,
/// as [`HeaderValue::to_str`](http::HeaderValue::to_str) would say). The caller may look the
/// raw credentials up among tokens verified before (which passed [`b64token`] then) and check
/// the syntax only on a miss.
pub(crate) fn bearer_credentials(headers: &HeaderMap) -> Result<Option<&[u8]>, InvalidRequest> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(InvalidRequest::DuplicateAuthorization);
    }
    let bytes = value.as_bytes();
    let (scheme, credentials) = match bytes.iter().position(|&b| b == b' ') {
        Some(space) => (&bytes[..space], &bytes[space + 1..]),
        None => (bytes, &[][..]),
    };
    // RFC 7235 §2.1: the scheme name is case-insensitive.
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return if bytes
            .iter()
            .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
        {
            Ok(None)
        } else {
            Err(InvalidRequest::MalformedCredentials)
        };
    }
    let token = trim_spaces(credentials);
    if token.is_empty() {
        return Err(InvalidRequest::EmptyToken);
    }
    Ok(Some(token))
}

/// `credentials` as a token, when they match RFC 6750's `b64token` (which admits ASCII only).
pub(crate) fn b64token(credentials: &[u8]) -> Result<&str, InvalidRequest> {
    if !is_b64token(credentials) {
        return Err(InvalidRequest::MalformedCredentials);
    }
    std::str::from_utf8(credentials).map_err(|_| InvalidRequest::MalformedCredentials)
}

/// The bearer token of the `Authorization` header (RFC 6750 §2.1): [`bearer_credentials`]
/// that match `b64token`.
#[cfg(test)]
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, InvalidRequest> {
    bearer_credentials(headers)?.map(b64token).transpose()
}

fn trim_spaces(mut bytes: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' '] = bytes {
        bytes = rest;
    }
    bytes
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
// Every request pays for this scan over the whole token: each byte is classified by
// comparisons alone (no branch, no table), which the compiler turns into vector code, a block
// of 64 bytes at a time.
fn is_b64token(token: &[u8]) -> bool {
    let padding = token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &token[..token.len() - padding];
    !body.is_empty()
        && body.chunks(64).all(|block| {
            block
                .iter()
                .fold(0u8, |bad, &b| bad | u8::from(!is_b64token_byte(b)))
                == 0
        })
}

#[inline(always)]
fn is_b64token_byte(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    // `+` `-` `.` `/` are 0x2B 0x2D 0x2E 0x2F; `,` (0x2C) is not one of them.
    let sign = (b.wrapping_sub(b'+') < 5) & (b != b',');
    letter | digit | sign | (b == b'_') | (b == b'~')
}

/// RFC 6749 §2.3.1: `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`.
/// `Ok(None)` when the request has no `Authorization` header.
#[cfg(any(feature = "issue", feature = "testing"))]
pub(crate) fn basic_credentials(
    headers: &HeaderMap,
) -> Result<Option<(String, Zeroizing<String>)>, BasicError> {
    let (scheme, encoded) = match authorization(headers) {
        Ok(Some(parts)) => parts,
        Ok(None) => return Ok(None),
        Err(HeaderError::Duplicate) => return Err(BasicError::Duplicate),
        Err(HeaderError::NotAscii) => return Err(BasicError::Malformed),
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(BasicError::OtherScheme);
    }
    let decoded = Zeroizing::new(
        STANDARD
            .decode(encoded)
            .map_err(|_| BasicError::Malformed)?,
    );
    let text = std::str::from_utf8(&decoded).map_err(|_| BasicError::Malformed)?;
    let (id, secret) = text.split_once(':').ok_or(BasicError::Malformed)?;
    let id = form_decode(id.as_bytes()).ok_or(BasicError::Malformed)?;
    let secret = Zeroizing::new(form_decode(secret.as_bytes()).ok_or(BasicError::Malformed)?);
    if id.is_empty() {
        return Err(BasicError::Malformed);
    }
    Ok(Some((id, secret)))
}

/// `application/x-www-form-urlencoded` decoding that refuses invalid UTF-8 instead of
/// replacing it.
#[cfg(any(feature = "issue", feature = "testing"))]
pub(crate) fn form_decode(raw: &[u8]) -> Option<String> {
    let plus_as_space: Zeroizing<Vec<u8>> = Zeroizing::new(
        raw.iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect(),
    );
    percent_decode(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}

/// The parameters of a `Bearer` challenge (RFC 6750 §3, RFC 9728 §5.1).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct BearerChallenge<'a> {
    pub(crate) realm: &'a str,
    pub(crate) resource_metadata: Option<&'a str>,
    pub(crate) error: Option<&'a str>,
    pub(crate) error_description: Option<&'a str>,
    pub(crate) scope: Option<&'a str>,
}

impl BearerChallenge<'_> {
    /// The `WWW-Authenticate` value, every parameter a quoted-string.
    pub(crate) fn to_header_value(self) -> String {
        let mut value = String::with_capacity(64);
        value.push_str("Bearer");
        let params = [
            ("realm", Some(self.realm)),
            ("resource_metadata", self.resource_metadata),
            ("error", self.error),
            ("error_description", self.error_description),
            ("scope", self.scope),
        ];
        let mut first = true;
        for (name, param) in params {
            let Some(param) = param else { continue };
            value.push_str(if first { " " } else { ", " });
            first = false;
            value.push_str(name);
            value.push_str("=\"");
            value.push_str(&quote_escape(param));
            value.push('"');
        }
        value
    }
}

/// The `WWW-Authenticate: Basic` challenge of the token endpoint (RFC 6749 §5.2, RFC 7617).
pub(crate) fn basic_challenge(realm: &str) -> String {
    format!("Basic realm=\"{}\"", quote_escape(realm))
}

// RFC 7230 quoted-string: escape `"` and `\`, drop control characters.
fn quote_escape(value: &str) -> Cow<'_, str> {
    if value
        .chars()
        .all(|c| c != '"' && c != '\\' && !c.is_control())
    {
        return value.into();
    }
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn b64token_table_matches_rfc_6750() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(is_b64token_byte(b), expected, "{b:#x}");
        }
        assert!(is_b64token(b"a.b-c_d~e+f/g=="));
        assert!(!is_b64token(b"=="));
        assert!(!is_b64token(b"a=b"));
        assert!(!is_b64token("t\u{e9}st".as_bytes()));
    }

    #[test]
    fn parses_bearer_header_forms() {
        assert_eq!(bearer_token(&headers(&[])), Ok(None));
        assert_eq!(bearer_token(&headers(&[b"Basic abc"])), Ok(None));
        assert_eq!(bearer_token(&headers(&[b"Bearerx abc"])), Ok(None));
        assert_eq!(
            bearer_token(&headers(&[b"bearer a.b.c"])),
            Ok(Some("a.b.c"))
        );
        assert_eq!(
            bearer_token(&headers(&[b"BEARER  a.b.c"])),
            Ok(Some("a.b.c"))
        );
        let empty = Err(InvalidRequest::EmptyToken);
        assert_eq!(bearer_token(&headers(&[b"Bearer"])), empty);
        assert_eq!(bearer_token(&headers(&[b"Bearer "])), empty);
        let bad = Err(InvalidRequest::MalformedCredentials);
        assert_eq!(bearer_token(&headers(&[b"Bearer a b"])), bad);
        assert_eq!(bearer_token(&headers(&[b"Bearer a\"b"])), bad);
        assert_eq!(bearer_token(&headers(&[b"Bearer ="])), bad);
        assert_eq!(bearer_token(&headers(&[b"Bearer \xff\xfe"])), bad);
        assert_eq!(
            bearer_token(&headers(&[b"Bearer a", b"Bearer b"])),
            Err(InvalidRequest::DuplicateAuthorization)
        );
    }

    #[test]
    #[cfg(feature = "issue")]
    fn basic_credentials_are_form_decoded_after_base64() {
        // id "a b", secret "p:%+" → urlencoded "a+b" : "p%3A%25%2B"
        let value = format!("Basic {}", STANDARD.encode("a+b:p%3A%25%2B"));
        let (id, secret) = basic_credentials(&headers(&[value.as_bytes()]))
            .unwrap()
            .unwrap();
        assert_eq!(id, "a b");
        assert_eq!(secret.as_str(), "p:%+");
    }

    #[test]
    #[cfg(feature = "issue")]
    fn malformed_basic_credentials_are_typed_errors() {
        let no_colon = format!("Basic {}", STANDARD.encode("abc"));
        let empty_id = format!("Basic {}", STANDARD.encode(":secret"));
        let bad_utf8 = format!("Basic {}", STANDARD.encode([0xff, b':', b'x']));
        let bad_escape = format!("Basic {}", STANDARD.encode("a%FF:x"));
        for value in [
            "Basic !!!",
            no_colon.as_str(),
            empty_id.as_str(),
            bad_utf8.as_str(),
            bad_escape.as_str(),
        ] {
            assert_eq!(
                basic_credentials(&headers(&[value.as_bytes()])),
                Err(BasicError::Malformed),
                "{value}"
            );
        }
        assert_eq!(
            basic_credentials(&headers(&[b"Bearer x"])),
            Err(BasicError::OtherScheme)
        );
        assert_eq!(
            basic_credentials(&headers(&[b"Basic a", b"Basic b"])),
            Err(BasicError::Duplicate)
        );
        assert_eq!(basic_credentials(&headers(&[])), Ok(None));
    }

    #[test]
    fn challenges_escape_every_parameter() {
        let bearer = BearerChallenge {
            realm: "a\"b\\c\n",
            resource_metadata: None,
            error: Some("invalid_token"),
            error_description: Some("the token has expired"),
            scope: None,
        };
        assert_eq!(
            bearer.to_header_value(),
            r#"Bearer realm="a\"b\\c", error="invalid_token", error_description="the token has expired""#
        );
        let bearer = BearerChallenge {
            realm: "api",
            resource_metadata: Some("https://x.test/\"q\\\r"),
            error: Some("insufficient_scope"),
            error_description: None,
            scope: Some("a b"),
        };
        assert_eq!(
            bearer.to_header_value(),
            r#"Bearer realm="api", resource_metadata="https://x.test/\"q\\", error="insufficient_scope", scope="a b""#
        );
        assert_eq!(basic_challenge("to\"ken"), r#"Basic realm="to\"ken""#);
    }
}
