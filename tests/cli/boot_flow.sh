#!/usr/bin/env bash
# boot_flow.sh BPFSIGN CORPUS_DIR: `bpfsign boot` (what bpfsign.service
# runs) on this machine's kernel, which checks no signature, so with
# --offline-verified: the configuration checks, one line per bundle, a
# failing bundle that stops no other, reload loading only what was added,
# --json, exit codes 0, 2 and 5. The qemu matrix runs the same steps with
# the kernel checking signatures (tests/vm/service_rows.sh).
# Needs root and a BPF file system; exits 77 (skipped) otherwise.
set -u
bpfsign=$1
corpus=$2
if [ "$(id -u)" -ne 0 ] || [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
  echo "skipped: needs root and a BPF file system at /sys/fs/bpf"
  exit 77
fi
dir=$(mktemp -d)
pins=/sys/fs/bpf/bpfsign-boot-test-$$
trap 'rm -rf "$dir" "$pins"' EXIT
chmod 755 "$dir"
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$dir/out"; echo "--- stderr"; cat "$dir/err"; exit 1; }
boot() { "$bpfsign" boot --certs "$dir/certs" --bundles "$dir/bundles" --pin-root "$pins" --offline-verified "$@" >"$dir/out" 2>"$dir/err"; }
expect_rc() { local want=$1; shift; "$@"; local rc=$?; [ "$rc" -eq "$want" ] || fail "'$*': exit $rc, expected $want"; }

mkdir -m 755 "$dir/certs" "$dir/bundles"
"$bpfsign" keygen --key "$dir/signer.key" --cert "$dir/certs/signer.crt" --cn "boot flow" >/dev/null 2>&1 || fail keygen
"$bpfsign" keygen --key "$dir/other.key" --cert "$dir/other.crt" --cn "not enrolled" >/dev/null 2>&1 || fail keygen
sign() { "$bpfsign" sign "$corpus/$1.bpf.o" -k "$dir/$2.key" -c "$dir/$3" -o "$dir/bundles/$4" >/dev/null 2>&1 || fail "sign $1"; }

# Nothing configured: nothing to do, exit 0, nothing made.
expect_rc 0 boot
grep -q '^0 loaded, 0 already loaded, 0 failed' "$dir/out" || fail "empty configuration"
[ ! -e "$pins" ] || fail "an empty configuration made the pin root"

sign subprogs signer certs/signer.crt subprogs.bundle
sign maps_btf signer certs/signer.crt maps_btf.bundle
sign subprogs other other.crt other_signer.bundle
echo "not a bundle" >"$dir/bundles/damaged.bundle"
echo "ignored" >"$dir/bundles/README"

# A failing bundle stops no other: exit 5, one line each.
expect_rc 5 boot
grep -q '^certificate .*signer.crt: CN = boot flow enrolled as key [0-9]' "$dir/out" || fail "enrolment line"
grep -q '^bundle subprogs: loaded, 2 programs' "$dir/out" || fail "subprogs not loaded"
grep -q '^bundle maps_btf: loaded' "$dir/out" || fail "maps_btf not loaded"
grep -q '^bundle other_signer: FAILED: .*offline verification' "$dir/out" || fail "a signer not enrolled was not refused"
grep -q '^bundle damaged: FAILED: ' "$dir/out" || fail "a damaged bundle was not refused"
grep -q '^2 loaded, 0 already loaded, 2 failed' "$dir/out" || fail "summary"
grep -q README "$dir/out" && fail "a file that is not a bundle was read"
[ -n "$(ls "$pins/subprogs/progs")" ] && [ -n "$(ls "$pins/maps_btf/maps")" ] || fail "not pinned"
[ ! -e "$pins/other_signer" ] && [ ! -e "$pins/damaged" ] || fail "a refused bundle left pins"

# Reload: only what was added loads; --json says the same.
rm "$dir/bundles/other_signer.bundle" "$dir/bundles/damaged.bundle"
sign global_data signer certs/signer.crt global_data.bundle
expect_rc 0 boot --json
python3 - "$dir/out" <<'EOF' || fail "boot --json"
import json, sys
j = json.load(open(sys.argv[1]))
outcomes = {b["name"]: b["outcome"] for b in j["bundles"]}
assert outcomes == {"global_data": "loaded", "maps_btf": "already-loaded", "subprogs": "already-loaded"}, outcomes
assert (j["loaded"], j["already_loaded"], j["failed"]) == (1, 2, 0)
assert j["certificates"][0]["enrolled"] is True
EOF

# The configuration must be the administrator's: refused before anything.
sign subprogs signer certs/signer.crt late.bundle
chmod 775 "$dir/certs"
expect_rc 2 boot
grep -q 'writable by its group or by others' "$dir/err" || fail "a group-writable certificate directory was accepted"
[ ! -e "$pins/late" ] || fail "loaded from an unsafe configuration"
chmod 755 "$dir/certs"
chmod 666 "$dir/certs/signer.crt"
expect_rc 2 boot
grep -q 'no certificate could be enrolled' "$dir/err" || fail "a world-writable certificate was enrolled"
grep -q 'NOT ENROLLED: .*writable by its group or by others' "$dir/out" || fail "the unsafe certificate is not named"
chmod 644 "$dir/certs/signer.crt"
ln -s "$dir/other.crt" "$dir/certs/link.crt"
expect_rc 0 boot
grep -q 'link.crt: NOT ENROLLED: .*symbolic link' "$dir/out" || fail "a symbolic link was enrolled"
grep -q '^bundle late: loaded' "$dir/out" || fail "late not loaded"
rm "$dir/certs/link.crt"

# Bundle files must be the administrator's too: a symbolic link (its target
# could be swapped for a FIFO or an older bundle) and a FIFO are refused
# at once, each on its own line; the others still load.
mkdir -m 755 "$dir/elsewhere"
cp "$dir/bundles/late.bundle" "$dir/elsewhere/linked.bundle"
ln -s "$dir/elsewhere/linked.bundle" "$dir/bundles/linked.bundle"
mkfifo "$dir/bundles/fifo.bundle"
chmod 664 "$dir/bundles/global_data.bundle"
rm -r "$pins/global_data"
expect_rc 5 timeout 60 "$bpfsign" boot --certs "$dir/certs" --bundles "$dir/bundles" --pin-root "$pins" --offline-verified >"$dir/out" 2>"$dir/err"
grep -q '^bundle linked: FAILED: .*symbolic link' "$dir/out" || fail "a symlinked bundle was read"
grep -q '^bundle fifo: FAILED: .*not a regular file' "$dir/out" || fail "a FIFO bundle was not refused"
grep -q '^bundle global_data: FAILED: .*writable by its group' "$dir/out" || fail "a group-writable bundle was read"
[ ! -e "$pins/linked" ] && [ ! -e "$pins/fifo" ] && [ ! -e "$pins/global_data" ] || fail "a refused bundle left pins"
rm "$dir/bundles/linked.bundle" "$dir/bundles/fifo.bundle"
chmod 644 "$dir/bundles/global_data.bundle"

# A run killed half-way leaves only partial directories (NAME+partial),
# which are not taken for loaded bundles; the next run removes them, also
# those of bundles no longer configured.
mkdir "$pins/global_data+partial" "$pins/removed_since+partial"
expect_rc 0 boot
grep -q '^bundle global_data: loaded' "$dir/out" || fail "a partial directory was taken for a loaded bundle"
[ ! -e "$pins/global_data+partial" ] && [ -n "$(ls "$pins/global_data/maps")" ] || fail "the partial directory was not replaced"
[ ! -e "$pins/removed_since+partial" ] || fail "a partial directory of a bundle no longer configured was left"

# One run at a time per pin root: a second one is refused while the first
# holds the lock (here, flock(1) holds it).
rm -r "$pins/global_data"
# (It says when it holds the lock: on a busy machine a fixed sleep was not
# always long enough.)
flock "$pins" sh -c 'touch "$0"; sleep 5' "$dir/locked" &
for _ in $(seq 100); do [ -e "$dir/locked" ] && break; sleep 0.1; done
expect_rc 2 boot
grep -q 'another .bpfsign boot. is running' "$dir/err" || fail "a concurrent run was not refused"
[ ! -e "$pins/global_data" ] || fail "a refused concurrent run loaded something"
wait

# Whatever the umask, nothing it pins is group/other-writable (anyone could
# unpin, and so detach, what is pinned there).
(umask 000 && boot) || fail "boot under umask 000: $(cat "$dir/err")"
[ -z "$(find "$pins/global_data" -type d -perm /022)" ] || fail "umask 000 made writable pin directories"

# A pin root or bundle directory someone else can write is refused: they
# could pre-create a bundle's directory, or move its pins.
chmod 1777 "$pins"
expect_rc 2 boot
grep -q "$pins: writable by its group or by others" "$dir/err" || fail "a world-writable pin root was accepted"
chmod 755 "$pins"
mkdir -m 777 "$pins/pre_made"
sign subprogs signer certs/signer.crt pre_made.bundle
expect_rc 5 boot
grep -q '^bundle pre_made: FAILED: .*writable by its group or by others' "$dir/out" || fail "a pin directory others made counted as loaded"
rm -r "$pins/pre_made" "$dir/bundles/pre_made.bundle"

# "--certs DIR/" and "DIR/." name the directory, not what a link of that
# name points to; ".." is refused.
ln -s "$dir/certs" "$dir/certs-link"
for form in "certs-link/" "certs-link/." "certs-link/./"; do
  expect_rc 2 "$bpfsign" boot --certs "$dir/$form" --bundles "$dir/bundles" --pin-root "$pins" --offline-verified >"$dir/out" 2>"$dir/err"
  grep -q 'symbolic link' "$dir/err" || fail "--certs $form followed the link"
done
expect_rc 2 "$bpfsign" boot --certs "$dir/certs/../certs" --bundles "$dir/bundles" --pin-root "$pins" --offline-verified >"$dir/out" 2>"$dir/err"
grep -q "without '..'" "$dir/err" || fail "'..' in --certs accepted"

# A pin root off bpffs is refused before it is made.
expect_rc 2 boot --pin-root "$dir/not-bpffs"
[ ! -e "$dir/not-bpffs" ] || fail "a pin root off bpffs was created"

# Any command refuses a FIFO at once instead of waiting for a writer.
mkfifo "$dir/fifo.o"
for args in "disasm $dir/fifo.o" "object dump $dir/fifo.o" "sign $dir/fifo.o -k $dir/signer.key -c $dir/certs/signer.crt -o $dir/x.bundle" \
  "verify $dir/fifo.o --cert $dir/certs/signer.crt" "inspect $dir/fifo.o"; do
  # shellcheck disable=SC2086
  expect_rc 2 timeout 10 "$bpfsign" $args >"$dir/out" 2>"$dir/err"
  grep -q 'fifo.o: not a regular file' "$dir/err" || fail "bpfsign $args: no 'not a regular file'"
done

# A name that cannot be a pin directory.
cp "$dir/bundles/late.bundle" "$dir/bundles/bad.name.bundle"
expect_rc 5 boot
grep -q "^bundle bad.name: FAILED: .*only letters, digits" "$dir/out" || fail "a bad name was accepted"
expect_rc 2 "$bpfsign" boot --certs "$dir/nonexistent" --bundles "$dir/bundles" --pin-root "$pins" 2>"$dir/err"
[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "refusal is not one line"
echo ok
