//! secp256k1 keys and ECDSA signatures (k256): compressed public keys, deterministic (RFC 6979)
//! low-S signatures over 32-byte message digests.

use crate::encode::{Decode, DecodeError, Encode, Reader};
use crate::hash::{sha256, PubkeyHash};
use k256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use k256::ecdsa::{SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

/// Key and signature errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a valid secret key (must be 32 bytes, nonzero and below the curve order)")]
    InvalidSecretKey,
    #[error("not a valid compressed secp256k1 public key")]
    InvalidPublicKey,
    #[error("not a valid 64-byte signature")]
    InvalidSignatureEncoding,
    #[error("signature has a high S value; only low-S signatures are valid")]
    HighS,
    #[error("signature does not verify")]
    BadSignature,
    #[error("hex expected")]
    NotHex,
}

/// A secret signing key. Its bytes are wiped from memory when it is dropped.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl core::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A new key from a cryptographically secure RNG (the OS natively, the browser's
    /// `crypto.getRandomValues` in wasm; the caller chooses).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        SecretKey(SigningKey::random(rng))
    }

    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        SigningKey::from_slice(bytes).map(SecretKey).map_err(|_| KeyError::InvalidSecretKey)
    }

    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes().into())
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_verifying_key(*self.0.verifying_key())
    }

    /// Signs a 32-byte digest deterministically (RFC 6979); the result is always low-S.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Signature {
        let sig: k256::ecdsa::Signature =
            self.0.sign_prehash(digest).expect("signing a 32-byte digest cannot fail");
        Signature(sig.normalize_s().unwrap_or(sig))
    }
}

impl From<SigningKey> for SecretKey {
    fn from(key: SigningKey) -> Self {
        SecretKey(key)
    }
}

/// A compressed secp256k1 public key (33 bytes).
///
/// Keys made by [`SecretKey::public_key`] or parsed with [`PublicKey::from_bytes`] are checked
/// to be points on the curve. Keys decoded from a transaction's canonical bytes are only checked
/// for their form (`02`/`03` prefix): whether they lie on the curve is checked when a signature is
/// verified against them, so decoding a block stays cheap and a key is decompressed once, where
/// it is used.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey {
    bytes: [u8; 33],
}

impl PublicKey {
    fn from_verifying_key(key: VerifyingKey) -> Self {
        let point = key.to_encoded_point(true);
        let mut bytes = [0u8; 33];
        bytes.copy_from_slice(point.as_bytes());
        PublicKey { bytes }
    }

    /// Parses a compressed (33-byte, `02`/`03` prefix) public key that lies on the curve.
    pub fn from_bytes(bytes: &[u8; 33]) -> Result<Self, KeyError> {
        let key = PublicKey::from_compressed_form(bytes)?;
        key.point()?;
        Ok(key)
    }

    /// Takes 33 bytes in the compressed form without checking that they are a point on the curve
    /// (what decoding does; see the type's documentation).
    fn from_compressed_form(bytes: &[u8; 33]) -> Result<Self, KeyError> {
        if bytes[0] != 0x02 && bytes[0] != 0x03 {
            return Err(KeyError::InvalidPublicKey);
        }
        Ok(PublicKey { bytes: *bytes })
    }

    /// The curve point: decompresses the key (a square root in the field).
    fn point(&self) -> Result<VerifyingKey, KeyError> {
        VerifyingKey::from_sec1_bytes(&self.bytes).map_err(|_| KeyError::InvalidPublicKey)
    }

    /// The key decompressed once, to verify several signatures with it.
    pub fn verifier(&self) -> Result<Verifier, KeyError> {
        self.point().map(Verifier)
    }

    pub fn as_bytes(&self) -> &[u8; 33] {
        &self.bytes
    }

    /// What an address commits to: SHA-256 of the compressed key.
    pub fn pubkey_hash(&self) -> PubkeyHash {
        PubkeyHash(sha256(&self.bytes))
    }

    /// Verifies a signature over a 32-byte digest. High-S signatures are rejected, so a valid
    /// signature has exactly one encoding.
    /// A key that is not a point on the curve fails with [`KeyError::InvalidPublicKey`].
    pub fn verify_digest(&self, digest: &[u8; 32], sig: &Signature) -> Result<(), KeyError> {
        self.verifier()?.verify_digest(digest, sig)
    }
}

/// A public key decompressed to its curve point, ready to verify signatures.
#[derive(Clone, Copy, Debug)]
pub struct Verifier(VerifyingKey);

impl Verifier {
    /// Verifies a signature over a 32-byte digest. High-S signatures are rejected, so a valid
    /// signature has exactly one encoding.
    pub fn verify_digest(&self, digest: &[u8; 32], sig: &Signature) -> Result<(), KeyError> {
        if sig.0.normalize_s().is_some() {
            return Err(KeyError::HighS);
        }
        self.0.verify_prehash(digest, &sig.0).map_err(|_| KeyError::BadSignature)
    }
}

impl core::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.bytes))
    }
}

impl core::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&hex::encode(self.bytes))
    }
}

impl core::str::FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let mut bytes = [0u8; 33];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| KeyError::NotHex)?;
        PublicKey::from_bytes(&bytes)
    }
}

/// A 64-byte ECDSA signature `r || s`, each 32 bytes big-endian.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(k256::ecdsa::Signature);

impl Signature {
    /// A well-formed signature that signs nothing (`r = s = 1`): a stand-in while a transaction
    /// is assembled, before its signed message exists. It verifies against no message.
    pub fn placeholder() -> Signature {
        let mut bytes = [0u8; 64];
        bytes[31] = 1;
        bytes[63] = 1;
        Signature::from_bytes(&bytes).expect("r = s = 1 are valid scalars")
    }

