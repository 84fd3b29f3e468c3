//! Initial sync: node A holds a chain of blocks full of one-input transactions; a fresh node B
//! dials it and downloads, validates and stores everything up to A's tip.
//!
//! The chain grows level by level (1x, 4x, 16x), each level funded and filled the same way, and
//! a new B syncs the whole chain at every level, so the per-input cost shows whether it stays
//! flat as the chain grows.

use crate::admission::{parallel_verify_rate, verify_rate};
use crate::fund::{self, BenchKey};
use crate::harness::{start_node, start_node_in, wait_for_tip};
use anyhow::{Context, Result};
use ferro_node::server::RunningNode;
use ferro_shared::{Block, Network};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The longest a sync may take before the benchmark gives up.
const SYNC_TIMEOUT: Duration = Duration::from_secs(600);

/// What the chain on A holds beyond genesis.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChainStats {
    pub blocks: u64,
    /// Non-coinbase transactions.
    pub txs: u64,
    /// Inputs of non-coinbase transactions: the signatures a syncing node verifies.
    pub inputs: u64,
    /// Canonical encoded size of the blocks.
    pub bytes: u64,
}

impl ChainStats {
    fn add(&mut self, block: &Block) {
        self.blocks += 1;
        self.txs += block.transactions.len() as u64 - 1;
        self.inputs += block.transactions.iter().map(|t| t.inputs.len() as u64).sum::<u64>();
        self.bytes += block.size() as u64;
    }
}

/// One sync of the whole chain by a fresh node.
#[derive(Debug, Clone)]
pub struct Level {
    pub factor: u32,
    pub chain: ChainStats,
    pub secs: f64,
    /// Bytes of peer messages B received.
    pub received_bytes: u64,
    /// Raw single-core verifies per second, the mean of a measurement before and after.
    pub verify_per_s: f64,
    /// Raw verifies per second on every core at once, measured like `verify_per_s`.
    pub parallel_verify_per_s: f64,
    pub cores: usize,
    /// CPU time this process used during the sync (A serving, B syncing) over `cores × secs`:
    /// below 1, cores sat idle waiting on something.
    pub cpu_busy: f64,
    /// How long `GET /api/status` took on B while it synced, polled every 10 ms.
    pub api: Latency,
}

/// Response times of an HTTP endpoint polled during a sync.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    /// Milliseconds, sorted.
    pub samples_ms: Vec<f64>,
}

impl Latency {
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if self.samples_ms.is_empty() {
            return None;
        }
        let i = ((self.samples_ms.len() - 1) as f64 * p).round() as usize;
        Some(self.samples_ms[i])
    }
}

/// A sync of the largest chain by a fresh node from `peers` serving nodes at once.
#[derive(Debug, Clone)]
pub struct PeersRun {
    pub peers: usize,
    pub secs: f64,
    pub received_bytes: u64,
}

impl Level {
    pub fn blocks_per_s(&self) -> f64 {
        self.chain.blocks as f64 / self.secs
    }

    pub fn inputs_per_s(&self) -> f64 {
        self.chain.inputs as f64 / self.secs
    }

    pub fn us_per_input(&self) -> f64 {
        1e6 / self.inputs_per_s()
    }

    /// Verified inputs per second over what every core could verify.
    pub fn verify_ratio(&self) -> f64 {
        self.inputs_per_s() / (self.cores as f64 * self.verify_per_s)
    }

    /// Verified inputs per second over what every core verified at once when measured: apart
    /// from other work on the machine, this is what the sync pipeline itself loses.
    pub fn parallel_verify_ratio(&self) -> f64 {
        self.inputs_per_s() / self.parallel_verify_per_s
    }

    pub fn bytes_ratio(&self) -> f64 {
        self.received_bytes as f64 / self.chain.bytes as f64
    }
}

#[derive(Debug)]
pub struct Report {
    pub txs_per_block: usize,
    /// Smallest first.
    pub levels: Vec<Level>,
    /// A's directory (A stopped) with the largest chain, for the memory benchmark.
    pub chain_dir: TempDir,
    /// Seconds a fresh node took to take the largest chain's blocks through `Node::submit_block`
    /// one by one, in this process, without the network: what validating and storing cost alone.
    pub direct_secs: f64,
    /// The largest chain synced from 1, 2 and 4 serving nodes (every node in this process, on
    /// the same cores: more peers spread the serving, not the validating).
    pub by_peers: Vec<PeersRun>,
}

