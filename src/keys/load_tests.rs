//! Keys that cannot verify are refused on every loading path: PEM, JWK, JWKS, a client's keys.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use serde_json::{Value, json};

use super::*;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn jwk(value: Value) -> Jwk {
    serde_json::from_value(value).unwrap()
}

/// The JWK of a freshly generated key of `alg`, as JSON.
fn generated(alg: Algorithm) -> Value {
    let key = SigningKey::generate(alg).unwrap();
    serde_json::to_value(key.verifying_key().to_jwk().unwrap()).unwrap()
}

/// A DER TLV.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    match len {
        0..=127 => out.push(len as u8),
        128..=255 => out.extend([0x81, len as u8]),
        _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(content);
    out
}

fn der_uint(bytes: &[u8]) -> Vec<u8> {
    match bytes.first() {
        Some(b) if b & 0x80 != 0 => der(0x02, &[&[0u8][..], bytes].concat()),
        _ => der(0x02, bytes),
    }
}

/// SubjectPublicKeyInfo (RFC 5280 §4.1) as PEM.
fn spki_pem(algorithm: &[u8], public_key: &[u8]) -> String {
    let bits = der(0x03, &[&[0u8][..], public_key].concat());
    let spki = der(0x30, &[der(0x30, algorithm), bits].concat());
    pem::encode(&pem::Pem::new("PUBLIC KEY", spki))
}

fn rsa_pem(n: &[u8], e: &[u8]) -> String {
    // rsaEncryption (1.2.840.113549.1.1.1), NULL parameters.
    let oid = der(
        0x06,
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
    );
    let algorithm = [oid, der(0x05, &[])].concat();
    spki_pem(&algorithm, &der(0x30, &[der_uint(n), der_uint(e)].concat()))
}

fn p256_pem(x: &[u8], y: &[u8]) -> String {
    // id-ecPublicKey (1.2.840.10045.2.1), prime256v1 (1.2.840.10045.3.1.7).
    let key_type = der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
    let curve = der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
    spki_pem(&[key_type, curve].concat(), &[&[4u8][..], x, y].concat())
}

/// An odd modulus of `bits` bits (not a product of two primes: the checks only look at size).
fn modulus(bits: usize) -> Vec<u8> {
    let len = bits.div_ceil(8);
    let mut n = vec![0xa5u8; len];
    n[0] = 0xff >> (len * 8 - bits);
    if let Some(last) = n.last_mut() {
        *last |= 1;
    }
    n
}

fn decode(value: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(value.as_str().unwrap()).unwrap()
}

#[test]
fn p256_jwk_with_96_bytes_of_coordinates_is_refused_not_read_as_p384() {
    let short_long = json!({"kty": "EC", "crv": "P-256", "x": b64(&[7; 32]), "y": b64(&[7; 64])});
    let both_48 = json!({"kty": "EC", "crv": "P-256", "x": b64(&[7; 48]), "y": b64(&[7; 48])});
    let one_short = json!({"kty": "EC", "crv": "P-256", "x": b64(&[7; 31]), "y": b64(&[7; 32])});
    for bad in [short_long, both_48, one_short] {
        assert_eq!(
            VerifyingKey::from_jwk(&jwk(bad)).unwrap_err(),
            KeyError::CoordinateLength {
                alg: Algorithm::ES256,
                expected: 32
            }
        );
    }
}

#[test]
fn p256_point_off_the_curve_is_refused_as_jwk_and_pem() {
    let mut good = generated(Algorithm::ES256);
    let mut y = decode(&good["y"]);
    y[31] ^= 1;
    let x = decode(&good["x"]);
    good["y"] = json!(b64(&y));
    assert_eq!(
        VerifyingKey::from_jwk(&jwk(good)).unwrap_err(),
        KeyError::PointNotOnCurve
    );
    let pem = p256_pem(&x, &y);
    assert_eq!(
        VerifyingKey::from_pem(Algorithm::ES256, pem.as_bytes(), None).unwrap_err(),
        KeyError::PointNotOnCurve
    );
}

#[test]
fn a_valid_p256_point_loads_from_a_hand_built_pem() {
    let good = generated(Algorithm::ES256);
    let pem = p256_pem(&decode(&good["x"]), &decode(&good["y"]));
    let key = VerifyingKey::from_pem(Algorithm::ES256, pem.as_bytes(), None).unwrap();
    assert_eq!(key.to_jwk().unwrap().algorithm, jwk(good).algorithm);
}

#[test]
fn ed25519_key_of_the_wrong_length_is_refused() {
    for len in [0, 31, 33, 64] {
        let bad = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&vec![9; len])});
        assert_eq!(
            VerifyingKey::from_jwk(&jwk(bad)).unwrap_err(),
            KeyError::CoordinateLength {
                alg: Algorithm::EdDSA,
                expected: 32
            },
            "{len}"
        );
    }
}

