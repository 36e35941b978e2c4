//! Client secrets, stored hashed (DESIGN.md decision 5).
//!
//! A [`ClientSecret`] is what the server keeps: a SHA-256 digest for generated secrets (256
//! random bits need no slow hash), or an Argon2id PHC string for human-chosen passwords. The
//! plaintext exists only in a [`GeneratedSecret`], once, to hand to the client.
//!
//! ```
//! use tower_client_credentials::clients::ClientSecret;
//!
//! let (plaintext, stored) = ClientSecret::generate();
//! assert!(stored.verify(plaintext.expose().as_bytes()));
//! assert!(!stored.verify(b"guess"));
//!
//! // What goes into the client file or database, and back.
//! let text = stored.to_stored();
//! assert!(text.starts_with("sha256:"));
//! let again: ClientSecret = text.parse()?;
//! assert!(again.verify(plaintext.expose().as_bytes()));
//! # Ok::<_, tower_client_credentials::clients::SecretError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, Salt, SaltString};
use argon2::{ARGON2ID_IDENT, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::rngs::OsRng;
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

const SHA256_PREFIX: &str = "sha256:";

/// Longest stored form accepted; real PHC strings are about 100 characters.
const MAX_STORED_LEN: usize = 512;

/// The digest [`ClientSecret::dummy`] holds: 32 bytes that are not the output of hashing
/// anything, so no known input matches them.
const DUMMY_DIGEST: [u8; 32] = *b"tower-client-credentials/no-such";

/// Why a stored secret could not be parsed, or a password could not be hashed. Never carries
/// secret or hash material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// Neither `sha256:<64 lowercase hex digits>` nor a `$argon2id$` PHC string.
    #[error(
        "the stored secret is neither `sha256:<64 lowercase hex digits>` nor an Argon2id PHC string"
    )]
    Malformed,
    /// A PHC string of another algorithm (`argon2i`, `argon2d`, …), or another Argon2 version.
    #[error("only Argon2id (version 19) password hashes are accepted")]
    UnsupportedAlgorithm,
    /// An Argon2id PHC string whose parameters, salt or hash are invalid.
    #[error("the Argon2id parameters, salt or hash are invalid")]
    InvalidArgon2,
    /// Argon2id costs above [`ClientSecret::MAX_ARGON2_MEMORY_KIB`] (64 MiB),
    /// [`ClientSecret::MAX_ARGON2_ITERATIONS`] (10) or [`ClientSecret::MAX_ARGON2_LANES`] (4).
    #[error(
        "the Argon2id cost parameters exceed the limits (m = 64 MiB of memory, t = 10 iterations, p = 4 lanes)"
    )]
    Argon2CostTooHigh,
    /// An empty password was given to hash.
    #[error("the password is empty")]
    EmptyPassword,
    /// The Argon2 implementation failed to hash the password.
    #[error("hashing the password failed")]
    Hashing,
}

/// The stored form of a client secret: a hash, never the plaintext.
///
/// `Debug` shows only the kind (`ClientSecret::Sha256(***)`); the stored text is available
/// through [`ClientSecret::to_stored`] for writing it back to storage.
#[derive(Clone)]
pub struct ClientSecret(Stored);

#[derive(Clone)]
enum Stored {
    Sha256([u8; 32]),
    /// A validated `$argon2id$v=19$…` PHC string.
    Argon2id(String),
}

impl ClientSecret {
    /// Argon2id memory cost ceiling of a stored hash (KiB; 64 MiB). Each verification allocates
    /// this much, so the token endpoint's peak memory is at most its hashing limit times this,
    /// plus a constant; and a typo in a client file cannot make every token request allocate
    /// gigabytes.
    pub const MAX_ARGON2_MEMORY_KIB: u32 = 64 * 1024;

    /// Argon2id iteration ceiling of a stored hash: bounds the CPU time of one verification.
    pub const MAX_ARGON2_ITERATIONS: u32 = 10;

