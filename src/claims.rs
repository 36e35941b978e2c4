//! Access-token claims (RFC 7519 §4.1, RFC 9068 §2.2).

use std::fmt;

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
    pub exp: u64,
    /// Issued at (`iat`), seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Not before (`nbf`), seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Token id (`jti`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The OAuth client the token was issued to (`client_id`, RFC 9068 §2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Granted scopes (`scope`, space-separated on the wire). Empty when absent.
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
