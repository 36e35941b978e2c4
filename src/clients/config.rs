//! Reading the TOML client file (format on [`MemoryClientStore`](super::MemoryClientStore))
//! into [`Client`]s.

use std::collections::HashMap;
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeTable;

use super::AuthMethod;
use super::builder::{ClientBuilder, ClientConfigError};
use super::client::Client;
use super::config_error::{ConfigFileError, ConfigProblem, Source};
use super::secret::ClientSecret;
use crate::keys::{KeyError, VerifyingKey};
use crate::scope::{Scope, ScopeError, ScopeSet};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table of [[client]] tables")]
struct RawFile {
    #[serde(default)]
    client: Vec<Spanned<RawClient>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[client]] table")]
struct RawClient {
    id: Spanned<String>,
    secret_hash: Option<Spanned<String>>,
    secrets: Option<Spanned<Vec<Spanned<RawSecret>>>>,
    auth_methods: Option<Spanned<Vec<AuthMethod>>>,
    scopes: Option<Spanned<Vec<Spanned<String>>>>,
    default_scopes: Option<Spanned<Vec<Spanned<String>>>>,
    audiences: Option<Spanned<Vec<String>>>,
    default_audience: Option<Spanned<String>>,
    token_ttl_secs: Option<Spanned<u64>>,
    enabled: Option<Spanned<bool>>,
    jwks: Option<Spanned<RawJwks>>,
}

/// One of `[[client.secrets]]`: a stored hash and when it stops being accepted.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a secret table such as { hash = \"sha256:...\" }"
)]
struct RawSecret {
    hash: Spanned<String>,
    not_after: Option<Spanned<u64>>,
}

// RFC 7517 §5: other JWKS members are allowed, so no `deny_unknown_fields` here.
#[derive(Deserialize)]
#[serde(expecting = "a JWK set such as { keys = [...] }")]
struct RawJwks {
    keys: Vec<Spanned<serde_json::Value>>,
}

