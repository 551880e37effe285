#!/usr/bin/env bash
# Usage: scripts/start-node.sh PYLON_BINARY [pylon start options...]
# The second half of Quick start 1 (run.sh builds, then comes here): a home with no identity gets
# one (`pylon init`: a new mnemonic, 0600, and a default config.toml), then the node runs in the
# foreground. CI runs this file with the tested binary (tests/integration/pylon_start_test.cpp).
set -euo pipefail
if [[ $# -lt 1 || ! -x $1 ]]; then
  echo "usage: scripts/start-node.sh PYLON_BINARY [pylon start options...]" >&2
  exit 2
fi
pylon=$1
shift
# Only the home folder of the start arguments matters for the identity.
home=()
args=("$@")
for (( i = 0; i < ${#args[@]}; i++ )); do
  case "${args[i]}" in
    --home) home=(--home "${args[i+1]:-}") ;;
    --home=*) home=(--home "${args[i]#--home=}") ;;
  esac
done
# Only a missing identity is made; any other failure (an unreadable or damaged mnemonic, a home
# that cannot be read) is shown as it is and stops here: `pylon init` would only answer that an
# identity exists.
if ! err=$("$pylon" identity "${home[@]}" 2>&1 >/dev/null); then
  if [[ $err != *"No identity found"* ]]; then
    echo "$err" >&2
    echo "scripts/start-node.sh: the node's identity cannot be used; fix it or move it aside" >&2
    exit 1
  fi
  # Another start racing this one may have made it meanwhile: init then refuses to replace it
  # (exit 1, nothing written), and that identity is the one to run with.
  "$pylon" init "${home[@]}" || "$pylon" identity "${home[@]}" >/dev/null
fi
exec "$pylon" start --foreground "$@"
