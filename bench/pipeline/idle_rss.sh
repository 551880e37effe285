#!/usr/bin/env bash
# bench/pipeline/idle_rss.sh: the node's idle memory with three relays (issue 8: "idle RSS under
# 10 MB with three relays"). Starts three real npm relays (tests/node/relay.mjs), fake_ollama
# and `pylon start -f` in a temporary home (the three relays, the fake as its backend, the
# NIP-06 test key, announce off), waits until the node reports all three relays connected, lets
# it settle, then prints VmRSS, VmHWM, RssAnon/RssFile and the thread count from
# /proc/<pid>/status, several times. No job is sent. Everything on loopback, stopped by pid.
#
# Usage: bench/pipeline/idle_rss.sh [BUILD_DIR] (default build/dev; needs pylon and fake_ollama
#        built and tests/node/node_modules). Env: RELAYS (3), SHARDS (1), SETTLE_S (10),
#        SAMPLES (3), RELAY_DIR (tests/node: where relay.mjs and its node_modules are),
#        CONFIG_EXTRA (TOML appended to the config, e.g. $'[relay_pool]\nping_interval_ms = 1000'
#        to cycle the receive-buffer ring faster).
#        After the samples it lists the five mappings with the most resident memory.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/dev}
pylon=$build/tools/pylon/pylon
fake=$build/tools/fake_ollama/fake_ollama
relay_dir=${RELAY_DIR:-tests/node}
shards=${SHARDS:-1}
relay_count=${RELAYS:-3}
settle_s=${SETTLE_S:-10}
samples=${SAMPLES:-3}
work=$(mktemp -d /tmp/pylon-idle-rss.XXXXXX)
source bench/lib.sh  # mnemonic, pids, cleanup on exit, start_ready

relays=()
for i in $(seq "$relay_count"); do
  start_ready "relay-$i" node "$relay_dir/relay.mjs" --max-runtime-s 600
  relays+=("\"ws://127.0.0.1:$port\"")
done
start_ready fake "$fake" --tokens 1 --slots 4
fake_port=$port
home=$work/home
mkdir -p "$home"
printf '%s\n' "$mnemonic" >"$home/identity.mnemonic"
chmod 600 "$home/identity.mnemonic"
relay_list=$(IFS=,; echo "${relays[*]}")
cat >"$home/config.toml" <<CONF
relays = [${relay_list}]
backend_preference = ["ollama"]
[provider]
announce = false
[backends.ollama]
url = "http://127.0.0.1:$fake_port"
slots = 4
[log]
level = "warn"
CONF
printf '%s\n' "${CONFIG_EXTRA:-}" >>"$home/config.toml"
"$pylon" start -f --home "$home" --shards "$shards" >"$work/node.out" 2>"$work/node.err" &
node=$!
pids+=("$node")
connected=0
for _ in $(seq 100); do
  connected=$("$pylon" status --home "$home" --json 2>/dev/null | grep -o '"state":"connected"' |
              wc -l || true)
  [ "$connected" -ge "$relay_count" ] && break
  sleep 0.1
done
echo "relays connected: $connected of $relay_count; settling ${settle_s} s"
sleep "$settle_s"
for i in $(seq "$samples"); do
  fields=$(grep -E '^(VmRSS|VmHWM|RssAnon|RssFile|Threads):' "/proc/$node/status" | tr -s ' \t' ' ' |
           tr '\n' ' ')
  echo "relays=$relay_count shards=$shards sample=$i $fields"
  sleep 2
done
grep -E '^(Pss|Private_Clean|Private_Dirty|Shared_Clean):' "/proc/$node/smaps_rollup" | tr -s ' ' |
  tr '\n' ' '
echo
# The largest resident mappings (kB, path or [anon]).
awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anon]" : $6) }
     /^Rss:/ { rss[name] += $2 }
     END { for (n in rss) print rss[n], n }' "/proc/$node/smaps" | sort -rn | head -8
