//! The `testing` feature over real HTTP: an axum app on 127.0.0.1 behind `TestIssuer::layer()`
//! (every kind of broken token refused with its exact challenge), and `MockTokenEndpoint`
//! driven by the crate's own outbound client.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::{get_bearer, serve};
use serde_json::{Value, json};
use tower_client_credentials::keys::Algorithm;
use tower_client_credentials::testing::TestIssuer;
use tower_client_credentials::time::ManualClock;
use tower_client_credentials::{Claims, RequireScopeLayer};

async fn whoami(claims: Claims) -> axum::Json<Value> {
    axum::Json(json!({
        "iss": claims.iss, "sub": claims.sub, "client_id": claims.client_id,
        "scope": claims.scope.to_string(), "aud": claims.aud,
    }))
}

/// `issuer`'s layer in front of `/whoami` and `/reports` (needs `reports:read`), on 127.0.0.1.
async fn api(issuer: &TestIssuer) -> String {
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route(
            "/reports",
            get(whoami).layer(RequireScopeLayer::all(["reports:read"])),
        )
        .layer(issuer.layer());
    serve(app).await
}

fn refused(description: &str) -> (u16, Option<String>, String) {
    (
        401,
        Some(format!(
            r#"Bearer realm="api", error="invalid_token", error_description="{description}""#
        )),
        String::new(),
    )
}

#[tokio::test]
async fn a_test_issuer_token_is_accepted_with_its_claims() {
    let issuer = TestIssuer::new();
    let base = api(&issuer).await;
    let token = issuer
        .token()
        .client_id("svc-a")
        .scope("reports:read reports:write")
        .sign();
    let (status, challenge, body) = get_bearer(&format!("{base}/reports"), Some(&token)).await;
    assert_eq!((status, challenge), (200, None));
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({
            "iss": "https://issuer.test", "sub": "svc-a", "client_id": "svc-a",
            "scope": "reports:read reports:write", "aud": "test-api",
        })
    );
    // The one-liner: a default client with a scope.
    let (status, _, body) = get_bearer(
        &format!("{base}/reports"),
        Some(&issuer.token_with_scope("reports:read")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["sub"],
        "test-client"
    );
}

