//! [`ClientCredentials`]: who the client is, where it gets tokens, and how it authenticates.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use tokio::sync::OnceCell;
use zeroize::Zeroizing;

use super::request::TokenEndpoint;
use crate::ScopeSet;
use crate::http_client::{UrlProblem, check_url, default_client};
use crate::keys::SigningKey;

/// How long a connection to the token endpoint may take to open, by default.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one token request may take, by default.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a private_key_jwt assertion lives.
pub(super) const ASSERTION_LIFETIME_SECS: u64 = 60;

/// A client-credentials client (RFC 6749 §4.4): the token endpoint, the client id, how the
/// client authenticates, and what it asks for. Cheap to clone.
///
/// Build one with [`ClientCredentials::builder`], or from the usual environment variables with
/// [`ClientCredentials::from_env`]; hand it to a [`CachedTokenSource`](super::CachedTokenSource)
/// or a [`TokenSources`](super::TokenSources). `Debug` never shows the secret or the key.
///
/// ```
/// use tower_client_credentials::outbound::ClientCredentials;
///
/// let client = ClientCredentials::builder()
///     .token_endpoint("https://auth.example.com/oauth2/token")
///     .client_id("billing")
///     .client_secret("s3cr3t")
///     .scope("reports:read reports:write")
///     .resource("https://reports.example.com/")
///     .build()?;
/// assert_eq!(client.client_id(), "billing");
/// assert!(!format!("{client:?}").contains("s3cr3t"));
/// # Ok::<_, tower_client_credentials::outbound::ClientConfigError>(())
/// ```
#[derive(Clone)]
pub struct ClientCredentials {
    pub(super) inner: Arc<Config>,
}

pub(super) struct Config {
    pub(super) endpoint: Endpoint,
    pub(super) client_id: String,
    pub(super) auth: Auth,
    pub(super) scope: ScopeSet,
    pub(super) resources: Vec<String>,
    pub(super) params: Vec<(String, String)>,
    pub(super) http: reqwest::Client,
    pub(super) request_timeout: Duration,
    pub(super) allow_http: bool,
}

/// Where the token endpoint is.
pub(super) enum Endpoint {
    /// Configured.
    Url(Url),
    /// Named by the issuer's RFC 8414 (or OpenID Connect) metadata, found once.
    Issuer {
        issuer: Url,
        found: OnceCell<TokenEndpoint>,
    },
}

/// How the client authenticates to the token endpoint.
#[derive(Clone)]
pub(super) enum Auth {
    /// `client_secret_basic` (RFC 6749 §2.3.1).
    Basic(Secret),
    /// `client_secret_post`.
    Post(Secret),
    /// `private_key_jwt` (RFC 7523 §2.2): an assertion signed for every request.
    PrivateKeyJwt {
        key: SigningKey,
        audience: Option<String>,
    },
}

/// Where the client secret comes from.
#[derive(Clone)]
pub(super) enum Secret {
    /// Given, or read from an environment variable when the client was built.
    Value(Arc<Zeroizing<String>>),
    /// Read from this file for every token request, so that a rotated secret (a mounted
    /// Kubernetes secret, say) is picked up; surrounding whitespace is trimmed.
    File(PathBuf),
}

impl Secret {
    /// The secret now.
    pub(super) async fn read(&self) -> Result<Zeroizing<String>, super::TokenSourceError> {
        match self {
            Secret::Value(value) => Ok(Zeroizing::new(value.as_str().to_owned())),
            Secret::File(path) => {
                let raw = tokio::fs::read(path).await.map_err(|_| {
                    super::TokenSourceError::Secret(format!("file {}", path.display()))
                })?;
                secret_from_bytes(raw).ok_or_else(|| {
                    super::TokenSourceError::Secret(format!("file {}", path.display()))
                })
            }
        }
    }
}

