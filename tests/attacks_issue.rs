//! The token endpoint against an attacker, over real HTTP on 127.0.0.1: one test per attack,
//! each asserting the exact refusal (status, headers, body). Never a 2xx for the attacker, never
//! a 5xx except the deliberate 503 of the hashing limit. Time is a `ManualClock`: no sleeps.
#![cfg(all(feature = "axum", feature = "issue"))]

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::issue::{FORM, Reply, basic, basic_raw, scopes, serve_with_connect_info, urlencode};
use common::{AUDIENCE, ISSUER, forge, http};
use serde_json::{Value, json};
use tower_client_credentials::clients::{
    AuthMethod, Client, ClientBuilder, ClientSecret, MemoryClientStore,
};
use tower_client_credentials::issue::throttle::{
    MemoryAuthThrottle, ThrottleLimits, TrustedProxies,
};
use tower_client_credentials::issue::{
    ClientCredentialsTokenService, HashingLimit, JWT_BEARER_ASSERTION, MAX_BODY_BYTES, TokenIssuer,
    discovery_routes,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};
use tower_client_credentials::time::ManualClock;

const NOW: u64 = 1_900_000_000;
/// The default token endpoint of [`ISSUER`]: an accepted assertion `aud`.
const TOKEN_URL: &str = "https://auth.test/oauth2/token";
const GRANT: &str = "grant_type=client_credentials";
const CHALLENGE: &str = r#"Basic realm="token""#;
const OTHER_AUDIENCE: &str = "audit-api";

/// SHA-256 secret; Basic and post.
const EXPORTER: &str = "reports-exporter";
/// Argon2id password, Basic.
const OPERATOR: &str = "ops-dashboard";
const PASSWORD: &str = "correct horse battery staple";
/// The exporter's secret, disabled.
const DISABLED: &str = "retired-service";
/// The exporter's secret, post only.
const POST_ONLY: &str = "batch-poster";
/// `private_key_jwt` only, EdDSA.
const SIGNER: &str = "billing";

/// Argon2id is slow in debug builds: hash once per test binary.
fn password_hash() -> ClientSecret {
    static HASH: OnceLock<ClientSecret> = OnceLock::new();
    HASH.get_or_init(|| ClientSecret::hash_password(PASSWORD).expect("argon2id"))
        .clone()
}

/// The defences a test sets; the rest are the issuer's defaults.
struct Defences {
    limits: ThrottleLimits,
    proxies: TrustedProxies,
    hashing: HashingLimit,
}

impl Default for Defences {
    fn default() -> Self {
        Defences {
            limits: ThrottleLimits::default(),
            proxies: TrustedProxies::none(),
            hashing: HashingLimit::default(),
        }
    }
}

struct Endpoint {
    base: String,
    url: String,
    http: reqwest::Client,
    time: ManualClock,
    /// The plaintext of the exporter's (and the disabled and post-only clients') secret.
    secret: String,
    signer: SigningKey,
}

async fn endpoint() -> Endpoint {
    endpoint_with(Defences::default()).await
}

async fn endpoint_with(defences: Defences) -> Endpoint {
    let time = ManualClock::new(NOW);
    let (plain, stored) = ClientSecret::generate();
    let signer = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let client = |id: &str| {
        Client::builder(id)
            .secret(stored.clone())
            .auth_methods([AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost])
            .allowed_scopes(scopes("reports:read reports:write"))
            .default_scopes(scopes("reports:read"))
            .audiences([AUDIENCE, OTHER_AUDIENCE])
    };
    let built = |builder: ClientBuilder| builder.build().expect("client");
    let clients = MemoryClientStore::new()
        .with_client(built(client(EXPORTER)))
        .with_client(built(
            client(OPERATOR)
                .secret(password_hash())
                .auth_methods([AuthMethod::ClientSecretBasic]),
        ))
        .with_client(built(client(DISABLED).enabled(false)))
        .with_client(built(
            client(POST_ONLY).auth_methods([AuthMethod::ClientSecretPost]),
        ))
        .with_client(built(
            Client::builder(SIGNER)
                .auth_methods([AuthMethod::PrivateKeyJwt])
                .keys([signer.verifying_key().clone()])
                .allowed_scopes(scopes("invoices:read"))
                .audiences([AUDIENCE]),
        ));
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).expect("keygen"))
        .with_clock(time.clock());
    let throttle = MemoryAuthThrottle::new(defences.limits).with_clock(time.clock());
    let issuer = TokenIssuer::builder()
        .issuer(ISSUER)
        .keys(ring)
        .clients(clients)
        .clock(time.clock())
        .throttle(throttle)
        .hashing_limit(defences.hashing)
        .trusted_proxies(defences.proxies)
        .build()
        .expect("issuer");
    let app = Router::new()
        .route_service(
            "/oauth2/token",
            ClientCredentialsTokenService::new(issuer.clone()),
        )
        .merge(discovery_routes(&issuer));
    let base = serve_with_connect_info(app).await;
    Endpoint {
        url: format!("{base}/oauth2/token"),
        base,
        http: http(),
        time,
        secret: plain.expose().to_owned(),
        signer,
    }
}