#[tokio::test]
async fn each_invalid_kind_is_refused_with_its_exact_challenge() {
    let issuer = TestIssuer::builder()
        .issuer("https://auth.example.com")
        .audience("reports-api")
        .build()
        .unwrap();
    let base = api(&issuer).await;
    let url = format!("{base}/whoami");
    let cases = [
        ("expired", issuer.token().expired(), "the token has expired"),
        (
            "not yet valid",
            issuer.token().not_yet_valid(),
            "the token is not valid yet",
        ),
        (
            "wrong audience",
            issuer.token().wrong_audience(),
            "the token audience is not accepted",
        ),
        (
            "another audience",
            issuer.token().audience("other-api"),
            "the token audience is not accepted",
        ),
        (
            "wrong issuer",
            issuer.token().issuer("https://evil.example"),
            "the token issuer is not trusted",
        ),
        (
            "wrong key",
            issuer.token().signed_by_wrong_key(),
            "the token signature is invalid",
        ),
        (
            "unknown kid",
            issuer.token().signed_by_unknown_key(),
            "the signing key is not known",
        ),
        (
            "typ JWT",
            issuer.token().typ("JWT"),
            "the token type is not accepted",
        ),
        (
            "no typ",
            issuer.token().typ(""),
            "the token type is not accepted",
        ),
        (
            "no exp",
            issuer.token().without_claim("exp"),
            "the token lacks a required claim",
        ),
        (
            "lifetime beyond a day",
            issuer.token().expires_in(Duration::from_secs(90_000)),
            "the token lifetime is too long",
        ),
    ];
    for (what, builder, description) in cases {
        assert_eq!(
            get_bearer(&url, Some(&builder.sign())).await,
            refused(description),
            "{what}"
        );
    }
    // A valid token of the same issuer passes the same route.
    let (status, _, _) = get_bearer(&url, Some(&issuer.token().sign())).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_missing_scope_is_403_and_other_algorithms_work_too() {
    let issuer = TestIssuer::builder()
        .algorithm(Algorithm::ES256)
        .build()
        .unwrap();
    let base = api(&issuer).await;
    let (status, challenge, _) = get_bearer(
        &format!("{base}/reports"),
        Some(&issuer.token_with_scope("audit:read")),
    )
    .await;
    assert_eq!(
        (status, challenge.as_deref()),
        (
            403,
            Some(r#"Bearer realm="api", error="insufficient_scope", scope="reports:read""#)
        )
    );
    let token = issuer.token_with_scope("reports:read");
    assert_eq!(common::decode_part(&token, 0)["alg"], "ES256");
    assert_eq!(
        get_bearer(&format!("{base}/reports"), Some(&token)).await.0,
        200
    );
}

#[tokio::test]
async fn a_manual_clock_moves_tokens_and_validator_together() {
    let time = ManualClock::new(1_900_000_000);
    let issuer = TestIssuer::builder().clock(time.clock()).build().unwrap();
    let base = api(&issuer).await;
    let token = issuer.token().expires_in(Duration::from_secs(60)).sign();
    assert_eq!(
        common::decode_part(&token, 1)["exp"],
        json!(1_900_000_060u64)
    );
    assert_eq!(
        get_bearer(&format!("{base}/whoami"), Some(&token)).await.0,
        200
    );
    // Past exp and the 30 s leeway: the cached verification is not trusted any more.
    time.advance(Duration::from_secs(90));
    assert_eq!(
        get_bearer(&format!("{base}/whoami"), Some(&token)).await,
        refused("the token has expired")
    );
}

/// MockTokenEndpoint, driven by the crate's outbound client (feature `client`).
#[cfg(feature = "client")]
mod mock_endpoint {
    use super::*;
    use common::{http, parts};
    use http::StatusCode;
    use tower_client_credentials::keys::SigningKey;
    use tower_client_credentials::outbound::{
        CachedTokenSource, ClientCredentials, SecretMethod, TokenSource, TokenSourceError,
    };
    use tower_client_credentials::testing::{MockAnswer, MockTokenEndpoint};
    use tower_client_credentials::token_endpoint::{OAuthError, OAuthErrorCode, TokenResponse};

    fn client(endpoint: &MockTokenEndpoint) -> ClientCredentials {
        ClientCredentials::builder()
            .token_endpoint(endpoint.url())
            .client_id("svc")
            .client_secret("s3cret+/&")
            .scope("reports:read")
            .resource("https://reports.example.com/")
            .build()
            .unwrap()
    }

    fn quick(client: ClientCredentials) -> CachedTokenSource {
        CachedTokenSource::builder(client)
            .backoff(Duration::from_millis(20), Duration::from_millis(40))
            .build()
    }

    #[tokio::test]
    async fn the_mock_issues_tokens_the_issuers_layer_accepts_and_records_the_request() {
        let endpoint = MockTokenEndpoint::start().await.unwrap();
        let token = CachedTokenSource::new(client(&endpoint))
            .token()
            .await
            .unwrap();
        assert_eq!(token.scope(), Some("reports:read"));
        assert_eq!(endpoint.requests(), 1);
        let received = endpoint.received();
        let request = &received[0];
        assert_eq!(request.grant_type(), Some("client_credentials"));
        assert_eq!(request.client_id(), Some("svc"));
        assert_eq!(request.client_secret(), Some("s3cret+/&"));
        assert_eq!(request.auth_method(), Some("client_secret_basic"));
        assert!(
            request.headers()["authorization"]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
        assert_eq!(request.scope(), Some("reports:read"));
        assert_eq!(request.resources(), ["https://reports.example.com/"]);
        assert_eq!(request.client_assertion(), None);
        // Debug hides the secret.
        let debug = format!("{request:?} {endpoint:?}");
        assert!(!debug.contains("s3cret"), "{debug}");

        // The API that trusts the mock's issuer accepts the token, over HTTP.
        let base = api(endpoint.issuer()).await;
        let (status, _, body) = get_bearer(&format!("{base}/reports"), Some(token.secret())).await;
        assert_eq!(status, 200);
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body,
            json!({
                "iss": endpoint.issuer_url(), "sub": "svc", "client_id": "svc",
                "scope": "reports:read", "aud": "test-api",
            })
        );
    }

    #[tokio::test]
    async fn post_and_private_key_jwt_are_recorded_as_such() {
        let endpoint = MockTokenEndpoint::start().await.unwrap();
        let post = client(&endpoint);
        let post = ClientCredentials::builder()
            .token_endpoint(endpoint.url())
            .client_id(post.client_id())
            .client_secret("s3cret")
            .secret_method(SecretMethod::Post)
            .build()
            .unwrap();
        CachedTokenSource::new(post).token().await.unwrap();
        let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let jwt = ClientCredentials::builder()
            .token_endpoint(endpoint.url())
            .client_id("svc-jwt")
            .private_key_jwt(key)
            .build()
            .unwrap();
        let token = CachedTokenSource::new(jwt).token().await.unwrap();
        assert_eq!(
            common::decode_part(token.secret(), 1)["client_id"],
            "svc-jwt"
        );
        assert_eq!(token.scope(), None);

        let received = endpoint.received();
        assert_eq!(received.len(), 2);
        assert_eq!(received[0].auth_method(), Some("client_secret_post"));
        assert_eq!(received[0].param("client_secret"), Some("s3cret"));
        assert!(received[0].headers().get("authorization").is_none());
        assert_eq!(received[1].auth_method(), Some("private_key_jwt"));
        assert_eq!(received[1].client_id(), Some("svc-jwt"));
        let assertion = received[1].client_assertion().unwrap();
        assert_eq!(common::decode_part(assertion, 1)["aud"], endpoint.url());
        assert_eq!(
            received[1].param("client_assertion_type"),
            Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        );
        let debug = format!("{:?}", received[1]);
        assert!(!debug.contains(assertion), "{debug}");
    }

    #[tokio::test]
    async fn a_delay_beyond_the_clients_timeout_is_a_timeout() {
        let endpoint = MockTokenEndpoint::start().await.unwrap();
        endpoint.set_default(MockAnswer::delay(Duration::from_secs(5)));
        let client = ClientCredentials::builder()
            .token_endpoint(endpoint.url())
            .client_id("svc")
            .client_secret("s3cret")
            .request_timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let source = CachedTokenSource::builder(client)
            .retry_deadline(Duration::from_millis(300))
            .backoff(Duration::from_millis(500), Duration::from_millis(500))
            .build();
        let started = std::time::Instant::now();
        assert_eq!(source.token().await.unwrap_err(), TokenSourceError::Timeout);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(endpoint.requests(), 1);
        // Within the timeout, the delayed answer is a token.
        endpoint.set_default(MockAnswer::delay(Duration::from_millis(50)));
        source.token().await.expect("a token after 50 ms");
        assert_eq!(endpoint.requests(), 2);
    }

    #[tokio::test]
    async fn server_errors_are_retried_until_the_token_comes() {
        let endpoint = MockTokenEndpoint::start().await.unwrap();
        endpoint
            .then(MockAnswer::status(StatusCode::INTERNAL_SERVER_ERROR))
            .then(MockAnswer::status(StatusCode::SERVICE_UNAVAILABLE));
        quick(client(&endpoint))
            .token()
            .await
            .expect("a token after a 500 and a 503");
        assert_eq!(endpoint.requests(), 3);
        // The bare status, as the mock answers it.
        endpoint.then(MockAnswer::status(StatusCode::BAD_GATEWAY));
        let response = http()
            .post(endpoint.url())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            parts(response).await,
            (502, None, "the mock token endpoint answers 502".to_owned())
        );
    }

    #[tokio::test]
    async fn a_429_retry_after_is_honoured() {
        let endpoint = MockTokenEndpoint::start().await.unwrap();
        endpoint.then(MockAnswer::rate_limited(Duration::from_secs(1)));
        quick(client(&endpoint))
            .token()
            .await
            .expect("a token after the 429");
        let received = endpoint.received();
        assert_eq!(received.len(), 2);
        let gap = received[1].received_at() - received[0].received_at();
        assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");

        // On the wire: 429, Retry-After, the RFC 6749 §5.2 body.
        endpoint.then(MockAnswer::rate_limited(Duration::from_secs(7)));
        let response = http()
            .post(endpoint.url())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "7");
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"error": "temporarily_unavailable", "error_description": "slow down"})
        );
        // A Retry-After past the deadline is not waited for.
        endpoint.then(MockAnswer::rate_limited(Duration::from_secs(30)));
        let source = CachedTokenSource::builder(client(&endpoint))
            .retry_deadline(Duration::from_secs(2))
            .build();
        assert_eq!(
            source.token().await.unwrap_err(),
            TokenSourceError::RateLimited {
                retry_after: Some(Duration::from_secs(30))
            }
        );
        assert_eq!(endpoint.requests(), 4);
    }

    #[tokio::test]
    async fn invalid_client_is_a_typed_error_and_not_retried() {
        let endpoint = MockTokenEndpoint::start().await.unwrap();
        endpoint.set_default(MockAnswer::invalid_client());
        let error = quick(client(&endpoint)).token().await.unwrap_err();
        let TokenSourceError::Refused {
            status,
            error: oauth,
        } = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!(
            (*status, oauth.code()),
            (401, &OAuthErrorCode::InvalidClient)
        );
        assert_eq!(oauth.description(), "client authentication failed");
        assert!(!error.is_transient());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(endpoint.requests(), 1);

        // On the wire, to a Basic client: 401, the Basic challenge, the JSON body.
        let response = http()
            .post(endpoint.url())
            .basic_auth("svc", Some("wrong"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            parts(response).await,
            (
                401,
                Some(r#"Basic realm="token""#.to_owned()),
                r#"{"error":"invalid_client","error_description":"client authentication failed"}"#
                    .to_owned()
            )
        );
        // invalid_scope: 400, not retried either.
        endpoint.set_default(MockAnswer::invalid_scope());
        let error = quick(client(&endpoint)).token().await.unwrap_err();
        assert_eq!(
            error.oauth_error().map(|e| e.code()),
            Some(&OAuthErrorCode::InvalidScope)
        );
        assert_eq!(endpoint.requests(), 3);
        // Any error of the crate's own type, with its status.
        endpoint.then(MockAnswer::error(OAuthError::new(
            OAuthErrorCode::UnauthorizedClient,
            "not for you",
        )));
        let error = quick(client(&endpoint)).token().await.unwrap_err();
        assert_eq!(
            error,
            TokenSourceError::Refused {
                status: 400,
                error: OAuthError::new(OAuthErrorCode::UnauthorizedClient, "not for you"),
            }
        );
    }

    #[tokio::test]
    async fn require_secret_refuses_unknown_clients_and_wrong_secrets() {
        let endpoint = MockTokenEndpoint::start().await.unwrap();
        endpoint.require_secret("svc", "s3cret+/&");
        let token = quick(client(&endpoint)).token().await.unwrap();
        assert_eq!(common::decode_part(token.secret(), 1)["client_id"], "svc");
        let with = |id: &str, secret: &str, method: SecretMethod| {
            ClientCredentials::builder()
                .token_endpoint(endpoint.url())
                .client_id(id)
                .client_secret(secret)
                .secret_method(method)
                .build()
                .unwrap()
        };
        // The right secret in the form body is accepted too.
        quick(with("svc", "s3cret+/&", SecretMethod::Post))
            .token()
            .await
            .expect("client_secret_post");
        for (id, secret) in [("svc", "wrong"), ("stranger", "s3cret+/&")] {
            let error = quick(with(id, secret, SecretMethod::Basic))
                .token()
                .await
                .unwrap_err();
            assert_eq!(
                error.oauth_error().map(|e| e.code()),
                Some(&OAuthErrorCode::InvalidClient),
                "{id}"
            );
        }
        // No credentials at all.
        let response = http()
            .post(endpoint.url())
            .form(&[("grant_type", "client_credentials"), ("client_id", "svc")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            parts(response).await,
            (
                401,
                None,
                r#"{"error":"invalid_client","error_description":"client authentication failed"}"#
                    .to_owned()
            )
        );
        // Assertions are recorded, not verified.
        let jwt = ClientCredentials::builder()
            .token_endpoint(endpoint.url())
            .client_id("svc-jwt")
            .private_key_jwt(SigningKey::generate(Algorithm::EdDSA).unwrap())
            .build()
            .unwrap();
        quick(jwt).token().await.expect("private_key_jwt");
        assert_eq!(endpoint.requests(), 6);
    }

    #[tokio::test]
    async fn malformed_and_exact_answers() {
        let endpoint = MockTokenEndpoint::start().await.unwrap();
        endpoint.then(MockAnswer::malformed());
        assert_eq!(
            quick(client(&endpoint)).token().await.unwrap_err(),
            TokenSourceError::InvalidResponse("not a token response")
        );
        endpoint.then(MockAnswer::token(
            TokenResponse::bearer("opaque-token").with_expires_in(60),
        ));
        let token = quick(client(&endpoint)).token().await.unwrap();
        assert_eq!(token.secret(), "opaque-token");
        // A request that is not client_credentials is refused as a real endpoint would.
        let response = http()
            .post(endpoint.url())
            .form(&[("grant_type", "password")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            parts(response).await,
            (
                400,
                None,
                r#"{"error":"unsupported_grant_type","error_description":"only client_credentials is supported"}"#
                    .to_owned()
            )
        );
        let response = http().post(endpoint.url()).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(endpoint.requests(), 4);
    }

    #[tokio::test]
    async fn the_endpoint_is_discovered_from_its_issuer_url() {
        let endpoint = MockTokenEndpoint::start().await.unwrap();
        let client = ClientCredentials::builder()
            .issuer(endpoint.issuer_url())
            .client_id("svc")
            .client_secret("s3cret")
            .build()
            .unwrap();
        let token = CachedTokenSource::new(client).token().await.unwrap();
        assert_eq!(
            common::decode_part(token.secret(), 1)["iss"],
            endpoint.issuer_url()
        );
        assert_eq!(endpoint.requests(), 1);
        let jwks: Value = http()
            .get(format!("{}/.well-known/jwks.json", endpoint.issuer_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            jwks["keys"][0]["kid"],
            endpoint.issuer().signing_key().kid()
        );
    }

    #[tokio::test]
    async fn dropping_the_endpoint_stops_it_and_cuts_delayed_answers_short() {
        let endpoint = MockTokenEndpoint::start().await.unwrap();
        endpoint.set_default(MockAnswer::delay(Duration::from_secs(30)));
        let url = endpoint.url().to_owned();
        let addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let pending = tokio::spawn({
            let url = url.clone();
            async move {
                let response = http()
                    .post(url)
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .unwrap();
                response.status()
            }
        });
        while endpoint.requests() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let started = std::time::Instant::now();
        drop(endpoint);
        assert_eq!(pending.await.unwrap(), 503);
        assert!(started.elapsed() < Duration::from_secs(5));
        // Nothing listens any more.
        let mut refused = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(&addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(refused, "the listener outlived the endpoint");
    }
}
