//! Transaction admission: pre-signed one-input transactions POSTed to a running node by a
//! concurrent HTTP client, against the raw single-core signature verify rate measured just
//! before and just after, in the same process.

use crate::fund::{self, BenchKey};
use crate::harness::start_node;
use anyhow::{ensure, Result};
use ferro_shared::hash::sha256d;
use ferro_shared::{Network, PublicKey, Signature, Transaction};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests in flight at once.
pub const IN_FLIGHT: usize = 48;

/// One admission run.
#[derive(Debug, Clone)]
pub struct Level {
    /// The load factor (1, 4, 16).
    pub factor: u32,
    pub txs: usize,
    /// Seconds from the first request to the last answer.
    pub secs: f64,
    /// Accepted transactions per second.
    pub per_s: f64,
    /// Raw single-core verifies per second, the mean of a measurement before and after the run.
    pub verify_per_s: f64,
}

impl Level {
    pub fn ratio(&self) -> f64 {
        self.per_s / self.verify_per_s
    }

    pub fn us_per_tx(&self) -> f64 {
        1e6 / self.per_s
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    /// One run per load factor, smallest first.
    pub levels: Vec<Level>,
    pub batched: Batched,
}

impl Report {
    /// The run with the most transactions: the headline figure.
    pub fn headline(&self) -> &Level {
        self.levels.last().expect("at least one level")
    }
}

/// Single-threaded signature verifications per second over about `duration`, with the public key
/// already decompressed: the bare k256 verify, the floor every ratio divides by (decompressing
/// a key, which the node does once per key per transaction, counts against the node).
pub fn measure_verify_rate(duration: Duration) -> f64 {
    let key = BenchKey::new(0x42);
    let items: Vec<([u8; 32], Signature)> = (0u32..64)
        .map(|i| {
            let digest = sha256d(&i.to_le_bytes());
            (digest, key.key.sign_digest(&digest))
        })
        .collect();
    let pubkey: PublicKey = key.pubkey;
    let verifier = pubkey.verifier().expect("a valid key");
    let started = Instant::now();
    let mut done = 0u64;
    loop {
        for (digest, sig) in &items {
            black_box(verifier.verify_digest(black_box(digest), black_box(sig))).expect("valid signature");
        }
        done += items.len() as u64;
        let elapsed = started.elapsed();
        if elapsed >= duration {
            return done as f64 / elapsed.as_secs_f64();
        }
    }
}

/// [`measure_verify_rate`] on every core at once, summed: what the machine gives this process
/// now, which on a busy machine is less than cores × the single-core rate.
pub fn measure_parallel_verify_rate(duration: Duration) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..cores).map(|_| s.spawn(|| measure_verify_rate(duration))).collect();
        threads.into_iter().map(|t| t.join().expect("verify thread panicked")).sum()
    })
}

/// [`measure_parallel_verify_rate`] on a blocking thread.
pub async fn parallel_verify_rate(duration: Duration) -> Result<f64> {
    Ok(tokio::task::spawn_blocking(move || measure_parallel_verify_rate(duration)).await?)
}

/// [`measure_verify_rate`] on a blocking thread.
pub async fn verify_rate(duration: Duration) -> Result<f64> {
    Ok(tokio::task::spawn_blocking(move || measure_verify_rate(duration)).await?)
}

/// What the node said to a batch of submissions.
#[derive(Debug, Clone, Default)]
pub struct Posted {
    pub accepted: usize,
    pub rejected: usize,
    /// The first rejection's status and body, to explain a failure.
    pub first_error: Option<String>,
    pub secs: f64,
}

/// POSTs every JSON body to `{base}/api/transactions` with `IN_FLIGHT` requests in flight.
pub async fn post_all(base: &str, bodies: Vec<Vec<u8>>) -> Result<Posted> {
    post_each(&format!("{base}/api/transactions"), bodies, IN_FLIGHT, |_| Ok((1, None))).await
}

/// Reads a successful answer: how many transactions it accepted, and the first refusal in it.
type CountAnswer = fn(&str) -> Result<(usize, Option<String>)>;

/// POSTs every body to `url` with `in_flight` requests in flight, reading answers with `count`.
async fn post_each(url: &str, bodies: Vec<Vec<u8>>, in_flight: usize, count: CountAnswer) -> Result<Posted> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(in_flight).build()?;
    let url = url.to_string();
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let (client, url, bodies, next) = (client.clone(), url.clone(), bodies.clone(), next.clone());
            tokio::spawn(async move {
                let mut posted = Posted::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let response = client
                        .post(&url)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body.clone())
                        .send()
                        .await?;
                    let status = response.status();
                    let text = response.text().await?;
                    if status.is_success() {
                        let (accepted, refused) = count(&text)?;
                        posted.accepted += accepted;
                        if let Some(refused) = refused {
                            posted.rejected += 1;
                            posted.first_error.get_or_insert(refused);
                        }
                    } else {
                        posted.rejected += 1;
                        posted.first_error.get_or_insert_with(|| format!("{status}: {text}"));
                    }
                }
                anyhow::Ok(posted)
            })
        })
        .collect();
    let mut total = Posted::default();
    for worker in workers {
        let posted = worker.await??;
        total.accepted += posted.accepted;
        total.rejected += posted.rejected;
        total.first_error = total.first_error.or(posted.first_error);
    }
    total.secs = started.elapsed().as_secs_f64();
    Ok(total)
}

