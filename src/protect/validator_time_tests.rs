//! The time and header rules added for hostile tokens: `iat` in the future, the maximum
//! lifetime, `crit` in any form, header names given twice. Tokens are signed for real with the
//! issuer's key, so each test fails if its rule is removed (rather than falling through to a
//! bad signature).

use super::*;
use crate::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use crate::protect::{DEFAULT_MAX_LIFETIME, TokenType, TrustedIssuer, ValidatorConfigError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::time::Duration;

const ISS: &str = "https://issuer.test";
const NOW: u64 = 1_900_000_000;
const DAY: u64 = 24 * 3600;

fn validator(key: &SigningKey) -> Validator {
    Validator::builder()
        .issuer(ISS, KeySource::local(KeyRing::new(key.clone())))
        .audience("api")
        .clock(Clock::from_fn(|| NOW))
        .build()
        .unwrap()
}

fn claims(iat: Option<u64>, exp: u64) -> Value {
    let mut c = json!({"iss": ISS, "sub": "c", "aud": "api", "exp": exp,
                       "jti": "j", "client_id": "c", "scope": "a"});
    if let Some(iat) = iat {
        c["iat"] = json!(iat);
    }
    c
}

/// A token with exactly this header text, signed by `key` (EdDSA).
fn signed(key: &SigningKey, header: &str, claims: &Value) -> String {
    let pem = key.to_pkcs8_pem().unwrap();
    let encoding = jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()).unwrap();
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &encoding,
        jsonwebtoken::Algorithm::EdDSA,
    )
    .unwrap();
    format!("{message}.{signature}")
}

fn verify(v: &Validator, token: &str) -> Result<Arc<Claims>, TokenError> {
    match v.verify(token).into_ready() {
        Ok(result) => result,
        Err(_) => panic!("local keys verify without waiting"),
    }
}

#[test]
fn iat_in_the_future_beyond_the_leeway_is_refused() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let v = validator(&key);
    let at_leeway = key
        .sign("at+jwt", &claims(Some(NOW + 30), NOW + 60))
        .unwrap();
    assert!(verify(&v, &at_leeway).is_ok());
    let beyond = key
        .sign("at+jwt", &claims(Some(NOW + 31), NOW + 60))
        .unwrap();
    assert_eq!(verify(&v, &beyond).unwrap_err(), TokenError::IssuedInFuture);
    let hour = key
        .sign("at+jwt", &claims(Some(NOW + 3600), NOW + 7200))
        .unwrap();
    assert_eq!(verify(&v, &hour).unwrap_err(), TokenError::IssuedInFuture);
}

#[test]
fn lifetime_from_iat_is_bounded_by_24_hours_by_default() {
    assert_eq!(DEFAULT_MAX_LIFETIME, Duration::from_secs(DAY));
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let v = validator(&key);
    let day = key.sign("at+jwt", &claims(Some(NOW), NOW + DAY)).unwrap();
    assert!(verify(&v, &day).is_ok());
    let longer = key
        .sign("at+jwt", &claims(Some(NOW), NOW + DAY + 1))
        .unwrap();
    assert_eq!(
        verify(&v, &longer).unwrap_err(),
        TokenError::LifetimeTooLong
    );
    // Issued long ago, still valid, but lived longer than allowed.
    let old = key
        .sign("at+jwt", &claims(Some(NOW - DAY), NOW + 60))
        .unwrap();
    assert_eq!(verify(&v, &old).unwrap_err(), TokenError::LifetimeTooLong);
    let forever = key.sign("at+jwt", &claims(Some(NOW), u64::MAX)).unwrap();
    assert_eq!(
        verify(&v, &forever).unwrap_err(),
        TokenError::LifetimeTooLong
    );
}

