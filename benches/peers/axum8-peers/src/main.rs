//! axum-jwt-auth 0.7 or oauth-resource-server 0.4 (`PEER`) guarding `GET /auth`, and
//! `GET /noauth` without it, each configured as its README shows:
//!
//! - `axum-jwt-auth`: a `LocalDecoder` over `DecodingKey::from_ed_pem` / `from_ec_pem` and a
//!   `jsonwebtoken::Validation` for the one algorithm with the issuer and audience set; the
//!   handler takes the `Claims<T>` extractor (the crate has no layer).
//! - `oauth-resource-server`: an `OAuthConfig` with the issuer, audience and `require_at_jwt`
//!   (its default accepts `typ: JWT` or none, and refuses a config without a scope check or
//!   the `typ` check), the keys seeded with `initial_jwks` and `jwks_uri` on 127.0.0.1, and its
//!   `AuthLayer`.
//!
//! Environment: `PEER`, `ADDR`, `ALG` (`EdDSA` or `ES256`), `PUBKEY_PEM` (SPKI PEM file),
//! `JWKS` (JWKS file), `JWKS_URL`, `ISSUER`, `AUDIENCE`. Prints `ready http://ADDR`.

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

async fn hello() -> Json<Value> {
    Json(json!({"message": "hello"}))
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is required"))
}

fn axum_jwt_auth() -> Result<Router, Box<dyn std::error::Error>> {
    use axum_jwt_auth::{Claims, Decoder, LocalDecoder};
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    let pem = std::fs::read(env("PUBKEY_PEM"))?;
    let (key, alg) = match env("ALG").as_str() {
        "EdDSA" => (DecodingKey::from_ed_pem(&pem)?, Algorithm::EdDSA),
        "ES256" => (DecodingKey::from_ec_pem(&pem)?, Algorithm::ES256),
        other => return Err(format!("unsupported ALG {other}").into()),
    };
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[env("ISSUER")]);
    validation.set_audience(&[env("AUDIENCE")]);
    let decoder: Decoder<Value> = Arc::new(
        LocalDecoder::builder()
            .keys(vec![key])
            .validation(validation)
            .build()?,
    );
    async fn guarded(_: Claims<Value>) -> Json<Value> {
        hello().await
    }
    Ok(Router::new()
        .route("/auth", get(guarded))
        .route("/noauth", get(hello))
        .with_state(decoder))
}

fn oauth_resource_server() -> Result<Router, Box<dyn std::error::Error>> {
    use oauth_resource_server::axum::AuthLayer;
    use oauth_resource_server::{static_token_policy, KeyNaming, OAuthConfig, OAuthValidator};

    let resolved = OAuthConfig {
        enabled: true,
        issuer: env("ISSUER"),
        jwks_uri: Some(env("JWKS_URL")),
        audience: env("AUDIENCE"),
        resource: "https://api.load.test".into(),
        require_at_jwt: true,
        ..OAuthConfig::default()
    }
    .resolve(KeyNaming::Dotted("oauth"))?
    .ok_or("OAuth is enabled")?;
    let validator = Arc::new(
        OAuthValidator::builder(&resolved)
            .initial_jwks(&std::fs::read_to_string(env("JWKS"))?)
            .build()?,
    );
    let decision = static_token_policy(None, Some(&resolved), false)?;
    let auth = AuthLayer::from_decision(decision, Some(validator))?;
    Ok(Router::new()
        .route("/auth", get(hello))
        .route_layer(auth)
        .route("/noauth", get(hello)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = match env("PEER").as_str() {
        "axum-jwt-auth" => axum_jwt_auth()?,
        "oauth-resource-server" => oauth_resource_server()?,
        other => return Err(format!("unknown PEER {other}").into()),
    };
    let listener = tokio::net::TcpListener::bind(env("ADDR")).await?;
    println!("ready http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
