//! [`MemoryClientStore`]: clients held in memory, built in code or loaded from a TOML file.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use super::ClientStore;
use super::client::Client;
use super::config;
use super::config_error::ConfigFileError;
use super::secret::ClientSecret;
use crate::store::{StoreError, StoreFuture};

/// Clients held in a `HashMap` by id: the embedded [`ClientStore`], filled in code or from a
/// TOML client file.
///
/// Fill it before sharing it (`Arc<dyn ClientStore>`); lookups never wait.
///
/// # The client file
///
/// One `[[client]]` table per client. Only `id` and `audiences` are always required; a secret
/// is required when a `client_secret_*` method is allowed, and `jwks` when `private_key_jwt` is.
/// Unknown fields are errors, so typos do not silently fall back to defaults.
///
/// ```toml
/// # A service that authenticates with a generated secret (see `examples/keygen.rs`).
/// [[client]]
/// id = "reports-exporter"
/// # SHA-256 of the generated secret, or an Argon2id PHC string ("$argon2id$v=19$...") for a
/// # human-chosen one. Never the plaintext.
/// secret_hash = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// auth_methods = ["client_secret_basic", "client_secret_post"]  # default ["client_secret_basic"]
/// scopes = ["reports:read", "reports:write"]   # the scopes it may be granted; default none
/// default_scopes = ["reports:read"]            # when a request has no `scope`; default = scopes
/// audiences = ["reports-api"]                  # required, at least one
/// default_audience = "reports-api"             # default = the first of `audiences`
/// token_ttl_secs = 600                         # default = the issuer's token lifetime
/// enabled = true                               # default true
///
/// # During a rotation: two live secrets, either accepted. `secret_hash` is a secret that never
/// # expires; each `[[client.secrets]]` adds one, refused from `not_after` (Unix seconds) on.
/// [[client]]
/// id = "nightly-batch"
/// audiences = ["reports-api"]
/// [[client.secrets]]
/// hash = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// not_after = 1900000000                       # the old secret: refused from then on
/// [[client.secrets]]
/// hash = "sha256:ca7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
///
/// # A service that signs client assertions (RFC 7523) with its own key: its public keys as
/// # an inline JWKS.
/// [[client]]
/// id = "billing"
/// auth_methods = ["private_key_jwt"]
/// scopes = ["invoices:read"]
/// audiences = ["billing-api"]
/// jwks = { keys = [
///     { kty = "OKP", crv = "Ed25519", x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", kid = "billing-1" },
/// ] }
/// ```
///
/// Every problem in the file is reported with its line and field, and never with the value of a
/// secret (see [`ConfigFileError`]). A file with no clients is valid.
///
/// ```
/// use tower_client_credentials::clients::MemoryClientStore;
///
/// let store = MemoryClientStore::from_toml_str(r#"
///     [[client]]
///     id = "reports-exporter"
///     secret_hash = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
///     scopes = ["reports:read"]
///     audiences = ["reports-api"]
/// "#)?;
/// let client = store.get("reports-exporter").expect("loaded");
/// assert!(client.secret().is_some_and(|s| s.verify(b"abc")));
///
/// let err = MemoryClientStore::from_toml_str("[[client]]\nid = \"x\"\naudiences = [\"api\"]\nscope = []\n")
///     .unwrap_err();
/// assert_eq!(err.line(), Some(4));
/// assert_eq!(err.field(), Some("client.scope"));
/// # Ok::<_, tower_client_credentials::clients::ConfigFileError>(())
/// ```
#[derive(Clone, Default)]
pub struct MemoryClientStore {
    clients: HashMap<String, Client>,
    /// An Argon2id hash of a random password once any client has an Argon2id secret.
    argon2_dummy: Option<ClientSecret>,
}

impl MemoryClientStore {
    /// The largest client file [`MemoryClientStore::from_toml_file`] reads (16 MiB).
    pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `client`, replacing (and returning) any client with the same id.
    ///
    /// The first client with an Argon2id secret makes the store hash a random password once
    /// (~15 ms), so that unknown ids are checked at the same cost as known ones.
    pub fn insert(&mut self, client: Client) -> Option<Client> {
        let expensive = client.secrets().iter().any(|s| s.secret().is_expensive());
        if expensive && self.argon2_dummy.is_none() {
            self.argon2_dummy = ClientSecret::hash_password(&crate::random::id()).ok();
        }
        self.clients.insert(client.id().to_owned(), client)
    }

    /// Adds `client`, builder style.
    pub fn with_client(mut self, client: Client) -> Self {
        self.insert(client);
        self
    }

    /// The client with this id.
    pub fn get(&self, client_id: &str) -> Option<&Client> {
        self.clients.get(client_id)
    }

    /// Every client, in no particular order (for copying them to another store).
    pub fn clients(&self) -> impl Iterator<Item = &Client> {
        self.clients.values()
    }

