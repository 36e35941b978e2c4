//! No secret leaves through a side door (DESIGN.md decision 6): with every log line captured at
//! TRACE, the success path and every error path of the token endpoint and of a protected API
//! are driven over real HTTP; then no access token, client secret, client assertion or
//! private-key bytes may appear in the logs, in a response (other than the token response that
//! carries its own token), in an error's `Display` or `Debug`, or in the `Debug` output of the
//! public types that hold them.

mod common;

use std::io;
use std::sync::{Arc, LazyLock, Mutex};

use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{AUDIENCE, http, listen, now, serve_on};
use serde_json::{Value, json};
use tower_client_credentials::clients::{AuthMethod, Client, ClientSecret, MemoryClientStore};
use tower_client_credentials::issue::{
    ClientAuth, ClientCredentialsTokenService, JWT_BEARER_ASSERTION, TokenIssuer, TokenRequest,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey, VerifyingKey};
use tower_client_credentials::token_endpoint::TokenResponse;
use tower_client_credentials::{BearerAuthLayer, Claims, RequireScopeLayer, ScopeSet, Validator};
use zeroize::Zeroizing;

// ---- capturing every log line ----

/// Everything every test in this binary logged, at every level, as the fmt layer wrote it.
static LOGS: LazyLock<Arc<Mutex<Vec<u8>>>> = LazyLock::new(Arc::default);

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (once per test binary, before anything logs): TRACE for
/// every target, this crate's and its dependencies' (`log` records too).
fn capture_logs() {
    static INSTALLED: LazyLock<()> = LazyLock::new(|| {
        let capture = Capture(LOGS.clone());
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || capture.clone())
            .try_init()
            .expect("the only subscriber");
    });
    LazyLock::force(&INSTALLED);
}

fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

// ---- what must never appear ----

/// The secrets of one test, each with what it is (the failure names that, never the value).
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: impl Into<String>, value: impl Into<String>) {
        self.0.push((what.into(), value.into()));
    }

    /// A compact JWS: the whole of it, and its signature (the part nothing else can produce).
    fn jws(&mut self, what: &str, token: &str) {
        self.add(what, token);
        let signature = token.rsplit('.').next().expect("segments");
        self.add(format!("{what} (signature)"), signature);
    }

    /// A private key: its PEM body, and its raw bytes in base64, base64url and hex.
    fn key(&mut self, what: &str, key: &SigningKey) {
        let pem = key.to_pkcs8_pem().expect("asymmetric key");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(&body).expect("base64 PEM body");
        // RFC 8410: an Ed25519 PKCS#8 document holds the 32-byte private key as an OCTET
        // STRING wrapped in the privateKey OCTET STRING (v1 and v2 alike).
        let at = der
            .windows(4)
            .position(|w| w == [0x04, 0x22, 0x04, 0x20])
            .expect("an Ed25519 private key");
        let raw = &der[at + 4..at + 36];
        self.add(format!("{what} (PEM body)"), body);
        self.add(format!("{what} (base64)"), STANDARD.encode(raw));
        self.add(format!("{what} (base64url)"), URL_SAFE_NO_PAD.encode(raw));
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        self.add(format!("{what} (hex)"), hex);
    }

    /// Panics, naming the secret's kind and where it showed, if `text` holds any secret except
    /// those `allowed`.
    fn assert_absent_except(&self, place: &str, text: &str, allowed: &[&str]) {
        for (what, value) in &self.0 {
            if allowed.contains(&value.as_str()) {
                continue;
            }
            if let Some(at) = text.find(value.as_str()) {
                panic!("{what} appears in {place} at byte {at}");
            }
        }
    }

    fn assert_absent(&self, place: &str, text: &str) {
        self.assert_absent_except(place, text, &[]);
    }
}

/// A random string that is nowhere else, to stand for a secret.
fn unique(prefix: &str) -> String {
    let (plain, _) = ClientSecret::generate();
    format!("{prefix}-{}", plain.expose())
}

// ---- the server under test ----

