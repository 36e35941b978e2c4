//! Errors of the client file, placed by line and field.
//!
//! `toml`'s own error `Display` quotes the offending line, which may hold a secret hash, and
//! serde's messages quote wrong values (``unknown variant `hunter2…` ``); so errors are rebuilt
//! here from the message kind and the span: line number, client and field name, and what was
//! expected, never the value given.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::builder::ClientConfigError;
use super::secret::SecretError;
use crate::keys::KeyError;
use crate::scope::ScopeError;

/// Longest excerpt of a parser message kept in an error, in bytes.
const MAX_MESSAGE_BYTES: usize = 160;

/// Longest key name or client id kept in an error, in bytes.
const MAX_KEY_BYTES: usize = 64;

/// Why a client file could not be loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigFileError {
    /// The file could not be read. Names the path, never the contents.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is larger than the store reads
    /// ([`MemoryClientStore::MAX_FILE_BYTES`](super::MemoryClientStore::MAX_FILE_BYTES)).
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The most bytes read.
        limit: u64,
    },
    /// The text has a problem at a given line.
    Invalid {
        /// The file, when loaded from one.
        path: Option<PathBuf>,
        /// 1-based line of the problem.
        line: usize,
        /// The `id` of the `[[client]]` table the problem is in, once it has been read (cut to
        /// 64 bytes).
        client: Option<String>,
        /// The dotted path of the field, such as `client.default_scopes`. `None` only for
        /// syntax errors outside any `key = value`.
        field: Option<String>,
        /// What is wrong.
        problem: ConfigProblem,
    },
}

impl ConfigFileError {
    /// The 1-based line of the problem, for [`ConfigFileError::Invalid`].
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigFileError::Invalid { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The id of the client whose table has the problem, for [`ConfigFileError::Invalid`]
    /// when it is known.
    pub fn client(&self) -> Option<&str> {
        match self {
            ConfigFileError::Invalid { client, .. } => client.as_deref(),
            _ => None,
        }
    }

    /// The dotted field path of the problem, for [`ConfigFileError::Invalid`].
    pub fn field(&self) -> Option<&str> {
        match self {
            ConfigFileError::Invalid { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// What is wrong, for [`ConfigFileError::Invalid`].
    pub fn problem(&self) -> Option<&ConfigProblem> {
        match self {
            ConfigFileError::Invalid { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigFileError::Io { path, source } => {
                write!(f, "cannot read client file {}: {source}", path.display())
            }
            ConfigFileError::TooLarge { path, limit } => write!(
                f,
                "client file {} is larger than {limit} bytes",
                path.display()
            ),
            ConfigFileError::Invalid {
                path,
                line,
                client,
                field,
                problem,
            } => {
                match path {
                    Some(path) => write!(f, "{}: line {line}", path.display())?,
                    None => write!(f, "client file line {line}")?,
                }
                if let Some(client) = client {
                    write!(f, ", client `{client}`")?;
                }
                if let Some(field) = field {
                    write!(f, ", field `{field}`")?;
                }
                write!(f, ": {problem}")
            }
        }
    }
}

impl std::error::Error for ConfigFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigFileError::Io { source, .. } => Some(source),
            ConfigFileError::TooLarge { .. } => None,
            ConfigFileError::Invalid { problem, .. } => Some(problem),
        }
    }
}

/// What is wrong at the line a [`ConfigFileError::Invalid`] names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// Not valid TOML; the parser's description.
    #[error("invalid TOML: {0}")]
    Syntax(String),
    /// A field this format does not have (often a typo).
    #[error("unknown field")]
    UnknownField,
    /// A required field is absent.
    #[error("missing required field")]
    MissingField,
    /// A value of the wrong type; says what was expected.
    #[error("wrong type, expected {0}")]
    WrongType(String),
    /// A value outside the allowed ones, such as an unknown authentication method: says what
    /// was expected (the allowed values when there is a list), never the value given.
    #[error("invalid value: {0}")]
    InvalidValue(String),
    /// A second client with an id already used.
    #[error("duplicate client id (first used on line {first_line})")]
    DuplicateClientId {
        /// Line of the first client with this id.
        first_line: usize,
    },
    /// A scope that RFC 6749 §3.3 does not allow.
    #[error("invalid scope: {0}")]
    Scope(ScopeError),
    /// A `secret_hash` that is not a valid stored secret.
    #[error("{0}")]
    Secret(SecretError),
    /// A JWK that is not a usable public signing key.
    #[error("invalid key: {0}")]
    Key(KeyError),
    /// Settings of one client that contradict each other.
    #[error("{0}")]
    Client(ClientConfigError),
}

/// The text being loaded, for placing problems in it.
pub(super) struct Source<'a> {
    pub(super) text: &'a str,
    pub(super) path: Option<&'a Path>,
}

