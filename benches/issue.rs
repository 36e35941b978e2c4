//! Client credentials grants per second, per signing algorithm: through `TokenIssuer::issue`
//! (the HTTP-free core: client lookup, secret check, scope and audience policy, signing) and
//! through `ClientCredentialsTokenService` (plus form and Basic parsing and the JSON response;
//! no network), against `SigningKey::sign` alone on the same claims. SHA-256 secrets for every
//! algorithm; an Argon2id secret with EdDSA only, since one verify takes milliseconds.
//!
//! The EdDSA group also times an unknown client, and the Argon2id group a wrong secret and an
//! unknown client: DESIGN decision 5 wants them to cost the same as a wrong secret. The
//! Argon2id group runs with the credential cache off, so every grant hashes, then times the
//! two refusals again with the cache on and the client's secret cached (they must still cost
//! an Argon2id check each). The throttle is off throughout, so refusals are checked, not
//! throttled.
//!
//! `issue/EdDSA/cached` puts a repeated grant of an Argon2id client (the credential cache on,
//! as by default: after the first grant, none hashes) next to the SHA-256 grant, in [`ROUNDS`]
//! interleaved rounds (`…/1`, `…/2`, …) so that a load swing on a shared machine hits both
//! sides; compare within a round. It then prints a paired comparison (400 blocks of 50 grants,
//! the sides alternating block by block) with the median of the blocks' ratios, and the cache's
//! hit and miss counts.
//!
//! Run: `cargo bench --bench issue -- --warm-up-time 1 --measurement-time 3`. Compare each
//! line with the `sign only` line of its group as a ratio. Only the cache comparison:
//! `cargo bench --bench issue -- cached`.

use std::hint::black_box;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{Request, StatusCode, header};
use serde::Serialize;
use tokio::runtime::Runtime;
use tower::ServiceExt;
use tower_client_credentials::clients::{Client, ClientSecret, MemoryClientStore};
use tower_client_credentials::issue::throttle::{MemoryAuthThrottle, ThrottleLimits};
use tower_client_credentials::issue::{
    ClientAuth, ClientCredentialsTokenService, CredentialCache, TokenIssuer, TokenRequest,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};
use tower_client_credentials::{Audience, ScopeSet};

const ISS: &str = "https://auth.bench";
const CLIENT: &str = "bench-client";
const AUD: &str = "reports-api";
const SCOPE: &str = "reports:read";
const BODY: &str = "grant_type=client_credentials&scope=reports%3Aread";
const PASSWORD: &str = "correct horse battery staple";
/// Interleaved rounds of the cache comparison.
const ROUNDS: usize = 3;

/// The claims `TokenIssuer` signs (RFC 9068 §2.2), with the same field order.
#[derive(Serialize)]
struct AccessClaims {
    iss: &'static str,
    sub: &'static str,
    aud: Audience,
    exp: u64,
    iat: u64,
    jti: &'static str,
    client_id: &'static str,
    scope: &'static str,
}

/// One issuer with one Basic client whose secret is `plaintext`.
struct Grant {
    issuer: TokenIssuer,
    service: ClientCredentialsTokenService,
    plaintext: String,
    authorization: String,
}

impl Grant {
    fn new(key: SigningKey, stored: ClientSecret, plaintext: String) -> Self {
        Self::with_cache(key, stored, plaintext, CredentialCache::default())
    }

    fn with_cache(
        key: SigningKey,
        stored: ClientSecret,
        plaintext: String,
        cache: CredentialCache,
    ) -> Self {
        let client = Client::builder(CLIENT)
            .secret(stored)
            .allowed_scopes(ScopeSet::parse("reports:read reports:write").expect("scopes"))
            .audiences([AUD])
            .build()
            .expect("client");
        // Refusals are timed as checks, not throttled (10 failures lock an id for a minute).
        let limits = ThrottleLimits::default()
            .with_client_failures(0)
            .with_peer_failures(0);
        let unthrottled = MemoryAuthThrottle::new(limits);
        let issuer = TokenIssuer::builder()
            .issuer(ISS)
            .keys(KeyRing::new(key))
            .clients(MemoryClientStore::new().with_client(client))
            .throttle(unthrottled)
            .credential_cache(cache)
            .build()
            .expect("issuer");
        // The plaintexts here need no form-encoding (RFC 6749 §2.3.1) but the spaces.
        let user_pass = format!("{CLIENT}:{}", plaintext.replace(' ', "+"));
        Grant {
            service: ClientCredentialsTokenService::new(issuer.clone()),
            issuer,
            plaintext,
            authorization: format!("Basic {}", STANDARD.encode(user_pass)),
        }
    }

    fn auth(&self, client_id: &str, secret: &str) -> ClientAuth {
        ClientAuth::Basic {
            client_id: client_id.to_owned(),
            secret: secret.to_owned().into(),
        }
    }

    async fn issue(&self) -> String {
        let auth = self.auth(CLIENT, &self.plaintext);
        let request = TokenRequest::client_credentials(Some(SCOPE));
        let response = self.issuer.issue(auth, request).await.expect("granted");
        response.access_token
    }

    async fn refuse(&self, client_id: &str, secret: &str) {
        let request = TokenRequest::client_credentials(Some(SCOPE));
        let refused = self.issuer.issue(self.auth(client_id, secret), request);
        refused.await.expect_err("refused");
    }

