//! Checks of what a node serves against verified headers, and the wallet's own coins and history
//! computed from verified blocks.

use super::{LightError, VerifiedHeaders};
use crate::amount::Amount;
use crate::block::Block;
use crate::filter::BlockFilter;
use crate::hash::{merkle_root_from_branch, BlockHash, PubkeyHash, Txid};
use crate::tx::{OutPoint, Transaction, TxOut};
use std::collections::{BTreeMap, BTreeSet};

/// The size of an inner node of the Merkle tree (`0x01 || left || right`): no transaction of this
/// size is taken as a leaf of a proof, so an inner node cannot pass for a transaction.
const INNER_NODE_BYTES: usize = 65;

/// Takes the filter a node served for the block at `height` (which it says is `hash`): the hash
/// must be the verified block's, and the filter's hash the one its header commits to.
pub fn check_filter(
    headers: &VerifiedHeaders,
    height: u64,
    hash: &BlockHash,
    bytes: Vec<u8>,
) -> Result<BlockFilter, LightError> {
    let header = headers.header(height).ok_or(LightError::UnknownHeight(height))?;
    let expected = headers.hash(height).ok_or(LightError::UnknownHeight(height))?;
    if *hash != expected {
        return Err(LightError::WrongBlock { height, expected });
    }
    let filter = BlockFilter::from_bytes(bytes)
        .map_err(|e| LightError::BadFilter { height, reason: e.to_string() })?;
    if filter.hash() != header.filter_hash {
        return Err(LightError::FilterMismatch { height });
    }
    Ok(filter)
}

/// Takes the block a node served as the one at `height`: its header must be the verified one and
/// its transactions must give that header's Merkle root (so they are exactly the block's).
pub fn check_block(headers: &VerifiedHeaders, height: u64, block: &Block) -> Result<(), LightError> {
    let expected = headers.hash(height).ok_or(LightError::UnknownHeight(height))?;
    if block.hash() != expected {
        return Err(LightError::WrongBlock { height, expected });
    }
    if block.compute_merkle_root() != block.header.merkle_root {
        return Err(LightError::MerkleMismatch { height });
    }
    Ok(())
}

/// Takes a node's proof that `tx` is the transaction at `position` of the `count` in the
/// verified block at `height`.
pub fn check_inclusion(
    headers: &VerifiedHeaders,
    height: u64,
    tx: &Transaction,
    position: u64,
    count: u64,
    branch: &[[u8; 32]],
) -> Result<(), LightError> {
    let header = headers.header(height).ok_or(LightError::UnknownHeight(height))?;
    if tx.size() == INNER_NODE_BYTES {
        return Err(LightError::BadProof { height });
    }
    match merkle_root_from_branch(&tx.txid(), position, count, branch) {
        Some(root) if root == header.merkle_root => Ok(()),
        _ => Err(LightError::BadProof { height }),
    }
}

/// A coin of the wallet's, from a verified block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedCoin {
    pub outpoint: OutPoint,
    pub output: TxOut,
    pub height: u64,
    pub is_coinbase: bool,
}

/// A transaction of a verified block that paid the wallet or spent its coins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEntry {
    pub txid: Txid,
    pub height: u64,
    pub block: BlockHash,
    pub time: u64,
    pub received: Amount,
    pub sent: Amount,
}

/// What applying one block changed, to undo it on a reorganization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Undo {
    added: Vec<OutPoint>,
    spent: Vec<VerifiedCoin>,
    entries: usize,
}

/// The wallet's coins and history, from the blocks of the verified chain whose filters match
/// its key hashes, in height order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanner {
    watch: BTreeSet<PubkeyHash>,
    /// The hash of every scanned block, genesis first.
    scanned: Vec<BlockHash>,
    coins: BTreeMap<OutPoint, VerifiedCoin>,
    history: Vec<VerifiedEntry>,
    undo: BTreeMap<u64, Undo>,
}

impl Scanner {
    /// A scanner of the wallet owning `watch`, with nothing scanned but `genesis` (whose outputs
    /// nobody can spend).
    pub fn new(watch: impl IntoIterator<Item = PubkeyHash>, genesis: BlockHash) -> Self {
        Scanner {
            watch: watch.into_iter().collect(),
            scanned: vec![genesis],
            coins: BTreeMap::new(),
            history: Vec::new(),
            undo: BTreeMap::new(),
        }
    }

    /// The key hashes watched, for matching filters.
    pub fn watched(&self) -> Vec<PubkeyHash> {
        self.watch.iter().copied().collect()
    }

    /// The next height to scan.
    pub fn next_height(&self) -> u64 {
        self.scanned.len() as u64
    }

    /// The height scanned up to.
    pub fn height(&self) -> u64 {
        self.next_height() - 1
    }

    fn expect(&self, height: u64) -> Result<(), LightError> {
        match self.next_height() {
            expected if expected == height => Ok(()),
            expected => Err(LightError::OutOfOrder { expected, got: height }),
        }
    }

