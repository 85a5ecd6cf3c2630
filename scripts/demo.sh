#!/usr/bin/env bash
# The main job on the bundled example: build; generate a test key; sign the
# bundled BPF object into one bundle for every kernel scheme; verify it
# offline; show what it contains; load it on this kernel as far as this
# kernel allows; and say plainly what the kernel did and did not check.
set -euo pipefail
source "$(dirname "$0")/env.sh"

echo "== building bpfsign and the BPF corpus (g++, RelWithDebInfo)"
build_tree "$repo_root/build/gcc" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc
bpfsign="$repo_root/build/gcc/cli/bpfsign"
example="$repo_root/build/gcc/testdata/bpf/subprogs.bpf.o"
work="$repo_root/build/demo"
mkdir -p "$work"

echo
echo "== the bundled example: testdata/bpf/subprogs.bpf.c -> $(basename "$example")"
"$bpfsign" version
echo
echo "== a test signing key and its certificate"
"$bpfsign" keygen --force -a rsa2048 --cn "bpfsign demo key" --key "$work/demo.key" --cert "$work/demo.crt"
echo
echo "== signing: one bundle, a signed loader for every kernel scheme"
"$bpfsign" sign --force "$example" -k "$work/demo.key" -c "$work/demo.crt" -o "$work/subprogs.bundle"
echo
echo "== verifying the bundle offline against the certificate"
"$bpfsign" verify "$work/subprogs.bundle" --cert "$work/demo.crt"
echo
echo "== what it contains: the object model its loader was generated from"
"$bpfsign" object dump "$example"

echo
echo "== this kernel: $(uname -r)"
"$bpfsign" probe || true

echo
echo "== loading the bundle on this kernel"
loaded=no
if [ "$(id -u)" -ne 0 ]; then
  echo "skipped: loading BPF programs needs root (bpf(2))"
elif "$bpfsign" load "$work/subprogs.bundle" --keyring "$("$bpfsign" keyring add "$work/demo.crt" --keyring bpfsign-demo 2>/dev/null || echo 0)" 2>"$work/load.err"; then
  loaded=signed
else
  echo "refused: $(cat "$work/load.err")"
  echo
  echo "== loading again, relying on bpfsign's offline verification"
  if "$bpfsign" load "$work/subprogs.bundle" --offline-verified --cert "$work/demo.crt" --attach; then loaded=offline; fi
fi

echo
echo "== what this run did and did not do"
cat <<'MSG'
did:     compiled the example with clang-19 against this kernel's BTF, read it into
         the object model, generated its loader, signed it for every kernel scheme
         (PKCS#7 in the form kernels accept) into one bundle, and verified every
         signature, chain link and embedded hash offline
MSG
case $loaded in
  signed) cat <<'MSG'
         loaded the bundle with the scheme this kernel enforces: the kernel checked the
         loader's signature against the keyring before it ran
MSG
  ;;
  offline) cat <<'MSG'
         loaded the bundle's loader-checked loader: the kernel ran the loader's own check
         that its metadata is exclusive, frozen and has the signed SHA-256, verified every
         program it loaded, and attached the raw tracepoint program
did not: this kernel checks NO signature (see the probe: EOPNOTSUPP, no
         CONFIG_SYSTEM_DATA_VERIFICATION); the signatures were checked by bpfsign
         offline only. Real kernels that check them: ./tests/vm/run-matrix.sh build/gcc
MSG
  ;;
  *) echo "did not: load the bundle (see above)" ;;
esac
