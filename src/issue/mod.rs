//! The authorization-server half: the OAuth 2.0 client credentials grant (RFC 6749 §4.4) with
//! JWT access tokens (RFC 9068).
//!
//! [`TokenIssuer`] is the HTTP-free core (authenticate the client, apply its policy, sign);
//! [`ClientCredentialsTokenService`] is the tower service you mount at your token route, and
//! [`discovery_routes`] serves the JWKS and the RFC 8414 metadata.
//!
//! The token endpoint defends itself with defaults you can change on the builder:
//!
//! | defence | default | setting |
//! |---|---|---|
//! | Argon2id verifications at once | one per core, a request waits ≤ 1 s, then 503 + `Retry-After` | [`TokenIssuerBuilder::hashing_limit`] |
//! | Argon2id secrets that verified, remembered (keyed hash only) | 10 000 clients, 5 min each | [`TokenIssuerBuilder::credential_cache`] |
//! | failed authentications per client id | 10 a minute, then 429 + `Retry-After` | [`TokenIssuerBuilder::throttle`] |
//! | failed authentications per peer address | 100 a minute (needs axum's `ConnectInfo`) | [`TokenIssuerBuilder::throttle`] |
//! | forwarded headers | ignored | [`TokenIssuerBuilder::trusted_proxies`] |
//! | live assertion `jti`s | 100 000, at most 10 000 per client | [`TokenIssuerBuilder::replay_guard`] |
//! | request body | 16 KiB ([`MAX_BODY_BYTES`]) | — |
//!
//! Serve with `into_make_service_with_connect_info::<SocketAddr>()` for the per-peer limit.
//!
//! ```no_run
//! use std::time::Duration;
//! use axum::Router;
//! use tower_client_credentials::clients::MemoryClientStore;
//! use tower_client_credentials::issue::{discovery_routes, ClientCredentialsTokenService, TokenIssuer};
//! use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
//! let issuer = TokenIssuer::builder()
//!     .issuer("https://auth.example.com")
//!     .keys(ring)
//!     .clients(MemoryClientStore::from_toml_file("clients.toml")?)
//!     .default_ttl(Duration::from_secs(900))
//!     .build()?;
//! let app: Router = Router::new()
//!     .route_service("/oauth2/token", ClientCredentialsTokenService::new(issuer.clone()))
//!     .merge(discovery_routes(&issuer));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

mod assertion;
mod authenticate;
mod builder;
mod credential_cache;
mod discovery;
mod hashing;
mod policy;
mod request;
mod service;
mod sign;
pub mod throttle;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use crate::clients::ClientStore;
use crate::keys::KeyRing;
use crate::time::Clock;
use crate::token_endpoint::{OAuthError, TokenResponse};

pub use assertion::{
    MAX_ASSERTION_JTI_BYTES, MAX_ASSERTION_LIFETIME_SECS, MemoryReplayGuard, ReplayGuard,
};
pub use builder::{IssuerConfigError, TokenIssuerBuilder};
pub use credential_cache::{
    CredentialCache, CredentialCacheStats, DEFAULT_CREDENTIAL_CACHE_CAPACITY,
    DEFAULT_CREDENTIAL_CACHE_TTL, MAX_CREDENTIAL_CACHE_TTL,
};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use discovery::discovery_routes;
pub use discovery::{AuthorizationServerMetadata, JwksService, MetadataService};
pub use hashing::{DEFAULT_HASH_WAIT, HashingLimit, HashingPermit};
pub use request::{ClientAuth, JWT_BEARER_ASSERTION, TokenRequest};
pub use service::{ClientCredentialsTokenService, MAX_BODY_BYTES, TokenFuture};

/// Default access-token lifetime.
pub const DEFAULT_TTL: Duration = Duration::from_secs(900);
/// Default upper bound on any client's token lifetime.
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(3600);

/// Issues access tokens for the client credentials grant. Cheap to clone.
#[derive(Clone)]
pub struct TokenIssuer {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    token_endpoint: String,
    jwks_uri: String,
    keys: KeyRing,
    clients: Arc<dyn ClientStore>,
    replay: Arc<dyn ReplayGuard>,
    throttle: Arc<dyn throttle::AuthThrottle>,
    hashing: HashingLimit,
    credentials: credential_cache::VerifiedSecrets,
    proxies: throttle::TrustedProxies,
    lifetimes: policy::Lifetimes,
    clock: Clock,
    scopes_supported: Vec<String>,
    realm: String,
}

impl TokenIssuer {
    /// The issuer URL (`iss` of every token).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The token endpoint URL (published in the metadata; accepted as assertion `aud`).
    pub fn token_endpoint(&self) -> &str {
        &self.inner.token_endpoint
    }

    /// The JWKS URL published in the metadata.
    pub fn jwks_uri(&self) -> &str {
        &self.inner.jwks_uri
    }

    /// The key ring tokens are signed with.
    pub fn keys(&self) -> &KeyRing {
        &self.inner.keys
    }

