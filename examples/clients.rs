//! Manage the clients of a `SqlClientStore` (SQLite or PostgreSQL).
//!
//! ```sh
//! cargo run --example clients --features sqlx -- --database-url sqlite://clients.db \
//!     add reports-exporter --audience reports-api --scope reports:read
//! cargo run --example clients --features sqlx -- --database-url sqlite://clients.db list
//! ```
//!
//! Commands: `add ID --audience AUD… [--scope S…] [--post]`, `list`, `show ID`,
//! `disable ID`, `enable ID`, `add-secret ID [--expire-old-in SECS]`,
//! `expire-secret ID SECRET_ID [--at UNIX_SECONDS]`, `remove ID`. `--database-url` defaults to
//! `DATABASE_URL`. A generated secret is printed once, and is not stored anywhere in plaintext.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use tower_client_credentials::ScopeSet;
use tower_client_credentials::clients::{AuthMethod, Client, ClientRecord, SqlClientStore};

const USAGE: &str = "usage: clients [--database-url URL] COMMAND
  add ID --audience AUD [--audience AUD]... [--scope SCOPE]... [--post]
  list
  show ID
  disable ID | enable ID | remove ID
  add-secret ID [--expire-old-in SECS]
  expire-secret ID SECRET_ID [--at UNIX_SECONDS]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let url = match take_option(&mut args, "--database-url") {
        Some(url) => url,
        None => match std::env::var("DATABASE_URL") {
            Ok(url) => url,
            Err(_) => return usage("no --database-url and no DATABASE_URL"),
        },
    };
    let store = match SqlClientStore::connect(&url).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&store, args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("error: {problem}\n{USAGE}");
    ExitCode::from(2)
}

/// Removes `--name VALUE` from `args`, returning the value.
fn take_option(args: &mut Vec<String>, name: &str) -> Option<String> {
    let at = args.iter().position(|a| a == name)?;
    if at + 1 >= args.len() {
        return None;
    }
    let value = args.remove(at + 1);
    args.remove(at);
    Some(value)
}

fn take_all(args: &mut Vec<String>, name: &str) -> Vec<String> {
    std::iter::from_fn(|| take_option(args, name)).collect()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn run(store: &SqlClientStore, mut args: Vec<String>) -> Result<(), String> {
    let audiences = take_all(&mut args, "--audience");
    let scopes = take_all(&mut args, "--scope");
    let expire_in = take_option(&mut args, "--expire-old-in");
    let at = take_option(&mut args, "--at");
    let post = args.iter().any(|a| a == "--post");
    args.retain(|a| a != "--post");
    let Some(command) = args.first().cloned() else {
        return Err(format!("no command\n{USAGE}"));
    };
    let id = || {
        args.get(1)
            .cloned()
            .ok_or_else(|| format!("{command} needs a client id"))
    };
    match command.as_str() {
        "add" => {
            let id = id()?;
            let scopes = ScopeSet::from_tokens(scopes).map_err(|e| e.to_string())?;
            let mut methods = vec![AuthMethod::ClientSecretBasic];
            if post {
                methods.push(AuthMethod::ClientSecretPost);
            }
            let builder = Client::builder(&id)
                .audiences(audiences)
                .allowed_scopes(scopes)
                .auth_methods(methods);
            let secret = store.add(builder).await.map_err(|e| e.to_string())?;
            println!("added client {id}");
            println!("client_secret: {}", secret.expose());
            println!("(shown once: only its SHA-256 is stored)");
        }
        "list" => {
            for record in store.list().await.map_err(|e| e.to_string())? {
                let client = &record.client;
                let live = client.live_secrets(now()).count();
                let state = if client.is_enabled() {
                    "enabled"
                } else {
                    "disabled"
                };
                println!("{}\t{state}\t{live} live secret(s)", client.id());
            }
        }
        "show" => {
            let id = id()?;
            let record = store.show(&id).await.map_err(|e| e.to_string())?;
            print_record(&record.ok_or_else(|| format!("no client `{id}`"))?);
        }
        "disable" => store.disable(&id()?).await.map_err(|e| e.to_string())?,
        "enable" => store.enable(&id()?).await.map_err(|e| e.to_string())?,
        "remove" => store.remove(&id()?).await.map_err(|e| e.to_string())?,
        "add-secret" => {
            let expire_in = expire_in
                .map(|s| {
                    s.parse::<u64>()
                        .map_err(|_| "--expire-old-in takes seconds")
                })
                .transpose()?;
            let id = id()?;
            let old_not_after = expire_in.map(|secs| now().saturating_add(secs));
            let (secret, secret_id) = store
                .add_secret(&id, old_not_after)
                .await
                .map_err(|e| e.to_string())?;
            println!("added secret {secret_id} to {id}");
            println!("client_secret: {}", secret.expose());
            println!("(shown once: only its SHA-256 is stored)");
        }
        "expire-secret" => {
            let at = at
                .map(|s| s.parse::<u64>().map_err(|_| "--at takes Unix seconds"))
                .transpose()?;
            let id = id()?;
            let secret_id = args
                .get(2)
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or("expire-secret needs a secret id (see `show`)")?;
            store
                .expire_secret(&id, secret_id, at)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "secret {secret_id} of {id} expires at {}",
                at.unwrap_or_else(now)
            );
        }
        other => return Err(format!("unknown command `{other}`\n{USAGE}")),
    }
    Ok(())
}

fn print_record(record: &ClientRecord) {
    let client = &record.client;
    println!("id: {}", client.id());
    println!("enabled: {}", client.is_enabled());
    let methods: Vec<&str> = client.auth_methods().iter().map(|m| m.as_str()).collect();
    println!("auth_methods: {}", methods.join(" "));
    println!("scopes: {}", client.allowed_scopes());
    println!("default_scopes: {}", client.default_scopes());
    println!("audiences: {}", client.audiences().join(" "));
    println!("default_audience: {}", client.default_audience());
    if let Some(ttl) = client.token_ttl() {
        println!("token_ttl_secs: {}", ttl.as_secs());
    }
    println!("keys: {}", client.keys().len());
    println!(
        "created_at: {}  updated_at: {}",
        record.created_at, record.updated_at
    );
    let now = now();
    for secret in &record.secrets {
        let state = match secret.not_after {
            Some(end) if end <= now => format!("expired at {end}"),
            Some(end) => format!("live until {end}"),
            None => "live".to_owned(),
        };
        println!(
            "secret {}: {} ({state}), added {}",
            secret.id, secret.kind, secret.created_at
        );
    }
}
