#!/bin/sh
# Builds and runs the decode+filter micro-benchmark (bench_decode.c) at -O2.
# Usage: bench/pipeline/run.sh [records] [rounds]    (env CC, OUT=binary path)
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-${TMPDIR:-/tmp}/rtetl_bench_pipeline}
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -I"$root/src" "$root/bench/pipeline/bench_decode.c" \
    "$root"/src/pipeline/*.c "$root/src/util/opt.c" "$root/src/util/isotime.c" -lyaml -lm -o "$out"
"$out" "$@"
