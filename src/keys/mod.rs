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

mod generate;
pub mod jwks;
pub mod ring;
mod source;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, ThumbprintHash};
use jsonwebtoken::{DecodingKey, EncodingKey};
use zeroize::Zeroizing;

pub use jwks::Jwks;
pub use ring::KeyRing;
pub use source::KeySource;

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

/// A key that verifies signatures: a public key, or an HS256 shared secret.
///
/// Cheap to clone. `Debug` shows the `kid` and algorithm only.
#[derive(Clone)]
pub struct VerifyingKey {
    inner: Arc<VerifyingInner>,
}

struct VerifyingInner {
    kid: String,
    alg: Algorithm,
    decoding: DecodingKey,
    /// The public JWK; `None` for shared secrets, which are never published.
    jwk: Option<Jwk>,
}

impl VerifyingKey {
    /// Loads a public key from PEM (SPKI `PUBLIC KEY`, or PKCS#1 `RSA PUBLIC KEY`). The `kid` is
    /// the key's RFC 7638 thumbprint unless `kid` is given.
    pub fn from_pem(alg: Algorithm, pem: &[u8], kid: Option<&str>) -> Result<Self, KeyError> {
        ensure_crypto_provider();
        let invalid = |_| KeyError::InvalidPem(alg);
        let decoding = match alg {
            Algorithm::EdDSA => DecodingKey::from_ed_pem(pem).map_err(invalid)?,
            Algorithm::ES256 => DecodingKey::from_ec_pem(pem).map_err(invalid)?,
            Algorithm::RS256 | Algorithm::PS256 => {
                DecodingKey::from_rsa_pem(pem).map_err(invalid)?
            }
            Algorithm::HS256 => return Err(KeyError::InvalidPem(alg)),
        };
        let jwk = Jwk::from_decoding_key(&decoding, Some(alg.to_jwt()))
            .map_err(|_| KeyError::InvalidPem(alg))?;
        check_curve(alg, &jwk).map_err(|_| KeyError::InvalidPem(alg))?;
        Self::from_parts(alg, jwk, kid)
    }

