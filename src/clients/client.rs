//! One registered client: how it authenticates and what it may ask for.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::AuthMethod;
use super::registered::RegisteredSecret;
use super::secret::ClientSecret;
use crate::keys::VerifyingKey;
use crate::scope::ScopeSet;

/// A registered client. Cheap to clone.
///
/// Built with [`Client::builder`], which checks that the settings agree. `Debug` never shows
/// the secret.
///
/// ```
/// use tower_client_credentials::clients::{AuthMethod, Client, ClientSecret};
///
/// let (_plaintext, secret) = ClientSecret::generate();
/// let client = Client::builder("reports-exporter")
///     .secret(secret)
///     .auth_methods([AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost])
///     .allowed_scopes("reports:read reports:write".parse()?)
///     .default_scopes("reports:read".parse()?)
///     .audiences(["reports-api".to_owned()])
///     .build()?;
/// assert_eq!(client.default_audience(), "reports-api");
/// assert!(client.allows(AuthMethod::ClientSecretPost));
/// assert!(!client.allows(AuthMethod::PrivateKeyJwt));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) id: String,
    pub(super) secrets: Vec<RegisteredSecret>,
    pub(super) auth_methods: Vec<AuthMethod>,
    pub(super) allowed_scopes: ScopeSet,
    pub(super) default_scopes: ScopeSet,
    pub(super) audiences: Vec<String>,
    pub(super) default_audience: String,
    pub(super) keys: Vec<VerifyingKey>,
    pub(super) token_ttl: Option<Duration>,
    pub(super) enabled: bool,
}

impl Client {
    pub(super) fn from_inner(inner: Inner) -> Self {
        Client {
            inner: Arc::new(inner),
        }
    }

    /// The `client_id`.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The first registered secret, if the client authenticates with one; whether or not it
    /// has expired. See [`Client::secrets`] for all of them.
    pub fn secret(&self) -> Option<&ClientSecret> {
        self.inner.secrets.first().map(RegisteredSecret::secret)
    }

    /// Every registered secret, live or expired, in the order they were added.
    pub fn secrets(&self) -> &[RegisteredSecret] {
        &self.inner.secrets
    }

    /// The secrets still accepted at Unix second `now` (by the issuer's clock).
    pub fn live_secrets(&self, now: u64) -> impl Iterator<Item = &RegisteredSecret> {
        self.inner.secrets.iter().filter(move |s| s.is_live_at(now))
    }

    /// The authentication methods the client may use (never empty, no duplicates).
    pub fn auth_methods(&self) -> &[AuthMethod] {
        &self.inner.auth_methods
    }

    /// Whether the client may authenticate with `method`.
    pub fn allows(&self, method: AuthMethod) -> bool {
        self.inner.auth_methods.contains(&method)
    }

    /// The scopes the client may be granted.
    pub fn allowed_scopes(&self) -> &ScopeSet {
        &self.inner.allowed_scopes
    }

    /// The scopes granted when the request has no `scope` (RFC 6749 §3.3); a subset of the
    /// allowed scopes.
    pub fn default_scopes(&self) -> &ScopeSet {
        &self.inner.default_scopes
    }

    /// The audiences the client may ask tokens for (never empty).
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }

    /// The audience used when the request names none; one of [`Client::audiences`].
    pub fn default_audience(&self) -> &str {
        &self.inner.default_audience
    }

    /// The public keys that verify the client's `private_key_jwt` assertions.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.inner.keys
    }

    /// The key with this `kid`, for a client assertion.
    pub fn key(&self, kid: &str) -> Option<&VerifyingKey> {
        crate::keys::select(&self.inner.keys, Some(kid))
    }

    /// The client's own token lifetime, if it has one; otherwise the issuer's default applies.
    pub fn token_ttl(&self) -> Option<Duration> {
        self.inner.token_ttl
    }

    /// Whether the client may get tokens. A disabled client is answered as an unknown one.
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Client")
            .field("id", &inner.id)
            .field("auth_methods", &inner.auth_methods)
            .field(
                "allowed_scopes",
                &format_args!("{:?}", inner.allowed_scopes.to_string()),
            )
            .field(
                "default_scopes",
                &format_args!("{:?}", inner.default_scopes.to_string()),
            )
            .field("audiences", &inner.audiences)
            .field("default_audience", &inner.default_audience)
            .field("enabled", &inner.enabled)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_settings_but_not_the_secret() {
        let (_, secret) = ClientSecret::generate();
        let stored = secret.to_stored();
        let hex = stored.trim_start_matches("sha256:");
        let client = Client::builder("svc")
            .secret(secret.clone())
            .allowed_scopes(ScopeSet::parse("a b").unwrap())
            .audiences(["api"])
            .build()
            .unwrap();
        let shown = format!("{client:?} {client:#?}");
        assert!(!shown.contains(hex));
        assert!(shown.contains("\"svc\"") && shown.contains("\"a b\"") && shown.contains("api"));
        let builder = format!("{:?}", Client::builder("svc").secret(secret));
        assert!(!builder.contains(hex));
        assert!(builder.contains("ClientSecret::Sha256(***)"));
    }
}
