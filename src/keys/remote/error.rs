//! Why remote keys could not be fetched, or a [`RemoteKeys`](super::RemoteKeys) not built.

use crate::keys::KeyError;

/// Why a fetch of remote keys failed. The last good keys keep serving meanwhile. Never
/// carries URLs, response bodies or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteKeysError {
    /// The connection could not be made.
    #[error("could not connect to the key provider")]
    Connect,
    /// A request took longer than the request timeout.
    #[error("the key provider did not answer in time")]
    Timeout,
    /// The request failed after connecting (TLS, protocol, reset).
    #[error("the request to the key provider failed")]
    Transport,
    /// The provider answered with an HTTP error status.
    #[error("the key provider answered HTTP {0}")]
    Status(u16),
    /// The provider redirected to another host, another port, or from `https` to `http`.
    #[error("the key provider redirected to another host")]
    Redirect,
    /// The body is larger than 256 KiB.
    #[error("the key provider's response is larger than 256 KiB")]
    TooLarge,
    /// The metadata is not JSON with an `issuer` and a `jwks_uri` URL.
    #[error("the issuer metadata is invalid")]
    InvalidMetadata,
    /// The metadata's `issuer` is neither the configured issuer nor one of its aliases.
    #[error("the issuer metadata names another issuer")]
    IssuerMismatch,
    /// The metadata's `jwks_uri` is not `https` (nor loopback `http`, nor allowed `http`).
    #[error("the jwks_uri is not an https URL")]
    InsecureJwksUri,
    /// The JWKS is not a JSON Web Key Set.
    #[error("the JWKS document is invalid")]
    InvalidJwks,
    /// The JWKS has no key this crate can verify with.
    #[error("the JWKS has no usable key")]
    NoUsableKey,
    /// No tokio runtime to fetch on.
    #[error("no tokio runtime to fetch keys on")]
    NoRuntime,
}

/// Why [`RemoteKeysBuilder::build`](super::RemoteKeysBuilder::build) refused its settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteKeysConfigError {
    /// The issuer or JWKS URL is not an absolute URL.
    #[error("not a valid URL")]
    InvalidUrl,
    /// `http` to a host that is not loopback, without `allow_http`; or a scheme other than
    /// `http`/`https`.
    #[error("the URL must be https (http only to loopback, or with allow_http)")]
    InsecureUrl,
    /// The URL carries a user name or password.
    #[error("the URL must not carry credentials")]
    CredentialsInUrl,
    /// An issuer with a query or fragment (RFC 8414 §2 forbids both).
    #[error("an issuer URL has no query or fragment")]
    IssuerQueryOrFragment,
    /// The initial JWKS is invalid, or has no usable key.
    #[error("the initial JWKS is not usable: {0}")]
    InvalidSeed(KeyError),
    /// A duration setting is zero, or the bounds contradict each other.
    #[error("invalid setting: {0}")]
    InvalidSetting(&'static str),
    /// The built-in HTTP client could not be built.
    #[error("the HTTP client could not be built")]
    Client,
}

impl From<crate::http_client::UrlProblem> for RemoteKeysConfigError {
    fn from(problem: crate::http_client::UrlProblem) -> Self {
        match problem {
            crate::http_client::UrlProblem::Insecure => RemoteKeysConfigError::InsecureUrl,
            crate::http_client::UrlProblem::Credentials => RemoteKeysConfigError::CredentialsInUrl,
        }
    }
}
