#!/usr/bin/env bash
# ctest fixture around the integration tier: `setup` brings the local stack up when it is not
# up and remembers that; `cleanup` brings it down again only in that case, so the suite leaves
# the stack as it found it. A stack whose servers run but do not answer yet (a busy machine) is
# waited for, not counted as started here, so it is never stopped under someone else's feet;
# RTETL_STACK_KEEP=1 never stops it either.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
state="${RTETL_STACK_DIR:-$src/.stack}"
marker="$state/fixture-started-stack"
case "${1:-}" in
setup)
  mkdir -p "$state"
  if "$src/scripts/stack" status >/dev/null 2>&1; then
    echo "fixture: stack already up; it will be left up"
    rm -f "$marker"
  else
    # A PID in `status` means a server of this stack runs already (just not ready yet).
    if "$src/scripts/stack" status 2>/dev/null | awk 'NR > 1 && $2 ~ /^[0-9]+$/ {f = 1} END {exit !f}'; then
      echo "fixture: the stack runs but is not ready yet; waiting for it (it will be left up)"
      rm -f "$marker"
    else
      echo "fixture: bringing the stack up"
      touch "$marker"
    fi
    "$src/scripts/stack" up
  fi
  ;;
cleanup)
  if [ -f "$marker" ] && [ "${RTETL_STACK_KEEP:-0}" != 1 ]; then
    echo "fixture: stopping the stack this suite started"
    rm -f "$marker"
    "$src/scripts/stack" down
  else
    echo "fixture: leaving the stack as it was"
  fi
  ;;
*) echo "usage: $0 setup|cleanup" >&2; exit 2 ;;
esac