const FAST: &str = "svc";
const SLOW: &str = "ops";
const SIGNER: &str = "signer";

struct Server {
    base: String,
    issuer: TokenIssuer,
    validator: Validator,
    issuer_key: SigningKey,
    signer_key: SigningKey,
    fast_secret: String,
    slow_secret: String,
    fast_stored: ClientSecret,
    slow_stored: ClientSecret,
    secrets: Secrets,
}

/// A token endpoint and a protected API (`GET /api/reports`, scope `reports:read`) in one app,
/// with a SHA-256 client, an Argon2id client and a `private_key_jwt` client.
async fn server() -> Server {
    capture_logs();
    let (listener, base) = listen().await;
    let issuer_key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let signer_key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let (fast_plain, fast_stored) = ClientSecret::generate();
    let slow_secret = unique("chosen password");
    let slow_stored = ClientSecret::hash_password(&slow_secret).expect("argon2id");
    let scopes = |wire: &str| ScopeSet::parse(wire).expect("scopes");
    let clients = MemoryClientStore::new()
        .with_client(
            Client::builder(FAST)
                .secret(fast_stored.clone())
                .auth_methods([AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost])
                .allowed_scopes(scopes("reports:read"))
                .audiences([AUDIENCE])
                .build()
                .expect("client"),
        )
        .with_client(
            Client::builder(SLOW)
                .secret(slow_stored.clone())
                .allowed_scopes(scopes("reports:read"))
                .audiences([AUDIENCE])
                .build()
                .expect("client"),
        )
        .with_client(
            Client::builder(SIGNER)
                .auth_methods([AuthMethod::PrivateKeyJwt])
                .keys([signer_key.verifying_key().clone()])
                .audiences(["audit-api"])
                .build()
                .expect("client"),
        );
    let ring = KeyRing::new(issuer_key.clone());
    let issuer = TokenIssuer::builder()
        .issuer(base.clone())
        .keys(ring.clone())
        .clients(clients)
        .build()
        .expect("issuer");
    let validator = Validator::builder()
        .issuer(base.clone(), KeySource::local(ring))
        .audience(AUDIENCE)
        .build()
        .expect("validator");
    let api = Router::new()
        .route(
            "/api/reports",
            get(|claims: Claims| async move { format!("reports for {}", claims.sub) })
                .layer(RequireScopeLayer::all(["reports:read"])),
        )
        .layer(BearerAuthLayer::new(validator.clone()));
    let app = Router::new()
        .route_service(
            "/oauth2/token",
            ClientCredentialsTokenService::new(issuer.clone()),
        )
        .merge(api);
    serve_on(listener, app);

    let fast_secret = fast_plain.expose().to_owned();
    let mut secrets = Secrets::default();
    secrets.add("client secret", &fast_secret);
    secrets.add("client password", &slow_secret);
    secrets.add("stored secret hash", fast_stored.to_stored());
    secrets.add("stored password hash", slow_stored.to_stored());
    secrets.add(
        "Basic credentials",
        STANDARD.encode(format!("{FAST}:{fast_secret}")),
    );
    secrets.key("issuer signing key", &issuer_key);
    secrets.key("client private key", &signer_key);
    Server {
        base,
        issuer,
        validator,
        issuer_key,
        signer_key,
        fast_secret,
        slow_secret,
        fast_stored,
        slow_stored,
        secrets,
    }
}

/// One HTTP exchange: status, every response header, and the body.
struct Reply {
    status: u16,
    headers: String,
    body: String,
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = format!("{:?}", response.headers());
    let body = response.text().await.expect("body");
    Reply {
        status,
        headers,
        body,
    }
}

impl Server {
    fn token_url(&self) -> String {
        format!("{}/oauth2/token", self.base)
    }

    async fn basic(&self, id: &str, secret: &str) -> Reply {
        let request = http()
            .post(self.token_url())
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")]);
        send(request).await
    }

    async fn form(&self, form: &[(&str, &str)]) -> Reply {
        send(http().post(self.token_url()).form(form)).await
    }

