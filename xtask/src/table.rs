//! The table a person reads, from the same figures as `summary.json`.
//!
//! Goals come from the benchmark issue and are never loosened here: a figure that misses its goal
//! says `missed`.

use crate::report::{Results, Summary};
use std::fmt::Write as _;

/// What a figure should reach.
#[derive(Debug, Clone, Copy)]
enum Goal {
    None,
    AtLeast { min: f64, stretch: Option<f64> },
    AtMost(f64),
}

impl Goal {
    fn text(self, decimals: usize) -> String {
        match self {
            Goal::None => String::new(),
            Goal::AtLeast { min, stretch: None } => format!("≥ {min:.decimals$}"),
            Goal::AtLeast { min, stretch: Some(s) } => format!("≥ {min:.decimals$} (stretch {s:.decimals$})"),
            Goal::AtMost(max) => format!("≤ {max:.decimals$}"),
        }
    }

    fn verdict(self, value: f64) -> &'static str {
        match self {
            Goal::None => "",
            Goal::AtLeast { stretch: Some(s), .. } if value >= s => "met (stretch too)",
            Goal::AtLeast { min, .. } if value >= min => "met",
            Goal::AtMost(max) if value <= max => "met",
            _ => "missed",
        }
    }
}

/// One line of the table.
#[derive(Debug)]
struct Row {
    figure: String,
    value: Option<f64>,
    decimals: usize,
    unit: String,
    goal: Goal,
    /// Shown instead of the value when there is none.
    absent: String,
}

impl Row {
    fn new(figure: impl Into<String>, value: Option<f64>, decimals: usize, unit: impl Into<String>) -> Row {
        Row {
            figure: figure.into(),
            value,
            decimals,
            unit: unit.into(),
            goal: Goal::None,
            absent: "failed".into(),
        }
    }

    fn goal(mut self, goal: Goal) -> Row {
        self.goal = goal;
        self
    }

    fn absent(mut self, text: &str) -> Row {
        self.absent = text.into();
        self
    }

    fn cells(&self) -> [String; 5] {
        let (value, verdict) = match self.value {
            Some(v) if v.is_finite() => (number(v, self.decimals), self.goal.verdict(v).to_string()),
            _ => (self.absent.clone(), String::new()),
        };
        [
            self.figure.clone(),
            value,
            self.unit.clone(),
            self.goal.text(if self.decimals == 0 { 0 } else { 2 }),
            verdict,
        ]
    }
}

