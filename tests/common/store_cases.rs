//! The store-dependent cases of tests/issue_errors.rs, runnable against any `ClientStore`
//! (tests/sql_store.rs runs them against the memory, SQLite and PostgreSQL stores): the same
//! clients, the same requests, the same exact answers.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use serde_json::json;
use tower_client_credentials::clients::{
    AuthMethod, Client, ClientBuilder, ClientSecret, ClientStore,
};
use tower_client_credentials::issue::{
    ClientCredentialsTokenService, JWT_BEARER_ASSERTION, TokenIssuer,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};

use super::issue::{
    Reply, basic, decode_segment, http, scopes, serve_with_connect_info, urlencode,
};
use super::{AUDIENCE, ISSUER, now};

pub const TOKEN_URL: &str = "https://auth.test/oauth2/token";
pub const GRANT: &str = "grant_type=client_credentials";
pub const FORM: &str = "application/x-www-form-urlencoded";
pub const OTHER_AUDIENCE: &str = "audit-api";
pub const EXPORTER: &str = "reports-exporter";
pub const OPERATOR: &str = "ops-dashboard";
pub const PASSWORD: &str = "p:a%s+s w";
pub const DISABLED: &str = "retired-service";
pub const POST_ONLY: &str = "batch-poster";
pub const LONG_LIVED: &str = "long-lived";
pub const SIGNER: &str = "billing";

/// Argon2id is slow in debug builds: hash once per test binary.
fn password_hash() -> ClientSecret {
    static HASH: OnceLock<ClientSecret> = OnceLock::new();
    HASH.get_or_init(|| ClientSecret::hash_password(PASSWORD).expect("argon2id"))
        .clone()
}

/// The clients of tests/issue_errors.rs, with the plaintext of the shared SHA-256 secret and
/// the signer's private key.
pub struct Fixture {
    pub clients: Vec<Client>,
    pub secret: String,
    pub signer: SigningKey,
}

pub fn fixture() -> Fixture {
    let (plain, stored) = ClientSecret::generate();
    let signer = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let client = |id: &str| {
        Client::builder(id)
            .secret(stored.clone())
            .allowed_scopes(scopes("reports:read reports:write"))
            .default_scopes(scopes("reports:read"))
            .audiences([AUDIENCE, OTHER_AUDIENCE])
    };
    let built = |builder: ClientBuilder| builder.build().expect("client");
    let clients = vec![
        built(client(EXPORTER)),
        built(client(OPERATOR).secret(password_hash())),
        built(client(DISABLED).enabled(false)),
        built(client(POST_ONLY).auth_methods([AuthMethod::ClientSecretPost])),
        built(client(LONG_LIVED).token_ttl(Duration::from_secs(7200))),
        built(
            Client::builder(SIGNER)
                .auth_methods([AuthMethod::PrivateKeyJwt])
                .keys([signer.verifying_key().clone()])
                .allowed_scopes(scopes("invoices:read"))
                .audiences([AUDIENCE]),
        ),
    ];
    Fixture {
        clients,
        secret: plain.expose().to_owned(),
        signer,
    }
}

/// A token endpoint over `store` on 127.0.0.1.
pub struct Endpoint {
    pub url: String,
    pub secret: String,
    pub signer: SigningKey,
    pub kid: String,
}

/// Serves a token endpoint for `store` (which must hold `fixture.clients`).
pub async fn endpoint(store: impl ClientStore, fixture: &Fixture) -> Endpoint {
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).expect("keygen"));
    let kid = ring.active().kid().to_owned();
    let issuer = TokenIssuer::builder()
        .issuer(ISSUER)
        .keys(ring)
        .clients(store)
        .build()
        .expect("issuer");
    let app =
        Router::new().route_service("/oauth2/token", ClientCredentialsTokenService::new(issuer));
    let base = serve_with_connect_info(app).await;
    Endpoint {
        url: format!("{base}/oauth2/token"),
        secret: fixture.secret.clone(),
        signer: fixture.signer.clone(),
        kid,
    }
}

pub fn invalid_client() -> Reply {
    Reply::error(401, "invalid_client", "client authentication failed")
}