    /// Parses `r || s`; both must be in `1..n`.
    pub fn from_bytes(bytes: &[u8; 64]) -> Result<Self, KeyError> {
        k256::ecdsa::Signature::from_slice(bytes)
            .map(Signature)
            .map_err(|_| KeyError::InvalidSignatureEncoding)
    }

    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes().into()
    }

    /// The same signature with `s` replaced by `n - s` (the malleated twin). Only useful to test
    /// that such twins are rejected.
    pub fn negate_s(&self) -> Signature {
        let (r, s) = self.0.split_scalars();
        Signature(k256::ecdsa::Signature::from_scalars(r, -*s).expect("negated s is a valid scalar"))
    }
}

impl core::fmt::Debug for Signature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Signature({})", hex::encode(self.to_bytes()))
    }
}

impl core::fmt::Display for Signature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&hex::encode(self.to_bytes()))
    }
}

impl core::str::FromStr for Signature {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let mut bytes = [0u8; 64];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| KeyError::NotHex)?;
        Signature::from_bytes(&bytes)
    }
}

/// Hex in the JSON API; on the P2P wire, the canonical bytes (§5: 33 and 64), checked as the
/// consensus decoding checks them.
macro_rules! hex_serde {
    ($t:ty, $n:literal) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.collect_str(self)
                } else {
                    crate::encode::fixed::serialize(&crate::encode::to_bytes(self), s)
                }
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                    s.parse().map_err(serde::de::Error::custom)
                } else {
                    let bytes = crate::encode::fixed::deserialize::<D, $n>(d)?;
                    crate::encode::from_bytes(&bytes).map_err(serde::de::Error::custom)
                }
            }
        }
    };
}
hex_serde!(PublicKey, 33);
hex_serde!(Signature, 64);

impl Encode for PublicKey {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bytes);
    }
    fn encoded_len(&self) -> usize {
        33
    }
}

impl Decode for PublicKey {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        PublicKey::from_compressed_form(&r.array()?).map_err(|_| DecodeError::InvalidValue("public key"))
    }
}

impl Encode for Signature {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }
    fn encoded_len(&self) -> usize {
        64
    }
}

impl Decode for Signature {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Signature::from_bytes(&r.array()?).map_err(|_| DecodeError::InvalidValue("signature"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::sha256d;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_bytes(&[byte; 32]).unwrap()
    }

    #[test]
    fn sign_verify_and_determinism() {
        let k = key(7);
        let digest = sha256d(b"message");
        let sig = k.sign_digest(&digest);
        assert_eq!(sig, k.sign_digest(&digest), "RFC 6979 signing is deterministic");
        k.public_key().verify_digest(&digest, &sig).unwrap();
        assert_eq!(k.public_key().verify_digest(&sha256d(b"other"), &sig), Err(KeyError::BadSignature));
        assert_eq!(key(8).public_key().verify_digest(&digest, &sig), Err(KeyError::BadSignature));
    }

    #[test]
    fn high_s_twin_is_rejected() {
        let k = key(9);
        let digest = sha256d(b"malleate me");
        let sig = k.sign_digest(&digest);
        assert_eq!(k.public_key().verify_digest(&digest, &sig.negate_s()), Err(KeyError::HighS));
    }

    #[test]
    fn key_encodings() {
        assert_eq!(SecretKey::from_bytes(&[0; 32]).unwrap_err(), KeyError::InvalidSecretKey);
        assert_eq!(SecretKey::from_bytes(&[0xff; 32]).unwrap_err(), KeyError::InvalidSecretKey);
        let pk = key(1).public_key();
        assert!(matches!(pk.as_bytes()[0], 2 | 3));
        assert_eq!(pk.to_string().parse::<PublicKey>().unwrap(), pk);
        let mut uncompressed_prefix = *pk.as_bytes();
        uncompressed_prefix[0] = 4;
        assert_eq!(PublicKey::from_bytes(&uncompressed_prefix), Err(KeyError::InvalidPublicKey));
        assert_eq!(Signature::from_bytes(&[0; 64]), Err(KeyError::InvalidSignatureEncoding));
        assert_eq!(key(1).to_bytes().as_slice(), &[1u8; 32]);
    }

    #[test]
    fn off_curve_key_decodes_but_never_verifies() {
        use crate::encode::from_bytes;
        // About half of all x coordinates have no point on the curve; take the first one.
        let off_curve = (1u8..=255)
            .map(|x| {
                let mut bytes = [0u8; 33];
                bytes[0] = 2;
                bytes[32] = x;
                bytes
            })
            .find(|b| PublicKey::from_bytes(b).is_err())
            .expect("some small x is off the curve");
        assert_eq!(PublicKey::from_bytes(&off_curve), Err(KeyError::InvalidPublicKey));
        // Decoding checks the form only; the curve is checked where the key is used.
        let decoded: PublicKey = from_bytes(&off_curve).unwrap();
        let digest = sha256d(b"anything");
        let sig = key(3).sign_digest(&digest);
        assert_eq!(decoded.verify_digest(&digest, &sig), Err(KeyError::InvalidPublicKey));
        assert!(decoded.verifier().is_err());
        let mut bad_form = off_curve;
        bad_form[0] = 4;
        assert!(from_bytes::<PublicKey>(&bad_form).is_err());
    }

    #[test]
    fn random_keys_differ() {
        let mut rng = rand_core::OsRng;
        assert_ne!(SecretKey::generate(&mut rng).public_key(), SecretKey::generate(&mut rng).public_key());
    }
}
