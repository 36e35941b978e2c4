//! Tokens from other identity providers, over real HTTP: for each preset, a token shaped as
//! that provider documents its access tokens (header and claims), signed with a local RS256 key
//! published as a JWKS, reaches the handler with the client id and scopes the provider meant;
//! the same token for another audience or from another issuer gets the exact 401.
//!
//! Every issuer's key has the same `kid`, so each accepted token also proves that only its own
//! issuer's keys were tried.

mod common;

use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use serde_json::{Value, json};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::protect::{Provider, TrustedIssuer};
use tower_client_credentials::{BearerAuthLayer, Claims, RequireScopeLayer, Validator};

const KID: &str = "rsa-2026-01";

const KEYCLOAK: &str = "https://kc.example.test/realms/acme";
const AUTH0_DOMAIN: &str = "acme.eu.auth0.test";
const AUTH0: &str = "https://acme.eu.auth0.test/";
const AUTH0_API: &str = "https://reports.example.test/api";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const ENTRA_V2: &str =
    "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";
const ENTRA_V1: &str = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/";
/// Entra v2 tokens name the API by its application id, v1 tokens by its application id URI.
const ENTRA_APP_ID: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
const ENTRA_APP_URI: &str = "api://reports";
const OKTA: &str = "https://acme.okta.test/oauth2/default";

const BAD_AUDIENCE: &str = "the token audience is not accepted";
const BAD_ISSUER: &str = "the token issuer is not trusted";

/// What the handler saw.
async fn whoami(claims: Claims) -> Json<Value> {
    Json(json!({
        "iss": claims.iss,
        "client_id": claims.client_id,
        "scope": claims.scope.to_string(),
    }))
}

fn rsa_key() -> SigningKey {
    SigningKey::generate(Algorithm::RS256)
        .expect("keygen")
        .with_kid(KID)
}

/// The key's public half as the provider would publish it at its `jwks_uri`.
fn published(key: &SigningKey) -> KeySource {
    let jwks = KeyRing::new(key.clone()).jwks().to_json();
    KeySource::jwks(&jwks).expect("a usable JWKS")
}

/// `header.claims.signature`, exactly these JSON texts, RS256-signed by `key`: providers' headers
/// differ (no `typ`, an `x5t`), which `SigningKey::sign` does not write.
fn sign(key: &SigningKey, header: &Value, claims: &Value) -> String {
    use jsonwebtoken::EncodingKey;
    let pem = key.to_pkcs8_pem().expect("an RSA key has a PEM");
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("the key's own PEM");
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &encoding,
        jsonwebtoken::Algorithm::RS256,
    )
    .expect("signing");
    format!("{message}.{signature}")
}

/// One signing key per provider, all with the same `kid`.
struct Keys {
    keycloak: SigningKey,
    auth0: SigningKey,
    entra: SigningKey,
    okta: SigningKey,
}

/// A resource server that trusts all four providers, each through its preset and keys.
struct Api {
    base: String,
    keys: Keys,
}

fn trusted(keys: &Keys) -> Vec<TrustedIssuer> {
    vec![
        Provider::keycloak(KEYCLOAK)
            .with_keys(published(&keys.keycloak))
            .audience("reports-api"),
        Provider::auth0(AUTH0_DOMAIN)
            .with_keys(published(&keys.auth0))
            .audience(AUTH0_API),
        Provider::entra_id(TENANT)
            .with_keys(published(&keys.entra))
            .audience(ENTRA_APP_ID)
            .audience(ENTRA_APP_URI),
        Provider::okta(OKTA)
            .with_keys(published(&keys.okta))
            .audience("api://default"),
    ]
}

fn app(validator: Validator) -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .route(
            "/reports",
            get(whoami).layer(RequireScopeLayer::all(["reports:read"])),
        )
        .route(
            "/admin",
            get(whoami).layer(RequireScopeLayer::any(["reports-admin", "Reports.Admin"])),
        )
        .layer(BearerAuthLayer::new(validator))
}

async fn api() -> Api {
    let keys = Keys {
        keycloak: rsa_key(),
        auth0: rsa_key(),
        entra: rsa_key(),
        okta: rsa_key(),
    };
    let mut builder = Validator::builder();
    for issuer in trusted(&keys) {
        builder = builder.trust(issuer);
    }
    let validator = builder.build().expect("valid config");
    Api {
        base: serve(app(validator)).await,
        keys,
    }
}

impl Api {
    async fn get(&self, path: &str, token: &str) -> (u16, Option<String>, String) {
        get_bearer(&format!("{}{path}", self.base), Some(token)).await
    }