    /// Argon2id lane (parallelism) ceiling of a stored hash.
    pub const MAX_ARGON2_LANES: u32 = 4;

    /// Generates a new secret of 256 random bits: the plaintext (base64url, 43 characters) to
    /// give the client once, and the SHA-256 form to store.
    pub fn generate() -> (GeneratedSecret, ClientSecret) {
        let raw = Zeroizing::new(crate::random::bytes::<32>());
        let plaintext = Zeroizing::new(URL_SAFE_NO_PAD.encode(&raw[..]));
        let digest = Sha256::digest(plaintext.as_bytes()).into();
        (
            GeneratedSecret(plaintext),
            ClientSecret(Stored::Sha256(digest)),
        )
    }

    /// Hashes a human-chosen password with Argon2id (default parameters: 19 MiB, 2 iterations,
    /// 1 lane) and a random salt.
    ///
    /// ```
    /// use tower_client_credentials::clients::ClientSecret;
    /// let stored = ClientSecret::hash_password("correct horse battery staple")?;
    /// assert!(stored.to_stored().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    /// assert!(stored.is_expensive());
    /// # Ok::<_, tower_client_credentials::clients::SecretError>(())
    /// ```
    pub fn hash_password(plaintext: &str) -> Result<ClientSecret, SecretError> {
        if plaintext.is_empty() {
            return Err(SecretError::EmptyPassword);
        }
        let salt = SaltString::generate(&mut OsRng);
        let phc = Argon2::default()
            .hash_password(plaintext.as_bytes(), &salt)
            .map_err(|_| SecretError::Hashing)?
            .to_string();
        Ok(ClientSecret(Stored::Argon2id(phc)))
    }

    /// Parses the stored form: `sha256:<64 lowercase hex digits>`, or an Argon2id PHC string
    /// (`$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`). Argon2i, Argon2d and malformed strings
    /// are rejected here rather than at the first login.
    ///
    /// ```
    /// use tower_client_credentials::clients::ClientSecret;
    /// let hex = "a".repeat(64);
    /// assert!(ClientSecret::parse(&format!("sha256:{hex}")).is_ok());
    /// assert!(ClientSecret::parse(&format!("sha256:{}", hex.to_uppercase())).is_err());
    /// assert!(ClientSecret::parse("plaintext-secret").is_err());
    /// ```
    pub fn parse(stored: &str) -> Result<ClientSecret, SecretError> {
        if stored.len() > MAX_STORED_LEN {
            return Err(SecretError::Malformed);
        }
        if let Some(hex) = stored.strip_prefix(SHA256_PREFIX) {
            return decode_hex(hex)
                .map(|digest| ClientSecret(Stored::Sha256(digest)))
                .ok_or(SecretError::Malformed);
        }
        if stored.starts_with('$') {
            check_argon2id(stored)?;
            return Ok(ClientSecret(Stored::Argon2id(stored.to_owned())));
        }
        Err(SecretError::Malformed)
    }

    /// The stored form, as [`ClientSecret::parse`] reads it.
    pub fn to_stored(&self) -> String {
        match &self.0 {
            Stored::Sha256(digest) => format!("{SHA256_PREFIX}{}", encode_hex(digest)),
            Stored::Argon2id(phc) => phc.clone(),
        }
    }

    /// A SHA-256 secret that no input matches, for verifying against when the client id is
    /// unknown: the caller then takes the same path, and about the same time, as for a known
    /// client with a wrong secret (DESIGN.md decision 5). The result must still be treated as a
    /// failure whatever [`ClientSecret::verify`] returns.
    pub fn dummy() -> ClientSecret {
        ClientSecret(Stored::Sha256(DUMMY_DIGEST))
    }