#[test]
fn lifetime_without_iat_counts_from_now_with_the_leeway() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let v = Validator::builder()
        .issuer(ISS, KeySource::local(KeyRing::new(key.clone())))
        .audience("api")
        .token_type(TokenType::Any)
        .clock(Clock::from_fn(|| NOW))
        .build()
        .unwrap();
    let edge = key.sign("JWT", &claims(None, NOW + DAY + 30)).unwrap();
    assert!(verify(&v, &edge).is_ok());
    let beyond = key.sign("JWT", &claims(None, NOW + DAY + 31)).unwrap();
    assert_eq!(
        verify(&v, &beyond).unwrap_err(),
        TokenError::LifetimeTooLong
    );
    let forever = key.sign("JWT", &claims(None, u64::MAX)).unwrap();
    assert_eq!(
        verify(&v, &forever).unwrap_err(),
        TokenError::LifetimeTooLong
    );
}

#[test]
fn max_lifetime_is_set_on_the_builder_and_per_issuer() {
    let ours = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let theirs = SigningKey::generate(Algorithm::EdDSA).unwrap();
    const IDP: &str = "https://idp.test";
    let v = Validator::builder()
        .issuer(ISS, KeySource::local(KeyRing::new(ours.clone())))
        .trust(
            TrustedIssuer::new(IDP, KeySource::local(KeyRing::new(theirs.clone())))
                .max_lifetime(Duration::from_secs(7200)),
        )
        .audience("api")
        .max_lifetime(Duration::from_secs(600))
        .clock(Clock::from_fn(|| NOW))
        .build()
        .unwrap();
    let ten_minutes = ours.sign("at+jwt", &claims(Some(NOW), NOW + 600)).unwrap();
    assert!(verify(&v, &ten_minutes).is_ok());
    let hour = ours.sign("at+jwt", &claims(Some(NOW), NOW + 3600)).unwrap();
    assert_eq!(verify(&v, &hour).unwrap_err(), TokenError::LifetimeTooLong);
    let mut idp_hour = claims(Some(NOW), NOW + 3600);
    idp_hour["iss"] = json!(IDP);
    let idp_hour = theirs.sign("at+jwt", &idp_hour).unwrap();
    assert!(verify(&v, &idp_hour).is_ok());

    let src = KeySource::local(KeyRing::new(ours));
    let zero = |b: crate::protect::ValidatorBuilder| b.build().unwrap_err();
    let base = || Validator::builder().audience("api");
    assert_eq!(
        zero(base().issuer(ISS, src.clone()).max_lifetime(Duration::ZERO)),
        ValidatorConfigError::BadMaxLifetime
    );
    assert_eq!(
        zero(base().trust(TrustedIssuer::new(ISS, src).max_lifetime(Duration::from_millis(999)))),
        ValidatorConfigError::BadMaxLifetime
    );
}

#[test]
fn crit_in_any_form_rejects_a_properly_signed_token() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let v = validator(&key);
    let c = claims(Some(NOW), NOW + 60);
    let plain = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{}"}}"#, key.kid());
    assert!(verify(&v, &signed(&key, &plain, &c)).is_ok());
    for crit in ["null", "[]", r#"["exp"]"#, r#""x""#, "{}", "0", "false"] {
        let header = format!(
            r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{}","crit":{crit}}}"#,
            key.kid()
        );
        assert_eq!(
            verify(&v, &signed(&key, &header, &c)).unwrap_err(),
            TokenError::UnsupportedCritical,
            "crit {crit}"
        );
    }
}

#[test]
fn a_header_name_given_twice_is_malformed() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let v = validator(&key);
    let c = claims(Some(NOW), NOW + 60);
    let kid = key.kid();
    for header in [
        format!(r#"{{"alg":"EdDSA","alg":"EdDSA","typ":"at+jwt","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"EdDSA","typ":"JWT","typ":"at+jwt","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}","crit":null,"crit":null}}"#),
    ] {
        assert_eq!(
            verify(&v, &signed(&key, &header, &c)).unwrap_err(),
            TokenError::Malformed,
            "{header}"
        );
    }
}
