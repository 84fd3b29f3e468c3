//! The chain: every known block, the active chain with the most cumulative work, and the coin
//! set it implies. `Chain::process_block` is the one way a block gets in.
//!
//! ```text
//!   block ──▶ known? ──▶ parent known? ──▶ check_header ──▶ check_block_body
//!                                                               │
//!   refused, not stored ◀── less work than the tip ◀────────────┤ (a sync run counts the
//!   stored as a side chain ◀── as much work as the tip ◀────────┤  proven work of its rest)
//!                                                               ▼ more work than the tip
//!        one write transaction: disconnect to the fork (undo data), connect the new branch
//!        (coins, then signatures in parallel), move the tip  ──▶ commit, or abort on any failure
//! ```

mod store;

pub use store::{
    CoinSetSummary, CoinSnapshot, IndexRecord, Store, StoreError, TxLocation, Undo, DEFAULT_CACHE_BYTES,
};

use ferro_shared::block::BlockHeader;
use ferro_shared::consensus::{
    self, check_block_body, check_header, connect_block_coins, verify_tx_signatures, BlockError, BlockUndo,
    Coin, CoinView, HeaderContext, HeaderError, HeaderTail,
};
use ferro_shared::encode::{from_bytes, to_bytes};
use ferro_shared::hash::{BlockHash, PubkeyHash, Txid};
use ferro_shared::pow::{CompactTarget, Target, Work};
use ferro_shared::tx::{OutPoint, TxOut};
use ferro_shared::{Block, Network, Params};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use store::{
    address_utxo_key, history_key, outpoint_key, ACTIVE, ADDR_HISTORY, ADDR_UTXO, BLOCKS, INDEX, META,
    TX_INDEX, UNDO, UTXO,
};

/// Why a block was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("block {hash} builds on unknown block {parent}")]
    UnknownParent { hash: BlockHash, parent: BlockHash },
    #[error("block {0} is known to be invalid, or builds on an invalid block")]
    KnownInvalid(BlockHash),
    /// The block does not extend the tip and its branch has less work than the active chain:
    /// valid or not, it is not worth storing (see [`MAX_SIDE_BYTES`]).
    #[error("block {hash} is on a branch with less work than the active chain: not stored")]
    LowWork { hash: BlockHash },
    #[error("block {hash} is invalid: {error}")]
    Invalid { hash: BlockHash, error: BlockError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ChainError {
    /// The storage failure behind this error, if it is one: then nothing was judged, and the
    /// node must stop rather than go on without its data.
    pub fn storage_failure(&self) -> Option<&StoreError> {
        match self {
            ChainError::Store(e) => Some(e),
            ChainError::UnknownParent { .. }
            | ChainError::KnownInvalid(_)
            | ChainError::LowWork { .. }
            | ChainError::Invalid { .. } => None,
        }
    }

    /// Whether the peer that sent the block is at fault (as opposed to a race or our storage).
    pub fn is_peer_fault(&self) -> bool {
        match self {
            ChainError::Invalid { error, .. } => !matches!(error, BlockError::TimeTooNew { .. }),
            ChainError::KnownInvalid(_) => true,
            // An honest peer may relay a competing tip that lost the race by the time it arrives.
            ChainError::UnknownParent { .. } | ChainError::LowWork { .. } | ChainError::Store(_) => false,
        }
    }
}

/// The active chain's tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    pub hash: BlockHash,
    pub height: u64,
    pub time: u64,
    pub bits: CompactTarget,
    pub work: Work,
}

/// What happened to an accepted block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockOutcome {
    /// Already stored; nothing changed.
    AlreadyKnown,
    /// Valid as far as can be told without connecting it, and stored, but its chain has no more
    /// work than the active one.
    SideChain { hash: BlockHash, height: u64 },
    /// The active chain changed: `disconnected` blocks (tip first) left it, `connected` blocks
    /// (oldest first) joined it.
    NewTip { tip: Tip, connected: Vec<Block>, disconnected: Vec<Block> },
}

/// What `Chain::extend_with` did with a run of blocks.
#[derive(Debug)]
pub struct BatchOutcome {
    /// How many blocks of the run, from the first, joined the active chain.
    pub connected: usize,
    /// Why the block after those was refused, if one was.
    pub failure: Option<ChainError>,
}

/// The signatures of one block of a sync batch, verified ahead of its coin checks against the
/// coins the verifier found for its inputs (`None`: not found, that transaction not verified).
/// Valid only if `spent` equals the coins connecting the block spends (its undo data).
struct AheadCheck {
    result: Result<(), BlockError>,
    spent: Vec<Option<TxOut>>,
}

impl AheadCheck {
    /// Whether the verification used exactly the coins `undo` says the block spends.
    fn matches(&self, undo: &BlockUndo) -> bool {
        self.spent.len() == undo.spent.len()
            && self.spent.iter().zip(&undo.spent).all(|(a, (_, coin))| *a == Some(coin.output))
    }
}

/// Verifies every signature of a block, spread over the rayon pool, against the coins `find`
/// resolves for its inputs (looked up on the same threads). A transaction with an input `find`
/// does not know is skipped; the result's `spent` then does not match the block's undo data,
/// and the caller verifies again. The error is that of the first failing transaction.
fn verify_block_signatures(
    block: &Block,
    genesis: &BlockHash,
    verified: &(dyn Fn(&Txid) -> bool + Sync),
    find: impl Fn(&OutPoint) -> Option<TxOut> + Sync,
) -> AheadCheck {
    let txs = block.transactions.get(1..).unwrap_or_default();
    // One check per transaction, then merged into the block's.
    let checked: Vec<AheadCheck> = txs
        .par_iter()
        .enumerate()
        .map(|(i, tx)| {
            let spent: Vec<Option<TxOut>> = tx.inputs.iter().map(|input| find(&input.prevout)).collect();
            let coins: Option<Vec<TxOut>> = spent.iter().copied().collect();
            let txid = tx.txid();
            let result = match coins {
                Some(coins) if !verified(&txid) => verify_tx_signatures(tx, genesis, &coins)
                    .map_err(|error| BlockError::InvalidTransaction { index: i + 1, txid, error }),
                _ => Ok(()),
            };
            AheadCheck { result, spent }
        })
        .collect();
    let result = checked.iter().find_map(|c| c.result.clone().err()).map_or(Ok(()), Err);
    AheadCheck { result, spent: checked.into_iter().flat_map(|c| c.spent).collect() }
}

