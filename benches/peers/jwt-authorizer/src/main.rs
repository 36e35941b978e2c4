//! jwt-authorizer 0.15 guarding `GET /auth` (and `GET /noauth` without it), configured as its
//! README shows for a local public key: `JwtAuthorizer::from_ed_pem` / `from_ec_pem`, with the
//! issuer and audience the harness's tokens carry (jwt-authorizer checks neither unless told).
//!
//! Environment: `ADDR`, `ALG` (`EdDSA` or `ES256`), `PUBKEY_PEM` (SPKI PEM file), `ISSUER`,
//! `AUDIENCE`. Prints `ready http://ADDR` once listening.

use axum::routing::get;
use axum::{Json, Router};
use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, RegisteredClaims, Validation};
use serde_json::{json, Value};

async fn hello() -> Json<Value> {
    Json(json!({"message": "hello"}))
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is required"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pem = env("PUBKEY_PEM");
    let builder = match env("ALG").as_str() {
        "EdDSA" => JwtAuthorizer::<RegisteredClaims>::from_ed_pem(&pem),
        "ES256" => JwtAuthorizer::<RegisteredClaims>::from_ec_pem(&pem),
        other => return Err(format!("unsupported ALG {other}").into()),
    };
    let auth: Authorizer<RegisteredClaims> = builder
        .validation(
            Validation::new()
                .iss(&[env("ISSUER")])
                .aud(&[env("AUDIENCE")]),
        )
        .build()
        .await?;
    let app = Router::new()
        .route("/auth", get(hello))
        .layer(auth.into_layer())
        .route("/noauth", get(hello));
    let listener = tokio::net::TcpListener::bind(env("ADDR")).await?;
    println!("ready http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
