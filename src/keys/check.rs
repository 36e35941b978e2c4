//! Public keys that cannot verify are refused when they are loaded, not on the first token:
//! the curve, coordinate lengths and point of EC and OKP keys, the size and exponent of RSA
//! keys. Every loading path (PEM, JWK, JWKS, a client's keys) ends in
//! [`VerifyingKey::from_parts`](super::VerifyingKey), which calls [`public_key`].
//!
//! The P-256 point check is plain arithmetic, the same under either crypto backend.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};

use super::{Algorithm, KeyError};

/// The smallest RSA modulus accepted, in bits (NIST SP 800-131A; both backends refuse less).
pub const MIN_RSA_BITS: usize = 2048;

/// The largest RSA modulus accepted, in bits: the largest the crypto backend verifies
/// (aws-lc-rs: 8192; the pure-Rust `rsa` crate: 4096).
#[cfg(feature = "aws-lc-rs")]
pub const MAX_RSA_BITS: usize = 8192;
/// The largest RSA modulus accepted, in bits: the largest the crypto backend verifies
/// (aws-lc-rs: 8192; the pure-Rust `rsa` crate: 4096).
#[cfg(not(feature = "aws-lc-rs"))]
pub const MAX_RSA_BITS: usize = 4096;

/// Checks that `jwk` is a public key `alg` can verify with.
pub(super) fn public_key(alg: Algorithm, jwk: &Jwk) -> Result<(), KeyError> {
    match (&jwk.algorithm, alg) {
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA)
            if p.curve == EllipticCurve::Ed25519 =>
        {
            // RFC 8037 §2: `x` is the 32-byte public key.
            coordinate::<32>(&p.x, alg).map(drop)
        }
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256)
            if p.curve == EllipticCurve::P256 =>
        {
            // RFC 7518 §6.2.1.2–3: each coordinate is the full 32 bytes, even with leading zeros.
            let x = coordinate::<32>(&p.x, alg)?;
            let y = coordinate::<32>(&p.y, alg)?;
            if p256_point_is_on_curve(&x, &y) {
                Ok(())
            } else {
                Err(KeyError::PointNotOnCurve)
            }
        }
        (AlgorithmParameters::RSA(p), Algorithm::RS256 | Algorithm::PS256) => {
            rsa(&decode(&p.n)?, &decode(&p.e)?)
        }
        _ => Err(KeyError::InvalidJwk("key type does not fit the algorithm")),
    }
}

fn decode(value: &str) -> Result<Vec<u8>, KeyError> {
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| KeyError::InvalidJwk("a key parameter is not base64url"))
}

/// A coordinate of exactly `N` bytes.
fn coordinate<const N: usize>(value: &str, alg: Algorithm) -> Result<[u8; N], KeyError> {
    decode(value)?
        .try_into()
        .map_err(|_| KeyError::CoordinateLength { alg, expected: N })
}

/// RFC 8017 §3.1: an odd modulus of a size the backend verifies, and an odd exponent of at
/// least 3 and at most 32 bits (65537 in practice; both backends refuse 1 and huge ones).
fn rsa(n: &[u8], e: &[u8]) -> Result<(), KeyError> {
    let bits = bit_length(n);
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) || n.last().is_none_or(|b| b & 1 == 0) {
        return Err(KeyError::RsaModulus { bits });
    }
    let e_bits = bit_length(e);
    let odd = e.last().is_some_and(|b| b & 1 == 1);
    if !(2..=32).contains(&e_bits) || !odd {
        return Err(KeyError::RsaExponent);
    }
    Ok(())
}

/// The bit length of a big-endian unsigned integer (leading zero bytes allowed).
fn bit_length(bytes: &[u8]) -> usize {
    let significant = match bytes.iter().position(|&b| b != 0) {
        Some(first) => &bytes[first..],
        None => return 0,
    };
    let leading = significant
        .first()
        .map_or(0, |b| b.leading_zeros() as usize);
    significant.len() * 8 - leading
}

/// A 256-bit unsigned integer as four 64-bit limbs, least significant first.
type U256 = [u64; 4];

/// The P-256 field prime, 2^256 − 2^224 + 2^192 + 2^96 − 1 (SEC 2 §2.4.2).
const P: U256 = [
    0xffff_ffff_ffff_ffff,
    0x0000_0000_ffff_ffff,
    0x0000_0000_0000_0000,
    0xffff_ffff_0000_0001,
];

/// The P-256 curve coefficient b (SEC 2 §2.4.2); a is −3.
const B: U256 = [
    0x3bce_3c3e_27d2_604b,
    0x651d_06b0_cc53_b0f6,
    0xb3eb_bd55_7698_86bc,
    0x5ac6_35d8_aa3a_93e7,
];

/// Whether (x, y), big-endian, is a point of P-256: both below p and y² = x³ − 3x + b (mod p).
/// The point at infinity has no (x, y) form and is never accepted.
fn p256_point_is_on_curve(x: &[u8; 32], y: &[u8; 32]) -> bool {
    let (x, y) = (from_be_bytes(x), from_be_bytes(y));
    if !less_than(&x, &P) || !less_than(&y, &P) {
        return false;
    }
    let left = mul_mod(&y, &y);
    let x3 = mul_mod(&mul_mod(&x, &x), &x);
    let three_x = add_mod(&add_mod(&x, &x), &x);
    let right = add_mod(&sub_mod(&x3, &three_x), &B);
    left == right
}

