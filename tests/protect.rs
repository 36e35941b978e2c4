//! The protect half over real HTTP: BearerAuthLayer, RequireScopeLayer, the extractors and the
//! RFC 6750 / gRPC error mapping.

mod common;

use std::collections::HashSet;

use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use serde_json::{Value, json};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::testing::TestIssuer;
use tower_client_credentials::time::{Clock, ManualClock};
use tower_client_credentials::{BearerAuthLayer, Claims, RequireScopeLayer, Validator};

async fn whoami(claims: Claims) -> Json<Value> {
    Json(json!({
        "sub": claims.sub,
        "client_id": claims.client_id,
        "scope": claims.scope.to_string(),
        "aud": claims.aud,
    }))
}

async fn maybe(claims: Option<Claims>) -> String {
    match claims {
        Some(claims) => format!("hello {}", claims.sub),
        None => "hello anonymous".to_owned(),
    }
}

fn validator_for(key: &SigningKey) -> Validator {
    Validator::builder()
        .issuer(ISSUER, KeySource::local(KeyRing::new(key.clone())))
        .audience(AUDIENCE)
        .build()
        .expect("valid config")
}

fn app(validator: Validator) -> Router {
    let admin = Router::new()
        .route(
            "/write",
            get(whoami).layer(RequireScopeLayer::all(["reports:write", "admin"])),
        )
        .route("/view", get(whoami))
        .layer(RequireScopeLayer::any(["admin", "audit:read"]));
    let protected = Router::new()
        .route("/whoami", get(whoami))
        .route(
            "/reports",
            get(whoami).layer(RequireScopeLayer::all(["reports:read"])),
        )
        .nest("/admin", admin)
        .layer(BearerAuthLayer::new(validator.clone()));
    let optional = Router::new()
        .route("/maybe", get(maybe))
        .layer(BearerAuthLayer::optional(validator));
    protected.merge(optional)
}

/// The issuer of the tests' tokens (`ISSUER`, for `AUDIENCE`).
fn test_issuer() -> TestIssuer {
    TestIssuer::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("test issuer")
}

struct Fixture {
    base: String,
    issuer: TestIssuer,
    /// The issuer's key, for the forgeries the token builder does not make.
    key: SigningKey,
    http: reqwest::Client,
}

async fn fixture() -> Fixture {
    let issuer = test_issuer();
    let base = serve(app(issuer.validator())).await;
    Fixture {
        base,
        key: issuer.signing_key().clone(),
        issuer,
        http: http(),
    }
}

impl Fixture {
    /// A valid token for client `sub` with `scope`.
    fn token(&self, sub: &str, scope: &str) -> String {
        self.issuer.token().client_id(sub).scope(scope).sign()
    }

    async fn get_with(
        &self,
        path: &str,
        authorization: Option<&str>,
    ) -> (u16, Option<String>, String) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(value) = authorization {
            req = req.header("authorization", value);
        }
        parts(req.send().await.expect("request")).await
    }

    async fn get_bearer(&self, path: &str, token: &str) -> (u16, Option<String>, String) {
        self.get_with(path, Some(&format!("Bearer {token}"))).await
    }
}

const MISSING: &str = r#"Bearer realm="api""#;

#[tokio::test]
async fn no_authorization_header_is_401_with_bare_challenge() {
    let f = fixture().await;
    assert_eq!(
        f.get_with("/whoami", None).await,
        (401, Some(MISSING.to_owned()), String::new())
    );
}

#[tokio::test]
async fn another_scheme_is_401_with_bare_challenge() {
    let f = fixture().await;
    assert_eq!(
        f.get_with("/whoami", Some("Basic ZGVtbzpkZW1vLXNlY3JldA=="))
            .await,
        (401, Some(MISSING.to_owned()), String::new())
    );
}

#[tokio::test]
async fn token_in_query_string_is_never_read() {
    let f = fixture().await;
    let t = f.token("svc", "reports:read");
    assert_eq!(
        f.get_with(&format!("/whoami?access_token={t}"), None).await,
        (401, Some(MISSING.to_owned()), String::new())
    );
}

