#!/usr/bin/env bash
# deb_install.sh: installs the Debian packages scripts/build-deb.sh built
# with README.md's own install command (read from README, so the two cannot
# drift), then checks what a user gets: the command from /usr/bin on the
# shared library, its manual pages and completion, the unit enabled, and,
# with libbpfsign-dev, a project built against the installed library with
# find_package(bpfsign). Packages that were not installed before are purged
# again at the end. Needs root (apt-get).
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo_root"
fail() { echo "deb-install: FAIL: $*" >&2; exit 1; }
install_cmd=$(grep -m1 -E '^\./scripts/build-deb\.sh && apt-get install ' README.md) || fail "README.md has no install command"
# The packages are built already (test-all.sh built them just before): run
# the install part of README's line.
apt_part=${install_cmd#./scripts/build-deb.sh && }
was_installed=$(dpkg-query -W -f='${Status}' bpfsign 2>/dev/null || true)
work=$(mktemp -d)
cleanup() {
  rm -rf "$work"
  if [ "$was_installed" != "install ok installed" ]; then
    for p in libbpfsign-dev bpfsign libbpfsign0.1; do
      if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then dpkg --purge "$p" >/dev/null || true; fi
    done
  fi
}
trap cleanup EXIT
echo "deb-install: $apt_part"
DEBIAN_FRONTEND=noninteractive bash -c "$apt_part -y -qq" >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "README's install command failed"; }

[ "$(/usr/bin/bpfsign version)" = "bpfsign $(sed -n 's/^project(bpfsign VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)" ] || fail "installed bpfsign version"
ldd /usr/bin/bpfsign | grep -Eq 'libbpfsign.so.0.1 => (/usr)?/lib/x86_64-linux-gnu/libbpfsign.so.0.1' || fail "the command does not use the installed shared library"
objdump -p /usr/lib/x86_64-linux-gnu/libbpfsign.so.0.1 | grep -q 'SONAME *libbpfsign.so.0.1' || fail "SONAME"
man -w bpfsign-boot >/dev/null || fail "man bpfsign-boot"
[ -s /usr/share/bash-completion/completions/bpfsign ] || fail "completion"
[ -d /etc/bpfsign/certs ] && [ -d /etc/bpfsign/bundles ] || fail "/etc/bpfsign"
unit=$(dpkg -L bpfsign | grep '/systemd/system/bpfsign.service$') || fail "no unit"
ls /etc/systemd/system/*.wants/bpfsign.service >/dev/null 2>&1 || fail "the unit is not enabled"
dpkg -L bpfsign | grep -q '/systemd/system/bpfsign-gate.service$' || fail "no gate unit"
ls /etc/systemd/system/*.wants/bpfsign-gate.service >/dev/null 2>&1 || fail "the gate unit is not enabled"
[ ! -e /etc/bpfsign/gate.json ] || fail "the package ships a gate policy: installing must enforce nothing"
# An empty configuration: the service's command does nothing, and says so.
/usr/bin/bpfsign boot | grep -qx '0 loaded, 0 already loaded, 0 failed' || fail "boot on the empty configuration"

DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ./build/deb/libbpfsign-dev_*.deb >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "libbpfsign-dev"; }
cmake -S tests/package/consumer -B "$work/consumer" -DCMAKE_CXX_COMPILER=g++ >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; fail "find_package(bpfsign) against the -dev package"; }
cmake --build "$work/consumer" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "building against the -dev package"; }
"$work/consumer/consumer" >/dev/null || fail "the consumer does not run"
ldd "$work/consumer/consumer" | grep -q 'libbpfsign.so.0.1' || fail "the consumer is not linked to the shared library"
echo "deb-install: installed as README shows; $unit enabled; command, pages, completion, shared library and -dev package work"
