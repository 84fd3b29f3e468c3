//! Transactions (UTXO model), their canonical encoding, txid and signed message.

use crate::amount::Amount;
use crate::encode::{decode_seq, encode_seq, seq_len, to_bytes, Decode, DecodeError, Encode, Reader};
use crate::hash::{sha256d, BlockHash, PubkeyHash, Txid};
use crate::keys::{PublicKey, Signature};
use serde::{Deserialize, Serialize};

/// The only transaction version the rules accept.
pub const TX_VERSION: u32 = 1;

/// Domain tag that starts every signed message, so a transaction signature can never be valid
/// for any other kind of message.
pub const SIGHASH_TAG: &[u8; 16] = b"FERROCOIN/TX/V2\0";

/// Encoded size of one signed input: outpoint (36) + public key (33) + signature (64).
pub const INPUT_SIZE: usize = 36 + 33 + 64;
/// Encoded size of one output: public key hash (32) + amount (8).
pub const OUTPUT_SIZE: usize = 32 + 8;

/// A reference to an output of an earlier transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OutPoint {
    pub txid: Txid,
    pub vout: u32,
}

impl core::fmt::Display for OutPoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}", self.txid, self.vout)
    }
}

/// A spend of one output: which one, the public key that owns it, and a signature by that key
/// over the transaction's signed message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxIn {
    pub prevout: OutPoint,
    pub pubkey: PublicKey,
    pub signature: Signature,
}

/// A payment of `amount` to the owner of the key whose hash is `recipient`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TxOut {
    pub recipient: PubkeyHash,
    pub amount: Amount,
}

/// A transaction. A coinbase has no inputs and carries the height of its block
/// (`coinbase_height`), which makes every coinbase txid unique; any other transaction has at
/// least one input and no height.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coinbase_height: Option<u64>,
    pub inputs: Vec<TxIn>,
    pub outputs: Vec<TxOut>,
}

impl Transaction {
    /// The coinbase of the block at `height`.
    pub fn coinbase(height: u64, outputs: Vec<TxOut>) -> Self {
        Transaction { version: TX_VERSION, coinbase_height: Some(height), inputs: vec![], outputs }
    }

    pub fn is_coinbase(&self) -> bool {
        self.coinbase_height.is_some()
    }

    /// Double SHA-256 of the canonical encoding, signatures included. Signatures are low-S and
    /// fixed-length, so nobody but the signer can produce a different valid encoding.
    pub fn txid(&self) -> Txid {
        Txid(sha256d(&to_bytes(self)))
    }

    /// Encoded size in bytes; fee rates are per byte of this size.
    pub fn size(&self) -> usize {
        self.encoded_len()
    }

    /// Sum of the outputs, or `None` on overflow.
    pub fn output_total(&self) -> Option<Amount> {
        Amount::sum(self.outputs.iter().map(|o| o.amount)).ok()
    }

    /// The digest every input signs: `sha256d(SIGHASH_TAG || genesis || version || count ||
    /// (outpoint || spent owner || spent amount) per input || count || outputs)`. It names the
    /// network (by its genesis hash), every outpoint spent together with the owner and value of
    /// the coin it names, and every output; it leaves out the signatures and keys themselves.
    ///
    /// `spent` is what the signer (or verifier) holds each spent coin to be, one per input, in
    /// input order. A node passes its own coins, so a signature made over a false value or owner
    /// does not verify: a wallet that was lied to about its coins cannot be made to pay a fee it
    /// did not see.
    pub fn sighash(&self, genesis: &BlockHash, spent: &[TxOut]) -> Result<[u8; 32], SpentCountMismatch> {
        if spent.len() != self.inputs.len() {
            return Err(SpentCountMismatch { inputs: self.inputs.len(), spent: spent.len() });
        }
        let mut buf = Vec::with_capacity(
            16 + 32 + 4 + 4 + (36 + OUTPUT_SIZE) * self.inputs.len() + 4 + OUTPUT_SIZE * self.outputs.len(),
        );
        buf.extend_from_slice(SIGHASH_TAG);
        genesis.encode(&mut buf);
        self.version.encode(&mut buf);
        (self.inputs.len() as u32).encode(&mut buf);
        for (input, coin) in self.inputs.iter().zip(spent) {
            input.prevout.encode(&mut buf);
            coin.encode(&mut buf);
        }
        encode_seq(&self.outputs, &mut buf);
        Ok(sha256d(&buf))
    }
}

