//! Block rules: header checks, body checks, and connecting a block's transactions to the coin set.

use super::chain::block_subsidy;
use super::tx::{check_tx_coins, check_tx_shape, verify_tx_signatures, Coin, CoinView, TxError};
use crate::amount::Amount;
use crate::block::{Block, BlockHeader, BLOCK_VERSION};
use crate::hash::{merkle_root, BlockHash, FilterHash, Txid};
use crate::params::Params;
use crate::pow::{CompactTarget, Target, TargetError};
use crate::tx::OutPoint;
use std::collections::{HashMap, HashSet};

/// Why a block is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("unsupported block version {0}")]
    UnsupportedVersion(u32),
    #[error("block claims height {found}, expected {expected}")]
    BadHeight { expected: u64, found: u64 },
    #[error("block target {found:?} differs from the required {expected:?}")]
    BadDifficulty { expected: CompactTarget, found: CompactTarget },
    #[error("invalid target: {0}")]
    InvalidTarget(TargetError),
    #[error("block hash {0} does not meet its target")]
    InsufficientProofOfWork(BlockHash),
    #[error("block time {time} is not after the median time {median} of the previous blocks")]
    TimeTooOld { time: u64, median: u64 },
    #[error(
        "block time {time} starts a difficulty epoch too far before its parent's time {parent_time} \
         (earliest allowed {earliest}): a time-warp"
    )]
    TimeWarp { time: u64, parent_time: u64, earliest: u64 },
    #[error("block time {time} is more than the allowed margin ahead of the clock (latest {max})")]
    TimeTooNew { time: u64, max: u64 },
    #[error("block of {size} bytes exceeds the {max}-byte limit")]
    TooLarge { size: usize, max: usize },
    #[error("block has no transactions")]
    NoTransactions,
    #[error("the first transaction is not a coinbase")]
    FirstNotCoinbase,
    #[error("transaction {index} is a second coinbase")]
    ExtraCoinbase { index: usize },
    #[error("coinbase claims height {found}, block is at {expected}")]
    BadCoinbaseHeight { expected: u64, found: u64 },
    #[error("Merkle root does not match the transactions")]
    BadMerkleRoot,
    #[error("the header's filter hash {claimed} is not that of the block's filter ({computed})")]
    BadFilterHash { claimed: FilterHash, computed: FilterHash },
    #[error("transaction {0} appears twice")]
    DuplicateTransaction(Txid),
    #[error("transaction {index} ({txid}): {error}")]
    InvalidTransaction { index: usize, txid: Txid, error: TxError },
    #[error("coinbase pays {claimed}, more than subsidy plus fees {allowed}")]
    CoinbaseTooLarge { claimed: Amount, allowed: Amount },
}

impl BlockError {
    /// Whether the failure may lie in this copy of the block rather than in the block its hash
    /// names: a relaying peer can alter the body without changing the header hash, and the body
    /// is only bound to the hash once the Merkle root matches (which `check_block_body` checks
    /// before anything else but the size). Such a failure condemns the copy, not the hash.
    pub fn is_body_mutation(&self) -> bool {
        matches!(self, BlockError::BadMerkleRoot | BlockError::TooLarge { .. } | BlockError::NoTransactions)
    }
}

/// What the chain says a header at this position must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderContext {
    /// Parent height + 1.
    pub height: u64,
    /// From `next_bits`: the target the rules require, never the one the header claims.
    pub expected_bits: CompactTarget,
    /// From `median_time_past` over the parent and its ancestors.
    pub median_time_past: u64,
    /// The parent's time (for the time-warp rule at epoch boundaries).
    pub parent_time: u64,
    /// The validating node's clock, in seconds.
    pub now: u64,
}

