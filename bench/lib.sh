# bench/lib.sh: shell helpers shared by the bench scripts (sourced, not run). The caller sets
# `work` (a temporary directory) before sourcing; every process started with start_ready (or
# added to `pids`) is stopped by pid on exit, and `work` is removed.

# The NIP-06 test mnemonic (../shared/vectors): the benches' node identity.
mnemonic="leader monkey parrot ring guide accident before fence cannon height naive bean"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts "$@" with stdout to $work/$1.out and records its pid (not in a subshell: the pid must
# reach cleanup); waits (10 s at most) for its READY line and sets $port.
port=0
start_ready() {
  local name=$1
  shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do
    if grep -q '^READY port=' "$work/$name.out"; then
      port=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$work/$name.out" | head -1)
      return
    fi
    sleep 0.1
  done
  echo "$name did not start" >&2
  exit 1
}
