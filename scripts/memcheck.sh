#!/usr/bin/env bash
# The object reader hands libelf a partial image of the file (only the
# headers, section names and loaded sections are read into it), so it must
# never read a byte it did not fill. Valgrind's memcheck tracks that through
# libelf, which no sanitizer build instruments: this runs the reader on
# every built object (file path) and the damaged-object unit tests
# (in-memory path) under memcheck, and fails on any error it reports.
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
