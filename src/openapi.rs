//! OpenAPI: describe the protection in your generated API docs (feature `utoipa`).
//!
//! [`ClientCredentialsScheme`] is an OAuth 2.0 security scheme with the client-credentials flow
//! (OpenAPI's `clientCredentials`): the token URL and the scopes, taken from your own
//! [`TokenIssuer`](crate::issue::TokenIssuer) ([`from_issuer`](ClientCredentialsScheme::from_issuer)),
//! from its RFC 8414 metadata ([`from_metadata`](ClientCredentialsScheme::from_metadata)), or
//! from the metadata document of another identity provider
//! ([`from_metadata_json`](ClientCredentialsScheme::from_metadata_json)). It is a utoipa
//! [`Modify`], so it adds itself to an `OpenApi` document, and
//! [`requirement`](ClientCredentialsScheme::requirement) gives the security requirement of a
//! route that a [`RequireScopeLayer`](crate::RequireScopeLayer) guards.
//!
//! ```
//! use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};
//! use utoipa::openapi::{InfoBuilder, OpenApiBuilder};
//! use utoipa::Modify;
//! use tower_client_credentials::openapi::ClientCredentialsScheme;
//!
//! let scheme = ClientCredentialsScheme::new("https://auth.example.com/oauth2/token")?
//!     .scope("reports:read", "Read reports");
//! let list = OperationBuilder::new().security(scheme.requirement(["reports:read"])).build();
//! let mut doc = OpenApiBuilder::new()
//!     .info(InfoBuilder::new().title("reports").version("1").build())
//!     .paths(PathsBuilder::new().path("/reports", PathItem::new(HttpMethod::Get, list)))
//!     .build();
//! scheme.modify(&mut doc);
//!
//! let json = serde_json::to_value(&doc)?;
//! assert_eq!(
//!     json["components"]["securitySchemes"]["oauth2"],
//!     serde_json::json!({
//!         "type": "oauth2",
//!         "flows": { "clientCredentials": {
//!             "tokenUrl": "https://auth.example.com/oauth2/token",
//!             "scopes": { "reports:read": "Read reports" }
//!         } }
//!     })
//! );
//! assert_eq!(
//!     json["paths"]["/reports"]["get"]["security"],
//!     serde_json::json!([{ "oauth2": ["reports:read"] }])
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use utoipa::Modify;
use utoipa::openapi::security::{
    ClientCredentials, Flow, OAuth2, Scopes, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ComponentsBuilder, OpenApi};

use crate::well_known::absolute_http_url;

/// The name a [`ClientCredentialsScheme`] is registered under unless
/// [`name`](ClientCredentialsScheme::name) says otherwise.
pub const DEFAULT_SCHEME_NAME: &str = "oauth2";

/// The largest metadata document [`ClientCredentialsScheme::from_metadata_json`] reads
/// (256 KiB, as the remote JWKS fetcher).
pub const MAX_METADATA_BYTES: usize = 256 * 1024;

/// An OAuth 2.0 client-credentials security scheme for an OpenAPI document.
///
/// Scopes keep the order of their names (OpenAPI maps them to descriptions); a scope added
/// twice keeps its last description.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentialsScheme {
    name: String,
    token_url: String,
    scopes: BTreeMap<String, String>,
    description: Option<String>,
    metadata_url: Option<String>,
}

impl ClientCredentialsScheme {
    /// A scheme whose tokens come from `token_url`, an absolute `http` or `https` URL.
    ///
    /// ```
    /// use tower_client_credentials::openapi::{ClientCredentialsScheme, OpenApiError};
    ///
    /// assert!(ClientCredentialsScheme::new("https://auth.example.com/token").is_ok());
    /// assert_eq!(
    ///     ClientCredentialsScheme::new("/token"),
    ///     Err(OpenApiError::NotAbsoluteUrl { field: "token_url" })
    /// );
    /// ```
    pub fn new(token_url: impl Into<String>) -> Result<Self, OpenApiError> {
        let token_url = token_url.into();
        check_absolute(&token_url, "token_url")?;
        Ok(ClientCredentialsScheme {
            name: DEFAULT_SCHEME_NAME.to_owned(),
            token_url,
            scopes: BTreeMap::new(),
            description: None,
            metadata_url: None,
        })
    }

