#!/usr/bin/env bash
# Benchmark of `rtetl ingest --source builtin` against kcat -P producing the same lines from a
# file (the broker-bound ceiling of one producer on this machine). Not a test: it prints
# numbers. Both producers use the same librdkafka settings (rtetl's defaults: idempotent,
# acks=all, lz4, linger.ms=10, 10000-message / 1 MiB batches) and write to fresh 3-partition
# topics on the local stack; runs alternate between the two so that background load hits both.
#
# Usage: bench/ingest/run.sh [COUNT [RUNS]]     (defaults 1000000 and 3)
# Env:   RTETL_BIN (default build/rtetl), RTETL_BUILD (default build), BROKERS, KEEP_TOPICS=1
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
count=${1:-1000000}
runs=${2:-3}
bin=${RTETL_BIN:-$src/build/rtetl}
build=${RTETL_BUILD:-$src/build}
brokers=${BROKERS:-127.0.0.1:9092}
tmp=$(mktemp -d)
topics=()
cleanup() {
  rm -rf "$tmp"
  if [ "${KEEP_TOPICS:-0}" != 1 ] && [ ${#topics[@]} -gt 0 ]; then
    for t in "${topics[@]}"; do "$src/scripts/stack" topics \
      --delete --topic "$t" >/dev/null 2>&1 || true; done
  fi
}
trap cleanup EXIT

props=(enable.idempotence=true acks=all compression.type=lz4 linger.ms=10
  batch.num.messages=10000 batch.size=1048576 queue.buffering.max.messages=500000
  queue.buffering.max.kbytes=262144)
kcat_x=()
for p in "${props[@]}"; do kcat_x+=(-X "$p"); done

# The lines kcat sends are exactly the records `rtetl ingest --seed 42` produces.
cc -O2 -std=c11 -D_GNU_SOURCE -I"$src/src" "$src/bench/ingest/gen_bench.c" \
  "$build/librtetl_ingest.a" -lm -o "$tmp/gen_bench"
"$tmp/gen_bench" --dump "$count" 42 >"$tmp/lines.tsv"
echo "# generator alone: $("$tmp/gen_bench" "$count")"
echo "# input: $count records, $(($(stat -c %s "$tmp/lines.tsv") / count)) bytes per line"

# The broker process is the one listening on the brokers' port (several stacks may run).
kafka_pid=$(ss -ltnpH "sport = :${brokers##*:}" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
broker_cpu() { # user+system ticks of the broker JVM
  [ -n "$kafka_pid" ] && awk '{print $14 + $15}' "/proc/$kafka_pid/stat" || echo 0
}
hz=$(getconf CLK_TCK)

# Runs one producer; prints "records/s client_cpu_s broker_cpu_s wall_s".
measure() { # label, command...
  local label=$1; shift
  local b0 b1
  b0=$(broker_cpu)
  /usr/bin/time -f '%e %U %S' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/$label.err" ||
    { echo "FAILED: $*" >&2; tail -5 "$tmp/$label.err" >&2; exit 1; }
  b1=$(broker_cpu)
  read -r wall user sys <"$tmp/time"
  awk -v n="$count" -v w="$wall" -v u="$user" -v s="$sys" -v b=$((b1 - b0)) -v hz="$hz" \
    'BEGIN {printf "%.0f %.2f %.2f %.2f\n", n / w, u + s, b / hz, w}'
}

echo "# kcat:  kcat -P -l -b $brokers -t TOPIC -K '\\t' ${kcat_x[*]} lines.tsv"
echo "# rtetl: $bin ingest --source builtin --count $count --seed 42 --topic TOPIC --quiet"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
printf '%-4s %-6s %12s %10s %10s %8s\n' run tool records/s client_cpu broker_cpu wall_s
: >"$tmp/kcat.rates"
: >"$tmp/rtetl.rates"
for i in $(seq "$runs"); do
  tk="bench-kcat-$$-$i" tr="bench-rtetl-$$-$i"
  topics+=("$tk" "$tr")
  # Both topics exist before the clock starts (rtetl then only checks that its topic exists).
  for t in "$tk" "$tr"; do
    "$src/scripts/stack" topics --create --topic "$t" --partitions 3 >/dev/null
  done
  r=$(measure kcat kcat -P -l -b "$brokers" -t "$tk" -K '\t' "${kcat_x[@]}" "$tmp/lines.tsv")
  echo "$r" | awk '{print $1}' >>"$tmp/kcat.rates"
  printf '%-4s %-6s %12s %10s %10s %8s\n' "$i" kcat $r
  r=$(measure rtetl "$bin" ingest --source builtin --count "$count" --seed 42 --topic "$tr" \
    --brokers "$brokers" --partitions 3 --quiet)
  grep -q "delivered=$count undelivered=0" "$tmp/rtetl.err" || { echo "rtetl lost records" >&2; exit 1; }
  echo "$r" | awk '{print $1}' >>"$tmp/rtetl.rates"
  printf '%-4s %-6s %12s %10s %10s %8s\n' "$i" rtetl $r
done
# kcat prints delivery errors on stderr; a silent run means all were acknowledged.
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -n "$1" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
mk=$(median "$tmp/kcat.rates")
mr=$(median "$tmp/rtetl.rates")
paste "$tmp/rtetl.rates" "$tmp/kcat.rates" | awk '{print $1 / $2}' >"$tmp/pairs"
mp=$(median "$tmp/pairs")
awk -v k="$mk" -v r="$mr" -v p="$mp" 'BEGIN {printf "median records/s: kcat %d, rtetl %d, ratio rtetl/kcat %.2f (median of per-run ratios %.2f)\n", k, r, r / k, p}'
