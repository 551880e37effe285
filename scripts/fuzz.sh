#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cpp) with clang into build/fuzz and runs them.
#   scripts/fuzz.sh --smoke                 every target for about 10 s
#   scripts/fuzz.sh --seconds S [target...] the given targets (default: all) for S seconds each
# Each target gets a persistent corpus in build/fuzz/corpus/<target>, seeded by
# tests/fuzz/seed_corpus.py (from ../shared/vectors) when python3 is available, and libFuzzer's
# -max_len bound (the same table as tests/fuzz/CMakeLists.txt). A crash leaves its input in
# build/fuzz/artifacts/ and makes the script fail. The default suite (scripts/test.sh) does not
# run this: it runs the ctest fuzz replays (tests/fuzz/replay_main.cpp) in its own builds.
# Every run is bounded twice: -max_total_time and an outer `timeout` (S + 120 s) on the fuzzer's
# pid.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=10
targets=()
case "${1:-}" in
  --smoke) shift ;;
  --seconds)
    seconds=${2:?--seconds needs a number}
    shift 2
    targets=("$@")
    ;;
  *) echo "usage: scripts/fuzz.sh --smoke | --seconds S [target...]" >&2; exit 2 ;;
esac

all=()
for f in tests/fuzz/*_fuzz.cpp; do
  all+=("$(basename "$f" .cpp)")
done
if (( ${#targets[@]} == 0 )); then
  targets=("${all[@]}")
fi

build=build/fuzz
jobs=$(( $(nproc) < 2 ? $(nproc) : 2 ))
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYLON_FUZZ=ON \
      -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
      -DPYLON_BUILD_TESTS=OFF -DPYLON_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

vectors=${PYLON_VECTORS_DIR:-../shared/vectors}
seed_corpus() {  # <target...>: seed inputs (best effort; tests/fuzz/seed_corpus.py)
  command -v python3 >/dev/null 2>&1 || return 0
  python3 tests/fuzz/seed_corpus.py "$vectors" "$build/corpus" "$@" >/dev/null
}

max_len_of() {  # libFuzzer -max_len per target (bytes)
  case "$1" in
    bech32_fuzz) echo 5200 ;;
    mnemonic_fuzz) echo 1200 ;;
    nip44_decrypt_fuzz|nip04_decrypt_fuzz) echo 4096 ;;
    *) echo 16384 ;;
  esac
}

failed=()
mkdir -p "$build/artifacts"
seed_corpus "${targets[@]}"
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  dict=()
  case "$t" in
    event_json_fuzz|relay_message_fuzz|client_message_fuzz|filter_fuzz|job_request_fuzz)
      dict=(-dict=tests/fuzz/json.dict) ;;
  esac
  echo "== fuzz $t: ${seconds}s, max_len $(max_len_of "$t") =="
  if ! timeout --kill-after=10 $(( seconds + 120 )) \
      "$build/tests/fuzz/$t" "$corpus" "${dict[@]}" -max_total_time="$seconds" \
      -max_len="$(max_len_of "$t")" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1 2>"$build/$t.log"; then
    failed+=("$t")
    tail -n 40 "$build/$t.log" >&2
  else
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$build/$t.log" | tail -n 1 || true
  fi
done

if (( ${#failed[@]} )); then
  echo "fuzz.sh: FAILED: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets ok"
