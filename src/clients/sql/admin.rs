//! The admin operations of [`SqlClientStore`]: add, list, show, enable/disable, rotate and
//! expire secrets, remove. Each write drops this process's cache entry for the client.

use super::error::{SqlStoreError, shown_id};
use super::records::{RawClient, column, fetch_raw, unavailable};
use super::{SqlClientStore, on_pool};
use crate::clients::{Client, ClientBuilder, ClientConfigError, ClientSecret, GeneratedSecret};
use crate::store::StoreError;
use crate::time::Clock;

/// One stored secret, as [`SqlClientStore::show`] describes it: never the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretRecord {
    /// The id to name it by in [`SqlClientStore::expire_secret`].
    pub id: i64,
    /// `sha256` (a generated secret) or `argon2id` (a password).
    pub kind: &'static str,
    /// The Unix second from which it is refused, if any.
    pub not_after: Option<u64>,
    /// When it was added (Unix seconds).
    pub created_at: u64,
}

/// A stored client with its bookkeeping, from [`SqlClientStore::show`] and
/// [`SqlClientStore::list`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientRecord {
    /// The client, as the token endpoint sees it.
    pub client: Client,
    /// Its secrets, oldest first.
    pub secrets: Vec<SecretRecord>,
    /// When it was added (Unix seconds).
    pub created_at: u64,
    /// When it last changed (Unix seconds).
    pub updated_at: u64,
}

fn now() -> i64 {
    to_i64(Clock::system().now())
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn record(raw: RawClient) -> Result<ClientRecord, StoreError> {
    let secrets = raw
        .registered_secrets()?
        .into_iter()
        .zip(&raw.secrets)
        .map(|((id, secret), row)| SecretRecord {
            id,
            kind: if secret.secret().is_expensive() {
                "argon2id"
            } else {
                "sha256"
            },
            not_after: secret.not_after(),
            created_at: to_u64(row.3),
        })
        .collect();
    let (created_at, updated_at) = (to_u64(raw.created_at), to_u64(raw.updated_at));
    Ok(ClientRecord {
        client: raw.into_client()?,
        secrets,
        created_at,
        updated_at,
    })
}

/// A database error from a write: a taken id is [`SqlStoreError::DuplicateClient`].
fn write_error(id: &str) -> impl Fn(sqlx::Error) -> SqlStoreError + '_ {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            SqlStoreError::DuplicateClient(shown_id(id))
        }
        _ => SqlStoreError::Store(unavailable(e)),
    }
}

