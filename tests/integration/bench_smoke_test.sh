#!/usr/bin/env bash
# tier: slow
# Smoke check of the benchmark harness: `bench/run --quick` (20,000 records; rtetl, its null
# sink, the CQL ceiling hook when present, plain and batched, the Spark connector baseline; short
# latency runs) must write its results with a row per contender, and rtetl and Spark must have
# completed. No timing assertions: the figures of a quick run on a shared machine mean nothing.
# The first run on a machine downloads pyspark (~320 MB) and the connector jars into bench/.work.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

"$src/bench/run" --quick --records "${BENCH_SMOKE_RECORDS:-20000}" --out "$out"

md="$(ls "$out"/*.md)"
fail=0
check() {
  if ! grep -Eq "$1" "$md"; then
    echo "bench_smoke: FAIL: no line matching '$1' in $md" >&2
    fail=1
  fi
}
check '^\| rtetl-null \| ok \|'
check '^\| rtetl \| ok \|'
check '^\| spark-connector \| ok \|'
check '^\| cql-ceiling \| (ok|missing) \|'
check '^\| cql-ceiling-batched \| (ok|missing) \|'
check '^\| rtetl \| 1000 \| [0-9]+ \| [0-9.]+ \|.*\| ok(, rate NOT sustained)? \|'
check '^\| spark-connector \| 1000 \| [0-9]+ \| [0-9.]+ \|.*\| ok(, rate NOT sustained)? \|'
[ -s "${md%.md}.json" ] || { echo "bench_smoke: FAIL: no JSON results" >&2; fail=1; }
[ -s "${md%.md}.png" ] || { echo "bench_smoke: FAIL: no chart" >&2; fail=1; }
if [ "$fail" -ne 0 ]; then
  cat "$md" >&2
  exit 1
fi
echo "bench_smoke: results written with a row per contender: $md"
echo "1 passed, 0 failed"