/// The spent coins given to [`Transaction::sighash`] are not one per input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{spent} spent coins given for a transaction with {inputs} inputs")]
pub struct SpentCountMismatch {
    pub inputs: usize,
    pub spent: usize,
}

impl Encode for OutPoint {
    fn encode(&self, out: &mut Vec<u8>) {
        self.txid.encode(out);
        self.vout.encode(out);
    }
    fn encoded_len(&self) -> usize {
        36
    }
}

impl Decode for OutPoint {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(OutPoint { txid: Txid::decode(r)?, vout: u32::decode(r)? })
    }
}

impl Encode for TxIn {
    fn encode(&self, out: &mut Vec<u8>) {
        self.prevout.encode(out);
        self.pubkey.encode(out);
        self.signature.encode(out);
    }
    fn encoded_len(&self) -> usize {
        INPUT_SIZE
    }
}

impl Decode for TxIn {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxIn {
            prevout: OutPoint::decode(r)?,
            pubkey: PublicKey::decode(r)?,
            signature: Signature::decode(r)?,
        })
    }
}

impl Encode for TxOut {
    fn encode(&self, out: &mut Vec<u8>) {
        self.recipient.encode(out);
        self.amount.encode(out);
    }
    fn encoded_len(&self) -> usize {
        OUTPUT_SIZE
    }
}

impl Decode for TxOut {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxOut { recipient: PubkeyHash::decode(r)?, amount: Amount::decode(r)? })
    }
}

impl Encode for Transaction {
    fn encode(&self, out: &mut Vec<u8>) {
        self.version.encode(out);
        self.coinbase_height.encode(out);
        encode_seq(&self.inputs, out);
        encode_seq(&self.outputs, out);
    }
    fn encoded_len(&self) -> usize {
        4 + self.coinbase_height.encoded_len() + seq_len(&self.inputs) + seq_len(&self.outputs)
    }
}

impl Decode for Transaction {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Transaction {
            version: u32::decode(r)?,
            coinbase_height: Option::<u64>::decode(r)?,
            inputs: decode_seq(r, INPUT_SIZE)?,
            outputs: decode_seq(r, OUTPUT_SIZE)?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::encode::from_bytes;
    use crate::keys::SecretKey;
    use proptest::prelude::*;

    pub(crate) fn arb_tx() -> impl Strategy<Value = Transaction> {
        let input = (any::<[u8; 32]>(), any::<u32>(), 1u8..=0xfe).prop_map(|(txid, vout, k)| {
            let key = SecretKey::from_bytes(&[k; 32]).unwrap();
            TxIn {
                prevout: OutPoint { txid: Txid(txid), vout },
                pubkey: key.public_key(),
                signature: key.sign_digest(&txid),
            }
        });
        let output = (any::<[u8; 32]>(), any::<u64>())
            .prop_map(|(h, a)| TxOut { recipient: PubkeyHash(h), amount: Amount::from_units(a) });
        (
            any::<u32>(),
            any::<Option<u64>>(),
            prop::collection::vec(input, 0..4),
            prop::collection::vec(output, 0..4),
        )
            .prop_map(|(version, coinbase_height, inputs, outputs)| Transaction {
                version,
                coinbase_height,
                inputs,
                outputs,
            })
    }

    proptest! {
        #[test]
        fn transaction_round_trips(tx in arb_tx()) {
            let bytes = to_bytes(&tx);
            prop_assert_eq!(bytes.len(), tx.encoded_len());
            prop_assert_eq!(from_bytes::<Transaction>(&bytes).unwrap(), tx.clone());
            let json = serde_json::to_string(&tx).unwrap();
            prop_assert_eq!(serde_json::from_str::<Transaction>(&json).unwrap(), tx);
        }
    }

