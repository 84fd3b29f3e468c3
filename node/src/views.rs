//! Read-only views of the node for the HTTP API: status, blocks, transactions, addresses, the
//! mempool. Chain data comes from the store's own snapshots; the lock is taken only briefly for
//! the tip and the mempool.

use crate::chain::{StoreError, Undo};
use crate::node::{Node, StatusParts};
use ferro_shared::api::{
    AddressView, BlockSummary, BlockView, BlocksQuery, FilterView, FiltersQuery, HeadersQuery, HeadersView,
    HistoryEntry, InclusionProof, MempoolEntryView, MempoolView, StatusResponse, SyncStatus, TxState, TxView,
    UtxoView, MAX_FILTERS_PER_PAGE, MAX_FILTER_PAGE_BYTES, MAX_HEADERS_PER_PAGE, MAX_LOCATOR_HASHES_API,
};
use ferro_shared::block::HEADER_SIZE;
use ferro_shared::encode::from_bytes;
use ferro_shared::filter::BlockFilter;
use ferro_shared::hash::{merkle_branch, BlockHash, Txid};
use ferro_shared::pow::Target;
use ferro_shared::{Address, Amount, Block, Transaction};

/// How a block is named in a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockId {
    Hash(BlockHash),
    Height(u64),
}

impl std::str::FromStr for BlockId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.len() == 64 {
            s.parse().map(BlockId::Hash).map_err(|e| format!("{e}"))
        } else {
            s.parse()
                .map(BlockId::Height)
                .map_err(|_| "a block is named by its 64-hex-digit hash or its height".into())
        }
    }
}

/// Most blocks one `GET /api/blocks` returns.
pub const MAX_BLOCKS_PER_PAGE: u32 = 500;
/// Most bytes of blocks one `GET /api/filters` reads to build its answer.
pub const FILTER_PAGE_BLOCK_BYTES: usize = 8 << 20;
/// One active-chain block's filter, with what names it. (Its key is the Merkle root of the
/// block's header, which a client takes from the header it verified.)
#[derive(Debug, Clone)]
pub struct ActiveFilter {
    pub height: u64,
    pub hash: BlockHash,
    pub filter: BlockFilter,
    /// The size of the block it was built from: what building it cost.
    pub block_size: usize,
}

/// Most entries listed by `GET /api/mempool`.
pub const MAX_MEMPOOL_LISTED: usize = 1000;
/// Most history entries of an address.
pub const MAX_HISTORY: usize = 100;