/// What the rules require of the next block on the tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextBlock {
    pub height: u64,
    pub prev: BlockHash,
    pub bits: CompactTarget,
    /// The block's time must be greater than this.
    pub median_time_past: u64,
    /// The earliest time the block may have: after the median time past and, at the start of
    /// a difficulty epoch, not too far before its parent (`earliest_block_time`).
    pub min_time: u64,
}

/// A run of headers checked against the chain ([`Chain::check_headers`]).
#[derive(Debug, Clone)]
pub struct CheckedHeaders {
    /// The stored block the new headers build on.
    pub fork: BlockHash,
    /// The headers the chain did not have, with their hashes, oldest first.
    pub new: Vec<(BlockHash, BlockHeader)>,
    /// The end of the run, with the run's total work.
    pub tail: HeaderTail,
}

/// Where a run of headers leaves the chain ([`Chain::headers_start`]).
#[derive(Debug, Clone)]
pub struct HeadersStart {
    /// How many of the run's headers the chain has.
    known: usize,
    fork: BlockHash,
    tail: HeaderTail,
}

impl HeadersStart {
    /// Checks the run's new headers on top of where it left the chain (no chain state needed).
    pub fn check(mut self, headers: &[BlockHeader], now: u64) -> Result<CheckedHeaders, HeadersRefused> {
        let new = &headers[self.known.min(headers.len())..];
        let hashes = self.tail.extend(new, now)?;
        Ok(CheckedHeaders {
            fork: self.fork,
            new: hashes.into_iter().zip(new.iter().copied()).collect(),
            tail: self.tail,
        })
    }
}

/// Why a run of headers was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadersRefused {
    #[error("no headers")]
    Empty,
    /// The first new header builds on a block this node does not have.
    #[error("the headers build on unknown block {parent}")]
    Unconnected { parent: BlockHash },
    #[error("the headers build on known-invalid block {0}")]
    KnownInvalid(BlockHash),
    #[error(transparent)]
    Invalid(#[from] HeaderError),
}

/// The chain state. Not thread-safe by itself: the node keeps it behind a lock.
pub struct Chain {
    store: Store,
    network: Network,
    params: &'static Params,
    genesis: BlockHash,
    index: HashMap<BlockHash, IndexRecord>,
    active: Vec<BlockHash>,
    /// Blocks found invalid for good, with their descendants: kept in the store's invalid
    /// table, so a restart remembers them. Only blocks that carried the proof of work the chain
    /// required get here, which bounds what a peer can make a node write.
    invalid: HashSet<BlockHash>,
    /// Stored blocks off the active chain (side branches, blocks reorganized out); rebuilt
    /// from the store at open.
    side: HashMap<BlockHash, SideBlock>,
    /// Sum of `side`'s sizes.
    side_bytes: u64,
    /// Most bytes of side blocks kept: [`MAX_SIDE_BYTES`] (smaller in tests).
    side_limit: u64,
    /// Blocks refused for a failure anyone can produce for free (a header without the required
    /// proof of work, or a child of an invalid block): remembered in memory, up to `MAX_INVALID`.
    rejected: HashSet<BlockHash>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain").field("network", &self.network).field("tip", &self.tip()).finish()
    }
}

/// Most bytes of blocks off the active chain a node stores. Past it, the side blocks with the
/// least work go first (leaves before their parents), never a block of the active chain.
/// A side block is only stored when its branch has at least the tip's work, so what fills this
/// costs its sender the tip's difficulty per block; the cap bounds even that: 32 MiB is 33 full
/// blocks (1 MB each), far more than the competing tips and reorganized-out blocks an honest
/// network makes, and ten sync batches (3 MiB each), so a batch never evicts its own blocks.
pub const MAX_SIDE_BYTES: u64 = 32 * 1024 * 1024;

/// For each block of a run (each the parent of the next), the work proven by the blocks after it
/// in the run: their headers' own proof of work against the target they claim, which nobody can
/// fake. A block whose branch is short of the tip's work by no more than this is stored, so a
/// deep reorganization arriving as a sync batch still goes through block by block. A link that
/// is broken or a header that misses its own target ends the credit of the blocks before it.
pub fn run_credits(blocks: &[Block]) -> Vec<Work> {
    let mut credits = vec![Work::ZERO; blocks.len()];
    for i in (0..blocks.len().saturating_sub(1)).rev() {
        let next = &blocks[i + 1];
        let proven = Target::from_compact(next.header.bits)
            .ok()
            .filter(|t| next.header.prev == blocks[i].hash() && t.is_met_by(&next.hash()));
        credits[i] = match proven {
            Some(target) => credits[i + 1].saturating_add(&target.work()),
            None => Work::ZERO,
        };
    }
    credits
}

/// A stored block off the active chain.
#[derive(Debug, Clone, Copy)]
struct SideBlock {
    /// Encoded size.
    size: u64,
    /// The work its branch had or was shown to reach when it was stored: its own, or with the
    /// credit of the sync batch that brought it. Eviction takes the leaf with the least.
    worth: Work,
}

/// Blocks remembered in memory as rejected are forgotten past this many.
const MAX_INVALID: usize = 10_000;

/// What a validation failure means for the block whose hash it names. One arm per error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Nothing is remembered: the same hash may be valid later (its time is ahead of our clock)
    /// or the failure lies in this copy of the body, not in the block the header commits to.
    Retry,
    /// Remembered in memory only: the header lacks the proof of work the chain requires, so
    /// anyone can make such blocks for free.
    Remember,
    /// Invalid for good, with every descendant, across restarts.
    Condemn,
}

