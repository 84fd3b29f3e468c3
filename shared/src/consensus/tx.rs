//! Transaction rules.

use crate::amount::{Amount, MAX_MONEY};
use crate::encode::{Decode, DecodeError, Encode, Reader};
use crate::hash::BlockHash;
use crate::keys::KeyError;
use crate::params::Params;
use crate::tx::{OutPoint, SpentCountMismatch, Transaction, TxOut, TX_VERSION};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Why a transaction is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("unsupported transaction version {0}")]
    UnsupportedVersion(u32),
    #[error("transaction of {size} bytes exceeds the {max}-byte limit")]
    TooLarge { size: usize, max: usize },
    #[error("transaction has no inputs")]
    NoInputs,
    #[error("transaction has no outputs")]
    NoOutputs,
    #[error("output {index} has a zero amount")]
    ZeroOutput { index: usize },
    #[error("outputs add up to more than the money supply")]
    OutputsOverflow,
    #[error("input {0} is spent twice in one transaction")]
    DuplicateInput(OutPoint),
    #[error("a coinbase cannot have inputs")]
    CoinbaseWithInputs,
    #[error("a coinbase is only valid as the first transaction of a block")]
    UnexpectedCoinbase,
    #[error("input {0} does not exist or is already spent")]
    UnknownInput(OutPoint),
    #[error("input {outpoint} is a coinbase output that can be spent from height {mature_at}")]
    ImmatureCoinbase { outpoint: OutPoint, mature_at: u64 },
    #[error("input {index}: public key does not match the address of the output it spends")]
    KeyMismatch { index: usize },
    /// A signature that does not verify. With `KeyError::BadSignature` the signed message may
    /// name coins other than the ones spent: a node cannot tell a signature made over a false
    /// coin value or owner from any other bad signature.
    #[error("input {index}: {}", signature_failure(.reason))]
    InvalidSignature { index: usize, reason: KeyError },
    #[error("{spent} spent coins given to verify a transaction with {inputs} inputs")]
    SpentCountMismatch { inputs: usize, spent: usize },
    #[error("inputs ({inputs}) are less than outputs ({outputs})")]
    InputsBelowOutputs { inputs: Amount, outputs: Amount },
    #[error("inputs add up to more than the money supply")]
    InputsOverflow,
}

fn signature_failure(reason: &KeyError) -> String {
    match reason {
        KeyError::BadSignature => "the signature does not verify against the coins this transaction spends \
                                   (value and owner as this node records them): the signer may have been \
                                   told false coin values"
            .to_string(),
        other => other.to_string(),
    }
}

impl From<SpentCountMismatch> for TxError {
    fn from(e: SpentCountMismatch) -> Self {
        TxError::SpentCountMismatch { inputs: e.inputs, spent: e.spent }
    }
}

/// An unspent output and where it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coin {
    pub output: TxOut,
    pub height: u64,
    pub is_coinbase: bool,
}

impl Encode for Coin {
    fn encode(&self, out: &mut Vec<u8>) {
        self.output.encode(out);
        self.height.encode(out);
        (self.is_coinbase as u8).encode(out);
    }
    fn encoded_len(&self) -> usize {
        40 + 8 + 1
    }
}

impl Decode for Coin {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let output = TxOut::decode(r)?;
        let height = u64::decode(r)?;
        let is_coinbase = match u8::decode(r)? {
            0 => false,
            1 => true,
            tag => return Err(DecodeError::InvalidTag { what: "coin flag", tag }),
        };
        Ok(Coin { output, height, is_coinbase })
    }
}

/// Read access to unspent coins.
pub trait CoinView {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin>;
}

impl CoinView for HashMap<OutPoint, Coin> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        self.get(outpoint).copied()
    }
}

/// Context-free checks that every transaction, coinbase or not, must pass.
pub fn check_tx_shape(tx: &Transaction, params: &Params) -> Result<(), TxError> {
    if tx.version != TX_VERSION {
        return Err(TxError::UnsupportedVersion(tx.version));
    }
    let size = tx.size();
    if size > params.max_block_bytes {
        return Err(TxError::TooLarge { size, max: params.max_block_bytes });
    }
    if tx.outputs.is_empty() {
        return Err(TxError::NoOutputs);
    }
    if let Some(index) = tx.outputs.iter().position(|o| o.amount == Amount::ZERO) {
        return Err(TxError::ZeroOutput { index });
    }
    match tx.output_total() {
        Some(total) if total <= MAX_MONEY => {}
        _ => return Err(TxError::OutputsOverflow),
    }
    if tx.is_coinbase() {
        if !tx.inputs.is_empty() {
            return Err(TxError::CoinbaseWithInputs);
        }
        return Ok(());
    }
    if tx.inputs.is_empty() {
        return Err(TxError::NoInputs);
    }
    let mut seen = HashSet::with_capacity(tx.inputs.len());
    for input in &tx.inputs {
        if !seen.insert(input.prevout) {
            return Err(TxError::DuplicateInput(input.prevout));
        }
    }
    Ok(())
}

