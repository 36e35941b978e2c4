//! Where an issuer's tokens carry their scopes and their client id, and how those claims become
//! [`Claims::scope`](crate::Claims::scope) and [`Claims::client_id`](crate::Claims::client_id).
//!
//! Identity providers disagree: RFC 9068 says `scope` (a space-separated string) and
//! `client_id`; Entra ID writes `scp` and `roles`, Okta an `scp` array and `cid`, Keycloak
//! `realm_access.roles` and `azp`. Each [`TrustedIssuer`](super::TrustedIssuer) lists the claims
//! its provider uses; this module reads them from the one parse of the payload.

use std::any::Any;
use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::claims::ExtraClaims;
use crate::error::TokenError;
use crate::scope::ScopeSet;

/// The claims that carry scopes when an issuer names none: `scope`, then `scp`.
pub const DEFAULT_SCOPE_CLAIMS: [&str; 2] = ["scope", "scp"];

/// The claims that name the client when an issuer names none, first present wins: `client_id`
/// (RFC 9068), `azp` (OpenID Connect), `cid` (Okta), `appid` (Entra ID v1).
pub const DEFAULT_CLIENT_ID_CLAIMS: [&str; 4] = ["client_id", "azp", "cid", "appid"];

/// A claim, or a claim nested in JSON objects, such as Keycloak's `realm_access.roles` (the
/// `roles` member of the `realm_access` object).
///
/// From a string, dots separate the levels; [`ClaimPath::name`] takes one claim name as it is,
/// for names that contain dots (Auth0's namespaced `https://example.com/roles`).
///
/// ```
/// use tower_client_credentials::protect::ClaimPath;
///
/// assert_eq!(ClaimPath::from("realm_access.roles").segments().count(), 2);
/// assert_eq!(ClaimPath::name("https://example.com/roles").segments().count(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimPath(Box<[String]>);

impl ClaimPath {
    /// The claim `name`, taken whole (dots included).
    pub fn name(name: impl Into<String>) -> Self {
        ClaimPath(Box::new([name.into()]))
    }

    /// A path given level by level: `["realm_access", "roles"]`.
    pub fn from_segments<I, T>(segments: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        ClaimPath(segments.into_iter().map(Into::into).collect())
    }

    /// The levels of the path, outermost first.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether the path names something: at least one level, none empty.
    pub(crate) fn is_valid(&self) -> bool {
        !self.0.is_empty() && self.0.iter().all(|s| !s.is_empty())
    }

    /// The value at this path: `Ok(None)` when a level is missing or the value is `null`;
    /// `Err` when a level above the last is not an object (the token is not shaped as the
    /// issuer's rules say).
    fn find<'c>(&self, claims: &'c ExtraClaims) -> Result<Option<&'c Value>, TokenError> {
        let Some((first, inner)) = self.0.split_first() else {
            return Ok(None);
        };
        let mut value = match claims.get(first) {
            Some(value) => value,
            None => return Ok(None),
        };
        for segment in inner {
            value = match value {
                Value::Object(object) => match object.get(segment) {
                    Some(value) => value,
                    None => return Ok(None),
                },
                Value::Null => return Ok(None),
                _ => return Err(TokenError::MissingClaim),
            };
        }
        Ok((!value.is_null()).then_some(value))
    }
}

impl From<&str> for ClaimPath {
    /// Dots separate the levels.
    fn from(path: &str) -> Self {
        ClaimPath(path.split('.').map(str::to_owned).collect())
    }
}

impl From<String> for ClaimPath {
    /// Dots separate the levels.
    fn from(path: String) -> Self {
        ClaimPath::from(path.as_str())
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(segment)?;
        }
        Ok(())
    }
}

pub(crate) fn paths(names: &[&str]) -> Vec<ClaimPath> {
    names.iter().map(|&name| ClaimPath::from(name)).collect()
}

/// The union of the scopes every path carries: each a space-separated string or an array of
/// strings. Entries that are not valid scope tokens (RFC 6749 §3.3: a role named `Some Role`, a
/// number in the array) are skipped with a debug log; the token is refused only when it carried
/// scope entries and not one of them was valid, or a scope claim is neither a string nor an
/// array.
pub(crate) fn scopes(claims: &ExtraClaims, paths: &[ClaimPath]) -> Result<ScopeSet, TokenError> {
    let mut scopes = ScopeSet::new();
    let (mut seen, mut skipped) = (0_usize, 0_usize);
    let mut add = |scopes: &mut ScopeSet, token: Option<&str>| {
        seen += 1;
        if !token.is_some_and(|token| scopes.insert_if_valid(token)) {
            skipped += 1;
        }
    };
    for path in paths {
        match path.find(claims)? {
            None => {}
            Some(Value::String(wire)) => wire
                .split(' ')
                .filter(|token| !token.is_empty())
                .for_each(|token| add(&mut scopes, Some(token))),
            Some(Value::Array(entries)) => entries
                .iter()
                .for_each(|entry| add(&mut scopes, entry.as_str())),
            Some(_) => return Err(TokenError::MissingClaim),
        }
    }
    if skipped > 0 {
        // The claim names only: scope values are the token's content (DESIGN decision 6).
        tracing::debug!(
            skipped,
            "skipped scope entries that are not RFC 6749 scope tokens"
        );
    }
    if seen > 0 && scopes.is_empty() {
        return Err(TokenError::MissingClaim);
    }
    Ok(scopes)
}

