//! Reading the one `Authorization` header (RFC 7235 §2.1), shared by the bearer check on
//! resource routes and the Basic check on the token endpoint.

use http::{HeaderMap, header};

/// Why the `Authorization` header cannot be read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// More than one `Authorization` header.
    Duplicate,
    /// Bytes outside visible ASCII.
    NotAscii,
}

/// The scheme and the credentials (trimmed of spaces) of the request's single `Authorization`
/// header; `Ok(None)` when there is none. Callers compare the scheme case-insensitively.
pub(crate) fn authorization(headers: &HeaderMap) -> Result<Option<(&str, &str)>, HeaderError> {
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
