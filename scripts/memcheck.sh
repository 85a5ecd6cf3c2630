#!/usr/bin/env bash
# The object reader under valgrind's memcheck, which also follows libelf
# (no sanitizer build instruments it): invalid reads and writes and uses of
# uninitialised values by the reader and libelf (leaks are not counted), on
# every built object (read from its file) and on the damaged-object unit
# tests (read from memory). The reader hands libelf the whole file, every
# byte read from it, so this is a general check: no property of the reader
# depends on it.
# Usage: scripts/memcheck.sh BUILD_DIR (a g++ build, not a sanitizer one)
set -euo pipefail
build=${1:?usage: memcheck.sh BUILD_DIR}
vg=(valgrind -q --error-exitcode=99 --track-origins=no)
count=0
while IFS= read -r -d '' obj; do
  "${vg[@]}" "$build/cli/bpfsign" object dump --json "$obj" >/dev/null
  count=$((count + 1))
done < <(find "$build/testdata" -name '*.bpf.o' -print0)
echo "memcheck: $count objects read from files, no error"
"${vg[@]}" "$build/tests/bpfsign_unit_tests" --gtest_brief=1 --gtest_filter='ElfFile*:ObjectBadInput*:ObjectModel*'
echo "memcheck: damaged and truncated objects read from memory, no error"