impl Endpoint {
    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        Reply::read(request.send().await.expect("request")).await
    }

    /// A form POST with these extra headers (`authorization`, `x-forwarded-for`, …).
    async fn post_with(&self, headers: &[(&str, &str)], body: impl Into<reqwest::Body>) -> Reply {
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", FORM)
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// A form POST, with an `Authorization` header when given.
    async fn post(&self, authorization: Option<&str>, body: impl Into<reqwest::Body>) -> Reply {
        match authorization {
            Some(value) => self.post_with(&[("authorization", value)], body).await,
            None => self.post_with(&[], body).await,
        }
    }

    async fn post_as_exporter(&self, body: impl Into<reqwest::Body>) -> Reply {
        self.post(Some(&basic(EXPORTER, &self.secret)), body).await
    }

    /// The signer's assertion claims, valid for a minute on the server's clock.
    fn claims(&self, jti: &str) -> Value {
        json!({
            "iss": SIGNER, "sub": SIGNER, "aud": TOKEN_URL,
            "iat": NOW, "exp": NOW + 60, "jti": jti,
        })
    }

    /// `claims` with `changes` merged in (a `null` removes the claim).
    fn claims_with(&self, jti: &str, changes: Value) -> Value {
        let mut claims = self.claims(jti);
        for (name, value) in changes.as_object().expect("object") {
            match value {
                Value::Null => claims.as_object_mut().expect("object").remove(name),
                _ => claims
                    .as_object_mut()
                    .expect("object")
                    .insert(name.clone(), value.clone()),
            };
        }
        claims
    }

    fn sign(&self, claims: &Value) -> String {
        self.signer.sign("JWT", claims).expect("sign")
    }

    async fn post_assertion(&self, assertion: &str) -> Reply {
        self.post(None, assertion_form(assertion)).await
    }
}

fn assertion_form(assertion: &str) -> String {
    format!(
        "{GRANT}&client_assertion_type={}&client_assertion={}",
        urlencode(JWT_BEARER_ASSERTION),
        urlencode(assertion)
    )
}

fn invalid_request(description: &str) -> Reply {
    Reply::error(400, "invalid_request", description)
}

fn invalid_client() -> Reply {
    Reply::error(401, "invalid_client", "client authentication failed")
}

fn invalid_client_with_challenge() -> Reply {
    invalid_client().with_header("www-authenticate", CHALLENGE)
}

fn invalid_scope(description: &str) -> Reply {
    Reply::error(400, "invalid_scope", description)
}

fn invalid_target() -> Reply {
    Reply::error(
        400,
        "invalid_target",
        "the resource is not allowed for this client",
    )
}

fn throttled(retry_after: u64) -> Reply {
    Reply::error(
        429,
        "temporarily_unavailable",
        "too many failed client authentications",
    )
    .with_header("retry-after", &retry_after.to_string())
}

fn busy() -> Reply {
    Reply::error(
        503,
        "temporarily_unavailable",
        "the server is busy, retry later",
    )
    .with_header("retry-after", "1")
}

fn too_large() -> Reply {
    Reply::error(413, "invalid_request", "the request body is too large")
}

// --- client authentication failures -------------------------------------------------------

#[tokio::test]
async fn no_client_authentication_is_invalid_client_without_challenge() {
    let e = endpoint().await;
    assert_eq!(e.post(None, GRANT).await, invalid_client());
    let id_only = format!("{GRANT}&client_id={EXPORTER}");
    assert_eq!(e.post(None, id_only).await, invalid_client(), "id only");
}

#[tokio::test]
async fn unknown_client_id_is_invalid_client() {
    let e = endpoint().await;
    let basic = basic("nobody", &e.secret);
    assert_eq!(
        e.post(Some(&basic), GRANT).await,
        invalid_client_with_challenge()
    );
    let post = format!("{GRANT}&client_id=nobody&client_secret={}", e.secret);
    assert_eq!(e.post(None, post).await, invalid_client());
}

