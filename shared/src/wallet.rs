//! Wallet logic shared by the browser wallet and the command-line wallet: coin selection, a
//! transaction builder with change and a fee from a fee rate, signing, and local checks.

use crate::address::Address;
use crate::amount::{Amount, AmountError};
use crate::consensus::{check_tx_inputs, check_tx_shape, Coin, TxError};
use crate::keys::SecretKey;
use crate::params::Network;
use crate::tx::{OutPoint, Transaction, TxIn, TxOut, INPUT_SIZE, OUTPUT_SIZE, TX_VERSION};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A coin the wallet's key can spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spendable {
    pub outpoint: OutPoint,
    pub amount: Amount,
}

/// Why a payment could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    #[error("the amount to send must be more than zero")]
    ZeroAmount,
    #[error("insufficient funds: sending needs {needed} including the fee, the account has {available}")]
    InsufficientFunds { needed: Amount, available: Amount },
    #[error("fee rate {rate} is below the network minimum of {min} units per byte")]
    FeeRateTooLow { rate: u64, min: u64 },
    #[error("the recipient is an address of the {found} network, but the wallet is on {expected}")]
    WrongNetwork { expected: Network, found: Network },
    #[error("amount error: {0}")]
    Amount(#[from] AmountError),
    #[error("the built transaction fails a local check: {0}")]
    Invalid(#[from] TxError),
}

/// Exact encoded size of a regular transaction with this many inputs and outputs.
pub const fn tx_size(inputs: usize, outputs: usize) -> usize {
    4 + 1 + 4 + inputs * INPUT_SIZE + 4 + outputs * OUTPUT_SIZE
}

/// The fee for `size` bytes at `rate` units per byte.
pub fn fee_for(size: usize, rate: u64) -> Result<Amount, AmountError> {
    Amount::from_units(rate).checked_mul(size as u64)
}

/// Coins chosen to pay an amount, with the resulting fee and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub coins: Vec<Spendable>,
    pub fee: Amount,
    /// Zero when the remainder was too small to be worth an output and went to the fee.
    pub change: Amount,
}

/// Picks coins largest first until they pay `amount` plus the fee of the transaction they make.
/// A change output is added when the remainder is worth more than the cost of spending it later;
/// otherwise the remainder goes to the fee.
pub fn select_coins(
    available: &[Spendable],
    amount: Amount,
    fee_rate: u64,
) -> Result<Selection, WalletError> {
    if amount == Amount::ZERO {
        return Err(WalletError::ZeroAmount);
    }
    let mut sorted = available.to_vec();
    sorted.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.outpoint.cmp(&b.outpoint)));
    let dust = fee_for(INPUT_SIZE + OUTPUT_SIZE, fee_rate)?.max(Amount::ONE_UNIT);
    let mut total = Amount::ZERO;
    let mut needed = amount;
    for (i, coin) in sorted.iter().enumerate() {
        total = total.checked_add(coin.amount)?;
        let n = i + 1;
        let fee_no_change = fee_for(tx_size(n, 1), fee_rate)?;
        needed = amount.checked_add(fee_no_change)?;
        if total < needed {
            continue;
        }
        let fee_with_change = fee_for(tx_size(n, 2), fee_rate)?;
        let coins = sorted[..n].to_vec();
        let change = total.checked_sub(amount)?.checked_sub(fee_with_change).unwrap_or(Amount::ZERO);
        return Ok(if change > dust {
            Selection { coins, fee: fee_with_change, change }
        } else {
            Selection { coins, fee: total.checked_sub(amount)?, change: Amount::ZERO }
        });
    }
    Err(WalletError::InsufficientFunds { needed, available: total })
}

/// A signed transaction ready to post, with what the user should see before sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltTransaction {
    pub tx: Transaction,
    pub fee: Amount,
    pub change: Amount,
}

