//! `cargo xtask bench [--quick]`: builds the node in release mode, runs every benchmark on this
//! machine, prints a table and writes the same figures to `target/bench/summary.json`.
//!
//! ```text
//!   mining ─▶ admission (1x 4x 16x) ─▶ sync (1x 4x 16x) ─▶ memory (real `ferro` processes,
//!   on sync's largest chain) ─▶ propagation (10-node line) ─▶ hostile (a `ferro` process under
//!   attack between two honest nodes) ─▶ + target/bench/wasm.json ─▶ report
//! ```
//! Every ratio compares a system rate with a raw rate measured in this process, around the same
//! moment, because absolute figures vary from run to run on a shared machine.

mod admission;
mod fund;
mod fuzz;
mod harness;
mod hostile;
mod memory;
mod mining;
mod propagation;
mod report;
mod sim;
mod sync;
mod table;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use report::{Machine, Outcome, Results, Summary, Wasm};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(about = "Ferrocoin project tasks")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Build in release mode and run every benchmark; writes target/bench/summary.json.
    Bench(BenchArgs),
    /// Build the cargo-fuzz targets in fuzz/ and run each for a while (installs nightly Rust and
    /// cargo-fuzz first when missing).
    Fuzz(FuzzArgs),
    /// Run the deterministic network simulator over a range of seeds (sim/): real nodes with
    /// latency, partitions, crashes, clock skew, mining and payments, checked for invariants.
    Sim(sim::SimArgs),
}

#[derive(Debug, Args)]
struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    seconds: u32,
    /// Run only these targets.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Smaller loads, finishing in under two minutes.
    #[arg(long)]
    quick: bool,
    /// Run only these benchmarks (memory needs sync); figures go to target/bench/partial.json
    /// instead of the summary.
    #[arg(long, value_delimiter = ',', value_enum)]
    only: Vec<Bench>,
}

/// The benchmarks, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Bench {
    Mining,
    Admission,
    Sync,
    Memory,
    Propagation,
    Hostile,
}

/// How big each benchmark is.
#[derive(Debug, Clone)]
struct Plan {
    /// Each raw verify measurement (one before and one after every system measurement).
    verify: Duration,
    mining_rounds: u32,
    mining_each: Duration,
    /// Transactions at load 1x.
    admission_base: usize,
    /// Blocks of transactions at load 1x.
    sync_base_blocks: usize,
    txs_per_block: usize,
    propagation_nodes: usize,
    propagation_reps: usize,
    propagation_block_txs: usize,
    /// Attackers of each kind in the hostile benchmark, and honest items timed per phase.
    hostile_per_kind: usize,
    hostile_reps: usize,
    /// How long the attackers work on V before the honest items are timed.
    hostile_warmup: Duration,
    mempool_txs: usize,
}

/// The load factors of the growth figures.
const FACTORS: [u32; 3] = [1, 4, 16];

impl Plan {
    fn full() -> Plan {
        Plan {
            verify: Duration::from_secs(1),
            mining_rounds: 7,
            mining_each: Duration::from_millis(500),
            admission_base: 4_000,
            // 16x: 160 blocks of 625, the chain of 100,000 transactions the memory figure asks for.
            sync_base_blocks: 10,
            txs_per_block: 625,
            propagation_nodes: 10,
            propagation_reps: 9,
            propagation_block_txs: 100,
            hostile_per_kind: 2,
            hostile_reps: 15,
            hostile_warmup: Duration::from_secs(25),
            mempool_txs: 50_000,
        }
    }

    fn quick() -> Plan {
        Plan {
            verify: Duration::from_millis(400),
            mining_rounds: 5,
            mining_each: Duration::from_millis(200),
            admission_base: 2_000,
            sync_base_blocks: 2,
            mempool_txs: 10_000,
            propagation_reps: 5,
            hostile_reps: 7,
            hostile_warmup: Duration::from_secs(3),
            ..Plan::full()
        }
    }
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Task::Bench(args) => bench(args.quick, &args.only),
        Task::Fuzz(args) => fuzz::run(&workspace_root(), args.seconds, &args.only),
        Task::Sim(args) => sim::run(args),
    }
}

