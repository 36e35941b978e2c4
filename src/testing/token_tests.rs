//! Unit tests of the token builder: claims, headers, and the one error each broken token gets.

use super::*;
use crate::keys::Algorithm;
use crate::protect::TokenError;
use crate::time::ManualClock;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn part(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn at(now: u64) -> TestIssuer {
    TestIssuer::builder()
        .clock(ManualClock::new(now).clock())
        .build()
        .unwrap()
}

#[test]
fn a_default_token_carries_every_rfc_9068_claim() {
    let issuer = at(1_900_000_000);
    let token = issuer.token().sign();
    let header = part(&token, 0);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], issuer.signing_key().kid());
    let claims = part(&token, 1);
    let jti = claims["jti"].as_str().unwrap().to_owned();
    assert!(!jti.is_empty());
    assert_eq!(
        claims,
        serde_json::json!({
            "iss": "https://issuer.test", "sub": "test-client", "aud": "test-api",
            "exp": 1_900_000_300u64, "iat": 1_900_000_000u64, "jti": jti,
            "client_id": "test-client",
        })
    );
    // Every token gets its own jti.
    assert_ne!(part(&issuer.token().sign(), 1)["jti"], jti.as_str());
}

#[test]
fn client_id_is_the_subject_unless_one_is_set() {
    let issuer = at(1_900_000_000);
    let claims = issuer.token().client_id("svc").scope("a b").claims();
    assert_eq!(
        (&claims["sub"], &claims["client_id"]),
        (&"svc".into(), &"svc".into())
    );
    assert_eq!(claims["scope"], "a b");
    let claims = issuer.token().client_id("svc").subject("alice").claims();
    assert_eq!(
        (&claims["sub"], &claims["client_id"]),
        (&"alice".into(), &"svc".into())
    );
}

#[test]
fn the_time_windows_are_an_hour_outside_now() {
    let issuer = at(1_900_000_000);
    let claims = issuer
        .token()
        .expires_in(Duration::from_secs(60))
        .expired()
        .claims();
    assert_eq!(
        (claims["iat"].as_u64(), claims["exp"].as_u64()),
        (Some(1_899_996_340), Some(1_899_996_400))
    );
    let claims = issuer.token().not_yet_valid().claims();
    assert_eq!(
        (
            claims["iat"].as_u64(),
            claims["nbf"].as_u64(),
            claims["exp"].as_u64()
        ),
        (
            Some(1_900_000_000),
            Some(1_900_003_600),
            Some(1_900_003_900)
        )
    );
}

#[test]
fn claim_overrides_and_without_claim_removes() {
    let issuer = at(1_900_000_000);
    let claims = issuer
        .token()
        .claim("exp", 5)
        .claim("tenant", serde_json::json!({"id": 7}))
        .audiences(["a", "b"])
        .without_claim("jti")
        .claims();
    assert_eq!(claims["exp"], 5);
    assert_eq!(claims["tenant"]["id"], 7);
    assert_eq!(claims["aud"], serde_json::json!(["a", "b"]));
    assert!(claims.get("jti").is_none());
    // A claim set after it was removed is back.
    let claims = issuer
        .token()
        .without_claim("sub")
        .claim("sub", "x")
        .claims();
    assert_eq!(claims["sub"], "x");
}

#[test]
fn wrong_keys_keep_or_change_the_kid() {
    let issuer = at(1_900_000_000);
    let kid = issuer.signing_key().kid().to_owned();
    assert_eq!(
        part(&issuer.token().signed_by_wrong_key().sign(), 0)["kid"],
        kid.as_str()
    );
    assert_ne!(
        part(&issuer.token().signed_by_unknown_key().sign(), 0)["kid"],
        kid.as_str()
    );
    assert!(part(&issuer.token().typ("").sign(), 0).get("typ").is_none());
    assert_eq!(part(&issuer.token().typ("JWT").sign(), 0)["typ"], "JWT");
}

#[tokio::test]
async fn each_broken_token_gets_its_one_error() {
    let issuer = TestIssuer::builder()
        .algorithm(Algorithm::ES256)
        .build()
        .unwrap();
    let validator = issuer.validator();
    let check = |token: String| {
        let validator = validator.clone();
        async move { validator.verify(&token).await.map(|c| c.sub.clone()) }
    };
    assert_eq!(
        check(issuer.token().client_id("svc").sign()).await,
        Ok("svc".to_owned())
    );
    let cases = [
        (issuer.token().expired(), TokenError::Expired),
        (issuer.token().not_yet_valid(), TokenError::NotYetValid),
        (issuer.token().wrong_audience(), TokenError::InvalidAudience),
        (
            issuer.token().issuer("https://evil.test"),
            TokenError::InvalidIssuer,
        ),
        (
            issuer.token().signed_by_wrong_key(),
            TokenError::InvalidSignature,
        ),
        (
            issuer.token().signed_by_unknown_key(),
            TokenError::UnknownKey,
        ),
        (issuer.token().typ("JWT"), TokenError::InvalidType),
        (issuer.token().typ(""), TokenError::InvalidType),
        (
            issuer.token().without_claim("exp"),
            TokenError::MissingClaim,
        ),
        (
            issuer.token().expires_in(Duration::from_secs(2 * 86_400)),
            TokenError::LifetimeTooLong,
        ),
    ];
    for (builder, error) in cases {
        let what = format!("{builder:?}");
        assert_eq!(check(builder.sign()).await, Err(error), "{what}");
    }
}

#[test]
fn debug_shows_no_key_material() {
    let secret = b"0123456789abcdef0123456789abcdef";
    let hmac = TestIssuer::builder()
        .key(SigningKey::hmac(secret, "k1").unwrap())
        .build()
        .unwrap();
    let debug = format!("{hmac:?} {:?}", hmac.token());
    assert!(debug.contains("\"k1\""), "{debug}");
    assert!(!debug.contains("0123456789abcdef"), "{debug}");
    let issuer = TestIssuer::new();
    let pem = issuer.signing_key().to_pkcs8_pem().unwrap();
    let debug = format!("{issuer:?} {:?}", issuer.token());
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!debug.contains(&body[body.len() - 16..]), "{debug}");
    assert!(!debug.contains("PRIVATE"), "{debug}");
}
