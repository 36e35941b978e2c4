use super::*;
use crate::keys::{Algorithm, KeyError, KeyFuture, KeyProvider, KeyRing, KeySource, SigningKey};
use crate::protect::TrustedIssuer;
use crate::protect::{DEFAULT_MAX_TOKEN_BYTES, TokenType, ValidatorConfigError};
use crate::time::ManualClock;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const ISS: &str = "https://issuer.test";
const NOW: u64 = 1_900_000_000;

fn setup(alg: Algorithm) -> (SigningKey, Validator) {
    let key = SigningKey::generate(alg).unwrap();
    let validator = Validator::builder()
        .issuer(ISS, KeySource::local(KeyRing::new(key.clone())))
        .audience("api")
        .clock(Clock::from_fn(|| NOW))
        .build()
        .unwrap();
    (key, validator)
}

fn claims(exp: u64) -> serde_json::Value {
    json!({"iss": ISS, "sub": "c", "aud": "api", "exp": exp, "iat": NOW - 10,
           "jti": "j", "client_id": "c", "scope": "a b"})
}

fn forge(header: serde_json::Value, claims: &serde_json::Value, sig: &str) -> String {
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let c = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{h}.{c}.{sig}")
}

/// The result of a verification that must not wait (local keys).
fn now<E: DeserializeOwned + Send + Sync + 'static>(
    v: &Validator<E>,
    token: &str,
) -> Result<Arc<Claims<E>>, TokenError> {
    match v.verify(token).into_ready() {
        Ok(result) => result,
        Err(_) => panic!("local keys verify without waiting"),
    }
}

#[test]
fn exp_boundary_with_leeway() {
    let (key, v) = setup(Algorithm::EdDSA);
    // exp + leeway == now + 1: still valid; exp + leeway == now: expired.
    let ok = key.sign("at+jwt", &claims(NOW - 30 + 1)).unwrap();
    assert!(now(&v, &ok).is_ok());
    let late = key.sign("at+jwt", &claims(NOW - 30)).unwrap();
    assert_eq!(now(&v, &late).unwrap_err(), TokenError::Expired);
}

#[test]
fn none_algorithm_in_every_spelling_is_rejected() {
    let (_, v) = setup(Algorithm::EdDSA);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let t = forge(json!({"alg": alg, "typ": "at+jwt"}), &claims(NOW + 60), "x");
        assert_eq!(now(&v, &t).unwrap_err(), TokenError::UnsupportedAlgorithm);
        let empty_sig = forge(json!({"alg": alg, "typ": "at+jwt"}), &claims(NOW + 60), "");
        assert!(now(&v, &empty_sig).is_err());
    }
}

#[test]
fn crit_is_rejected() {
    let (key, v) = setup(Algorithm::EdDSA);
    let t = forge(
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid(), "crit": ["exp"]}),
        &claims(NOW + 60),
        "x",
    );
    assert_eq!(now(&v, &t).unwrap_err(), TokenError::UnsupportedCritical);
}

#[test]
fn typ_variants() {
    let (key, v) = setup(Algorithm::EdDSA);
    for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
        let t = key.sign(typ, &claims(NOW + 60)).unwrap();
        assert!(now(&v, &t).is_ok(), "{typ}");
    }
    for typ in ["JWT", "jwt", "at+jwt2"] {
        let t = key.sign(typ, &claims(NOW + 60)).unwrap();
        assert_eq!(now(&v, &t).unwrap_err(), TokenError::InvalidType);
    }
}

#[test]
fn rfc9068_claims_are_required_for_access_tokens() {
    let (key, v) = setup(Algorithm::EdDSA);
    let mut c = claims(NOW + 60);
    c.as_object_mut().unwrap().remove("jti");
    let t = key.sign("at+jwt", &c).unwrap();
    assert_eq!(now(&v, &t).unwrap_err(), TokenError::MissingClaim);
}

#[test]
fn structural_garbage_is_malformed() {
    let (_, v) = setup(Algorithm::EdDSA);
    for bad in [
        "",
        ".",
        "..",
        "a.b",
        "a.b.c.d",
        "!!.!!.!!",
        "e30.e30.",
        "e30.e30.e30",
    ] {
        let err = now(&v, bad).unwrap_err();
        assert!(
            matches!(err, TokenError::Malformed | TokenError::MissingClaim),
            "{bad}: {err:?}"
        );
    }
    let big = "a".repeat(DEFAULT_MAX_TOKEN_BYTES + 1);
    assert_eq!(now(&v, &big).unwrap_err(), TokenError::TooLarge);
}

