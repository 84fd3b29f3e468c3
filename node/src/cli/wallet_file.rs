//! The command-line wallet's file: the network, the public address of account 0, and the
//! mnemonic phrase encrypted under the user's password ([`ferro_shared::keystore`]).
//!
//! ```json
//! {
//!   "version": 1,
//!   "network": "dev",
//!   "address": "fdev1…",
//!   "sealed": { "version": 1, "kdf": { … }, "salt": "…", "nonce": "…", "ciphertext": "…" }
//! }
//! ```
//!
//! The address is stored in the clear so `ferro wallet address` and `balance` need no password.
//! The phrase is decrypted in memory only to sign, and unlocking checks that it still derives the
//! stored address. Files are created with mode 0600 and never overwritten.

use ferro_shared::keystore::{self, KdfParams, KeystoreError, Sealed};
use ferro_shared::mnemonic::Mnemonic;
use ferro_shared::{Address, Network, SecretKey};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The format version this code writes and reads.
pub const VERSION: u32 = 1;

/// The BIP44 account whose key the wallet uses.
pub const ACCOUNT: u32 = 0;

/// The contents of a wallet file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletFile {
    pub version: u32,
    pub network: Network,
    /// The address of account 0: public, stored so that reading it needs no password.
    pub address: Address,
    /// The mnemonic phrase, encrypted.
    pub sealed: Sealed,
}

/// Why a wallet file could not be created, read or unlocked.
#[derive(Debug, thiserror::Error)]
pub enum WalletFileError {
    #[error("the wallet file {} already exists; refusing to overwrite it", .path.display())]
    AlreadyExists { path: PathBuf },
    #[error("cannot write the wallet file {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot read the wallet file {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{} is not a valid wallet file: {reason}", .path.display())]
    Malformed { path: PathBuf, reason: String },
    #[error("wrong password")]
    WrongPassword,
    #[error("the wallet file is damaged: {0}")]
    Damaged(String),
    #[error("the wallet file is damaged: its words give the address {derived}, but it says {stored}")]
    AddressMismatch { stored: Address, derived: Address },
    #[error("cannot encrypt the wallet: {0}")]
    Seal(KeystoreError),
}

impl WalletFile {
    /// Encrypts `mnemonic` under `password` with the Argon2id cost `kdf` (use
    /// [`KdfParams::DEFAULT`]; tests pass [`KdfParams::INSECURE_FAST`]).
    pub fn seal(
        mnemonic: &Mnemonic,
        network: Network,
        password: &str,
        kdf: KdfParams,
        rng: &mut impl CryptoRngCore,
    ) -> Result<WalletFile, WalletFileError> {
        let address = Address::from_public_key(network, &mnemonic.account_key(ACCOUNT).public_key());
        let sealed = keystore::seal(mnemonic.phrase().as_bytes(), password, kdf, rng)
            .map_err(WalletFileError::Seal)?;
        Ok(WalletFile { version: VERSION, network, address, sealed })
    }

    /// Decrypts the phrase and returns the key of account 0, after checking that it derives the
    /// stored address.
    pub fn unlock(&self, password: &str) -> Result<SecretKey, WalletFileError> {
        let phrase = self.sealed.open(password).map_err(|e| match e {
            KeystoreError::WrongPasswordOrCorrupt => WalletFileError::WrongPassword,
            other => WalletFileError::Damaged(other.to_string()),
        })?;
        let phrase = std::str::from_utf8(&phrase)
            .map_err(|_| WalletFileError::Damaged("the decrypted phrase is not text".into()))?;
        let mnemonic = Mnemonic::parse(phrase).map_err(|e| WalletFileError::Damaged(e.to_string()))?;
        let key = mnemonic.account_key(ACCOUNT);
        let derived = Address::from_public_key(self.network, &key.public_key());
        if derived != self.address {
            return Err(WalletFileError::AddressMismatch { stored: self.address, derived });
        }
        Ok(key)
    }

