//! Memory: the resident set size (VmRSS) of real `ferro node` processes.
//!
//! - empty: a node on a fresh dev chain;
//! - chain: a node that synced the sync benchmark's largest chain from an in-process peer, and
//!   the same node restarted on what it stored;
//! - mempool: a node on a funded chain after its mempool took `mempool_txs` transactions over HTTP.

use crate::admission::{json_bodies, post_all};
use crate::fund::{self, BenchKey};
use crate::harness::start_node_in;
use anyhow::{bail, ensure, Context, Result};
use ferro_node::{Node, NodeConfig};
use ferro_shared::api::StatusResponse;
use ferro_shared::Network;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a process may take to start, sync or stop.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct Report {
    pub empty_mb: f64,
    pub chain_txs: u64,
    /// After syncing the chain.
    pub chain_synced_mb: f64,
    /// Restarted on the synced chain.
    pub chain_restart_mb: f64,
    pub mempool_txs: usize,
    /// On the funded chain before any transaction arrived.
    pub mempool_base_mb: f64,
    /// With `mempool_txs` transactions in the mempool.
    pub mempool_mb: f64,
}

/// A `ferro node` child process on the dev network. Killed when dropped.
#[derive(Debug)]
pub(crate) struct FerroProcess {
    child: Child,
    pub(crate) url: String,
    log: PathBuf,
}

impl FerroProcess {
    /// Starts `ferro node` on `data_dir` with a free port and waits until its API answers.
    pub(crate) async fn start(ferro: &Path, data_dir: &Path, peers: &[String]) -> Result<FerroProcess> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        std::fs::create_dir_all(data_dir)?;
        let log = data_dir.with_extension("log");
        let mut command = Command::new(ferro);
        command
            .args(["node", "--network", "dev", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--web-dir")
            .arg(data_dir.join("no-wallet"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log)?);
        for peer in peers {
            command.args(["--peer", peer]);
        }
        let child = command.spawn().with_context(|| format!("starting {}", ferro.display()))?;
        let mut process = FerroProcess { child, url: format!("http://127.0.0.1:{port}"), log };
        process.wait_until(|_| true).await?;
        Ok(process)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) async fn status(&self) -> Result<StatusResponse> {
        Ok(reqwest::get(format!("{}/api/status", self.url)).await?.error_for_status()?.json().await?)
    }

    /// Polls the status until `done` holds for it.
    pub(crate) async fn wait_until(
        &mut self,
        done: impl Fn(&StatusResponse) -> bool,
    ) -> Result<StatusResponse> {
        let deadline = Instant::now() + PROCESS_TIMEOUT;
        loop {
            if let Some(exit) = self.child.try_wait()? {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                bail!("ferro exited with {exit}; its log:\n{log}");
            }
            if let Ok(status) = self.status().await {
                if done(&status) {
                    return Ok(status);
                }
            }
            if Instant::now() > deadline {
                bail!("ferro at {} did not get there within {PROCESS_TIMEOUT:?}", self.url);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resident set size in MiB, from `/proc/<pid>/status`.
    fn rss_mb(&self) -> Result<f64> {
        Ok(rss_kb(self.pid())? as f64 / 1024.0)
    }

    /// CPU seconds (user + system) the process has used so far.
    pub(crate) fn cpu_secs(&self) -> Result<f64> {
        crate::harness::cpu_secs(&self.pid().to_string())
    }

    /// Asks the node to stop (SIGTERM) and waits for it; kills it if it does not stop.
    pub(crate) async fn stop(mut self) -> Result<()> {
        let pid = self.pid().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.child.kill()?;
                bail!("ferro (pid {pid}) did not stop on SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

/// Resident memory of process `pid`, in KiB.
pub(crate) fn rss_kb(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line")
}

impl Drop for FerroProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// RSS of a node on a fresh chain.
async fn empty(ferro: &Path) -> Result<f64> {
    let dir = TempDir::new()?;
    let process = FerroProcess::start(ferro, &dir.path().join("data"), &[]).await?;
    let rss = process.rss_mb()?;
    process.stop().await?;
    Ok(rss)
}

/// RSS of a node that synced the chain in `chain_dir` (served by an in-process node), and of the
/// same node restarted.
async fn chain(ferro: &Path, chain_dir: &TempDir) -> Result<(f64, f64)> {
    let source = start_node_in(chain_dir, |_| {}).await?;
    let tip = source.node.tip();
    let dir = TempDir::new()?;
    let data = dir.path().join("data");
    let mut process = FerroProcess::start(ferro, &data, &[source.p2p_url()]).await?;
    process.wait_until(|s| s.tip == tip.hash).await?;
    let synced = process.rss_mb()?;
    process.stop().await?;
    source.shutdown().await?;
    let mut process = FerroProcess::start(ferro, &data, &[]).await?;
    let status = process.wait_until(|_| true).await?;
    ensure!(status.height == tip.height, "the restarted node is at {}, not {}", status.height, tip.height);
    let restarted = process.rss_mb()?;
    process.stop().await?;
    Ok((synced, restarted))
}

/// RSS of a node on a chain funding `txs` coins, before and after `txs` spends enter its mempool.
async fn mempool(ferro: &Path, txs: usize) -> Result<(f64, f64)> {
    let dir = TempDir::new()?;
    let data = dir.path().join("data");
    let key = BenchKey::new(4);
    let coins = {
        let node = Node::open(NodeConfig::new(Network::Dev, data.clone()))?;
        fund::fund(&node, &key, txs).await?
    };
    let signed =
        tokio::task::spawn_blocking(move || fund::sign_spends(&key, Network::Dev, &coins, key.pkh)).await?;
    let bodies = json_bodies(&signed)?;
    drop(signed);
    let mut process = FerroProcess::start(ferro, &data, &[]).await?;
    let before = process.rss_mb()?;
    let posted = post_all(&process.url, bodies).await?;
    ensure!(
        posted.accepted == txs,
        "the mempool took {} of {txs} transactions; first refusal: {}",
        posted.accepted,
        posted.first_error.unwrap_or_default()
    );
    let status = process.wait_until(|_| true).await?;
    ensure!(status.mempool == txs, "the mempool holds {} transactions, not {txs}", status.mempool);
    let after = process.rss_mb()?;
    process.stop().await?;
    Ok((before, after))
}

/// Measures every figure; `chain_dir` holds a stopped node's chain of `chain_txs` transactions.
pub async fn run(ferro: &Path, chain_dir: &TempDir, chain_txs: u64, mempool_txs: usize) -> Result<Report> {
    eprintln!("  memory: empty node");
    let empty_mb = empty(ferro).await?;
    eprintln!("  memory: chain of {chain_txs} transactions");
    let (chain_synced_mb, chain_restart_mb) = chain(ferro, chain_dir).await?;
    eprintln!("  memory: mempool of {mempool_txs} transactions");
    let (mempool_base_mb, mempool_mb) = mempool(ferro, mempool_txs).await?;
    Ok(Report {
        empty_mb,
        chain_txs,
        chain_synced_mb,
        chain_restart_mb,
        mempool_txs,
        mempool_base_mb,
        mempool_mb,
    })
}
