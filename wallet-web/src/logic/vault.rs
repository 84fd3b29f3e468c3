//! The vault: every account of the browser wallet, in one password-encrypted record.
//!
//! ```text
//!   localStorage["ferro.vault"] = VaultFile (JSON)
//!   ┌──────────────────────────────────────────────────────────────┐
//!   │ version: 1                                                   │
//!   │ accounts: [{name, network, address}, ...]   public, readable │
//!   │ sealed:   keystore::Sealed                  Argon2id + AEAD  │
//!   │             └─ JSON ["24 words of account 0", "24 words…"]   │
//!   └──────────────────────────────────────────────────────────────┘
//!            unlock(password) │ ▲ with_account(...) re-seals
//!                             ▼ │
//!   Unlocked: the phrases, each account's SecretKey, and the password (all wiped on drop)
//! ```
//!
//! Each account has its own 24-word mnemonic; its key is `Mnemonic::account_key(0)`. Nothing in
//! here touches the browser: the caller stores the JSON and passes the RNG and the KDF cost.

use ferro_shared::keystore::{self, KdfParams, KeystoreError, Sealed};
use ferro_shared::mnemonic::Mnemonic;
use ferro_shared::{Address, Network, SecretKey};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The version of [`VaultFile`] this code writes and reads.
pub const VAULT_VERSION: u32 = 1;

/// The public part of an account: safe to show while the vault is locked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub name: String,
    pub network: Network,
    pub address: Address,
}

/// The vault as stored: public account list and the sealed phrases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultFile {
    pub version: u32,
    pub accounts: Vec<AccountInfo>,
    pub sealed: Sealed,
}

/// Why the vault could not be opened or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("That password is not right.")]
    WrongPassword,
    #[error("The saved wallet was written by a newer version (format {0}) and cannot be read here.")]
    UnsupportedVersion(u32),
    #[error("The saved wallet is damaged ({0}). Restore your accounts from their backup words.")]
    Corrupt(&'static str),
    #[error("This account is already in the wallet, named \"{0}\".")]
    DuplicateAccount(String),
    #[error("You already have an account named \"{0}\".")]
    DuplicateName(String),
    #[error("The wallet could not be encrypted: {0}")]
    Seal(KeystoreError),
}

/// One account with its secrets, only while the vault is unlocked.
#[derive(Clone)]
pub struct Account {
    pub info: AccountInfo,
    key: SecretKey,
    phrase: Zeroizing<String>,
}

impl Account {
    fn new(name: &str, network: Network, mnemonic: &Mnemonic) -> Self {
        let key = mnemonic.account_key(0);
        let address = Address::from_public_key(network, &key.public_key());
        Account {
            info: AccountInfo { name: name.to_string(), network, address },
            key,
            phrase: Zeroizing::new(mnemonic.phrase().to_string()),
        }
    }

    /// The key that signs this account's payments.
    pub fn key(&self) -> &SecretKey {
        &self.key
    }
}

impl core::fmt::Debug for Account {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Account").field("info", &self.info).finish_non_exhaustive()
    }
}

/// The opened vault. Dropping it wipes the phrases, the keys and the password.
#[derive(Clone)]
pub struct Unlocked {
    accounts: Vec<Account>,
    /// Kept so that adding an account can seal the vault again without asking.
    password: Zeroizing<String>,
    kdf: KdfParams,
}

impl core::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Unlocked").field("accounts", &self.accounts).finish_non_exhaustive()
    }
}

/// Creates a vault holding one account.
pub fn create(
    name: &str,
    network: Network,
    mnemonic: &Mnemonic,
    password: &str,
    kdf: KdfParams,
    rng: &mut impl CryptoRngCore,
) -> Result<(VaultFile, Unlocked), VaultError> {
    let unlocked = Unlocked {
        accounts: vec![Account::new(name, network, mnemonic)],
        password: Zeroizing::new(password.to_string()),
        kdf,
    };
    let file = unlocked.seal(rng)?;
    Ok((file, unlocked))
}

impl VaultFile {
    /// Reads the stored JSON.
    pub fn from_json(json: &str) -> Result<Self, VaultError> {
        let file: VaultFile = serde_json::from_str(json).map_err(|_| VaultError::Corrupt("unreadable"))?;
        if file.version != VAULT_VERSION {
            return Err(VaultError::UnsupportedVersion(file.version));
        }
        Ok(file)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a vault always serializes")
    }

