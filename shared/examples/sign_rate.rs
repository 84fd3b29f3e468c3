//! How many payments per second this machine builds and signs natively: the native half of the
//! browser signing benchmark (`scripts/bench-wasm.sh`, issue 6 item 5). The wasm half,
//! `bench_build_and_sign` in `wallet-web/src/bench.rs`, does exactly the same work; both report
//! the txid they build, and the benchmark script refuses to compare them unless the txids match.
//!
//! ```text
//! cargo run --release -p ferro-shared --example sign_rate [-- ROUNDS [SECONDS_PER_ROUND]]
//! ```
//!
//! Prints one JSON line: `{"sign_per_s": <median of the rounds>, "rounds": [...], "txid": "..."}`.

use ferro_shared::wallet::{build_payment, BuiltTransaction, Spendable};
use ferro_shared::{Address, Amount, Network, OutPoint, PubkeyHash, SecretKey, Txid};
use std::hint::black_box;
use std::time::Instant;

/// What the wallet holds when the user presses "send": an unlocked key and its coins. Here a fixed
/// key with four coins of 0.5, 0.3, 0.2 and 0.1 FRC. Keep it identical to `Payment` in
/// `wallet-web/src/bench.rs`.
struct Payment {
    key: SecretKey,
    coins: [Spendable; 4],
    to: Address,
}

impl Payment {
    fn new() -> Self {
        Payment {
            key: SecretKey::from_bytes(&[0x42; 32]).expect("a valid secret key"),
            coins: [50_000_000, 30_000_000, 20_000_000, 10_000_000].map(|units| Spendable {
                outpoint: OutPoint { txid: Txid([(units / 10_000_000) as u8; 32]), vout: 0 },
                amount: Amount::from_units(units),
            }),
            to: Address::new(Network::Dev, PubkeyHash([9; 32])),
        }
    }

    /// The send: 0.6 FRC at 1 unit per byte, which takes the two largest coins and returns
    /// change. Selection, two signatures (a placeholder, then the real one), and the local
    /// check, which verifies both inputs' signatures.
    fn build(&self) -> BuiltTransaction {
        build_payment(
            &self.key,
            Network::Dev,
            black_box(&self.coins),
            &self.to,
            Amount::from_units(60_000_000),
            1,
        )
        .expect("the benchmark payment is valid")
    }
}

/// Payments per second over `iterations` payments.
fn rate(payment: &Payment, iterations: u32) -> f64 {
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
    let payment = Payment::new();
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
