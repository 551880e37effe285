#!/usr/bin/env bash
# Installs what Pylon needs on Debian 12, idempotently. Usage: scripts/setup.sh [--test]
#   (no flag)  build + runtime packages
#   --test     also the test tools: clang (scripts/test.sh's ASan build, the fuzzers), lld (faster
#              links), Node.js/npm and the npm test peers (pinned by tests/node/package-lock.json)
# Runs apt-get as root, or through sudo when not root. Prints what it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

pkgs=(build-essential cmake ninja-build pkg-config ca-certificates openssl
      liburing-dev libmimalloc-dev libwslay-dev libsqlite3-dev libsecp256k1-dev libssl-dev
      libsimdjson-dev libtomlplusplus-dev libgtest-dev libgmock-dev libbenchmark-dev)
if (( want_test )); then
  pkgs+=(clang libclang-rt-14-dev lld sqlite3 procps iproute2)
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if (( ${#missing[@]} )); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "setup: missing packages (${missing[*]}) and not root and no sudo; install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if (( want_test )); then
  # npm test peers: a Nostr relay, nostr-tools and ws, exactly as pinned in the lock file.
  if [[ ! -f tests/node/node_modules/.package-lock.json ]] ||
     ! cmp -s tests/node/package-lock.json tests/node/node_modules/.pylon-lock-stamp; then
    echo "setup: npm ci in tests/node"
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
    cp tests/node/package-lock.json tests/node/node_modules/.pylon-lock-stamp
  fi
fi
echo "setup: ok"