    /// Decrypts the phrases and derives each account's key, checking that the keys match the
    /// public account list.
    pub fn unlock(&self, password: &str) -> Result<Unlocked, VaultError> {
        if self.version != VAULT_VERSION {
            return Err(VaultError::UnsupportedVersion(self.version));
        }
        let secret = self.sealed.open(password).map_err(|e| match e {
            KeystoreError::WrongPasswordOrCorrupt => VaultError::WrongPassword,
            KeystoreError::UnsupportedVersion(v) => VaultError::UnsupportedVersion(v),
            KeystoreError::BadParams | KeystoreError::Malformed(_) => {
                VaultError::Corrupt("encryption fields")
            }
        })?;
        let phrases: Zeroizing<Vec<String>> = Zeroizing::new(
            serde_json::from_slice(&secret).map_err(|_| VaultError::Corrupt("sealed content"))?,
        );
        if phrases.len() != self.accounts.len() {
            return Err(VaultError::Corrupt("account count"));
        }
        let mut accounts = Vec::with_capacity(phrases.len());
        for (info, phrase) in self.accounts.iter().zip(phrases.iter()) {
            let mnemonic = Mnemonic::parse(phrase).map_err(|_| VaultError::Corrupt("backup words"))?;
            let account = Account::new(&info.name, info.network, &mnemonic);
            if account.info != *info {
                return Err(VaultError::Corrupt("address does not match its key"));
            }
            accounts.push(account);
        }
        Ok(Unlocked { accounts, password: Zeroizing::new(password.to_string()), kdf: self.sealed.kdf })
    }
}

impl Unlocked {
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    pub fn infos(&self) -> Vec<AccountInfo> {
        self.accounts.iter().map(|a| a.info.clone()).collect()
    }

    /// The account paying from `address`.
    pub fn account(&self, address: &Address) -> Option<&Account> {
        self.accounts.iter().find(|a| a.info.address == *address)
    }

    /// A copy with one more account, and the vault sealed again under the same password.
    pub fn with_account(
        &self,
        name: &str,
        network: Network,
        mnemonic: &Mnemonic,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(VaultFile, Unlocked), VaultError> {
        let account = Account::new(name, network, mnemonic);
        if let Some(existing) = self.account(&account.info.address) {
            return Err(VaultError::DuplicateAccount(existing.info.name.clone()));
        }
        if self.accounts.iter().any(|a| a.info.name == account.info.name) {
            return Err(VaultError::DuplicateName(account.info.name));
        }
        let mut next = self.clone();
        next.accounts.push(account);
        let file = next.seal(rng)?;
        Ok((file, next))
    }

    /// Encrypts the phrases under the password with a fresh salt and nonce.
    fn seal(&self, rng: &mut impl CryptoRngCore) -> Result<VaultFile, VaultError> {
        let phrases: Vec<&str> = self.accounts.iter().map(|a| a.phrase.as_str()).collect();
        let secret = Zeroizing::new(serde_json::to_vec(&phrases).expect("strings serialize"));
        let sealed = keystore::seal(&secret, &self.password, self.kdf, rng).map_err(VaultError::Seal)?;
        Ok(VaultFile { version: VAULT_VERSION, accounts: self.infos(), sealed })
    }
}

/// Whether this page may store a new vault over what the browser holds now (`stored`, the raw
/// JSON, `None` when there is none), given the vault this page last read (`known`). Another tab
/// of the same wallet may have written meanwhile; storing over its vault would drop the accounts
/// it added, and their backup words with them.
pub fn may_replace(stored: Option<&str>, known: Option<&VaultFile>) -> Result<(), VaultChanged> {
    let same = match (stored, known) {
        (None, None) => true,
        (Some(json), Some(known)) => VaultFile::from_json(json).is_ok_and(|v| &v == known),
        _ => false,
    };
    if same {
        Ok(())
    } else {
        Err(VaultChanged)
    }
}

/// The stored vault is not the one this page read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the wallet was changed in another tab or window meanwhile; nothing was saved here. Reload this page to see the wallet as it is now, then try again.")]
pub struct VaultChanged;

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    const FAST: KdfParams = KdfParams::INSECURE_FAST;

    fn new_vault(password: &str) -> (VaultFile, Unlocked, Mnemonic) {
        let m = Mnemonic::generate(&mut OsRng);
        let (file, unlocked) = create("Main", Network::Dev, &m, password, FAST, &mut OsRng).unwrap();
        (file, unlocked, m)
    }

    #[test]
    fn another_tab_s_vault_is_not_overwritten() {
        let (a, _, _) = new_vault("password1");
        let (b, _, _) = new_vault("password1");
        assert_eq!(may_replace(None, None), Ok(()));
        assert_eq!(may_replace(Some(&a.to_json()), Some(&a)), Ok(()));
        // Another tab made the first account, or changed the vault, or it is gone.
        assert_eq!(may_replace(Some(&a.to_json()), None), Err(VaultChanged));
        assert_eq!(may_replace(Some(&b.to_json()), Some(&a)), Err(VaultChanged));
        assert_eq!(may_replace(None, Some(&a)), Err(VaultChanged));
        assert_eq!(may_replace(Some("{not json"), Some(&a)), Err(VaultChanged));
    }

