# Sourced by the scripts: common paths and helpers.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

# Configures and builds one build tree: build_tree DIR [cmake args...]
build_tree() {
  local dir=$1
  shift
  cmake -S "$repo_root" -B "$dir" -G Ninja "$@" >/dev/null
  ninja -C "$dir" -j "$jobs" | grep -vE '^\[[0-9]+/[0-9]+\]' || true
  # grep hides progress lines; make ninja's own status decide success
  ninja -C "$dir" -j "$jobs" >/dev/null
}

# BPF needs the BPF filesystem for pinning; mount it when we may.
ensure_bpffs() {
  if ! mountpoint -q /sys/fs/bpf 2>/dev/null && [ "$(id -u)" -eq 0 ]; then
    mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
  fi
}
