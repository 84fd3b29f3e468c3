//! The mempool: valid transactions waiting for a block, bounded in memory.
//!
//! ```text
//!  tx ──spent_outputs, verify_tx_signatures against them (caller, outside the lock)──▶ accept:
//!        known? ─▶ check_tx_shape ─▶ coinbase? ─▶ check_size ─▶ conflicts with the pool?
//!        ─▶ check_tx_coins (chain coins + outputs of pool txs) ─▶ fee rate ≥ min_fee_rate(now)
//!        ─▶ insert ─▶ while over max_memory: evict the lowest fee rate with its descendants,
//!                      and raise the rolling minimum fee rate above the evicted rate
//!  new tip ──update_for_new_tip──▶ drop confirmed and conflicting txs; after a reorg, rebuild
//!  miner   ──select_for_block────▶ highest fee rate first, in-pool parents before children
//! ```
//!
//! A plain synchronous struct: the node keeps it behind a lock. Every operation touches only
//! the entries concerned through its indexes (txid → entry, outpoint → spender, fee rate → txid,
//! address → txids, and parent/child links between pool transactions).

use ferro_shared::amount::MAX_MONEY;
use ferro_shared::consensus::{check_tx_coins, check_tx_shape, Coin, CoinView, TxError};
use ferro_shared::tx::{INPUT_SIZE, OUTPUT_SIZE};
use ferro_shared::{Amount, Block, OutPoint, Params, PubkeyHash, Transaction, TxOut, Txid};
use std::cmp::Reverse;
use std::collections::{hash_map, BTreeMap, BinaryHeap, HashMap, HashSet};

/// The smallest possible non-coinbase transaction: one input, one output.
const MIN_SPEND_SIZE: usize = 4 + 1 + 4 + INPUT_SIZE + 4 + OUTPUT_SIZE;

/// Policy: the largest transaction the pool accepts, in encoded bytes (Bitcoin Core's
/// `MAX_STANDARD_TX_WEIGHT` of 400,000 weight units is 100,000 bytes). A block holds ten of
/// them; larger ones are valid in a block but neither kept nor relayed.
pub const MAX_STANDARD_TX_BYTES: usize = 100_000;
/// Policy: after an eviction the minimum fee rate becomes the evicted fee rate plus this many
/// units per byte, so that making room again costs more than what was pushed out.
pub const INCREMENTAL_RELAY_FEE_RATE: u64 = 1;
/// Policy: the raised minimum fee rate halves every this many seconds (12 hours, as Bitcoin
/// Core's rolling minimum fee); twice as fast while the pool is under half full, four times as
/// fast under a quarter. Below half the incremental rate it is gone.
pub const ROLLING_FEE_HALF_LIFE_SECS: u64 = 12 * 60 * 60;

/// The largest transaction any block can hold besides its header, transaction count and coinbase.
pub fn max_tx_bytes_in_block(params: &Params) -> usize {
    params.max_block_bytes.saturating_sub(ferro_shared::block::BLOCK_RESERVED_BYTES)
}

/// A transaction in the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub tx: Transaction,
    pub txid: Txid,
    pub fee: Amount,
    /// Encoded size in bytes.
    pub size: usize,
    /// Seconds since the Unix epoch when the node accepted it.
    pub time: u64,
}

impl Entry {
    /// Fee units per byte, rounded down.
    pub fn fee_rate(&self) -> u64 {
        fee_rate(self.fee, self.size)
    }
}

fn fee_rate(fee: Amount, size: usize) -> u64 {
    fee.units() / (size.max(1) as u64)
}

/// A transaction that entered the pool, and what it pushed out to make room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub txid: Txid,
    pub fee: Amount,
    pub evicted: Vec<Txid>,
}

/// What a change of the active chain did to the pool: `removed` were in the pool before and are
/// not now (confirmed, conflicting, or no longer valid), `added` are in the pool now and were not
/// before (transactions of disconnected blocks that went back to the pool).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TipUpdate {
    pub removed: Vec<Txid>,
    pub added: Vec<Txid>,
}

/// What pending transactions do to one address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressActivity {
    /// Outputs of pool transactions paying to the address that no pool transaction spends,
    /// newest transaction first.
    pub unspent: Vec<(OutPoint, Amount)>,
    /// `(txid, received, sent, time)` per pool transaction touching the address, newest first.
    pub history: Vec<(Txid, Amount, Amount, u64)>,
}

/// Why a transaction was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    #[error("transaction {0} is already in the mempool")]
    AlreadyKnown(Txid),
    #[error("a coinbase is only valid as the first transaction of a block")]
    Coinbase,
    #[error(transparent)]
    Invalid(#[from] TxError),
    #[error("input {outpoint} is already spent by pending transaction {existing}")]
    Conflict { outpoint: OutPoint, existing: Txid },
    /// `min` is the network's minimum relay fee rate, or higher for a while after the pool
    /// evicted transactions ([`Mempool::min_fee_rate`]).
    #[error("fee rate {rate} units/byte is below the minimum of {min}")]
    FeeTooLow { rate: u64, min: u64 },
    #[error(
        "transaction of {size} bytes can never be mined: a block holds at most {max} bytes of \
         transactions besides its header and coinbase"
    )]
    TooLargeForBlock { size: usize, max: usize },
    #[error("transaction of {size} bytes is larger than the {max} bytes this node relays")]
    NonStandardSize { size: usize, max: usize },
    #[error(
        "the mempool is full: fee rate {rate} units/byte does not make room (lowest in the pool: {min})"
    )]
    Full { rate: u64, min: u64 },
}

impl MempoolError {
    /// The stable, machine-readable code the HTTP API returns.
    pub fn code(&self) -> &'static str {
        match self {
            MempoolError::AlreadyKnown(_) => "already_known",
            MempoolError::Coinbase => "coinbase",
            MempoolError::Conflict { .. } => "double_spend",
            MempoolError::FeeTooLow { .. } | MempoolError::Full { .. } => "insufficient_fee",
            MempoolError::TooLargeForBlock { .. } => "too_large_for_block",
            MempoolError::NonStandardSize { .. } => "nonstandard_size",
            MempoolError::Invalid(e) => match e {
                TxError::InvalidSignature { .. } => "invalid_signature",
                TxError::UnknownInput(_) => "unknown_input",
                TxError::ImmatureCoinbase { .. } => "immature_coinbase",
                TxError::KeyMismatch { .. } => "key_mismatch",
                TxError::InputsBelowOutputs { .. } => "insufficient_funds",
                _ => "invalid_transaction",
            },
        }
    }

    /// Whether the peer that sent this transaction should be penalized. Rejections that an
    /// honest peer can cause by racing us (it knew a block or a transaction we did not, or
    /// the other way round) are not its fault.
    pub fn is_bad_transaction(&self) -> bool {
        match self {
            MempoolError::Coinbase => true,
            MempoolError::Invalid(e) => {
                !matches!(e, TxError::UnknownInput(_) | TxError::ImmatureCoinbase { .. })
            }
            MempoolError::AlreadyKnown(_)
            | MempoolError::Conflict { .. }
            | MempoolError::FeeTooLow { .. }
            | MempoolError::Full { .. }
            // Policy, not consensus: a peer with other limits relays them in good faith.
            | MempoolError::TooLargeForBlock { .. }
            | MempoolError::NonStandardSize { .. } => false,
        }
    }
}

/// An entry with its links to the rest of the pool.
#[derive(Debug)]
struct Node {
    entry: Entry,
    /// Arrival order, unique.
    seq: u64,
    /// Pool transactions whose outputs this one spends.
    parents: HashSet<Txid>,
    /// Pool transactions that spend outputs of this one.
    children: HashSet<Txid>,
    /// Output recipients and input owners, without duplicates.
    addresses: Vec<PubkeyHash>,
    /// What this entry adds to the pool's memory ([`Mempool::memory`]), fixed when it entered.
    memory: usize,
}

impl Node {
    fn rate_key(&self) -> RateKey {
        (self.entry.fee_rate(), Reverse(self.seq))
    }
}

/// Orders entries by fee rate, lowest first, and among equal rates the newest first: the
/// order of eviction.
type RateKey = (u64, Reverse<u64>);

/// Unconfirmed transactions, checked against the active chain.
#[derive(Debug)]
pub struct Mempool {
    params: &'static Params,
    max_memory: usize,
    memory: usize,
    bytes: usize,
    next_seq: u64,
    nodes: HashMap<Txid, Node>,
    /// Which pool transaction spends an outpoint.
    spenders: HashMap<OutPoint, Txid>,
    by_rate: BTreeMap<RateKey, Txid>,
    by_address: HashMap<PubkeyHash, HashSet<Txid>>,
    /// The minimum fee rate raised by evictions (units per byte, 0 when none), as of
    /// `rolling_since`; it decays from there ([`Mempool::min_fee_rate`]).
    rolling_min: f64,
    rolling_since: u64,
}

