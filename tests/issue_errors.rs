//! The token endpoint's rules over real HTTP, one test per rule: the status, the exact header
//! set and the exact RFC 6749 §5.2 body of every refusal; the success response field by field;
//! and the configurations `TokenIssuerBuilder` refuses.
#![cfg(feature = "issue")]

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::issue::{decode_segment, http, scopes};
use common::{AUDIENCE, ISSUER, now, serve};
use reqwest::Method;
use serde_json::{Value, json};
use tower_client_credentials::clients::{
    AuthMethod, Client, ClientBuilder, ClientSecret, MemoryClientStore,
};
use tower_client_credentials::issue::{
    ClientCredentialsTokenService, IssuerConfigError, JWT_BEARER_ASSERTION, TokenIssuer,
    TokenIssuerBuilder,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};

/// The default token endpoint of [`ISSUER`]: an accepted assertion `aud`.
const TOKEN_URL: &str = "https://auth.test/oauth2/token";
const FORM: &str = "application/x-www-form-urlencoded";
const GRANT: &str = "grant_type=client_credentials";
const CHALLENGE: &str = r#"Basic realm="token""#;
const OTHER_AUDIENCE: &str = "audit-api";

/// SHA-256 secret, `client_secret_basic` only (the builder's default).
const EXPORTER: &str = "reports-exporter";
/// Argon2id password with characters that RFC 6749 §2.3.1 form-encoding changes.
const OPERATOR: &str = "ops-dashboard";
const PASSWORD: &str = "p:a%s+s w";
/// Holds the same SHA-256 secret as the exporter, but is disabled.
const DISABLED: &str = "retired-service";
/// Same secret, `client_secret_post` only.
const POST_ONLY: &str = "batch-poster";
/// Same secret, asks for a 2 h lifetime (the issuer's maximum is 1 h).
const LONG_LIVED: &str = "long-lived";
/// `private_key_jwt` only, with an EdDSA key.
const SIGNER: &str = "billing";

/// Argon2id is slow in debug builds: hash once per test binary.
fn password_hash() -> ClientSecret {
    static HASH: OnceLock<ClientSecret> = OnceLock::new();
    HASH.get_or_init(|| ClientSecret::hash_password(PASSWORD).expect("argon2id"))
        .clone()
}

/// `application/x-www-form-urlencoded` serialization (RFC 6749 Appendix B).
fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// RFC 6749 §2.3.1: id and secret are form-encoded, then joined and base64-encoded.
fn basic(id: &str, secret: &str) -> String {
    basic_raw(&format!("{}:{}", urlencode(id), urlencode(secret)))
}

/// A Basic header over `user_pass` as given, without form-encoding.
fn basic_raw(user_pass: &str) -> String {
    format!("Basic {}", STANDARD.encode(user_pass))
}

/// Status, every header but `date` and `content-length` (sorted), and the body.
#[derive(Debug, PartialEq, Eq)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    /// The headers every token endpoint answer carries (RFC 6749 §5.1, and `nosniff`).
    fn json(status: u16, body: String) -> Self {
        let headers = [
            ("cache-control", "no-store"),
            ("content-type", "application/json"),
            ("pragma", "no-cache"),
            ("x-content-type-options", "nosniff"),
        ];
        Reply {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body,
        }
    }

    fn error(status: u16, error: &str, description: &str) -> Self {
        let body = format!(r#"{{"error":"{error}","error_description":"{description}"}}"#);
        Self::json(status, body)
    }

    fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self.headers.sort();
        self
    }

    /// The success body, parsed.
    fn token(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.body);
        serde_json::from_str(&self.body).expect("json body")
    }
}

fn invalid_request(description: &str) -> Reply {
    Reply::error(400, "invalid_request", description)
}

/// The one answer for every client authentication failure (DESIGN decision 5).
fn invalid_client() -> Reply {
    Reply::error(401, "invalid_client", "client authentication failed")
}

fn invalid_client_with_challenge() -> Reply {
    invalid_client().with_header("www-authenticate", CHALLENGE)
}

