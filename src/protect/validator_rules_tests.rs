//! Provider rules in the pipeline: aliases, scope and client-id claims, allowed clients, a
//! custom claims type, and issuers that share `kid` values.

use super::*;
use crate::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use crate::protect::{Provider, TokenType, TrustedIssuer, ValidatorConfigError};
use serde_json::{Value, json};

const NOW: u64 = 1_900_000_000;
const TENANT: &str = "t-1";
const V2: &str = "https://login.microsoftonline.com/t-1/v2.0";
const V1: &str = "https://sts.windows.net/t-1/";

fn local(key: &SigningKey) -> KeySource {
    KeySource::local(KeyRing::new(key.clone()))
}

fn ready<E: DeserializeOwned + Send + Sync + 'static>(
    v: &Validator<E>,
    token: &str,
) -> Result<Arc<Claims<E>>, TokenError> {
    match v.verify(token).into_ready() {
        Ok(result) => result,
        Err(_) => panic!("local keys verify without waiting"),
    }
}

fn entra(key: &SigningKey) -> Validator {
    Validator::builder()
        .trust(
            Provider::entra_id(TENANT)
                .with_keys(local(key))
                .audience("api://reports"),
        )
        .clock(Clock::from_fn(|| NOW))
        .build()
        .unwrap()
}

fn entra_claims(iss: &str, extra: Value) -> Value {
    let mut claims = json!({"iss": iss, "sub": "sp", "aud": "api://reports",
                            "exp": NOW + 60, "iat": NOW, "nbf": NOW});
    for (name, value) in extra.as_object().unwrap() {
        claims[name] = value.clone();
    }
    claims
}

#[test]
fn an_alias_is_judged_by_its_issuers_keys_and_rules() {
    let key = SigningKey::generate(Algorithm::RS256).unwrap();
    let v = entra(&key);
    let v1 = key
        .sign(
            "JWT",
            &entra_claims(V1, json!({"appid": "app-1", "roles": ["Reports.Read"]})),
        )
        .unwrap();
    let claims = ready(&v, &v1).unwrap();
    assert_eq!(claims.iss, V1, "the token's own spelling is kept");
    assert_eq!(claims.client_id.as_deref(), Some("app-1"));
    assert_eq!(claims.scope.to_string(), "Reports.Read");
    // The v1 token's `appid` and `roles` stay visible in `extra`.
    assert_eq!(claims.extra["appid"], "app-1");

    let v2 = key
        .sign(
            "JWT",
            &entra_claims(V2, json!({"azp": "app-2", "scp": "a b"})),
        )
        .unwrap();
    let claims = ready(&v, &v2).unwrap();
    assert_eq!(claims.client_id.as_deref(), Some("app-2"));
    assert_eq!(claims.scope.to_string(), "a b");
    // Entra sends `typ: JWT`, always: the preset checks it.
    let other_typ = key.sign("at+jwt", &entra_claims(V2, json!({}))).unwrap();
    assert_eq!(ready(&v, &other_typ).unwrap_err(), TokenError::InvalidType);
}

#[test]
fn equal_kids_of_two_issuers_never_cross() {
    let a = SigningKey::generate(Algorithm::RS256)
        .unwrap()
        .with_kid("k1");
    let b = SigningKey::generate(Algorithm::RS256)
        .unwrap()
        .with_kid("k1");
    let v = Validator::builder()
        .trust(Provider::oidc("https://a.test").with_keys(local(&a)))
        .trust(Provider::oidc("https://b.test").with_keys(local(&b)))
        .audience("api")
        .clock(Clock::from_fn(|| NOW))
        .build()
        .unwrap();
    let claims = |iss: &str| json!({"iss": iss, "sub": "s", "aud": "api", "exp": NOW + 60});
    assert!(ready(&v, &a.sign("JWT", &claims("https://a.test")).unwrap()).is_ok());
    assert!(ready(&v, &b.sign("JWT", &claims("https://b.test")).unwrap()).is_ok());
    for (key, iss) in [(&a, "https://b.test"), (&b, "https://a.test")] {
        let crossed = key.sign("JWT", &claims(iss)).unwrap();
        assert_eq!(
            ready(&v, &crossed).unwrap_err(),
            TokenError::InvalidSignature
        );
    }
    let unknown = a.sign("JWT", &claims("https://c.test")).unwrap();
    assert_eq!(ready(&v, &unknown).unwrap_err(), TokenError::InvalidIssuer);
}