/// The target directory this binary was built into (`target/release/xtask` → `target`).
fn target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().and_then(Path::parent).context("xtask is not inside a target directory")?;
    Ok(dir.to_path_buf())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask/ sits in the workspace").to_path_buf()
}

/// Builds the `ferro` binary in release mode; returns its path.
///
/// `-p xtask` is there only for feature resolution: with it, `ferro` links the `ferro-node` library
/// this binary was just built with instead of compiling a second copy whose dependencies have
/// slightly different features.
fn build_ferro(target: &Path) -> Result<PathBuf> {
    eprintln!("building ferro (release)");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", target)
        .args(["build", "--release", "-p", "ferro-node", "-p", "xtask", "--bin", "ferro"])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build of ferro failed ({status})");
    }
    let ferro = target.join("release").join("ferro");
    if !ferro.is_file() {
        bail!("{} was not built", ferro.display());
    }
    Ok(ferro)
}

/// Runs one benchmark unless `--only` leaves it out, keeping its error as text so the others
/// still run.
async fn step<T>(name: &str, wanted: bool, run: impl std::future::Future<Output = Result<T>>) -> Outcome<T> {
    if !wanted {
        return Err(report::SKIPPED.to_string());
    }
    eprintln!("{name}");
    let started = Instant::now();
    let outcome = run.await.map_err(|e| format!("{e:#}"));
    match &outcome {
        Ok(_) => eprintln!("  {name} took {:.1} s", started.elapsed().as_secs_f64()),
        Err(e) => eprintln!("  {name} FAILED: {e}"),
    }
    outcome
}

fn bench(quick: bool, only: &[Bench]) -> Result<()> {
    let wanted = |b: Bench| only.is_empty() || only.contains(&b);
    let started = Instant::now();
    let machine = Machine::here();
    let plan = if quick { Plan::quick() } else { Plan::full() };
    let target = target_dir()?;
    let ferro = build_ferro(&target)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut results = runtime.block_on(async {
        let p = &plan;
        let mining = step("mining", wanted(Bench::Mining), async {
            let (rounds, each) = (p.mining_rounds, p.mining_each);
            Ok(tokio::task::spawn_blocking(move || mining::run(rounds, each)).await?)
        })
        .await;
        let admission =
            step("admission", wanted(Bench::Admission), admission::run(p.admission_base, &FACTORS, p.verify))
                .await;
        let sync = step(
            "sync",
            wanted(Bench::Sync),
            sync::run(p.sync_base_blocks, p.txs_per_block, &FACTORS, p.verify),
        )
        .await;
        let memory = match &sync {
            Ok(s) => {
                let txs = s.headline().chain.txs;
                step("memory", wanted(Bench::Memory), memory::run(&ferro, &s.chain_dir, txs, p.mempool_txs))
                    .await
            }
            Err(_) if !wanted(Bench::Memory) => Err(report::SKIPPED.to_string()),
            Err(_) => Err("not run: it needs the sync benchmark's chain".to_string()),
        };
        let propagation = step(
            "propagation",
            wanted(Bench::Propagation),
            propagation::run(p.propagation_nodes, p.propagation_reps, p.propagation_block_txs),
        )
        .await;
        let hostile = step(
            "hostile",
            wanted(Bench::Hostile),
            hostile::run(&ferro, p.hostile_per_kind, p.hostile_reps, p.hostile_warmup),
        )
        .await;
        Results {
            quick,
            hostile,
            partial: !only.is_empty(),
            admission,
            mining,
            sync,
            propagation,
            memory,
            wasm: None,
            machine,
            wall_secs: 0.0,
        }
    });
    let bench_dir = target.join("bench");
    results.wasm = Wasm::read(&bench_dir.join("wasm.json")).unwrap_or_else(|e| {
        eprintln!("ignoring target/bench/wasm.json: {e:#}");
        None
    });
    results.wall_secs = started.elapsed().as_secs_f64();
    let summary = Summary::new(&results);
    let path = bench_dir.join(if only.is_empty() { "summary.json" } else { "partial.json" });
    summary.write(&path)?;
    print!("{}", table::render(&summary, &results));
    println!("Written to {}.", path.display());
    if !summary.errors.is_empty() {
        bail!("{} benchmark(s) failed", summary.errors.len());
    }
    Ok(())
}