    /// Forgets the verified secret remembered for `client_id` (see [`CredentialCache`]), so
    /// that its next grant pays Argon2id again and no keyed hash of its secret stays in memory.
    ///
    /// Correctness never needs it: a remembered secret only counts for the very record it
    /// verified against, and every grant compares it with the record the store returns then,
    /// so a rotated secret or a disabled or removed client is refused at its next grant
    /// anyway. Call it when the store reports a change (a hook for change notifications from a
    /// shared store) or after a suspected leak, to drop the entry now rather than at that
    /// next grant or when it expires.
    pub fn forget_credentials(&self, client_id: &str) {
        self.inner.credentials.forget(client_id);
    }

    /// Forgets every remembered verified secret (see [`TokenIssuer::forget_credentials`]):
    /// for a store that reloaded wholesale, or a suspected memory disclosure.
    pub fn forget_all_credentials(&self) {
        self.inner.credentials.forget_all();
    }

    /// How the credential cache is doing: hits (Argon2id checks answered without hashing),
    /// misses (Argon2id checks that hashed, wrong secrets and unknown ids included), entries
    /// and capacity.
    pub fn credential_cache_stats(&self) -> CredentialCacheStats {
        self.inner.credentials.stats()
    }

    /// Handles one token request in three steps: authenticate the client, decide what it gets
    /// (grant type, scope, audience, lifetime) from its registration, sign. An
    /// `invalid_client` error carries the `WWW-Authenticate: Basic` flag when the client used
    /// Basic authentication.
    ///
    /// The caller's address is unknown here, so only the per-client-id throttle applies: use
    /// [`TokenIssuer::issue_from`] when you know it.
    pub async fn issue(
        &self,
        auth: ClientAuth,
        request: TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        self.issue_from(None, auth, request).await
    }