/// Reads a client file, refusing files over `limit` bytes (and endless ones like
/// `/dev/zero`).
pub(super) fn read_file(path: &Path, limit: u64) -> Result<String, ConfigFileError> {
    let io_error = |source| ConfigFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let mut text = String::new();
    file.take(limit.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(io_error)?;
    if text.len() as u64 > limit {
        return Err(ConfigFileError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(text)
}

/// Parses the client file text into clients, checking every one.
pub(super) fn parse(text: &str, path: Option<&Path>) -> Result<Vec<Client>, ConfigFileError> {
    let file = Source { text, path };
    let doc = DeTable::parse(text).map_err(|e| file.syntax_error(&e))?;
    let raw = RawFile::deserialize(toml::de::Deserializer::from(doc))
        .map_err(|e| file.schema_error(&e))?;
    let mut first_lines: HashMap<String, usize> = HashMap::new();
    let mut clients = Vec::with_capacity(raw.client.len());
    for raw in raw.client {
        let id_span = raw.get_ref().id.span();
        let client = file.build_client(raw)?;
        if let Some(&first_line) = first_lines.get(client.id()) {
            let problem = ConfigProblem::DuplicateClientId { first_line };
            let field = Some("client.id".into());
            return Err(file.client_error(Some(client.id()), id_span.start, field, problem));
        }
        first_lines.insert(client.id().to_owned(), file.line_of(id_span.start));
        clients.push(client);
    }
    Ok(clients)
}

impl Source<'_> {
    /// One `[[client]]` table through the [`ClientBuilder`], every problem placed at its field.
    fn build_client(&self, raw: Spanned<RawClient>) -> Result<Client, ConfigFileError> {
        let start = raw.span().start;
        let raw = raw.into_inner();
        let table = ClientTable {
            source: self,
            start,
            id: raw.id.get_ref(),
        };
        let builder = Client::builder(raw.id.get_ref().clone());
        let builder = table.authentication(&raw, builder)?;
        let builder = table.permissions(&raw, builder)?;
        let builder = table.keys(&raw, builder)?;
        builder.build().map_err(|e| {
            let (field, span) = blame(&raw, &e);
            table.error(field, span, ConfigProblem::Client(e))
        })
    }
}

/// The `[[client]]` table being read, for placing its problems.
struct ClientTable<'s, 't, 'r> {
    source: &'s Source<'t>,
    /// Where the table starts: the place of problems no field holds.
    start: usize,
    /// The table's `id`, to name the client in its problems.
    id: &'r str,
}

impl ClientTable<'_, '_, '_> {
    /// A problem with `client.{field}`, at `span` or else at the table; it names the client
    /// unless the problem is its id.
    fn error(
        &self,
        field: &str,
        span: Option<Range<usize>>,
        problem: ConfigProblem,
    ) -> ConfigFileError {
        let at = span.map_or(self.start, |s| s.start);
        let bad_id = problem == ConfigProblem::Client(ClientConfigError::InvalidId);
        let client = (!bad_id).then_some(self.id);
        self.source
            .client_error(client, at, Some(format!("client.{field}")), problem)
    }

    /// `secret_hash`, `secrets` and `auth_methods`.
    fn authentication(
        &self,
        raw: &RawClient,
        mut builder: ClientBuilder,
    ) -> Result<ClientBuilder, ConfigFileError> {
        let parse = |field: &str, hash: &Spanned<String>| {
            ClientSecret::parse(hash.get_ref())
                .map_err(|e| self.error(field, Some(hash.span()), ConfigProblem::Secret(e)))
        };
        if let Some(hash) = &raw.secret_hash {
            builder = builder.secret(parse("secret_hash", hash)?);
        }
        for secret in raw.secrets.iter().flat_map(|s| s.get_ref()) {
            let secret = secret.get_ref();
            let not_after = secret.not_after.as_ref().map(|n| *n.get_ref());
            builder = builder.add_secret(parse("secrets.hash", &secret.hash)?, not_after);
        }
        if let Some(methods) = &raw.auth_methods {
            builder = builder.auth_methods(methods.get_ref().iter().copied());
        }
        Ok(builder)
    }

    /// What the client may get: scopes, audiences, token lifetime, and whether it may at all.
    fn permissions(
        &self,
        raw: &RawClient,
        mut builder: ClientBuilder,
    ) -> Result<ClientBuilder, ConfigFileError> {
        let scopes = |field: &str, scopes: &Spanned<Vec<Spanned<String>>>| {
            scope_set(scopes)
                .map_err(|(span, e)| self.error(field, Some(span), ConfigProblem::Scope(e)))
        };
        if let Some(allowed) = &raw.scopes {
            builder = builder.allowed_scopes(scopes("scopes", allowed)?);
        }
        if let Some(defaults) = &raw.default_scopes {
            builder = builder.default_scopes(scopes("default_scopes", defaults)?);
        }
        if let Some(audiences) = &raw.audiences {
            builder = builder.audiences(audiences.get_ref().iter().cloned());
        }
        if let Some(audience) = &raw.default_audience {
            builder = builder.default_audience(audience.get_ref().clone());
        }
        if let Some(ttl) = &raw.token_ttl_secs {
            builder = builder.token_ttl(Duration::from_secs(*ttl.get_ref()));
        }
        if let Some(enabled) = &raw.enabled {
            builder = builder.enabled(*enabled.get_ref());
        }
        Ok(builder)
    }

    /// `jwks`: the public keys for `private_key_jwt`.
    fn keys(
        &self,
        raw: &RawClient,
        builder: ClientBuilder,
    ) -> Result<ClientBuilder, ConfigFileError> {
        let Some(jwks) = &raw.jwks else {
            return Ok(builder);
        };
        let keys = jwks.get_ref().keys.iter().map(|jwk| {
            verifying_key(jwk.get_ref())
                .map_err(|e| self.error("jwks", Some(jwk.span()), ConfigProblem::Key(e)))
        });
        Ok(builder.keys(keys.collect::<Result<Vec<_>, _>>()?))
    }
}

/// The field a [`ClientConfigError`] is about, and its place in the table when it was given.
fn blame(raw: &RawClient, e: &ClientConfigError) -> (&'static str, Option<Range<usize>>) {
    let methods = raw.auth_methods.as_ref().map(Spanned::span);
    match e {
        ClientConfigError::InvalidId => ("id", Some(raw.id.span())),
        ClientConfigError::NoAuthMethods | ClientConfigError::UnknownAuthMethod => {
            ("auth_methods", methods)
        }
        ClientConfigError::DefaultScopesNotAllowed => {
            ("default_scopes", span_of(&raw.default_scopes))
        }
        ClientConfigError::NoAudience | ClientConfigError::EmptyAudience => {
            ("audiences", span_of(&raw.audiences))
        }
        ClientConfigError::DefaultAudienceNotAllowed => {
            ("default_audience", span_of(&raw.default_audience))
        }
        // Point at the methods that need the missing credential.
        ClientConfigError::MissingSecret => ("secret_hash", methods),
        ClientConfigError::MissingKeys => ("jwks", methods),
        ClientConfigError::UnusedSecret if raw.secret_hash.is_none() => {
            ("secrets", span_of(&raw.secrets))
        }
        ClientConfigError::UnusedSecret => ("secret_hash", span_of(&raw.secret_hash)),
        ClientConfigError::UnusedKeys
        | ClientConfigError::SymmetricKey
        | ClientConfigError::DuplicateKeyId => ("jwks", span_of(&raw.jwks)),
        ClientConfigError::ZeroTokenTtl => ("token_ttl_secs", span_of(&raw.token_ttl_secs)),
        ClientConfigError::TooManySecrets => ("secrets", span_of(&raw.secrets)),
    }
}