    /// Whether `presented` is the secret. Constant time in the secret: SHA-256 digests are
    /// compared with `subtle`, Argon2id outputs by the `password-hash` verifier.
    pub fn verify(&self, presented: &[u8]) -> bool {
        match &self.0 {
            Stored::Sha256(digest) => {
                let computed: [u8; 32] = Sha256::digest(presented).into();
                computed.ct_eq(digest).into()
            }
            Stored::Argon2id(phc) => match PasswordHash::new(phc) {
                Ok(hash) => Argon2::default().verify_password(presented, &hash).is_ok(),
                // Unreachable: the string was validated when it was parsed or made.
                Err(_) => false,
            },
        }
    }

    /// [`verify`](Self::verify), with an Argon2id check working in `memory` instead of a fresh
    /// allocation: the token endpoint keeps one [`HashMemory`] per hashing permit, so the
    /// hashing memory of a flood is bounded by the permits, whatever the allocator keeps.
    pub(crate) fn verify_in(&self, presented: &[u8], memory: &mut HashMemory) -> bool {
        match &self.0 {
            Stored::Sha256(_) => self.verify(presented),
            Stored::Argon2id(phc) => argon2id_matches(phc, presented, memory).unwrap_or(false),
        }
    }

    /// Whether [`ClientSecret::verify`] is slow on purpose (Argon2id): callers on an async
    /// runtime should run it with `spawn_blocking`.
    pub fn is_expensive(&self) -> bool {
        matches!(self.0, Stored::Argon2id(_))
    }

    /// What tells this stored secret from any other, without allocating: its kind and its
    /// digest or PHC string. The credential cache fingerprints it, so that a cached success
    /// never outlives the record it was verified against.
    pub(crate) fn identity(&self) -> (u8, &[u8]) {
        match &self.0 {
            Stored::Sha256(digest) => (1, digest),
            Stored::Argon2id(phc) => (2, phc.as_bytes()),
        }
    }
}

fn check_argon2id(phc: &str) -> Result<(), SecretError> {
    let hash = PasswordHash::new(phc).map_err(|_| SecretError::Malformed)?;
    if hash.algorithm != ARGON2ID_IDENT || hash.version != Some(0x13) {
        return Err(SecretError::UnsupportedAlgorithm);
    }
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(SecretError::InvalidArgon2);
    }
    // Also checks the output length and the salt against Argon2's limits.
    let params = Params::try_from(&hash).map_err(|_| SecretError::InvalidArgon2)?;
    if params.m_cost() > ClientSecret::MAX_ARGON2_MEMORY_KIB
        || params.t_cost() > ClientSecret::MAX_ARGON2_ITERATIONS
        || params.p_cost() > ClientSecret::MAX_ARGON2_LANES
    {
        return Err(SecretError::Argon2CostTooHigh);
    }
    Ok(())
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Exactly 64 lowercase hex digits: one spelling per digest keeps `to_stored` a round trip.
fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    let lower_hex = |c: &u8| matches!(c, b'0'..=b'9' | b'a'..=b'f');
    if hex.len() != 64 || !hex.as_bytes().iter().all(lower_hex) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Reusable working memory for Argon2id verifications (the `m` KiB blocks one check fills).
#[derive(Default)]
pub(crate) struct HashMemory(Vec<Block>);

impl HashMemory {
    /// The bytes held.
    pub(crate) fn len_bytes(&self) -> usize {
        self.0.len() * Block::SIZE
    }
}

impl fmt::Debug for HashMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HashMemory")
            .field(&self.len_bytes())
            .finish()
    }
}

/// Recomputes an Argon2id PHC string's hash of `presented` in `memory` and compares it in
/// constant time. `None` for a PHC string that does not parse (validated at load, so not
/// expected).
fn argon2id_matches(phc: &str, presented: &[u8], memory: &mut HashMemory) -> Option<bool> {
    let hash = PasswordHash::new(phc).ok()?;
    let expected = hash.hash?;
    let params = Params::try_from(&hash).ok()?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let mut salt = [0u8; Salt::MAX_LENGTH];
    let salt = hash.salt?.decode_b64(&mut salt).ok()?;
    let blocks = params.block_count();
    if memory.0.len() < blocks {
        memory.0.resize(blocks, Block::default());
    }
    let mut computed = Zeroizing::new(vec![0u8; expected.len()]);
    Argon2::new(argon2::Algorithm::Argon2id, version, params)
        .hash_password_into_with_memory(presented, salt, &mut computed, &mut memory.0[..blocks])
        .ok()?;
    Some(computed.ct_eq(expected.as_bytes()).into())
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Stored::Sha256(_) => f.write_str("ClientSecret::Sha256(***)"),
            Stored::Argon2id(_) => f.write_str("ClientSecret::Argon2id(***)"),
        }
    }
}

