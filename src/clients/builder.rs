//! [`ClientBuilder`]: the settings of a [`Client`], checked against each other.

use std::collections::HashSet;
use std::time::Duration;

use super::AuthMethod;
use super::client::{Client, Inner};
use super::registered::RegisteredSecret;
use super::secret::ClientSecret;
use crate::keys::VerifyingKey;
use crate::scope::ScopeSet;

/// Why [`ClientBuilder::build`] refused: the client's settings are invalid or contradict each
/// other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientConfigError {
    /// The id is empty, or has a character outside visible ASCII, or a `:` (HTTP Basic
    /// splits on the first `:`, RFC 7617 §2).
    #[error("the client id must be non-empty visible ASCII without ':'")]
    InvalidId,
    /// No authentication method is allowed.
    #[error("the client allows no authentication method")]
    NoAuthMethods,
    /// A name that is not an [`AuthMethod`].
    #[error("unknown authentication method")]
    UnknownAuthMethod,
    /// A default scope is not among the allowed scopes.
    #[error("the default scopes must be a subset of the allowed scopes")]
    DefaultScopesNotAllowed,
    /// No audience is allowed.
    #[error("the client needs at least one audience")]
    NoAudience,
    /// An audience is the empty string.
    #[error("an audience must not be empty")]
    EmptyAudience,
    /// The default audience is not among the allowed audiences.
    #[error("the default audience must be one of the allowed audiences")]
    DefaultAudienceNotAllowed,
    /// A secret method is allowed but no secret is set.
    #[error("client_secret_basic and client_secret_post need a secret")]
    MissingSecret,
    /// A secret is set but no secret method is allowed.
    #[error("a secret is set but no client_secret_* method is allowed")]
    UnusedSecret,
    /// `private_key_jwt` is allowed but no key is set.
    #[error("private_key_jwt needs at least one public key")]
    MissingKeys,
    /// Keys are set but `private_key_jwt` is not allowed.
    #[error("keys are set but private_key_jwt is not allowed")]
    UnusedKeys,
    /// A key is an HS256 shared secret; client assertions must use key pairs.
    #[error("client keys must be asymmetric (not HS256)")]
    SymmetricKey,
    /// Two keys share a `kid`, so an assertion's `kid` would not select one key.
    #[error("two client keys share a kid")]
    DuplicateKeyId,
    /// A token lifetime under one second (tokens carry whole seconds).
    #[error("the token lifetime must be at least one second")]
    ZeroTokenTtl,
    /// More than [`ClientBuilder::MAX_SECRETS`] secrets: each live one is checked at every
    /// grant.
    #[error("a client has at most 8 secrets")]
    TooManySecrets,
}

/// Builds a [`Client`]; see [`Client::builder`]. Unset settings default to: methods
/// `[client_secret_basic]`, no scopes, default scopes = allowed scopes, default audience = the
/// first allowed one, no keys, the issuer's token lifetime, enabled.
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    id: String,
    secrets: Vec<RegisteredSecret>,
    auth_methods: Vec<AuthMethod>,
    allowed_scopes: ScopeSet,
    default_scopes: Option<ScopeSet>,
    audiences: Vec<String>,
    default_audience: Option<String>,
    keys: Vec<VerifyingKey>,
    token_ttl: Option<Duration>,
    enabled: bool,
}

impl Client {
    /// Starts building the client with this `client_id`.
    pub fn builder(id: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            id: id.into(),
            secrets: Vec::new(),
            auth_methods: vec![AuthMethod::ClientSecretBasic],
            allowed_scopes: ScopeSet::new(),
            default_scopes: None,
            audiences: Vec::new(),
            default_audience: None,
            keys: Vec::new(),
            token_ttl: None,
            enabled: true,
        }
    }
}

impl ClientBuilder {
    /// The most secrets a client may have: every live one is checked at each grant.
    pub const MAX_SECRETS: usize = 8;

    /// The stored secret, for `client_secret_basic` / `client_secret_post`: the client's only
    /// secret, never expiring (it replaces any set before).
    pub fn secret(mut self, secret: ClientSecret) -> Self {
        self.secrets = vec![RegisteredSecret::from(secret)];
        self
    }