    #[test]
    fn sighash_covers_network_outpoints_spent_coins_and_outputs() {
        let key = SecretKey::from_bytes(&[3; 32]).unwrap();
        let input = TxIn {
            prevout: OutPoint { txid: Txid([1; 32]), vout: 0 },
            pubkey: key.public_key(),
            signature: key.sign_digest(&[0; 32]),
        };
        let tx = Transaction {
            version: TX_VERSION,
            coinbase_height: None,
            inputs: vec![input],
            outputs: vec![TxOut { recipient: PubkeyHash([2; 32]), amount: Amount::from_units(5) }],
        };
        let spent = [TxOut { recipient: key.public_key().pubkey_hash(), amount: Amount::from_units(9) }];
        let g = BlockHash([9; 32]);
        let sighash = |t: &Transaction, g: &BlockHash, s: &[TxOut]| t.sighash(g, s).unwrap();
        let base = sighash(&tx, &g, &spent);
        assert_ne!(base, sighash(&tx, &BlockHash([8; 32]), &spent), "network");
        let mut t = tx.clone();
        t.inputs[0].prevout.vout = 1;
        assert_ne!(base, sighash(&t, &g, &spent), "outpoint");
        let mut t = tx.clone();
        t.outputs[0].amount = Amount::from_units(6);
        assert_ne!(base, sighash(&t, &g, &spent), "amount");
        let mut t = tx.clone();
        t.outputs[0].recipient = PubkeyHash([3; 32]);
        assert_ne!(base, sighash(&t, &g, &spent), "recipient");
        let mut s = spent;
        s[0].amount = Amount::from_units(10);
        assert_ne!(base, sighash(&tx, &g, &s), "spent value");
        let mut s = spent;
        s[0].recipient = PubkeyHash([4; 32]);
        assert_ne!(base, sighash(&tx, &g, &s), "spent owner");
        let mut t = tx.clone();
        t.inputs[0].signature = key.sign_digest(&[1; 32]);
        assert_eq!(base, sighash(&t, &g, &spent), "signatures are not signed");
        assert_ne!(tx.txid(), t.txid(), "but they are part of the txid");
    }

    #[test]
    fn sighash_needs_one_spent_coin_per_input() {
        let key = SecretKey::from_bytes(&[3; 32]).unwrap();
        let input = TxIn {
            prevout: OutPoint { txid: Txid([1; 32]), vout: 0 },
            pubkey: key.public_key(),
            signature: key.sign_digest(&[0; 32]),
        };
        let tx =
            Transaction { version: TX_VERSION, coinbase_height: None, inputs: vec![input], outputs: vec![] };
        let coin = TxOut { recipient: PubkeyHash([2; 32]), amount: Amount::ONE_COIN };
        let g = BlockHash([9; 32]);
        assert_eq!(tx.sighash(&g, &[]), Err(SpentCountMismatch { inputs: 1, spent: 0 }));
        assert_eq!(tx.sighash(&g, &[coin, coin]), Err(SpentCountMismatch { inputs: 1, spent: 2 }));
        assert!(tx.sighash(&g, &[coin]).is_ok());
    }

    #[test]
    fn sizes_are_exact() {
        let tx = Transaction::coinbase(7, vec![TxOut { recipient: PubkeyHash::ZERO, amount: Amount::ZERO }]);
        assert_eq!(tx.size(), to_bytes(&tx).len());
        assert_eq!(tx.size(), 4 + 9 + 4 + 4 + OUTPUT_SIZE);
    }

    #[test]
    fn coinbase_txids_differ_by_height() {
        let out = vec![TxOut { recipient: PubkeyHash::ZERO, amount: Amount::ONE_COIN }];
        assert_ne!(Transaction::coinbase(1, out.clone()).txid(), Transaction::coinbase(2, out).txid());
    }
}
