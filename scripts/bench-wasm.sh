#!/usr/bin/env bash
# The browser signing benchmark (issue 6 item 5): builds what it needs, then measures building
# and signing a payment in wasm in headless Chromium against the same work natively, and writes
# target/bench/wasm.json (wasm_sign_per_s, native_sign_per_s, wasm_sign_ratio, wasm_gzip_bytes),
# which `cargo xtask bench` merges into its summary.
#
#   bash scripts/bench-wasm.sh            # build (release ferro, the wallet, the example), then run
#   bash scripts/bench-wasm.sh --no-build # run against what is already built
#
# FERRO_SKIP_SETUP=1 skips scripts/setup-browser.sh (when the caller already ran it).
# BENCH_ROUNDS / BENCH_ROUND_SECS size the measurement (default 5 rounds of 0.5 s on each side).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=1
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench-wasm: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> bench-wasm: %s\n' "$*"; }

if [ "$BUILD" -eq 1 ]; then
  if [ "${FERRO_SKIP_SETUP:-0}" != 1 ]; then
    step "browser tools and Chromium (scripts/setup-browser.sh)"
    bash scripts/setup-browser.sh
  fi
  step "release builds: the ferro node, the native signing benchmark"
  cargo build --release --locked -p ferro-node --bin ferro
  cargo build --release --locked -p ferro-shared --example sign_rate
  step "the browser wallet (scripts/build-wallet.sh)"
  FERRO_SKIP_SETUP=1 bash scripts/build-wallet.sh
fi

step "measure (tests/browser/bench-wasm.mjs)"
node tests/browser/bench-wasm.mjs
