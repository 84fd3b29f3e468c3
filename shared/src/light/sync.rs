//! What a light client asks its nodes for next, and what it does with each answer: a plain state
//! machine, driven by the browser wallet and the command-line wallet alike (each moves the bytes
//! its own way).
//!
//! ```text
//!   Headers{locator} ──▶ on_headers ──(the node has no more)──▶ Filters{from}
//!        ▲                                                        │ on_filters: each checked
//!        │ (a tip moved: ask again)                               ▼ against its header
//!        └──────────── Done ◀── (scanned to the tip) ◀── Block{height} when a filter matches
//! ```

use super::{check_block, check_filter, Applied, LightError, Scanner, VerifiedHeaders};
use crate::block::{Block, BlockHeader};
use crate::hash::{BlockHash, PubkeyHash};
use crate::params::Network;
use std::collections::VecDeque;

/// Answers in a row naming other blocks than the verified ones, taken for a node's chain moving
/// on before they count as a lie.
pub const MAX_RESYNCS: u32 = 3;

/// Most headers of a branch without more work (yet) kept while a node serves the rest of it, page
/// by page: a branch with more work that forks further back than one page is taken only once
/// all of it is in.
pub const MAX_BRANCH_HEADERS: usize = 20 * crate::api::MAX_HEADERS_PER_PAGE as usize;

/// The next request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// `GET /api/headers?locator=...`
    Headers { locator: Vec<BlockHash> },
    /// `GET /api/filters?from=H`
    Filters { from: u64 },
    /// `GET /api/blocks/{height}/raw`, expected to be `hash`.
    Block { height: u64, hash: BlockHash },
    /// Verified up to the tip the nodes showed.
    Done,
}

/// A light client's verification, from headers to its own coins.
#[derive(Debug, Clone)]
pub struct LightSync {
    headers: VerifiedHeaders,
    scanner: Scanner,
    /// Filters checked, not yet acted on: height, hash, whether it matched.
    checked: VecDeque<(u64, BlockHash, bool)>,
    /// Whether the headers need asking for (at start, and when told a tip moved).
    headers_due: bool,
    /// Filters or blocks in a row that named another block than the verified one at their
    /// height: the node's chain moved between two answers (it reorganized), so the headers are
    /// asked again, at most [`MAX_RESYNCS`] times before it counts as a lie.
    resyncs: u32,
    /// The pages of a branch served so far that, so far, have less work than the chain, when
    /// the node said there is more of it (a full page): its tip leads the next locator.
    branch: Vec<BlockHeader>,
    /// Blocks fetched because their filter matched (counting false positives).
    pub blocks_fetched: u64,
    pub filters_checked: u64,
}

impl LightSync {
    /// A client of `network` watching `watch`, starting from stored headers (verified again).
    pub fn new(
        network: Network,
        stored: &[BlockHeader],
        watch: impl IntoIterator<Item = PubkeyHash>,
        now: u64,
    ) -> Self {
        let headers = if stored.is_empty() {
            VerifiedHeaders::new(network)
        } else {
            VerifiedHeaders::restore(network, stored, now)
        };
        LightSync {
            headers,
            scanner: Scanner::new(watch, network.genesis_hash()),
            checked: VecDeque::new(),
            headers_due: true,
            resyncs: 0,
            branch: Vec::new(),
            blocks_fetched: 0,
            filters_checked: 0,
        }
    }

    pub fn headers(&self) -> &VerifiedHeaders {
        &self.headers
    }

    pub fn scanner(&self) -> &Scanner {
        &self.scanner
    }

    /// Whether the wallet's coins are verified up to the verified tip.
    pub fn is_done(&self) -> bool {
        self.next() == Need::Done
    }

    /// A node said its tip moved: ask for headers again.
    pub fn tip_moved(&mut self) {
        self.headers_due = true;
    }

    pub fn next(&self) -> Need {
        if self.headers_due {
            let mut locator = self.headers.locator();
            if let Some(tip) = self.branch.last() {
                locator.insert(0, tip.hash());
            }
            return Need::Headers { locator };
        }
        match self.checked.front() {
            // Filters that matched nothing never stay at the front (see `advance`).
            Some((height, hash, _)) => Need::Block { height: *height, hash: *hash },
            None if self.scanner.next_height() <= self.headers.height() => {
                let from = self.scanner.next_height() + self.checked.len() as u64;
                Need::Filters { from }
            }
            None => Need::Done,
        }
    }

