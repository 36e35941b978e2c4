//! Which requests get a token: the origins (scheme, host, port) an outbound layer or middleware
//! is configured for, and the comparison of a request's URI with them.

use std::fmt;
use std::sync::Arc;

use http::Uri;
use reqwest::Url;

/// Why a string is not an origin for [`AddBearerLayer::origin`](super::AddBearerLayer::origin)
/// or `BearerMiddleware::new` (feature `reqwest`): an origin is an absolute `http` or `https`
/// URL with a host and nothing after it but an optional `/`.
///
/// ```
/// use tower_client_credentials::outbound::{AddBearerLayer, InvalidOrigin, TokenSource};
/// # use tower_client_credentials::outbound::{AccessToken, TokenSourceError};
/// # struct Fixed;
/// # impl TokenSource for Fixed {
/// #     async fn token(&self) -> Result<AccessToken, TokenSourceError> { Err(TokenSourceError::Cancelled) }
/// # }
///
/// let layer = AddBearerLayer::new(Fixed);
/// assert_eq!(layer.origin("https://api.example.com/v1").unwrap_err(), InvalidOrigin::NotAnOrigin);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidOrigin {
    /// Not an absolute URL, or one without a host.
    #[error("an origin must be an absolute URL with a host")]
    NotAUrl,
    /// A scheme other than `http` and `https`.
    #[error("an origin's scheme must be http or https")]
    Scheme,
    /// A user name or password in the URL.
    #[error("an origin carries no user name or password")]
    Credentials,
    /// A path other than `/`, a query or a fragment: tokens go to whole origins, never to a
    /// path prefix.
    #[error("an origin is a scheme, a host and a port: no path, query or fragment")]
    NotAnOrigin,
}

/// One origin, normalised: the scheme and host in lower case (the host as the URL standard
/// parses it: IDNA to punycode, IPv4 in dotted decimal, IPv6 bracketed), the port explicit.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    https: bool,
    host: Box<str>,
    port: u16,
}

impl Origin {
    pub(crate) fn parse(raw: &str) -> Result<Self, InvalidOrigin> {
        let raw = raw.trim();
        // The URL standard drops tabs and newlines inside a URL; a configured origin with
        // them is a mistake to report, not to repair.
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(InvalidOrigin::NotAUrl);
        }
        let url = Url::parse(raw).map_err(|_| InvalidOrigin::NotAUrl)?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(InvalidOrigin::Scheme),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidOrigin::Credentials);
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(InvalidOrigin::NotAnOrigin);
        }
        let host = url.host_str().ok_or(InvalidOrigin::NotAUrl)?;
        let port = url.port_or_known_default().ok_or(InvalidOrigin::NotAUrl)?;
        Ok(Origin {
            https,
            host: host.to_ascii_lowercase().into(),
            port,
        })
    }

    fn is(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let https = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return false;
        };
        let default = if https { 443 } else { 80 };
        self.https == https
            && port.unwrap_or(default) == self.port
            && host.eq_ignore_ascii_case(&self.host)
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// The origins a layer or middleware sends its token to. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Origins(Arc<[Origin]>);

impl Origins {
    /// These origins and `raw`.
    pub(crate) fn with(&self, raw: &str) -> Result<Self, InvalidOrigin> {
        let origin = Origin::parse(raw)?;
        let mut list = self.0.to_vec();
        if !list.contains(&origin) {
            list.push(origin);
        }
        Ok(Origins(list.into()))
    }

    /// Whether a request to `uri` gets the token: a URI without an authority (the client is
    /// bound to one origin, as a tonic channel is) always does; an absolute one when its
    /// origin is listed. A URI with an authority but no scheme (CONNECT's authority-form) never
    /// does.
    pub(crate) fn admits_uri(&self, uri: &Uri) -> bool {
        let Some(authority) = uri.authority() else {
            return true;
        };
        let Some(scheme) = uri.scheme_str() else {
            return false;
        };
        let host = authority.host();
        self.0
            .iter()
            .any(|origin| origin.is(scheme, host, authority.port_u16()))
    }

    /// Whether a request to `url` gets the token: when its origin is listed.
    #[cfg(any(feature = "reqwest", test))]
    pub(crate) fn admits_url(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        self.0
            .iter()
            .any(|origin| origin.is(url.scheme(), host, url.port()))
    }
}

