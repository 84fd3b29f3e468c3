//! The results of a run and `summary.json`, which holds them under the keys of the benchmark
//! issue (the table a person reads is in `table.rs`).

use crate::{admission, hostile, memory, mining, propagation, sync};
use anyhow::{Context, Result};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

/// A benchmark's result, or why it failed.
pub type Outcome<T> = std::result::Result<T, String>;

/// The "error" of a benchmark that `--only` left out.
pub const SKIPPED: &str = "skipped (--only)";

/// Everything one run measured.
#[derive(Debug)]
pub struct Results {
    pub quick: bool,
    /// Some benchmarks were left out (`--only`).
    pub partial: bool,
    pub admission: Outcome<admission::Report>,
    pub mining: Outcome<mining::Report>,
    pub sync: Outcome<sync::Report>,
    pub propagation: Outcome<propagation::Report>,
    pub hostile: Outcome<hostile::Report>,
    pub memory: Outcome<memory::Report>,
    /// `target/bench/wasm.json`, written by the browser benchmark, if present.
    pub wasm: Option<Wasm>,
    pub machine: Machine,
    pub wall_secs: f64,
}

/// The browser signing benchmark's figures (`target/bench/wasm.json`).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Wasm {
    pub wasm_sign_ratio: Option<f64>,
    pub wasm_gzip_bytes: Option<u64>,
    pub wasm_sign_per_s: Option<f64>,
    pub native_sign_per_s: Option<f64>,
}

impl Wasm {
    /// Reads `path` if it exists.
    pub fn read(path: &Path) -> Result<Option<Wasm>> {
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(path)?;
        Ok(Some(serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?))
    }
}

/// Where the run happened.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub date: String,
    /// `/proc/loadavg` when the run started: other work on the machine skews absolute figures.
    pub load_average: String,
}

impl Machine {
    pub fn here() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim()))
            .unwrap_or("unknown")
            .to_string();
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            date: utc_now(),
            load_average: load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        }
    }
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Admission and sync at one load factor.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GrowthLevel {
    pub admission_txs: Option<usize>,
    pub admission_per_s: Option<f64>,
    pub admission_us_per_tx: Option<f64>,
    pub admission_ratio: Option<f64>,
    pub sync_blocks: Option<u64>,
    pub sync_txs: Option<u64>,
    pub sync_inputs: Option<u64>,
    pub sync_blocks_per_s: Option<f64>,
    pub sync_us_per_input: Option<f64>,
    pub sync_verify_ratio: Option<f64>,
    pub sync_bytes_ratio: Option<f64>,
}

/// Load factor → figures, serialized as `{"1x": …, "4x": …, "16x": …}` in that order.
#[derive(Debug, Clone, Default)]
pub struct Growth(pub Vec<(u32, GrowthLevel)>);

impl Serialize for Growth {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (factor, level) in &self.0 {
            map.serialize_entry(&format!("{factor}x"), level)?;
        }
        map.end()
    }
}