impl FromStr for ClientSecret {
    type Err = SecretError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClientSecret::parse(s)
    }
}

impl<'de> Deserialize<'de> for ClientSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        ClientSecret::parse(&stored).map_err(serde::de::Error::custom)
    }
}

/// A freshly generated plaintext secret, to show or send to the client once. Zeroed on drop;
/// `Debug` prints `GeneratedSecret(***)`, and there is deliberately no `Display`.
pub struct GeneratedSecret(Zeroizing<String>);

impl GeneratedSecret {
    /// The plaintext: what the client presents as `client_secret`.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for GeneratedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GeneratedSecret(***)")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    const HASH_OF_ABC: &str =
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    /// Argon2id is slow in debug builds: hash `"pw"` once for all tests.
    fn argon2id_of_pw() -> &'static str {
        static TEXT: OnceLock<String> = OnceLock::new();
        TEXT.get_or_init(|| ClientSecret::hash_password("pw").unwrap().to_stored())
    }

    fn parse_error(stored: &str) -> SecretError {
        ClientSecret::parse(stored).unwrap_err()
    }

    #[test]
    fn generated_secret_has_256_bits_and_verifies_only_itself() {
        let (plaintext, stored) = ClientSecret::generate();
        assert_eq!(plaintext.expose().len(), 43);
        assert!(stored.verify(plaintext.expose().as_bytes()));
        assert!(!stored.verify(b""));
        assert!(!stored.is_expensive());
        let (other, _) = ClientSecret::generate();
        assert_ne!(plaintext.expose(), other.expose());
        assert!(!stored.verify(other.expose().as_bytes()));
    }

    #[test]
    fn sha256_stored_form_round_trips_and_verifies() {
        let stored = ClientSecret::parse(HASH_OF_ABC).unwrap();
        assert_eq!(stored.to_stored(), HASH_OF_ABC);
        assert!(stored.verify(b"abc"));
        assert!(!stored.verify(b"abd"));
    }

    #[test]
    fn malformed_sha256_forms_are_rejected() {
        let hex = &HASH_OF_ABC[SHA256_PREFIX.len()..];
        for bad in [
            String::new(),
            hex.to_owned(),
            format!("sha256:{}", &hex[1..]),
            format!("sha256:{hex}0"),
            format!("sha256:{}", hex.to_uppercase()),
            format!("SHA256:{hex}"),
            format!("sha256:{}g", &hex[1..]),
            format!("sha256: {}", &hex[1..]),
            "sha256:é".repeat(10),
        ] {
            assert_eq!(parse_error(&bad), SecretError::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn argon2id_password_round_trips_and_verifies() {
        let stored = ClientSecret::parse(argon2id_of_pw()).unwrap();
        assert!(stored.is_expensive());
        assert!(stored.verify(b"pw"));
        assert!(!stored.verify(b"pw "));
        assert_eq!(stored.to_stored(), argon2id_of_pw());
        assert!(argon2id_of_pw().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let empty = ClientSecret::hash_password("");
        assert!(matches!(empty, Err(SecretError::EmptyPassword)));
    }

    #[test]
    fn argon2i_argon2d_and_other_versions_are_rejected() {
        let text = argon2id_of_pw();
        let pbkdf2 = format!("$pbkdf2-sha256$i=1000$c2FsdHNhbHRzYWx0${}", "A".repeat(43));
        for bad in [
            text.replacen("$argon2id$", "$argon2i$", 1),
            text.replacen("$argon2id$", "$argon2d$", 1),
            text.replacen("$v=19$", "$v=16$", 1),
            pbkdf2,
        ] {
            assert_eq!(parse_error(&bad), SecretError::UnsupportedAlgorithm);
        }
    }

    #[test]
    fn malformed_or_too_costly_argon2id_strings_are_rejected() {
        let text = argon2id_of_pw();
        let (without_hash, _) = text.rsplit_once('$').unwrap();
        assert_eq!(parse_error(without_hash), SecretError::InvalidArgon2);
        let zero_memory = text.replacen("m=19456", "m=0", 1);
        assert_eq!(parse_error(&zero_memory), SecretError::InvalidArgon2);
        assert_eq!(parse_error("$argon2id$"), SecretError::Malformed);
        let huge = format!("$argon2id${}", "A".repeat(1 << 20));
        assert_eq!(parse_error(&huge), SecretError::Malformed);
        for (too_costly, at_limit) in [
            (("m=19456", "m=65537"), ("m=19456", "m=65536")),
            (("t=2", "t=11"), ("t=2", "t=10")),
            (("p=1", "p=5"), ("p=1", "p=4")),
        ] {
            let over = text.replacen(too_costly.0, too_costly.1, 1);
            assert_eq!(parse_error(&over), SecretError::Argon2CostTooHigh, "{over}");
            let at = text.replacen(at_limit.0, at_limit.1, 1);
            assert!(ClientSecret::parse(&at).is_ok(), "{at}");
        }
        let huge_memory = text.replacen("m=19456", "m=4000000", 1);
        assert_eq!(parse_error(&huge_memory), SecretError::Argon2CostTooHigh);
    }

    #[test]
    fn verify_in_reused_memory_agrees_with_verify() {
        let mut memory = HashMemory::default();
        let small = ClientSecret::hash_password("correct horse").unwrap();
        for secret in [small, ClientSecret::parse(argon2id_of_pw()).unwrap()] {
            for guess in [&b"correct horse"[..], b"pw", b"wrong", b""] {
                assert_eq!(secret.verify_in(guess, &mut memory), secret.verify(guess));
            }
        }
        assert!(memory.len_bytes() >= 19 * 1024 * 1024, "{memory:?}");
        let (plain, sha) = ClientSecret::generate();
        assert!(sha.verify_in(plain.expose().as_bytes(), &mut memory));
    }

    #[test]
    fn dummy_matches_no_ordinary_input() {
        let dummy = ClientSecret::dummy();
        assert!(!dummy.is_expensive());
        for guess in [&b""[..], b"secret", b"tower-client-credentials/no-such"] {
            assert!(!dummy.verify(guess));
        }
        assert!(dummy.to_stored().starts_with(SHA256_PREFIX));
    }

    #[test]
    fn debug_and_errors_hide_plaintext_and_hash() {
        let (plaintext, stored) = ClientSecret::generate();
        let argon = ClientSecret::parse(argon2id_of_pw()).unwrap();
        assert_eq!(format!("{plaintext:?}"), "GeneratedSecret(***)");
        assert_eq!(format!("{stored:?}"), "ClientSecret::Sha256(***)");
        assert_eq!(format!("{stored:#?}"), "ClientSecret::Sha256(***)");
        assert_eq!(format!("{argon:?}"), "ClientSecret::Argon2id(***)");
        let message = parse_error("sha256:plaintext-secret").to_string();
        assert!(!message.contains("plaintext-secret"));
    }

    #[test]
    fn deserializes_from_the_stored_string() {
        let json = format!("\"{HASH_OF_ABC}\"");
        let stored: ClientSecret = serde_json::from_str(&json).unwrap();
        assert!(stored.verify(b"abc"));
        assert!(serde_json::from_str::<ClientSecret>("\"abc\"").is_err());
        assert!(serde_json::from_str::<ClientSecret>("42").is_err());
    }
}