/// Builds and signs a payment of `amount` to `to` from coins owned by `key`, with change back to
/// the key's own address, then checks the result locally with the consensus rules.
pub fn build_payment(
    key: &SecretKey,
    network: Network,
    available: &[Spendable],
    to: &Address,
    amount: Amount,
    fee_rate: u64,
) -> Result<BuiltTransaction, WalletError> {
    if to.network != network {
        return Err(WalletError::WrongNetwork { expected: network, found: to.network });
    }
    let min = network.params().min_relay_fee_rate;
    if fee_rate < min {
        return Err(WalletError::FeeRateTooLow { rate: fee_rate, min });
    }
    let selection = select_coins(available, amount, fee_rate)?;
    let pubkey = key.public_key();
    let own = pubkey.pubkey_hash();
    let mut outputs = vec![TxOut { recipient: to.hash, amount }];
    if selection.change > Amount::ZERO {
        outputs.push(TxOut { recipient: own, amount: selection.change });
    }
    let placeholder = crate::keys::Signature::placeholder();
    let mut tx = Transaction {
        version: TX_VERSION,
        coinbase_height: None,
        inputs: selection
            .coins
            .iter()
            .map(|c| TxIn { prevout: c.outpoint, pubkey, signature: placeholder })
            .collect(),
        outputs,
    };
    // The signature commits to each spent coin's value and owner as this wallet was told them;
    // if that was false, every honest node refuses the transaction.
    let spent: Vec<TxOut> =
        selection.coins.iter().map(|c| TxOut { recipient: own, amount: c.amount }).collect();
    let genesis = network.genesis_hash();
    let signature = key.sign_digest(&tx.sighash(&genesis, &spent).map_err(TxError::from)?);
    for input in &mut tx.inputs {
        input.signature = signature;
    }

    let params = network.params();
    check_tx_shape(&tx, params)?;
    let view: HashMap<OutPoint, Coin> = selection
        .coins
        .iter()
        .zip(&spent)
        .map(|(c, output)| (c.outpoint, Coin { output: *output, height: 0, is_coinbase: false }))
        .collect();
    let fee = check_tx_inputs(&tx, &view, 0, params, &genesis)?;
    debug_assert_eq!(fee, selection.fee);
    Ok(BuiltTransaction { tx, fee, change: selection.change })
}

/// A fixed payment whose building and signing is the benchmark of a wallet's "send": one key
/// holding coins of 0.5, 0.3, 0.2 and 0.1 FRC pays 0.6 FRC at 1 unit per byte (coin selection
/// takes the two largest and returns change, one signature covers both inputs, and the local
/// check verifies it). The native and the in-browser benchmarks both build exactly this.
#[derive(Debug, Clone)]
pub struct SamplePayment {
    key: SecretKey,
    coins: [Spendable; 4],
    to: Address,
}

impl Default for SamplePayment {
    fn default() -> Self {
        SamplePayment {
            key: SecretKey::from_bytes(&[0x42; 32]).expect("a valid secret key"),
            coins: [50_000_000, 30_000_000, 20_000_000, 10_000_000].map(|units| Spendable {
                outpoint: OutPoint { txid: crate::hash::Txid([(units / 10_000_000) as u8; 32]), vout: 0 },
                amount: Amount::from_units(units),
            }),
            to: Address::new(Network::Dev, crate::hash::PubkeyHash([9; 32])),
        }
    }
}

