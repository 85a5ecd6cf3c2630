#!/usr/bin/env bash
# settings_flow.sh BPFSIGN CORPUS_DIR SOURCE_DIR: runtime settings through
# the command line on this machine's kernel, which checks no signature, so
# with --offline-verified: `sign --settings` and its refusals, `reproduce`,
# then tests/vm/settings_rows.sh (the rows the qemu matrix runs with the
# kernel checking the signature), and an unsigned object loaded with a
# declaration of its own. Needs root, a BPF file system and bpftool (the
# rows read .bss through it); exits 77 (skipped) otherwise.
set -u
bpfsign=$1 corpus=$2 src=$3
if [ "$(id -u)" -ne 0 ] || [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ] || ! command -v bpftool >/dev/null; then
  echo "skipped: needs root, a BPF file system at /sys/fs/bpf and bpftool"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$dir/out"; echo "--- stderr"; cat "$dir/err"; exit 1; }
obj=$corpus/runtime_settings.bpf.o
decl=$src/testdata/bpf/runtime_settings.settings.json
"$bpfsign" keygen --key "$dir/rsa.key" --cert "$dir/rsa.crt" --cn "settings flow" >/dev/null 2>&1 || fail keygen
"$bpfsign" sign "$obj" -k "$dir/rsa.key" -c "$dir/rsa.crt" --settings "$decl" -o "$dir/runtime_settings.rsa.bundle" >"$dir/out" 2>"$dir/err" \
  || fail "sign --settings"
"$bpfsign" sign "$obj" -k "$dir/rsa.key" -c "$dir/rsa.crt" -o "$dir/runtime_settings.plain.bundle" >"$dir/out" 2>"$dir/err" || fail sign

# A declaration that does not fit the object: exit 3, one line naming the field.
echo '{"variables": {"step": {"values": [1, 2, 4294967296]}}}' >"$dir/bad.json"
"$bpfsign" sign "$obj" -k "$dir/rsa.key" -c "$dir/rsa.crt" --settings "$dir/bad.json" -o "$dir/bad.bundle" >"$dir/out" 2>"$dir/err"
rc=$?
[ $rc -eq 3 ] && [ "$(wc -l <"$dir/err")" -eq 1 ] && grep -q 'variables.step: value 4294967296 does not fit' "$dir/err" && [ ! -e "$dir/bad.bundle" ] \
  || fail "bad declaration: exit $rc"
# The declaration travels in the bundle: reproduce regenerates with it.
"$bpfsign" reproduce "$obj" "$dir/runtime_settings.rsa.bundle" >"$dir/out" 2>"$dir/err" && grep -q REPRODUCED "$dir/out" || fail reproduce
# A bundle carries its signer's declaration; --settings is for objects.
"$bpfsign" load "$dir/runtime_settings.rsa.bundle" --offline-verified --cert "$dir/rsa.crt" --settings "$decl" >"$dir/out" 2>"$dir/err"
[ $? -eq 2 ] && grep -q 'a bundle carries the ones its signer declared' "$dir/err" || fail "--settings with a bundle"

SETTINGS_SKIP_FENTRY=1 "$src/tests/vm/settings_rows.sh" "$bpfsign" "$dir" --offline-verified --cert "$dir/rsa.crt" >"$dir/out" 2>"$dir/err"
rc=$?
cat "$dir/out"
[ $rc -eq 0 ] && grep -q '^SETTINGS-DONE failures=0' "$dir/out" || fail "settings rows"

# An unsigned object with a declaration of its own, --json.
"$bpfsign" load "$obj" --settings "$decl" --set step=2 --skip on_unlink_fentry --json >"$dir/out" 2>"$dir/err" || fail "object with --settings"
python3 - "$dir/out" <<'PY' || fail "object --json"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["settings"]["variables"] == [{"name": "step", "value": "2"}], j["settings"]
skipped = {s["program"]: s["reason"] for s in j["skipped"]}
assert skipped["on_unlink_fentry"] == "skipped as asked", skipped
assert [s["why"] for s in j["skipped"] if s["program"] == "on_sync_fentry"] == ["target-missing"], j["skipped"]
assert "missing from the running kernel" in skipped["on_sync_fentry"], skipped
assert "on_unlink_fentry" not in [p["name"] for p in j["programs"]]
PY
echo "ok"