#[tokio::test]
async fn wrong_secret_is_invalid_client() {
    let e = endpoint().await;
    let sha = basic(EXPORTER, "guess");
    assert_eq!(
        e.post(Some(&sha), GRANT).await,
        invalid_client_with_challenge()
    );
    let argon = basic(OPERATOR, "correct horse battery stable");
    assert_eq!(
        e.post(Some(&argon), GRANT).await,
        invalid_client_with_challenge()
    );
    let post = format!("{GRANT}&client_id={EXPORTER}&client_secret=guess");
    assert_eq!(e.post(None, post).await, invalid_client());
}

#[tokio::test]
async fn empty_secret_is_invalid_client() {
    let e = endpoint().await;
    let basic = basic_raw(&format!("{EXPORTER}:"));
    assert_eq!(
        e.post(Some(&basic), GRANT).await,
        invalid_client_with_challenge()
    );
    let post = format!("{GRANT}&client_id={EXPORTER}&client_secret=");
    assert_eq!(e.post(None, post).await, invalid_client());
}

#[tokio::test]
async fn disabled_client_with_its_secret_is_invalid_client() {
    let e = endpoint().await;
    let basic = basic(DISABLED, &e.secret);
    assert_eq!(
        e.post(Some(&basic), GRANT).await,
        invalid_client_with_challenge()
    );
}

#[tokio::test]
async fn method_the_client_is_not_registered_for_is_invalid_client() {
    let e = endpoint().await;
    let basic_for_post_only = basic(POST_ONLY, &e.secret);
    assert_eq!(
        e.post(Some(&basic_for_post_only), GRANT).await,
        invalid_client_with_challenge()
    );
    let secret_for_signer = format!("{GRANT}&client_id={SIGNER}&client_secret={}", e.secret);
    assert_eq!(e.post(None, secret_for_signer).await, invalid_client());
    let assertion_for_exporter =
        e.sign(&e.claims_with("x", json!({"iss": EXPORTER, "sub": EXPORTER})));
    assert_eq!(
        e.post_assertion(&assertion_for_exporter).await,
        invalid_client()
    );
}

#[tokio::test]
async fn secret_without_client_id_is_invalid_request() {
    let e = endpoint().await;
    let body = format!("{GRANT}&client_secret={}", e.secret);
    assert_eq!(
        e.post(None, body).await,
        invalid_request("client_secret without client_id")
    );
}

#[tokio::test]
async fn two_authentication_methods_are_invalid_request() {
    let e = endpoint().await;
    let body = format!("{GRANT}&client_id={EXPORTER}&client_secret={}", e.secret);
    assert_eq!(
        e.post_as_exporter(body).await,
        invalid_request("use exactly one client authentication method")
    );
}

#[tokio::test]
async fn client_id_differing_from_the_basic_header_is_invalid_request() {
    let e = endpoint().await;
    let body = format!("{GRANT}&client_id={POST_ONLY}");
    assert_eq!(
        e.post_as_exporter(body).await,
        invalid_request("client_id does not match the Authorization header")
    );
}

// --- Basic garbage --------------------------------------------------------------------------

fn malformed_basic() -> Reply {
    invalid_request("malformed Basic credentials")
}

#[tokio::test]
async fn basic_that_is_not_base64_is_invalid_request() {
    let e = endpoint().await;
    for value in [
        "Basic !!!",
        "Basic a",
        "Basic ====",
        "Basic",
        "Basic ZGVtbzpzZWNyZXQ",
    ] {
        assert_eq!(
            e.post(Some(value), GRANT).await,
            malformed_basic(),
            "{value}"
        );
    }
}

#[tokio::test]
async fn basic_without_a_colon_is_invalid_request() {
    let e = endpoint().await;
    let value = basic_raw(EXPORTER);
    assert_eq!(e.post(Some(&value), GRANT).await, malformed_basic());
}

#[tokio::test]
async fn basic_that_is_not_utf8_is_invalid_request() {
    let e = endpoint().await;
    for raw in [&b"id:\xff\xfe"[..], b"\xc3\x28:secret", b"id:%FF"] {
        let value = format!("Basic {}", STANDARD.encode(raw));
        assert_eq!(
            e.post(Some(&value), GRANT).await,
            malformed_basic(),
            "{value}"
        );
    }
}

#[tokio::test]
async fn basic_with_an_empty_client_id_is_invalid_request() {
    let e = endpoint().await;
    let value = basic_raw(&format!(":{}", e.secret));
    assert_eq!(e.post(Some(&value), GRANT).await, malformed_basic());
}

#[tokio::test]
async fn huge_basic_header_is_refused_without_5xx() {
    let e = endpoint().await;
    let huge_id = basic(&"a".repeat(48 * 1024), "secret");
    assert_eq!(
        e.post(Some(&huge_id), GRANT).await,
        invalid_client_with_challenge()
    );
    let huge_garbage = format!("Basic {}", "!".repeat(48 * 1024));
    assert_eq!(e.post(Some(&huge_garbage), GRANT).await, malformed_basic());
}

