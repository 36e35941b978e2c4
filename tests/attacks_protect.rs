//! The protect half under attack, over real HTTP: each hostile token or request gets its exact
//! refusal (status, `WWW-Authenticate`, empty body), never a 2xx, never a 5xx.
//!
//! Tokens that need a valid signature to prove a point (a `crit` header, a duplicate header
//! name, a lifetime too long) are signed for real with the issuer's private key, so each test
//! fails if its defence is removed, rather than falling through to "invalid signature".

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::*;
use serde_json::{Value, json};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::{BearerAuthLayer, Claims, Validator};

const MISSING: &str = r#"Bearer realm="api""#;
const OK_BODY: &str = r#"{"sub":"svc"}"#;

async fn whoami(claims: Claims) -> Json<Value> {
    Json(json!({ "sub": claims.sub }))
}

/// A resource server trusting `key` for [`ISSUER`] and [`AUDIENCE`], with default rules.
struct Target {
    base: String,
    key: SigningKey,
}

async fn target(alg: Algorithm) -> Target {
    let key = SigningKey::generate(alg).expect("keygen");
    let validator = Validator::builder()
        .issuer(ISSUER, KeySource::local(KeyRing::new(key.clone())))
        .audience(AUDIENCE)
        .build()
        .expect("valid config");
    let app = Router::new()
        .route("/whoami", get(whoami).post(whoami))
        .layer(BearerAuthLayer::new(validator))
        // No bearer layer in front: the Claims extractor answers by itself.
        .route("/unguarded", get(whoami).post(whoami));
    Target {
        base: serve(app).await,
        key,
    }
}

impl Target {
    async fn send(&self, token: &str) -> (u16, Option<String>, String) {
        get_bearer(&format!("{}/whoami", self.base), Some(token)).await
    }

    /// `{"alg":"<key's alg>","typ":"at+jwt","kid":"<key's kid>"` + `extra` + `}`.
    fn header(&self, extra: &str) -> String {
        format!(
            r#"{{"alg":"{}","typ":"at+jwt","kid":"{}"{extra}}}"#,
            self.key.algorithm(),
            self.key.kid()
        )
    }

    /// Exactly this header and claims text, signed with the issuer's own key.
    fn signed(&self, header: &str, claims: &str) -> String {
        sign_raw(&self.key, header, claims)
    }

    /// Valid claims for `svc`, signed with the issuer's key under `header(extra)`.
    fn signed_header(&self, extra: &str) -> String {
        self.signed(&self.header(extra), &claims_text(&valid()))
    }

    /// `claims`, signed with the issuer's key under the usual header.
    fn signed_claims(&self, claims: &Value) -> String {
        self.signed_claims_text(&claims_text(claims))
    }

    fn signed_claims_text(&self, claims: &str) -> String {
        self.signed(&self.header(""), claims)
    }
}

fn valid() -> Value {
    access_claims("svc", "reports:read")
}

