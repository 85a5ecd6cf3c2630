#!/usr/bin/env bash
# signing_flow.sh BPFSIGN OBJECT: the signing commands as a user chains them,
# with their exit codes (docs/cli.md): keygen, sign, verify (good, wrong
# certificate, CA chain, damaged bundle), JSON outputs, and load's refusal
# of a signed bundle on a kernel that cannot check signatures.
set -u
bpfsign=$1 object=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect_rc() { local want=$1; shift; "$@" >"$dir/out" 2>"$dir/err"; local rc=$?; [ "$rc" -eq "$want" ] || { cat "$dir/out" "$dir/err"; fail "exit $rc, expected $want: $*"; }; }

expect_rc 0 "$bpfsign" keygen -a p256 --key "$dir/k.pem" --cert "$dir/c.pem"
[ "$(stat -c %a "$dir/k.pem")" = 600 ] || fail "private key is not mode 0600"
expect_rc 0 "$bpfsign" keygen --key "$dir/other.pem" --cert "$dir/other.crt"
expect_rc 0 "$bpfsign" keygen --ca -a p384 --cn "test CA" --key "$dir/ca.pem" --cert "$dir/ca.crt"
expect_rc 0 "$bpfsign" keygen --issuer-key "$dir/ca.pem" --issuer-cert "$dir/ca.crt" --key "$dir/leaf.pem" --cert "$dir/leaf.crt" --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["issuer"] != j["subject"], j' "$dir/out" || fail "keygen --json"

expect_rc 0 "$bpfsign" sign "$object" -k "$dir/k.pem" -c "$dir/c.pem" -o "$dir/b.bundle"
expect_rc 0 "$bpfsign" verify "$dir/b.bundle" --cert "$dir/c.pem"
grep -q "VERIFIED" "$dir/out" || fail "verify did not say VERIFIED"
expect_rc 1 "$bpfsign" verify "$dir/b.bundle" --cert "$dir/other.crt"
grep -q "FAIL.*signer trusted" "$dir/out" || fail "verify did not name the failed trust check"
expect_rc 2 "$bpfsign" verify "$dir/b.bundle"
grep -q "needs --cert or --ca" "$dir/err" || fail "verify without trust: not a usage error"
expect_rc 2 "$bpfsign" verify "$dir/b.bundle" --cert "$dir/c.pem" --chain "$dir/c.pem"
expect_rc 2 "$bpfsign" verify "$dir/b.bundle" --revoked "$dir/c.pem"
expect_rc 0 "$bpfsign" inspect "$dir/b.bundle" --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["explained"] and j["metadata_check"]["matches_metadata"] and any(c["kind"] == "PROG_LOAD" for c in j["commands"]), j' "$dir/out" || fail "inspect --json"
expect_rc 0 "$bpfsign" inspect "$dir/b.bundle" --scheme kernel-chained
# One count of instructions everywhere (docs/cli.md): sign's equals inspect's for each loader.
"$bpfsign" sign "$object" -k "$dir/k.pem" -c "$dir/c.pem" -o "$dir/count.bundle" --json >"$dir/sign.json" || fail "sign --json"
for scheme in loader-checked kernel-chained loader-checked-hash-only; do
  expect_rc 0 "$bpfsign" inspect "$dir/count.bundle" --scheme "$scheme" --json
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); i=json.load(open(sys.argv[2])); n=[x["loader_insns"] for x in s["signatures"] if x["scheme"] == sys.argv[3]][0]; assert n == i["instructions"], (n, i["instructions"])' "$dir/sign.json" "$dir/out" "$scheme" || fail "sign and inspect count $scheme's instructions differently"
done
expect_rc 0 "$bpfsign" reproduce "$object" "$dir/b.bundle"
grep -q "REPRODUCED" "$dir/out" || fail "reproduce did not say REPRODUCED"

expect_rc 0 "$bpfsign" sign "$object" -k "$dir/leaf.pem" -c "$dir/leaf.crt" -o "$dir/leaf.bundle" --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert len(j["signatures"]) == 4, j' "$dir/out" || fail "sign --json"
expect_rc 0 "$bpfsign" verify "$dir/leaf.bundle" --ca "$dir/ca.crt" --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["ok"] and all(c["ok"] for c in j["checks"]), j' "$dir/out" || fail "verify --json"
expect_rc 1 "$bpfsign" verify "$dir/b.bundle" --ca "$dir/ca.crt"

