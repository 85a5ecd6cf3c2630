#!/usr/bin/env bash
# run-sig-forms.sh BUILD_DIR KERNEL_DIR...
# Which altered forms of a loader's signature each kernel accepts
# (tests/vm/sig_forms.cpp; docs/signing.md, "The signature's form"). Boots
# each kernel (a directory holding vmlinuz, as fetch-kernels.sh caches them)
# under qemu (TCG), one at a time, with a busybox initramfs as
# run-matrix.sh does, and prints the FORM lines.
set -euo pipefail
build=$(cd "$1" && pwd)
shift
work=$(mktemp -d /tmp/bpfsign-forms.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/data" "$root/lib64" "$root/lib/x86_64-linux-gnu"
cp /bin/busybox "$root/bin/busybox"
for applet in sh mount uname echo poweroff; do ln -sf busybox "$root/bin/$applet"; done
cp "$build/tests/sig_forms" "$root/bin/sig_forms"
cp "$build/testdata/bpf/subprogs.bpf.o" "$root/data/"
for lib in $(ldd "$build/tests/sig_forms" | awk '/=>/{print $3} /ld-linux/{print $1}' | sort -u); do
  cp -L "$lib" "$root$lib" 2>/dev/null || cp -L "$lib" "$root/lib/x86_64-linux-gnu/"
done
cat >"$root/init" <<'INIT'
#!/bin/sh
/bin/busybox mount -t devtmpfs none /dev
/bin/busybox mount -t proc none /proc
/bin/busybox mount -t sysfs none /sys
/bin/sig_forms /data
echo "FORMS-EXIT $?"
/bin/busybox poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"
for k in "$@"; do
  echo "== $(basename "$k")"
  timeout 170 qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m 1G -nographic -no-reboot \
    -kernel "$k/vmlinuz" -initrd "$work/initrd.gz" -append "console=ttyS0 quiet panic=-1" </dev/null 2>&1 |
    tr -d '\r' | grep -aE "(KERNEL|FORM|ENROL|SIGN|PLAN)" || echo "(no output: did not finish in 170 s)"
done