/// Figures behind the headline ones.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Detail {
    pub wall_secs: f64,
    pub admission_txs: Option<usize>,
    pub admission_secs: Option<f64>,
    pub admission_in_flight: usize,
    /// Transactions posted `admission_batch_size` per `POST /api/transactions/batch`.
    pub admission_batched_txs: Option<usize>,
    pub admission_batch_size: usize,
    pub admission_batched_per_s: Option<f64>,
    pub admission_batched_ratio: Option<f64>,
    pub sync_txs_per_block: Option<usize>,
    pub sync_chain_blocks: Option<u64>,
    pub sync_chain_txs: Option<u64>,
    pub sync_chain_bytes: Option<u64>,
    pub sync_received_bytes: Option<u64>,
    pub sync_secs: Option<f64>,
    pub sync_inputs_per_s: Option<f64>,
    /// Raw verifies per second on every core at once, measured around the sync.
    pub sync_parallel_verify_per_s: Option<f64>,
    /// Verified inputs per second over `sync_parallel_verify_per_s`.
    pub sync_parallel_verify_ratio: Option<f64>,
    /// CPU time used during the sync over cores × its duration.
    pub sync_cpu_busy: Option<f64>,
    /// The same chain submitted block by block in-process, without the network.
    pub sync_direct_secs: Option<f64>,
    /// Like `sync_verify_ratio`, for `sync_direct_secs`.
    pub sync_direct_verify_ratio: Option<f64>,
    /// `GET /api/status` on the syncing node of the largest chain, polled every 10 ms.
    pub sync_api_samples: Option<usize>,
    pub sync_api_p50_ms: Option<f64>,
    pub sync_api_max_ms: Option<f64>,
    /// The largest chain synced from several serving peers at once.
    pub sync_by_peers: Vec<PeersFigure>,
    /// Hostile peers on V in the hostile benchmark, and what they sent.
    pub hostile_peers: Option<usize>,
    pub hostile_connections: Option<u64>,
    pub hostile_messages: Option<u64>,
    pub hostile_quiet_rss_mb: Option<f64>,
    pub hostile_attacked_rss_mb: Option<f64>,
    pub hostile_quiet_tx_ms: Option<f64>,
    pub hostile_attacked_tx_ms: Option<f64>,
    pub hostile_quiet_block_ms: Option<f64>,
    pub hostile_attacked_block_ms: Option<f64>,
    /// V's CPU seconds per wall second, quiet and under attack.
    pub hostile_quiet_cpu: Option<f64>,
    pub hostile_attacked_cpu: Option<f64>,
    pub propagation_nodes: Option<usize>,
    pub propagation_block_txs: Option<usize>,
    pub propagation_block_hop_ms: Option<f64>,
    pub propagation_tx_validate_ms: Option<f64>,
    pub propagation_block_validate_ms: Option<f64>,
    /// A block of transactions every node already holds in its mempool.
    pub propagation_warm_block_ms: Option<f64>,
    pub propagation_warm_block_hop_ms: Option<f64>,
    pub propagation_warm_block_validate_ms: Option<f64>,
    pub propagation_tx_samples_ms: Vec<f64>,
    pub propagation_block_samples_ms: Vec<f64>,
    pub propagation_warm_block_samples_ms: Vec<f64>,
    pub rss_empty_mb: Option<f64>,
    pub rss_chain_txs: Option<u64>,
    pub rss_chain_restart_mb: Option<f64>,
    pub rss_mempool_txs: Option<usize>,
    pub rss_mempool_base_mb: Option<f64>,
}

/// A sync from several serving peers at once.
#[derive(Debug, Clone, Serialize)]
pub struct PeersFigure {
    pub peers: usize,
    pub secs: f64,
    pub blocks_per_s: f64,
    pub bytes_ratio: f64,
}

/// `target/bench/summary.json`. Figures not measured (or failed) are `null`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub mode: &'static str,
    pub tx_admission_per_s: Option<f64>,
    pub verify_per_s: Option<f64>,
    pub tx_admission_ratio: Option<f64>,
    pub mining_hash_per_s: Option<f64>,
    pub sha256d_per_s: Option<f64>,
    pub mining_ratio: Option<f64>,
    pub sync_blocks_per_s: Option<f64>,
    pub sync_verify_ratio: Option<f64>,
    pub sync_bytes_ratio: Option<f64>,
    /// 99th percentile of `GET /api/status` on the node syncing the largest chain.
    pub api_p99_ms_sync: Option<f64>,
    pub propagation_tx_ms: Option<f64>,
    pub propagation_block_ms: Option<f64>,
    pub propagation_hop_ms: Option<f64>,
    pub wasm_sign_ratio: Option<f64>,
    pub wasm_gzip_bytes: Option<u64>,
    pub wasm_sign_per_s: Option<f64>,
    pub native_sign_per_s: Option<f64>,
    pub rss_chain_mb: Option<f64>,
    pub rss_mempool_mb: Option<f64>,
    /// Growth of an attacked node's resident memory per hostile peer (goal: under 50 MiB).
    pub hostile_rss_per_peer_mb: Option<f64>,
    /// Its CPU share under attack less the quiet share, per hostile peer.
    pub hostile_cpu_per_peer: Option<f64>,
    /// Honest propagation through the attacked node over the quiet figure (goal: within 2).
    pub hostile_tx_propagation_ratio: Option<f64>,
    pub hostile_block_propagation_ratio: Option<f64>,
    pub growth: Growth,
    pub machine: Machine,
    pub detail: Detail,
    /// Benchmark → why it failed; absent when all ran.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
}

