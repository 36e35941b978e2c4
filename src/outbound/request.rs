//! One token request: the form, the client authentication, and reading the answer with the
//! crate's own [`TokenResponse`] / [`OAuthError`] types.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Url;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::config::{ASSERTION_LIFETIME_SECS, Auth, ClientCredentials, Endpoint};
use super::{AccessToken, TokenSourceError};
use crate::http_client::{check_url, metadata_urls, same_host};
use crate::token_endpoint::{OAuthError, TokenResponse};

/// The largest token or metadata answer read, in bytes.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// RFC 7523 §2.2.
const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A token endpoint URL found by discovery.
pub(super) type TokenEndpoint = Url;

/// What one attempt produced: a token, or an error and how long the endpoint asked to wait
/// before the next attempt.
pub(super) struct Failure {
    pub(super) error: TokenSourceError,
    pub(super) retry_after: Option<Duration>,
}

impl From<TokenSourceError> for Failure {
    fn from(error: TokenSourceError) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
}

impl ClientCredentials {
    /// One token request at `now` (Unix seconds), bounded by `timeout`.
    pub(super) async fn request_token(
        &self,
        now: u64,
        timeout: Duration,
    ) -> Result<TokenResponse, Failure> {
        let timeout = timeout.min(self.inner.request_timeout);
        match tokio::time::timeout(timeout, self.request_token_inner(now, timeout)).await {
            Ok(result) => result,
            Err(_) => Err(TokenSourceError::Timeout.into()),
        }
    }

    async fn request_token_inner(
        &self,
        now: u64,
        timeout: Duration,
    ) -> Result<TokenResponse, Failure> {
        let c = &self.inner;
        let endpoint = self.endpoint_url().await?;
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        let scope = c.scope.to_string();
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        for resource in &c.resources {
            form.push(("resource", resource));
        }
        for (name, value) in &c.params {
            form.push((name, value));
        }
        let mut request = c
            .http
            .post(endpoint.clone())
            .header(ACCEPT, "application/json")
            .timeout(timeout);
        // Held until the request is sent, then wiped.
        let secret: Zeroizing<String>;
        let assertion: Zeroizing<String>;
        match &c.auth {
            Auth::Basic(source) => {
                secret = source.read().await?;
                let mut value = HeaderValue::from_str(&basic(&c.client_id, &secret))
                    .map_err(|_| TokenSourceError::Secret("its value".to_owned()))?;
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
            Auth::Post(source) => {
                secret = source.read().await?;
                form.push(("client_id", &c.client_id));
                form.push(("client_secret", &secret));
            }
            Auth::PrivateKeyJwt { key, audience } => {
                let claims = AssertionClaims {
                    iss: &c.client_id,
                    sub: &c.client_id,
                    aud: audience.as_deref().unwrap_or(endpoint.as_str()),
                    iat: now,
                    exp: now + ASSERTION_LIFETIME_SECS,
                    jti: crate::random::id(),
                };
                assertion = Zeroizing::new(
                    key.sign("JWT", &claims)
                        .map_err(|_| TokenSourceError::Signing)?,
                );
                form.push(("client_id", &c.client_id));
                form.push(("client_assertion_type", JWT_BEARER_ASSERTION));
                form.push(("client_assertion", &assertion));
            }
        }
        let body = Zeroizing::new(form_encode(&form));
        let request = request
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.as_bytes().to_vec());
        let response = request.send().await.map_err(transport)?;
        if !same_host(&endpoint, response.url()) {
            return Err(TokenSourceError::InvalidResponse("redirected to another host").into());
        }
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = read_limited(response).await?;
        if status.is_success() {
            let answer: TokenResponse = serde_json::from_slice(&body)
                .map_err(|_| TokenSourceError::InvalidResponse("not a token response"))?;
            if !answer.is_bearer() {
                return Err(TokenSourceError::InvalidResponse("not a Bearer token").into());
            }
            return Ok(answer);
        }
        let error = match serde_json::from_slice::<OAuthError>(&body) {
            Ok(error) if !status.is_redirection() => TokenSourceError::Refused {
                status: status.as_u16(),
                error,
            },
            _ => TokenSourceError::Status(status.as_u16()),
        };
        Err(Failure { error, retry_after })
    }

    /// The token endpoint: configured, or found (once) in the issuer's metadata.
    async fn endpoint_url(&self) -> Result<Url, TokenSourceError> {
        match &self.inner.endpoint {
            Endpoint::Url(url) => Ok(url.clone()),
            Endpoint::Issuer { issuer, found } => found
                .get_or_try_init(|| self.discover(issuer))
                .await
                .cloned(),
        }
    }

