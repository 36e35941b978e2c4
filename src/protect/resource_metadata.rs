//! RFC 9728 protected-resource metadata: the document that tells a client which authorization
//! servers issue tokens for this resource and which scopes it knows, served at
//! `/.well-known/oauth-protected-resource` (§3), and named by the `resource_metadata` parameter
//! of the bearer challenges (§5.1). The Model Context Protocol's authorization spec requires
//! both.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
//! use tower_client_credentials::protect::resource_metadata_routes;
//! use tower_client_credentials::{BearerAuthLayer, ProtectedResourceMetadata, Validator};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! # let keys = KeySource::local(KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?));
//! let metadata = ProtectedResourceMetadata::builder("https://api.example.com/mcp")
//!     .authorization_server("https://auth.example.com")
//!     .scopes_supported(["tools:read", "tools:call"])
//!     .resource_name("Example MCP server")
//!     .build()?;
//! let validator = Validator::builder()
//!     .issuer("https://auth.example.com", keys)
//!     .audience(metadata.resource()) // RFC 8707: tokens are bound to the resource URL
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/mcp", get(|| async { "ok" }))
//!     .layer(BearerAuthLayer::new(validator).resource_metadata(&metadata))
//!     // GET /.well-known/oauth-protected-resource/mcp, outside the bearer layer
//!     .merge(resource_metadata_routes(&metadata));
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::future::Ready;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::Full;
use serde::Serialize;
use tower_service::Service;

use crate::scope::Scope;
use crate::well_known::{absolute_http_url, get_only, is_loopback_host, json, well_known_path};

/// RFC 9728 §3: the well-known suffix of protected-resource metadata.
const WELL_KNOWN_SUFFIX: &str = "oauth-protected-resource";

/// How long clients and caches may keep the document: it changes only with a deployment.
const CACHE_CONTROL: &str = "public, max-age=3600";

/// A [`ProtectedResourceMetadata`] configuration mistake; each variant names the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceMetadataConfigError {
    /// The `resource` is not an absolute `https` URL (`http` only to a loopback host, or with
    /// [`allow_http`](ProtectedResourceMetadataBuilder::allow_http)), or carries credentials, a
    /// query or a fragment (RFC 9728 §1.2), or `{` `}` in its path.
    #[error(
        "resource must be an https URL (http only to loopback) without credentials, query or fragment"
    )]
    BadResource,
    /// The authorization server at `index` (in the order given) is not an issuer identifier:
    /// an absolute `https` URL (`http` only to loopback) without credentials, query or fragment
    /// (RFC 8414 §2).
    #[error(
        "authorization_servers[{index}] must be an https URL (http only to loopback) without credentials, query or fragment"
    )]
    BadAuthorizationServer {
        /// Its position among the authorization servers, from 0.
        index: usize,
    },
    /// The scope at `index` (in the order given) is not an RFC 6749 scope token.
    #[error("scopes_supported[{index}] is not a valid scope")]
    BadScope {
        /// Its position among the scopes, from 0.
        index: usize,
    },
    /// The documentation URL is not an absolute `https` URL (`http` only to loopback) without
    /// credentials.
    #[error(
        "resource_documentation must be an https URL (http only to loopback) without credentials"
    )]
    BadDocumentation,
    /// An empty `resource_name`.
    #[error("resource_name must not be empty")]
    EmptyResourceName,
}

/// The RFC 9728 §2 metadata of a protected resource. Built with
/// [`ProtectedResourceMetadata::builder`], which checks every URL; serialized with exactly the
/// RFC's member names, unset optional members omitted:
///
/// ```
/// use tower_client_credentials::ProtectedResourceMetadata;
///
/// let metadata = ProtectedResourceMetadata::builder("https://api.example.com/mcp")
///     .authorization_server("https://auth.example.com")
///     .scopes_supported(["tools:read"])
///     .build()?;
/// assert_eq!(
///     metadata.to_json(),
///     r#"{"resource":"https://api.example.com/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["tools:read"],"bearer_methods_supported":["header"]}"#
/// );
/// assert_eq!(metadata.metadata_path(), "/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(
///     metadata.metadata_url(),
///     "https://api.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// # Ok::<(), tower_client_credentials::protect::ResourceMetadataConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectedResourceMetadata {
    resource: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    bearer_methods_supported: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
    #[serde(skip)]
    metadata_path: String,
    #[serde(skip)]
    metadata_url: String,
}