impl Source<'_> {
    /// A problem at byte offset `at`, in `field`.
    pub(super) fn error(
        &self,
        at: usize,
        field: Option<String>,
        problem: ConfigProblem,
    ) -> ConfigFileError {
        self.client_error(None, at, field, problem)
    }

    /// A problem at byte offset `at`, in `field` of the client with id `client`.
    pub(super) fn client_error(
        &self,
        client: Option<&str>,
        at: usize,
        field: Option<String>,
        problem: ConfigProblem,
    ) -> ConfigFileError {
        ConfigFileError::Invalid {
            path: self.path.map(Path::to_path_buf),
            line: line_of(self.text, at),
            client: client.map(|id| shorten(id, MAX_KEY_BYTES)),
            field,
            problem,
        }
    }

    /// Turns a serde error (unknown field, missing field, wrong type) into ours, without the
    /// value serde may have quoted.
    pub(super) fn schema_error(&self, e: &toml::de::Error) -> ConfigFileError {
        let at = e.span().map_or(0, |s| s.start);
        let message = e.message();
        let mut field = DeTable::parse(self.text)
            .ok()
            .and_then(|doc| path_at(doc.get_ref(), at))
            .map(|path| path.join("."));
        // serde quotes the value given before ", expected …" (a value may itself hold that
        // text, so the last one is serde's): only what follows is kept.
        let expected = message
            .rsplit_once(", expected ")
            .map(|(_, expected)| excerpt(expected));
        let problem = if message.starts_with("unknown field") {
            ConfigProblem::UnknownField
        } else if let Some(rest) = message.strip_prefix("missing field `") {
            let name = shorten(rest.split('`').next().unwrap_or_default(), MAX_KEY_BYTES);
            field = Some(match field {
                Some(table) => format!("{table}.{name}"),
                None => name,
            });
            ConfigProblem::MissingField
        } else if message.starts_with("invalid type") || message.starts_with("invalid length") {
            ConfigProblem::WrongType(expected.unwrap_or_else(|| "another type".to_owned()))
        } else {
            // "unknown variant `…`, expected one of …", "invalid value: …, expected …", and any
            // other message: what was expected, or nothing.
            ConfigProblem::InvalidValue(expected.map_or_else(
                || "not an allowed value".to_owned(),
                |expected| format!("expected {expected}"),
            ))
        };
        self.error(at, field, problem)
    }

    /// The 1-based line of byte offset `at`.
    pub(super) fn line_of(&self, at: usize) -> usize {
        line_of(self.text, at)
    }

    /// A TOML syntax error, with the key of its line when it has one.
    pub(super) fn syntax_error(&self, e: &toml::de::Error) -> ConfigFileError {
        let at = e.span().map_or(0, |s| s.start);
        let problem = ConfigProblem::Syntax(excerpt(e.message()));
        self.error(at, key_on_line(self.text, at), problem)
    }
}

/// 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    let end = at.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The dotted key path whose key or value holds byte offset `at` (array indices left out).
fn path_at(table: &DeTable<'_>, at: usize) -> Option<Vec<String>> {
    for (key, value) in table.iter() {
        let name = || shorten(key.get_ref(), MAX_KEY_BYTES);
        if key.span().contains(&at) {
            return Some(vec![name()]);
        }
        if let Some(mut inner) = value_path(value, at) {
            inner.insert(0, name());
            return Some(inner);
        }
        if value.span().contains(&at) {
            return Some(vec![name()]);
        }
    }
    None
}