#[tokio::test]
async fn two_authorization_headers_are_invalid_request() {
    let e = endpoint().await;
    let value = basic(EXPORTER, &e.secret);
    let request = e
        .http
        .post(&e.url)
        .header("content-type", FORM)
        .header("authorization", &value)
        .header("authorization", &value)
        .body(GRANT);
    assert_eq!(
        e.send(request).await,
        invalid_request("more than one Authorization header")
    );
}

#[tokio::test]
async fn authorization_scheme_other_than_basic_is_invalid_request() {
    let e = endpoint().await;
    for value in ["Bearer abc", "Digest username=\"x\"", "Negotiate YII="] {
        assert_eq!(
            e.post(Some(value), GRANT).await,
            invalid_request("the token endpoint accepts only Basic authorization"),
            "{value}"
        );
    }
}

// --- the request itself ---------------------------------------------------------------------

#[tokio::test]
async fn repeated_parameters_are_invalid_request() {
    let e = endpoint().await;
    let repeated = invalid_request("a parameter was given more than once");
    let secret = urlencode(&e.secret);
    for body in [
        format!("{GRANT}&{GRANT}"),
        format!("{GRANT}&client_id={POST_ONLY}&client_id={POST_ONLY}&client_secret={secret}"),
        format!("{GRANT}&client_id={POST_ONLY}&client_secret={secret}&client_secret=x"),
        format!("{GRANT}&client_id={POST_ONLY}&client_secret={secret}&scope=a&scope=b"),
        format!("{GRANT}&client_id={POST_ONLY}&client_secret={secret}&resource=a&resource=b"),
        format!("{}&client_assertion=x", assertion_form("y")),
    ] {
        assert_eq!(e.post(None, body.clone()).await, repeated, "{body}");
    }
}

/// A valid token request padded with an ignored parameter to exactly `len` bytes.
fn padded_body(len: usize) -> Vec<u8> {
    let mut body = format!("{GRANT}&pad=").into_bytes();
    body.resize(len, b'a');
    body
}