impl ProtectedResourceMetadata {
    /// Starts the metadata of the resource identified by `resource` (RFC 9728 §1.2: an
    /// `https` URL without fragment; the URL clients call, and the audience RFC 8707 binds
    /// their tokens to).
    pub fn builder(resource: impl Into<String>) -> ProtectedResourceMetadataBuilder {
        ProtectedResourceMetadataBuilder {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            resource_name: None,
            resource_documentation: None,
            allow_http: false,
        }
    }

    /// The resource identifier (`resource`), as given.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The issuer identifiers of the authorization servers (`authorization_servers`).
    pub fn authorization_servers(&self) -> &[String] {
        &self.authorization_servers
    }

    /// The scopes the resource knows (`scopes_supported`).
    pub fn scopes_supported(&self) -> &[String] {
        &self.scopes_supported
    }

    /// Always `["header"]`: [`BearerAuthLayer`](crate::BearerAuthLayer) reads tokens from the
    /// `Authorization` header only (`bearer_methods_supported`).
    pub fn bearer_methods_supported(&self) -> &[&'static str] {
        &self.bearer_methods_supported
    }

    /// The human-readable name (`resource_name`).
    pub fn resource_name(&self) -> Option<&str> {
        self.resource_name.as_deref()
    }

    /// The URL of the developer documentation (`resource_documentation`).
    pub fn resource_documentation(&self) -> Option<&str> {
        self.resource_documentation.as_deref()
    }

    /// The path to serve the document at (RFC 9728 §3.1): `/.well-known/oauth-protected-resource`,
    /// followed by the resource's path, if it has one (a terminating `/` dropped).
    pub fn metadata_path(&self) -> &str {
        &self.metadata_path
    }

