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
    serve_on(
        listener,
        server_example::app(&issuer, &[]).expect("demo app"),
    );
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
                    format!(
                        r#"Bearer realm="api", resource_metadata="{base}/.well-known/oauth-protected-resource/api", error="insufficient_scope", scope="reports:write""#
                    )
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
    assert_eq!(
        none.headers()["www-authenticate"],
        format!(
            r#"Bearer realm="api", resource_metadata="{base}/.well-known/oauth-protected-resource/api""#
        )
    );

    let bad = http
        .get(format!("{}/api/reports", base))
        .bearer_auth("not.a.token")
        .send()
        .await
        .expect("reports");
    assert_eq!(bad.status(), 401);
    assert_eq!(
        bad.headers()["www-authenticate"],
        format!(
            r#"Bearer realm="api", resource_metadata="{base}/.well-known/oauth-protected-resource/api", error="invalid_token", error_description="the token is malformed""#
        )
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

/// RFC 9728: the API's metadata, where its 401s point, names the demo's issuer, whose tokens
/// it accepts.
#[tokio::test]
async fn the_api_serves_its_protected_resource_metadata_where_its_challenges_point() {
    let base = start_demo().await;
    let http = http();
    let none = http
        .get(format!("{base}/api/reports"))
        .send()
        .await
        .expect("reports");
    assert_eq!(none.status(), 401);
    let challenge = none.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let url = format!("{base}/.well-known/oauth-protected-resource/api");
    assert_eq!(
        challenge,
        format!(r#"Bearer realm="api", resource_metadata="{url}""#)
    );

    let response = http.get(&url).send().await.expect("metadata");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    let metadata: Value = response.json().await.expect("json");
    assert_eq!(
        metadata,
        json!({
            "resource": format!("{base}/api"),
            "authorization_servers": [base],
            "scopes_supported": ["reports:read", "reports:write"],
            "bearer_methods_supported": ["header"],
            "resource_name": "tower-client-credentials demo reports API",
        })
    );

    // The authorization server it names is the demo's: its token reads the reports.
    let issuer = metadata["authorization_servers"][0]
        .as_str()
        .expect("issuer");
    let as_metadata: Value = http
        .get(format!("{issuer}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("as metadata")
        .json()
        .await
        .expect("json");
    assert_eq!(as_metadata["issuer"], base.as_str());
    let token = access_token(&token_basic(&base, "reader", "reader-secret").await);
    let read = http
        .get(format!("{base}/api/reports"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("reports");
    assert_eq!(read.status(), 200);
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

// The demo's limits (issue 14): slowloris, report sizes, the bounded report list, the banner.

/// A `demo` token (may write reports) from the in-process demo at `base`.
async fn demo_token(base: &str) -> String {
    access_token(&token_basic(base, "demo", "demo-secret").await)
}

/// `POST /api/reports` with `body` as JSON, as the holder of `token`.
async fn post_report(base: &str, token: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    http()
        .post(format!("{base}/api/reports"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("post report")
}

async fn report_ids(base: &str, token: &str) -> Vec<u64> {
    let list: Value = http()
        .get(format!("{base}/api/reports"))
        .bearer_auth(token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    list.as_array()
        .expect("array")
        .iter()
        .map(|r| r["id"].as_u64().expect("id"))
        .collect()
}

/// A JSON report body of exactly `len` bytes: a short title and padding in a field the demo
/// ignores.
fn report_body_of_len(len: usize) -> String {
    let skeleton = r#"{"title":"padded","pad":""}"#;
    let body = format!(
        r#"{{"title":"padded","pad":"{}"}}"#,
        "x".repeat(len - skeleton.len())
    );
    assert_eq!(body.len(), len);
    body
}

#[tokio::test]
async fn report_titles_longer_than_200_characters_are_400() {
    let base = start_demo().await;
    let token = demo_token(&base).await;

    // Characters, not bytes: 200 two-byte characters are fine.
    let at_limit = "é".repeat(server_example::MAX_TITLE_CHARS);
    let created = post_report(&base, &token, json!({ "title": at_limit }).to_string()).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("json");
    assert_eq!(
        created["title"].as_str().map(|t| t.chars().count()),
        Some(200)
    );

    let over = "a".repeat(server_example::MAX_TITLE_CHARS + 1);
    let refused = post_report(&base, &token, json!({ "title": over }).to_string()).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.text().await.expect("body"),
        "the title is longer than 200 characters"
    );
    // The refusal stored nothing.
    assert_eq!(report_ids(&base, &token).await, [1, 2, 3]);
}

#[tokio::test]
async fn report_bodies_over_4_kib_are_413_with_or_without_content_length() {
    let base = start_demo().await;
    let token = demo_token(&base).await;
    let limit = server_example::MAX_REPORT_BODY_BYTES;

    let at_limit = post_report(&base, &token, report_body_of_len(limit)).await;
    assert_eq!(at_limit.status(), 201);

    let over = post_report(&base, &token, report_body_of_len(limit + 1)).await;
    assert_eq!(over.status(), 413);

    // Chunked, so no Content-Length announces the size: the limit holds while reading.
    let chunks: Vec<Result<String, std::io::Error>> = report_body_of_len(64 * 1024)
        .into_bytes()
        .chunks(1024)
        .map(|c| Ok(String::from_utf8(c.to_vec()).expect("ascii")))
        .collect();
    let body = reqwest::Body::wrap_stream(tokio_stream::iter(chunks));
    let chunked = post_report(&base, &token, body).await;
    assert_eq!(chunked.status(), 413);

    // Without a valid token the body is never read: 401, whatever its size.
    let anonymous = http()
        .post(format!("{base}/api/reports"))
        .header("content-type", "application/json")
        .body(report_body_of_len(64 * 1024))
        .send()
        .await
        .expect("post");
    assert_eq!(anonymous.status(), 401);

    assert_eq!(report_ids(&base, &token).await, [1, 2, 3]);
}

#[tokio::test]
async fn the_report_list_keeps_the_newest_1000_reports() {
    let base = start_demo().await;
    let token = demo_token(&base).await;
    let max = server_example::MAX_REPORTS as u64;
    // Two seeded reports plus `max` new ones: the two oldest are dropped.
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..8u64 {
        let (base, token) = (base.clone(), token.clone());
        writers.spawn(async move {
            for n in (writer..max).step_by(8) {
                let response = post_report(
                    &base,
                    &token,
                    json!({ "title": format!("r{n}") }).to_string(),
                )
                .await;
                assert_eq!(response.status(), 201);
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.expect("writer");
    }
    let ids = report_ids(&base, &token).await;
    assert_eq!(ids.len(), server_example::MAX_REPORTS);
    // Ids keep counting past dropped reports, so none is reused.
    assert_eq!(ids, (3..=max + 2).collect::<Vec<_>>());
}

/// The demo's app behind the demo's own accept loop, with `header_read_timeout`.
async fn start_demo_served(header_read_timeout: Duration) -> (String, std::net::SocketAddr) {
    let (listener, base) = listen().await;
    let addr = listener.local_addr().expect("addr");
    let config = server_example::Config {
        clients_file: Path::new(MANIFEST_DIR).join("examples/clients.toml"),
        ..server_example::Config::default()
    };
    let issuer = server_example::token_issuer(&config, base.clone()).expect("demo issuer");
    let app = server_example::app(&issuer, &[]).expect("demo app");
    tokio::spawn(server_example::serve(
        listener,
        app,
        header_read_timeout,
        std::future::pending(),
    ));
    (base, addr)
}

#[tokio::test]
async fn a_request_head_trickled_byte_by_byte_is_cut_off_at_the_header_read_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let timeout = Duration::from_millis(300);
    let (base, addr) = start_demo_served(timeout).await;
    let started = std::time::Instant::now();
    let mut slow = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // A slowloris client: a byte every 20 ms, never finishing the head.
    let head = b"GET /healthz HTTP/1.1\r\nHost: demo\r\nX-Padding: ".iter();
    let trickle = head.chain(std::iter::repeat(&b'a'));
    let mut closed_after = None;
    for byte in trickle.take(500) {
        if slow.write_all(&[*byte]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(20), slow.read(&mut buf)).await {
            // EOF or reset: the server gave up on the head. It sends no response.
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed_after = Some(started.elapsed());
                break;
            }
            Ok(Ok(n)) => panic!(
                "the server answered a head it never got: {}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Err(_) => {}
        }
    }
    let closed_after = closed_after.expect("the connection was still open after 10 s");
    assert!(closed_after >= timeout, "closed after {closed_after:?}");
    assert!(
        closed_after < Duration::from_secs(3),
        "closed after {closed_after:?}"
    );

    // A client that sends its head at once is served as before.
    let health = http()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn the_demo_accept_loop_gives_the_app_the_peer_address_as_connect_info() {
    use axum::extract::connect_info::ConnectInfo;
    use axum::routing::get;

    let (listener, base) = listen().await;
    let app = axum::Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>| async move { peer.to_string() }),
    );
    tokio::spawn(server_example::serve(
        listener,
        app,
        server_example::HEADER_READ_TIMEOUT,
        std::future::pending(),
    ));
    let response = http()
        .get(format!("{base}/peer"))
        .send()
        .await
        .expect("peer");
    assert_eq!(response.status(), 200);
    let peer: std::net::SocketAddr = response
        .text()
        .await
        .expect("body")
        .parse()
        .expect("socket address");
    assert_eq!(peer.ip(), std::net::Ipv4Addr::LOCALHOST);
    assert_ne!(
        Some(peer.port()),
        base.rsplit(':').next().and_then(|p| p.parse().ok())
    );
}

#[test]
fn the_banner_shows_the_demo_secrets_only_for_the_demo_clients_file() {
    let base = "http://127.0.0.1:3000";
    let banner =
        |config: &server_example::Config| server_example::banner(config, base, base, "kid-1");
    let first_line = "tower-client-credentials demo listening on http://127.0.0.1:3000";

    // The default (relative to the crate root, where cargo runs tests and the README runs the
    // demo), and the same file by its absolute path.
    let relative = server_example::Config::default();
    let absolute = server_example::Config {
        clients_file: Path::new(MANIFEST_DIR).join("examples/clients.toml"),
        ..server_example::Config::default()
    };
    for config in [&relative, &absolute] {
        let shown = banner(config);
        assert_eq!(shown.lines().next(), Some(first_line));
        assert!(shown.contains("demo / demo-secret"), "{shown}");
        assert!(shown.contains("reader / reader-secret"), "{shown}");
        assert!(shown.contains("curl -s -u demo:demo-secret"), "{shown}");
    }

    // Any other file, even a byte-for-byte copy of the demo's: its secrets are the operator's.
    let copy = std::env::temp_dir().join(format!("demo-banner-{}.toml", std::process::id()));
    std::fs::copy(&absolute.clients_file, &copy).expect("copy the clients file");
    let other = server_example::Config {
        clients_file: copy.clone(),
        ..server_example::Config::default()
    };
    let shown = banner(&other);
    let _ = std::fs::remove_file(&copy);
    assert_eq!(shown.lines().next(), Some(first_line));
    assert!(!shown.contains("secret"), "{shown}");
    assert!(!shown.contains("-u demo:"), "{shown}");
    assert_eq!(
        shown.lines().last().map(str::to_owned),
        Some(format!("  clients: from {}", copy.display()))
    );
}

#[test]
fn trusted_issuers_are_a_comma_separated_list() {
    assert_eq!(
        server_example::parse_issuer_list(" https://a.example , ,https://b.example/realms/x,"),
        ["https://a.example", "https://b.example/realms/x"]
    );
    assert!(server_example::parse_issuer_list("").is_empty());
}

/// `TRUSTED_ISSUERS` names another identity provider (an in-process one on 127.0.0.1): its
/// plain JWTs with `scp` reach the reports API beside the demo's own tokens.
#[cfg(feature = "remote-jwks")]
#[tokio::test]
async fn the_api_accepts_tokens_of_a_provider_named_in_trusted_issuers() {
    use common::idp::Idp;

    let idp = Idp::start().await;
    let (listener, base) = listen().await;
    let config = server_example::Config {
        clients_file: Path::new(MANIFEST_DIR).join("examples/clients.toml"),
        ..server_example::Config::default()
    };
    let issuer = server_example::token_issuer(&config, base.clone()).expect("demo issuer");
    let trusted = [idp.issuer().to_owned()];
    serve_on(
        listener,
        server_example::app(&issuer, &trusted).expect("demo app"),
    );

    let now = common::now();
    let foreign = |aud: &str, scp: Value| {
        let claims = json!({
            "iss": idp.issuer(), "sub": "partner-job", "aud": aud, "exp": now + 60, "iat": now,
            "azp": "partner-job", "scp": scp,
        });
        idp.ring().active().sign("JWT", &claims).expect("sign")
    };
    let reports = format!("{base}/api/reports");
    let reader = foreign("reports-api", json!(["reports:read"]));
    let (status, _, body) = common::get_bearer(&reports, Some(&reader)).await;
    assert_eq!(status, 200);
    assert!(body.contains("Q1 revenue"), "{body}");
    let whoami: Value = http()
        .get(format!("{base}/api/whoami"))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("whoami")
        .json()
        .await
        .expect("json");
    assert_eq!(whoami["iss"], idp.issuer());
    // Its scopes are checked like the demo's own: no `reports:read`, no list.
    let writer_only = foreign("reports-api", json!("reports:write"));
    assert_eq!(
        common::get_bearer(&reports, Some(&writer_only)).await.0,
        403
    );
    // Another audience is refused; the demo's own tokens still work beside the provider's.
    let elsewhere = foreign("billing-api", json!(["reports:read"]));
    assert_eq!(common::get_bearer(&reports, Some(&elsewhere)).await.0, 401);
    let own = access_token(&token_basic(&base, "reader", "reader-secret").await);
    assert_eq!(common::get_bearer(&reports, Some(&own)).await.0, 200);
}

/// Runs `cargo run --example client` against `api`, with `env` added and no `OAUTH_*` or
/// proxy variables from the caller: exit status, stdout, stderr.
#[cfg(feature = "client")]
async fn run_client_example(api: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let exe = tokio::task::spawn_blocking(|| common::example_process::build("client"))
        .await
        .expect("build the client example");
    let mut command = tokio::process::Command::new(exe);
    command.current_dir(MANIFEST_DIR).env("API_URL", api);
    for (name, _) in std::env::vars() {
        if name.starts_with("OAUTH_") || name.to_ascii_lowercase().ends_with("_proxy") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    let output = command.output().await.expect("run the client example");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[cfg(feature = "client")]
#[tokio::test]
async fn the_client_example_reads_and_writes_reports_through_the_demo() {
    let base = start_demo().await;
    let (ok, stdout, stderr) = run_client_example(&base, &[]).await;
    assert!(ok, "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{stdout}");
    assert_eq!(lines[0], "1. token for client demo ...");
    assert!(
        lines[1].starts_with(r#"   got one, scope "reports:read reports:write", expires at "#),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], format!("2. GET {base}/api/reports"));
    assert_eq!(
        lines[3],
        r#"   [{"author":"finance","id":1,"title":"Q1 revenue"},{"author":"finance","id":2,"title":"Q2 revenue"}]"#
    );
    assert_eq!(lines[4], format!("3. POST {base}/api/reports"));
    assert_eq!(
        lines[5],
        r#"   {"author":"demo","id":3,"title":"Created by the client example"}"#
    );
    assert_eq!(
        lines[6],
        format!("4. GET {base}/api/reports (the same token, from the cache)")
    );
    assert_eq!(lines[7], "   3 reports");
    assert_eq!(stderr, "");
}

#[cfg(feature = "client")]
#[tokio::test]
async fn the_client_example_says_what_went_wrong_and_exits_non_zero() {
    let base = start_demo().await;
    let endpoint = format!("{base}/oauth2/token");
    // A wrong secret, through the OAUTH_* variables.
    let (ok, stdout, stderr) = run_client_example(
        &base,
        &[
            ("OAUTH_CLIENT_ID", "demo"),
            ("OAUTH_CLIENT_SECRET", "not-the-secret"),
            ("OAUTH_TOKEN_ENDPOINT", &endpoint),
        ],
    )
    .await;
    assert!(!ok);
    assert_eq!(stdout, "1. token for client demo ...\n");
    assert_eq!(
        stderr,
        "error: could not get a token: the token endpoint refused the request (HTTP 401): \
         invalid_client: client authentication failed\n"
    );
    // `reader` may read but not write.
    let (ok, stdout, stderr) = run_client_example(
        &base,
        &[
            ("OAUTH_CLIENT_ID", "reader"),
            ("OAUTH_CLIENT_SECRET", "reader-secret"),
            ("OAUTH_TOKEN_ENDPOINT", &endpoint),
        ],
    )
    .await;
    assert!(!ok);
    assert!(stdout.contains("3. POST"), "{stdout}");
    assert_eq!(stderr, "error: the API answered 403 Forbidden: \n");
    // A missing variable is named.
    let (ok, _, stderr) = run_client_example(&base, &[("OAUTH_CLIENT_ID", "demo")]).await;
    assert!(!ok);
    assert_eq!(
        stderr,
        "error: environment variable OAUTH_CLIENT_SECRET: missing (or set OAUTH_CLIENT_SECRET_FILE)\n"
    );
    // Nothing listening.
    let (listener, nowhere) = listen().await;
    drop(listener);
    let (ok, _, stderr) = run_client_example(&nowhere, &[]).await;
    assert!(!ok);
    assert_eq!(
        stderr,
        "error: could not get a token: could not connect to the token endpoint \
         (is the demo running? cargo run --example server)\n"
    );
}

// The demo's `/metrics` (issue 19).

/// The value of the Prometheus sample of `name` whose labels are exactly `labels` (in any
/// order), if `text` has one.
#[cfg(feature = "metrics")]
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
    text.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let rest = series.strip_prefix(name)?;
        let inner = rest.strip_prefix('{')?.strip_suffix('}')?;
        let mut found: Vec<(&str, &str)> = inner
            .split(',')
            .filter_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                Some((k, v.trim_matches('"')))
            })
            .collect();
        found.sort_unstable();
        let mut want = labels.to_vec();
        want.sort_unstable();
        (found == want).then(|| value.parse().ok())?
    })
}

#[cfg(feature = "metrics")]
#[tokio::test]
async fn metrics_shows_the_documented_counters_after_requests() {
    use tower_client_credentials::metrics::{
        AUTH_METHOD, BEARER_REQUESTS, OUTCOME, TOKEN_REQUESTS, VERIFY_CACHE_LOOKUPS,
    };
    let base = start_demo().await;
    let token = demo_token(&base).await;
    let http = http();
    for _ in 0..2 {
        let whoami = http
            .get(format!("{base}/api/whoami"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("whoami");
        assert_eq!(whoami.status(), 200);
    }
    let malformed = http
        .get(format!("{base}/api/whoami"))
        .bearer_auth("not.a.token")
        .send()
        .await
        .expect("whoami");
    assert_eq!(malformed.status(), 401);

    let response = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let text = response.text().await.expect("body");
    // Other tests share the process's recorder: at least what this one caused.
    let at_least = |name: &str, labels: &[(&str, &str)], n: u64| {
        let value = sample(&text, name, labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{text}"));
        assert!(value >= n, "{name} {labels:?} = {value} < {n}");
    };
    at_least(
        TOKEN_REQUESTS,
        &[(AUTH_METHOD, "client_secret_basic"), (OUTCOME, "ok")],
        1,
    );
    at_least(BEARER_REQUESTS, &[(OUTCOME, "ok")], 2);
    at_least(BEARER_REQUESTS, &[(OUTCOME, "malformed")], 1);
    at_least(VERIFY_CACHE_LOOKUPS, &[(OUTCOME, "hit")], 1);
    at_least(VERIFY_CACHE_LOOKUPS, &[(OUTCOME, "miss")], 1);
    assert!(
        text.contains(&format!("# TYPE {BEARER_REQUESTS} counter\n")),
        "{text}"
    );
    // No client id, secret or token in any series.
    for secret in ["demo-secret", token.as_str(), "\"demo\""] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }
}

#[cfg(not(feature = "metrics"))]
#[tokio::test]
async fn metrics_without_the_feature_is_a_404_naming_it() {
    let base = start_demo().await;
    let response = http()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        response.text().await.expect("body"),
        "metrics are off: run the demo with `--features metrics`\n"
    );
}

#[cfg(feature = "utoipa")]
#[tokio::test]
async fn the_demo_serves_its_openapi_document_with_the_issuer_s_security_scheme() {
    let base = start_demo().await;
    let response = http()
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: Value = response.json().await.expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"],
        json!({ "oauth2": {
            "type": "oauth2",
            "description": "Machine clients: a client-credentials token for the audience reports-api",
            "flows": { "clientCredentials": {
                "tokenUrl": format!("{base}/oauth2/token"),
                "scopes": { "reports:read": "List the reports", "reports:write": "Create reports" }
            } }
        } })
    );
    let security = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
    assert_eq!(security("/api/whoami", "get"), json!([{ "oauth2": [] }]));
    assert_eq!(
        security("/api/reports", "get"),
        json!([{ "oauth2": ["reports:read"] }])
    );
    assert_eq!(
        security("/api/reports", "post"),
        json!([{ "oauth2": ["reports:write"] }])
    );
}
