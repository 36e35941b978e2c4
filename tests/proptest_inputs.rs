//! Hostile input, generated: arbitrary bytes (and near-valid shapes, which reach deeper) as the
//! `Authorization` header, the token, the token-endpoint request, a JWKS document and a clients
//! file. Each must end in a success or a typed error, never a panic; over HTTP, in one of the
//! documented statuses, never a 5xx. `fuzz/` runs the same five inputs for longer.
//!
//! Kept fast for CI: at most 256 cases per property, no Argon2id hashing.

use std::convert::Infallible;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, header};
use http_body_util::{BodyExt, Full};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tower::{Layer, ServiceExt, service_fn};
use tower_client_credentials::clients::{AuthMethod, Client, ClientSecret, MemoryClientStore};
use tower_client_credentials::issue::{ClientCredentialsTokenService, TokenIssuer};
use tower_client_credentials::keys::{Algorithm, Jwks, KeyRing, KeySource, SigningKey};
use tower_client_credentials::{BearerAuthLayer, RequireScopeLayer, ScopeSet, Validator};

const ISSUER: &str = "https://auth.test";
const AUDIENCE: &str = "reports-api";
const CLIENT: &str = "svc";
const SIGNER: &str = "signer";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Real public JWKs (EdDSA, ES256, RS256, PS256), made for these tests, to mutate. Constants:
/// generating RSA keys takes seconds in a debug build of the pure-Rust backend.
const REAL_JWKS: [&str; 4] = [
    r#"{"use":"sig","alg":"EdDSA","kid":"Z4N_WUXm1gykrf0n-bATiuYvXUhEJniuIbBrWx3dwUE","kty":"OKP","crv":"Ed25519","x":"k82zC4N6uG_Kdv9raFSfhPC0PuvBik0MLwjeGzluWJc"}"#,
    r#"{"use":"sig","alg":"ES256","kid":"YpkYiSTWGqiFG83d10hB4CNjHVSzpZZBP7BkEq4oqgk","kty":"EC","crv":"P-256","x":"PtjPtDJTcnqC4HLGJ6uC_nKoQ5jHn-05K65fa0Y5F9I","y":"ssS98nTa3eBhu-Y6s9kE463Dard982xykU9VP6ujskE"}"#,
    r#"{"use":"sig","alg":"RS256","kid":"9jszVrTw-3F1YN3bX7DRMGxvu1AHeYKSL0tFuNGq0ZU","kty":"RSA","n":"knGPrmzTlgUOZUkDthG-87o7LlRKGVokl_xp8Aw7HgCpxJWCFuQ32AHVWmIkj-RzLkaDafYSRqYKayBpU5yWR0X8bOmEjn8Ff6Gk126htWzCj5frvzYEqRumd_kGrTC2ZT-jv8ZxqLhfD08uiZd_UNIFg-9EpD6TQkwKZ_JucL108oBZkhRLrHK_FhOufpdKOHByuoV1Kei8Cc6vySeTBCWp9nVscwilgDyxFjXOC44NXjtYtMrx3XjxoMadwP1BRxBR19m73Q1lO55SsXs_70PcAeR2YKicL_8fK8CwazEO1MI1vgbzKk5GF08Yh8EKoaHBSPszho9gWsO7VTX8UQ","e":"AQAB"}"#,
    r#"{"use":"sig","alg":"PS256","kid":"kujxHMK34px46yzM4AzHJD_1q6oer0R6d8YzR4NobvQ","kty":"RSA","n":"nDbn8uLzEv-cud0432Zkm-U-muprBPSfltEHeYrgQ0CQDPBfw9PpBe5tNbOeK-XfnZiL5Fhl8J2Npd38Or5hfuVLSySAA2mlj1irId2apMJIHdemUq_YOFNwnmZxdiJnAANos-WzcedluZr8nah_JG6vXgcdANIAIsC42oUDaUFKL2Ey1vtWOnht9IeQ3W5N2-shoJjqKmjE0MF3Dt0hn68yWgO21ujjQR03CxTw89VPwWUhBioPEUrBrn_Y-K5STxOHUQjWV3-LIc7ZWxBJ5JRwevFfmUGVnTYXAshm7pr7WABx9274ffjLHpXiAO71pUYXESvA8VOBNmJdvoJCUw","e":"AQAB"}"#,
];