fn span_of<T>(field: &Option<Spanned<T>>) -> Option<Range<usize>> {
    field.as_ref().map(Spanned::span)
}

fn scope_set(
    scopes: &Spanned<Vec<Spanned<String>>>,
) -> Result<ScopeSet, (Range<usize>, ScopeError)> {
    scopes
        .get_ref()
        .iter()
        .map(|s| Scope::new(s.get_ref().as_str()).map_err(|e| (s.span(), e)))
        .collect()
}

pub(super) fn verifying_key(value: &serde_json::Value) -> Result<VerifyingKey, KeyError> {
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(value.clone())
        .map_err(|_| KeyError::InvalidJwk("not a JWK of a supported key type"))?;
    if jwk.common.public_key_use == Some(jsonwebtoken::jwk::PublicKeyUse::Encryption) {
        return Err(KeyError::InvalidJwk(
            "an encryption key cannot verify assertions",
        ));
    }
    VerifyingKey::from_jwk(&jwk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::SecretError;

    const HASH: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn client_with(extra: &str) -> String {
        format!(
            "[[client]]\nid = \"svc\"\nsecret_hash = \"{HASH}\"\naudiences = [\"api\"]\n{extra}"
        )
    }

    /// Loads `text`, expecting an error: (line, field, problem, Display).
    fn fails(text: &str) -> (usize, Option<String>, ConfigProblem, String) {
        let err = parse(text, None).unwrap_err();
        let shown = err.to_string();
        match err {
            ConfigFileError::Invalid {
                line,
                field,
                problem,
                ..
            } => (line, field, problem, shown),
            other => panic!("not a placed error: {other:?}"),
        }
    }

    #[test]
    fn empty_file_and_comments_only_load_zero_clients() {
        assert!(parse("", None).unwrap().is_empty());
        assert!(parse("# nothing yet\n\n", None).unwrap().is_empty());
    }

    #[test]
    fn malformed_toml_names_line_and_key() {
        let (line, field, problem, shown) = fails("[[client]]\nid = \"svc\nscopes = []\n");
        assert_eq!(line, 2);
        assert_eq!(field.as_deref(), Some("id"));
        assert!(matches!(problem, ConfigProblem::Syntax(_)), "{problem:?}");
        assert!(
            shown.starts_with("client file line 2, field `id`: invalid TOML"),
            "{shown}"
        );
    }

    #[test]
    fn unknown_field_names_line_and_field() {
        let (line, field, problem, _) = fails(&client_with("enabeld = true\n"));
        assert_eq!((line, field.as_deref()), (5, Some("client.enabeld")));
        assert_eq!(problem, ConfigProblem::UnknownField);
        let (line, field, problem, _) = fails("[server]\nport = 1\n");
        assert_eq!((line, field.as_deref()), (1, Some("server")));
        assert_eq!(problem, ConfigProblem::UnknownField);
    }

    #[test]
    fn wrong_type_names_expected_type_not_the_value() {
        let (line, field, problem, shown) =
            fails(&client_with("token_ttl_secs = \"sha256:0123-leaked\"\n"));
        assert_eq!((line, field.as_deref()), (5, Some("client.token_ttl_secs")));
        assert_eq!(problem, ConfigProblem::WrongType("u64".into()));
        assert!(!shown.contains("leaked"), "{shown}");
        let (line, field, _, _) = fails(&client_with("enabled = \"yes\"\n"));
        assert_eq!((line, field.as_deref()), (5, Some("client.enabled")));
    }

    #[test]
    fn missing_id_names_the_client_table() {
        let (line, field, problem, _) = fails("\n[[client]]\naudiences = [\"api\"]\n");
        assert_eq!(field.as_deref(), Some("client.id"));
        assert_eq!(line, 2);
        assert_eq!(problem, ConfigProblem::MissingField);
    }

    #[test]
    fn duplicate_client_id_names_both_lines() {
        let text = format!("{}{}", client_with(""), client_with(""));
        let (line, field, problem, shown) = fails(&text);
        assert_eq!((line, field.as_deref()), (6, Some("client.id")));
        assert_eq!(problem, ConfigProblem::DuplicateClientId { first_line: 2 });
        assert!(shown.contains("client `svc`"), "{shown}");
    }

    #[test]
    fn bad_secret_hash_is_reported_without_its_value() {
        let text =
            "[[client]]\nid = \"svc\"\naudiences = [\"api\"]\nsecret_hash = \"sha256:hunter2\"\n";
        let (line, field, problem, shown) = fails(text);
        assert_eq!((line, field.as_deref()), (4, Some("client.secret_hash")));
        assert_eq!(problem, ConfigProblem::Secret(SecretError::Malformed));
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn secrets_tables_give_several_secrets_with_their_not_after() {
        let other = HASH.replace("ba78", "ca78");
        let text = format!(
            "[[client]]\nid = \"svc\"\naudiences = [\"api\"]\n\
             [[client.secrets]]\nhash = \"{HASH}\"\nnot_after = 1900000000\n\
             [[client.secrets]]\nhash = \"{other}\"\n"
        );
        let clients = parse(&text, None).unwrap();
        let expiries: Vec<_> = clients[0].secrets().iter().map(|s| s.not_after()).collect();
        assert_eq!(expiries, [Some(1_900_000_000), None]);
        assert!(clients[0].secret().is_some_and(|s| s.verify(b"abc")));
        // The same as an inline array, after a `secret_hash` that never expires.
        let inline = client_with(&format!(
            "secrets = [{{ hash = \"{other}\", not_after = 1800000000 }}]\n"
        ));
        let clients = parse(&inline, None).unwrap();
        let expiries: Vec<_> = clients[0].secrets().iter().map(|s| s.not_after()).collect();
        assert_eq!(expiries, [None, Some(1_800_000_000)]);
    }

    #[test]
    fn bad_secrets_entries_name_line_and_field() {
        let text = "[[client]]\nid = \"svc\"\naudiences = [\"api\"]\n\
                    [[client.secrets]]\nhash = \"sha256:hunter2\"\n";
        let (line, field, problem, shown) = fails(text);
        assert_eq!((line, field.as_deref()), (5, Some("client.secrets.hash")));
        assert_eq!(problem, ConfigProblem::Secret(SecretError::Malformed));
        assert!(!shown.contains("hunter2"), "{shown}");
        let text = client_with("secrets = [{ hash = \"x\", not_after = -1 }]\n");
        let (line, field, _, _) = fails(&text);
        assert_eq!(
            (line, field.as_deref()),
            (5, Some("client.secrets.not_after"))
        );
        let text = client_with("secrets = [{ hash = \"x\", expires = 1 }]\n");
        let (line, field, problem, _) = fails(&text);
        assert_eq!(
            (line, field.as_deref()),
            (5, Some("client.secrets.expires"))
        );
        assert_eq!(problem, ConfigProblem::UnknownField);
    }

    #[test]
    fn default_scope_not_allowed_points_at_default_scopes() {
        let text = client_with("scopes = [\"a\"]\ndefault_scopes = [\"a\", \"b\"]\n");
        let (line, field, problem, _) = fails(&text);
        assert_eq!((line, field.as_deref()), (6, Some("client.default_scopes")));
        assert_eq!(
            problem,
            ConfigProblem::Client(ClientConfigError::DefaultScopesNotAllowed)
        );
    }

    #[test]
    fn invalid_scope_points_at_its_own_line() {
        let text = client_with("scopes = [\n  \"ok\",\n  \"not ok\",\n]\n");
        let (line, field, problem, _) = fails(&text);
        assert_eq!((line, field.as_deref()), (7, Some("client.scopes")));
        assert_eq!(problem, ConfigProblem::Scope(ScopeError::InvalidCharacter));
    }

    #[test]
    fn unknown_auth_method_names_the_allowed_values_but_not_the_value() {
        let text = client_with("auth_methods = [\"hunter2-secret-value\"]\n");
        let (line, field, problem, shown) = fails(&text);
        assert_eq!((line, field.as_deref()), (5, Some("client.auth_methods")));
        let allowed = "expected one of `client_secret_basic`, `client_secret_post`, \
                       `private_key_jwt`";
        assert_eq!(problem, ConfigProblem::InvalidValue(allowed.into()));
        assert_eq!(
            shown,
            format!("client file line 5, field `client.auth_methods`: invalid value: {allowed}")
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        // A value that imitates serde's wording is not quoted either.
        let text = client_with("auth_methods = [\"x`, expected hunter2\"]\n");
        let (_, _, problem, _) = fails(&text);
        assert_eq!(problem, ConfigProblem::InvalidValue(allowed.into()));
    }

    #[test]
    fn argon2_costs_beyond_the_bounds_name_the_client_line_and_field() {
        let hash = ClientSecret::hash_password("pw").unwrap().to_stored();
        for (from, to) in [("m=19456", "m=65537"), ("t=2", "t=11"), ("p=1", "p=5")] {
            let costly = hash.replacen(from, to, 1);
            let text = format!(
                "[[client]]\nid = \"ops\"\naudiences = [\"api\"]\nsecret_hash = \"{costly}\"\n"
            );
            let err = parse(&text, None).unwrap_err();
            assert_eq!(err.client(), Some("ops"), "{to}");
            assert_eq!(
                (err.line(), err.field()),
                (Some(4), Some("client.secret_hash"))
            );
            assert_eq!(
                err.problem(),
                Some(&ConfigProblem::Secret(SecretError::Argon2CostTooHigh))
            );
            assert!(!err.to_string().contains(&costly[costly.len() - 20..]));
        }
    }

    #[test]
    fn private_key_jwt_without_keys_points_at_auth_methods() {
        let text = "[[client]]\nid = \"svc\"\naudiences = [\"api\"]\nauth_methods = [\"private_key_jwt\"]\n";
        let (line, field, problem, _) = fails(text);
        assert_eq!((line, field.as_deref()), (4, Some("client.jwks")));
        assert_eq!(
            problem,
            ConfigProblem::Client(ClientConfigError::MissingKeys)
        );
    }

    #[test]
    fn unusable_jwk_points_at_its_line() {
        let text = "[[client]]\nid = \"svc\"\naudiences = [\"api\"]\nauth_methods = [\"private_key_jwt\"]\njwks = { keys = [\n  { kty = \"oct\", k = \"c2VjcmV0\" },\n] }\n";
        let (line, field, problem, _) = fails(text);
        assert_eq!((line, field.as_deref()), (6, Some("client.jwks")));
        assert!(matches!(problem, ConfigProblem::Key(_)), "{problem:?}");
    }

    #[test]
    fn hostile_inputs_give_short_errors_and_never_panic() {
        let big = "x".repeat(1 << 20);
        let cases = [
            client_with(&format!("secret_hash = \"{big}\"\n")),
            format!("[[client]]\nid = \"svc\"\naudiences = [\"api\"]\nsecret_hash = \"{big}\"\n"),
            client_with(&format!("{big} = 1\n")),
            client_with(&format!("enabled = \"{big}\"\n")),
            client_with(&format!("auth_methods = [\"{big}\"]\n")),
            format!("x = {}{}", "[".repeat(100_000), "]".repeat(100_000)),
            format!("x = \"{big}"),
            "\u{feff}\0\u{7f}[[[".to_owned(),
        ];
        for text in &cases {
            let err = parse(text, None).unwrap_err();
            assert!(err.to_string().len() < 400, "{}", &err.to_string()[..400]);
        }
        // A 1 MB id is odd but valid.
        let long_id =
            format!("[[client]]\nid = \"{big}\"\nsecret_hash = \"{HASH}\"\naudiences = [\"a\"]\n");
        assert_eq!(parse(&long_id, None).unwrap()[0].id().len(), 1 << 20);
    }

    #[test]
    fn missing_file_error_names_the_path() {
        let path = Path::new("/nonexistent/clients.toml");
        let err = read_file(path, 1024).unwrap_err();
        assert!(
            matches!(&err, ConfigFileError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
        );
        assert!(
            err.to_string()
                .starts_with("cannot read client file /nonexistent/clients.toml: ")
        );
    }

    #[test]
    fn endless_file_is_refused() {
        let path = Path::new("/dev/zero");
        if path.exists() {
            assert!(matches!(
                read_file(path, 1024),
                Err(ConfigFileError::TooLarge { limit: 1024, .. })
            ));
        }
    }
}
