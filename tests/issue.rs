//! The issue half over real HTTP: a real OAuth client obtains tokens that the protect half
//! accepts; private_key_jwt; key rotation under traffic; discovery documents.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::issue::{decode_segment, http, scopes};
use common::*;
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, Scope, TokenResponse as _, TokenUrl};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tower_client_credentials::clients::{AuthMethod, Client, ClientSecret, MemoryClientStore};
use tower_client_credentials::issue::{
    ClientCredentialsTokenService, JWT_BEARER_ASSERTION, TokenIssuer, discovery_routes,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::time::{Clock, ManualClock};
use tower_client_credentials::{BearerAuthLayer, Claims, RequireScopeLayer, Validator};

const SECRET_CLIENT: &str = "svc-secret";
const JWT_CLIENT: &str = "svc-jwt";

struct Server {
    base: String,
    issuer: TokenIssuer,
    secret: String,
    jwt_keys: Vec<SigningKey>,
}

async fn whoami(claims: Claims) -> axum::Json<Value> {
    axum::Json(json!({"sub": claims.sub, "scope": claims.scope.to_string()}))
}

/// An issuer whose `iss` is this server's own URL, plus a protected API in the same app; the
/// issuer and the validator read the time from `clock` (the ring brings its own).
async fn server(ring: KeyRing, max_ttl: Duration, clock: Clock) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));

    let (plain, stored) = ClientSecret::generate();
    let jwt_keys = vec![
        SigningKey::generate(Algorithm::EdDSA).expect("keygen"),
        SigningKey::generate(Algorithm::ES256).expect("keygen"),
    ];
    let clients = MemoryClientStore::new()
        .with_client(
            Client::builder(SECRET_CLIENT)
                .secret(stored)
                .auth_methods([AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost])
                .allowed_scopes(scopes("reports:read reports:write"))
                .default_scopes(scopes("reports:read"))
                .audiences([AUDIENCE])
                .build()
                .expect("client"),
        )
        .with_client(
            Client::builder(JWT_CLIENT)
                .auth_methods([AuthMethod::PrivateKeyJwt])
                .keys(jwt_keys.iter().map(|k| k.verifying_key().clone()))
                .allowed_scopes(scopes("reports:read"))
                .audiences([AUDIENCE])
                .build()
                .expect("client"),
        );
    let issuer = TokenIssuer::builder()
        .issuer(base.clone())
        .keys(ring.clone())
        .clients(clients)
        .default_ttl(max_ttl.min(Duration::from_secs(900)))
        .max_ttl(max_ttl)
        .scopes_supported(["reports:read", "reports:write"])
        .clock(clock.clone())
        .build()
        .expect("issuer");
    let validator = Validator::builder()
        .issuer(base.clone(), KeySource::local(ring))
        .audience(AUDIENCE)
        .clock(clock)
        .cache_capacity(0)
        .build()
        .expect("validator");
    let api = Router::new()
        .route(
            "/api/reports",
            get(whoami).layer(RequireScopeLayer::all(["reports:read"])),
        )
        .layer(BearerAuthLayer::new(validator));
    let app = Router::new()
        .route_service(
            "/oauth2/token",
            ClientCredentialsTokenService::new(issuer.clone()),
        )
        .merge(discovery_routes(&issuer))
        .merge(api);
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    Server {
        base,
        issuer,
        secret: plain.expose().to_owned(),
        jwt_keys,
    }
}

async fn default_server() -> Server {
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).expect("keygen"));
    server(ring, Duration::from_secs(3600), Clock::system()).await
}

