#!/usr/bin/env bash
# Builds the browser wallet into dist/ (Trunk.toml at the repository root), which `ferro node`
# serves at / (its --web-dir defaults to dist). Prints the size of the WebAssembly module gzipped.
#
# Runs `scripts/setup-browser.sh --no-chromium` first (seconds when everything is present);
# set FERRO_SKIP_SETUP=1 when the caller already ran it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${FERRO_SKIP_SETUP:-0}" != 1 ]; then
  bash scripts/setup-browser.sh --no-chromium
fi

# Trunk finds wasm-bindgen (cargo's bin folder) and wasm-opt (npm's binaryen) on PATH; with
# --offline it never tries to download either.
export PATH="$PWD/tests/browser/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
command -v wasm-opt >/dev/null || { echo "build-wallet: wasm-opt is missing: run scripts/setup-browser.sh" >&2; exit 1; }

printf '\n==> build the browser wallet: trunk build --release --offline\n'
start=$SECONDS
trunk build --release --offline
printf '    (%ss)\n' "$((SECONDS - start))"

shopt -s nullglob
wasm=(dist/*.wasm)
if [ "${#wasm[@]}" -ne 1 ]; then
  echo "build-wallet: expected one .wasm in dist/, found ${#wasm[@]}" >&2
  exit 1
fi
raw=$(wc -c <"${wasm[0]}")
gz=$(gzip -9 -c "${wasm[0]}" | wc -c)
printf '    %s: %s bytes, %s bytes gzipped (%s KiB)\n' "${wasm[0]}" "$raw" "$gz" "$((gz / 1024))"