/// Checks a non-coinbase transaction's inputs against the coins it spends, for inclusion in a
/// block at `spend_height`, and verifies its signatures; returns its fee. Assumes
/// `check_tx_shape` passed. Signatures are checked last because they cost the most.
pub fn check_tx_inputs(
    tx: &Transaction,
    coins: &impl CoinView,
    spend_height: u64,
    params: &Params,
    genesis: &BlockHash,
) -> Result<Amount, TxError> {
    let fee = check_tx_coins(tx, coins, spend_height, params)?;
    verify_tx_signatures(tx, genesis, &spent_outputs(tx, coins)?)?;
    Ok(fee)
}

/// The outputs `tx`'s inputs spend, in input order, as `coins` records them: what its
/// signatures must commit to ([`Transaction::sighash`]).
pub fn spent_outputs(tx: &Transaction, coins: &impl CoinView) -> Result<Vec<TxOut>, TxError> {
    tx.inputs
        .iter()
        .map(|input| coins.coin(&input.prevout).map(|c| c.output).ok_or(TxError::UnknownInput(input.prevout)))
        .collect()
}

/// Everything `check_tx_inputs` checks except the signatures: the coins exist, are mature and
/// belong to the given keys, and pay at least the outputs. Returns the fee.
pub fn check_tx_coins(
    tx: &Transaction,
    coins: &impl CoinView,
    spend_height: u64,
    params: &Params,
) -> Result<Amount, TxError> {
    if tx.is_coinbase() {
        return Err(TxError::UnexpectedCoinbase);
    }
    let mut total_in = Amount::ZERO;
    for (index, input) in tx.inputs.iter().enumerate() {
        let coin = coins.coin(&input.prevout).ok_or(TxError::UnknownInput(input.prevout))?;
        if coin.is_coinbase {
            let mature_at = coin.height.saturating_add(params.coinbase_maturity).saturating_add(1);
            if params.coinbase_maturity > 0 && spend_height < mature_at {
                return Err(TxError::ImmatureCoinbase { outpoint: input.prevout, mature_at });
            }
        }
        if input.pubkey.pubkey_hash() != coin.output.recipient {
            return Err(TxError::KeyMismatch { index });
        }
        total_in = total_in.checked_add(coin.output.amount).map_err(|_| TxError::InputsOverflow)?;
    }
    if total_in > MAX_MONEY {
        return Err(TxError::InputsOverflow);
    }
    let total_out = tx.output_total().ok_or(TxError::OutputsOverflow)?;
    total_in
        .checked_sub(total_out)
        .map_err(|_| TxError::InputsBelowOutputs { inputs: total_in, outputs: total_out })
}

