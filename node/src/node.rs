//! The node: chain and mempool behind one lock, the miner, and the events that the HTTP API and
//! the peer network listen to.
//!
//! ```text
//!  API / peers ──submit_transaction──▶ lock briefly: sizes, the coins spent (value, owner)
//!                                      └─▶ verify signatures against them (blocking pool, no lock)
//!                                      └─▶ lock ─▶ mempool.accept ─▶ NodeEvent::Tx
//!  API / peers / miner ──submit_block──▶ (blocking pool) lock ─▶ chain.process_block
//!                                      └─▶ mempool.update_for_new_tip ─▶ NodeEvent::Block, ::Tip
//! ```
//! The lock is a `std::sync::Mutex`, held only inside blocking tasks or for brief reads, never
//! across an `.await`.

use crate::chain::{run_credits, BlockOutcome, Chain, ChainError, Store, StoreError, Tip};
use crate::env::{Clock, Entropy};
use crate::mempool::{Accepted, Mempool, MempoolError};
use crate::metrics::Metrics;
use crate::miner;
use ferro_shared::block::BlockHeader;
use ferro_shared::consensus::{check_tx_shape, spent_outputs, verify_tx_signatures, Coin, CoinView, TxError};
use ferro_shared::hash::{BlockHash, PubkeyHash, Txid};
use ferro_shared::pow::Work;
use ferro_shared::{Address, Amount, Block, Network, OutPoint, Transaction, TxOut};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

/// How a node is set up.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub network: Network,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Peer URLs to dial at start, like `ws://127.0.0.1:8081/p2p`.
    pub peers: Vec<String>,
    /// Mine continuously, paying rewards to this address.
    pub mine_to: Option<Address>,
    /// Folder of the built browser wallet.
    pub web_dir: PathBuf,
    /// Whether `POST /api/mine` is available (on by default on `dev` only).
    pub mine_api: bool,
    /// Whether endpoints that change the node accept callers from outside loopback.
    pub allow_remote_admin: bool,
    /// Memory the mempool may take (its estimate, [`Mempool::memory`]); the lowest fee rates
    /// are evicted beyond it.
    pub mempool_max_memory: usize,
    /// Memory the database may use to cache pages of its file.
    pub db_cache_bytes: usize,
    /// Whether to dial addresses learned from peers (off: only `peers` and `POST /api/peers`).
    pub discover: bool,
    /// Largest accepted HTTP request body.
    pub max_body_bytes: usize,
    /// The wall clock the node reads (the system's, or the simulator's).
    pub clock: Clock,
    /// Where the node's random bytes come from (the system's, or the simulator's seeded stream).
    pub entropy: Entropy,
    /// Faults to inject, for the simulator to show that its invariants catch them. All off in
    /// a real node.
    pub faults: Faults,
}

/// Deliberate defects the simulator switches on in its own tests, to prove that an invariant
/// catches them. Never set by the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Transactions of blocks taken off the active chain are dropped instead of going back to
    /// the pool.
    pub forget_disconnected_transactions: bool,
}

impl NodeConfig {
    /// Defaults for `network`, with data under `data_dir`.
    pub fn new(network: Network, data_dir: PathBuf) -> Self {
        NodeConfig {
            network,
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            peers: vec![],
            mine_to: None,
            web_dir: PathBuf::from("dist"),
            mine_api: network == Network::Dev,
            allow_remote_admin: false,
            mempool_max_memory: 64 * 1024 * 1024,
            db_cache_bytes: crate::chain::DEFAULT_CACHE_BYTES,
            discover: true,
            max_body_bytes: 2 * 1024 * 1024,
            clock: Clock::system(),
            entropy: Entropy::os(),
            faults: Faults::default(),
        }
    }
}

/// Where an item came from, so it is not relayed back to its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    Local,
    Peer(u64),
}

