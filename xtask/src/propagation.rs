//! Propagation along a line of nodes (0 → 1 → … → 9, no discovery): from submitting a transaction
//! at node 0 until it is in the last node's mempool, and from a block mined at node 0 until it is
//! the last node's tip. Timed in-process on node events, repeated, median reported.
//!
//! The cost of validating the item at one node is timed alongside: node 0's own
//! `submit_transaction` / `submit_block` call for the same item.

use crate::fund::{self, BenchKey};
use crate::harness::{start_node, wait_for_tip};
use anyhow::{bail, Context, Result};
use ferro_node::server::RunningNode;
use ferro_node::{Node, NodeEvent, Origin};
use ferro_shared::{Amount, Network, Transaction};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::sync::broadcast::error::RecvError;

/// How long one item may take to cross the line.
const ITEM_TIMEOUT: Duration = Duration::from_secs(30);
/// Quiet time between repetitions, so one item's relay does not overlap the next.
const SETTLE: Duration = Duration::from_millis(50);

/// Milliseconds of each repetition.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// From submission at node 0 to arrival at the last node.
    pub total_ms: Vec<f64>,
    /// Node 0's own validation of the item.
    pub validate_ms: Vec<f64>,
}

impl Samples {
    pub fn total(&self) -> f64 {
        median(&self.total_ms)
    }

    pub fn validate(&self) -> f64 {
        median(&self.validate_ms)
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub nodes: usize,
    pub block_txs: usize,
    pub tx: Samples,
    /// Blocks of transactions no node has seen: every node verifies every signature.
    pub block: Samples,
    /// Blocks of transactions every node already holds in its mempool (the usual case: a miner
    /// takes relayed transactions), whose signatures were verified on admission.
    pub warm_block: Samples,
}

impl Report {
    pub fn hops(&self) -> f64 {
        (self.nodes - 1) as f64
    }

    pub fn tx_hop_ms(&self) -> f64 {
        self.tx.total() / self.hops()
    }

    pub fn block_hop_ms(&self) -> f64 {
        self.block.total() / self.hops()
    }

    pub fn warm_block_hop_ms(&self) -> f64 {
        self.warm_block.total() / self.hops()
    }
}

pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Starts `count` nodes and connects each to the next.
async fn start_line(count: usize) -> Result<Vec<(RunningNode, TempDir)>> {
    let mut line = Vec::with_capacity(count);
    for _ in 0..count {
        line.push(start_node(|_| {}).await?);
    }
    for pair in line.windows(2) {
        let (from, to) = (&pair[0].0, &pair[1].0);
        from.p2p.connect(&to.p2p_url()).await.map_err(|e| anyhow::anyhow!("connecting the line: {e}"))?;
    }
    Ok(line)
}

/// Runs `reps` transactions, then `reps` blocks of `block_txs` transactions, along a line of
/// `count` nodes.
pub async fn run(count: usize, reps: usize, block_txs: usize) -> Result<Report> {
    let line = start_line(count).await?;
    let (first, last) = (&line[0].0.node, &line[count - 1].0.node);
    let key = BenchKey::new(3);
    let coins = fund::fund(first, &key, reps * (1 + 2 * block_txs)).await?;
    wait_for_tip(last, first.tip().hash, ITEM_TIMEOUT).await?;
    let mut spends = {
        let key = key.clone();
        tokio::task::spawn_blocking(move || fund::sign_spends(&key, Network::Dev, &coins, key.pkh)).await?
    };
    let mut block_spends = spends.split_off(reps);
    let warm_spends = block_spends.split_off(reps * block_txs);

    let mut tx = Samples::default();
    for (spend, _) in spends {
        let txid = spend.txid();
        let mut events = last.subscribe();
        let started = Instant::now();
        first.submit_transaction(spend, Origin::Local).await?;
        tx.validate_ms.push(ms(started.elapsed()));
        let arrived = tokio::time::timeout(ITEM_TIMEOUT, async {
            loop {
                match events.recv().await {
                    Ok(NodeEvent::Tx { txid: t, .. }) if t == txid => return Ok(()),
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => bail!("the last node stopped"),
                }
            }
        })
        .await;
        arrived.with_context(|| format!("transaction {txid} did not reach the last node"))??;
        tx.total_ms.push(ms(started.elapsed()));
        tokio::time::sleep(SETTLE).await;
    }

    let mut block = Samples::default();
    for txs in block_spends.chunks(block_txs) {
        time_block(first, last, &key, txs, &mut block).await?;
    }

    let mut warm_block = Samples::default();
    for txs in warm_spends.chunks(block_txs) {
        for (spend, _) in txs {
            first.submit_transaction(spend.clone(), Origin::Local).await?;
        }
        let relayed = tokio::time::timeout(ITEM_TIMEOUT, async {
            while !txs.iter().all(|(t, _)| last.in_mempool(&t.txid())) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        relayed.await.context("a block's transactions did not reach the last node")?;
        time_block(first, last, &key, txs, &mut warm_block).await?;
    }

    for (running, _dir) in line {
        running.shutdown().await?;
    }
    Ok(Report { nodes: count, block_txs, tx, block, warm_block })
}

/// Mines a block of `txs` off the clock, then times its acceptance at `first` and its arrival at
/// `last`'s tip.
async fn time_block(
    first: &Node,
    last: &Node,
    key: &BenchKey,
    txs: &[(Transaction, Amount)],
    samples: &mut Samples,
) -> Result<()> {
    let mined = fund::build_block(first, key.pkh, txs.to_vec()).await?;
    let hash = mined.hash();
    let started = Instant::now();
    fund::submit_block(first, mined).await?;
    samples.validate_ms.push(ms(started.elapsed()));
    wait_for_tip(last, hash, ITEM_TIMEOUT).await?;
    samples.total_ms.push(ms(started.elapsed()));
    tokio::time::sleep(SETTLE).await;
    Ok(())
}