#[test]
fn allowed_clients_are_enforced_on_the_mapped_client_id() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let v = Validator::builder()
        .trust(
            Provider::okta("https://acme.okta.test/oauth2/default")
                .with_keys(local(&key))
                .audience("api://default")
                .allowed_clients(["0oa-reports"]),
        )
        .clock(Clock::from_fn(|| NOW))
        .build()
        .unwrap();
    let token = |cid: Option<&str>| {
        let mut claims = json!({"iss": "https://acme.okta.test/oauth2/default", "sub": "s",
            "aud": "api://default", "exp": NOW + 60, "iat": NOW, "scp": ["reports:read"]});
        if let Some(cid) = cid {
            claims["cid"] = json!(cid);
        }
        key.sign("JWT", &claims).unwrap()
    };
    let claims = ready(&v, &token(Some("0oa-reports"))).unwrap();
    assert_eq!(claims.scope.to_string(), "reports:read");
    for other in [Some("0oa-other"), None] {
        assert_eq!(
            ready(&v, &token(other)).unwrap_err(),
            TokenError::ClientNotAllowed
        );
    }
}

#[test]
fn rfc9068_tokens_still_need_client_id_itself() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let v = Validator::builder()
        .issuer("https://auth.test", local(&key))
        .audience("api")
        .clock(Clock::from_fn(|| NOW))
        .build()
        .unwrap();
    let mut claims = json!({"iss": "https://auth.test", "sub": "c", "aud": "api",
        "exp": NOW + 60, "iat": NOW, "jti": "j", "azp": "c", "scp": ["a"]});
    let azp_only = key.sign("at+jwt", &claims).unwrap();
    assert_eq!(ready(&v, &azp_only).unwrap_err(), TokenError::MissingClaim);
    claims["client_id"] = json!("c");
    let with_client_id = key.sign("at+jwt", &claims).unwrap();
    let verified = ready(&v, &with_client_id).unwrap();
    // `scope`, then `scp` by default; `client_id` first.
    assert_eq!(verified.scope.to_string(), "a");
    assert_eq!(verified.client_id.as_deref(), Some("c"));
    assert!(!verified.extra.contains_key("client_id"));
}

#[test]
fn a_custom_claims_type_gets_the_rest_and_the_mapping_still_applies() {
    #[derive(Clone, serde::Deserialize)]
    struct Keycloak {
        preferred_username: String,
        realm_access: Value,
    }
    let key = SigningKey::generate(Algorithm::RS256).unwrap();
    let realm = "https://kc.test/realms/acme";
    let v: Validator<Keycloak> = Validator::builder()
        .trust(
            Provider::keycloak(realm)
                .with_keys(local(&key))
                .audience("account"),
        )
        .clock(Clock::from_fn(|| NOW))
        .claims::<Keycloak>()
        .build()
        .unwrap();
    let token = key
        .sign(
            "JWT",
            &json!({"iss": realm, "sub": "u", "aud": "account", "exp": NOW as f64 + 60.5,
                "iat": NOW as f64, "azp": "svc", "scope": "profile email",
                "realm_access": {"roles": ["offline_access", "Some Role"]},
                "preferred_username": "service-account-svc"}),
        )
        .unwrap();
    let claims = ready(&v, &token).unwrap();
    assert_eq!(claims.extra.preferred_username, "service-account-svc");
    assert!(claims.extra.realm_access.is_object());
    assert_eq!(claims.client_id.as_deref(), Some("svc"));
    assert_eq!(claims.scope.to_string(), "email offline_access profile");
    assert_eq!((claims.exp, claims.iat), (NOW + 60, Some(NOW)));
}

#[test]
fn provider_rules_are_checked_when_built() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let build = |issuers: Vec<TrustedIssuer>| {
        let mut builder = Validator::builder().audience("api");
        for issuer in issuers {
            builder = builder.trust(issuer);
        }
        builder.build().map(|_| ())
    };
    let entra = || Provider::entra_id(TENANT).with_keys(local(&key));
    // An alias that is another issuer's name, or an alias given twice.
    for issuers in [
        vec![entra(), TrustedIssuer::new(V1, local(&key))],
        vec![
            entra(),
            Provider::oidc("https://x.test")
                .with_keys(local(&key))
                .alias(V1),
        ],
        vec![TrustedIssuer::new("https://x.test", local(&key)).alias("")],
    ] {
        assert_eq!(build(issuers), Err(ValidatorConfigError::BadIssuer));
    }
    for bad in ["", "realm_access.", ".roles"] {
        let issuer = TrustedIssuer::new("https://x.test", local(&key)).scope_claims([bad]);
        assert_eq!(
            build(vec![issuer]),
            Err(ValidatorConfigError::BadClaimPath {
                issuer: "https://x.test".into()
            })
        );
    }
    let none = TrustedIssuer::new("https://x.test", local(&key))
        .token_type(TokenType::Any)
        .allowed_clients(Vec::<String>::new());
    assert_eq!(
        build(vec![none]),
        Err(ValidatorConfigError::NoAllowedClient {
            issuer: "https://x.test".into()
        })
    );
}
