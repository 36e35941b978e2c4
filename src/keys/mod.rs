//! Signing and verifying keys: one key, one algorithm.
//!
//! A [`SigningKey`] signs tokens; its [`VerifyingKey`] (the public half, or the shared secret
//! for HS256) checks them. Every key carries exactly one [`Algorithm`] and a key id (`kid`):
//! the validator takes the algorithm from the key, never from the token.
//!
//! ```
//! use tower_client_credentials::keys::{Algorithm, SigningKey};
//!
//! let key = SigningKey::generate(Algorithm::EdDSA)?;
//! let pem = key.to_pkcs8_pem().expect("asymmetric keys export");
//! let again = SigningKey::from_pem(Algorithm::EdDSA, pem.as_bytes())?;
//! assert_eq!(key.kid(), again.kid()); // the kid is the RFC 7638 thumbprint
//! let jwk = key.verifying_key().to_jwk().expect("public keys have a JWK");
//! assert_eq!(jwk.common.key_id.as_deref(), Some(key.kid()));
//! # Ok::<_, tower_client_credentials::keys::KeyError>(())
//! ```

mod check;
mod generate;
mod jwks;
#[cfg(feature = "remote-jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "remote-jwks")))]
pub mod remote;
mod ring;
mod signing;
mod source;
mod verifying;

use std::fmt;
use std::str::FromStr;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};

pub use check::{MAX_RSA_BITS, MIN_RSA_BITS};
pub use jwks::{Jwks, MAX_JWKS_BYTES};
pub use ring::{DEFAULT_RETENTION, KeyRing};
pub use signing::SigningKey;
pub(crate) use source::KeyLookup;
pub use source::{KeyFuture, KeyProvider, KeySource};
pub use verifying::VerifyingKey;

/// The signature algorithms this crate signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// Ed25519 (RFC 8037). The default for new keys.
    EdDSA,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// HMAC with SHA-256: a shared secret, for deployments where issuer and resource server
    /// are one party. Never published in a JWKS.
    HS256,
}

impl Algorithm {
    /// The JOSE name (`"EdDSA"`, `"ES256"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ES256 => "ES256",
            Algorithm::RS256 => "RS256",
            Algorithm::PS256 => "PS256",
            Algorithm::HS256 => "HS256",
        }
    }

    /// Whether the algorithm uses a shared secret rather than a key pair.
    pub fn is_symmetric(self) -> bool {
        matches!(self, Algorithm::HS256)
    }

    pub(crate) fn to_jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::PS256 => jsonwebtoken::Algorithm::PS256,
            Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = KeyError;
    /// Parses a JOSE algorithm name, exactly (`none` and unknown names are errors).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "EdDSA" => Ok(Algorithm::EdDSA),
            "ES256" => Ok(Algorithm::ES256),
            "RS256" => Ok(Algorithm::RS256),
            "PS256" => Ok(Algorithm::PS256),
            "HS256" => Ok(Algorithm::HS256),
            _ => Err(KeyError::UnsupportedAlgorithm),
        }
    }
}

/// Why a key could not be built, loaded or used. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The algorithm is not one of [`Algorithm`]'s.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// The PEM text is not a key of the kind the algorithm needs.
    #[error("the PEM data is not a valid {0} key")]
    InvalidPem(Algorithm),
    /// The JWK is malformed, of an unsupported type, or does not fit its algorithm.
    #[error("invalid JWK: {0}")]
    InvalidJwk(&'static str),
    /// The JWKS document is not valid JSON of the RFC 7517 shape.
    #[error("invalid JWKS document")]
    InvalidJwks,
    /// An HS256 secret shorter than 32 bytes.
    #[error("HMAC secrets must be at least 32 bytes")]
    WeakSecret,
    /// Key generation failed in the crypto backend.
    #[error("key generation failed")]
    Generation,
    /// Signing failed in the crypto backend.
    #[error("signing failed")]
    Signing,
    /// Symmetric (HS256) and asymmetric keys were mixed for one issuer.
    #[error("HS256 keys cannot be mixed with asymmetric keys for one issuer")]
    MixedKeyFamilies,
    /// A [`KeyProvider`] could not obtain its keys (the source is down, or sent garbage).
    #[error("the keys could not be obtained")]
    Unavailable,
    /// An EC coordinate or an Ed25519 key is not the length its curve needs (P-256: 32 bytes
    /// each for `x` and `y`; Ed25519: 32 bytes).
    #[error("{alg} key coordinates must be {expected} bytes each")]
    CoordinateLength {
        /// The algorithm the key was loaded for.
        alg: Algorithm,
        /// The length each coordinate must have, in bytes.
        expected: usize,
    },
    /// The EC public key is not a point on P-256: no signature would ever verify with it.
    #[error("the ES256 public key is not a point on the P-256 curve")]
    PointNotOnCurve,
    /// The RSA modulus is even, or outside [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`].
    #[error("the RSA modulus has {bits} bits; an odd modulus of 2048 to {max} bits is needed", max = MAX_RSA_BITS)]
    RsaModulus {
        /// The modulus size, in bits.
        bits: usize,
    },
    /// The RSA public exponent is even, below 3, or longer than 32 bits.
    #[error("the RSA public exponent must be odd, at least 3 and at most 32 bits")]
    RsaExponent,
    /// A JWKS document (or a set of keys) has no key this crate can verify with.
    #[error("no usable verification key")]
    NoUsableKey,
}