fn claims_text(claims: &Value) -> String {
    claims.to_string()
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.claims.signature` with the signature made by `key` over exactly these texts.
fn sign_raw(key: &SigningKey, header: &str, claims: &str) -> String {
    use jsonwebtoken::{Algorithm as Jwt, EncodingKey};
    let pem = key.to_pkcs8_pem().expect("asymmetric keys have a PEM");
    let (encoding, alg) = match key.algorithm() {
        Algorithm::EdDSA => (EncodingKey::from_ed_pem(pem.as_bytes()), Jwt::EdDSA),
        Algorithm::ES256 => (EncodingKey::from_ec_pem(pem.as_bytes()), Jwt::ES256),
        Algorithm::RS256 => (EncodingKey::from_rsa_pem(pem.as_bytes()), Jwt::RS256),
        other => panic!("no raw signer for {other}"),
    };
    let encoding = encoding.expect("the key's own PEM");
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &encoding, alg).expect("signing");
    format!("{message}.{signature}")
}

fn refused(description: &str) -> (u16, Option<String>, String) {
    (401, invalid_token(description), String::new())
}

fn accepted() -> (u16, Option<String>, String) {
    (200, None, OK_BODY.to_owned())
}

const MALFORMED: &str = "the token is malformed";
const UNSUPPORTED_ALG: &str = "the token algorithm is not supported";
const ALG_MISMATCH: &str = "the token algorithm does not match the key";
const UNKNOWN_KEY: &str = "the signing key is not known";
const BAD_SIGNATURE: &str = "the token signature is invalid";
const CRIT: &str = "the token uses an unsupported critical header";
const BAD_TYPE: &str = "the token type is not accepted";
const MISSING_CLAIM: &str = "the token lacks a required claim";
const BAD_ISSUER: &str = "the token issuer is not trusted";
const BAD_AUDIENCE: &str = "the token audience is not accepted";

#[tokio::test]
async fn a_properly_signed_token_is_accepted_as_the_control() {
    let t = target(Algorithm::EdDSA).await;
    assert_eq!(t.send(&token(&t.key, &valid())).await, accepted());
    assert_eq!(t.send(&t.signed_header("")).await, accepted());
}

// --- alg: none, confusion, mismatch -------------------------------------------------------

const NONE_SPELLINGS: [&str; 6] = ["none", "None", "NONE", "nOnE", "none ", ""];

#[tokio::test]
async fn alg_none_in_every_spelling_with_a_signature_is_unsupported() {
    let t = target(Algorithm::EdDSA).await;
    let genuine = token(&t.key, &valid());
    let real_signature = genuine.rsplit('.').next().expect("three segments");
    for alg in NONE_SPELLINGS {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": t.key.kid()});
        for signature in ["AAAA", real_signature] {
            let forged = forge(&header, &valid(), signature);
            assert_eq!(t.send(&forged).await, refused(UNSUPPORTED_ALG), "{alg:?}");
        }
    }
}

#[tokio::test]
async fn alg_none_in_every_spelling_without_a_signature_is_malformed() {
    let t = target(Algorithm::EdDSA).await;
    for alg in NONE_SPELLINGS {
        let header = json!({"alg": alg, "typ": "at+jwt"});
        // `header.claims.` (the RFC 7519 §6 unsecured form) and `header.claims`.
        let unsecured = forge(&header, &valid(), "");
        assert_eq!(t.send(&unsecured).await, refused(MALFORMED), "{alg:?}");
        let two_segments = unsecured.trim_end_matches('.');
        assert_eq!(t.send(two_segments).await, refused(MALFORMED), "{alg:?}");
    }
}

/// The public key as an HMAC secret: DESIGN decision 2 takes the algorithm from the key, so an
/// HS256 header naming an RSA key is refused before any HMAC is computed.
async fn hs256_keyed_with(secret: impl Fn(&Value) -> Vec<u8>) {
    let t = target(Algorithm::RS256).await;
    let jwk = serde_json::to_value(t.key.verifying_key().to_jwk().expect("public JWK"))
        .expect("JWK JSON");
    let hmac = SigningKey::hmac(&secret(&jwk), t.key.kid()).expect("a long enough secret");
    let forged = token(&hmac, &valid());
    assert_eq!(decode_part(&forged, 0)["alg"], "HS256");
    assert_eq!(t.send(&forged).await, refused(ALG_MISMATCH));
    // Without a kid, the issuer's only key is chosen, and its algorithm still rules.
    let no_kid = forge(
        &json!({"alg": "HS256", "typ": "at+jwt"}),
        &valid(),
        forged.rsplit('.').next().expect("signature"),
    );
    assert_eq!(t.send(&no_kid).await, refused(ALG_MISMATCH));
}

fn rsa_public_der(jwk: &Value) -> Vec<u8> {
    let part = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[name].as_str().expect(name))
            .expect(name)
    };
    rsa_spki_der(&part("n"), &part("e"))
}

#[tokio::test]
async fn hs256_keyed_with_the_public_key_pem_is_refused() {
    hs256_keyed_with(|jwk| {
        pem::encode(&pem::Pem::new("PUBLIC KEY", rsa_public_der(jwk))).into_bytes()
    })
    .await;
}

#[tokio::test]
async fn hs256_keyed_with_the_public_key_der_is_refused() {
    hs256_keyed_with(rsa_public_der).await;
}

#[tokio::test]
async fn hs256_keyed_with_the_raw_public_key_bytes_is_refused() {
    hs256_keyed_with(|jwk| {
        URL_SAFE_NO_PAD
            .decode(jwk["n"].as_str().expect("n"))
            .expect("n")
    })
    .await;
}

#[tokio::test]
async fn hs256_keyed_with_the_public_key_jwk_json_is_refused() {
    hs256_keyed_with(|jwk| jwk.to_string().into_bytes()).await;
}

#[tokio::test]
async fn a_header_alg_other_than_the_keys_is_refused_even_with_a_valid_signature() {
    let t = target(Algorithm::EdDSA).await;
    for alg in ["ES256", "RS256", "PS256", "HS256"] {
        let header = format!(
            r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{}"}}"#,
            t.key.kid()
        );
        let forged = t.signed(&header, &claims_text(&valid()));
        assert_eq!(t.send(&forged).await, refused(ALG_MISMATCH), "{alg}");
    }
    for alg in ["eddsa", "ES512", "RS1", "Ed25519"] {
        let header = format!(r#"{{"alg":"{alg}","typ":"at+jwt"}}"#);
        let forged = t.signed(&header, &claims_text(&valid()));
        assert_eq!(t.send(&forged).await, refused(UNSUPPORTED_ALG), "{alg}");
    }
}

// --- signatures ----------------------------------------------------------------------------

#[tokio::test]
async fn a_stripped_signature_is_malformed() {
    let t = target(Algorithm::EdDSA).await;
    let genuine = token(&t.key, &valid());
    let (message, _) = genuine.rsplit_once('.').expect("three segments");
    assert_eq!(t.send(&format!("{message}.")).await, refused(MALFORMED));
    assert_eq!(t.send(message).await, refused(MALFORMED));
}

#[tokio::test]
async fn a_signature_swapped_from_another_token_of_the_same_key_is_invalid() {
    let t = target(Algorithm::EdDSA).await;
    let mine = token(&t.key, &access_claims("svc", "reports:read"));
    let other = token(&t.key, &access_claims("admin", "reports:read admin"));
    let (message, _) = mine.rsplit_once('.').expect("three segments");
    let (_, signature) = other.rsplit_once('.').expect("three segments");
    assert_eq!(
        t.send(&format!("{message}.{signature}")).await,
        refused(BAD_SIGNATURE)
    );
}

#[tokio::test]
async fn a_foreign_signature_under_the_issuers_kid_is_invalid() {
    let t = target(Algorithm::EdDSA).await;
    let stranger = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    // The stranger signs a header naming the issuer's kid.
    let forged = sign_raw(&stranger, &t.header(""), &claims_text(&valid()));
    assert_eq!(t.send(&forged).await, refused(BAD_SIGNATURE));
    // A signature that is base64url garbage.
    let genuine = token(&t.key, &valid());
    let (message, _) = genuine.rsplit_once('.').expect("three segments");
    assert_eq!(
        t.send(&format!("{message}.AAAA")).await,
        refused(BAD_SIGNATURE)
    );
}

// --- kid -----------------------------------------------------------------------------------

async fn kid_is_unknown(kid: &str) {
    let t = target(Algorithm::EdDSA).await;
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid}).to_string();
    let forged = t.signed(&header, &claims_text(&valid()));
    assert_eq!(t.send(&forged).await, refused(UNKNOWN_KEY));
}

#[tokio::test]
async fn an_unknown_kid_is_refused() {
    kid_is_unknown("2024-rotated-away").await;
}

#[tokio::test]
async fn an_empty_kid_is_refused() {
    kid_is_unknown("").await;
}

#[tokio::test]
async fn a_very_long_kid_is_refused() {
    kid_is_unknown(&"k".repeat(4000)).await;
}

#[tokio::test]
async fn a_kid_with_control_characters_is_refused_and_not_echoed() {
    kid_is_unknown("\u{0}\r\nX-Injected: 1\u{1b}[31m").await;
}

#[tokio::test]
async fn a_path_traversal_kid_is_refused() {
    kid_is_unknown("../../../../etc/passwd").await;
}

#[tokio::test]
async fn a_sql_ish_kid_is_refused() {
    kid_is_unknown("' OR '1'='1'; DROP TABLE keys; --").await;
}

#[tokio::test]
async fn a_kid_that_is_not_a_string_is_malformed() {
    let t = target(Algorithm::EdDSA).await;
    for kid in ["1", "[]", "{}", "true"] {
        let header = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":{kid}}}"#);
        let forged = t.signed(&header, &claims_text(&valid()));
        assert_eq!(t.send(&forged).await, refused(MALFORMED), "{kid}");
    }
}

// --- jku / x5u / jwk: never fetched, never trusted -----------------------------------------

/// An attacker's key, published on a JWKS server of the attacker's that counts its visitors.
struct Attacker {
    key: SigningKey,
    jwks_url: String,
    hits: Arc<AtomicUsize>,
}

async fn attacker() -> Attacker {
    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let hits = Arc::new(AtomicUsize::new(0));
    let (jwks, counter) = (KeyRing::new(key.clone()).jwks().to_json(), hits.clone());
    let app = Router::new().route(
        "/jwks.json",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            std::future::ready(jwks.clone())
        }),
    );
    let base = serve(app).await;
    Attacker {
        key,
        jwks_url: format!("{base}/jwks.json"),
        hits,
    }
}

#[tokio::test]
async fn jku_pointing_at_an_attacker_jwks_is_ignored() {
    let t = target(Algorithm::EdDSA).await;
    let a = attacker().await;
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": a.key.kid(), "jku": a.jwks_url});
    let forged = sign_raw(&a.key, &header.to_string(), &claims_text(&valid()));
    assert_eq!(t.send(&forged).await, refused(UNKNOWN_KEY));
    assert_eq!(a.hits.load(Ordering::SeqCst), 0, "the JWKS was fetched");
}

#[tokio::test]
async fn x5u_pointing_at_an_attacker_url_is_ignored() {
    let t = target(Algorithm::EdDSA).await;
    let a = attacker().await;
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": a.key.kid(), "x5u": a.jwks_url});
    let forged = sign_raw(&a.key, &header.to_string(), &claims_text(&valid()));
    assert_eq!(t.send(&forged).await, refused(UNKNOWN_KEY));
    assert_eq!(a.hits.load(Ordering::SeqCst), 0, "the URL was fetched");
}

#[tokio::test]
async fn an_embedded_attacker_jwk_is_ignored() {
    let t = target(Algorithm::EdDSA).await;
    let a = attacker().await;
    let jwk = a.key.verifying_key().to_jwk().expect("public JWK");
    // Under the issuer's kid, the embedded key does not make the attacker's signature count.
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": t.key.kid(), "jwk": jwk});
    let forged = sign_raw(&a.key, &header.to_string(), &claims_text(&valid()));
    assert_eq!(t.send(&forged).await, refused(BAD_SIGNATURE));
    // Under the attacker's kid, the embedded key is not a key of the issuer.
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": a.key.kid(), "jwk": jwk});
    let forged = sign_raw(&a.key, &header.to_string(), &claims_text(&valid()));
    assert_eq!(t.send(&forged).await, refused(UNKNOWN_KEY));
}

// --- crit ----------------------------------------------------------------------------------

async fn crit_is_refused(crit: &str) {
    let t = target(Algorithm::EdDSA).await;
    let forged = t.signed_header(&format!(r#","crit":{crit}"#));
    assert_eq!(t.send(&forged).await, refused(CRIT), "crit {crit}");
}

#[tokio::test]
async fn crit_null_is_refused() {
    crit_is_refused("null").await;
}

#[tokio::test]
async fn crit_empty_list_is_refused() {
    crit_is_refused("[]").await;
}

#[tokio::test]
async fn crit_naming_a_registered_claim_is_refused() {
    crit_is_refused(r#"["exp"]"#).await;
}

#[tokio::test]
async fn crit_as_a_string_is_refused() {
    crit_is_refused(r#""x""#).await;
}

// --- typ -----------------------------------------------------------------------------------

#[tokio::test]
async fn typ_other_than_at_jwt_is_refused() {
    let t = target(Algorithm::EdDSA).await;
    for typ in [
        "JWT",
        "jwt",
        "at+jwt ",
        "application/jwt",
        "at+jwt2",
        "",
        "id+jwt",
    ] {
        let header = format!(r#"{{"alg":"EdDSA","typ":"{typ}","kid":"{}"}}"#, t.key.kid());
        let forged = t.signed(&header, &claims_text(&valid()));
        assert_eq!(t.send(&forged).await, refused(BAD_TYPE), "{typ:?}");
    }
}

#[tokio::test]
async fn a_missing_or_null_typ_is_refused() {
    let t = target(Algorithm::EdDSA).await;
    for header in [
        format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, t.key.kid()),
        format!(r#"{{"alg":"EdDSA","typ":null,"kid":"{}"}}"#, t.key.kid()),
    ] {
        let forged = t.signed(&header, &claims_text(&valid()));
        assert_eq!(t.send(&forged).await, refused(BAD_TYPE), "{header}");
    }
}

#[tokio::test]
async fn a_typ_that_is_not_a_string_is_malformed() {
    let t = target(Algorithm::EdDSA).await;
    for typ in ["1", r#"["at+jwt"]"#, r#"{"t":"at+jwt"}"#] {
        let header = format!(r#"{{"alg":"EdDSA","typ":{typ},"kid":"{}"}}"#, t.key.kid());
        let forged = t.signed(&header, &claims_text(&valid()));
        assert_eq!(t.send(&forged).await, refused(MALFORMED), "{typ}");
    }
}

#[tokio::test]
async fn typ_spelled_as_a_media_type_is_accepted() {
    let t = target(Algorithm::EdDSA).await;
    for typ in ["application/at+jwt", "AT+JWT", "Application/At+Jwt"] {
        let header = format!(r#"{{"alg":"EdDSA","typ":"{typ}","kid":"{}"}}"#, t.key.kid());
        let signed = t.signed(&header, &claims_text(&valid()));
        assert_eq!(t.send(&signed).await, accepted(), "{typ}");
    }
}

// --- time rules ----------------------------------------------------------------------------

const HOUR: u64 = 3600;

fn with(changes: Value) -> Value {
    let mut claims = valid();
    for (name, value) in changes.as_object().expect("an object of changes") {
        claims[name] = value.clone();
    }
    claims
}

#[tokio::test]
async fn iat_an_hour_in_the_future_is_refused() {
    let t = target(Algorithm::EdDSA).await;
    let n = now();
    let forged = t.signed_claims(&with(json!({"iat": n + HOUR, "exp": n + 2 * HOUR})));
    assert_eq!(
        t.send(&forged).await,
        refused("the token is issued in the future")
    );
}

#[tokio::test]
async fn a_lifetime_beyond_24_hours_is_refused() {
    let t = target(Algorithm::EdDSA).await;
    let n = now();
    let forged = t.signed_claims(&with(json!({"iat": n, "exp": n + 24 * HOUR + 1})));
    assert_eq!(
        t.send(&forged).await,
        refused("the token lifetime is too long")
    );
    // Issued two days ago, still unexpired: lived too long all the same.
    let old = t.signed_claims(&with(json!({"iat": n - 48 * HOUR, "exp": n + 60})));
    assert_eq!(
        t.send(&old).await,
        refused("the token lifetime is too long")
    );
}

#[tokio::test]
async fn exp_at_u64_max_is_refused() {
    let t = target(Algorithm::EdDSA).await;
    let forged = t.signed_claims(&with(json!({"exp": u64::MAX})));
    assert_eq!(
        t.send(&forged).await,
        refused("the token lifetime is too long")
    );
}

#[tokio::test]
async fn exp_as_a_string_is_refused_and_as_a_float_loses_its_fraction() {
    let t = target(Algorithm::EdDSA).await;
    let exp = now() + 60;
    for value in [json!(exp.to_string()), json!(null), json!(-1.5)] {
        let forged = t.signed_claims(&with(json!({ "exp": value })));
        assert_eq!(t.send(&forged).await, refused(MISSING_CLAIM), "{value}");
    }
    // RFC 7519 §2: a NumericDate may have a fraction; identity providers write them.
    let whole = t.signed_claims(&with(json!({ "exp": exp as f64 })));
    assert_eq!(t.send(&whole).await, accepted());
    let fraction = t.signed_claims_text(
        &claims_text(&valid()).replace(&format!(r#""exp":{exp}"#), &format!(r#""exp":{exp}.5"#)),
    );
    assert_eq!(t.send(&fraction).await, accepted());
    // The fraction is dropped, never rounded up: an exp just past now is expired.
    let n = now();
    let past = t.signed_claims(&with(
        json!({"iat": n - 120, "exp": (n - 30) as f64 + 0.99}),
    ));
    assert_eq!(t.send(&past).await, refused("the token has expired"));
}

#[tokio::test]
async fn nbf_in_the_future_is_refused() {
    let t = target(Algorithm::EdDSA).await;
    let forged = t.signed_claims(&with(json!({"nbf": now() + HOUR})));
    assert_eq!(t.send(&forged).await, refused("the token is not valid yet"));
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let t = target(Algorithm::EdDSA).await;
    let n = now();
    let forged = t.signed_claims(&with(json!({"iat": n - HOUR, "exp": n - 60})));
    assert_eq!(t.send(&forged).await, refused("the token has expired"));
}

// --- iss / aud -----------------------------------------------------------------------------

#[tokio::test]
async fn iss_differing_in_case_or_a_trailing_slash_is_untrusted() {
    let t = target(Algorithm::EdDSA).await;
    for iss in [
        ISSUER.to_uppercase(),
        format!("{ISSUER}/"),
        format!(" {ISSUER}"),
        String::new(),
    ] {
        let forged = t.signed_claims(&with(json!({ "iss": iss })));
        assert_eq!(t.send(&forged).await, refused(BAD_ISSUER), "{iss:?}");
    }
}

#[tokio::test]
async fn iss_as_an_array_or_null_is_refused() {
    let t = target(Algorithm::EdDSA).await;
    for iss in [json!([ISSUER]), json!([]), json!(null), json!(1)] {
        let forged = t.signed_claims(&with(json!({ "iss": iss })));
        assert_eq!(t.send(&forged).await, refused(MISSING_CLAIM), "{iss}");
    }
}

#[tokio::test]
async fn aud_differing_in_case_or_a_trailing_slash_is_not_accepted() {
    let t = target(Algorithm::EdDSA).await;
    for aud in [
        AUDIENCE.to_uppercase(),
        format!("{AUDIENCE}/"),
        format!("{AUDIENCE} "),
        String::new(),
    ] {
        let forged = t.signed_claims(&with(json!({ "aud": aud })));
        assert_eq!(t.send(&forged).await, refused(BAD_AUDIENCE), "{aud:?}");
    }
}

#[tokio::test]
async fn aud_arrays_are_accepted_only_when_they_name_this_api() {
    let t = target(Algorithm::EdDSA).await;
    let ours = t.signed_claims(&with(json!({"aud": ["other-api", AUDIENCE]})));
    assert_eq!(t.send(&ours).await, accepted());
    for aud in [
        json!(["other-api"]),
        json!([]),
        json!([AUDIENCE.to_uppercase()]),
    ] {
        let forged = t.signed_claims(&with(json!({ "aud": aud })));
        assert_eq!(t.send(&forged).await, refused(BAD_AUDIENCE), "{aud}");
    }
}

#[tokio::test]
async fn aud_null_or_of_the_wrong_type_is_refused() {
    let t = target(Algorithm::EdDSA).await;
    for aud in [
        json!(null),
        json!(1),
        json!({"aud": AUDIENCE}),
        json!([AUDIENCE, 1]),
    ] {
        let forged = t.signed_claims(&with(json!({ "aud": aud })));
        assert_eq!(t.send(&forged).await, refused(MISSING_CLAIM), "{aud}");
    }
}

// --- duplicate names, numbers, shapes --------------------------------------------------------

#[tokio::test]
async fn a_header_name_given_twice_is_malformed() {
    let t = target(Algorithm::EdDSA).await;
    let kid = t.key.kid();
    for header in [
        format!(r#"{{"alg":"none","alg":"EdDSA","typ":"at+jwt","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"unknown","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"EdDSA","typ":"JWT","typ":"at+jwt","kid":"{kid}"}}"#),
    ] {
        let forged = t.signed(&header, &claims_text(&valid()));
        assert_eq!(t.send(&forged).await, refused(MALFORMED), "{header}");
    }
}

#[tokio::test]
async fn a_claim_name_given_twice_is_refused() {
    let t = target(Algorithm::EdDSA).await;
    let n = now();
    let text = claims_text(&valid());
    let body = text.trim_end_matches('}');
    for duplicate in [
        r#""sub":"admin""#.to_owned(),
        format!(r#""aud":"{AUDIENCE}""#),
        format!(r#""iss":"{ISSUER}""#),
        format!(r#""exp":{}"#, n + 60),
        r#""scope":"admin""#.to_owned(),
        r#""client_id":"admin""#.to_owned(),
    ] {
        let forged = t.signed_claims_text(&format!("{body},{duplicate}}}"));
        assert_eq!(t.send(&forged).await, refused(MISSING_CLAIM), "{duplicate}");
    }
}

#[tokio::test]
async fn time_claims_as_strings_or_negative_numbers_are_refused_floats_are_not() {
    let t = target(Algorithm::EdDSA).await;
    let n = now();
    for (name, value) in [
        ("iat", json!(n.to_string())),
        ("nbf", json!((n - 10).to_string())),
        ("nbf", json!(-1)),
        ("iat", json!(-1)),
        ("exp", json!(-1)),
        ("iat", json!(-0.5)),
        ("nbf", json!(true)),
    ] {
        let forged = t.signed_claims(&with(json!({ name: value })));
        assert_eq!(
            t.send(&forged).await,
            refused(MISSING_CLAIM),
            "{name}: {value}"
        );
    }
    for (name, value) in [
        ("iat", json!(n as f64)),
        ("nbf", json!((n - 10) as f64 + 0.25)),
    ] {
        let token = t.signed_claims(&with(json!({ name: value })));
        assert_eq!(t.send(&token).await, accepted(), "{name}: {value}");
    }
}

#[tokio::test]
async fn huge_numbers_are_refused() {
    let t = target(Algorithm::EdDSA).await;
    let text = claims_text(&valid());
    let exp = format!(r#""exp":{}"#, now() + 60);
    // Beyond u64: read as a float, beyond any NumericDate.
    let beyond_u64 = text.replace(&exp, r#""exp":18446744073709551616"#);
    assert_eq!(
        t.send(&t.signed_claims_text(&beyond_u64)).await,
        refused(MISSING_CLAIM)
    );
    // Beyond f64: not a JSON number serde_json can read at all.
    let beyond_f64 = text.replace(&exp, r#""exp":1e400"#);
    assert_eq!(
        t.send(&t.signed_claims_text(&beyond_f64)).await,
        refused(MALFORMED)
    );
    let digits = text.replace(&exp, &format!(r#""exp":{}"#, "9".repeat(4000)));
    assert_eq!(
        t.send(&t.signed_claims_text(&digits)).await,
        refused(MALFORMED)
    );
    // nbf and iat at u64::MAX: not yet valid, issued in the future.
    let nbf = t.signed_claims(&with(json!({"nbf": u64::MAX})));
    assert_eq!(t.send(&nbf).await, refused("the token is not valid yet"));
    let iat = t.signed_claims(&with(json!({"iat": u64::MAX})));
    assert_eq!(
        t.send(&iat).await,
        refused("the token is issued in the future")
    );
}

#[tokio::test]
async fn a_header_or_claims_that_are_not_objects_are_malformed() {
    let t = target(Algorithm::EdDSA).await;
    let kid = t.key.kid();
    // serde would fill the header struct from an array, by position.
    let array_header = format!(r#"["EdDSA","{kid}","at+jwt"]"#);
    let forged = t.signed(&array_header, &claims_text(&valid()));
    assert_eq!(t.send(&forged).await, refused(MALFORMED));
    for claims in ["[]", "null", "1", r#""claims""#] {
        let forged = t.signed_claims_text(claims);
        assert_eq!(t.send(&forged).await, refused(MALFORMED), "{claims}");
    }
}

// --- size and nesting ----------------------------------------------------------------------

#[tokio::test]
async fn a_100_kib_token_is_refused_before_decoding() {
    let t = target(Algorithm::EdDSA).await;
    let padded = t.signed_claims(&with(json!({"pad": "x".repeat(100 * 1024)})));
    assert!(padded.len() > 100 * 1024);
    assert_eq!(t.send(&padded).await, refused("the token is too large"));
}

#[tokio::test]
async fn deeply_nested_claims_are_malformed() {
    let t = target(Algorithm::EdDSA).await;
    let depth = 2000;
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let text = claims_text(&valid());
    let claims = format!(r#"{},"deep":{nested}}}"#, text.trim_end_matches('}'));
    let forged = t.signed_claims_text(&claims);
    assert!(forged.len() < 8 * 1024, "within the size limit");
    assert_eq!(t.send(&forged).await, refused(MALFORMED));
}

#[tokio::test]
async fn a_deeply_nested_header_member_does_not_help_a_forgery() {
    let t = target(Algorithm::EdDSA).await;
    let depth = 1500;
    let nested = format!("{}0{}", "[{\"a\":".repeat(100), "}]".repeat(100));
    let nested = format!("{}{nested}{}", "[".repeat(depth), "]".repeat(depth));
    let header = t.header(&format!(r#","deep":{nested}"#));
    let forged = format!("{}.{}.AAAA", b64(&header), b64(claims_text(&valid())));
    assert!(forged.len() < 8 * 1024, "within the size limit");
    assert_eq!(t.send(&forged).await, refused(BAD_SIGNATURE));
}

// --- the request around the token ------------------------------------------------------------

#[tokio::test]
async fn two_authorization_headers_are_invalid_request() {
    let t = target(Algorithm::EdDSA).await;
    let good = token(&t.key, &valid());
    let response = http()
        .get(format!("{}/whoami", t.base))
        .header("authorization", format!("Bearer {good}"))
        .header("authorization", format!("Bearer {good}"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        parts(response).await,
        (
            400,
            Some(
                r#"Bearer realm="api", error="invalid_request", error_description="more than one Authorization header""#
                    .into()
            ),
            String::new()
        )
    );
}

#[tokio::test]
async fn a_token_in_the_query_string_is_ignored() {
    let t = target(Algorithm::EdDSA).await;
    let good = token(&t.key, &valid());
    for query in ["access_token", "token", "bearer"] {
        let url = format!("{}/whoami?{query}={good}", t.base);
        assert_eq!(
            get_bearer(&url, None).await,
            (401, Some(MISSING.into()), String::new()),
            "{query}"
        );
    }
}

#[tokio::test]
async fn a_token_in_a_cookie_is_ignored() {
    let t = target(Algorithm::EdDSA).await;
    let good = token(&t.key, &valid());
    let response = http()
        .get(format!("{}/whoami", t.base))
        .header(
            "cookie",
            format!("access_token={good}; Authorization=Bearer%20{good}"),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(
        parts(response).await,
        (401, Some(MISSING.into()), String::new())
    );
}

#[tokio::test]
async fn a_token_in_the_body_is_ignored() {
    let t = target(Algorithm::EdDSA).await;
    let good = token(&t.key, &valid());
    let form = http()
        .post(format!("{}/whoami", t.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("access_token={good}"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        parts(form).await,
        (401, Some(MISSING.into()), String::new())
    );
    let json = http()
        .post(format!("{}/whoami", t.base))
        .json(&json!({"access_token": good, "authorization": format!("Bearer {good}")}))
        .send()
        .await
        .expect("request");
    assert_eq!(
        parts(json).await,
        (401, Some(MISSING.into()), String::new())
    );
}

#[tokio::test]
async fn a_token_under_another_scheme_is_ignored() {
    let t = target(Algorithm::EdDSA).await;
    let good = token(&t.key, &valid());
    for value in [
        format!("Basic {}", std_b64(format!("svc:{good}"))),
        format!("Token {good}"),
        format!("JWT {good}"),
        good.clone(),
    ] {
        let response = http()
            .get(format!("{}/whoami", t.base))
            .header("authorization", value)
            .send()
            .await
            .expect("request");
        assert_eq!(
            parts(response).await,
            (401, Some(MISSING.into()), String::new())
        );
    }
}

// --- gRPC mapping --------------------------------------------------------------------------

/// A forward-auth proxy that reads only the status code would let a 200 through: an HTTP/1.1
/// request that claims to be gRPC gets the RFC 6750 status, from the layer and the extractor.
#[tokio::test]
async fn grpc_content_type_over_http1_gets_401_not_200() {
    let t = target(Algorithm::EdDSA).await;
    for path in ["/whoami", "/unguarded"] {
        for content_type in ["application/grpc", "application/grpc+proto"] {
            let response = http()
                .post(format!("{}{path}", t.base))
                .header("content-type", content_type)
                .send()
                .await
                .expect("request");
            assert_eq!(response.version(), reqwest::Version::HTTP_11);
            assert!(response.headers().get("grpc-status").is_none());
            assert_eq!(
                parts(response).await,
                (401, Some(MISSING.into()), String::new()),
                "{path} {content_type}"
            );
        }
    }
    let forged = t.signed_header(r#","crit":null"#);
    let response = http()
        .post(format!("{}/whoami", t.base))
        .header("content-type", "application/grpc")
        .bearer_auth(forged)
        .send()
        .await
        .expect("request");
    assert_eq!(parts(response).await, refused(CRIT));
}

/// SubjectPublicKeyInfo DER (RFC 5280 §4.1) of an RSA public key.
fn rsa_spki_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let len = content.len();
        let mut out = vec![tag];
        match len {
            0..=127 => out.push(len as u8),
            128..=255 => out.extend([0x81, len as u8]),
            _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
        }
        out.extend_from_slice(content);
        out
    }
    let uint = |bytes: &[u8]| match bytes.first() {
        Some(b) if b & 0x80 != 0 => tlv(0x02, &[&[0u8][..], bytes].concat()),
        _ => tlv(0x02, bytes),
    };
    // rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters.
    let oid = tlv(
        0x06,
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
    );
    let algorithm = tlv(0x30, &[oid, tlv(0x05, &[])].concat());
    let key = tlv(0x30, &[uint(n), uint(e)].concat());
    let bits = tlv(0x03, &[&[0u8][..], &key].concat());
    tlv(0x30, &[algorithm, bits].concat())
}

/// Standard base64, for the cookie test.
fn std_b64(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}