    /// The URL of the document: the resource's scheme and authority, then
    /// [`metadata_path`](Self::metadata_path). The `resource_metadata` challenge parameter
    /// names it.
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The document as JSON.
    pub fn to_json(&self) -> String {
        // Strings and arrays of strings only: serialization cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Builds a [`ProtectedResourceMetadata`]; [`build`](Self::build) checks the settings.
#[derive(Debug, Clone)]
#[must_use]
pub struct ProtectedResourceMetadataBuilder {
    resource: String,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
    allow_http: bool,
}

impl ProtectedResourceMetadataBuilder {
    /// Adds an authorization server by its issuer identifier (RFC 8414 §2): the URL whose
    /// `/.well-known/oauth-authorization-server` metadata a client fetches next. RFC 9728 makes
    /// the member optional; MCP clients need at least one.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Adds several authorization servers; see [`authorization_server`](Self::authorization_server).
    pub fn authorization_servers<I>(mut self, issuers: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.authorization_servers
            .extend(issuers.into_iter().map(Into::into));
        self
    }

    /// The scopes a client may ask for to call this resource (`scopes_supported`).
    pub fn scopes_supported<I>(mut self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// A human-readable name for the resource (`resource_name`).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// The URL of the resource's developer documentation (`resource_documentation`).
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// Accepts `http` URLs to hosts other than loopback (always accepted), for a deployment
    /// behind a TLS-terminating proxy that names itself by an internal `http` URL, or for
    /// tests. RFC 9728 asks for `https`.
    pub fn allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Checks the settings and builds the document.
    pub fn build(self) -> Result<ProtectedResourceMetadata, ResourceMetadataConfigError> {
        let resource = parse_url(&self.resource, self.allow_http)
            .filter(|uri| uri.query().is_none() && !self.resource.contains('#'))
            // `{` `}` would make the path an axum route template, not a literal.
            .filter(|uri| !uri.path().contains(['{', '}']))
            .ok_or(ResourceMetadataConfigError::BadResource)?;
        for (index, issuer) in self.authorization_servers.iter().enumerate() {
            parse_url(issuer, self.allow_http)
                .filter(|uri| uri.query().is_none() && !issuer.contains('#'))
                .ok_or(ResourceMetadataConfigError::BadAuthorizationServer { index })?;
        }
        for (index, scope) in self.scopes_supported.iter().enumerate() {
            Scope::new(scope.as_str())
                .map_err(|_| ResourceMetadataConfigError::BadScope { index })?;
        }
        if let Some(url) = &self.resource_documentation {
            // A fragment names a section of the page: fine here, but `Uri` does not parse it.
            let page = url.split_once('#').map_or(url.as_str(), |(page, _)| page);
            parse_url(page, self.allow_http)
                .ok_or(ResourceMetadataConfigError::BadDocumentation)?;
        }
        if self.resource_name.as_deref() == Some("") {
            return Err(ResourceMetadataConfigError::EmptyResourceName);
        }
        let metadata_path = well_known_path(WELL_KNOWN_SUFFIX, resource.path());
        let metadata_url = match (resource.scheme_str(), resource.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}{metadata_path}"),
            _ => return Err(ResourceMetadataConfigError::BadResource),
        };
        Ok(ProtectedResourceMetadata {
            resource: self.resource,
            authorization_servers: self.authorization_servers,
            scopes_supported: self.scopes_supported,
            bearer_methods_supported: ["header"],
            resource_name: self.resource_name,
            resource_documentation: self.resource_documentation,
            metadata_path,
            metadata_url,
        })
    }
}

/// `url` as an absolute `https` URL (or `http` to loopback, or any `http` with `allow_http`)
/// with a host and without credentials. `Uri` admits ASCII only, so what passes is also a
/// valid header value.
fn parse_url(url: &str, allow_http: bool) -> Option<Uri> {
    let uri = absolute_http_url(url)?;
    let secure =
        uri.scheme_str() == Some("https") || allow_http || uri.host().is_some_and(is_loopback_host);
    secure.then_some(uri)
}

/// Serves a [`ProtectedResourceMetadata`] document: GET and HEAD get 200 `application/json`
/// with `Cache-Control: public, max-age=3600`; other methods 405 with `Allow: GET, HEAD`. The
/// JSON is serialized once, when the service is made; clones share it.
///
/// Mount it at [`ProtectedResourceMetadata::metadata_path`], outside the bearer layer (the
/// document is public), or use [`resource_metadata_routes`](crate::protect::resource_metadata_routes)
/// with axum.
#[derive(Clone, Debug)]
pub struct ResourceMetadataService {
    body: Bytes,
}

impl ResourceMetadataService {
    /// Serves `metadata`.
    pub fn new(metadata: &ProtectedResourceMetadata) -> Self {
        ResourceMetadataService {
            body: Bytes::from(metadata.to_json()),
        }
    }
}

impl<B> Service<Request<B>> for ResourceMetadataService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        get_only(&req, || json(self.body.clone(), CACHE_CONTROL))
    }
}