/// The first of `paths` present in the token, which must be a string.
pub(crate) fn client_id(
    claims: &ExtraClaims,
    paths: &[ClaimPath],
) -> Result<Option<String>, TokenError> {
    for path in paths {
        match path.find(claims)? {
            None => {}
            Some(Value::String(id)) => return Ok(Some(id.clone())),
            Some(_) => return Err(TokenError::MissingClaim),
        }
    }
    Ok(None)
}

/// The claims left for [`Claims::extra`](crate::Claims::extra), as `E`: moved as they are for
/// the default JSON map, deserialised from the map (no JSON text is read again) otherwise.
pub(crate) fn extra<E: DeserializeOwned + 'static>(claims: ExtraClaims) -> Result<E, TokenError> {
    let mut slot = Some(claims);
    let same = (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<E>>()
        .and_then(Option::take);
    match (same, slot) {
        (Some(extra), _) => Ok(extra),
        (None, Some(claims)) => {
            E::deserialize(Value::Object(claims)).map_err(|_| TokenError::MissingClaim)
        }
        (None, None) => Err(TokenError::MissingClaim),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> ExtraClaims {
        match value {
            Value::Object(map) => map,
            _ => ExtraClaims::new(),
        }
    }

    fn scopes_of(value: Value, paths: &[&str]) -> Result<String, TokenError> {
        scopes(&claims(value), &super::paths(paths)).map(|s| s.to_string())
    }

    #[test]
    fn scopes_are_the_union_of_strings_and_arrays() {
        let token = json!({
            "scope": "b a", "scp": ["c"], "realm_access": {"roles": ["r", "a"]},
        });
        let all = [
            "scope",
            "scp",
            "realm_access.roles",
            "absent",
            "realm_access.none",
        ];
        assert_eq!(scopes_of(token, &all).as_deref(), Ok("a b c r"));
        assert_eq!(scopes_of(json!({}), &all).as_deref(), Ok(""));
        assert_eq!(
            scopes_of(json!({"scp": [], "scope": ""}), &all).as_deref(),
            Ok("")
        );
        assert_eq!(scopes_of(json!({"scope": null}), &all).as_deref(), Ok(""));
    }

    #[test]
    fn invalid_entries_are_skipped_unless_nothing_valid_remains() {
        let paths = ["scp", "roles"];
        let some = json!({"scp": ["ok", "Some Role", 7, {"a": 1}], "roles": "x  y"});
        assert_eq!(scopes_of(some, &paths).as_deref(), Ok("ok x y"));
        let none = json!({"scp": ["Some Role", 7], "roles": "\"q\""});
        assert_eq!(scopes_of(none, &paths), Err(TokenError::MissingClaim));
    }

    #[test]
    fn a_scope_claim_of_the_wrong_shape_refuses_the_token() {
        for token in [
            json!({"scp": 1}),
            json!({"scp": {"a": "b"}}),
            json!({"realm_access": "roles"}),
            json!({"realm_access": ["roles"]}),
        ] {
            assert_eq!(
                scopes_of(token.clone(), &["scp", "realm_access.roles"]),
                Err(TokenError::MissingClaim),
                "{token}"
            );
        }
    }

    #[test]
    fn the_first_client_id_claim_present_wins() {
        let paths = super::paths(&DEFAULT_CLIENT_ID_CLAIMS);
        let id = |value| client_id(&claims(value), &paths);
        assert_eq!(id(json!({"appid": "a", "cid": "c"})), Ok(Some("c".into())));
        assert_eq!(
            id(json!({"azp": "z", "client_id": "id"})),
            Ok(Some("id".into()))
        );
        assert_eq!(
            id(json!({"client_id": null, "azp": "z"})),
            Ok(Some("z".into()))
        );
        assert_eq!(id(json!({"other": "x"})), Ok(None));
        assert_eq!(id(json!({"azp": 5})), Err(TokenError::MissingClaim));
    }

    #[test]
    fn a_dotted_name_can_be_taken_whole() {
        let token = claims(json!({"https://example.com/roles": ["admin"]}));
        let whole = [ClaimPath::name("https://example.com/roles")];
        assert_eq!(
            scopes(&token, &whole).map(|s| s.to_string()).as_deref(),
            Ok("admin")
        );
        let split = [ClaimPath::from("https://example.com/roles")];
        assert_eq!(scopes(&token, &split).map(|s| s.len()), Ok(0));
        assert_eq!(split[0].to_string(), "https://example.com/roles");
    }

    #[test]
    fn extra_is_moved_for_the_map_and_deserialised_otherwise() {
        #[derive(serde::Deserialize)]
        struct Tenant {
            tenant: String,
        }
        let map = claims(json!({"tenant": "acme", "azp": "z"}));
        let same: ExtraClaims = extra(map.clone()).unwrap();
        assert_eq!(same, map);
        let typed: Tenant = extra(map).unwrap();
        assert_eq!(typed.tenant, "acme");
        assert!(extra::<Tenant>(ExtraClaims::new()).is_err());
    }
}
