//! The peer layer's one way into the node: the operations peers need (submit blocks and
//! transactions; locators, hashes and headers after a locator; stored block bytes and filters;
//! what the node has and what it pends), and nothing else. Every operation that takes the chain
//! or mempool lock, or reads the store, runs on the blocking pool, so a peer task never holds
//! the lock on an async worker thread.
//!
//! A storage failure is not an answer: the link reports it to the node (which then stops, see
//! [`Node::fail`]) and gives the caller [`Stopped`], never an empty answer that could be taken
//! for "the node does not have it".

use crate::chain::{StoreError, Tip};
use crate::mempool::Accepted;
use crate::metrics::Metrics;
use crate::node::Node;
use crate::views::ActiveFilter;
use ferro_shared::block::BlockHeader;
use ferro_shared::hash::{BlockHash, Txid};
use ferro_shared::{Block, Network, Transaction};
use tokio::sync::broadcast;

pub use crate::chain::{BlockOutcome, ChainError, CheckedHeaders, HeadersRefused, MAX_SIDE_BYTES};
pub use crate::node::{NodeEvent, Origin, SubmitBlockError, SubmitTxError};
use ferro_shared::pow::Work;

/// The node stopped (its store failed) or is stopping: there is no answer to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the node is stopping")]
pub struct Stopped;

/// The node as the peer layer sees it. Cheap to clone.
#[derive(Clone)]
pub struct NodeLink {
    node: Node,
}

impl std::fmt::Debug for NodeLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeLink").field("network", &self.node.network()).finish()
    }
}

impl NodeLink {
    pub fn new(node: Node) -> Self {
        NodeLink { node }
    }

    pub fn network(&self) -> Network {
        self.node.network()
    }

    /// The tip as last published (no lock).
    pub fn tip(&self) -> Tip {
        self.node.tip()
    }

    pub fn metrics(&self) -> &Metrics {
        self.node.metrics()
    }

    /// Seconds since the Unix epoch on the node's clock.
    pub fn unix_now(&self) -> u64 {
        self.node.unix_now()
    }

    /// A fresh secret key from the node's source of randomness.
    fn random_secret(&self) -> [u8; 32] {
        loop {
            let bytes = self.random_bytes();
            if ferro_shared::SecretKey::from_bytes(&bytes).is_ok() {
                return bytes;
            }
        }
    }

    /// Random bytes from the node's source.
    pub fn random_bytes(&self) -> [u8; 32] {
        self.node.entropy().bytes32()
    }

