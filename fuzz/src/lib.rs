//! What the fuzz targets share: one issuer key, a validator, a protected service, a fresh token
//! endpoint per input, and the decoding of "structured" inputs.
//!
//! Raw bytes rarely get past base64 and a signature check, so the token-shaped targets also
//! take a structured form: the input holds a JOSE header and a payload as JSON text, and the
//! harness signs them with the fixture key. The fuzzer then mutates JSON directly and every
//! rule after the signature check is reached. A structured input reproduces with any fixture
//! key, since the harness signs whatever it is given.

use std::convert::Infallible;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use sha2::{Digest, Sha256};
use tower::util::BoxCloneSyncService;
use tower::{Layer, service_fn};
use tower_client_credentials::clients::{AuthMethod, Client, ClientSecret, MemoryClientStore};
use tower_client_credentials::issue::{ClientCredentialsTokenService, TokenIssuer};
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::{BearerAuthLayer, RequireScopeLayer, ScopeSet, Validator};

pub const ISSUER: &str = "https://auth.test";
pub const AUDIENCE: &str = "reports-api";
/// The `kid` of the issuer key, so that seeds and dictionaries can name it.
pub const KID: &str = "fuzz";
/// A client with a SHA-256 secret (Basic and post).
pub const CLIENT: &str = "svc";
/// Its secret: fixed, so that inputs can hold it.
pub const SECRET: &str = "fuzz-secret";
/// A `private_key_jwt` client, whose key has `kid` [`SIGNER_KID`].
pub const SIGNER: &str = "signer";
pub const SIGNER_KID: &str = "signer-key";

/// The protected service: `BearerAuthLayer` → `RequireScopeLayer` (`reports:read`) → 200.
pub type Api = BoxCloneSyncService<Request<Full<Bytes>>, Response<Full<Bytes>>, Infallible>;

pub struct Fixture {
    pub runtime: tokio::runtime::Runtime,
    pub validator: Validator,
    pub api: Api,
    key: SigningKey,
    encoding: jsonwebtoken::EncodingKey,
    signer: SigningKey,
    signer_encoding: jsonwebtoken::EncodingKey,
    secret: ClientSecret,
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = SigningKey::generate(Algorithm::EdDSA)
            .expect("keygen")
            .with_kid(KID);
        let signer = SigningKey::generate(Algorithm::EdDSA)
            .expect("keygen")
            .with_kid(SIGNER_KID);
        let validator = Validator::builder()
            .issuer(ISSUER, KeySource::local(KeyRing::new(key.clone())))
            .audience(AUDIENCE)
            .build()
            .expect("validator");
        let ok = service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        });
        let api = BearerAuthLayer::new(validator.clone())
            .layer(RequireScopeLayer::all(["reports:read"]).layer(ok));
        let digest: String = Sha256::digest(SECRET.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Fixture {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            validator,
            api: BoxCloneSyncService::new(api),
            encoding: encoding_key(&key),
            signer_encoding: encoding_key(&signer),
            key,
            signer,
            secret: ClientSecret::parse(&format!("sha256:{digest}")).expect("stored secret"),
        }
    })
}

fn encoding_key(key: &SigningKey) -> jsonwebtoken::EncodingKey {
    let pem = key.to_pkcs8_pem().expect("pem");
    jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()).expect("encoding key")
}

/// `base64url(header).base64url(payload).signature`, signed with `key` whatever the header
/// says.
fn sign(key: &jsonwebtoken::EncodingKey, header: &[u8], payload: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), key, jsonwebtoken::Algorithm::EdDSA)
            .expect("sign");
    format!("{message}.{signature}")
}

/// The input split at the first `0xff`: (before, after). `0xff` never occurs in UTF-8, so it
/// cannot be part of JSON or form text.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0xff) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}

/// A token from `data`: its first byte picks raw text (even) or a header and payload (split at
/// `0xff`) signed by the issuer key (odd).
pub fn token_from(data: &[u8]) -> String {
    match data.split_first() {
        Some((mode, rest)) if mode & 1 == 1 => {
            let (header, payload) = split(rest);
            sign(&fixture().encoding, header, payload)
        }
        Some((_, rest)) => String::from_utf8_lossy(rest).into_owned(),
        None => String::new(),
    }
}

/// A client assertion with `payload` (JSON text), signed by the signer client's key.
pub fn assertion_from(payload: &[u8]) -> String {
    let header = format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{SIGNER_KID}"}}"#);
    sign(&fixture().signer_encoding, header.as_bytes(), payload)
}

/// A token endpoint with fresh state (replay guard, throttles), so that no input depends on
/// the ones before it.
pub fn token_service() -> ClientCredentialsTokenService {
    let f = fixture();
    let scopes = |wire: &str| ScopeSet::parse(wire).expect("scopes");
    let clients = MemoryClientStore::new()
        .with_client(
            Client::builder(CLIENT)
                .secret(f.secret.clone())
                .auth_methods([AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost])
                .allowed_scopes(scopes("reports:read reports:write"))
                .audiences([AUDIENCE, "other"])
                .build()
                .expect("client"),
        )
        .with_client(
            Client::builder(SIGNER)
                .auth_methods([AuthMethod::PrivateKeyJwt])
                .keys([f.signer.verifying_key().clone()])
                .allowed_scopes(scopes("reports:read"))
                .audiences([AUDIENCE])
                .build()
                .expect("client"),
        );
    let issuer = TokenIssuer::builder()
        .issuer(ISSUER)
        .keys(KeyRing::new(f.key.clone()))
        .clients(clients)
        .build()
        .expect("issuer");
    ClientCredentialsTokenService::new(issuer)
}
