//! The in-browser half of the signing benchmark (`scripts/bench-wasm.sh`, issue 6 item 5).
//!
//! Trunk puts the wasm-bindgen exports on `window.wasmBindings`; `tests/browser/bench-wasm.mjs`
//! calls these from headless Chromium once the app has started. The native half is
//! `shared/examples/sign_rate.rs`: the same payment, built and signed by the same
//! `ferro_shared::wallet::build_payment` the send page uses. Both report the txid they build,
//! so the script can check that they did identical work before comparing rates.

use ferro_shared::wallet::{build_payment, BuiltTransaction, Spendable};
use ferro_shared::{Address, Amount, Network, OutPoint, PubkeyHash, SecretKey, Txid};
use std::hint::black_box;
use wasm_bindgen::prelude::*;

/// What the wallet holds when the user presses "send": an unlocked key and its coins. Here a fixed
/// key with four coins of 0.5, 0.3, 0.2 and 0.1 FRC. Keep it identical to `Payment` in
/// `shared/examples/sign_rate.rs`.
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

/// Builds and signs the benchmark payment `iterations` times; returns payments per second,
/// timed with `performance.now()`.
#[wasm_bindgen]
pub fn bench_build_and_sign(iterations: u32) -> f64 {
    let performance =
        web_sys::window().and_then(|w| w.performance()).expect("a page with window.performance");
    let payment = Payment::new();
    let start = performance.now();
    for _ in 0..iterations {
        black_box(payment.build());
    }
    let elapsed_ms = performance.now() - start;
    f64::from(iterations) * 1000.0 / elapsed_ms.max(f64::MIN_POSITIVE)
}

/// The txid of the benchmark payment, to check against the native run's.
#[wasm_bindgen]
pub fn bench_payment_txid() -> String {
    Payment::new().build().tx.txid().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payment_spends_two_coins_with_change() {
        let built = Payment::new().build();
        assert_eq!(built.tx.inputs.len(), 2);
        assert_eq!(built.tx.outputs.len(), 2);
        assert_eq!(built.tx.outputs[0].amount, Amount::from_units(60_000_000));
        assert_eq!(bench_payment_txid(), built.tx.txid().to_string());
    }
}