struct Endpoint {
    url: String,
    http: reqwest::Client,
    /// The `kid` of the issuer's active key.
    kid: String,
    /// The plaintext of the SHA-256 secret every secret client but the operator holds.
    secret: String,
    /// The signer's private key.
    signer: SigningKey,
}

async fn endpoint() -> Endpoint {
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
    let clients = MemoryClientStore::new()
        .with_client(built(client(EXPORTER)))
        .with_client(built(client(OPERATOR).secret(password_hash())))
        .with_client(built(client(DISABLED).enabled(false)))
        .with_client(built(
            client(POST_ONLY).auth_methods([AuthMethod::ClientSecretPost]),
        ))
        .with_client(built(
            client(LONG_LIVED).token_ttl(Duration::from_secs(7200)),
        ))
        .with_client(built(
            Client::builder(SIGNER)
                .auth_methods([AuthMethod::PrivateKeyJwt])
                .keys([signer.verifying_key().clone()])
                .allowed_scopes(scopes("invoices:read"))
                .audiences([AUDIENCE]),
        ));
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).expect("keygen"));
    let kid = ring.active().kid().to_owned();
    let issuer = TokenIssuer::builder()
        .issuer(ISSUER)
        .keys(ring)
        .clients(clients)
        .build()
        .expect("issuer");
    let app =
        Router::new().route_service("/oauth2/token", ClientCredentialsTokenService::new(issuer));
    Endpoint {
        url: format!("{}/oauth2/token", serve(app).await),
        http: http(),
        kid,
        secret: plain.expose().to_owned(),
        signer,
    }
}

impl Endpoint {
    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "date" | "content-length"))
            .map(|(name, value)| {
                let value = value.to_str().expect("ascii header");
                (name.as_str().to_owned(), value.to_owned())
            })
            .collect();
        headers.sort();
        let body = response.text().await.expect("body");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A form POST, with an `Authorization` header when given.
    async fn post(&self, authorization: Option<&str>, body: impl Into<reqwest::Body>) -> Reply {
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", FORM)
            .body(body);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        self.send(request).await
    }

    /// A POST authenticated as the exporter with Basic.
    async fn post_as_exporter(&self, body: impl Into<reqwest::Body>) -> Reply {
        self.post(Some(&basic(EXPORTER, &self.secret)), body).await
    }

    /// A client assertion for the signer, signed with `key`, expiring at `exp`.
    fn assertion(&self, key: &SigningKey, exp: u64, jti: &str) -> String {
        let claims = json!({
            "iss": SIGNER, "sub": SIGNER, "aud": TOKEN_URL,
            "iat": now(), "exp": exp, "jti": jti,
        });
        key.sign("JWT", &claims).expect("sign")
    }
}

fn assertion_form(assertion: &str) -> String {
    format!(
        "{GRANT}&client_assertion_type={}&client_assertion={}",
        urlencode(JWT_BEARER_ASSERTION),
        urlencode(assertion)
    )
}

#[tokio::test]
async fn methods_other_than_post_are_405_with_allow_post() {
    let e = endpoint().await;
    let expected = Reply::error(
        405,
        "invalid_request",
        "the token endpoint accepts POST only",
    )
    .with_header("allow", "POST");
    for method in [Method::GET, Method::PUT] {
        let request = e
            .http
            .request(method.clone(), &e.url)
            .header("content-type", FORM)
            .header("authorization", basic(EXPORTER, &e.secret))
            .body(GRANT);
        assert_eq!(e.send(request).await, expected, "{method}");
    }
}

#[tokio::test]
async fn content_type_other_than_form_is_invalid_request() {
    let e = endpoint().await;
    let expected = invalid_request("the content type must be application/x-www-form-urlencoded");
    let authorization = basic(EXPORTER, &e.secret);
    let missing = e
        .http
        .post(&e.url)
        .header("authorization", &authorization)
        .body(GRANT);
    assert_eq!(e.send(missing).await, expected, "no content type");
    for content_type in ["application/json", "text/plain", "multipart/form-data"] {
        let request = e
            .http
            .post(&e.url)
            .header("content-type", content_type)
            .header("authorization", &authorization)
            .body(GRANT);
        assert_eq!(e.send(request).await, expected, "{content_type}");
    }
}