/// Built once: keys, a validator, the registered clients' credentials.
struct Fixture {
    key: SigningKey,
    /// The EdDSA key's PKCS#8 PEM, to sign arbitrary headers with jsonwebtoken directly.
    encoding: jsonwebtoken::EncodingKey,
    validator: Validator,
    secret: String,
    stored_secret: ClientSecret,
    signer: SigningKey,
    /// [`REAL_JWKS`], parsed.
    jwks: Vec<Value>,
    runtime: tokio::runtime::Runtime,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let pem = key.to_pkcs8_pem().expect("pem");
    let encoding = jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()).expect("encoding key");
    let validator = Validator::builder()
        .issuer(ISSUER, KeySource::local(KeyRing::new(key.clone())))
        .audience(AUDIENCE)
        .build()
        .expect("validator");
    let (plain, stored_secret) = ClientSecret::generate();
    let jwks = REAL_JWKS
        .iter()
        .map(|jwk| serde_json::from_str(jwk).expect("jwk"))
        .collect();
    Fixture {
        key,
        encoding,
        validator,
        secret: plain.expose().to_owned(),
        stored_secret,
        signer: SigningKey::generate(Algorithm::EdDSA).expect("keygen"),
        jwks,
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
    }
});

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

// ---- strategies ----

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::from),
            btree_map(".{0,8}", inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Values that sit on the edges of a claim's rules, or break its type.
fn claim_value(typical: Vec<Value>) -> impl Strategy<Value = Value> {
    let now = now();
    let edges = vec![
        json!(now),
        json!(now - 3600),
        json!(now + 3600),
        json!(0),
        json!(-1),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1.5),
        json!(1e300),
        json!(now.to_string()),
        json!([]),
        json!(null),
    ];
    // Mostly plausible, so that a generated token or key gets past the first check that reads
    // this value and on to the next one.
    prop_oneof![
        60 => proptest::sample::select(typical),
        2 => proptest::sample::select(edges),
        1 => json_value(),
    ]
}

