#!/usr/bin/env bash
# bench/provider/run.sh: jobs/s, latency and node CPU per job of the whole provider, through the
# real npm relay (tests/node/relay.mjs, signatures checked with --wasm-verify) with fake_ollama
# at 0 ms per token. For each shard count: a fresh relay, fake and node (temp home, NIP-06 test
# key, announce and partials off, rate limits raised), then bench/provider/load.mjs; the node's
# CPU is read from /proc/<pid>/stat around the measured run. Everything runs on loopback and is
# stopped by pid.
#
# Usage: bench/provider/run.sh [BUILD_DIR] (default build/dev; needs pylon and fake_ollama built
#        and tests/node/node_modules). Env: JOBS (300), CONCURRENCY (16), SHARDS ("1 2"),
#        TOKENS (8), DELAY_MS (processing_feedback_delay_ms, default 0).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/dev}
pylon=$build/tools/pylon/pylon
fake=$build/tools/fake_ollama/fake_ollama
jobs=${JOBS:-300}
concurrency=${CONCURRENCY:-16}
tokens=${TOKENS:-8}
delay_ms=${DELAY_MS:-0}
provider=17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917
tick=$(getconf CLK_TCK)
work=$(mktemp -d /tmp/pylon-bench-provider.XXXXXX)
source bench/lib.sh  # mnemonic, pids, cleanup on exit, start_ready

cpu_ticks() {  # utime + stime of a pid
  awk '{print $14 + $15}' "/proc/$1/stat"
}

for shards in ${SHARDS:-1 2}; do
  start_ready "relay-$shards" node tests/node/relay.mjs --wasm-verify --max-runtime-s 600
  relay_port=$port
  start_ready "fake-$shards" "$fake" --tokens "$tokens" --token-delay-ms 0 --slots 64
  fake_port=$port
  home=$work/home-$shards
  mkdir -p "$home"
  printf '%s\n' "$mnemonic" >"$home/identity.mnemonic"
  chmod 600 "$home/identity.mnemonic"
  cat >"$home/config.toml" <<EOF
relays = ["ws://127.0.0.1:$relay_port"]
backend_preference = ["ollama"]
[provider]
announce = false
partial_interval_ms = 0
processing_feedback_delay_ms = $delay_ms
[limits]
requests_per_second = 100000
pubkey_requests_per_minute = 100000
job_queue_max = 10000
[backends.ollama]
url = "http://127.0.0.1:$fake_port"
slots = 64
[log]
level = "warn"
EOF
  "$pylon" start -f --home "$home" --shards "$shards" >"$work/node-$shards.out" 2>"$work/node-$shards.err" &
  node=$!
  pids+=("$node")
  sleep 1.5  # connect + subscribe (loopback)
  before=$(cpu_ticks "$node")
  result=$(node bench/provider/load.mjs --relay "ws://127.0.0.1:$relay_port" --provider "$provider" \
             --jobs "$jobs" --concurrency "$concurrency" --warmup 20)
  after=$(cpu_ticks "$node")
  total=$((jobs + 20))
  cpu_us=$(( (after - before) * 1000000 / tick / total ))
  echo "shards=$shards $result node_cpu_us_per_job=$cpu_us"
  kill "$node"
  wait "$node" || true
done
