//! Client credentials grants per second, per signing algorithm: through `TokenIssuer::issue`
//! (the HTTP-free core: client lookup, secret check, scope and audience policy, signing) and
//! through `ClientCredentialsTokenService` (plus form and Basic parsing and the JSON response;
//! no network), against `SigningKey::sign` alone on the same claims. SHA-256 secrets for every
//! algorithm; an Argon2id secret with EdDSA only, since one verify takes milliseconds.
//!
//! The EdDSA group also times an unknown client, and the Argon2id group a wrong secret and an
//! unknown client: DESIGN decision 5 wants them to cost the same as a wrong secret.
//!
//! Run: `cargo bench --bench issue -- --warm-up-time 1 --measurement-time 3`. Compare each
//! line with the `sign only` line of its group as a ratio.

use std::hint::black_box;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{Request, StatusCode, header};
use serde::Serialize;
use tokio::runtime::Runtime;
use tower::ServiceExt;
use tower_client_credentials::clients::{Client, ClientSecret, MemoryClientStore};
use tower_client_credentials::issue::{
    ClientAuth, ClientCredentialsTokenService, TokenIssuer, TokenRequest,
};
use tower_client_credentials::keys::{Algorithm, KeyRing, SigningKey};
use tower_client_credentials::{Audience, ScopeSet};

const ISS: &str = "https://auth.bench";
const CLIENT: &str = "bench-client";
const AUD: &str = "reports-api";
const SCOPE: &str = "reports:read";
const BODY: &str = "grant_type=client_credentials&scope=reports%3Aread";
const PASSWORD: &str = "correct horse battery staple";

/// The claims `TokenIssuer` signs (RFC 9068 §2.2), with the same field order.
#[derive(Serialize)]
struct AccessClaims {
    iss: &'static str,
    sub: &'static str,
    aud: Audience,
    exp: u64,
    iat: u64,
    jti: &'static str,
    client_id: &'static str,
    scope: &'static str,
}

/// One issuer with one Basic client whose secret is `plaintext`.
struct Grant {
    issuer: TokenIssuer,
    service: ClientCredentialsTokenService,
    plaintext: String,
    authorization: String,
}

impl Grant {
    fn new(key: SigningKey, stored: ClientSecret, plaintext: String) -> Self {
        let client = Client::builder(CLIENT)
            .secret(stored)
            .allowed_scopes(ScopeSet::parse("reports:read reports:write").expect("scopes"))
            .audiences([AUD])
            .build()
            .expect("client");
        let issuer = TokenIssuer::builder()
            .issuer(ISS)
            .keys(KeyRing::new(key))
            .clients(MemoryClientStore::new().with_client(client))
            .build()
            .expect("issuer");
        // The plaintexts here need no form-encoding (RFC 6749 §2.3.1) but the spaces.
        let user_pass = format!("{CLIENT}:{}", plaintext.replace(' ', "+"));
        Grant {
            service: ClientCredentialsTokenService::new(issuer.clone()),
            issuer,
            plaintext,
            authorization: format!("Basic {}", STANDARD.encode(user_pass)),
        }
    }

    fn auth(&self, client_id: &str, secret: &str) -> ClientAuth {
        ClientAuth::Basic {
            client_id: client_id.to_owned(),
            secret: secret.to_owned().into(),
        }
    }

    async fn issue(&self) -> String {
        let auth = self.auth(CLIENT, &self.plaintext);
        let request = TokenRequest::client_credentials(Some(SCOPE));
        let response = self.issuer.issue(auth, request).await.expect("granted");
        response.access_token
    }

    async fn refuse(&self, client_id: &str, secret: &str) {
        let request = TokenRequest::client_credentials(Some(SCOPE));
        let refused = self.issuer.issue(self.auth(client_id, secret), request);
        refused.await.expect_err("refused");
    }

    async fn serve(&self) -> StatusCode {
        let request = Request::post("/oauth2/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, &self.authorization)
            .body(BODY.to_owned())
            .expect("request");
        let response = self
            .service
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        black_box(response).status()
    }
}

fn sha256_grant(key: SigningKey) -> Grant {
    let (plaintext, stored) = ClientSecret::generate();
    Grant::new(key, stored, plaintext.expose().to_owned())
}

fn bench_issue(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");
    let now = 1_800_000_000;
    let claims = AccessClaims {
        iss: ISS,
        sub: CLIENT,
        aud: Audience::One(AUD.to_owned()),
        exp: now + 900,
        iat: now,
        jti: "bB4bUe3ZQ0y4Vp3lvzXoWQ",
        client_id: CLIENT,
        scope: SCOPE,
    };

    for alg in [
        Algorithm::EdDSA,
        Algorithm::ES256,
        Algorithm::RS256,
        Algorithm::HS256,
    ] {
        let key = SigningKey::generate(alg).expect("keygen");
        let grant = sha256_grant(key.clone());
        let mut group = c.benchmark_group(format!("issue/{alg}/sha256"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("sign only", |b| {
            b.iter(|| key.sign("at+jwt", black_box(&claims)).expect("sign"))
        });
        group.bench_function("TokenIssuer::issue", |b| {
            b.to_async(&rt).iter(|| grant.issue())
        });
        group.bench_function("ClientCredentialsTokenService", |b| {
            b.to_async(&rt).iter(|| grant.serve())
        });
        if alg == Algorithm::EdDSA {
            group.bench_function("unknown client", |b| {
                b.to_async(&rt)
                    .iter(|| grant.refuse("no-such-client", &grant.plaintext))
            });
        }
        group.finish();
    }

    let key = SigningKey::generate(Algorithm::EdDSA).expect("keygen");
    let stored = ClientSecret::hash_password(PASSWORD).expect("argon2id");
    let grant = Grant::new(key.clone(), stored, PASSWORD.to_owned());
    let mut group = c.benchmark_group("issue/EdDSA/argon2id");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.bench_function("sign only", |b| {
        b.iter(|| key.sign("at+jwt", black_box(&claims)).expect("sign"))
    });
    group.bench_function("TokenIssuer::issue", |b| {
        b.to_async(&rt).iter(|| grant.issue())
    });
    group.bench_function("ClientCredentialsTokenService", |b| {
        b.to_async(&rt).iter(|| grant.serve())
    });
    group.bench_function("wrong secret", |b| {
        b.to_async(&rt)
            .iter(|| grant.refuse(CLIENT, "correct horse battery stable"))
    });
    group.bench_function("unknown client", |b| {
        b.to_async(&rt).iter(|| grant.refuse("nobody", PASSWORD))
    });
    group.finish();
}

criterion_group!(benches, bench_issue);
criterion_main!(benches);