    #[test]
    fn create_store_and_unlock() {
        let (file, unlocked, m) = new_vault("correct horse");
        let json = file.to_json();
        let read = VaultFile::from_json(&json).unwrap();
        assert_eq!(read, file);
        assert_eq!(read.sealed.kdf, FAST);

        let opened = read.unlock("correct horse").unwrap();
        let want = Address::from_public_key(Network::Dev, &m.account_key(0).public_key());
        assert_eq!(
            opened.infos(),
            vec![AccountInfo { name: "Main".into(), network: Network::Dev, address: want }]
        );
        assert_eq!(opened.account(&want).unwrap().key().public_key(), m.account_key(0).public_key());
        assert_eq!(unlocked.infos(), opened.infos());

        assert_eq!(read.unlock("correct horsE").unwrap_err(), VaultError::WrongPassword);
        assert_eq!(read.unlock("").unwrap_err(), VaultError::WrongPassword);
    }

    #[test]
    fn adding_an_account_reseals_with_the_same_password() {
        let (file, unlocked, first) = new_vault("pass phrase 1");
        let second = Mnemonic::generate(&mut OsRng);
        let (file2, unlocked2) = unlocked.with_account("Savings", Network::Dev, &second, &mut OsRng).unwrap();
        assert_ne!(file2.sealed.salt, file.sealed.salt, "every seal takes a fresh salt");
        assert_eq!(file2.accounts.len(), 2);
        assert_eq!(unlocked2.infos(), file2.accounts);

        let opened = VaultFile::from_json(&file2.to_json()).unwrap().unlock("pass phrase 1").unwrap();
        let keys: Vec<_> = opened.accounts().iter().map(|a| a.key().public_key()).collect();
        assert_eq!(keys, vec![first.account_key(0).public_key(), second.account_key(0).public_key()]);
        assert_eq!(opened.accounts()[1].info.name, "Savings");

        // The same words twice, or the same name twice, are refused.
        let again = Mnemonic::parse(second.phrase()).unwrap();
        assert_eq!(
            opened.with_account("Other", Network::Dev, &again, &mut OsRng).unwrap_err(),
            VaultError::DuplicateAccount("Savings".into())
        );
        let third = Mnemonic::generate(&mut OsRng);
        assert_eq!(
            opened.with_account("Main", Network::Dev, &third, &mut OsRng).unwrap_err(),
            VaultError::DuplicateName("Main".into())
        );
    }

    #[test]
    fn stored_json_holds_no_secret() {
        let (_, unlocked, first) = new_vault("no secrets here");
        let second = Mnemonic::generate(&mut OsRng);
        let (file, _) = unlocked.with_account("Two", Network::Test, &second, &mut OsRng).unwrap();
        let json = file.to_json();
        for m in [&first, &second] {
            let key_hex = hex_of(&m.account_key(0).to_bytes()[..]);
            assert!(!json.contains(&key_hex), "secret key in the vault JSON");
            // Single words can occur in the JSON by accident (BIP39 has "name", a field of the
            // file); any two consecutive words of the phrase would be a leak.
            let words: Vec<&str> = m.phrase().split(' ').collect();
            for pair in words.windows(2) {
                let fragment = pair.join(" ");
                assert!(!json.contains(&fragment), "words {fragment:?} in the vault JSON");
            }
            assert!(!json.contains(m.phrase()));
        }
        assert!(!json.contains("no secrets here"), "password in the vault JSON");
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn damaged_or_foreign_vaults_are_refused() {
        let (file, _, _) = new_vault("password1");
        assert_eq!(VaultFile::from_json("{not json").unwrap_err(), VaultError::Corrupt("unreadable"));
        let mut newer = file.clone();
        newer.version = 2;
        assert_eq!(VaultFile::from_json(&newer.to_json()).unwrap_err(), VaultError::UnsupportedVersion(2));

        // A public list that does not match the sealed keys is caught on unlock.
        let mut swapped = file.clone();
        swapped.accounts[0].address = Address::new(Network::Dev, ferro_shared::PubkeyHash([7; 32]));
        assert_eq!(
            swapped.unlock("password1").unwrap_err(),
            VaultError::Corrupt("address does not match its key")
        );
        let mut extra = file;
        extra.accounts.push(extra.accounts[0].clone());
        assert_eq!(extra.unlock("password1").unwrap_err(), VaultError::Corrupt("account count"));
    }
}
