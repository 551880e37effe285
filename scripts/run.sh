#!/usr/bin/env bash
# Quick start 1: set up, build (Release, -O2 as the tests: scripts/release-flags.sh) and run the node in the foreground.
# Extra arguments go to `pylon start --foreground` (e.g. --shards 2, --home DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/release-flags.sh
cmake -S . -B build/release -G Ninja "${release_flags[@]}" \
      -DPYLON_BUILD_TESTS=OFF -DPYLON_BUILD_BENCH=OFF >/dev/null
cmake --build build/release --target pylon
pylon=build/release/tools/pylon/pylon
# A machine with no prior state gets an identity first (the node's key, from a new mnemonic).
# Only the home folder of the start arguments matters for that.
home=()
args=("$@")
for (( i = 0; i < ${#args[@]}; i++ )); do
  case "${args[i]}" in
    --home) home=(--home "${args[i+1]:-}") ;;
    --home=*) home=(--home "${args[i]#--home=}") ;;
  esac
done
if ! "$pylon" identity "${home[@]}" >/dev/null 2>&1; then
  "$pylon" init "${home[@]}"
fi
exec "$pylon" start --foreground "$@"
