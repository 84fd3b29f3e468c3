//! How many payments per second this machine builds and signs natively: the native half of the
//! browser signing benchmark (`scripts/bench-wasm.sh`, issue 6 item 5). The wasm half,
//! `bench_build_and_sign` in `wallet-web/src/bench.rs`, builds the same `SamplePayment`; both report
//! the txid they build, and the benchmark script refuses to compare them unless the txids match.
//!
//! ```text
//! cargo run --release -p ferro-shared --example sign_rate [-- ROUNDS [SECONDS_PER_ROUND]]
//! ```
//!
//! Prints one JSON line: `{"sign_per_s": <median of the rounds>, "rounds": [...], "txid": "..."}`.

use ferro_shared::wallet::SamplePayment;
use std::hint::black_box;
use std::time::Instant;

/// Payments per second over `iterations` payments.
fn rate(payment: &SamplePayment, iterations: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(payment.build());
    }
    f64::from(iterations) / start.elapsed().as_secs_f64()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(5, |s| s.parse().expect("ROUNDS is a number"));
    let secs: f64 = args.next().map_or(0.5, |s| s.parse().expect("SECONDS_PER_ROUND is a number"));

    // Size a round, then warm up for one (caches, CPU frequency), as the wasm side does.
    let payment = SamplePayment::default();
    let iterations = ((rate(&payment, 20) * secs).ceil() as u32).max(1);
    rate(&payment, iterations);
    let mut rounds: Vec<f64> = (0..rounds.max(1)).map(|_| rate(&payment, iterations)).collect();
    let txid = payment.build().tx.txid();
    let mut sorted = rounds.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    rounds.iter_mut().for_each(|r| *r = r.round());
    println!(
        "{{\"sign_per_s\": {median:.1}, \"iterations\": {iterations}, \"rounds\": {rounds:?}, \"txid\": \"{txid}\"}}"
    );
}
