#!/usr/bin/env bash
# The rtetl dispatcher: --version, --help, exit codes and one-line errors.
set -uo pipefail
bin="${RTETL_BIN:?RTETL_BIN must point at build/rtetl}"
pass=0 fail=0
check() { # name, expected, actual
  if [ "$2" == "$3" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $1: expected [$2] got [$3]"; fi
}
out=$("$bin" --version); check "--version exit" 0 $?
[[ "$out" =~ ^rtetl\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; check "--version text ($out)" 0 $?
help=$("$bin" --help); check "--help exit" 0 $?
[[ "$help" == "Usage: rtetl"* ]]; check "--help Usage line" 0 $?
err=$("$bin" frobnicate 2>&1 >/dev/null); check "unknown command exit" 2 $?
check "unknown command line" "rtetl: unknown command 'frobnicate' (see 'rtetl --help')" "$err"
"$bin" >/dev/null 2>&1; check "no command exit" 2 $?
err=$("$bin" --log-level=loud x 2>&1); check "bad log level exit" 2 $?
check "bad log level line" "rtetl: invalid log level 'loud' (see 'rtetl --help')" "$err"
# Every registered command answers --help with exit 0 and a Usage line, and rejects an
# unknown option with exit 2 and exactly one line on stderr.
for cmd in $("$bin" --help | awk '/^Commands:/{f=1;next} /^$/{f=0} f{print $1}'); do
  help=$("$bin" "$cmd" --help); check "$cmd --help exit" 0 $?
  # Not `| grep -q`: grep would quit early and the writer could die of SIGPIPE.
  [[ "$help" == "Usage: rtetl $cmd"* ]]; check "$cmd --help Usage line" 0 $?
  err=$("$bin" "$cmd" --no-such-option 2>&1 >/dev/null); check "$cmd bad option exit" 2 $?
  check "$cmd bad option lines" 1 "$(printf '%s\n' "$err" | wc -l)"
done
# rtetl init needs the topic it samples.
err=$("$bin" init 2>&1 >/dev/null); check "init without --topic exit" 2 $?
check "init without --topic line" "rtetl init: give the topic to sample: --topic T (see 'rtetl init --help')" "$err"
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