/// A JSON object holding some of `fields` (each present with its probability, drawn from its
/// strategy), plus stray members.
fn object_of(fields: Vec<(&'static str, f64, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let members: Vec<_> = fields
        .into_iter()
        .map(|(name, present, value)| {
            proptest::option::weighted(present, value).prop_map(move |v| (name, v))
        })
        .collect();
    (members, btree_map("[a-z]{1,6}", json_value(), 0..2))
        .prop_map(|(members, stray)| {
            let mut object: Map<String, Value> = stray.into_iter().collect();
            for (name, value) in members {
                if let Some(value) = value {
                    object.insert(name.to_owned(), value);
                }
            }
            Value::Object(object)
        })
        .boxed()
}

fn jose_header() -> BoxedStrategy<Value> {
    let kid = FIXTURE.key.kid().to_owned();
    object_of(vec![
        (
            "alg",
            0.97,
            claim_value(vec![
                json!("EdDSA"),
                json!("EdDSA"),
                json!("EdDSA"),
                json!("none"),
                json!("HS256"),
                json!("ES256"),
            ])
            .boxed(),
        ),
        (
            "typ",
            0.97,
            claim_value(vec![
                json!("at+jwt"),
                json!("at+jwt"),
                json!("JWT"),
                json!("application/at+jwt"),
            ])
            .boxed(),
        ),
        (
            "kid",
            0.97,
            claim_value(vec![
                json!(kid),
                json!(kid),
                json!(kid),
                json!(""),
                json!("../../etc/passwd"),
            ])
            .boxed(),
        ),
        (
            "crit",
            0.1,
            claim_value(vec![json!(["exp"]), json!([]), json!(null)]).boxed(),
        ),
        (
            "jku",
            0.1,
            claim_value(vec![json!("https://attacker.test/jwks")]).boxed(),
        ),
    ])
}

fn access_claims() -> BoxedStrategy<Value> {
    let now = now();
    let time = || {
        claim_value(vec![
            json!(now),
            json!(now + 60),
            json!(now + 600),
            json!(now - 60),
        ])
        .boxed()
    };
    object_of(vec![
        (
            "iss",
            0.97,
            claim_value(vec![
                json!(ISSUER),
                json!(ISSUER),
                json!(ISSUER),
                json!(format!("{ISSUER}/")),
                json!("https://AUTH.test"),
            ])
            .boxed(),
        ),
        ("sub", 0.97, claim_value(vec![json!(CLIENT)]).boxed()),
        (
            "aud",
            0.97,
            claim_value(vec![
                json!(AUDIENCE),
                json!(AUDIENCE),
                json!([AUDIENCE, "other"]),
                json!(["other"]),
            ])
            .boxed(),
        ),
        ("exp", 0.97, time()),
        ("iat", 0.97, time()),
        ("nbf", 0.3, time()),
        ("jti", 0.97, claim_value(vec![json!("1")]).boxed()),
        ("client_id", 0.97, claim_value(vec![json!(CLIENT)]).boxed()),
        (
            "scope",
            0.97,
            claim_value(vec![
                json!("reports:read"),
                json!("reports:read"),
                json!("reports:read reports:write"),
                json!("reports:read"),
                json!("a  b"),
                json!(["reports:read"]),
            ])
            .boxed(),
        ),
    ])
}

/// A compact JWS with this header and payload, signed by the fixture key: the signature holds,
/// so every check after it is reached.
fn signed(header: &Value, payload: &Value) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &FIXTURE.encoding,
        jsonwebtoken::Algorithm::EdDSA,
    )
    .expect("sign");
    format!("{message}.{signature}")
}

