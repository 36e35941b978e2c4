//! Keys of another identity provider over real HTTP: an in-process provider on 127.0.0.1
//! (`common::idp`), and an axum app whose validator trusts it through discovery or its JWKS
//! URL. Cool-down and staleness run on a manual clock; real waits only where a network wait is
//! the point (a hung provider).

mod common;

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use common::idp::{Behaviour, Idp};
use common::*;
use tower_client_credentials::keys::remote::{RemoteKeys, RemoteKeysBuilder, RemoteKeysError};
use tower_client_credentials::keys::{Algorithm, KeySource, SigningKey};
use tower_client_credentials::time::ManualClock;
use tower_client_credentials::{BearerAuthLayer, Claims, Validator};

const UNKNOWN_KEY: &str = "the signing key is not known";
const UNAVAILABLE: &str = "the signing keys are not available";

async fn whoami(claims: Claims) -> String {
    claims.sub.clone()
}

/// `/api/whoami` behind `BearerAuthLayer`, `/healthz` open; the validator's cache is off so
/// every request goes to the keys.
async fn app_trusting(issuers: &[(&str, KeySource)]) -> String {
    let mut builder = Validator::builder().audience(AUDIENCE).cache_capacity(0);
    for (issuer, keys) in issuers {
        builder = builder.issuer(*issuer, keys.clone());
    }
    let validator = builder.build().expect("validator");
    let api = Router::new()
        .route("/api/whoami", get(whoami))
        .layer(BearerAuthLayer::new(validator));
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(api);
    serve(app).await
}

/// Discovery of `idp` on `clock`, with short timeouts.
fn discover(idp: &Idp, clock: &ManualClock) -> RemoteKeysBuilder {
    RemoteKeys::discover(idp.issuer())
        .clock(clock.clock())
        .request_timeout(Duration::from_millis(500))
}

async fn ready(keys: &RemoteKeys) {
    tokio::time::timeout(Duration::from_secs(10), keys.ready())
        .await
        .expect("keys load");
}

