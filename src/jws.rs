//! Compact JWS splitting, header checks and the one signature-and-time check, shared by the
//! access-token validator and the client-assertion check (RFC 7523).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::TokenError;
use crate::keys::{Algorithm, VerifyingKey};

/// The time rules a signed JWT is held to: the current Unix time and the clock leeway.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeWindow {
    pub(crate) now: u64,
    pub(crate) leeway: u64,
}

impl TimeWindow {
    /// The first Unix second at which a token with this `exp` counts as expired.
    pub(crate) fn expires_at(self, exp: u64) -> u64 {
        exp.saturating_add(self.leeway)
    }
}

/// The header fields we act on. `jku`, `x5u`, `jwk` and the rest are ignored (DESIGN
/// decision 2); serde skips them without building anything.
#[derive(Deserialize)]
pub(crate) struct JoseHeader {
    alg: String,
    #[serde(default)]
    pub(crate) kid: Option<String>,
    #[serde(default)]
    pub(crate) typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// A compact JWS split into its parts, header decoded and checked.
pub(crate) struct Compact<'a> {
    pub(crate) header: JoseHeader,
    pub(crate) alg: Algorithm,
    pub(crate) payload_b64: &'a str,
    /// `header.payload`, the signed bytes.
    pub(crate) message: &'a str,
    pub(crate) signature: &'a str,
}

impl<'a> Compact<'a> {
    /// Splits `token` (at most `max_bytes` long) and decodes its header.
    pub(crate) fn parse(token: &'a str, max_bytes: usize) -> Result<Self, TokenError> {
        // Bound the work before decoding anything (DESIGN decision 2).
        if token.len() > max_bytes {
            return Err(TokenError::TooLarge);
        }
        let (message, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header_b64, payload_b64) = message.split_once('.').ok_or(TokenError::Malformed)?;
        if signature.is_empty() || payload_b64.contains('.') {
            return Err(TokenError::Malformed);
        }
        let header: JoseHeader = decode_segment(header_b64)?;
        // `none`, in any spelling, and every algorithm we do not implement, stop here.
        let alg: Algorithm = header
            .alg
            .parse()
            .map_err(|_| TokenError::UnsupportedAlgorithm)?;
        // RFC 7515 §4.1.11: we understand no extension, so any `crit` rejects the token.
        if header.crit.is_some() {
            return Err(TokenError::UnsupportedCritical);
        }
        Ok(Compact {
            header,
            alg,
            payload_b64,
            message,
            signature,
        })
    }

    /// The check every signed JWT passes before its claims are trusted, in this order: the key
    /// the `kid` selected exists (`key`), the header `alg` is that key's one algorithm, the
    /// signature verifies, `exp` has not passed and `nbf` has (both with the window's leeway).
    pub(crate) fn verify(
        &self,
        key: Option<&VerifyingKey>,
        exp: u64,
        nbf: Option<u64>,
        window: TimeWindow,
    ) -> Result<(), TokenError> {
        // The key comes from the issuer (or client) and the kid; its algorithm is the only one
        // accepted (DESIGN decision 2).
        let key = key.ok_or(TokenError::UnknownKey)?;
        if key.algorithm() != self.alg {
            return Err(TokenError::AlgorithmMismatch);
        }
        if !key.verify_signature(self.message.as_bytes(), self.signature) {
            return Err(TokenError::InvalidSignature);
        }
        // RFC 7519 §4.1.4: reject on or after exp (+ leeway).
        if window.now >= window.expires_at(exp) {
            return Err(TokenError::Expired);
        }
        // RFC 7519 §4.1.5: reject before nbf (- leeway).
        if nbf.is_some_and(|nbf| window.now.saturating_add(window.leeway) < nbf) {
            return Err(TokenError::NotYetValid);
        }
        Ok(())
    }

    /// Decodes the payload as `T`.
    pub(crate) fn claims<T: DeserializeOwned>(&self) -> Result<T, TokenError> {
        decode_segment(self.payload_b64)
    }
}

fn decode_segment<T: DeserializeOwned>(segment: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => TokenError::MissingClaim,
        _ => TokenError::Malformed,
    })
}
