//! `cargo xtask sim`: runs the deterministic network simulator (`sim/`) over a range of seeds,
//! prints each run and the simulator's speed, and fails with the first broken invariant's seed,
//! replay command and timeline.

use anyhow::{bail, Result};
use ferro_sim::{Report, Scenario};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Nodes per run.
    #[arg(long, default_value_t = 10)]
    nodes: usize,
    /// Runs, with seeds `seed`, `seed + 1`, ...
    #[arg(long, default_value_t = 8)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated minutes of activity per run (the network then settles).
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// No network partitions.
    #[arg(long)]
    no_partitions: bool,
    /// No crashes.
    #[arg(long)]
    no_crashes: bool,
    /// Hostile hosts among the nodes (bad blocks, invalid signatures, junk addresses, request
    /// floods, in turn).
    #[arg(long, default_value_t = 0)]
    hostile: usize,
    /// Switch on a deliberate defect, to see an invariant catch it.
    #[arg(long, value_enum)]
    fault: Option<Fault>,
    /// Runs at once (each on one thread); defaults to the machine's cores.
    #[arg(long)]
    jobs: Option<usize>,
    /// Write each run's seed and fingerprint (the hash of its event log) to this file, one per
    /// line: two sweeps of the same seeds in separate processes must write the same file.
    #[arg(long, value_name = "FILE")]
    fingerprints: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// Transactions of blocks leaving the active chain are dropped instead of returning to the pool.
    ForgetDisconnectedTransactions,
}

pub fn run(args: SimArgs) -> Result<()> {
    let mut template = Scenario::new(args.seed, args.nodes, args.minutes);
    template.partitions = !args.no_partitions;
    template.crashes = !args.no_crashes;
    template.hostile = args.hostile;
    template.faults.forget_disconnected_transactions =
        args.fault == Some(Fault::ForgetDisconnectedTransactions);
    let scenario = move |seed| Scenario { seed, ..template.clone() };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        .clamp(1, args.seeds.max(1) as usize);
    println!(
        "simulating {} seeds from {} of {} nodes for {} minutes each, {jobs} at a time",
        args.seeds, args.seed, args.nodes, args.minutes
    );
    let started = std::time::Instant::now();
    let next = Arc::new(AtomicU64::new(args.seed));
    let end = args.seed + args.seeds;
    let reports: Arc<Mutex<Vec<Report>>> = Arc::default();
    let workers: Vec<_> = (0..jobs)
        .map(|_| {
            let (next, reports) = (next.clone(), reports.clone());
            let scenario = scenario.clone();
            std::thread::spawn(move || loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= end {
                    return;
                }
                let report = ferro_sim::run(&scenario(seed));
                println!("{}{}", report.summary(), if report.failure.is_some() { "  FAILED" } else { "" });
                reports.lock().unwrap_or_else(|p| p.into_inner()).push(report);
            })
        })
        .collect();
    for worker in workers {
        if worker.join().is_err() {
            bail!("a simulation panicked (its seed is in the output above)");
        }
    }
    let mut reports = std::mem::take(&mut *reports.lock().unwrap_or_else(|p| p.into_inner()));
    reports.sort_by_key(|r| r.seed);
    let wall = started.elapsed().as_secs_f64();
    let node_secs: f64 = reports.iter().map(|r| r.simulated_secs * r.nodes as f64).sum();
    let per_run: f64 = reports.iter().map(|r| r.wall_secs).sum::<f64>() / reports.len().max(1) as f64;
    println!(
        "{} runs in {wall:.1} s: {:.0} simulated node-seconds per wall-clock second on one thread \
         ({:.0} with {jobs} threads), {per_run:.1} s per run",
        reports.len(),
        node_secs / reports.iter().map(|r| r.wall_secs).sum::<f64>().max(1e-9),
        node_secs / wall.max(1e-9),
    );
    if let Some(path) = &args.fingerprints {
        let lines: String = reports.iter().map(|r| format!("{} {}\n", r.seed, r.fingerprint)).collect();
        std::fs::write(path, lines)?;
    }
    let failures: Vec<&Report> = reports.iter().filter(|r| r.failure.is_some()).collect();
    for failed in &failures {
        eprintln!("\n{}", failed.failure.as_deref().unwrap_or_default());
    }
    if !failures.is_empty() {
        let seeds: Vec<String> = failures.iter().map(|r| r.seed.to_string()).collect();
        bail!("{} of {} runs broke an invariant (seeds {})", failures.len(), reports.len(), seeds.join(", "));
    }
    Ok(())
}
