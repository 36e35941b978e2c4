//! The outbound client's hot path: `CachedTokenSource::token()` when it holds a fresh token
//! (a cache hit), polled once with a no-op waker as any caller's first poll would.
//!
//! Baselines in the same run: `Clock::now()` alone (the system clock read every hit pays), and
//! a naive cache, a `Mutex<Option<String>>` whose token is cloned per call (what hand-written
//! token caches often do). Lines run in [`ROUNDS`] interleaved rounds (`…/1`, `…/2`, …) so a
//! load swing on a shared machine hits every line; compare within a round.
//!
//! Before the timings, the bench counts the heap allocations of 100 000 hits (after the first
//! on the thread, which sets up arc-swap's per-thread state once) with a counting
//! global allocator and prints them (the target is none).
//!
//! Run: `cargo bench --bench outbound`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use axum::Router;
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tower_client_credentials::outbound::{CachedTokenSource, ClientCredentials, TokenSource};
use tower_client_credentials::time::Clock;

/// Interleaved rounds per group.
const ROUNDS: usize = 3;

/// The system allocator, counting allocations per thread (the runtime's worker threads
/// allocate on their own; only the calling thread's count matters here).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn count_one() {
    // `try_with`: a thread being torn down has no counter left, and allocates no hit.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Polls `future` once; it must be ready (a cache hit is).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a cache hit must be ready at the first poll"),
    }
}

fn bench_outbound(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let token = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl";
    let source = runtime.block_on(async {
        let app = Router::new().route(
            "/oauth2/token",
            post(move || async move {
                axum::Json(
                    json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600}),
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        let client = ClientCredentials::builder()
            .token_endpoint(format!("{base}/oauth2/token"))
            .client_id("bench")
            .client_secret("bench-secret")
            .build()
            .expect("client");
        let source = CachedTokenSource::new(client);
        source.token().await.expect("first token");
        source
    });

    // The first hit on a thread sets up arc-swap's per-thread debt slots (one allocation,
    // once); the count starts after it.
    black_box(ready(source.token()).expect("hit"));
    let before = allocations();
    for _ in 0..100_000 {
        black_box(ready(source.token()).expect("hit"));
    }
    let allocated = allocations() - before;
    println!("allocations in 100000 cached token() calls: {allocated}");

    let clock = Clock::system();
    let naive = Mutex::new(Some(token.to_owned()));
    let mut group = c.benchmark_group("outbound");
    for round in 1..=ROUNDS {
        group.bench_function(format!("cached-token/{round}"), |b| {
            b.iter(|| black_box(ready(source.token()).expect("hit")))
        });
        group.bench_function(format!("clock-now/{round}"), |b| {
            b.iter(|| black_box(clock.now()))
        });
        group.bench_function(format!("naive-mutex-string/{round}"), |b| {
            b.iter(|| black_box(naive.lock().expect("lock").clone()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_outbound);
criterion_main!(benches);