impl Report {
    /// The sync of the largest chain: the headline figure.
    pub fn headline(&self) -> &Level {
        self.levels.last().expect("at least one level")
    }

    /// [`Level::verify_ratio`] of the largest chain submitted without the network.
    pub fn direct_verify_ratio(&self) -> f64 {
        let l = self.headline();
        l.chain.inputs as f64 / self.direct_secs / (l.cores as f64 * l.verify_per_s)
    }
}

/// Adds `blocks` blocks of `txs_per_block` one-input transactions to A's chain, with the
/// funding blocks they need.
async fn extend_chain(
    a: &RunningNode,
    key: &BenchKey,
    blocks: usize,
    txs_per_block: usize,
    stats: &mut ChainStats,
) -> Result<()> {
    let before = a.node.tip().height;
    let coins = fund::fund(&a.node, key, blocks * txs_per_block).await?;
    let spends = {
        let key = key.clone();
        tokio::task::spawn_blocking(move || fund::sign_spends(&key, Network::Dev, &coins, key.pkh)).await?
    };
    for chunk in spends.chunks(txs_per_block) {
        fund::mine_block_with(&a.node, key.pkh, chunk.to_vec()).await?;
    }
    // Count every block added, funding blocks included: B downloads and checks them all.
    for height in before + 1..=a.node.tip().height {
        let store = a.node.store();
        let hash = store.hash_at(height)?.context("active block missing")?;
        stats.add(&store.block(&hash)?.context("block missing")?);
    }
    Ok(())
}

/// CPU seconds (user + system) this process has used so far.
fn process_cpu_secs() -> Result<f64> {
    crate::harness::cpu_secs("self")
}

/// What one sync by a fresh node measured.
struct Synced {
    secs: f64,
    received: u64,
    cpu: f64,
    api: Latency,
}

/// A fresh node syncs the whole chain of `servers` (all at the same tip), from all of them at
/// once, while its `GET /api/status` is polled every 10 ms.
async fn sync_once(servers: &[&RunningNode]) -> Result<Synced> {
    let (b, _dir) = start_node(|_| {}).await?;
    let target = servers[0].node.tip().hash;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let probe = tokio::spawn(poll_status(format!("{}/api/status", b.url()), stopped));
    let cpu_before = process_cpu_secs()?;
    let started = Instant::now();
    for a in servers {
        b.p2p
            .connect(&a.p2p_url())
            .await
            .map_err(|e| anyhow::anyhow!("B cannot connect to a server: {e}"))?;
    }
    wait_for_tip(&b.node, target, SYNC_TIMEOUT).await?;
    let secs = started.elapsed().as_secs_f64();
    let cpu = process_cpu_secs()? - cpu_before;
    let _ = stop.send(true);
    let api = probe.await??;
    let received = b.node.metrics().p2p_bytes_received.get();
    b.shutdown().await?;
    Ok(Synced { secs, received, cpu, api })
}