/// The JSON bodies of `txs`, encoded before the clock starts.
pub fn json_bodies(txs: &[(Transaction, ferro_shared::Amount)]) -> Result<Vec<Vec<u8>>> {
    txs.iter().map(|(tx, _)| Ok(serde_json::to_vec(tx)?)).collect()
}

/// Funds a fresh node with `txs` coins, signs a spend of each, and posts them all.
async fn run_level(factor: u32, txs: usize, verify_secs: Duration) -> Result<Level> {
    let (running, _dir) = start_node(|_| {}).await?;
    let key = BenchKey::new(1);
    let coins = fund::fund(&running.node, &key, txs).await?;
    let signed = {
        let key = key.clone();
        tokio::task::spawn_blocking(move || fund::sign_spends(&key, Network::Dev, &coins, key.pkh)).await?
    };
    let bodies = json_bodies(&signed)?;
    drop(signed);
    let before = verify_rate(verify_secs).await?;
    let posted = post_all(&running.url(), bodies).await?;
    let after = verify_rate(verify_secs).await?;
    running.shutdown().await?;
    ensure!(
        posted.rejected == 0,
        "{} of {txs} transactions were refused; first: {}",
        posted.rejected,
        posted.first_error.unwrap_or_default()
    );
    Ok(Level {
        factor,
        txs,
        secs: posted.secs,
        per_s: posted.accepted as f64 / posted.secs,
        verify_per_s: (before + after) / 2.0,
    })
}

/// Transactions per `POST /api/transactions/batch` in the batched run.
pub const BATCH: usize = 500;
/// Batches in flight at once.
const BATCHES_IN_FLIGHT: usize = 4;

/// The batched run: the same kind of transactions posted `BATCH` at a time.
#[derive(Debug, Clone)]
pub struct Batched {
    pub txs: usize,
    pub per_s: f64,
    pub verify_per_s: f64,
}

impl Batched {
    pub fn ratio(&self) -> f64 {
        self.per_s / self.verify_per_s
    }
}

/// Reads a batch answer: transactions admitted, and the first refusal.
fn count_batch(text: &str) -> Result<(usize, Option<String>)> {
    let answer: ferro_shared::api::SubmitBatchResponse = serde_json::from_str(text)?;
    let refused =
        answer.results.iter().find_map(|r| r.error.as_ref()).map(|e| format!("{}: {}", e.code, e.message));
    Ok((answer.results.iter().filter(|r| r.error.is_none()).count(), refused))
}

/// Posts `txs` transactions to a fresh node in batches of `BATCH`.
pub async fn run_batched(txs: usize, verify_secs: Duration) -> Result<Batched> {
    let (running, _dir) = start_node(|_| {}).await?;
    let key = BenchKey::new(4);
    let coins = fund::fund(&running.node, &key, txs).await?;
    let signed = {
        let key = key.clone();
        tokio::task::spawn_blocking(move || fund::sign_spends(&key, Network::Dev, &coins, key.pkh)).await?
    };
    let bodies: Vec<Vec<u8>> = signed
        .chunks(BATCH)
        .map(|chunk| {
            let transactions = chunk.iter().map(|(tx, _)| tx.clone()).collect();
            Ok(serde_json::to_vec(&ferro_shared::api::SubmitBatchRequest { transactions })?)
        })
        .collect::<Result<_>>()?;
    drop(signed);
    let before = verify_rate(verify_secs).await?;
    let url = format!("{}/api/transactions/batch", running.url());
    let posted = post_each(&url, bodies, BATCHES_IN_FLIGHT, count_batch).await?;
    let after = verify_rate(verify_secs).await?;
    running.shutdown().await?;
    ensure!(
        posted.rejected == 0 && posted.accepted == txs,
        "{} of {txs} batched transactions were accepted; first refusal: {}",
        posted.accepted,
        posted.first_error.unwrap_or_default()
    );
    Ok(Batched { txs, per_s: posted.accepted as f64 / posted.secs, verify_per_s: (before + after) / 2.0 })
}

/// Runs admission at `base × factor` transactions for each factor, each on a fresh node.
///
/// A first, unreported run of `base / 2` transactions warms up what a running node has warm
/// (threads of the blocking pool, allocator, connections).
pub async fn run(base: usize, factors: &[u32], verify_secs: Duration) -> Result<Report> {
    eprintln!("  admission warm-up: {} transactions, not reported", base / 2);
    run_level(0, base / 2, verify_secs / 4).await?;
    let mut levels = Vec::new();
    for &factor in factors {
        let txs = base * factor as usize;
        eprintln!("  admission {factor}x: {txs} transactions");
        let level = run_level(factor, txs, verify_secs).await?;
        eprintln!(
            "    {:.0} tx/s ({:.1} µs/tx), raw verify {:.0}/s, ratio {:.2}",
            level.per_s,
            level.us_per_tx(),
            level.verify_per_s,
            level.ratio()
        );
        levels.push(level);
    }
    let txs = base * 4;
    eprintln!("  admission batched: {txs} transactions, {BATCH} per request");
    let batched = run_batched(txs, verify_secs).await?;
    eprintln!(
        "    {:.0} tx/s, raw verify {:.0}/s, ratio {:.2}",
        batched.per_s,
        batched.verify_per_s,
        batched.ratio()
    );
    Ok(Report { levels, batched })
}