    /// `GET /whoami`, expecting 200: what the handler saw.
    async fn whoami(&self, token: &str) -> Value {
        let (status, challenge, body) = self.get("/whoami", token).await;
        assert_eq!((status, challenge), (200, None), "{body}");
        serde_json::from_str(&body).expect("JSON")
    }
}

fn refused(description: &str) -> (u16, Option<String>, String) {
    (401, invalid_token(description), String::new())
}

fn insufficient(scope: &str) -> (u16, Option<String>, String) {
    let challenge = format!(r#"Bearer realm="api", error="insufficient_scope", scope="{scope}""#);
    (403, Some(challenge), String::new())
}

/// `claims` with `changes` applied (a `null` removes the claim).
fn with(claims: &Value, changes: Value) -> Value {
    let mut claims = claims.clone();
    for (name, value) in changes.as_object().expect("an object") {
        match value {
            Value::Null => drop(claims.as_object_mut().expect("object").remove(name)),
            _ => claims[name] = value.clone(),
        }
    }
    claims
}

// --- Keycloak ------------------------------------------------------------------------------

fn keycloak_header() -> Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": KID})
}

/// A Keycloak service-account (client credentials) access token.
fn keycloak_claims() -> Value {
    let n = now();
    json!({
        "exp": n + 300, "iat": n, "jti": "0b0e5c8f-7b45-4c36-9d7a-8a2f0c4c1d1e",
        "iss": KEYCLOAK, "aud": "reports-api",
        "sub": "5a4b1f2e-9c1d-4e3b-8f7a-6d5c4b3a2f10", "typ": "Bearer",
        "azp": "reports-cli", "acr": "1", "allowed-origins": ["/*"],
        "realm_access": {"roles": ["default-roles-acme", "offline_access", "reports-admin"]},
        "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}},
        "scope": "profile email reports:read",
        "clientHost": "10.0.0.7", "email_verified": false,
        "preferred_username": "service-account-reports-cli", "clientAddress": "10.0.0.7",
    })
}

#[tokio::test]
async fn a_keycloak_token_passes_with_its_azp_and_realm_roles() {
    let api = api().await;
    let token = sign(&api.keys.keycloak, &keycloak_header(), &keycloak_claims());
    assert_eq!(
        api.whoami(&token).await,
        json!({
            "iss": KEYCLOAK, "client_id": "reports-cli",
            "scope": "default-roles-acme email offline_access profile reports-admin reports:read",
        })
    );
    assert_eq!(api.get("/reports", &token).await.0, 200);
    assert_eq!(api.get("/admin", &token).await.0, 200);
}

#[tokio::test]
async fn a_keycloak_token_for_another_audience_or_realm_is_refused() {
    let api = api().await;
    let key = &api.keys.keycloak;
    let other_aud = with(&keycloak_claims(), json!({"aud": "account"}));
    assert_eq!(
        api.get("/whoami", &sign(key, &keycloak_header(), &other_aud))
            .await,
        refused(BAD_AUDIENCE)
    );
    let other_realm = with(
        &keycloak_claims(),
        json!({"iss": "https://kc.example.test/realms/other"}),
    );
    assert_eq!(
        api.get("/whoami", &sign(key, &keycloak_header(), &other_realm))
            .await,
        refused(BAD_ISSUER)
    );
}

// --- Auth0 ---------------------------------------------------------------------------------

fn auth0_header() -> Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": KID})
}

/// An Auth0 machine-to-machine token (default token profile, RBAC permissions on).
fn auth0_claims() -> Value {
    let n = now();
    json!({
        "iss": AUTH0, "sub": "Xq3kMb8aPz1@clients",
        "aud": [AUTH0_API, "https://acme.eu.auth0.test/userinfo"],
        "iat": n, "exp": n + 86_400, "gty": "client-credentials",
        "azp": "Xq3kMb8aPz1", "scope": "reports:read reports:write",
        "permissions": ["reports:read", "reports:write", "Reports.Admin"],
    })
}

#[tokio::test]
async fn an_auth0_token_passes_with_its_array_audience_and_permissions() {
    let api = api().await;
    let token = sign(&api.keys.auth0, &auth0_header(), &auth0_claims());
    assert_eq!(
        api.whoami(&token).await,
        json!({
            "iss": AUTH0, "client_id": "Xq3kMb8aPz1",
            "scope": "Reports.Admin reports:read reports:write",
        })
    );
    assert_eq!(api.get("/reports", &token).await.0, 200);
    // `Reports.Admin` is only a permission: permissions are scopes too.
    assert_eq!(api.get("/admin", &token).await.0, 200);
    // The RFC 9068 profile: `at+jwt` and `client_id` instead of `azp`.
    let rfc9068 = with(
        &auth0_claims(),
        json!({"azp": null, "client_id": "Xq3kMb8aPz1", "jti": "73WakrfVbNJBaAmhQtEeDv"}),
    );
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": KID});
    let token = sign(&api.keys.auth0, &header, &rfc9068);
    assert_eq!(api.whoami(&token).await["client_id"], "Xq3kMb8aPz1");
}

