#!/usr/bin/env bash
# bench/pipeline/heap_profile.sh: what the node's heap holds under a pylon-bench run, by call site
# (bench/README.md, "Session 7"). The node runs under heaptrack, which sees only allocations made
# through malloc, so the node is built without mimalloc (its operator new would bypass
# heaptrack) in its own build tree, build/heap (RelWithDebInfo, -DPYLON_MIMALLOC=OFF; the first
# run builds it, ~10 min on 2 cores). pylon-bench starts the node through a wrapper that keeps
# the node's pid (pylon-bench stops it by pid and reads its /proc files), so its figures stay
# valid apart from heaptrack's own cost. Prints the bench summary, the peak heap and the top
# peak consumers with their call sites; the raw file stays in $OUT_DIR for heaptrack_print or
# heaptrack_gui.
#
# Usage: bench/pipeline/heap_profile.sh [pylon-bench options]
#        (default: --shards 1 --inflight 100 --jobs 600 --warmup 100 --tokens 64
#         --token-delay-ms 20 --publish-queue-max 16384: 100 streams of 64 tokens at 20 ms)
# Env:   BUILD_DIR (build/heap), OUT_DIR (a new /tmp/pylon-heap.XXXXXX), PEAKS (20: consumers
#        listed). Needs heaptrack (Debian package `heaptrack`: installed with apt-get when
#        missing and run as root).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD_DIR:-build/heap}
out=${OUT_DIR:-$(mktemp -d /tmp/pylon-heap.XXXXXX)}
peaks=${PEAKS:-20}
preload=/usr/lib/heaptrack/libheaptrack_preload.so
interpret=/usr/lib/heaptrack/libexec/heaptrack_interpret

if ! command -v heaptrack_print >/dev/null || [ ! -f "$preload" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "heap_profile: installing heaptrack" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q heaptrack >/dev/null
  else
    echo "heap_profile: needs heaptrack (apt-get install heaptrack)" >&2
    exit 2
  fi
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  # pylon-bench is built on the test support library (tools/pylon_bench), so the tests are
  # configured; only pylon-bench and what it runs are built.
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYLON_MIMALLOC=OFF \
    -DPYLON_BUILD_TESTS=ON -DPYLON_BUILD_BENCH=ON >/dev/null
fi
cmake --build "$build" --target pylon_bench

# The wrapper pylon-bench starts instead of pylon: heaptrack's interpreter reads a fifo, the
# node execs in place (same pid) with heaptrack's preload library.
wrapper=$out/pylon-under-heaptrack
cat >"$wrapper" <<WRAP
#!/usr/bin/env bash
fifo=$out/fifo.\$\$
mkfifo "\$fifo"
"$interpret" <"\$fifo" | gzip -c >"$out/heaptrack.pylon.gz" &
echo \$! >"$out/writer.pid"
LD_PRELOAD="$preload" DUMP_HEAPTRACK_OUTPUT="\$fifo" exec "$PWD/$build/tools/pylon/pylon" "\$@"
WRAP
chmod +x "$wrapper"

if [ $# -eq 0 ]; then
  set -- --shards 1 --inflight 100 --jobs 600 --warmup 100 --tokens 64 --token-delay-ms 20 \
    --publish-queue-max 16384
fi
"$build/tools/pylon_bench/pylon-bench" --no-progress --pylon "$wrapper" "$@"
# The data is complete once the writer (the interpreter's gzip) exits, after the node did.
writer=$(cat "$out/writer.pid" 2>/dev/null || echo 0)
for _ in $(seq 300); do
  if [ "$writer" -eq 0 ] || ! kill -0 "$writer" 2>/dev/null; then break; fi
  sleep 0.1
done
echo
heaptrack_print -f "$out/heaptrack.pylon.gz" -a 0 -T 0 -l 0 -p 0 2>/dev/null |
  grep -E "peak heap|calls to allocation|total runtime"
heaptrack_print -f "$out/heaptrack.pylon.gz" -a 0 -T 0 -l 0 -p 1 -n "$peaks" -s 2 2>/dev/null |
  grep -vE '^\s*(at /usr|in /|__|0x)|std::|run_ready|Shard::|shard_set|start_thread|clone3' |
  sed -n '/PEAK MEMORY CONSUMERS/,$p'
echo "heaptrack data: $out/heaptrack.pylon.gz"
