//! JSON types of the node's HTTP API (`/api/...`), shared by the node, the command-line wallet
//! and the browser wallet so a field cannot drift between them. Amounts are in base units.

use crate::amount::Amount;
use crate::block::Block;
use crate::hash::{BlockHash, FilterHash, MerkleRoot, Txid};
use crate::params::Network;
use crate::pow::{CompactTarget, Work};
use crate::tx::{OutPoint, Transaction};
use serde::{Deserialize, Serialize};

/// Every API error: `{"error": {"code": "...", "message": "..."}}` with a 4xx/5xx status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable and machine-readable, e.g. `double_spend`.
    pub code: String,
    /// For a person.
    pub message: String,
}

/// `GET /api/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusResponse {
    pub network: Network,
    pub genesis: BlockHash,
    pub height: u64,
    pub tip: BlockHash,
    pub tip_time: u64,
    /// Compact target the next block must meet.
    pub bits: CompactTarget,
    /// How many times harder than the network's easiest target.
    pub difficulty: f64,
    pub chain_work: Work,
    pub peers: usize,
    pub mempool: usize,
    pub mempool_bytes: usize,
    /// The fee rate (units per byte) a transaction must pay to enter this node's mempool now:
    /// the network's minimum relay fee rate, raised for a while after evictions.
    #[serde(default)]
    pub mempool_min_fee_rate: u64,
    pub sync: SyncStatus,
    /// Whether the node mines continuously (`--mine-to`).
    pub mining: bool,
    pub version: String,
}

/// Whether the node is catching up with its peers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub syncing: bool,
    /// The highest tip any peer announced.
    pub best_peer_height: u64,
    /// Own height over the best known height, 0.0 to 1.0.
    pub progress: f64,
}

/// `GET /api/blocks?from=H&limit=N`: at most `limit` (default 20, at most 500) blocks of the
/// active chain with heights from `from` upward; without `from`, the newest `limit` blocks.
/// Always in ascending height order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlocksQuery {
    pub from: Option<u64>,
    pub limit: Option<u32>,
}

/// Most filters one `GET /api/filters` answers.
pub const MAX_FILTERS_PER_PAGE: u32 = 1_000;
/// Most bytes of filters one `GET /api/filters` answers (at least one filter is always sent).
pub const MAX_FILTER_PAGE_BYTES: usize = 1 << 20;

/// `GET /api/filters?from=H&limit=N`: the filters of the active chain from height `H` up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiltersQuery {
    pub from: u64,
    pub limit: Option<u32>,
}

/// Most headers one `GET /api/headers` answers (256 KiB of headers).
pub const MAX_HEADERS_PER_PAGE: u32 = 2_000;

/// `GET /api/headers?from=H&limit=N`: the active chain's headers from height `H` up; or
/// `GET /api/headers?locator=HASH,HASH,...&limit=N`: those after the first locator hash on the
/// node's active chain (genesis when it shares none), as a light client asks, so that it learns
/// where the node's chain leaves its own. At most [`MAX_LOCATOR_HASHES_API`] hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadersQuery {
    pub from: Option<u64>,
    /// Block hashes in hex, comma-separated, newest first.
    pub locator: Option<String>,
    pub limit: Option<u32>,
}

/// Most hashes a `locator` of `GET /api/headers` may hold.
pub const MAX_LOCATOR_HASHES_API: usize = 64;

/// `GET /api/transactions/{txid}/proof`: where a confirmed transaction is, and the Merkle branch
/// that leads from its txid to its block's Merkle root (`ferro_shared::hash::merkle_branch`),
/// which a client checks against a header it verified (`light::check_inclusion`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub txid: Txid,
    pub block: BlockHash,
    pub height: u64,
    /// The transaction's index in the block.
    pub position: u64,
    /// How many transactions the block holds.
    pub count: u64,
    /// Sibling hashes from the txid's level up, in hex.
    pub branch: Vec<String>,
}

/// Consecutive active-chain headers. Each header commits to its block's filter, so this chain
/// is also the chain of filter headers: a client that checks the headers' proof of work can
/// check every filter against them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadersView {
    /// Height of the first header.
    pub from: u64,
    pub count: u32,
    /// The node's tip height: more headers follow when it is beyond the last one sent.
    pub tip_height: u64,
    /// The headers' canonical bytes (128 each), concatenated, in hex.
    pub headers: String,
}

/// One block's filter ([`crate::filter::BlockFilter`]). Its key is the Merkle root of the
/// block's header, which a client takes from the header it verified, never from the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterView {
    pub height: u64,
    pub hash: BlockHash,
    /// The filter's canonical bytes, in hex.
    pub filter: String,
}

/// A block without its transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockSummary {
    pub hash: BlockHash,
    pub height: u64,
    pub prev: BlockHash,
    pub merkle_root: MerkleRoot,
    /// The header's commitment to the block's filter.
    pub filter_hash: FilterHash,
    pub time: u64,
    pub bits: CompactTarget,
    pub nonce: u64,
    pub tx_count: usize,
    pub size: usize,
    /// What the coinbase paid: subsidy plus fees.
    pub reward: Amount,
}

