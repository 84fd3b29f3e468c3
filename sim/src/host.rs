//! One simulated host's software: a real node on its simulated disk, clock and network, plus
//! what its operator does: mine with a set hash rate, and pay when the scenario asks.

use crate::disk::Disk;
use crate::log::Log;
use crate::net::{self, Listener};
use axum::serve::ListenerExt;
use ferro_node::chain::{BlockOutcome, ChainError, Store};
use ferro_node::env::{Clock, Entropy};
use ferro_node::node::{Faults, SubmitBlockError};
use ferro_node::{Node, NodeConfig, Origin};
use ferro_shared::hash::{BlockHash, PubkeyHash, Txid};
use ferro_shared::pow::Target;
use ferro_shared::wallet::{build_payment, Spendable};
use ferro_shared::{Address, Amount, Block, Network, OutPoint, SecretKey};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The network every simulated node runs: its real rules (10-second blocks, difficulty
/// retargeted every 20 blocks, coinbase maturity 10).
pub const NETWORK: Network = Network::Test;
/// How often a host's operator looks at its work (mining, payments).
const STEP: Duration = Duration::from_millis(100);
/// A block template older than this is rebuilt to take in new transactions.
const TEMPLATE_AGE_MS: u64 = 5_000;
/// Each node's pool bound: small, so the bound is exercised.
pub const MEMPOOL_BYTES: usize = 4 * 1024 * 1024;

/// Simulated wall-clock time, read by every node's clock with its own skew.
#[derive(Debug, Clone)]
pub struct SimClock {
    /// Milliseconds since the start of the run, as the driver last set them.
    pub millis: Arc<AtomicU64>,
    /// Unix seconds at the start of the run.
    pub epoch: u64,
}

impl SimClock {
    pub fn unix(&self, skew: i64) -> u64 {
        let now = self.epoch + self.millis.load(Ordering::Relaxed) / 1000;
        now.saturating_add_signed(skew)
    }

    pub fn millis(&self) -> u64 {
        self.millis.load(Ordering::Relaxed)
    }
}

/// A payment the scenario made: accepted by the node it was given to.
#[derive(Debug, Clone)]
pub struct Payment {
    pub from: usize,
    pub to: usize,
    pub amount: Amount,
    pub inputs: Vec<OutPoint>,
    /// Seen in a block of some node's active chain.
    pub confirmed: bool,
    /// Seen confirmed, and later in no running node's active chain: a reorganization undid it.
    pub reorganized: bool,
}

/// What the driver and every host share.
#[derive(Debug)]
pub struct Shared {
    pub log: RefCell<Log>,
    pub clock: SimClock,
    pub payments: RefCell<BTreeMap<Txid, Payment>>,
    /// Invariants a host saw broken (a node refusing the block it built itself).
    pub violations: RefCell<Vec<String>>,
    pub faults: Faults,
}

impl Shared {
    pub fn record(&self, what: String) {
        self.log.borrow_mut().record(self.clock.millis(), what);
    }
}

/// What the driver asks a host's operator to do.
#[derive(Debug, Clone)]
pub enum Command {
    Pay { to: usize, to_hash: PubkeyHash, amount: Amount, fee_rate: u64 },
}

/// A host: its identity, its disk (which outlives crashes) and its running node, if any.
#[derive(Debug)]
pub struct Host {
    pub index: usize,
    pub name: String,
    pub ip: Cell<Option<IpAddr>>,
    pub disk: Disk,
    pub key: SecretKey,
    pub skew_secs: i64,
    /// Hashes per simulated second (0: does not mine).
    pub hash_rate: u64,
    pub peers: RefCell<Vec<String>>,
    pub seed: [u8; 32],
    pub starts: Cell<u64>,
    /// The tip (hash, height) the node had committed when it last crashed.
    pub committed: Cell<Option<(BlockHash, u64)>>,
    pub node: RefCell<Option<Node>>,
    pub p2p: RefCell<Option<ferro_node::p2p::P2pHandle>>,
    pub mailbox: RefCell<VecDeque<Command>>,
    /// Outputs this host's payments spent.
    pub spent: RefCell<BTreeSet<OutPoint>>,
    pub shared: Rc<Shared>,
}

impl Host {
    pub fn pkh(&self) -> PubkeyHash {
        self.key.public_key().pubkey_hash()
    }

    pub fn url(&self) -> String {
        format!("ws://{}:{}/p2p", self.ip.get().expect("registered"), net::PORT)
    }

    fn record(&self, what: String) {
        self.shared.record(format!("{} {what}", self.name));
    }
}

fn fail(e: impl std::fmt::Display) -> Box<dyn std::error::Error> {
    e.to_string().into()
}

/// The host's software from power-on: open the store on the disk, serve, operate.
pub async fn main(host: Rc<Host>) -> turmoil::Result {
    let start = host.starts.get();
    host.starts.set(start + 1);
    let store = Store::open_with_backend(host.disk.backend(), NETWORK).map_err(fail)?;
    let ip = host.ip.get().expect("registered");
    let mut config = NodeConfig::new(NETWORK, format!("/sim/{}", host.name).into());
    config.listen = SocketAddr::new(ip, net::PORT);
    config.peers = host.peers.borrow().clone();
    config.mempool_max_memory = MEMPOOL_BYTES;
    config.faults = host.shared.faults;
    let (clock, skew) = (host.shared.clock.clone(), host.skew_secs);
    config.clock = Clock::from_fn(move || clock.unix(skew));
    let mut seed = host.seed;
    seed[..8].copy_from_slice(&start.to_le_bytes());
    config.entropy = Entropy::seeded(seed);
    let node = Node::open_with_store(config, store).map_err(fail)?;
    let tip = node.tip();
    host.record(format!("started (start {}) at height {} {}", start + 1, tip.height, short(&tip.hash)));
    // A commit that returned was durable: the tip the node held when it crashed is still in
    // its chain.
    if let Some((hash, height)) = host.committed.take() {
        if node.store().hash_at(height).ok().flatten() != Some(hash) {
            let what = format!(
                "{} lost block {height} {} that it had committed before its crash (restarted at height {})",
                host.name,
                short(&hash),
                tip.height
            );
            host.record(what.clone());
            host.shared.violations.borrow_mut().push(what);
        }
    }
    host.node.replace(Some(node.clone()));
    let listener = Listener::bind(ip).await?.tap_io(|_| {});
    let (started, p2p) = tokio::sync::oneshot::channel();
    let serve = ferro_node::server::serve_on(
        node.clone(),
        listener,
        net::dialer(),
        std::future::pending(),
        Some(started),
    );
    tokio::pin!(serve);
    let operate = operate(host.clone(), node);
    tokio::pin!(operate);
    let mut p2p = Some(p2p);
    loop {
        tokio::select! {
            biased;
            served = &mut serve => return served.map_err(fail),
            () = &mut operate => return Ok(()),
            started = async { p2p.as_mut().expect("while waiting").await }, if p2p.is_some() => {
                p2p = None;
                host.p2p.replace(started.ok());
            }
        }
    }
}

/// The block being mined and where the search is.
struct Work {
    block: Block,
    target: Target,
    next_nonce: u64,
    built_at: u64,
    tip: BlockHash,
}

/// The operator: mines at the host's hash rate, and carries out the
/// driver's commands.
async fn operate(host: Rc<Host>, node: Node) {
    let mut work: Option<Work> = None;
    let mut credit = 0u64;
    let stop = AtomicBool::new(false);
    let mut tick = tokio::time::interval(STEP);
    loop {
        tick.tick().await;
        let commands: Vec<Command> = host.mailbox.borrow_mut().drain(..).collect();
        for command in commands {
            match command {
                Command::Pay { to, to_hash, amount, fee_rate } => {
                    pay(&host, &node, to, to_hash, amount, fee_rate).await
                }
            }
        }
        if host.hash_rate == 0 {
            work = None;
            continue;
        }
        let now = host.shared.clock.millis();
        let tip = node.tip().hash;
        if work.as_ref().is_none_or(|w| w.tip != tip || now.saturating_sub(w.built_at) >= TEMPLATE_AGE_MS) {
            let block = node.block_template(host.pkh());
            if std::env::var_os("FERRO_SIM_DEBUG").is_some() {
                let ids: Vec<String> =
                    block.transactions.iter().map(|t| short_txid(&t.txid())[..6].to_string()).collect();
                host.record(format!("template {} t{} {:?}", block.header.height, block.header.time, ids));
            }
            let Ok(target) = Target::from_compact(block.header.bits) else { continue };
            work = Some(Work { block, target, next_nonce: 0, built_at: now, tip });
        }
        let w = work.as_mut().expect("made above");
        credit += host.hash_rate * STEP.as_millis() as u64 / 1000;
        let tries = std::mem::take(&mut credit);
        let found = ferro_node::miner::search_nonce(&w.block.header, &w.target, w.next_nonce, tries, &stop);
        w.next_nonce += tries;
        let Some(nonce) = found else { continue };
        let mut block = w.block.clone();
        block.header.nonce = nonce;
        work = None;
        let (hash, height, txs) = (block.hash(), block.header.height, block.transactions.len());
        match node.submit_block(block, Origin::Local).await {
            Ok(BlockOutcome::NewTip { .. }) => {
                host.record(format!("mined {height} {} ({txs} transactions)", short(&hash)));
            }
            Ok(other) => host.record(format!("mined {height} {} off the tip: {other:?}", short(&hash))),
            // Another block took the tip while this one was sealed: a race, not a fault.
            Err(SubmitBlockError::Rejected(e @ ChainError::LowWork { .. })) => {
                host.record(format!("mined {height} {} too late: {e}", short(&hash)))
            }
            Err(SubmitBlockError::Rejected(e)) => {
                let what = format!(
                    "{} refused block {height} {} that it built itself: {e}",
                    host.name,
                    short(&hash)
                );
                host.record(what.clone());
                host.shared.violations.borrow_mut().push(what);
            }
            Err(SubmitBlockError::Node(e)) => host.record(format!("could not submit its block: {e}")),
        }
    }
}

/// Pays `amount` to host `to` from this host's confirmed, mature coins.
async fn pay(host: &Host, node: &Node, to: usize, to_hash: PubkeyHash, amount: Amount, fee_rate: u64) {
    let params = NETWORK.params();
    let tip = node.tip();
    let coins = match node.store().address_utxos(&host.pkh()) {
        Ok(coins) => coins,
        Err(e) => return host.record(format!("could not read its coins: {e}")),
    };
    let spendable: Vec<Spendable> = {
        let spent = host.spent.borrow();
        coins
            .into_iter()
            .filter(|(outpoint, coin)| {
                !spent.contains(outpoint)
                    && (!coin.is_coinbase || coin.height + params.coinbase_maturity < tip.height)
            })
            .map(|(outpoint, coin)| Spendable { outpoint, amount: coin.output.amount })
            .collect()
    };
    let to_address = Address::new(NETWORK, to_hash);
    let built = match build_payment(&host.key, NETWORK, &spendable, &to_address, amount, fee_rate) {
        Ok(built) => built,
        Err(_) => return, // Not enough mature coins yet: nothing to pay with.
    };
    let txid = built.tx.txid();
    let inputs: Vec<OutPoint> = built.tx.inputs.iter().map(|i| i.prevout).collect();
    match node.submit_transaction(built.tx, Origin::Local).await {
        Ok(_) => {
            host.spent.borrow_mut().extend(inputs.iter().copied());
            host.record(format!("pays {amount} to n{to}: {}", short_txid(&txid)));
            let payment =
                Payment { from: host.index, to, amount, inputs, confirmed: false, reorganized: false };
            host.shared.payments.borrow_mut().insert(txid, payment);
        }
        Err(e) => host.record(format!("payment to n{to} refused: {e}")),
    }
}

pub fn short(hash: &BlockHash) -> String {
    hash.to_string()[..12].to_string()
}

pub fn short_txid(txid: &Txid) -> String {
    txid.to_string()[..12].to_string()
}