    /// Every node event from now on: new transactions, blocks and tips.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.node.subscribe()
    }

    /// Runs `work` on the blocking pool with the node; a storage error stops the node.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Node) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Stopped> {
        let node = self.node.clone();
        match crate::env::blocking(move || {
            let result = work(&node);
            if let Err(e) = &result {
                node.fail(e);
            }
            result
        })
        .await
        {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) | Err(_) => Err(Stopped),
        }
    }

    /// The active chain's locator (see [`crate::chain::Chain::locator`]).
    pub async fn locator(&self) -> Result<Vec<BlockHash>, Stopped> {
        self.blocking(|node| Ok(node.state().chain.locator())).await
    }

    /// Active-chain hashes after the first locator entry the node shares, at most `limit`.
    pub async fn hashes_after(
        &self,
        locator: Vec<BlockHash>,
        limit: usize,
    ) -> Result<Vec<BlockHash>, Stopped> {
        self.blocking(move |node| Ok(node.state().chain.hashes_after_locator(&locator, limit))).await
    }

    /// Active-chain headers after the first locator entry the node shares, at most `limit`,
    /// with the node's tip height.
    pub async fn headers_after(
        &self,
        locator: Vec<BlockHash>,
        limit: usize,
    ) -> Result<(Vec<BlockHeader>, u64), Stopped> {
        self.blocking(move |node| {
            let state = node.state();
            Ok((state.chain.headers_after_locator(&locator, limit), state.chain.height()))
        })
        .await
    }

    /// Stored blocks' canonical bytes by hash, in order, skipping those not stored, at most
    /// `max_count`, stopping before `max_bytes` would be passed (at least one is given).
    pub async fn block_bytes(
        &self,
        hashes: Vec<BlockHash>,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, Stopped> {
        self.blocking(move |node| {
            let mut out = Vec::new();
            let mut bytes = 0;
            for hash in hashes.into_iter().take(max_count) {
                let Some(block) = node.store().block_bytes(&hash)? else { continue };
                bytes += block.len();
                if bytes > max_bytes && !out.is_empty() {
                    break;
                }
                out.push(block);
            }
            Ok(out)
        })
        .await
    }

    /// A stored block.
    pub async fn block(&self, hash: BlockHash) -> Result<Option<Block>, Stopped> {
        self.blocking(move |node| node.store().block(&hash)).await
    }

    /// The filters of the active chain's blocks from height `from` up (bounded as
    /// [`Node::active_filters`] says).
    pub async fn filters(
        &self,
        from: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<ActiveFilter>, Stopped> {
        self.blocking(move |node| node.active_filters(from, limit, max_bytes)).await
    }

    /// Of `txids`, those the node has neither pending nor confirmed.
    pub async fn missing_txs(&self, txids: Vec<Txid>) -> Result<Vec<Txid>, Stopped> {
        self.blocking(move |node| {
            let unpooled: Vec<Txid> = {
                let state = node.state();
                txids.into_iter().filter(|t| !state.mempool.contains(t)).collect()
            };
            let mut out = Vec::with_capacity(unpooled.len());
            for txid in unpooled {
                if node.store().tx_location(&txid)?.is_none() {
                    out.push(txid);
                }
            }
            Ok(out)
        })
        .await
    }

    /// Of `hashes`, the blocks the node neither has nor knows to be invalid.
    pub async fn missing_blocks(&self, hashes: Vec<BlockHash>) -> Result<Vec<BlockHash>, Stopped> {
        self.blocking(move |node| {
            let state = node.state();
            Ok(hashes
                .into_iter()
                .filter(|h| !state.chain.contains(h) && !state.chain.is_known_invalid(h))
                .collect())
        })
        .await
    }

    /// The pending transactions among `txids`, in that order.
    pub async fn pending_txs(&self, txids: Vec<Txid>) -> Result<Vec<Transaction>, Stopped> {
        self.blocking(move |node| {
            let state = node.state();
            Ok(txids.iter().filter_map(|t| state.mempool.get(t)).map(|e| e.tx.clone()).collect())
        })
        .await
    }

    /// Up to `limit` pending txids, in the order they arrived (parents before children, so a
    /// peer that asks for them in this order gets no orphans; and the same pool always gives the
    /// same list).
    pub async fn pending_txids(&self, limit: usize) -> Result<Vec<Txid>, Stopped> {
        self.blocking(move |node| {
            Ok(node.state().mempool.entries_by_arrival().into_iter().map(|e| e.txid).take(limit).collect())
        })
        .await
    }

    pub async fn submit_transaction(
        &self,
        tx: Transaction,
        origin: Origin,
    ) -> Result<Accepted, SubmitTxError> {
        self.node.submit_transaction(tx, origin).await
    }

    pub async fn submit_block(&self, block: Block, origin: Origin) -> Result<BlockOutcome, SubmitBlockError> {
        self.node.submit_block(block, origin).await
    }

    /// Blocks in chain order; `proven_after` is the work of verified headers after the last.
    pub async fn submit_blocks(
        &self,
        blocks: Vec<Block>,
        origin: Origin,
        proven_after: Work,
    ) -> Result<(), SubmitBlockError> {
        self.node.submit_blocks(blocks, origin, proven_after).await
    }

    /// Checks a run of headers against the chain (see [`crate::chain::Chain::check_headers`]).
    pub async fn check_headers(
        &self,
        headers: Vec<BlockHeader>,
    ) -> Result<Result<CheckedHeaders, HeadersRefused>, Stopped> {
        self.blocking(move |node| {
            // The lock only to find where they leave the chain; their checks (a hash each) after.
            let start = node.state().chain.headers_start(&headers);
            Ok(start.and_then(|start| start.check(&headers, node.unix_now())))
        })
        .await
    }

    /// Remembered peer URLs.
    pub async fn saved_peers(&self) -> Result<Vec<String>, Stopped> {
        self.blocking(|node| Ok(node.store().peers()?.into_iter().map(|(url, _)| url).collect())).await
    }

    pub async fn save_peer(&self, url: String) -> Result<(), Stopped> {
        self.blocking(move |node| node.store().put_peer(&url, &[])).await
    }

    /// The node's identity key, kept in the store (made on first use).
    pub async fn node_key(&self) -> Result<ferro_shared::SecretKey, Stopped> {
        let fresh = self.random_secret();
        let kept = self.blocking(move |node| node.store().node_secret(fresh)).await?;
        ferro_shared::SecretKey::from_bytes(&kept).map_err(|_| {
            self.node.fail(&StoreError::Corrupt("the node key is not a valid secret key".into()));
            Stopped
        })
    }

    pub async fn forget_peer(&self, url: String) -> Result<(), Stopped> {
        self.blocking(move |node| node.store().remove_peer(&url)).await
    }

    /// Bans in force at `now` (Unix seconds): key and end.
    pub async fn saved_bans(&self, now: u64) -> Result<Vec<(String, u64)>, Stopped> {
        self.blocking(move |node| node.store().bans(now)).await
    }

    pub async fn save_ban(&self, key: String, until: u64) -> Result<(), Stopped> {
        self.blocking(move |node| node.store().put_ban(&key, until)).await
    }
}