impl fmt::Debug for Origins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Origins {
        list.iter()
            .try_fold(Origins::default(), |o, raw| o.with(raw))
            .unwrap()
    }

    fn uri_admitted(origins: &Origins, uri: &str) -> bool {
        origins.admits_uri(&uri.parse::<Uri>().unwrap())
    }

    fn url_admitted(origins: &Origins, url: &str) -> bool {
        origins.admits_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn origins_compare_scheme_host_and_port_with_default_ports_and_any_case() {
        let o = origins(&["https://api.example.com", "http://127.0.0.1:8080/"]);
        for yes in [
            "https://api.example.com/reports",
            "https://API.Example.COM:443/x?y=1",
            "HTTPS://api.example.com",
            "http://127.0.0.1:8080/",
        ] {
            assert!(uri_admitted(&o, yes), "{yes}");
            assert!(url_admitted(&o, yes), "{yes}");
        }
        for no in [
            "http://api.example.com/",
            "https://api.example.com:8443/",
            "https://api.example.com.evil.test/",
            "https://evil.test/?https://api.example.com",
            "https://api.example.com@evil.test/",
            "https://evil.test/api.example.com",
            "https://xapi.example.com/",
            "http://127.0.0.1/",
            "http://127.0.0.1:8081/",
            "ws://api.example.com/",
        ] {
            assert!(!uri_admitted(&o, no), "{no}");
            assert!(!url_admitted(&o, no), "{no}");
        }
    }

    #[test]
    fn relative_uris_are_admitted_authority_form_is_not() {
        let none = Origins::default();
        assert!(uri_admitted(&none, "/reports.Reports/GetReport"));
        assert!(uri_admitted(&none, "*"));
        assert!(!uri_admitted(&none, "https://api.example.com/"));
        assert!(!uri_admitted(&none, "api.example.com:443"));
        let some = origins(&["https://api.example.com"]);
        assert!(!uri_admitted(&some, "api.example.com:443"));
    }

    #[test]
    fn ipv6_and_idna_hosts_are_normalised() {
        let o = origins(&["https://[::1]:8443", "https://BÜCHER.example"]);
        assert!(uri_admitted(&o, "https://[::1]:8443/x"));
        assert!(url_admitted(&o, "https://[0:0::1]:8443/x"));
        assert!(uri_admitted(&o, "https://xn--bcher-kva.example/"));
        assert!(url_admitted(&o, "https://bücher.example/"));
        assert!(!uri_admitted(&o, "https://[::2]:8443/x"));
    }

    #[test]
    fn malformed_origins_are_typed_errors() {
        let cases = [
            ("", InvalidOrigin::NotAUrl),
            ("api.example.com", InvalidOrigin::NotAUrl),
            ("https://", InvalidOrigin::NotAUrl),
            ("https://host:99999", InvalidOrigin::NotAUrl),
            ("https://ho st", InvalidOrigin::NotAUrl),
            ("//api.example.com", InvalidOrigin::NotAUrl),
            ("ftp://api.example.com", InvalidOrigin::Scheme),
            ("file:///etc/passwd", InvalidOrigin::Scheme),
            ("mailto:a@b.c", InvalidOrigin::Scheme),
            (
                "https://user:pw@api.example.com",
                InvalidOrigin::Credentials,
            ),
            ("https://user@api.example.com", InvalidOrigin::Credentials),
            ("https://api.example.com/v1", InvalidOrigin::NotAnOrigin),
            ("https://api.example.com/?q", InvalidOrigin::NotAnOrigin),
            ("https://api.example.com/#f", InvalidOrigin::NotAnOrigin),
        ];
        for (raw, error) in cases {
            assert_eq!(Origin::parse(raw), Err(error), "{raw:?}");
        }
        for hostile in [
            "\0",
            "https://\u{202e}",
            "https://a\nb",
            "https://a\tb",
            "https://a b",
            "h\u{ffff}://x",
        ] {
            assert!(Origin::parse(hostile).is_err(), "{hostile:?}");
        }
    }

    #[test]
    fn an_origin_is_listed_once_and_shown_normalised() {
        let o = origins(&["https://A.example", "https://a.example:443/"]);
        assert_eq!(format!("{o:?}"), "[https://a.example:443]");
    }
}