    async fn serve(&self) -> StatusCode {
        let request = Request::post("/oauth2/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, &self.authorization)
            .body(BODY.to_owned())
            .expect("request");
        let response = self
            .service
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        black_box(response).status()
    }
}

fn sha256_grant(key: SigningKey) -> Grant {
    let (plaintext, stored) = ClientSecret::generate();
    Grant::new(key, stored, plaintext.expose().to_owned())
}

fn bench_issue(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");
    let now = 1_800_000_000;
    let claims = AccessClaims {
        iss: ISS,
        sub: CLIENT,
        aud: Audience::One(AUD.to_owned()),
        exp: now + 900,
        iat: now,
        jti: "bB4bUe3ZQ0y4Vp3lvzXoWQ",
        client_id: CLIENT,
        scope: SCOPE,
    };

    for alg in [
        Algorithm::EdDSA,
        Algorithm::ES256,
        Algorithm::RS256,
        Algorithm::HS256,
    ] {
        let key = SigningKey::generate(alg).expect("keygen");
        let grant = sha256_grant(key.clone());
        let mut group = c.benchmark_group(format!("issue/{alg}/sha256"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("sign only", |b| {
            b.iter(|| key.sign("at+jwt", black_box(&claims)).expect("sign"))
        });
        group.bench_function("TokenIssuer::issue", |b| {
            b.to_async(&rt).iter(|| grant.issue())
        });
        group.bench_function("ClientCredentialsTokenService", |b| {
            b.to_async(&rt).iter(|| grant.serve())
        });
        if alg == Algorithm::EdDSA {
            group.bench_function("unknown client", |b| {
                b.to_async(&rt)
                    .iter(|| grant.refuse("no-such-client", &grant.plaintext))
            });
        }
        group.finish();
    }

    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let stored = ClientSecret::hash_password(PASSWORD).expect("argon2id");
    let off = CredentialCache::disabled();
    let grant = Grant::with_cache(key.clone(), stored.clone(), PASSWORD.to_owned(), off);
    let mut group = c.benchmark_group("issue/EdDSA/argon2id");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.bench_function("sign only", |b| {
        b.iter(|| key.sign("at+jwt", black_box(&claims)).expect("sign"))
    });
    group.bench_function("TokenIssuer::issue", |b| {
        b.to_async(&rt).iter(|| grant.issue())
    });
    group.bench_function("ClientCredentialsTokenService", |b| {
        b.to_async(&rt).iter(|| grant.serve())
    });
    group.bench_function("wrong secret", |b| {
        b.to_async(&rt)
            .iter(|| grant.refuse(CLIENT, "correct horse battery stable"))
    });
    group.bench_function("unknown client", |b| {
        b.to_async(&rt).iter(|| grant.refuse("nobody", PASSWORD))
    });
    // The same refusals with the cache on and the client's secret cached: still Argon2id.
    let cached = Grant::new(key.clone(), stored, PASSWORD.to_owned());
    rt.block_on(cached.issue());
    group.bench_function("wrong secret, cache on, client cached", |b| {
        b.to_async(&rt)
            .iter(|| cached.refuse(CLIENT, "correct horse battery stable"))
    });
    group.bench_function("unknown client, cache on", |b| {
        b.to_async(&rt).iter(|| cached.refuse("nobody", PASSWORD))
    });
    group.finish();

    bench_cached(c, &rt, key, cached);
}

/// A repeated grant of an Argon2id client, served from the credential cache, against the
/// SHA-256 grant: interleaved criterion rounds, then a paired comparison.
fn bench_cached(c: &mut Criterion, rt: &Runtime, key: SigningKey, cached: Grant) {
    let sha256 = sha256_grant(key);
    rt.block_on(cached.issue()); // hashes only if the entry expired since
    let mut group = c.benchmark_group("issue/EdDSA/cached");
    group.throughput(Throughput::Elements(1));
    for round in 1..=ROUNDS {
        group.bench_function(format!("grant, SHA-256 client/{round}"), |b| {
            b.to_async(rt).iter(|| sha256.issue())
        });
        group.bench_function(
            format!("grant, Argon2id client, repeated (cached)/{round}"),
            |b| b.to_async(rt).iter(|| cached.issue()),
        );
    }
    group.finish();
    paired(
        "grant: SHA-256 client vs Argon2id client, repeated (cached)",
        || rt.block_on(sha256.issue()),
        || rt.block_on(cached.issue()),
    );
    let stats = cached.issuer.credential_cache_stats();
    eprintln!(
        "credential cache of the Argon2id issuer: {} hits, {} misses (Argon2id checks)",
        stats.hits, stats.misses
    );
}

/// Times `a` and `b` in alternating blocks (and which goes first); prints the median µs per
/// call of each, the median of the per-block ratios a / b (b's rate as a share of a's), and
/// the grants per second of each.
fn paired<A, B>(label: &str, a: impl Fn() -> A, b: impl Fn() -> B) {
    const BLOCKS: usize = 400;
    const CALLS: u32 = 50;
    fn time<T>(f: &impl Fn() -> T) -> f64 {
        let start = Instant::now();
        for _ in 0..CALLS {
            black_box(f());
        }
        start.elapsed().as_secs_f64() / f64::from(CALLS)
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
        ratios.push(ta / tb);
    }
    let (ta, tb) = (median(&mut times_a), median(&mut times_b));
    eprintln!(
        "paired {label}: {:.1} µs vs {:.1} µs ({:.0} vs {:.0} grants/s), median rate ratio {:.3}",
        ta * 1e6,
        tb * 1e6,
        1.0 / ta,
        1.0 / tb,
        median(&mut ratios)
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

criterion_group!(benches, bench_issue);
criterion_main!(benches);