/// The coins a pool transaction may spend: the chain's, and outputs of pool transactions.
struct PoolView<'a, C> {
    pool: &'a Mempool,
    chain: &'a C,
    height: u64,
}

impl<C: CoinView> CoinView for PoolView<'_, C> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        match self.pool.pool_output(outpoint) {
            Some(output) => Some(Coin { output, height: self.height, is_coinbase: false }),
            None => self.chain.coin(outpoint),
        }
    }
}

impl Mempool {
    /// An empty pool that takes at most about `max_memory` bytes of memory.
    pub fn new(params: &'static Params, max_memory: usize) -> Self {
        Mempool {
            params,
            max_memory,
            memory: 0,
            bytes: 0,
            next_seq: 0,
            nodes: HashMap::new(),
            spenders: HashMap::new(),
            by_rate: BTreeMap::new(),
            by_address: HashMap::new(),
            rolling_min: 0.0,
            rolling_since: 0,
        }
    }

    /// The fee rate (units per byte) a transaction must pay to enter at time `now` (seconds):
    /// the network's `min_relay_fee_rate`, or the rolling minimum if it is higher. An eviction
    /// raises the rolling minimum to the evicted fee rate plus [`INCREMENTAL_RELAY_FEE_RATE`];
    /// it then halves every [`ROLLING_FEE_HALF_LIFE_SECS`] (faster while the pool is small), so
    /// that pushing entries out again and again costs ever higher fees for a while.
    pub fn min_fee_rate(&self, now: u64) -> u64 {
        let rolling = self.rolling_min_at(now).ceil() as u64;
        self.params.min_relay_fee_rate.max(rolling)
    }

    /// The rolling minimum fee rate decayed to `now`, with the half-life the pool's fill sets.
    fn rolling_min_at(&self, now: u64) -> f64 {
        if self.rolling_min <= 0.0 {
            return 0.0;
        }
        let mut half_life = ROLLING_FEE_HALF_LIFE_SECS as f64;
        if self.memory < self.max_memory / 4 {
            half_life /= 4.0;
        } else if self.memory < self.max_memory / 2 {
            half_life /= 2.0;
        }
        let elapsed = now.saturating_sub(self.rolling_since) as f64;
        let rate = self.rolling_min * 0.5f64.powf(elapsed / half_life);
        if rate < INCREMENTAL_RELAY_FEE_RATE as f64 / 2.0 {
            0.0
        } else {
            rate
        }
    }

    /// Records the decay up to `now` (the half-life depends on the pool's fill, which is about
    /// to change). Never moves the clock back.
    fn settle_rolling_min(&mut self, now: u64) {
        if now > self.rolling_since {
            self.rolling_min = self.rolling_min_at(now);
            self.rolling_since = now;
        }
    }

