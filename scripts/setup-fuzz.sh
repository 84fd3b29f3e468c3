#!/usr/bin/env bash
# Installs what `cargo xtask fuzz` needs: a nightly Rust (libFuzzer's sanitizer flags) and
# cargo-fuzz. The project itself stays on stable; nightly is used only as `cargo +nightly fuzz`.
set -euo pipefail
if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
