//! What the user types, checked field by field, with an error in words for each field.

use super::messages;
use super::vault::AccountInfo;
use ferro_shared::address::AddressError;
use ferro_shared::amount::AmountError;
use ferro_shared::mnemonic::Mnemonic;
use ferro_shared::{Address, Amount, Network};
use rand_core::CryptoRngCore;

/// The shortest password the wallet accepts.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest account name.
pub const MAX_NAME_CHARS: usize = 40;
/// Words in a backup.
pub const BACKUP_WORDS: usize = 24;
/// The fee rate the send form starts with, in units per byte.
pub const DEFAULT_FEE_RATE: u64 = 2;
/// Above this many units per byte the rate is surely a typo.
pub const MAX_FEE_RATE: u64 = 100_000;

/// Why a field is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("Give the account a name.")]
    NameEmpty,
    #[error("An account name has at most {MAX_NAME_CHARS} characters.")]
    NameTooLong,
    #[error("You already have an account named \"{0}\".")]
    NameTaken(String),
    #[error("The password needs at least {MIN_PASSWORD_CHARS} characters.")]
    PasswordTooShort,
    #[error("The two passwords are not the same.")]
    PasswordsDiffer,
    #[error("Enter the recipient's address.")]
    AddressEmpty,
    #[error("{}", messages::address_error(.0))]
    Address(AddressError),
    #[error("Enter an amount.")]
    AmountEmpty,
    #[error("The amount must be more than zero.")]
    AmountZero,
    #[error("{}", messages::amount_error(.0))]
    Amount(AmountError),
    #[error("Enter a fee rate.")]
    FeeRateEmpty,
    #[error("The fee rate is a whole number of units per byte, like 2.")]
    FeeRateMalformed,
    #[error("The fee rate must be at least {} on this network.", messages::per_byte(*.0))]
    FeeRateTooLow(u64),
    #[error("A fee rate above {MAX_FEE_RATE} units per byte is surely a typo.")]
    FeeRateTooHigh,
    #[error("A backup has {BACKUP_WORDS} words; you entered {0}.")]
    WordCount(usize),
    #[error(
        "One of the words is not right, or the words are out of order. Check each word against your backup."
    )]
    BadWords,
    #[error("That is not word #{0}. Look at your written copy and try again.")]
    WrongCheckWord(usize),
}

/// A new account's name: trimmed, not empty, not too long, not already used.
pub fn account_name(input: &str, existing: &[AccountInfo]) -> Result<String, FieldError> {
    let name = input.trim();
    if name.is_empty() {
        return Err(FieldError::NameEmpty);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(FieldError::NameTooLong);
    }
    if existing.iter().any(|a| a.name == name) {
        return Err(FieldError::NameTaken(name.to_string()));
    }
    Ok(name.to_string())
}

/// A new password typed twice.
pub fn new_password(password: &str, repeat: &str) -> Result<(), FieldError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(FieldError::PasswordTooShort);
    }
    if password != repeat {
        return Err(FieldError::PasswordsDiffer);
    }
    Ok(())
}

/// A recipient address on `network`.
pub fn recipient(input: &str, network: Network) -> Result<Address, FieldError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(FieldError::AddressEmpty);
    }
    Address::parse(input, network).map_err(FieldError::Address)
}

/// An amount in coins, more than zero.
pub fn amount(input: &str) -> Result<Amount, FieldError> {
    if input.trim().is_empty() {
        return Err(FieldError::AmountEmpty);
    }
    match Amount::parse_coins(input) {
        Ok(a) if a == Amount::ZERO => Err(FieldError::AmountZero),
        Ok(a) => Ok(a),
        Err(e) => Err(FieldError::Amount(e)),
    }
}

/// A fee rate in whole units per byte, at least the network's relay minimum.
pub fn fee_rate(input: &str, network: Network) -> Result<u64, FieldError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(FieldError::FeeRateEmpty);
    }
    if !input.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::FeeRateMalformed);
    }
    let rate: u64 = input.parse().map_err(|_| FieldError::FeeRateTooHigh)?;
    let min = network.params().min_relay_fee_rate;
    if rate < min {
        return Err(FieldError::FeeRateTooLow(min));
    }
    if rate > MAX_FEE_RATE {
        return Err(FieldError::FeeRateTooHigh);
    }
    Ok(rate)
}