#[test]
fn builder_refuses_unsafe_configs() {
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let src = || KeySource::local(ring.clone());
    assert_eq!(
        Validator::builder().audience("a").build().unwrap_err(),
        ValidatorConfigError::NoIssuer
    );
    assert_eq!(
        Validator::builder().issuer(ISS, src()).build().unwrap_err(),
        ValidatorConfigError::NoAudience { issuer: ISS.into() }
    );
    assert_eq!(
        Validator::builder()
            .issuer(ISS, src())
            .issuer(ISS, src())
            .audience("a")
            .build()
            .unwrap_err(),
        ValidatorConfigError::BadIssuer
    );
    assert_eq!(
        Validator::builder()
            .issuer(ISS, src())
            .audience("a")
            .leeway(Duration::from_secs(301))
            .build()
            .unwrap_err(),
        ValidatorConfigError::LeewayTooLarge
    );
    assert_eq!(
        Validator::builder()
            .issuer(ISS, src())
            .audience("a")
            .required_claims(["tenant"])
            .build()
            .unwrap_err(),
        ValidatorConfigError::UnknownClaim {
            claim: "tenant".into()
        }
    );
    assert_eq!(
        Validator::builder()
            .trust(TrustedIssuer::new(ISS, src()).required_claims(["iat", "tnt"]))
            .audience("a")
            .build()
            .unwrap_err(),
        ValidatorConfigError::UnknownClaim {
            claim: "tnt".into()
        }
    );
}

#[test]
fn each_issuer_is_held_to_its_own_rules() {
    let ours = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let theirs = SigningKey::generate(Algorithm::ES256).unwrap();
    const IDP: &str = "https://idp.test";
    let v = Validator::builder()
        .issuer(ISS, KeySource::local(KeyRing::new(ours.clone())))
        .audience("api")
        .trust(
            TrustedIssuer::new(IDP, KeySource::local(KeyRing::new(theirs.clone())))
                .audience("api://partner")
                .token_type(TokenType::Any)
                .required_claims(["nbf"]),
        )
        .clock(Clock::from_fn(|| NOW))
        .build()
        .unwrap();
    let idp = |aud: &str| json!({"iss": IDP, "sub": "p", "aud": aud, "exp": NOW + 60, "nbf": NOW});

    // The partner's plain JWT, its audience, no RFC 9068 claims: accepted.
    let plain = theirs.sign("JWT", &idp("api://partner")).unwrap();
    assert_eq!(now(&v, &plain).unwrap().sub, "p");
    // Our audience is not the partner's, and the partner's rules require nbf.
    let ours_aud = theirs.sign("JWT", &idp("api")).unwrap();
    assert_eq!(now(&v, &ours_aud).unwrap_err(), TokenError::InvalidAudience);
    let mut no_nbf = idp("api://partner");
    no_nbf.as_object_mut().unwrap().remove("nbf");
    let no_nbf = theirs.sign("JWT", &no_nbf).unwrap();
    assert_eq!(now(&v, &no_nbf).unwrap_err(), TokenError::MissingClaim);
    // Our issuer keeps at+jwt and RFC 9068 claims.
    let our_plain = ours.sign("JWT", &claims(NOW + 60)).unwrap();
    assert_eq!(now(&v, &our_plain).unwrap_err(), TokenError::InvalidType);
    // A key of one issuer never verifies the other's tokens.
    let crossed = ours.sign("JWT", &idp("api://partner")).unwrap();
    assert_eq!(now(&v, &crossed).unwrap_err(), TokenError::UnknownKey);
}

