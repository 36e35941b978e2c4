//! Fresh key pairs as PKCS#8 PEM, from whichever crypto backend is enabled.

use zeroize::Zeroizing;

use super::{Algorithm, KeyError};

/// A new private key for `alg` (not HS256) as PKCS#8 PEM.
#[cfg(feature = "aws-lc-rs")]
pub(super) fn pkcs8_pem(alg: Algorithm) -> Result<Zeroizing<String>, KeyError> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};

    let der: Zeroizing<Vec<u8>> = match alg {
        Algorithm::EdDSA => Ed25519KeyPair::generate()
            .and_then(|k| k.to_pkcs8v1())
            .map(|d| Zeroizing::new(d.as_ref().to_vec())),
        Algorithm::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|k| k.to_pkcs8v1())
            .map(|d| Zeroizing::new(d.as_ref().to_vec())),
        Algorithm::RS256 | Algorithm::PS256 => {
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .and_then(|k| k.as_der())
                .map(|d| Zeroizing::new(d.as_ref().to_vec()))
        }
        Algorithm::HS256 => return Err(KeyError::UnsupportedAlgorithm),
    }
    .map_err(|_| KeyError::Generation)?;
    Ok(Zeroizing::new(pem::encode(&pem::Pem::new(
        "PRIVATE KEY",
        der.to_vec(),
    ))))
}

/// A new private key for `alg` (not HS256) as PKCS#8 PEM.
#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
pub(super) fn pkcs8_pem(alg: Algorithm) -> Result<Zeroizing<String>, KeyError> {
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    use rand::rngs::OsRng;

    let pem = match alg {
        // PKCS#8 v1 (no embedded public key): the form jsonwebtoken reads.
        Algorithm::EdDSA => ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: ed25519_dalek::SigningKey::generate(&mut OsRng).to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|_| KeyError::Generation)?,
        Algorithm::ES256 => p256::SecretKey::random(&mut OsRng)
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| KeyError::Generation)?,
        Algorithm::RS256 | Algorithm::PS256 => rsa::RsaPrivateKey::new(&mut OsRng, 2048)
            .map_err(|_| KeyError::Generation)?
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| KeyError::Generation)?,
        Algorithm::HS256 => return Err(KeyError::UnsupportedAlgorithm),
    };
    Ok(Zeroizing::new(pem.to_string()))
}

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!("enable one crypto backend feature: `aws-lc-rs` (default) or `rust-crypto`");