/// Tokens: anything, token-shaped text, a valid token with one byte changed or cut, and
/// correctly signed tokens with generated headers and claims.
fn token() -> BoxedStrategy<String> {
    let valid = FIXTURE
        .key
        .sign("at+jwt", &json!({"iss": ISSUER, "sub": CLIENT, "aud": AUDIENCE,
            "exp": now() + 600, "iat": now(), "jti": "j", "client_id": CLIENT, "scope": "reports:read"}))
        .expect("sign");
    let mutated = (any::<prop::sample::Index>(), any::<u8>(), any::<bool>()).prop_map(
        move |(at, byte, cut)| {
            let mut bytes = valid.clone().into_bytes();
            let at = at.index(bytes.len());
            if cut {
                bytes.truncate(at);
            } else {
                bytes[at] = byte;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        },
    );
    prop_oneof![
        1 => any::<String>(),
        1 => "[A-Za-z0-9_=.~+/-]{0,80}",
        2 => "[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,90}",
        2 => mutated,
        6 => (jose_header(), access_claims()).prop_map(|(h, c)| signed(&h, &c)),
    ]
    .boxed()
}

/// Header values: arbitrary bytes (most are not valid header values, and are skipped), any
/// visible bytes, and schemes followed by tokens.
fn authorization_bytes() -> BoxedStrategy<Vec<u8>> {
    let visible = prop_oneof![Just(b'\t'), 0x20u8..=0x7e, 0x80u8..=0xff];
    let scheme = prop_oneof![
        Just("Bearer"),
        Just("bearer"),
        Just("BEARER"),
        Just("Basic"),
        Just(""),
        Just("Bearer "),
    ];
    prop_oneof![
        1 => vec(any::<u8>(), 0..64),
        2 => vec(visible.clone(), 0..256),
        2 => (scheme.clone(), vec(visible, 0..256))
            .prop_map(|(s, rest)| [s.as_bytes(), b" ", &rest].concat()),
        5 => (scheme, token()).prop_map(|(s, t)| format!("{s} {t}").into_bytes()),
    ]
    .boxed()
}

// ---- the protect half ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_token_is_verified_or_refused_with_a_token_error(token in token()) {
        let result = FIXTURE.runtime.block_on(FIXTURE.validator.verify(&token));
        if let Ok(claims) = result {
            // A success only for a token that meets the rules it can be checked against here.
            prop_assert_eq!(&claims.iss, ISSUER);
            prop_assert!(claims.aud.contains(AUDIENCE));
            prop_assert!(claims.exp as i64 > now() - 300);
        }
    }

    #[test]
    fn any_authorization_header_gets_a_documented_status(
        values in vec(authorization_bytes(), 1..3),
    ) {
        let mut request = Request::builder().uri("/reports");
        let mut sent = Vec::new();
        for value in &values {
            // Bytes a client could not send as a header value are not an input we can receive.
            if let Ok(value) = HeaderValue::from_bytes(value) {
                request = request.header(header::AUTHORIZATION, value.clone());
                sent.push(value);
            }
        }
        let request = request.body(Full::<Bytes>::default()).expect("request");
        let api = service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        });
        let api = BearerAuthLayer::new(FIXTURE.validator.clone())
            .layer(RequireScopeLayer::all(["reports:read"]).layer(api));
        let response = FIXTURE.runtime.block_on(api.oneshot(request)).expect("infallible");
        let status = response.status().as_u16();
        prop_assert!([200, 400, 401, 403].contains(&status), "status {status}");
        if status == 200 {
            prop_assert_eq!(sent.len(), 1);
            prop_assert!(sent[0].as_bytes()[..7].eq_ignore_ascii_case(b"bearer "));
        } else {
            prop_assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
        }
    }
}

// ---- the issue half ----

/// A fresh issuer per case, so one case's failed logins never throttle the next.
fn token_service() -> ClientCredentialsTokenService {
    let f = &*FIXTURE;
    let scopes = |wire: &str| ScopeSet::parse(wire).expect("scopes");
    let clients = MemoryClientStore::new()
        .with_client(
            Client::builder(CLIENT)
                .secret(f.stored_secret.clone())
                .auth_methods([AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost])
                .allowed_scopes(scopes("reports:read reports:write"))
                .audiences([AUDIENCE, "other"])
                .build()
                .expect("client"),
        )
        .with_client(
            Client::builder(SIGNER)
                .auth_methods([AuthMethod::PrivateKeyJwt])
                .keys([f.signer.verifying_key().clone()])
                .allowed_scopes(scopes("reports:read"))
                .audiences([AUDIENCE])
                .build()
                .expect("client"),
        );
    let issuer = TokenIssuer::builder()
        .issuer(ISSUER)
        .keys(KeyRing::new(f.key.clone()))
        .clients(clients)
        .build()
        .expect("issuer");
    ClientCredentialsTokenService::new(issuer)
}

fn assertion() -> BoxedStrategy<String> {
    let now = now();
    let claims = object_of(vec![
        ("iss", 0.97, claim_value(vec![json!(SIGNER)]).boxed()),
        ("sub", 0.97, claim_value(vec![json!(SIGNER)]).boxed()),
        (
            "aud",
            0.97,
            claim_value(vec![
                json!(ISSUER),
                json!(format!("{ISSUER}/oauth2/token")),
                json!([ISSUER, "x"]),
            ])
            .boxed(),
        ),
        (
            "exp",
            0.97,
            claim_value(vec![json!(now + 60), json!(now + 600)]).boxed(),
        ),
        ("iat", 0.97, claim_value(vec![json!(now)]).boxed()),
        (
            "jti",
            0.97,
            claim_value(vec![json!("a"), json!("b".repeat(300))]).boxed(),
        ),
    ]);
    (claims, any::<bool>())
        .prop_map(|(claims, typ)| {
            FIXTURE
                .signer
                .sign(if typ { "JWT" } else { "at+jwt" }, &claims)
                .expect("sign")
        })
        .boxed()
}