# The signer policy: chains through --chain, revocation, no CA as signer.
expect_rc 0 "$bpfsign" keygen --ca --cn "test intermediate" --issuer-key "$dir/ca.pem" --issuer-cert "$dir/ca.crt" --key "$dir/mid.pem" --cert "$dir/mid.crt"
expect_rc 0 "$bpfsign" keygen --cn "leaf of mid" --issuer-key "$dir/mid.pem" --issuer-cert "$dir/mid.crt" --key "$dir/leaf2.pem" --cert "$dir/leaf2.crt"
expect_rc 0 "$bpfsign" sign "$object" -k "$dir/leaf2.pem" -c "$dir/leaf2.crt" -o "$dir/leaf2.bundle"
expect_rc 1 "$bpfsign" verify "$dir/leaf2.bundle" --ca "$dir/ca.crt"
expect_rc 0 "$bpfsign" verify "$dir/leaf2.bundle" --ca "$dir/ca.crt" --chain "$dir/mid.crt"
expect_rc 1 "$bpfsign" verify "$dir/leaf2.bundle" --ca "$dir/ca.crt" --chain "$dir/mid.crt" --revoked "$dir/mid.crt"
grep -q "revoked" "$dir/out" || fail "a revoked intermediate was not named"
expect_rc 1 "$bpfsign" verify "$dir/leaf2.bundle" --cert "$dir/leaf2.crt" --revoked "$dir/leaf2.crt"
expect_rc 3 "$bpfsign" sign "$object" -k "$dir/ca.pem" -c "$dir/ca.crt" -o "$dir/ca.bundle"
grep -q "CA certificate" "$dir/err" || fail "signing with a CA certificate was not refused by name"

expect_rc 0 "$bpfsign" sign "$object" -k "$dir/k.pem" -c "$dir/c.pem" -o "$dir/one.bundle" --scheme kernel-chained
expect_rc 0 "$bpfsign" verify "$dir/one.bundle" --cert "$dir/c.pem" --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["schemes"] == ["kernel-chained"], j' "$dir/out" || fail "--scheme"

# A flipped byte in the metadata: the bundle still parses, verification fails.
python3 - "$dir/b.bundle" "$dir/bad.bundle" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 3] ^= 0x10
open(sys.argv[2], "wb").write(b)
PY
"$bpfsign" verify "$dir/bad.bundle" --cert "$dir/c.pem" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 1 ] || [ "$rc" -eq 3 ] || fail "damaged bundle: exit $rc"
"$bpfsign" reproduce "$object" "$dir/bad.bundle" --json >"$dir/out" 2>&1
[ $? -eq 1 ] || fail "reproduce of a damaged bundle did not exit 1"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert not j["reproduced"], j' "$dir/out" || fail "reproduce --json"
head -c 100 "$dir/b.bundle" >"$dir/cut.bundle"
expect_rc 3 "$bpfsign" verify "$dir/cut.bundle" --cert "$dir/c.pem"
grep -q "truncated" "$dir/err" || fail "truncation not named"
expect_rc 2 "$bpfsign" sign "$object" -k "$dir/missing.pem" -c "$dir/c.pem" -o "$dir/x.bundle"
[ ! -e "$dir/x.bundle" ] || fail "a failed sign left an output"
expect_rc 3 "$bpfsign" sign "$object" -k "$dir/other.pem" -c "$dir/c.pem" -o "$dir/x.bundle"
grep -q "does not belong" "$dir/err" || fail "key/certificate mismatch not named"
expect_rc 2 "$bpfsign" keygen -a dsa1024 --key "$dir/d.pem" --cert "$dir/d.crt"
expect_rc 2 "$bpfsign" sign "$object" -k "$dir/k.pem" -c "$dir/c.pem" -o "$dir/s.bundle" --scheme no-such-scheme

