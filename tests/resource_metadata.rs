//! RFC 9728 over HTTP on 127.0.0.1: the protected-resource metadata document at both forms of
//! its well-known URL, the `resource_metadata` parameter of every challenge behind a
//! `BearerAuthLayer`, and an MCP-style client that starts from a bare 401 and ends with a token
//! from the crate's own issuer (private_key_jwt, RFC 8707 `resource` → `aud`).

mod common;

use axum::Router;
use axum::routing::get;
use common::issue::{decode_segment, scopes};
use common::*;
use serde_json::{Value, json};
use tower_client_credentials::clients::{AuthMethod, Client, MemoryClientStore};
use tower_client_credentials::issue::{
    ClientCredentialsTokenService, TokenIssuer, discovery_routes,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::outbound::{
    CachedTokenSource, ClientCredentials, TokenSource, TokenSourceError,
};
use tower_client_credentials::protect::{ResourceMetadataConfigError, resource_metadata_routes};
use tower_client_credentials::token_endpoint::OAuthErrorCode;
use tower_client_credentials::{
    BearerAuthLayer, Claims, ProtectedResourceMetadata, RequireScopeLayer, Validator,
};

/// The client id of the MCP-style client (`private_key_jwt`).
const MCP_CLIENT: &str = "mcp-agent";

async fn whoami(claims: Claims) -> axum::Json<Claims> {
    axum::Json(claims)
}

/// The metadata of `resource`, naming `authorization_server`.
fn metadata_for(resource: &str, authorization_server: &str) -> ProtectedResourceMetadata {
    ProtectedResourceMetadata::builder(resource)
        .authorization_server(authorization_server)
        .scopes_supported(["tools:read", "tools:call"])
        .resource_name("Example MCP server")
        .resource_documentation("https://docs.example.com/mcp")
        .build()
        .expect("metadata")
}

/// The MCP-style resource of `metadata`, trusting `issuer` (with `keys`) for the audience
/// `metadata.resource()`: `GET /mcp` needs `tools:call`; the metadata is served beside it,
/// outside the bearer layer.
fn mcp_app(metadata: &ProtectedResourceMetadata, issuer: &str, keys: KeySource) -> Router {
    let validator = Validator::builder()
        .issuer(issuer, keys)
        .audience(metadata.resource())
        .build()
        .expect("validator");
    Router::new()
        .route(
            "/mcp",
            get(whoami).layer(RequireScopeLayer::all(["tools:call"])),
        )
        .layer(BearerAuthLayer::new(validator).resource_metadata(metadata))
        .merge(resource_metadata_routes(metadata))
}

/// [`mcp_app`] for a resource at `{base}/mcp`, served; returns the base URL and the metadata.
async fn resource_server(issuer: &str, keys: KeySource) -> (String, ProtectedResourceMetadata) {
    let (listener, base) = listen().await;
    let metadata = metadata_for(&format!("{base}/mcp"), issuer);
    serve_on(listener, mcp_app(&metadata, issuer, keys));
    (base, metadata)
}

/// The `resource_metadata` parameter of a `WWW-Authenticate: Bearer` challenge.
fn resource_metadata_param(challenge: &str) -> Option<&str> {
    let start = challenge.find("resource_metadata=\"")? + "resource_metadata=\"".len();
    let rest = &challenge[start..];
    Some(&rest[..rest.find('"')?])
}

#[tokio::test]
async fn the_document_is_served_field_by_field_at_the_path_suffixed_well_known_url() {
    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let (base, metadata) = resource_server(ISSUER, KeySource::local(KeyRing::new(key))).await;
    let url = format!("{base}/.well-known/oauth-protected-resource/mcp");
    assert_eq!(metadata.metadata_url(), url);

    let response = http().get(&url).send().await.expect("GET");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "public, max-age=3600");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.get("www-authenticate").is_none());
    let body = response.text().await.expect("body");
    assert_eq!(
        body,
        format!(
            concat!(
                r#"{{"resource":"{base}/mcp","authorization_servers":["https://auth.test"],"#,
                r#""scopes_supported":["tools:read","tools:call"],"bearer_methods_supported":["header"],"#,
                r#""resource_name":"Example MCP server","resource_documentation":"https://docs.example.com/mcp"}}"#
            ),
            base = base
        )
    );
    let document: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        document,
        json!({
            "resource": format!("{base}/mcp"),
            "authorization_servers": ["https://auth.test"],
            "scopes_supported": ["tools:read", "tools:call"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Example MCP server",
            "resource_documentation": "https://docs.example.com/mcp",
        })
    );

    let head = http().head(&url).send().await.expect("HEAD");
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "application/json");
    assert_eq!(head.text().await.expect("body"), "");

    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let refused = http()
            .request(method.clone(), &url)
            .send()
            .await
            .expect("request");
        assert_eq!(refused.status(), 405, "{method}");
        assert_eq!(refused.headers()["allow"], "GET, HEAD");
        assert_eq!(refused.text().await.expect("body"), "");
    }

    // Not the bare well-known path: that would be the metadata of a resource without a path.
    let bare = http()
        .get(format!("{base}/.well-known/oauth-protected-resource"))
        .send()
        .await
        .expect("GET");
    assert_eq!(bare.status(), 404);
}