/// One `name=value` pair: known names with plausible or hostile values, percent-encoded or not.
fn form_pair() -> BoxedStrategy<String> {
    let secret = FIXTURE.secret.clone();
    let name = prop_oneof![
        proptest::sample::select(vec![
            "grant_type",
            "scope",
            "resource",
            "client_id",
            "client_secret",
            "client_assertion_type",
            "client_assertion",
        ])
        .prop_map(str::to_owned),
        "[a-z_%+=&]{0,12}",
    ];
    let value = prop_oneof![
        proptest::sample::select(vec![
            "client_credentials".to_owned(),
            CLIENT.to_owned(),
            SIGNER.to_owned(),
            secret,
            "reports:read".to_owned(),
            "reports:read reports:write".to_owned(),
            AUDIENCE.to_owned(),
            ASSERTION_TYPE.to_owned(),
            String::new(),
        ]),
        assertion(),
        ".{0,40}",
        "(%[0-9A-Fa-f]{0,2}|[+&=a-z]){0,20}",
    ];
    (name, value, any::<bool>())
        .prop_map(|(name, value, encode)| {
            let value = if encode { urlencode(&value) } else { value };
            format!("{name}={value}")
        })
        .boxed()
}

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

/// Bodies: anything, or form pairs, mostly after `grant_type=client_credentials` (which is
/// checked first) so that client authentication and the grant policy are reached.
fn token_body() -> BoxedStrategy<Vec<u8>> {
    let pairs = vec(form_pair(), 0..6);
    prop_oneof![
        1 => vec(any::<u8>(), 0..512),
        1 => pairs.clone().prop_map(|pairs| pairs.join("&").into_bytes()),
        4 => pairs.prop_map(|pairs| {
            let mut body = String::from("grant_type=client_credentials");
            for pair in pairs {
                body.push('&');
                body.push_str(&pair);
            }
            body.into_bytes()
        }),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
enum Basic {
    None,
    /// The registered client's real credentials.
    Valid,
    /// `Basic` and base64 of `id:secret` from arbitrary strings.
    Encoded(String, String),
    /// Arbitrary header bytes.
    Raw(Vec<u8>),
}

fn basic() -> impl Strategy<Value = Basic> {
    prop_oneof![
        3 => Just(Basic::None),
        3 => Just(Basic::Valid),
        2 => (".{0,16}", ".{0,16}").prop_map(|(id, secret)| Basic::Encoded(id, secret)),
        1 => authorization_bytes().prop_map(Basic::Raw),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_token_request_gets_a_documented_oauth_answer(
        body in token_body(),
        basic in basic(),
        method in prop_oneof![8 => Just(Method::POST), 1 => Just(Method::GET), 1 => Just(Method::PUT)],
        form in proptest::sample::select(vec![
            "application/x-www-form-urlencoded", "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
            "APPLICATION/X-WWW-FORM-URLENCODED", "application/json", "",
        ]),
    ) {
        let mut request = Request::builder().method(method).uri("/oauth2/token");
        if !form.is_empty() {
            request = request.header(header::CONTENT_TYPE, form);
        }
        let authorization = match &basic {
            Basic::None => None,
            Basic::Valid => Some(format!("Basic {}", STANDARD.encode(format!("{CLIENT}:{}", FIXTURE.secret))).into_bytes()),
            Basic::Encoded(id, secret) => Some(format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))).into_bytes()),
            Basic::Raw(bytes) => Some(bytes.clone()),
        };
        if let Some(value) = authorization.and_then(|v| HeaderValue::from_bytes(&v).ok()) {
            request = request.header(header::AUTHORIZATION, value);
        }
        let request = request.body(Full::new(Bytes::from(body))).expect("request");
        let response = FIXTURE.runtime
            .block_on(token_service().oneshot(request))
            .expect("infallible");
        let status = response.status().as_u16();
        // 429 once a client id or peer is throttled (tests/attacks_issue.rs).
        prop_assert!([200, 400, 401, 405, 413, 429].contains(&status), "status {status}");
        prop_assert_eq!(response.headers()[header::CACHE_CONTROL].as_bytes(), b"no-store");
        let body = FIXTURE.runtime
            .block_on(response.into_body().collect())
            .expect("body")
            .to_bytes();
        let json: Value = serde_json::from_slice(&body).expect("a JSON body");
        if status == 200 {
            prop_assert!(json["access_token"].is_string());
            prop_assert_eq!(&json["token_type"], "Bearer");
        } else {
            let known = ["invalid_request", "invalid_client", "unsupported_grant_type",
                "invalid_scope", "invalid_target", "unauthorized_client", "invalid_grant",
                "slow_down", "temporarily_unavailable"];
            prop_assert!(json["error"].as_str().is_some_and(|e| known.contains(&e)), "{json}");
        }
    }
}

