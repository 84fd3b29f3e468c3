//! Mining: the miner's nonce search against a plain double SHA-256 of a header's bytes, both on
//! one thread, interleaved so that both see the same machine.

use ferro_node::miner::measure_hash_rate;
use ferro_shared::block::{HEADER_SIZE, NONCE_OFFSET};
use ferro_shared::hash::sha256d;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Report {
    /// `miner::measure_hash_rate`: hashes per second on one thread.
    pub hash_per_s: f64,
    /// `sha256d` over a header-sized array with a changing nonce, per second on one thread.
    pub sha256d_per_s: f64,
}

impl Report {
    pub fn ratio(&self) -> f64 {
        self.hash_per_s / self.sha256d_per_s
    }
}

/// Plain double SHA-256 of a header-sized array per second, the nonce where a header has it.
pub fn measure_sha256d_rate(duration: Duration) -> f64 {
    const BATCH: u64 = 1 << 14;
    let mut header = [0x5au8; HEADER_SIZE];
    let started = Instant::now();
    let mut nonce = 0u64;
    loop {
        for _ in 0..BATCH {
            header[NONCE_OFFSET..].copy_from_slice(&nonce.to_le_bytes());
            black_box(sha256d(black_box(&header)));
            nonce += 1;
        }
        let elapsed = started.elapsed();
        if elapsed >= duration {
            return nonce as f64 / elapsed.as_secs_f64();
        }
    }
}

/// Alternates `rounds` raw and miner measurements of `each`; reports the median of each kind,
/// so a burst of other work on the machine during one round does not decide the ratio.
pub fn run(rounds: u32, each: Duration) -> Report {
    let (mut raw, mut miner) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        raw.push(measure_sha256d_rate(each));
        miner.push(measure_hash_rate(each));
    }
    Report { hash_per_s: median(&mut miner), sha256d_per_s: median(&mut raw) }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}
