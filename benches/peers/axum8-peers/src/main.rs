//! axum-jwt-auth 0.7, oauth-resource-server 0.4, huskarl-axum 0.1 or tower-oauth2-resource-server
//! 0.12 (`PEER`) guarding `GET /auth`, and `GET /noauth` without it, each configured as its
//! README shows:
//!
//! - `axum-jwt-auth`: a `LocalDecoder` over `DecodingKey::from_ed_pem` / `from_ec_pem` and a
//!   `jsonwebtoken::Validation` for the one algorithm with the issuer and audience set; the
//!   handler takes the `Claims<T>` extractor (the crate has no layer).
//! - `oauth-resource-server`: an `OAuthConfig` with the issuer, audience and `require_at_jwt`
//!   (its default accepts `typ: JWT` or none, and refuses a config without a scope check or
//!   the `typ` check), the keys seeded with `initial_jwks` and `jwks_uri` on 127.0.0.1, and its
//!   `AuthLayer`.
//! - `huskarl`: huskarl-axum's "Protect existing routes": an `Rfc9068Validator` (from
//!   huskarl-resource-server 0.11) with the issuer, audience, `jwks_uri` and `jwks_source` over a
//!   `huskarl_reqwest::ReqwestClient` (the tutorial's `support::validator`, with the `jwks_uri`
//!   given instead of discovered: the issuer `https://auth.load.test` publishes no metadata), in a
//!   `ValidatorLayer` applied with `.authenticated()`.
//! - `tower-oauth2-resource-server`: `OAuth2ResourceServer::builder().add_tenant(..)` with a
//!   `TenantConfiguration::builder(issuer).jwks_url(..).audiences(..)` (`jwks_url` is the
//!   documented way to skip OIDC discovery, which would fetch
//!   `https://auth.load.test/.well-known/openid-configuration`) and `into_layer()`.
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

async fn huskarl() -> Result<Router, Box<dyn std::error::Error>> {
    use huskarl_axum::layers::ValidatorLayer;
    use huskarl_axum::resource_server::core::EndpointUrl;
    use huskarl_axum::resource_server::validator::rfc9068::Rfc9068Validator;

    let client = huskarl_reqwest::ReqwestClient::builder()
        .mtls(huskarl_reqwest::mtls::NoMtls)
        .build()
        .await?;
    let jwks_uri: EndpointUrl = env("JWKS_URL").parse()?;
    // Builds only once the JWKS is fetched (its default `JwksStartup::FailFast`).
    let validator = Rfc9068Validator::builder()
        .issuer(env("ISSUER"))
        .audience(env("AUDIENCE"))
        .jwks_uri(jwks_uri)
        .jwks_source(client)
        .build()
        .await?;
    let auth = ValidatorLayer::builder().validator(validator).build();
    Ok(Router::new()
        .route("/auth", get(hello))
        .route_layer(auth.authenticated())
        .route("/noauth", get(hello)))
}

async fn tower_oauth2_resource_server() -> Result<Router, Box<dyn std::error::Error>> {
    use tower_oauth2_resource_server::server::OAuth2ResourceServer;
    use tower_oauth2_resource_server::tenant::TenantConfiguration;

    let server = <OAuth2ResourceServer>::builder()
        .add_tenant(
            TenantConfiguration::builder(env("ISSUER"))
                .jwks_url(env("JWKS_URL"))
                .audiences(&[env("AUDIENCE")])
                .build()
                .await?,
        )
        .build()
        .await?;
    // Its first JWKS fetch runs in a spawned task (then every 60 s): give it time to land
    // before announcing readiness.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    Ok(Router::new()
        .route("/auth", get(hello))
        .route_layer(server.into_layer())
        .route("/noauth", get(hello)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = match env("PEER").as_str() {
        "axum-jwt-auth" => axum_jwt_auth()?,
        "oauth-resource-server" => oauth_resource_server()?,
        "huskarl" => huskarl().await?,
        "tower-oauth2-resource-server" => tower_oauth2_resource_server().await?,
        other => return Err(format!("unknown PEER {other}").into()),
    };
    let listener = tokio::net::TcpListener::bind(env("ADDR")).await?;
    println!("ready http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