# No file is lost: existing outputs are kept without --force, an output
# that is also an input is refused, and keygen writes both files or neither.
cp "$dir/k.pem" "$dir/k.saved"
expect_rc 2 "$bpfsign" keygen --key "$dir/k.pem" --cert "$dir/new.crt"
grep -q "exists; not replaced (--force" "$dir/err" || fail "keygen over an existing key: not named"
cmp -s "$dir/k.pem" "$dir/k.saved" || fail "keygen replaced an existing key"
[ ! -e "$dir/new.crt" ] || fail "keygen wrote a certificate without its key"
expect_rc 2 "$bpfsign" keygen --key "$dir/same.pem" --cert "$dir/same.pem"
(cd "$dir" && "$bpfsign" keygen --key ./y.pem --cert y.pem --force >/dev/null 2>&1); [ $? -eq 2 ] || fail "keygen --key ./y.pem --cert y.pem was not refused"
[ ! -e "$dir/y.pem" ] || fail "keygen --key ./y.pem --cert y.pem wrote y.pem"
[ ! -e "$dir/same.pem" ] || fail "keygen --key X --cert X wrote X"
expect_rc 2 "$bpfsign" keygen --key "$dir/z.pem" --cert "$dir/z.crt" --days 0
# A certificate path that cannot be replaced: the older key is never lost.
cp "$dir/k.pem" "$dir/kk.pem"; mkdir "$dir/dd"
expect_rc 2 "$bpfsign" keygen --key "$dir/kk.pem" --cert "$dir/dd" --force
cmp -s "$dir/kk.pem" "$dir/k.pem" || fail "keygen --force replaced a key whose certificate could not be written"
expect_rc 2 "$bpfsign" load "$object" --revoked "$dir/c.pem"
grep -q "go with --cert or --ca" "$dir/err" || fail "load OBJECT --revoked was not a usage error"
expect_rc 2 "$bpfsign" load /nonexistent.o --chain "$dir/c.pem"
grep -q "go with --cert or --ca" "$dir/err" || fail "option combinations are not checked before files"
expect_rc 2 "$bpfsign" sign "$object" -k "$dir/k.pem" -c "$dir/c.pem" -o "$dir/k.pem"
cmp -s "$dir/k.pem" "$dir/k.saved" || fail "sign -o KEY replaced the key"
expect_rc 2 "$bpfsign" sign "$object" -k "$dir/k.pem" -c "$dir/c.pem" -o "$dir/b.bundle"
expect_rc 0 "$bpfsign" sign "$object" -k "$dir/k.pem" -c "$dir/c.pem" -o "$dir/b.bundle" --force
expect_rc 0 "$bpfsign" keygen --key "$dir/f.pem" --cert "$dir/f.crt"
expect_rc 0 "$bpfsign" keygen --key "$dir/f.pem" --cert "$dir/f.crt" --force
chmod 0644 "$dir/f.pem"
expect_rc 0 "$bpfsign" sign "$object" -k "$dir/f.pem" -c "$dir/f.crt" -o "$dir/f.bundle"
grep -q "warning: .*readable by every user" "$dir/err" || fail "a world-readable key was not warned about"

# A signed skeleton embeds the bundle; --object must be the bundle's object.
expect_rc 0 "$bpfsign" gen skeleton "$dir/b.bundle" --object "$object" --name signed -o "$dir/signed.hpp"
grep -q "kBundle" "$dir/signed.hpp" && grep -q "load_bundle" "$dir/signed.hpp" || fail "signed skeleton does not embed the bundle"
"$bpfsign" gen skeleton "$dir/bad.bundle" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 1 ] || [ "$rc" -eq 3 ] || fail "signed skeleton of a damaged bundle: exit $rc"
expect_rc 2 "$bpfsign" gen skeleton --c "$dir/b.bundle"

# Loading a signed bundle where the kernel cannot check signatures needs consent.
if [ "$(id -u)" -eq 0 ] && "$bpfsign" probe --json | grep -q '"checks_signatures": false'; then
  expect_rc 4 "$bpfsign" load "$dir/b.bundle"
  grep -q "offline-verified" "$dir/err" || fail "load did not say how to proceed"
  expect_rc 0 "$bpfsign" load "$dir/b.bundle" --offline-verified --cert "$dir/c.pem" --json
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["offline_verified"] and not j["kernel_checked_signature"], j' "$dir/out" || fail "load --json"
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); ids=[c["id"] for c in j["checks"]]; assert "offline-verification" in ids and "kernel-signature" not in ids, j' "$dir/out" || fail "load --json checks"
  cp "$dir/out" "$dir/load.json"
  expect_rc 0 "$bpfsign" inspect "$dir/b.bundle" --scheme "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["scheme"])' "$dir/load.json")" --json
  python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); i=json.load(open(sys.argv[2])); assert l["loader_insns"] == i["instructions"], (l["loader_insns"], i["instructions"])' "$dir/load.json" "$dir/out" || fail "load and inspect count instructions differently"
  "$bpfsign" load "$dir/bad.bundle" --offline-verified --cert "$dir/c.pem" >/dev/null 2>&1
  rc=$?
  [ "$rc" -eq 1 ] || [ "$rc" -eq 3 ] || fail "load of a damaged bundle: exit $rc (verify's codes expected)"
  # Trust options are never ignored, and a wrong one refuses the load.
  expect_rc 1 "$bpfsign" load "$dir/b.bundle" --offline-verified --cert "$dir/other.crt" --pin /sys/fs/bpf/bpfsign-cli-test
  grep -q "offline verification failed" "$dir/err" || fail "wrong --cert not named"
  [ ! -e /sys/fs/bpf/bpfsign-cli-test ] || fail "a refused load pinned something"
  expect_rc 2 "$bpfsign" load "$dir/b.bundle" --offline-verified
  grep -q "needs --cert or --ca" "$dir/err" || fail "--offline-verified without a certificate accepted"
  expect_rc 2 "$bpfsign" load "$object" --cert "$dir/c.pem"
  grep -q "an object carries no signature" "$dir/err" || fail "--cert with an object accepted"
  [ "$(wc -l <"$dir/err")" -eq 1 ] || fail "refusal is not one line"
else
  echo "load cases skipped: need root on a kernel that checks no signature (the qemu matrix covers the others)"
fi
echo ok
