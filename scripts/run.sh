#!/usr/bin/env bash
# Quick start 1: set up, build (Release, -O2 as the tests: scripts/release-flags.sh) and run the
# node in the foreground, creating an identity first if there is none (scripts/start-node.sh).
# Extra arguments go to `pylon start --foreground` (e.g. --shards 2, --home DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/release-flags.sh
cmake -S . -B build/release -G Ninja "${release_flags[@]}" \
      -DPYLON_BUILD_TESTS=OFF -DPYLON_BUILD_BENCH=OFF >/dev/null
cmake --build build/release --target pylon
exec scripts/start-node.sh build/release/tools/pylon/pylon "$@"
