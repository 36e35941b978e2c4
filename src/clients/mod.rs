//! The client registry behind the token endpoint: who may ask for tokens, how they prove it,
//! and what they may ask for.
//!
//! A [`Client`] holds hashed [`ClientSecret`]s (several during a rotation, each a
//! [`RegisteredSecret`] with an optional expiry) and/or public keys, its allowed
//! [`AuthMethod`]s, scopes and audiences. The token endpoint looks clients up through a
//! [`ClientStore`]; [`MemoryClientStore`] is the embedded one, filled in code or from a TOML
//! file (format on [`MemoryClientStore`]).
//!
//! ```
//! use std::sync::Arc;
//! use tower_client_credentials::clients::{Client, ClientSecret, ClientStore, MemoryClientStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (plaintext, secret) = ClientSecret::generate(); // hand `plaintext` to the client, once
//! let store: Arc<dyn ClientStore> = Arc::new(MemoryClientStore::new().with_client(
//!     Client::builder("reports-exporter")
//!         .secret(secret)
//!         .allowed_scopes("reports:read".parse()?)
//!         .audiences(["reports-api"])
//!         .build()?,
//! ));
//! let client = store.find("reports-exporter").await?.ok_or("unknown client")?;
//! assert!(client.secret().is_some_and(|s| s.verify(plaintext.expose().as_bytes())));
//! assert!(store.find("someone-else").await?.is_none());
//! # Ok(()) }
//! ```

mod builder;
mod client;
mod config;
mod config_error;
mod memory;
mod registered;
mod secret;
#[cfg(feature = "sqlx")]
mod sql;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::store::{StoreError, StoreFuture};

pub use builder::{ClientBuilder, ClientConfigError};
pub use client::Client;
pub use config_error::{ConfigFileError, ConfigProblem};
pub use memory::MemoryClientStore;
pub use registered::RegisteredSecret;
pub(crate) use secret::HashMemory;
pub use secret::{ClientSecret, GeneratedSecret, SecretError};
#[cfg(feature = "sqlx")]
pub use sql::{
    ClientRecord, DEFAULT_SQL_CACHE_CAPACITY, DEFAULT_SQL_CACHE_TTL, SecretRecord, SqlClientStore,
    SqlStoreError,
};

/// How a client authenticates at the token endpoint (RFC 8414 §2
/// `token_endpoint_auth_methods_supported` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMethod {
    /// `client_secret_basic`: HTTP Basic with the client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` form parameters (RFC 6749 §2.3.1).
    ClientSecretPost,
    /// `private_key_jwt`: a JWT assertion signed with the client's private key (RFC 7523,
    /// OpenID Connect Core §9).
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The RFC 8414 name, such as `client_secret_basic`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// Whether the method presents a client secret.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthMethod {
    type Err = ClientConfigError;
    /// Parses an RFC 8414 name, exactly.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::PrivateKeyJwt,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or(ClientConfigError::UnknownAuthMethod)
    }
}

/// Looks clients up by `client_id`. Used as `Arc<dyn ClientStore>`.
///
/// A store returns disabled clients too (the caller answers them as unknown), and `Ok(None)`
/// for ids it does not know. Implementations must not block the runtime (DESIGN.md decision 8).
///
/// ```
/// use tower_client_credentials::clients::{Client, ClientStore};
/// use tower_client_credentials::store::{StoreError, StoreFuture};
///
/// /// A store that knows nobody.
/// struct Nobody;
///
/// impl ClientStore for Nobody {
///     fn find<'a>(&'a self, _client_id: &'a str) -> StoreFuture<'a, Result<Option<Client>, StoreError>> {
///         Box::pin(async { Ok(None) })
///     }
/// }
/// ```
pub trait ClientStore: Send + Sync + 'static {
    /// The client with this id, if there is one.
    fn find<'a>(
        &'a self,
        client_id: &'a str,
    ) -> StoreFuture<'a, Result<Option<Client>, StoreError>>;

    /// The stored secret that requests naming an unknown client id are checked against, so
    /// that they cost as much as a wrong secret for a known client (DESIGN.md decision 5).
    ///
    /// The default is a SHA-256 dummy. A store holding Argon2id secrets should return an
    /// Argon2id hash (as [`MemoryClientStore`] does), or an unknown id
    /// answers ~15 ms sooner than a real one.
    fn dummy_secret(&self) -> ClientSecret {
        ClientSecret::dummy()
    }
}

impl<T: ClientStore + ?Sized> ClientStore for Arc<T> {
    fn find<'a>(
        &'a self,
        client_id: &'a str,
    ) -> StoreFuture<'a, Result<Option<Client>, StoreError>> {
        (**self).find(client_id)
    }

    fn dummy_secret(&self) -> ClientSecret {
        (**self).dummy_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing;

    impl ClientStore for Failing {
        fn find<'a>(
            &'a self,
            _client_id: &'a str,
        ) -> StoreFuture<'a, Result<Option<Client>, StoreError>> {
            Box::pin(async { Err(StoreError::Unavailable("connection refused".into())) })
        }
    }

    fn client(id: &str) -> Client {
        Client::builder(id)
            .secret(ClientSecret::generate().1)
            .audiences(["api"])
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn arc_dyn_store_finds_known_and_misses_unknown_ids() {
        let store: Arc<dyn ClientStore> =
            Arc::new(MemoryClientStore::new().with_client(client("a")));
        let found = store.find("a").await.unwrap().unwrap();
        assert_eq!(found.id(), "a");
        assert!(store.find("b").await.unwrap().is_none());
        // Arc<dyn ClientStore> is itself a store, so it can be wrapped again.
        let twice: Arc<dyn ClientStore> = Arc::new(store);
        assert!(twice.find("a").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn store_errors_pass_through() {
        let store: Arc<dyn ClientStore> = Arc::new(Failing);
        let err = store.find("a").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the store is unavailable: connection refused"
        );
    }

    #[test]
    fn auth_method_names_follow_rfc_8414() {
        for (method, name) in [
            (AuthMethod::ClientSecretBasic, "client_secret_basic"),
            (AuthMethod::ClientSecretPost, "client_secret_post"),
            (AuthMethod::PrivateKeyJwt, "private_key_jwt"),
        ] {
            assert_eq!(method.as_str(), name);
            assert_eq!(name.parse::<AuthMethod>().unwrap(), method);
            assert_eq!(
                serde_json::to_string(&method).unwrap(),
                format!("\"{name}\"")
            );
            let back: AuthMethod = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(back, method);
        }
        assert!("client_secret_jwt".parse::<AuthMethod>().is_err());
        assert!("Client_Secret_Basic".parse::<AuthMethod>().is_err());
    }
}
