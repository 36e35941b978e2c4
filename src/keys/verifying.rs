//! [`VerifyingKey`]: a public key or HS256 secret with its one algorithm and `kid`.

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, ThumbprintHash};

use super::{Algorithm, KeyError, check, check_curve, ensure_crypto_provider};

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
    ///
    /// Keys that cannot verify are refused here, with the reason: an EC point off P-256
    /// ([`KeyError::PointNotOnCurve`]), coordinates of the wrong length
    /// ([`KeyError::CoordinateLength`]), an RSA modulus under 2048 bits or an odd one
    /// ([`KeyError::RsaModulus`]), an unusable exponent ([`KeyError::RsaExponent`]).
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
    /// are refused: shared secrets are not exchanged as JWKs here. Keys that cannot verify are
    /// refused as [`from_pem`](Self::from_pem) refuses them (a `P-256` key with coordinates of
    /// any length but 32 bytes, say).
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
        // Before the backend sees them: it would read 96 bytes of `x` and `y` as P-384.
        check::public_key(alg, jwk)?;
        // Keep only the public parameters.
        let decoding =
            DecodingKey::from_jwk(jwk).map_err(|_| KeyError::InvalidJwk("bad key parameters"))?;
        let public = Jwk::from_decoding_key(&decoding, Some(alg.to_jwt()))
            .map_err(|_| KeyError::InvalidJwk("bad key parameters"))?;
        Self::from_parts(alg, public, jwk.common.key_id.as_deref())
    }

    pub(super) fn from_parts(
        alg: Algorithm,
        mut jwk: Jwk,
        kid: Option<&str>,
    ) -> Result<Self, KeyError> {
        // Every loading path ends here: refuse a key that could never verify.
        check::public_key(alg, &jwk)?;
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

    /// The same key under another `kid`.
    pub(super) fn renamed(&self, kid: String) -> VerifyingKey {
        let mut jwk = self.inner.jwk.clone();
        if let Some(jwk) = jwk.as_mut() {
            jwk.common.key_id = Some(kid.clone());
        }
        VerifyingKey {
            inner: Arc::new(VerifyingInner {
                kid,
                alg: self.inner.alg,
                decoding: self.inner.decoding.clone(),
                jwk,
            }),
        }
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
