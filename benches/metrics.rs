//! What the `metrics` feature costs on the hot path: one request through `BearerAuth` with a
//! cached EdDSA token (as `benches/protect.rs` measures it), with no recorder, with the
//! Prometheus recorder (`metrics-exporter-prometheus`) and with `metrics-util`'s
//! `DebuggingRecorder`. Each request records `tcc_bearer_requests_total{outcome="ok"}` and
//! `tcc_verify_cache_lookups_total{outcome="hit"}`.
//!
//! Run: `cargo bench --features metrics --bench metrics`, and for the cost of the feature
//! itself compare "no recorder" with `cargo bench --bench protect -- 'EdDSA/BearerAuth \(cached\)'`
//! built without it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderValue, Request, Response};
use serde_json::json;
use tower::{Layer, Service, service_fn};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::{BearerAuthLayer, Validator};

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

fn bench_metrics(c: &mut Criterion) {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "iss": ISS, "sub": "bench-client", "aud": AUD, "exp": now + 3600, "iat": now,
        "jti": "0123456789abcdef", "client_id": "bench-client", "scope": "reports:read reports:write",
    });
    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let token = key.sign("at+jwt", &claims).expect("sign");
    let validator = Validator::builder()
        .issuer(ISS, KeySource::local(KeyRing::new(key)))
        .audience(AUD)
        .build()
        .expect("validator");
    let noop =
        service_fn(|_req: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) });
    let mut cached = BearerAuthLayer::new(validator).layer(noop);
    let header = HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
    let request = || {
        let mut req = Request::new(());
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, header.clone());
        req
    };
    let mut one = move || {
        let response = ready(cached.call(request())).expect("infallible");
        assert_eq!(response.status(), 200);
        response
    };

    let mut group = c.benchmark_group("metrics/BearerAuth (cached)");
    group.bench_function("no recorder", |b| b.iter(&mut one));
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = prometheus.handle();
    metrics::with_local_recorder(&prometheus, || {
        group.bench_function("Prometheus recorder", |b| b.iter(&mut one));
    });
    assert!(handle.render().contains("tcc_bearer_requests_total"));
    let debugging = metrics_util::debugging::DebuggingRecorder::new();
    metrics::with_local_recorder(&debugging, || {
        group.bench_function("DebuggingRecorder", |b| b.iter(&mut one));
    });
    group.finish();
}

criterion_group!(benches, bench_metrics);
criterion_main!(benches);
