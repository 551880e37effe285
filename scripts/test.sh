#!/usr/bin/env bash
# Quick start 2: set up, build and run the whole default test suite:
#   1. RelWithDebInfo build, ctest labels unit + integration
#   2. ASan+UBSan build, the same tests
#   3. a short smoke run of every libFuzzer target (clang)
# Soak and long fuzz runs are separate: scripts/soak.sh, scripts/fuzz.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
jobs=$(nproc)
start=$(date +%s)

run_suite() {  # <build dir> <cmake args...>
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest -L 'unit|integration' -j "$jobs" --output-on-failure --timeout 600)
}

echo "== normal build =="
run_suite build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYLON_BUILD_BENCH=ON
echo "== ASan+UBSan build =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  run_suite build/asan -DCMAKE_BUILD_TYPE=Debug -DPYLON_SANITIZE=ON -DPYLON_BUILD_BENCH=OFF
echo "== fuzz smoke =="
scripts/fuzz.sh --smoke
echo "test.sh: all passed in $(( $(date +%s) - start )) s"
