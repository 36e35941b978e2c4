//! The flood client of `scripts/load.sh`: sends `COUNT` (default 1 000 000) distinct valid
//! tokens, one per request, to `URL` over `CONNECTIONS` (default 32) keep-alive connections,
//! signing each token itself with the key `load_target` wrote (`KEY_FILE`, EdDSA PKCS#8 PEM),
//! so that no token file of a million lines is needed. Prints one line:
//! `flood sent=… ok=… other=… failed=… secs=… rate=…`.
//!
//! ```text
//! URL=http://127.0.0.1:3105/eddsa/auth KEY_FILE=target/load/flood/eddsa.key.pem \
//!     cargo run --release --example load_flood
//! ```
//!
//! Only ever point it at a target of your own on 127.0.0.1.

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tower_client_credentials::keys::{Algorithm, SigningKey};

const ISSUER: &str = "https://auth.load.test";
const AUDIENCE: &str = "load";

#[derive(Default)]
struct Counts {
    next: AtomicU64,
    ok: AtomicU64,
    other: AtomicU64,
    failed: AtomicU64,
}

async fn worker(
    client: reqwest::Client,
    url: Arc<str>,
    key: SigningKey,
    count: u64,
    counts: Arc<Counts>,
) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    loop {
        let i = counts.next.fetch_add(1, Ordering::Relaxed);
        if i >= count {
            return;
        }
        let claims = json!({"iss": ISSUER, "sub": "flood", "aud": AUDIENCE, "exp": now + 3600,
                            "iat": now, "jti": format!("flood-{i}"), "client_id": "flood",
                            "scope": "reports:read"});
        let Ok(token) = key.sign("at+jwt", &claims) else {
            counts.failed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let sent = client.get(&*url).bearer_auth(token).send().await;
        let counter = match sent {
            Ok(response) if response.status().is_success() => {
                // Read the body so the connection goes back to the pool.
                let _ = response.bytes().await;
                &counts.ok
            }
            Ok(response) => {
                let _ = response.bytes().await;
                &counts.other
            }
            Err(_) => &counts.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let url: Arc<str> = env("URL")
        .unwrap_or_else(|| "http://127.0.0.1:3105/eddsa/auth".to_owned())
        .into();
    let key_file = env("KEY_FILE").unwrap_or_else(|| "target/load/eddsa.key.pem".to_owned());
    let count: u64 = env("COUNT").map_or(Ok(1_000_000), |v| v.parse())?;
    let connections: usize = env("CONNECTIONS").map_or(Ok(32), |v| v.parse())?;
    let key = SigningKey::from_pem(Algorithm::EdDSA, &std::fs::read(key_file)?)?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(connections)
        .build()?;

    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(worker(
                client.clone(),
                url.clone(),
                key.clone(),
                count,
                counts.clone(),
            ))
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let (ok, other, failed) = (load(&counts.ok), load(&counts.other), load(&counts.failed));
    let sent = ok + other + failed;
    println!(
        "flood sent={sent} ok={ok} other={other} failed={failed} secs={secs:.1} rate={:.0}",
        sent as f64 / secs
    );
    Ok(())
}
