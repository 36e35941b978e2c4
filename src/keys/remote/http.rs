//! The HTTP half of remote keys: which URLs may be fetched, RFC 8414 / OpenID Connect
//! discovery, and JWKS documents read with a hard size limit.

use std::time::Duration;

use reqwest::Url;
use reqwest::header::{ACCEPT, CACHE_CONTROL, HeaderMap};
use serde::Deserialize;

use super::RemoteKeysError;
use crate::http_client::{check_url, metadata_urls, same_host};
use crate::keys::{Jwks, MAX_JWKS_BYTES, VerifyingKey};

/// The largest metadata or JWKS body read, in bytes (256 KiB).
pub(super) const MAX_BODY_BYTES: usize = MAX_JWKS_BYTES;

/// An HTTP client bound to the URL rules of one remote key source.
pub(super) struct JwksClient {
    pub(super) client: reqwest::Client,
    pub(super) request_timeout: Duration,
    pub(super) allow_http: bool,
}

/// A JWKS as fetched: its usable keys and the `max-age` it came with.
pub(super) struct FetchedKeys {
    pub(super) keys: Vec<VerifyingKey>,
    pub(super) max_age: Option<Duration>,
}

impl JwksClient {
    /// RFC 8414 metadata of `issuer`, falling back to OpenID Connect's when the first URL
    /// answers with an HTTP error status; the `jwks_uri` it names. The document's `issuer`
    /// must be `issuer` or one of `aliases` (RFC 8414 §3.3).
    pub(super) async fn discover(
        &self,
        issuer: &Url,
        expected: &[String],
    ) -> Result<Url, RemoteKeysError> {
        #[derive(Deserialize)]
        struct Metadata {
            issuer: String,
            jwks_uri: Option<String>,
        }
        let [oauth, oidc] = metadata_urls(issuer);
        let body = match self.get(&oauth).await {
            Ok((body, _)) => body,
            Err(RemoteKeysError::Status(status)) => {
                tracing::debug!(
                    status,
                    "no RFC 8414 metadata; trying OpenID Connect discovery"
                );
                self.get(&oidc).await?.0
            }
            Err(error) => return Err(error),
        };
        let metadata: Metadata =
            serde_json::from_slice(&body).map_err(|_| RemoteKeysError::InvalidMetadata)?;
        if !expected.contains(&metadata.issuer) {
            return Err(RemoteKeysError::IssuerMismatch);
        }
        let jwks_uri = metadata.jwks_uri.ok_or(RemoteKeysError::InvalidMetadata)?;
        let jwks_uri = Url::parse(&jwks_uri).map_err(|_| RemoteKeysError::InvalidMetadata)?;
        check_url(&jwks_uri, self.allow_http).map_err(|_| RemoteKeysError::InsecureJwksUri)?;
        Ok(jwks_uri)
    }

    /// The usable keys of the JWKS at `url`; a document without any is an error, so the keys
    /// held are kept.
    pub(super) async fn jwks(&self, url: &Url) -> Result<FetchedKeys, RemoteKeysError> {
        let (body, headers) = self.get(url).await?;
        let text = std::str::from_utf8(&body).map_err(|_| RemoteKeysError::InvalidJwks)?;
        let keys = Jwks::parse(text).map_err(|_| RemoteKeysError::InvalidJwks)?;
        if keys.is_empty() {
            return Err(RemoteKeysError::NoUsableKey);
        }
        Ok(FetchedKeys {
            keys,
            max_age: max_age(&headers),
        })
    }

    /// `GET url`: a 2xx body of at most [`MAX_BODY_BYTES`], read chunk by chunk (a
    /// `Content-Length` is only a hint), within the request timeout.
    async fn get(&self, url: &Url) -> Result<(Vec<u8>, HeaderMap), RemoteKeysError> {
        let request = async {
            let mut response = self
                .client
                .get(url.clone())
                .header(ACCEPT, "application/json")
                .timeout(self.request_timeout)
                .send()
                .await
                .map_err(transport)?;
            // The built-in client follows redirects within one host only; a client the
            // application supplied may follow more, so the final URL is checked here too.
            let landed = response.url();
            if !same_host(url, landed) || check_url(landed, self.allow_http).is_err() {
                return Err(RemoteKeysError::Redirect);
            }
            let status = response.status();
            if status.is_redirection() {
                return Err(RemoteKeysError::Redirect);
            }
            if !status.is_success() {
                return Err(RemoteKeysError::Status(status.as_u16()));
            }
            if response
                .content_length()
                .is_some_and(|len| len > MAX_BODY_BYTES as u64)
            {
                return Err(RemoteKeysError::TooLarge);
            }
            let headers = response.headers().clone();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(transport)? {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(RemoteKeysError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok((body, headers))
        };
        // reqwest's timeout covers the body too; this one also bounds a user-supplied client.
        tokio::time::timeout(self.request_timeout, request)
            .await
            .unwrap_or(Err(RemoteKeysError::Timeout))
    }
}

fn transport(error: reqwest::Error) -> RemoteKeysError {
    // reqwest's message names the URL and OS details: kept out of our error, logged at debug.
    tracing::debug!(%error, "key fetch failed");
    if error.is_timeout() {
        RemoteKeysError::Timeout
    } else if error.is_connect() {
        RemoteKeysError::Connect
    } else {
        RemoteKeysError::Transport
    }
}

/// The `max-age` of a `Cache-Control` header (RFC 9111 §5.2.2.1); `no-cache` and `no-store`
/// count as zero (the caller clamps it up to its minimum).
pub(super) fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut found = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let directive = directive.trim();
            let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
            let name = name.trim();
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Some(Duration::ZERO);
            }
            if name.eq_ignore_ascii_case("max-age") {
                let arg = arg.trim().trim_matches('"');
                // Larger than u64 seconds: as long as the caller allows.
                if let Ok(secs) = arg.parse::<u64>() {
                    found = Some(Duration::from_secs(secs));
                } else if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()) {
                    found = Some(Duration::MAX);
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn max_age_is_read_from_cache_control() {
        let cases = [
            ("public, max-age=300", Some(300)),
            ("MAX-AGE=\"60\"", Some(60)),
            ("no-store", Some(0)),
            ("max-age=600, no-cache", Some(0)),
            ("max-age=abc", None),
            ("private", None),
        ];
        for (value, want) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(CACHE_CONTROL, HeaderValue::from_static(value));
            assert_eq!(max_age(&headers), want.map(Duration::from_secs), "{value}");
        }
        let mut huge = HeaderMap::new();
        huge.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("max-age=999999999999999999999999"),
        );
        assert_eq!(max_age(&huge), Some(Duration::MAX));
        assert_eq!(max_age(&HeaderMap::new()), None);
    }
}
