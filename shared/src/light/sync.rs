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
            return Need::Headers { locator: self.headers.locator() };
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
        let applied = match self.headers.apply(headers, now) {
            Ok(applied) => applied,
            Err(e) => {
                self.headers_due = false;
                return Err(e);
            }
        };
        match applied {
            Applied::Reorganized { .. } => {
                self.checked.clear();
                self.scanner.follow(&self.headers);
            }
            Applied::Extended { .. } => {}
            Applied::Nothing | Applied::NotMoreWork => self.headers_due = false,
        }
        // A full page may have more behind it; anything less was the node's tip.
        if headers.len() < crate::api::MAX_HEADERS_PER_PAGE as usize {
            self.headers_due = false;
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
            let filter = check_filter(&self.headers, height, &hash, bytes)?;
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
        check_block(&self.headers, height, block)?;
        self.scanner.apply(height, block)?;
        self.checked.pop_front();
        self.blocks_fetched += 1;
        self.advance()
    }

    /// Takes the filters that matched nothing off the front of the queue.
    fn advance(&mut self) -> Result<(), LightError> {
        while let Some((height, hash, false)) = self.checked.front().copied() {
            self.scanner.skip(height, hash)?;
            self.checked.pop_front();
        }
        Ok(())
    }
}
