//! [`SigningKey`]: a private key (or HS256 secret) with its [`VerifyingKey`].

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::Jwk;
use zeroize::Zeroizing;

use super::{Algorithm, KeyError, VerifyingKey, check_curve, ensure_crypto_provider, generate};

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
        let verifying = self.inner.verifying.renamed(kid.into());
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
        self.sign_with_header(Some(typ), claims)
    }

    /// Signs `claims` with header `typ` (none when `None`), this key's `kid` and `alg`.
    pub(crate) fn sign_with_header<T: serde::Serialize>(
        &self,
        typ: Option<&str>,
        claims: &T,
    ) -> Result<String, KeyError> {
        let mut header = jsonwebtoken::Header::new(self.algorithm().to_jwt());
        header.typ = typ.map(str::to_owned);
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
