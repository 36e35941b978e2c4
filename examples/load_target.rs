//! The target of `scripts/load.sh`: one axum app with the same JSON handler behind no auth,
//! behind `BearerAuthLayer` (default, with its verified-token cache) and behind
//! `BearerAuthLayer` with the cache off. Prints a valid token on the first line of stdout.
//!
//! ```text
//! cargo run --release --example load_target   # ADDR defaults to 127.0.0.1:3100
//! ```

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::{BearerAuthLayer, Validator};

const ISSUER: &str = "https://auth.load.test";

async fn hello() -> Json<Value> {
    Json(json!({"message": "hello"}))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let alg = match std::env::var("ALG").as_deref() {
        Ok(name) => name.parse()?,
        Err(_) => Algorithm::EdDSA,
    };
    let ring = KeyRing::new(SigningKey::generate(alg)?);
    let validator = Validator::builder()
        .issuer(ISSUER, KeySource::local(ring.clone()))
        .audience("load")
        .build()?;
    // The same checks with the verified-token cache off: every request verifies a signature.
    let uncached = Validator::builder()
        .issuer(ISSUER, KeySource::local(ring.clone()))
        .audience("load")
        .cache_capacity(0)
        .build()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let token = ring.active().sign(
        "at+jwt",
        &json!({"iss": ISSUER, "sub": "load", "aud": "load", "exp": now + 3600, "iat": now,
                "jti": "load-1", "client_id": "load", "scope": "reports:read"}),
    )?;

    let app = Router::new()
        .route("/noauth", get(hello))
        .merge(
            Router::new()
                .route("/auth", get(hello))
                .layer(BearerAuthLayer::new(validator)),
        )
        .merge(
            Router::new()
                .route("/auth-uncached", get(hello))
                .layer(BearerAuthLayer::new(uncached)),
        );
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3100".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("{token}");
    axum::serve(listener, app).await?;
    Ok(())
}