#[tokio::test]
async fn body_over_the_limit_with_content_length_is_413() {
    let e = endpoint().await;
    for len in [MAX_BODY_BYTES + 1, 4 * 1024 * 1024] {
        assert_eq!(
            e.post_as_exporter(padded_body(len)).await,
            too_large(),
            "{len}"
        );
    }
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_413() {
    let e = endpoint().await;
    for len in [MAX_BODY_BYTES + 1, 4 * 1024 * 1024] {
        let stream = axum::body::Body::from(padded_body(len)).into_data_stream();
        let reply = e.post_as_exporter(reqwest::Body::wrap_stream(stream)).await;
        assert_eq!(reply, too_large(), "{len}");
    }
}

#[tokio::test]
async fn wrong_content_type_is_invalid_request() {
    let e = endpoint().await;
    let expected = invalid_request("the content type must be application/x-www-form-urlencoded");
    for content_type in [
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencodedx",
        "application/x-www-form-urlencoded-evil; charset=utf-8",
    ] {
        let request = e
            .http
            .post(&e.url)
            .header("content-type", content_type)
            .header("authorization", basic(EXPORTER, &e.secret))
            .body(GRANT);
        assert_eq!(e.send(request).await, expected, "{content_type}");
    }
}

#[tokio::test]
async fn credentials_in_the_query_string_are_ignored() {
    let e = endpoint().await;
    let url = format!(
        "{}?client_id={POST_ONLY}&client_secret={}&grant_type=client_credentials",
        e.url,
        urlencode(&e.secret)
    );
    let request = e.http.post(url).header("content-type", FORM).body(GRANT);
    assert_eq!(e.send(request).await, invalid_client());
}

#[tokio::test]
async fn scope_injection_is_invalid_scope() {
    let e = endpoint().await;
    let malformed = invalid_scope("the scope is malformed");
    for scope in [
        "reports%3Aread%0Aadmin",
        "reports%3Aread%0D%0Aadmin",
        "reports%3Aread%00",
        "reports%3Aread%09admin",
        "reports%3Aread++reports%3Awrite",
        "+reports%3Aread",
        "reports%3Aread+",
        "reports%3Are%C3%A1d",
        "%22reports%3Aread%22",
    ] {
        let body = format!("{GRANT}&scope={scope}");
        assert_eq!(e.post_as_exporter(body).await, malformed, "{scope}");
    }
    let not_allowed = invalid_scope("a requested scope is not allowed for this client");
    for scope in [
        "admin",
        "reports%3Aread+admin",
        "reports%3A%2A",
        "REPORTS%3AREAD",
    ] {
        let body = format!("{GRANT}&scope={scope}");
        assert_eq!(e.post_as_exporter(body).await, not_allowed, "{scope}");
    }
}

#[tokio::test]
async fn resource_injection_is_invalid_target() {
    let e = endpoint().await;
    for resource in [
        "reports-api+audit-api",
        "reports-api%0A",
        "reports-api%00",
        "reports-api%09",
        "+reports-api",
        "REPORTS-API",
        "https%3A%2F%2Fattacker.test",
    ] {
        let body = format!("{GRANT}&resource={resource}");
        assert_eq!(
            e.post_as_exporter(body).await,
            invalid_target(),
            "{resource}"
        );
    }
}

// --- private_key_jwt ------------------------------------------------------------------------

#[tokio::test]
async fn replayed_assertion_is_invalid_client() {
    let e = endpoint().await;
    let assertion = e.sign(&e.claims("once"));
    assert_eq!(
        e.post_assertion(&assertion).await.token()["scope"],
        "invoices:read"
    );
    assert_eq!(e.post_assertion(&assertion).await, invalid_client());
    // A new assertion with the same jti is a replay too.
    let again = e.sign(&e.claims_with("once", json!({"iat": NOW + 1})));
    assert_eq!(e.post_assertion(&again).await, invalid_client());
}

#[tokio::test]
async fn assertion_jti_over_256_bytes_is_invalid_client() {
    let e = endpoint().await;
    let at_limit = e.sign(&e.claims(&"j".repeat(256)));
    assert_eq!(e.post_assertion(&at_limit).await.status, 200);
    for jti in ["k".repeat(257), "é".repeat(129), "k".repeat(4000)] {
        let assertion = e.sign(&e.claims(&jti));
        assert_eq!(
            e.post_assertion(&assertion).await,
            invalid_client(),
            "{}",
            jti.len()
        );
    }
}

#[tokio::test]
async fn assertion_without_a_usable_jti_is_invalid_client() {
    let e = endpoint().await;
    for changes in [json!({"jti": ""}), json!({"jti": null}), json!({"jti": 42})] {
        let assertion = e.sign(&e.claims_with("x", changes.clone()));
        assert_eq!(
            e.post_assertion(&assertion).await,
            invalid_client(),
            "{changes}"
        );
    }
}

#[tokio::test]
async fn assertion_aud_naming_this_server_alone_is_accepted() {
    let e = endpoint().await;
    for (i, aud) in [
        json!(ISSUER),
        json!(TOKEN_URL),
        json!([ISSUER]),
        json!([TOKEN_URL]),
        json!([ISSUER, TOKEN_URL]),
    ]
    .into_iter()
    .enumerate()
    {
        let assertion = e.sign(&e.claims_with(&format!("aud-{i}"), json!({ "aud": aud })));
        assert_eq!(e.post_assertion(&assertion).await.status, 200, "{aud}");
    }
}

#[tokio::test]
async fn assertion_aud_naming_another_audience_is_invalid_client() {
    let e = endpoint().await;
    for (i, aud) in [
        json!([TOKEN_URL, "https://other-as.test/token"]),
        json!([ISSUER, AUDIENCE]),
        json!(["https://other-as.test", ISSUER]),
        json!([]),
        json!("https://other-as.test"),
        json!("https://auth.test/"),
        json!("HTTPS://AUTH.TEST"),
        json!("https://auth.test/oauth2/token/"),
        json!(null),
        json!(42),
    ]
    .into_iter()
    .enumerate()
    {
        let assertion = e.sign(&e.claims_with(&format!("aud-{i}"), json!({ "aud": aud })));
        assert_eq!(
            e.post_assertion(&assertion).await,
            invalid_client(),
            "{aud}"
        );
    }
}

#[tokio::test]
async fn assertion_iss_differing_from_sub_is_invalid_client() {
    let e = endpoint().await;
    for (i, changes) in [
        json!({"iss": EXPORTER}),
        json!({"iss": null}),
        json!({"sub": EXPORTER}),
    ]
    .into_iter()
    .enumerate()
    {
        let assertion = e.sign(&e.claims_with(&format!("iss-{i}"), changes.clone()));
        assert_eq!(
            e.post_assertion(&assertion).await,
            invalid_client(),
            "{changes}"
        );
    }
    let assertion = e.sign(&e.claims("client-id-param"));
    let body = format!("{}&client_id={EXPORTER}", assertion_form(&assertion));
    assert_eq!(
        e.post(None, body).await,
        invalid_client(),
        "client_id param"
    );
}

#[tokio::test]
async fn assertion_exp_too_far_ahead_is_invalid_client() {
    let e = endpoint().await;
    // Five minutes plus the 30 s leeway is the furthest accepted.
    let furthest = e.sign(&e.claims_with("far", json!({"exp": NOW + 330})));
    assert_eq!(e.post_assertion(&furthest).await.status, 200);
    for (i, exp) in [NOW + 331, NOW + 86_400, u64::MAX].into_iter().enumerate() {
        let assertion = e.sign(&e.claims_with(&format!("far-{i}"), json!({ "exp": exp })));
        assert_eq!(
            e.post_assertion(&assertion).await,
            invalid_client(),
            "{exp}"
        );
    }
}

#[tokio::test]
async fn expired_assertion_is_invalid_client() {
    let e = endpoint().await;
    for (i, exp) in [
        json!(NOW - 30),
        json!(NOW - 3600),
        json!(0),
        json!(null),
        json!("soon"),
    ]
    .into_iter()
    .enumerate()
    {
        let assertion = e.sign(&e.claims_with(&format!("old-{i}"), json!({ "exp": exp })));
        assert_eq!(
            e.post_assertion(&assertion).await,
            invalid_client(),
            "{exp}"
        );
    }
}

#[tokio::test]
async fn assertion_not_yet_valid_is_invalid_client() {
    let e = endpoint().await;
    let assertion = e.sign(&e.claims_with("nbf", json!({"nbf": NOW + 31})));
    assert_eq!(e.post_assertion(&assertion).await, invalid_client());
}

#[tokio::test]
async fn assertion_signed_with_another_key_is_invalid_client() {
    let e = endpoint().await;
    let stranger = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let impostor = stranger.clone().with_kid(e.signer.kid());
    for (case, key) in [("unknown kid", &stranger), ("signer's kid", &impostor)] {
        let assertion = key.sign("JWT", &e.claims(case)).expect("sign");
        assert_eq!(
            e.post_assertion(&assertion).await,
            invalid_client(),
            "{case}"
        );
    }
    // The signer's signature over other claims.
    let genuine = e.sign(&e.claims("genuine"));
    let (_, signature) = genuine.rsplit_once('.').expect("jws");
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": e.signer.kid()});
    let swapped = forge(&header, &e.claims("swapped"), signature);
    assert_eq!(
        e.post_assertion(&swapped).await,
        invalid_client(),
        "swapped"
    );
}

#[tokio::test]
async fn assertion_alg_other_than_the_key_is_invalid_client() {
    let e = endpoint().await;
    let kid = e.signer.kid();
    let genuine = e.sign(&e.claims("alg"));
    let (_, signature) = genuine.rsplit_once('.').expect("jws");
    for alg in ["ES256", "RS256", "PS256", "HS256"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
        let forged = forge(&header, &e.claims("alg"), signature);
        assert_eq!(e.post_assertion(&forged).await, invalid_client(), "{alg}");
    }
    // HS256 keyed with the client's public key.
    let jwk = serde_json::to_value(e.signer.verifying_key().to_jwk().expect("jwk")).expect("json");
    let x = URL_SAFE_NO_PAD
        .decode(jwk["x"].as_str().expect("x"))
        .expect("base64url");
    let hmac = SigningKey::hmac(&x, kid).expect("hmac");
    let confused = hmac.sign("JWT", &e.claims("hs256")).expect("sign");
    assert_eq!(e.post_assertion(&confused).await, invalid_client(), "HS256");
}

#[tokio::test]
async fn assertion_alg_none_is_invalid_client() {
    let e = endpoint().await;
    let kid = e.signer.kid();
    for alg in ["none", "None", "NONE", "nOnE", ""] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
        for signature in ["", "c2ln"] {
            let forged = forge(&header, &e.claims(&format!("none-{alg}")), signature);
            assert_eq!(
                e.post_assertion(&forged).await,
                invalid_client(),
                "{alg:?} {signature:?}"
            );
        }
    }
}

