#!/usr/bin/env bash
# Builds the browser wallet and starts a node serving it: the README's run command.
# Installs the build tools on first use (Trunk takes about 10 minutes to compile on 2 cores);
# Chromium is not needed to run. Arguments go to `ferro node`, e.g. `--listen 127.0.0.1:8081`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-browser.sh --no-chromium
FERRO_SKIP_SETUP=1 bash scripts/build-wallet.sh

printf '\n==> start the node: ferro node %s\n' "$*"
exec cargo run --release --locked -p ferro-node --bin ferro -- node "$@"
