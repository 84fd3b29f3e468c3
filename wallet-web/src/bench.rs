//! The in-browser half of the signing benchmark (`scripts/bench-wasm.sh`, issue 6 item 5).
//!
//! Trunk puts the wasm-bindgen exports on `window.wasmBindings`; `tests/browser/bench-wasm.mjs`
//! calls these from headless Chromium once the app has started. The native half is
//! `shared/examples/sign_rate.rs`: the same payment, built and signed by the same
//! `ferro_shared::wallet::build_payment` the send page uses. Both report the txid they build,
//! so the script can check that they did identical work before comparing rates.

use ferro_shared::wallet::SamplePayment;
use std::hint::black_box;
use wasm_bindgen::prelude::*;

/// Builds and signs the benchmark payment `iterations` times; returns payments per second,
/// timed with `performance.now()`.
#[wasm_bindgen]
pub fn bench_build_and_sign(iterations: u32) -> f64 {
    let performance =
        web_sys::window().and_then(|w| w.performance()).expect("a page with window.performance");
    let payment = SamplePayment::default();
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
    SamplePayment::default().build().tx.txid().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payment_spends_two_coins_with_change() {
        let built = SamplePayment::default().build();
        assert_eq!(built.tx.inputs.len(), 2);
        assert_eq!(built.tx.outputs.len(), 2);
        assert_eq!(built.tx.outputs[0].amount, ferro_shared::Amount::from_units(60_000_000));
        assert_eq!(bench_payment_txid(), built.tx.txid().to_string());
    }
}