#[test]
fn cache_is_shared_by_clones_and_rechecks_exp() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let clock = ManualClock::new(NOW);
    let v = Validator::builder()
        .issuer(ISS, KeySource::local(KeyRing::new(key.clone())))
        .audience("api")
        .clock(clock.clock())
        .build()
        .unwrap();
    let token = key.sign("at+jwt", &claims(NOW + 60)).unwrap();
    let first = now(&v, &token).unwrap();
    let again = now(&v.clone(), &token).unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "a clone answers from the cache"
    );
    assert_eq!(v.cached_tokens(), 1);
    clock.set(NOW + 60 + 30);
    assert_eq!(now(&v, &token).unwrap_err(), TokenError::Expired);
    v.clear_cache();
    assert_eq!(v.cached_tokens(), 0);
}

#[test]
fn builder_settings_survive_claims_in_any_order() {
    #[derive(Clone, serde::Deserialize)]
    struct Tenant {
        tenant: String,
    }
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let source = KeySource::local(KeyRing::new(key.clone()));
    // The trap this replaces: `BearerAuthLayer::with_claims` after `cache_capacity(n)` reset n.
    let before: Validator<Tenant> = Validator::builder()
        .issuer(ISS, source.clone())
        .audience("api")
        .cache_capacity(0)
        .clock(Clock::from_fn(|| NOW))
        .claims::<Tenant>()
        .build()
        .unwrap();
    let after: Validator<Tenant> = Validator::builder()
        .claims::<Tenant>()
        .issuer(ISS, source)
        .audience("api")
        .cache_capacity(0)
        .clock(Clock::from_fn(|| NOW))
        .build()
        .unwrap();
    let mut c = claims(NOW + 60);
    c["tenant"] = json!("acme");
    let token = key.sign("at+jwt", &c).unwrap();
    for v in [before, after] {
        assert_eq!(v.cache_capacity(), 0);
        assert_eq!(now(&v, &token).unwrap().extra.tenant, "acme");
        assert_eq!(v.cached_tokens(), 0);
    }
}

/// A provider that holds no key until it is fetched, and counts fetches.
struct Fetching {
    key: SigningKey,
    fetches: Arc<AtomicUsize>,
    fail: bool,
}

impl KeyProvider for Fetching {
    fn find(&self, _kid: Option<&str>) -> Option<crate::keys::VerifyingKey> {
        None
    }

    fn fetch(&self, kid: Option<&str>) -> Option<KeyFuture> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let key = self.key.verifying_key().clone();
        let (kid, fail) = (kid.map(str::to_owned), self.fail);
        Some(Box::pin(async move {
            tokio::task::yield_now().await;
            if fail {
                return Err(KeyError::Unavailable);
            }
            Ok((kid.as_deref() == Some(key.kid())).then_some(key))
        }))
    }
}

fn fetching(fail: bool) -> (SigningKey, Validator, Arc<AtomicUsize>) {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let fetches = Arc::new(AtomicUsize::new(0));
    let provider = Fetching {
        key: key.clone(),
        fetches: fetches.clone(),
        fail,
    };
    let v = Validator::builder()
        .issuer(ISS, KeySource::provider(provider))
        .audience("api")
        .clock(Clock::from_fn(|| NOW))
        .build()
        .unwrap();
    (key, v, fetches)
}

#[tokio::test]
async fn a_fetched_key_verifies_then_the_cache_answers_synchronously() {
    let (key, v, fetches) = fetching(false);
    let token = key.sign("at+jwt", &claims(NOW + 60)).unwrap();
    let pending = v.verify(&token).into_ready().expect_err("must fetch");
    assert_eq!(pending.await.unwrap().sub, "c");
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    // Cached now: ready without a fetch.
    assert!(v.verify(&token).into_ready().is_ok_and(|r| r.is_ok()));
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_fetch_that_misses_or_fails_is_a_token_error() {
    let (key, v, _) = fetching(false);
    let other = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let unknown = other.sign("at+jwt", &claims(NOW + 60)).unwrap();
    assert_eq!(
        v.verify(&unknown).await.unwrap_err(),
        TokenError::UnknownKey
    );
    let (key2, down, _) = fetching(true);
    let token = key2.sign("at+jwt", &claims(NOW + 60)).unwrap();
    assert_eq!(
        down.verify(&token).await.unwrap_err(),
        TokenError::KeysUnavailable
    );
    // Structure is checked before any fetch: garbage never costs one.
    let (_, v3, fetches) = fetching(false);
    assert_eq!(
        v3.verify("e30.e30.e30").await.unwrap_err(),
        TokenError::Malformed
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 0);
    drop(key);
}
