#!/usr/bin/env bash
# Installs every Debian 12 package that bpfsign's build, tests and benchmarks
# need, and mounts the BPF file system. Idempotent and quiet: a second run
# changes nothing and prints one line.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git python3
  # libraries bpfsign links
  libssl-dev openssl libelf-dev zlib1g-dev libkeyutils-dev keyutils
  libcli11-dev nlohmann-json3-dev libfmt-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev valgrind
  # BPF toolchain: corpus compiler, llvm-objdump/llvm-mc oracles, sanitizer
  # and libFuzzer runtimes for clang builds
  clang-19 llvm-19 libclang-rt-19-dev
  # test oracles and benchmark peers (never linked into bpfsign)
  bpftool libbpf-dev
  # the Debian package: build, check, install (scripts/build-deb.sh)
  debhelper lintian man-db systemd
  # real kernels under qemu, PKCS#11 token for signing tests
  qemu-system-x86 busybox-static cpio gzip softhsm2 libengine-pkcs11-openssl opensc
)

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -- "$0" "$@"
fi

# Pinning (bpfsign load --pin, its tests) needs a BPF file system at
# /sys/fs/bpf; a fresh machine may have only the empty sysfs directory there.
if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
  if mount -t bpf bpf /sys/fs/bpf 2>/dev/null; then
    echo "setup: mounted a BPF file system at /sys/fs/bpf"
  else
    echo "setup: could not mount a BPF file system at /sys/fs/bpf (pinning tests will skip)" >&2
  fi
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