pub fn invalid_client_with_challenge() -> Reply {
    invalid_client().with_header("www-authenticate", r#"Basic realm="token""#)
}

impl Endpoint {
    /// A form POST, with an `Authorization` header when given.
    pub async fn post(&self, authorization: Option<&str>, body: impl Into<reqwest::Body>) -> Reply {
        let mut request = http()
            .post(&self.url)
            .header("content-type", FORM)
            .body(body);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        Reply::read(request.send().await.expect("request")).await
    }

    async fn post_as_exporter(&self, body: impl Into<reqwest::Body>) -> Reply {
        self.post(Some(&basic(EXPORTER, &self.secret)), body).await
    }

    fn assertion_form(&self, exp: u64, jti: &str) -> String {
        let claims = json!({
            "iss": SIGNER, "sub": SIGNER, "aud": TOKEN_URL, "iat": now(), "exp": exp, "jti": jti,
        });
        let assertion = self.signer.sign("JWT", &claims).expect("sign");
        format!(
            "{GRANT}&client_assertion_type={}&client_assertion={}",
            urlencode(JWT_BEARER_ASSERTION),
            urlencode(&assertion)
        )
    }
}

/// Every case, in turn; each assertion names its case.
pub async fn run_all(e: &Endpoint) {
    // unknown_client_is_invalid_client
    let reply = e.post(Some(&basic("nobody", &e.secret)), GRANT).await;
    assert_eq!(reply, invalid_client_with_challenge(), "unknown client");
    // wrong_secret_is_invalid_client
    let (other, _) = ClientSecret::generate();
    let reply = e.post(Some(&basic(EXPORTER, other.expose())), GRANT).await;
    assert_eq!(
        reply,
        invalid_client_with_challenge(),
        "wrong sha-256 secret"
    );
    let reply = e.post(Some(&basic(OPERATOR, "p:a%s+s W")), GRANT).await;
    assert_eq!(
        reply,
        invalid_client_with_challenge(),
        "wrong argon2id secret"
    );
    // basic_secret_with_reserved_characters_is_form_decoded
    let reply = e.post(Some(&basic(OPERATOR, PASSWORD)), GRANT).await;
    assert_eq!(reply.token()["scope"], "reports:read", "argon2id secret");
    // disabled_client_is_invalid_client_even_with_its_secret
    let reply = e.post(Some(&basic(DISABLED, &e.secret)), GRANT).await;
    assert_eq!(reply, invalid_client_with_challenge(), "disabled client");
    // authentication_method_the_client_is_not_registered_for_is_invalid_client
    let reply = e.post(Some(&basic(POST_ONLY, &e.secret)), GRANT).await;
    assert_eq!(
        reply,
        invalid_client_with_challenge(),
        "post-only via Basic"
    );
    let post = format!("{GRANT}&client_id={EXPORTER}&client_secret={}", e.secret);
    assert_eq!(
        e.post(None, post).await,
        invalid_client(),
        "basic-only via post"
    );
    let post = format!("{GRANT}&client_id={POST_ONLY}&client_secret={}", e.secret);
    assert_eq!(e.post(None, post).await.status, 200, "post-only via post");
    let reply = e.post(Some(&basic(SIGNER, &e.secret)), GRANT).await;
    assert_eq!(
        reply,
        invalid_client_with_challenge(),
        "private_key_jwt via Basic"
    );
    // empty_secret_is_invalid_client
    let reply = e.post(Some(&basic(EXPORTER, "")), GRANT).await;
    assert_eq!(reply, invalid_client_with_challenge(), "empty secret");
    // valid_client_assertion_is_accepted_once
    let form = e.assertion_form(now() + 60, &format!("once-{}", now()));
    assert_eq!(
        e.post(None, form.clone()).await.token()["scope"],
        "invoices:read"
    );
    assert_eq!(
        e.post(None, form).await,
        invalid_client(),
        "replayed assertion"
    );
    let late = e.assertion_form(now() - 120, "late");
    assert_eq!(
        e.post(None, late).await,
        invalid_client(),
        "expired assertion"
    );
    // omitted_scope_grants_the_default_scopes
    let reply = e.post_as_exporter(GRANT).await;
    assert_eq!(reply.token()["scope"], "reports:read", "default scopes");
    let both = format!("{GRANT}&scope=reports%3Awrite+reports%3Aread");
    let reply = e.post_as_exporter(both).await;
    assert_eq!(reply.token()["scope"], "reports:read reports:write");
    // scope_not_allowed_is_invalid_scope
    let expected = Reply::error(
        400,
        "invalid_scope",
        "a requested scope is not allowed for this client",
    );
    let reply = e.post_as_exporter(format!("{GRANT}&scope=admin")).await;
    assert_eq!(reply, expected, "scope not allowed");
    // allowed_resource_becomes_the_token_audience / resource_not_allowed_is_invalid_target
    let reply = e
        .post_as_exporter(format!("{GRANT}&resource={OTHER_AUDIENCE}"))
        .await;
    let token = reply.token()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(decode_segment(&token, 1)["aud"], OTHER_AUDIENCE);
    let expected = Reply::error(
        400,
        "invalid_target",
        "the resource is not allowed for this client",
    );
    let reply = e
        .post_as_exporter(format!("{GRANT}&resource=REPORTS-API"))
        .await;
    assert_eq!(reply, expected, "resource not allowed");
    // success_response_has_exact_headers_fields_and_claims (the store-dependent part)
    let reply = e.post_as_exporter(GRANT).await;
    assert_eq!(reply.headers, Reply::json(200, String::new()).headers);
    let body = reply.token();
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_u64()),
        (Some("Bearer"), Some(900))
    );
    let token = body["access_token"].as_str().expect("token");
    assert_eq!(
        decode_segment(token, 0),
        json!({"typ": "at+jwt", "alg": "EdDSA", "kid": e.kid})
    );
    let claims = decode_segment(token, 1);
    assert_eq!(
        (claims["sub"].as_str(), claims["client_id"].as_str()),
        (Some(EXPORTER), Some(EXPORTER))
    );
    assert_eq!(claims["aud"], AUDIENCE);
    // client_token_ttl_beyond_the_issuer_max_is_capped
    let reply = e.post(Some(&basic(LONG_LIVED, &e.secret)), GRANT).await;
    assert_eq!(reply.token()["expires_in"], 3600, "ttl capped");
}
