//! End-to-end: the demo (`examples/server.rs`) served in-process on a free port and driven over
//! HTTP with reqwest and the `oauth2` crate; then the built demo binary as a child process for
//! what needs a real process: the README's curl lines against `cargo run --example server` as a
//! user runs it, and graceful shutdown on SIGTERM.

mod common;
// The example itself, so the test proves the code users run; its `main` and signal handling go
// unused here.
#[allow(dead_code)]
#[path = "../examples/server.rs"]
mod server_example;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::example_process::ExampleProcess;
use common::{decode_part, http, listen, serve_on};
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, TokenResponse as _, TokenUrl};
use serde_json::{Value, json};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// The demo's app with its default settings, served in-process; returns its base URL, which is
/// also its issuer (as `ISSUER` unset makes it).
async fn start_demo() -> String {
    let (listener, base) = listen().await;
    let config = server_example::Config {
        clients_file: Path::new(MANIFEST_DIR).join("examples/clients.toml"),
        ..server_example::Config::default()
    };
    let issuer = server_example::token_issuer(&config, base.clone()).expect("demo issuer");
    serve_on(listener, server_example::app(&issuer).expect("demo app"));
    base
}

/// The demo binary, freshly built, on a free port with no `ISSUER`, `CLIENTS_FILE` or
/// `SIGNING_KEY_FILE` from the caller's environment; returns it with the base URL its banner
/// announces.
fn start_demo_binary() -> (ExampleProcess, String) {
    let demo = ExampleProcess::start("server", |command| {
        command
            .env("ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .env_remove("ISSUER")
            .env_remove("CLIENTS_FILE")
            .env_remove("SIGNING_KEY_FILE");
    });
    let banner = demo.first_line();
    let base = banner
        .strip_prefix("tower-client-credentials demo listening on ")
        .filter(|url| url.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("unexpected banner: {banner}"))
        .to_owned();
    (demo, base)
}

async fn token_basic(base: &str, id: &str, secret: &str) -> Value {
    let response = http()
        .post(format!("{base}/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    response.json().await.expect("json")
}

async fn token_post(base: &str, id: &str, secret: &str) -> Value {
    let response = http()
        .post(format!("{base}/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

fn access_token(body: &Value) -> String {
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

#[tokio::test]
async fn every_client_and_auth_method_reads_and_only_demo_writes() {
    let base = start_demo().await;
    let http = http();
    let clients = [
        ("demo", "demo-secret", "reports:read reports:write"),
        ("reader", "reader-secret", "reports:read"),
    ];
    for (id, secret, scope) in clients {
        for body in [
            token_basic(&base, id, secret).await,
            token_post(&base, id, secret).await,
        ] {
            assert_eq!(body["token_type"], "Bearer");
            assert_eq!(body["expires_in"], 900);
            assert_eq!(body["scope"], scope);
            let token = access_token(&body);

            let whoami: Value = http
                .get(format!("{}/api/whoami", base))
                .bearer_auth(&token)
                .send()
                .await
                .expect("whoami")
                .json()
                .await
                .expect("json");
            let claims = decode_part(&token, 1);
            assert_eq!(whoami, claims);
            assert_eq!(whoami["sub"], id);
            assert_eq!(whoami["client_id"], id);
            assert_eq!(whoami["aud"], "reports-api");
            assert_eq!(whoami["iss"], base.as_str());
            for key in ["exp", "iat", "jti"] {
                assert!(whoami.get(key).is_some(), "{key}");
            }

            let read = http
                .get(format!("{}/api/reports", base))
                .bearer_auth(&token)
                .send()
                .await
                .expect("read");
            assert_eq!(read.status(), 200);
            let list: Value = read.json().await.expect("json");
            assert_eq!(
                list[0],
                json!({"id": 1, "title": "Q1 revenue", "author": "finance"})
            );

            let write = http
                .post(format!("{}/api/reports", base))
                .bearer_auth(&token)
                .json(&json!({"title": format!("by {id}")}))
                .send()
                .await
                .expect("write");
            if id == "demo" {
                assert_eq!(write.status(), 201);
                let created: Value = write.json().await.expect("json");
                assert_eq!(created["title"], "by demo");
                assert_eq!(created["author"], "demo");
            } else {
                assert_eq!(write.status(), 403);
                assert_eq!(
                    write.headers()["www-authenticate"],
                    r#"Bearer realm="api", error="insufficient_scope", scope="reports:write""#
                );
                assert_eq!(write.text().await.expect("body"), "");
            }
        }
    }
}

#[tokio::test]
async fn oauth2_crate_gets_tokens_with_basic_and_post() {
    let base = start_demo().await;
    let http = http();
    for auth_type in [AuthType::BasicAuth, AuthType::RequestBody] {
        let client = BasicClient::new(ClientId::new("demo".into()))
            .set_client_secret(oauth2::ClientSecret::new("demo-secret".into()))
            .set_token_uri(TokenUrl::new(format!("{}/oauth2/token", base)).expect("url"))
            .set_auth_type(auth_type);
        let token = client
            .exchange_client_credentials()
            .add_scope(oauth2::Scope::new("reports:read".into()))
            .request_async(&http)
            .await
            .expect("grant");
        assert_eq!(
            token
                .scopes()
                .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            Some(vec!["reports:read".to_owned()])
        );
        let response = http
            .get(format!("{}/api/reports", base))
            .bearer_auth(token.access_token().secret())
            .send()
            .await
            .expect("read");
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test]
async fn unauthenticated_and_bad_requests_get_the_documented_401s() {
    let base = start_demo().await;
    let http = http();
    let health = http
        .get(format!("{}/healthz", base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.expect("body"), "ok");

    let none = http
        .get(format!("{}/api/whoami", base))
        .send()
        .await
        .expect("whoami");
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], r#"Bearer realm="api""#);

    let bad = http
        .get(format!("{}/api/reports", base))
        .bearer_auth("not.a.token")
        .send()
        .await
        .expect("reports");
    assert_eq!(bad.status(), 401);
    assert_eq!(
        bad.headers()["www-authenticate"],
        r#"Bearer realm="api", error="invalid_token", error_description="the token is malformed""#
    );

    let wrong = http
        .post(format!("{}/oauth2/token", base))
        .basic_auth("demo", Some("not-the-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.headers()["www-authenticate"],
        r#"Basic realm="token""#
    );
    assert_eq!(
        wrong.json::<Value>().await.expect("json"),
        json!({"error": "invalid_client", "error_description": "client authentication failed"})
    );
}

#[tokio::test]
async fn discovery_documents_match_the_issued_tokens() {
    let base = start_demo().await;
    let http = http();
    let metadata: Value = http
        .get(format!("{}/.well-known/oauth-authorization-server", base))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("json");
    assert_eq!(metadata["issuer"], base.as_str());
    assert_eq!(metadata["token_endpoint"], format!("{}/oauth2/token", base));
    assert_eq!(
        metadata["jwks_uri"],
        format!("{}/.well-known/jwks.json", base)
    );
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["client_credentials"])
    );
    assert_eq!(
        metadata["scopes_supported"],
        json!(["reports:read", "reports:write"])
    );

    let jwks: Value = http
        .get(metadata["jwks_uri"].as_str().expect("jwks_uri"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let token = access_token(&token_basic(&base, "demo", "demo-secret").await);
    let header = decode_part(&token, 0);
    let claims = decode_part(&token, 1);
    assert_eq!(claims["iss"], metadata["issuer"]);
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], header["kid"]);
    assert_eq!(keys[0]["alg"], header["alg"]);
    assert_eq!(header["typ"], "at+jwt");
}

#[test]
fn sigterm_shuts_the_demo_down_gracefully() {
    let (mut demo, _) = start_demo_binary();
    // bash's built-in kill: no procps needed on a bare machine.
    let status = Command::new("bash")
        .args(["-c", &format!("kill -TERM {}", demo.id())])
        .status()
        .expect("bash kill");
    assert!(status.success());
    for _ in 0..100 {
        if let Some(exit) = demo.try_wait() {
            assert!(exit.success(), "exit status {exit}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the demo did not stop within 5 s of SIGTERM");
}

/// The code block after `marker` in README.md.
fn readme_block(readme: &str, marker: &str) -> String {
    let after = readme
        .split_once(marker)
        .unwrap_or_else(|| panic!("README.md lacks {marker}"))
        .1;
    let fence_start = after.find("```").expect("opening fence");
    let body = &after[fence_start..];
    let body = &body[body.find('\n').expect("fence line") + 1..];
    body[..body.find("```").expect("closing fence")].to_owned()
}

/// The variables through which curl would send loopback calls to a proxy.
const PROXY_VARIABLES: [&str; 6] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
];

/// Against the binary, as the README has the reader start it.
#[test]
fn readme_curl_lines_work_against_the_demo() {
    let (_demo, base) = start_demo_binary();
    let readme =
        std::fs::read_to_string(Path::new(MANIFEST_DIR).join("README.md")).expect("README");
    let host = base.trim_start_matches("http://");
    let script =
        readme_block(&readme, "<!-- readme-test: curl -->").replace("127.0.0.1:3000", host);
    let expected = readme_block(&readme, "<!-- readme-test: output -->");
    let mut bash = Command::new("bash");
    for variable in PROXY_VARIABLES {
        bash.env_remove(variable);
    }
    let output = bash
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).replace(host, "127.0.0.1:3000");
    assert!(
        output.status.success(),
        "README script failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let actual: Vec<&str> = stdout.lines().map(|l| l.trim_end_matches('\r')).collect();
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            actual.iter().any(|a| a.eq_ignore_ascii_case(line)),
            "README promises the line\n  {line}\nbut the demo printed\n{stdout}"
        );
    }
}