    /// Refuses a transaction by its size alone: one no block could hold
    /// ([`max_tx_bytes_in_block`]), or one larger than [`MAX_STANDARD_TX_BYTES`].
    pub fn check_size(&self, tx: &Transaction) -> Result<(), MempoolError> {
        let size = tx.size();
        let in_block = max_tx_bytes_in_block(self.params);
        if size > in_block {
            return Err(MempoolError::TooLargeForBlock { size, max: in_block });
        }
        if size > MAX_STANDARD_TX_BYTES {
            return Err(MempoolError::NonStandardSize { size, max: MAX_STANDARD_TX_BYTES });
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Total encoded size of the pool's transactions.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The memory the entries take with their share of the pool's indexes, estimated from the
    /// sizes of what is stored (see [`entry_memory`]). The pool evicts beyond `max_memory`.
    pub fn memory(&self) -> usize {
        self.memory
    }

    pub fn max_memory(&self) -> usize {
        self.max_memory
    }

    pub fn contains(&self, txid: &Txid) -> bool {
        self.nodes.contains_key(txid)
    }

    pub fn get(&self, txid: &Txid) -> Option<&Entry> {
        self.nodes.get(txid).map(|n| &n.entry)
    }

    /// Every entry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.nodes.values().map(|n| &n.entry)
    }

    /// Every entry in the order it arrived: parents before children.
    pub fn entries_by_arrival(&self) -> Vec<&Entry> {
        let mut nodes: Vec<&Node> = self.nodes.values().collect();
        nodes.sort_unstable_by_key(|n| n.seq);
        nodes.into_iter().map(|n| &n.entry).collect()
    }

    /// Every entry by descending fee rate (oldest first among equal rates).
    pub fn entries_by_fee_rate(&self) -> impl Iterator<Item = &Entry> {
        self.by_rate.values().rev().filter_map(|txid| self.get(txid))
    }

    /// The pool transaction that spends `outpoint`, if any.
    pub fn spender_of(&self, outpoint: &OutPoint) -> Option<Txid> {
        self.spenders.get(outpoint).copied()
    }

    /// The output `outpoint` names if a pool transaction created it (spent or not).
    pub fn pool_output(&self, outpoint: &OutPoint) -> Option<TxOut> {
        let node = self.nodes.get(&outpoint.txid)?;
        node.entry.tx.outputs.get(usize::try_from(outpoint.vout).ok()?).copied()
    }

    /// The outputs `tx` spends, in input order, from `chain` or from pool transactions: what its
    /// signatures must be verified against (`verify_tx_signatures`) before [`Mempool::accept`].
    pub fn spent_outputs(&self, tx: &Transaction, chain: &impl CoinView) -> Result<Vec<TxOut>, TxError> {
        ferro_shared::consensus::spent_outputs(tx, &PoolView { pool: self, chain, height: 0 })
    }

    /// Validates `tx` and adds it to the pool. Everything is checked except the signatures,
    /// which the caller verified (`verify_tx_signatures`, against [`Mempool::spent_outputs`])
    /// before taking its lock. `chain` is the
    /// active chain's coin set; the transaction may also spend outputs of pool transactions.
    /// `next_height` is the height of the next block (for coinbase maturity), `now` seconds
    /// since the Unix epoch.
    ///
    /// When the pool grows past its memory limit, the lowest-fee-rate entries are evicted together
    /// with their descendants; if that would evict `tx` itself (its fee rate is not above the
    /// lowest, or it descends from an evicted entry), nothing changes and the answer is `Full`.
    pub fn accept(
        &mut self,
        tx: Transaction,
        chain: &impl CoinView,
        next_height: u64,
        now: u64,
    ) -> Result<Accepted, MempoolError> {
        let txid = tx.txid();
        if self.nodes.contains_key(&txid) {
            return Err(MempoolError::AlreadyKnown(txid));
        }
        check_tx_shape(&tx, self.params)?;
        if tx.is_coinbase() {
            return Err(MempoolError::Coinbase);
        }
        self.check_size(&tx)?;
        for input in &tx.inputs {
            if let Some(&existing) = self.spenders.get(&input.prevout) {
                return Err(MempoolError::Conflict { outpoint: input.prevout, existing });
            }
        }
        let view = PoolView { pool: self, chain, height: next_height };
        let fee = check_tx_coins(&tx, &view, next_height, self.params)?;
        let size = tx.size();
        let rate = fee_rate(fee, size);
        // The pool's fill, which sets the decay, may change now.
        self.settle_rolling_min(now);
        let min = self.min_fee_rate(now);
        if rate < min {
            return Err(MempoolError::FeeTooLow { rate, min });
        }

        self.insert(Entry { tx, txid, fee, size, time: now });
        let (evicted, evicted_rate) = self.eviction_plan();
        if evicted.contains(&txid) {
            // It has no descendants yet, so taking it out restores the pool exactly.
            self.remove_entry(&txid);
            let min = self.by_rate.keys().next().map_or(rate, |k| k.0);
            return Err(MempoolError::Full { rate, min });
        }
        if let Some(evicted_rate) = evicted_rate {
            self.settle_rolling_min(now);
            let raised = evicted_rate.saturating_add(INCREMENTAL_RELAY_FEE_RATE) as f64;
            self.rolling_min = self.rolling_min.max(raised);
            self.rolling_since = self.rolling_since.max(now);
        }
        for victim in &evicted {
            self.remove_entry(victim);
        }
        Ok(Accepted { txid, fee, evicted })
    }

    /// What [`Mempool::accept`] would refuse anyway, found without verifying a signature, given
    /// the outputs `tx` spends: a conflict with a pool transaction, or a fee rate under the
    /// minimum at `now`. Admission checks this before it verifies signatures, so a refusal that
    /// costs its sender nothing (neither is the sender's fault: another node may well have
    /// taken it) also costs the node next to nothing.
    pub fn precheck(&self, tx: &Transaction, spent: &[TxOut], now: u64) -> Result<(), MempoolError> {
        for input in &tx.inputs {
            if let Some(&existing) = self.spenders.get(&input.prevout) {
                return Err(MempoolError::Conflict { outpoint: input.prevout, existing });
            }
        }
        let inputs = Amount::sum(spent.iter().map(|o| o.amount)).ok();
        // Outputs above the inputs are for the full check to name.
        if let Some(fee) = inputs.zip(tx.output_total()).and_then(|(i, o)| i.checked_sub(o).ok()) {
            let (rate, min) = (fee_rate(fee, tx.size()), self.min_fee_rate(now));
            if rate < min {
                return Err(MempoolError::FeeTooLow { rate, min });
            }
        }
        Ok(())
    }

    /// Removes `txid` and every pool transaction that descends from it; returns what it removed.
    pub fn remove_with_descendants(&mut self, txid: &Txid) -> Vec<Txid> {
        let doomed = self.descendants(txid);
        for t in &doomed {
            self.remove_entry(t);
        }
        doomed
    }

    /// Brings the pool in line with a new active chain. `connected` are the blocks that joined
    /// it (oldest first), `disconnected` those that left it (tip first), `chain` is the coin set
    /// of the new chain and `next_height` the height of the block after its tip.
    ///
    /// Without disconnected blocks, the transactions the new blocks confirm leave the pool, and
    /// so does every transaction that spends an outpoint the new blocks spent, with its
    /// descendants. After a reorganization the pool is rebuilt: the transactions of the
    /// disconnected blocks (oldest first), then the previous entries (in arrival order), are
    /// accepted again against `chain`; those that no longer fit are dropped. Entries keep their
    /// arrival time; transactions coming back from blocks get `now`.
    pub fn update_for_new_tip(
        &mut self,
        connected: &[Block],
        disconnected: &[Block],
        chain: &impl CoinView,
        next_height: u64,
        now: u64,
    ) -> TipUpdate {
        if disconnected.is_empty() {
            let mut removed = Vec::new();
            for tx in connected.iter().flat_map(|b| &b.transactions).filter(|t| !t.is_coinbase()) {
                let txid = tx.txid();
                if self.remove_entry(&txid).is_some() {
                    removed.push(txid);
                }
                for input in &tx.inputs {
                    if let Some(spender) = self.spender_of(&input.prevout) {
                        removed.extend(self.remove_with_descendants(&spender));
                    }
                }
            }
            return TipUpdate { removed, added: Vec::new() };
        }

        let mut old: Vec<Node> = std::mem::take(&mut self.nodes).into_values().collect();
        old.sort_unstable_by_key(|n| n.seq);
        let old_ids: HashSet<Txid> = old.iter().map(|n| n.entry.txid).collect();
        self.spenders.clear();
        self.by_rate.clear();
        self.by_address.clear();
        self.bytes = 0;
        self.memory = 0;

        // Transactions already held, or confirmed before, come back whatever the rolling minimum:
        // it is set aside during the rebuild (evictions during it still raise it).
        self.settle_rolling_min(now);
        let rolling = (std::mem::take(&mut self.rolling_min), self.rolling_since);
        let returning = disconnected.iter().rev().flat_map(|b| &b.transactions).filter(|t| !t.is_coinbase());
        for tx in returning {
            let _ = self.accept(tx.clone(), chain, next_height, now);
        }
        let mut removed = Vec::new();
        for node in old {
            let Entry { tx, txid, time, .. } = node.entry;
            // Failures are expected here (confirmed, conflicting, spending a vanished coin).
            let _ = self.accept(tx, chain, next_height, time);
            if !self.nodes.contains_key(&txid) {
                removed.push(txid);
            }
        }
        // An entry accepted early may have been evicted by a later one.
        removed.retain(|t| !self.nodes.contains_key(t));
        if rolling.0 >= self.rolling_min {
            (self.rolling_min, self.rolling_since) = rolling;
        }
        let mut added: Vec<&Node> =
            self.nodes.values().filter(|n| !old_ids.contains(&n.entry.txid)).collect();
        added.sort_unstable_by_key(|n| n.seq);
        TipUpdate { removed, added: added.into_iter().map(|n| n.entry.txid).collect() }
    }

    /// Transactions for a block template with their fees: at most `max_bytes` in total encoded
    /// size, highest fee rate first, except that a transaction comes only after all its pool
    /// parents, so the result is in a valid block order. A transaction that does not fit is
    /// skipped, and with it its descendants.
    pub fn select_for_block(&self, max_bytes: usize) -> Vec<(Transaction, Amount)> {
        let mut waiting: HashMap<Txid, usize> = HashMap::new();
        let mut ready = BinaryHeap::new();
        for (txid, node) in &self.nodes {
            if node.parents.is_empty() {
                ready.push((node.entry.fee_rate(), Reverse(node.seq), *txid));
            } else {
                waiting.insert(*txid, node.parents.len());
            }
        }
        let mut left = max_bytes;
        let mut selected = Vec::new();
        while let Some((_, _, txid)) = ready.pop() {
            if left < MIN_SPEND_SIZE {
                break;
            }
            let Some(node) = self.nodes.get(&txid) else { continue };
            if node.entry.size > left {
                continue;
            }
            left -= node.entry.size;
            selected.push((node.entry.tx.clone(), node.entry.fee));
            for child in &node.children {
                let Some(count) = waiting.get_mut(child) else { continue };
                *count = count.saturating_sub(1);
                if *count == 0 {
                    waiting.remove(child);
                    if let Some(c) = self.nodes.get(child) {
                        ready.push((c.entry.fee_rate(), Reverse(c.seq), *child));
                    }
                }
            }
        }
        selected
    }

    /// What pool transactions do to the address `pkh`: their outputs to it that no pool
    /// transaction spends, and per transaction touching it, what it received and sent. The
    /// amount of a spent coin comes from the pool or, failing that, from `chain`.
    pub fn address_activity(&self, pkh: &PubkeyHash, chain: &impl CoinView) -> AddressActivity {
        let mut activity = AddressActivity::default();
        let Some(txids) = self.by_address.get(pkh) else { return activity };
        let mut nodes: Vec<&Node> = txids.iter().filter_map(|t| self.nodes.get(t)).collect();
        nodes.sort_unstable_by_key(|n| Reverse((n.entry.time, n.seq)));
        for node in nodes {
            let Entry { tx, txid, time, .. } = &node.entry;
            let mut received = Vec::new();
            for (vout, output) in (0u32..).zip(&tx.outputs).filter(|(_, o)| o.recipient == *pkh) {
                received.push(output.amount);
                let outpoint = OutPoint { txid: *txid, vout };
                if !self.spenders.contains_key(&outpoint) {
                    activity.unspent.push((outpoint, output.amount));
                }
            }
            let sent = tx.inputs.iter().filter_map(|input| {
                let output = self
                    .pool_output(&input.prevout)
                    .or_else(|| chain.coin(&input.prevout).map(|c| c.output))?;
                (output.recipient == *pkh).then_some(output.amount)
            });
            // Accepted transactions move at most MAX_MONEY each way.
            let received = Amount::sum(received).unwrap_or(MAX_MONEY);
            let sent = Amount::sum(sent).unwrap_or(MAX_MONEY);
            activity.history.push((*txid, received, sent, *time));
        }
        activity
    }

    fn insert(&mut self, entry: Entry) {
        let txid = entry.txid;
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut parents = HashSet::new();
        for input in &entry.tx.inputs {
            self.spenders.insert(input.prevout, txid);
            if self.nodes.contains_key(&input.prevout.txid) {
                parents.insert(input.prevout.txid);
            }
        }
        let mut new_children_sets = 0;
        for parent in &parents {
            if let Some(p) = self.nodes.get_mut(parent) {
                new_children_sets += usize::from(p.children.is_empty());
                p.children.insert(txid);
            }
        }
        let mut addresses: Vec<PubkeyHash> = entry.tx.outputs.iter().map(|o| o.recipient).collect();
        addresses.extend(entry.tx.inputs.iter().map(|i| i.pubkey.pubkey_hash()));
        addresses.sort_unstable();
        addresses.dedup();
        let mut new_sets = 0;
        for address in &addresses {
            let set = self.by_address.entry(*address).or_insert_with(|| {
                new_sets += 1;
                HashSet::new()
            });
            set.insert(txid);
        }
        let shape = EntryShape {
            inputs: entry.tx.inputs.capacity(),
            outputs: entry.tx.outputs.capacity(),
            addresses: addresses.len(),
            new_address_sets: new_sets,
            parents: parents.len(),
            new_children_sets,
        };
        let memory = entry_memory(&shape);
        self.memory += memory;
        self.bytes += entry.size;
        let node = Node { entry, seq, parents, children: HashSet::new(), addresses, memory };
        self.by_rate.insert(node.rate_key(), txid);
        self.nodes.insert(txid, node);
    }

    /// Removes one entry and unlinks it from its parents and children (which stay).
    fn remove_entry(&mut self, txid: &Txid) -> Option<Node> {
        let node = self.nodes.remove(txid)?;
        for input in &node.entry.tx.inputs {
            if self.spenders.get(&input.prevout) == Some(txid) {
                self.spenders.remove(&input.prevout);
            }
        }
        for parent in &node.parents {
            if let Some(p) = self.nodes.get_mut(parent) {
                p.children.remove(txid);
            }
        }
        for child in &node.children {
            if let Some(c) = self.nodes.get_mut(child) {
                c.parents.remove(txid);
            }
        }
        for address in &node.addresses {
            if let hash_map::Entry::Occupied(mut set) = self.by_address.entry(*address) {
                set.get_mut().remove(txid);
                if set.get().is_empty() {
                    set.remove();
                }
            }
        }
        self.by_rate.remove(&node.rate_key());
        self.bytes = self.bytes.saturating_sub(node.entry.size);
        self.memory = self.memory.saturating_sub(node.memory);
        Some(node)
    }

    /// `txid` (if in the pool) and every pool transaction descending from it, parents first.
    fn descendants(&self, txid: &Txid) -> Vec<Txid> {
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        self.collect_descendants(txid, &mut seen, &mut found);
        found
    }

    /// Adds `txid` and its descendants not yet `seen` to `found`; returns the memory they take.
    fn collect_descendants(&self, txid: &Txid, seen: &mut HashSet<Txid>, found: &mut Vec<Txid>) -> usize {
        let mut memory = 0;
        let mut stack = vec![*txid];
        while let Some(t) = stack.pop() {
            let Some(node) = self.nodes.get(&t) else { continue };
            if seen.insert(t) {
                found.push(t);
                memory += node.memory;
                stack.extend(node.children.iter().copied());
            }
        }
        memory
    }

    /// What to evict to get back under the memory limit: the lowest fee rates first, each with
    /// its descendants; and the highest fee rate among the entries evicted for their own rate
    /// (not counting descendants that go with them), which the rolling minimum fee rate follows.
    fn eviction_plan(&self) -> (Vec<Txid>, Option<u64>) {
        let mut victims = Vec::new();
        let mut seen = HashSet::new();
        let mut memory = self.memory;
        let mut top_rate = None;
        for (key, txid) in &self.by_rate {
            if memory <= self.max_memory {
                break;
            }
            if seen.contains(txid) {
                continue;
            }
            top_rate = Some(key.0);
            let freed = self.collect_descendants(txid, &mut seen, &mut victims);
            memory = memory.saturating_sub(freed);
        }
        (victims, top_rate)
    }
}

/// What an entry holds, for [`entry_memory`].
#[derive(Debug, Clone, Copy)]
struct EntryShape {
    inputs: usize,
    outputs: usize,
    addresses: usize,
    /// Addresses no other pool transaction touched: each gets a new set in `by_address`.
    new_address_sets: usize,
    /// Pool transactions this one spends from: its `parents` set, and a slot in each parent's
    /// `children`.
    parents: usize,
    /// Parents that had no children before this one: their `children` set gets allocated.
    new_children_sets: usize,
}

/// The memory an entry takes: its own allocations, and its share of the pool's indexes.
///
/// Hash tables keep between 7/16 and 7/8 of their slots in use; a slot (with its control byte)
/// is counted at 3/2 of its size, for about two thirds in use. B-tree entries count double: the
/// fee-rate index mostly inserts at one end, which leaves its nodes half full. Every allocation
/// costs 16 bytes more in the allocator.
/// `tests/mempool_memory.rs` checks the estimate against the heap, measured.
fn entry_memory(shape: &EntryShape) -> usize {
    use ferro_shared::TxIn;
    use std::mem::size_of;
    const ALLOCATION: usize = 16;
    fn slot<T>() -> usize {
        (size_of::<T>() + 1) * 3 / 2
    }
    // The smallest allocation of a set with something in it: 4 slots, with control bytes.
    let small_set = 4 * size_of::<Txid>() + 4 + 16 + ALLOCATION;
    let own = shape.inputs * size_of::<TxIn>()
        + shape.outputs * size_of::<TxOut>()
        + shape.addresses * size_of::<PubkeyHash>()
        + 3 * ALLOCATION
        + if shape.parents > 0 { small_set.max(shape.parents * slot::<Txid>()) } else { 0 };
    let indexes = slot::<(Txid, Node)>()
        + (size_of::<RateKey>() + size_of::<Txid>()) * 2
        + shape.inputs * slot::<(OutPoint, Txid)>()
        + shape.addresses * slot::<Txid>()
        + shape.new_address_sets * (slot::<(PubkeyHash, HashSet<Txid>)>() + small_set)
        + shape.parents * slot::<Txid>()
        + shape.new_children_sets * small_set;
    own + indexes
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::consensus::check_tx_shape;
    use ferro_shared::tx::TX_VERSION;
    use ferro_shared::{Network, SecretKey, TxIn};

    const HEIGHT: u64 = 10;
    const NOW: u64 = 1_000;

    fn params() -> &'static Params {
        Network::Dev.params()
    }

