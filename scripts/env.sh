# Sourced by the scripts (which all run with `set -euo pipefail`): common
# paths and helpers.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

# Configures and builds one build tree: build_tree DIR [cmake args...]
# Progress lines are hidden; with pipefail, ninja's exit status decides.
build_tree() {
  local dir=$1
  shift
  cmake -S "$repo_root" -B "$dir" -G Ninja "$@" >/dev/null
  ninja -C "$dir" -j "$jobs" | { grep -vE '^\[[0-9]+/[0-9]+\]' || true; }
}
