//! What the send page tells the user before a payment is signed: the most that can be sent, a
//! fee that is large for the amount, and a recipient that is one of the wallet's own accounts.

use super::account::coins;
use super::messages;
use super::vault::AccountInfo;
use ferro_shared::tx::INPUT_SIZE;
use ferro_shared::wallet::{fee_for, tx_size, Spendable, WalletError};
use ferro_shared::{Address, Amount};

/// From this share of the amount on, the review step warns about the fee.
pub const HIGH_FEE_PERCENT: u64 = 10;

/// The most one payment can send from `available` at `rate`: every coin worth more than the
/// fee of spending it, less the fee of a transaction that spends them all and has no change.
/// (Coin selection takes the largest coins first, so it picks exactly these.)
pub fn send_all_amount(available: &[Spendable], rate: u64) -> Result<Amount, WalletError> {
    let input_fee = fee_for(INPUT_SIZE, rate)?;
    let worth: Vec<Amount> = available.iter().map(|c| c.amount).filter(|a| *a > input_fee).collect();
    let total = Amount::sum(worth.iter().copied())?;
    let fee = fee_for(tx_size(worth.len(), 1), rate)?;
    match total.checked_sub(fee) {
        Ok(amount) if amount > Amount::ZERO => Ok(amount),
        _ => Err(WalletError::InsufficientFunds {
            needed: fee.checked_add(Amount::ONE_UNIT)?,
            available: total,
        }),
    }
}

/// The fee as a whole percentage of the amount, to the nearest (10.5% reads 11%).
pub fn fee_percent(amount: Amount, fee: Amount) -> u64 {
    if amount == Amount::ZERO {
        return u64::MAX;
    }
    let (fee, amount) = (fee.units() as u128, amount.units() as u128);
    u64::try_from((fee * 100 + amount / 2) / amount).unwrap_or(u64::MAX)
}

/// A warning when the fee is a large part of the payment, `None` when it is not.
pub fn fee_warning(amount: Amount, fee: Amount) -> Option<String> {
    if fee > amount {
        return Some(format!(
            "The fee ({}) is more than the amount you are sending ({}). Check the fee rate.",
            coins(fee),
            coins(amount)
        ));
    }
    let high = fee.units() as u128 * 100 >= amount.units() as u128 * HIGH_FEE_PERCENT as u128;
    high.then(|| {
        format!("The fee is {}% of the amount you are sending. Check the fee rate.", fee_percent(amount, fee))
    })
}

/// A notice when the recipient is one of this wallet's own accounts: `from` is the paying one.
pub fn own_recipient(to: &Address, from: &Address, accounts: &[AccountInfo]) -> Option<String> {
    if to == from {
        return Some(messages::PAYING_SELF.to_string());
    }
    accounts
        .iter()
        .find(|a| a.address == *to)
        .map(|a| format!("This is the address of your own account \u{201c}{}\u{201d}.", a.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::{Network, OutPoint, PubkeyHash, Txid};

    fn coin(n: u8, units: u64) -> Spendable {
        Spendable { outpoint: OutPoint { txid: Txid([n; 32]), vout: 0 }, amount: Amount::from_units(units) }
    }

    #[test]
    fn send_all_leaves_exactly_the_fee() {
        let available = [coin(1, 50_000), coin(2, 30_000)];
        let amount = send_all_amount(&available, 2).unwrap();
        let fee = fee_for(tx_size(2, 1), 2).unwrap();
        assert_eq!(amount.checked_add(fee).unwrap(), Amount::from_units(80_000));
        // A coin worth less than the fee of spending it is left where it is.
        let with_dust = [coin(1, 50_000), coin(2, 30_000), coin(3, 200)];
        assert_eq!(send_all_amount(&with_dust, 2).unwrap(), amount);
        // Building the payment spends exactly the coins counted, with no change.
        let key = ferro_shared::SecretKey::from_bytes(&[7; 32]).unwrap();
        let to = Address::new(Network::Dev, PubkeyHash([9; 32]));
        let built =
            ferro_shared::wallet::build_payment(&key, Network::Dev, &with_dust, &to, amount, 2).unwrap();
        assert_eq!((built.fee, built.change, built.tx.inputs.len()), (fee, Amount::ZERO, 2));
        // Coins that cannot pay their own fee cannot be sent at all.
        let dust = [coin(1, 10)];
        assert!(matches!(send_all_amount(&dust, 2), Err(WalletError::InsufficientFunds { .. })));
        assert!(matches!(send_all_amount(&[], 2), Err(WalletError::InsufficientFunds { .. })));
    }

    #[test]
    fn fee_warnings() {
        let units = Amount::from_units;
        let cases = [
            ("small fee", units(10_000_000), units(406), None),
            ("just under the line", units(1_000), units(99), None),
            ("at the line", units(1_000), units(100), Some("10%")),
            ("rounded to the nearest", units(1_000), units(105), Some("11%")),
            ("fee equal to amount", units(1_000), units(1_000), Some("100%")),
            ("fee above amount", units(10_000_000), units(40_600_000), Some("more than the amount")),
        ];
        for (name, amount, fee, want) in cases {
            let got = fee_warning(amount, fee);
            match want {
                None => assert_eq!(got, None, "{name}"),
                Some(w) => assert!(got.as_deref().is_some_and(|g| g.contains(w)), "{name}: {got:?}"),
            }
        }
    }

    #[test]
    fn paying_own_accounts_is_noticed() {
        let address = |n: u8| Address::new(Network::Dev, PubkeyHash([n; 32]));
        let accounts = vec![
            AccountInfo { name: "Alice".into(), network: Network::Dev, address: address(1) },
            AccountInfo { name: "Savings".into(), network: Network::Dev, address: address(2) },
        ];
        assert_eq!(
            own_recipient(&address(1), &address(1), &accounts).as_deref(),
            Some(messages::PAYING_SELF)
        );
        assert!(own_recipient(&address(2), &address(1), &accounts)
            .unwrap()
            .contains("\u{201c}Savings\u{201d}"));
        assert_eq!(own_recipient(&address(3), &address(1), &accounts), None);
    }
}