    fn key(n: u8) -> SecretKey {
        SecretKey::from_bytes(&[n; 32]).unwrap()
    }

    fn pkh(n: u8) -> PubkeyHash {
        key(n).public_key().pubkey_hash()
    }

    /// A transaction spending `inputs` (all owned by key `signer`), signed by it as if each
    /// were worth `VALUE` (the pool does not verify signatures: its caller does).
    fn spend(signer: u8, inputs: &[OutPoint], outputs: &[(PubkeyHash, u64)]) -> Transaction {
        let k = key(signer);
        let pubkey = k.public_key();
        let placeholder = k.sign_digest(&[0; 32]);
        let mut tx = Transaction {
            version: TX_VERSION,
            coinbase_height: None,
            inputs: inputs.iter().map(|&prevout| TxIn { prevout, pubkey, signature: placeholder }).collect(),
            outputs: outputs
                .iter()
                .map(|&(recipient, units)| TxOut { recipient, amount: Amount::from_units(units) })
                .collect(),
        };
        let spent = vec![TxOut { recipient: pkh(signer), amount: Amount::from_units(VALUE) }; inputs.len()];
        let sig = k.sign_digest(&tx.sighash(&Network::Dev.genesis_hash(), &spent).unwrap());
        for input in &mut tx.inputs {
            input.signature = sig;
        }
        tx
    }

    /// One input, one output (186 bytes), paying `rate` units per byte from a coin of `value`.
    fn at_rate(signer: u8, input: OutPoint, value: u64, rate: u64) -> Transaction {
        let size = spend(signer, &[input], &[(pkh(signer), 1)]).size() as u64;
        spend(signer, &[input], &[(pkh(signer), value - rate * size)])
    }

    fn out(tx: &Transaction, vout: u32) -> OutPoint {
        OutPoint { txid: tx.txid(), vout }
    }

    fn block(txs: Vec<Transaction>) -> Block {
        let coinbase =
            Transaction::coinbase(HEIGHT, vec![TxOut { recipient: pkh(9), amount: Amount::ONE_COIN }]);
        let mut transactions = vec![coinbase];
        transactions.extend(txs);
        Block { header: Network::Dev.genesis_block().header, transactions }
    }

    /// A chain where key 1 (Alice) owns coins `coin(0..n)` of 100,000 units each.
    struct World {
        chain: HashMap<OutPoint, Coin>,
        pool: Mempool,
    }

    const VALUE: u64 = 100_000;

    fn coin(i: u32) -> OutPoint {
        OutPoint { txid: Txid([0xc0; 32]), vout: i }
    }

    impl World {
        fn new(coins: u32, max_bytes: usize) -> Self {
            let mut chain = HashMap::new();
            let alice = pkh(1);
            for i in 0..coins {
                let output = TxOut { recipient: alice, amount: Amount::from_units(VALUE) };
                chain.insert(coin(i), Coin { output, height: 1, is_coinbase: false });
            }
            World { chain, pool: Mempool::new(params(), max_bytes) }
        }

        fn accept(&mut self, tx: &Transaction) -> Result<Accepted, MempoolError> {
            self.pool.accept(tx.clone(), &self.chain, HEIGHT, NOW)
        }

        fn accept_at(&mut self, tx: &Transaction, now: u64) -> Result<Accepted, MempoolError> {
            self.pool.accept(tx.clone(), &self.chain, HEIGHT, now)
        }

        /// Applies a block to the chain's coin set.
        fn connect(&mut self, block: &Block) {
            for tx in &block.transactions {
                for input in &tx.inputs {
                    self.chain.remove(&input.prevout);
                }
                for (vout, output) in (0u32..).zip(&tx.outputs) {
                    let c = Coin { output: *output, height: HEIGHT, is_coinbase: tx.is_coinbase() };
                    self.chain.insert(out(tx, vout), c);
                }
            }
        }

