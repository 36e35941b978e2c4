//! The resource-server target of `scripts/load.sh`: one axum app serving the same JSON handler
//! with no auth, behind tower-http's static bearer check (the ceiling), and behind
//! `BearerAuthLayer` with and without its verified-token cache, for an EdDSA and an ES256 key.
//!
//! ```text
//! cargo run --release --example load_target   # ADDR=127.0.0.1:3100 OUT=target/load
//! ```
//!
//! Routes (`{alg}` is `eddsa` or `es256`):
//! - `GET /noauth`: the handler alone;
//! - `GET /static`: `ValidateRequestHeaderLayer::bearer` with the `PEER_ALG` token;
//! - `GET /{alg}/auth`, `GET /{alg}/auth-uncached`: `BearerAuthLayer`, cache on / off;
//! - `GET /{alg}/jwks.json`: the public key, for peers that only take a JWKS URL;
//! - `GET /stats`: `{"cached_tokens":…,"cache_capacity":…}` of the cached EdDSA validator.
//!
//! At start it writes to `OUT`, for the harness, the load clients and the peer targets (all
//! keys are fresh, throwaway and for 127.0.0.1 only):
//! - `{alg}.token`: one valid token; `{alg}.tokens`: `TOKENS` (default 10 000) distinct valid
//!   tokens, one a line;
//! - `{alg}.pub.pem` (SPKI), `{alg}.jwks.json`, `{alg}.key.pem` (PKCS#8, for `load_flood`);
//! - `{alg}.probes`: `name<TAB>token` lines, tokens that are wrong in one way each.
//!
//! Then it prints `ready http://ADDR` on stdout. `CACHE_CAPACITY` sets the cached validators'
//! capacity (default: the crate's default).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::{BearerAuthLayer, Validator};
use tower_http::validate_request::ValidateRequestHeaderLayer;

const ISSUER: &str = "https://auth.load.test";
const AUDIENCE: &str = "load";

async fn hello() -> Json<Value> {
    Json(json!({"message": "hello"}))
}