    /// Writes the wallet to a new file at `path`, readable and writable by the owner only (on
    /// unix). Fails if the file exists.
    pub fn create_new(&self, path: &Path) -> Result<(), WalletFileError> {
        let mut json = serde_json::to_string_pretty(self).expect("a wallet file serializes to JSON");
        json.push('\n');
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|source| {
            if source.kind() == io::ErrorKind::AlreadyExists {
                WalletFileError::AlreadyExists { path: path.to_path_buf() }
            } else {
                WalletFileError::Write { path: path.to_path_buf(), source }
            }
        })?;
        if let Err(source) = file.write_all(json.as_bytes()).and_then(|()| file.sync_all()) {
            drop(file);
            // Leave no half-written wallet behind; the error that matters is the write's.
            let _ = fs::remove_file(path);
            return Err(WalletFileError::Write { path: path.to_path_buf(), source });
        }
        Ok(())
    }

    /// Reads and checks a wallet file (without decrypting anything).
    pub fn load(path: &Path) -> Result<WalletFile, WalletFileError> {
        let text = fs::read_to_string(path)
            .map_err(|source| WalletFileError::Read { path: path.to_path_buf(), source })?;
        let malformed = |reason: String| WalletFileError::Malformed { path: path.to_path_buf(), reason };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
        match value.get("version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => {
                return Err(malformed(format!("unsupported version {v}, this program reads {VERSION}")))
            }
            None => return Err(malformed("no version field".into())),
        }
        let file: WalletFile = serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
        if file.address.network != file.network {
            return Err(malformed(format!(
                "its address {} is not on its {} network",
                file.address, file.network
            )));
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    fn sealed_wallet(network: Network, password: &str) -> (Mnemonic, WalletFile) {
        let mnemonic = Mnemonic::generate(&mut OsRng);
        let file =
            WalletFile::seal(&mnemonic, network, password, KdfParams::INSECURE_FAST, &mut OsRng).unwrap();
        (mnemonic, file)
    }

    #[test]
    fn round_trip_through_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        let (mnemonic, file) = sealed_wallet(Network::Test, "correct horse");
        file.create_new(&path).unwrap();

        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains(mnemonic.phrase()), "the phrase is stored encrypted");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["network"], "test");
        assert_eq!(json["address"], file.address.to_string());
        assert!(json["sealed"]["ciphertext"].is_string());

        let loaded = WalletFile::load(&path).unwrap();
        assert_eq!(loaded, file);
        let key = loaded.unlock("correct horse").unwrap();
        assert_eq!(key.public_key(), mnemonic.account_key(0).public_key());
        assert_eq!(Address::from_public_key(Network::Test, &key.public_key()), loaded.address);
        assert!(loaded.address.to_string().starts_with("ftest1"));
    }

    #[test]
    fn restoring_the_words_gives_the_same_address() {
        let (mnemonic, file) = sealed_wallet(Network::Dev, "pw");
        let restored = Mnemonic::parse(mnemonic.phrase()).unwrap();
        let again =
            WalletFile::seal(&restored, Network::Dev, "other", KdfParams::INSECURE_FAST, &mut OsRng).unwrap();
        assert_eq!(again.address, file.address);
        assert_ne!(again.sealed, file.sealed);
    }

    #[test]
    fn wrong_password_is_refused() {
        let (_, file) = sealed_wallet(Network::Dev, "right");
        assert!(matches!(file.unlock("wrong"), Err(WalletFileError::WrongPassword)));
        assert!(matches!(file.unlock(""), Err(WalletFileError::WrongPassword)));
        assert_eq!(WalletFileError::WrongPassword.to_string(), "wrong password");
    }

    #[test]
    fn existing_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        let (_, first) = sealed_wallet(Network::Dev, "pw");
        first.create_new(&path).unwrap();
        let before = fs::read(&path).unwrap();
        let (_, second) = sealed_wallet(Network::Dev, "pw");
        let err = second.create_new(&path).unwrap_err();
        assert!(matches!(err, WalletFileError::AlreadyExists { .. }), "{err}");
        assert!(err.to_string().contains("refusing to overwrite"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before);
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        sealed_wallet(Network::Dev, "pw").1.create_new(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }

    #[test]
    fn missing_directory_is_a_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/w.json");
        let err = sealed_wallet(Network::Dev, "pw").1.create_new(&path).unwrap_err();
        assert!(matches!(err, WalletFileError::Write { .. }), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn bad_files_are_refused_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let (_, file) = sealed_wallet(Network::Dev, "pw");
        let good = serde_json::to_value(&file).unwrap();
        let other_net = Address::new(Network::Test, file.address.hash).to_string();
        struct Case {
            name: &'static str,
            text: String,
            want: &'static str,
        }
        let with = |key: &str, value: serde_json::Value| {
            let mut v = good.clone();
            v[key] = value;
            v.to_string()
        };
        let cases = [
            Case { name: "not json", text: "hello".into(), want: "expected value" },
            Case { name: "future version", text: with("version", 2.into()), want: "unsupported version 2" },
            Case { name: "no version", text: r#"{"network":"dev"}"#.into(), want: "no version field" },
            Case { name: "unknown network", text: with("network", "main".into()), want: "unknown variant" },
            Case { name: "address typo", text: with("address", "fdev1qqqq".into()), want: "address" },
            Case {
                name: "address of another network",
                text: with("address", other_net.into()),
                want: "not on its dev",
            },
        ];
        for c in cases {
            let path = dir.path().join(format!("{}.json", c.name.replace(' ', "_")));
            fs::write(&path, &c.text).unwrap();
            let err = WalletFile::load(&path).unwrap_err();
            assert!(matches!(err, WalletFileError::Malformed { .. }), "{}: {err}", c.name);
            assert!(err.to_string().contains(c.want), "{}: {err}", c.name);
        }
        let missing = WalletFile::load(&dir.path().join("missing.json")).unwrap_err();
        assert!(matches!(missing, WalletFileError::Read { .. }), "{missing}");
    }

    #[test]
    fn swapped_address_is_detected_on_unlock() {
        let (_, mut file) = sealed_wallet(Network::Dev, "pw");
        let (_, other) = sealed_wallet(Network::Dev, "pw");
        file.address = other.address;
        assert!(matches!(file.unlock("pw"), Err(WalletFileError::AddressMismatch { .. })));
    }
}