/// Polls `url` every 10 ms until told to stop; returns each answer's time.
async fn poll_status(url: String, mut stop: tokio::sync::watch::Receiver<bool>) -> Result<Latency> {
    let client = reqwest::Client::new();
    let mut samples = vec![];
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {
                let started = Instant::now();
                client.get(&url).send().await?.error_for_status()?.bytes().await?;
                samples.push(started.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    samples.sort_by(f64::total_cmp);
    Ok(Latency { samples_ms: samples })
}

/// `n - 1` more nodes holding A's chain (each synced from A; a copy of A's directory would
/// carry A's node key, and peers refuse a second connection to the same key), A first.
async fn serving_nodes(a: RunningNode, n: usize) -> Result<(Vec<RunningNode>, Vec<TempDir>)> {
    let target = a.node.tip().hash;
    let mut nodes = vec![];
    let mut dirs = vec![];
    for _ in 1..n {
        let (copy, dir) = start_node(|_| {}).await?;
        copy.p2p.connect(&a.p2p_url()).await.map_err(|e| anyhow::anyhow!("cannot connect to A: {e}"))?;
        wait_for_tip(&copy.node, target, SYNC_TIMEOUT).await?;
        nodes.push(copy);
        dirs.push(dir);
    }
    nodes.insert(0, a);
    Ok((nodes, dirs))
}

/// A fresh node takes A's whole chain through `submit_block`, block after block, with no peer
/// in between; returns the seconds it took.
async fn submit_directly(a: &RunningNode) -> Result<f64> {
    let store = a.node.store();
    let blocks = (1..=a.node.tip().height)
        .map(|height| {
            let hash = store.hash_at(height)?.context("active block missing")?;
            store.block(&hash)?.context("block missing")
        })
        .collect::<Result<Vec<_>>>()?;
    let (c, _dir) = start_node(|_| {}).await?;
    let started = Instant::now();
    for block in blocks {
        fund::submit_block(&c.node, block).await?;
    }
    let secs = started.elapsed().as_secs_f64();
    c.shutdown().await?;
    Ok(secs)
}

/// Grows A's chain to `base_blocks × factor` blocks of transactions for each factor, and has a
/// fresh node sync it each time.
pub async fn run(
    base_blocks: usize,
    txs_per_block: usize,
    factors: &[u32],
    verify_secs: Duration,
) -> Result<Report> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = TempDir::new()?;
    let a = start_node_in(&dir, |_| {}).await?;
    let key = BenchKey::new(2);
    let mut stats = ChainStats::default();
    let mut built = 0;
    let mut levels = Vec::new();
    for &factor in factors {
        let blocks = base_blocks * factor as usize;
        eprintln!("  sync {factor}x: building {} blocks of {txs_per_block} transactions", blocks - built);
        extend_chain(&a, &key, blocks - built, txs_per_block, &mut stats).await?;
        built = blocks;
        let before = (verify_rate(verify_secs).await?, parallel_verify_rate(verify_secs).await?);
        eprintln!("    a fresh node syncs {} blocks", stats.blocks);
        let Synced { secs, received: received_bytes, cpu: cpu_secs, api } = sync_once(&[&a]).await?;
        let after = (verify_rate(verify_secs).await?, parallel_verify_rate(verify_secs).await?);
        let level = Level {
            factor,
            chain: stats,
            secs,
            received_bytes,
            verify_per_s: (before.0 + after.0) / 2.0,
            parallel_verify_per_s: (before.1 + after.1) / 2.0,
            cores,
            cpu_busy: cpu_secs / (secs * cores as f64),
            api,
        };
        eprintln!(
            "    {} blocks, {} inputs in {:.2} s: {:.1} blocks/s, {:.1} µs/input, verify ratio {:.2} \
             ({:.2} of all cores measured at once), CPU busy {:.0}%, bytes ratio {:.3}, \
             GET /api/status p50 {:.1} ms p99 {:.1} ms",
            stats.blocks,
            stats.inputs,
            secs,
            level.blocks_per_s(),
            level.us_per_input(),
            level.verify_ratio(),
            level.parallel_verify_ratio(),
            level.cpu_busy * 100.0,
            level.bytes_ratio(),
            level.api.percentile(0.5).unwrap_or(f64::NAN),
            level.api.percentile(0.99).unwrap_or(f64::NAN),
        );
        levels.push(level);
    }
    eprintln!("  sync: the largest chain again, submitted block by block without the network");
    let direct_secs = submit_directly(&a).await?;
    eprintln!("  sync: the largest chain from 1, 2 and 4 serving nodes");
    let (servers, _dirs) = serving_nodes(a, 4).await?;
    let mut by_peers = vec![];
    for peers in [1, 2, 4] {
        let from: Vec<&RunningNode> = servers.iter().take(peers).collect();
        let run = sync_once(&from).await?;
        eprintln!(
            "    {peers} peer(s): {:.2} s, {:.1} blocks/s, bytes ratio {:.3}",
            run.secs,
            stats.blocks as f64 / run.secs,
            run.received as f64 / stats.bytes as f64
        );
        by_peers.push(PeersRun { peers, secs: run.secs, received_bytes: run.received });
    }
    for s in servers {
        s.shutdown().await?;
    }
    let report = Report { txs_per_block, levels, chain_dir: dir, direct_secs, by_peers };
    eprintln!("    {direct_secs:.2} s, verify ratio {:.2}", report.direct_verify_ratio());
    Ok(report)
}
