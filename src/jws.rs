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

/// The registered time claims of a signed JWT (RFC 7519 §4.1.4–4.1.6), as
/// [`Compact::verify_times`] checks them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeClaims {
    pub(crate) exp: u64,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
}

/// The header fields we act on. `jku`, `x5u`, `jwk` and the rest are ignored (DESIGN
/// decision 2); serde skips them without building anything. A name given twice makes the
/// header malformed (RFC 7515 §4: names must be unique).
#[derive(Deserialize)]
pub(crate) struct JoseHeader {
    alg: String,
    #[serde(default)]
    pub(crate) kid: Option<String>,
    #[serde(default)]
    pub(crate) typ: Option<String>,
    /// Whether the header has a `crit` member at all, whatever its value: `"crit": null` and
    /// `"crit": []` count (an `Option<Value>` would read `null` as absent).
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// `true` for any value: only the member's presence matters.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer)?;
    Ok(true)
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
        // A header that is not the JSON object we expect is malformed, whatever serde
        // thought of it (there are no claims in a header to be missing).
        let header: JoseHeader =
            decode_segment(header_b64).map_err(|_: TokenError| TokenError::Malformed)?;
        // `none`, in any spelling, and every algorithm we do not implement, stop here.
        let alg: Algorithm = header
            .alg
            .parse()
            .map_err(|_| TokenError::UnsupportedAlgorithm)?;
        // RFC 7515 §4.1.11: we understand no extension, so a `crit` member in any form
        // (`null`, `[]`, a string, a list of names) rejects the token.
        if header.crit {
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
    /// signature verifies, `exp` has not passed, `nbf` has, and `iat` is not in the future
    /// (each with the window's leeway).
    pub(crate) fn verify_times(
        &self,
        key: Option<&VerifyingKey>,
        times: TimeClaims,
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
        let latest = window.now.saturating_add(window.leeway);
        // RFC 7519 §4.1.4: reject on or after exp (+ leeway).
        if window.now >= window.expires_at(times.exp) {
            return Err(TokenError::Expired);
        }
        // RFC 7519 §4.1.5: reject before nbf (- leeway).
        if times.nbf.is_some_and(|nbf| latest < nbf) {
            return Err(TokenError::NotYetValid);
        }
        // RFC 7519 §4.1.6 gives iat no rule of its own; a token "issued" beyond the leeway in
        // the future is a forged or misconfigured one, and would stretch any lifetime bound.
        if times.iat.is_some_and(|iat| latest < iat) {
            return Err(TokenError::IssuedInFuture);
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
    // RFC 7515 §4 and RFC 7519 §4: the header and the claims are JSON objects; serde would
    // also fill a struct from an array, by position.
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(TokenError::Malformed);
    }
    serde_json::from_slice(&bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => TokenError::MissingClaim,
        _ => TokenError::Malformed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn crit_is_refused_whatever_its_value() {
        for crit in ["null", "[]", r#"["exp"]"#, r#""x""#] {
            let header = segment(&format!(r#"{{"alg":"EdDSA","crit":{crit}}}"#));
            let token = format!("{header}.{}.sig", segment("{}"));
            assert!(
                matches!(
                    Compact::parse(&token, 8192),
                    Err(TokenError::UnsupportedCritical)
                ),
                "{crit}"
            );
        }
    }

    #[test]
    fn header_and_claims_must_be_objects() {
        let object = segment(r#"{"alg":"EdDSA"}"#);
        let array = segment(r#"["EdDSA",null,"at+jwt"]"#);
        let token = format!("{array}.{}.sig", segment("{}"));
        assert!(matches!(
            Compact::parse(&token, 8192),
            Err(TokenError::Malformed)
        ));
        let token = format!("{object}.{}.sig", segment(r#"["a"]"#));
        let jws = Compact::parse(&token, 8192).unwrap();
        assert_eq!(
            jws.claims::<serde_json::Value>().unwrap_err(),
            TokenError::Malformed
        );
    }

    /// The `iat` rule, as access tokens and client assertions both get it.
    #[test]
    fn iat_beyond_the_leeway_is_issued_in_the_future() {
        let key = crate::keys::SigningKey::generate(crate::keys::Algorithm::EdDSA).unwrap();
        let window = TimeWindow {
            now: 1_000,
            leeway: 30,
        };
        let token = key.sign("JWT", &serde_json::json!({})).unwrap();
        let jws = Compact::parse(&token, 8192).unwrap();
        let check = |iat| {
            let times = TimeClaims {
                exp: 1_060,
                nbf: None,
                iat,
            };
            jws.verify_times(Some(key.verifying_key()), times, window)
        };
        assert_eq!(check(Some(1_030)), Ok(()));
        assert_eq!(check(None), Ok(()));
        assert_eq!(check(Some(1_031)), Err(TokenError::IssuedInFuture));
    }
}
