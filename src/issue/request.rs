//! Parsing a token request: the form body (RFC 6749 §3.2, §4.4.2) and the client's
//! credentials (RFC 6749 §2.3, RFC 7523 §2.2).

use std::fmt;

use http::HeaderMap;
use zeroize::Zeroizing;

use crate::clients::AuthMethod;
use crate::http_auth::{self, BasicError, form_decode};
use crate::token_endpoint::OAuthError;

/// RFC 7523 §2.2: the `client_assertion_type` of a JWT client assertion.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The grant parameters of a token request, without the client's credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRequest {
    /// `grant_type`; the issuer accepts only `client_credentials`.
    pub grant_type: Option<String>,
    /// `scope`, as sent (space-separated); `None` asks for the client's default scopes.
    pub scope: Option<String>,
    /// RFC 8707 `resource`: the audience the token is for; `None` for the client's default.
    pub resource: Option<String>,
}

impl TokenRequest {
    /// A `client_credentials` request for `scope` (or the defaults when `None`).
    pub fn client_credentials(scope: Option<&str>) -> Self {
        TokenRequest {
            grant_type: Some("client_credentials".to_owned()),
            scope: scope.map(str::to_owned),
            resource: None,
        }
    }

    /// Asks for a token for `resource` (RFC 8707).
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }
}

/// How the client authenticates: exactly one method per request (RFC 6749 §2.3).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_basic`: the `Authorization: Basic` header.
    Basic {
        /// The client id.
        client_id: String,
        /// The presented secret.
        secret: Zeroizing<String>,
    },
    /// `client_secret_post`: `client_id` and `client_secret` in the body.
    Post {
        /// The client id.
        client_id: String,
        /// The presented secret.
        secret: Zeroizing<String>,
    },
    /// `private_key_jwt`: a signed JWT assertion (RFC 7523).
    PrivateKeyJwt {
        /// The `client_id` body parameter, when sent; it must match the assertion's `sub`.
        client_id: Option<String>,
        /// The compact JWS.
        assertion: Zeroizing<String>,
    },
    /// No client authentication.
    None,
}

impl ClientAuth {
    pub(crate) fn used_basic(&self) -> bool {
        matches!(self, ClientAuth::Basic { .. })
    }

    /// The authentication method presented, `None` for a request without one.
    pub(crate) fn method(&self) -> Option<AuthMethod> {
        match self {
            ClientAuth::Basic { .. } => Some(AuthMethod::ClientSecretBasic),
            ClientAuth::Post { .. } => Some(AuthMethod::ClientSecretPost),
            ClientAuth::PrivateKeyJwt { .. } => Some(AuthMethod::PrivateKeyJwt),
            ClientAuth::None => None,
        }
    }
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuth::Basic { client_id, .. } => f
                .debug_struct("Basic")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            ClientAuth::Post { client_id, .. } => f
                .debug_struct("Post")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            ClientAuth::PrivateKeyJwt { client_id, .. } => f
                .debug_struct("PrivateKeyJwt")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            ClientAuth::None => f.write_str("None"),
        }
    }
}

/// The body parameters we know; anything else is ignored (RFC 6749 §3.2).
#[derive(Default)]
struct Form {
    grant_type: Option<String>,
    scope: Option<String>,
    resource: Option<String>,
    credentials: FormCredentials,
}

/// The client credentials a form may carry (RFC 6749 §2.3.1, RFC 7523 §2.2).
#[derive(Default)]
struct FormCredentials {
    client_id: Option<String>,
    client_secret: Option<Zeroizing<String>>,
    client_assertion_type: Option<String>,
    client_assertion: Option<Zeroizing<String>>,
}

