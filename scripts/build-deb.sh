#!/usr/bin/env bash
# build-deb.sh [OUT_DIR]: builds the Debian packages (bpfsign,
# libbpfsign0.1, libbpfsign-dev) from this tree with dpkg-buildpackage, in a
# copy of the tree (OUT_DIR/bpfsign-deb-work, default OUT_DIR build/deb) so
# that the repository stays clean, then checks them with lintian (any error
# fails) and the unit file with systemd-analyze. The .deb files are left in
# OUT_DIR; of OUT_DIR's contents only that work directory and earlier
# bpfsign packages are replaced. Needs scripts/setup-debian.sh's packages.
set -euo pipefail
source "$(dirname "$0")/env.sh"
out=$(mkdir -p "${1:-$repo_root/build/deb}" && cd "${1:-$repo_root/build/deb}" && pwd)
case "$repo_root/" in "$out"/*) echo "build-deb: OUT_DIR $out holds the repository; name a directory inside it" >&2; exit 2 ;; esac
work="$out/bpfsign-deb-work"
src="$work/src"
rm -rf "$work" "$out"/bpfsign*_*.deb "$out"/libbpfsign*_*.deb "$out"/bpfsign_*.changes "$out"/bpfsign_*.buildinfo
mkdir -p "$src"
# The tracked tree, without build trees or the VCS.
(cd "$repo_root" && tar --exclude=./build --exclude='./build-*' --exclude=./.git --exclude=./.cache --exclude=bpfsign-deb-work -cf - .) | tar -xf - -C "$src"
echo "build-deb: dpkg-buildpackage -b -us -uc (a Release build with Debian's hardening flags)"
(cd "$src" && DEB_BUILD_OPTIONS="parallel=$jobs" dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || {
  tail -40 "$work/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed; the log is $work/build.log" >&2
  exit 1
}
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
ls "$out"/*.deb | sed 's|^|build-deb: built |'
# lintian: errors fail the build; warnings are printed.
changes=$(ls "$out"/bpfsign_*.changes)
if ! lintian --fail-on error --tag-display-limit 0 "$changes" >"$work/lintian.log" 2>&1; then
  cat "$work/lintian.log" >&2
  echo "build-deb: lintian found errors" >&2
  exit 1
fi
grep -v 'running with root privileges' "$work/lintian.log" | sed 's/^/build-deb: lintian: /' || echo "build-deb: lintian: clean"

# The unit file as systemd reads it, in the installed tree (its command
# exists there; its Documentation= page too).
root="$work/root"
rm -rf "$root" && mkdir -p "$root"
for deb in "$out"/bpfsign_*.deb "$out"/libbpfsign0.1_*.deb; do dpkg-deb -x "$deb" "$root"; done
for name in bpfsign:bpfsign-boot bpfsign-gate:bpfsign-gate-start; do
  unit=""
  for u in lib/systemd/system/${name%%:*}.service usr/lib/systemd/system/${name%%:*}.service; do [ -f "$root/$u" ] && unit=$u; done
  [ -n "$unit" ] || { echo "build-deb: the package installs no ${name%%:*}.service" >&2; exit 1; }
  systemd-analyze verify --man=no --root="$root" "$root/$unit"
  MANPATH="$root/usr/share/man" man -w "${name#*:}" >/dev/null || { echo "build-deb: $unit's manual page is not installed" >&2; exit 1; }
  echo "build-deb: $unit: systemd-analyze verify: clean"
done
