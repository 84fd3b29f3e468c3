#!/usr/bin/env bash
# Runs every Ferrocoin test. Installs what it needs first, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "ferro-shared builds for the browser (wasm32-unknown-unknown)"
cargo build -p ferro-shared --target wasm32-unknown-unknown --locked

step "build (the end-to-end tests run the ferro binary)"
cargo build --workspace --bins --locked

step "unit, property and integration tests"
cargo test --workspace --locked

step "browser tools: Trunk, wasm-bindgen, wasm-opt, playwright-core, Chromium"
bash scripts/setup-browser.sh

step "browser wallet build (dist/)"
FERRO_SKIP_SETUP=1 bash scripts/build-wallet.sh

step "browser wallet end to end: two nodes, headless Chromium (screenshots in target/browser/)"
FERRO_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/ferro" node --test tests/browser/

step "benchmark smoke: the peer layer under attack, and sync with API latency (quick; full runs: cargo xtask bench)"
cargo xtask bench --quick --only hostile,sync

step "simulation sweep: real nodes on a simulated network with partitions, crashes, skew and hostile hosts (long sweeps: cargo xtask sim --nodes 50 --seeds 200 --minutes 30)"
cargo xtask sim --nodes 10 --seeds 8 --minutes 10 --fingerprints target/sim-a.txt
# The same seeds in another process replay the same runs, bit for bit.
cargo xtask sim --nodes 10 --seeds 8 --minutes 10 --fingerprints target/sim-b.txt
cmp target/sim-a.txt target/sim-b.txt
cargo xtask sim --nodes 10 --seeds 2 --minutes 10 --hostile 4 --seed 101
cargo xtask sim --nodes 50 --seeds 1 --minutes 5 --seed 201

step "fuzzing smoke: every cargo-fuzz target for a few seconds (long runs: cargo xtask fuzz --seconds N)"
cargo xtask fuzz --seconds 5