impl BlockSummary {
    pub fn of(block: &Block) -> Self {
        let h = &block.header;
        BlockSummary {
            hash: h.hash(),
            height: h.height,
            prev: h.prev,
            merkle_root: h.merkle_root,
            filter_hash: h.filter_hash,
            time: h.time,
            bits: h.bits,
            nonce: h.nonce,
            tx_count: block.transactions.len(),
            size: block.size(),
            reward: block.transactions.first().and_then(Transaction::output_total).unwrap_or(Amount::ZERO),
        }
    }
}

/// `GET /api/blocks/{hash or height}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockView {
    #[serde(flatten)]
    pub summary: BlockSummary,
    /// 1 for the tip, 0 when the block is not in the active chain.
    pub confirmations: u64,
    pub in_active_chain: bool,
    pub transactions: Vec<TxView>,
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TxState {
    Pending,
    Confirmed,
}

/// A transaction with its id and status: `GET /api/transactions/{txid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxView {
    pub txid: Txid,
    pub transaction: Transaction,
    pub size: usize,
    /// Inputs minus outputs; `None` for a coinbase.
    pub fee: Option<Amount>,
    pub status: TxState,
    pub block: Option<BlockHash>,
    pub block_height: Option<u64>,
    pub confirmations: u64,
}

/// `POST /api/transactions` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitTxResponse {
    pub txid: Txid,
}

/// Most transactions in one `POST /api/transactions/batch`.
pub const MAX_TX_BATCH: usize = 1_000;

/// `POST /api/transactions/batch` body: transactions admitted in this order, so a later one may
/// spend an earlier one's outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitBatchRequest {
    pub transactions: Vec<Transaction>,
}

/// `POST /api/transactions/batch` answer: one result per transaction, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitBatchResponse {
    pub results: Vec<BatchResult>,
}

/// What became of one transaction of a batch: `error` is `None` when it was admitted, else the
/// same code and message `POST /api/transactions` would have answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResult {
    pub txid: Txid,
    pub error: Option<ErrorDetail>,
}

/// An unspent output of an address, confirmed or created by a pending transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UtxoView {
    pub outpoint: OutPoint,
    pub amount: Amount,
    /// Height of the block that created it; `None` while pending.
    pub height: Option<u64>,
    pub coinbase: bool,
}

/// One transaction in an address's history, with what it did to the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub txid: Txid,
    /// `None` while pending.
    pub height: Option<u64>,
    pub time: Option<u64>,
    pub received: Amount,
    pub sent: Amount,
}

/// `GET /api/addresses/{address}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressView {
    pub address: String,
    /// Sum of confirmed unspent outputs.
    pub balance: Amount,
    /// The balance once pending transactions confirm: confirmed, minus what pending
    /// transactions spend, plus what they pay to this address.
    pub pending: Amount,
    /// What the address can spend now: confirmed outputs not spent by a pending transaction,
    /// and outputs of pending transactions.
    pub utxos: Vec<UtxoView>,
    /// Newest first: pending transactions, then confirmed ones (at most 100).
    pub history: Vec<HistoryEntry>,
}

/// `POST /api/mine`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MineRequest {
    pub address: String,
    #[serde(default = "one")]
    pub blocks: u32,
}

fn one() -> u32 {
    1
}

/// `POST /api/mine` answer: the blocks mined, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MineResponse {
    pub blocks: Vec<BlockSummary>,
}

/// One mempool entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MempoolEntryView {
    pub txid: Txid,
    pub size: usize,
    pub fee: Amount,
    /// Units per byte.
    pub fee_rate: u64,
    /// Seconds since the Unix epoch when the node accepted it.
    pub time: u64,
}

/// `GET /api/mempool`: entries by descending fee rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MempoolView {
    pub count: usize,
    pub bytes: usize,
    pub transactions: Vec<MempoolEntryView>,
}

/// Which side opened a peer connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// `GET /api/peers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    /// The peer's random node id, hex.
    pub id: String,
    pub direction: Direction,
    /// Socket address of the connection.
    pub address: String,
    /// The URL the peer says it listens on, if any.
    pub listen_url: Option<String>,
    pub best_height: u64,
    pub connected_secs: u64,
}

/// `POST /api/peers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddPeerRequest {
    /// For example `ws://127.0.0.1:8081/p2p`.
    pub url: String,
}

/// What `GET /api/events` (a WebSocket) pushes, one JSON text message per event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The active chain has a new tip (after an extension or a reorganization).
    Tip {
        hash: BlockHash,
        height: u64,
        time: u64,
        /// Blocks disconnected to get here; 0 for a plain extension.
        reorg_depth: u64,
    },
    /// A transaction entered the mempool.
    Tx { txid: Txid, size: usize, fee: Amount },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_shape() {
        let body = ErrorBody { error: ErrorDetail { code: "double_spend".into(), message: "x".into() } };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":{"code":"double_spend","message":"x"}}"#
        );
    }

    #[test]
    fn event_is_tagged() {
        let e = Event::Tx { txid: Txid([0; 32]), size: 5, fee: Amount::from_units(7) };
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.starts_with(r#"{"type":"tx","#), "{json}");
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
    }

    #[test]
    fn mine_request_defaults_to_one_block() {
        let r: MineRequest = serde_json::from_str(r#"{"address":"a"}"#).unwrap();
        assert_eq!(r.blocks, 1);
    }
}
