//! Stored rows → [`Client`]: every value checked, every problem an
//! [`StoreError::InvalidRecord`] naming the client and the field, never a panic.

use std::time::Duration;

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::error::shown_id;
use crate::clients::config::verifying_key;
use crate::clients::{AuthMethod, Client, ClientConfigError, ClientSecret, RegisteredSecret};
use crate::scope::{Scope, ScopeSet};
use crate::store::StoreError;

/// One client's rows, as read.
#[derive(Default)]
pub(super) struct RawClient {
    pub(super) id: String,
    pub(super) enabled: bool,
    pub(super) token_ttl_secs: Option<i64>,
    pub(super) default_audience: Option<String>,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    /// (secret id, hash, not_after, created_at)
    pub(super) secrets: Vec<(i64, String, Option<i64>, i64)>,
    pub(super) keys: Vec<String>,
    /// (scope, is_default)
    pub(super) scopes: Vec<(String, bool)>,
    pub(super) audiences: Vec<String>,
    pub(super) methods: Vec<String>,
}

/// A stored value that cannot be used, placed at its table and column.
pub(super) fn invalid(client: &str, field: &str, problem: impl std::fmt::Display) -> StoreError {
    StoreError::InvalidRecord(format!(
        "client `{}`: field `{field}`: {problem}",
        shown_id(client)
    ))
}

/// Column `column` of `row`, for client `client`; a value of the wrong type is an invalid
/// record naming `table.column`.
pub(super) fn column<'r, R, T>(
    row: &'r R,
    client: &str,
    table: &str,
    column: &'static str,
) -> Result<T, StoreError>
where
    R: Row,
    T: Decode<'r, R::Database> + Type<R::Database>,
    &'static str: ColumnIndex<R>,
{
    row.try_get(column).map_err(|e| {
        let problem = match e {
            sqlx::Error::ColumnDecode { .. } => "a value of the wrong type".to_owned(),
            other => other.to_string(),
        };
        invalid(client, &format!("{table}.{column}"), problem)
    })
}

/// A stored Unix second or lifetime: never negative.
fn non_negative(client: &str, field: &str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| invalid(client, field, "negative"))
}

impl RawClient {
    /// The secrets with their ids, checked.
    pub(super) fn registered_secrets(&self) -> Result<Vec<(i64, RegisteredSecret)>, StoreError> {
        let id = &self.id;
        self.secrets
            .iter()
            .map(|(secret_id, hash, not_after, _)| {
                let secret = ClientSecret::parse(hash).map_err(|e| {
                    invalid(
                        id,
                        "client_secrets.hash",
                        format!("secret {secret_id}: {e}"),
                    )
                })?;
                let not_after = not_after
                    .map(|n| non_negative(id, "client_secrets.not_after", n))
                    .transpose()?;
                Ok((*secret_id, RegisteredSecret::new(secret, not_after)))
            })
            .collect()
    }

    /// The client the rows describe, built and checked like any other.
    pub(super) fn into_client(self) -> Result<Client, StoreError> {
        let id = self.id.as_str();
        let secrets = self.registered_secrets()?;
        let mut builder = Client::builder(id)
            .secrets(secrets.into_iter().map(|(_, s)| s))
            .enabled(self.enabled);
        let methods = self.methods.iter().map(|m| {
            m.parse::<AuthMethod>()
                .map_err(|e| invalid(id, "client_auth_methods.method", e))
        });
        builder = builder.auth_methods(methods.collect::<Result<Vec<_>, _>>()?);
        let scope =
            |s: &String| Scope::new(s.as_str()).map_err(|e| invalid(id, "client_scopes.scope", e));
        let allowed = self.scopes.iter().map(|(s, _)| scope(s));
        let defaults = self
            .scopes
            .iter()
            .filter(|(_, d)| *d)
            .map(|(s, _)| scope(s));
        builder = builder
            .allowed_scopes(allowed.collect::<Result<ScopeSet, _>>()?)
            .default_scopes(defaults.collect::<Result<ScopeSet, _>>()?)
            .audiences(self.audiences.iter().cloned());
        if let Some(audience) = &self.default_audience {
            builder = builder.default_audience(audience.clone());
        }
        if let Some(ttl) = self.token_ttl_secs {
            let secs = non_negative(id, "clients.token_ttl_secs", ttl)?;
            builder = builder.token_ttl(Duration::from_secs(secs));
        }
        let keys = self.keys.iter().map(|jwk| {
            let value: serde_json::Value = serde_json::from_str(jwk)
                .map_err(|_| invalid(id, "client_keys.jwk", "not JSON"))?;
            verifying_key(&value).map_err(|e| invalid(id, "client_keys.jwk", e))
        });
        builder = builder.keys(keys.collect::<Result<Vec<_>, _>>()?);
        builder.build().map_err(|e| invalid(id, field_of(&e), e))
    }
}