/// `v` with `decimals` places, and thousands separators when it has none.
fn number(v: f64, decimals: usize) -> String {
    if decimals > 0 {
        return format!("{v:.decimals$}");
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let width = |i: usize| {
        rows.iter().map(|r| r[i].chars().count()).chain([header[i].chars().count()]).max().unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    out += &line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
    for row in rows {
        out += &line(row);
    }
    out
}

/// The report a person reads.
pub fn render(s: &Summary, r: &Results) -> String {
    let d = &s.detail;
    let quick = if r.quick { " (quick)" } else { "" };
    let mut rows = vec![
        Row::new(
            format!(
                "tx admission over HTTP ({} txs, {} in flight)",
                fmt_opt(d.admission_txs),
                d.admission_in_flight
            ),
            s.tx_admission_per_s,
            0,
            "tx/s",
        ),
        Row::new("raw k256 verify, 1 core", s.verify_per_s, 0, "verify/s"),
        Row::new("admission ratio", s.tx_admission_ratio, 2, "× raw verify")
            .goal(Goal::AtLeast { min: 0.5, stretch: Some(0.7) }),
        Row::new(
            format!(
                "batched admission ({} txs, {} per POST /api/transactions/batch)",
                fmt_opt(d.admission_batched_txs),
                d.admission_batch_size
            ),
            d.admission_batched_per_s,
            0,
            "tx/s",
        ),
        Row::new("batched admission ratio", d.admission_batched_ratio, 2, "× raw verify"),
        Row::new("miner, 1 core", s.mining_hash_per_s, 0, "hash/s"),
        Row::new("raw sha256d of a 128-byte header, 1 core", s.sha256d_per_s, 0, "hash/s"),
        Row::new("mining ratio", s.mining_ratio, 2, "× raw sha256d")
            .goal(Goal::AtLeast { min: 0.95, stretch: Some(1.3) }),
        Row::new(
            format!(
                "initial sync ({} blocks, {} txs, {} per block)",
                fmt_opt(d.sync_chain_blocks),
                fmt_opt(d.sync_chain_txs),
                fmt_opt(d.sync_txs_per_block)
            ),
            s.sync_blocks_per_s,
            1,
            "blocks/s",
        ),
        Row::new(
            format!("sync verified inputs / ({} cores × raw verify)", r.machine.cores),
            s.sync_verify_ratio,
            2,
            "ratio",
        )
        .goal(Goal::AtLeast { min: 0.6, stretch: None }),
        Row::new(
            format!(
                "  same, over all {} cores verifying at once ({} verify/s, measured)",
                r.machine.cores,
                d.sync_parallel_verify_per_s.map_or("?".into(), |v| number(v, 0))
            ),
            d.sync_parallel_verify_ratio,
            2,
            "ratio",
        ),
        Row::new(
            "  CPU busy during the sync (A serving + B syncing) / all cores",
            d.sync_cpu_busy,
            2,
            "ratio",
        ),
        Row::new(
            format!(
                "  same chain without the network, submit_block one by one ({} s), same ratio",
                d.sync_direct_secs.map_or("?".into(), |v| number(v, 1))
            ),
            d.sync_direct_verify_ratio,
            2,
            "ratio",
        ),
        Row::new("sync bytes received / chain size", s.sync_bytes_ratio, 3, "ratio").goal(Goal::AtMost(1.1)),
        Row::new(
            format!(
                "GET /api/status on the syncing node, every 10 ms, p99 ({} answers, p50 {} ms, worst {} ms)",
                d.sync_api_samples.map_or("?".into(), |v| v.to_string()),
                d.sync_api_p50_ms.map_or("?".into(), |v| number(v, 1)),
                d.sync_api_max_ms.map_or("?".into(), |v| number(v, 1))
            ),
            s.api_p99_ms_sync,
            1,
            "ms",
        )
        .goal(Goal::AtMost(50.0)),
    ];
    for p in &d.sync_by_peers {
        rows.push(Row::new(
            format!(
                "  sync of the largest chain from {} serving peer(s), bytes ratio {}",
                p.peers,
                number(p.bytes_ratio, 3)
            ),
            Some(p.blocks_per_s),
            1,
            "blocks/s",
        ));
    }
    let prop = r.propagation.as_ref().ok();
    let hops = prop.map_or(9, |p| p.nodes - 1);
    rows.push(Row::new(format!("propagation of a tx, {hops} hops (median)"), s.propagation_tx_ms, 2, "ms"));
    rows.push(Row::new(
        format!("propagation of a block of {} txs, {hops} hops (median)", fmt_opt(d.propagation_block_txs)),
        s.propagation_block_ms,
        2,
        "ms",
    ));
    // "A hop costs little more than validating the item": taken as at most twice the time one node
    // takes to validate and accept it.
    let hop_goal = |validate: Option<f64>| validate.map_or(Goal::None, |v| Goal::AtMost(2.0 * v));
    rows.push(
        Row::new(
            format!("tx per hop (validate at one node: {} ms)", fmt_ms(d.propagation_tx_validate_ms)),
            s.propagation_hop_ms,
            2,
            "ms",
        )
        .goal(hop_goal(d.propagation_tx_validate_ms)),
    );
    rows.push(
        Row::new(
            format!("block per hop (validate at one node: {} ms)", fmt_ms(d.propagation_block_validate_ms)),
            d.propagation_block_hop_ms,
            2,
            "ms",
        )
        .goal(hop_goal(d.propagation_block_validate_ms)),
    );
    rows.push(Row::new(
        format!(
            "  block whose txs every node holds already, per hop (validate: {} ms)",
            fmt_ms(d.propagation_warm_block_validate_ms)
        ),
        d.propagation_warm_block_hop_ms,
        2,
        "ms",
    ));
    let wasm_absent = if r.wasm.is_some() { "missing in wasm.json" } else { "not measured" };
    rows.push(
        Row::new("wasm sign / native sign time, Chromium (wasm.json)", s.wasm_sign_ratio, 2, "ratio")
            .goal(Goal::AtMost(5.0))
            .absent(wasm_absent),
    );
    rows.push(
        Row::new("wasm size, gzipped", s.wasm_gzip_bytes.map(|b| b as f64), 0, "bytes").absent(wasm_absent),
    );
    rows.push(Row::new(
        format!("RSS, chain of {} txs{quick}, after syncing it", fmt_opt(d.rss_chain_txs)),
        s.rss_chain_mb,
        1,
        "MiB",
    ));
    rows.push(Row::new("RSS, same node restarted on that chain", d.rss_chain_restart_mb, 1, "MiB"));
    rows.push(Row::new(
        format!("RSS, mempool of {} txs{quick}", fmt_opt(d.rss_mempool_txs)),
        s.rss_mempool_mb,
        1,
        "MiB",
    ));
    rows.push(Row::new("RSS, same node before the mempool filled", d.rss_mempool_base_mb, 1, "MiB"));
    rows.push(Row::new("RSS, fresh node", d.rss_empty_mb, 1, "MiB"));
    let peers = d.hostile_peers.map_or("?".into(), |p| p.to_string());
    rows.push(
        Row::new(
            format!(
                "node under attack by {peers} hostile peers: RSS growth per peer ({} → {} MiB)",
                d.hostile_quiet_rss_mb.map_or("?".into(), |v| number(v, 1)),
                d.hostile_attacked_rss_mb.map_or("?".into(), |v| number(v, 1))
            ),
            s.hostile_rss_per_peer_mb,
            2,
            "MiB",
        )
        .goal(Goal::AtMost(50.0)),
    );
    rows.push(Row::new(
        format!(
            "  its CPU, per hostile peer (quiet {}, attacked {} of a core)",
            d.hostile_quiet_cpu.map_or("?".into(), |v| number(v, 2)),
            d.hostile_attacked_cpu.map_or("?".into(), |v| number(v, 2))
        ),
        s.hostile_cpu_per_peer,
        3,
        "cores",
    ));
    rows.push(
        Row::new(
            format!(
                "  honest tx through it, attacked / quiet ({} / {} ms)",
                fmt_ms(d.hostile_attacked_tx_ms),
                fmt_ms(d.hostile_quiet_tx_ms)
            ),
            s.hostile_tx_propagation_ratio,
            2,
            "ratio",
        )
        .goal(Goal::AtMost(2.0)),
    );
    rows.push(
        Row::new(
            format!(
                "  honest block through it, attacked / quiet ({} / {} ms)",
                fmt_ms(d.hostile_attacked_block_ms),
                fmt_ms(d.hostile_quiet_block_ms)
            ),
            s.hostile_block_propagation_ratio,
            2,
            "ratio",
        )
        .goal(Goal::AtMost(2.0)),
    );

    let mut out = String::new();
    let _ = writeln!(out, "Ferrocoin benchmarks, {} mode\n", s.mode);
    if r.partial {
        // Benchmarks left out by `--only` have no figures: leave their rows out too.
        rows.retain(|row| row.value.is_some() || row.absent != "failed");
    }
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.cells().to_vec()).collect();
    out += &table(&["figure", "value", "unit", "goal", "result"], &cells);

    let growth: Vec<Vec<String>> = s
        .growth
        .0
        .iter()
        .map(|(f, g)| {
            let n = |v: Option<f64>, d: usize| v.map_or("-".into(), |v| number(v, d));
            vec![
                format!("{f}x"),
                n(g.admission_txs.map(|v| v as f64), 0),
                n(g.admission_per_s, 0),
                n(g.admission_us_per_tx, 1),
                n(g.admission_ratio, 2),
                n(g.sync_blocks.map(|v| v as f64), 0),
                n(g.sync_inputs.map(|v| v as f64), 0),
                n(g.sync_blocks_per_s, 1),
                n(g.sync_us_per_input, 1),
                n(g.sync_verify_ratio, 2),
            ]
        })
        .collect();
    let _ = writeln!(out, "\nCost growth (per-item cost should stay flat):\n");
    out += &table(
        &[
            "load",
            "admission txs",
            "tx/s",
            "µs/tx",
            "ratio",
            "sync blocks",
            "sync inputs",
            "blocks/s",
            "µs/input",
            "verify ratio",
        ],
        &growth,
    );
    let m = &s.machine;
    let _ = writeln!(
        out,
        "\nMachine: {} cores, {}, load average at start {}; {}; {:.0} s in all.",
        m.cores, m.cpu, m.load_average, m.date, d.wall_secs
    );
    for (name, error) in &s.errors {
        let _ = writeln!(out, "FAILED {name}: {error}");
    }
    out
}

fn fmt_opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("?".into(), |v| v.to_string())
}

fn fmt_ms(v: Option<f64>) -> String {
    v.map_or("?".into(), |v| format!("{v:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_verdicts() {
        assert_eq!(number(1234567.4, 0), "1,234,567");
        assert_eq!(number(999.0, 0), "999");
        assert_eq!(number(0.456, 2), "0.46");
        let g = Goal::AtLeast { min: 0.5, stretch: Some(0.7) };
        assert_eq!(g.verdict(0.4), "missed");
        assert_eq!(g.verdict(0.5), "met");
        assert_eq!(g.verdict(0.75), "met (stretch too)");
        assert_eq!(Goal::AtMost(1.1).verdict(1.2), "missed");
    }
}