impl Summary {
    pub fn new(r: &Results) -> Summary {
        let adm = r.admission.as_ref().ok();
        let min = r.mining.as_ref().ok();
        let syn = r.sync.as_ref().ok();
        let prop = r.propagation.as_ref().ok();
        let mem = r.memory.as_ref().ok();
        let hos = r.hostile.as_ref().ok();
        let wasm = r.wasm.clone().unwrap_or_default();
        let adm_head = adm.map(admission::Report::headline);
        let sync_head = syn.map(sync::Report::headline);

        let mut factors: Vec<u32> = adm.iter().flat_map(|a| a.levels.iter().map(|l| l.factor)).collect();
        factors.extend(syn.iter().flat_map(|s| s.levels.iter().map(|l| l.factor)));
        factors.sort_unstable();
        factors.dedup();
        let growth = Growth(
            factors
                .into_iter()
                .map(|f| {
                    let a = adm.and_then(|a| a.levels.iter().find(|l| l.factor == f));
                    let s = syn.and_then(|s| s.levels.iter().find(|l| l.factor == f));
                    let level = GrowthLevel {
                        admission_txs: a.map(|l| l.txs),
                        admission_per_s: a.map(|l| l.per_s),
                        admission_us_per_tx: a.map(admission::Level::us_per_tx),
                        admission_ratio: a.map(admission::Level::ratio),
                        sync_blocks: s.map(|l| l.chain.blocks),
                        sync_txs: s.map(|l| l.chain.txs),
                        sync_inputs: s.map(|l| l.chain.inputs),
                        sync_blocks_per_s: s.map(sync::Level::blocks_per_s),
                        sync_us_per_input: s.map(sync::Level::us_per_input),
                        sync_verify_ratio: s.map(sync::Level::verify_ratio),
                        sync_bytes_ratio: s.map(sync::Level::bytes_ratio),
                    };
                    (f, level)
                })
                .collect(),
        );

        let errors = [
            ("admission", r.admission.as_ref().err()),
            ("mining", r.mining.as_ref().err()),
            ("sync", r.sync.as_ref().err()),
            ("propagation", r.propagation.as_ref().err()),
            ("memory", r.memory.as_ref().err()),
            ("hostile", r.hostile.as_ref().err()),
        ]
        .into_iter()
        .filter_map(|(name, e)| e.filter(|e| *e != SKIPPED).map(|e| (name.to_string(), e.clone())))
        .collect();

        Summary {
            mode: if r.quick { "quick" } else { "full" },
            tx_admission_per_s: adm_head.map(|l| l.per_s),
            verify_per_s: adm_head.map(|l| l.verify_per_s),
            tx_admission_ratio: adm_head.map(admission::Level::ratio),
            mining_hash_per_s: min.map(|m| m.hash_per_s),
            sha256d_per_s: min.map(|m| m.sha256d_per_s),
            mining_ratio: min.map(mining::Report::ratio),
            sync_blocks_per_s: sync_head.map(sync::Level::blocks_per_s),
            sync_verify_ratio: sync_head.map(sync::Level::verify_ratio),
            sync_bytes_ratio: sync_head.map(sync::Level::bytes_ratio),
            api_p99_ms_sync: sync_head.and_then(|l| l.api.percentile(0.99)),
            propagation_tx_ms: prop.map(|p| p.tx.total()),
            propagation_block_ms: prop.map(|p| p.block.total()),
            propagation_hop_ms: prop.map(propagation::Report::tx_hop_ms),
            wasm_sign_ratio: wasm.wasm_sign_ratio,
            wasm_gzip_bytes: wasm.wasm_gzip_bytes,
            wasm_sign_per_s: wasm.wasm_sign_per_s,
            native_sign_per_s: wasm.native_sign_per_s,
            rss_chain_mb: mem.map(|m| m.chain_synced_mb),
            rss_mempool_mb: mem.map(|m| m.mempool_mb),
            hostile_rss_per_peer_mb: hos.map(hostile::Report::rss_growth_per_peer_mb),
            hostile_cpu_per_peer: hos.map(hostile::Report::cpu_per_peer),
            hostile_tx_propagation_ratio: hos.map(hostile::Report::tx_ratio),
            hostile_block_propagation_ratio: hos.map(hostile::Report::block_ratio),
            growth,
            machine: r.machine.clone(),
            detail: Detail {
                wall_secs: r.wall_secs,
                admission_txs: adm_head.map(|l| l.txs),
                admission_secs: adm_head.map(|l| l.secs),
                admission_in_flight: admission::IN_FLIGHT,
                admission_batched_txs: adm.map(|a| a.batched.txs),
                admission_batch_size: admission::BATCH,
                admission_batched_per_s: adm.map(|a| a.batched.per_s),
                admission_batched_ratio: adm.map(|a| a.batched.ratio()),
                sync_txs_per_block: syn.map(|s| s.txs_per_block),
                sync_chain_blocks: sync_head.map(|l| l.chain.blocks),
                sync_chain_txs: sync_head.map(|l| l.chain.txs),
                sync_chain_bytes: sync_head.map(|l| l.chain.bytes),
                sync_received_bytes: sync_head.map(|l| l.received_bytes),
                sync_secs: sync_head.map(|l| l.secs),
                sync_inputs_per_s: sync_head.map(sync::Level::inputs_per_s),
                sync_parallel_verify_per_s: sync_head.map(|l| l.parallel_verify_per_s),
                sync_parallel_verify_ratio: sync_head.map(sync::Level::parallel_verify_ratio),
                sync_cpu_busy: sync_head.map(|l| l.cpu_busy),
                sync_direct_secs: syn.map(|s| s.direct_secs),
                sync_direct_verify_ratio: syn.map(sync::Report::direct_verify_ratio),
                sync_api_samples: sync_head.map(|l| l.api.samples_ms.len()),
                sync_api_p50_ms: sync_head.and_then(|l| l.api.percentile(0.5)),
                sync_api_max_ms: sync_head.and_then(|l| l.api.percentile(1.0)),
                sync_by_peers: syn
                    .map(|s| {
                        let chain = s.headline().chain;
                        s.by_peers
                            .iter()
                            .map(|p| PeersFigure {
                                peers: p.peers,
                                secs: p.secs,
                                blocks_per_s: chain.blocks as f64 / p.secs,
                                bytes_ratio: p.received_bytes as f64 / chain.bytes as f64,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                hostile_peers: hos.map(hostile::Report::hostile_peers),
                hostile_connections: hos.map(|h| h.connections),
                hostile_messages: hos.map(|h| h.messages),
                hostile_quiet_rss_mb: hos.map(|h| h.quiet.rss_mb),
                hostile_attacked_rss_mb: hos.map(|h| h.attacked.rss_mb),
                hostile_quiet_tx_ms: hos.map(|h| h.quiet.tx_ms),
                hostile_attacked_tx_ms: hos.map(|h| h.attacked.tx_ms),
                hostile_quiet_block_ms: hos.map(|h| h.quiet.block_ms),
                hostile_attacked_block_ms: hos.map(|h| h.attacked.block_ms),
                hostile_quiet_cpu: hos.map(|h| h.quiet.cpu_share),
                hostile_attacked_cpu: hos.map(|h| h.attacked.cpu_share),
                propagation_nodes: prop.map(|p| p.nodes),
                propagation_block_txs: prop.map(|p| p.block_txs),
                propagation_block_hop_ms: prop.map(propagation::Report::block_hop_ms),
                propagation_tx_validate_ms: prop.map(|p| p.tx.validate()),
                propagation_block_validate_ms: prop.map(|p| p.block.validate()),
                propagation_warm_block_ms: prop.map(|p| p.warm_block.total()),
                propagation_warm_block_hop_ms: prop.map(propagation::Report::warm_block_hop_ms),
                propagation_warm_block_validate_ms: prop.map(|p| p.warm_block.validate()),
                propagation_tx_samples_ms: prop.map(|p| p.tx.total_ms.clone()).unwrap_or_default(),
                propagation_block_samples_ms: prop.map(|p| p.block.total_ms.clone()).unwrap_or_default(),
                propagation_warm_block_samples_ms: prop
                    .map(|p| p.warm_block.total_ms.clone())
                    .unwrap_or_default(),
                rss_empty_mb: mem.map(|m| m.empty_mb),
                rss_chain_txs: mem.map(|m| m.chain_txs),
                rss_chain_restart_mb: mem.map(|m| m.chain_restart_mb),
                rss_mempool_txs: mem.map(|m| m.mempool_txs),
                rss_mempool_base_mb: mem.map(|m| m.mempool_base_mb),
            },
            errors,
        }
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(self)? + "\n")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_is_iso() {
        let d = utc_now();
        assert_eq!(d.len(), 20, "{d}");
        assert!(d.ends_with('Z') && d.as_bytes()[10] == b'T', "{d}");
    }
}