/// Backup words typed to restore an account.
pub fn backup_words(input: &str) -> Result<Mnemonic, FieldError> {
    let count = input.split_whitespace().count();
    if count != BACKUP_WORDS {
        return Err(FieldError::WordCount(count));
    }
    Mnemonic::parse(input).map_err(|_| FieldError::BadWords)
}

/// Which word (1 to 24) the user must type back to show they wrote the backup down.
pub fn pick_check_index(rng: &mut impl CryptoRngCore) -> usize {
    (rng.next_u32() % BACKUP_WORDS as u32) as usize + 1
}

/// Whether `answer` is word number `index` (from 1) of `phrase`; case and spaces are forgiven.
pub fn check_word(phrase: &str, index: usize, answer: &str) -> Result<(), FieldError> {
    let want = phrase.split_whitespace().nth(index.wrapping_sub(1));
    match want {
        Some(w) if w.eq_ignore_ascii_case(answer.trim()) => Ok(()),
        _ => Err(FieldError::WrongCheckWord(index)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::PubkeyHash;
    use rand_core::OsRng;

    fn dev_address() -> String {
        Address::new(Network::Dev, PubkeyHash([0x42; 32])).to_string()
    }

    #[test]
    fn recipient_table() {
        let good = dev_address();
        let test_net = Address::new(Network::Test, PubkeyHash([1; 32])).to_string();
        let mut typo = good.clone().into_bytes();
        let i = typo.len() - 10;
        typo[i] = if typo[i] == b'q' { b'p' } else { b'q' };
        let typo = String::from_utf8(typo).unwrap();
        struct Case {
            name: &'static str,
            input: String,
            want: Result<Address, FieldError>,
        }
        let cases = [
            Case {
                name: "valid",
                input: good.clone(),
                want: Ok(Address::new(Network::Dev, PubkeyHash([0x42; 32]))),
            },
            Case {
                name: "spaces around",
                input: format!("  {good} "),
                want: Ok(Address::new(Network::Dev, PubkeyHash([0x42; 32]))),
            },
            Case { name: "empty", input: "   ".into(), want: Err(FieldError::AddressEmpty) },
            Case { name: "typo", input: typo, want: Err(FieldError::Address(AddressError::BadChecksum)) },
            Case {
                name: "other network",
                input: test_net,
                want: Err(FieldError::Address(AddressError::WrongNetwork {
                    expected: Network::Dev,
                    found: Network::Test,
                })),
            },
            Case {
                name: "words",
                input: "hello".into(),
                want: Err(FieldError::Address(AddressError::NotBech32m)),
            },
        ];
        for c in cases {
            assert_eq!(recipient(&c.input, Network::Dev), c.want, "{}", c.name);
        }
        assert_eq!(
            recipient("hello", Network::Dev).unwrap_err().to_string(),
            "This is not a Ferrocoin address."
        );
    }

    #[test]
    fn amount_table() {
        let cases: &[(&str, &str, Result<u64, FieldError>)] = &[
            ("whole", "1", Ok(100_000_000)),
            ("fraction", "1.5", Ok(150_000_000)),
            ("one unit", "0.00000001", Ok(1)),
            ("spaces", " 2 ", Ok(200_000_000)),
            ("empty", "", Err(FieldError::AmountEmpty)),
            ("zero", "0", Err(FieldError::AmountZero)),
            ("zero fraction", "0.000", Err(FieldError::AmountZero)),
            ("comma", "1,5", Err(FieldError::Amount(AmountError::Malformed))),
            ("too precise", "0.000000001", Err(FieldError::Amount(AmountError::TooPrecise))),
            ("negative", "-1", Err(FieldError::Amount(AmountError::Negative))),
            ("too large", "21000001", Err(FieldError::Amount(AmountError::TooLarge))),
        ];
        for (name, input, want) in cases {
            assert_eq!(amount(input).map(Amount::units), *want, "{name}");
        }
        assert_eq!(amount("abc").unwrap_err().to_string(), "Write the amount in coins, like 1.5 or 0.001.");
    }

    #[test]
    fn fee_rate_table() {
        let cases: &[(&str, &str, Result<u64, FieldError>)] = &[
            ("default", "2", Ok(2)),
            ("minimum", "1", Ok(1)),
            ("spaces", " 5 ", Ok(5)),
            ("maximum", "100000", Ok(MAX_FEE_RATE)),
            ("empty", "", Err(FieldError::FeeRateEmpty)),
            ("zero", "0", Err(FieldError::FeeRateTooLow(1))),
            ("fraction", "1.5", Err(FieldError::FeeRateMalformed)),
            ("negative", "-2", Err(FieldError::FeeRateMalformed)),
            ("too high", "100001", Err(FieldError::FeeRateTooHigh)),
            ("beyond u64", "99999999999999999999999", Err(FieldError::FeeRateTooHigh)),
        ];
        for (name, input, want) in cases {
            assert_eq!(fee_rate(input, Network::Dev), *want, "{name}");
        }
        assert_eq!(
            fee_rate("0", Network::Dev).unwrap_err().to_string(),
            "The fee rate must be at least 1 unit per byte on this network."
        );
    }

    #[test]
    fn names_and_passwords() {
        let existing = [AccountInfo {
            name: "Main".into(),
            network: Network::Dev,
            address: Address::new(Network::Dev, PubkeyHash([1; 32])),
        }];
        let names: &[(&str, Result<&str, FieldError>)] = &[
            (" Savings ", Ok("Savings")),
            ("", Err(FieldError::NameEmpty)),
            ("   ", Err(FieldError::NameEmpty)),
            ("Main", Err(FieldError::NameTaken("Main".into()))),
            (&"x".repeat(41), Err(FieldError::NameTooLong)),
        ];
        for (input, want) in names {
            assert_eq!(account_name(input, &existing).as_deref(), want.clone().as_deref(), "{input:?}");
        }
        let passwords: &[(&str, &str, Result<(), FieldError>)] = &[
            ("12345678", "12345678", Ok(())),
            ("1234567", "1234567", Err(FieldError::PasswordTooShort)),
            ("12345678", "12345679", Err(FieldError::PasswordsDiffer)),
            ("", "", Err(FieldError::PasswordTooShort)),
        ];
        for (p, r, want) in passwords {
            assert_eq!(new_password(p, r), *want, "{p:?} / {r:?}");
        }
    }

    #[test]
    fn backup_words_and_check() {
        let m = Mnemonic::generate(&mut OsRng);
        let phrase = m.phrase().to_string();
        let restored = backup_words(&format!(" {}\n", phrase.to_uppercase())).unwrap();
        assert_eq!(restored.account_key(0).public_key(), m.account_key(0).public_key());
        assert_eq!(backup_words("abandon abandon").unwrap_err(), FieldError::WordCount(2));
        let mut words: Vec<&str> = phrase.split(' ').collect();
        words[5] = "notaword";
        let err = backup_words(&words.join(" ")).unwrap_err();
        assert_eq!(err, FieldError::BadWords);
        assert!(err.to_string().starts_with("One of the words is not right"));

        let words: Vec<&str> = phrase.split(' ').collect();
        for _ in 0..50 {
            let n = pick_check_index(&mut OsRng);
            assert!((1..=BACKUP_WORDS).contains(&n));
            assert_eq!(check_word(&phrase, n, &format!(" {} ", words[n - 1].to_uppercase())), Ok(()));
        }
        let wrong = if words[0] == "zoo" { "abandon" } else { "zoo" };
        assert_eq!(check_word(&phrase, 1, wrong), Err(FieldError::WrongCheckWord(1)));
        assert_eq!(check_word(&phrase, 1, ""), Err(FieldError::WrongCheckWord(1)));
        assert_eq!(check_word(&phrase, 0, words[0]), Err(FieldError::WrongCheckWord(0)));
        assert_eq!(check_word(&phrase, 25, words[0]), Err(FieldError::WrongCheckWord(25)));
    }
}