impl SqlClientStore {
    /// Stores `client` as built, with its secrets (hashes) and keys.
    pub async fn insert(&self, client: &Client) -> Result<(), SqlStoreError> {
        let id = client.id();
        let now = now();
        let fail = write_error(id);
        let methods: Vec<&str> = client.auth_methods().iter().map(|m| m.as_str()).collect();
        let mut keys = Vec::new();
        for key in client.keys() {
            let jwk = key
                .to_jwk()
                .and_then(|jwk| serde_json::to_string(&jwk).ok());
            let problem = ClientConfigError::SymmetricKey;
            keys.push(jwk.ok_or_else(|| SqlStoreError::Client {
                client: shown_id(id),
                problem,
            })?);
        }
        on_pool!(self.backend(), pool => {
            let mut tx = pool.begin().await.map_err(&fail)?;
            sqlx::query(
                "INSERT INTO clients (id, enabled, token_ttl_secs, default_audience, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(id)
            .bind(client.is_enabled())
            .bind(client.token_ttl().map(|t| to_i64(t.as_secs())))
            .bind(client.default_audience())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(&fail)?;
            for secret in client.secrets() {
                sqlx::query(
                    "INSERT INTO client_secrets (client_id, hash, not_after, created_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(secret.secret().to_stored())
                .bind(secret.not_after().map(to_i64))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(&fail)?;
            }
            for (position, jwk) in keys.iter().enumerate() {
                sqlx::query("INSERT INTO client_keys (client_id, position, jwk) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(to_i64(position as u64))
                    .bind(jwk)
                    .execute(&mut *tx)
                    .await
                    .map_err(&fail)?;
            }
            for scope in client.allowed_scopes().iter() {
                let is_default = client.default_scopes().contains(scope.as_str());
                sqlx::query(
                    "INSERT INTO client_scopes (client_id, scope, is_default) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(scope.as_str())
                .bind(is_default)
                .execute(&mut *tx)
                .await
                .map_err(&fail)?;
            }
            for (position, audience) in client.audiences().iter().enumerate() {
                sqlx::query(
                    "INSERT INTO client_audiences (client_id, position, audience) \
                     VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(to_i64(position as u64))
                .bind(audience)
                .execute(&mut *tx)
                .await
                .map_err(&fail)?;
            }
            for method in &methods {
                sqlx::query("INSERT INTO client_auth_methods (client_id, method) VALUES ($1, $2)")
                    .bind(id)
                    .bind(*method)
                    .execute(&mut *tx)
                    .await
                    .map_err(&fail)?;
            }
            tx.commit().await.map_err(&fail)?;
        });
        if client.secrets().iter().any(|s| s.secret().is_expensive()) {
            self.note_argon2();
        }
        self.invalidate(id);
        Ok(())
    }

    /// Adds the client `builder` describes with a freshly generated secret (256 bits, stored
    /// as SHA-256), and returns the plaintext: the only time it exists, to hand to the client.
    pub async fn add(&self, builder: ClientBuilder) -> Result<GeneratedSecret, SqlStoreError> {
        let id = shown_id(builder.client_id());
        let (plaintext, secret) = ClientSecret::generate();
        let client = builder
            .secret(secret)
            .build()
            .map_err(|problem| SqlStoreError::Client {
                client: id,
                problem,
            })?;
        self.insert(&client).await?;
        Ok(plaintext)
    }

    /// The client with its secrets' ids and times, or `None`.
    pub async fn show(&self, id: &str) -> Result<Option<ClientRecord>, SqlStoreError> {
        let raw = on_pool!(self.backend(), pool => fetch_raw!(pool, id).await?);
        Ok(raw.map(record).transpose()?)
    }

    /// Every client, by id. A client whose rows are invalid fails the whole listing with
    /// [`StoreError::InvalidRecord`] naming it.
    pub async fn list(&self) -> Result<Vec<ClientRecord>, SqlStoreError> {
        let ids: Vec<String> = on_pool!(self.backend(), pool => {
            let rows = sqlx::query("SELECT id FROM clients ORDER BY id")
                .fetch_all(pool)
                .await
                .map_err(unavailable)?;
            rows.iter()
                .map(|row| column(row, "-", "clients", "id"))
                .collect::<Result<_, StoreError>>()?
        });
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(record) = self.show(&id).await? {
                records.push(record);
            }
        }
        Ok(records)
    }

    /// How many clients are stored.
    pub async fn count(&self) -> Result<u64, SqlStoreError> {
        let count: i64 = on_pool!(self.backend(), pool => {
            let row = sqlx::query("SELECT COUNT(*) AS n FROM clients")
                .fetch_one(pool)
                .await
                .map_err(unavailable)?;
            column(&row, "-", "clients", "n")?
        });
        Ok(to_u64(count))
    }

    /// Lets the client get tokens again.
    pub async fn enable(&self, id: &str) -> Result<(), SqlStoreError> {
        self.set_enabled(id, true).await
    }

    /// Stops the client getting tokens (it is answered as an unknown client), keeping it.
    pub async fn disable(&self, id: &str) -> Result<(), SqlStoreError> {
        self.set_enabled(id, false).await
    }

    async fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), SqlStoreError> {
        let changed = on_pool!(self.backend(), pool => {
            sqlx::query("UPDATE clients SET enabled = $1, updated_at = $2 WHERE id = $3")
                .bind(enabled)
                .bind(now())
                .bind(id)
                .execute(pool)
                .await
                .map_err(unavailable)?
                .rows_affected()
        });
        self.invalidate(id);
        if changed == 0 {
            return Err(SqlStoreError::UnknownClient(shown_id(id)));
        }
        Ok(())
    }

    /// Rotation, step one: adds a freshly generated secret to the client and returns it (the
    /// plaintext, once) with its id. The client's other secrets stay live, so both work while
    /// the new one is deployed; with `old_not_after`, those that would outlive that Unix second
    /// are refused from then on. Secrets already expired are deleted.
    pub async fn add_secret(
        &self,
        id: &str,
        old_not_after: Option<u64>,
    ) -> Result<(GeneratedSecret, i64), SqlStoreError> {
        let (plaintext, secret) = ClientSecret::generate();
        let now = now();
        let fail = write_error(id);
        let secret_id: i64 = on_pool!(self.backend(), pool => {
            let mut tx = pool.begin().await.map_err(&fail)?;
            let touched = sqlx::query("UPDATE clients SET updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(&fail)?
                .rows_affected();
            if touched == 0 {
                return Err(SqlStoreError::UnknownClient(shown_id(id)));
            }
            sqlx::query("DELETE FROM client_secrets WHERE client_id = $1 AND not_after <= $2")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(&fail)?;
            if let Some(end) = old_not_after.map(to_i64) {
                sqlx::query(
                    "UPDATE client_secrets SET not_after = $1 \
                     WHERE client_id = $2 AND (not_after IS NULL OR not_after > $1)",
                )
                .bind(end)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(&fail)?;
            }
            let row = sqlx::query("SELECT COUNT(*) AS n FROM client_secrets WHERE client_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(&fail)?;
            let held: i64 = column(&row, id, "client_secrets", "n")?;
            if to_u64(held) >= ClientBuilder::MAX_SECRETS as u64 {
                return Err(SqlStoreError::Client {
                    client: shown_id(id),
                    problem: ClientConfigError::TooManySecrets,
                });
            }
            let row = sqlx::query(
                "INSERT INTO client_secrets (client_id, hash, not_after, created_at) \
                 VALUES ($1, $2, NULL, $3) RETURNING id",
            )
            .bind(id)
            .bind(secret.to_stored())
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(&fail)?;
            let secret_id = column(&row, id, "client_secrets", "id")?;
            tx.commit().await.map_err(&fail)?;
            secret_id
        });
        self.invalidate(id);
        Ok((plaintext, secret_id))
    }

    /// Rotation, last step: the client's secret `secret_id` is refused from Unix second `at`
    /// on (`None`: now). Instances with the client cached refuse it within their cache TTL.
    pub async fn expire_secret(
        &self,
        id: &str,
        secret_id: i64,
        at: Option<u64>,
    ) -> Result<(), SqlStoreError> {
        let at = at.map_or_else(now, to_i64);
        let changed = on_pool!(self.backend(), pool => {
            let mut tx = pool.begin().await.map_err(unavailable)?;
            let changed = sqlx::query(
                "UPDATE client_secrets SET not_after = $1 WHERE client_id = $2 AND id = $3",
            )
            .bind(at)
            .bind(id)
            .bind(secret_id)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?
            .rows_affected();
            sqlx::query("UPDATE clients SET updated_at = $1 WHERE id = $2")
                .bind(now())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
            tx.commit().await.map_err(unavailable)?;
            changed
        });
        self.invalidate(id);
        if changed == 0 {
            if self.show(id).await?.is_none() {
                return Err(SqlStoreError::UnknownClient(shown_id(id)));
            }
            return Err(SqlStoreError::UnknownSecret {
                client: shown_id(id),
                secret: secret_id,
            });
        }
        Ok(())
    }

    /// Deletes the client with its secrets, keys, scopes, audiences and methods.
    pub async fn remove(&self, id: &str) -> Result<(), SqlStoreError> {
        let removed = on_pool!(self.backend(), pool => {
            sqlx::query("DELETE FROM clients WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map_err(unavailable)?
                .rows_affected()
        });
        self.invalidate(id);
        if removed == 0 {
            return Err(SqlStoreError::UnknownClient(shown_id(id)));
        }
        Ok(())
    }
}
