#!/usr/bin/env bash
# tier: slow
# deploy/ without a Docker engine: `docker compose config` (or Debian's docker-compose v1) when a
# compose CLI exists, deploy/check_compose.py (service wiring, ports, health checks, the runtime
# libraries of the slim images against the binary's NEEDED list) with the PyYAML of the pinned
# Airflow venv, and the Dockerfile's `cmake --install --strip` step into a temporary prefix.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${RTETL_BIN:-$src/build/rtetl}"
build="${RTETL_BUILD:-$(dirname "$bin")}"
tmp="$(mktemp -d /tmp/rtetl-compose-test.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fail=0

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  compose=()
fi
if [ "${#compose[@]}" -gt 0 ]; then
  if (cd "$src/deploy" && "${compose[@]}" -p rtetl -f docker-compose.yml config -q) >"$tmp/config.out" 2>&1; then
    echo "PASS ${compose[*]} config accepts deploy/docker-compose.yml ($("${compose[@]}" version --short 2>/dev/null || true))"
  else
    echo "FAIL ${compose[*]} config:"; cat "$tmp/config.out"; fail=1
  fi
else
  echo "SKIP compose config: no docker compose plugin and no docker-compose here"
fi

py="$("$src/scripts/airflow" install)/python"
"$py" "$src/deploy/check_compose.py" "$bin" || fail=1

if cmake --install "$build" --prefix "$tmp/prefix" --strip >"$tmp/install.out" 2>&1 &&
  "$tmp/prefix/bin/rtetl" --version >/dev/null; then
  echo "PASS cmake --install --strip gives a working $tmp/prefix/bin/rtetl"
else
  echo "FAIL cmake --install --prefix:"; cat "$tmp/install.out"; fail=1
fi
[ "$fail" = 0 ] && echo "all deploy checks passed"
exit "$fail"
