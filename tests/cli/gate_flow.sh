#!/usr/bin/env bash
# gate_flow.sh BPFSIGN CORPUS_DIR: `bpfsign gate` where no kernel is needed
# (the qemu matrix runs the gate itself, tests/vm/gate_rows.sh): the
# dry-run's answers, per kernel generation, for an admitted and another
# signer (by keyring and by certificate), in text and JSON; a malformed policy refused with one line naming
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
assert all(not o["loads"] and o["first_refusal"]["rule"] == "keyring-not-admitted" for o in j["outcome"].values()), j["outcome"]
PY

# A certificate signer: the dry-run holds the bundle against its
# certificates (gate start enrols exactly those into the signer's keyring).
"$bpfsign" keygen --key "$dir/other.key" --cert "$dir/other.crt" --cn "gate flow other" >/dev/null 2>&1 || fail keygen
printf '{"mode": "enforce", "signers": [{"certificate": "%s"}]}\n' "$dir/k.crt" >"$dir/cert-policy.json"
"$bpfsign" gate dry-run --policy "$dir/cert-policy.json" "$dir/subprogs.bundle" --json >"$dir/out" 2>"$dir/err" || fail "dry-run, certificate signer"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); d=[x for x in j["decisions"] if x["loader"]]; assert len(d)==3 and all(x["decision"]=="admitted" for x in d), d; assert all(o["loads"] for o in j["outcome"].values()), j["outcome"]' "$dir/out" ||
  fail "a bundle signed by the policy's certificate is admitted"
printf '{"mode": "enforce", "signers": [{"certificate": "%s", "keyring": "theirs"}]}\n' "$dir/other.crt" >"$dir/cert-policy.json"
"$bpfsign" gate dry-run --policy "$dir/cert-policy.json" "$dir/subprogs.bundle" --keyring theirs --json >"$dir/out" 2>"$dir/err" || fail "dry-run, other certificate"
python3 -c 'import json,sys; d=[x for x in json.load(open(sys.argv[1]))["decisions"] if x["loader"]]; assert len(d)==3 and all(x["rule"]=="keyring-not-admitted" for x in d), d' "$dir/out" ||
  fail "a bundle signed by another key is refused, whatever keyring the load names"
printf '{"mode": "enforce", "signers": [{"certificate": "%s"}]}\n' "$dir/missing.crt" >"$dir/cert-policy.json"
"$bpfsign" gate start --policy "$dir/cert-policy.json" --pin-dir "$dir/pins" >"$dir/out" 2>"$dir/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$dir/err")" -eq 1 ] && grep -q "signers: certificate: .*missing.crt" "$dir/err" && [ ! -e "$dir/pins" ] ||
  fail "a signer's missing certificate file: exit $rc"

# A policy others may write is not trusted (it decides what loads).
cp "$dir/policy.json" "$dir/open.json" && chmod 666 "$dir/open.json"
"$bpfsign" gate start --policy "$dir/open.json" --pin-dir "$dir/pins" >"$dir/out" 2>"$dir/err"
rc=$?
[ $rc -eq 2 ] && grep -q "writable by its group or by others" "$dir/err" && [ ! -e "$dir/pins" ] || fail "a policy others can write: exit $rc"

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
bad "signers\[0\].keyring_serial: names a keyring on its own" '{"mode": "audit", "signers": [{"keyring_serial": 5, "certificate": "/a.pem"}]}'
bad "signers\[0\]: unknown key 'certficate'" '{"mode": "audit", "signers": [{"certficate": "/a.pem"}]}'
bad "signers\[0\].certificate: expected a file name" '{"mode": "audit", "signers": [{"certificate": ""}]}'
bad "signers\[0\].keyring: '@u' is a special keyring" '{"mode": "audit", "signers": [{"keyring": "@u"}]}'
bad "signers\[0\].keyring: '-4' is a special keyring or a number" '{"mode": "audit", "signers": [{"keyring": "-4"}]}'
bad "signers\[1\]: the same signer as signers\[0\]" '{"mode": "audit", "signers": [{"keyring": "a"}, {"keyring": "a"}]}'
bad "signers\[1\]: keyring 'k' is filled by start" '{"mode": "audit", "signers": [{"certificate": "/a.pem", "keyring": "k"}, {"keyring": "k"}]}'
bad "unsigned_loads" '{"mode": "audit", "unsigned_loads": "sometimes"}'
bad "not JSON" '{"mode": '

"$bpfsign" gate status --pin-dir "$dir/nothing" >"$dir/out" 2>"$dir/err" && grep -q "^no gate at" "$dir/out" || fail "status of no gate"
"$bpfsign" gate status --pin-dir "$dir/nothing" --json >"$dir/out" 2>"$dir/err" && grep -q '"running": false' "$dir/out" || fail "status --json"
"$bpfsign" gate stop --pin-dir "$dir/nothing" >"$dir/out" 2>"$dir/err" && grep -q "^no gate was running at" "$dir/out" || fail "stop of no gate"
mkdir "$dir/not-a-gate"
"$bpfsign" gate stop --pin-dir "$dir/not-a-gate" >"$dir/out" 2>"$dir/err"
[ $? -ne 0 ] && grep -q "not a gate's pin directory" "$dir/err" && [ -d "$dir/not-a-gate" ] || fail "stop of a directory that is no gate"
echo ok