/// Parses the request headers and the (already size-limited) body.
pub(crate) fn parse(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(ClientAuth, TokenRequest), OAuthError> {
    let basic = basic_credentials(headers)?;
    let form = parse_form(body)?;
    let request = TokenRequest {
        grant_type: form.grant_type,
        scope: form.scope,
        resource: form.resource,
    };
    let auth = client_auth(basic, form.credentials)?;
    Ok((auth, request))
}

/// RFC 6749 §2.3: exactly one authentication method, from the header or the form.
fn client_auth(
    basic: Option<(String, Zeroizing<String>)>,
    form: FormCredentials,
) -> Result<ClientAuth, OAuthError> {
    let has_secret = form.client_secret.is_some();
    let has_assertion = form.client_assertion.is_some() || form.client_assertion_type.is_some();
    let auth = match (basic, has_secret, has_assertion) {
        (Some(_), true, _) | (Some(_), _, true) | (None, true, true) => {
            return Err(OAuthError::invalid_request(
                "use exactly one client authentication method",
            ));
        }
        (Some((client_id, secret)), false, false) => {
            if form.client_id.as_ref().is_some_and(|id| *id != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the Authorization header",
                ));
            }
            ClientAuth::Basic { client_id, secret }
        }
        (None, true, false) => match (form.client_id, form.client_secret) {
            (Some(client_id), Some(secret)) => ClientAuth::Post { client_id, secret },
            _ => {
                return Err(OAuthError::invalid_request(
                    "client_secret without client_id",
                ));
            }
        },
        (None, false, true) => {
            if form.client_assertion_type.as_deref() != Some(JWT_BEARER_ASSERTION) {
                return Err(OAuthError::invalid_request(
                    "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ));
            }
            let Some(assertion) = form.client_assertion else {
                return Err(OAuthError::invalid_request("client_assertion is missing"));
            };
            ClientAuth::PrivateKeyJwt {
                client_id: form.client_id,
                assertion,
            }
        }
        (None, false, false) => ClientAuth::None,
    };
    Ok(auth)
}

/// The `Authorization: Basic` credentials, as a token-endpoint error when unusable.
fn basic_credentials(
    headers: &HeaderMap,
) -> Result<Option<(String, Zeroizing<String>)>, OAuthError> {
    http_auth::basic_credentials(headers).map_err(|e| match e {
        BasicError::Duplicate => OAuthError::invalid_request("more than one Authorization header"),
        BasicError::Malformed => OAuthError::invalid_request("malformed Basic credentials"),
        BasicError::OtherScheme => {
            OAuthError::invalid_request("the token endpoint accepts only Basic authorization")
        }
    })
}

fn parse_form(body: &[u8]) -> Result<Form, OAuthError> {
    let mut form = Form::default();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let mut halves = pair.splitn(2, |&b| b == b'=');
        let name = halves.next().unwrap_or_default();
        let value = halves.next().unwrap_or_default();
        let name = form_decode(name)
            .ok_or_else(|| OAuthError::invalid_request("the body is not valid UTF-8"))?;
        let value = Zeroizing::new(
            form_decode(value)
                .ok_or_else(|| OAuthError::invalid_request("the body is not valid UTF-8"))?,
        );
        let slot = match name.as_str() {
            "grant_type" => Slot::Plain(&mut form.grant_type),
            "scope" => Slot::Plain(&mut form.scope),
            "resource" => Slot::Plain(&mut form.resource),
            "client_id" => Slot::Plain(&mut form.credentials.client_id),
            "client_assertion_type" => Slot::Plain(&mut form.credentials.client_assertion_type),
            "client_secret" => Slot::Secret(&mut form.credentials.client_secret),
            "client_assertion" => Slot::Secret(&mut form.credentials.client_assertion),
            _ => continue,
        };
        slot.fill(value)?;
    }
    Ok(form)
}

enum Slot<'a> {
    Plain(&'a mut Option<String>),
    Secret(&'a mut Option<Zeroizing<String>>),
}

impl Slot<'_> {
    fn fill(self, value: Zeroizing<String>) -> Result<(), OAuthError> {
        // RFC 6749 §3.2: parameters must not be repeated.
        let repeated = || OAuthError::invalid_request("a parameter was given more than once");
        // A parameter sent without a value is treated as omitted — but still counts as given.
        match self {
            Slot::Plain(slot) => {
                if slot.is_some() {
                    return Err(repeated());
                }
                *slot = Some(value.to_string());
            }
            Slot::Secret(slot) => {
                if slot.is_some() {
                    return Err(repeated());
                }
                *slot = Some(value);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token_endpoint::OAuthErrorCode;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use http::{HeaderValue, header};

    fn basic(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        // id "a b", secret "p:%+" → urlencoded "a+b" : "p%3A%25%2B"
        let header = format!("Basic {}", STANDARD.encode("a+b:p%3A%25%2B"));
        let (auth, _) = parse(&basic(&header), b"grant_type=client_credentials").unwrap();
        match auth {
            ClientAuth::Basic { client_id, secret } => {
                assert_eq!(client_id, "a b");
                assert_eq!(secret.as_str(), "p:%+");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn repeated_parameters_are_invalid_request() {
        let err = parse(&HeaderMap::new(), b"grant_type=a&grant_type=a")
            .err()
            .unwrap();
        assert_eq!(err.code(), &OAuthErrorCode::InvalidRequest);
        let err = parse(&HeaderMap::new(), b"scope=&scope=x").err().unwrap();
        assert_eq!(err.code(), &OAuthErrorCode::InvalidRequest);
    }

    #[test]
    fn two_methods_are_invalid_request() {
        let header = format!("Basic {}", STANDARD.encode("a:b"));
        let err = parse(&basic(&header), b"client_id=a&client_secret=b")
            .err()
            .unwrap();
        assert_eq!(
            err.description(),
            "use exactly one client authentication method"
        );
    }

    #[test]
    fn non_utf8_is_invalid_request() {
        let err = parse(&HeaderMap::new(), b"scope=%FF%FE").err().unwrap();
        assert_eq!(err.code(), &OAuthErrorCode::InvalidRequest);
        let err = parse(&HeaderMap::new(), b"scope=\xff").err().unwrap();
        assert_eq!(err.code(), &OAuthErrorCode::InvalidRequest);
    }

    #[test]
    fn debug_hides_secrets() {
        let auth = ClientAuth::Post {
            client_id: "c".into(),
            secret: Zeroizing::new("hunter2".into()),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
}
