//! Errors in words a person understands: what went wrong and what to do about it.
//!
//! The node answers errors with a stable code (`double_spend`, `insufficient_fee`, ...) and a
//! technical message; the wallet shows these sentences instead and keeps the technical message
//! only for codes it does not know.

use ferro_shared::address::AddressError;
use ferro_shared::amount::AmountError;
use ferro_shared::wallet::WalletError;

/// What to tell the user when the node cannot be reached at all.
pub const UNREACHABLE: &str =
    "The node cannot be reached. Check that it is running, or choose another node under Node.";

/// The notice when a payment goes to the paying account's own address.
pub const PAYING_SELF: &str = "This is this account's own address: the coins come back to it, less the fee.";

/// What to tell the user when something answers at the node's address but the browser will
/// not let this page read it (the node allows no pages from other sites).
pub const REFUSED: &str = "The node is running, but it does not let pages from other sites use it, so \
     the browser refused. Open the wallet that node serves, or choose another node under Node.";

/// What to tell the user when the answer at the node's address is not a Ferrocoin node's.
pub fn unreadable(detail: &str) -> String {
    format!(
        "Something answers at the node's address, but not as a Ferrocoin node does ({detail}). \
         Check the address under Node."
    )
}

/// A failed node call: `code` is the node's error code, `None` when the node could not be
/// reached or answered something unreadable; `detail` is the technical message.
pub fn node_error(code: Option<&str>, detail: &str) -> String {
    let Some(code) = code else {
        return UNREACHABLE.to_string();
    };
    let words = match code {
        "double_spend" => {
            "Some of these coins are already being spent by another transaction. Wait until it is \
             confirmed, then try again."
        }
        "insufficient_fee" => {
            "The fee is too low for the node to accept this transaction. Raise the fee rate and try again."
        }
        "invalid_signature" => {
            "The node could not verify the signature of this transaction against the coins it \
             spends, as the node records them, so nothing was sent or paid. The coin values this \
             wallet was shown may be false: check which node it is connected to, then try again."
        }
        "key_mismatch" => "This account's key does not own the coins the transaction spends.",
        "unknown_input" => {
            "The transaction spends coins the node does not know, or that were spent already. Wait a \
             moment for the balance to refresh, then try again."
        }
        "immature_coinbase" => {
            "Newly mined coins cannot be spent yet: more blocks must be mined on top of them first."
        }
        "insufficient_funds" => "The account does not have enough coins for this amount and its fee.",
        "already_known" => "The node already has this transaction.",
        "invalid_address" => "The node does not accept this address.",
        "mining_disabled" => "This node does not mine on request.",
        "forbidden" => "This node does not allow that from this browser.",
        "not_found" => "The node does not know that.",
        "unavailable" => "The node is busy starting or syncing. Try again in a moment.",
        _ => return format!("The node refused: {detail}"),
    };
    words.to_string()
}

/// `1 unit per byte`, `2 units per byte`.
pub fn per_byte(rate: u64) -> String {
    if rate == 1 {
        "1 unit per byte".into()
    } else {
        format!("{rate} units per byte")
    }
}

/// A payment that could not be built locally.
pub fn wallet_error(e: &WalletError) -> String {
    match e {
        WalletError::ZeroAmount => "The amount must be more than zero.".into(),
        WalletError::InsufficientFunds { needed, available } => format!(
            "Insufficient funds: sending this needs {} FRC including the fee, but the account can \
             spend {} FRC.",
            needed.to_coin_string(),
            available.to_coin_string()
        ),
        WalletError::FeeRateTooLow { min, .. } => {
            format!("The fee rate must be at least {}.", per_byte(*min))
        }
        WalletError::WrongNetwork { expected, found } => {
            format!("That address is for the {found} network, but this account is on the {expected} network.")
        }
        WalletError::Amount(a) => amount_error(a),
        WalletError::Invalid(e) => format!("The wallet built a transaction the network would refuse ({e})."),
    }
}