// ---- documents: JWKS and the clients file ----

fn b64_bytes(max: usize) -> BoxedStrategy<Value> {
    vec(any::<u8>(), 0..max)
        .prop_map(|bytes| Value::from(URL_SAFE_NO_PAD.encode(bytes)))
        .boxed()
}

fn jwk() -> BoxedStrategy<Value> {
    let pick = |values: Vec<Value>| claim_value(values).boxed();
    let member = |n: usize| prop_oneof![3 => b64_bytes(n), 1 => json_value()].boxed();
    let generated = object_of(vec![
        (
            "kty",
            0.97,
            pick(vec![json!("OKP"), json!("EC"), json!("RSA"), json!("oct")]),
        ),
        (
            "crv",
            0.97,
            pick(vec![
                json!("Ed25519"),
                json!("P-256"),
                json!("P-384"),
                json!("X25519"),
            ]),
        ),
        (
            "alg",
            0.97,
            pick(vec![
                json!("EdDSA"),
                json!("ES256"),
                json!("RS256"),
                json!("PS256"),
                json!("HS256"),
            ]),
        ),
        ("use", 0.5, pick(vec![json!("sig"), json!("enc")])),
        ("kid", 0.97, pick(vec![json!("k1")])),
        ("x", 0.97, member(66)),
        ("y", 0.97, member(66)),
        ("n", 0.97, member(300)),
        ("e", 0.97, member(8)),
        ("k", 0.97, member(64)),
    ]);
    // A real public JWK with one member replaced.
    let real = (
        proptest::sample::select(FIXTURE.jwks.clone()),
        proptest::sample::select(vec!["kty", "crv", "alg", "x", "y", "n", "e", "kid", "use"]),
        member(300),
    )
        .prop_map(|(mut jwk, name, value)| {
            jwk[name] = value;
            jwk
        });
    prop_oneof![3 => generated, 2 => real].boxed()
}

fn jwks_document() -> BoxedStrategy<String> {
    prop_oneof![
        1 => any::<String>(),
        1 => json_value().prop_map(|v| v.to_string()),
        4 => vec(jwk(), 0..4).prop_map(|keys| json!({ "keys": keys }).to_string()),
    ]
    .boxed()
}

