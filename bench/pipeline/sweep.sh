#!/usr/bin/env bash
# The pylon-bench sweeps of bench/README.md ("pipeline"): one JSON line per run appended to
# $OUT (default sweep.jsonl). Usage: bench/pipeline/sweep.sh [build dir] (default build/dev).
# Extra pylon-bench options (e.g. --pylon PATH) come from $BENCH_ARGS.
set -u
build=${1:-build/dev}
bench="$build/tools/pylon_bench/pylon-bench"
out=${OUT:-sweep.jsonl}
run() {
  echo "== $*" >&2
  line=$("$bench" --json --no-progress ${BENCH_ARGS:-} "$@")
  rc=$?
  if [ -n "$line" ]; then
    echo "$line" >> "$out"  # also when a check failed (exit 1): the line says which
  else
    echo "{\"failed\":\"$*\",\"exit\":$rc}" >> "$out"
  fi
}
# Instant backend (1 token, no delay): shards x in-flight, processing feedback delayed (default).
for shards in 1 2; do
  run --shards "$shards" --inflight 1 --jobs 1000 --warmup 50
  for inflight in 10 100 1000; do
    run --shards "$shards" --inflight "$inflight" --jobs 4000 --warmup 200
  done
done
# The same with `processing` sent at once (3 signs per job instead of 2).
run --shards 1 --inflight 100 --jobs 4000 --warmup 200 --processing-delay-ms 0
run --shards 2 --inflight 100 --jobs 4000 --warmup 200 --processing-delay-ms 0
# Tokens per job, no delay.
for tokens in 16 64; do
  run --shards 1 --inflight 100 --jobs 3000 --warmup 100 --tokens "$tokens"
done
# Streaming: 64 tokens at 20 ms (1.28 s per job), 100 and 1,000 concurrent streams.
run --shards 1 --inflight 100 --jobs 1000 --warmup 100 --tokens 64 --token-delay-ms 20
# With 1,000 streams the node's default publish queue (1,024 events per relay) overflows while
# the relay's OKs lag: once as configured by default, then with room.
run --shards 1 --inflight 1000 --jobs 2000 --warmup 1000 --tokens 64 --token-delay-ms 20
for shards in 1 2; do
  run --shards "$shards" --inflight 1000 --jobs 2000 --warmup 1000 --tokens 64 \
      --token-delay-ms 20 --publish-queue-max 16384
done
# CPU per job from 1 to 10,000 in flight (instant backend, publish queue raised for all points;
# beyond 1,024 in flight the node has 1,024 backend slots and queues the rest).
run --shards 1 --inflight 1 --jobs 1000 --warmup 50 --publish-queue-max 16384
for inflight in 10 100; do
  run --shards 1 --inflight "$inflight" --jobs 4000 --warmup 200 --publish-queue-max 16384
done
run --shards 1 --inflight 1000 --jobs 8000 --warmup 1000 --publish-queue-max 16384
run --shards 1 --inflight 10000 --jobs 30000 --warmup 10000 --publish-queue-max 16384 \
    --stall-timeout-ms 120000
# Memory per queued job: one backend slot, 1 / 1,000 / 4,000 in flight (the rest queued in the
# node); compare the RSS samples (rss_samples_bytes) and peaks.
for inflight in 1 1000 4000; do
  run --shards 1 --backend-slots 1 --inflight "$inflight" --jobs 4000 --warmup 0 \
      --publish-queue-max 16384 --stall-timeout-ms 120000
done
# The same paced by the backend (2 tokens 5 ms apart): every binary then serves the same jobs/s
# and holds the same results awaiting OKs, so only the queue differs (bench/README.md).
for spec in 1:2500 1000:2500 4000:5000; do
  run --shards 1 --backend-slots 1 --inflight "${spec%%:*}" --jobs "${spec##*:}" --warmup 0 \
      --tokens 2 --token-delay-ms 5 --publish-queue-max 16384 --stall-timeout-ms 120000
done
# Memory per active stream: 10 / 100 / 1,000 streams of 64 tokens at 20 ms (steady RSS samples).
run --shards 1 --inflight 10 --jobs 100 --warmup 10 --tokens 64 --token-delay-ms 20
run --shards 1 --inflight 100 --jobs 1000 --warmup 100 --tokens 64 --token-delay-ms 20
run --shards 1 --inflight 1000 --jobs 3000 --warmup 1000 --tokens 64 --token-delay-ms 20 \
    --publish-queue-max 16384
