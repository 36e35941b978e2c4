//! Whether a response refuses the token it was sent: 401 with a Bearer `invalid_token`
//! challenge (RFC 6750 §3.1), or a trailers-only gRPC `UNAUTHENTICATED`.

use http::{HeaderMap, StatusCode, header};

/// Whether the server refused the access token, so that a renewed one may succeed.
///
/// - HTTP: 401 with a `WWW-Authenticate` Bearer challenge whose `error` is `invalid_token`
///   (RFC 6750 §3.1). A 401 without it (no challenge, another error, another scheme) is the
///   server's last word: renewing would not change it.
/// - gRPC: a trailers-only response (the status in the headers, as tonic and this crate's
///   `BearerAuthLayer` send a refusal) with `grpc-status: 16` (`UNAUTHENTICATED`). A status in
///   the trailers of a streamed body is not seen: the body is the caller's.
pub(crate) fn refuses_token(status: StatusCode, headers: &HeaderMap) -> bool {
    if status == StatusCode::UNAUTHORIZED {
        return headers
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .any(|value| bearer_invalid_token(value.as_bytes()));
    }
    status == StatusCode::OK
        && headers
            .get("grpc-status")
            .is_some_and(|value| value.as_bytes().trim_ascii() == b"16")
}

/// Whether a `WWW-Authenticate` field value holds a Bearer challenge with
/// `error="invalid_token"`.
///
/// RFC 9110 §11.6.1: `1#challenge`, `challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`,
/// `auth-param = token BWS "=" BWS ( token / quoted-string )`. Commas separate both challenges
/// and parameters, so a bare token (no `=` after it) starts a new challenge and every
/// parameter belongs to the last scheme seen. Scheme and parameter names are
/// case-insensitive; malformed input ends the scan or is skipped, never panics.
pub(crate) fn bearer_invalid_token(value: &[u8]) -> bool {
    let mut scan = Scan { rest: value };
    let mut in_bearer = false;
    loop {
        scan.skip(|b| b == b' ' || b == b'\t' || b == b',');
        let Some(&next) = scan.rest.first() else {
            return false;
        };
        let name = scan.token();
        if name.is_empty() {
            // Not a token: a stray quoted-string or separator; skip it.
            if next == b'"' {
                if scan.quoted().is_none() {
                    return false;
                }
            } else {
                scan.rest = &scan.rest[1..];
            }
            continue;
        }
        scan.skip(|b| b == b' ' || b == b'\t');
        if scan.rest.first() != Some(&b'=') {
            in_bearer = name.eq_ignore_ascii_case(b"bearer");
            continue;
        }
        scan.rest = &scan.rest[1..];
        scan.skip(|b| b == b' ' || b == b'\t');
        let value = if scan.rest.first() == Some(&b'"') {
            match scan.quoted() {
                Some(value) => value,
                // Unterminated: nothing after it can be read reliably.
                None => return false,
            }
        } else {
            scan.token().to_vec()
        };
        if in_bearer
            && name.eq_ignore_ascii_case(b"error")
            && value.eq_ignore_ascii_case(b"invalid_token")
        {
            return true;
        }
    }
}

struct Scan<'a> {
    rest: &'a [u8],
}

impl<'a> Scan<'a> {
    fn skip(&mut self, mut skip: impl FnMut(u8) -> bool) {
        let n = self.rest.iter().take_while(|&&b| skip(b)).count();
        self.rest = &self.rest[n..];
    }