    /// Loads a public key from a JWK (RFC 7517). The algorithm is the JWK's `alg`, or, when it
    /// has none, the only one its key type allows (`OKP`/`Ed25519` → EdDSA, `EC`/`P-256` →
    /// ES256); RSA keys must name theirs. Private parameters are ignored. Symmetric (`oct`) JWKs
    /// are refused: shared secrets are not exchanged as JWKs here.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        ensure_crypto_provider();
        let alg = match jwk.common.key_algorithm {
            Some(KeyAlgorithm::EdDSA) => Algorithm::EdDSA,
            Some(KeyAlgorithm::ES256) => Algorithm::ES256,
            Some(KeyAlgorithm::RS256) => Algorithm::RS256,
            Some(KeyAlgorithm::PS256) => Algorithm::PS256,
            Some(_) => return Err(KeyError::UnsupportedAlgorithm),
            None => match &jwk.algorithm {
                AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
                AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                AlgorithmParameters::RSA(_) => {
                    return Err(KeyError::InvalidJwk("RSA keys must name their alg"));
                }
                _ => return Err(KeyError::InvalidJwk("unsupported key type")),
            },
        };
        check_curve(alg, jwk)?;
        // Keep only the public parameters.
        let decoding =
            DecodingKey::from_jwk(jwk).map_err(|_| KeyError::InvalidJwk("bad key parameters"))?;
        let public = Jwk::from_decoding_key(&decoding, Some(alg.to_jwt()))
            .map_err(|_| KeyError::InvalidJwk("bad key parameters"))?;
        Self::from_parts(alg, public, jwk.common.key_id.as_deref())
    }

    fn from_parts(alg: Algorithm, mut jwk: Jwk, kid: Option<&str>) -> Result<Self, KeyError> {
        let decoding =
            DecodingKey::from_jwk(&jwk).map_err(|_| KeyError::InvalidJwk("bad key parameters"))?;
        let kid = match kid {
            Some(kid) => kid.to_owned(),
            None => jwk
                .thumbprint(ThumbprintHash::SHA256)
                .map_err(|_| KeyError::InvalidJwk("cannot compute thumbprint"))?,
        };
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        Ok(VerifyingKey {
            inner: Arc::new(VerifyingInner {
                kid,
                alg,
                decoding,
                jwk: Some(jwk),
            }),
        })
    }

    /// An HS256 shared secret (at least 32 bytes) with the given `kid`.
    pub fn hmac(secret: &[u8], kid: impl Into<String>) -> Result<Self, KeyError> {
        ensure_crypto_provider();
        if secret.len() < 32 {
            return Err(KeyError::WeakSecret);
        }
        Ok(VerifyingKey {
            inner: Arc::new(VerifyingInner {
                kid: kid.into(),
                alg: Algorithm::HS256,
                decoding: DecodingKey::from_secret(secret),
                jwk: None,
            }),
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.alg
    }

    /// The public JWK (with `kid`, `alg` and `use: sig`); `None` for HS256 secrets.
    pub fn to_jwk(&self) -> Option<Jwk> {
        self.inner.jwk.clone()
    }

    /// Checks `signature` (base64url, the JWS third segment) over `message` (the first two
    /// segments) with this key's algorithm.
    pub fn verify_signature(&self, message: &[u8], signature: &str) -> bool {
        jsonwebtoken::crypto::verify(
            signature,
            message,
            &self.inner.decoding,
            self.inner.alg.to_jwt(),
        )
        .unwrap_or(false)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.inner.kid)
            .field("alg", &self.inner.alg)
            .finish_non_exhaustive()
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

/// A private key (or HS256 secret) that signs tokens, with its [`VerifyingKey`].
///
/// Cheap to clone. `Debug` shows the `kid` and algorithm only; the private key is zeroed on drop.
#[derive(Clone)]
pub struct SigningKey {
    inner: Arc<SigningInner>,
}

struct SigningInner {
    encoding: EncodingKey,
    verifying: VerifyingKey,
    pem: Option<Zeroizing<String>>,
}

impl SigningKey {
    /// Generates a fresh key: Ed25519, P-256, 2048-bit RSA, or a 256-bit HS256 secret.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        ensure_crypto_provider();
        if alg == Algorithm::HS256 {
            let secret = Zeroizing::new(crate::random::bytes::<32>());
            let kid = crate::random::id();
            return Self::hmac(&secret[..], kid);
        }
        let pem = generate::pkcs8_pem(alg)?;
        Self::from_pem(alg, pem.as_bytes())
    }

    /// Loads a private key from PEM: PKCS#8 `PRIVATE KEY` for every algorithm, or PKCS#1
    /// `RSA PRIVATE KEY` for RS256/PS256. The `kid` is the RFC 7638 thumbprint of the public key;
    /// use [`SigningKey::with_kid`] to choose another.
    pub fn from_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, KeyError> {
        ensure_crypto_provider();
        let invalid = |_| KeyError::InvalidPem(alg);
        let encoding = match alg {
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem).map_err(invalid)?,
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem).map_err(invalid)?,
            Algorithm::RS256 | Algorithm::PS256 => {
                EncodingKey::from_rsa_pem(pem).map_err(invalid)?
            }
            Algorithm::HS256 => return Err(KeyError::InvalidPem(alg)),
        };
        let jwk = Jwk::from_encoding_key(&encoding, alg.to_jwt()).map_err(invalid)?;
        check_curve(alg, &jwk).map_err(|_| KeyError::InvalidPem(alg))?;
        let verifying = VerifyingKey::from_parts(alg, jwk, None)?;
        // Prove the pair works now rather than on the first token.
        jsonwebtoken::crypto::sign(b"probe", &encoding, alg.to_jwt()).map_err(invalid)?;
        let text = std::str::from_utf8(pem).map_err(|_| KeyError::InvalidPem(alg))?;
        Ok(SigningKey {
            inner: Arc::new(SigningInner {
                encoding,
                verifying,
                pem: Some(Zeroizing::new(text.to_owned())),
            }),
        })
    }

    /// An HS256 shared secret (at least 32 bytes) with the given `kid`.
    pub fn hmac(secret: &[u8], kid: impl Into<String>) -> Result<Self, KeyError> {
        let verifying = VerifyingKey::hmac(secret, kid)?;
        Ok(SigningKey {
            inner: Arc::new(SigningInner {
                encoding: EncodingKey::from_secret(secret),
                verifying,
                pem: None,
            }),
        })
    }

    /// The same key under another `kid`.
    pub fn with_kid(self, kid: impl Into<String>) -> Self {
        let kid = kid.into();
        let old = &self.inner.verifying.inner;
        let mut jwk = old.jwk.clone();
        if let Some(jwk) = jwk.as_mut() {
            jwk.common.key_id = Some(kid.clone());
        }
        let verifying = VerifyingKey {
            inner: Arc::new(VerifyingInner {
                kid,
                alg: old.alg,
                decoding: old.decoding.clone(),
                jwk,
            }),
        };
        SigningKey {
            inner: Arc::new(SigningInner {
                encoding: self.inner.encoding.clone(),
                verifying,
                pem: self.inner.pem.clone(),
            }),
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        self.inner.verifying.kid()
    }

    /// The one algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.verifying.algorithm()
    }

    /// The matching verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.inner.verifying
    }

    /// The private key as PEM, for storing it; `None` for HS256 secrets.
    pub fn to_pkcs8_pem(&self) -> Option<Zeroizing<String>> {
        self.inner.pem.clone()
    }

    /// Signs `claims` as a compact JWS with header `typ`, this key's `kid` and `alg`.
    ///
    /// ```
    /// use tower_client_credentials::keys::{Algorithm, SigningKey};
    /// let key = SigningKey::generate(Algorithm::ES256)?;
    /// let token = key.sign("at+jwt", &serde_json::json!({"sub": "svc"}))?;
    /// assert_eq!(token.split('.').count(), 3);
    /// # Ok::<_, tower_client_credentials::keys::KeyError>(())
    /// ```
    pub fn sign<T: serde::Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyError> {
        let mut header = jsonwebtoken::Header::new(self.algorithm().to_jwt());
        header.typ = Some(typ.to_owned());
        header.kid = Some(self.kid().to_owned());
        jsonwebtoken::encode(&header, claims, &self.inner.encoding).map_err(|_| KeyError::Signing)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid())
            .field("alg", &self.algorithm())
            .finish_non_exhaustive()
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
