//! What an authenticated client gets (RFC 6749 §3.3, §4.4.2; RFC 8707): the grant type, the
//! scopes, the audience and the token lifetime, decided from its registration.

use std::time::Duration;

use super::request::TokenRequest;
use crate::clients::Client;
use crate::scope::ScopeSet;
use crate::token_endpoint::{OAuthError, OAuthErrorCode};

/// The issuer's token lifetimes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lifetimes {
    /// For clients that do not set their own.
    pub(super) default: Duration,
    /// The cap on every client's lifetime.
    pub(super) max: Duration,
}

/// What the token will say: the policy's decision for one request.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Grant<'c> {
    pub(super) scope: ScopeSet,
    /// The `aud`: one of the client's registered audiences.
    pub(super) audience: &'c str,
    /// Whole seconds from `iat` to `exp`.
    pub(super) ttl_secs: u64,
}

/// Only the client credentials grant. Checked before client authentication: it does not
/// depend on the client, and refusing early spares a secret check on a request that fails
/// anyway.
pub(super) fn check_grant_type(request: &TokenRequest) -> Result<(), OAuthError> {
    match non_empty(request.grant_type.as_deref()) {
        None => Err(OAuthError::invalid_request("grant_type is missing")),
        Some("client_credentials") => Ok(()),
        Some(_) => Err(OAuthError::new(
            OAuthErrorCode::UnsupportedGrantType,
            "only the client_credentials grant is supported",
        )),
    }
}

/// The scopes, audience and lifetime `client` gets for `request`.
pub(super) fn grant<'c>(
    client: &'c Client,
    request: &TokenRequest,
    lifetimes: Lifetimes,
) -> Result<Grant<'c>, OAuthError> {
    Ok(Grant {
        scope: scope(client, request)?,
        audience: audience(client, request)?,
        ttl_secs: client
            .token_ttl()
            .unwrap_or(lifetimes.default)
            .min(lifetimes.max)
            .as_secs(),
    })
}

/// RFC 6749 §3.3: the requested scopes when all are allowed, the defaults when none are named.
fn scope(client: &Client, request: &TokenRequest) -> Result<ScopeSet, OAuthError> {
    let Some(wire) = non_empty(request.scope.as_deref()) else {
        return Ok(client.default_scopes().clone());
    };
    let requested = ScopeSet::parse(wire)
        .map_err(|_| OAuthError::new(OAuthErrorCode::InvalidScope, "the scope is malformed"))?;
    if !requested.is_subset(client.allowed_scopes()) {
        return Err(OAuthError::new(
            OAuthErrorCode::InvalidScope,
            "a requested scope is not allowed for this client",
        ));
    }
    Ok(requested)
}

/// RFC 8707 §2: the `resource` when the client may have it, else its default audience.
fn audience<'c>(client: &'c Client, request: &TokenRequest) -> Result<&'c str, OAuthError> {
    let Some(resource) = non_empty(request.resource.as_deref()) else {
        return Ok(client.default_audience());
    };
    client
        .audiences()
        .iter()
        .find(|a| *a == resource)
        .map(String::as_str)
        .ok_or_else(|| {
            OAuthError::new(
                OAuthErrorCode::InvalidTarget,
                "the resource is not allowed for this client",
            )
        })
}

/// RFC 6749 §3.2: empty parameters count as omitted.
fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::ClientSecret;

    const LIFETIMES: Lifetimes = Lifetimes {
        default: Duration::from_secs(900),
        max: Duration::from_secs(3600),
    };

    fn scopes(wire: &str) -> ScopeSet {
        ScopeSet::parse(wire).unwrap()
    }

    fn client() -> Client {
        Client::builder("svc")
            .secret(ClientSecret::generate().1)
            .allowed_scopes(scopes("a b"))
            .default_scopes(scopes("a"))
            .audiences(["api", "audit"])
            .build()
            .unwrap()
    }

    fn request(scope: Option<&str>, resource: Option<&str>) -> TokenRequest {
        let request = TokenRequest::client_credentials(scope);
        match resource {
            Some(resource) => request.with_resource(resource),
            None => request,
        }
    }

    #[test]
    fn only_client_credentials_passes_the_grant_type_check() {
        assert!(check_grant_type(&request(None, None)).is_ok());
        let mut other = request(None, None);
        other.grant_type = Some("password".into());
        let err = check_grant_type(&other).unwrap_err();
        assert_eq!(err.code(), &OAuthErrorCode::UnsupportedGrantType);
        other.grant_type = Some(String::new());
        let err = check_grant_type(&other).unwrap_err();
        assert_eq!(err.description(), "grant_type is missing");
    }

    #[test]
    fn omitted_or_empty_scope_and_resource_give_the_defaults() {
        let client = client();
        for (scope, resource) in [(None, None), (Some(""), Some(""))] {
            let grant = grant(&client, &request(scope, resource), LIFETIMES).unwrap();
            assert_eq!(
                grant,
                Grant {
                    scope: scopes("a"),
                    audience: "api",
                    ttl_secs: 900
                }
            );
        }
    }

    #[test]
    fn requested_scope_and_resource_must_be_allowed() {
        let client = client();
        let granted = grant(&client, &request(Some("b a"), Some("audit")), LIFETIMES).unwrap();
        assert_eq!((granted.scope, granted.audience), (scopes("a b"), "audit"));
        let err = grant(&client, &request(Some("a c"), None), LIFETIMES).unwrap_err();
        assert_eq!(err.code(), &OAuthErrorCode::InvalidScope);
        let err = grant(&client, &request(Some("a\u{7f}"), None), LIFETIMES).unwrap_err();
        assert_eq!(err.description(), "the scope is malformed");
        let err = grant(&client, &request(None, Some("other")), LIFETIMES).unwrap_err();
        assert_eq!(err.code(), &OAuthErrorCode::InvalidTarget);
    }

    #[test]
    fn client_lifetime_is_capped_by_the_issuer_maximum() {
        let long = Client::builder("svc")
            .secret(ClientSecret::generate().1)
            .audiences(["api"])
            .token_ttl(Duration::from_secs(7200))
            .build()
            .unwrap();
        let granted = grant(&long, &request(None, None), LIFETIMES).unwrap();
        assert_eq!(granted.ttl_secs, 3600);
    }
}