/// Checks a header against its place in the chain (the caller has matched `prev`).
pub fn check_header(header: &BlockHeader, ctx: &HeaderContext, params: &Params) -> Result<(), BlockError> {
    if header.version != BLOCK_VERSION {
        return Err(BlockError::UnsupportedVersion(header.version));
    }
    if header.height != ctx.height {
        return Err(BlockError::BadHeight { expected: ctx.height, found: header.height });
    }
    if header.bits != ctx.expected_bits {
        return Err(BlockError::BadDifficulty { expected: ctx.expected_bits, found: header.bits });
    }
    let target = Target::from_compact(header.bits).map_err(BlockError::InvalidTarget)?;
    let hash = header.hash();
    if !target.is_met_by(&hash) {
        return Err(BlockError::InsufficientProofOfWork(hash));
    }
    if header.time <= ctx.median_time_past {
        return Err(BlockError::TimeTooOld { time: header.time, median: ctx.median_time_past });
    }
    if let Some(earliest) = epoch_start_earliest_time(params, ctx.height, ctx.parent_time) {
        if header.time < earliest {
            return Err(BlockError::TimeWarp { time: header.time, parent_time: ctx.parent_time, earliest });
        }
    }
    let max = ctx.now.saturating_add(params.max_future_block_secs);
    if header.time > max {
        return Err(BlockError::TimeTooNew { time: header.time, max });
    }
    Ok(())
}

/// If the block at `height` starts a difficulty epoch, the earliest time it may have:
/// its parent's time less `timewarp_grace_secs`. Otherwise `None` (no such bound).
///
/// The retarget measures an epoch from its first block's time to its last block's time. Without
/// this bound, blocks may keep their times low (just above the median time past) except the
/// last of each epoch, set late: every retarget then sees an epoch that seemed to last long and
/// lowers the difficulty, and the next epoch's first block goes back to the low time, so the
/// same trick works again (the time-warp attack). With it, the first block of an epoch cannot
/// go back, so a late time counts in one epoch only, and the gain is at most the grace.
pub fn epoch_start_earliest_time(params: &Params, height: u64, parent_time: u64) -> Option<u64> {
    super::chain::retarget_anchor_height(params, height)
        .map(|_| parent_time.saturating_sub(params.timewarp_grace_secs))
}

/// The earliest time the rules allow a block at `height` to have.
pub fn earliest_block_time(params: &Params, height: u64, median_time_past: u64, parent_time: u64) -> u64 {
    let after_median = median_time_past.saturating_add(1);
    epoch_start_earliest_time(params, height, parent_time).map_or(after_median, |t| t.max(after_median))
}

/// Checks what a block must satisfy on its own; returns its txids, computed once.
///
/// The Merkle root is compared first (after the size limit): once it matches, the header's hash
/// commits to every transaction, so any later failure belongs to the block itself and not to a
/// copy altered in transit. The filter hash is checked last: the header commits to it directly,
/// and building the filter costs one SHA-256 per input, more than the shape checks.
pub fn check_block_body(block: &Block, params: &Params) -> Result<Vec<Txid>, BlockError> {
    let size = block.size();
    if size > params.max_block_bytes {
        return Err(BlockError::TooLarge { size, max: params.max_block_bytes });
    }
    let txids: Vec<Txid> = block.transactions.iter().map(|tx| tx.txid()).collect();
    if merkle_root(&txids) != block.header.merkle_root {
        return Err(BlockError::BadMerkleRoot);
    }
    let first = block.transactions.first().ok_or(BlockError::NoTransactions)?;
    match first.coinbase_height {
        None => return Err(BlockError::FirstNotCoinbase),
        Some(h) if h != block.header.height => {
            return Err(BlockError::BadCoinbaseHeight { expected: block.header.height, found: h })
        }
        Some(_) => {}
    }
    let mut seen = HashSet::with_capacity(block.transactions.len());
    for (index, (tx, txid)) in block.transactions.iter().zip(&txids).enumerate() {
        if index > 0 && tx.is_coinbase() {
            return Err(BlockError::ExtraCoinbase { index });
        }
        check_tx_shape(tx, params).map_err(|error| BlockError::InvalidTransaction {
            index,
            txid: *txid,
            error,
        })?;
        if !seen.insert(*txid) {
            return Err(BlockError::DuplicateTransaction(*txid));
        }
    }
    let computed = block.compute_filter().hash();
    if computed != block.header.filter_hash {
        return Err(BlockError::BadFilterHash { claimed: block.header.filter_hash, computed });
    }
    Ok(txids)
}

