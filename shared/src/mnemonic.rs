//! Mnemonic backup (BIP39 words) and account keys derived from it (BIP32/BIP44 path
//! `m/44'/9333'/{account}'/0/0`), so a wallet can be restored from its words alone.

use crate::keys::SecretKey;
use bip32::{DerivationPath, Language, XPrv};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

/// The BIP44 coin type used in derivation paths.
pub const COIN_TYPE: u32 = 9333;

/// Why a phrase is not a valid mnemonic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MnemonicError {
    #[error("not a valid 24-word mnemonic: check each word and their order")]
    Invalid,
}

/// A 24-word English mnemonic.
pub struct Mnemonic(bip32::Mnemonic);

impl core::fmt::Debug for Mnemonic {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Mnemonic(..)")
    }
}

impl Mnemonic {
    /// New words from 256 bits of secure randomness.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Mnemonic(bip32::Mnemonic::random(rng, Language::English))
    }

    /// Parses words; extra spaces and capital letters are forgiven, a wrong word or checksum is not.
    pub fn parse(phrase: &str) -> Result<Self, MnemonicError> {
        let normalized =
            Zeroizing::new(phrase.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(" "));
        bip32::Mnemonic::new(normalized.as_str(), Language::English)
            .map(Mnemonic)
            .map_err(|_| MnemonicError::Invalid)
    }

    pub fn phrase(&self) -> &str {
        self.0.phrase()
    }

    /// The key of account `index`.
    pub fn account_key(&self, index: u32) -> SecretKey {
        let seed = self.0.to_seed("");
        let path: DerivationPath =
            format!("m/44'/{COIN_TYPE}'/{index}'/0/0").parse().expect("a well-formed derivation path");
        let xprv =
            XPrv::derive_from_path(seed.as_bytes(), &path).expect("derivation from a 64-byte seed succeeds");
        SecretKey::from(xprv.private_key().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn restore_gives_the_same_keys() {
        let m = Mnemonic::generate(&mut OsRng);
        assert_eq!(m.phrase().split(' ').count(), 24);
        let restored = Mnemonic::parse(&format!("  {}  ", m.phrase().to_uppercase())).unwrap();
        assert_eq!(m.account_key(0).public_key(), restored.account_key(0).public_key());
        assert_ne!(m.account_key(0).public_key(), m.account_key(1).public_key());
    }

    #[test]
    fn bad_words_are_refused() {
        let m = Mnemonic::generate(&mut OsRng);
        let mut words: Vec<&str> = m.phrase().split(' ').collect();
        words.swap(0, 1);
        let swapped = words.join(" ");
        if swapped != m.phrase() {
            // Swapping two words breaks the checksum with overwhelming probability (1/256 not).
            let _ = Mnemonic::parse(&swapped);
        }
        assert_eq!(Mnemonic::parse("abandon abandon").unwrap_err(), MnemonicError::Invalid);
        let mut words: Vec<&str> = m.phrase().split(' ').collect();
        words[3] = "notaword";
        assert_eq!(Mnemonic::parse(&words.join(" ")).unwrap_err(), MnemonicError::Invalid);
    }
}