#[tokio::test]
async fn wrong_assertion_type_is_invalid_request() {
    let e = endpoint().await;
    let assertion = e.sign(&e.claims("type"));
    let body = format!(
        "{GRANT}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Asaml2-bearer&client_assertion={assertion}"
    );
    assert_eq!(
        e.post(None, body).await,
        invalid_request(
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        )
    );
}

// --- brute-force throttling (RFC 6749 §2.3.1) -----------------------------------------------

#[tokio::test]
async fn client_id_locked_after_ten_failures_refuses_even_the_right_secret() {
    let e = endpoint().await;
    let wrong = basic(EXPORTER, "guess");
    for i in 0..10 {
        let reply = e.post(Some(&wrong), GRANT).await;
        assert_eq!(reply, invalid_client_with_challenge(), "failure {i}");
    }
    e.time.advance(Duration::from_secs(15));
    assert_eq!(e.post_as_exporter(GRANT).await, throttled(45), "basic");
    let post = format!("{GRANT}&client_id={EXPORTER}&client_secret={}", e.secret);
    assert_eq!(e.post(None, post.clone()).await, throttled(45), "post");
    // Other clients are not affected.
    let other = format!("{GRANT}&client_id={POST_ONLY}&client_secret={}", e.secret);
    assert_eq!(e.post(None, other).await.status, 200);
    e.time.advance(Duration::from_secs(44));
    assert_eq!(e.post_as_exporter(GRANT).await, throttled(1));
    e.time.advance(Duration::from_secs(1));
    assert_eq!(e.post_as_exporter(GRANT).await.status, 200);
    assert_eq!(e.post(None, post).await.status, 200);
}

