#!/usr/bin/env bash
# fetch-kernels.sh CACHE
# Picks the Debian cloud kernels the matrix boots and brings each one's
# vmlinuz (and configuration, for .kconfig externs) into CACHE/kernels/VERSION.
# Prints the kernel directories, one per line, on standard output; progress
# and warnings go to standard error.
#
# Which kernels: every series from 6.18 on that the registry offers (a new
# series, 7.4 say, is picked up with no change here), the newest point
# release of each, and the oldest point release still offered of 7.1 and
# 7.2 (their struct bpf_map and verdict field differ from the newest ones).
# BPFSIGN_VM_KERNELS="6.18.15 7.3.4" names versions instead.
#
# The suites that carry them (trixie-backports, sid) are reached through
# this machine's own mirror, with an apt state directory of our own: the
# system's apt setup is not touched.
set -euo pipefail
cache=$1
mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial" "$cache/debs" "$cache/kernels"
work=$(mktemp -d /tmp/bpfsign-kernels.XXXXXX)
trap 'rm -rf "$work"' EXIT

mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { echo "vm: no Debian mirror in this machine's apt configuration" >&2; exit 1; }
cat >"$cache/apt/sources.list" <<SOURCES
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie-backports main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main
SOURCES
apt_opts=(-o "Dir::Etc::sourcelist=$cache/apt/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$cache/apt/lists"
  -o "Dir::Cache=$cache/apt/cache" -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
registry=1
if ! apt-get -qq "${apt_opts[@]}" update >"$work/apt.log" 2>&1; then
  echo "vm: apt update failed; using cached kernels only" >&2
  tail -3 "$work/apt.log" >&2
  registry=0
fi

# Versions on offer: "6.18.15+deb13" from linux-image-6.18.15+deb13-cloud-amd64.
offered() {
  if [ $registry = 1 ]; then
    apt-cache "${apt_opts[@]}" pkgnames linux-image- 2>/dev/null |
      sed -n 's/^linux-image-\([0-9]*\.[0-9]*\.[0-9]*+deb[0-9]*\)-cloud-amd64$/\1/p'
  else
    ls "$cache/kernels" 2>/dev/null
  fi
}
series_of() { echo "$1" | cut -d. -f1,2; }
at_least_6_18() { [ "$(printf '%s\n%s\n' 6.18 "$1" | sort -V | head -1)" = 6.18 ]; }

pick() {
  local all
  all=$(offered | sort -V -u)
  if [ -n "${BPFSIGN_VM_KERNELS:-}" ]; then
    for want in $BPFSIGN_VM_KERNELS; do
      echo "$all" | grep -E "^${want//./\\.}\+deb[0-9]+$" | tail -1 || { echo "vm: kernel $want not offered" >&2; exit 1; }
    done
    return
  fi
  local s
  for s in $(for v in $all; do series_of "$v"; done | sort -V -u); do
    at_least_6_18 "$s" || continue
    case $s in 7.1|7.2) echo "$all" | grep -E "^${s//./\\.}\." | head -1 ;; esac
    echo "$all" | grep -E "^${s//./\\.}\." | tail -1
  done | sort -V -u
}

# One package's files into $work/x.
extract() {
  local pkg=$1
  rm -f "$cache/debs/${pkg}"_*.deb
  (cd "$cache/debs" && apt-get -qq "${apt_opts[@]}" download "$pkg" >/dev/null 2>&1) || return 1
  rm -rf "$work/x" && mkdir -p "$work/x"
  dpkg-deb -x "$(ls "$cache/debs/${pkg}"_*.deb | head -1)" "$work/x"
  rm -f "$cache/debs/${pkg}"_*.deb
}

for version in $(pick); do
  dest="$cache/kernels/$version"
  mkdir -p "$dest"
  if [ ! -f "$dest/vmlinuz" ]; then
    echo "vm: fetching kernel $version" >&2
    # Newer series ship the kernel alone in linux-binary-*; 6.18 only in
    # linux-image-* (vmlinuz under boot/).
    extract "linux-binary-$version-cloud-amd64" || extract "linux-image-$version-cloud-amd64" ||
      { echo "vm: cannot download kernel $version" >&2; exit 1; }
    vmlinuz=$(find "$work/x" -name 'vmlinuz*' -type f | head -1)
    [ -n "$vmlinuz" ] || { echo "vm: no vmlinuz in the package of $version" >&2; exit 1; }
    config=$(find "$work/x" \( -path '*/modules/*/config' -o -name 'config-*' \) -type f | head -1)
    [ -n "$config" ] && cp "$config" "$dest/config"
    cp "$vmlinuz" "$dest/vmlinuz"
  fi
  # The configuration (.kconfig externs) ships in linux-base-* for newer series.
  if [ ! -f "$dest/config" ] && [ ! -f "$dest/no-config" ]; then
    if extract "linux-base-$version-cloud-amd64"; then
      config=$(find "$work/x" \( -path '*/modules/*/config' -o -name 'config-*' \) -type f | head -1)
      [ -n "$config" ] && cp "$config" "$dest/config"
    fi
    [ -f "$dest/config" ] || { echo "vm: $version: no kernel configuration published" >&2; : >"$dest/no-config"; }
  fi
  echo "$dest"
done