/// What connecting a block consumed: the coins it spent, in order, so that the block can be
/// disconnected again during a reorganization; and the fees it collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockUndo {
    pub spent: Vec<(OutPoint, Coin)>,
    pub fees: Amount,
}

/// Validates a block's transactions against the coin set as of its parent, in order (a later
/// transaction may spend an earlier one's outputs), the coinbase against subsidy + fees, and
/// every signature. `txids` comes from `check_block_body`. Nothing is changed: the caller
/// applies the result.
pub fn connect_block(
    block: &Block,
    txids: &[Txid],
    coins: &impl CoinView,
    params: &Params,
    genesis: &BlockHash,
) -> Result<BlockUndo, BlockError> {
    let undo = connect_block_coins(block, txids, coins, params)?;
    let mut spent = undo.spent.iter().map(|(_, coin)| coin.output);
    for (index, (tx, txid)) in block.transactions.iter().zip(txids).enumerate().skip(1) {
        let coins: Vec<_> = spent.by_ref().take(tx.inputs.len()).collect();
        verify_tx_signatures(tx, genesis, &coins).map_err(|error| BlockError::InvalidTransaction {
            index,
            txid: *txid,
            error,
        })?;
    }
    Ok(undo)
}

/// `connect_block` without the signature checks, for a caller that verifies signatures itself
/// (in parallel, with `verify_tx_signatures`). A block is valid only if both pass. The undo's
/// `spent` lists the coins of every input of the block in order: the coins to verify against.
pub fn connect_block_coins(
    block: &Block,
    txids: &[Txid],
    coins: &impl CoinView,
    params: &Params,
) -> Result<BlockUndo, BlockError> {
    let height = block.header.height;
    let mut created: HashMap<OutPoint, Coin> = HashMap::new();
    let mut spent_here: HashSet<OutPoint> = HashSet::new();
    let mut undo = Vec::new();
    let mut fees = Amount::ZERO;

    struct Overlay<'a, V> {
        base: &'a V,
        created: &'a HashMap<OutPoint, Coin>,
        spent: &'a HashSet<OutPoint>,
    }
    impl<V: CoinView> CoinView for Overlay<'_, V> {
        fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
            if self.spent.contains(outpoint) {
                return None;
            }
            self.created.get(outpoint).copied().or_else(|| self.base.coin(outpoint))
        }
    }

    for (index, (tx, txid)) in block.transactions.iter().zip(txids).enumerate().skip(1) {
        let view = Overlay { base: coins, created: &created, spent: &spent_here };
        let fee = check_tx_coins(tx, &view, height, params)
            .map_err(|error| BlockError::InvalidTransaction { index, txid: *txid, error })?;
        for input in &tx.inputs {
            let coin = view.coin(&input.prevout).expect("checked above");
            undo.push((input.prevout, coin));
        }
        for input in &tx.inputs {
            if created.remove(&input.prevout).is_none() {
                spent_here.insert(input.prevout);
            }
        }
        fees = fees.checked_add(fee).map_err(|_| BlockError::InvalidTransaction {
            index,
            txid: *txid,
            error: TxError::InputsOverflow,
        })?;
        for (vout, output) in tx.outputs.iter().enumerate() {
            created.insert(
                OutPoint { txid: *txid, vout: vout as u32 },
                Coin { output: *output, height, is_coinbase: false },
            );
        }
    }

    let allowed =
        block_subsidy(params, height).checked_add(fees).expect("subsidy plus capped fees fit in u64");
    let claimed = block.transactions[0].output_total().expect("shape checked");
    if claimed > allowed {
        return Err(BlockError::CoinbaseTooLarge { claimed, allowed });
    }
    Ok(BlockUndo { spent: undo, fees })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::tests::Fixture;
    use crate::consensus::tx::TxError;
    use crate::tx::{Transaction, TxOut};

    fn ctx_for(f: &Fixture, block: &Block) -> HeaderContext {
        HeaderContext {
            height: block.header.height,
            expected_bits: f.params().pow_limit,
            median_time_past: block.header.time - 1,
            parent_time: block.header.time - 1,
            now: block.header.time,
        }
    }

    #[test]
    fn valid_block_connects() {
        let f = Fixture::new();
        let spend = f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 60)]);
        let block = f.block(vec![spend], 40);
        check_header(&block.header, &ctx_for(&f, &block), f.params()).unwrap();
        let txids = check_block_body(&block, f.params()).unwrap();
        let undo = connect_block(&block, &txids, &f.coins, f.params(), &f.genesis()).unwrap();
        assert_eq!(undo.fees, Amount::from_units(40));
        assert_eq!(undo.spent, vec![(f.coin_out(0), f.coins[&f.coin_out(0)])]);
    }

    #[test]
    fn chained_spend_within_a_block() {
        let f = Fixture::new();
        let first = f.spend(&[f.coin_out(0)], &[(f.alice_hash(), 90)]);
        let second = f.spend_with(
            &[OutPoint { txid: first.txid(), vout: 0 }],
            &[(f.bob_hash(), 80)],
            &[first.outputs[0]],
        );
        let block = f.block(vec![first, second.clone()], 20);
        let txids = check_block_body(&block, f.params()).unwrap();
        let undo = connect_block(&block, &txids, &f.coins, f.params(), &f.genesis()).unwrap();
        assert_eq!(undo.fees, Amount::from_units(20));

        // The reverse order spends an output that does not exist yet.
        let block = f.block(vec![second.clone(), f.spend(&[f.coin_out(0)], &[(f.alice_hash(), 90)])], 0);
        let txids = check_block_body(&block, f.params()).unwrap();
        let err = connect_block(&block, &txids, &f.coins, f.params(), &f.genesis()).unwrap_err();
        assert!(matches!(
            err,
            BlockError::InvalidTransaction { index: 1, error: TxError::UnknownInput(_), .. }
        ));
    }

    #[test]
    fn double_spend_within_a_block() {
        let f = Fixture::new();
        let a = f.spend(&[f.coin_out(0)], &[(f.alice_hash(), 90)]);
        let b = f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 90)]);
        let block = f.block(vec![a, b], 0);
        let txids = check_block_body(&block, f.params()).unwrap();
        assert!(matches!(
            connect_block(&block, &txids, &f.coins, f.params(), &f.genesis()),
            Err(BlockError::InvalidTransaction { index: 2, error: TxError::UnknownInput(_), .. })
        ));
    }

    #[test]
    fn header_rejections() {
        let f = Fixture::new();
        let block = f.block(vec![], 0);
        let ctx = ctx_for(&f, &block);
        let p = f.params();
        let mut h = block.header;
        h.version = 2;
        assert_eq!(check_header(&h, &ctx, p), Err(BlockError::UnsupportedVersion(2)));
        assert_eq!(
            check_header(&block.header, &HeaderContext { height: 9, ..ctx }, p),
            Err(BlockError::BadHeight { expected: 9, found: block.header.height })
        );
        let harder = CompactTarget(0x1f00_ffff);
        assert_eq!(
            check_header(&block.header, &HeaderContext { expected_bits: harder, ..ctx }, p),
            Err(BlockError::BadDifficulty { expected: harder, found: p.pow_limit })
        );
        // A header claiming an invalid target that the chain also (wrongly) expects.
        let mut h = block.header;
        h.bits = CompactTarget(0x2080_0000);
        assert_eq!(
            check_header(&h, &HeaderContext { expected_bits: h.bits, ..ctx }, p),
            Err(BlockError::InvalidTarget(TargetError::Negative(0x2080_0000)))
        );
        // A nonce that misses the (easy) target.
        let mut h = block.header;
        while Target::from_compact(h.bits).unwrap().is_met_by(&h.hash()) {
            h.nonce += 1;
        }
        assert_eq!(check_header(&h, &ctx, p), Err(BlockError::InsufficientProofOfWork(h.hash())));
        assert_eq!(
            check_header(&block.header, &HeaderContext { median_time_past: block.header.time, ..ctx }, p),
            Err(BlockError::TimeTooOld { time: block.header.time, median: block.header.time })
        );
        let now = block.header.time - p.max_future_block_secs - 1;
        assert_eq!(
            check_header(&block.header, &HeaderContext { now, median_time_past: 0, ..ctx }, p),
            Err(BlockError::TimeTooNew { time: block.header.time, max: block.header.time - 1 })
        );
    }

    #[test]
    fn body_rejections() {
        let f = Fixture::new();
        let p = f.params();
        let spend = f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 60)]);

        let mut b = f.block(vec![], 0);
        b.transactions.clear();
        b.header.merkle_root = crate::hash::MerkleRoot::ZERO;
        assert_eq!(check_block_body(&b, p), Err(BlockError::NoTransactions));

        let b = f.block_raw(vec![spend.clone()]);
        assert_eq!(check_block_body(&b, p), Err(BlockError::FirstNotCoinbase));

        let extra =
            Transaction::coinbase(1, vec![TxOut { recipient: f.bob_hash(), amount: Amount::ONE_COIN }]);
        let b = f.block(vec![extra], 0);
        assert_eq!(check_block_body(&b, p), Err(BlockError::ExtraCoinbase { index: 1 }));

        let mut b = f.block(vec![], 0);
        b.transactions[0].coinbase_height = Some(99);
        b.header.merkle_root = b.compute_merkle_root();
        assert_eq!(check_block_body(&b, p), Err(BlockError::BadCoinbaseHeight { expected: 1, found: 99 }));

        let mut b = f.block(vec![spend.clone()], 0);
        b.header.merkle_root = crate::hash::MerkleRoot([7; 32]);
        assert_eq!(check_block_body(&b, p), Err(BlockError::BadMerkleRoot));
        assert!(BlockError::BadMerkleRoot.is_body_mutation());

        let b = f.block(vec![spend.clone(), spend.clone()], 0);
        assert_eq!(check_block_body(&b, p), Err(BlockError::DuplicateTransaction(spend.txid())));

        // A header whose filter leaves out one key hash the block pays (so that a light wallet
        // watching it would miss the payment) commits to the wrong filter.
        let mut b = f.block(vec![spend.clone()], 0);
        let honest = b.compute_filter().hash();
        let mut elements = crate::filter::block_elements(&b.transactions);
        elements.retain(|e| *e != f.bob_hash());
        let hiding = crate::filter::BlockFilter::of_elements(&b.header.merkle_root, &elements).hash();
        b.header.filter_hash = hiding;
        assert_eq!(
            check_block_body(&b, p),
            Err(BlockError::BadFilterHash { claimed: hiding, computed: honest })
        );
        assert!(!BlockError::BadFilterHash { claimed: hiding, computed: honest }.is_body_mutation());

        // A copy altered in transit fails on its Merkle root before any rule that would condemn
        // the block's hash.
        let mut altered = f.block(vec![spend.clone()], 0);
        altered.transactions[0].outputs.clear();
        assert_eq!(check_block_body(&altered, p), Err(BlockError::BadMerkleRoot));
        let mut altered = f.block(vec![spend.clone()], 0);
        altered.transactions.remove(0);
        assert_eq!(check_block_body(&altered, p), Err(BlockError::BadMerkleRoot));

        let mut bad = spend.clone();
        bad.outputs.clear();
        let b = f.block(vec![bad.clone()], 0);
        assert_eq!(
            check_block_body(&b, p),
            Err(BlockError::InvalidTransaction { index: 1, txid: bad.txid(), error: TxError::NoOutputs })
        );

        let big: Vec<Transaction> = (0..8000u32)
            .map(|i| f.spend(&[OutPoint { txid: crate::hash::Txid([1; 32]), vout: i }], &[(f.bob_hash(), 1)]))
            .collect();
        let b = f.block(big, 0);
        assert!(matches!(check_block_body(&b, p), Err(BlockError::TooLarge { .. })));
    }

    #[test]
    fn bad_signature_fails_connect_but_not_the_coin_checks() {
        let f = Fixture::new();
        let mut spend = f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 60)]);
        spend.inputs[0].signature = f.alice.sign_digest(&[7; 32]);
        let block = f.block(vec![spend.clone()], 40);
        let txids = check_block_body(&block, f.params()).unwrap();
        assert!(connect_block_coins(&block, &txids, &f.coins, f.params()).is_ok());
        assert_eq!(
            connect_block(&block, &txids, &f.coins, f.params(), &f.genesis()),
            Err(BlockError::InvalidTransaction {
                index: 1,
                txid: spend.txid(),
                error: TxError::InvalidSignature { index: 0, reason: crate::keys::KeyError::BadSignature },
            })
        );
    }

    #[test]
    fn coinbase_cannot_exceed_subsidy_plus_fees() {
        let f = Fixture::new();
        let spend = f.spend(&[f.coin_out(0)], &[(f.bob_hash(), 60)]);
        let block = f.block(vec![spend], 41);
        let txids = check_block_body(&block, f.params()).unwrap();
        let subsidy = block_subsidy(f.params(), 1);
        assert_eq!(
            connect_block(&block, &txids, &f.coins, f.params(), &f.genesis()),
            Err(BlockError::CoinbaseTooLarge {
                claimed: subsidy.checked_add(Amount::from_units(41)).unwrap(),
                allowed: subsidy.checked_add(Amount::from_units(40)).unwrap(),
            })
        );
    }
}