fn value_path(value: &Spanned<DeValue<'_>>, at: usize) -> Option<Vec<String>> {
    match value.get_ref() {
        DeValue::Table(table) => path_at(table, at),
        DeValue::Array(items) => items.iter().find_map(|item| value_path(item, at)),
        _ => None,
    }
}

/// For syntax errors: the bare key of a `key = value` line holding offset `at`.
fn key_on_line(text: &str, at: usize) -> Option<String> {
    let bytes = text.as_bytes();
    let at = at.min(bytes.len());
    let start = bytes[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = bytes[start..]
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or_default();
    let line = line.trim_ascii_start();
    let key_len = line
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        .count();
    let rest = line[key_len..].trim_ascii_start();
    if key_len == 0 || key_len > MAX_KEY_BYTES || !rest.starts_with(b"=") {
        return None;
    }
    Some(String::from_utf8_lossy(&line[..key_len]).into_owned())
}

/// A parser message, cut short and with control characters replaced.
fn excerpt(message: &str) -> String {
    shorten(message, MAX_MESSAGE_BYTES)
}

/// `text` cut to at most `max` bytes on a character boundary (marked with `…`), control
/// characters replaced.
fn shorten(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out: String = text[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if end < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based_and_clamped_to_the_text() {
        assert_eq!(line_of("", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 1000), 3);
    }

    #[test]
    fn key_on_line_reads_only_bare_keys_before_an_equals_sign() {
        let text = "[[client]]\n  id = \"x\nscopes=[\n\"quoted\" = 1\n";
        assert_eq!(key_on_line(text, 0), None);
        assert_eq!(key_on_line(text, 15).as_deref(), Some("id"));
        assert_eq!(key_on_line(text, 22).as_deref(), Some("scopes"));
        assert_eq!(key_on_line(text, 32), None);
        assert_eq!(key_on_line(text, 10_000), None);
    }

    #[test]
    fn shorten_counts_bytes_cuts_on_a_char_boundary_and_blanks_control_characters() {
        assert_eq!(shorten("a\nb\tc", 10), "a b c");
        // "é" is two bytes: three bytes hold one of them, not three.
        assert_eq!(shorten("ééééé", 3), "é…");
        assert_eq!(shorten("ééééé", 4), "éé…");
        assert_eq!(shorten("a😀", 4), "a…");
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("😀", 0), "…");
        let long = "é".repeat(200);
        assert!(excerpt(&long).len() <= MAX_MESSAGE_BYTES + '…'.len_utf8());
    }

    #[test]
    fn display_names_path_line_and_field_when_known() {
        let source = Source {
            text: "a\nb\n",
            path: None,
        };
        let err = source.error(2, None, ConfigProblem::UnknownField);
        assert_eq!(err.to_string(), "client file line 2: unknown field");
        let source = Source {
            path: Some(Path::new("c.toml")),
            ..source
        };
        let err = source.error(0, Some("client.id".into()), ConfigProblem::MissingField);
        assert_eq!(
            err.to_string(),
            "c.toml: line 1, field `client.id`: missing required field"
        );
        assert_eq!((err.line(), err.field()), (Some(1), Some("client.id")));
        assert_eq!(err.client(), None);
        let named = source.client_error(
            Some("svc"),
            0,
            Some("client.secret_hash".into()),
            ConfigProblem::Secret(SecretError::Argon2CostTooHigh),
        );
        assert_eq!(
            named.to_string(),
            "c.toml: line 1, client `svc`, field `client.secret_hash`: the Argon2id cost \
             parameters exceed the limits (m = 64 MiB of memory, t = 10 iterations, p = 4 lanes)"
        );
        assert_eq!(named.client(), Some("svc"));
        assert_eq!(err.problem(), Some(&ConfigProblem::MissingField));
    }
}