    /// Headers a node served after our locator (consecutive, oldest first). An empty answer
    /// means the node has nothing beyond what we have. A branch with more work replaces ours
    /// and rewinds the scan; one without more work is ignored.
    pub fn on_headers(&mut self, headers: &[BlockHeader], now: u64) -> Result<Applied, LightError> {
        let page = headers;
        // A page continuing the branch kept is taken with it (and the branch with it); another
        // answer (another node's) leaves the branch for its node to go on with.
        let continues = matches!((self.branch.last(), page.first()), (Some(tip), Some(first)) if first.prev == tip.hash());
        let headers: Vec<BlockHeader> = if continues {
            [std::mem::take(&mut self.branch), page.to_vec()].concat()
        } else {
            page.to_vec()
        };
        let applied = match self.headers.apply(&headers, now) {
            Ok(applied) => applied,
            Err(e) => {
                self.headers_due = false;
                return Err(e);
            }
        };
        match applied {
            Applied::Reorganized { .. } => {
                self.branch.clear();
                self.checked.clear();
                self.scanner.follow(&self.headers);
            }
            Applied::Extended { .. } => {}
            Applied::Nothing | Applied::NotMoreWork => self.headers_due = false,
        }
        // A full page may have more behind it; anything less was the node's tip.
        let full = page.len() >= crate::api::MAX_HEADERS_PER_PAGE as usize;
        if !full {
            self.headers_due = false;
        } else if applied == Applied::NotMoreWork && headers.len() <= MAX_BRANCH_HEADERS {
            // The rest of the branch may have more work: ask for it.
            self.branch = headers;
            self.headers_due = true;
        }
        Ok(applied)
    }

    /// Filters a node served from the height [`Need::Filters`] asked for: each checked against
    /// its verified header, then matched against the watched key hashes. Filters beyond the
    /// verified tip are ignored; the first that fails stops the call (those before it stay).
    pub fn on_filters(&mut self, filters: Vec<(u64, BlockHash, Vec<u8>)>) -> Result<(), LightError> {
        let watched = self.scanner.watched();
        for (height, hash, bytes) in filters {
            let expected = self.scanner.next_height() + self.checked.len() as u64;
            if height != expected {
                return Err(LightError::OutOfOrder { expected, got: height });
            }
            if height > self.headers.height() {
                break;
            }
            let filter = match check_filter(&self.headers, height, &hash, bytes) {
                Err(LightError::WrongBlock { .. }) if self.resyncs < MAX_RESYNCS => {
                    self.resync();
                    return Ok(());
                }
                other => other?,
            };
            let root = self.headers.header(height).ok_or(LightError::UnknownHeight(height))?.merkle_root;
            let matched = filter
                .matches_any(&root, &watched)
                .map_err(|e| LightError::BadFilter { height, reason: e.to_string() })?;
            self.filters_checked += 1;
            self.checked.push_back((height, hash, matched));
            self.advance()?;
        }
        Ok(())
    }

    /// The block [`Need::Block`] asked for.
    pub fn on_block(&mut self, height: u64, block: &Block) -> Result<(), LightError> {
        match self.checked.front() {
            Some((h, _, true)) if *h == height => {}
            _ => return Err(LightError::OutOfOrder { expected: self.scanner.next_height(), got: height }),
        }
        match check_block(&self.headers, height, block) {
            Err(LightError::WrongBlock { .. }) if self.resyncs < MAX_RESYNCS => {
                self.resync();
                return Ok(());
            }
            other => other?,
        }
        self.resyncs = 0;
        self.scanner.apply(height, block)?;
        self.checked.pop_front();
        self.blocks_fetched += 1;
        self.advance()
    }

    /// The node named another block than ours at a height: its chain moved on. Ask the headers
    /// again (a branch with more work replaces ours and the scan follows it).
    fn resync(&mut self) {
        self.resyncs += 1;
        self.checked.clear();
        self.headers_due = true;
    }

