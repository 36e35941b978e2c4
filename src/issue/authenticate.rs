//! Client authentication at the token endpoint: `client_secret_basic` and `client_secret_post`
//! (RFC 6749 §2.3.1) against the stored hash, `private_key_jwt` (RFC 7523 §2.2) against the
//! client's registered keys and the replay guard.
//!
//! Every failure answers the same `invalid_client`; why it failed is logged at debug level
//! only. An unknown id is checked against the store's dummy secret, so it takes the same path,
//! and about the same time, as a wrong secret (DESIGN.md decision 5). A presented secret is
//! checked against every live secret of the client (one, except during a rotation), whichever
//! matches: the time depends on how many the client has, never on which one matched. A secret
//! past its `not_after` by the issuer's clock is not checked at all; a client left with none
//! is answered like an unknown one.
//!
//! Around that: the [throttle](super::throttle) refuses attempts after too many failures
//! (RFC 6749 §2.3.1) before any secret is checked, the
//! [credential cache](super::CredentialCache) answers an Argon2id secret that verified against
//! the same record minutes ago, and the [`HashingLimit`](super::HashingLimit) bounds the
//! Argon2id verifications running at once.

use std::net::IpAddr;

use zeroize::Zeroizing;

use super::Inner;
use super::assertion::{ASSERTION_LEEWAY_SECS, Assertion, AssertionError};
use super::credential_cache::{Lookup, Verified};
use super::request::ClientAuth;
use super::throttle::{Admission, Attempt};
use crate::clients::{AuthMethod, Client, HashMemory, RegisteredSecret};
use crate::token_endpoint::{OAuthError, OAuthErrorCode};

/// The client `auth` proves to be, asked from `peer`: not throttled, then registered, enabled,
/// allowed this method, and holding the credential. Every `invalid_client` counts as a failure.
pub(super) async fn client(
    inner: &Inner,
    peer: Option<IpAddr>,
    auth: ClientAuth,
) -> Result<Client, OAuthError> {
    // The per-id count is for guessable secrets only (see the throttle module).
    let secret_id = match &auth {
        ClientAuth::Basic { client_id, .. } | ClientAuth::Post { client_id, .. } => {
            Some(client_id.clone())
        }
        _ => None,
    };
    let attempt = Attempt::new(secret_id.as_deref(), peer);
    admit(inner, attempt).await?;
    let result = credentials(inner, auth).await;
    let recorded = match &result {
        Ok(_) => inner.throttle.record_success(attempt).await,
        Err(e) if e.code() == &OAuthErrorCode::InvalidClient => {
            inner.throttle.record_failure(attempt).await
        }
        Err(_) => Ok(()),
    };
    if let Err(error) = recorded {
        tracing::warn!(%error, "authentication throttle failed to record an attempt");
    }
    result
}

/// RFC 6749 §2.3.1: refuses an attempt after too many failures, before any secret is checked.
/// A throttle that cannot answer lets the attempt through (see the throttle module).
async fn admit(inner: &Inner, attempt: Attempt<'_>) -> Result<(), OAuthError> {
    match inner.throttle.check(attempt).await {
        Ok(Admission::Throttled { retry_after }) => {
            tracing::debug!("client authentication throttled");
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            Err(OAuthError::new(
                OAuthErrorCode::TooManyRequests,
                "too many failed client authentications",
            )
            .with_retry_after(secs))
        }
        Ok(_) => Ok(()),
        Err(error) => {
            tracing::warn!(%error, "authentication throttle unavailable; attempt allowed");
            Ok(())
        }
    }
}

async fn credentials(inner: &Inner, auth: ClientAuth) -> Result<Client, OAuthError> {
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
    let now = inner.clock.now();
    let live: Vec<RegisteredSecret> = client
        .as_ref()
        .map(|c| c.live_secrets(now).cloned().collect())
        .unwrap_or_default();
    // Unknown ids and clients without a live secret still verify, against the dummy.
    let (candidates, enabled, usable) = match &client {
        Some(client) if !live.is_empty() => (
            live,
            client.is_enabled(),
            client.is_enabled() && client.allows(method),
        ),
        _ => (
            vec![RegisteredSecret::from(inner.clients.dummy_secret())],
            false,
            false,
        ),
    };
    let checked = verify(inner, client_id, candidates, enabled, presented).await?;
    match client {
        Some(client) if checked.matches && usable => {
            if let Some((verified, matched)) = checked.remember {
                inner.credentials.remember(client.id(), verified, matched);
            }
            Ok(client)
        }
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

/// Whether the secret matched, and what to remember (with the index of the secret that
/// matched) if the client gets its token.
struct Checked {
    matches: bool,
    remember: Option<(Verified, usize)>,
}

/// Whether `presented` matches any of the `candidates` (a client's live secrets, or the
/// dummy). With an Argon2id secret among them, the credential cache is asked first (the same
/// work for every id, known or not), then a hashing permit awaited; with none free in time,
/// the answer is 503 without hashing.
async fn verify(
    inner: &Inner,
    client_id: &str,
    candidates: Vec<RegisteredSecret>,
    enabled: bool,
    presented: Zeroizing<String>,
) -> Result<Checked, OAuthError> {
    if !candidates.iter().any(|c| c.secret().is_expensive()) {
        let matched = first_match(&candidates, presented.as_bytes(), None);
        return Ok(Checked {
            matches: matched.is_some(),
            remember: None,
        });
    }
    let lookup = inner
        .credentials
        .look_up(client_id, &candidates, enabled, presented.as_bytes());
    let verified = match lookup {
        // A hit needs no hashing permit: a remembered secret is never answered 503.
        Lookup::Hit => {
            return Ok(Checked {
                matches: true,
                remember: None,
            });
        }
        Lookup::Miss(verified) => verified,
    };
    let Some(permit) = inner.hashing.acquire().await else {
        tracing::debug!("no hashing permit came free in time");
        return Err(OAuthError::new(
            OAuthErrorCode::TemporarilyUnavailable,
            "the server is busy, retry later",
        )
        .with_retry_after(inner.hashing.retry_after_secs()));
    };
    // Argon2id takes milliseconds of CPU: keep it off the async workers. The permit goes with
    // the hash, so a request dropped mid-hash does not free it before the memory is.
    let matched = tokio::task::spawn_blocking(move || {
        let mut permit = permit;
        first_match(&candidates, presented.as_bytes(), Some(permit.memory()))
    })
    .await
    .unwrap_or(None);
    Ok(Checked {
        matches: matched.is_some(),
        remember: verified.zip(matched),
    })
}

/// The index of the first candidate `presented` matches. Every candidate is checked, so the
/// work does not depend on which one, if any, matched.
fn first_match(
    candidates: &[RegisteredSecret],
    presented: &[u8],
    mut memory: Option<&mut HashMemory>,
) -> Option<usize> {
    let mut found = None;
    for (index, candidate) in candidates.iter().enumerate() {
        let secret = candidate.secret();
        let matches = match memory.as_deref_mut() {
            Some(memory) => secret.verify_in(presented, memory),
            None => secret.verify(presented),
        };
        if matches && found.is_none() {
            found = Some(index);
        }
    }
    found
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