/// Verifies every input's signature over the transaction's signed message on the network
/// whose genesis is `genesis`, for the coins `spent` (one per input, in order: see
/// [`spent_outputs`]). Needs only those outputs, not the coin set, so it can run after a brief
/// look-up, outside any lock and in parallel: the output an outpoint names never changes, since
/// the txid commits to it. It does not check that the keys own the coins: `check_tx_coins` does.
pub fn verify_tx_signatures(tx: &Transaction, genesis: &BlockHash, spent: &[TxOut]) -> Result<(), TxError> {
    use crate::keys::{PublicKey, Signature, Verifier};
    let digest = tx.sighash(genesis, spent)?;
    // Every input signs the same digest, so inputs spent by one key usually carry one signature:
    // a (key, signature) pair already verified over this digest needs no second verification,
    // and a key is decompressed once however many inputs reveal it.
    let mut verified: Vec<(&PublicKey, &Signature)> = Vec::new();
    let mut verifiers: Vec<(&PublicKey, Verifier)> = Vec::new();
    for (index, input) in tx.inputs.iter().enumerate() {
        if verified.iter().any(|(k, s)| **k == input.pubkey && **s == input.signature) {
            continue;
        }
        let fail = |reason| TxError::InvalidSignature { index, reason };
        let verifier = match verifiers.iter().find(|(k, _)| **k == input.pubkey) {
            Some((_, v)) => *v,
            None => {
                let v = input.pubkey.verifier().map_err(fail)?;
                verifiers.push((&input.pubkey, v));
                v
            }
        };
        verifier.verify_digest(&digest, &input.signature).map_err(fail)?;
        verified.push((&input.pubkey, &input.signature));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::tests::Fixture;
    use crate::keys::SecretKey;
    use crate::params::Network;

    #[test]
    fn valid_spend_pays_its_fee() {
        let f = Fixture::new();
        let tx = f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 30)]);
        check_tx_shape(&tx, f.params()).unwrap();
        assert_eq!(f.check(&tx), Ok(Amount::from_units(70)));
    }

    /// One test per rejection: each case breaks exactly one rule.
    #[test]
    fn rejections() {
        let f = Fixture::new();
        let good = || f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 30)]);
        type Mutate = Box<dyn Fn(&Fixture, &mut Transaction)>;
        let cases: Vec<(&str, Mutate, TxError)> = vec![
            ("version", Box::new(|_, t| t.version = 2), TxError::UnsupportedVersion(2)),
            ("no inputs", Box::new(|_, t| t.inputs.clear()), TxError::NoInputs),
            ("no outputs", Box::new(|_, t| t.outputs.clear()), TxError::NoOutputs),
            (
                "zero output",
                Box::new(|_, t| t.outputs[0].amount = Amount::ZERO),
                TxError::ZeroOutput { index: 0 },
            ),
            (
                "output overflow",
                Box::new(|_, t| {
                    t.outputs[0].amount = Amount::from_units(u64::MAX);
                    t.outputs.push(t.outputs[0]);
                }),
                TxError::OutputsOverflow,
            ),
            (
                "over money supply",
                Box::new(|_, t| t.outputs[0].amount = Amount::from_units(MAX_MONEY.units() + 1)),
                TxError::OutputsOverflow,
            ),
            (
                "duplicate input",
                Box::new(|_, t| t.inputs.push(t.inputs[0].clone())),
                TxError::DuplicateInput(Fixture::new().coin_out(0)),
            ),
            (
                "coinbase with inputs",
                Box::new(|_, t| t.coinbase_height = Some(1)),
                TxError::CoinbaseWithInputs,
            ),
            (
                "too large",
                Box::new(|_, t| {
                    let o = t.outputs[0];
                    t.outputs = vec![o; 30_000];
                }),
                TxError::TooLarge {
                    size: 4 + 1 + 4 + crate::tx::INPUT_SIZE + 4 + 30_000 * 40,
                    max: 1_000_000,
                },
            ),
        ];
        for (name, mutate, want) in cases {
            let mut tx = good();
            mutate(&f, &mut tx);
            assert_eq!(check_tx_shape(&tx, f.params()), Err(want), "{name}");
        }
    }

    #[test]
    fn input_rejections() {
        let f = Fixture::new();
        let unknown = OutPoint { txid: crate::hash::Txid([0xee; 32]), vout: 0 };
        assert_eq!(f.check(&f.spend(&[unknown], &[(f.bob_hash(), 1)])), Err(TxError::UnknownInput(unknown)));

        assert_eq!(
            f.check(&f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 101)])),
            Err(TxError::InputsBelowOutputs {
                inputs: Amount::from_units(100),
                outputs: Amount::from_units(101)
            })
        );

        // Bob signs for Alice's coin: his key does not hash to the coin's address.
        let mut tx = f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 1)]);
        let bob = SecretKey::from_bytes(&[2; 32]).unwrap();
        tx.inputs[0].pubkey = bob.public_key();
        let spent = spent_outputs(&tx, &f.coins).unwrap();
        tx.inputs[0].signature = bob.sign_digest(&tx.sighash(&f.genesis(), &spent).unwrap());
        assert_eq!(f.check(&tx), Err(TxError::KeyMismatch { index: 0 }));

        // A signature over other outputs is invalid for these.
        let mut tx = f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 1)]);
        tx.outputs[0].amount = Amount::from_units(2);
        assert_eq!(f.check(&tx), Err(TxError::InvalidSignature { index: 0, reason: KeyError::BadSignature }));

        // The malleated (high-S) twin of a valid signature.
        let mut tx = f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 1)]);
        tx.inputs[0].signature = tx.inputs[0].signature.negate_s();
        assert_eq!(f.check(&tx), Err(TxError::InvalidSignature { index: 0, reason: KeyError::HighS }));

        // A signature made for another network.
        let mut tx = f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 1)]);
        let digest =
            tx.sighash(&Network::Test.genesis_hash(), &spent_outputs(&tx, &f.coins).unwrap()).unwrap();
        tx.inputs[0].signature = f.alice.sign_digest(&digest);
        assert_eq!(f.check(&tx), Err(TxError::InvalidSignature { index: 0, reason: KeyError::BadSignature }));

        let coinbase =
            Transaction::coinbase(1, vec![TxOut { recipient: f.bob_hash(), amount: Amount::ONE_COIN }]);
        assert_eq!(f.check(&coinbase), Err(TxError::UnexpectedCoinbase));
    }

    /// A signer told a false value or owner for a coin signs a message that names that coin;
    /// against the coin as it is, the signature does not verify.
    #[test]
    fn signature_over_a_false_spent_coin_does_not_verify() {
        let f = Fixture::new();
        let mut tx = f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 30)]);
        let real = spent_outputs(&tx, &f.coins).unwrap();
        assert_eq!(real[0].amount, Amount::from_units(100));
        let lies: [(&str, TxOut); 3] = [
            ("inflated value", TxOut { amount: Amount::from_units(1_000), ..real[0] }),
            ("deflated value", TxOut { amount: Amount::from_units(31), ..real[0] }),
            ("other owner", TxOut { recipient: f.bob_hash(), ..real[0] }),
        ];
        for (name, lie) in lies {
            let digest = tx.sighash(&f.genesis(), &[lie]).unwrap();
            tx.inputs[0].signature = f.alice.sign_digest(&digest);
            // It verifies against the coin the signer believed in, not against the real one.
            assert_eq!(verify_tx_signatures(&tx, &f.genesis(), &[lie]), Ok(()), "{name}");
            let err = f.check(&tx).unwrap_err();
            assert_eq!(err, TxError::InvalidSignature { index: 0, reason: KeyError::BadSignature }, "{name}");
            assert!(err.to_string().contains("does not verify against the coins this transaction spends"));
        }
        assert_eq!(
            verify_tx_signatures(&tx, &f.genesis(), &[]),
            Err(TxError::SpentCountMismatch { inputs: 1, spent: 0 })
        );
    }

    #[test]
    fn each_distinct_signature_is_verified() {
        let mut f = Fixture::new();
        let second = f.add_coin(Amount::from_units(50), 1, false);
        let tx = f.spend(&[f.coin_out(0), second], &[(f.bob_hash(), 100)]);
        assert_eq!(f.check(&tx), Ok(Amount::from_units(50)), "one signature shared by both inputs");
        let mut bad = tx.clone();
        bad.inputs[1].signature = f.alice.sign_digest(&[9; 32]);
        assert_eq!(
            f.check(&bad),
            Err(TxError::InvalidSignature { index: 1, reason: KeyError::BadSignature })
        );
        let mut placeholder = tx;
        placeholder.inputs[1].signature = crate::keys::Signature::placeholder();
        assert_eq!(
            f.check(&placeholder),
            Err(TxError::InvalidSignature { index: 1, reason: KeyError::BadSignature })
        );
    }

    #[test]
    fn key_off_the_curve_is_an_invalid_signature() {
        let f = Fixture::new();
        let mut tx = f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 1)]);
        // Canonical bytes whose key is in the compressed form but not on the curve decode; the
        // transaction is invalid when its signatures are verified.
        let mut bytes = crate::encode::to_bytes(&tx);
        let key_at = bytes.windows(33).position(|w| w == tx.inputs[0].pubkey.as_bytes()).unwrap();
        let off_curve = (1u8..=255)
            .map(|x| {
                let mut k = [0u8; 33];
                k[0] = 2;
                k[32] = x;
                k
            })
            .find(|k| crate::keys::PublicKey::from_bytes(k).is_err())
            .unwrap();
        bytes[key_at..key_at + 33].copy_from_slice(&off_curve);
        tx = crate::encode::from_bytes(&bytes).unwrap();
        assert_eq!(
            verify_tx_signatures(&tx, &f.genesis(), &spent_outputs(&tx, &f.coins).unwrap()),
            Err(TxError::InvalidSignature { index: 0, reason: KeyError::InvalidPublicKey })
        );
    }

    #[test]
    fn inputs_overflow() {
        let mut f = Fixture::new();
        let big = Amount::from_units(MAX_MONEY.units());
        let a = f.add_coin(big, 1, false);
        let b = f.add_coin(big, 1, false);
        assert_eq!(f.check(&f.spend(&[a, b], &[(f.bob_hash(), 1)])), Err(TxError::InputsOverflow));
    }

    #[test]
    fn coinbase_maturity_on_test_network() {
        let mut f = Fixture::with_network(Network::Test);
        let cb = f.add_coin(Amount::ONE_COIN, 5, true);
        let tx = f.spend(&[cb], &[(f.bob_hash(), 1)]);
        let p = f.params();
        assert_eq!(
            check_tx_inputs(&tx, &f.coins, 15, p, &f.genesis()),
            Err(TxError::ImmatureCoinbase { outpoint: cb, mature_at: 16 })
        );
        assert!(check_tx_inputs(&tx, &f.coins, 16, p, &f.genesis()).is_ok());
        // On dev a coinbase is spendable in the very next block.
        let mut d = Fixture::new();
        let cb = d.add_coin(Amount::ONE_COIN, 5, true);
        let tx = d.spend(&[cb], &[(d.bob_hash(), 1)]);
        assert!(check_tx_inputs(&tx, &d.coins, 6, d.params(), &d.genesis()).is_ok());
    }
}
