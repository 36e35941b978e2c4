//! A token given to `Validator::verify`: any input is verified or refused with a
//! `TokenError`, never a panic; a verified token meets the issuer and audience rules.
//!
//! Input: as `tower_client_credentials_fuzz::token_from` reads it (raw text, or a header and
//! payload signed by the issuer key).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_client_credentials_fuzz::{AUDIENCE, ISSUER, fixture, token_from};

fuzz_target!(|data: &[u8]| {
    let token = token_from(data);
    let f = fixture();
    if let Ok(claims) = f.runtime.block_on(f.validator.verify(&token)) {
        assert_eq!(claims.iss, ISSUER);
        assert!(claims.aud.contains(AUDIENCE));
    }
});