fn verdict(error: &BlockError) -> Verdict {
    match error {
        BlockError::TimeTooNew { .. }
        | BlockError::BadMerkleRoot
        | BlockError::TooLarge { .. }
        | BlockError::NoTransactions => Verdict::Retry,
        BlockError::UnsupportedVersion(_)
        | BlockError::BadHeight { .. }
        | BlockError::BadDifficulty { .. }
        | BlockError::InvalidTarget(_)
        | BlockError::InsufficientProofOfWork(_) => Verdict::Remember,
        BlockError::TimeTooOld { .. }
        | BlockError::TimeWarp { .. }
        | BlockError::FirstNotCoinbase
        | BlockError::ExtraCoinbase { .. }
        | BlockError::BadCoinbaseHeight { .. }
        | BlockError::DuplicateTransaction(_)
        | BlockError::BadFilterHash { .. }
        | BlockError::InvalidTransaction { .. }
        | BlockError::CoinbaseTooLarge { .. } => Verdict::Condemn,
    }
}

impl Chain {
    /// Loads the chain from its store.
    pub fn open(store: Store, network: Network) -> Result<Chain, StoreError> {
        let index: HashMap<_, _> = store.load_index()?.into_iter().collect();
        let active = store.load_active()?;
        let tip = store.tip()?;
        if active.last() != Some(&tip) || active.first() != Some(&network.genesis_hash()) {
            return Err(StoreError::Corrupt("active chain does not match the stored tip".into()));
        }
        if let Some(missing) = active.iter().find(|h| !index.contains_key(h)) {
            return Err(StoreError::Corrupt(format!("active block {missing} is not indexed")));
        }
        let invalid = store.load_invalid()?.into_iter().collect();
        let mut chain = Chain {
            store,
            network,
            params: network.params(),
            genesis: network.genesis_hash(),
            index,
            active,
            invalid,
            side: HashMap::new(),
            side_bytes: 0,
            side_limit: MAX_SIDE_BYTES,
            rejected: HashSet::new(),
        };
        let side: Vec<BlockHash> = chain.index.keys().filter(|h| !chain.is_active(h)).copied().collect();
        for hash in side {
            let size = chain
                .store
                .block_bytes(&hash)?
                .ok_or_else(|| StoreError::Corrupt(format!("indexed block {hash} is not stored")))?
                .len() as u64;
            let worth = chain.index[&hash].work;
            chain.add_side(hash, SideBlock { size, worth });
        }
        Ok(chain)
    }

    /// Bytes of stored blocks off the active chain; at most [`MAX_SIDE_BYTES`].
    pub fn side_bytes(&self) -> u64 {
        self.side_bytes
    }

    /// Whether a block is worth telling peers about: on the active chain, or ending a branch
    /// with at least the tip's work.
    pub fn is_worth_relaying(&self, hash: &BlockHash) -> bool {
        self.is_active(hash) || self.index.get(hash).is_some_and(|r| r.work >= self.tip().work)
    }

    fn add_side(&mut self, hash: BlockHash, block: SideBlock) {
        if let Some(old) = self.side.insert(hash, block) {
            self.side_bytes -= old.size;
        }
        self.side_bytes += block.size;
    }

    fn remove_side(&mut self, hash: &BlockHash) {
        if let Some(old) = self.side.remove(hash) {
            self.side_bytes -= old.size;
        }
    }

    /// [`Chain::prune_side`] after a change that is committed: a failure to evict is logged and
    /// tried again at the next side block, and does not undo what was accepted.
    fn enforce_side_limit(&mut self) {
        if let Err(e) = self.prune_side() {
            tracing::error!(error = %e, side_bytes = self.side_bytes, "could not evict side blocks");
        }
    }

