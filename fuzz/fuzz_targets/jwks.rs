//! A JWKS document: `Jwks::parse` and `KeySource::jwks` agree and return keys or a `KeyError`,
//! never a panic; every key they accept can check a signature and export itself.
//!
//! Input: the document text (invalid UTF-8 is replaced, as a fetcher decoding it would).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_client_credentials::keys::{Jwks, KeySource};

/// A well-formed base64url signature of 64 bytes that no key made.
const SIGNATURE: &str =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw";

fuzz_target!(|data: &[u8]| {
    let document = String::from_utf8_lossy(data);
    let parsed = Jwks::parse(&document);
    let source = KeySource::jwks(&document);
    assert_eq!(
        source.is_ok(),
        parsed.as_ref().is_ok_and(|keys| !keys.is_empty())
    );
    for key in parsed.unwrap_or_default() {
        assert!(!key.verify_signature(b"message", SIGNATURE));
        assert!(!key.verify_signature(b"message", ""));
        let _ = key.to_jwk();
        let _ = format!("{key:?}");
    }
});
