//! The HTTP half of remote keys: which URLs may be fetched, RFC 8414 / OpenID Connect
//! discovery, and JWKS documents read with a hard size limit.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{ACCEPT, CACHE_CONTROL, HeaderMap};
use serde::Deserialize;

use super::{RemoteKeysConfigError, RemoteKeysError};
use crate::keys::{Jwks, MAX_JWKS_BYTES, VerifyingKey};

/// The largest metadata or JWKS body read, in bytes (256 KiB).
pub(super) const MAX_BODY_BYTES: usize = MAX_JWKS_BYTES;

/// RFC 8414 §3: the well-known suffix of authorization server metadata.
const OAUTH_METADATA: &str = "/.well-known/oauth-authorization-server";
/// OpenID Connect Discovery 1.0 §4.
const OIDC_METADATA: &str = "/.well-known/openid-configuration";

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

/// A URL the source may fetch: `https`, or `http` to a loopback host (127.0.0.0/8, `::1`,
/// `localhost`) or when `allow_http` is set; never with credentials in it.
pub(super) fn check_url(url: &Url, allow_http: bool) -> Result<(), RemoteKeysConfigError> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RemoteKeysConfigError::CredentialsInUrl);
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http || is_loopback(url) => Ok(()),
        _ => Err(RemoteKeysConfigError::InsecureUrl),
    }
}

/// Whether the URL's host is a loopback address or `localhost`.
pub(super) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    // IPv6 hosts come bracketed.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The two metadata URLs of `issuer`, in the order they are tried: RFC 8414 §3 (the
/// well-known suffix inserted between host and path) and OpenID Connect Discovery §4 (the
/// suffix appended to the path). Both drop a terminating `/` of the issuer's path first.
pub(super) fn metadata_urls(issuer: &Url) -> [Url; 2] {
    let path = issuer.path().trim_end_matches('/');
    let mut oauth = issuer.clone();
    oauth.set_path(&format!("{OAUTH_METADATA}{path}"));
    let mut oidc = issuer.clone();
    oidc.set_path(&format!("{path}{OIDC_METADATA}"));
    [oauth, oidc]
}

/// The redirect policy of the built-in client: at most 3 hops, each to the same host and port
/// as the first request, never from `https` down to `http`.
pub(super) fn same_host_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let allowed = match attempt.previous().first() {
            Some(first) => attempt.previous().len() <= 3 && same_host(first, attempt.url()),
            None => false,
        };
        if allowed {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

fn same_host(from: &Url, to: &Url) -> bool {
    from.host_str() == to.host_str()
        && from.port_or_known_default() == to.port_or_known_default()
        && (from.scheme() == to.scheme() || to.scheme() == "https")
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

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn metadata_urls_insert_the_path_per_rfc_8414_and_append_it_per_oidc() {
        let [oauth, oidc] = metadata_urls(&url("https://id.example.com"));
        assert_eq!(
            oauth.as_str(),
            "https://id.example.com/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            oidc.as_str(),
            "https://id.example.com/.well-known/openid-configuration"
        );
        let [oauth, oidc] = metadata_urls(&url("https://id.example.com:8443/realms/acme/"));
        assert_eq!(
            oauth.as_str(),
            "https://id.example.com:8443/.well-known/oauth-authorization-server/realms/acme"
        );
        assert_eq!(
            oidc.as_str(),
            "https://id.example.com:8443/realms/acme/.well-known/openid-configuration"
        );
    }

    #[test]
    fn only_https_or_loopback_http_is_fetched() {
        for ok in [
            "https://id.example.com/",
            "http://127.0.0.1:8080/",
            "http://127.9.9.9/",
            "http://[::1]:9000/x",
            "http://LOCALHOST/",
        ] {
            assert_eq!(check_url(&url(ok), false), Ok(()), "{ok}");
        }
        for bad in [
            "http://id.example.com/",
            "http://10.0.0.1/",
            "http://localhost.example.com/",
            "http://[::2]/",
            "ftp://127.0.0.1/",
            "file:///etc/passwd",
        ] {
            assert_eq!(
                check_url(&url(bad), false),
                Err(RemoteKeysConfigError::InsecureUrl),
                "{bad}"
            );
        }
        assert_eq!(check_url(&url("http://id.example.com/"), true), Ok(()));
        assert_eq!(
            check_url(&url("https://user:pw@id.example.com/"), false),
            Err(RemoteKeysConfigError::CredentialsInUrl)
        );
    }

    #[test]
    fn redirects_stay_on_one_host_and_never_downgrade() {
        let from = url("https://id.example.com/jwks");
        assert!(same_host(&from, &url("https://id.example.com/keys")));
        assert!(same_host(&from, &url("https://id.example.com:443/keys")));
        assert!(!same_host(&from, &url("https://evil.example.com/keys")));
        assert!(!same_host(&from, &url("https://id.example.com:8443/keys")));
        assert!(!same_host(&from, &url("http://id.example.com/keys")));
    }

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
