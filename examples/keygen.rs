//! Generates what a new deployment needs: a token signing key and a first client.
//!
//! ```text
//! cargo run --example keygen -- [--client-id NAME] [--password PLAINTEXT]
//! ```
//!
//! Prints, to stdout:
//! 1. a new EdDSA signing key as PKCS#8 PEM, to save as the file `SIGNING_KEY_FILE` names;
//! 2. a new client secret (256 random bits), shown this once, or nothing when `--password`
//!    gives a human-chosen one;
//! 3. a `[[client]]` block for the clients file, holding only the secret's hash: SHA-256 for a
//!    generated secret, Argon2id for a `--password`.
//!
//! A password given on the command line can end up in the shell history; prefer generated
//! secrets.

use std::io::Write;
use std::process::ExitCode;

use tower_client_credentials::clients::{Client, ClientSecret, MemoryClientStore};
use tower_client_credentials::keys::{Algorithm, SigningKey};
use zeroize::Zeroizing;

const USAGE: &str = "usage: keygen [--client-id NAME] [--password PLAINTEXT]

  --client-id NAME      the client id for the [[client]] block (default: demo)
  --password PLAINTEXT  hash this human-chosen password with Argon2id instead of
                        generating a secret (it may end up in your shell history)";

struct Args {
    client_id: String,
    password: Option<Zeroizing<String>>,
}

fn main() -> ExitCode {
    let args = std::env::args_os()
        .skip(1)
        .map(|arg| {
            arg.into_string()
                .map_err(|_| "arguments must be UTF-8".to_owned())
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|args| parse_args(args.into_iter()));
    let args = match args {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut client_id = None;
    let mut password = None;
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--client-id" if client_id.is_none() => &mut client_id,
            "--password" if password.is_none() => &mut password,
            "--client-id" | "--password" => return Err(format!("{arg} given twice")),
            // Do not echo other arguments: a mistyped flag may be followed by a password.
            flag if flag.starts_with("--") && flag.len() <= 32 && !flag.contains('=') => {
                return Err(format!("unknown option {flag}"));
            }
            _ => return Err("unexpected argument".to_owned()),
        };
        *slot = Some(args.next().ok_or(format!("{arg} needs a value"))?);
    }
    Ok(Some(Args {
        client_id: client_id.unwrap_or_else(|| "demo".to_owned()),
        password: password.map(Zeroizing::new),
    }))
}

fn run(args: &Args) -> Result<(), String> {
    let key = SigningKey::generate(Algorithm::EdDSA)
        .map_err(|e| format!("cannot generate a signing key: {e}"))?;
    let pem = key
        .to_pkcs8_pem()
        .ok_or("the signing key cannot be exported as PEM")?;
    let (plaintext, secret) = match &args.password {
        Some(password) => {
            let secret = ClientSecret::hash_password(password)
                .map_err(|e| format!("cannot hash the password: {e}"))?;
            (None, secret)
        }
        None => {
            let (plaintext, secret) = ClientSecret::generate();
            (Some(plaintext), secret)
        }
    };
    // Check the id (Basic auth forbids ':') before printing anything.
    Client::builder(args.client_id.as_str())
        .secret(secret.clone())
        .audiences(["api"])
        .build()
        .map_err(|e| format!("invalid --client-id: {e}"))?;

    let block = format!(
        "[[client]]\n\
         id = {id}\n\
         secret_hash = \"{hash}\"\n\
         auth_methods = [\"client_secret_basic\", \"client_secret_post\"]\n\
         scopes = []                  # the scopes this client may be granted\n\
         audiences = [\"api\"]          # the APIs (token `aud`) it may call\n",
        id = toml_string(&args.client_id),
        hash = secret.to_stored(),
    );
    // The block must load as printed.
    MemoryClientStore::from_toml_str(&block)
        .map_err(|e| format!("internal error, the client block does not load: {e}"))?;

    let mut out = Zeroizing::new(String::new());
    out.push_str(&format!(
        "# Signing key: {alg}, kid {kid}.\n\
         # Save the lines from BEGIN to END as the file SIGNING_KEY_FILE names, readable only\n\
         # by the token server.\n",
        alg = key.algorithm(),
        kid = key.kid(),
    ));
    out.push_str(&pem);
    if !pem.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
    match &plaintext {
        Some(plaintext) => out.push_str(&format!(
            "# Client secret for {id}: give it to the client now. It is shown only this once and\n\
             # is not stored anywhere; only its hash goes into the clients file.\n{secret}\n\n",
            id = toml_string(&args.client_id),
            secret = plaintext.expose(),
        )),
        None => out.push_str("# Client password: hashed with Argon2id below; not printed.\n\n"),
    }
    out.push_str("# Paste into the clients file (clients.toml):\n");
    out.push_str(&block);

    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write the output: {e}"))
}

/// A TOML basic string. Client ids are visible ASCII, so only `"` and `\` need escaping.
fn toml_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}