#[tokio::test]
async fn an_auth0_token_for_another_audience_or_without_the_trailing_slash_is_refused() {
    let api = api().await;
    let key = &api.keys.auth0;
    let other_aud = with(
        &auth0_claims(),
        json!({"aud": ["https://other.example.test/api", "https://acme.eu.auth0.test/userinfo"]}),
    );
    assert_eq!(
        api.get("/whoami", &sign(key, &auth0_header(), &other_aud))
            .await,
        refused(BAD_AUDIENCE)
    );
    let no_slash = with(
        &auth0_claims(),
        json!({"iss": "https://acme.eu.auth0.test"}),
    );
    assert_eq!(
        api.get("/whoami", &sign(key, &auth0_header(), &no_slash))
            .await,
        refused(BAD_ISSUER)
    );
}

// --- Entra ID ------------------------------------------------------------------------------

fn entra_header() -> Value {
    json!({"typ": "JWT", "alg": "RS256", "x5t": KID, "kid": KID})
}

/// An Entra ID v2.0 app-only token (client credentials: application permissions in `roles`).
fn entra_v2_claims() -> Value {
    let n = now();
    json!({
        "aud": ENTRA_APP_ID, "iss": ENTRA_V2, "iat": n, "nbf": n, "exp": n + 3_599,
        "aio": "k2BgYJjW", "azp": "d3590ed6-52b3-4102-aeff-aad2292ab01c", "azpacr": "1",
        "idtyp": "app", "oid": "a1b2c3d4-0000-4000-8000-000000000001", "rh": "0.AAAA.",
        "roles": ["reports:read", "Reports.Admin"],
        "sub": "a1b2c3d4-0000-4000-8000-000000000001", "tid": TENANT,
        "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0",
    })
}

/// An Entra ID v1.0 delegated token (a user's `scp` on behalf of `appid`).
fn entra_v1_claims() -> Value {
    let n = now();
    json!({
        "aud": ENTRA_APP_URI, "iss": ENTRA_V1, "iat": n, "nbf": n, "exp": n + 3_599,
        "acr": "1", "aio": "AVQAq/8T", "amr": ["pwd", "mfa"],
        "appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "appidacr": "0",
        "name": "Alex Doe", "oid": "b2c3d4e5-0000-4000-8000-000000000002",
        "scp": "reports:read user_impersonation",
        "sub": "l3_roBmz9Vf4j2gGS7pB8Ha9ZxH0sDTYVRX6oLPoxTQ", "tid": TENANT,
        "unique_name": "alex@example.test", "upn": "alex@example.test",
        "uti": "AbC1dEf2GhI3", "ver": "1.0",
    })
}

#[tokio::test]
async fn entra_v2_and_v1_tokens_pass_with_their_own_client_and_scope_claims() {
    let api = api().await;
    let v2 = sign(&api.keys.entra, &entra_header(), &entra_v2_claims());
    assert_eq!(
        api.whoami(&v2).await,
        json!({
            "iss": ENTRA_V2, "client_id": "d3590ed6-52b3-4102-aeff-aad2292ab01c",
            "scope": "Reports.Admin reports:read",
        })
    );
    assert_eq!(api.get("/admin", &v2).await.0, 200);
    let v1 = sign(&api.keys.entra, &entra_header(), &entra_v1_claims());
    assert_eq!(
        api.whoami(&v1).await,
        json!({
            "iss": ENTRA_V1, "client_id": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
            "scope": "reports:read user_impersonation",
        })
    );
    assert_eq!(api.get("/reports", &v1).await.0, 200);
    assert_eq!(
        api.get("/admin", &v1).await,
        insufficient("reports-admin Reports.Admin")
    );
}

#[tokio::test]
async fn entra_tokens_for_another_audience_or_tenant_are_refused() {
    let api = api().await;
    let key = &api.keys.entra;
    for claims in [entra_v2_claims(), entra_v1_claims()] {
        let graph = with(
            &claims,
            json!({"aud": "00000003-0000-0000-c000-000000000000"}),
        );
        assert_eq!(
            api.get("/whoami", &sign(key, &entra_header(), &graph))
                .await,
            refused(BAD_AUDIENCE)
        );
    }
    for iss in [
        "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
        "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/",
    ] {
        let other = with(&entra_v2_claims(), json!({ "iss": iss }));
        assert_eq!(
            api.get("/whoami", &sign(key, &entra_header(), &other))
                .await,
            refused(BAD_ISSUER),
            "{iss}"
        );
    }
}

