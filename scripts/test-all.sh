#!/usr/bin/env bash
# Runs every test: the g++ build (warnings as errors) and a g++ Release
# build with Debian's hardening flags, the object reader under
# valgrind memcheck, the clang-19 build under
# AddressSanitizer and UndefinedBehaviorSanitizer, every libFuzzer target for
# a bounded time, the Debian packages (built, lintian, installed), the
# signed bundles on real Debian kernels under qemu (the command line, and
# its ASan/UBSan build, as README shows it, and the installed package's
# boot-time service steps), and a
# short benchmark run that proves the benchmarks work.
# Exits non-zero on the first failure.
set -euo pipefail
source "$(dirname "$0")/env.sh"
fuzz_seconds=${BPFSIGN_FUZZ_SECONDS:-60}

echo "== g++ $(g++ -dumpversion): build and test"
build_tree "$repo_root/build/gcc" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc
ctest --test-dir "$repo_root/build/gcc" -j "$jobs" --output-on-failure

echo "== g++ Release with Debian's hardening flags (dpkg-buildflags): builds warning-free"
CXXFLAGS="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)" CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
  LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
  build_tree "$repo_root/build/release" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc -DBPFSIGN_BUILD_BENCH=OFF

echo "== memcheck: the object reader and libelf under valgrind (built and damaged objects)"
"$repo_root/scripts/memcheck.sh" "$repo_root/build/gcc"

echo "== clang-19 with ASan and UBSan: build and test"
build_tree "$repo_root/build/asan" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_C_COMPILER=clang-19 \
  -DBPFSIGN_SANITIZE=ON -DBPFSIGN_BUILD_FUZZ=ON -DBPFSIGN_BUILD_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$repo_root/build/asan" -j "$jobs" --output-on-failure

echo "== fuzzing, ${fuzz_seconds}s per target"
"$repo_root/scripts/fuzz.sh" "$repo_root/build/asan" "$fuzz_seconds"

echo "== Debian packages: dpkg-buildpackage with Debian's hardening flags, lintian, the unit file; installed as README shows"
"$repo_root/scripts/build-deb.sh" "$repo_root/build/deb"
"$repo_root/tests/package/deb_install.sh"

echo "== real kernels under qemu: signed bundles accepted, tampered ones refused; the installed package's service steps"
"$repo_root/tests/vm/run-matrix.sh" "$repo_root/build/gcc" "$repo_root/build/asan"

echo "== benchmarks (smoke run)"
"$repo_root/build/gcc/bench/bpfsign_bench" --benchmark_min_time=0.01 --benchmark_format=console | tail -n +4

echo "test-all: everything passed"