async fn call_api(base: &str, token: &str) -> (u16, Option<String>, String) {
    let response = http()
        .get(format!("{base}/api/reports"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    parts(response).await
}

async fn oauth2_token(s: &Server, auth_type: AuthType, scope: Option<&str>) -> String {
    let client = BasicClient::new(ClientId::new(SECRET_CLIENT.into()))
        .set_client_secret(oauth2::ClientSecret::new(s.secret.clone()))
        .set_token_uri(TokenUrl::new(format!("{}/oauth2/token", s.base)).expect("url"))
        .set_auth_type(auth_type);
    let mut request = client.exchange_client_credentials();
    if let Some(scope) = scope {
        request = request.add_scope(Scope::new(scope.into()));
    }
    let token = request.request_async(&http()).await.expect("token grant");
    assert_eq!(token.token_type(), &oauth2::basic::BasicTokenType::Bearer);
    assert!(token.refresh_token().is_none());
    let lifetime = token.expires_in().expect("expires_in");
    let access = token.access_token().secret().clone();
    let claims = decode_segment(&access, 1);
    assert_eq!(
        lifetime.as_secs(),
        claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat")
    );
    access
}

#[tokio::test]
async fn oauth2_client_with_basic_auth_gets_a_token_the_api_accepts() {
    let s = default_server().await;
    let token = oauth2_token(&s, AuthType::BasicAuth, None).await;
    let (status, _, body) = call_api(&s.base, &token).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body, json!({"sub": SECRET_CLIENT, "scope": "reports:read"}));
}

#[tokio::test]
async fn oauth2_client_with_post_auth_gets_the_requested_scope() {
    let s = default_server().await;
    let token = oauth2_token(&s, AuthType::RequestBody, Some("reports:write")).await;
    let claims = decode_segment(&token, 1);
    assert_eq!(claims["scope"], "reports:write");
    // The token is genuine but lacks reports:read: the API answers 403, not 401.
    assert_eq!(
        call_api(&s.base, &token).await,
        (
            403,
            Some(r#"Bearer realm="api", error="insufficient_scope", scope="reports:read""#.into()),
            String::new()
        )
    );
}

#[tokio::test]
async fn issued_token_has_rfc9068_header_and_claims() {
    let s = default_server().await;
    let token = oauth2_token(&s, AuthType::BasicAuth, Some("reports:read reports:write")).await;
    let header = decode_segment(&token, 0);
    assert_eq!(
        header,
        json!({"typ": "at+jwt", "alg": "EdDSA", "kid": s.issuer.keys().active().kid()})
    );
    let claims = decode_segment(&token, 1);
    let keys: Vec<&str> = claims
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "aud",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "scope",
            "sub"
        ]
    );
    assert_eq!(claims["iss"], s.base.as_str());
    assert_eq!(claims["sub"], SECRET_CLIENT);
    assert_eq!(claims["client_id"], SECRET_CLIENT);
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["scope"], "reports:read reports:write");
    // 128 random bits, base64url.
    assert_eq!(claims["jti"].as_str().expect("jti").len(), 22);
    assert_eq!(
        claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat"),
        900
    );
}

fn assertion(s: &Server, key: &SigningKey, jti: &str) -> String {
    let now = common::now();
    key.sign(
        "JWT",
        &json!({
            "iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": s.issuer.token_endpoint(),
            "exp": now + 60, "iat": now, "jti": jti,
        }),
    )
    .expect("sign assertion")
}

async fn post_assertion(s: &Server, assertion: &str) -> reqwest::Response {
    http()
        .post(format!("{}/oauth2/token", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_assertion_type={}&client_assertion={assertion}",
            JWT_BEARER_ASSERTION.replace(':', "%3A")
        ))
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn private_key_jwt_with_eddsa_and_es256_keys() {
    let s = default_server().await;
    for (i, key) in s.jwt_keys.iter().enumerate() {
        let response = post_assertion(&s, &assertion(&s, key, &format!("jti-{i}"))).await;
        assert_eq!(response.status(), 200, "{}", key.algorithm());
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "reports:read");
        let token = body["access_token"].as_str().expect("token");
        assert_eq!(decode_segment(token, 1)["sub"], JWT_CLIENT);
        assert_eq!(call_api(&s.base, token).await.0, 200);
    }
}