/// What happened inside the node, for the API's event stream and for relay to peers.
#[derive(Debug, Clone)]
pub enum NodeEvent {
    /// A valid block was stored: it joined the active chain or sits on a side chain. The event
    /// names it only (the store has it): a broadcast channel keeps its last events, and blocks
    /// in them would stay in memory long after every subscriber saw them.
    /// `side_work` is `None` for a block that joined the active chain, the work of its branch
    /// for one stored off it: relay skips it once the tip has more.
    Block { hash: BlockHash, header: BlockHeader, origin: Origin, side_work: Option<Work> },
    /// The active chain's tip moved.
    Tip { tip: Tip, reorg_depth: u64 },
    /// A transaction entered the mempool.
    Tx { tx: Arc<Transaction>, txid: Txid, fee: Amount, size: usize, origin: Origin },
}

/// What the status reports of the chain and the pool, all as of one moment: the tip and the
/// difficulty of the block after it always go together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StatusParts {
    pub tip: Tip,
    pub next_bits: ferro_shared::pow::CompactTarget,
    pub mempool: usize,
    pub mempool_bytes: usize,
    pub mempool_min_fee_rate: u64,
}

impl StatusParts {
    fn of(chain: &Chain, mempool: &Mempool, now: u64) -> Self {
        StatusParts {
            tip: chain.tip(),
            next_bits: chain.next_block().bits,
            mempool: mempool.len(),
            mempool_bytes: mempool.bytes(),
            mempool_min_fee_rate: mempool.min_fee_rate(now),
        }
    }
}

/// Failures of the node's own machinery (not of the input).
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store failed while the node ran; it stopped rather than judge without its data.
    #[error("storage failed: {0}; the node stopped")]
    StorageFailed(String),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("a background task failed: {0}")]
    Task(String),
}

/// Why a transaction was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitTxError {
    #[error(transparent)]
    Rejected(#[from] MempoolError),
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Why a block was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitBlockError {
    #[error(transparent)]
    Rejected(#[from] ChainError),
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Why mining stopped.
#[derive(Debug, thiserror::Error)]
pub enum MineError {
    #[error("the node is shutting down")]
    Stopped,
    #[error("a mined block was refused: {0}")]
    Refused(ChainError),
    #[error(transparent)]
    Node(#[from] NodeError),
}

pub(crate) struct State {
    pub chain: Chain,
    pub mempool: Mempool,
}

struct Inner {
    config: NodeConfig,
    state: Mutex<State>,
    /// What `GET /api/status` reports of the chain and the pool, as of the last change to the
    /// state or the last time it was free: status never waits for the chain (see
    /// [`Node::status`]). Taken after `state` (or with `try_state`), never the other way round.
    status_parts: Mutex<StatusParts>,
    store: Store,
    events: broadcast::Sender<NodeEvent>,
    tip: watch::Sender<Tip>,
    metrics: Metrics,
    started: Instant,
    mining: AtomicBool,
    /// The first storage failure, once one happened: the node is stopping ([`Node::fail`]).
    failed: watch::Sender<Option<String>>,
}

/// A handle to a running node. Cheap to clone; every clone talks to the same node.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("network", &self.network()).finish()
    }
}

/// Seconds since the Unix epoch on the system clock (a node reads its own, [`Node::unix_now`]).
pub fn unix_now() -> u64 {
    crate::env::system_unix_now()
}

/// A transaction on its way into the mempool: its txid, the outputs it spends, and the
/// verdict so far.
type Pending = (Transaction, Txid, Vec<TxOut>, Result<(), MempoolError>);

/// What the signatures of `tx` must be verified against: the outputs it spends as this node
/// records them. Refuses first what needs no signature check: a size the pool never takes, a
/// coin this node does not know, a key that does not own its coin (named as such, rather
/// than as the signature that does not verify, which it would be too), a conflict with a pool
/// transaction and a fee rate under the pool's minimum at `now`.
fn coins_to_verify(
    mempool: &Mempool,
    tx: &Transaction,
    coins: &impl CoinView,
    now: u64,
) -> Result<Vec<TxOut>, MempoolError> {
    mempool.check_size(tx)?;
    let spent = mempool.spent_outputs(tx, coins)?;
    if let Some(index) = tx.inputs.iter().zip(&spent).position(|(i, c)| i.pubkey.pubkey_hash() != c.recipient)
    {
        return Err(TxError::KeyMismatch { index }.into());
    }
    mempool.precheck(tx, &spent, now)?;
    Ok(spent)
}

/// Coins of `earlier` (outputs of transactions that come first in a batch) before `chain`'s.
struct EarlierFirst<'a, C> {
    earlier: &'a HashMap<OutPoint, Coin>,
    chain: &'a C,
}

impl<C: CoinView> CoinView for EarlierFirst<'_, C> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        self.earlier.get(outpoint).copied().or_else(|| self.chain.coin(outpoint))
    }
}

