#!/usr/bin/env bash
# run-matrix.sh BUILD_DIR
# Real kernels that check BPF signatures, under qemu (TCG): fetches the
# newest Debian cloud kernel of each series from 6.19 on (KERNEL-FACTS §2),
# signs every corpus object into a bundle, boots each kernel with an
# initramfs holding tests/vm/vm_matrix, and prints the table
# kernel x case x object x outcome. Exit 1 if any row failed or a kernel
# did not finish.
#
# Environment: BPFSIGN_VM_CACHE (kernels, kept between runs; default
# ~/.cache/bpfsign-vm), BPFSIGN_VM_SERIES (default "6.19 7.0 7.1 7.2 7.3").
set -euo pipefail
build=$(cd "$1" && pwd)
repo_root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${BPFSIGN_VM_CACHE:-$HOME/.cache/bpfsign-vm}
series=${BPFSIGN_VM_SERIES:-"6.19 7.0 7.1 7.2 7.3"}
bpfsign="$build/cli/bpfsign"
matrix="$build/tests/vm_matrix"
work=$(mktemp -d /tmp/bpfsign-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial" "$cache/debs" "$cache/kernels"

# --- 1. apt for trixie-backports and sid, from this machine's mirror, in
# its own state directory (the system's apt setup is not touched).
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { echo "vm: no Debian mirror in this machine's apt configuration" >&2; exit 1; }
cat >"$cache/apt/sources.list" <<SOURCES
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie-backports main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main
SOURCES
apt_opts=(-o "Dir::Etc::sourcelist=$cache/apt/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$cache/apt/lists"
  -o "Dir::Cache=$cache/apt/cache" -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
if ! apt-get -qq "${apt_opts[@]}" update >"$work/apt.log" 2>&1; then
  echo "vm: apt update failed; using cached kernels only" >&2
  tail -3 "$work/apt.log" >&2
fi

# --- 2. the newest kernel of each series.
kernels=()
for s in $series; do
  pkg=$(apt-cache "${apt_opts[@]}" pkgnames linux-binary- 2>/dev/null |
        grep -E "^linux-binary-${s//./\\.}\.[0-9]+\+deb[0-9]+-cloud-amd64$" | sort -V | tail -1 || true)
  if [ -z "$pkg" ]; then
    cached=$(ls -d "$cache/kernels/$s".* 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$cached" ] || { echo "vm: no kernel of series $s in the registry or the cache" >&2; exit 1; }
    kernels+=("$cached")
    continue
  fi
  version=${pkg#linux-binary-}
  version=${version%-cloud-amd64}
  dest="$cache/kernels/$version"
  if [ ! -f "$dest/vmlinuz" ]; then
    (cd "$cache/debs" && apt-get -qq "${apt_opts[@]}" download "$pkg" >/dev/null 2>&1) || { echo "vm: cannot download $pkg" >&2; exit 1; }
    deb=$(ls "$cache/debs/${pkg}"_*.deb | sort -V | tail -1)
    rm -rf "$work/x" && mkdir -p "$work/x" "$dest"
    dpkg-deb -x "$deb" "$work/x"
    vmlinuz=$(find "$work/x" -name 'vmlinuz*' -type f | head -1)
    [ -n "$vmlinuz" ] || { echo "vm: no vmlinuz in $deb" >&2; exit 1; }
    cp "$vmlinuz" "$dest/vmlinuz"
    rm -f "$deb"
  fi
  # The kernel's configuration (.kconfig externs) ships in linux-base-*.
  if [ ! -f "$dest/config" ] && [ ! -f "$dest/no-config" ]; then
    base_pkg=linux-base-${version}-cloud-amd64
    # Older point releases lose their linux-base package from the registry:
    # then objects with .kconfig externs cannot be loaded there (rows "n/a").
    if (cd "$cache/debs" && apt-get -qq "${apt_opts[@]}" download "$base_pkg" >/dev/null 2>&1); then
      deb=$(ls "$cache/debs/${base_pkg}"_*.deb | sort -V | tail -1)
      rm -rf "$work/x" && mkdir -p "$work/x"
      dpkg-deb -x "$deb" "$work/x"
      config=$(find "$work/x" -path '*/modules/*/config' -type f | head -1)
      [ -n "$config" ] && cp "$config" "$dest/config"
      rm -f "$deb"
    fi
    [ -f "$dest/config" ] || { echo "vm: $version: no kernel configuration published ($base_pkg not in the registry)"; : >"$dest/no-config"; }
  fi
  kernels+=("$dest")
done
echo "vm: kernels: $(for k in "${kernels[@]}"; do basename "$k"; done | tr '\n' ' ')"

# --- 3. keys and bundles, made on the host with bpfsign itself.
data="$work/root/data"
mkdir -p "$data"
"$bpfsign" keygen -a rsa2048 --cn "bpfsign vm rsa" --key "$work/rsa.key" --cert "$data/rsa.crt" >/dev/null
"$bpfsign" keygen -a p256 --cn "bpfsign vm ecdsa" --key "$work/ecdsa.key" --cert "$data/ecdsa.crt" >/dev/null
"$bpfsign" keygen -a rsa2048 --cn "bpfsign vm unknown" --key "$work/unknown.key" --cert "$work/unknown.crt" >/dev/null
corpus="$build/testdata/bpf"
for o in "$corpus"/*.bpf.o; do
  stem=$(basename "$o" .bpf.o)
  if ! "$bpfsign" sign "$o" -k "$work/rsa.key" -c "$data/rsa.crt" -o "$data/$stem.rsa.bundle" >/dev/null 2>"$work/sign.err"; then
    echo "vm: not bundled: $stem: $(cat "$work/sign.err")"
  fi
done
# Objects the matrix reads variables of (by BTF), and the LSM watcher.
cp "$corpus"/*.bpf.o "$build/tests/vm/sig_verdict.bpf.o" "$data/"
"$bpfsign" sign "$build/tests/vm/sig_verdict.bpf.o" -k "$work/rsa.key" -c "$data/rsa.crt" -o "$data/sig_verdict.rsa.bundle" >/dev/null
"$bpfsign" sign "$corpus/subprogs.bpf.o" -k "$work/ecdsa.key" -c "$data/ecdsa.crt" -o "$data/subprogs.ecdsa.bundle" >/dev/null
"$bpfsign" sign "$corpus/subprogs.bpf.o" -k "$work/unknown.key" -c "$work/unknown.crt" -o "$data/subprogs.unknown.bundle" >/dev/null

# --- 4. the initramfs: busybox, the matrix program and its libraries.
root="$work/root"
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/lib64" "$root/lib/x86_64-linux-gnu"
cp /bin/busybox "$root/bin/busybox"
for applet in sh mount cat uname echo poweroff ip; do ln -sf busybox "$root/bin/$applet"; done
cp "$matrix" "$root/bin/vm_matrix"
for lib in $(ldd "$matrix" | awk '/=>/{print $3} /ld-linux/{print $1}'); do
  cp -L "$lib" "$root$lib" 2>/dev/null || cp -L "$lib" "$root/lib/x86_64-linux-gnu/"
done
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
  if ! grep -q '^DONE ' "$log.txt"; then
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
done

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
