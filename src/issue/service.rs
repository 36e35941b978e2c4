//! [`ClientCredentialsTokenService`]: the token endpoint as a tower service.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, Response, header};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use tower_service::Service;

use super::TokenIssuer;
use super::request;
use crate::token_endpoint::{OAuthError, OAuthErrorCode};

/// The most body the token endpoint reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The future of [`ClientCredentialsTokenService`]. Boxed: a token request waits on the client
/// store and on secret hashing, so one allocation is noise here (unlike the protect path).
pub type TokenFuture =
    Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

/// The token endpoint (`POST`, `application/x-www-form-urlencoded`, RFC 6749 §4.4.2) as a
/// tower service, generic over the request body. Mount it with axum's `route_service`.
///
/// Never fails at the service level: every problem is an RFC 6749 §5.2 JSON response. The
/// caller's address for the per-peer throttle is axum's `ConnectInfo<SocketAddr>` request
/// extension (serve with `into_make_service_with_connect_info::<SocketAddr>()`), or the address
/// the issuer's trusted proxies name; without it only the per-client-id throttle applies.
#[derive(Clone, Debug)]
pub struct ClientCredentialsTokenService {
    issuer: TokenIssuer,
}

impl ClientCredentialsTokenService {
    /// Serves token requests for `issuer`.
    pub fn new(issuer: TokenIssuer) -> Self {
        ClientCredentialsTokenService { issuer }
    }
}

impl<B> Service<Request<B>> for ClientCredentialsTokenService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = TokenFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let issuer = self.issuer.clone();
        Box::pin(async move {
            Ok(match handle(&issuer, req).await {
                Ok(response) => response,
                Err(error) => error.to_response(&issuer.inner.realm),
            })
        })
    }
}

async fn handle<B>(
    issuer: &TokenIssuer,
    req: Request<B>,
) -> Result<Response<Full<Bytes>>, OAuthError>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let (parts, body) = req.into_parts();
    // Refused before the client authentication is read: counted here, the rest by the issuer.
    let (auth, request) = async {
        check_head(&parts)?;
        let body = read_body(body).await?;
        request::parse(&parts.headers, &body)
    }
    .await
    .inspect_err(|error| {
        crate::metrics::token_request("unknown", crate::metrics::oauth_code_label(error.code()))
    })?;
    let peer = tcp_peer(&parts).map(|direct| issuer.inner.proxies.caller(direct, &parts.headers));
    Ok(issuer.issue_from(peer, auth, request).await?.to_response())
}

/// The TCP peer, when the server put it in the request (axum's `ConnectInfo`).
fn tcp_peer(parts: &Parts) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return Some(info.0.ip());
    }
    #[cfg(not(feature = "axum"))]
    let _ = parts;
    None
}

/// RFC 6749 §4.4.2: a form POST. A declared length over the limit is refused unread.
fn check_head(parts: &Parts) -> Result<(), OAuthError> {
    if parts.method != Method::POST {
        return Err(OAuthError::new(
            OAuthErrorCode::MethodNotAllowed,
            "the token endpoint accepts POST only",
        ));
    }
    let form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(OAuthError::invalid_request(
            "the content type must be application/x-www-form-urlencoded",
        ));
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    Ok(())
}

/// The body, at most [`MAX_BODY_BYTES`] of it, whatever the framing.
async fn read_body<B>(body: B) -> Result<Bytes, OAuthError>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(_) => Err(OAuthError::invalid_request(
            "the request body could not be read",
        )),
    }
}

fn too_large() -> OAuthError {
    OAuthError::new(
        OAuthErrorCode::RequestTooLarge,
        "the request body is too large",
    )
}