#[tokio::test]
async fn empty_token_is_400_invalid_request() {
    let f = fixture().await;
    let expected = (
        400,
        Some(r#"Bearer realm="api", error="invalid_request", error_description="empty bearer token""#.to_owned()),
        String::new(),
    );
    assert_eq!(f.get_with("/whoami", Some("Bearer")).await, expected);
    assert_eq!(f.get_with("/whoami", Some("Bearer   ")).await, expected);
}

#[tokio::test]
async fn bad_characters_are_400_invalid_request() {
    let f = fixture().await;
    let expected = (
        400,
        Some(r#"Bearer realm="api", error="invalid_request", error_description="malformed bearer token""#.to_owned()),
        String::new(),
    );
    for value in ["Bearer abc def", "Bearer a\"b", "Bearer a,b", "Bearer ==="] {
        assert_eq!(
            f.get_with("/whoami", Some(value)).await,
            expected,
            "{value}"
        );
    }
}

#[tokio::test]
async fn two_authorization_headers_are_400_invalid_request() {
    let f = fixture().await;
    let t = f.token("svc", "");
    let response = f
        .http
        .get(format!("{}/whoami", f.base))
        .header("authorization", format!("Bearer {t}"))
        .header("authorization", format!("Bearer {t}"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        parts(response).await,
        (
            400,
            Some(r#"Bearer realm="api", error="invalid_request", error_description="more than one Authorization header""#.to_owned()),
            String::new()
        )
    );
}

#[tokio::test]
async fn valid_token_reaches_the_extractor_and_scheme_is_case_insensitive() {
    let f = fixture().await;
    let t = f.token("svc-a", "reports:read reports:write");
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let (status, challenge, body) = f.get_with("/whoami", Some(&format!("{scheme} {t}"))).await;
        assert_eq!((status, challenge), (200, None), "{scheme}");
        let body: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            body,
            json!({"sub": "svc-a", "client_id": "svc-a", "scope": "reports:read reports:write", "aud": AUDIENCE})
        );
    }
}

#[tokio::test]
async fn bad_signature_is_invalid_token() {
    let f = fixture().await;
    let t = f.token("svc", "");
    let (message, _) = t.rsplit_once('.').expect("three parts");
    let other = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let (_, other_sig) = token(&other, &access_claims("svc", ""))
        .rsplit_once('.')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .expect("parts");
    let tampered = format!("{message}.{other_sig}");
    assert_eq!(
        f.get_bearer("/whoami", &tampered).await,
        (
            401,
            invalid_token("the token signature is invalid"),
            String::new()
        )
    );
}

#[tokio::test]
async fn payload_tampering_is_invalid_signature() {
    let f = fixture().await;
    let t = f.token("svc", "reports:read");
    let mut segments: Vec<String> = t.split('.').map(str::to_owned).collect();
    let mut claims = access_claims("svc", "reports:read admin");
    claims["exp"] = json!(common::now() + 3600);
    segments[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_eq!(
        f.get_bearer("/whoami", &segments.join(".")).await,
        (
            401,
            invalid_token("the token signature is invalid"),
            String::new()
        )
    );
}

#[tokio::test]
async fn unknown_kid_is_invalid_token() {
    let f = fixture().await;
    let t = f
        .issuer
        .token()
        .client_id("svc")
        .scope("")
        .signed_by_unknown_key()
        .sign();
    assert_eq!(
        f.get_bearer("/whoami", &t).await,
        (
            401,
            invalid_token("the signing key is not known"),
            String::new()
        )
    );
}

#[tokio::test]
async fn token_signed_by_key_a_with_key_b_kid_is_rejected() {
    let f = fixture().await;
    let t = f
        .issuer
        .token()
        .client_id("svc")
        .scope("admin")
        .signed_by_wrong_key()
        .sign();
    assert_eq!(
        f.get_bearer("/whoami", &t).await,
        (
            401,
            invalid_token("the token signature is invalid"),
            String::new()
        )
    );
}

#[tokio::test]
async fn wrong_alg_for_the_key_is_rejected() {
    let f = fixture().await;
    // The header claims ES256 with the EdDSA key's kid: the key decides, so this fails early.
    let es = SigningKey::generate(Algorithm::ES256)
        .expect("keygen")
        .with_kid(f.key.kid());
    let t = token(&es, &access_claims("svc", ""));
    assert_eq!(
        f.get_bearer("/whoami", &t).await,
        (
            401,
            invalid_token("the token algorithm does not match the key"),
            String::new()
        )
    );
}

#[tokio::test]
async fn hs256_signed_with_public_key_bytes_is_rejected() {
    // Key confusion: HMAC the token with the victim's public key, which anyone can fetch.
    for alg in [Algorithm::EdDSA, Algorithm::RS256, Algorithm::ES256] {
        let victim = SigningKey::generate(alg).expect("keygen");
        let base = serve(app(validator_for(&victim))).await;
        let jwk = serde_json::to_string(&victim.verifying_key().to_jwk().expect("public jwk"))
            .expect("json");
        let mut public_bytes = jwk.into_bytes();
        public_bytes.resize(public_bytes.len().max(32), b' ');
        let hs = SigningKey::hmac(&public_bytes, victim.kid()).expect("hmac key");
        let t = token(&hs, &access_claims("svc", "admin"));
        let response = http()
            .get(format!("{base}/whoami"))
            .bearer_auth(&t)
            .send()
            .await
            .expect("request");
        assert_eq!(
            parts(response).await,
            (
                401,
                invalid_token("the token algorithm does not match the key"),
                String::new()
            ),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn alg_none_in_every_capitalisation_is_rejected() {
    let f = fixture().await;
    for alg in ["none", "None", "NONE", "nOnE", "NoNe"] {
        for signature in ["", "AAAA"] {
            let t = forge(
                &json!({"alg": alg, "typ": "at+jwt", "kid": f.key.kid()}),
                &access_claims("svc", "admin"),
                signature,
            );
            let expected = if signature.is_empty() {
                // "header.payload." has an empty signature: structurally malformed.
                invalid_token("the token is malformed")
            } else {
                invalid_token("the token algorithm is not supported")
            };
            assert_eq!(
                f.get_bearer("/whoami", &t).await,
                (401, expected, String::new()),
                "{alg} {signature:?}"
            );
        }
    }
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_rejected() {
    let f = fixture().await;
    let expired = f.issuer.token().claim("exp", common::now() - 120).sign();
    assert_eq!(
        f.get_bearer("/whoami", &expired).await,
        (401, invalid_token("the token has expired"), String::new())
    );
    let early = f.issuer.token().claim("nbf", common::now() + 120).sign();
    assert_eq!(
        f.get_bearer("/whoami", &early).await,
        (
            401,
            invalid_token("the token is not valid yet"),
            String::new()
        )
    );
}

#[tokio::test]
async fn exp_exactly_at_the_leeway_boundary() {
    const NOW: u64 = 1_900_000_000;
    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let validator = Validator::builder()
        .issuer(ISSUER, KeySource::local(KeyRing::new(key.clone())))
        .audience(AUDIENCE)
        .leeway(std::time::Duration::from_secs(30))
        .clock(Clock::from_fn(|| NOW))
        .build()
        .expect("config");
    let base = serve(app(validator)).await;
    let http = http();
    let call = |exp: u64| {
        let mut claims = access_claims("svc", "");
        claims["exp"] = json!(exp);
        claims["iat"] = json!(NOW - 600);
        let t = token(&key, &claims);
        let req = http.get(format!("{base}/whoami")).bearer_auth(t);
        async move { parts(req.send().await.expect("request")).await }
    };
    // One second inside the leeway: accepted.
    assert_eq!(call(NOW - 30 + 1).await.0, 200);
    // exp + leeway == now: expired.
    assert_eq!(
        call(NOW - 30).await,
        (401, invalid_token("the token has expired"), String::new())
    );
}

#[tokio::test]
async fn wrong_issuer_audience_and_type_are_rejected() {
    let f = fixture().await;
    let iss = f.issuer.token().issuer("https://evil.test").sign();
    assert_eq!(
        f.get_bearer("/whoami", &iss).await,
        (
            401,
            invalid_token("the token issuer is not trusted"),
            String::new()
        )
    );
    let aud = f.issuer.token().audience("billing-api").sign();
    assert_eq!(
        f.get_bearer("/whoami", &aud).await,
        (
            401,
            invalid_token("the token audience is not accepted"),
            String::new()
        )
    );
    let plain = f.issuer.token().typ("JWT").sign();
    assert_eq!(
        f.get_bearer("/whoami", &plain).await,
        (
            401,
            invalid_token("the token type is not accepted"),
            String::new()
        )
    );
}

#[tokio::test]
async fn audience_given_as_an_array_is_accepted() {
    let f = fixture().await;
    let t = f.issuer.token().audiences(["billing-api", AUDIENCE]).sign();
    let (status, _, body) = f.get_bearer("/whoami", &t).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["aud"], json!(["billing-api", AUDIENCE]));
}

#[tokio::test]
async fn oversized_and_unparseable_tokens_are_rejected() {
    let f = fixture().await;
    let huge = format!(
        "{}.{}.{}",
        "a".repeat(4000),
        "b".repeat(4000),
        "c".repeat(300)
    );
    assert_eq!(
        f.get_bearer("/whoami", &huge).await,
        (401, invalid_token("the token is too large"), String::new())
    );
    for garbage in [
        "abc",
        "a.b",
        "a.b.c",
        "e30.e30.e30",
        "eyJhbGciOiJFZERTQSJ9.bm90IGpzb24.c2ln",
    ] {
        assert_eq!(f.get_bearer("/whoami", garbage).await.0, 401, "{garbage}");
    }
    assert_eq!(
        f.get_bearer("/whoami", "a.b.c").await,
        (401, invalid_token("the token is malformed"), String::new())
    );
}

#[tokio::test]
async fn missing_scope_is_403_naming_the_scope() {
    let f = fixture().await;
    let t = f.token("svc", "reports:write");
    assert_eq!(
        f.get_bearer("/reports", &t).await,
        (
            403,
            Some(
                r#"Bearer realm="api", error="insufficient_scope", scope="reports:read""#
                    .to_owned()
            ),
            String::new()
        )
    );
    let ok = f.token("svc", "reports:read");
    assert_eq!(f.get_bearer("/reports", &ok).await.0, 200);
}

#[tokio::test]
async fn any_and_all_scopes_on_nested_routers() {
    let f = fixture().await;
    let any_denied = (
        403,
        Some(
            r#"Bearer realm="api", error="insufficient_scope", scope="admin audit:read""#
                .to_owned(),
        ),
        String::new(),
    );
    let all_denied = (
        403,
        Some(
            r#"Bearer realm="api", error="insufficient_scope", scope="reports:write admin""#
                .to_owned(),
        ),
        String::new(),
    );
    let auditor = f.token("a", "audit:read");
    let admin = f.token("b", "admin");
    let writer_admin = f.token("c", "admin reports:write");
    let nobody = f.token("d", "reports:read");
    assert_eq!(f.get_bearer("/admin/view", &auditor).await.0, 200);
    assert_eq!(f.get_bearer("/admin/view", &admin).await.0, 200);
    assert_eq!(f.get_bearer("/admin/view", &nobody).await, any_denied);
    // The outer `any` passes for the auditor, the inner `all` does not.
    assert_eq!(f.get_bearer("/admin/write", &auditor).await, all_denied);
    assert_eq!(f.get_bearer("/admin/write", &admin).await, all_denied);
    assert_eq!(f.get_bearer("/admin/write", &writer_admin).await.0, 200);
}

#[tokio::test]
async fn optional_claims_with_and_without_a_token() {
    let f = fixture().await;
    assert_eq!(
        f.get_with("/maybe", None).await,
        (200, None, "hello anonymous".to_owned())
    );
    let t = f.token("svc-o", "");
    assert_eq!(
        f.get_bearer("/maybe", &t).await,
        (200, None, "hello svc-o".to_owned())
    );
    // A bad token is still rejected on an optional route.
    assert_eq!(
        f.get_bearer("/maybe", "a.b.c").await,
        (401, invalid_token("the token is malformed"), String::new())
    );
}

#[tokio::test]
async fn scope_layer_without_authentication_is_401_not_a_pass() {
    let app = Router::new().route(
        "/open",
        get(|| async { "should not be reached" }).layer(RequireScopeLayer::all(["x"])),
    );
    let base = serve(app).await;
    let response = reqwest::get(format!("{base}/open")).await.expect("request");
    assert_eq!(
        parts(response).await,
        (401, Some(MISSING.to_owned()), String::new())
    );
}

#[tokio::test]
async fn every_algorithm_is_accepted_with_its_own_key() {
    for alg in [
        Algorithm::EdDSA,
        Algorithm::ES256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::HS256,
    ] {
        let issuer = TestIssuer::builder()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .algorithm(alg)
            .build()
            .expect("test issuer");
        let base = serve(app(issuer.validator())).await;
        let t = issuer.token().client_id("svc").scope("reports:read").sign();
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(t.split('.').next().expect("header"))
                .expect("b64"),
        )
        .expect("json");
        assert_eq!(header["alg"], alg.as_str());
        let response = http()
            .get(format!("{base}/reports"))
            .bearer_auth(&t)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "{alg}");
    }
}

#[tokio::test]
async fn grpc_callers_get_grpc_statuses() {
    let f = fixture().await;
    // gRPC runs over HTTP/2 only; axum::serve speaks cleartext HTTP/2 (h2c) with prior knowledge.
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .expect("reqwest client");
    let grpc = |path: &str, auth: Option<String>| {
        let mut req = h2
            .post(format!("{}{path}", f.base))
            .header("content-type", "application/grpc");
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        req
    };
    // A GET route answers 405 to POST after auth; use the layer's own answer for the checks.
    let response = grpc("/whoami", None).send().await.expect("request");
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/grpc");
    assert_eq!(response.headers()["grpc-status"], "16");
    assert_eq!(response.headers()["grpc-message"], "no bearer token");
    assert!(response.headers().get("www-authenticate").is_none());

    let response = grpc("/whoami", Some("Bearer a.b.c".into()))
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["grpc-status"], "16");
    assert_eq!(response.headers()["grpc-message"], "the token is malformed");

    let t = f.token("svc", "reports:write");
    let response = grpc("/reports", Some(format!("Bearer {t}")))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["grpc-status"], "7");
    assert_eq!(response.headers()["grpc-message"], "insufficient scope");
    assert_eq!(response.text().await.expect("body"), "");
}

/// A forward-auth proxy reads only the status code: an HTTP/1.1 request that merely claims to
/// be gRPC must not get a 200.
#[tokio::test]
async fn grpc_content_type_over_http1_gets_rfc6750_statuses() {
    let f = fixture().await;
    let grpc = |path: &str, auth: Option<String>| {
        let mut req = f
            .http
            .post(format!("{}{path}", f.base))
            .header("content-type", "application/grpc");
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        req
    };
    let response = grpc("/whoami", None).send().await.expect("request");
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert!(response.headers().get("grpc-status").is_none());
    assert_eq!(
        parts(response).await,
        (401, Some(MISSING.into()), String::new())
    );

    let response = grpc("/whoami", Some("Bearer a.b.c".into()))
        .send()
        .await
        .expect("request");
    assert_eq!(
        parts(response).await,
        (401, invalid_token("the token is malformed"), String::new())
    );

    let t = f.token("svc", "reports:write");
    let response = grpc("/reports", Some(format!("Bearer {t}")))
        .send()
        .await
        .expect("request");
    assert_eq!(
        parts(response).await,
        (
            403,
            Some(r#"Bearer realm="api", error="insufficient_scope", scope="reports:read""#.into()),
            String::new()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_requests_each_see_their_own_claims() {
    let f = fixture().await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let sub = format!("client-{i}");
        let t = f.token(&sub, "reports:read");
        let http = f.http.clone();
        let url = format!("{}/whoami", f.base);
        tasks.push(tokio::spawn(async move {
            let body: Value = http
                .get(url)
                .bearer_auth(t)
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("json");
            (sub, body["sub"].as_str().map(str::to_owned))
        }));
    }
    let mut seen = HashSet::new();
    for task in tasks {
        let (sent, got) = task.await.expect("task");
        assert_eq!(Some(sent.clone()), got);
        seen.insert(sent);
    }
    assert_eq!(seen.len(), 64);
}

#[tokio::test]
async fn cached_token_is_rejected_once_it_expires() {
    const START: u64 = 1_900_000_000;
    let clock = ManualClock::new(START);
    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let validator = Validator::builder()
        .issuer(ISSUER, KeySource::local(KeyRing::new(key.clone())))
        .audience(AUDIENCE)
        .clock(clock.clock())
        .build()
        .expect("config");
    let base = serve(app(validator)).await;
    let mut claims = access_claims("svc", "");
    claims["iat"] = json!(START);
    claims["exp"] = json!(START + 60);
    let t = token(&key, &claims);
    let http = http();
    let call = || async {
        parts(
            http.get(format!("{base}/whoami"))
                .bearer_auth(&t)
                .send()
                .await
                .expect("request"),
        )
        .await
    };
    assert_eq!(call().await.0, 200);
    assert_eq!(call().await.0, 200); // served from the cache
    clock.set(START + 60 + 30); // exp + default leeway
    assert_eq!(
        call().await,
        (401, invalid_token("the token has expired"), String::new())
    );
}

/// A router whose bearer layer sets `realm` and, optionally, a custom error handler.
fn realm_app(validator: Validator, realm: &str) -> Router {
    let protected = Router::new()
        .route(
            "/reports",
            get(whoami).layer(RequireScopeLayer::all(["reports:read"])),
        )
        .layer(BearerAuthLayer::new(validator.clone()).realm(realm));
    // An optional layer in front of a handler that insists on claims: the extractor rejects.
    let extractor = Router::new()
        .route("/strict", get(whoami))
        .layer(BearerAuthLayer::optional(validator).realm(realm));
    protected.merge(extractor)
}

#[tokio::test]
async fn one_realm_reaches_the_bearer_layer_the_scope_layer_and_the_extractor() {
    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let base = serve(realm_app(validator_for(&key), "reports")).await;
    let get = |path: &str, token: Option<String>| {
        let url = format!("{base}{path}");
        async move { get_bearer(&url, token.as_deref()).await }
    };
    let bare = Some(r#"Bearer realm="reports""#.to_owned());
    assert_eq!(
        get("/reports", None).await,
        (401, bare.clone(), String::new())
    );
    let writer = token(&key, &access_claims("svc", "reports:write"));
    assert_eq!(
        get("/reports", Some(writer)).await,
        (
            403,
            Some(
                r#"Bearer realm="reports", error="insufficient_scope", scope="reports:read""#
                    .to_owned()
            ),
            String::new()
        )
    );
    assert_eq!(get("/strict", None).await, (401, bare, String::new()));
    let reader = token(&key, &access_claims("svc", "reports:read"));
    assert_eq!(get("/strict", Some(reader)).await.0, 200);
}

#[tokio::test]
async fn custom_error_handler_survives_a_later_realm_and_sees_it() {
    use tower_client_credentials::protect::Rejection;

    fn json_error(rejection: &Rejection<'_>) -> axum::response::Response {
        let mut response: axum::response::Response = rejection.to_response();
        let body = format!(
            r#"{{"error":"{}","realm":"{}"}}"#,
            rejection.error().error_code().unwrap_or("unauthorized"),
            rejection.realm()
        );
        *response.body_mut() = axum::body::Body::from(body);
        response
    }

    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let app = Router::new().route("/whoami", get(whoami)).layer(
        BearerAuthLayer::new(validator_for(&key))
            .on_error(json_error)
            .realm("x"),
    );
    let base = serve(app).await;
    assert_eq!(
        get_bearer(&format!("{base}/whoami"), Some("a.b.c")).await,
        (
            401,
            Some(
                r#"Bearer realm="x", error="invalid_token", error_description="the token is malformed""#
                    .to_owned()
            ),
            r#"{"error":"invalid_token","realm":"x"}"#.to_owned()
        )
    );
}

mod fetched_keys {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use tower_client_credentials::keys::{KeyFuture, KeyProvider, VerifyingKey};

    /// Keys that arrive only after a (slow) fetch, as from a remote JWKS.
    struct SlowSource {
        key: VerifyingKey,
        fetches: Arc<AtomicUsize>,
    }

    impl KeyProvider for SlowSource {
        fn find(&self, _kid: Option<&str>) -> Option<VerifyingKey> {
            None
        }

        fn fetch(&self, kid: Option<&str>) -> Option<KeyFuture> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            let key = self.key.clone();
            let wanted = kid.map(str::to_owned);
            Some(Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok((wanted.as_deref() == Some(key.kid())).then_some(key))
            }))
        }
    }

    #[tokio::test]
    async fn a_key_fetched_while_the_request_waits_lets_it_through_and_the_cache_keeps_it() {
        let key = SigningKey::generate(Algorithm::ES256).expect("keygen");
        let fetches = Arc::new(AtomicUsize::new(0));
        let source = SlowSource {
            key: key.verifying_key().clone(),
            fetches: fetches.clone(),
        };
        let validator = Validator::builder()
            .issuer(ISSUER, KeySource::provider(source))
            .audience(AUDIENCE)
            .build()
            .expect("config");
        let base = serve(app(validator)).await;
        let good = token(&key, &access_claims("svc", "reports:read"));
        for _ in 0..2 {
            let (status, challenge, body) =
                get_bearer(&format!("{base}/reports"), Some(&good)).await;
            assert_eq!((status, challenge), (200, None));
            assert_eq!(
                serde_json::from_str::<Value>(&body).expect("json")["sub"],
                "svc"
            );
        }
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "the second request hit the cache"
        );

        let stranger = SigningKey::generate(Algorithm::ES256).expect("keygen");
        let forged = token(&stranger, &access_claims("svc", "reports:read"));
        assert_eq!(
            get_bearer(&format!("{base}/reports"), Some(&forged)).await,
            (
                401,
                invalid_token("the signing key is not known"),
                String::new()
            )
        );
    }
}

#[tokio::test]
async fn a_cache_hit_needs_the_identical_token_bytes() {
    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let validator = Validator::builder()
        .issuer(ISSUER, KeySource::local(KeyRing::new(key.clone())))
        .audience(AUDIENCE)
        .build()
        .expect("config");
    let base = serve(app(validator.clone())).await;
    let t = token(&key, &access_claims("svc", ""));
    let url = format!("{base}/whoami");
    assert_eq!(get_bearer(&url, Some(&t)).await.0, 200);
    assert_eq!(validator.cached_tokens(), 1);
    // One signature byte changed: not a hit, and a bad signature.
    let mut tampered = t.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    assert_eq!(
        get_bearer(&url, Some(&tampered)).await,
        (
            401,
            invalid_token("the token signature is invalid"),
            String::new()
        )
    );
    // A prefix and an extension of the cached token are other tokens too.
    for other in [&t[..t.len() - 1], &format!("{t}A")] {
        let (status, challenge, _) = get_bearer(&url, Some(other)).await;
        assert_eq!(status, 401, "{other}");
        assert!(challenge.expect("challenge").contains("invalid_token"));
    }
    // A cached token with a character outside b64token around it is malformed, not a hit.
    let (status, challenge, _) = get_bearer(&url, Some(&format!("{t}\"x"))).await;
    assert_eq!(status, 400);
    assert!(challenge.expect("challenge").contains("invalid_request"));
    assert_eq!(get_bearer(&url, Some(&t)).await.0, 200);
    assert_eq!(validator.cached_tokens(), 1);
}