#[cfg(test)]
mod timewarp_tests {
    //! The time-warp rule with the test network's rules (epochs of 20 blocks, grace 20 s) but
    //! an easy proof-of-work limit, on header chains built and checked with the consensus
    //! functions alone.
    use super::*;
    use crate::consensus::chain::{median_time_past, next_bits, retarget_anchor_height};
    use crate::hash::MerkleRoot;
    use crate::params::Network;

    /// A header chain from the test genesis, extended only with headers `check_header` accepts.
    struct Headers {
        params: &'static Params,
        headers: Vec<BlockHeader>,
    }

    impl Headers {
        /// A chain whose first header is at four times the easiest difficulty, so that a
        /// retarget can make it easier.
        fn new() -> Self {
            let params: &'static Params = Box::leak(Box::new(Params {
                pow_limit: CompactTarget(0x207f_ffff),
                ..Network::Test.params().clone()
            }));
            let first =
                BlockHeader { bits: CompactTarget(0x201f_ffff), ..Network::Test.genesis_block().header };
            Headers { params, headers: vec![first] }
        }

        fn tip(&self) -> &BlockHeader {
            self.headers.last().expect("genesis")
        }

        fn context(&self) -> HeaderContext {
            let parent = self.tip();
            let height = parent.height + 1;
            let anchor = retarget_anchor_height(self.params, height).map(|h| self.headers[h as usize].time);
            let span = self.params.median_time_span;
            let times: Vec<u64> = self.headers.iter().rev().take(span).map(|h| h.time).collect();
            HeaderContext {
                height,
                expected_bits: next_bits(self.params, height, parent.bits, parent.time, anchor),
                median_time_past: median_time_past(&times),
                parent_time: parent.time,
                // The attacker's clock: whatever lets every time pass the future limit.
                now: u64::MAX / 2,
            }
        }

        /// Mines the next header with `time` and checks it; keeps it if it passes.
        fn push(&mut self, time: u64) -> Result<(), BlockError> {
            let ctx = self.context();
            let mut header = BlockHeader {
                version: BLOCK_VERSION,
                height: ctx.height,
                prev: self.tip().hash(),
                merkle_root: MerkleRoot::ZERO,
                filter_hash: Default::default(),
                time,
                bits: ctx.expected_bits,
                nonce: 0,
            };
            let target = Target::from_compact(header.bits).unwrap();
            while !target.is_met_by(&header.hash()) {
                header.nonce += 1;
            }
            check_header(&header, &ctx, self.params)?;
            self.headers.push(header);
            Ok(())
        }
    }

    /// Attack, over the first epoch boundary:
    ///
    /// ```text
    ///  height  1 .. 18        19 (last of epoch 0)      20 (first of epoch 1)
    ///  time    MTP + 1 each   genesis + 10 days         MTP + 1: back by ~10 days  → refused
    /// ```
    /// Epoch 1's retarget would measure from block 20's low time to block 39's late time again,
    /// so every epoch would look ten days long and the difficulty would fall each time.
    #[test]
    fn a_chain_trying_the_time_warp_is_refused_at_the_epoch_start() {
        let mut chain = Headers::new();
        let late = chain.tip().time + 10 * 24 * 3600;
        for height in 1..=19u64 {
            let ctx = chain.context();
            let time = if height == 19 { late } else { ctx.median_time_past + 1 };
            chain.push(time).unwrap_or_else(|e| panic!("height {height}: {e}"));
        }
        let ctx = chain.context();
        assert_eq!(ctx.height, 20);
        // The late time made the difficulty of epoch 1 the easiest a retarget allows...
        assert_eq!(ctx.expected_bits, CompactTarget(0x207f_fffc));
        // ...and the warp back, which would let the next epoch do the same, is refused.
        let back = ctx.median_time_past + 1;
        assert_eq!(
            chain.push(back),
            Err(BlockError::TimeWarp { time: back, parent_time: late, earliest: late - 20 })
        );
        assert_eq!(chain.headers.len(), 20, "nothing was added");
        // The epoch's first block has to start after the late time, less the grace, so the late
        // time counts in one epoch only.
        chain.push(late - 20).unwrap();
    }

    /// The bound itself: exactly `timewarp_grace_secs` before the parent is accepted, one second
    /// more is refused; inside an epoch the rule does not apply.
    #[test]
    fn the_epoch_start_may_be_at_most_the_grace_before_its_parent() {
        let mut chain = Headers::new();
        let grace = chain.params.timewarp_grace_secs;
        assert_eq!(grace, 20);
        for _ in 1..=19 {
            let time = chain.tip().time + 10;
            chain.push(time).unwrap();
        }
        let parent_time = chain.tip().time;
        let mut early = Headers { params: chain.params, headers: chain.headers.clone() };
        let too_early = parent_time - grace - 1;
        assert!(too_early > chain.context().median_time_past, "only the time-warp rule is at stake");
        assert_eq!(
            early.push(too_early),
            Err(BlockError::TimeWarp { time: too_early, parent_time, earliest: parent_time - grace })
        );
        chain.push(parent_time - grace).unwrap();
        assert_eq!(earliest_block_time(chain.params, 20, 0, parent_time), parent_time - grace);

        // Inside an epoch, a block may go back as far as the median time past allows.
        let mut inside = Headers { params: chain.params, headers: chain.headers[..19].to_vec() };
        let ctx = inside.context();
        assert_eq!(ctx.height, 19);
        assert!(ctx.median_time_past + 1 < ctx.parent_time - grace);
        inside.push(ctx.median_time_past + 1).unwrap();
        assert_eq!(epoch_start_earliest_time(chain.params, 21, 0), None);
    }
}