/// Errors that may be a storage failure.
trait AsStoreError {
    fn store_error(&self) -> Option<&StoreError>;
}

impl AsStoreError for NodeError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            NodeError::Store(e) => Some(e),
            NodeError::StorageFailed(_) | NodeError::DataDir { .. } | NodeError::Task(_) => None,
        }
    }
}

impl AsStoreError for SubmitTxError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            SubmitTxError::Node(e) => e.store_error(),
            SubmitTxError::Rejected(_) => None,
        }
    }
}

impl AsStoreError for SubmitBlockError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            SubmitBlockError::Rejected(ChainError::Store(e)) => Some(e),
            SubmitBlockError::Rejected(_) => None,
            SubmitBlockError::Node(e) => e.store_error(),
        }
    }
}

fn task_error(e: tokio::task::JoinError) -> NodeError {
    NodeError::Task(e.to_string())
}

/// Takes the pending transactions saved at the last shutdown back into `mempool`: signatures
/// verified again on every core, then each accepted against the chain as it is now, in the
/// order they first arrived and with their arrival times. Those that no longer fit (confirmed,
/// conflicting, invalid) are dropped.
fn restore_mempool(
    store: &Store,
    chain: &Chain,
    mempool: &mut Mempool,
    network: Network,
) -> Result<(), NodeError> {
    use rayon::prelude::*;
    let (saved, unreadable) = store.take_mempool()?;
    if unreadable > 0 {
        tracing::warn!(unreadable, "skipped saved pending transactions that could not be read");
    }
    if saved.is_empty() {
        return Ok(());
    }
    let genesis = network.genesis_hash();
    let view = store.coin_view()?;
    // Saved transactions may spend each other's outputs.
    let saved_outputs: HashMap<OutPoint, Coin> = saved
        .iter()
        .flat_map(|(_, tx)| {
            let txid = tx.txid();
            tx.outputs.iter().enumerate().map(move |(vout, output)| {
                (
                    OutPoint { txid, vout: vout as u32 },
                    Coin { output: *output, height: 0, is_coinbase: false },
                )
            })
        })
        .collect();
    let coins = EarlierFirst { earlier: &saved_outputs, chain: &view };
    let spent: Vec<Option<Vec<TxOut>>> = saved.iter().map(|(_, tx)| spent_outputs(tx, &coins).ok()).collect();
    let verified: Vec<bool> = saved
        .par_iter()
        .zip(&spent)
        .map(|((_, tx), spent)| spent.as_ref().is_some_and(|s| verify_tx_signatures(tx, &genesis, s).is_ok()))
        .collect();
    let next_height = chain.height() + 1;
    let total = saved.len();
    for ((time, tx), ok) in saved.into_iter().zip(verified) {
        if ok {
            let _ = mempool.accept(tx, &view, next_height, time);
        }
    }
    // A coin that could not be read is not a missing coin: refuse to start.
    view.check()?;
    tracing::info!(restored = mempool.len(), saved = total, "pending transactions restored");
    Ok(())
}

impl Node {
    /// Saves the pending transactions to the store, for the next start to take back
    /// ([`Node::open`]). Called at shutdown.
    pub fn save_mempool(&self) -> Result<(), NodeError> {
        let state = self.state();
        let entries: Vec<(u64, &Transaction)> =
            state.mempool.entries_by_arrival().into_iter().map(|e| (e.time, &e.tx)).collect();
        self.inner.store.save_mempool(&entries)?;
        tracing::info!(transactions = entries.len(), "pending transactions saved");
        Ok(())
    }

