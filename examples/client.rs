//! A service calling the demo's API with client-credentials tokens, as any service calling
//! another would.
//!
//! ```text
//! cargo run --example server     # in one terminal: the demo on 127.0.0.1:3000
//! cargo run --example client     # in another
//! ```
//!
//! It gets a token for the demo's `demo` client (or for the client the `OAUTH_*` variables
//! name: see `ClientCredentials::from_env`), lists the reports, creates one, lists them again
//! (with the cached token), and prints each step. `API_URL` (default `http://127.0.0.1:3000`)
//! is the API, and the token endpoint when no `OAUTH_*` variable is set. On failure it prints
//! what went wrong and exits with status 1.

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use http::header::AUTHORIZATION;
use serde_json::{Value, json};
use tower_client_credentials::outbound::{
    AccessToken, CachedTokenSource, ClientCredentials, TokenSource, TokenSourceError,
};

/// The demo's base URL, unless `API_URL` says otherwise.
const DEFAULT_API: &str = "http://127.0.0.1:3000";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let api = std::env::var("API_URL").unwrap_or_else(|_| DEFAULT_API.to_owned());
    let api = api.trim_end_matches('/');
    let client = if std::env::vars().any(|(name, _)| name.starts_with("OAUTH_")) {
        ClientCredentials::from_env()?
    } else {
        ClientCredentials::builder()
            .token_endpoint(format!("{api}/oauth2/token"))
            .client_id("demo")
            .client_secret("demo-secret")
            .scope("reports:read reports:write")
            .build()?
    };
    // Connection failures are retried for 3 s (10 s by default) before giving up.
    let tokens = CachedTokenSource::builder(client.clone())
        .retry_deadline(Duration::from_secs(3))
        .build();

    println!("1. token for client {} ...", client.client_id());
    let token = tokens.token().await.map_err(|error| match error {
        TokenSourceError::Connect => format!(
            "could not get a token: {error} (is the demo running? cargo run --example server)"
        ),
        _ => format!("could not get a token: {error}"),
    })?;
    println!(
        "   got one, scope {:?}, expires at {} (Unix time)",
        token.scope().unwrap_or(""),
        token.expires_at()
    );

    let http = reqwest::Client::new();
    println!("2. GET {api}/api/reports");
    let reports = call(&http, &tokens, http.get(format!("{api}/api/reports"))).await?;
    println!("   {reports}");

    println!("3. POST {api}/api/reports");
    let body = json!({"title": "Created by the client example"});
    let created = call(
        &http,
        &tokens,
        http.post(format!("{api}/api/reports")).json(&body),
    )
    .await?;
    println!("   {created}");

    println!("4. GET {api}/api/reports (the same token, from the cache)");
    let reports = call(&http, &tokens, http.get(format!("{api}/api/reports"))).await?;
    let count = reports.as_array().map_or(0, Vec::len);
    println!("   {count} reports");
    Ok(())
}

/// Sends `request` with a token from `tokens`; on a 401, renews the token and sends it once
/// more. (With the `reqwest` feature, `outbound::BearerMiddleware` does this for you.)
async fn call(
    http: &reqwest::Client,
    tokens: &CachedTokenSource,
    request: reqwest::RequestBuilder,
) -> Result<Value, Box<dyn Error>> {
    let request = request.build()?;
    let token = tokens.token().await?;
    let retry = request.try_clone();
    let response = send(http, request, &token).await?;
    let response = match (response.status().as_u16(), retry) {
        (401, Some(retry)) => {
            println!("   401: renewing the token and trying once more");
            let renewed = tokens.renew(&token).await?;
            send(http, retry, &renewed).await?
        }
        _ => response,
    };
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        return Err(format!("the API answered {status}: {text}").into());
    }
    Ok(serde_json::from_str(&text)?)
}

async fn send(
    http: &reqwest::Client,
    mut request: reqwest::Request,
    token: &AccessToken,
) -> Result<reqwest::Response, Box<dyn Error>> {
    request
        .headers_mut()
        .insert(AUTHORIZATION, token.authorization());
    Ok(http.execute(request).await?)
}