    /// Records the block at `height` as scanned without its body: its verified filter matched
    /// none of the watched key hashes, so it neither pays nor spends the wallet.
    pub fn skip(&mut self, height: u64, hash: BlockHash) -> Result<(), LightError> {
        self.expect(height)?;
        self.scanned.push(hash);
        Ok(())
    }

    /// Applies the verified block at `height` ([`check_block`] first).
    pub fn apply(&mut self, height: u64, block: &Block) -> Result<(), LightError> {
        self.expect(height)?;
        let hash = block.hash();
        let mut undo = Undo::default();
        for tx in &block.transactions {
            let txid = tx.txid();
            let mut sent = Amount::ZERO;
            for input in tx.inputs.iter().filter(|_| !tx.is_coinbase()) {
                if let Some(coin) = self.coins.remove(&input.prevout) {
                    sent = sent.checked_add(coin.output.amount).unwrap_or(sent);
                    undo.spent.push(coin);
                }
            }
            let mut received = Amount::ZERO;
            for (vout, output) in tx.outputs.iter().enumerate() {
                if !self.watch.contains(&output.recipient) {
                    continue;
                }
                let outpoint = OutPoint { txid, vout: vout as u32 };
                let coin = VerifiedCoin { outpoint, output: *output, height, is_coinbase: tx.is_coinbase() };
                self.coins.insert(outpoint, coin);
                undo.added.push(outpoint);
                received = received.checked_add(output.amount).unwrap_or(received);
            }
            if sent > Amount::ZERO || received > Amount::ZERO {
                let time = block.header.time;
                self.history.push(VerifiedEntry { txid, height, block: hash, time, received, sent });
                undo.entries += 1;
            }
        }
        self.scanned.push(hash);
        if undo != Undo::default() {
            self.undo.insert(height, undo);
        }
        Ok(())
    }

    /// Undoes every block above `height`.
    pub fn rewind(&mut self, height: u64) {
        while self.height() > height {
            let top = self.height();
            if let Some(undo) = self.undo.remove(&top) {
                for outpoint in undo.added {
                    self.coins.remove(&outpoint);
                }
                for coin in undo.spent {
                    self.coins.insert(coin.outpoint, coin);
                }
                self.history.truncate(self.history.len() - undo.entries);
            }
            self.scanned.pop();
        }
    }

    /// Rewinds to the highest scanned block that is still on `headers`' chain (after it
    /// reorganized); returns the height scanning resumes from.
    pub fn follow(&mut self, headers: &VerifiedHeaders) -> u64 {
        let mut height = self.height().min(headers.height());
        while height > 0 && headers.hash(height) != Some(self.scanned[height as usize]) {
            height -= 1;
        }
        self.rewind(height);
        self.next_height()
    }

    /// The wallet's unspent coins, by outpoint.
    pub fn coins(&self) -> impl Iterator<Item = &VerifiedCoin> {
        self.coins.values()
    }

    /// The sum of the wallet's coins.
    pub fn balance(&self) -> Amount {
        self.coins.values().fold(Amount::ZERO, |sum, c| sum.checked_add(c.output.amount).unwrap_or(sum))
    }

    /// The wallet's transactions, oldest first.
    pub fn history(&self) -> &[VerifiedEntry] {
        &self.history
    }

