//! One request through `BearerAuth` around a no-op service, against `jsonwebtoken::decode`
//! alone with the same key and token, per algorithm: uncached (every request verifies the
//! signature) and cached (the same token again, as a machine client sends it).
//!
//! Run: `cargo bench --bench protect`. Compare the two lines of each group as a ratio. With
//! `--features metrics`, the EdDSA group also measures the cached request with the Prometheus
//! recorder and with `metrics-util`'s `DebuggingRecorder` installed.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderValue, Request, Response};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::json;
use tower::{Layer, Service, service_fn};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::{BearerAuthLayer, ExtraClaims, Validator};

const ISS: &str = "https://auth.bench";
const AUD: &str = "bench-api";

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("bench futures complete at once"),
    }
}

fn bench_protect(c: &mut Criterion) {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "iss": ISS, "sub": "bench-client", "aud": AUD, "exp": now + 3600, "iat": now,
        "jti": "0123456789abcdef", "client_id": "bench-client", "scope": "reports:read reports:write",
    });
    for alg in [
        Algorithm::EdDSA,
        Algorithm::ES256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::HS256,
    ] {
        let key = if alg == Algorithm::HS256 {
            SigningKey::hmac(&[42u8; 32], "hs").expect("hmac key")
        } else {
            SigningKey::generate(alg).expect("keygen")
        };
        let token = key.sign("at+jwt", &claims).expect("sign");

        let decoding = match key.verifying_key().to_jwk() {
            Some(jwk) => DecodingKey::from_jwk(&jwk).expect("decoding key"),
            None => DecodingKey::from_secret(&[42u8; 32]),
        };
        let jwt_alg: jsonwebtoken::Algorithm = alg.as_str().parse().expect("alg");
        let mut validation = Validation::new(jwt_alg);
        validation.set_issuer(&[ISS]);
        validation.set_audience(&[AUD]);

        let validator = |capacity| {
            Validator::builder()
                .issuer(ISS, KeySource::local(KeyRing::new(key.clone())))
                .audience(AUD)
                .cache_capacity(capacity)
                .build()
                .expect("validator")
        };
        let noop = service_fn(|_req: Request<()>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
        let mut uncached = BearerAuthLayer::new(validator(0)).layer(noop);
        let mut cached = BearerAuthLayer::new(validator(10_000)).layer(noop);
        let header = HeaderValue::from_str(&format!("Bearer {token}")).expect("header");

        let mut group = c.benchmark_group(format!("protect/{alg}"));
        group.bench_function("jsonwebtoken::decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<ExtraClaims>(&token, &decoding, &validation).expect("valid")
            })
        });
        let request = || {
            let mut req = Request::new(());
            req.headers_mut()
                .insert(http::header::AUTHORIZATION, header.clone());
            req
        };
        group.bench_function("BearerAuth (uncached)", |b| {
            b.iter(|| {
                let response = ready(uncached.call(request())).expect("infallible");
                assert_eq!(response.status(), 200);
                response
            })
        });
        let mut cached_request = || {
            let response = ready(cached.call(request())).expect("infallible");
            assert_eq!(response.status(), 200);
            response
        };
        group.bench_function("BearerAuth (cached)", |b| b.iter(&mut cached_request));
        // Feature `metrics`: the same cached request with a recorder installed (each records
        // `tcc_bearer_requests_total{outcome="ok"}` and `tcc_verify_cache_lookups_total{outcome="hit"}`);
        // the line above is then the feature with no recorder.
        #[cfg(feature = "metrics")]
        if alg == Algorithm::EdDSA {
            let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let handle = prometheus.handle();
            metrics::with_local_recorder(&prometheus, || {
                group.bench_function("BearerAuth (cached, Prometheus recorder)", |b| {
                    b.iter(&mut cached_request)
                });
            });
            assert!(handle.render().contains("tcc_bearer_requests_total"));
            let debugging = metrics_util::debugging::DebuggingRecorder::new();
            metrics::with_local_recorder(&debugging, || {
                group.bench_function("BearerAuth (cached, DebuggingRecorder)", |b| {
                    b.iter(&mut cached_request)
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_protect);
criterion_main!(benches);