    /// The scheme of a [`TokenIssuer`](crate::issue::TokenIssuer) of this crate: its token
    /// endpoint, and its `scopes_supported` (with empty descriptions; add them with
    /// [`scope`](Self::scope)).
    #[cfg(feature = "issue")]
    pub fn from_issuer(issuer: &crate::issue::TokenIssuer) -> Self {
        Self::from_metadata(&issuer.metadata())
    }

    /// The scheme described by this crate's RFC 8414 metadata: `token_endpoint` and
    /// `scopes_supported`.
    #[cfg(feature = "issue")]
    pub fn from_metadata(metadata: &crate::issue::AuthorizationServerMetadata) -> Self {
        // The issuer builder has already checked that the token endpoint is absolute.
        ClientCredentialsScheme {
            name: DEFAULT_SCHEME_NAME.to_owned(),
            token_url: metadata.token_endpoint.clone(),
            scopes: metadata
                .scopes_supported
                .iter()
                .map(|scope| (scope.clone(), String::new()))
                .collect(),
            description: None,
            metadata_url: None,
        }
    }

    /// The scheme described by another provider's metadata document: RFC 8414
    /// (`/.well-known/oauth-authorization-server`) or OpenID Connect discovery
    /// (`/.well-known/openid-configuration`), as fetched. It needs `token_endpoint`, an absolute
    /// URL; takes `scopes_supported` when present; and refuses a document whose
    /// `grant_types_supported` is present and lacks `client_credentials`.
    ///
    /// ```
    /// use tower_client_credentials::openapi::{ClientCredentialsScheme, OpenApiError};
    ///
    /// let doc = br#"{"issuer":"https://idp.example.com","token_endpoint":"https://idp.example.com/token",
    ///               "scopes_supported":["openid","orders"]}"#;
    /// let scheme = ClientCredentialsScheme::from_metadata_json(doc)?;
    /// assert_eq!(scheme.token_url(), "https://idp.example.com/token");
    /// assert_eq!(scheme.scopes().collect::<Vec<_>>(), ["openid", "orders"]);
    ///
    /// let no_cc = br#"{"token_endpoint":"https://idp.example.com/token",
    ///                 "grant_types_supported":["authorization_code"]}"#;
    /// assert_eq!(
    ///     ClientCredentialsScheme::from_metadata_json(no_cc),
    ///     Err(OpenApiError::NoClientCredentialsGrant)
    /// );
    /// # Ok::<(), OpenApiError>(())
    /// ```
    pub fn from_metadata_json(document: &[u8]) -> Result<Self, OpenApiError> {
        if document.len() > MAX_METADATA_BYTES {
            return Err(OpenApiError::TooLarge);
        }
        let metadata: ProviderMetadata =
            serde_json::from_slice(document).map_err(|_| OpenApiError::Malformed)?;
        let token_url = metadata
            .token_endpoint
            .ok_or(OpenApiError::MissingTokenEndpoint)?;
        if let Some(grants) = metadata.grant_types_supported
            && !grants.iter().any(|grant| grant == "client_credentials")
        {
            return Err(OpenApiError::NoClientCredentialsGrant);
        }
        let mut scheme = Self::new(token_url).map_err(|_| OpenApiError::NotAbsoluteUrl {
            field: "token_endpoint",
        })?;
        scheme.scopes = metadata
            .scopes_supported
            .unwrap_or_default()
            .into_iter()
            .map(|scope| (scope, String::new()))
            .collect();
        Ok(scheme)
    }

    /// Registers the scheme under `name` (default [`DEFAULT_SCHEME_NAME`], `oauth2`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Adds `scope` with its `description`, or describes a scope already listed.
    pub fn scope(mut self, scope: impl Into<String>, description: impl Into<String>) -> Self {
        self.scopes.insert(scope.into(), description.into());
        self
    }