    /// Adds a secret, refused from the Unix second `not_after` on (`None`: never). A client
    /// with several live secrets accepts any of them: how a secret is rotated.
    pub fn add_secret(mut self, secret: ClientSecret, not_after: Option<u64>) -> Self {
        self.secrets.push(RegisteredSecret::new(secret, not_after));
        self
    }

    /// All the client's secrets, replacing any set before.
    pub fn secrets(mut self, secrets: impl IntoIterator<Item = RegisteredSecret>) -> Self {
        self.secrets = secrets.into_iter().collect();
        self
    }

    /// The allowed authentication methods (duplicates are dropped).
    pub fn auth_methods(mut self, methods: impl IntoIterator<Item = AuthMethod>) -> Self {
        self.auth_methods.clear();
        for method in methods {
            if !self.auth_methods.contains(&method) {
                self.auth_methods.push(method);
            }
        }
        self
    }

    /// The scopes the client may be granted.
    pub fn allowed_scopes(mut self, scopes: ScopeSet) -> Self {
        self.allowed_scopes = scopes;
        self
    }

    /// The scopes granted when a request names none (default: all allowed scopes).
    pub fn default_scopes(mut self, scopes: ScopeSet) -> Self {
        self.default_scopes = Some(scopes);
        self
    }

    /// The audiences the client may ask tokens for (duplicates are dropped).
    pub fn audiences<I, A>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        self.audiences.clear();
        for audience in audiences {
            let audience = audience.into();
            if !self.audiences.contains(&audience) {
                self.audiences.push(audience);
            }
        }
        self
    }

    /// The audience used when a request names none (default: the first allowed one).
    pub fn default_audience(mut self, audience: impl Into<String>) -> Self {
        self.default_audience = Some(audience.into());
        self
    }

    /// The public keys for `private_key_jwt`, for example from
    /// [`Jwks::parse`](crate::keys::Jwks::parse).
    pub fn keys(mut self, keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        self.keys = keys.into_iter().collect();
        self
    }

    /// A token lifetime for this client, instead of the issuer's default.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = Some(ttl);
        self
    }

    /// Whether the client may get tokens (default `true`).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The `client_id` being built.
    #[cfg(feature = "sqlx")]
    pub(super) fn client_id(&self) -> &str {
        &self.id
    }

    /// Checks the settings against each other and builds the client.
    pub fn build(self) -> Result<Client, ClientConfigError> {
        check_id(&self.id)?;
        if self.auth_methods.is_empty() {
            return Err(ClientConfigError::NoAuthMethods);
        }
        let default_scopes = self.checked_default_scopes()?;
        let default_audience = self.checked_default_audience()?;
        self.check_credentials()?;
        // Tokens carry whole seconds: a lifetime under one second would be expired on issue.
        if self.token_ttl.is_some_and(|ttl| ttl.as_secs() == 0) {
            return Err(ClientConfigError::ZeroTokenTtl);
        }
        Ok(Client::from_inner(Inner {
            id: self.id,
            secrets: self.secrets,
            auth_methods: self.auth_methods,
            allowed_scopes: self.allowed_scopes,
            default_scopes,
            audiences: self.audiences,
            default_audience,
            keys: self.keys,
            token_ttl: self.token_ttl,
            enabled: self.enabled,
        }))
    }

    /// The default scopes: the ones set, or all allowed ones; never beyond the allowed ones.
    fn checked_default_scopes(&self) -> Result<ScopeSet, ClientConfigError> {
        let default_scopes = self
            .default_scopes
            .clone()
            .unwrap_or_else(|| self.allowed_scopes.clone());
        if !default_scopes.is_subset(&self.allowed_scopes) {
            return Err(ClientConfigError::DefaultScopesNotAllowed);
        }
        Ok(default_scopes)
    }

    /// The default audience: the one set, which must be allowed, or the first allowed one.
    fn checked_default_audience(&self) -> Result<String, ClientConfigError> {
        if self.audiences.iter().any(String::is_empty) {
            return Err(ClientConfigError::EmptyAudience);
        }
        match (&self.default_audience, self.audiences.first()) {
            (Some(chosen), _) if self.audiences.contains(chosen) => Ok(chosen.clone()),
            (Some(_), _) => Err(ClientConfigError::DefaultAudienceNotAllowed),
            (None, Some(first)) => Ok(first.clone()),
            (None, None) => Err(ClientConfigError::NoAudience),
        }
    }

    /// A secret exactly when a secret method is allowed; usable keys exactly when
    /// `private_key_jwt` is.
    fn check_credentials(&self) -> Result<(), ClientConfigError> {
        let wants_secret = self.auth_methods.iter().any(|m| m.uses_secret());
        match (wants_secret, !self.secrets.is_empty()) {
            (true, false) => return Err(ClientConfigError::MissingSecret),
            (false, true) => return Err(ClientConfigError::UnusedSecret),
            _ => {}
        }
        if self.secrets.len() > Self::MAX_SECRETS {
            return Err(ClientConfigError::TooManySecrets);
        }
        let wants_keys = self.auth_methods.contains(&AuthMethod::PrivateKeyJwt);
        match (wants_keys, !self.keys.is_empty()) {
            (true, false) => return Err(ClientConfigError::MissingKeys),
            (false, true) => return Err(ClientConfigError::UnusedKeys),
            _ => {}
        }
        if self.keys.iter().any(|k| k.algorithm().is_symmetric()) {
            return Err(ClientConfigError::SymmetricKey);
        }
        // An assertion's `kid` must select one key.
        let mut kids = HashSet::new();
        if !self.keys.iter().all(|k| kids.insert(k.kid())) {
            return Err(ClientConfigError::DuplicateKeyId);
        }
        Ok(())
    }
}