/// An address typed by the user that does not parse.
pub fn address_error(e: &AddressError) -> String {
    match e {
        AddressError::BadChecksum => {
            "This address has a typo: its check characters do not match. Copy it again.".into()
        }
        AddressError::NotBech32m => "This is not a Ferrocoin address.".into(),
        AddressError::UnknownPrefix(p) => {
            format!("An address starting with \"{p}1\" is not a Ferrocoin address.")
        }
        AddressError::WrongNetwork { expected, found } => {
            format!("This address is for the {found} network, but the node runs the {expected} network.")
        }
        AddressError::BadLength(_) | AddressError::NonCanonical => {
            "This address is damaged: it has the right form but not the right content.".into()
        }
    }
}

/// An amount typed by the user that does not parse.
pub fn amount_error(e: &AmountError) -> String {
    match e {
        AmountError::Malformed => "Write the amount in coins, like 1.5 or 0.001.".into(),
        AmountError::TooPrecise => "An amount has at most 8 digits after the point.".into(),
        AmountError::Negative => "The amount cannot be negative.".into(),
        AmountError::TooLarge | AmountError::Overflow => {
            "That is more than all the coins there will ever be (21,000,000 FRC).".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::{Amount, Network};

    #[test]
    fn node_codes_in_words() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("unreachable", None, "cannot be reached"),
            ("double spend", Some("double_spend"), "already being spent"),
            ("fee too low", Some("insufficient_fee"), "fee is too low"),
            ("bad signature", Some("invalid_signature"), "could not verify the signature"),
            ("unknown input", Some("unknown_input"), "coins the node does not know"),
            ("immature coinbase", Some("immature_coinbase"), "cannot be spent yet"),
            ("insufficient funds", Some("insufficient_funds"), "not have enough coins"),
            ("mining off", Some("mining_disabled"), "does not mine"),
            ("unknown code", Some("brand_new"), "The node refused: technical detail"),
        ];
        for (name, code, want) in cases {
            let got = node_error(*code, "technical detail");
            assert!(got.contains(want), "{name}: {got:?} lacks {want:?}");
            if code.is_some_and(|c| c != "brand_new") {
                assert!(!got.contains("technical detail"), "{name}: leaks the technical message");
            }
        }
    }

    #[test]
    fn wallet_errors_in_words() {
        let funds = WalletError::InsufficientFunds {
            needed: Amount::from_units(150_000_454),
            available: Amount::from_units(50 * 100_000_000),
        };
        assert_eq!(
            wallet_error(&funds),
            "Insufficient funds: sending this needs 1.50000454 FRC including the fee, but the account \
             can spend 50 FRC."
        );
        let cases = [
            (WalletError::ZeroAmount, "more than zero"),
            (WalletError::FeeRateTooLow { rate: 0, min: 1 }, "at least 1 unit per byte."),
            (WalletError::WrongNetwork { expected: Network::Dev, found: Network::Test }, "test network"),
            (WalletError::Amount(AmountError::Overflow), "21,000,000"),
        ];
        for (e, want) in cases {
            assert!(wallet_error(&e).contains(want), "{e:?}: {}", wallet_error(&e));
        }
        assert_eq!(per_byte(2), "2 units per byte");
    }

    #[test]
    fn input_errors_in_words() {
        let cases = [
            (address_error(&AddressError::BadChecksum), "typo"),
            (address_error(&AddressError::NotBech32m), "not a Ferrocoin address"),
            (address_error(&AddressError::UnknownPrefix("bc".into())), "\"bc1\""),
            (
                address_error(&AddressError::WrongNetwork { expected: Network::Dev, found: Network::Test }),
                "for the test network, but the node runs the dev network",
            ),
            (address_error(&AddressError::NonCanonical), "damaged"),
            (amount_error(&AmountError::Malformed), "like 1.5"),
            (amount_error(&AmountError::TooPrecise), "8 digits"),
            (amount_error(&AmountError::Negative), "negative"),
            (amount_error(&AmountError::TooLarge), "21,000,000"),
        ];
        for (got, want) in cases {
            assert!(got.contains(want), "{got:?} lacks {want:?}");
        }
    }
}