    async fn post(&self, id: &str, secret: &str) -> Reply {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ];
        self.form(&form).await
    }

    async fn assertion(&self, assertion: &str) -> Reply {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER_ASSERTION),
            ("client_assertion", assertion),
        ];
        self.form(&form).await
    }

    /// A client assertion for the signer, signed with `key`, with `claims` over the defaults;
    /// recorded as a secret.
    fn sign_assertion(&mut self, what: &str, key: &SigningKey, claims: Value) -> String {
        let mut all = json!({
            "iss": SIGNER, "sub": SIGNER, "aud": self.base, "iat": now(),
            "exp": now() + 60, "jti": unique("jti"),
        });
        for (name, value) in claims.as_object().expect("object") {
            all[name] = value.clone();
        }
        let assertion = key.sign("JWT", &all).expect("sign");
        self.secrets.jws(what, &assertion);
        assertion
    }

    /// An access token for the API, signed by the issuer's key, with `claims` over a valid
    /// set; recorded as a secret.
    fn sign_token(&mut self, what: &str, claims: Value) -> String {
        let mut all = json!({
            "iss": self.base, "sub": FAST, "aud": AUDIENCE, "exp": now() + 60, "iat": now(),
            "jti": unique("jti"), "client_id": FAST, "scope": "reports:read",
        });
        for (name, value) in claims.as_object().expect("object") {
            all[name] = value.clone();
        }
        let token = self.issuer_key.sign("at+jwt", &all).expect("sign");
        self.secrets.jws(what, &token);
        token
    }

    async fn api(&self, authorization: &str) -> Reply {
        let request = http()
            .get(format!("{}/api/reports", self.base))
            .header("authorization", authorization);
        send(request).await
    }
}

/// The access token of a successful token response, recorded as a secret.
fn issued(secrets: &mut Secrets, what: &str, reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{what}: {}", reply.body);
    let body: Value = serde_json::from_str(&reply.body).expect("json");
    let token = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    secrets.jws(what, &token);
    token
}

/// Checks every reply: a token response may hold its own token, nothing else may.
fn assert_replies_clean(secrets: &Secrets, replies: &[(&str, Reply, Option<String>)]) {
    for (what, reply, token) in replies {
        let own: Vec<&str> = token
            .iter()
            .flat_map(|t| [t.as_str(), t.rsplit('.').next().unwrap_or_default()])
            .collect();
        secrets.assert_absent_except(
            &format!("the {what} response headers"),
            &reply.headers,
            &own,
        );
        secrets.assert_absent_except(&format!("the {what} response body"), &reply.body, &own);
    }
}

fn assert_logged(needles: &[&str]) {
    let logs = logs();
    for needle in needles {
        assert!(logs.contains(needle), "the captured logs lack {needle:?}");
    }
}