/// Non-empty visible ASCII without `:` (HTTP Basic splits on the first `:`, RFC 7617 §2).
fn check_id(id: &str) -> Result<(), ClientConfigError> {
    let ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    if ok {
        Ok(())
    } else {
        Err(ClientConfigError::InvalidId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Algorithm, SigningKey};

    fn scopes(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    fn secret_client(id: &str) -> ClientBuilder {
        Client::builder(id)
            .secret(ClientSecret::generate().1)
            .audiences(["api"])
    }

    fn key(alg: Algorithm) -> VerifyingKey {
        SigningKey::generate(alg).unwrap().verifying_key().clone()
    }

    #[test]
    fn defaults_fill_in_from_allowed_settings() {
        let client = secret_client("svc")
            .allowed_scopes(scopes("a b"))
            .audiences(["api", "other", "api"])
            .build()
            .unwrap();
        assert_eq!(client.auth_methods(), [AuthMethod::ClientSecretBasic]);
        assert_eq!(client.default_scopes(), &scopes("a b"));
        assert_eq!(client.audiences(), ["api", "other"]);
        assert_eq!(client.default_audience(), "api");
        assert_eq!(client.token_ttl(), None);
        assert!(client.is_enabled());
    }

    #[test]
    fn ids_with_colon_space_or_non_ascii_are_invalid() {
        for bad in ["", "a:b", "a b", "é", "tab\t", "\u{7f}"] {
            let err = secret_client(bad).build().unwrap_err();
            assert_eq!(err, ClientConfigError::InvalidId, "{bad:?}");
        }
        assert!(secret_client("svc-1_x.y~!").build().is_ok());
    }

    #[test]
    fn default_scopes_outside_allowed_are_rejected() {
        let err = secret_client("svc")
            .allowed_scopes(scopes("a"))
            .default_scopes(scopes("a b"))
            .build()
            .unwrap_err();
        assert_eq!(err, ClientConfigError::DefaultScopesNotAllowed);
    }

    #[test]
    fn audiences_must_exist_and_contain_the_default() {
        let none = Client::builder("svc")
            .secret(ClientSecret::generate().1)
            .build();
        assert_eq!(none.unwrap_err(), ClientConfigError::NoAudience);
        let stray = secret_client("svc").default_audience("elsewhere").build();
        assert_eq!(
            stray.unwrap_err(),
            ClientConfigError::DefaultAudienceNotAllowed
        );
        let empty = secret_client("svc").audiences([""]).build();
        assert_eq!(empty.unwrap_err(), ClientConfigError::EmptyAudience);
        let chosen = secret_client("svc")
            .audiences(["a", "b"])
            .default_audience("b")
            .build()
            .unwrap();
        assert_eq!(chosen.default_audience(), "b");
    }

    #[test]
    fn secret_is_required_exactly_when_a_secret_method_is_allowed() {
        let missing = Client::builder("svc").audiences(["api"]).build();
        assert_eq!(missing.unwrap_err(), ClientConfigError::MissingSecret);
        let unused = secret_client("svc")
            .auth_methods([AuthMethod::PrivateKeyJwt])
            .keys([key(Algorithm::EdDSA)])
            .build();
        assert_eq!(unused.unwrap_err(), ClientConfigError::UnusedSecret);
        let none = secret_client("svc").auth_methods([]).build();
        assert_eq!(none.unwrap_err(), ClientConfigError::NoAuthMethods);
    }

    #[test]
    fn keys_are_required_exactly_when_private_key_jwt_is_allowed() {
        let jwt_only = Client::builder("svc")
            .audiences(["api"])
            .auth_methods([AuthMethod::PrivateKeyJwt]);
        assert_eq!(
            jwt_only.clone().build().unwrap_err(),
            ClientConfigError::MissingKeys
        );
        let unused = secret_client("svc").keys([key(Algorithm::ES256)]).build();
        assert_eq!(unused.unwrap_err(), ClientConfigError::UnusedKeys);
        let ed = key(Algorithm::EdDSA);
        let client = jwt_only.clone().keys([ed.clone()]).build().unwrap();
        assert!(client.secret().is_none());
        assert_eq!(client.key(ed.kid()).map(|k| k.kid()), Some(ed.kid()));
        assert!(client.key("other").is_none());
        let twice = jwt_only.clone().keys([ed.clone(), ed]).build();
        assert_eq!(twice.unwrap_err(), ClientConfigError::DuplicateKeyId);
    }

    #[test]
    fn symmetric_keys_are_rejected() {
        let hs = VerifyingKey::hmac(&[7u8; 32], "shared").unwrap();
        let err = Client::builder("svc")
            .audiences(["api"])
            .auth_methods([AuthMethod::PrivateKeyJwt])
            .keys([hs])
            .build()
            .unwrap_err();
        assert_eq!(err, ClientConfigError::SymmetricKey);
    }

    #[test]
    fn secrets_accumulate_and_secret_replaces_them() {
        let (_, a) = ClientSecret::generate();
        let (_, b) = ClientSecret::generate();
        let two = secret_client("svc")
            .add_secret(b.clone(), Some(50))
            .build()
            .unwrap();
        let expiries: Vec<_> = two.secrets().iter().map(|s| s.not_after()).collect();
        assert_eq!(expiries, [None, Some(50)]);
        assert_eq!(two.live_secrets(49).count(), 2);
        assert_eq!(two.live_secrets(50).count(), 1);
        let one = secret_client("svc")
            .add_secret(b, None)
            .secret(a)
            .build()
            .unwrap();
        assert_eq!(one.secrets().len(), 1);
        let nine = (0..9).map(|_| RegisteredSecret::from(ClientSecret::generate().1));
        let err = secret_client("svc").secrets(nine).build().unwrap_err();
        assert_eq!(err, ClientConfigError::TooManySecrets);
        let none = secret_client("svc").secrets([]).build().unwrap_err();
        assert_eq!(none, ClientConfigError::MissingSecret);
    }

    #[test]
    fn zero_token_ttl_is_rejected() {
        let err = secret_client("svc")
            .token_ttl(Duration::ZERO)
            .build()
            .unwrap_err();
        assert_eq!(err, ClientConfigError::ZeroTokenTtl);
    }

    #[test]
    fn sub_second_token_ttl_is_rejected() {
        let err = secret_client("svc")
            .token_ttl(Duration::from_millis(500))
            .build()
            .unwrap_err();
        assert_eq!(err, ClientConfigError::ZeroTokenTtl);
    }
}