    /// Whether the transaction `txid` is in a scanned block, and at which height.
    pub fn confirmed_at(&self, txid: &Txid) -> Option<u64> {
        self.history.iter().find(|e| e.txid == *txid).map(|e| e.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BlockHeader;
    use crate::hash::merkle_branch;
    use crate::keys::{SecretKey, Signature};
    use crate::params::Network;
    use crate::tx::{TxIn, TX_VERSION};

    fn key(n: u8) -> SecretKey {
        SecretKey::from_bytes(&[n; 32]).unwrap()
    }

    fn pkh(n: u8) -> PubkeyHash {
        key(n).public_key().pubkey_hash()
    }

    fn pay(from: &[OutPoint], owner: u8, outputs: &[(u8, u64)]) -> Transaction {
        Transaction {
            version: TX_VERSION,
            coinbase_height: None,
            inputs: from
                .iter()
                .map(|prevout| TxIn {
                    prevout: *prevout,
                    pubkey: key(owner).public_key(),
                    signature: Signature::placeholder(),
                })
                .collect(),
            outputs: outputs
                .iter()
                .map(|(to, units)| TxOut { recipient: pkh(*to), amount: Amount::from_units(*units) })
                .collect(),
        }
    }

    fn block(height: u64, prev: BlockHash, txs: Vec<Transaction>) -> Block {
        let mut transactions = vec![Transaction::coinbase(
            height,
            vec![TxOut { recipient: pkh(9), amount: Amount::from_units(50) }],
        )];
        transactions.extend(txs);
        let mut block = Block {
            header: BlockHeader {
                height,
                prev,
                time: 1_000 + height,
                ..Network::Test.genesis_block().header
            },
            transactions,
        };
        block.commit_transactions();
        block
    }

    #[test]
    fn payments_in_and_out_and_a_reorganization_undone() {
        let genesis = Network::Test.genesis_hash();
        let mut scanner = Scanner::new([pkh(1)], genesis);
        // Block 1 pays us 100 and 20 (two outputs), and someone else.
        let income = pay(&[OutPoint { txid: Txid([7; 32]), vout: 0 }], 5, &[(1, 100), (2, 5), (1, 20)]);
        let b1 = block(1, genesis, vec![income.clone()]);
        scanner.apply(1, &b1).unwrap();
        assert_eq!(scanner.balance(), Amount::from_units(120));
        // Block 2 is skipped (its filter did not match); block 3 spends our 100.
        scanner.skip(2, BlockHash([2; 32])).unwrap();
        let spend = pay(&[OutPoint { txid: income.txid(), vout: 0 }], 1, &[(3, 90), (1, 9)]);
        let b3 = block(3, BlockHash([2; 32]), vec![spend.clone()]);
        scanner.apply(3, &b3).unwrap();
        assert_eq!(scanner.balance(), Amount::from_units(29));
        let last = scanner.history().last().unwrap();
        assert_eq!(
            (last.received, last.sent, last.height),
            (Amount::from_units(9), Amount::from_units(100), 3)
        );
        assert_eq!(scanner.confirmed_at(&spend.txid()), Some(3));
        // Out of order is refused.
        assert_eq!(scanner.skip(9, BlockHash([9; 32])), Err(LightError::OutOfOrder { expected: 4, got: 9 }));
        // Rewinding to 1 gives the 100 back and forgets the spend.
        scanner.rewind(1);
        assert_eq!(scanner.balance(), Amount::from_units(120));
        assert_eq!(scanner.confirmed_at(&spend.txid()), None);
        assert_eq!(scanner.next_height(), 2);
    }

    #[test]
    fn checks_of_filters_blocks_and_proofs_against_verified_headers() {
        // A verified chain of one block (dev network: minimal difficulty).
        let net = Network::Dev;
        let genesis = net.genesis_block();
        let income = pay(&[OutPoint { txid: Txid([7; 32]), vout: 0 }], 5, &[(1, 100)]);
        let mut b1 = block(1, genesis.hash(), vec![income.clone()]);
        b1.header.time = genesis.header.time + 10;
        b1.header.bits = net.params().pow_limit;
        b1.commit_transactions();
        let target = crate::pow::Target::from_compact(b1.header.bits).unwrap();
        while !target.is_met_by(&b1.hash()) {
            b1.header.nonce += 1;
        }
        let mut headers = VerifiedHeaders::new(net);
        headers.apply(&[b1.header], u64::MAX / 2).unwrap();
        // Filter: the committed one passes and matches; another does not.
        let filter = b1.compute_filter();
        let checked = check_filter(&headers, 1, &b1.hash(), filter.as_bytes().to_vec()).unwrap();
        assert!(checked.matches_any(&b1.header.merkle_root, &[pkh(1)]).unwrap());
        let empty = BlockFilter::build(&b1.header.merkle_root, &b1.transactions[..1]);
        assert_eq!(
            check_filter(&headers, 1, &b1.hash(), empty.as_bytes().to_vec()),
            Err(LightError::FilterMismatch { height: 1 })
        );
        assert!(matches!(
            check_filter(&headers, 1, &genesis.hash(), vec![]),
            Err(LightError::WrongBlock { .. })
        ));
        assert_eq!(check_filter(&headers, 5, &b1.hash(), vec![]), Err(LightError::UnknownHeight(5)));
        // Block: the real one passes; one with a transaction added or removed does not.
        check_block(&headers, 1, &b1).unwrap();
        let mut padded = b1.clone();
        padded.transactions.push(income.clone());
        assert_eq!(check_block(&headers, 1, &padded), Err(LightError::MerkleMismatch { height: 1 }));
        let mut other = b1.clone();
        other.header.nonce += 1;
        assert!(matches!(check_block(&headers, 1, &other), Err(LightError::WrongBlock { .. })));
        // Proof of inclusion.
        let txids = b1.txids();
        let branch = merkle_branch(&txids, 1).unwrap();
        check_inclusion(&headers, 1, &income, 1, 2, &branch).unwrap();
        let stranger = pay(&[OutPoint { txid: Txid([8; 32]), vout: 0 }], 5, &[(1, 100)]);
        assert_eq!(
            check_inclusion(&headers, 1, &stranger, 1, 2, &branch),
            Err(LightError::BadProof { height: 1 })
        );
        assert_eq!(
            check_inclusion(&headers, 1, &income, 0, 2, &branch),
            Err(LightError::BadProof { height: 1 })
        );
    }
}