    /// A description of the scheme (CommonMark).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The URL of the authorization server's RFC 8414 metadata (`oauth2MetadataUrl`, a field
    /// of OpenAPI 3.2: set it for 3.2 documents only, 3.1 does not know it).
    pub fn metadata_url(mut self, url: impl Into<String>) -> Result<Self, OpenApiError> {
        let url = url.into();
        check_absolute(&url, "metadata_url")?;
        self.metadata_url = Some(url);
        Ok(self)
    }

    /// The name the scheme is registered under.
    pub fn scheme_name(&self) -> &str {
        &self.name
    }

    /// The token URL.
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// The scopes' names, in order.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes.keys().map(String::as_str)
    }

    /// The utoipa security scheme: `type: oauth2` with one `clientCredentials` flow.
    pub fn security_scheme(&self) -> SecurityScheme {
        let scopes: Scopes = self
            .scopes
            .iter()
            .map(|(scope, description)| (scope.as_str(), description.as_str()))
            .collect();
        let flows = [Flow::ClientCredentials(ClientCredentials::new(
            self.token_url.as_str(),
            scopes,
        ))];
        let mut oauth2 = match &self.description {
            Some(description) => OAuth2::with_description(flows, description.as_str()),
            None => OAuth2::new(flows),
        };
        if let Some(url) = &self.metadata_url {
            oauth2 = oauth2.with_metadata_url(url.as_str());
        }
        SecurityScheme::OAuth2(oauth2)
    }

    /// The security requirement of an operation that needs `scopes` under this scheme: put it
    /// on the operations a [`RequireScopeLayer::all`](crate::RequireScopeLayer::all) guards
    /// (no scopes: any valid token).
    pub fn requirement<I, S>(&self, scopes: I) -> SecurityRequirement
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SecurityRequirement::new(self.name.as_str(), scopes)
    }
}

impl Modify for ClientCredentialsScheme {
    /// Adds the scheme to the document's `components.securitySchemes` (creating the
    /// components when the document has none), replacing a scheme of the same name.
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi
            .components
            .get_or_insert_with(|| ComponentsBuilder::new().build());
        components.add_security_scheme(self.name.as_str(), self.security_scheme());
    }
}

