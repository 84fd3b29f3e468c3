#!/usr/bin/env bash
# Installs what building the browser wallet and testing it in a real browser need, on a fresh
# Debian machine (root, package registries only). Idempotent: each tool is installed only when it
# is missing or at the wrong version, so a second run takes seconds.
#
#   bash scripts/setup-browser.sh               # everything: build tools and Chromium
#   bash scripts/setup-browser.sh --no-chromium # only what building the wallet needs
#
# | what            | how                                                   | why this way                         |
# | --------------- | ----------------------------------------------------- | ------------------------------------ |
# | wasm32 target   | rustup target add wasm32-unknown-unknown              |                                      |
# | Trunk 0.21.x    | cargo install trunk --locked --version '~0.21'        | 0.22 needs a newer rustc; ~10 min    |
# | wasm-bindgen    | cargo install wasm-bindgen-cli --version <Cargo.lock> | must match the library exactly; its  |
# |                 |                                                       | own lock does not resolve: no --locked|
# | wasm-opt (132)  | npm ci in tests/browser (binaryen)                    | Debian's binaryen is too old         |
# | playwright-core | npm ci in tests/browser                               | drives /usr/bin/chromium; never      |
# |                 |                                                       | `playwright install`                 |
# | Chromium        | apt-get install chromium                              | /usr/bin/chromium                    |
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_CHROMIUM=1
for arg in "$@"; do
  case "$arg" in
    --no-chromium) WITH_CHROMIUM=0 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "setup-browser: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

step() { printf '\n==> setup: %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
die() { printf '\nsetup-browser: FAILED: %s\n' "$*" >&2; exit 1; }
# Runs a command, echoing it first and its duration after.
run() {
  printf '    $ %s\n' "$*"
  local start=$SECONDS
  "$@" || die "'$*' exited with status $?"
  printf '    (%ss)\n' "$((SECONDS - start))"
}
as_root() {
  if [ "$(id -u)" -eq 0 ]; then run "$@"; else run sudo "$@"; fi
}
APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root apt-get update
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

step "wasm32-unknown-unknown target"
command -v rustup >/dev/null || die "rustup is not on PATH"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  ok "installed"
else
  run rustup target add wasm32-unknown-unknown
fi

step "Trunk 0.21.x"
trunk_version=$(trunk --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$trunk_version" == 0.21.* ]]; then
  ok "trunk $trunk_version"
else
  echo "    found: ${trunk_version:-none}; installing (about 10 minutes on 2 cores)"
  run cargo install trunk --locked --version '~0.21'
  trunk_version=$(trunk --version | awk '{print $2}')
  [[ "$trunk_version" == 0.21.* ]] || die "trunk --version says '$trunk_version' after installing 0.21"
fi

step "wasm-bindgen CLI at the version in Cargo.lock"
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[[ "$want" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read the wasm-bindgen version from Cargo.lock (got '$want')"
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" = "$want" ]; then
  ok "wasm-bindgen $have"
else
  echo "    found: ${have:-none}; Cargo.lock wants $want"
  # No --locked: the CLI's own lock names a crate version this registry lacks.
  run cargo install wasm-bindgen-cli --version "$want"
  have=$(wasm-bindgen --version | awk '{print $2}')
  [ "$have" = "$want" ] || die "wasm-bindgen --version says '$have' after installing $want"
fi

step "Node.js"
if command -v node >/dev/null && command -v npm >/dev/null; then
  ok "node $(node --version), npm $(npm --version 2>/dev/null)"
else
  apt_install nodejs npm
fi
node_major=$(node --version | sed 's/^v\([0-9]*\).*/\1/')
[ "$node_major" -ge 18 ] || die "node $(node --version) is too old: the browser test needs node 18 or newer"

step "wasm-opt (binaryen) and playwright-core in tests/browser"
nm=tests/browser/node_modules
if [ -x "$nm/.bin/wasm-opt" ] && [ -f "$nm/playwright-core/package.json" ] &&
   [ "$nm/.package-lock.json" -nt tests/browser/package-lock.json ] &&
   [ "$nm/.package-lock.json" -nt tests/browser/package.json ]; then
  ok "up to date with package-lock.json"
else
  run npm ci --prefix tests/browser --no-audit --no-fund
fi
"$nm/.bin/wasm-opt" --version >/dev/null || die "$nm/.bin/wasm-opt does not run"
ok "$("$nm/.bin/wasm-opt" --version), playwright-core $(node -p "require('./$nm/playwright-core/package.json').version")"

if [ "$WITH_CHROMIUM" -eq 1 ]; then
  step "Chromium"
  if [ -x /usr/bin/chromium ]; then
    ok "/usr/bin/chromium present"
  else
    apt_install chromium
    [ -x /usr/bin/chromium ] || die "apt installed chromium but /usr/bin/chromium is missing"
  fi
  # The Debian launcher script prints a harmless shell warning on some machines; keep only the version.
  chromium_version=$(/usr/bin/chromium --version 2>/dev/null) || die "/usr/bin/chromium --version failed"
  ok "$chromium_version"
fi

printf '\n==> setup: done\n'
