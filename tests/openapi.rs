//! The OpenAPI security scheme (feature `utoipa`) over real HTTP: built from a running issuer's
//! own RFC 8414 metadata as a client fetches it, and served in an app's `/openapi.json`.

mod common;

use axum::Router;
use axum::routing::get;
use common::{http, serve};
use serde_json::{Value, json};
use tower_client_credentials::clients::MemoryClientStore;
use tower_client_credentials::issue::{TokenIssuer, discovery_routes};
use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};
use tower_client_credentials::openapi::{ClientCredentialsScheme, OpenApiError};
use utoipa::Modify;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};
use utoipa::openapi::{InfoBuilder, OpenApiBuilder};

fn issuer(url: &str) -> TokenIssuer {
    TokenIssuer::builder()
        .issuer(url)
        .keys(KeyRing::new(
            SigningKey::generate(Algorithm::EdDSA).unwrap(),
        ))
        .clients(MemoryClientStore::new())
        .scopes_supported(["orders:read", "orders:write"])
        .build()
        .unwrap()
}

/// An issuer served on 127.0.0.1 under its own base URL; returns it with that URL.
async fn served_issuer() -> (TokenIssuer, String) {
    let (listener, base) = common::listen().await;
    let issuer = issuer(&base);
    common::serve_on(listener, discovery_routes(&issuer));
    (issuer, base)
}

#[tokio::test]
async fn the_scheme_from_fetched_metadata_is_the_scheme_from_the_issuer() {
    let (issuer, base) = served_issuer().await;
    let response = http()
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let document = response.bytes().await.unwrap();

    let fetched = ClientCredentialsScheme::from_metadata_json(&document).unwrap();
    assert_eq!(fetched, ClientCredentialsScheme::from_issuer(&issuer));
    assert_eq!(fetched.token_url(), format!("{base}/oauth2/token"));
    assert_eq!(
        fetched.scopes().collect::<Vec<_>>(),
        ["orders:read", "orders:write"]
    );
    assert_eq!(
        serde_json::to_value(fetched.security_scheme()).unwrap(),
        json!({
            "type": "oauth2",
            "flows": { "clientCredentials": {
                "tokenUrl": format!("{base}/oauth2/token"),
                "scopes": { "orders:read": "", "orders:write": "" }
            } }
        })
    );
}

#[tokio::test]
async fn an_app_serves_its_openapi_document_with_the_scheme_and_requirements() {
    let issuer = issuer("https://auth.example.com");
    let scheme = ClientCredentialsScheme::from_issuer(&issuer)
        .name("m2m")
        .scope("orders:read", "Read orders")
        .scope("orders:write", "Place orders");
    let mut orders = PathItem::new(
        HttpMethod::Get,
        OperationBuilder::new()
            .security(scheme.requirement(["orders:read"]))
            .build(),
    );
    orders.post = Some(
        OperationBuilder::new()
            .security(scheme.requirement(["orders:write"]))
            .build(),
    );
    let mut doc = OpenApiBuilder::new()
        .info(InfoBuilder::new().title("orders").version("1").build())
        .paths(PathsBuilder::new().path("/orders", orders))
        .build();
    scheme.modify(&mut doc);
    let json = serde_json::to_string(&doc).unwrap();
    let app = Router::new().route("/openapi.json", get(move || async move { json }));
    let base = serve(app).await;

    let response = http()
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let served: Value = response.json().await.unwrap();
    assert_eq!(
        served["components"]["securitySchemes"],
        json!({ "m2m": {
            "type": "oauth2",
            "flows": { "clientCredentials": {
                "tokenUrl": "https://auth.example.com/oauth2/token",
                "scopes": { "orders:read": "Read orders", "orders:write": "Place orders" }
            } }
        } })
    );
    assert_eq!(
        served["paths"]["/orders"]["get"]["security"],
        json!([{ "m2m": ["orders:read"] }])
    );
    assert_eq!(
        served["paths"]["/orders"]["post"]["security"],
        json!([{ "m2m": ["orders:write"] }])
    );
}

#[tokio::test]
async fn metadata_that_a_server_answers_badly_is_a_typed_error() {
    // What a misconfigured or hostile metadata endpoint might answer, each served over HTTP.
    let cases: Vec<(&str, String, OpenApiError)> = vec![
        ("/html", "<html>not json</html>".into(), OpenApiError::Malformed),
        (
            "/no-token-endpoint",
            r#"{"issuer":"https://idp.example"}"#.into(),
            OpenApiError::MissingTokenEndpoint,
        ),
        (
            "/relative",
            r#"{"token_endpoint":"/oauth2/token"}"#.into(),
            OpenApiError::NotAbsoluteUrl {
                field: "token_endpoint",
            },
        ),
        (
            "/code-only",
            r#"{"token_endpoint":"https://idp.example/token","grant_types_supported":["authorization_code"]}"#
                .into(),
            OpenApiError::NoClientCredentialsGrant,
        ),
        (
            "/huge",
            format!(
                r#"{{"token_endpoint":"https://idp.example/token","pad":"{}"}}"#,
                "a".repeat(300 * 1024)
            ),
            OpenApiError::TooLarge,
        ),
    ];
    let mut app = Router::new();
    for (path, body, _) in &cases {
        let body = body.clone();
        app = app.route(path, get(move || async move { body }));
    }
    let base = serve(app).await;
    for (path, _, error) in cases {
        let document = http()
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(
            ClientCredentialsScheme::from_metadata_json(&document),
            Err(error),
            "{path}"
        );
    }
}