    /// RFC 9110 §5.6.2 `token`: one or more `tchar`.
    fn token(&mut self) -> &'a [u8] {
        let n = self.rest.iter().take_while(|&&b| is_tchar(b)).count();
        let (token, rest) = self.rest.split_at(n);
        self.rest = rest;
        token
    }

    /// A quoted-string starting at `"`, unescaped; `None` when it is not terminated.
    fn quoted(&mut self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut bytes = self.rest.iter().enumerate().skip(1);
        while let Some((i, &b)) = bytes.next() {
            match b {
                b'"' => {
                    self.rest = &self.rest[i + 1..];
                    return Some(out);
                }
                b'\\' => match bytes.next() {
                    Some((_, &escaped)) => out.push(escaped),
                    None => break,
                },
                _ => out.push(b),
            }
        }
        self.rest = &[];
        None
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn refused(status: u16, challenges: &[&[u8]]) -> bool {
        let mut headers = HeaderMap::new();
        for value in challenges {
            headers.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        refuses_token(StatusCode::from_u16(status).unwrap(), &headers)
    }

    #[test]
    fn bearer_invalid_token_challenges_in_their_usual_spellings() {
        for value in [
            r#"Bearer realm="api", error="invalid_token", error_description="the token has expired""#,
            r#"Bearer error="invalid_token""#,
            "Bearer error=invalid_token",
            "bearer ERROR = \"INVALID_TOKEN\"",
            "BEARER realm=api,error=invalid_token",
            r#"Bearer error="invalid\_token""#,
            r#"Basic realm="x", Bearer error="invalid_token""#,
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Bearer realm="a", error="invalid_token""#,
            r#"Negotiate abc==, Bearer error="invalid_token""#,
            r#"Bearer realm="a, error=\"invalid_token\"", error="invalid_token""#,
        ] {
            assert!(bearer_invalid_token(value.as_bytes()), "{value}");
        }
    }

    #[test]
    fn other_challenges_do_not_ask_for_a_new_token() {
        for value in [
            "",
            "Bearer",
            r#"Bearer realm="api""#,
            r#"Bearer realm="api", error="insufficient_scope""#,
            r#"Bearer error="invalid_request""#,
            r#"Basic realm="x", error="invalid_token""#,
            r#"Bearer realm="x", Basic error="invalid_token""#,
            r#"Bearer realm="error=invalid_token""#,
            r#"Bearer error_description="invalid_token""#,
            r#"Bearer error="invalid_token_x""#,
            r#"Bearer error="invalid_token"#,
            "Bearer error==invalid_token",
            "Bearerx error=invalid_token",
            r#"Bearer error="#,
            "Bearer \"\\",
            "=,=,\"\",,, ,\t",
        ] {
            assert!(!bearer_invalid_token(value.as_bytes()), "{value}");
        }
    }

    #[test]
    fn hostile_bytes_never_panic() {
        let mut inputs: Vec<Vec<u8>> = vec![
            vec![b'"'; 1000],
            b"\\".repeat(1000),
            b"Bearer error=\"\\".to_vec(),
            [b"Bearer ".as_slice(), &[0xff, 0xfe, b'=', b'"']].concat(),
        ];
        for b in 0..=255u8 {
            inputs.push(vec![b]);
            inputs.push([b"Bearer error=".as_slice(), &[b, b'"', b]].concat());
        }
        for input in inputs {
            let _ = bearer_invalid_token(&input);
        }
    }

    #[test]
    fn a_401_needs_the_invalid_token_challenge() {
        let invalid = br#"Bearer error="invalid_token""#.as_slice();
        assert!(refused(401, &[invalid]));
        assert!(refused(401, &[b"Basic realm=\"x\"", invalid]));
        assert!(!refused(401, &[]));
        assert!(!refused(401, &[b"Bearer realm=\"api\""]));
        assert!(!refused(403, &[invalid]));
        assert!(!refused(400, &[invalid]));
        assert!(!refused(200, &[invalid]));
    }

    #[test]
    fn a_trailers_only_grpc_unauthenticated_refuses_the_token() {
        let grpc = |status: u16, value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert("grpc-status", HeaderValue::from_static(value));
            refuses_token(StatusCode::from_u16(status).unwrap(), &headers)
        };
        assert!(grpc(200, "16"));
        assert!(grpc(200, " 16 "));
        assert!(!grpc(200, "0"));
        assert!(!grpc(200, "7"));
        assert!(!grpc(200, "160"));
        assert!(!grpc(500, "16"));
    }
}
