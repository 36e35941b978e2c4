//! Signing: the RFC 9068 access token of a [`Grant`], with the key ring's active key.

use serde::Serialize;

use super::Inner;
use super::policy::Grant;
use crate::claims::Audience;
use crate::clients::Client;
use crate::token_endpoint::{OAuthError, OAuthErrorCode, TokenResponse};

/// The claims of an issued access token (RFC 9068 §2.2).
#[derive(Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Audience,
    exp: u64,
    iat: u64,
    jti: String,
    client_id: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    scope: String,
}

/// Signs `grant` for `client`: `iat` is the issuer's clock, `exp` is `iat` plus the granted
/// lifetime, and `expires_in` says the same.
pub(super) fn access_token(
    inner: &Inner,
    client: &Client,
    grant: Grant<'_>,
) -> Result<TokenResponse, OAuthError> {
    let iat = inner.clock.now();
    let claims = AccessClaims {
        iss: &inner.issuer,
        sub: client.id(),
        aud: Audience::One(grant.audience.to_owned()),
        exp: iat.saturating_add(grant.ttl_secs),
        iat,
        jti: crate::random::id(),
        client_id: client.id(),
        scope: grant.scope.to_string(),
    };
    let key = inner.keys.active();
    let access_token = key.sign("at+jwt", &claims).map_err(|_| {
        tracing::error!(kid = key.kid(), "signing an access token failed");
        OAuthError::new(OAuthErrorCode::ServerError, "the token could not be signed")
    })?;
    tracing::info!(client_id = client.id(), scope = %claims.scope, aud = grant.audience, "access token issued");
    Ok(TokenResponse::bearer(access_token)
        .with_expires_in(grant.ttl_secs)
        .with_scope(claims.scope))
}