    /// RFC 8414 metadata, then OpenID Connect's when the first answers with an error status;
    /// its `issuer` must be the configured one and its `token_endpoint` a URL the client may
    /// use.
    async fn discover(&self, issuer: &Url) -> Result<Url, TokenSourceError> {
        #[derive(Deserialize)]
        struct Metadata {
            issuer: String,
            token_endpoint: Option<String>,
        }
        let mut document = None;
        for url in metadata_urls(issuer) {
            let response = self
                .inner
                .http
                .get(url.clone())
                .header(ACCEPT, "application/json")
                .timeout(self.inner.request_timeout)
                .send()
                .await
                .map_err(|e| transport(e).error)?;
            if !same_host(&url, response.url()) {
                return Err(TokenSourceError::Discovery("redirected to another host"));
            }
            if response.status().is_success() {
                document = Some(read_limited(response).await.map_err(|f| f.error)?);
                break;
            }
            tracing::debug!(status = response.status().as_u16(), "no metadata at {url}");
        }
        let document = document.ok_or(TokenSourceError::Discovery("no metadata document"))?;
        let metadata: Metadata = serde_json::from_slice(&document)
            .map_err(|_| TokenSourceError::Discovery("the metadata is not valid JSON"))?;
        // RFC 8414 §3.3: the issuer must be identical; compared as configured and as parsed.
        if metadata.issuer != issuer.as_str()
            && Url::parse(&metadata.issuer).ok().as_ref() != Some(issuer)
        {
            return Err(TokenSourceError::Discovery(
                "the metadata names another issuer",
            ));
        }
        let endpoint = metadata
            .token_endpoint
            .and_then(|raw| Url::parse(&raw).ok())
            .ok_or(TokenSourceError::Discovery(
                "the metadata has no token_endpoint",
            ))?;
        check_url(&endpoint, self.inner.allow_http)
            .map_err(|_| TokenSourceError::Discovery("the token endpoint is not https"))?;
        Ok(endpoint)
    }

    /// The token a successful answer carries, refreshed from `now + min(margin, lifetime / 2)`
    /// before its expiry; a token without `expires_in` lives `default_lifetime`.
    pub(super) fn token_from(
        answer: TokenResponse,
        now: u64,
        margin: Duration,
        default_lifetime: Duration,
    ) -> Result<AccessToken, TokenSourceError> {
        let lifetime = answer.expires_in.unwrap_or(default_lifetime.as_secs());
        let expires_at = now.saturating_add(lifetime);
        let early = margin.as_secs().min(lifetime / 2);
        AccessToken::new(&answer.access_token, expires_at, answer.scope)
            .map(|token| token.with_refresh_at(expires_at - early))
            .map_err(|_| TokenSourceError::InvalidResponse("the token cannot be sent in a header"))
    }
}

/// RFC 6749 §2.3.1: the id and the secret are form-encoded, joined with `:` and base64-encoded.
fn basic(client_id: &str, secret: &str) -> Zeroizing<String> {
    let joined = Zeroizing::new(format!(
        "{}:{}",
        form_component(client_id),
        *Zeroizing::new(form_component(secret))
    ));
    Zeroizing::new(format!("Basic {}", STANDARD.encode(joined.as_bytes())))
}

/// `application/x-www-form-urlencoded` (the WHATWG serializer, as RFC 6749 Appendix B asks).
fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&form_component(name));
        out.push('=');
        out.push_str(&form_component(value));
    }
    out
}

fn form_component(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
    out
}

/// `Retry-After` as delay-seconds (RFC 9110 §10.2.3); an HTTP date is read as "soon".
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    match value.parse::<u64>() {
        Ok(seconds) => Some(Duration::from_secs(seconds)),
        Err(_) => Some(Duration::from_secs(1)),
    }
}

/// A body of at most [`MAX_ANSWER_BYTES`], read chunk by chunk.
async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
    const TOO_LARGE: TokenSourceError = TokenSourceError::InvalidResponse("larger than 64 KiB");
    if response
        .content_length()
        .is_some_and(|len| len > MAX_ANSWER_BYTES as u64)
    {
        return Err(TOO_LARGE.into());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(TOO_LARGE.into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn transport(error: reqwest::Error) -> Failure {
    // reqwest's message names the URL and OS details: kept out of the error, logged at debug.
    tracing::debug!(%error, "token request failed");
    let error = if error.is_timeout() {
        TokenSourceError::Timeout
    } else if error.is_connect() {
        TokenSourceError::Connect
    } else {
        TokenSourceError::Transport
    };
    error.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_before_base64() {
        let value = basic("my client", "p@ss:w+rd");
        let decoded = STANDARD.decode(&value["Basic ".len()..]).unwrap();
        assert_eq!(decoded, b"my+client:p%40ss%3Aw%2Brd");
    }

    #[test]
    fn forms_are_encoded_per_appendix_b() {
        assert_eq!(
            form_encode(&[("grant_type", "client_credentials"), ("scope", "a:b c/d")]),
            "grant_type=client_credentials&scope=a%3Ab+c%2Fd"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_treats_dates_as_soon() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(1)));
    }

    #[test]
    fn the_refresh_margin_is_the_smaller_of_the_setting_and_half_the_lifetime() {
        let margin = Duration::from_secs(60);
        let default = Duration::from_secs(60);
        let long = TokenResponse::bearer("t").with_expires_in(3600);
        let token = ClientCredentials::token_from(long, 1000, margin, default).unwrap();
        assert_eq!((token.refresh_at(), token.expires_at()), (4540, 4600));
        let short = TokenResponse::bearer("t").with_expires_in(30);
        let token = ClientCredentials::token_from(short, 1000, margin, default).unwrap();
        assert_eq!((token.refresh_at(), token.expires_at()), (1015, 1030));
        let none = TokenResponse::bearer("t");
        let token = ClientCredentials::token_from(none, 1000, margin, default).unwrap();
        assert_eq!((token.refresh_at(), token.expires_at()), (1030, 1060));
        let bad = TokenResponse::bearer("t\nX-Injected: 1").with_expires_in(60);
        assert!(ClientCredentials::token_from(bad, 1000, margin, default).is_err());
    }
}