#[tokio::test]
async fn private_key_jwt_accepts_the_issuer_as_audience() {
    let s = default_server().await;
    let now = common::now();
    let a = s.jwt_keys[0]
        .sign(
            "JWT",
            &json!({"iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": [s.base.as_str()],
                    "exp": now + 60, "jti": "aud-issuer"}),
        )
        .expect("sign");
    assert_eq!(post_assertion(&s, &a).await.status(), 200);
}

#[tokio::test]
async fn replayed_assertion_is_invalid_client() {
    let s = default_server().await;
    let a = assertion(&s, &s.jwt_keys[0], "once");
    assert_eq!(post_assertion(&s, &a).await.status(), 200);
    let replay = post_assertion(&s, &a).await;
    assert_eq!(replay.status(), 401);
    assert!(replay.headers().get("www-authenticate").is_none());
    assert_eq!(
        replay.json::<Value>().await.expect("json"),
        json!({"error": "invalid_client", "error_description": "client authentication failed"})
    );
}

#[tokio::test]
async fn assertion_rules_are_enforced() {
    let s = default_server().await;
    let key = &s.jwt_keys[0];
    let now = common::now();
    let base_claims = json!({
        "iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": s.issuer.token_endpoint(),
        "exp": now + 60, "jti": "x",
    });
    let variants: Vec<(&str, Value)> = vec![
        ("iss differs from sub", json!({"iss": "other"})),
        (
            "aud is someone else",
            json!({"aud": "https://elsewhere.test/token"}),
        ),
        ("exp more than 5 minutes ahead", json!({"exp": now + 600})),
        ("expired", json!({"exp": now - 120})),
        ("no jti", json!({"jti": null})),
        ("no exp", json!({"exp": null})),
    ];
    for (i, (why, patch)) in variants.into_iter().enumerate() {
        let mut claims = base_claims.clone();
        for (k, v) in patch.as_object().expect("object") {
            if v.is_null() {
                claims.as_object_mut().expect("object").remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        if claims.get("jti").is_some() {
            claims["jti"] = json!(format!("rule-{i}"));
        }
        let a = key.sign("JWT", &claims).expect("sign");
        assert_eq!(post_assertion(&s, &a).await.status(), 401, "{why}");
    }
    // A key the client never registered, claiming the registered kid.
    let stranger = SigningKey::generate(Algorithm::EdDSA)
        .expect("keygen")
        .with_kid(key.kid());
    let forged = assertion(&s, &stranger, "forged");
    assert_eq!(post_assertion(&s, &forged).await.status(), 401);
}

/// Waits until the traffic task has completed `rounds` rounds; fails if it stopped.
async fn wait_for_rounds(served: &AtomicUsize, traffic: &JoinHandle<()>, rounds: usize) {
    while served.load(Ordering::SeqCst) < rounds {
        assert!(!traffic.is_finished(), "the traffic task stopped early");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn jwks_kids(base: &str) -> Vec<String> {
    let jwks: Value = http()
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_under_traffic_keeps_old_tokens_valid_then_retires_the_old_key() {
    // The ring, the issuer and the validator read one manual clock: the retention window
    // passes when the test moves the clock, not by sleeping through it.
    let time = ManualClock::starting_now();
    let retention = Duration::from_secs(600);
    let first = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let ring = KeyRing::new(first.clone())
        .with_clock(time.clock())
        .with_retention(retention);
    let s = server(ring.clone(), Duration::from_secs(300), time.clock()).await;
    let old_token = oauth2_token(&s, AuthType::BasicAuth, None).await;
    assert_eq!(decode_segment(&old_token, 0)["kid"], first.kid());

    // Traffic: fetch a token and call the API in a loop while the key rotates.
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let traffic: JoinHandle<()> = {
        let (base, secret, stop, served) = (
            s.base.clone(),
            s.secret.clone(),
            stop.clone(),
            served.clone(),
        );
        tokio::spawn(async move {
            let client = http();
            while !stop.load(Ordering::SeqCst) {
                let body: Value = client
                    .post(format!("{base}/oauth2/token"))
                    .basic_auth(SECRET_CLIENT, Some(&secret))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .expect("token request")
                    .json()
                    .await
                    .expect("json");
                let token = body["access_token"]
                    .as_str()
                    .expect("access_token")
                    .to_owned();
                assert_eq!(
                    call_api(&base, &token).await.0,
                    200,
                    "token during rotation"
                );
                served.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    wait_for_rounds(&served, &traffic, 3).await;
    let second = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    ring.rotate(second.clone()).expect("rotate");

    // The old token still validates; new tokens carry the new kid; the JWKS lists both.
    assert_eq!(call_api(&s.base, &old_token).await.0, 200);
    let new_token = oauth2_token(&s, AuthType::BasicAuth, None).await;
    assert_eq!(decode_segment(&new_token, 0)["kid"], second.kid());
    assert_eq!(
        jwks_kids(&s.base).await,
        [second.kid().to_owned(), first.kid().to_owned()]
    );

    let rounds = served.load(Ordering::SeqCst);
    wait_for_rounds(&served, &traffic, rounds + 3).await;
    stop.store(true, Ordering::SeqCst);
    traffic.await.expect("traffic task saw only 200s");

    // Once the retention window has passed only the new key remains, the old key's tokens
    // fail, and tokens issued now (on the same clock) pass.
    time.advance(retention);
    assert_eq!(jwks_kids(&s.base).await, [second.kid().to_owned()]);
    assert_eq!(
        call_api(&s.base, &old_token).await,
        (
            401,
            invalid_token("the signing key is not known"),
            String::new()
        )
    );
    let later_token = oauth2_token(&s, AuthType::BasicAuth, None).await;
    assert_eq!(decode_segment(&later_token, 1)["iat"], time.now());
    assert_eq!(call_api(&s.base, &later_token).await.0, 200);
}

#[tokio::test]
async fn metadata_document_field_by_field() {
    let s = default_server().await;
    let response = http()
        .get(format!("{}/.well-known/oauth-authorization-server", s.base))
        .send()
        .await
        .expect("metadata");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: Value = response.json().await.expect("json");
    assert_eq!(
        doc,
        json!({
            "issuer": s.base,
            "token_endpoint": format!("{}/oauth2/token", s.base),
            "jwks_uri": format!("{}/.well-known/jwks.json", s.base),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["EdDSA", "ES256", "RS256", "PS256"],
            "scopes_supported": ["reports:read", "reports:write"],
            "response_types_supported": [],
        })
    );
}

#[tokio::test]
async fn jwks_document_field_by_field() {
    let s = default_server().await;
    let response = http()
        .get(format!("{}/.well-known/jwks.json", s.base))
        .send()
        .await
        .expect("jwks");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "public, max-age=60");
    let doc: Value = response.json().await.expect("json");
    let active = s.issuer.keys().active();
    let x = active.verifying_key().to_jwk().expect("jwk");
    let x = serde_json::to_value(x).expect("json")["x"].clone();
    assert_eq!(
        doc,
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": active.kid(),
                          "alg": "EdDSA", "use": "sig"}]})
    );
    // The published key verifies the tokens the endpoint issues.
    let keys = tower_client_credentials::keys::Jwks::parse(&doc.to_string()).expect("parse");
    let token = oauth2_token(&s, AuthType::BasicAuth, None).await;
    let (message, signature) = token.rsplit_once('.').expect("jws");
    assert!(keys[0].verify_signature(message.as_bytes(), signature));
    let post = http()
        .post(format!("{}/.well-known/jwks.json", s.base))
        .send()
        .await
        .expect("post");
    assert_eq!(post.status(), 405);
}
