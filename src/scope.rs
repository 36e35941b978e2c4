//! OAuth 2.0 scopes (RFC 6749 §3.3).
//!
//! ```
//! use tower_client_credentials::ScopeSet;
//!
//! let granted: ScopeSet = "reports:read reports:write".parse()?;
//! assert!(granted.contains("reports:read"));
//! assert!(granted.contains_all(["reports:read", "reports:write"]));
//! assert!(!granted.contains_any(["admin"]));
//! assert_eq!(granted.to_string(), "reports:read reports:write");
//! # Ok::<_, tower_client_credentials::ScopeError>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a scope string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// A scope token was empty (two spaces in a row, or a leading/trailing space).
    #[error("empty scope token")]
    Empty,
    /// A scope token used a character outside RFC 6749 §3.3 `NQCHAR`.
    #[error("scope contains a character not allowed by RFC 6749 section 3.3")]
    InvalidCharacter,
}

/// One scope token, such as `reports:read`.
///
/// Only the characters RFC 6749 §3.3 allows (`%x21 / %x23-5B / %x5D-7E`) are accepted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

impl Scope {
    /// Validates and wraps one scope token.
    ///
    /// ```
    /// use tower_client_credentials::Scope;
    /// assert!(Scope::new("reports:read").is_ok());
    /// assert!(Scope::new("has space").is_err());
    /// assert!(Scope::new("quote\"").is_err());
    /// ```
    pub fn new(token: impl Into<String>) -> Result<Self, ScopeError> {
        let token = token.into();
        validate_token(&token)?;
        Ok(Scope(token))
    }

    /// The scope as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::new(s)
    }
}

impl AsRef<str> for Scope {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

fn validate_token(token: &str) -> Result<(), ScopeError> {
    if token.is_empty() {
        return Err(ScopeError::Empty);
    }
    // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    let ok = token
        .bytes()
        .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ScopeError::InvalidCharacter)
    }
}

/// A set of scopes, as carried in the `scope` claim or parameter: space-separated tokens.
///
/// Order and duplicates on the wire carry no meaning (RFC 6749 §3.3), so the set is kept sorted
/// and displayed back in that order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the space-separated wire form. The empty string is the empty set.
    ///
    /// ```
    /// use tower_client_credentials::ScopeSet;
    /// assert_eq!(ScopeSet::parse("b a a").unwrap().to_string(), "a b");
    /// assert!(ScopeSet::parse("a  b").is_err());
    /// assert!(ScopeSet::parse("").unwrap().is_empty());
    /// ```
    pub fn parse(wire: &str) -> Result<Self, ScopeError> {
        if wire.is_empty() {
            return Ok(Self::new());
        }
        wire.split(' ')
            .map(Scope::new)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(ScopeSet)
    }

    /// Builds a set from individual tokens, validating each.
    pub fn from_tokens<I, T>(tokens: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        tokens
            .into_iter()
            .map(Scope::new)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(ScopeSet)
    }

    /// Whether `scope` is in the set.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.as_str() == scope)
    }

    /// Whether every one of `scopes` is in the set (true for none).
    pub fn contains_all<I, T>(&self, scopes: I) -> bool
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        scopes.into_iter().all(|s| self.contains(s.as_ref()))
    }

    /// Whether at least one of `scopes` is in the set (false for none).
    pub fn contains_any<I, T>(&self, scopes: I) -> bool
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        scopes.into_iter().any(|s| self.contains(s.as_ref()))
    }

    /// Whether every scope of `self` is also in `other`.
    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Number of distinct scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the scopes in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// Adds a scope; returns whether it was new.
    pub fn insert(&mut self, scope: Scope) -> bool {
        self.0.insert(scope)
    }

    /// Adds `token` if it is a valid scope token; returns whether it was valid. For scopes read
    /// from an identity provider's claims, where one odd role name must not cost the others.
    pub(crate) fn insert_if_valid(&mut self, token: &str) -> bool {
        if validate_token(token).is_err() {
            return false;
        }
        self.0.insert(Scope(token.to_owned()));
        true
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl FromStr for ScopeSet {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScopeSet::parse(s)
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        ScopeSet(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a Scope;
    type IntoIter = std::collections::btree_set::Iter<'a, Scope>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Serialize for ScopeSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        ScopeSet::parse(&wire).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let token = String::deserialize(deserializer)?;
        Scope::new(token).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_sorts_and_dedups() {
        let set = ScopeSet::parse("write read write").unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.to_string(), "read write");
    }

    #[test]
    fn rejects_double_leading_and_trailing_spaces() {
        assert_eq!(ScopeSet::parse("a  b"), Err(ScopeError::Empty));
        assert_eq!(ScopeSet::parse(" a"), Err(ScopeError::Empty));
        assert_eq!(ScopeSet::parse("a "), Err(ScopeError::Empty));
    }

    #[test]
    fn rejects_characters_outside_nqchar() {
        for bad in ["a\"b", "a\\b", "tab\there", "é", "nul\0", "del\x7f"] {
            assert_eq!(
                ScopeSet::parse(bad),
                Err(ScopeError::InvalidCharacter),
                "{bad:?}"
            );
        }
        // Every printable ASCII character other than space, quote and backslash is fine.
        assert!(Scope::new("!#$%&'()*+,-./:;<=>?@[]^_`{|}~").is_ok());
    }

    #[test]
    fn all_and_any() {
        let set = ScopeSet::parse("a b").unwrap();
        assert!(set.contains_all(["a", "b"]));
        assert!(!set.contains_all(["a", "c"]));
        assert!(set.contains_all(Vec::<&str>::new()));
        assert!(set.contains_any(["c", "b"]));
        assert!(!set.contains_any(["c"]));
        assert!(!set.contains_any(Vec::<&str>::new()));
    }

    #[test]
    fn subset() {
        let small = ScopeSet::parse("a").unwrap();
        let big = ScopeSet::parse("a b").unwrap();
        assert!(small.is_subset(&big));
        assert!(!big.is_subset(&small));
    }

    #[test]
    fn insert_if_valid_skips_what_is_not_a_scope_token() {
        let mut set = ScopeSet::new();
        assert!(set.insert_if_valid("a"));
        assert!(set.insert_if_valid("a"));
        assert!(!set.insert_if_valid("Some Role"));
        assert!(!set.insert_if_valid(""));
        assert_eq!(set.to_string(), "a");
    }

    #[test]
    fn serde_round_trip_uses_wire_form() {
        let set = ScopeSet::parse("b a").unwrap();
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, "\"a b\"");
        let back: ScopeSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, set);
        assert!(serde_json::from_str::<ScopeSet>("\"a  b\"").is_err());
        assert!(serde_json::from_str::<ScopeSet>("42").is_err());
    }
}
