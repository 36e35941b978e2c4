//! JSON Web Key Sets (RFC 7517 §5).
//!
//! ```
//! use tower_client_credentials::keys::{Algorithm, Jwks, SigningKey};
//!
//! let key = SigningKey::generate(Algorithm::ES256)?;
//! let json = Jwks::from_keys(&[key.verifying_key().clone()]).to_json();
//! let keys = Jwks::parse(&json)?;
//! assert_eq!(keys[0].kid(), key.kid());
//! assert_eq!(keys[0].algorithm(), Algorithm::ES256);
//! # Ok::<_, tower_client_credentials::keys::KeyError>(())
//! ```

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm};
use serde::{Deserialize, Serialize};

use super::{KeyError, VerifyingKey};

/// The largest JWKS document [`Jwks::parse`] reads.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// A JWK Set: `{"keys": [...]}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys, as public JWKs.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The public JWKs of `keys`; HS256 secrets are left out.
    pub fn from_keys(keys: &[VerifyingKey]) -> Self {
        Jwks {
            keys: keys.iter().filter_map(VerifyingKey::to_jwk).collect(),
        }
    }

    /// Serialises the set.
    pub fn to_json(&self) -> String {
        // A Jwk always serialises: it holds only strings and enums.
        serde_json::to_string(self).unwrap_or_else(|_| String::from(r#"{"keys":[]}"#))
    }

    /// Parses a JWKS document into verifying keys. Keys this crate cannot use are skipped,
    /// each with a debug log naming its `kid` and the reason, as RFC 7517 §5 asks: other key
    /// types, curves or algorithms, encryption keys (`use: enc`), symmetric keys, and keys
    /// that cannot verify (see [`VerifyingKey::from_jwk`]). A document that is not a JWKS, or
    /// larger than [`MAX_JWKS_BYTES`], is an error.
    ///
    /// The algorithm is the key's `alg`, or inferred from its type: `OKP`/`Ed25519` → EdDSA,
    /// `EC`/`P-256` → ES256, and `RSA` → RS256, since identity providers commonly publish RSA
    /// keys without `alg` and sign with RS256 (a PS256 key must say so). A key without `kid`
    /// is kept only when it is the set's only usable key (a token without `kid` selects it);
    /// beside others it is skipped.
    pub fn parse(json: &str) -> Result<Vec<VerifyingKey>, KeyError> {
        #[derive(Deserialize)]
        struct Raw {
            keys: Vec<serde_json::Value>,
        }
        if json.len() > MAX_JWKS_BYTES {
            return Err(KeyError::InvalidJwks);
        }
        let raw: Raw = serde_json::from_str(json).map_err(|_| KeyError::InvalidJwks)?;
        let keys: Vec<(VerifyingKey, bool)> = raw
            .keys
            .into_iter()
            .filter_map(|value| match usable(value) {
                Ok(key) => Some(key),
                Err((kid, error)) => {
                    // The kid is public; Debug escapes whatever control characters it holds.
                    tracing::debug!(?kid, %error, "skipping a JWKS key");
                    None
                }
            })
            .collect();
        let several = keys.len() > 1;
        Ok(keys
            .into_iter()
            .filter_map(|(key, named)| {
                if several && !named {
                    tracing::debug!("skipping a JWKS key without kid: the set has several keys");
                    return None;
                }
                Some(key)
            })
            .collect())
    }
}

/// One JWKS entry as a verifying key and whether it has a `kid`; or its `kid` (if any) and why
/// it is skipped.
fn usable(value: serde_json::Value) -> Result<(VerifyingKey, bool), (Option<String>, KeyError)> {
    let kid = value
        .get("kid")
        .and_then(serde_json::Value::as_str)
        .map(|kid| kid.chars().take(64).collect::<String>());
    let mut jwk = serde_json::from_value::<Jwk>(value)
        .map_err(|_| (kid.clone(), KeyError::InvalidJwk("unsupported key type")))?;
    if matches!(
        jwk.common.public_key_use,
        Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
    ) {
        return Err((kid, KeyError::InvalidJwk("an encryption key")));
    }
    if matches!(jwk.algorithm, AlgorithmParameters::RSA(_)) && jwk.common.key_algorithm.is_none() {
        jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
    }
    let named = jwk.common.key_id.is_some();
    VerifyingKey::from_jwk(&jwk)
        .map(|key| (key, named))
        .map_err(|error| (kid, error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Algorithm, SigningKey};

    #[test]
    fn round_trip_every_asymmetric_algorithm() {
        let algs = [
            Algorithm::EdDSA,
            Algorithm::ES256,
            Algorithm::RS256,
            Algorithm::PS256,
        ];
        let keys: Vec<_> = algs
            .iter()
            .map(|alg| SigningKey::generate(*alg).unwrap())
            .collect();
        let verifying: Vec<_> = keys.iter().map(|k| k.verifying_key().clone()).collect();
        let json = Jwks::from_keys(&verifying).to_json();
        let parsed = Jwks::parse(&json).unwrap();
        assert_eq!(parsed.len(), 4);
        for (key, back) in keys.iter().zip(&parsed) {
            assert_eq!(key.kid(), back.kid());
            assert_eq!(key.algorithm(), back.algorithm());
            let token = key.sign("at+jwt", &serde_json::json!({})).unwrap();
            let (msg, sig) = token.rsplit_once('.').unwrap();
            assert!(back.verify_signature(msg.as_bytes(), sig));
        }
        // Only public parameters are published.
        assert!(!json.contains("\"d\""));
    }

    #[test]
    fn hmac_keys_are_never_published() {
        let hs = SigningKey::generate(Algorithm::HS256).unwrap();
        assert!(
            Jwks::from_keys(&[hs.verifying_key().clone()])
                .keys
                .is_empty()
        );
    }

    #[test]
    fn unusable_keys_are_skipped_and_garbage_is_an_error() {
        let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let good = serde_json::to_value(ed.verifying_key().to_jwk().unwrap()).unwrap();
        let doc = serde_json::json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "alg": "HS256"},
            {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
            {"kty": "weird"},
            good,
        ]});
        let keys = Jwks::parse(&doc.to_string()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid(), ed.kid());
        for bad in ["", "{}", "[]", "{\"keys\": 3}", "null"] {
            assert_eq!(
                Jwks::parse(bad).unwrap_err(),
                KeyError::InvalidJwks,
                "{bad}"
            );
        }
        let huge = format!(
            "{{\"keys\": [], \"pad\": \"{}\"}}",
            "x".repeat(MAX_JWKS_BYTES)
        );
        assert_eq!(Jwks::parse(&huge).unwrap_err(), KeyError::InvalidJwks);
    }

    fn jwk_value(key: &SigningKey) -> serde_json::Value {
        serde_json::to_value(key.verifying_key().to_jwk().unwrap()).unwrap()
    }

    #[test]
    fn rsa_keys_without_alg_are_rs256_and_other_types_are_inferred() {
        let rsa = SigningKey::generate(Algorithm::RS256).unwrap();
        let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let es = SigningKey::generate(Algorithm::ES256).unwrap();
        let mut values: Vec<_> = [&rsa, &ed, &es].into_iter().map(jwk_value).collect();
        for value in &mut values {
            value.as_object_mut().unwrap().remove("alg");
        }
        let keys = Jwks::parse(&serde_json::json!({ "keys": values }).to_string()).unwrap();
        let algs: Vec<_> = keys.iter().map(VerifyingKey::algorithm).collect();
        assert_eq!(algs, [Algorithm::RS256, Algorithm::EdDSA, Algorithm::ES256]);
        let token = rsa.sign("at+jwt", &serde_json::json!({})).unwrap();
        let (msg, sig) = token.rsplit_once('.').unwrap();
        assert!(keys[0].verify_signature(msg.as_bytes(), sig));
    }

    #[test]
    fn encryption_keys_and_unsupported_algorithms_are_skipped() {
        let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let rsa = SigningKey::generate(Algorithm::RS256).unwrap();
        let mut enc = jwk_value(&ed);
        enc["use"] = "enc".into();
        enc["kid"] = "enc".into();
        let mut rs384 = jwk_value(&rsa);
        rs384["alg"] = "RS384".into();
        let mut rsa_oaep = jwk_value(&rsa);
        rsa_oaep["alg"] = "RSA-OAEP".into();
        let doc = serde_json::json!({ "keys": [enc, rs384, rsa_oaep] });
        assert!(Jwks::parse(&doc.to_string()).unwrap().is_empty());
    }

    #[test]
    fn a_key_without_kid_is_kept_only_when_it_is_the_only_key() {
        let a = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let b = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let mut bare = jwk_value(&a);
        bare.as_object_mut().unwrap().remove("kid");
        let alone = serde_json::json!({ "keys": [bare.clone()] }).to_string();
        let keys = Jwks::parse(&alone).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(crate::keys::select(&keys, None).is_some());
        let beside = serde_json::json!({ "keys": [bare, jwk_value(&b)] }).to_string();
        let keys = Jwks::parse(&beside).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid(), b.kid());
    }
}