    /// Opens the node's store under `config.data_dir` (creating it) and loads the chain.
    pub fn open(config: NodeConfig) -> Result<Node, NodeError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| NodeError::DataDir { path: config.data_dir.clone(), source })?;
        let store = Store::open_with_cache(
            &config.data_dir.join("chain.redb"),
            config.network,
            config.db_cache_bytes,
        )?;
        Node::open_with_store(config, store)
    }

    /// Loads the chain from `store` (opened for `config.network`); [`Node::open`] without
    /// the data directory.
    pub fn open_with_store(config: NodeConfig, store: Store) -> Result<Node, NodeError> {
        let chain = Chain::open(store.clone(), config.network)?;
        let mut mempool = Mempool::new(config.network.params(), config.mempool_max_memory);
        restore_mempool(&store, &chain, &mut mempool, config.network)?;
        let tip = chain.tip();
        let metrics = Metrics::default();
        metrics.height.set(tip.height as i64);
        metrics.side_chain_bytes.set(chain.side_bytes() as i64);
        metrics.mempool_transactions.set(mempool.len() as i64);
        metrics.mempool_bytes.set(mempool.bytes() as i64);
        metrics.mempool_memory_bytes.set(mempool.memory() as i64);
        let (events, _) = broadcast::channel(4096);
        let (tip_tx, _) = watch::channel(tip);
        let parts = StatusParts::of(&chain, &mempool, config.clock.unix_now());
        Ok(Node {
            inner: Arc::new(Inner {
                config,
                status_parts: Mutex::new(parts),
                state: Mutex::new(State { chain, mempool }),
                store,
                events,
                tip: tip_tx,
                metrics,
                started: Instant::now(),
                mining: AtomicBool::new(false),
                failed: watch::channel(None).0,
            }),
        })
    }

    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// Whether the pool holds the transaction `txid`.
    pub fn pool_contains(&self, txid: &Txid) -> bool {
        self.state().mempool.contains(txid)
    }

    /// Seconds since the Unix epoch on this node's clock.
    pub fn unix_now(&self) -> u64 {
        self.inner.config.clock.unix_now()
    }

    /// This node's source of random bytes.
    pub fn entropy(&self) -> &crate::env::Entropy {
        &self.inner.config.entropy
    }

    pub fn network(&self) -> Network {
        self.inner.config.network
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn uptime_secs(&self) -> u64 {
        self.inner.started.elapsed().as_secs()
    }

    /// Locks the chain and mempool. Never hold the guard across an `.await`.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the in-memory state possibly half-updated;
        // the store is transactional, so continuing with the guard is the lesser evil only
        // for reads. Writers go through the store, which stays consistent.
        self.inner.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The state, if nobody holds it now.
    pub(crate) fn try_state(&self) -> Option<MutexGuard<'_, State>> {
        match self.inner.state.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// The chain and pool figures of the status: fresh when the state is free, else as of the
    /// last change to it (a block being connected holds the state for up to a second). Never
    /// waits for the state: only `try_state` under the cache's lock.
    pub(crate) fn status_parts(&self) -> StatusParts {
        let mut cached = self.inner.status_parts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = self.try_state() {
            *cached = StatusParts::of(&state.chain, &state.mempool, self.unix_now());
        }
        *cached
    }

    pub fn tip(&self) -> Tip {
        *self.inner.tip.borrow()
    }

    /// Records that the store failed: the node cannot tell a coin it could not read from one
    /// that does not exist, so it stops (see [`crate::server::serve`]) rather than misjudge.
    /// Only the first failure is logged and kept.
    pub fn fail(&self, error: &StoreError) {
        self.inner.failed.send_if_modified(|failed| {
            if failed.is_some() {
                return false;
            }
            tracing::error!(error = %error, "storage failed: {error}; stopping");
            *failed = Some(error.to_string());
            true
        });
    }

    /// Sees the first storage failure ([`Node::fail`]); `None` while there was none.
    pub fn watch_failure(&self) -> watch::Receiver<Option<String>> {
        self.inner.failed.subscribe()
    }

    /// `Err` once the store has failed: nothing more is judged.
    fn ensure_running(&self) -> Result<(), NodeError> {
        match &*self.inner.failed.borrow() {
            Some(e) => Err(NodeError::StorageFailed(e.clone())),
            None => Ok(()),
        }
    }

    /// Passes `result` on, stopping the node first if it is a storage failure.
    fn stop_on_storage_error<T, E: AsStoreError>(&self, result: Result<T, E>) -> Result<T, E> {
        if let Some(e) = result.as_ref().err().and_then(AsStoreError::store_error) {
            self.fail(e);
        }
        result
    }

    /// A receiver that sees every change of the tip.
    pub fn watch_tip(&self) -> watch::Receiver<Tip> {
        self.inner.tip.subscribe()
    }

    /// Every node event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    /// Whether `txid` is waiting in the mempool.
    pub fn in_mempool(&self, txid: &Txid) -> bool {
        self.state().mempool.contains(txid)
    }

    pub fn is_mining(&self) -> bool {
        self.inner.mining.load(Ordering::Relaxed)
    }

    /// Validates a transaction and adds it to the mempool. Signatures are verified on the
    /// blocking pool before the lock is taken.
    pub async fn submit_transaction(
        &self,
        tx: Transaction,
        origin: Origin,
    ) -> Result<Accepted, SubmitTxError> {
        let mut results = self.submit_transactions(vec![tx], origin).await?;
        Ok(results.pop().expect("one result per transaction")?)
    }

    /// Validates transactions and adds them to the mempool in order (a later one may spend an
    /// earlier one's outputs); one result per transaction. Signatures are verified on every core
    /// before the lock is taken, which is then taken once for all of them.
    pub async fn submit_transactions(
        &self,
        txs: Vec<Transaction>,
        origin: Origin,
    ) -> Result<Vec<Result<Accepted, MempoolError>>, NodeError> {
        let result = self.admit_transactions(txs, origin).await;
        self.stop_on_storage_error(result)
    }

    async fn admit_transactions(
        &self,
        txs: Vec<Transaction>,
        origin: Origin,
    ) -> Result<Vec<Result<Accepted, MempoolError>>, NodeError> {
        self.ensure_running()?;
        let params = self.network().params();
        // Under the lock, briefly: the coins each transaction spends, as this node records
        // them (the chain's, pool transactions' outputs, or outputs of earlier transactions of
        // this batch). The signatures commit to them. The output an outpoint names never
        // changes, so they are still the ones `accept` finds later.
        let now = self.unix_now();
        let checked: Vec<Pending> = {
            let state = self.state();
            let view = self.inner.store.coin_view()?;
            let mut batch: HashMap<OutPoint, Coin> = HashMap::new();
            let checked = txs
                .into_iter()
                .map(|tx| {
                    let txid = tx.txid();
                    let looked_up = match check_tx_shape(&tx, params) {
                        Err(e) => Err(MempoolError::Invalid(e)),
                        Ok(()) if state.mempool.contains(&txid) => Err(MempoolError::AlreadyKnown(txid)),
                        Ok(()) => coins_to_verify(
                            &state.mempool,
                            &tx,
                            &EarlierFirst { earlier: &batch, chain: &view },
                            now,
                        ),
                    };
                    let (spent, early) = match looked_up {
                        Ok(spent) => (spent, Ok(())),
                        Err(e) => (Vec::new(), Err(e)),
                    };
                    if early.is_ok() {
                        for (vout, output) in tx.outputs.iter().enumerate() {
                            let coin = Coin { output: *output, height: 0, is_coinbase: false };
                            batch.insert(OutPoint { txid, vout: vout as u32 }, coin);
                        }
                    }
                    (tx, txid, spent, early)
                })
                .collect();
            // A coin that could not be read is not a missing coin.
            view.check()?;
            checked
        };
        let genesis = self.network().genesis_hash();
        let checked = crate::env::blocking(move || {
            use rayon::prelude::*;
            let mut checked = checked;
            checked.par_iter_mut().filter(|(_, _, _, r)| r.is_ok()).for_each(|(tx, _, spent, result)| {
                *result = verify_tx_signatures(tx, &genesis, spent).map_err(MempoolError::Invalid);
            });
            checked
        })
        .await
        .map_err(task_error)?;

        let mut results = Vec::with_capacity(checked.len());
        let mut admitted = Vec::new();
        {
            let mut state = self.state();
            let view = self.inner.store.coin_view()?;
            let next_height = state.chain.height() + 1;
            let now = self.unix_now();
            for (tx, txid, _, early) in checked {
                let result = early.and_then(|()| state.mempool.accept(tx.clone(), &view, next_height, now));
                if let Ok(accepted) = &result {
                    admitted.push((Arc::new(tx), txid, accepted.fee));
                }
                results.push(result);
            }
            self.publish_state_figures(&state);
            view.check()?;
        }
        let m = &self.inner.metrics;
        for result in &results {
            match result {
                Ok(_) => m.transactions_accepted.inc(),
                Err(MempoolError::AlreadyKnown(_)) => 0,
                Err(_) => m.transactions_rejected.inc(),
            };
        }
        for (tx, txid, fee) in admitted {
            let size = tx.size();
            let _ = self.inner.events.send(NodeEvent::Tx { tx, txid, fee, size, origin });
        }
        Ok(results)
    }

    /// Validates a block and adds it to the chain; on a new tip the mempool follows.
    pub async fn submit_block(&self, block: Block, origin: Origin) -> Result<BlockOutcome, SubmitBlockError> {
        let node = self.clone();
        let result = crate::env::blocking(move || node.process_block_blocking(block, origin, Work::ZERO))
            .await
            .map_err(task_error)?;
        self.stop_on_storage_error(result)
    }

    /// Adds one block; `credit` is the work the blocks after it in a sync batch prove
    /// ([`run_credits`]).
    fn process_block_blocking(
        &self,
        block: Block,
        origin: Origin,
        credit: Work,
    ) -> Result<BlockOutcome, SubmitBlockError> {
        self.ensure_running()?;
        let (hash, header) = (block.hash(), block.header);
        let mut guard = self.state();
        let state = &mut *guard;
        // Transactions in the mempool had their signatures verified when they were admitted.
        let mempool = &state.mempool;
        let in_mempool = |txid: &Txid| mempool.contains(txid);
        let result = state.chain.process_block_in_run(block, self.unix_now(), &in_mempool, credit);
        self.inner.metrics.side_chain_bytes.set(state.chain.side_bytes() as i64);
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(e) => {
                drop(guard);
                if e.is_peer_fault() {
                    self.inner.metrics.blocks_rejected.inc();
                }
                return Err(e.into());
            }
        };
        // A block stored only for the work the rest of its sync batch proves is not news yet.
        let relay = state.chain.is_worth_relaying(&hash);
        let side_work = state.chain.record(&hash).map(|r| r.work);
        let mut returned = Vec::new();
        if let BlockOutcome::NewTip { tip, connected, disconnected } = &outcome {
            let view = self.inner.store.coin_view().map_err(NodeError::from)?;
            // The simulator's self-test switches this fault on to show its invariants catch it.
            let disconnected: &[Block] =
                if self.inner.config.faults.forget_disconnected_transactions { &[] } else { disconnected };
            let update = state.mempool.update_for_new_tip(
                connected,
                disconnected,
                &view,
                tip.height + 1,
                self.unix_now(),
            );
            view.check().map_err(NodeError::from)?;
            // Transactions back from disconnected blocks are news to peers on the new branch.
            returned = update
                .added
                .iter()
                .filter_map(|txid| state.mempool.get(txid))
                .map(|e| (Arc::new(e.tx.clone()), e.txid, e.fee, e.size))
                .collect();
            self.publish_state_figures(state);
        }
        drop(guard);
        for (tx, txid, fee, size) in returned {
            let _ = self.inner.events.send(NodeEvent::Tx { tx, txid, fee, size, origin: Origin::Local });
        }
        match &outcome {
            BlockOutcome::AlreadyKnown => {}
            BlockOutcome::SideChain { .. } => {
                self.inner.metrics.blocks_accepted.inc();
                if relay {
                    let _ = self.inner.events.send(NodeEvent::Block { hash, header, origin, side_work });
                }
            }
            BlockOutcome::NewTip { tip, disconnected, .. } => {
                let m = &self.inner.metrics;
                m.blocks_accepted.inc();
                m.height.set(tip.height as i64);
                if !disconnected.is_empty() {
                    m.reorganizations.inc();
                    tracing::info!(depth = disconnected.len(), tip = %tip.hash, height = tip.height, "reorganized");
                }
                tracing::debug!(height = tip.height, hash = %tip.hash, "new tip");
                let _ = self.inner.events.send(NodeEvent::Block { hash, header, origin, side_work: None });
                let _ = self
                    .inner
                    .events
                    .send(NodeEvent::Tip { tip: *tip, reorg_depth: disconnected.len() as u64 });
                self.inner.tip.send_replace(*tip);
            }
        }
        Ok(outcome)
    }

    /// Adds blocks a peer sent in chain order (a sync batch). A run that extends the tip is
    /// connected in one transaction, with signatures verified alongside; anything else goes block
    /// by block. Stops at the first block refused. `proven_after` is the work of verified headers
    /// that follow the last block (headers-first sync): a branch short of the tip's work by no
    /// more than the work proven after it is stored, to be connected when the rest arrives.
    pub async fn submit_blocks(
        &self,
        blocks: Vec<Block>,
        origin: Origin,
        proven_after: Work,
    ) -> Result<(), SubmitBlockError> {
        let node = self.clone();
        let result = crate::env::blocking(move || node.process_blocks_blocking(blocks, origin, proven_after))
            .await
            .map_err(task_error)?;
        self.stop_on_storage_error(result)
    }

    fn process_blocks_blocking(
        &self,
        mut blocks: Vec<Block>,
        origin: Origin,
        proven_after: Work,
    ) -> Result<(), SubmitBlockError> {
        self.ensure_running()?;
        let mut state = self.state();
        let known = blocks.iter().take_while(|b| state.chain.contains(&b.hash())).count();
        blocks.drain(..known);
        if blocks.is_empty() {
            return Ok(());
        }
        let extended = {
            let state = &mut *state;
            // Transactions in the mempool had their signatures verified when they were admitted.
            let mempool = &state.mempool;
            state.chain.extend_with(&blocks, self.unix_now(), &|txid: &Txid| mempool.contains(txid))
        };
        let Some(outcome) = extended else {
            drop(state);
            // Not on the tip: a branch short of the tip's work is kept only as far as the rest
            // of the batch proves the work it lacks.
            let credits = run_credits(&blocks);
            for (block, credit) in blocks.into_iter().zip(credits) {
                let credit = credit.saturating_add(&proven_after);
                self.process_block_blocking(block, origin, credit)?;
            }
            return Ok(());
        };
        let connected = &blocks[..outcome.connected];
        if !connected.is_empty() {
            let tip = state.chain.tip();
            let view = self.inner.store.coin_view().map_err(NodeError::from)?;
            state.mempool.update_for_new_tip(connected, &[], &view, tip.height + 1, self.unix_now());
            view.check().map_err(NodeError::from)?;
            self.publish_state_figures(&state);
            drop(state);
            let m = &self.inner.metrics;
            m.blocks_accepted.inc_by(connected.len() as u64);
            m.height.set(tip.height as i64);
            tracing::debug!(blocks = connected.len(), height = tip.height, hash = %tip.hash, "new tip");
            for block in connected {
                let (hash, header) = (block.hash(), block.header);
                let _ = self.inner.events.send(NodeEvent::Block { hash, header, origin, side_work: None });
            }
            let _ = self.inner.events.send(NodeEvent::Tip { tip, reorg_depth: 0 });
            self.inner.tip.send_replace(tip);
        } else {
            drop(state);
        }
        match outcome.failure {
            None => Ok(()),
            Some(e) => {
                if e.is_peer_fault() {
                    self.inner.metrics.blocks_rejected.inc();
                }
                Err(e.into())
            }
        }
    }

    /// Publishes the figures of the state after a change to it: the metrics, and what the status
    /// reports while the state is busy. Every change to the chain's tip or the pool calls it
    /// before letting go of the state.
    fn publish_state_figures(&self, state: &State) {
        *self.inner.status_parts.lock().unwrap_or_else(|p| p.into_inner()) =
            StatusParts::of(&state.chain, &state.mempool, self.unix_now());
        self.inner.metrics.mempool_transactions.set(state.mempool.len() as i64);
        self.inner.metrics.mempool_bytes.set(state.mempool.bytes() as i64);
        self.inner.metrics.mempool_memory_bytes.set(state.mempool.memory() as i64);
        let min_fee_rate = state.mempool.min_fee_rate(self.unix_now());
        self.inner.metrics.mempool_min_fee_rate.set(i64::try_from(min_fee_rate).unwrap_or(i64::MAX));
    }

    /// A block template on the current tip paying `to`, with mempool transactions by fee rate.
    pub fn block_template(&self, to: PubkeyHash) -> Block {
        let params = self.network().params();
        let state = self.state();
        let next = state.chain.next_block();
        // Room for the header, the transaction count and a one-output coinbase.
        let reserved = ferro_shared::block::BLOCK_RESERVED_BYTES;
        let txs = state.mempool.select_for_block(params.max_block_bytes - reserved);
        drop(state);
        let time = self.unix_now().max(next.min_time);
        miner::build_template(params, next.height, next.prev, next.bits, time, to, txs)
    }

    /// Mines one block on the current tip, retrying when another block takes the tip first.
    /// `stop` ends the search early.
    pub async fn mine_one(&self, to: PubkeyHash, stop: &watch::Receiver<bool>) -> Result<Block, MineError> {
        loop {
            if *stop.borrow() {
                return Err(MineError::Stopped);
            }
            let mut block = self.block_template(to);
            let flag = Arc::new(AtomicBool::new(false));
            // Stop the search when the tip moves or the caller stops.
            let watcher = {
                let flag = flag.clone();
                let mut tip = self.watch_tip();
                let mut stop = stop.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        biased;
                        _ = tip.changed() => {}
                        _ = stop.changed() => {}
                    }
                    flag.store(true, Ordering::Relaxed);
                })
            };
            let started = Instant::now();
            let search_flag = flag.clone();
            let (block, found) = crate::env::blocking(move || {
                let found = miner::mine_block(&mut block, &search_flag);
                (block, found)
            })
            .await
            .map_err(task_error)?;
            watcher.abort();
            if !found {
                continue;
            }
            let secs = started.elapsed().as_secs_f64();
            if secs > 0.5 {
                let hashes = ferro_shared::pow::Target::from_compact(block.header.bits)
                    .map(|t| t.work().low_u64() as f64)
                    .unwrap_or(0.0);
                self.inner.metrics.hash_rate.set(hashes / secs);
            }
            match self.submit_block(block.clone(), Origin::Local).await {
                Ok(BlockOutcome::NewTip { .. }) => return Ok(block),
                Ok(_) => continue,
                // The tip moved on while the block was sealed: mine on the new one.
                Err(SubmitBlockError::Rejected(ChainError::LowWork { .. })) => continue,
                Err(SubmitBlockError::Rejected(e)) => return Err(MineError::Refused(e)),
                Err(SubmitBlockError::Node(e)) => return Err(e.into()),
            }
        }
    }

    /// Mines `count` blocks paying `to`, one after another.
    pub async fn mine_blocks(&self, to: PubkeyHash, count: u32) -> Result<Vec<Block>, MineError> {
        let (_keep, stop) = watch::channel(false);
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            out.push(self.mine_one(to, &stop).await?);
        }
        Ok(out)
    }

    /// Mines continuously to `to` until `shutdown` turns true. On a network without difficulty
    /// adjustment (dev), where a block takes microseconds, it paces itself to one block per
    /// target interval instead of filling the disk.
    pub async fn run_miner(self, to: PubkeyHash, mut shutdown: watch::Receiver<bool>) {
        self.inner.mining.store(true, Ordering::Relaxed);
        tracing::info!(address = %Address::new(self.network(), to), "mining");
        let params = self.network().params();
        let pace = params
            .retarget_interval
            .is_none()
            .then(|| std::time::Duration::from_secs(params.target_block_secs));
        loop {
            match self.mine_one(to, &shutdown).await {
                Ok(block) => {
                    tracing::info!(height = block.header.height, hash = %block.hash(), "mined a block");
                    if let Some(pace) = pace {
                        tokio::select! {
                        biased;
                            _ = tokio::time::sleep(pace) => {}
                            _ = shutdown.wait_for(|stop| *stop) => break,
                        }
                    }
                }
                Err(MineError::Stopped) => break,
                Err(e) => {
                    tracing::error!(error = %e, "mining failed; retrying in a second");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
        self.inner.mining.store(false, Ordering::Relaxed);
    }
}
