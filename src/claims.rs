//! Access-token claims (RFC 7519 §4.1, RFC 9068 §2.2).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::scope::ScopeSet;

/// The default type for claims this crate does not name: every other claim, as JSON.
pub type ExtraClaims = serde_json::Map<String, serde_json::Value>;

/// The verified claims of an access token.
///
/// [`BearerAuth`](crate::protect::BearerAuth) puts an `Arc<Claims<E>>` into the request extensions;
/// with the `axum` feature, handlers take `Claims<E>` (or `Option<Claims<E>>`) directly.
/// Claims this struct does not name are flattened into `extra` (`E`), so a deployment with
/// custom claims can use its own type:
///
/// ```
/// use serde::Deserialize;
/// use tower_client_credentials::Claims;
///
/// #[derive(Clone, Deserialize)]
/// struct Tenant { tenant: String }
///
/// let claims: Claims<Tenant> = serde_json::from_str(r#"{
///     "iss": "https://auth.example.com", "sub": "svc", "aud": ["a", "b"],
///     "exp": 1900000000, "scope": "reports:read", "tenant": "acme"
/// }"#)?;
/// assert_eq!(claims.extra.tenant, "acme");
/// assert!(claims.aud.contains("b"));
/// assert!(claims.scope.contains("reports:read"));
/// # Ok::<_, serde_json::Error>(())
/// ```
///
/// The [`Validator`](crate::Validator) fills `scope` and `client_id` from the claims its issuer's
/// rules name (`scp`, `azp`, Keycloak's `realm_access.roles`, …; see
/// [`TrustedIssuer`](crate::protect::TrustedIssuer)), so they read the same whichever identity
/// provider signed the token. `extra` never holds `scope` or `client_id` themselves; it keeps
/// every other claim, including those the scopes or the client id were read from.
///
/// `exp`, `nbf` and `iat` are NumericDates (RFC 7519 §2): whole seconds, or a number with a
/// fraction, which is dropped (`1900000000.9` reads as `1900000000`). Strings, negative numbers
/// and numbers beyond `u64` are refused.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims<E = ExtraClaims> {
    /// Issuer (`iss`): who signed the token.
    pub iss: String,
    /// Subject (`sub`): for client credentials, the client's id.
    pub sub: String,
    /// Audience (`aud`): the resource servers the token is meant for.
    pub aud: Audience,
    /// Expiry (`exp`), seconds since the Unix epoch.
    #[serde(deserialize_with = "numeric_date")]
    pub exp: u64,
    /// Issued at (`iat`), seconds since the Unix epoch.
    #[serde(
        default,
        deserialize_with = "optional_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<u64>,
    /// Not before (`nbf`), seconds since the Unix epoch.
    #[serde(
        default,
        deserialize_with = "optional_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<u64>,
    /// Token id (`jti`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The OAuth client the token was issued to: `client_id` (RFC 9068 §2.2), or, for a token
    /// the validator verified, the first claim its issuer names for it (`azp`, `cid`, `appid`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Granted scopes (`scope`, space-separated on the wire). Empty when absent. For a token the
    /// validator verified, every scope its issuer's scope claims carry (`scope`, `scp`, roles…).
    #[serde(default, skip_serializing_if = "ScopeSet::is_empty")]
    pub scope: ScopeSet,
    /// Every other claim.
    #[serde(flatten)]
    pub extra: E,
}

// Claims identify a caller; keep them out of logs except for the fields that name who it is.
impl<E> fmt::Debug for Claims<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("iss", &self.iss)
            .field("sub", &self.sub)
            .field("aud", &self.aud)
            .field("exp", &self.exp)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope.to_string())
            .finish_non_exhaustive()
    }
}

/// The `aud` claim: one audience or several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience string.
    One(String),
    /// An array of audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is among the token's audiences.
    ///
    /// ```
    /// use tower_client_credentials::Audience;
    /// assert!(Audience::One("api".into()).contains("api"));
    /// assert!(Audience::Many(vec!["x".into(), "api".into()]).contains("api"));
    /// assert!(!Audience::Many(vec![]).contains("api"));
    /// ```
    pub fn contains(&self, audience: &str) -> bool {
        self.iter().any(|a| a == audience)
    }

    /// Iterates over the audiences.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let slice: &[String] = match self {
            Audience::One(one) => std::slice::from_ref(one),
            Audience::Many(many) => many,
        };
        slice.iter().map(String::as_str)
    }
}

impl From<&str> for Audience {
    fn from(value: &str) -> Self {
        Audience::One(value.to_owned())
    }
}

impl From<String> for Audience {
    fn from(value: String) -> Self {
        Audience::One(value)
    }
}

