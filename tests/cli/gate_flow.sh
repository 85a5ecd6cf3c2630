#!/usr/bin/env bash
# gate_flow.sh BPFSIGN CORPUS_DIR: `bpfsign gate` where no kernel is needed
# (the qemu matrix runs the gate itself, tests/vm/gate_rows.sh): the
# dry-run's answers, per kernel generation, for an admitted and another
# signer, in text and JSON; a malformed policy refused with one line naming
# the field (exit 3), before anything is loaded; status and stop of a
# directory that holds no gate.
set -u
bpfsign=$1 corpus=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$dir/out"; echo "--- stderr"; cat "$dir/err"; exit 1; }
"$bpfsign" keygen --key "$dir/k.key" --cert "$dir/k.crt" --cn "gate flow" >/dev/null 2>&1 || fail keygen
"$bpfsign" sign "$corpus/subprogs.bpf.o" -k "$dir/k.key" -c "$dir/k.crt" -o "$dir/subprogs.bundle" >/dev/null 2>&1 || fail sign
cat >"$dir/policy.json" <<'JSON'
{"mode": "enforce", "signers": [{"keyring": "ours"}], "program_types": ["syscall", "tracepoint"]}
JSON

"$bpfsign" gate dry-run --policy "$dir/policy.json" "$dir/subprogs.bundle" --keyring ours >"$dir/out" 2>"$dir/err" || fail "dry-run"
for gen in 6.18-7.2.5 7.2.6-7.2 7.3; do grep -q "^kernels $gen:" "$dir/out" || fail "no $gen in the dry-run"; done
grep -q '^  admitted      the signed loader \[signed-no-verdict\]' "$dir/out" || fail "loader on 6.18-7.2.5"
grep -q '^  admitted      the signed loader \[signed\]' "$dir/out" || fail "loader on 7.2.6+"
"$bpfsign" gate dry-run --policy "$dir/policy.json" "$dir/subprogs.bundle" --keyring theirs --json >"$dir/out" 2>"$dir/err" || fail "dry-run --json"
python3 - "$dir/out" <<'PY' || fail "dry-run JSON"
import json, sys
j = json.load(open(sys.argv[1]))
loaders = [d for d in j["decisions"] if d["loader"]]
assert len(loaders) == 3 and all(d["decision"] == "refused" and d["rule"] == "keyring-not-admitted" for d in loaders), loaders
inner = [d for d in j["decisions"] if not d["loader"]]
assert inner and all(d["rule"] == "inner-no-loader" for d in inner), inner
assert set(j["guarantees"]) == {"6.18-7.2.5", "7.2.6-7.2", "7.3"}
PY

bad() {  # bad PATTERN POLICY-JSON: gate start refuses it, one line, exit 3
  printf '%s\n' "$2" >"$dir/bad.json"
  "$bpfsign" gate start --policy "$dir/bad.json" --pin-dir "$dir/pins" >"$dir/out" 2>"$dir/err"
  local rc=$?
  [ $rc -eq 3 ] && [ "$(wc -l <"$dir/err")" -eq 1 ] && grep -q -- "$1" "$dir/err" || fail "policy '$2': exit $rc"
  [ ! -e "$dir/pins" ] || fail "a refused policy left $dir/pins"
}
bad "unknown key 'mdoe'" '{"mdoe": "enforce"}'
bad "key 'mode' appears twice" '{"mode": "enforce", "mode": "audit", "signers": [{"keyring_serial": 5}]}'
bad "mode: 'strict' is neither" '{"mode": "strict"}'
bad "an enforcing gate with no signer" '{"mode": "enforce"}'
bad "program_types\[0\]: 'tracepoints' is not a program type" '{"mode": "audit", "program_types": ["tracepoints"]}'
bad "signers\[0\].keyring_serial" '{"mode": "audit", "signers": [{"keyring_serial": -3}]}'
bad "scope.cgroup: expected an absolute path" '{"mode": "audit", "scope": {"cgroup": "rel"}}'
bad "unsigned_loads" '{"mode": "audit", "unsigned_loads": "sometimes"}'
bad "not JSON" '{"mode": '

"$bpfsign" gate status --pin-dir "$dir/nothing" >"$dir/out" 2>"$dir/err" && grep -q "^no gate at" "$dir/out" || fail "status of no gate"
"$bpfsign" gate status --pin-dir "$dir/nothing" --json >"$dir/out" 2>"$dir/err" && grep -q '"running": false' "$dir/out" || fail "status --json"
mkdir "$dir/not-a-gate"
"$bpfsign" gate stop --pin-dir "$dir/not-a-gate" >"$dir/out" 2>"$dir/err"
[ $? -ne 0 ] && grep -q "not a gate's pin directory" "$dir/err" && [ -d "$dir/not-a-gate" ] || fail "stop of a directory that is no gate"
echo ok
