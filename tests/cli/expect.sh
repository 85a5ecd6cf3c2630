#!/usr/bin/env bash
# expect.sh RC STREAM PATTERN -- COMMAND...
# Runs COMMAND; passes when it exits with RC and STREAM (stdout|stderr|json)
# matches the extended regex PATTERN. Errors must fit on one line.
set -u
want_rc=$1 stream=$2 pattern=$3
shift 3
[ "$1" = "--" ] && shift
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$@" >"$out" 2>"$err"
rc=$?
fail() { echo "FAIL: $*"; echo "--- stdout"; head -20 "$out"; echo "--- stderr"; cat "$err"; exit 1; }
[ "$rc" -eq "$want_rc" ] || fail "exit code $rc, expected $want_rc"
case $stream in
  stdout) grep -Eq -- "$pattern" "$out" || fail "stdout does not match /$pattern/" ;;
  stderr)
    grep -Eq -- "$pattern" "$err" || fail "stderr does not match /$pattern/"
    [ "$(wc -l <"$err")" -eq 1 ] || fail "error is not exactly one line" ;;
  json)
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$out" || fail "stdout is not JSON"
    grep -Eq -- "$pattern" "$out" || fail "JSON does not match /$pattern/" ;;
  *) fail "unknown stream $stream" ;;
esac
echo "ok"