async fn stats(State(validator): State<Validator>) -> Json<Value> {
    Json(json!({
        "cached_tokens": validator.cached_tokens(),
        "cache_capacity": validator.cache_capacity(),
    }))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The claims of a valid access token (RFC 9068) for this target, with its own `jti`.
fn claims(jti: &str) -> Value {
    let now = now();
    json!({"iss": ISSUER, "sub": "load", "aud": AUDIENCE, "exp": now + 3600, "iat": now,
           "jti": jti, "client_id": "load", "scope": "reports:read"})
}

/// The SPKI `PUBLIC KEY` PEM of an Ed25519 or P-256 key, built from its JWK: the form that
/// `jsonwebtoken`'s `DecodingKey::from_ed_pem` / `from_ec_pem` read.
fn public_pem(key: &SigningKey) -> Result<String, Box<dyn Error>> {
    let jwk = serde_json::to_value(key.verifying_key().to_jwk().ok_or("no public JWK")?)?;
    let coord = |name: &str| -> Result<Vec<u8>, Box<dyn Error>> {
        let text = jwk[name].as_str().ok_or("JWK coordinate missing")?;
        Ok(URL_SAFE_NO_PAD.decode(text)?)
    };
    let der = match key.algorithm() {
        // SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING x } (RFC 8410 §4)
        Algorithm::EdDSA => [
            &[
                0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
            ][..],
            &coord("x")?,
        ]
        .concat(),
        // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING 04 || x || y }
        // (RFC 5480 §2)
        Algorithm::ES256 => [
            &[
                0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
                0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
            ][..],
            &coord("x")?,
            &coord("y")?,
        ]
        .concat(),
        _ => return Err("only EdDSA and ES256 keys are written as PEM here".into()),
    };
    Ok(pem::encode(&pem::Pem::new("PUBLIC KEY", der)))
}

/// Tokens that are wrong in exactly one way each (plus a valid one and none at all), to see
/// what each target answers. An empty token means "no Authorization header".
fn probes(key: &SigningKey) -> Result<Vec<(&'static str, String)>, Box<dyn Error>> {
    let sign = |claims: &Value| key.sign("at+jwt", claims);
    let with = |name: &str, value: Value| {
        let mut claims = claims("probe");
        claims[name] = value;
        claims
    };
    let without = |name: &str| {
        let mut claims = claims("probe");
        if let Some(map) = claims.as_object_mut() {
            map.remove(name);
        }
        claims
    };
    let valid = sign(&claims("probe"))?;
    let (head, rest) = valid.split_once('.').ok_or("not a JWS")?;
    let payload = rest.split_once('.').ok_or("not a JWS")?.0;
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    // Another key under the same kid: the signature check, not the key lookup, must refuse it.
    let other = SigningKey::generate(key.algorithm())?.with_kid(key.kid());
    let now = now();
    Ok(vec![
        ("valid", valid.clone()),
        ("no token", String::new()),
        ("not a JWT", "not-a-jwt".to_owned()),
        // `+` and `/` are token68 characters (RFC 6750 §2.1) but not base64url ones: the
        // header is well-formed, the JWS is not. `!` is not token68: the header is malformed.
        (
            "signature not base64url",
            format!("{head}.{payload}.ab+/cd+/"),
        ),
        ("not token68 (a '!')", format!("{head}.{payload}.!!!!")),
        ("alg none", format!("{none_header}.{payload}.")),
        (
            "signed by another key",
            other.sign("at+jwt", &claims("probe"))?,
        ),
        ("expired 45 s ago", sign(&with("exp", json!(now - 45)))?),
        ("expired 10 min ago", sign(&with("exp", json!(now - 600)))?),
        ("nbf in 10 min", sign(&with("nbf", json!(now + 600)))?),
        ("no exp", sign(&without("exp"))?),
        ("no iss", sign(&without("iss"))?),
        ("wrong iss", sign(&with("iss", json!("https://evil.test")))?),
        ("no aud", sign(&without("aud"))?),
        ("wrong aud", sign(&with("aud", json!("other-api")))?),
        ("typ JWT", key.sign("JWT", &claims("probe"))?),
        ("typ dpop+jwt", key.sign("dpop+jwt", &claims("probe"))?),
        ("iat in 10 min", sign(&with("iat", json!(now + 600)))?),
        // Otherwise valid and correctly signed: a 75 000-character claim makes a token of about
        // 100 kB (100 409 bytes for EdDSA), under hyper's default header limits, so the target's
        // own check answers.
        (
            "100 KiB token (valid signature)",
            sign(&with("pad", json!("a".repeat(75_000))))?,
        ),
    ])
}

/// One algorithm's key, validators and files.
struct Setup {
    name: &'static str,
    ring: KeyRing,
    token: String,
    cached: Validator,
    uncached: Validator,
}

fn setup(
    alg: Algorithm,
    out: &Path,
    count: usize,
    capacity: Option<usize>,
) -> Result<Setup, Box<dyn Error>> {
    let name = match alg {
        Algorithm::EdDSA => "eddsa",
        Algorithm::ES256 => "es256",
        _ => return Err("the load target runs EdDSA and ES256".into()),
    };
    let key = SigningKey::generate(alg)?;
    let ring = KeyRing::new(key.clone());
    let mut cached = Validator::builder()
        .issuer(ISSUER, KeySource::local(ring.clone()))
        .audience(AUDIENCE);
    if let Some(capacity) = capacity {
        cached = cached.cache_capacity(capacity);
    }
    // The same checks with the verified-token cache off: every request verifies a signature.
    let uncached = Validator::builder()
        .issuer(ISSUER, KeySource::local(ring.clone()))
        .audience(AUDIENCE)
        .cache_capacity(0)
        .build()?;

    let token = key.sign("at+jwt", &claims("load-1"))?;
    let mut tokens = String::new();
    for i in 0..count {
        tokens.push_str(&key.sign("at+jwt", &claims(&format!("load-{i}")))?);
        tokens.push('\n');
    }
    let probes: String = probes(&key)?
        .into_iter()
        .map(|(probe, token)| format!("{probe}\t{token}\n"))
        .collect();
    let pkcs8 = key.to_pkcs8_pem().ok_or("no PEM for the key")?;
    std::fs::write(out.join(format!("{name}.token")), format!("{token}\n"))?;
    std::fs::write(out.join(format!("{name}.tokens")), tokens)?;
    std::fs::write(out.join(format!("{name}.probes")), probes)?;
    std::fs::write(out.join(format!("{name}.pub.pem")), public_pem(&key)?)?;
    std::fs::write(out.join(format!("{name}.jwks.json")), ring.jwks().to_json())?;
    std::fs::write(out.join(format!("{name}.key.pem")), pkcs8.as_bytes())?;
    Ok(Setup {
        name,
        ring,
        token,
        cached: cached.build()?,
        uncached,
    })
}

fn routes(setup: &Setup) -> Router {
    let jwks = setup.ring.jwks().to_json();
    Router::new()
        .merge(
            Router::new()
                .route(&format!("/{}/auth", setup.name), get(hello))
                .layer(BearerAuthLayer::new(setup.cached.clone())),
        )
        .merge(
            Router::new()
                .route(&format!("/{}/auth-uncached", setup.name), get(hello))
                .layer(BearerAuthLayer::new(setup.uncached.clone())),
        )
        .route(
            &format!("/{}/jwks.json", setup.name),
            get(move || async move { ([("content-type", "application/json")], jwks) }),
        )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let addr = env("ADDR").unwrap_or_else(|| "127.0.0.1:3100".to_owned());
    let out = PathBuf::from(env("OUT").unwrap_or_else(|| "target/load".to_owned()));
    let count: usize = env("TOKENS").map_or(Ok(10_000), |v| v.parse())?;
    let capacity: Option<usize> = env("CACHE_CAPACITY").map(|v| v.parse()).transpose()?;
    let peer_alg: Algorithm = env("PEER_ALG").map_or(Ok(Algorithm::EdDSA), |v| v.parse())?;
    std::fs::create_dir_all(&out)?;

    let eddsa = setup(Algorithm::EdDSA, &out, count, capacity)?;
    let es256 = setup(Algorithm::ES256, &out, count, capacity)?;
    let static_token = match peer_alg {
        Algorithm::ES256 => &es256.token,
        _ => &eddsa.token,
    };

    // Deprecated in tower-http 0.6 as "too basic to be useful in real applications": a string
    // comparison, the least any bearer check can cost, which is what the ceiling row needs.
    #[allow(deprecated)]
    let static_bearer = ValidateRequestHeaderLayer::bearer(static_token);
    let app = Router::new()
        .route("/noauth", get(hello))
        .merge(
            Router::new()
                .route("/static", get(hello))
                .layer(static_bearer),
        )
        .merge(routes(&eddsa))
        .merge(routes(&es256))
        .route("/stats", get(stats).with_state(eddsa.cached.clone()));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("ready http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
