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

use jsonwebtoken::jwk::Jwk;
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
    /// types, curves or algorithms, encryption keys, symmetric keys, and keys that cannot
    /// verify (see [`VerifyingKey::from_jwk`]). A document that is not a JWKS, or larger than
    /// [`MAX_JWKS_BYTES`], is an error.
    pub fn parse(json: &str) -> Result<Vec<VerifyingKey>, KeyError> {
        #[derive(Deserialize)]
        struct Raw {
            keys: Vec<serde_json::Value>,
        }
        if json.len() > MAX_JWKS_BYTES {
            return Err(KeyError::InvalidJwks);
        }
        let raw: Raw = serde_json::from_str(json).map_err(|_| KeyError::InvalidJwks)?;
        let keys = raw
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
        Ok(keys)
    }
}

/// One JWKS entry as a verifying key, or its `kid` (if any) and why it is skipped.
fn usable(value: serde_json::Value) -> Result<VerifyingKey, (Option<String>, KeyError)> {
    let kid = value
        .get("kid")
        .and_then(serde_json::Value::as_str)
        .map(|kid| kid.chars().take(64).collect::<String>());
    let jwk = serde_json::from_value::<Jwk>(value)
        .map_err(|_| (kid.clone(), KeyError::InvalidJwk("unsupported key type")))?;
    if matches!(
        jwk.common.public_key_use,
        Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
    ) {
        return Err((kid, KeyError::InvalidJwk("an encryption key")));
    }
    VerifyingKey::from_jwk(&jwk).map_err(|error| (kid, error))
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
}
