//! `cargo xtask fuzz --seconds N`: builds the cargo-fuzz targets in `fuzz/` and runs each for
//! N seconds, starting from its seed corpus in `fuzz/seeds/<target>/` (new inputs go to a
//! scratch corpus under `target/fuzz/`, so the repository's seeds stay small). Prints each
//! target's executions and fails on the first crash, leaving its input in
//! `fuzz/artifacts/<target>/`.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// Every target, in `fuzz/Cargo.toml`.
pub const TARGETS: [&str; 11] = [
    "transaction",
    "block",
    "header",
    "p2p_message",
    "handshake",
    "api_bodies",
    "address",
    "mnemonic",
    "keystore",
    "filter",
    "session",
];

pub fn run(root: &Path, seconds: u32, only: &[String]) -> Result<()> {
    let status = Command::new("bash").arg(root.join("scripts/setup-fuzz.sh")).status()?;
    if !status.success() {
        bail!("installing nightly Rust and cargo-fuzz failed");
    }
    let fuzz = root.join("fuzz");
    let status = Command::new("cargo")
        .current_dir(&fuzz)
        .args(["+nightly", "fuzz", "build", "-O"])
        .status()
        .context("running cargo +nightly fuzz build")?;
    if !status.success() {
        bail!("building the fuzz targets failed");
    }
    let mut rows = vec![];
    for target in TARGETS.iter().filter(|t| only.is_empty() || only.iter().any(|o| o == *t)) {
        let scratch = root.join("target/fuzz/corpus").join(target);
        std::fs::create_dir_all(&scratch)?;
        let seeds = fuzz.join("seeds").join(target);
        std::fs::create_dir_all(&seeds)?;
        eprintln!("fuzz {target}: {seconds} s");
        let output = Command::new("cargo")
            .current_dir(&fuzz)
            .args(["+nightly", "fuzz", "run", "-O", target])
            .arg(&scratch)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-rss_limit_mb=2048")
            .arg("-timeout=10")
            .output()
            .with_context(|| format!("running fuzz target {target}"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!("fuzz target {target} failed (input in fuzz/artifacts/{target}/):\n{}", tail.join("\n"));
        }
        let runs = log
            .lines()
            .find_map(|l| l.strip_prefix("Done ").and_then(|r| r.split_whitespace().next()))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        rows.push((*target, runs));
    }
    println!("| target | executions | per second |\n| --- | --- | --- |");
    for (target, runs) in rows {
        println!("| {target} | {runs} | {} |", runs / u64::from(seconds.max(1)));
    }
    Ok(())
}
