#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cpp) with clang into build/fuzz and runs them.
#   scripts/fuzz.sh --smoke                 every target for about 10 s (the CI smoke run)
#   scripts/fuzz.sh --seconds S [target...] the given targets (default: all) for S seconds each
# Each target gets a persistent corpus in build/fuzz/corpus/<target>, seeded from
# ../shared/vectors when python3 is available, and libFuzzer's -max_len bound. A crash leaves its
# input in build/fuzz/artifacts/ and makes the script fail. Every run is bounded twice:
# -max_total_time and an outer `timeout` (S + 120 s) on the fuzzer's pid.
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
seed_corpus() {  # <target> <dir>: writes seed inputs from the vectors (best effort)
  command -v python3 >/dev/null 2>&1 && [[ -d "$vectors" ]] || return 0
  python3 - "$1" "$2" "$vectors" <<'PY'
import json, os, sys
target, out, vec = sys.argv[1], sys.argv[2], sys.argv[3]
ev = json.load(open(os.path.join(vec, "nostr-events.json")))
events = [c["event"] for c in ev["serialization_cases"] + ev["dvm_flow"]]
events += [ev["encrypted_job"][k]["event"] for k in ("nip44", "nip04")]
dump = lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":"))
seeds = []
if target in ("event_json_fuzz", "job_request_fuzz"):
    seeds = [dump(e) for e in events] + [ev["encrypted_job"]["plaintext_tags_json"]]
elif target == "relay_message_fuzz":
    seeds = [dump(["EVENT", "s", e]) for e in events[:4]]
    seeds += [dump(["OK", events[0]["id"], True, "duplicate: have it"]), '["EOSE","s"]',
              '["CLOSED","s","auth-required: x"]', '["NOTICE","n"]', '["AUTH","c"]',
              '["COUNT","q",{"count":3,"approximate":true}]']
elif target == "client_message_fuzz":
    seeds = [dump(["EVENT", e]) for e in events[:4]]
    seeds += ['["REQ","s",{"kinds":[5050],"since":1},{"#e":["%s"]}]' % events[0]["id"],
              '["CLOSE","s"]', '["COUNT","q",{"authors":["%s"]}]' % events[0]["pubkey"]]
elif target == "filter_fuzz":
    seeds = ['{"kinds":[5050,7000],"#e":["%s"],"since":1,"until":2,"limit":5}' % events[0]["id"],
             '{"ids":["%s"],"authors":["%s"],"#t":["x"]}' % (events[0]["id"], events[0]["pubkey"])]
elif target == "bech32_fuzz":
    n6 = json.load(open(os.path.join(vec, "nip06-vectors.json")))
    seeds = [v[k] for v in n6["vectors"] for k in ("npub", "nsec")]
    seeds += [i["bech32"] for i in n6["nip19_examples"]["items"]]
elif target == "nip44_decrypt_fuzz":
    n44 = json.load(open(os.path.join(vec, "nip44.vectors.json")))["v2"]
    seeds = [c["payload"] for c in n44["valid"]["encrypt_decrypt"]]
    seeds += [c["payload"] for c in n44["invalid"]["decrypt"]]
elif target == "nip04_decrypt_fuzz":
    n04 = json.load(open(os.path.join(vec, "nip04-vectors.json")))
    seeds = [v["payload"] for v in n04["vectors"]]
elif target == "mnemonic_fuzz":
    n6 = json.load(open(os.path.join(vec, "nip06-vectors.json")))
    seeds = [v["mnemonic"] for v in n6["vectors"]]
for i, s in enumerate(seeds):
    with open(os.path.join(out, "seed-%03d" % i), "w", encoding="utf-8") as f:
        f.write(s)
PY
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
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  seed_corpus "$t" "$corpus"
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