impl SamplePayment {
    /// Builds and signs the payment.
    pub fn build(&self) -> BuiltTransaction {
        build_payment(
            &self.key,
            Network::Dev,
            core::hint::black_box(&self.coins),
            &self.to,
            Amount::from_units(60_000_000),
            1,
        )
        .expect("the sample payment is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{PubkeyHash, Txid};

    fn coins(amounts: &[u64]) -> Vec<Spendable> {
        amounts
            .iter()
            .enumerate()
            .map(|(i, &a)| Spendable {
                outpoint: OutPoint { txid: Txid([i as u8 + 1; 32]), vout: 0 },
                amount: Amount::from_units(a),
            })
            .collect()
    }

    #[test]
    fn selection_table() {
        struct Case {
            name: &'static str,
            coins: Vec<u64>,
            amount: u64,
            rate: u64,
            want: Result<(usize, u64, u64), WalletError>,
        }
        let one_in_two_out = tx_size(1, 2) as u64;
        let cases = [
            Case {
                name: "one coin, change back",
                coins: vec![10_000],
                amount: 1_000,
                rate: 1,
                want: Ok((1, one_in_two_out, 10_000 - 1_000 - one_in_two_out)),
            },
            Case {
                name: "largest first",
                coins: vec![500, 20_000, 700],
                amount: 1_000,
                rate: 1,
                want: Ok((1, one_in_two_out, 20_000 - 1_000 - one_in_two_out)),
            },
            Case {
                name: "two coins needed",
                coins: vec![1_000, 1_000],
                amount: 1_500,
                rate: 1,
                want: Ok((2, 500, 0)),
            },
            Case {
                name: "dust change goes to fee",
                coins: vec![1_000 + tx_size(1, 1) as u64 + 10],
                amount: 1_000,
                rate: 1,
                want: Ok((1, tx_size(1, 1) as u64 + 10, 0)),
            },
            Case {
                name: "insufficient",
                coins: vec![100, 200],
                amount: 1_000,
                rate: 1,
                want: Err(WalletError::InsufficientFunds {
                    needed: Amount::from_units(1_000 + tx_size(2, 1) as u64),
                    available: Amount::from_units(300),
                }),
            },
            Case {
                name: "fee pushes over",
                coins: vec![1_000],
                amount: 1_000,
                rate: 1,
                want: Err(WalletError::InsufficientFunds {
                    needed: Amount::from_units(1_000 + tx_size(1, 1) as u64),
                    available: Amount::from_units(1_000),
                }),
            },
            Case { name: "zero", coins: vec![1_000], amount: 0, rate: 1, want: Err(WalletError::ZeroAmount) },
        ];
        for c in cases {
            let got = select_coins(&coins(&c.coins), Amount::from_units(c.amount), c.rate)
                .map(|s| (s.coins.len(), s.fee.units(), s.change.units()));
            assert_eq!(got, c.want, "{}", c.name);
        }
    }

    #[test]
    fn build_signs_and_pays_exact_fee() {
        let key = SecretKey::from_bytes(&[5; 32]).unwrap();
        let to = Address::new(Network::Dev, PubkeyHash([9; 32]));
        let built =
            build_payment(&key, Network::Dev, &coins(&[50_000, 30_000]), &to, Amount::from_units(60_000), 2)
                .unwrap();
        assert_eq!(built.tx.inputs.len(), 2);
        assert_eq!(built.fee, fee_for(built.tx.size(), 2).unwrap());
        assert_eq!(built.tx.outputs[0], TxOut { recipient: to.hash, amount: Amount::from_units(60_000) });
        assert_eq!(built.tx.outputs[1].recipient, key.public_key().pubkey_hash());
        assert_eq!(built.tx.outputs[1].amount, built.change);
        assert_eq!(60_000 + built.fee.units() + built.change.units(), 80_000);
    }

    #[test]
    fn sample_payment_is_valid_and_deterministic() {
        let a = SamplePayment::default().build();
        assert_eq!(a.tx.inputs.len(), 2);
        assert_eq!(a.tx, SamplePayment::default().build().tx);
    }

    #[test]
    fn build_refuses_bad_requests() {
        let key = SecretKey::from_bytes(&[5; 32]).unwrap();
        let other = Address::new(Network::Test, PubkeyHash([9; 32]));
        assert_eq!(
            build_payment(&key, Network::Dev, &coins(&[50_000]), &other, Amount::ONE_UNIT, 1),
            Err(WalletError::WrongNetwork { expected: Network::Dev, found: Network::Test })
        );
        let to = Address::new(Network::Dev, PubkeyHash([9; 32]));
        assert_eq!(
            build_payment(&key, Network::Dev, &coins(&[50_000]), &to, Amount::ONE_UNIT, 0),
            Err(WalletError::FeeRateTooLow { rate: 0, min: 1 })
        );
    }
}
