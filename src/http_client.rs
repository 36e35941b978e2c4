//! What the crate's HTTP clients (remote keys, the outbound token client) share: which URLs
//! may be fetched, where an issuer's metadata lives, and the redirect policy.

use std::time::Duration;

use reqwest::Url;

/// RFC 8414 §3: the well-known suffix of authorization server metadata.
const OAUTH_METADATA: &str = "/.well-known/oauth-authorization-server";
/// OpenID Connect Discovery 1.0 §4.
const OIDC_METADATA: &str = "/.well-known/openid-configuration";

/// Why a URL may not be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlProblem {
    /// Not `https`, and not `http` to loopback or with the opt-in.
    Insecure,
    /// A user name or password in the URL.
    Credentials,
}

/// The crate's own `reqwest` client: the timeouts, redirects within one host, its user
/// agent, and no proxy for a loopback `url` (a proxy cannot reach this machine's loopback).
pub(crate) fn default_client(
    url: &Url,
    connect_timeout: Duration,
    request_timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .redirect(same_host_redirects())
        .user_agent(concat!(
            "tower-client-credentials/",
            env!("CARGO_PKG_VERSION")
        ));
    if is_loopback(url) {
        builder = builder.no_proxy();
    }
    builder.build()
}

/// A URL the crate may fetch: `https`, or `http` to a loopback host (127.0.0.0/8, `::1`,
/// `localhost`) or when `allow_http` is set; never with credentials in it.
pub(crate) fn check_url(url: &Url, allow_http: bool) -> Result<(), UrlProblem> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::Credentials);
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http || is_loopback(url) => Ok(()),
        _ => Err(UrlProblem::Insecure),
    }
}

/// Whether the URL's host is a loopback address or `localhost`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    url.host_str()
        .is_some_and(crate::well_known::is_loopback_host)
}

/// The two metadata URLs of `issuer`, in the order they are tried: RFC 8414 §3 (the
/// well-known suffix inserted between host and path) and OpenID Connect Discovery §4 (the
/// suffix appended to the path). Both drop a terminating `/` of the issuer's path first.
pub(crate) fn metadata_urls(issuer: &Url) -> [Url; 2] {
    let path = issuer.path().trim_end_matches('/');
    let mut oauth = issuer.clone();
    oauth.set_path(&format!("{OAUTH_METADATA}{path}"));
    let mut oidc = issuer.clone();
    oidc.set_path(&format!("{path}{OIDC_METADATA}"));
    [oauth, oidc]
}

/// The redirect policy of the built-in client: at most 3 hops, each to the same host and port
/// as the first request, never from `https` down to `http`.
pub(crate) fn same_host_redirects() -> reqwest::redirect::Policy {
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

pub(crate) fn same_host(from: &Url, to: &Url) -> bool {
    from.host_str() == to.host_str()
        && from.port_or_known_default() == to.port_or_known_default()
        && (from.scheme() == to.scheme() || to.scheme() == "https")
}

#[cfg(test)]
mod tests {
    use super::*;

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
                Err(UrlProblem::Insecure),
                "{bad}"
            );
        }
        assert_eq!(check_url(&url("http://id.example.com/"), true), Ok(()));
        assert_eq!(
            check_url(&url("https://user:pw@id.example.com/"), false),
            Err(UrlProblem::Credentials)
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
}