impl Node {
    /// The node's status; the peer network, which the node does not know, reports its peer
    /// count and the best height among its peers.
    pub fn status(&self, peers: usize, best_peer_height: u64) -> StatusResponse {
        // Without waiting for the chain: as of now when the state is free, else as of its last
        // change, the tip and the figures of one moment.
        let StatusParts { tip, next_bits, mempool, mempool_bytes, mempool_min_fee_rate } =
            self.status_parts();
        let params = self.network().params();
        let best = best_peer_height.max(tip.height);
        StatusResponse {
            network: self.network(),
            genesis: self.network().genesis_hash(),
            height: tip.height,
            tip: tip.hash,
            tip_time: tip.time,
            bits: next_bits,
            difficulty: difficulty(params.pow_limit, next_bits),
            chain_work: tip.work,
            peers,
            mempool,
            mempool_bytes,
            mempool_min_fee_rate,
            sync: SyncStatus {
                syncing: best > tip.height,
                best_peer_height: best,
                progress: if best == 0 { 1.0 } else { tip.height as f64 / best as f64 },
            },
            mining: self.is_mining(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// A page of the active chain, ascending.
    pub fn blocks(&self, query: &BlocksQuery) -> Result<Vec<BlockSummary>, StoreError> {
        let limit = query.limit.unwrap_or(20).clamp(1, MAX_BLOCKS_PER_PAGE) as u64;
        let height = self.store().height()?;
        let from = query.from.unwrap_or_else(|| (height + 1).saturating_sub(limit));
        let mut out = Vec::new();
        for h in from..(from.saturating_add(limit)).min(height + 1) {
            let Some(hash) = self.store().hash_at(h)? else { break };
            if let Some(block) = self.store().block(&hash)? {
                out.push(BlockSummary::of(&block));
            }
        }
        Ok(out)
    }

    /// The filters of the active chain's blocks from `query.from` up (see [`Node::active_filters`]).
    pub fn filters(&self, query: &FiltersQuery) -> Result<Vec<FilterView>, StoreError> {
        let limit = query.limit.unwrap_or(MAX_FILTERS_PER_PAGE).clamp(1, MAX_FILTERS_PER_PAGE) as usize;
        Ok(self
            .active_filters(query.from, limit, MAX_FILTER_PAGE_BYTES)?
            .into_iter()
            .map(|f| FilterView { height: f.height, hash: f.hash, filter: hex::encode(f.filter.as_bytes()) })
            .collect())
    }

    /// The filters of the active chain's blocks from height `from` up, built from the stored
    /// blocks: at most `limit`, about `max_bytes` of filters (at least one), and no more than
    /// [`FILTER_PAGE_BLOCK_BYTES`] of blocks read to build them, so one request costs the node a
    /// bounded amount of work whatever the blocks hold. Shared by the API and the peer layer.
    pub fn active_filters(
        &self,
        from: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<ActiveFilter>, StoreError> {
        let height = self.store().height()?;
        let mut out = Vec::new();
        let (mut bytes, mut read) = (0, 0);
        for h in from..from.saturating_add(limit as u64).min(height.saturating_add(1)) {
            let Some(hash) = self.store().hash_at(h)? else { break };
            // A reorganization since `hash_at` may have moved the block off the active chain
            // and out of the store: the page ends there.
            let Some(block) = self.store().block(&hash)? else { break };
            read += block.size();
            if read > FILTER_PAGE_BLOCK_BYTES && !out.is_empty() {
                break;
            }
            let filter = block.compute_filter();
            let block_size = block.size();
            bytes += filter.as_bytes().len();
            if bytes > max_bytes && !out.is_empty() {
                break;
            }
            out.push(ActiveFilter { height: h, hash, filter, block_size });
        }
        Ok(out)
    }

    /// `GET /api/headers`: active-chain headers from a height, or after the first hash of a
    /// locator the node's active chain holds (see [`HeadersQuery`]), at most
    /// [`MAX_HEADERS_PER_PAGE`], as their canonical bytes.
    pub fn headers(&self, query: &HeadersQuery) -> Result<HeadersView, HeadersQueryError> {
        let limit = query.limit.unwrap_or(MAX_HEADERS_PER_PAGE).clamp(1, MAX_HEADERS_PER_PAGE) as usize;
        let (headers, tip_height, from) = match (&query.from, &query.locator) {
            (Some(from), None) => {
                let state = self.state();
                (state.chain.headers_from(*from, limit), state.chain.height(), *from)
            }
            (None, Some(locator)) => {
                let locator = parse_locator(locator)?;
                let state = self.state();
                let headers = state.chain.headers_after_locator(&locator, limit);
                let from = headers.first().map_or(state.chain.height() + 1, |h| h.height);
                (headers, state.chain.height(), from)
            }
            _ => return Err(HeadersQueryError::FromOrLocator),
        };
        let mut bytes = Vec::with_capacity(headers.len() * HEADER_SIZE);
        for header in &headers {
            bytes.extend_from_slice(&header.to_array());
        }
        let count = headers.len() as u32;
        Ok(HeadersView { from, count, tip_height, headers: hex::encode(bytes) })
    }

    /// `GET /api/transactions/{txid}/proof`: the inclusion proof of a transaction of the active
    /// chain; `None` when it is not in it.
    pub fn inclusion_proof(&self, txid: &Txid) -> Result<Option<InclusionProof>, StoreError> {
        let Some(location) = self.store().tx_location(txid)? else { return Ok(None) };
        let Some(block) = self.store().block(&location.block)? else { return Ok(None) };
        let txids = block.txids();
        let Some(branch) = merkle_branch(&txids, location.position as usize) else { return Ok(None) };
        Ok(Some(InclusionProof {
            txid: *txid,
            block: location.block,
            height: block.header.height,
            position: u64::from(location.position),
            count: txids.len() as u64,
            branch: branch.iter().map(hex::encode).collect(),
        }))
    }

    /// A stored block's canonical bytes, by hash or active-chain height.
    pub fn block_bytes(&self, id: BlockId) -> Result<Option<Vec<u8>>, StoreError> {
        let hash = match id {
            BlockId::Hash(h) => h,
            BlockId::Height(h) => match self.store().hash_at(h)? {
                Some(hash) => hash,
                None => return Ok(None),
            },
        };
        self.store().block_bytes(&hash)
    }

    pub fn block(&self, id: BlockId) -> Result<Option<BlockView>, StoreError> {
        let hash = match id {
            BlockId::Hash(h) => h,
            BlockId::Height(h) => match self.store().hash_at(h)? {
                Some(hash) => hash,
                None => return Ok(None),
            },
        };
        let Some(block) = self.store().block(&hash)? else { return Ok(None) };
        let tip_height = self.store().height()?;
        let in_active_chain = self.store().hash_at(block.header.height)? == Some(hash);
        let confirmations = if in_active_chain { tip_height - block.header.height + 1 } else { 0 };
        let fees = if in_active_chain {
            self.input_totals(&block, &hash)?
        } else {
            vec![None; block.transactions.len()]
        };
        let transactions = block
            .transactions
            .iter()
            .zip(fees)
            .map(|(tx, inputs)| TxView {
                txid: tx.txid(),
                transaction: tx.clone(),
                size: tx.size(),
                fee: fee_of(tx, inputs),
                status: if in_active_chain { TxState::Confirmed } else { TxState::Pending },
                block: Some(hash),
                block_height: Some(block.header.height),
                confirmations,
            })
            .collect();
        Ok(Some(BlockView {
            summary: BlockSummary::of(&block),
            confirmations,
            in_active_chain,
            transactions,
        }))
    }

    /// Per transaction of an active block, the sum of the coins it spent (from undo data).
    fn input_totals(&self, block: &Block, hash: &BlockHash) -> Result<Vec<Option<Amount>>, StoreError> {
        let Some(undo) = self.store().undo(hash)? else { return Ok(vec![None; block.transactions.len()]) };
        let mut spent = undo.0.iter();
        Ok(block
            .transactions
            .iter()
            .map(|tx| {
                let coins: Vec<Amount> =
                    spent.by_ref().take(tx.inputs.len()).map(|(_, c)| c.output.amount).collect();
                (!tx.is_coinbase()).then(|| Amount::sum(coins).ok()).flatten()
            })
            .collect())
    }

    pub fn transaction(&self, txid: &Txid) -> Result<Option<TxView>, StoreError> {
        if let Some(entry) = self.state().mempool.get(txid) {
            return Ok(Some(TxView {
                txid: *txid,
                transaction: entry.tx.clone(),
                size: entry.size,
                fee: Some(entry.fee),
                status: TxState::Pending,
                block: None,
                block_height: None,
                confirmations: 0,
            }));
        }
        let Some(location) = self.store().tx_location(txid)? else { return Ok(None) };
        let Some(view) = self.block(BlockId::Hash(location.block))? else { return Ok(None) };
        Ok(view.transactions.into_iter().nth(location.position as usize))
    }

    pub fn address(&self, address: &Address) -> Result<AddressView, StoreError> {
        let pkh = address.hash;
        let confirmed = self.store().address_utxos(&pkh)?;
        let mut history = Vec::new();
        let mut utxos = Vec::new();
        {
            let state = self.state();
            let view = self.store().coin_view()?;
            let activity = state.mempool.address_activity(&pkh, &view);
            for (outpoint, coin) in &confirmed {
                if state.mempool.spender_of(outpoint).is_none() {
                    utxos.push(UtxoView {
                        outpoint: *outpoint,
                        amount: coin.output.amount,
                        height: Some(coin.height),
                        coinbase: coin.is_coinbase,
                    });
                }
            }
            for (outpoint, amount) in activity.unspent {
                utxos.push(UtxoView { outpoint, amount, height: None, coinbase: false });
            }
            for (txid, received, sent, time) in activity.history {
                history.push(HistoryEntry { txid, height: None, time: Some(time), received, sent });
            }
        }
        history.extend(self.store().address_history(&pkh, MAX_HISTORY)?);
        history.truncate(MAX_HISTORY);
        let balance = Amount::sum(confirmed.iter().map(|(_, c)| c.output.amount)).unwrap_or(Amount::ZERO);
        let pending = Amount::sum(utxos.iter().map(|u| u.amount)).unwrap_or(Amount::ZERO);
        Ok(AddressView { address: address.to_string(), balance, pending, utxos, history })
    }

    pub fn mempool_view(&self) -> MempoolView {
        let state = self.state();
        MempoolView {
            count: state.mempool.len(),
            bytes: state.mempool.bytes(),
            transactions: state
                .mempool
                .entries_by_fee_rate()
                .take(MAX_MEMPOOL_LISTED)
                .map(|e| MempoolEntryView {
                    txid: e.txid,
                    size: e.size,
                    fee: e.fee,
                    fee_rate: e.fee_rate(),
                    time: e.time,
                })
                .collect(),
        }
    }
}

fn fee_of(tx: &Transaction, inputs: Option<Amount>) -> Option<Amount> {
    inputs.and_then(|i| i.checked_sub(tx.output_total()?).ok())
}

/// How many times harder `bits` is than `limit`, as a float for display.
fn difficulty(limit: ferro_shared::pow::CompactTarget, bits: ferro_shared::pow::CompactTarget) -> f64 {
    let (Ok(limit), Ok(target)) = (Target::from_compact(limit), Target::from_compact(bits)) else {
        return 0.0;
    };
    let as_f64 = |t: Target| t.to_be_bytes().iter().fold(0.0f64, |acc, &b| acc * 256.0 + b as f64);
    as_f64(limit) / as_f64(target)
}

impl crate::chain::Store {
    /// Undo data of an active block.
    pub fn undo(&self, hash: &BlockHash) -> Result<Option<Undo>, StoreError> {
        self.undo_bytes(hash)?.map(|b| from_bytes(&b).map_err(StoreError::from)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use crate::node::Origin;
    use crate::storage_tests::{key, node_on, spend_coinbase};
    use crate::testing::FailingBackend;

    /// The status while something holds the state (a block being connected), as a wallet sees
    /// it.
    fn status_while_busy(node: &crate::Node) -> (ferro_shared::api::StatusResponse, crate::chain::Tip, u32) {
        let busy = node.state();
        let (tip, next_bits) = (busy.chain.tip(), busy.chain.next_block().bits);
        let status = node.status(0, 0);
        drop(busy);
        (status, tip, next_bits.0)
    }

    #[tokio::test]
    async fn status_while_the_state_is_busy_shows_its_last_change() {
        let node = node_on(&FailingBackend::new(), 3).await;
        // A status taken while the pool was empty.
        assert_eq!(node.status(0, 0).mempool, 0);
        // The node takes a payment: a status while the state is busy shows it.
        node.submit_transaction(spend_coinbase(&node, 1), Origin::Local).await.unwrap();
        let (status, _, _) = status_while_busy(&node);
        assert_eq!(status.mempool, 1, "a payment the node took is missing from its status");
        // The payment is mined: the status shows the new tip, the difficulty after it, and the
        // payment gone from the pool, all of one moment.
        node.mine_blocks(key().public_key().pubkey_hash(), 1).await.unwrap();
        let (status, tip, next_bits) = status_while_busy(&node);
        assert_eq!((status.height, status.tip, status.bits.0), (tip.height, tip.hash, next_bits));
        assert_eq!((status.height, status.mempool), (4, 0));
    }
}

/// Why a `GET /api/headers` query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadersQueryError {
    #[error("give either from=HEIGHT or locator=HASH,HASH,...")]
    FromOrLocator,
    #[error("the locator holds more than {MAX_LOCATOR_HASHES_API} hashes")]
    LocatorTooLong,
    #[error("bad locator hash {0:?}")]
    BadHash(String),
}

fn parse_locator(text: &str) -> Result<Vec<BlockHash>, HeadersQueryError> {
    let parts: Vec<&str> = text.split(',').collect();
    if parts.len() > MAX_LOCATOR_HASHES_API {
        return Err(HeadersQueryError::LocatorTooLong);
    }
    parts
        .into_iter()
        .map(|p| p.parse::<BlockHash>().map_err(|_| HeadersQueryError::BadHash(p.chars().take(80).collect())))
        .collect()
}