#[tokio::test]
async fn form_content_type_with_charset_parameter_is_accepted() {
    let e = endpoint().await;
    let request = e
        .http
        .post(&e.url)
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .header("authorization", basic(EXPORTER, &e.secret))
        .body(GRANT);
    let reply = e.send(request).await;
    assert_eq!(reply.token()["scope"], "reports:read");
}

#[tokio::test]
async fn repeated_parameter_is_invalid_request() {
    let e = endpoint().await;
    for body in [
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=client_credentials&scope=reports%3Aread&scope=reports%3Aread",
        "grant_type=client_credentials&scope=&scope=reports%3Aread",
    ] {
        assert_eq!(
            e.post_as_exporter(body).await,
            invalid_request("a parameter was given more than once"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn missing_or_empty_grant_type_is_invalid_request() {
    let e = endpoint().await;
    for body in ["", "scope=reports%3Aread", "grant_type=", "grant_type"] {
        assert_eq!(
            e.post_as_exporter(body).await,
            invalid_request("grant_type is missing"),
            "{body:?}"
        );
    }
}

#[tokio::test]
async fn other_grant_types_are_unsupported_grant_type() {
    let e = endpoint().await;
    let expected = Reply::error(
        400,
        "unsupported_grant_type",
        "only the client_credentials grant is supported",
    );
    for body in [
        "grant_type=password&username=u&password=p",
        "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.test%2Fcb",
        "grant_type=Client_Credentials",
    ] {
        assert_eq!(e.post_as_exporter(body).await, expected, "{body}");
    }
}

#[tokio::test]
async fn two_client_authentication_methods_are_invalid_request() {
    let e = endpoint().await;
    let expected = invalid_request("use exactly one client authentication method");
    let assertion = e.assertion(&e.signer, now() + 60, "two-methods");
    let with_secret = format!(
        "{GRANT}&client_id={EXPORTER}&client_secret={}",
        urlencode(&e.secret)
    );
    assert_eq!(
        e.post_as_exporter(with_secret).await,
        expected,
        "basic + post"
    );
    assert_eq!(
        e.post_as_exporter(assertion_form(&assertion)).await,
        expected,
        "basic + assertion"
    );
    let secret_and_assertion = format!(
        "{}&client_id={SIGNER}&client_secret=x",
        assertion_form(&assertion)
    );
    assert_eq!(
        e.post(None, secret_and_assertion).await,
        expected,
        "post + assertion"
    );
}

#[tokio::test]
async fn no_client_authentication_is_invalid_client_without_challenge() {
    let e = endpoint().await;
    assert_eq!(e.post(None, GRANT).await, invalid_client());
    let id_only = format!("{GRANT}&client_id={EXPORTER}");
    assert_eq!(
        e.post(None, id_only).await,
        invalid_client(),
        "client_id only"
    );
}

#[tokio::test]
async fn unknown_client_is_invalid_client() {
    let e = endpoint().await;
    assert_eq!(
        e.post(Some(&basic("nobody", &e.secret)), GRANT).await,
        invalid_client_with_challenge()
    );
    let post = format!("{GRANT}&client_id=nobody&client_secret={}", e.secret);
    assert_eq!(e.post(None, post).await, invalid_client());
}

#[tokio::test]
async fn wrong_secret_is_invalid_client() {
    let e = endpoint().await;
    let (other, _) = ClientSecret::generate();
    assert_eq!(
        e.post(Some(&basic(EXPORTER, other.expose())), GRANT).await,
        invalid_client_with_challenge(),
        "sha-256"
    );
    assert_eq!(
        e.post(Some(&basic(OPERATOR, "p:a%s+s W")), GRANT).await,
        invalid_client_with_challenge(),
        "argon2id"
    );
    let post = format!("{GRANT}&client_id={POST_ONLY}&client_secret=wrong");
    assert_eq!(e.post(None, post).await, invalid_client(), "post");
}

#[tokio::test]
async fn disabled_client_is_invalid_client_even_with_its_secret() {
    let e = endpoint().await;
    assert_eq!(
        e.post(Some(&basic(DISABLED, &e.secret)), GRANT).await,
        invalid_client_with_challenge()
    );
}

#[tokio::test]
async fn authentication_method_the_client_is_not_registered_for_is_invalid_client() {
    let e = endpoint().await;
    assert_eq!(
        e.post(Some(&basic(POST_ONLY, &e.secret)), GRANT).await,
        invalid_client_with_challenge(),
        "post-only client via Basic"
    );
    let post = format!("{GRANT}&client_id={EXPORTER}&client_secret={}", e.secret);
    assert_eq!(
        e.post(None, post).await,
        invalid_client(),
        "basic-only client via post"
    );
    assert_eq!(
        e.post(Some(&basic(SIGNER, &e.secret)), GRANT).await,
        invalid_client_with_challenge(),
        "private_key_jwt client via Basic"
    );
}

#[tokio::test]
async fn valid_client_assertion_is_accepted_once() {
    let e = endpoint().await;
    let assertion = e.assertion(&e.signer, now() + 60, "once");
    let reply = e.post(None, assertion_form(&assertion)).await;
    assert_eq!(reply.token()["scope"], "invoices:read");
    assert_eq!(
        e.post(None, assertion_form(&assertion)).await,
        invalid_client(),
        "replay"
    );
}

#[tokio::test]
async fn bad_client_assertion_is_invalid_client() {
    let e = endpoint().await;
    let stranger = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let impostor = stranger.clone().with_kid(e.signer.kid());
    let cases = [
        ("garbage", "garbage".to_owned()),
        ("three garbage segments", "a.b.c".to_owned()),
        ("unknown key", e.assertion(&stranger, now() + 60, "unknown")),
        ("wrong key", e.assertion(&impostor, now() + 60, "wrong")),
        ("expired", e.assertion(&e.signer, now() - 120, "expired")),
    ];
    for (case, assertion) in cases {
        assert_eq!(
            e.post(None, assertion_form(&assertion)).await,
            invalid_client(),
            "{case}"
        );
    }
}

#[tokio::test]
async fn basic_secret_with_reserved_characters_is_form_decoded() {
    let e = endpoint().await;
    // RFC 6749 §2.3.1: "p:a%s+s w" travels as "p%3Aa%25s%2Bs+w".
    assert_eq!(
        basic(OPERATOR, PASSWORD),
        basic_raw("ops-dashboard:p%3Aa%25s%2Bs+w")
    );
    let reply = e.post(Some(&basic(OPERATOR, PASSWORD)), GRANT).await;
    assert_eq!(reply.token()["scope"], "reports:read");
}

#[tokio::test]
async fn basic_secret_sent_without_form_encoding_is_invalid_client() {
    let e = endpoint().await;
    // Decoded as a form value, the raw "+" becomes a space: the secret no longer matches.
    let raw = basic_raw(&format!("{OPERATOR}:{PASSWORD}"));
    assert_eq!(
        e.post(Some(&raw), GRANT).await,
        invalid_client_with_challenge()
    );
}

#[tokio::test]
async fn empty_secret_is_invalid_client() {
    let e = endpoint().await;
    assert_eq!(
        e.post(Some(&basic_raw(&format!("{EXPORTER}:"))), GRANT)
            .await,
        invalid_client_with_challenge(),
        "basic"
    );
    let post = format!("{GRANT}&client_id={POST_ONLY}&client_secret=");
    assert_eq!(e.post(None, post).await, invalid_client(), "post");
}

/// A valid token request padded with an ignored parameter to exactly `len` bytes.
fn padded_body(len: usize) -> Vec<u8> {
    let mut body = format!("{GRANT}&pad=").into_bytes();
    body.resize(len, b'a');
    body
}

fn too_large() -> Reply {
    Reply::error(413, "invalid_request", "the request body is too large")
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let e = endpoint().await;
    let limit = tower_client_credentials::issue::MAX_BODY_BYTES;
    let at_limit = e.post_as_exporter(padded_body(limit)).await;
    assert_eq!(
        at_limit.token()["scope"],
        "reports:read",
        "exactly the limit"
    );
    for len in [limit + 1, 1024 * 1024] {
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
    // No content-length: the limit must hold while the body streams in.
    let chunked = |len| {
        let stream = axum::body::Body::from(padded_body(len)).into_data_stream();
        reqwest::Body::wrap_stream(stream)
    };
    let limit = tower_client_credentials::issue::MAX_BODY_BYTES;
    let at_limit = e.post_as_exporter(chunked(limit)).await;
    assert_eq!(
        at_limit.token()["scope"],
        "reports:read",
        "exactly the limit"
    );
    for len in [limit + 1, 1024 * 1024] {
        assert_eq!(e.post_as_exporter(chunked(len)).await, too_large(), "{len}");
    }
}

#[tokio::test]
async fn non_utf8_body_is_invalid_request() {
    let e = endpoint().await;
    let bodies: [&[u8]; 4] = [
        b"grant_type=client_credentials&scope=\xff",
        b"grant_type=client_credentials&scope=%FF",
        b"grant_type=client_credentials&%FF=x",
        b"grant_type=client_credentials&other=%C3%28",
    ];
    for body in bodies {
        assert_eq!(
            e.post_as_exporter(body.to_vec()).await,
            invalid_request("the body is not valid UTF-8"),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[tokio::test]
async fn malformed_basic_header_is_invalid_request() {
    let e = endpoint().await;
    let not_utf8 = format!("Basic {}", STANDARD.encode(b"id:\xff"));
    for value in [
        "Basic !!not-base64!!".to_owned(),
        "Basic".to_owned(),
        basic_raw("no-colon"),
        basic_raw(":secret"),
        basic_raw("id:%FF"),
        not_utf8,
    ] {
        assert_eq!(
            e.post(Some(&value), GRANT).await,
            invalid_request("malformed Basic credentials"),
            "{value}"
        );
    }
}

#[tokio::test]
async fn authorization_scheme_other_than_basic_is_invalid_request() {
    let e = endpoint().await;
    assert_eq!(
        e.post(Some("Bearer abc.def.ghi"), GRANT).await,
        invalid_request("the token endpoint accepts only Basic authorization")
    );
}

#[tokio::test]
async fn omitted_scope_grants_the_default_scopes() {
    let e = endpoint().await;
    for body in [GRANT, "grant_type=client_credentials&scope="] {
        let reply = e.post_as_exporter(body).await;
        assert_eq!(reply.token()["scope"], "reports:read", "{body}");
    }
    let both = format!("{GRANT}&scope=reports%3Awrite+reports%3Aread");
    let reply = e.post_as_exporter(both).await;
    assert_eq!(reply.token()["scope"], "reports:read reports:write");
}

#[tokio::test]
async fn scope_not_allowed_is_invalid_scope() {
    let e = endpoint().await;
    let expected = Reply::error(
        400,
        "invalid_scope",
        "a requested scope is not allowed for this client",
    );
    for scope in ["admin", "reports%3Aread+admin", "reports%3Aread%3Aall"] {
        let body = format!("{GRANT}&scope={scope}");
        assert_eq!(e.post_as_exporter(body).await, expected, "{scope}");
    }
}

#[tokio::test]
async fn malformed_scope_is_invalid_scope() {
    let e = endpoint().await;
    let expected = Reply::error(400, "invalid_scope", "the scope is malformed");
    // "a  b", a quote, a backslash, a leading space, a tab.
    for scope in [
        "reports%3Aread++reports%3Awrite",
        "%22",
        "reports%5Cread",
        "+reports%3Aread",
        "reports%3Aread%09",
    ] {
        let body = format!("{GRANT}&scope={scope}");
        assert_eq!(e.post_as_exporter(body).await, expected, "{scope}");
    }
}

#[tokio::test]
async fn allowed_resource_becomes_the_token_audience() {
    let e = endpoint().await;
    let reply = e.post_as_exporter(GRANT).await;
    let token = reply.token()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(decode_segment(&token, 1)["aud"], AUDIENCE, "default");
    let body = format!("{GRANT}&resource={OTHER_AUDIENCE}");
    let reply = e.post_as_exporter(body).await;
    let token = reply.token()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(decode_segment(&token, 1)["aud"], OTHER_AUDIENCE);
}

#[tokio::test]
async fn resource_not_allowed_is_invalid_target() {
    let e = endpoint().await;
    let expected = Reply::error(
        400,
        "invalid_target",
        "the resource is not allowed for this client",
    );
    for resource in ["https%3A%2F%2Felsewhere.test", "reports-ap", "REPORTS-API"] {
        let body = format!("{GRANT}&resource={resource}");
        assert_eq!(e.post_as_exporter(body).await, expected, "{resource}");
    }
}

#[tokio::test]
async fn success_response_has_exact_headers_fields_and_claims() {
    let e = endpoint().await;
    let before = now();
    let reply = e.post_as_exporter(GRANT).await;
    let after = now();
    assert_eq!(
        (reply.status, &reply.headers),
        (200, &Reply::json(200, String::new()).headers)
    );
    let body = reply.token();
    let keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["access_token", "expires_in", "scope", "token_type"]);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "reports:read");

    let token = body["access_token"].as_str().expect("token");
    let header = decode_segment(token, 0);
    assert_eq!(
        header,
        json!({"typ": "at+jwt", "alg": "EdDSA", "kid": e.kid})
    );
    let claims = decode_segment(token, 1);
    let iat = claims["iat"].as_u64().expect("iat");
    let exp = claims["exp"].as_u64().expect("exp");
    assert!(
        (before..=after).contains(&iat),
        "iat {iat} in {before}..={after}"
    );
    assert_eq!(body["expires_in"], exp - iat);
    let jti = claims["jti"].as_str().expect("jti").to_owned();
    assert_eq!(jti.len(), 22);
    assert!(
        URL_SAFE_NO_PAD
            .decode(&jti)
            .is_ok_and(|raw| raw.len() == 16)
    );
    assert_eq!(
        claims,
        json!({
            "iss": ISSUER, "sub": EXPORTER, "aud": AUDIENCE, "exp": exp, "iat": iat,
            "jti": jti, "client_id": EXPORTER, "scope": "reports:read",
        })
    );
}

#[tokio::test]
async fn client_token_ttl_beyond_the_issuer_max_is_capped() {
    let e = endpoint().await;
    let reply = e.post(Some(&basic(LONG_LIVED, &e.secret)), GRANT).await;
    let body = reply.token();
    assert_eq!(body["expires_in"], 3600);
    let claims = decode_segment(body["access_token"].as_str().expect("token"), 1);
    let lifetime = claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat");
    assert_eq!(lifetime, 3600);
}

/// A builder that succeeds, to break one setting at a time.
fn valid_builder(ring: KeyRing) -> TokenIssuerBuilder {
    TokenIssuer::builder()
        .issuer(ISSUER)
        .keys(ring)
        .clients(MemoryClientStore::new())
}

#[test]
fn builder_refuses_inconsistent_configurations() {
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).expect("keygen"));
    assert!(valid_builder(ring.clone()).build().is_ok());

    let no_issuer = TokenIssuer::builder()
        .keys(ring.clone())
        .clients(MemoryClientStore::new())
        .build();
    assert_eq!(no_issuer.unwrap_err(), IssuerConfigError::BadIssuer);
    for issuer in [
        "",
        "not a url",
        "auth.test",
        "/relative",
        "ftp://auth.test",
        "https://",
        "https://auth.test/?tenant=a",
        "https://auth.test#top",
        "https://user:pass@auth.test",
    ] {
        let built = valid_builder(ring.clone()).issuer(issuer).build();
        assert_eq!(
            built.unwrap_err(),
            IssuerConfigError::BadIssuer,
            "{issuer:?}"
        );
    }

    let short = ring.clone().with_retention(Duration::from_secs(600));
    assert_eq!(
        valid_builder(short).build().unwrap_err(),
        IssuerConfigError::RetentionTooShort
    );
    let long = valid_builder(ring.clone())
        .default_ttl(Duration::from_secs(7200))
        .build();
    assert_eq!(
        long.unwrap_err(),
        IssuerConfigError::BadTtl,
        "default > max"
    );
    let zero = valid_builder(ring).default_ttl(Duration::ZERO).build();
    assert_eq!(zero.unwrap_err(), IssuerConfigError::BadTtl, "zero default");
}