#[tokio::test]
async fn a_success_clears_the_client_id_count() {
    let e = endpoint().await;
    let wrong = basic(EXPORTER, "guess");
    for _ in 0..2 {
        for i in 0..9 {
            let reply = e.post(Some(&wrong), GRANT).await;
            assert_eq!(reply, invalid_client_with_challenge(), "failure {i}");
        }
        assert_eq!(e.post_as_exporter(GRANT).await.status, 200);
    }
}

#[tokio::test]
async fn unknown_client_ids_count_against_the_peer() {
    let limits = ThrottleLimits::default().with_peer_failures(5);
    let e = endpoint_with(Defences {
        limits,
        ..Defences::default()
    })
    .await;
    for i in 0..5 {
        let random = basic(&format!("random-{i}"), "guess");
        let reply = e.post(Some(&random), GRANT).await;
        assert_eq!(reply, invalid_client_with_challenge(), "failure {i}");
    }
    e.time.advance(Duration::from_secs(20));
    assert_eq!(e.post_as_exporter(GRANT).await, throttled(40));
    let assertion = e.sign(&e.claims("from-a-locked-peer"));
    assert_eq!(e.post_assertion(&assertion).await, throttled(40));
    e.time.advance(Duration::from_secs(40));
    assert_eq!(e.post_as_exporter(GRANT).await.status, 200);
}

#[tokio::test]
async fn forwarded_for_from_a_trusted_proxy_names_the_peer() {
    let e = endpoint_with(Defences {
        limits: ThrottleLimits::default().with_peer_failures(3),
        proxies: TrustedProxies::x_forwarded_for(["127.0.0.1".parse().expect("ip")]),
        ..Defences::default()
    })
    .await;
    let attacker = [("x-forwarded-for", "203.0.113.7")];
    for i in 0..3 {
        let random = basic(&format!("random-{i}"), "guess");
        let headers = [attacker[0], ("authorization", random.as_str())];
        let reply = e.post_with(&headers, GRANT).await;
        assert_eq!(reply, invalid_client_with_challenge(), "failure {i}");
    }
    let right = basic(EXPORTER, &e.secret);
    let from = |xff| [("x-forwarded-for", xff), ("authorization", right.as_str())];
    assert_eq!(
        e.post_with(&from("203.0.113.7"), GRANT).await,
        throttled(60)
    );
    // Names the client adds to the left do not hide it.
    let spoofed = from("198.51.100.1, 203.0.113.7");
    assert_eq!(e.post_with(&spoofed, GRANT).await, throttled(60));
    assert_eq!(e.post_with(&from("203.0.113.8"), GRANT).await.status, 200);
    assert_eq!(
        e.post_as_exporter(GRANT).await.status,
        200,
        "the proxy itself"
    );
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let e = endpoint_with(Defences {
        limits: ThrottleLimits::default().with_peer_failures(3),
        proxies: TrustedProxies::x_forwarded_for(["192.0.2.1".parse().expect("ip")]),
        ..Defences::default()
    })
    .await;
    for i in 0..3 {
        let random = basic(&format!("random-{i}"), "guess");
        let xff = format!("203.0.113.{i}");
        let headers = [
            ("x-forwarded-for", xff.as_str()),
            ("authorization", random.as_str()),
        ];
        let reply = e.post_with(&headers, GRANT).await;
        assert_eq!(reply, invalid_client_with_challenge(), "failure {i}");
    }
    let right = basic(EXPORTER, &e.secret);
    let headers = [
        ("x-forwarded-for", "203.0.113.99"),
        ("authorization", right.as_str()),
    ];
    assert_eq!(e.post_with(&headers, GRANT).await, throttled(60));
}