/// A NumericDate (RFC 7519 §2): a non-negative JSON number of seconds below 2^64. A fraction is
/// dropped (identity providers that write `1900000000.0` mean the same second); strings,
/// negative numbers, NaN and numbers beyond `u64` are not dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumericDate(pub(crate) u64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Seconds;
        impl Visitor<'_> for Seconds {
            type Value = NumericDate;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative number of seconds")
            }

            fn visit_u64<Er: de::Error>(self, v: u64) -> Result<NumericDate, Er> {
                Ok(NumericDate(v))
            }

            fn visit_i64<Er: de::Error>(self, v: i64) -> Result<NumericDate, Er> {
                u64::try_from(v)
                    .map(NumericDate)
                    .map_err(|_| Er::invalid_value(de::Unexpected::Signed(v), &self))
            }

            fn visit_f64<Er: de::Error>(self, v: f64) -> Result<NumericDate, Er> {
                // 2^64: the first value `as u64` would saturate instead of convert.
                const LIMIT: f64 = 18_446_744_073_709_551_616.0;
                // NaN and the infinities are outside every range.
                if (0.0..LIMIT).contains(&v) {
                    // The cast truncates toward zero: the fraction is dropped.
                    Ok(NumericDate(v as u64))
                } else {
                    Err(Er::invalid_value(de::Unexpected::Float(v), &self))
                }
            }
        }
        deserializer.deserialize_any(Seconds)
    }
}

fn numeric_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    NumericDate::deserialize(deserializer).map(|date| date.0)
}

fn optional_numeric_date<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    Option::<NumericDate>::deserialize(deserializer).map(|date| date.map(|d| d.0))
}

/// A token's claims as the validator reads them, in one pass over the payload: the registered
/// claims every issuer's tokens carry, typed, and every other claim as JSON, so that each
/// issuer's rules can find its scopes and client id wherever its provider puts them before the
/// rest becomes [`Claims::extra`].
#[derive(Deserialize)]
pub(crate) struct Payload {
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) aud: Audience,
    pub(crate) exp: NumericDate,
    #[serde(default)]
    pub(crate) iat: Option<NumericDate>,
    #[serde(default)]
    pub(crate) nbf: Option<NumericDate>,
    #[serde(default)]
    pub(crate) jti: Option<String>,
    #[serde(flatten)]
    pub(crate) rest: UniqueClaims,
}

/// The claims a [`Payload`] does not name. A name given twice refuses the token, as it does for
/// the named ones (RFC 7519 §4: a parser must reject duplicates or keep only the last; keeping
/// one silently would let two parsers read different claims from one signed token).
pub(crate) struct UniqueClaims(pub(crate) ExtraClaims);

impl<'de> Deserialize<'de> for UniqueClaims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Claims;
        impl<'de> Visitor<'de> for Claims {
            type Value = UniqueClaims;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueClaims, A::Error> {
                let mut claims = ExtraClaims::new();
                while let Some((name, value)) = map.next_entry::<String, serde_json::Value>()? {
                    if claims.contains_key(&name) {
                        return Err(de::Error::custom("a claim is given twice"));
                    }
                    claims.insert(name, value);
                }
                Ok(UniqueClaims(claims))
            }
        }
        deserializer.deserialize_map(Claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(json: &str) -> Result<u64, serde_json::Error> {
        serde_json::from_str::<NumericDate>(json).map(|d| d.0)
    }

    #[test]
    fn numeric_dates_drop_a_fraction_and_refuse_the_rest() {
        assert_eq!(date("1900000000").ok(), Some(1_900_000_000));
        assert_eq!(date("1900000000.0").ok(), Some(1_900_000_000));
        assert_eq!(date("1900000000.999").ok(), Some(1_900_000_000));
        assert_eq!(date("1.9e9").ok(), Some(1_900_000_000));
        assert_eq!(date("0.5").ok(), Some(0));
        assert_eq!(date("18446744073709551615").ok(), Some(u64::MAX));
        for refused in [
            "-1",
            "-0.5",
            "18446744073709551616",
            "1e20",
            "\"1900000000\"",
            "null",
            "true",
            "[1]",
        ] {
            assert!(date(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn claims_read_float_dates() {
        let claims: Claims = serde_json::from_str(
            r#"{"iss":"i","sub":"s","aud":"a","exp":1900000000.5,"iat":1899999999.5}"#,
        )
        .unwrap();
        assert_eq!(
            (claims.exp, claims.iat),
            (1_900_000_000, Some(1_899_999_999))
        );
    }

    #[test]
    fn a_claim_given_twice_is_refused() {
        let payload = r#"{"iss":"i","sub":"s","aud":"a","exp":1,"scp":"a","scp":"b"}"#;
        assert!(serde_json::from_str::<Payload>(payload).is_err());
        let payload = r#"{"iss":"i","sub":"s","aud":"a","exp":1,"scp":"a","azp":"b"}"#;
        let payload: Payload = serde_json::from_str(payload).unwrap();
        assert_eq!(payload.rest.0.len(), 2);
    }
}
