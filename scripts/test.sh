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