/// The table a [`ClientConfigError`] of stored rows is about.
fn field_of(e: &ClientConfigError) -> &'static str {
    match e {
        ClientConfigError::InvalidId => "clients.id",
        ClientConfigError::NoAuthMethods | ClientConfigError::UnknownAuthMethod => {
            "client_auth_methods"
        }
        ClientConfigError::DefaultScopesNotAllowed => "client_scopes.is_default",
        ClientConfigError::NoAudience | ClientConfigError::EmptyAudience => "client_audiences",
        ClientConfigError::DefaultAudienceNotAllowed => "clients.default_audience",
        ClientConfigError::MissingSecret
        | ClientConfigError::UnusedSecret
        | ClientConfigError::TooManySecrets => "client_secrets",
        ClientConfigError::MissingKeys
        | ClientConfigError::UnusedKeys
        | ClientConfigError::SymmetricKey
        | ClientConfigError::DuplicateKeyId => "client_keys",
        ClientConfigError::ZeroTokenTtl => "clients.token_ttl_secs",
    }
}

/// Reads one client's rows through `$pool` (a `&Pool` of either backend): `Ok(None)` when
/// there is no such client.
macro_rules! fetch_raw {
    ($pool:expr, $id:expr) => {
        async {
            use $crate::clients::sql::records::{RawClient, column};
            let pool = $pool;
            let id: &str = $id;
            let Some(row) = sqlx::query(
                "SELECT id, enabled, token_ttl_secs, default_audience, created_at, updated_at \
                 FROM clients WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(unavailable)?
            else {
                return Ok(None);
            };
            let t = "clients";
            let mut raw = RawClient {
                id: column(&row, id, t, "id")?,
                enabled: column(&row, id, t, "enabled")?,
                token_ttl_secs: column(&row, id, t, "token_ttl_secs")?,
                default_audience: column(&row, id, t, "default_audience")?,
                created_at: column(&row, id, t, "created_at")?,
                updated_at: column(&row, id, t, "updated_at")?,
                ..RawClient::default()
            };
            let rows = sqlx::query(
                "SELECT id, hash, not_after, created_at FROM client_secrets \
                 WHERE client_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(pool)
            .await
            .map_err(unavailable)?;
            let t = "client_secrets";
            for row in &rows {
                raw.secrets.push((
                    column(row, id, t, "id")?,
                    column(row, id, t, "hash")?,
                    column(row, id, t, "not_after")?,
                    column(row, id, t, "created_at")?,
                ));
            }
            let rows =
                sqlx::query("SELECT jwk FROM client_keys WHERE client_id = $1 ORDER BY position")
                    .bind(id)
                    .fetch_all(pool)
                    .await
                    .map_err(unavailable)?;
            for row in &rows {
                raw.keys.push(column(row, id, "client_keys", "jwk")?);
            }
            let rows = sqlx::query(
                "SELECT scope, is_default FROM client_scopes WHERE client_id = $1 ORDER BY scope",
            )
            .bind(id)
            .fetch_all(pool)
            .await
            .map_err(unavailable)?;
            let t = "client_scopes";
            for row in &rows {
                raw.scopes.push((
                    column(row, id, t, "scope")?,
                    column(row, id, t, "is_default")?,
                ));
            }
            let rows = sqlx::query(
                "SELECT audience FROM client_audiences WHERE client_id = $1 ORDER BY position",
            )
            .bind(id)
            .fetch_all(pool)
            .await
            .map_err(unavailable)?;
            for row in &rows {
                raw.audiences
                    .push(column(row, id, "client_audiences", "audience")?);
            }
            let rows = sqlx::query(
                "SELECT method FROM client_auth_methods WHERE client_id = $1 ORDER BY method",
            )
            .bind(id)
            .fetch_all(pool)
            .await
            .map_err(unavailable)?;
            for row in &rows {
                raw.methods
                    .push(column(row, id, "client_auth_methods", "method")?);
            }
            Ok::<_, $crate::store::StoreError>(Some(raw))
        }
    };
}
pub(super) use fetch_raw;

/// A database failure: the server's problem (503), never the client's.
pub(super) fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(super::error::redact(&e.to_string(), &[]))
}