#[tokio::test]
async fn a_resource_without_a_path_has_its_document_at_the_bare_well_known_url() {
    let (listener, base) = listen().await;
    let metadata = ProtectedResourceMetadata::builder(base.clone())
        .build()
        .expect("metadata");
    assert_eq!(
        metadata.metadata_path(),
        "/.well-known/oauth-protected-resource"
    );
    serve_on(listener, resource_metadata_routes(&metadata));

    let response = http()
        .get(format!("{base}/.well-known/oauth-protected-resource"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    assert_eq!(
        response.text().await.expect("body"),
        format!(r#"{{"resource":"{base}","bearer_methods_supported":["header"]}}"#)
    );
}

#[tokio::test]
async fn every_challenge_behind_the_layer_names_the_metadata() {
    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let (base, metadata) =
        resource_server(ISSUER, KeySource::local(KeyRing::new(key.clone()))).await;
    let pointer = format!(r#"resource_metadata="{}""#, metadata.metadata_url());
    let mcp = format!("{base}/mcp");
    let claims = |scope: &str| {
        let mut claims = access_claims("agent", scope);
        claims["aud"] = json!(mcp);
        claims
    };

    // 401, no token.
    let (status, challenge, body) = get_bearer(&mcp, None).await;
    assert_eq!(status, 401);
    assert_eq!(challenge, Some(format!(r#"Bearer realm="api", {pointer}"#)));
    assert_eq!(body, "");

    // 401, a token that is not one.
    let (status, challenge, _) = get_bearer(&mcp, Some("a.b.c")).await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge,
        Some(format!(
            r#"Bearer realm="api", {pointer}, error="invalid_token", error_description="the token is malformed""#
        ))
    );

    // 401, a valid token for another audience.
    let mut other = claims("tools:call");
    other["aud"] = json!(AUDIENCE);
    let (status, challenge, _) = get_bearer(&mcp, Some(&token(&key, &other))).await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge,
        Some(format!(
            r#"Bearer realm="api", {pointer}, error="invalid_token", error_description="the token audience is not accepted""#
        ))
    );

    // 403 from the RequireScopeLayer behind the bearer layer.
    let (status, challenge, _) = get_bearer(&mcp, Some(&token(&key, &claims("tools:read")))).await;
    assert_eq!(status, 403);
    assert_eq!(
        challenge,
        Some(format!(
            r#"Bearer realm="api", {pointer}, error="insufficient_scope", scope="tools:call""#
        ))
    );

    // 400 invalid_request carries it too (RFC 9728 §5.1 names 401 and 403; it harms nothing).
    let response = http()
        .get(&mcp)
        .header("authorization", "Bearer a b")
        .send()
        .await
        .expect("request");
    let (status, challenge, _) = parts(response).await;
    assert_eq!(status, 400);
    assert_eq!(
        challenge,
        Some(format!(
            r#"Bearer realm="api", {pointer}, error="invalid_request", error_description="malformed bearer token""#
        ))
    );

    // The right token passes, and the document needs none.
    let (status, challenge, _) = get_bearer(&mcp, Some(&token(&key, &claims("tools:call")))).await;
    assert_eq!((status, challenge), (200, None));
    let (status, _, _) = get_bearer(metadata.metadata_url(), None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_claims_extractor_behind_an_optional_layer_names_the_metadata_and_the_realm() {
    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let (listener, base) = listen().await;
    let metadata = metadata_for(&format!("{base}/mcp"), ISSUER);
    let validator = Validator::builder()
        .issuer(ISSUER, KeySource::local(KeyRing::new(key)))
        .audience(metadata.resource())
        .build()
        .expect("validator");
    // Set in either order, both parameters are kept.
    let layer = BearerAuthLayer::optional(validator)
        .resource_metadata(&metadata)
        .realm("tools");
    serve_on(
        listener,
        Router::new().route("/mcp", get(whoami)).layer(layer),
    );

    let (status, challenge, _) = get_bearer(&format!("{base}/mcp"), None).await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge,
        Some(format!(
            r#"Bearer realm="tools", resource_metadata="{base}/.well-known/oauth-protected-resource/mcp""#
        ))
    );
}

#[test]
fn bad_urls_are_typed_config_errors() {
    for resource in [
        "http://api.example.com/mcp",
        "https://api.example.com/mcp#tools",
        "/mcp",
        "api.example.com",
        "https://user:secret@api.example.com/mcp",
    ] {
        assert_eq!(
            ProtectedResourceMetadata::builder(resource).build(),
            Err(ResourceMetadataConfigError::BadResource),
            "{resource}"
        );
    }
    // http to loopback is fine (tests, local development).
    for resource in [
        "http://127.0.0.1:8080/mcp",
        "http://localhost/",
        "http://[::1]/",
    ] {
        assert!(
            ProtectedResourceMetadata::builder(resource).build().is_ok(),
            "{resource}"
        );
    }
    let error = ProtectedResourceMetadata::builder("https://api.example.com")
        .authorization_server("https://auth.example.com")
        .authorization_server("http://auth.example.com")
        .build()
        .unwrap_err();
    assert_eq!(
        error,
        ResourceMetadataConfigError::BadAuthorizationServer { index: 1 }
    );
    assert_eq!(
        error.to_string(),
        "authorization_servers[1] must be an https URL (http only to loopback) without credentials, query or fragment"
    );
    // The error never repeats the URL (which could carry credentials).
    let error = ProtectedResourceMetadata::builder("https://u:hunter2@api.example.com")
        .build()
        .unwrap_err();
    assert!(!format!("{error} {error:?}").contains("hunter2"));
}

/// The crate's issuer on 127.0.0.1 (its URL is its `iss`), with one `private_key_jwt` client
/// that may ask for the resource `resource_for(<issuer URL>)` (RFC 8707) and the `tools:*`
/// scopes. Returns the issuer URL, the issuer, the client's key and that resource.
async fn authorization_server(
    resource_for: impl FnOnce(&str) -> String,
) -> (String, TokenIssuer, SigningKey, String) {
    let (listener, base) = listen().await;
    let resource = resource_for(&base);
    let client_key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let clients = MemoryClientStore::new().with_client(
        Client::builder(MCP_CLIENT)
            .auth_methods([AuthMethod::PrivateKeyJwt])
            .keys([client_key.verifying_key().clone()])
            .allowed_scopes(scopes("tools:read tools:call"))
            .audiences([resource.clone()])
            .build()
            .expect("client"),
    );
    let issuer = TokenIssuer::builder()
        .issuer(base.clone())
        .keys(KeyRing::new(
            SigningKey::generate(Algorithm::EdDSA).expect("keygen"),
        ))
        .clients(clients)
        .scopes_supported(["tools:read", "tools:call"])
        .build()
        .expect("issuer");
    let app = Router::new()
        .route_service(
            "/oauth2/token",
            ClientCredentialsTokenService::new(issuer.clone()),
        )
        .merge(discovery_routes(&issuer));
    serve_on(listener, app);
    (base, issuer, client_key, resource)
}

#[tokio::test]
async fn an_mcp_client_goes_from_a_bare_401_to_a_token_bound_to_the_resource() {
    // The resource server must know its issuer, the issuer the resource (the client's allowed
    // audience): reserve the resource's port first.
    let (rs_listener, rs_base) = listen().await;
    let resource_url = format!("{rs_base}/mcp");
    let (as_base, issuer, client_key, _) = authorization_server(|_| resource_url.clone()).await;
    let metadata = metadata_for(&resource_url, &as_base);
    let keys = KeySource::local(issuer.keys().clone());
    serve_on(rs_listener, mcp_app(&metadata, &as_base, keys));

    // 1. Call without a token: the 401 says where the metadata is.
    let (status, challenge, _) = get_bearer(&resource_url, None).await;
    assert_eq!(status, 401);
    let challenge = challenge.expect("a challenge");
    let metadata_url = resource_metadata_param(&challenge).expect("resource_metadata");
    assert_eq!(
        metadata_url,
        format!("{rs_base}/.well-known/oauth-protected-resource/mcp")
    );

    // 2. Fetch it; RFC 9728 §3.3: its `resource` must be the URL the client called.
    let document: Value = http()
        .get(metadata_url)
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("json");
    assert_eq!(document["resource"], resource_url);
    assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    let authorization_server = document["authorization_servers"][0]
        .as_str()
        .expect("an authorization server");
    assert_eq!(authorization_server, as_base);

    // 3. Discover the authorization server (RFC 8414) and ask it for a token with
    //    private_key_jwt, for this resource (RFC 8707) and the scope the tool needs.
    let client = ClientCredentials::builder()
        .issuer(authorization_server)
        .client_id(MCP_CLIENT)
        .private_key_jwt(client_key)
        .scope("tools:call")
        .resource(document["resource"].as_str().expect("resource"))
        .build()
        .expect("client");
    let token = CachedTokenSource::new(client)
        .token()
        .await
        .expect("a token");
    let claims = decode_segment(token.secret(), 1);
    assert_eq!(claims["aud"], resource_url);
    assert_eq!(claims["iss"], as_base);
    assert_eq!(claims["client_id"], MCP_CLIENT);
    assert_eq!(claims["scope"], "tools:call");

    // 4. Call again with it.
    let (status, challenge, body) = get_bearer(&resource_url, Some(token.secret())).await;
    assert_eq!((status, challenge), (200, None));
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["aud"], resource_url);
    assert_eq!(body["sub"], MCP_CLIENT);
}

#[tokio::test]
async fn a_client_asking_for_another_resource_gets_no_token_for_it() {
    let (as_base, _, client_key, allowed) =
        authorization_server(|base| format!("{base}/not-the-mcp-server")).await;
    let client = ClientCredentials::builder()
        .issuer(as_base)
        .client_id(MCP_CLIENT)
        .private_key_jwt(client_key)
        .resource("https://mcp.example.com/mcp")
        .build()
        .expect("client");
    let error = CachedTokenSource::new(client).token().await.unwrap_err();
    let TokenSourceError::Refused {
        status,
        error: oauth,
    } = &error
    else {
        panic!("{error:?} (allowed: {allowed})");
    };
    assert_eq!(
        (*status, oauth.code()),
        (400, &OAuthErrorCode::InvalidTarget)
    );
}

#[tokio::test]
async fn grpc_calls_get_their_status_and_no_challenge_as_before() {
    use tower::ServiceExt;

    let metadata = metadata_for("https://mcp.example.com/mcp", ISSUER);
    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let app = mcp_app(&metadata, ISSUER, KeySource::local(KeyRing::new(key)));
    let request = http::Request::builder()
        .uri("/mcp")
        .version(http::Version::HTTP_2)
        .header("content-type", "application/grpc")
        .body(axum::body::Body::empty())
        .expect("request");
    let response = app.oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["grpc-status"], "16");
    assert!(response.headers().get("www-authenticate").is_none());
}
