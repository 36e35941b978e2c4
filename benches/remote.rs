//! Remote keys against local ones, EdDSA, the validator's verified-token cache off (every
//! call verifies):
//!
//! - `remote/known-kid`: a token whose key came from a JWKS over loopback HTTP and is held in
//!   the remote cache, against the same token checked with the key in a local `KeyRing`.
//! - `remote/unknown-kid`: a flood of tokens with random `kid`s against the remote source
//!   (after the one fetch its cool-down allows), against two failed local verifications: an
//!   unknown `kid`, and a bad signature under a known one.
//!
//! Each group runs its lines in [`ROUNDS`] interleaved rounds (`…/1`, `…/2`, …), so a load
//! swing on a shared machine hits both sides of a comparison: compare lines within a round,
//! then take the median of the rounds' ratios.
//!
//! On a machine whose load swings within seconds, even rounds drift apart; so the bench also
//! prints a paired comparison: 400 blocks of 50 calls, the two sides alternating block by block
//! (and which goes first), with the median per-call time of each side and the median of the
//! blocks' ratios.
//!
//! Run: `cargo bench --bench remote --features remote-jwks`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tower_client_credentials::Validator;
use tower_client_credentials::keys::remote::RemoteKeys;
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::protect::{TokenError, Verify};

const ISS: &str = "https://auth.bench";
const AUD: &str = "bench-api";
/// Interleaved rounds per group.
const ROUNDS: usize = 3;

fn validator(keys: KeySource) -> Validator {
    Validator::builder()
        .issuer(ISS, keys)
        .audience(AUD)
        .cache_capacity(0)
        .build()
        .expect("validator")
}

/// The result of a verification that needs no fetch; a fetch (at most one per cool-down in
/// the flood) is left to run on the runtime, and counted as the refusal it ends in.
fn outcome(verify: Verify) -> Result<(), TokenError> {
    match verify.into_ready() {
        Ok(result) => result.map(drop),
        Err(_pending) => Err(TokenError::UnknownKey),
    }
}

fn bench_remote(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let ring = KeyRing::new(key.clone());
    let jwks = ring.jwks().to_json();
    let served = std::sync::Arc::new(AtomicUsize::new(0));
    let remote = runtime.block_on(async {
        let counter = served.clone();
        let app = Router::new().route(
            "/jwks",
            get(move || async move {
                counter.fetch_add(1, Ordering::SeqCst);
                jwks
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/jwks", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let remote = RemoteKeys::jwks_uri(url).build().expect("remote keys");
        tokio::time::timeout(Duration::from_secs(10), remote.ready())
            .await
            .expect("keys fetched");
        remote
    });
    // Keys are fetched; the runtime keeps running the background task and any fetch.
    let _entered = runtime.enter();

    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "iss": ISS, "sub": "bench-client", "aud": AUD, "exp": now + 3600, "iat": now,
        "jti": "0123456789abcdef", "client_id": "bench-client", "scope": "reports:read",
    });
    let token = key.sign("at+jwt", &claims).expect("sign");
    let local = validator(KeySource::local(ring));
    let remote_validator = validator(remote.key_source());
    assert!(outcome(local.verify(&token)).is_ok());
    assert!(outcome(remote_validator.verify(&token)).is_ok());

    let mut group = c.benchmark_group("remote/known-kid");
    for round in 1..=ROUNDS {
        group.bench_function(format!("local KeyRing/{round}"), |b| {
            b.iter(|| outcome(local.verify(&token)).expect("valid"))
        });
        group.bench_function(format!("RemoteKeys (cached)/{round}"), |b| {
            b.iter(|| outcome(remote_validator.verify(&token)).expect("valid"))
        });
    }
    group.finish();

    let random: Vec<String> = (0..4096)
        .map(|i| {
            let kid = format!("random-{i:04}-{:016x}", rand_u64(i));
            key.clone()
                .with_kid(kid)
                .sign("at+jwt", &claims)
                .expect("sign")
        })
        .collect();
    let (message, _) = token.rsplit_once('.').expect("compact JWS");
    let other = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let other_token = other.sign("at+jwt", &claims).expect("sign");
    let (_, other_signature) = other_token.rsplit_once('.').expect("compact JWS");
    let bad_signature = format!("{message}.{other_signature}");
    // The flood's one allowed fetch, before measuring.
    let _ = outcome(remote_validator.verify(&random[0]));
    std::thread::sleep(Duration::from_millis(200));
    let fetched_before = served.load(Ordering::SeqCst);

    let mut group = c.benchmark_group("remote/unknown-kid");
    let next = AtomicUsize::new(0);
    let pick = || &random[next.fetch_add(1, Ordering::Relaxed) % random.len()];
    for round in 1..=ROUNDS {
        group.bench_function(format!("local: unknown kid/{round}"), |b| {
            b.iter(|| outcome(local.verify(pick())).expect_err("unknown"))
        });
        group.bench_function(format!("local: bad signature/{round}"), |b| {
            b.iter(|| outcome(local.verify(&bad_signature)).expect_err("bad signature"))
        });
        group.bench_function(format!("RemoteKeys: random-kid flood/{round}"), |b| {
            b.iter(|| outcome(remote_validator.verify(pick())).expect_err("unknown"))
        });
    }
    group.finish();
    paired(
        "known kid: local KeyRing vs RemoteKeys (cached)",
        || outcome(local.verify(&token)).expect("valid"),
        || outcome(remote_validator.verify(&token)).expect("valid"),
    );
    paired(
        "unknown kid: local unknown kid vs RemoteKeys random-kid flood",
        || outcome(local.verify(pick())).expect_err("unknown"),
        || outcome(remote_validator.verify(pick())).expect_err("unknown"),
    );
    paired(
        "failed: local bad signature vs RemoteKeys random-kid flood",
        || outcome(local.verify(&bad_signature)).expect_err("bad signature"),
        || outcome(remote_validator.verify(pick())).expect_err("unknown"),
    );
    eprintln!(
        "JWKS fetches during the flood: {} (cool-down 30 s)",
        served.load(Ordering::SeqCst) - fetched_before
    );
}

/// Times `a` and `b` in alternating blocks; prints the median ns per call of each and the
/// median of the per-block ratios b / a.
fn paired<A, B>(label: &str, a: impl Fn() -> A, b: impl Fn() -> B) {
    const BLOCKS: usize = 400;
    const CALLS: u32 = 50;
    fn time<T>(f: &impl Fn() -> T) -> f64 {
        let start = Instant::now();
        for _ in 0..CALLS {
            std::hint::black_box(f());
        }
        start.elapsed().as_nanos() as f64 / f64::from(CALLS)
    }
    let (mut times_a, mut times_b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for block in 0..BLOCKS {
        let (ta, tb) = if block % 2 == 0 {
            let ta = time(&a);
            (ta, time(&b))
        } else {
            let tb = time(&b);
            (time(&a), tb)
        };
        times_a.push(ta);
        times_b.push(tb);
        ratios.push(tb / ta);
    }
    eprintln!(
        "paired {label}: {:.0} ns vs {:.0} ns, median ratio {:.3}",
        median(&mut times_a),
        median(&mut times_b),
        median(&mut ratios)
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A cheap, fixed spread of bits for distinct-looking kids (not randomness for security).
fn rand_u64(i: usize) -> u64 {
    (i as u64 ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500));
    targets = bench_remote
}
criterion_main!(benches);