#[tokio::test]
async fn the_token_endpoint_reveals_no_secret_on_any_path() {
    let mut s = server().await;
    let (fast, slow) = (s.fast_secret.clone(), s.slow_secret.clone());
    let mut replies = Vec::new();
    let mut expect = |what, reply: Reply, status: u16| {
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        replies.push((what, reply, None));
    };

    // Successes: each response carries its own token, which is then a secret everywhere else.
    let mut granted = Vec::new();
    for (what, reply) in [
        ("Basic", s.basic(FAST, &fast).await),
        ("post", s.post(FAST, &fast).await),
        ("Argon2id Basic", s.basic(SLOW, &slow).await),
    ] {
        let token = issued(&mut s.secrets, &format!("access token ({what})"), &reply);
        granted.push((what, reply, Some(token)));
    }
    let signer_key = s.signer_key.clone();
    let assertion = s.sign_assertion("client assertion", &signer_key, json!({}));
    let reply = s.assertion(&assertion).await;
    let token = issued(&mut s.secrets, "access token (private_key_jwt)", &reply);
    granted.push(("private_key_jwt", reply, Some(token)));

    // Failures, each carrying something secret.
    let wrong = unique("wrong secret");
    s.secrets.add("wrong secret", &wrong);
    expect("wrong Basic secret", s.basic(FAST, &wrong).await, 401);
    expect("wrong post secret", s.post(FAST, &wrong).await, 401);
    expect("wrong Argon2id password", s.basic(SLOW, &wrong).await, 401);
    expect(
        "unknown client, Basic",
        s.basic("nobody", &wrong).await,
        401,
    );
    expect("unknown client, post", s.post("nobody", &wrong).await, 401);
    expect("replayed assertion", s.assertion(&assertion).await, 401);
    let impostor = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    s.secrets.key("impostor's private key", &impostor);
    for (what, key, claims) in [
        ("assertion signed by another key", &impostor, json!({})),
        (
            "expired assertion",
            &signer_key,
            json!({"exp": now() - 600}),
        ),
        (
            "assertion for another audience",
            &signer_key,
            json!({"aud": "https://elsewhere.test"}),
        ),
        (
            "assertion naming another client",
            &signer_key,
            json!({"sub": FAST, "iss": FAST}),
        ),
    ] {
        let bad = s.sign_assertion(what, key, claims);
        expect(what, s.assertion(&bad).await, 401);
    }
    let garbage = format!("{}.{}.{}", unique("a"), unique("b"), unique("c"));
    s.secrets.add("garbage assertion", &garbage);
    expect("garbage assertion", s.assertion(&garbage).await, 401);

    // Malformed requests that still carry a secret.
    let no_colon = format!("Basic {}", STANDARD.encode(&wrong));
    let request = http()
        .post(s.token_url())
        .header("authorization", no_colon)
        .form(&[("grant_type", "client_credentials")]);
    expect("Basic without a colon", send(request).await, 400);
    let request = http()
        .post(s.token_url())
        .basic_auth(FAST, Some(&fast))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", &wrong),
        ]);
    expect("two authentication methods", send(request).await, 400);
    let request = http().post(s.token_url()).json(
        &json!({"grant_type": "client_credentials", "client_id": FAST, "client_secret": fast}),
    );
    expect("a JSON body", send(request).await, 400);
    let request = http()
        .post(format!(
            "{}?client_id={FAST}&client_secret={fast}",
            s.token_url()
        ))
        .form(&[("grant_type", "client_credentials")]);
    expect("the secret in the query string", send(request).await, 401);
    let repeated = format!(
        "grant_type=client_credentials&client_id={FAST}&client_secret={wrong}&client_secret={fast}"
    );
    let request = http()
        .post(s.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(repeated);
    expect("a repeated client_secret", send(request).await, 400);
    let request = http().get(s.token_url()).basic_auth(FAST, Some(&fast));
    expect("GET with Basic", send(request).await, 405);

    replies.extend(granted);
    assert_replies_clean(&s.secrets, &replies);
    assert_logged(&[
        "access token issued",
        "client authentication failed",
        "client assertion rejected",
        "client assertion replayed",
    ]);
    s.secrets.assert_absent("the logs", &logs());
}