fn from_be_bytes(bytes: &[u8; 32]) -> U256 {
    let mut limbs = [0u64; 4];
    for (i, chunk) in bytes.rchunks_exact(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        limbs[i] = u64::from_be_bytes(word);
    }
    limbs
}

fn less_than(a: &U256, b: &U256) -> bool {
    a.iter().rev().cmp(b.iter().rev()) == std::cmp::Ordering::Less
}

/// a + b with the carry out of the top limb.
fn add(a: &U256, b: &U256) -> (U256, bool) {
    let mut sum = [0u64; 4];
    let mut carry = false;
    for i in 0..4 {
        let (s, c1) = a[i].overflowing_add(b[i]);
        let (s, c2) = s.overflowing_add(u64::from(carry));
        sum[i] = s;
        carry = c1 || c2;
    }
    (sum, carry)
}

/// a − b (mod 2^256) with the borrow out of the top limb.
fn sub(a: &U256, b: &U256) -> (U256, bool) {
    let mut difference = [0u64; 4];
    let mut borrow = false;
    for i in 0..4 {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(u64::from(borrow));
        difference[i] = d;
        borrow = b1 || b2;
    }
    (difference, borrow)
}

/// (a + b) mod p, for a, b < p.
fn add_mod(a: &U256, b: &U256) -> U256 {
    let (sum, carry) = add(a, b);
    if carry || !less_than(&sum, &P) {
        sub(&sum, &P).0
    } else {
        sum
    }
}

/// (a − b) mod p, for a, b < p.
fn sub_mod(a: &U256, b: &U256) -> U256 {
    let (difference, borrow) = sub(a, b);
    if borrow {
        add(&difference, &P).0
    } else {
        difference
    }
}

/// (a · b) mod p, for a, b < p, by doubling and adding over the bits of b. Slow (256 steps),
/// and run once per key load; not constant-time, which public keys do not need.
fn mul_mod(a: &U256, b: &U256) -> U256 {
    let mut product = [0u64; 4];
    for bit in (0..256).rev() {
        product = add_mod(&product, &product);
        if (b[bit / 64] >> (bit % 64)) & 1 == 1 {
            product = add_mod(&product, a);
        }
    }
    product
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(hex: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// The P-256 base point G (SEC 2 §2.4.2).
    const GX: &str = "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";
    const GY: &str = "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";

    #[test]
    fn the_base_point_is_on_the_curve_and_its_neighbours_are_not() {
        let (gx, gy) = (hex32(GX), hex32(GY));
        assert!(p256_point_is_on_curve(&gx, &gy));
        let mut off = gy;
        off[31] ^= 1;
        assert!(!p256_point_is_on_curve(&gx, &off));
        assert!(!p256_point_is_on_curve(&[0; 32], &[0; 32]));
        // (x, p − y) is the negated point, on the curve; (x, y + p) is out of range.
        let minus_y = sub(&P, &from_be_bytes(&gy)).0;
        let mut be = [0u8; 32];
        for (i, limb) in minus_y.iter().enumerate() {
            be[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&limb.to_be_bytes());
        }
        assert!(p256_point_is_on_curve(&gx, &be));
        assert!(!p256_point_is_on_curve(&gx, &[0xff; 32]));
    }

    #[test]
    fn modular_arithmetic_wraps_at_p() {
        let p_minus_1 = sub(&P, &[1, 0, 0, 0]).0;
        assert_eq!(add_mod(&p_minus_1, &[1, 0, 0, 0]), [0; 4]);
        assert_eq!(sub_mod(&[0; 4], &[1, 0, 0, 0]), p_minus_1);
        // (p − 1)² = 1 (mod p).
        assert_eq!(mul_mod(&p_minus_1, &p_minus_1), [1, 0, 0, 0]);
    }

    #[test]
    fn rsa_sizes_and_exponents() {
        let mut n = vec![0xc5u8; 256];
        n[255] |= 1;
        assert_eq!(rsa(&n, &[1, 0, 1]), Ok(()));
        // A leading zero byte does not count.
        assert_eq!(rsa(&[&[0u8][..], &n].concat(), &[1, 0, 1]), Ok(()));
        assert_eq!(
            rsa(&n[1..], &[1, 0, 1]),
            Err(KeyError::RsaModulus { bits: 2040 })
        );
        assert_eq!(rsa(&[], &[1, 0, 1]), Err(KeyError::RsaModulus { bits: 0 }));
        let mut even = n.clone();
        even[255] &= 0xfe;
        assert_eq!(
            rsa(&even, &[1, 0, 1]),
            Err(KeyError::RsaModulus { bits: 2048 })
        );
        let huge = vec![0xffu8; MAX_RSA_BITS / 8 + 1];
        assert_eq!(
            rsa(&huge, &[3]),
            Err(KeyError::RsaModulus {
                bits: MAX_RSA_BITS + 8
            })
        );
        for bad_e in [
            &[][..],
            &[0],
            &[1],
            &[0, 1],
            &[2],
            &[1, 0, 0],
            &[1, 0, 0, 0, 1],
        ] {
            assert_eq!(rsa(&n, bad_e), Err(KeyError::RsaExponent), "{bad_e:?}");
        }
        assert_eq!(rsa(&n, &[3]), Ok(()));
        assert_eq!(rsa(&n, &[0xff, 0xff, 0xff, 0xff]), Ok(()));
    }
}
