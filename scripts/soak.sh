#!/usr/bin/env bash
# The long steady-load runs (ctest label soak), kept out of the default suite:
#   scripts/soak.sh [SECONDS]
# Sets up what is missing (scripts/setup.sh --test), builds build/soak (Release -O2 with the
# benchmark tools) and runs `ctest -L soak`. Today that is pylon_bench_soak_test: pylon-bench
# drives the real node at a steady rate for SECONDS (default 600, 120..1000: the test's own
# ctest TIMEOUT is 1,200 s; exported as PYLON_SOAK_SECONDS) and fails if the node's RSS grows by more than the allowance per job
# (the test prints the samples and the growth). Each test is bounded by ctest's timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 120 || seconds > 1000)); then
  echo "usage: scripts/soak.sh [SECONDS, 120..1000]" >&2
  exit 2
fi
scripts/setup.sh --test
cmake -S . -B build/soak -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
  "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" -DPYLON_BUILD_BENCH=ON >/dev/null
cmake --build build/soak -j "$(nproc)"
export PYLON_SOAK_SECONDS=$seconds
cd build/soak
ctest -L soak --output-on-failure