impl fmt::Debug for ClientCredentialsScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsScheme")
            .field("name", &self.name)
            .field("token_url", &self.token_url)
            .field("scopes", &self.scopes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why a [`ClientCredentialsScheme`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenApiError {
    /// A URL is not an absolute `http` or `https` URL.
    #[error("{field} is not an absolute http(s) URL")]
    NotAbsoluteUrl {
        /// The setting or metadata member at fault.
        field: &'static str,
    },
    /// The metadata document is larger than [`MAX_METADATA_BYTES`].
    #[error("the metadata document is larger than 256 KiB")]
    TooLarge,
    /// The metadata document is not a JSON object of the RFC 8414 shape (members of the wrong
    /// type included).
    #[error("the metadata document is malformed")]
    Malformed,
    /// The metadata document has no `token_endpoint`.
    #[error("the metadata document has no token_endpoint")]
    MissingTokenEndpoint,
    /// The metadata document lists `grant_types_supported` without `client_credentials`.
    #[error("the authorization server does not support the client_credentials grant")]
    NoClientCredentialsGrant,
}

/// The members of an RFC 8414 / OpenID Connect metadata document this module reads; the others
/// are ignored.
#[derive(Deserialize)]
struct ProviderMetadata {
    token_endpoint: Option<String>,
    scopes_supported: Option<Vec<String>>,
    grant_types_supported: Option<Vec<String>>,
}

fn check_absolute(url: &str, field: &'static str) -> Result<(), OpenApiError> {
    match absolute_http_url(url) {
        Some(_) => Ok(()),
        None => Err(OpenApiError::NotAbsoluteUrl { field }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheme_json(scheme: &ClientCredentialsScheme) -> serde_json::Value {
        serde_json::to_value(scheme.security_scheme()).unwrap()
    }

    #[test]
    fn the_scheme_serializes_as_openapi_says() {
        let scheme = ClientCredentialsScheme::new("https://a.example/token")
            .unwrap()
            .scope("b", "B")
            .scope("a", "A")
            .scope("b", "B again")
            .description("machine clients");
        assert_eq!(
            scheme_json(&scheme),
            serde_json::json!({
                "type": "oauth2",
                "description": "machine clients",
                "flows": { "clientCredentials": {
                    "tokenUrl": "https://a.example/token",
                    "scopes": { "a": "A", "b": "B again" }
                } }
            })
        );
        let with_metadata = scheme
            .metadata_url("https://a.example/.well-known/oauth-authorization-server")
            .unwrap();
        assert_eq!(
            scheme_json(&with_metadata)["oauth2MetadataUrl"],
            "https://a.example/.well-known/oauth-authorization-server"
        );
    }

    #[test]
    fn urls_must_be_absolute_http() {
        for bad in [
            "",
            "/token",
            "token",
            "ftp://a.example/token",
            "https://",
            "javascript:alert(1)",
            "https://a b/",
        ] {
            assert_eq!(
                ClientCredentialsScheme::new(bad),
                Err(OpenApiError::NotAbsoluteUrl { field: "token_url" }),
                "{bad:?}"
            );
        }
        let scheme = ClientCredentialsScheme::new("http://127.0.0.1:3000/oauth2/token").unwrap();
        assert_eq!(
            scheme.metadata_url("/.well-known/x"),
            Err(OpenApiError::NotAbsoluteUrl {
                field: "metadata_url"
            })
        );
    }

    #[test]
    fn hostile_metadata_documents_are_typed_errors() {
        let cases: [(&[u8], OpenApiError); 9] = [
            (b"", OpenApiError::Malformed),
            (b"[]", OpenApiError::Malformed),
            (b"{\"token_endpoint\":42}", OpenApiError::Malformed),
            (
                b"{\"token_endpoint\":\"https://a/t\",\"scopes_supported\":\"a b\"}",
                OpenApiError::Malformed,
            ),
            (
                b"{\"token_endpoint\":\"https://a/t\",\"scopes_supported\":[1]}",
                OpenApiError::Malformed,
            ),
            (b"{}", OpenApiError::MissingTokenEndpoint),
            (
                b"{\"token_endpoint\":null}",
                OpenApiError::MissingTokenEndpoint,
            ),
            (
                b"{\"token_endpoint\":\"/token\"}",
                OpenApiError::NotAbsoluteUrl {
                    field: "token_endpoint",
                },
            ),
            (
                b"{\"token_endpoint\":\"https://a/t\",\"grant_types_supported\":[]}",
                OpenApiError::NoClientCredentialsGrant,
            ),
        ];
        for (document, error) in cases {
            assert_eq!(
                ClientCredentialsScheme::from_metadata_json(document),
                Err(error),
                "{}",
                String::from_utf8_lossy(document)
            );
        }
        let mut huge = br#"{"token_endpoint":"https://a/t","x":""#.to_vec();
        huge.resize(MAX_METADATA_BYTES + 1, b'a');
        assert_eq!(
            ClientCredentialsScheme::from_metadata_json(&huge),
            Err(OpenApiError::TooLarge)
        );
    }

    #[test]
    fn a_duplicated_member_is_malformed() {
        let document = br#"{"token_endpoint":"https://a/t","token_endpoint":"https://evil/t"}"#;
        assert_eq!(
            ClientCredentialsScheme::from_metadata_json(document),
            Err(OpenApiError::Malformed)
        );
    }

    #[test]
    fn modify_adds_the_scheme_to_a_document_without_components() {
        let scheme = ClientCredentialsScheme::new("https://a.example/token")
            .unwrap()
            .name("m2m");
        let mut doc = utoipa::openapi::OpenApiBuilder::new().build();
        scheme.modify(&mut doc);
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(
            json["components"]["securitySchemes"]["m2m"]["flows"]["clientCredentials"]["tokenUrl"],
            "https://a.example/token"
        );
        assert_eq!(
            serde_json::to_value(scheme.requirement(Vec::<String>::new())).unwrap(),
            serde_json::json!({ "m2m": [] })
        );
    }
}
