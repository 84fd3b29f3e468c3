//! Nodes for the benchmarks: dev nodes inside this process on port 0, each with its own
//! temporary directory, and waiting on their tips.

use anyhow::{Context, Result};
use ferro_node::server::RunningNode;
use ferro_node::{Node, NodeConfig};
use ferro_shared::{BlockHash, Network};
use std::time::Duration;
use tempfile::TempDir;

/// A dev node in this process on port 0 with its own temporary directory, not dialing
/// addresses it hears about.
pub async fn start_node(tweak: impl FnOnce(&mut NodeConfig)) -> Result<(RunningNode, TempDir)> {
    let dir = TempDir::new()?;
    let running = start_node_in(&dir, tweak).await?;
    Ok((running, dir))
}

/// Like [`start_node`], on a directory the caller keeps (its data lives in `dir/data`).
pub async fn start_node_in(dir: &TempDir, tweak: impl FnOnce(&mut NodeConfig)) -> Result<RunningNode> {
    let mut config = NodeConfig::new(Network::Dev, dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse()?;
    config.web_dir = dir.path().join("no-wallet");
    config.discover = false;
    tweak(&mut config);
    Ok(RunningNode::start(config).await?)
}

/// Waits until `node`'s tip is `hash`, for at most `timeout`.
pub async fn wait_for_tip(node: &Node, hash: BlockHash, timeout: Duration) -> Result<()> {
    let mut tip = node.watch_tip();
    tokio::time::timeout(timeout, tip.wait_for(|t| t.hash == hash))
        .await
        .with_context(|| format!("timed out after {timeout:?} waiting for tip {hash}"))?
        .context("the node stopped")?;
    Ok(())
}

/// CPU seconds (user + system) process `pid` (or `self`) has used so far, from
/// `/proc/PID/stat`.
pub fn cpu_secs(pid: &str) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which is in parentheses and may hold spaces): utime and
    // stime are the 12th and 13th, in clock ticks of 1/100 s.
    let rest = stat.rsplit_once(')').context("unexpected /proc/PID/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks =
        |i: usize| -> Result<f64> { Ok(fields.get(i).context("short /proc/PID/stat")?.parse::<f64>()?) };
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}