#[tokio::test]
async fn the_protected_api_reveals_no_token_on_any_path() {
    let mut s = server().await;
    let fast = s.fast_secret.clone();
    let reply = s.basic(FAST, &fast).await;
    let issued_token = issued(&mut s.secrets, "access token", &reply);
    let mut replies = vec![("token", reply, Some(issued_token.clone()))];
    let mut expect = |what, reply: Reply, status: u16| {
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        replies.push((what, reply, None));
    };

    expect("valid", s.api(&format!("Bearer {issued_token}")).await, 200);
    let expired = s.sign_token(
        "expired token",
        json!({"exp": now() - 3600, "iat": now() - 4000}),
    );
    expect("expired", s.api(&format!("Bearer {expired}")).await, 401);
    let audience = s.sign_token("token for another audience", json!({"aud": "audit-api"}));
    expect(
        "wrong audience",
        s.api(&format!("Bearer {audience}")).await,
        401,
    );
    let unscoped = s.sign_token("token without the scope", json!({"scope": "other"}));
    expect(
        "insufficient scope",
        s.api(&format!("Bearer {unscoped}")).await,
        403,
    );
    let fresh = s.sign_token("token to tamper with", json!({}));
    let (message, signature) = fresh.rsplit_once('.').expect("segments");
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{message}.{flipped}{}", &signature[1..]);
    s.secrets.jws("tampered token", &tampered);
    expect(
        "bad signature",
        s.api(&format!("Bearer {tampered}")).await,
        401,
    );
    let stranger = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    s.secrets.key("stranger's private key", &stranger);
    let foreign = stranger
        .sign(
            "at+jwt",
            &json!({"iss": s.base, "sub": FAST, "aud": AUDIENCE, "exp": now() + 60}),
        )
        .expect("sign");
    s.secrets.jws("token from an unknown key", &foreign);
    expect(
        "unknown key",
        s.api(&format!("Bearer {foreign}")).await,
        401,
    );
    let garbage = format!("{}.{}", unique("x"), unique("y"));
    s.secrets.add("malformed token", &garbage);
    expect("malformed", s.api(&format!("Bearer {garbage}")).await, 401);
    expect(
        "bad characters",
        s.api(&format!("Bearer {issued_token}%")).await,
        400,
    );
    expect(
        "Basic on the API",
        s.api(&format!(
            "Basic {}",
            STANDARD.encode(format!("{FAST}:{fast}"))
        ))
        .await,
        401,
    );
    let request = http()
        .get(format!("{}/api/reports", s.base))
        .header("authorization", format!("Bearer {issued_token}"))
        .header("authorization", format!("Bearer {expired}"));
    expect("two Authorization headers", send(request).await, 400);

    assert_replies_clean(&s.secrets, &replies);
    assert_logged(&["bearer authentication failed", "scope check failed"]);
    s.secrets.assert_absent("the logs", &logs());
}

#[tokio::test]
async fn errors_reveal_no_secret() {
    let mut s = server().await;
    let wrong = unique("wrong secret");
    s.secrets.add("wrong secret", &wrong);
    let signer_key = s.signer_key.clone();
    let assertion = s.sign_assertion(
        "expired assertion",
        &signer_key,
        json!({"exp": now() - 600}),
    );
    let mut shown = Vec::new();

    let secret = |s: &str| Zeroizing::new(s.to_owned());
    for auth in [
        ClientAuth::Basic {
            client_id: FAST.into(),
            secret: secret(&wrong),
        },
        ClientAuth::Post {
            client_id: "nobody".into(),
            secret: secret(&wrong),
        },
        ClientAuth::PrivateKeyJwt {
            client_id: None,
            assertion: secret(&assertion),
        },
        ClientAuth::PrivateKeyJwt {
            client_id: Some(SIGNER.into()),
            assertion: secret(&wrong),
        },
    ] {
        let error = s
            .issuer
            .issue(auth, TokenRequest::client_credentials(None))
            .await
            .expect_err("refused");
        shown.push(format!("{error} {error:?}"));
    }

    let expired = s.sign_token("expired token", json!({"exp": now() - 3600}));
    let audience = s.sign_token("token for another audience", json!({"aud": "audit-api"}));
    for token in [&expired, &audience, &format!("{expired}x"), &wrong] {
        let error = s.validator.verify(token).await.expect_err("refused");
        let auth_error = tower_client_credentials::AuthError::from(error);
        shown.push(format!("{error} {error:?} {auth_error} {auth_error:?}"));
    }

    // Key material handed to the wrong loader.
    let pem = s.issuer_key.to_pkcs8_pem().expect("pem");
    for alg in [Algorithm::ES256, Algorithm::RS256] {
        let error = SigningKey::from_pem(alg, pem.as_bytes()).expect_err("wrong algorithm");
        shown.push(format!("{error} {error:?}"));
        if let Err(error) = VerifyingKey::from_pem(alg, pem.as_bytes(), None) {
            shown.push(format!("{error} {error:?}"));
        }
    }
    // A plaintext secret where its hash belongs.
    let error = ClientSecret::parse(&s.fast_secret).expect_err("not a stored hash");
    shown.push(format!("{error} {error:?}"));
    let file = format!(
        "[[client]]\nid = \"x\"\naudiences = [\"api\"]\nsecret_hash = \"{}\"\n",
        s.fast_secret
    );
    let error = MemoryClientStore::from_toml_str(&file).expect_err("not a stored hash");
    shown.push(format!("{error} {error:?}"));

    for text in &shown {
        s.secrets.assert_absent("an error message", text);
    }
}

