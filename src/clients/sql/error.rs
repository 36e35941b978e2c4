//! [`SqlStoreError`]: why the SQL client store could not start or an admin operation failed.

use crate::clients::ClientConfigError;
use crate::store::StoreError;

/// Why [`SqlClientStore`](super::SqlClientStore) could not connect, migrate or carry out an
/// admin operation. Messages never carry a password from the database URL, nor secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SqlStoreError {
    /// The database URL could not be used: says what is wrong, without the URL itself.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The database could not be reached or refused the connection.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// The database has a migration this binary does not know, newer than its own: a newer
    /// release migrated it. Run that release (or newer), never an older one, against it.
    #[error(
        "the database schema is at version {database}, newer than this binary knows (up to \
         {binary}): upgrade the binary"
    )]
    SchemaTooNew {
        /// The newest migration version applied to the database.
        database: i64,
        /// The newest migration version this binary has.
        binary: i64,
    },
    /// Applying the embedded migrations failed (a changed or half-applied migration, a
    /// database error).
    #[error("database migration failed: {0}")]
    Migration(String),
    /// No client has this id.
    #[error("no client `{0}`")]
    UnknownClient(String),
    /// A client with this id exists already.
    #[error("a client `{0}` exists already")]
    DuplicateClient(String),
    /// The client has no secret with this id.
    #[error("client `{client}` has no secret {secret}")]
    UnknownSecret {
        /// The client.
        client: String,
        /// The secret id asked for.
        secret: i64,
    },
    /// The change would leave the client invalid (for example, more than
    /// [`ClientBuilder::MAX_SECRETS`](crate::clients::ClientBuilder::MAX_SECRETS) secrets).
    #[error("client `{client}`: {problem}")]
    Client {
        /// The client.
        client: String,
        /// What is wrong.
        problem: ClientConfigError,
    },
    /// The database failed, or holds a record that does not make a valid client.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A client id as shown in messages: at most 64 characters, control characters escaped.
pub(super) fn shown_id(id: &str) -> String {
    id.chars().take(64).flat_map(char::escape_debug).collect()
}

/// `message` with every occurrence of the `passwords` replaced, cut to 300 bytes.
pub(super) fn redact(message: &str, passwords: &[String]) -> String {
    let mut text = message.to_owned();
    for password in passwords.iter().filter(|p| !p.is_empty()) {
        text = text.replace(password.as_str(), "***");
    }
    if text.len() > 300 {
        let mut end = 300;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_hide_the_password_and_stay_short() {
        let shown = redact(
            "password authentication failed: hunter2 at hunter2",
            &["hunter2".into()],
        );
        assert_eq!(shown, "password authentication failed: *** at ***");
        assert!(redact(&"é".repeat(400), &[]).len() <= 304);
        assert_eq!(shown_id("a\nb"), "a\\nb");
        let err = SqlStoreError::SchemaTooNew {
            database: 30000101000000,
            binary: 20261127000001,
        };
        assert_eq!(
            err.to_string(),
            "the database schema is at version 30000101000000, newer than this binary knows (up \
             to 20261127000001): upgrade the binary"
        );
    }
}
