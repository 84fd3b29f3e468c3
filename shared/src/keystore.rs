//! Password encryption of secrets at rest (the CLI wallet file and the browser's storage):
//! Argon2id derives a key from the password, XChaCha20-Poly1305 encrypts and authenticates.

use argon2::{Algorithm, Argon2, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const AAD_TAG: &[u8] = b"FERROCOIN/KEYSTORE/V1";

/// Argon2id cost parameters, stored beside the ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl KdfParams {
    /// A memory-hard default (19 MiB, 2 passes: OWASP's Argon2id recommendation).
    pub const DEFAULT: KdfParams = KdfParams { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 };
    /// Cheap parameters for tests only.
    pub const INSECURE_FAST: KdfParams = KdfParams { memory_kib: 64, iterations: 1, parallelism: 1 };
    /// The most a stored blob may ask for: the parameters come with the ciphertext, so a blob
    /// from elsewhere (a backup file, altered storage) could otherwise ask for terabytes of
    /// memory or years of work before the password is even checked.
    pub const MAX: KdfParams = KdfParams { memory_kib: 256 * 1024, iterations: 16, parallelism: 4 };

    /// Whether these parameters are within [`KdfParams::MAX`].
    pub fn is_within_bounds(self) -> bool {
        self.memory_kib <= Self::MAX.memory_kib
            && self.iterations <= Self::MAX.iterations
            && (1..=Self::MAX.parallelism).contains(&self.parallelism)
    }

    fn to_bytes(self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&self.memory_kib.to_le_bytes());
        b[4..8].copy_from_slice(&self.iterations.to_le_bytes());
        b[8..].copy_from_slice(&self.parallelism.to_le_bytes());
        b
    }
}

/// Why a secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeystoreError {
    #[error("wrong password, or the encrypted data was altered")]
    WrongPasswordOrCorrupt,
    #[error("unsupported keystore version {0}")]
    UnsupportedVersion(u32),
    #[error("invalid key derivation parameters")]
    BadParams,
    #[error("malformed keystore field {0}")]
    Malformed(&'static str),
}

/// An encrypted secret: everything needed to decrypt it given the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub version: u32,
    pub kdf: KdfParams,
    /// 16 random bytes, hex.
    pub salt: String,
    /// 24 random bytes, hex.
    pub nonce: String,
    /// Ciphertext with its 16-byte tag, hex.
    pub ciphertext: String,
}

fn derive_key(password: &str, salt: &[u8], kdf: KdfParams) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    let params = argon2::Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
        .map_err(|_| KeystoreError::BadParams)?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, key.as_mut())
        .map_err(|_| KeystoreError::BadParams)?;
    Ok(key)
}

fn aad(kdf: KdfParams) -> Vec<u8> {
    let mut v = AAD_TAG.to_vec();
    v.extend_from_slice(&kdf.to_bytes());
    v
}

/// Encrypts `secret` under `password`, with parameters within [`KdfParams::MAX`] (a blob that
/// asks for more is never opened).
pub fn seal(
    secret: &[u8],
    password: &str,
    kdf: KdfParams,
    rng: &mut impl CryptoRngCore,
) -> Result<Sealed, KeystoreError> {
    if !kdf.is_within_bounds() {
        return Err(KeystoreError::BadParams);
    }
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut nonce);
    let key = derive_key(password, &salt, kdf)?;
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: secret, aad: &aad(kdf) })
        .map_err(|_| KeystoreError::BadParams)?;
    Ok(Sealed {
        version: 1,
        kdf,
        salt: hex::encode(salt),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ciphertext),
    })
}