    /// Number of clients.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether the store has no clients.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Loads clients from TOML text in the [format above](MemoryClientStore#the-client-file).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigFileError> {
        let clients = config::parse(text, None)?;
        Ok(clients.into_iter().fold(Self::new(), Self::with_client))
    }

    /// Loads clients from a TOML file (at most [`MAX_FILE_BYTES`](Self::MAX_FILE_BYTES)).
    /// Errors name the path and line, never the file's contents.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self, ConfigFileError> {
        let path = path.as_ref();
        let text = config::read_file(path, Self::MAX_FILE_BYTES)?;
        let clients = config::parse(&text, Some(path))?;
        Ok(clients.into_iter().fold(Self::new(), Self::with_client))
    }
}

impl ClientStore for MemoryClientStore {
    fn find<'a>(
        &'a self,
        client_id: &'a str,
    ) -> StoreFuture<'a, Result<Option<Client>, StoreError>> {
        let found = self.clients.get(client_id).cloned();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn dummy_secret(&self) -> ClientSecret {
        self.argon2_dummy
            .clone()
            .unwrap_or_else(ClientSecret::dummy)
    }
}

impl fmt::Debug for MemoryClientStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&str> = self.clients.keys().map(String::as_str).collect();
        ids.sort_unstable();
        f.debug_struct("MemoryClientStore")
            .field("clients", &ids)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str, audience: &str) -> Client {
        Client::builder(id)
            .secret(ClientSecret::generate().1)
            .audiences([audience])
            .build()
            .unwrap()
    }

    #[test]
    fn unknown_ids_are_checked_against_an_argon2id_dummy_once_argon2id_clients_exist() {
        let mut store = MemoryClientStore::new().with_client(client("fast", "api"));
        assert!(!store.dummy_secret().is_expensive());
        let slow = Client::builder("slow")
            .secret(ClientSecret::hash_password("chosen by a human").unwrap())
            .audiences(["api"])
            .build()
            .unwrap();
        store.insert(slow);
        let dummy = store.dummy_secret();
        assert!(dummy.is_expensive());
        assert!(!dummy.verify(b"chosen by a human"));
    }

    #[test]
    fn insert_replaces_a_client_with_the_same_id() {
        let mut store = MemoryClientStore::new();
        assert!(store.is_empty());
        assert!(store.insert(client("a", "one")).is_none());
        let old = store.insert(client("a", "two")).unwrap();
        assert_eq!(old.default_audience(), "one");
        assert_eq!(store.len(), 1);
        assert_eq!(store.get("a").unwrap().default_audience(), "two");
    }

    #[tokio::test]
    async fn find_returns_the_client_or_none() {
        let store = MemoryClientStore::new()
            .with_client(client("a", "api"))
            .with_client(client("b", "api"));
        assert_eq!(store.len(), 2);
        assert_eq!(store.find("b").await.unwrap().unwrap().id(), "b");
        assert!(store.find("c").await.unwrap().is_none());
        assert!(store.find("").await.unwrap().is_none());
    }

    #[test]
    fn debug_lists_ids_only() {
        let store = MemoryClientStore::new()
            .with_client(client("b", "api"))
            .with_client(client("a", "api"));
        assert_eq!(
            format!("{store:?}"),
            r#"MemoryClientStore { clients: ["a", "b"] }"#
        );
    }

    #[test]
    fn loads_the_documented_example() {
        let doc = include_str!("memory.rs");
        let start = doc.find("```toml").unwrap() + "```toml\n".len();
        let end = start + doc[start..].find("/// ```").unwrap();
        let toml: String = doc[start..end]
            .lines()
            .map(|l| {
                let l = l.trim_start().trim_start_matches("///");
                l.strip_prefix(' ').unwrap_or("")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let store = MemoryClientStore::from_toml_str(&toml).unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(store.clients().count(), 3);
        let rotating = store.get("nightly-batch").unwrap();
        let expiries: Vec<_> = rotating.secrets().iter().map(|s| s.not_after()).collect();
        assert_eq!(expiries, [Some(1_900_000_000), None]);
        let exporter = store.get("reports-exporter").unwrap();
        assert_eq!(exporter.default_scopes().to_string(), "reports:read");
        assert_eq!(
            exporter.token_ttl(),
            Some(std::time::Duration::from_secs(600))
        );
        let billing = store.get("billing").unwrap();
        assert_eq!(billing.keys()[0].kid(), "billing-1");
        assert!(billing.secret().is_none());
    }

    #[test]
    fn loads_from_a_file_and_errors_name_the_path_not_the_contents() {
        let dir = std::env::temp_dir().join(format!("tcc-clients-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        let hash = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let text =
            format!("[[client]]\nid = \"a\"\nsecret_hash = \"{hash}\"\naudiences = [\"api\"]\n");
        std::fs::write(&good, &text).unwrap();
        assert_eq!(MemoryClientStore::from_toml_file(&good).unwrap().len(), 1);
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, text.replace("audiences", "audience")).unwrap();
        let shown = MemoryClientStore::from_toml_file(&bad)
            .unwrap_err()
            .to_string();
        assert_eq!(
            shown,
            format!(
                "{}: line 4, field `client.audience`: unknown field",
                bad.display()
            )
        );
        assert!(!shown.contains(&hash[7..]));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
