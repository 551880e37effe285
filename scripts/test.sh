#!/usr/bin/env bash
# Quick start 2: set up, build and run the whole default test suite:
#   1. normal build with g++ (Release at -O2, no debug info: the flags run.sh builds the node
#      with, from scripts/release-flags.sh; benchmarks compiled so they cannot rot; the test
#      executables' own code at -O1, see PYLON_TEST_OPT), ctest labels unit + integration
#   2. ASan+UBSan build (Debug) with clang++ (it compiles our test code about 2.5x faster than
#      g++ at -O0; a second compiler's warnings too), the same tests. Debug info is line tables
#      only (sanitizer reports still name file and line) and our libraries are shared objects
#      (PYLON_SHARED_LIBS), so the ~130 test executables share one instrumented copy of the code
#      instead of holding ~60 MB each: the tree takes 1.1 GB, where it took 4.8 GB and a CI
#      machine short of disk saw lld die of SIGBUS writing a test executable.
# Both include the fuzz replays (ctest fuzz_replay_*: every tests/fuzz target over its seed
# inputs and a bounded, deterministic stream of mutations). Soak runs and real coverage-guided
# fuzzing are separate: scripts/soak.sh, scripts/fuzz.sh. Prints the time of each phase.
# Builds use precompiled headers (PYLON_PCH); export CMAKE_CXX_COMPILER_LAUNCHER=ccache (and
# CMAKE_C_COMPILER_LAUNCHER) to cache compiles across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
start=$(date +%s)
phases=()

phase() {  # <name> <command...>: runs the command and records its wall time
  local name=$1 t0
  shift
  echo "== $name =="
  t0=$(date +%s)
  "$@"
  phases+=("$(printf '%-18s %5d s' "$name" $(( $(date +%s) - t0 )))")
}

configure() {  # <build dir> <cmake args...>
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
}

build() { cmake --build "$1" -j "$jobs"; }

# The two trees take about 2 GB from scratch (build/test ~0.9 GB, build/asan ~1.1 GB). A full disk
# shows up as a compiler or linker dying of SIGBUS or "No space left", so say so first.
free_mb=$(df -Pm . | awk 'NR == 2 { print $4 }')
if [[ -n $free_mb && $free_mb -lt 3072 ]]; then
  echo "test.sh: warning: only $free_mb MB free on the build's file system; a build from scratch" \
    "needs about 2,100 MB (a compiler or linker dying of SIGBUS means the disk filled)" >&2
fi

run_tests() { (cd "$1" && ctest -L 'unit|integration' -j "$jobs" --output-on-failure --timeout 600); }

phase setup scripts/setup.sh --test
source scripts/release-flags.sh  # the flags run.sh builds the node with
configure build/test "${release_flags[@]}" "-DPYLON_TEST_OPT=-O1 -foptimize-sibling-calls" \
  -DPYLON_BUILD_BENCH=ON
phase "normal build" build build/test
phase "normal tests" run_tests build/test
configure build/asan -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only \
  -DCMAKE_C_FLAGS_DEBUG=-gline-tables-only -DPYLON_SANITIZE=ON -DPYLON_SHARED_LIBS=ON \
  -DPYLON_BUILD_BENCH=OFF
phase "ASan build" build build/asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
phase "ASan tests" run_tests build/asan
printf '  %s\n' "${phases[@]}"
echo "test.sh: all passed in $(( $(date +%s) - start )) s"