// --- Okta ----------------------------------------------------------------------------------

/// Okta's access tokens carry no `typ`.
fn okta_header() -> Value {
    json!({"kid": KID, "alg": "RS256"})
}

/// An Okta custom authorization server's client credentials token.
fn okta_claims() -> Value {
    let n = now();
    json!({
        "ver": 1, "jti": "AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE",
        "iss": OKTA, "aud": "api://default", "iat": n, "exp": n + 3_600,
        "cid": "0oa1reportsclient", "scp": ["reports:read", "reports:export"],
        "sub": "0oa1reportsclient",
    })
}

#[tokio::test]
async fn an_okta_token_passes_with_its_scp_array_and_cid() {
    let api = api().await;
    let token = sign(&api.keys.okta, &okta_header(), &okta_claims());
    assert_eq!(
        api.whoami(&token).await,
        json!({
            "iss": OKTA, "client_id": "0oa1reportsclient",
            "scope": "reports:export reports:read",
        })
    );
    // RequireScopeLayer reads the `scp` array.
    assert_eq!(api.get("/reports", &token).await.0, 200);
    assert_eq!(
        api.get("/admin", &token).await,
        insufficient("reports-admin Reports.Admin")
    );
    let without = with(&okta_claims(), json!({"scp": ["reports:export"]}));
    assert_eq!(
        api.get("/reports", &sign(&api.keys.okta, &okta_header(), &without))
            .await,
        insufficient("reports:read")
    );
}

#[tokio::test]
async fn an_okta_token_for_another_audience_or_authorization_server_is_refused() {
    let api = api().await;
    let key = &api.keys.okta;
    let other_aud = with(&okta_claims(), json!({"aud": "api://other"}));
    assert_eq!(
        api.get("/whoami", &sign(key, &okta_header(), &other_aud))
            .await,
        refused(BAD_AUDIENCE)
    );
    let org = with(&okta_claims(), json!({"iss": "https://acme.okta.test"}));
    assert_eq!(
        api.get("/whoami", &sign(key, &okta_header(), &org)).await,
        refused(BAD_ISSUER)
    );
}

// --- Across providers ----------------------------------------------------------------------

#[tokio::test]
async fn float_exp_and_iat_are_accepted_with_the_fraction_dropped() {
    let api = api().await;
    let n = now();
    let floats = with(
        &okta_claims(),
        json!({"iat": n as f64 - 0.25, "exp": n as f64 + 600.75}),
    );
    let token = sign(&api.keys.okta, &okta_header(), &floats);
    assert_eq!(api.whoami(&token).await["client_id"], "0oa1reportsclient");
    let text = with(&okta_claims(), json!({"exp": (n + 600).to_string()}));
    assert_eq!(
        api.get("/whoami", &sign(&api.keys.okta, &okta_header(), &text))
            .await,
        refused("the token lacks a required claim")
    );
}

#[tokio::test]
async fn equal_kids_of_two_issuers_never_cross() {
    let api = api().await;
    // Each provider's token, signed with another provider's key under the same kid.
    let crossed = [
        sign(&api.keys.auth0, &keycloak_header(), &keycloak_claims()),
        sign(&api.keys.keycloak, &auth0_header(), &auth0_claims()),
        sign(&api.keys.okta, &entra_header(), &entra_v2_claims()),
        sign(&api.keys.entra, &okta_header(), &okta_claims()),
    ];
    for token in crossed {
        assert_eq!(
            api.get("/whoami", &token).await,
            refused("the token signature is invalid")
        );
    }
    // A token naming no trusted issuer is refused before any key is tried.
    let stranger = with(&okta_claims(), json!({"iss": "https://idp.stranger.test"}));
    assert_eq!(
        api.get("/whoami", &sign(&api.keys.okta, &okta_header(), &stranger))
            .await,
        refused(BAD_ISSUER)
    );
}

#[tokio::test]
async fn allowed_clients_are_enforced() {
    let key = rsa_key();
    let validator = Validator::builder()
        .trust(
            Provider::keycloak(KEYCLOAK)
                .with_keys(published(&key))
                .audience("reports-api")
                .allowed_clients(["reports-cli"]),
        )
        .build()
        .expect("valid config");
    let base = serve(app(validator)).await;
    let url = format!("{base}/whoami");
    let ours = sign(&key, &keycloak_header(), &keycloak_claims());
    assert_eq!(get_bearer(&url, Some(&ours)).await.0, 200);
    for azp in [json!("billing-cli"), Value::Null] {
        let other = with(&keycloak_claims(), json!({ "azp": azp }));
        assert_eq!(
            get_bearer(&url, Some(&sign(&key, &keycloak_header(), &other))).await,
            refused("the token client is not allowed"),
            "{azp}"
        );
    }
}