    /// Takes the filters that matched nothing off the front of the queue.
    fn advance(&mut self) -> Result<(), LightError> {
        while let Some((height, hash, false)) = self.checked.front().copied() {
            self.scanner.skip(height, hash)?;
            self.checked.pop_front();
            // The scan moved on: only that clears the resyncs (a checked filter alone does not,
            // or a node serving good filters and wrong blocks would be asked again forever).
            self.resyncs = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BLOCK_VERSION;
    use crate::hash::{FilterHash, MerkleRoot};
    use crate::keys::SecretKey;
    use crate::pow::Target;
    use crate::tx::{Transaction, TxOut};
    use crate::Amount;

    const NET: Network = Network::Dev;
    const NOW: u64 = u64::MAX / 2;

    /// A chain of `n` blocks on genesis paying `to` at the heights in `paying`, others paying
    /// `tag`-derived nobody, so branches differ.
    fn chain(n: u64, to: PubkeyHash, paying: &[u64], tag: u8) -> Vec<Block> {
        let genesis = NET.genesis_block();
        let mut out: Vec<Block> = vec![];
        for height in 1..=n {
            let prev = out.last().map_or(genesis.header, |b: &Block| b.header);
            let recipient = if paying.contains(&height) { to } else { PubkeyHash([tag; 32]) };
            let coinbase =
                Transaction::coinbase(height, vec![TxOut { recipient, amount: Amount::from_units(50) }]);
            let mut block = Block {
                header: BlockHeader {
                    version: BLOCK_VERSION,
                    height,
                    prev: prev.hash(),
                    merkle_root: MerkleRoot::ZERO,
                    filter_hash: FilterHash([0; 32]),
                    time: prev.time + 10,
                    bits: NET.params().pow_limit,
                    nonce: 0,
                },
                transactions: vec![coinbase],
            };
            block.commit_transactions();
            let target = Target::from_compact(block.header.bits).unwrap();
            while !target.is_met_by(&block.hash()) {
                block.header.nonce += 1;
            }
            out.push(block);
        }
        out
    }

    /// Serves `blocks` (an honest node's chain) to `sync` until it is done.
    fn serve(sync: &mut LightSync, blocks: &[Block]) -> Result<(), LightError> {
        for _ in 0..1000 {
            match sync.next() {
                Need::Done => return Ok(()),
                Need::Headers { locator } => {
                    let start = blocks.iter().rposition(|b| locator.contains(&b.hash())).map_or(0, |i| i + 1);
                    let headers: Vec<BlockHeader> = blocks[start..].iter().map(|b| b.header).collect();
                    sync.on_headers(&headers, NOW)?;
                }
                Need::Filters { from } => {
                    let page = blocks
                        .iter()
                        .filter(|b| b.header.height >= from)
                        .take(3)
                        .map(|b| (b.header.height, b.hash(), b.compute_filter().as_bytes().to_vec()))
                        .collect();
                    sync.on_filters(page)?;
                }
                Need::Block { height, .. } => sync.on_block(height, &blocks[height as usize - 1])?,
            }
        }
        panic!("no end");
    }

    fn me() -> PubkeyHash {
        SecretKey::from_bytes(&[1; 32]).unwrap().public_key().pubkey_hash()
    }

    #[test]
    fn a_wallet_finds_exactly_its_blocks_and_follows_a_reorganization() {
        let main = chain(8, me(), &[2, 5], 1);
        let mut sync = LightSync::new(NET, &[], [me()], NOW);
        serve(&mut sync, &main).unwrap();
        assert_eq!(sync.scanner().balance(), Amount::from_units(100));
        assert_eq!(sync.headers().height(), 8);
        assert!(
            sync.blocks_fetched >= 2 && sync.blocks_fetched < 8,
            "{} blocks fetched",
            sync.blocks_fetched
        );
        // A longer branch from block 3 on, in which block 5 does not pay us: the scan follows.
        let fork = rebuild_on(&main[..3], 7, 2);
        sync.tip_moved();
        serve(&mut sync, &fork).unwrap();
        assert_eq!(sync.headers().tip_hash(), fork.last().unwrap().hash());
        assert_eq!(sync.scanner().balance(), Amount::from_units(50), "block 5's payment is gone");
    }

    /// `n` more blocks on `base`, paying nobody.
    fn rebuild_on(base: &[Block], n: u64, tag: u8) -> Vec<Block> {
        let mut out = base.to_vec();
        for _ in 0..n {
            let prev = out.last().unwrap().header;
            let height = prev.height + 1;
            let coinbase = Transaction::coinbase(
                height,
                vec![TxOut { recipient: PubkeyHash([tag; 32]), amount: Amount::from_units(50) }],
            );
            let mut block = Block {
                header: BlockHeader { height, prev: prev.hash(), time: prev.time + 10, nonce: 0, ..prev },
                transactions: vec![coinbase],
            };
            block.commit_transactions();
            let target = Target::from_compact(block.header.bits).unwrap();
            while !target.is_met_by(&block.hash()) {
                block.header.nonce += 1;
            }
            out.push(block);
        }
        out
    }

    #[test]
    fn filters_of_another_chain_resync_a_few_times_then_count_as_a_lie() {
        let main = chain(6, me(), &[2], 1);
        let other = chain(6, me(), &[], 9);
        let mut sync = LightSync::new(NET, &[], [me()], NOW);
        // Headers of `main`, then filters of `other` (a node whose chain moved, or a liar).
        let headers: Vec<BlockHeader> = main.iter().map(|b| b.header).collect();
        sync.on_headers(&headers, NOW).unwrap();
        for attempt in 0..MAX_RESYNCS {
            let Need::Filters { from } = sync.next() else { panic!("attempt {attempt}: {:?}", sync.next()) };
            let page = vec![(
                from,
                other[from as usize - 1].hash(),
                other[from as usize - 1].compute_filter().as_bytes().to_vec(),
            )];
            sync.on_filters(page).unwrap();
            assert!(matches!(sync.next(), Need::Headers { .. }), "asks the headers again");
            sync.on_headers(&[], NOW).unwrap();
        }
        let Need::Filters { from } = sync.next() else { panic!() };
        let page = vec![(from, other[0].hash(), other[0].compute_filter().as_bytes().to_vec())];
        assert!(matches!(sync.on_filters(page), Err(LightError::WrongBlock { .. })));
        // A filter whose hash is not its header's commitment is a lie at once.
        let mut sync = LightSync::new(NET, &[], [me()], NOW);
        sync.on_headers(&headers, NOW).unwrap();
        let mut bytes = main[0].compute_filter().as_bytes().to_vec();
        *bytes.last_mut().unwrap() ^= 1;
        assert!(matches!(
            sync.on_filters(vec![(1, main[0].hash(), bytes)]),
            Err(LightError::FilterMismatch { height: 1 } | LightError::BadFilter { .. })
        ));
    }

    /// `n` headers on `base`'s last, tagged by `tag` so branches differ (headers only).
    fn headers_on(base: &[BlockHeader], n: u64, tag: u8) -> Vec<BlockHeader> {
        let mut out = base.to_vec();
        for _ in 0..n {
            let prev = *out.last().unwrap();
            let mut header = BlockHeader {
                height: prev.height + 1,
                prev: prev.hash(),
                time: prev.time + 10,
                merkle_root: MerkleRoot([tag; 32]),
                nonce: 0,
                ..prev
            };
            let target = Target::from_compact(header.bits).unwrap();
            while !target.is_met_by(&header.hash()) {
                header.nonce += 1;
            }
            out.push(header);
        }
        out
    }

    /// An honest node serving `chain` (genesis first) a page at most `MAX_HEADERS_PER_PAGE` long
    /// after the last locator hash it knows, until the wallet stops asking for headers.
    fn serve_headers(sync: &mut LightSync, chain: &[BlockHeader]) {
        let page = crate::api::MAX_HEADERS_PER_PAGE as usize;
        for _ in 0..100 {
            let Need::Headers { locator } = sync.next() else { return };
            let start = chain.iter().rposition(|h| locator.contains(&h.hash())).map_or(0, |i| i + 1);
            let end = (start + page).min(chain.len());
            let _ = sync.on_headers(&chain[start..end], NOW);
        }
        panic!("no end");
    }

    #[test]
    fn a_branch_with_more_work_that_forks_more_than_a_page_back_is_taken() {
        let page = crate::api::MAX_HEADERS_PER_PAGE as u64;
        let genesis = NET.genesis_block().header;
        // Chain A: genesis + one shared header + page + 1 more; branch B: one longer than A from
        // the shared header, so more work (same bits), but its first page alone has less.
        let shared = headers_on(&[genesis], 1, 0);
        let a = headers_on(&shared, page + 1, 1);
        let b = headers_on(&shared, page + 2, 2);
        let mut sync = LightSync::new(NET, &[], [me()], NOW);
        serve_headers(&mut sync, &a);
        assert_eq!(sync.headers().tip_hash(), a.last().unwrap().hash());
        sync.tip_moved();
        serve_headers(&mut sync, &b);
        assert_eq!(
            sync.headers().tip_hash(),
            b.last().unwrap().hash(),
            "the wallet stays on the branch with less work"
        );
    }

    #[test]
    fn a_node_serving_good_filters_but_wrong_blocks_is_caught_not_looped_on() {
        let main = chain(4, me(), &[2], 1);
        let other = chain(4, me(), &[2], 9);
        let mut sync = LightSync::new(NET, &[], [me()], NOW);
        // Honest headers and filters; for every matched block, the block of another chain.
        for round in 0..100 {
            let result = match sync.next() {
                Need::Done => panic!("done without the block"),
                Need::Headers { locator } => {
                    let start = main.iter().rposition(|b| locator.contains(&b.hash())).map_or(0, |i| i + 1);
                    let headers: Vec<BlockHeader> = main[start..].iter().map(|b| b.header).collect();
                    sync.on_headers(&headers, NOW).map(|_| ())
                }
                Need::Filters { from } => sync.on_filters(
                    main.iter()
                        .filter(|b| b.header.height >= from)
                        .map(|b| (b.header.height, b.hash(), b.compute_filter().as_bytes().to_vec()))
                        .collect(),
                ),
                Need::Block { height, .. } => sync.on_block(height, &other[height as usize - 1]),
            };
            if result.is_err() {
                assert!(round < 4 * (MAX_RESYNCS as usize + 1) + 4, "caught only after {round} rounds");
                return;
            }
        }
        panic!("100 rounds of wrong blocks and the node is still believed to be reorganizing");
    }
}
