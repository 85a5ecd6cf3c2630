#!/usr/bin/env bash
# run-matrix.sh BUILD_DIR [ASAN_BUILD]
# Real kernels that check BPF signatures, under qemu (TCG): fetches Debian's
# cloud kernels from 6.18 on (fetch-kernels.sh), signs every corpus object
# into a bundle with the bpfsign command, boots each kernel with an
# initramfs holding the bpfsign command (tests/vm/cli_rows.sh runs it as
# README and docs/cli.md show it) and the library-level tests/vm/vm_matrix,
# and prints the table kernel x case x object x outcome. Exit 1 if any row failed or a kernel
# did not finish.
#
# BPFSIGN_VM_SCRIPT=FILE runs FILE in each kernel instead of the rows (its
# first argument is /data, with the certificates and bundles made below,
# and BPFSIGN_VM_FILES=DIR copied to /data/user) and prints what it printed:
# a way to try the command line by hand on kernels that check signatures.
#
# Environment: BPFSIGN_VM_CACHE (kernels, kept between runs; default
# ~/.cache/bpfsign-vm), BPFSIGN_VM_KERNELS (versions instead of the
# default choice, see fetch-kernels.sh), BPFSIGN_VM_DEBS (the directory of
# the Debian packages scripts/build-deb.sh built, default build/deb; when
# they are there they are installed into the initramfs and
# tests/vm/service_rows.sh runs the package's service steps). With ASAN_BUILD, that build's CLI
# (clang, ASan and UBSan) runs its own rows in every kernel too.
set -euo pipefail
build=$(cd "$1" && pwd)
repo_root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${BPFSIGN_VM_CACHE:-$HOME/.cache/bpfsign-vm}
asan_build=${2:-}
bpfsign="$build/cli/bpfsign"
matrix="$build/tests/vm_matrix"
work=$(mktemp -d /tmp/bpfsign-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- 1. the kernels (tests/vm/fetch-kernels.sh says which).
"$repo_root/tests/vm/fetch-kernels.sh" "$cache" >"$work/kernels"
mapfile -t kernels <"$work/kernels"
[ ${#kernels[@]} -gt 0 ] || { echo "vm: no kernels" >&2; exit 1; }
echo "vm: kernels: $(for k in "${kernels[@]}"; do basename "$k"; done | tr '\n' ' ')"

# --- 3. keys and bundles, made on the host with bpfsign itself.
data="$work/root/data"
mkdir -p "$data"
"$bpfsign" keygen -a rsa2048 --cn "bpfsign vm rsa" --key "$work/rsa.key" --cert "$data/rsa.crt" >/dev/null
"$bpfsign" keygen -a p256 --cn "bpfsign vm ecdsa" --key "$work/ecdsa.key" --cert "$data/ecdsa.crt" >/dev/null
"$bpfsign" keygen -a rsa2048 --cn "bpfsign vm unknown" --key "$work/unknown.key" --cert "$data/unknown-signer.crt" >/dev/null
corpus="$build/testdata/bpf"
for o in "$corpus"/*.bpf.o; do
  stem=$(basename "$o" .bpf.o)
  if ! "$bpfsign" sign "$o" -k "$work/rsa.key" -c "$data/rsa.crt" -o "$data/$stem.rsa.bundle" >/dev/null 2>"$work/sign.err"; then
    echo "vm: not bundled: $stem: $(cat "$work/sign.err")"
  fi
done
# Runtime settings: the corpus object signed with its declaration (the
# rows set values within and outside it), and without one.
mv "$data/runtime_settings.rsa.bundle" "$data/runtime_settings.plain.bundle"
"$bpfsign" sign "$corpus/runtime_settings.bpf.o" -k "$work/rsa.key" -c "$data/rsa.crt" \
  --settings "$repo_root/testdata/bpf/runtime_settings.settings.json" -o "$data/runtime_settings.rsa.bundle" >/dev/null
# Objects the matrix reads variables of (by BTF), and the LSM watcher.
cp "$corpus"/*.bpf.o "$build/tests/vm/sig_verdict.bpf.o" "$data/"
"$bpfsign" sign "$build/tests/vm/sig_verdict.bpf.o" -k "$work/rsa.key" -c "$data/rsa.crt" -o "$data/sig_verdict.rsa.bundle" >/dev/null
"$bpfsign" sign "$corpus/subprogs.bpf.o" -k "$work/ecdsa.key" -c "$data/ecdsa.crt" -o "$data/subprogs.ecdsa.bundle" >/dev/null
"$bpfsign" sign "$corpus/subprogs.bpf.o" -k "$work/unknown.key" -c "$data/unknown-signer.crt" -o "$data/subprogs.unknown.bundle" >/dev/null
# Crafted bundles the command line must refuse (tests/vm/tamper_bundle.cpp).
for defect in metadata kconfig-size; do
  "$build/tests/tamper_bundle" "$data/subprogs.rsa.bundle" "$data/subprogs.$defect.bundle" $defect
done

# --- 4. the initramfs: busybox, the matrix program and its libraries.
root="$work/root"
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/lib64" "$root/lib/x86_64-linux-gnu"
cp /bin/busybox "$root/bin/busybox"
for applet in sh mount cat uname echo poweroff ip grep tr cut ls rm mkdir basename wc sleep sed cp chmod head sync; do ln -sf busybox "$root/bin/$applet"; done
binaries=("$matrix" "$bpfsign" "$build/tests/raw_prog_load")
cp "$build/tests/raw_prog_load" "$root/bin/raw_prog_load"
# bpftool, a test oracle: the settings rows read the programs' .bss with it.
cp "$(command -v bpftool)" "$root/bin/bpftool"
binaries+=("$(command -v bpftool)")
cp "$matrix" "$root/bin/vm_matrix"
cp "$bpfsign" "$root/bin/bpfsign"
# The signed skeleton's application and the certificate of its build-time key.
skeleton_app="$build/tests/skeleton/signed_skeleton_app"
if [ -x "$skeleton_app" ]; then
  cp "$skeleton_app" "$root/bin/signed_skeleton_app"
  cp "$build/tests/skeleton/skeleton-signer.crt" "$data/skeleton.crt"
  binaries+=("$skeleton_app")
fi
# The signed C header of runtime_settings (setters, and a value past them
# that the loader refuses after the kernel verified it).
if [ -x "$build/tests/skeleton/settings_c_signed_skeleton_app" ]; then
  cp "$build/tests/skeleton/settings_c_signed_skeleton_app" "$root/bin/settings_c_signed_skeleton_app"
  binaries+=("$build/tests/skeleton/settings_c_signed_skeleton_app")
fi
if [ -x "$build/tests/skeleton/c_signed_skeleton_app" ]; then
  cp "$build/tests/skeleton/c_signed_skeleton_app" "$root/bin/c_signed_skeleton_app"
  binaries+=("$build/tests/skeleton/c_signed_skeleton_app")
fi
if [ -n "$asan_build" ]; then
  cp "$asan_build/cli/bpfsign" "$root/bin/bpfsign-asan"
  binaries+=("$asan_build/cli/bpfsign")
fi
# The Debian packages, installed as dpkg would place them (the libraries
# they need that no other binary here needs are copied below).
debs=${BPFSIGN_VM_DEBS:-$repo_root/build/deb}
with_package=0
if ls "$debs"/bpfsign_*.deb "$debs"/libbpfsign0.1_*.deb >/dev/null 2>&1; then
  for deb in "$debs"/bpfsign_*.deb "$debs"/libbpfsign0.1_*.deb; do dpkg-deb -x "$deb" "$root"; done
  cp "$repo_root/tests/vm/service_rows.sh" "$root/bin/service_rows"
  chmod +x "$root/bin/service_rows"
  with_package=1
  echo "vm: installing $(cd "$debs" && ls bpfsign_*.deb libbpfsign0.1_*.deb | tr '\n' ' ')into the initramfs"
else
  echo "vm: no Debian packages in $debs (scripts/build-deb.sh makes them): the service rows do not run"
fi
installed_libs=""
[ $with_package -eq 1 ] && installed_libs=$(LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu" ldd "$root/usr/bin/bpfsign")
for lib in $( (ldd "${binaries[@]}"; echo "$installed_libs") | awk '/=>/{print $3} /ld-linux/{print $1}' | grep -v "^$root" | sort -u); do
  cp -L "$lib" "$root$lib" 2>/dev/null || cp -L "$lib" "$root/lib/x86_64-linux-gnu/"
done
cp "$repo_root/tests/vm/cli_rows.sh" "$root/bin/cli_rows"
cp "$repo_root/tests/vm/settings_rows.sh" "$root/bin/settings_rows"
cp "$repo_root/tests/vm/gate_rows.sh" "$root/bin/gate_rows"
chmod +x "$root/bin/cli_rows" "$root/bin/settings_rows" "$root/bin/gate_rows"
script=${BPFSIGN_VM_SCRIPT:-}
if [ -n "$script" ]; then
  cp "$script" "$root/bin/user_script"
  chmod +x "$root/bin/user_script"
  if [ -n "${BPFSIGN_VM_FILES:-}" ]; then cp -r "$BPFSIGN_VM_FILES" "$data/user"; fi
fi
for k in "${kernels[@]}"; do
  [ -f "$k/config" ] || continue
  mkdir -p "$root/usr/lib/modules/$(basename "$k")-cloud-amd64"
  cp "$k/config" "$root/usr/lib/modules/$(basename "$k")-cloud-amd64/config"
done
cp "$repo_root/tests/vm/init.sh" "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

# --- 5. boot each kernel, collect its rows.
table="$work/table"
: >"$table"
status=0
for k in "${kernels[@]}"; do
  name=$(basename "$k")
  log="$work/$name.log"
  start=$(date +%s)
  timeout 600 qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m 2G -nographic -no-reboot \
    -kernel "$k/vmlinuz" -initrd "$work/initrd.gz" -append "console=ttyS0 quiet panic=-1" </dev/null >"$log" 2>&1 || true
  tr -d '\r' <"$log" >"$log.txt"
  secs=$(( $(date +%s) - start ))
  if [ -n "$script" ]; then
    echo "== $name (${secs}s)"
    sed -n '/VM-START /,/USER-EXIT /p' "$log.txt"
    grep -q 'USER-EXIT ' "$log.txt" || { echo "vm: $name: the script did not finish; last lines:"; tail -15 "$log.txt"; }
    continue
  fi
  if ! grep -q '^CLI-DONE ' "$log.txt"; then
    echo "vm: $name did not finish (${secs}s); last lines:" >&2
    tail -15 "$log.txt" >&2
    mkdir -p "$build/vm-logs" && cp "$log.txt" "$build/vm-logs/$name.log"
    echo "$name - boot - FAIL did-not-finish | see log" >>"$table"
    status=1
    continue
  fi
  mkdir -p "$build/vm-logs" && cp "$log.txt" "$build/vm-logs/$name.log"
  scheme=$(sed -n 's/^KERNEL .* scheme=\([a-z-]*\).*/\1/p' "$log.txt" | head -1)
  sed -n "s/^LAYOUT /vm: $name: /p" "$log.txt"
  echo "vm: $name: scheme $scheme, $(grep -c '^ROW ' "$log.txt") rows in ${secs}s"
  sed -n "s/^ROW /$name $scheme /p" "$log.txt" >>"$table"
  grep -q '^DONE failures=0' "$log.txt" || status=1
  grep -q '^CLI-DONE failures=0' "$log.txt" || status=1
  if ! grep -q '^GATE-DONE failures=0' "$log.txt"; then
    grep -q '^GATE-DONE ' "$log.txt" || echo "$name - gate - FAIL did-not-finish | see log" >>"$table"
    status=1
  fi
  if [ $with_package -eq 1 ] && ! grep -q '^SERVICE-DONE failures=0' "$log.txt"; then
    grep -q '^SERVICE-DONE ' "$log.txt" || echo "$name - service - FAIL did-not-finish | see log" >>"$table"
    status=1
  fi
done

[ -z "$script" ] || exit 0
# --- 6. the table.
echo
printf '%-22s %-15s %-18s %-16s %-5s %s\n' kernel scheme case object ok outcome
awk '{ok=$5; out=""; for (i=6; i<=NF; i++) { if ($i == "|") break; out = out " " $i }
      printf "%-22s %-15s %-18s %-16s %-5s%s\n", $1, $2, $3, $4, ok, out }' "$table"
if grep -q ' GAP ' "$table"; then
  echo
  echo "GAP: accepted although it should not be; what the kernel lacks is said in the row (see docs/signing.md)"
fi
if grep -q ' n/a ' "$table"; then
  echo
  echo "n/a: the object needs the kernel's configuration (.kconfig externs), which Debian no longer publishes for that kernel"
fi
if grep -q ' FAIL ' "$table"; then
  echo
  echo "failures, with the kernel's answer:"
  grep ' FAIL ' "$table" | sed 's/^/  /'
fi
exit $status
