//! Client authentication at the token endpoint: `client_secret_basic` and `client_secret_post`
//! (RFC 6749 §2.3.1) against the stored hash, `private_key_jwt` (RFC 7523 §2.2) against the
//! client's registered keys and the replay guard.
//!
//! Every failure answers the same `invalid_client`; why it failed is logged at debug level
//! only. An unknown id is checked against the store's dummy secret, so it takes the same path,
//! and about the same time, as a wrong secret (DESIGN.md decision 5).

use zeroize::Zeroizing;

use super::Inner;
use super::assertion::{ASSERTION_LEEWAY_SECS, Assertion, AssertionError};
use super::request::ClientAuth;
use crate::clients::{AuthMethod, Client, ClientSecret};
use crate::token_endpoint::{OAuthError, OAuthErrorCode};

/// The client `auth` proves to be: registered, enabled, allowed this method, and holding the
/// credential.
pub(super) async fn client(inner: &Inner, auth: ClientAuth) -> Result<Client, OAuthError> {
    match auth {
        ClientAuth::Basic { client_id, secret } => {
            check_secret(inner, &client_id, secret, AuthMethod::ClientSecretBasic).await
        }
        ClientAuth::Post { client_id, secret } => {
            check_secret(inner, &client_id, secret, AuthMethod::ClientSecretPost).await
        }
        ClientAuth::PrivateKeyJwt {
            client_id,
            assertion,
        } => check_assertion(inner, client_id.as_deref(), &assertion).await,
        ClientAuth::None => {
            tracing::debug!("token request without client authentication");
            Err(OAuthError::invalid_client())
        }
    }
}

/// A store failure is the server's problem, never the client's: 503, not `invalid_client`.
async fn find(inner: &Inner, client_id: &str) -> Result<Option<Client>, OAuthError> {
    inner.clients.find(client_id).await.map_err(|error| {
        tracing::warn!(%error, "client store lookup failed");
        OAuthError::new(
            OAuthErrorCode::TemporarilyUnavailable,
            "the client registry is unavailable",
        )
    })
}

async fn check_secret(
    inner: &Inner,
    client_id: &str,
    presented: Zeroizing<String>,
    method: AuthMethod,
) -> Result<Client, OAuthError> {
    let client = find(inner, client_id).await?;
    // Unknown ids and clients without a secret still verify, against the dummy.
    let (stored, usable) = match client.as_ref().and_then(|c| Some((c, c.secret()?))) {
        Some((client, secret)) => (secret.clone(), client.is_enabled() && client.allows(method)),
        None => (inner.clients.dummy_secret(), false),
    };
    let matches = verify(stored, presented).await;
    match client {
        Some(client) if matches && usable => Ok(client),
        _ => {
            tracing::debug!(
                client_id,
                method = method.as_str(),
                "client authentication failed"
            );
            Err(OAuthError::invalid_client())
        }
    }
}

/// Whether `presented` matches `stored`.
async fn verify(stored: ClientSecret, presented: Zeroizing<String>) -> bool {
    if stored.is_expensive() {
        // Argon2id takes milliseconds of CPU: keep it off the async workers.
        tokio::task::spawn_blocking(move || stored.verify(presented.as_bytes()))
            .await
            .unwrap_or(false)
    } else {
        stored.verify(presented.as_bytes())
    }
}

async fn check_assertion(
    inner: &Inner,
    client_id: Option<&str>,
    token: &str,
) -> Result<Client, OAuthError> {
    let fail = |reason: AssertionError| {
        tracing::debug!(%reason, "client assertion rejected");
        OAuthError::invalid_client()
    };
    let assertion = Assertion::parse(token, client_id).map_err(fail)?;
    let client = find(inner, &assertion.claims.sub)
        .await?
        .filter(|c| c.is_enabled() && c.allows(AuthMethod::PrivateKeyJwt))
        .ok_or_else(|| fail(AssertionError::UnknownKey))?;
    let audiences = [inner.issuer.as_str(), inner.token_endpoint.as_str()];
    assertion
        .verify(&client, audiences, inner.clock.now())
        .map_err(fail)?;
    first_use(inner, &client, &assertion).await?;
    Ok(client)
}

/// RFC 7523 §3 item 7: each `jti` once. The guard remembers it for as long as the assertion
/// could be accepted; a guard that cannot answer refuses (fails closed).
async fn first_use(
    inner: &Inner,
    client: &Client,
    assertion: &Assertion<'_>,
) -> Result<(), OAuthError> {
    let remember_until = assertion.claims.exp.saturating_add(ASSERTION_LEEWAY_SECS);
    let first = inner
        .replay
        .first_use(client.id(), &assertion.claims.jti, remember_until)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "replay guard failed");
            OAuthError::new(
                OAuthErrorCode::TemporarilyUnavailable,
                "the replay guard is unavailable",
            )
        })?;
    if !first {
        tracing::warn!(client_id = client.id(), "client assertion replayed");
        return Err(OAuthError::invalid_client());
    }
    Ok(())
}