        /// Checks that every index agrees with the entries.
        fn check_consistent(&self) {
            let p = &self.pool;
            assert_eq!(p.bytes, p.nodes.values().map(|n| n.entry.size).sum::<usize>());
            assert_eq!(p.memory, p.nodes.values().map(|n| n.memory).sum::<usize>());
            assert_eq!(p.by_rate.len(), p.nodes.len());
            let spent: usize = p.nodes.values().map(|n| n.entry.tx.inputs.len()).sum();
            assert_eq!(p.spenders.len(), spent);
            for (txid, node) in &p.nodes {
                assert_eq!(p.by_rate.get(&node.rate_key()), Some(txid));
                for input in &node.entry.tx.inputs {
                    assert_eq!(p.spenders.get(&input.prevout), Some(txid));
                }
                let parents: HashSet<Txid> = node
                    .entry
                    .tx
                    .inputs
                    .iter()
                    .map(|i| i.prevout.txid)
                    .filter(|t| p.nodes.contains_key(t))
                    .collect();
                assert_eq!(node.parents, parents);
                for child in &node.children {
                    assert!(p.nodes[child].parents.contains(txid));
                }
                for address in &node.addresses {
                    assert!(p.by_address[address].contains(txid));
                }
            }
            let indexed: usize = p.by_address.values().map(HashSet::len).sum();
            assert_eq!(indexed, p.nodes.values().map(|n| n.addresses.len()).sum::<usize>());
        }
    }

    #[test]
    fn accepts_and_records_the_fee() {
        let mut w = World::new(1, 1_000_000);
        let tx = spend(1, &[coin(0)], &[(pkh(2), 60_000), (pkh(1), 39_000)]);
        let accepted = w.accept(&tx).unwrap();
        assert_eq!(accepted, Accepted { txid: tx.txid(), fee: Amount::from_units(1_000), evicted: vec![] });
        let entry = w.pool.get(&tx.txid()).unwrap();
        assert_eq!((entry.size, entry.time, entry.fee_rate()), (tx.size(), NOW, 1_000 / tx.size() as u64));
        assert_eq!((w.pool.len(), w.pool.bytes()), (1, tx.size()));
        assert!(w.pool.contains(&tx.txid()) && !w.pool.is_empty());
        assert_eq!(w.pool.spender_of(&coin(0)), Some(tx.txid()));
        assert_eq!(w.pool.spender_of(&out(&tx, 0)), None);
        assert_eq!(w.pool.entries().count(), 1);
        w.check_consistent();
    }

    #[test]
    fn chained_spends_of_unconfirmed_outputs() {
        let mut w = World::new(1, 1_000_000);
        // Alice pays Bob and keeps change, then sends twice more from her change.
        let a = spend(1, &[coin(0)], &[(pkh(2), 10_000), (pkh(1), 89_000)]);
        let b = spend(1, &[out(&a, 1)], &[(pkh(3), 10_000), (pkh(1), 78_000)]);
        let c = spend(1, &[out(&b, 1)], &[(pkh(3), 10_000), (pkh(1), 67_000)]);
        // Bob spends what Alice paid him before it confirms.
        let d = spend(2, &[out(&a, 0)], &[(pkh(4), 9_000)]);
        for tx in [&a, &b, &c, &d] {
            w.accept(tx).unwrap();
        }
        assert_eq!(w.pool.len(), 4);
        assert_eq!(w.pool.nodes[&a.txid()].children, HashSet::from([b.txid(), d.txid()]));
        assert_eq!(w.pool.nodes[&c.txid()].parents, HashSet::from([b.txid()]));
        assert_eq!(w.pool.spender_of(&out(&b, 1)), Some(c.txid()));
        w.check_consistent();

        // Removing the root takes its descendants along.
        let mut removed = w.pool.remove_with_descendants(&a.txid());
        removed.sort();
        let mut want = vec![a.txid(), b.txid(), c.txid(), d.txid()];
        want.sort();
        assert_eq!(removed, want);
        assert!(w.pool.is_empty());
        w.check_consistent();
    }