/// The key a token's `kid` names among `keys`. Without a `kid`, the only key, when there is
/// exactly one (DESIGN decision 2).
pub(crate) fn select<'a>(keys: &'a [VerifyingKey], kid: Option<&str>) -> Option<&'a VerifyingKey> {
    match (kid, keys) {
        (Some(kid), _) => keys.iter().find(|k| k.kid() == kid),
        (None, [only]) => Some(only),
        (None, _) => None,
    }
}

/// Makes sure jsonwebtoken has a crypto provider: with both backend features on, it cannot pick
/// one by itself, so aws-lc-rs is installed (unless the application installed one first).
pub(crate) fn ensure_crypto_provider() {
    #[cfg(all(feature = "aws-lc-rs", feature = "rust-crypto"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // An error means a provider is already installed, which is what we want.
            let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
                &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
            );
        });
    }
}

fn check_curve(alg: Algorithm, jwk: &Jwk) -> Result<(), KeyError> {
    let ok = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => {
            p.curve == EllipticCurve::Ed25519
        }
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        (AlgorithmParameters::RSA(_), Algorithm::RS256 | Algorithm::PS256) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(KeyError::InvalidJwk("key type does not fit the algorithm"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALGS: [Algorithm; 5] = [
        Algorithm::EdDSA,
        Algorithm::ES256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::HS256,
    ];

    #[test]
    fn every_algorithm_generates_signs_and_verifies() {
        for alg in ALGS {
            let key = SigningKey::generate(alg).unwrap();
            let token = key.sign("at+jwt", &serde_json::json!({"a": 1})).unwrap();
            let (message, signature) = token.rsplit_once('.').unwrap();
            assert!(
                key.verifying_key()
                    .verify_signature(message.as_bytes(), signature),
                "{alg}"
            );
            assert!(
                !key.verifying_key().verify_signature(b"other", signature),
                "{alg}"
            );
        }
    }

    #[test]
    fn pem_round_trip_keeps_kid() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256] {
            let key = SigningKey::generate(alg).unwrap();
            let pem = key.to_pkcs8_pem().unwrap();
            let again = SigningKey::from_pem(alg, pem.as_bytes()).unwrap();
            assert_eq!(key.kid(), again.kid());
        }
    }

    #[test]
    fn pem_of_the_wrong_algorithm_is_rejected() {
        let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let pem = ed.to_pkcs8_pem().unwrap();
        assert_eq!(
            SigningKey::from_pem(Algorithm::ES256, pem.as_bytes()).unwrap_err(),
            KeyError::InvalidPem(Algorithm::ES256)
        );
        assert!(SigningKey::from_pem(Algorithm::EdDSA, b"not a pem").is_err());
        assert!(SigningKey::from_pem(Algorithm::EdDSA, b"").is_err());
    }

    #[test]
    fn debug_never_shows_key_material() {
        let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let shown = format!("{key:?} {:?}", key.verifying_key());
        assert!(!shown.contains(&body));
        assert!(shown.contains(key.kid()));
        let secret = [7u8; 32];
        let hs = SigningKey::hmac(&secret, "k1").unwrap();
        assert_eq!(
            format!("{hs:?}"),
            r#"SigningKey { kid: "k1", alg: HS256, .. }"#
        );
    }

    #[test]
    fn short_hmac_secret_is_rejected() {
        assert_eq!(
            SigningKey::hmac(&[1u8; 31], "k").unwrap_err(),
            KeyError::WeakSecret
        );
    }

    #[test]
    fn algorithm_names_parse_exactly() {
        for alg in ALGS {
            assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
        }
        for bad in ["none", "None", "NONE", "eddsa", "HS512", ""] {
            assert!(bad.parse::<Algorithm>().is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod load_tests;
