//! Randomness from the operating system, for key ids, token ids and secrets.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;

/// `N` random bytes from the OS generator.
pub(crate) fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    OsRng.fill_bytes(&mut out);
    out
}

/// 128 random bits, base64url without padding (22 characters): token ids and key ids.
pub(crate) fn id() -> String {
    URL_SAFE_NO_PAD.encode(bytes::<16>())
}
