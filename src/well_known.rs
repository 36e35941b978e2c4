//! What the documents served at well-known URLs share: the JWKS and authorization server
//! metadata of the issuer (RFC 7517, RFC 8414) and the protected-resource metadata (RFC 9728).
//! JSON answers to GET and HEAD, 405 to anything else; the well-known segment inserted between
//! host and path; the rule for the URLs they name.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::net::IpAddr;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use http_body_util::Full;

/// A JSON document response with `cache_control`.
pub(crate) fn json(body: Bytes, cache_control: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    nosniff(response)
}

/// `X-Content-Type-Options: nosniff`: the documents are JSON and nothing else.
fn nosniff(mut response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Answers GET and HEAD with `document()`, anything else with 405.
pub(crate) fn get_only<B>(
    req: &Request<B>,
    document: impl FnOnce() -> Response<Full<Bytes>>,
) -> Ready<Result<Response<Full<Bytes>>, Infallible>> {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return ready(Ok(document()));
    }
    let mut response = Response::new(Full::default());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    ready(Ok(nosniff(response)))
}

/// The path of a document for the URL whose path is `path`: RFC 8414 §3 and RFC 9728 §3.1
/// insert `/.well-known/<suffix>` between host and path, after dropping a terminating `/`.
pub(crate) fn well_known_path(suffix: &str, path: &str) -> String {
    let path = path.trim_end_matches('/');
    format!("/.well-known/{suffix}{path}")
}

/// `url` as an absolute `http` or `https` URL with a host and without credentials (`user@`):
/// the URLs that issuers, token endpoints and metadata documents name.
pub(crate) fn absolute_http_url(url: &str) -> Option<Uri> {
    let uri = url.parse::<Uri>().ok()?;
    let named = matches!(uri.scheme_str(), Some("http" | "https"))
        && uri.host().is_some_and(|host| !host.is_empty())
        && uri.authority().is_some_and(|a| !a.as_str().contains('@'));
    named.then_some(uri)
}

/// Whether `host` (as a URL carries it: IPv6 in brackets) is a loopback address or `localhost`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_segment_goes_between_host_and_path() {
        assert_eq!(well_known_path("x", ""), "/.well-known/x");
        assert_eq!(well_known_path("x", "/"), "/.well-known/x");
        assert_eq!(well_known_path("x", "/mcp"), "/.well-known/x/mcp");
        assert_eq!(well_known_path("x", "/a/b/"), "/.well-known/x/a/b");
    }

    #[test]
    fn loopback_hosts() {
        for host in ["localhost", "LocalHost", "127.0.0.1", "127.1.2.3", "[::1]"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "example.com",
            "10.0.0.1",
            "[::2]",
            "localhost.evil.test",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