    /// Evicts side blocks until they take no more than the limit: always a leaf (a block no
    /// stored side block builds on), the one with the least worth first, so the blocks a sync
    /// batch is bringing in (worth the tip's work) outlast older branches.
    fn prune_side(&mut self) -> Result<(), StoreError> {
        if self.side_bytes <= self.side_limit {
            return Ok(());
        }
        let mut children: HashMap<BlockHash, usize> = HashMap::new();
        for hash in self.side.keys() {
            let parent = self.index[hash].header.prev;
            if self.side.contains_key(&parent) {
                *children.entry(parent).or_default() += 1;
            }
        }
        let mut leaves: std::collections::BinaryHeap<std::cmp::Reverse<(Work, BlockHash)>> = self
            .side
            .iter()
            .filter(|(h, _)| !children.contains_key(h))
            .map(|(h, b)| std::cmp::Reverse((b.worth, *h)))
            .collect();
        let mut evicted = Vec::new();
        let mut bytes = self.side_bytes;
        while bytes > self.side_limit {
            let Some(std::cmp::Reverse((_, hash))) = leaves.pop() else { break };
            bytes -= self.side[&hash].size;
            evicted.push(hash);
            let parent = self.index[&hash].header.prev;
            if let Some(n) = children.get_mut(&parent) {
                *n -= 1;
                if *n == 0 {
                    leaves.push(std::cmp::Reverse((self.side[&parent].worth, parent)));
                }
            }
        }
        let txn = self.store.begin_write()?;
        {
            let mut blocks = txn.open_table(BLOCKS)?;
            let mut index = txn.open_table(INDEX)?;
            for h in &evicted {
                blocks.remove(h.as_bytes().as_slice())?;
                index.remove(h.as_bytes().as_slice())?;
            }
        }
        txn.commit()?;
        for h in &evicted {
            self.index.remove(h);
            self.remove_side(h);
        }
        tracing::debug!(evicted = evicted.len(), side_bytes = self.side_bytes, "side blocks evicted");
        Ok(())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn network(&self) -> Network {
        self.network
    }

    pub fn tip(&self) -> Tip {
        let hash = *self.active.last().expect("the active chain holds at least genesis");
        let r = &self.index[&hash];
        Tip { hash, height: r.header.height, time: r.header.time, bits: r.header.bits, work: r.work }
    }

    pub fn height(&self) -> u64 {
        self.active.len() as u64 - 1
    }

    pub fn contains(&self, hash: &BlockHash) -> bool {
        self.index.contains_key(hash)
    }

    /// Whether `hash` was found invalid (for good, or rejected for a failure without proof of
    /// work): a block naming it as its parent is refused at once.
    pub fn is_known_invalid(&self, hash: &BlockHash) -> bool {
        self.invalid.contains(hash) || self.rejected.contains(hash)
    }

    pub fn record(&self, hash: &BlockHash) -> Option<&IndexRecord> {
        self.index.get(hash)
    }

    pub fn hash_at(&self, height: u64) -> Option<BlockHash> {
        self.active.get(usize::try_from(height).ok()?).copied()
    }

    pub fn is_active(&self, hash: &BlockHash) -> bool {
        self.index.get(hash).is_some_and(|r| self.hash_at(r.header.height) == Some(*hash))
    }

    /// The ancestor of `hash` at `height` (which must not exceed the block's own height).
    fn ancestor(&self, hash: &BlockHash, height: u64) -> Option<BlockHash> {
        let mut cur = *hash;
        loop {
            let r = self.index.get(&cur)?;
            if r.header.height == height {
                return Some(cur);
            }
            if r.header.height < height {
                return None;
            }
            if self.is_active(&cur) {
                return self.hash_at(height);
            }
            cur = r.header.prev;
        }
    }

    /// Median time of `hash` and up to `median_time_span - 1` of its ancestors.
    fn median_time_past_of(&self, hash: &BlockHash) -> u64 {
        let mut times = Vec::with_capacity(self.params.median_time_span);
        let mut cur = Some(*hash);
        while let Some(h) = cur {
            if times.len() == self.params.median_time_span {
                break;
            }
            let Some(r) = self.index.get(&h) else { break };
            times.push(r.header.time);
            cur = (r.header.height > 0).then_some(r.header.prev);
        }
        consensus::median_time_past(&times)
    }

    /// The target the rules require of a child of `parent`.
    fn required_bits(&self, parent: &BlockHash) -> CompactTarget {
        let r = &self.index[parent];
        let next_height = r.header.height + 1;
        let anchor_time = consensus::retarget_anchor_height(self.params, next_height)
            .and_then(|h| self.ancestor(parent, h))
            .and_then(|h| self.index.get(&h))
            .map(|a| a.header.time);
        consensus::next_bits(self.params, next_height, r.header.bits, r.header.time, anchor_time)
    }

    /// What the next block on the current tip must look like.
    pub fn next_block(&self) -> NextBlock {
        let tip = self.tip();
        let median_time_past = self.median_time_past_of(&tip.hash);
        NextBlock {
            height: tip.height + 1,
            prev: tip.hash,
            bits: self.required_bits(&tip.hash),
            median_time_past,
            min_time: consensus::earliest_block_time(self.params, tip.height + 1, median_time_past, tip.time),
        }
    }

    /// Hashes of the active chain at exponentially spaced heights from the tip back to genesis:
    /// a peer finds the last block we share with it in one look-up, even after a fork.
    pub fn locator(&self) -> Vec<BlockHash> {
        let mut out = Vec::new();
        let mut height = self.height() as i64;
        let mut step = 1i64;
        while height > 0 {
            out.push(self.active[height as usize]);
            if out.len() >= 10 {
                step *= 2;
            }
            height -= step;
        }
        out.push(self.genesis);
        out
    }

    /// Active-chain hashes after the first locator entry we share, at most `limit` of them.
    pub fn hashes_after_locator(&self, locator: &[BlockHash], limit: usize) -> Vec<BlockHash> {
        let fork =
            locator.iter().find_map(|h| self.is_active(h).then(|| self.index[h].header.height)).unwrap_or(0);
        self.active.iter().skip(fork as usize + 1).take(limit).copied().collect()
    }

    /// Active-chain headers after the first locator entry we share, at most `limit` of them.
    pub fn headers_after_locator(&self, locator: &[BlockHash], limit: usize) -> Vec<BlockHeader> {
        self.hashes_after_locator(locator, limit).iter().map(|h| self.index[h].header).collect()
    }

    /// Active-chain headers from `height` up, at most `limit` of them.
    pub fn headers_from(&self, height: u64, limit: usize) -> Vec<BlockHeader> {
        let start = usize::try_from(height).unwrap_or(usize::MAX);
        self.active.iter().skip(start).take(limit).map(|h| self.index[h].header).collect()
    }

    /// The end of the chain at `hash` (a stored block) as a [`HeaderTail`], to check headers
    /// that build on it.
    pub fn header_tail(&self, hash: &BlockHash) -> Option<HeaderTail> {
        let record = self.index.get(hash)?;
        let keep = HeaderTail::kept(self.params);
        let mut recent = Vec::with_capacity(keep);
        let mut cur = *hash;
        while recent.len() < keep {
            let Some(r) = self.index.get(&cur) else { break };
            recent.push(r.header);
            if r.header.height == 0 {
                break;
            }
            cur = r.header.prev;
        }
        recent.reverse();
        HeaderTail::new(self.params, recent, record.work)
    }

    /// Where a peer's run of headers (each the parent of the next) leaves the chain: how many
    /// of them the chain has, and the tail the first new one must build on. The headers' own
    /// checks need no chain state ([`HeadersStart::check`]): call that without the lock held.
    pub fn headers_start(&self, headers: &[BlockHeader]) -> Result<HeadersStart, HeadersRefused> {
        let known = headers.iter().take_while(|h| self.index.contains_key(&h.hash())).count();
        let fork = match known {
            0 => headers.first().ok_or(HeadersRefused::Empty)?.prev,
            k => headers[k - 1].hash(),
        };
        if self.invalid.contains(&fork) || headers[known..].iter().any(|h| self.invalid.contains(&h.hash())) {
            return Err(HeadersRefused::KnownInvalid(fork));
        }
        let tail = self.header_tail(&fork).ok_or(HeadersRefused::Unconnected { parent: fork })?;
        Ok(HeadersStart { known, fork, tail })
    }

    /// Checks a peer's run of headers against the chain at clock `now`: the headers it already
    /// has are skipped, the first new one must build on a stored block, and each new one must
    /// pass the header rules.
    pub fn check_headers(&self, headers: &[BlockHeader], now: u64) -> Result<CheckedHeaders, HeadersRefused> {
        self.headers_start(headers)?.check(headers, now)
    }

    /// Validates a block and adds it: extends or reorganizes the active chain when its chain has
    /// more work, stores it as a side chain otherwise. `now` is the clock in seconds.
    pub fn process_block(&mut self, block: Block, now: u64) -> Result<BlockOutcome, ChainError> {
        self.process_block_with(block, now, &|_| false)
    }

    /// [`Chain::process_block`], skipping the signature checks of transactions for which
    /// `verified` says their signatures were already verified on this network (the mempool's
    /// transactions). A txid covers every byte of a transaction, signatures included, so a
    /// transaction with that txid is the one that was verified.
    pub fn process_block_with(
        &mut self,
        block: Block,
        now: u64,
        verified: &dyn Fn(&Txid) -> bool,
    ) -> Result<BlockOutcome, ChainError> {
        self.process_block_in_run(block, now, verified, Work::ZERO)
    }

    /// [`Chain::process_block_with`] for a block of a run whose later blocks prove `credit` more
    /// work ([`run_credits`]): a block off the active chain is stored when its branch's work plus
    /// `credit` reaches the tip's, refused with [`ChainError::LowWork`] otherwise.
    pub fn process_block_in_run(
        &mut self,
        block: Block,
        now: u64,
        verified: &dyn Fn(&Txid) -> bool,
        credit: Work,
    ) -> Result<BlockOutcome, ChainError> {
        let hash = block.hash();
        if self.index.contains_key(&hash) {
            return Ok(BlockOutcome::AlreadyKnown);
        }
        if self.is_known_invalid(&hash) || self.is_known_invalid(&block.header.prev) {
            self.remember_rejected(hash);
            return Err(ChainError::KnownInvalid(hash));
        }
        let parent = block.header.prev;
        let Some(parent_record) = self.index.get(&parent).copied() else {
            return Err(ChainError::UnknownParent { hash, parent });
        };
        // Worth a look at all? On the work its header claims, before any check: a branch with
        // less work than the tip costs no write, not even a verdict on it (which a peer could
        // otherwise have the node record for the price of a child of genesis).
        if let Ok(claimed) = Target::from_compact(block.header.bits) {
            let work = parent_record.work.saturating_add(&claimed.work());
            if work.saturating_add(&credit) < self.tip().work {
                return Err(ChainError::LowWork { hash });
            }
        }
        let ctx = HeaderContext {
            height: parent_record.header.height + 1,
            expected_bits: self.required_bits(&parent),
            median_time_past: self.median_time_past_of(&parent),
            parent_time: parent_record.header.time,
            now,
        };
        if let Err(error) = check_header(&block.header, &ctx, self.params) {
            self.judge(hash, &error)?;
            return Err(ChainError::Invalid { hash, error });
        }
        let txids = match check_block_body(&block, self.params) {
            Ok(txids) => txids,
            Err(error) => {
                self.judge(hash, &error)?;
                return Err(ChainError::Invalid { hash, error });
            }
        };
        let target = Target::from_compact(block.header.bits).expect("checked by check_header");
        let record =
            IndexRecord { header: block.header, work: parent_record.work.saturating_add(&target.work()) };

        let tip_work = self.tip().work;
        if record.work.saturating_add(&credit) < tip_work {
            return Err(ChainError::LowWork { hash });
        }
        let txn = self.store.begin_write()?;
        put_block(&txn, &hash, &block, &record)?;

        if record.work <= tip_work {
            txn.commit().map_err(StoreError::from)?;
            self.index.insert(hash, record);
            let worth = record.work.saturating_add(&credit);
            self.add_side(hash, SideBlock { size: block.size() as u64, worth });
            self.enforce_side_limit();
            return Ok(BlockOutcome::SideChain { hash, height: record.header.height });
        }

        // The new block's chain has more work: move the active chain to it.
        self.index.insert(hash, record);
        let result = self.reorganize(&txn, hash, block, txids, verified);
        match result {
            Ok((connected, disconnected)) => {
                if let Err(e) = set_tip(&txn, &hash).and_then(|()| txn.commit().map_err(StoreError::from)) {
                    self.index.remove(&hash);
                    return Err(e.into());
                }
                let fork_height = record.header.height - connected.len() as u64;
                self.active.truncate(fork_height as usize + 1);
                self.active.extend(connected.iter().map(Block::hash));
                for b in &connected {
                    self.remove_side(&b.hash());
                }
                for b in &disconnected {
                    let hash = b.hash();
                    let worth = self.index[&hash].work;
                    self.add_side(hash, SideBlock { size: b.size() as u64, worth });
                }
                self.enforce_side_limit();
                Ok(BlockOutcome::NewTip { tip: self.tip(), connected, disconnected })
            }
            Err(e) => {
                self.index.remove(&hash);
                drop(txn);
                if let ChainError::Invalid { hash: bad, .. } = &e {
                    // Every block of the branch from `bad` on, and any other stored descendant of
                    // it, is invalid too.
                    self.condemn(*bad, &[hash])?;
                }
                Err(e)
            }
        }
    }

    /// Within `txn`: disconnects the active chain down to the fork with `new_tip`'s branch and
    /// connects that branch. Returns (connected oldest first, disconnected tip first).
    fn reorganize(
        &self,
        txn: &redb::WriteTransaction,
        new_tip: BlockHash,
        new_block: Block,
        new_txids: Vec<Txid>,
        verified: &dyn Fn(&Txid) -> bool,
    ) -> Result<(Vec<Block>, Vec<Block>), ChainError> {
        // The new branch, from the block after the fork up to the new tip.
        let mut branch = vec![new_tip];
        let mut cur = self.index[&new_tip].header.prev;
        while !self.is_active(&cur) {
            branch.push(cur);
            cur = self.index[&cur].header.prev;
        }
        branch.reverse();
        let fork_height = self.index[&cur].header.height;

        let mut disconnected = Vec::new();
        for height in (fork_height + 1..=self.height()).rev() {
            let hash = self.active[height as usize];
            let block = load_block(txn, &hash)?;
            disconnect(txn, &block, &hash)?;
            disconnected.push(block);
        }

        let mut connected = Vec::with_capacity(branch.len());
        let mut new_parts = Some((new_block, new_txids));
        for hash in branch {
            let (block, txids) = if hash == new_tip {
                new_parts.take().expect("the new block is last in the branch")
            } else {
                let block = load_block(txn, &hash)?;
                let txids = check_block_body(&block, self.params)
                    .map_err(|error| ChainError::Invalid { hash, error })?;
                (block, txids)
            };
            let undo = {
                let utxo = txn.open_table(UTXO).map_err(StoreError::from)?;
                block_coins(&utxo, &block, hash, &txids, self.params)?
            };
            self.verify_signatures(&block, &txids, verified, &undo)
                .map_err(|error| ChainError::Invalid { hash, error })?;
            connect(txn, &block, &txids, &undo, &hash)?;
            connected.push(block);
        }
        Ok((connected, disconnected))
    }

    /// Connects a run of new blocks that extend the tip one after another (what a sync batch
    /// is) in one write transaction: the header, body and coin checks of block `i` run here while
    /// the signatures of blocks `i+1..` are verified on the other cores. Stops at the first block
    /// that is not valid and keeps the ones before it. `None` when the run does not start on the
    /// tip, is not a chain, or starts with a known block: the caller then uses `process_block`.
    /// Signatures of transactions `verified` vouches for are not checked again (see
    /// [`Chain::process_block_with`]).
    pub fn extend_with(
        &mut self,
        blocks: &[Block],
        now: u64,
        verified: &(dyn Fn(&Txid) -> bool + Sync),
    ) -> Option<BatchOutcome> {
        let first = blocks.first()?;
        if first.header.prev != self.tip().hash || self.index.contains_key(&first.hash()) {
            return None;
        }
        if blocks.windows(2).any(|w| w[1].header.prev != w[0].hash()) {
            return None;
        }
        let genesis = self.genesis;
        // The coins the batch spends are those of the chain as it is now, or outputs of the
        // batch's own transactions. A look-up that fails only makes that block verify again,
        // after its coins are checked.
        let snapshot = self.store.coin_view().ok();
        let (results_tx, results) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut created: HashMap<OutPoint, TxOut> = HashMap::new();
                for block in blocks {
                    let txids: Vec<Txid> = block.transactions.par_iter().map(|tx| tx.txid()).collect();
                    for (tx, &txid) in block.transactions.iter().zip(&txids) {
                        for (vout, output) in tx.outputs.iter().enumerate() {
                            created.insert(OutPoint { txid, vout: vout as u32 }, *output);
                        }
                    }
                    let find = |outpoint: &OutPoint| {
                        created.get(outpoint).copied().or_else(|| {
                            snapshot.as_ref().and_then(|s| s.coin(outpoint)).map(|coin| coin.output)
                        })
                    };
                    let check = verify_block_signatures(block, &genesis, verified, find);
                    if results_tx.send(check).is_err() {
                        break;
                    }
                }
            });
            let outcome = self.connect_run(blocks, now, &results, verified);
            drop(results);
            Some(outcome)
        })
    }

    fn connect_run(
        &mut self,
        blocks: &[Block],
        now: u64,
        signatures: &std::sync::mpsc::Receiver<AheadCheck>,
        verified: &dyn Fn(&Txid) -> bool,
    ) -> BatchOutcome {
        let txn = match self.store.begin_write() {
            Ok(txn) => txn,
            Err(e) => return BatchOutcome { connected: 0, failure: Some(e.into()) },
        };
        let mut added: Vec<BlockHash> = Vec::new();
        let mut failure = None;
        for block in blocks {
            let hash = block.hash();
            match self.connect_next(&txn, block, hash, now, signatures, verified) {
                Ok(record) => {
                    self.index.insert(hash, record);
                    self.active.push(hash);
                    added.push(hash);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let committed = match (added.last(), &failure) {
            // A storage failure may have left the block it struck half written: nothing of the
            // transaction is committed, not even the blocks before it.
            (_, Some(ChainError::Store(_))) => {
                drop(txn);
                Err(())
            }
            (None, _) => {
                drop(txn);
                Ok(())
            }
            (Some(tip), _) => set_tip(&txn, tip)
                .and_then(|()| txn.commit().map_err(StoreError::from))
                .map_err(|e| failure = Some(e.into())),
        };
        if committed.is_err() {
            // Nothing was written: forget what was added in memory.
            for hash in &added {
                self.index.remove(hash);
            }
            self.active.truncate(self.active.len() - added.len());
            return BatchOutcome { connected: 0, failure };
        }
        if let Some(ChainError::Invalid { hash, error }) = &failure {
            if let Err(e) = self.judge(*hash, error) {
                return BatchOutcome { connected: added.len(), failure: Some(e.into()) };
            }
        }
        BatchOutcome { connected: added.len(), failure }
    }

    /// Validates and writes (within `txn`) the block after the current tip.
    fn connect_next(
        &mut self,
        txn: &redb::WriteTransaction,
        block: &Block,
        hash: BlockHash,
        now: u64,
        signatures: &std::sync::mpsc::Receiver<AheadCheck>,
        verified: &dyn Fn(&Txid) -> bool,
    ) -> Result<IndexRecord, ChainError> {
        let parent = self.tip();
        let ctx = HeaderContext {
            height: parent.height + 1,
            expected_bits: self.required_bits(&parent.hash),
            median_time_past: self.median_time_past_of(&parent.hash),
            parent_time: parent.time,
            now,
        };
        // The run's caller judges a failure once the write transaction is over.
        let invalid = |error: BlockError| ChainError::Invalid { hash, error };
        if self.is_known_invalid(&hash) {
            return Err(ChainError::KnownInvalid(hash));
        }
        if let Err(error) = check_header(&block.header, &ctx, self.params) {
            return Err(invalid(error));
        }
        let txids = check_block_body(block, self.params).map_err(invalid)?;
        let undo = {
            let utxo = txn.open_table(UTXO).map_err(StoreError::from)?;
            block_coins(&utxo, block, hash, &txids, self.params)?
        };
        let ahead = match signatures.recv() {
            Ok(ahead) => ahead,
            Err(_) => {
                return Err(ChainError::Store(StoreError::Corrupt("signature verifier stopped".into())))
            }
        };
        let signed = if ahead.matches(&undo) {
            ahead.result
        } else {
            self.verify_signatures(block, &txids, verified, &undo)
        };
        signed.map_err(invalid)?;
        let target = Target::from_compact(block.header.bits).expect("checked by check_header");
        let record = IndexRecord { header: block.header, work: parent.work.saturating_add(&target.work()) };
        put_block(txn, &hash, block, &record)?;
        connect(txn, block, &txids, &undo, &hash)?;
        Ok(record)
    }

    /// Checks the signatures of a block's transactions that `verified` does not vouch for,
    /// spread over all cores, against the coins `undo` (from connecting the block) says they spend.
    fn verify_signatures(
        &self,
        block: &Block,
        txids: &[Txid],
        verified: &dyn Fn(&Txid) -> bool,
        undo: &BlockUndo,
    ) -> Result<(), BlockError> {
        let genesis = self.genesis;
        let mut offsets = vec![0; block.transactions.len()];
        let mut at = 0;
        for (offset, tx) in offsets.iter_mut().zip(&block.transactions).skip(1) {
            *offset = at;
            at += tx.inputs.len();
        }
        let check = |(index, tx): (usize, &ferro_shared::Transaction)| {
            let at = offsets[index];
            let spent: Vec<TxOut> =
                undo.spent[at..at + tx.inputs.len()].iter().map(|(_, c)| c.output).collect();
            verify_tx_signatures(tx, &genesis, &spent).map_err(|error| BlockError::InvalidTransaction {
                index,
                txid: txids[index],
                error,
            })
        };
        let unverified: Vec<(usize, &ferro_shared::Transaction)> =
            block.transactions.iter().enumerate().skip(1).filter(|(i, _)| !verified(&txids[*i])).collect();
        let inputs: usize = unverified.iter().map(|(_, t)| t.inputs.len()).sum();
        if inputs < 16 {
            unverified.into_iter().try_for_each(check)
        } else {
            unverified.into_par_iter().try_for_each(check)
        }
    }

    fn remember_rejected(&mut self, hash: BlockHash) {
        if self.rejected.len() >= MAX_INVALID {
            self.rejected.clear();
        }
        self.rejected.insert(hash);
    }

    /// Remembers a block that failed with `error` as its [`verdict`] says. A block condemned
    /// while the store cannot be written is still refused until the node stops, which the
    /// storage error returned makes it do.
    fn judge(&mut self, hash: BlockHash, error: &BlockError) -> Result<(), StoreError> {
        match verdict(error) {
            Verdict::Retry => {}
            Verdict::Remember => self.remember_rejected(hash),
            Verdict::Condemn => {
                if let Err(e) = self.condemn(hash, &[]) {
                    self.invalid.insert(hash);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Marks `bad` invalid for good, with every stored descendant and the blocks `also` names
    /// (descendants that were never stored): in one write they leave the stored blocks and the
    /// index and enter the invalid table. Nothing of the active chain descends from an invalid
    /// block, so nothing active is touched.
    fn condemn(&mut self, bad: BlockHash, also: &[BlockHash]) -> Result<(), StoreError> {
        let mut doomed = self.stored_descendants(&bad);
        doomed.push(bad);
        doomed.extend_from_slice(also);
        doomed.retain(|h| !self.is_active(h));
        let txn = self.store.begin_write()?;
        {
            let mut blocks = txn.open_table(BLOCKS)?;
            let mut index = txn.open_table(INDEX)?;
            let mut invalid = txn.open_table(store::INVALID)?;
            for h in &doomed {
                blocks.remove(h.as_bytes().as_slice())?;
                index.remove(h.as_bytes().as_slice())?;
                invalid.insert(h.as_bytes().as_slice(), [].as_slice())?;
            }
        }
        txn.commit()?;
        for h in doomed {
            self.index.remove(&h);
            self.remove_side(&h);
            self.rejected.remove(&h);
            self.invalid.insert(h);
        }
        Ok(())
    }

    /// Stored blocks, off the active chain, that descend from `root` (not `root` itself).
    fn stored_descendants(&self, root: &BlockHash) -> Vec<BlockHash> {
        // Only a stored block can have stored children (a block is stored after its parent):
        // a block refused on its header needs no walk over the index.
        if !self.index.contains_key(root) {
            return Vec::new();
        }
        let mut descends: HashMap<BlockHash, bool> = HashMap::from([(*root, true)]);
        let mut found = Vec::new();
        for hash in self.index.keys().filter(|h| !self.is_active(h)) {
            let mut path = Vec::new();
            let mut cur = *hash;
            let verdict = loop {
                if let Some(&known) = descends.get(&cur) {
                    break known;
                }
                match self.index.get(&cur) {
                    Some(r) if !self.is_active(&cur) => {
                        path.push(cur);
                        cur = r.header.prev;
                    }
                    _ => break false,
                }
            };
            for h in path {
                descends.insert(h, verdict);
                if verdict {
                    found.push(h);
                }
            }
        }
        found
    }
}

/// The coin table inside a write transaction, as a [`CoinView`]. A look-up that fails answers
/// `None` and is remembered: [`TableCoins::check`] turns it into the error before any verdict.
struct TableCoins<'a, 't> {
    table: &'a redb::Table<'t, &'static [u8], &'static [u8]>,
    failure: std::sync::Mutex<Option<StoreError>>,
}

impl<'a, 't> TableCoins<'a, 't> {
    fn new(table: &'a redb::Table<'t, &'static [u8], &'static [u8]>) -> Self {
        TableCoins { table, failure: std::sync::Mutex::new(None) }
    }

    fn check(&self) -> Result<(), StoreError> {
        match self.failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl CoinView for TableCoins<'_, '_> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        use redb::ReadableTable;
        store::read_coin(self.table.get(outpoint_key(outpoint).as_slice()), &self.failure)
    }
}

/// Connects `block`'s coins against `utxo`: a storage failure during the look-ups wins over
/// the verdict, which may rest on a coin that could not be read.
fn block_coins(
    utxo: &redb::Table<'_, &'static [u8], &'static [u8]>,
    block: &Block,
    hash: BlockHash,
    txids: &[Txid],
    params: &Params,
) -> Result<BlockUndo, ChainError> {
    let view = TableCoins::new(utxo);
    let result = connect_block_coins(block, txids, &view, params);
    view.check()?;
    result.map_err(|error| ChainError::Invalid { hash, error })
}

fn put_block(
    txn: &redb::WriteTransaction,
    hash: &BlockHash,
    block: &Block,
    record: &IndexRecord,
) -> Result<(), StoreError> {
    txn.open_table(BLOCKS)?.insert(hash.as_bytes().as_slice(), to_bytes(block).as_slice())?;
    txn.open_table(INDEX)?.insert(hash.as_bytes().as_slice(), to_bytes(record).as_slice())?;
    Ok(())
}

fn set_tip(txn: &redb::WriteTransaction, hash: &BlockHash) -> Result<(), StoreError> {
    txn.open_table(META)?.insert("tip", hash.as_bytes().as_slice())?;
    Ok(())
}

fn load_block(txn: &redb::WriteTransaction, hash: &BlockHash) -> Result<Block, StoreError> {
    use redb::ReadableTable;
    let table = txn.open_table(BLOCKS)?;
    let v = table
        .get(hash.as_bytes().as_slice())?
        .ok_or_else(|| StoreError::Corrupt(format!("block {hash} missing")))?;
    Ok(from_bytes(v.value())?)
}

/// Per address and transaction: (received, sent) in base units.
type HistoryDelta = HashMap<(PubkeyHash, Txid), (u64, u64)>;

/// Applies a validated block to the coin set and indexes.
fn connect(
    txn: &redb::WriteTransaction,
    block: &Block,
    txids: &[Txid],
    undo: &BlockUndo,
    hash: &BlockHash,
) -> Result<(), StoreError> {
    let height = block.header.height;
    let mut utxo = txn.open_table(UTXO)?;
    let mut addr_utxo = txn.open_table(ADDR_UTXO)?;
    let mut tx_index = txn.open_table(TX_INDEX)?;
    let mut history: HistoryDelta = HashMap::new();
    let mut spent = undo.spent.iter();
    for (position, (tx, txid)) in block.transactions.iter().zip(txids).enumerate() {
        for input in &tx.inputs {
            let (outpoint, coin) =
                spent.next().ok_or_else(|| StoreError::Corrupt("undo data too short".into()))?;
            debug_assert_eq!(*outpoint, input.prevout);
            utxo.remove(outpoint_key(outpoint).as_slice())?;
            addr_utxo.remove(address_utxo_key(&coin.output.recipient, outpoint).as_slice())?;
            history.entry((coin.output.recipient, *txid)).or_default().1 += coin.output.amount.units();
        }
        for (vout, output) in tx.outputs.iter().enumerate() {
            let outpoint = OutPoint { txid: *txid, vout: vout as u32 };
            let coin = Coin { output: *output, height, is_coinbase: position == 0 };
            utxo.insert(outpoint_key(&outpoint).as_slice(), to_bytes(&coin).as_slice())?;
            addr_utxo
                .insert(address_utxo_key(&output.recipient, &outpoint).as_slice(), output.amount.units())?;
            history.entry((output.recipient, *txid)).or_default().0 += output.amount.units();
        }
        let mut loc = [0u8; 36];
        loc[..32].copy_from_slice(hash.as_bytes());
        loc[32..].copy_from_slice(&(position as u32).to_be_bytes());
        tx_index.insert(txid.as_bytes().as_slice(), loc.as_slice())?;
    }
    let mut hist = txn.open_table(ADDR_HISTORY)?;
    for ((pkh, txid), (received, sent)) in history {
        let mut v = [0u8; 16];
        v[..8].copy_from_slice(&received.to_be_bytes());
        v[8..].copy_from_slice(&sent.to_be_bytes());
        hist.insert(history_key(&pkh, height, &txid).as_slice(), v.as_slice())?;
    }
    txn.open_table(ACTIVE)?.insert(height, hash.as_bytes().as_slice())?;
    txn.open_table(UNDO)?
        .insert(hash.as_bytes().as_slice(), to_bytes(&Undo(undo.spent.clone())).as_slice())?;
    Ok(())
}

/// Reverses `connect` for the active tip `block`, using its undo data.
fn disconnect(txn: &redb::WriteTransaction, block: &Block, hash: &BlockHash) -> Result<(), StoreError> {
    use redb::ReadableTable;
    let height = block.header.height;
    let undo: Undo = {
        let table = txn.open_table(UNDO)?;
        let v = table
            .get(hash.as_bytes().as_slice())?
            .ok_or_else(|| StoreError::Corrupt(format!("no undo for {hash}")))?;
        from_bytes(v.value())?
    };
    let mut utxo = txn.open_table(UTXO)?;
    let mut addr_utxo = txn.open_table(ADDR_UTXO)?;
    let mut tx_index = txn.open_table(TX_INDEX)?;
    let mut hist = txn.open_table(ADDR_HISTORY)?;
    let mut remaining = undo.0.len();
    for tx in block.transactions.iter().rev() {
        let txid = tx.txid();
        let mut touched = HashSet::new();
        for (vout, output) in tx.outputs.iter().enumerate() {
            let outpoint = OutPoint { txid, vout: vout as u32 };
            utxo.remove(outpoint_key(&outpoint).as_slice())?;
            addr_utxo.remove(address_utxo_key(&output.recipient, &outpoint).as_slice())?;
            touched.insert(output.recipient);
        }
        let start = remaining
            .checked_sub(tx.inputs.len())
            .ok_or_else(|| StoreError::Corrupt(format!("undo data of {hash} too short")))?;
        for (outpoint, coin) in &undo.0[start..remaining] {
            utxo.insert(outpoint_key(outpoint).as_slice(), to_bytes(coin).as_slice())?;
            addr_utxo.insert(
                address_utxo_key(&coin.output.recipient, outpoint).as_slice(),
                coin.output.amount.units(),
            )?;
            touched.insert(coin.output.recipient);
        }
        remaining = start;
        tx_index.remove(txid.as_bytes().as_slice())?;
        for pkh in touched {
            hist.remove(history_key(&pkh, height, &txid).as_slice())?;
        }
    }
    txn.open_table(ACTIVE)?.remove(height)?;
    txn.open_table(UNDO)?.remove(hash.as_bytes().as_slice())?;
    Ok(())
}

#[cfg(test)]
mod tests;