/// An axum router serving `metadata` at [`ProtectedResourceMetadata::metadata_path`]. Merge it
/// outside (after) the [`BearerAuthLayer`](crate::BearerAuthLayer): clients fetch the document
/// without a token.
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub fn resource_metadata_routes<S>(metadata: &ProtectedResourceMetadata) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    axum::Router::new().route_service(
        metadata.metadata_path(),
        ResourceMetadataService::new(metadata),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResourceMetadataConfigError as E;

    fn build(resource: &str) -> Result<ProtectedResourceMetadata, E> {
        ProtectedResourceMetadata::builder(resource).build()
    }

    #[test]
    fn metadata_path_inserts_the_well_known_segment_before_the_path() {
        for (resource, path, url) in [
            (
                "https://api.example.com",
                "/.well-known/oauth-protected-resource",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com/",
                "/.well-known/oauth-protected-resource",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com:8443/v1/mcp/",
                "/.well-known/oauth-protected-resource/v1/mcp",
                "https://api.example.com:8443/.well-known/oauth-protected-resource/v1/mcp",
            ),
            (
                "http://[::1]:3000/api",
                "/.well-known/oauth-protected-resource/api",
                "http://[::1]:3000/.well-known/oauth-protected-resource/api",
            ),
        ] {
            let metadata = build(resource).unwrap();
            assert_eq!(metadata.metadata_path(), path, "{resource}");
            assert_eq!(metadata.metadata_url(), url, "{resource}");
            assert_eq!(metadata.resource(), resource);
        }
    }

    #[test]
    fn bad_resources_are_refused() {
        for resource in [
            "",
            "/mcp",
            "api.example.com/mcp",
            "http://api.example.com/mcp",
            "http://10.0.0.1/mcp",
            "ftp://api.example.com/",
            "https://api.example.com/mcp#frag",
            "https://api.example.com/mcp?x=1",
            "https://user:pw@api.example.com/",
            "https://api.example.com/{id}",
            "https://api.example.com/m cp",
            "https://api.exämple.com/",
            "https://api.example.com/\r\nx",
        ] {
            assert_eq!(build(resource), Err(E::BadResource), "{resource:?}");
        }
        let http = ProtectedResourceMetadata::builder("http://api.internal/mcp")
            .allow_http()
            .build()
            .unwrap();
        assert_eq!(
            http.metadata_url(),
            "http://api.internal/.well-known/oauth-protected-resource/mcp"
        );
    }

    #[test]
    fn each_bad_setting_is_named() {
        let base = || ProtectedResourceMetadata::builder("https://api.example.com");
        assert_eq!(
            base()
                .authorization_server("https://auth.example.com")
                .authorization_servers(["http://auth.example.com"])
                .build(),
            Err(E::BadAuthorizationServer { index: 1 })
        );
        for issuer in [
            "https://auth.example.com/#x",
            "https://auth.example.com/?a=b",
            "auth",
        ] {
            assert_eq!(
                base().authorization_server(issuer).build(),
                Err(E::BadAuthorizationServer { index: 0 }),
                "{issuer}"
            );
        }
        assert_eq!(
            base().scopes_supported(["ok", "not ok"]).build(),
            Err(E::BadScope { index: 1 })
        );
        assert_eq!(
            base().scopes_supported(["a\"b"]).build(),
            Err(E::BadScope { index: 0 })
        );
        assert_eq!(
            base()
                .resource_documentation("http://docs.example.com")
                .build(),
            Err(E::BadDocumentation)
        );
        assert_eq!(base().resource_name("").build(), Err(E::EmptyResourceName));
        let docs = base()
            .resource_documentation("https://docs.example.com/api?v=2#auth")
            .build()
            .unwrap();
        assert_eq!(
            docs.resource_documentation(),
            Some("https://docs.example.com/api?v=2#auth")
        );
    }

    #[test]
    fn the_json_has_the_rfc_member_names_and_omits_unset_ones() {
        let minimal = build("https://api.example.com").unwrap();
        assert_eq!(
            minimal.to_json(),
            r#"{"resource":"https://api.example.com","bearer_methods_supported":["header"]}"#
        );
        let full = ProtectedResourceMetadata::builder("https://api.example.com/mcp")
            .authorization_servers(["https://a.example.com", "https://b.example.com/t1"])
            .scopes_supported(["read", "write"])
            .resource_name("Reports \"API\"")
            .resource_documentation("https://docs.example.com/")
            .build()
            .unwrap();
        assert_eq!(
            full.to_json(),
            concat!(
                r#"{"resource":"https://api.example.com/mcp","#,
                r#""authorization_servers":["https://a.example.com","https://b.example.com/t1"],"#,
                r#""scopes_supported":["read","write"],"bearer_methods_supported":["header"],"#,
                r#""resource_name":"Reports \"API\"","resource_documentation":"https://docs.example.com/"}"#
            )
        );
    }
}