/// Waits until the source has made `n` fetch attempts (the background task runs on its own).
async fn fetched(keys: &RemoteKeys, n: u64) {
    for _ in 0..1000 {
        if keys.status().fetches >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no fetch: {:?}", keys.status());
}

/// Waits (up to 10 s) until the source's last fetch ended with `error` (`None`: succeeded).
async fn last_error_becomes(keys: &RemoteKeys, error: Option<RemoteKeysError>) {
    for _ in 0..2000 {
        if keys.status().last_error == error {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("expected {error:?}: {:?}", keys.status());
}

async fn whoami_with(base: &str, token: &str) -> (u16, Option<String>, String) {
    get_bearer(&format!("{base}/api/whoami"), Some(token)).await
}

fn ok(sub: &str) -> (u16, Option<String>, String) {
    (200, None, sub.to_owned())
}

fn refused(description: &str) -> (u16, Option<String>, String) {
    (401, invalid_token(description), String::new())
}

/// A token signed by `idp`'s active key under a random `kid`.
fn random_kid_token(idp: &Idp, i: usize) -> String {
    let key = idp
        .ring()
        .active()
        .with_kid(format!("random-{i}-{}", now()));
    token(&key, &idp.claims("svc", "reports:read"))
}

#[tokio::test]
async fn discovery_then_validation() {
    let idp = Idp::start().await;
    let base = app_trusting(&[(
        idp.issuer(),
        KeySource::discover(idp.issuer()).expect("loopback http is allowed"),
    )])
    .await;
    let token = idp.token(&idp.claims("svc", "reports:read"));
    // The first request may come before the first fetch ends: it waits for that fetch.
    assert_eq!(whoami_with(&base, &token).await, ok("svc"));
    assert_eq!(whoami_with(&base, &token).await, ok("svc"));
    assert_eq!(idp.oauth_metadata_requests(), 1);
    assert_eq!(idp.oidc_metadata_requests(), 0);
    assert_eq!(idp.jwks_requests(), 1);
}

#[tokio::test]
async fn a_jwks_uri_is_fetched_as_given_and_readiness_follows_the_keys() {
    let idp = Idp::start().await;
    let clock = ManualClock::starting_now();
    let keys = RemoteKeys::jwks_uri(idp.jwks_uri())
        .clock(clock.clock())
        .build()
        .expect("keys");
    ready(&keys).await;
    assert!(keys.is_ready());
    let status = keys.status();
    assert_eq!(status.kids, [idp.ring().active().kid()]);
    assert_eq!(status.fetches, 1);
    assert_eq!(status.last_error, None);
    assert_eq!(
        idp.oauth_metadata_requests() + idp.oidc_metadata_requests(),
        0
    );
    let base = app_trusting(&[(idp.issuer(), keys.key_source())]).await;
    let token = idp.token(&idp.claims("svc", ""));
    assert_eq!(whoami_with(&base, &token).await, ok("svc"));
    // Past the maximum staleness without a successful fetch: not ready, tokens refused.
    idp.set(Behaviour::Status(503));
    clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert!(!keys.is_ready());
    assert_eq!(whoami_with(&base, &token).await, refused(UNAVAILABLE));
}

#[tokio::test]
async fn rotation_at_the_provider_is_picked_up_through_the_unknown_kid_with_one_fetch() {
    let idp = Idp::start().await;
    let clock = ManualClock::starting_now();
    let keys = discover(&idp, &clock).build().expect("keys");
    ready(&keys).await;
    let base = app_trusting(&[(idp.issuer(), keys.key_source())]).await;
    let before = idp.jwks_requests();
    let next = idp.rotate();
    let token = token(&next, &idp.claims("svc", ""));
    assert_eq!(whoami_with(&base, &token).await, ok("svc"));
    assert_eq!(whoami_with(&base, &token).await, ok("svc"));
    assert_eq!(idp.jwks_requests(), before + 1);
    assert!(keys.status().kids.iter().any(|kid| kid == next.kid()));
}

#[tokio::test]
async fn a_random_kid_flood_causes_at_most_one_fetch_per_cool_down() {
    let idp = Idp::start().await;
    let clock = ManualClock::starting_now();
    let keys = discover(&idp, &clock).build().expect("keys");
    ready(&keys).await;
    let base = app_trusting(&[(idp.issuer(), keys.key_source())]).await;
    let good = idp.token(&idp.claims("svc", ""));
    let before = idp.jwks_requests();
    for round in 0..2 {
        let mut flood = tokio::task::JoinSet::new();
        for batch in 0..20 {
            let (base, idp) = (base.clone(), idp.clone());
            flood.spawn(async move {
                for i in 0..50 {
                    let token = random_kid_token(&idp, round * 1000 + batch * 50 + i);
                    assert_eq!(whoami_with(&base, &token).await, refused(UNKNOWN_KEY));
                }
            });
        }
        // The good token keeps working during the flood.
        assert_eq!(whoami_with(&base, &good).await, ok("svc"));
        while let Some(done) = flood.join_next().await {
            done.expect("flood task");
        }
        assert!(
            idp.jwks_requests() <= before + 1 + round,
            "round {round}: {} fetches",
            idp.jwks_requests() - before
        );
        clock.advance(Duration::from_secs(30));
    }
    assert_eq!(
        idp.oauth_metadata_requests(),
        1,
        "discovery is not repeated"
    );
}

#[tokio::test]
async fn an_outage_or_garbage_keeps_the_old_keys_working() {
    let idp = Idp::start().await;
    let clock = ManualClock::starting_now();
    let keys = discover(&idp, &clock).build().expect("keys");
    ready(&keys).await;
    let base = app_trusting(&[(idp.issuer(), keys.key_source())]).await;
    let good = idp.token(&idp.claims("svc", ""));
    let cases = [
        (Behaviour::Status(500), RemoteKeysError::Status(500)),
        (Behaviour::InvalidJson, RemoteKeysError::InvalidJwks),
        (Behaviour::EmptyJwks, RemoteKeysError::NoUsableKey),
        (Behaviour::Hang, RemoteKeysError::Timeout),
    ];
    for (i, (behaviour, error)) in cases.into_iter().enumerate() {
        idp.set(behaviour.clone());
        clock.advance(Duration::from_secs(31));
        let attempts = keys.status().fetches;
        // An unknown kid claims a fetch; it waits at most the request timeout (500 ms).
        let started = Instant::now();
        let unknown = random_kid_token(&idp, i);
        let (status, _, _) = whoami_with(&base, &unknown).await;
        assert_eq!(status, 401, "{behaviour:?}");
        assert!(started.elapsed() < Duration::from_secs(2), "{behaviour:?}");
        fetched(&keys, attempts + 1).await;
        // The background task retries failures too; whichever fetch ends last, it failed
        // the same way.
        last_error_becomes(&keys, Some(error)).await;
        assert!(keys.is_ready(), "{behaviour:?}");
        assert_eq!(whoami_with(&base, &good).await, ok("svc"), "{behaviour:?}");
    }
}

#[tokio::test]
async fn a_cold_start_during_an_outage_refuses_tokens_then_recovers() {
    let idp = Idp::start().await;
    idp.set(Behaviour::Status(503));
    let clock = ManualClock::starting_now();
    let keys = discover(&idp, &clock)
        .build()
        .expect("builds while the provider is down");
    let base = app_trusting(&[(idp.issuer(), keys.key_source())]).await;
    let token = idp.token(&idp.claims("svc", ""));
    fetched(&keys, 1).await;
    assert!(!keys.is_ready());
    assert_eq!(whoami_with(&base, &token).await, refused(UNAVAILABLE));
    assert_eq!(whoami_with(&base, &token).await, refused(UNAVAILABLE));
    assert_eq!(
        get_bearer(&format!("{base}/healthz"), None).await,
        (200, None, "ok".to_owned())
    );
    assert_eq!(keys.status().last_error, Some(RemoteKeysError::Status(503)));
    // The provider comes back; the next fetch (a request's, after the cool-down, or the
    // background task's retry) loads the keys.
    idp.set(Behaviour::Normal);
    // A background retry that began before the provider came back may still be in flight
    // (and be joined by the request): allow one more cool-down for that.
    let mut answers = Vec::new();
    for _ in 0..2 {
        clock.advance(Duration::from_secs(30));
        answers.push(whoami_with(&base, &token).await);
        if answers.last() == Some(&ok("svc")) {
            break;
        }
    }
    assert_eq!(answers.last(), Some(&ok("svc")), "{answers:?}");
    assert!(keys.is_ready());
    assert_eq!(
        get_bearer(&format!("{base}/healthz"), None).await,
        (200, None, "ok".to_owned())
    );
}

#[tokio::test]
async fn the_background_task_retries_until_the_provider_returns() {
    let idp = Idp::start().await;
    idp.set(Behaviour::Status(500));
    let clock = ManualClock::starting_now();
    let keys = discover(&idp, &clock).build().expect("keys");
    fetched(&keys, 1).await;
    idp.set(Behaviour::Normal);
    // No request needed: the backoff (0.5–1 s, then 1–2 s) brings the keys in.
    ready(&keys).await;
    assert!(keys.status().fetches >= 2);
}

#[tokio::test]
async fn metadata_naming_another_issuer_is_refused_unless_it_is_an_alias() {
    let idp = Idp::start().await;
    idp.set(Behaviour::WrongIssuer);
    let clock = ManualClock::starting_now();
    let keys = discover(&idp, &clock).build().expect("keys");
    fetched(&keys, 1).await;
    assert_eq!(
        keys.status().last_error,
        Some(RemoteKeysError::IssuerMismatch)
    );
    assert!(!keys.is_ready());
    assert_eq!(
        idp.jwks_requests(),
        0,
        "the JWKS of a mismatched issuer is never read"
    );
    let base = app_trusting(&[(idp.issuer(), keys.key_source())]).await;
    let token = idp.token(&idp.claims("svc", ""));
    assert_eq!(whoami_with(&base, &token).await, refused(UNAVAILABLE));

    let aliased = discover(&idp, &clock)
        .issuer_alias(format!("{}/other", idp.issuer()))
        .build()
        .expect("keys");
    ready(&aliased).await;
}

#[tokio::test]
async fn two_issuers_with_equal_kids_never_cross_validate() {
    let key_a = SigningKey::generate(Algorithm::EdDSA)
        .expect("key")
        .with_kid("k1");
    let key_b = SigningKey::generate(Algorithm::EdDSA)
        .expect("key")
        .with_kid("k1");
    let a = Idp::builder().key(key_a.clone()).start().await;
    let b = Idp::builder().key(key_b.clone()).start().await;
    let clock = ManualClock::starting_now();
    let keys_a = discover(&a, &clock).build().expect("keys");
    let keys_b = discover(&b, &clock).build().expect("keys");
    ready(&keys_a).await;
    ready(&keys_b).await;
    let base = app_trusting(&[
        (a.issuer(), keys_a.key_source()),
        (b.issuer(), keys_b.key_source()),
    ])
    .await;
    assert_eq!(
        whoami_with(&base, &a.token(&a.claims("from-a", ""))).await,
        ok("from-a")
    );
    assert_eq!(
        whoami_with(&base, &b.token(&b.claims("from-b", ""))).await,
        ok("from-b")
    );
    // A's key, B's issuer: B's k1 checks it, and refuses it.
    let crossed = token(&key_a, &b.claims("forged", ""));
    assert_eq!(
        whoami_with(&base, &crossed).await,
        refused("the token signature is invalid")
    );
    let crossed = token(&key_b, &a.claims("forged", ""));
    assert_eq!(
        whoami_with(&base, &crossed).await,
        refused("the token signature is invalid")
    );
}

#[tokio::test]
async fn an_issuer_with_a_path_is_discovered_at_the_rfc_8414_path_inserted_url() {
    let idp = Idp::builder().path("/realms/acme").start().await;
    let clock = ManualClock::starting_now();
    let keys = discover(&idp, &clock).build().expect("keys");
    ready(&keys).await;
    assert_eq!(idp.oauth_metadata_requests(), 1);
    assert_eq!(idp.oidc_metadata_requests(), 0);
    let base = app_trusting(&[(idp.issuer(), keys.key_source())]).await;
    let token = idp.token(&idp.claims("svc", ""));
    assert_eq!(whoami_with(&base, &token).await, ok("svc"));
}

#[tokio::test]
async fn without_rfc_8414_metadata_discovery_falls_back_to_openid_connect() {
    let idp = Idp::builder().path("/tenant").oidc_only().start().await;
    let clock = ManualClock::starting_now();
    let keys = discover(&idp, &clock).build().expect("keys");
    ready(&keys).await;
    assert_eq!(idp.oidc_metadata_requests(), 1);
    let base = app_trusting(&[(idp.issuer(), keys.key_source())]).await;
    let token = idp.token(&idp.claims("svc", ""));
    assert_eq!(whoami_with(&base, &token).await, ok("svc"));
}

#[tokio::test]
async fn a_body_over_256_kib_is_refused_with_or_without_content_length() {
    for behaviour in [Behaviour::HugeChunked, Behaviour::HugeSized] {
        let idp = Idp::start().await;
        idp.set(behaviour.clone());
        let clock = ManualClock::starting_now();
        let keys = discover(&idp, &clock).build().expect("keys");
        fetched(&keys, 1).await;
        assert_eq!(
            keys.status().last_error,
            Some(RemoteKeysError::TooLarge),
            "{behaviour:?}"
        );
        assert!(!keys.is_ready());
    }
}

#[tokio::test]
async fn a_redirect_to_another_host_is_refused_and_one_within_the_host_is_followed() {
    let evil = Idp::start().await;
    let idp = Idp::start().await;
    idp.set(Behaviour::RedirectJwks(evil.jwks_uri()));
    let clock = ManualClock::starting_now();
    let keys = discover(&idp, &clock).build().expect("keys");
    fetched(&keys, 1).await;
    assert_eq!(keys.status().last_error, Some(RemoteKeysError::Redirect));
    assert_eq!(evil.jwks_requests(), 0);
    let base = app_trusting(&[(idp.issuer(), keys.key_source())]).await;
    let forged = token(&evil.ring().active(), &idp.claims("evil", ""));
    assert_eq!(whoami_with(&base, &forged).await, refused(UNAVAILABLE));

    // A client that follows every redirect: the landing host is still checked.
    let follows = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let keys = discover(&idp, &clock)
        .client(follows)
        .build()
        .expect("keys");
    fetched(&keys, 1).await;
    assert_eq!(keys.status().last_error, Some(RemoteKeysError::Redirect));

    idp.set(Behaviour::RedirectJwks(format!(
        "{}/jwks-moved",
        idp.issuer()
    )));
    let keys = discover(&idp, &clock).build().expect("keys");
    ready(&keys).await;
}

#[tokio::test]
async fn max_age_sets_the_lifetime_within_its_bounds() {
    let cases = [
        (None, 600),
        (Some(120), 120),
        (Some(5), 60),
        (Some(10_000_000), 86_400),
    ];
    for (max_age, lifetime) in cases {
        let idp = Idp::start().await;
        idp.set_max_age(max_age);
        let clock = ManualClock::starting_now();
        let keys = discover(&idp, &clock).build().expect("keys");
        ready(&keys).await;
        let status = keys.status();
        let (fetched_at, fresh_until) = (status.fetched_at.unwrap(), status.fresh_until.unwrap());
        assert_eq!(fresh_until - fetched_at, lifetime, "max-age {max_age:?}");
    }
}

#[tokio::test]
async fn a_seed_verifies_while_the_provider_is_down() {
    let idp = Idp::start().await;
    idp.set(Behaviour::Status(503));
    let clock = ManualClock::starting_now();
    let keys = discover(&idp, &clock)
        .seed_jwks(idp.ring().jwks().to_json())
        .build()
        .expect("keys");
    assert!(keys.is_ready());
    let base = app_trusting(&[(idp.issuer(), keys.key_source())]).await;
    let token = idp.token(&idp.claims("svc", ""));
    assert_eq!(whoami_with(&base, &token).await, ok("svc"));
}

#[test]
fn plain_http_to_another_host_is_refused_unless_allowed() {
    assert!(KeySource::discover("http://idp.example.com").is_err());
    assert!(KeySource::remote("http://idp.example.com/jwks").is_err());
    assert!(KeySource::discover("https://idp.example.com").is_ok());
    assert!(
        RemoteKeys::discover("http://idp.example.com")
            .allow_http(true)
            .build()
            .is_ok()
    );
}

#[tokio::test]
async fn a_preset_with_discovery_accepts_the_providers_plain_jwt_with_scp() {
    use tower_client_credentials::protect::Provider;

    let idp = Idp::start().await;
    let trusted = Provider::oidc(idp.issuer())
        .discover()
        .expect("loopback discovery")
        .audience(AUDIENCE);
    let validator = Validator::builder()
        .trust(trusted)
        .build()
        .expect("validator");
    let app = Router::new()
        .route(
            "/api/whoami",
            get(|claims: Claims| async move {
                format!("{} {}", claims.client_id.unwrap_or_default(), claims.scope)
            }),
        )
        .layer(BearerAuthLayer::new(validator));
    let base = serve(app).await;
    // A plain JWT as most providers send it: `typ: JWT`, scopes in an `scp` array, the client
    // in `azp`, no RFC 9068 `client_id`.
    let now = now();
    let claims = serde_json::json!({
        "iss": idp.issuer(), "sub": "svc", "aud": AUDIENCE, "exp": now + 60, "iat": now,
        "azp": "reporting-job", "scp": ["reports:read", "reports:write"],
    });
    let plain = idp.ring().active().sign("JWT", &claims).expect("sign");
    assert_eq!(
        get_bearer(&format!("{base}/api/whoami"), Some(&plain)).await,
        (
            200,
            None,
            "reporting-job reports:read reports:write".to_owned()
        )
    );
    let mut other = claims.clone();
    other["aud"] = serde_json::json!("billing-api");
    let other = idp.ring().active().sign("JWT", &other).expect("sign");
    assert_eq!(
        get_bearer(&format!("{base}/api/whoami"), Some(&other)).await,
        (
            401,
            invalid_token("the token audience is not accepted"),
            String::new()
        )
    );
}