/// A TOML basic string.
fn toml_string(raw: &str) -> String {
    let mut out = String::from("\"");
    for c in raw.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_value() -> BoxedStrategy<String> {
    let scalar = prop_oneof![
        ".{0,20}".prop_map(|s| toml_string(&s)),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("1.5".to_owned()),
        Just("inf".to_owned()),
    ];
    let known = proptest::sample::select(vec![
        "\"client_secret_basic\"", "\"client_secret_post\"", "\"private_key_jwt\"", "\"reports:read\"",
        "\"reports-api\"", "\"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"",
        "\"$argon2id$v=19$m=19456,t=2,p=1$KjPF3eE6a7dCUkHsNm7irg$FszqnoZrRPs3uV9o1ZrfNRXk4dAoO/s6ggdnqXgpF8M\"",
        "\"$argon2id$v=19$m=4294967295,t=1,p=1$KjPF3eE6a7dCUkHsNm7irg$FszqnoZrRPs3uV9o1ZrfNRXk4dAoO/s6ggdnqXgpF8M\"",
    ])
    .prop_map(str::to_owned);
    let leaf = prop_oneof![2 => known, 1 => scalar];
    prop_oneof![
        2 => leaf.clone(),
        2 => vec(leaf, 0..4).prop_map(|items| format!("[{}]", items.join(", "))),
        1 => vec(jwk(), 0..3).prop_map(|keys| {
            // JSON objects written as TOML inline tables, one level deep.
            let tables: Vec<String> = keys.iter().filter_map(Value::as_object).map(|jwk| {
                let members: Vec<String> = jwk.iter().filter_map(|(name, value)| {
                    let value = value.as_str().map(toml_string)?;
                    Some(format!("{name} = {value}"))
                }).collect();
                format!("{{ {} }}", members.join(", "))
            }).collect();
            format!("{{ keys = [{}] }}", tables.join(", "))
        }),
    ]
    .boxed()
}

fn clients_file() -> BoxedStrategy<String> {
    let field = proptest::sample::select(vec![
        "id",
        "secret_hash",
        "auth_methods",
        "scopes",
        "default_scopes",
        "audiences",
        "default_audience",
        "token_ttl_secs",
        "enabled",
        "jwks",
        "scope",
        "[bad key]",
    ]);
    // Mostly with the two required fields, so that the other fields' rules are reached.
    let likely = || proptest::bool::weighted(0.85);
    let required = (any::<u8>(), likely(), likely(), likely());
    let entry =
        (required, vec((field, toml_value()), 0..4)).prop_map(|((n, id, aud, secret), fields)| {
            let mut lines: Vec<String> = fields
                .iter()
                .map(|(name, value)| format!("{name} = {value}"))
                .collect();
            if id {
                lines.insert(0, format!("id = \"client-{n}\""));
            }
            if aud {
                lines.insert(0, "audiences = [\"reports-api\"]".to_owned());
            }
            if secret {
                lines.insert(0, format!("secret_hash = \"sha256:{}\"", "ab".repeat(32)));
            }
            format!("[[client]]\n{}\n", lines.join("\n"))
        });
    prop_oneof![
        1 => any::<String>(),
        4 => vec(entry, 0..3).prop_map(|entries| entries.concat()),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_jwks_document_parses_or_is_a_key_error(document in jwks_document(), data in vec(any::<u8>(), 0..64)) {
        let parsed = Jwks::parse(&document);
        let source = KeySource::jwks(&document);
        prop_assert_eq!(source.is_ok(), parsed.as_ref().is_ok_and(|keys| !keys.is_empty()));
        for key in parsed.unwrap_or_default() {
            // A key that loaded must be usable: checking a signature and exporting never panic.
            let signature = URL_SAFE_NO_PAD.encode(&data);
            prop_assert!(!key.verify_signature(b"message", &signature));
            let _ = key.to_jwk();
        }
    }

    #[test]
    fn any_clients_file_loads_or_is_a_config_error_with_a_line(text in clients_file()) {
        match MemoryClientStore::from_toml_str(&text) {
            Ok(store) => {
                let _ = format!("{store:?}");
            }
            Err(error) => {
                let _ = error.to_string();
                if let Some(line) = error.line() {
                    prop_assert!(line >= 1 && line <= text.lines().count().max(1) + 1, "line {line}");
                }
            }
        }
    }
}