#[tokio::test]
async fn debug_output_of_the_public_types_reveals_no_secret() {
    let mut s = server().await;
    let reply = s.basic(FAST, &s.fast_secret.clone()).await;
    let token = issued(&mut s.secrets, "access token", &reply);
    let signer_key = s.signer_key.clone();
    let assertion = s.sign_assertion("client assertion", &signer_key, json!({}));
    let secret = |s: &str| Zeroizing::new(s.to_owned());

    let response: TokenResponse = serde_json::from_str(&reply.body).expect("token response");
    let claims = s.validator.verify(&token).await.expect("valid");
    let client = Client::builder(FAST)
        .secret(s.fast_stored.clone())
        .keys([s.signer_key.verifying_key().clone()])
        .auth_methods([AuthMethod::ClientSecretBasic, AuthMethod::PrivateKeyJwt])
        .audiences([AUDIENCE])
        .build()
        .expect("client");
    let store = MemoryClientStore::new().with_client(client.clone());
    let (generated, _) = ClientSecret::generate();
    s.secrets.add("generated secret", generated.expose());
    let shown = [
        format!("{:?} {:?}", s.issuer_key, s.signer_key),
        format!("{:?}", s.issuer_key.verifying_key()),
        format!("{:?} {:?}", s.fast_stored, s.slow_stored),
        format!(
            "{:?}",
            ClientAuth::Basic {
                client_id: FAST.into(),
                secret: secret(&s.fast_secret)
            }
        ),
        format!(
            "{:?}",
            ClientAuth::Post {
                client_id: SLOW.into(),
                secret: secret(&s.slow_secret)
            }
        ),
        format!(
            "{:?}",
            ClientAuth::PrivateKeyJwt {
                client_id: None,
                assertion: secret(&assertion)
            }
        ),
        format!("{response:?}"),
        format!("{:?}", TokenResponse::bearer(token.clone())),
        format!("{claims:?}"),
        format!("{:?}", s.issuer),
        format!("{:?}", s.validator),
        format!("{:?}", s.issuer.keys()),
        format!("{client:?} {store:?}"),
        format!("{generated:?}"),
        format!("{:?}", BearerAuthLayer::new(s.validator.clone())),
    ];
    for text in &shown {
        s.secrets.assert_absent("Debug output", text);
    }
    // And the Debug output still says what the value is.
    assert!(shown[0].contains(s.issuer_key.kid()));
    assert!(shown[8].contains(FAST));
}

/// A secret pasted into the wrong field of a clients file is not quoted back.
#[test]
fn config_errors_do_not_quote_a_misplaced_secret() {
    for field in [
        "enabled = \"{}\"",
        "token_ttl_secs = \"{}\"",
        "default_audience = \"{}\"",
    ] {
        assert_config_error_hides_the_value(field);
    }
}

/// An unknown `auth_methods` entry is reported by field and allowed values, never quoted back
/// (it used to be: ``unknown variant `…` ``).
#[test]
fn an_unknown_auth_method_is_not_quoted_back() {
    assert_config_error_hides_the_value("auth_methods = [\"{}\"]");
}

fn assert_config_error_hides_the_value(field: &str) {
    let secret = unique("misplaced secret");
    let mut secrets = Secrets::default();
    secrets.add("misplaced secret", &secret);
    let line = field.replace("{}", &secret);
    let file = format!("[[client]]\nid = \"x\"\naudiences = [\"api\"]\n{line}\n");
    let error = MemoryClientStore::from_toml_str(&file).expect_err("invalid");
    secrets.assert_absent(
        &format!("the error for `{field}`"),
        &format!("{error} {error:?}"),
    );
}