#[tokio::test]
async fn private_key_jwt_failures_do_not_lock_the_client_id() {
    let e = endpoint().await;
    for i in 0..12 {
        let bad = e.sign(&e.claims_with(&format!("bad-{i}"), json!({"aud": "elsewhere"})));
        assert_eq!(
            e.post_assertion(&bad).await,
            invalid_client(),
            "failure {i}"
        );
    }
    let good = e.sign(&e.claims("good"));
    assert_eq!(e.post_assertion(&good).await.status, 200);
}

// --- bounded hashing work -------------------------------------------------------------------

/// An endpoint that checks one Argon2id secret at a time and waits 20 ms for its turn, and the
/// limit, so that a test can hold the one permit.
async fn one_hash_at_a_time() -> (Endpoint, HashingLimit) {
    let hashing = HashingLimit::new(1).with_wait(Duration::from_millis(20));
    let e = endpoint_with(Defences {
        hashing: hashing.clone(),
        ..Defences::default()
    })
    .await;
    (e, hashing)
}

#[tokio::test]
async fn argon2id_check_beyond_the_hashing_limit_is_503_with_retry_after() {
    let (e, hashing) = one_hash_at_a_time().await;
    let right = basic(OPERATOR, PASSWORD);
    let held = hashing.acquire().await.expect("a free permit");
    assert_eq!(e.post(Some(&right), GRANT).await, busy());
    drop(held);
    assert_eq!(e.post(Some(&right), GRANT).await.status, 200);
}

#[tokio::test]
async fn unknown_client_id_waits_for_a_hashing_permit_too() {
    let (e, hashing) = one_hash_at_a_time().await;
    let held = hashing.acquire().await.expect("a free permit");
    let random = basic("random-client", "guess");
    assert_eq!(e.post(Some(&random), GRANT).await, busy());
    drop(held);
    assert_eq!(
        e.post(Some(&random), GRANT).await,
        invalid_client_with_challenge()
    );
}

#[tokio::test]
async fn generated_secrets_need_no_hashing_permit() {
    let (e, hashing) = one_hash_at_a_time().await;
    let _held = hashing.acquire().await.expect("a free permit");
    assert_eq!(e.post_as_exporter(GRANT).await.status, 200);
}

#[tokio::test]
async fn refusals_for_lack_of_a_permit_are_not_counted_as_failures() {
    let (e, hashing) = one_hash_at_a_time().await;
    let wrong = basic(OPERATOR, "guess");
    let held = hashing.acquire().await.expect("a free permit");
    for i in 0..12 {
        assert_eq!(e.post(Some(&wrong), GRANT).await, busy(), "attempt {i}");
    }
    drop(held);
    assert_eq!(
        e.post(Some(&basic(OPERATOR, PASSWORD)), GRANT).await.status,
        200
    );
}

// --- response hygiene -----------------------------------------------------------------------

#[tokio::test]
async fn token_answers_are_never_cached_nor_sniffed() {
    let e = endpoint().await;
    let success = e.post_as_exporter(GRANT).await;
    assert_eq!(success.headers, Reply::json(200, String::new()).headers);
    let get = e.send(e.http.get(&e.url)).await;
    assert_eq!(
        get,
        Reply::error(
            405,
            "invalid_request",
            "the token endpoint accepts POST only"
        )
        .with_header("allow", "POST")
    );
    assert_eq!(e.post(None, "grant_type=password").await.status, 400);
    assert_eq!(
        e.post(None, "grant_type=password").await.headers,
        Reply::json(400, String::new()).headers
    );
}

#[tokio::test]
async fn jwks_and_metadata_are_nosniff() {
    let e = endpoint().await;
    for (path, cache) in [
        ("/.well-known/jwks.json", "public, max-age=60"),
        (
            "/.well-known/oauth-authorization-server",
            "public, max-age=300",
        ),
    ] {
        let reply = e.send(e.http.get(format!("{}{path}", e.base))).await;
        let expected = vec![
            ("cache-control".to_owned(), cache.to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
            ("x-content-type-options".to_owned(), "nosniff".to_owned()),
        ];
        assert_eq!((reply.status, reply.headers), (200, expected), "{path}");
        let post = e.send(e.http.post(format!("{}{path}", e.base))).await;
        let expected = vec![
            ("allow".to_owned(), "GET, HEAD".to_owned()),
            ("x-content-type-options".to_owned(), "nosniff".to_owned()),
        ];
        assert_eq!((post.status, post.headers), (405, expected), "POST {path}");
    }
}