    /// [`TokenIssuer::issue`] for a caller at `peer`, which the per-peer throttle counts
    /// failures against ([`ClientCredentialsTokenService`] passes the address of axum's
    /// `ConnectInfo`, or the one its [trusted proxies](TokenIssuerBuilder::trusted_proxies)
    /// name). A throttled attempt is `429` ([`OAuthErrorCode::TooManyRequests`]) with
    /// `Retry-After`; an Argon2id check that found no hashing permit in time is `503` with
    /// `Retry-After`.
    ///
    /// [`OAuthErrorCode::TooManyRequests`]: crate::token_endpoint::OAuthErrorCode::TooManyRequests
    pub async fn issue_from(
        &self,
        peer: Option<IpAddr>,
        auth: ClientAuth,
        request: TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        let auth_method = crate::metrics::auth_method_label(&auth);
        // No client id in the span: until authenticated it is whatever the caller sent (the
        // "access token issued" event inside names the authenticated one).
        let span = tracing::info_span!(
            "token_request",
            auth_method,
            outcome = tracing::field::Empty
        );
        let result = self
            .issue_in_span(peer, auth, request)
            .instrument(span.clone())
            .await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) => crate::metrics::oauth_code_label(error.code()),
        };
        span.record("outcome", outcome);
        crate::metrics::token_request(auth_method, outcome);
        result
    }

    async fn issue_in_span(
        &self,
        peer: Option<IpAddr>,
        auth: ClientAuth,
        request: TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        policy::check_grant_type(&request)?;
        let used_basic = auth.used_basic();
        let client = authenticate::client(&self.inner, peer, auth)
            .await
            .map_err(|e| e.with_basic_challenge(used_basic))?;
        let grant = policy::grant(&client, &request, self.inner.lifetimes)?;
        sign::access_token(&self.inner, &client, grant)
    }
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.inner.issuer)
            .field("token_endpoint", &self.inner.token_endpoint)
            .field("keys", &self.inner.keys)
            .field("default_ttl", &self.inner.lifetimes.default)
            .field("max_ttl", &self.inner.lifetimes.max)
            .field("hashing", &self.inner.hashing)
            .field("credential_cache", &self.inner.credentials)
            .field("trusted_proxies", &self.inner.proxies.addresses())
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Value, json};
    use zeroize::Zeroizing;

    use super::*;
    use crate::clients::{AuthMethod, Client, ClientSecret, MemoryClientStore};
    use crate::keys::{Algorithm, SigningKey};
    use crate::time::ManualClock;
    use crate::token_endpoint::OAuthErrorCode;

    const NOW: u64 = 1_900_000_000;
    const ISSUER: &str = "https://auth.test";

    struct Setup {
        issuer: TokenIssuer,
        time: ManualClock,
        secret: String,
        signer: SigningKey,
    }

    fn setup() -> Setup {
        let time = ManualClock::new(NOW);
        let (plain, stored) = ClientSecret::generate();
        let signer = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let clients = MemoryClientStore::new()
            .with_client(
                Client::builder("svc")
                    .secret(stored)
                    .audiences(["api"])
                    .build()
                    .unwrap(),
            )
            .with_client(
                Client::builder("signer")
                    .auth_methods([AuthMethod::PrivateKeyJwt])
                    .keys([signer.verifying_key().clone()])
                    .audiences(["api"])
                    .build()
                    .unwrap(),
            );
        let ring =
            KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap()).with_clock(time.clock());
        let issuer = TokenIssuer::builder()
            .issuer(ISSUER)
            .keys(ring)
            .clients(clients)
            .clock(time.clock())
            .build()
            .unwrap();
        Setup {
            issuer,
            time,
            secret: plain.expose().to_owned(),
            signer,
        }
    }

    fn claims(token: &str) -> Value {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    fn assertion(s: &Setup, exp: u64, jti: &str) -> ClientAuth {
        let claims = json!({
            "iss": "signer", "sub": "signer", "aud": ISSUER, "exp": exp, "jti": jti,
        });
        ClientAuth::PrivateKeyJwt {
            client_id: None,
            assertion: Zeroizing::new(s.signer.sign("JWT", &claims).unwrap()),
        }
    }

    #[tokio::test]
    async fn issued_iat_and_exp_come_from_the_issuer_clock() {
        let s = setup();
        let auth = ClientAuth::Basic {
            client_id: "svc".into(),
            secret: Zeroizing::new(s.secret.clone()),
        };
        let request = TokenRequest::client_credentials(None);
        let response = s.issuer.issue(auth, request).await.unwrap();
        let claims = claims(&response.access_token);
        assert_eq!(
            (claims["iat"].as_u64(), claims["exp"].as_u64()),
            (Some(NOW), Some(NOW + 900))
        );
        assert_eq!(response.expires_in, Some(900));
    }

    #[tokio::test]
    async fn assertion_time_checks_and_replay_memory_run_on_the_issuer_clock() {
        let s = setup();
        let request = || TokenRequest::client_credentials(None);
        // Years ahead of the system clock, a minute ahead of the issuer's: accepted.
        let first = assertion(&s, NOW + 60, "a");
        assert!(s.issuer.issue(first.clone(), request()).await.is_ok());
        let replay = s.issuer.issue(first, request()).await.unwrap_err();
        assert_eq!(replay.code(), &OAuthErrorCode::InvalidClient);
        // Past exp plus the leeway on the issuer's clock: expired.
        s.time.advance(Duration::from_secs(60 + 30));
        let late = s
            .issuer
            .issue(assertion(&s, NOW + 60, "b"), request())
            .await;
        assert_eq!(late.unwrap_err().code(), &OAuthErrorCode::InvalidClient);
        let fresh = assertion(&s, s.time.now() + 60, "c");
        assert!(s.issuer.issue(fresh, request()).await.is_ok());
    }

    #[tokio::test]
    async fn assertion_issued_beyond_the_leeway_in_the_future_is_invalid_client() {
        let s = setup();
        let with_iat = |iat: u64, jti: &str| {
            let claims = json!({
                "iss": "signer", "sub": "signer", "aud": ISSUER, "exp": NOW + 60,
                "iat": iat, "jti": jti,
            });
            ClientAuth::PrivateKeyJwt {
                client_id: None,
                assertion: Zeroizing::new(s.signer.sign("JWT", &claims).unwrap()),
            }
        };
        let request = || TokenRequest::client_credentials(None);
        let ahead = s.issuer.issue(with_iat(NOW + 31, "a"), request()).await;
        assert_eq!(ahead.unwrap_err().code(), &OAuthErrorCode::InvalidClient);
        // Within the 30 s leeway: accepted.
        assert!(
            s.issuer
                .issue(with_iat(NOW + 30, "b"), request())
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn two_live_secrets_both_work_until_the_old_one_expires_cached_or_not() {
        let time = ManualClock::new(NOW);
        let old = ClientSecret::hash_password("old-pw").unwrap();
        let new = ClientSecret::hash_password("new-pw").unwrap();
        let client = Client::builder("rot")
            .add_secret(old, Some(NOW + 60))
            .add_secret(new, None)
            .audiences(["api"])
            .build()
            .unwrap();
        let ring =
            KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap()).with_clock(time.clock());
        let issuer = TokenIssuer::builder()
            .issuer(ISSUER)
            .keys(ring)
            .clients(MemoryClientStore::new().with_client(client))
            .clock(time.clock())
            .build()
            .unwrap();
        let grant = |secret: &str| {
            let auth = ClientAuth::Basic {
                client_id: "rot".into(),
                secret: Zeroizing::new(secret.to_owned()),
            };
            issuer.issue(auth, TokenRequest::client_credentials(None))
        };
        for secret in ["old-pw", "old-pw", "new-pw", "new-pw"] {
            assert!(grant(secret).await.is_ok(), "{secret}");
        }
        // Each second grant came from the cache, the entry for the secret that matched (one
        // entry per client: alternating secrets would each pay Argon2id).
        assert_eq!(issuer.credential_cache_stats().hits, 2);
        assert!(grant("other").await.is_err());
        time.advance(Duration::from_secs(60));
        // Past its not_after the old secret is refused, though a success is cached for it.
        let refused = grant("old-pw").await.unwrap_err();
        assert_eq!(refused.code(), &OAuthErrorCode::InvalidClient);
        assert!(grant("new-pw").await.is_ok());
        assert_eq!(issuer.credential_cache_stats().hits, 3);
    }
}