    /// Each case starts from a pool holding `a` (Alice's coin 0 → Bob, change to Alice) and
    /// the case's `also` transactions, and offers one more.
    #[test]
    fn rejections() {
        let a = spend(1, &[coin(0)], &[(pkh(2), 10_000), (pkh(1), 89_000)]);
        let bob_spends_a = spend(2, &[out(&a, 0)], &[(pkh(4), 9_000)]);
        let unknown = OutPoint { txid: Txid([0xee; 32]), vout: 0 };
        let coinbase =
            Transaction::coinbase(HEIGHT, vec![TxOut { recipient: pkh(1), amount: Amount::ONE_COIN }]);
        let mut zero_output = spend(1, &[coin(1)], &[(pkh(2), 10)]);
        zero_output.outputs[0].amount = Amount::ZERO;
        let mut bob_signs = spend(1, &[coin(1)], &[(pkh(2), 50_000)]);
        let bob = key(2);
        bob_signs.inputs[0].pubkey = bob.public_key();
        let spent = [TxOut { recipient: pkh(1), amount: Amount::from_units(VALUE) }];
        let digest = bob_signs.sighash(&Network::Dev.genesis_hash(), &spent).unwrap();
        bob_signs.inputs[0].signature = bob.sign_digest(&digest);
        let cheap = spend(1, &[coin(1)], &[(pkh(2), VALUE - 100)]);

        struct Case<'a> {
            name: &'static str,
            also: Vec<&'a Transaction>,
            tx: Transaction,
            want: MempoolError,
            code: &'static str,
            bad: bool,
        }
        let cases = [
            Case {
                name: "already known",
                also: vec![],
                tx: a.clone(),
                want: MempoolError::AlreadyKnown(a.txid()),
                code: "already_known",
                bad: false,
            },
            Case {
                name: "double spend of a chain coin",
                also: vec![],
                tx: spend(1, &[coin(1), coin(0)], &[(pkh(3), 1_000)]),
                want: MempoolError::Conflict { outpoint: coin(0), existing: a.txid() },
                code: "double_spend",
                bad: false,
            },
            Case {
                name: "double spend of a pool output",
                also: vec![&bob_spends_a],
                tx: spend(2, &[out(&a, 0)], &[(pkh(3), 1_000)]),
                want: MempoolError::Conflict { outpoint: out(&a, 0), existing: bob_spends_a.txid() },
                code: "double_spend",
                bad: false,
            },
            Case {
                name: "fee below the floor",
                also: vec![],
                tx: cheap.clone(),
                want: MempoolError::FeeTooLow { rate: 100 / cheap.size() as u64, min: 1 },
                code: "insufficient_fee",
                bad: false,
            },
            Case {
                name: "coinbase",
                also: vec![],
                tx: coinbase,
                want: MempoolError::Coinbase,
                code: "coinbase",
                bad: true,
            },
            Case {
                name: "unknown input",
                also: vec![],
                tx: spend(1, &[unknown], &[(pkh(2), 1_000)]),
                want: MempoolError::Invalid(TxError::UnknownInput(unknown)),
                code: "unknown_input",
                bad: false,
            },
            Case {
                name: "spends more than it has",
                also: vec![],
                tx: spend(1, &[coin(1)], &[(pkh(2), VALUE + 1)]),
                want: MempoolError::Invalid(TxError::InputsBelowOutputs {
                    inputs: Amount::from_units(VALUE),
                    outputs: Amount::from_units(VALUE + 1),
                }),
                code: "insufficient_funds",
                bad: true,
            },
            Case {
                name: "key does not own the coin",
                also: vec![],
                tx: bob_signs,
                want: MempoolError::Invalid(TxError::KeyMismatch { index: 0 }),
                code: "key_mismatch",
                bad: true,
            },
            Case {
                name: "malformed",
                also: vec![],
                tx: zero_output,
                want: MempoolError::Invalid(TxError::ZeroOutput { index: 0 }),
                code: "invalid_transaction",
                bad: true,
            },
        ];
        for case in cases {
            let mut w = World::new(2, 1_000_000);
            for tx in std::iter::once(&a).chain(case.also) {
                w.accept(tx).unwrap();
            }
            let before = (w.pool.len(), w.pool.bytes());
            let got = w.accept(&case.tx).unwrap_err();
            assert_eq!(got, case.want, "{}", case.name);
            assert_eq!(got.code(), case.code, "{}", case.name);
            assert_eq!(got.is_bad_transaction(), case.bad, "{}", case.name);
            assert_eq!((w.pool.len(), w.pool.bytes()), before, "{}: pool unchanged", case.name);
            w.check_consistent();
        }
    }

    #[test]
    fn error_codes_and_blame() {
        let op = OutPoint { txid: Txid([1; 32]), vout: 0 };
        let cases: Vec<(MempoolError, &str, bool)> = vec![
            (MempoolError::AlreadyKnown(Txid::ZERO), "already_known", false),
            (MempoolError::Coinbase, "coinbase", true),
            (MempoolError::Conflict { outpoint: op, existing: Txid::ZERO }, "double_spend", false),
            (MempoolError::FeeTooLow { rate: 0, min: 1 }, "insufficient_fee", false),
            (MempoolError::Full { rate: 1, min: 2 }, "insufficient_fee", false),
            (
                TxError::InvalidSignature { index: 0, reason: ferro_shared::keys::KeyError::BadSignature }
                    .into(),
                "invalid_signature",
                true,
            ),
            (TxError::UnknownInput(op).into(), "unknown_input", false),
            (TxError::ImmatureCoinbase { outpoint: op, mature_at: 5 }.into(), "immature_coinbase", false),
            (TxError::KeyMismatch { index: 0 }.into(), "key_mismatch", true),
            (
                TxError::InputsBelowOutputs { inputs: Amount::ZERO, outputs: Amount::ONE_UNIT }.into(),
                "insufficient_funds",
                true,
            ),
            (TxError::NoInputs.into(), "invalid_transaction", true),
            (TxError::DuplicateInput(op).into(), "invalid_transaction", true),
        ];
        for (err, code, bad) in cases {
            assert_eq!(err.code(), code, "{err}");
            assert_eq!(err.is_bad_transaction(), bad, "{err}");
        }
    }

    #[test]
    fn immature_coinbase_waits() {
        let params = Network::Test.params();
        let mut chain = HashMap::new();
        let cb = OutPoint { txid: Txid([0xcb; 32]), vout: 0 };
        let output = TxOut { recipient: pkh(1), amount: Amount::from_units(VALUE) };
        chain.insert(cb, Coin { output, height: 5, is_coinbase: true });
        let mut pool = Mempool::new(params, 1_000_000);
        let tx = spend(1, &[cb], &[(pkh(2), 50_000)]);
        let err = pool.accept(tx.clone(), &chain, 15, NOW).unwrap_err();
        assert_eq!(err, MempoolError::Invalid(TxError::ImmatureCoinbase { outpoint: cb, mature_at: 16 }));
        assert_eq!((err.code(), err.is_bad_transaction()), ("immature_coinbase", false));
        assert!(pool.accept(tx, &chain, 16, NOW).is_ok());
    }

    #[test]
    fn eviction_takes_the_lowest_fee_rate_with_descendants() {
        let size = at_rate(1, coin(0), VALUE, 1).size();
        let a = at_rate(1, coin(0), VALUE, 2);
        let a_value = a.outputs[0].amount.units();
        let a2 = at_rate(1, out(&a, 0), a_value, 10); // pays more than its parent
        let b = at_rate(1, coin(1), VALUE, 5);
        // Room for these three one-in-one-out transactions, and no more.
        let mut probe = World::new(6, usize::MAX);
        for tx in [&a, &a2, &b] {
            probe.accept(tx).unwrap();
        }
        let mut w = World::new(6, probe.pool.memory());
        for tx in [&a, &a2, &b] {
            assert!(w.accept(tx).unwrap().evicted.is_empty());
        }
        assert_eq!(w.pool.bytes(), 3 * size);

        // A fourth pushes out the cheapest (a) and, with it, its child.
        let c = at_rate(1, coin(2), VALUE, 8);
        let mut evicted = w.accept(&c).unwrap().evicted;
        evicted.sort();
        let mut want = vec![a.txid(), a2.txid()];
        want.sort();
        assert_eq!(evicted, want);
        assert_eq!(w.pool.len(), 2);
        assert_eq!(w.pool.spender_of(&coin(0)), None);
        let d = at_rate(1, coin(3), VALUE, 6);
        assert!(w.accept(&d).unwrap().evicted.is_empty());
        w.check_consistent();

        // Pool: b (5), d (6), c (8), full. The newcomer must beat the lowest rate.
        let snapshot = |w: &World| (w.pool.len(), w.pool.bytes(), w.pool.by_rate.clone());
        let before = snapshot(&w);
        let cases = [
            ("equal to the lowest", at_rate(1, coin(4), VALUE, 5), 5),
            ("below the lowest", at_rate(1, coin(4), VALUE, 4), 4),
            // A rich child of the cheapest entry would go out with its parent.
            ("child of the lowest", at_rate(1, out(&b, 0), b.outputs[0].amount.units(), 20), 20),
        ];
        for (name, tx, rate) in cases {
            assert_eq!(w.accept(&tx), Err(MempoolError::Full { rate, min: 5 }), "{name}");
            assert_eq!(snapshot(&w), before, "{name}: pool unchanged");
            assert!(!w.pool.contains(&tx.txid()), "{name}");
            w.check_consistent();
        }
        assert!(w.pool.nodes[&b.txid()].children.is_empty());

        // Beating the lowest evicts it.
        let e = at_rate(1, coin(5), VALUE, 7);
        assert_eq!(w.accept(&e).unwrap().evicted, vec![b.txid()]);
        w.check_consistent();
    }

    /// A coin of 20 FRC for Alice, enough to pay any size at any rate used here.
    fn rich(w: &mut World) -> OutPoint {
        let outpoint = OutPoint { txid: Txid([0xbb; 32]), vout: 0 };
        let output = TxOut { recipient: pkh(1), amount: Amount::from_units(2_000_000_000) };
        w.chain.insert(outpoint, Coin { output, height: 1, is_coinbase: false });
        outpoint
    }

    /// Alice pays `outputs` one-unit outputs from `input` worth `value`, the rest as fee
    /// (plenty per byte).
    fn wide(input: OutPoint, value: u64, outputs: usize) -> Transaction {
        let mut outs = vec![(pkh(2), 1); outputs];
        outs[0].1 = value / 2;
        spend(1, &[input], &outs)
    }

    /// Each size limit refuses with its own error and leaves the pool as it was; a transaction
    /// just within both is accepted. Without the limits all of them would be accepted: they pay
    /// their fees.
    #[test]
    fn size_limits() {
        let mut w = World::new(1, usize::MAX);
        let coin = rich(&mut w);
        let value = 2_000_000_000;
        let max_in_block = max_tx_bytes_in_block(params());
        assert_eq!(max_in_block, 1_000_000 - 128 - 4 - (4 + 9 + 4 + 4 + 40));

        // 24,993 outputs: 999,866 bytes, within the consensus limit of 1,000,000 but with no
        // room left in a block for its header, count and coinbase.
        let unminable = wide(coin, value, 24_993);
        assert_eq!(unminable.size(), 999_866);
        check_tx_shape(&unminable, params()).unwrap();
        assert_eq!(
            w.accept(&unminable),
            Err(MempoolError::TooLargeForBlock { size: 999_866, max: max_in_block })
        );
        assert_eq!(MempoolError::TooLargeForBlock { size: 1, max: 0 }.code(), "too_large_for_block");

        let large = wide(coin, value, 2_500);
        assert_eq!(large.size(), 100_146);
        assert_eq!(
            w.accept(&large),
            Err(MempoolError::NonStandardSize { size: 100_146, max: MAX_STANDARD_TX_BYTES })
        );
        assert!(w.pool.is_empty(), "nothing changed");
        assert!(!MempoolError::NonStandardSize { size: 1, max: 0 }.is_bad_transaction());

        let largest = wide(coin, value, 2_496);
        assert_eq!(largest.size(), 99_986);
        w.accept(&largest).unwrap();
        w.check_consistent();
    }

    /// Churn costs fees: an eviction raises the minimum fee rate to the evicted rate plus the
    /// incremental rate, which then halves every 12 hours (faster while the pool is small).
    #[test]
    fn evictions_raise_the_minimum_fee_rate_which_decays() {
        const HOUR: u64 = 3_600;
        let a = at_rate(1, coin(0), VALUE, 2);
        let b = at_rate(1, coin(1), VALUE, 3);
        let c = at_rate(1, coin(2), VALUE, 4);
        // Room for three of these and no more.
        let mut probe = World::new(8, usize::MAX);
        for tx in [&a, &b, &c] {
            probe.accept(tx).unwrap();
        }
        let mut w = World::new(8, probe.pool.memory());
        for tx in [&a, &b, &c] {
            w.accept(tx).unwrap();
        }
        assert_eq!(w.pool.min_fee_rate(NOW), 1);

        let d = at_rate(1, coin(3), VALUE, 5);
        assert_eq!(w.accept(&d).unwrap().evicted, vec![a.txid()]);
        assert_eq!(w.pool.min_fee_rate(NOW), 2 + INCREMENTAL_RELAY_FEE_RATE);

        // A block takes c: there is room again, but not at the evicted rate.
        w.pool.remove_with_descendants(&c.txid());
        let again = at_rate(1, coin(4), VALUE, 2);
        let before = (w.pool.len(), w.pool.bytes(), w.pool.by_rate.clone());
        assert_eq!(w.accept_at(&again, NOW + HOUR), Err(MempoolError::FeeTooLow { rate: 2, min: 3 }));
        assert_eq!((w.pool.len(), w.pool.bytes(), w.pool.by_rate.clone()), before, "pool unchanged");

        // Two thirds full: a half-life of 12 hours. 3 → 1.5 (needs 2) → 0.75 (the floor, 1).
        assert_eq!(w.pool.min_fee_rate(NOW + 12 * HOUR), 2);
        assert_eq!(w.pool.min_fee_rate(NOW + 24 * HOUR), 1);
        let cheap = at_rate(1, coin(5), VALUE, 1);
        assert_eq!(w.accept_at(&cheap, NOW + 12 * HOUR), Err(MempoolError::FeeTooLow { rate: 1, min: 2 }));
        w.accept_at(&again, NOW + 12 * HOUR).unwrap();

        // Empty, the pool halves it every 3 hours: 1.5 → 0.75 → gone below 0.5.
        for txid in [b.txid(), d.txid(), again.txid()] {
            w.pool.remove_with_descendants(&txid);
        }
        assert!(w.pool.is_empty());
        assert_eq!(w.pool.min_fee_rate(NOW + 15 * HOUR), 1);
        assert!(w.pool.rolling_min_at(NOW + 15 * HOUR) > 0.5);
        assert_eq!(w.pool.rolling_min_at(NOW + 18 * HOUR), 0.0);
        w.check_consistent();
    }

    #[test]
    fn a_transaction_larger_than_the_pool_is_full() {
        let mut w = World::new(1, 100);
        let tx = at_rate(1, coin(0), VALUE, 3);
        assert_eq!(w.accept(&tx), Err(MempoolError::Full { rate: 3, min: 3 }));
        assert!(w.pool.is_empty());
        w.check_consistent();
    }

    #[test]
    fn new_blocks_remove_confirmed_and_conflicting_transactions() {
        let mut w = World::new(4, 1_000_000);
        let a = spend(1, &[coin(0)], &[(pkh(1), 99_000)]);
        let a2 = spend(1, &[out(&a, 0)], &[(pkh(1), 98_000)]);
        let x = spend(1, &[coin(1)], &[(pkh(2), 99_000)]);
        let y = spend(1, &[coin(2)], &[(pkh(1), 99_000)]);
        let y2 = spend(1, &[out(&y, 0)], &[(pkh(2), 98_000)]);
        for tx in [&a, &a2, &x, &y, &y2] {
            w.accept(tx).unwrap();
        }
        //   chain ── [block: a, z]      z spends coin 2 like y does
        //   pool: a ─▶ a2   x   y ─▶ y2
        let z = spend(1, &[coin(2)], &[(pkh(3), 99_500)]);
        let blk = block(vec![a.clone(), z]);
        w.connect(&blk);
        let update = w.pool.update_for_new_tip(&[blk], &[], &w.chain, HEIGHT + 1, NOW);
        assert_eq!(update.removed[0], a.txid());
        let mut removed = update.removed.clone();
        removed.sort();
        let mut want = vec![a.txid(), y.txid(), y2.txid()];
        want.sort();
        assert_eq!(removed, want);
        assert!(update.added.is_empty());
        // a2 now spends a confirmed coin and has no pool parent.
        assert!(w.pool.contains(&a2.txid()) && w.pool.contains(&x.txid()));
        assert!(w.pool.nodes[&a2.txid()].parents.is_empty());
        w.check_consistent();
        // Its output can still be spent in the pool.
        let a3 = spend(1, &[out(&a2, 0)], &[(pkh(1), 97_000)]);
        w.accept(&a3).unwrap();
        w.check_consistent();
    }

    #[test]
    fn reorg_rebuilds_the_pool() {
        let mut w = World::new(3, 1_000_000);
        // Old chain: block 1 with t1 (coin 0) and t2 (coin 1), and its coinbase `cb`.
        let t1 = spend(1, &[coin(0)], &[(pkh(1), 99_000)]);
        let t2 = spend(1, &[coin(1)], &[(pkh(1), 99_000)]);
        let old = block(vec![t1.clone(), t2.clone()]);
        let before_old = w.chain.clone();
        w.connect(&old);
        // Pool on the old chain: p spends t1's output, q spends coin 2, r the old coinbase (key 9).
        let p = spend(1, &[out(&t1, 0)], &[(pkh(1), 98_000)]);
        let q = spend(1, &[coin(2)], &[(pkh(1), 99_000)]);
        let r = spend(9, &[out(&old.transactions[0], 0)], &[(pkh(9), 99_000_000)]);
        for tx in [&p, &q, &r] {
            w.accept_at(tx, 500).unwrap();
        }
        //   genesis ── old [t1, t2]            (disconnected)
        //          └── new [t2, s]  s spends coin 2 like q
        let s = spend(1, &[coin(2)], &[(pkh(3), 99_500)]);
        let mut new = block(vec![t2.clone(), s]);
        new.transactions[0].coinbase_height = Some(HEIGHT + 1); // another coinbase
        w.chain = before_old;
        w.connect(&new);

        let update = w.pool.update_for_new_tip(&[new], &[old], &w.chain, HEIGHT + 1, NOW);
        assert_eq!(update, TipUpdate { removed: vec![q.txid(), r.txid()], added: vec![t1.txid()] });
        assert_eq!(w.pool.len(), 2);
        assert_eq!(w.pool.get(&t1.txid()).map(|e| e.time), Some(NOW));
        assert_eq!(w.pool.get(&p.txid()).map(|e| e.time), Some(500), "keeps its arrival time");
        assert_eq!(w.pool.nodes[&p.txid()].parents, HashSet::from([t1.txid()]));
        let order: Vec<Txid> = w.pool.select_for_block(1_000_000).iter().map(|(t, _)| t.txid()).collect();
        assert_eq!(order, vec![t1.txid(), p.txid()]);
        w.check_consistent();
    }

    #[test]
    fn block_selection_orders_by_fee_rate_parents_first() {
        let mut w = World::new(3, 1_000_000);
        let parent = at_rate(1, coin(0), VALUE, 2);
        let child = at_rate(1, out(&parent, 0), parent.outputs[0].amount.units(), 50);
        let mid = at_rate(1, coin(1), VALUE, 10);
        let low = at_rate(1, coin(2), VALUE, 1);
        for tx in [&parent, &child, &mid, &low] {
            w.accept(tx).unwrap();
        }
        let size = parent.size();
        let cases: [(&str, usize, Vec<&Transaction>); 5] = [
            ("everything", 1_000_000, vec![&mid, &parent, &child, &low]),
            ("three fit", 3 * size, vec![&mid, &parent, &child]),
            ("two fit", 2 * size, vec![&mid, &parent]),
            ("one fits", 2 * size - 1, vec![&mid]),
            ("none fits", size - 1, vec![]),
        ];
        for (name, max, want) in cases {
            let got = w.pool.select_for_block(max);
            let got_ids: Vec<Txid> = got.iter().map(|(t, _)| t.txid()).collect();
            let want_ids: Vec<Txid> = want.iter().map(|t| t.txid()).collect();
            assert_eq!(got_ids, want_ids, "{name}");
            for (tx, fee) in &got {
                assert_eq!(Some(*fee), w.pool.get(&tx.txid()).map(|e| e.fee), "{name}");
            }
        }
    }

    #[test]
    fn block_selection_skips_what_does_not_fit() {
        let mut w = World::new(2, 1_000_000);
        // A big transaction paying the most, then a small one.
        let outputs: Vec<(PubkeyHash, u64)> = (0..20).map(|_| (pkh(2), 1_000)).collect();
        let big = spend(1, &[coin(0)], &outputs);
        let small = at_rate(1, coin(1), VALUE, 3);
        w.accept(&big).unwrap();
        w.accept(&small).unwrap();
        assert!(w.pool.get(&big.txid()).unwrap().fee_rate() > 3);
        let got: Vec<Txid> = w.pool.select_for_block(big.size() - 1).iter().map(|(t, _)| t.txid()).collect();
        assert_eq!(got, vec![small.txid()]);
    }

    #[test]
    fn address_activity_of_pending_transactions() {
        let mut w = World::new(1, 1_000_000);
        // Alice pays Bob 10,000 with change; Bob then pays Carol 4,000 out of it with change.
        let a = spend(1, &[coin(0)], &[(pkh(2), 10_000), (pkh(1), 89_000)]);
        let b = spend(2, &[out(&a, 0)], &[(pkh(3), 4_000), (pkh(2), 5_000)]);
        w.accept_at(&a, 100).unwrap();
        w.accept_at(&b, 200).unwrap();
        let units = Amount::from_units;
        let cases = [
            (
                "alice",
                pkh(1),
                AddressActivity {
                    unspent: vec![(out(&a, 1), units(89_000))],
                    history: vec![(a.txid(), units(89_000), units(VALUE), 100)],
                },
            ),
            (
                "bob",
                pkh(2),
                AddressActivity {
                    unspent: vec![(out(&b, 1), units(5_000))],
                    history: vec![
                        (b.txid(), units(5_000), units(10_000), 200),
                        (a.txid(), units(10_000), Amount::ZERO, 100),
                    ],
                },
            ),
            (
                "carol",
                pkh(3),
                AddressActivity {
                    unspent: vec![(out(&b, 0), units(4_000))],
                    history: vec![(b.txid(), units(4_000), Amount::ZERO, 200)],
                },
            ),
            ("nobody", pkh(4), AddressActivity::default()),
        ];
        for (name, who, want) in cases {
            assert_eq!(w.pool.address_activity(&who, &w.chain), want, "{name}");
        }
        w.pool.remove_with_descendants(&a.txid());
        assert_eq!(w.pool.address_activity(&pkh(2), &w.chain), AddressActivity::default());
        assert!(w.pool.by_address.is_empty());
    }

    /// 50,000 entries, a tight size limit, a block and a reorganization: every step uses the
    /// indexes, so this runs in seconds even unoptimized.
    #[test]
    fn fifty_thousand_entries() {
        const N: u32 = 50_000;
        let k = key(1);
        let pubkey = k.public_key();
        let signature = k.sign_digest(&[0; 32]); // the pool does not check signatures
        let bob = pkh(2);
        let mut w = World::new(N, 0);
        let tx = |i: u32| Transaction {
            version: TX_VERSION,
            coinbase_height: None,
            inputs: vec![TxIn { prevout: coin(i), pubkey, signature }],
            outputs: vec![TxOut {
                recipient: bob,
                amount: Amount::from_units(VALUE - 186 * (1 + u64::from(i % 97))),
            }],
        };
        let size = tx(0).size();
        // Room for 40,000 of them: the memory the first 40,000 take.
        let mut full = Mempool::new(params(), usize::MAX);
        for i in 0..40_000 {
            full.accept(tx(i), &w.chain, HEIGHT, NOW).unwrap();
        }
        w.pool = Mempool::new(params(), full.memory());
        drop(full);
        let mut evicted = 0;
        for i in 0..N {
            match w.accept(&tx(i)) {
                Ok(a) => evicted += a.evicted.len(),
                // After an eviction the minimum fee rate is above the evicted one.
                Err(MempoolError::Full { .. } | MempoolError::FeeTooLow { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(w.pool.len(), 40_000);
        assert!(evicted > 0);
        let selected = w.pool.select_for_block(params().max_block_bytes);
        assert_eq!(selected.len(), params().max_block_bytes / size);
        let blk = block(selected.into_iter().map(|(t, _)| t).collect());
        w.connect(&blk);
        let update = w.pool.update_for_new_tip(std::slice::from_ref(&blk), &[], &w.chain, HEIGHT, NOW);
        assert_eq!(update.removed.len(), blk.transactions.len() - 1);
        let len = w.pool.len();
        let update = w.pool.update_for_new_tip(&[], std::slice::from_ref(&blk), &w.chain, HEIGHT, NOW);
        // The chain view was not rolled back, so the block's transactions stay confirmed.
        assert_eq!((update.removed.len(), update.added.len(), w.pool.len()), (0, 0, len));
        w.check_consistent();
    }

    /// Random sequences of payments (spending chain coins or pool outputs, some conflicting),
    /// blocks (confirming what the pool selects, sometimes with a conflicting spend) and
    /// reorganizations, in a pool that is small enough to evict or large enough not to: every
    /// index stays consistent, nothing in the pool is confirmed or spends a coin that is gone,
    /// the pool stays within its memory, and without evictions a disconnected block's
    /// transactions all come back.
    mod model {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Pay { from_pool: bool, pick: usize, rate: u64, split: bool },
            Mine { take: usize, conflict: bool },
            Reorg,
        }

        fn ops() -> impl Strategy<Value = Op> {
            prop_oneof![
                6 => (any::<bool>(), 0usize..64, 1u64..40, any::<bool>())
                    .prop_map(|(from_pool, pick, rate, split)| Op::Pay { from_pool, pick, rate, split }),
                2 => (0usize..8, any::<bool>()).prop_map(|(take, conflict)| Op::Mine { take, conflict }),
                1 => Just(Op::Reorg),
            ]
        }

        /// A block's coinbase differs by its salt, so every block has its own txids.
        fn block_with(txs: Vec<Transaction>, salt: u64) -> Block {
            let coinbase =
                Transaction::coinbase(salt, vec![TxOut { recipient: pkh(9), amount: Amount::ONE_COIN }]);
            let mut transactions = vec![coinbase];
            transactions.extend(txs);
            Block { header: Network::Dev.genesis_block().header, transactions }
        }

        fn value(w: &World, o: &OutPoint) -> Option<u64> {
            w.pool.pool_output(o).or_else(|| w.chain.get(o).map(|c| c.output)).map(|out| out.amount.units())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

            #[test]
            fn invariants_hold_through_payments_blocks_and_reorgs(
                ops in proptest::collection::vec(ops(), 1..60),
                small in any::<bool>(),
            ) {
                let max_memory = if small { 6_000 } else { 10_000_000 };
                let mut w = World::new(24, max_memory);
                // Connected blocks, with the coins each spent (to undo it).
                let mut blocks: Vec<(Block, Vec<(OutPoint, Coin)>)> = vec![];
                let mut salt = 100;
                for op in ops {
                    match op {
                        Op::Pay { from_pool, pick, rate, split } => {
                            let pool_outputs: Vec<OutPoint> = w
                                .pool
                                .entries()
                                .flat_map(|e| (0..e.tx.outputs.len() as u32).map(move |v| OutPoint { txid: e.txid, vout: v }))
                                .filter(|o| w.pool.spender_of(o).is_none() && value(&w, o).is_some_and(|v| v > 1_000))
                                .collect();
                            let mut chain_coins: Vec<OutPoint> = w
                                .chain
                                .iter()
                                .filter(|(_, c)| c.output.recipient == pkh(1))
                                .map(|(o, _)| *o)
                                .collect();
                            chain_coins.sort_by_key(|o| (o.txid.0, o.vout));
                            // Some picks are already spent by the pool: those are conflicts.
                            let input = match (from_pool && !pool_outputs.is_empty(), chain_coins.is_empty()) {
                                (true, _) => pool_outputs[pick % pool_outputs.len()],
                                (false, false) => chain_coins[pick % chain_coins.len()],
                                (false, true) => continue,
                            };
                            let Some(v) = value(&w, &input) else { continue };
                            let size = spend(1, &[input], &[(pkh(1), 1), (pkh(1), 1)]).size() as u64;
                            let Some(rest) = v.checked_sub(rate * size) else { continue };
                            let outputs = if split && rest > 2 {
                                vec![(pkh(1), rest / 2), (pkh(1), rest - rest / 2)]
                            } else {
                                vec![(pkh(1), rest)]
                            };
                            if outputs.iter().any(|(_, units)| *units == 0) {
                                continue;
                            }
                            let _ = w.accept(&spend(1, &[input], &outputs));
                        }
                        Op::Mine { take, conflict } => {
                            let mut txs: Vec<Transaction> =
                                w.pool.select_for_block(1_000_000).into_iter().take(take).map(|(t, _)| t).collect();
                            if conflict {
                                // A spend of a chain coin the pool spends too, that the pool never saw.
                                let contested = w.pool.entries().flat_map(|e| e.tx.inputs.iter().map(|i| i.prevout))
                                    .find(|o| w.chain.contains_key(o) && !txs.iter().any(|t| t.inputs.iter().any(|i| i.prevout == *o)));
                                if let Some(o) = contested {
                                    txs.push(spend(1, &[o], &[(pkh(2), 1_000)]));
                                }
                            }
                            salt += 1;
                            let block = block_with(txs, salt);
                            let undo: Vec<(OutPoint, Coin)> = block
                                .transactions
                                .iter()
                                .flat_map(|t| &t.inputs)
                                .filter_map(|i| w.chain.get(&i.prevout).map(|c| (i.prevout, *c)))
                                .collect();
                            w.connect(&block);
                            w.pool.update_for_new_tip(std::slice::from_ref(&block), &[], &w.chain, HEIGHT, NOW);
                            blocks.push((block, undo));
                        }
                        Op::Reorg => {
                            let Some((block, undo)) = blocks.pop() else { continue };
                            for tx in &block.transactions {
                                for vout in 0..tx.outputs.len() as u32 {
                                    w.chain.remove(&out(tx, vout));
                                }
                            }
                            for (o, c) in undo {
                                w.chain.insert(o, c);
                            }
                            w.pool.update_for_new_tip(&[], std::slice::from_ref(&block), &w.chain, HEIGHT, NOW);
                            if !small {
                                for tx in block.transactions.iter().skip(1) {
                                    prop_assert!(w.pool.contains(&tx.txid()), "a disconnected transaction is back");
                                }
                            }
                        }
                    }
                    w.check_consistent();
                    prop_assert!(w.pool.memory() <= max_memory);
                    for e in w.pool.entries() {
                        prop_assert!(!w.chain.contains_key(&out(&e.tx, 0)), "a confirmed transaction stays pending");
                        for i in &e.tx.inputs {
                            prop_assert!(
                                w.chain.contains_key(&i.prevout) || w.pool.contains(&i.prevout.txid),
                                "a pending transaction spends a coin that is gone"
                            );
                        }
                    }
                }
            }
        }
    }
}
