//! [`TrustedProxies`]: which forwarded header to believe, and from whom.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use http::header::{FORWARDED, HeaderName};

/// Hops read from the right of a forwarded header at most: a proxy chain is short, and the
/// header is attacker-written to the left of what our proxies added.
const MAX_HOPS: usize = 16;

/// The reverse proxies in front of the token endpoint whose forwarded header names the
/// caller's address, for the per-peer throttle.
///
/// By default there are none, and the peer is the TCP peer (axum's `ConnectInfo`). With proxies,
/// the one header they write is read **only when the direct peer is one of them**, from the
/// right: the first address that is not a trusted proxy is the caller. Anyone can send the
/// header, so a request that did not come through a trusted proxy keeps its TCP peer, and only
/// the header the proxies write is read (a proxy that writes `X-Forwarded-For` passes a
/// client's own `Forwarded` through untouched).
///
/// ```
/// use tower_client_credentials::issue::throttle::TrustedProxies;
///
/// let proxies = TrustedProxies::x_forwarded_for(["10.0.0.2".parse()?, "10.0.0.3".parse()?]);
/// # let _ = proxies;
/// # Ok::<_, std::net::AddrParseError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    header: Option<Header>,
    proxies: Vec<IpAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    XForwardedFor,
    Forwarded,
}

impl TrustedProxies {
    /// No proxies: the TCP peer is the caller (the default).
    pub fn none() -> Self {
        Self::default()
    }

    /// Proxies that append the caller to `X-Forwarded-For`.
    pub fn x_forwarded_for(proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        Self::with(Header::XForwardedFor, proxies)
    }

    /// Proxies that append `for=` elements to `Forwarded` (RFC 7239).
    pub fn forwarded(proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        Self::with(Header::Forwarded, proxies)
    }

    fn with(header: Header, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        TrustedProxies {
            header: Some(header),
            proxies: proxies.into_iter().map(|ip| ip.to_canonical()).collect(),
        }
    }

    /// The trusted addresses.
    pub fn addresses(&self) -> &[IpAddr] {
        &self.proxies
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.proxies.contains(&ip.to_canonical())
    }

    /// The caller's address: `direct` (the TCP peer), or the address the trusted proxies it
    /// came through name.
    pub(crate) fn caller(&self, direct: IpAddr, headers: &HeaderMap) -> IpAddr {
        let Some(header) = self.header else {
            return direct;
        };
        if !self.trusts(direct) {
            return direct;
        }
        let name: HeaderName = match header {
            Header::XForwardedFor => HeaderName::from_static("x-forwarded-for"),
            Header::Forwarded => FORWARDED,
        };
        // Several header lines form one list, in order (RFC 9110 §5.3).
        let lines: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let hops = lines.iter().rev().flat_map(|line| line.rsplit(','));
        let mut caller = direct;
        for hop in hops.take(MAX_HOPS) {
            let parsed = match header {
                Header::XForwardedFor => parse_node(hop.trim()),
                Header::Forwarded => forwarded_for(hop),
            };
            // An unreadable hop ends the trusted part of the chain: keep the last one read.
            let Some(ip) = parsed else {
                return caller;
            };
            caller = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        caller
    }
}

/// The `for=` node of one `Forwarded` element (RFC 7239 §4), as an address.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        parse_node(value)
    })
}

/// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:80`; `unknown` and
/// obfuscated names (`_hidden`) are not addresses.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = node.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    node.strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .and_then(|v| v.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(name, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn without_proxies_the_tcp_peer_is_the_caller() {
        let h = headers("x-forwarded-for", &["203.0.113.9"]);
        assert_eq!(
            TrustedProxies::none().caller(ip("10.0.0.2"), &h),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn the_header_is_read_only_from_a_trusted_peer() {
        let proxies = TrustedProxies::x_forwarded_for([ip("10.0.0.2")]);
        let h = headers("x-forwarded-for", &["203.0.113.9"]);
        assert_eq!(proxies.caller(ip("10.0.0.2"), &h), ip("203.0.113.9"));
        assert_eq!(proxies.caller(ip("10.0.0.5"), &h), ip("10.0.0.5"));
        let mapped = ip("::ffff:10.0.0.2");
        assert_eq!(proxies.caller(mapped, &h), ip("203.0.113.9"));
    }

    #[test]
    fn the_caller_is_the_rightmost_untrusted_hop() {
        let proxies = TrustedProxies::x_forwarded_for([ip("10.0.0.2"), ip("10.0.0.3")]);
        // The client wrote "1.1.1.1" itself; the proxies appended the rest.
        let h = headers("x-forwarded-for", &["1.1.1.1, 203.0.113.9", "10.0.0.3"]);
        assert_eq!(proxies.caller(ip("10.0.0.2"), &h), ip("203.0.113.9"));
        let garbage = headers("x-forwarded-for", &["203.0.113.9, nonsense"]);
        assert_eq!(proxies.caller(ip("10.0.0.2"), &garbage), ip("10.0.0.2"));
        let only_proxies = headers("x-forwarded-for", &["10.0.0.3"]);
        assert_eq!(
            proxies.caller(ip("10.0.0.2"), &only_proxies),
            ip("10.0.0.3")
        );
        let none = HeaderMap::new();
        assert_eq!(proxies.caller(ip("10.0.0.2"), &none), ip("10.0.0.2"));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let xff = TrustedProxies::x_forwarded_for([ip("10.0.0.2")]);
        let h = headers("forwarded", &["for=203.0.113.9"]);
        assert_eq!(xff.caller(ip("10.0.0.2"), &h), ip("10.0.0.2"));
        let fwd = TrustedProxies::forwarded([ip("10.0.0.2")]);
        let h = headers(
            "forwarded",
            &[r#"for=1.1.1.1, for="[2001:db8::7]:4711";proto=https"#],
        );
        assert_eq!(fwd.caller(ip("10.0.0.2"), &h), ip("2001:db8::7"));
        let hidden = headers("forwarded", &["for=_hidden"]);
        assert_eq!(fwd.caller(ip("10.0.0.2"), &hidden), ip("10.0.0.2"));
    }

    #[test]
    fn nodes_with_ports_and_brackets_parse() {
        assert_eq!(parse_node("192.0.2.1:80"), Some(ip("192.0.2.1")));
        assert_eq!(parse_node("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(parse_node("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
        assert_eq!(parse_node("unknown"), None);
        assert_eq!(parse_node(""), None);
    }
}