#[test]
fn rsa_jwk_with_empty_tiny_or_even_modulus_is_refused() {
    let e = b64(&[1, 0, 1]);
    let cases = [
        (b64(&[]), 0),
        (b64(&[0]), 0),
        (b64(&[0x7f]), 7),
        (b64(&modulus(1024)), 1024),
        (b64(&modulus(2047)), 2047),
    ];
    for (n, bits) in cases {
        let bad = json!({"kty": "RSA", "alg": "RS256", "n": n, "e": e});
        assert_eq!(
            VerifyingKey::from_jwk(&jwk(bad)).unwrap_err(),
            KeyError::RsaModulus { bits },
            "{bits}"
        );
    }
    let mut even = modulus(2048);
    even[255] &= 0xfe;
    let bad = json!({"kty": "RSA", "alg": "PS256", "n": b64(&even), "e": e});
    assert_eq!(
        VerifyingKey::from_jwk(&jwk(bad)).unwrap_err(),
        KeyError::RsaModulus { bits: 2048 }
    );
}

#[test]
fn rsa_jwk_with_a_bad_exponent_is_refused() {
    let good = generated(Algorithm::RS256);
    for e in [&[][..], &[0], &[1], &[2], &[1, 0, 0], &[1, 0, 0, 0, 1]] {
        let mut bad = good.clone();
        bad["e"] = json!(b64(e));
        assert_eq!(
            VerifyingKey::from_jwk(&jwk(bad)).unwrap_err(),
            KeyError::RsaExponent,
            "{e:?}"
        );
    }
}

#[test]
fn rsa_pem_under_2048_bits_or_with_a_33_bit_exponent_is_refused() {
    let pem = rsa_pem(&modulus(1024), &[1, 0, 1]);
    assert_eq!(
        VerifyingKey::from_pem(Algorithm::RS256, pem.as_bytes(), None).unwrap_err(),
        KeyError::RsaModulus { bits: 1024 }
    );
    let good = generated(Algorithm::RS256);
    let pem = rsa_pem(&decode(&good["n"]), &[1, 0, 0, 0, 1]);
    assert_eq!(
        VerifyingKey::from_pem(Algorithm::RS256, pem.as_bytes(), None).unwrap_err(),
        KeyError::RsaExponent
    );
    let pem = rsa_pem(&decode(&good["n"]), &decode(&good["e"]));
    assert!(VerifyingKey::from_pem(Algorithm::RS256, pem.as_bytes(), None).is_ok());
}

#[test]
fn jwks_skips_keys_that_cannot_verify_and_keeps_the_rest() {
    let good = generated(Algorithm::EdDSA);
    let bad_ec = json!({"kty": "EC", "crv": "P-256", "kid": "p384ish",
                        "x": b64(&[7; 48]), "y": b64(&[7; 48])});
    let bad_rsa = json!({"kty": "RSA", "alg": "RS256", "kid": "tiny", "n": "AQ", "e": "AQAB"});
    let doc = json!({"keys": [bad_ec, good, bad_rsa]}).to_string();
    let keys = Jwks::parse(&doc).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].kid(), good["kid"].as_str().unwrap());
    assert!(KeySource::jwks(&doc).is_ok());
}

#[test]
fn jwks_without_a_usable_key_is_an_error() {
    let bad_ec = json!({"kty": "EC", "crv": "P-256", "x": b64(&[7; 48]), "y": b64(&[7; 48])});
    for doc in [json!({"keys": [bad_ec]}), json!({"keys": []})] {
        assert!(Jwks::parse(&doc.to_string()).unwrap().is_empty());
        assert_eq!(
            KeySource::jwks(&doc.to_string()).unwrap_err(),
            KeyError::NoUsableKey
        );
    }
    assert_eq!(
        KeySource::keys(Vec::new()).unwrap_err(),
        KeyError::NoUsableKey
    );
}

#[cfg(feature = "issue")]
#[test]
fn a_clients_toml_key_that_cannot_verify_is_refused_with_the_key_error() {
    use crate::clients::{ConfigFileError, ConfigProblem, MemoryClientStore};

    let text = format!(
        "[[client]]\nid = \"svc\"\naudiences = [\"api\"]\nauth_methods = [\"private_key_jwt\"]\n\
         jwks = {{ keys = [\n  {{ kty = \"EC\", crv = \"P-256\", x = \"{}\", y = \"{}\" }},\n] }}\n",
        b64(&[7; 48]),
        b64(&[7; 48])
    );
    match MemoryClientStore::from_toml_str(&text) {
        Err(ConfigFileError::Invalid { line, problem, .. }) => {
            assert_eq!(line, 6);
            assert_eq!(
                problem,
                ConfigProblem::Key(KeyError::CoordinateLength {
                    alg: Algorithm::ES256,
                    expected: 32
                })
            );
        }
        other => panic!("expected a placed key error, got {other:?}"),
    }
}
