//! End-to-end: the built demo binary (`examples/server.rs`) as a child process on a free port,
//! driven over HTTP with reqwest, the `oauth2` crate, and the README's own curl lines.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, TokenResponse as _, TokenUrl};
use serde_json::{Value, json};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// The running demo; killed when dropped, so a failed assertion never leaks the process.
struct Demo {
    child: Child,
    base: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `target/<profile>/examples/server`, next to this test binary's `deps` folder; built with
/// cargo if it is not there (when only this test target was built).
fn demo_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let binary = profile_dir
        .join("examples")
        .join(format!("server{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", "server", "--all-features"])
            .current_dir(MANIFEST_DIR)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building the demo failed");
    }
    binary
}

fn start_demo() -> Demo {
    let mut child = Command::new(demo_binary())
        .current_dir(MANIFEST_DIR)
        .env("ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .env_remove("ISSUER")
        .env_remove("CLIENTS_FILE")
        .env_remove("SIGNING_KEY_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok);
        let _ = tx.send(first);
        // Keep draining so the demo never blocks on a full pipe.
        for _ in lines {}
    });
    let banner = rx.recv_timeout(Duration::from_secs(60)).ok().flatten();
    let Some(banner) = banner else {
        let _ = child.kill();
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        panic!("the demo did not start: {stderr}");
    };
    let base = banner
        .rsplit(' ')
        .next()
        .filter(|url| url.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("unexpected banner: {banner}"))
        .to_owned();
    Demo { child, base }
}

fn decode_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

async fn token_basic(base: &str, id: &str, secret: &str) -> Value {
    let response = reqwest::Client::new()
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
    let response = reqwest::Client::new()
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
    let demo = start_demo();
    let http = reqwest::Client::new();
    let clients = [
        ("demo", "demo-secret", "reports:read reports:write"),
        ("reader", "reader-secret", "reports:read"),
    ];
    for (id, secret, scope) in clients {
        for body in [
            token_basic(&demo.base, id, secret).await,
            token_post(&demo.base, id, secret).await,
        ] {
            assert_eq!(body["token_type"], "Bearer");
            assert_eq!(body["expires_in"], 900);
            assert_eq!(body["scope"], scope);
            let token = access_token(&body);

            let whoami: Value = http
                .get(format!("{}/api/whoami", demo.base))
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
            assert_eq!(whoami["iss"], demo.base.as_str());
            for key in ["exp", "iat", "jti"] {
                assert!(whoami.get(key).is_some(), "{key}");
            }

            let read = http
                .get(format!("{}/api/reports", demo.base))
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
                .post(format!("{}/api/reports", demo.base))
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
    let demo = start_demo();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for auth_type in [AuthType::BasicAuth, AuthType::RequestBody] {
        let client = BasicClient::new(ClientId::new("demo".into()))
            .set_client_secret(oauth2::ClientSecret::new("demo-secret".into()))
            .set_token_uri(TokenUrl::new(format!("{}/oauth2/token", demo.base)).expect("url"))
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
            .get(format!("{}/api/reports", demo.base))
            .bearer_auth(token.access_token().secret())
            .send()
            .await
            .expect("read");
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test]
async fn unauthenticated_and_bad_requests_get_the_documented_401s() {
    let demo = start_demo();
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", demo.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.expect("body"), "ok");

    let none = http
        .get(format!("{}/api/whoami", demo.base))
        .send()
        .await
        .expect("whoami");
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], r#"Bearer realm="api""#);

    let bad = http
        .get(format!("{}/api/reports", demo.base))
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
        .post(format!("{}/oauth2/token", demo.base))
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
    let demo = start_demo();
    let http = reqwest::Client::new();
    let metadata: Value = http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            demo.base
        ))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("json");
    assert_eq!(metadata["issuer"], demo.base.as_str());
    assert_eq!(
        metadata["token_endpoint"],
        format!("{}/oauth2/token", demo.base)
    );
    assert_eq!(
        metadata["jwks_uri"],
        format!("{}/.well-known/jwks.json", demo.base)
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
    let token = access_token(&token_basic(&demo.base, "demo", "demo-secret").await);
    let header = decode_part(&token, 0);
    let claims = decode_part(&token, 1);
    assert_eq!(claims["iss"], metadata["issuer"]);
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], header["kid"]);
    assert_eq!(keys[0]["alg"], header["alg"]);
    assert_eq!(header["typ"], "at+jwt");
}

#[tokio::test]
async fn sigterm_shuts_the_demo_down_gracefully() {
    let mut demo = start_demo();
    // bash's built-in kill: no procps needed on a bare machine.
    let status = Command::new("bash")
        .args(["-c", &format!("kill -TERM {}", demo.child.id())])
        .status()
        .expect("bash kill");
    assert!(status.success());
    for _ in 0..100 {
        if let Some(exit) = demo.child.try_wait().expect("wait") {
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

#[tokio::test]
async fn readme_curl_lines_work_against_the_demo() {
    let demo = start_demo();
    let readme =
        std::fs::read_to_string(Path::new(MANIFEST_DIR).join("README.md")).expect("README");
    let host = demo.base.trim_start_matches("http://");
    let script =
        readme_block(&readme, "<!-- readme-test: curl -->").replace("127.0.0.1:3000", host);
    let expected = readme_block(&readme, "<!-- readme-test: output -->");
    let script = format!("set -euo pipefail\n{script}");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg("-c")
            .arg(script)
            .output()
            .expect("bash runs")
    })
    .await
    .expect("join");
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