impl Sealed {
    /// Decrypts with `password`; a wrong password and tampering both fail authentication.
    pub fn open(&self, password: &str) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        if self.version != 1 {
            return Err(KeystoreError::UnsupportedVersion(self.version));
        }
        if !self.kdf.is_within_bounds() {
            return Err(KeystoreError::BadParams);
        }
        let salt = hex::decode(&self.salt).map_err(|_| KeystoreError::Malformed("salt"))?;
        if !(8..=64).contains(&salt.len()) {
            return Err(KeystoreError::Malformed("salt"));
        }
        let mut nonce = [0u8; 24];
        hex::decode_to_slice(&self.nonce, &mut nonce).map_err(|_| KeystoreError::Malformed("nonce"))?;
        let ciphertext = hex::decode(&self.ciphertext).map_err(|_| KeystoreError::Malformed("ciphertext"))?;
        let key = derive_key(password, &salt, self.kdf)?;
        let cipher = XChaCha20Poly1305::new(key.as_ref().into());
        cipher
            .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ciphertext, aad: &aad(self.kdf) })
            .map(Zeroizing::new)
            .map_err(|_| KeystoreError::WrongPasswordOrCorrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn round_trip_and_wrong_password() {
        let sealed = seal(b"top secret", "hunter2", KdfParams::INSECURE_FAST, &mut OsRng).unwrap();
        assert_eq!(sealed.open("hunter2").unwrap().as_slice(), b"top secret");
        assert_eq!(sealed.open("hunter3"), Err(KeystoreError::WrongPasswordOrCorrupt));
        assert!(!sealed.ciphertext.contains(&hex::encode(b"top secret")));
    }

    /// The cost parameters travel with the blob: one asking for more than any wallet writes is
    /// refused before any work is done, whatever it asks.
    #[test]
    fn a_blob_asking_for_absurd_work_is_refused_at_once() {
        let sealed = seal(b"top secret", "pw", KdfParams::INSECURE_FAST, &mut OsRng).unwrap();
        let cases = [
            KdfParams { memory_kib: u32::MAX, ..KdfParams::INSECURE_FAST },
            KdfParams { iterations: u32::MAX, ..KdfParams::INSECURE_FAST },
            KdfParams { parallelism: 0, ..KdfParams::INSECURE_FAST },
            KdfParams { parallelism: 1_000, ..KdfParams::INSECURE_FAST },
        ];
        for kdf in cases {
            let started = std::time::Instant::now();
            let altered = Sealed { kdf, ..sealed.clone() };
            assert_eq!(altered.open("pw"), Err(KeystoreError::BadParams), "{kdf:?}");
            assert!(started.elapsed() < std::time::Duration::from_millis(100));
        }
        assert!(KdfParams::DEFAULT.is_within_bounds());
        let short_salt = Sealed { salt: "00".into(), ..sealed };
        assert_eq!(short_salt.open("pw"), Err(KeystoreError::Malformed("salt")));
    }

    #[test]
    fn tampering_is_detected() {
        let sealed = seal(b"top secret", "pw", KdfParams::INSECURE_FAST, &mut OsRng).unwrap();
        let mut weaker = sealed.clone();
        weaker.kdf.iterations = 2;
        assert_eq!(weaker.open("pw"), Err(KeystoreError::WrongPasswordOrCorrupt));
        let mut flipped = sealed.clone();
        let last = flipped.ciphertext.pop().unwrap();
        flipped.ciphertext.push(if last == '0' { '1' } else { '0' });
        assert_eq!(flipped.open("pw"), Err(KeystoreError::WrongPasswordOrCorrupt));
        let mut v2 = sealed.clone();
        v2.version = 2;
        assert_eq!(v2.open("pw"), Err(KeystoreError::UnsupportedVersion(2)));
        let mut bad = sealed;
        bad.nonce = "zz".into();
        assert_eq!(bad.open("pw"), Err(KeystoreError::Malformed("nonce")));
    }

    #[test]
    fn json_form_round_trips() {
        let sealed = seal(b"x", "pw", KdfParams::INSECURE_FAST, &mut OsRng).unwrap();
        let json = serde_json::to_string(&sealed).unwrap();
        assert_eq!(serde_json::from_str::<Sealed>(&json).unwrap(), sealed);
    }
}