/// A secret file's contents: UTF-8, trimmed, not empty.
fn secret_from_bytes(raw: Vec<u8>) -> Option<Zeroizing<String>> {
    let raw = Zeroizing::new(raw);
    let text = std::str::from_utf8(&raw).ok()?.trim();
    (!text.is_empty()).then(|| Zeroizing::new(text.to_owned()))
}

/// How a client secret is sent: in the `Authorization` header (the default, which RFC 6749
/// §2.3.1 requires servers to support) or in the form body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretMethod {
    /// `client_secret_basic`: HTTP Basic with the form-encoded id and secret.
    #[default]
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post,
}

/// Why a [`ClientCredentials`] could not be built. Names the setting (or environment
/// variable) at fault; never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientConfigError {
    /// Neither a token endpoint nor an issuer was given.
    #[error("a token endpoint or an issuer is required")]
    MissingEndpoint,
    /// No client id, or an empty one.
    #[error("a client id is required")]
    MissingClientId,
    /// No secret and no private key.
    #[error("a client secret (value, environment variable or file) or a private key is required")]
    MissingCredentials,
    /// A URL setting is not an absolute `http(s)` URL.
    #[error("{0} is not an absolute URL")]
    InvalidUrl(&'static str),
    /// A URL that is `http` to a host other than loopback (without `allow_http`), or carries
    /// credentials.
    #[error(
        "{0} must be https (http only to loopback, or with allow_http) and carry no credentials"
    )]
    InsecureUrl(&'static str),
    /// The scope is not a space-separated list of RFC 6749 §3.3 scope tokens.
    #[error("the scope is not valid: {0}")]
    InvalidScope(crate::ScopeError),
    /// A `resource` is not an absolute URI without a fragment (RFC 8707 §2).
    #[error("a resource must be an absolute URI without a fragment")]
    InvalidResource,
    /// An extra parameter would replace one the client sets itself (`grant_type`, `scope`,
    /// `resource`, `client_id`, `client_secret`, `client_assertion`, `client_assertion_type`).
    #[error("the parameter {0} is set by the client itself")]
    ReservedParameter(String),
    /// The secret's environment variable or file cannot be read, or is empty.
    #[error("the client secret cannot be read from {0}")]
    Secret(String),
    /// A timeout is zero.
    #[error("{0} must be greater than zero")]
    ZeroTimeout(&'static str),
    /// The HTTP client could not be built (no TLS backend).
    #[error("the HTTP client could not be built")]
    HttpClient,
    /// An environment variable read by [`ClientCredentials::from_env`] is missing or malformed.
    #[error("environment variable {var}: {problem}")]
    Env {
        /// The variable.
        var: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// Builds a [`ClientCredentials`]; see there.
#[derive(Default)]
pub struct ClientCredentialsBuilder {
    token_endpoint: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    secret: Option<SecretSetting>,
    method: SecretMethod,
    key: Option<(SigningKey, Option<String>)>,
    scope: Option<String>,
    resources: Vec<String>,
    params: Vec<(String, String)>,
    http: Option<reqwest::Client>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    allow_http: bool,
}

enum SecretSetting {
    Value(Zeroizing<String>),
    Env(String),
    File(PathBuf),
}

/// The form parameters the client sets itself.
const RESERVED: [&str; 7] = [
    "grant_type",
    "scope",
    "resource",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

impl ClientCredentials {
    /// A builder with nothing set.
    pub fn builder() -> ClientCredentialsBuilder {
        ClientCredentialsBuilder::default()
    }

    /// A client from the usual environment variables:
    ///
    /// | variable | |
    /// |---|---|
    /// | `OAUTH_CLIENT_ID` | required |
    /// | `OAUTH_CLIENT_SECRET` or `OAUTH_CLIENT_SECRET_FILE` | one of them (the file is re-read for every token request) |
    /// | `OAUTH_TOKEN_ENDPOINT` or `OAUTH_ISSUER` | one of them (the issuer's RFC 8414 metadata names the endpoint) |
    /// | `OAUTH_SCOPE` | optional, space-separated |
    /// | `OAUTH_RESOURCE` | optional, space-separated absolute URIs (RFC 8707) |
    /// | `OAUTH_TOKEN_ENDPOINT_AUTH_METHOD` | optional: `client_secret_basic` (default) or `client_secret_post` |
    ///
    /// The error names the variable that is missing or malformed.
    pub fn from_env() -> Result<Self, ClientConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`ClientCredentials::from_env`] with the variables read through `var` instead of the
    /// process environment (a test, a config map).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use tower_client_credentials::outbound::{ClientConfigError, ClientCredentials};
    ///
    /// let vars = HashMap::from([
    ///     ("OAUTH_CLIENT_ID", "billing"),
    ///     ("OAUTH_CLIENT_SECRET", "s3cr3t"),
    /// ]);
    /// let err = ClientCredentials::from_vars(|v| vars.get(v).map(|s| s.to_string())).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "environment variable OAUTH_TOKEN_ENDPOINT: missing (or set OAUTH_ISSUER)"
    /// );
    /// ```
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ClientConfigError> {
        let env = |name: &'static str, problem: &'static str| ClientConfigError::Env {
            var: name,
            problem,
        };
        let present = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let mut builder = ClientCredentials::builder();
        let client_id = present("OAUTH_CLIENT_ID").ok_or(env("OAUTH_CLIENT_ID", "missing"))?;
        builder = builder.client_id(client_id.trim());
        builder = match (
            present("OAUTH_CLIENT_SECRET"),
            present("OAUTH_CLIENT_SECRET_FILE"),
        ) {
            (Some(secret), None) => builder.client_secret(secret),
            (None, Some(file)) => builder.client_secret_file(file),
            (Some(_), Some(_)) => {
                return Err(env(
                    "OAUTH_CLIENT_SECRET",
                    "set either it or OAUTH_CLIENT_SECRET_FILE, not both",
                ));
            }
            (None, None) => {
                return Err(env(
                    "OAUTH_CLIENT_SECRET",
                    "missing (or set OAUTH_CLIENT_SECRET_FILE)",
                ));
            }
        };
        builder = match (present("OAUTH_TOKEN_ENDPOINT"), present("OAUTH_ISSUER")) {
            (Some(url), None) => builder.token_endpoint(url.trim()),
            (None, Some(url)) => builder.issuer(url.trim()),
            (Some(_), Some(_)) => {
                return Err(env(
                    "OAUTH_TOKEN_ENDPOINT",
                    "set either it or OAUTH_ISSUER, not both",
                ));
            }
            (None, None) => {
                return Err(env("OAUTH_TOKEN_ENDPOINT", "missing (or set OAUTH_ISSUER)"));
            }
        };
        if let Some(scope) = present("OAUTH_SCOPE") {
            ScopeSet::parse(scope.trim())
                .map_err(|_| env("OAUTH_SCOPE", "not a space-separated list of scopes"))?;
            builder = builder.scope(scope.trim());
        }
        if let Some(resources) = present("OAUTH_RESOURCE") {
            for resource in resources.split_ascii_whitespace() {
                check_resource(resource).map_err(|_| {
                    env(
                        "OAUTH_RESOURCE",
                        "not a space-separated list of absolute URIs without fragments",
                    )
                })?;
                builder = builder.resource(resource);
            }
        }
        if let Some(method) = present("OAUTH_TOKEN_ENDPOINT_AUTH_METHOD") {
            builder = builder.secret_method(match method.trim() {
                "client_secret_basic" => SecretMethod::Basic,
                "client_secret_post" => SecretMethod::Post,
                _ => {
                    return Err(env(
                        "OAUTH_TOKEN_ENDPOINT_AUTH_METHOD",
                        "must be client_secret_basic or client_secret_post",
                    ));
                }
            });
        }
        builder.build().map_err(|error| match error {
            ClientConfigError::InvalidUrl(_) | ClientConfigError::InsecureUrl(_) => {
                if present("OAUTH_ISSUER").is_some() {
                    env("OAUTH_ISSUER", "not an https URL")
                } else {
                    env("OAUTH_TOKEN_ENDPOINT", "not an https URL")
                }
            }
            ClientConfigError::Secret(_) => env(
                "OAUTH_CLIENT_SECRET_FILE",
                "the file cannot be read, or is empty",
            ),
            other => other,
        })
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The scope it asks for (empty: the endpoint's default for the client).
    pub fn scope(&self) -> &ScopeSet {
        &self.inner.scope
    }

    /// The RFC 8707 resources it asks for.
    pub fn resources(&self) -> &[String] {
        &self.inner.resources
    }

    /// The same client asking for `scope` instead: for a second scope set through
    /// [`TokenSources`](super::TokenSources).
    pub fn with_scope(&self, scope: &str) -> Result<Self, ClientConfigError> {
        let scope = ScopeSet::parse(scope).map_err(ClientConfigError::InvalidScope)?;
        Ok(self.derive(|config| config.scope = scope))
    }

    /// The same client asking for the RFC 8707 `resources` instead.
    pub fn with_resources<I, R>(&self, resources: I) -> Result<Self, ClientConfigError>
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        let mut list = Vec::new();
        for resource in resources {
            let resource = resource.into();
            check_resource(&resource)?;
            list.push(resource);
        }
        Ok(self.derive(|config| config.resources = list))
    }

    /// A copy of the configuration with one change; a discovered endpoint is kept.
    fn derive(&self, change: impl FnOnce(&mut Config)) -> Self {
        let c = &self.inner;
        let endpoint = match &c.endpoint {
            Endpoint::Url(url) => Endpoint::Url(url.clone()),
            Endpoint::Issuer { issuer, found } => Endpoint::Issuer {
                issuer: issuer.clone(),
                found: found.clone(),
            },
        };
        let mut config = Config {
            endpoint,
            client_id: c.client_id.clone(),
            auth: c.auth.clone(),
            scope: c.scope.clone(),
            resources: c.resources.clone(),
            params: c.params.clone(),
            http: c.http.clone(),
            request_timeout: c.request_timeout,
            allow_http: c.allow_http,
        };
        change(&mut config);
        ClientCredentials {
            inner: Arc::new(config),
        }
    }

    /// What identifies the tokens this client gets: the endpoint (or issuer), the client id,
    /// the scope set, the resources and the extra parameters, each normalised.
    pub(super) fn cache_key(&self) -> CacheKey {
        let c = &self.inner;
        let endpoint = match &c.endpoint {
            Endpoint::Url(url) => format!("token {url}"),
            Endpoint::Issuer { issuer, .. } => format!("issuer {issuer}"),
        };
        let mut resources = c.resources.clone();
        resources.sort();
        resources.dedup();
        let mut params = c.params.clone();
        params.sort();
        CacheKey {
            endpoint,
            client_id: c.client_id.clone(),
            scope: c.scope.to_string(),
            resources,
            params,
        }
    }
}

/// The identity of a client's tokens, for [`TokenSources`](super::TokenSources).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct CacheKey {
    endpoint: String,
    client_id: String,
    scope: String,
    resources: Vec<String>,
    params: Vec<(String, String)>,
}

impl CacheKey {
    /// SHA-256 of every field, each length-prefixed, as lowercase hex: the key of these tokens
    /// in a [`SharedTokenCache`](super::SharedTokenCache). Never derived from the secret.
    pub(super) fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_be_bytes());
            hash.update(bytes);
        };
        field(b"tcc-token-v1");
        field(self.endpoint.as_bytes());
        field(self.client_id.as_bytes());
        field(self.scope.as_bytes());
        field(&(self.resources.len() as u64).to_be_bytes());
        for resource in &self.resources {
            field(resource.as_bytes());
        }
        field(&(self.params.len() as u64).to_be_bytes());
        for (name, value) in &self.params {
            field(name.as_bytes());
            field(value.as_bytes());
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn check_resource(resource: &str) -> Result<(), ClientConfigError> {
    match Url::parse(resource) {
        Ok(url) if url.fragment().is_none() => Ok(()),
        _ => Err(ClientConfigError::InvalidResource),
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        let (endpoint, url) = match &c.endpoint {
            Endpoint::Url(url) => ("token_endpoint", url),
            Endpoint::Issuer { issuer, .. } => ("issuer", issuer),
        };
        let auth = match &c.auth {
            Auth::Basic(_) => "client_secret_basic",
            Auth::Post(_) => "client_secret_post",
            Auth::PrivateKeyJwt { .. } => "private_key_jwt",
        };
        f.debug_struct("ClientCredentials")
            .field(endpoint, &url.as_str())
            .field("client_id", &c.client_id)
            .field("auth", &auth)
            .field("scope", &c.scope.to_string())
            .field("resources", &c.resources)
            .finish_non_exhaustive()
    }
}

impl ClientCredentialsBuilder {
    /// The token endpoint's URL.
    pub fn token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.token_endpoint = Some(url.into());
        self
    }

    /// The issuer whose RFC 8414 metadata (or, failing that, OpenID Connect discovery
    /// document) names the token endpoint; fetched before the first token request. The
    /// document's `issuer` must equal this one.
    pub fn issuer(mut self, url: impl Into<String>) -> Self {
        self.issuer = Some(url.into());
        self
    }

    /// The client id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The client secret. Sent as [`SecretMethod::Basic`] unless
    /// [`secret_method`](Self::secret_method) says otherwise.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(SecretSetting::Value(Zeroizing::new(secret.into())));
        self
    }

    /// The client secret, read from the environment variable `var` when the client is built.
    pub fn client_secret_env(mut self, var: impl Into<String>) -> Self {
        self.secret = Some(SecretSetting::Env(var.into()));
        self
    }

    /// The client secret, read from the file at `path` (whitespace around it trimmed) for
    /// every token request, so that a rotated file is picked up. The file must be readable
    /// when the client is built.
    pub fn client_secret_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.secret = Some(SecretSetting::File(path.into()));
        self
    }

    /// How the secret is sent (default [`SecretMethod::Basic`]).
    pub fn secret_method(mut self, method: SecretMethod) -> Self {
        self.method = method;
        self
    }

    /// Authenticates with `private_key_jwt` (RFC 7523 §2.2) instead of a secret: each token
    /// request, retries included, carries a new assertion signed with `key` (`iss` = `sub` =
    /// the client id, `aud` = the token endpoint URL, a 60-second `exp`, a fresh random
    /// `jti`).
    pub fn private_key_jwt(mut self, key: SigningKey) -> Self {
        self.key = Some((key, None));
        self
    }

    /// The assertion's `aud` when the server wants something other than its token endpoint
    /// URL (some want the issuer).
    pub fn assertion_audience(mut self, audience: impl Into<String>) -> Self {
        if let Some((_, aud)) = &mut self.key {
            *aud = Some(audience.into());
        }
        self
    }

    /// The scopes to ask for, space-separated.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// An RFC 8707 `resource` to ask for (an absolute URI); may be repeated. Sent only when
    /// set: many providers refuse anything but absolute URIs there, and some refuse it
    /// altogether.
    pub fn resource(mut self, uri: impl Into<String>) -> Self {
        self.resources.push(uri.into());
        self
    }

    /// An extra form parameter (Auth0's `audience`, for one). Part of the token cache key.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// The `reqwest` client to send token (and metadata) requests with, instead of the
    /// crate's own (rustls, the timeouts below, redirects only within one host). The request
    /// timeout still bounds every request; the client's redirect policy is yours.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// How long opening a connection may take (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one token request may take, start to end (default 10 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Allows `http` URLs to hosts other than loopback (which is always allowed). For test
    /// networks only: the secret crosses the wire in the clear.
    pub fn allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<ClientCredentials, ClientConfigError> {
        let (what, raw) = match (self.token_endpoint, self.issuer) {
            (Some(url), _) => ("the token endpoint", url),
            (None, Some(url)) => ("the issuer", url),
            (None, None) => return Err(ClientConfigError::MissingEndpoint),
        };
        let url = Url::parse(&raw).map_err(|_| ClientConfigError::InvalidUrl(what))?;
        if url.cannot_be_a_base() || url.host_str().is_none() {
            return Err(ClientConfigError::InvalidUrl(what));
        }
        check_url(&url, self.allow_http).map_err(|problem| match problem {
            UrlProblem::Insecure | UrlProblem::Credentials => ClientConfigError::InsecureUrl(what),
        })?;
        let endpoint = if what == "the issuer" {
            Endpoint::Issuer {
                issuer: url.clone(),
                found: OnceCell::new(),
            }
        } else {
            Endpoint::Url(url.clone())
        };
        let client_id = self
            .client_id
            .filter(|id| !id.is_empty())
            .ok_or(ClientConfigError::MissingClientId)?;
        let auth = match (self.key, self.secret) {
            (Some((key, audience)), _) => Auth::PrivateKeyJwt { key, audience },
            (None, Some(secret)) => {
                let secret = match secret {
                    SecretSetting::Value(value) if !value.is_empty() => {
                        Secret::Value(Arc::new(value))
                    }
                    SecretSetting::Value(_) => return Err(ClientConfigError::MissingCredentials),
                    SecretSetting::Env(var) => {
                        let value = std::env::var(&var)
                            .ok()
                            .map(Zeroizing::new)
                            .filter(|v| !v.is_empty())
                            .ok_or_else(|| {
                                ClientConfigError::Secret(format!("environment variable {var}"))
                            })?;
                        Secret::Value(Arc::new(value))
                    }
                    SecretSetting::File(path) => {
                        let readable = std::fs::read(&path).ok().and_then(secret_from_bytes);
                        if readable.is_none() {
                            return Err(ClientConfigError::Secret(format!(
                                "file {}",
                                path.display()
                            )));
                        }
                        Secret::File(path)
                    }
                };
                match self.method {
                    SecretMethod::Basic => Auth::Basic(secret),
                    SecretMethod::Post => Auth::Post(secret),
                }
            }
            (None, None) => return Err(ClientConfigError::MissingCredentials),
        };
        let scope = ScopeSet::parse(self.scope.as_deref().unwrap_or("").trim())
            .map_err(ClientConfigError::InvalidScope)?;
        for resource in &self.resources {
            check_resource(resource)?;
        }
        if let Some((name, _)) = self
            .params
            .iter()
            .find(|(name, _)| RESERVED.contains(&name.as_str()))
        {
            return Err(ClientConfigError::ReservedParameter(name.clone()));
        }
        let connect_timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let request_timeout = self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT);
        if connect_timeout.is_zero() {
            return Err(ClientConfigError::ZeroTimeout("the connect timeout"));
        }
        if request_timeout.is_zero() {
            return Err(ClientConfigError::ZeroTimeout("the request timeout"));
        }
        let http = match self.http {
            Some(client) => client,
            None => default_client(&url, connect_timeout, request_timeout)
                .map_err(|_| ClientConfigError::HttpClient)?,
        };
        Ok(ClientCredentials {
            inner: Arc::new(Config {
                endpoint,
                client_id,
                auth,
                scope,
                resources: self.resources,
                params: self.params,
                http,
                request_timeout,
                allow_http: self.allow_http,
            }),
        })
    }
}

impl fmt::Debug for ClientCredentialsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsBuilder")
            .field("token_endpoint", &self.token_endpoint)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}
