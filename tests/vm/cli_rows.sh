#!/bin/sh
# The command line, inside each kernel booted under qemu, exactly as README
# and docs/cli.md show it: `keyring add`, `load BUNDLE --keyring`, `--json`,
# `--attach`, `--pin`, `verify`, `inspect`, for every corpus bundle; then
# the crafted bundles and wrong trust options, each of which must be refused
# with one clear line and a non-zero exit, nothing loaded, nothing pinned.
# With a sanitizer build of the CLI at /bin/bpfsign-asan, its rows repeat
# the signed load and the refusals under ASan and UBSan.
# Runs under busybox sh; prints "ROW <case> <object> <PASS|FAIL|n/a> ..."
# lines like vm_matrix and exits non-zero if a row failed.
D=${1:-/data}
T=/tmp/cli
mkdir -p $T
fails=0

row() {  # row CASE OBJECT PASS|FAIL OUTCOME [DETAIL]
  [ "$3" = PASS ] || [ "$3" = n/a ] || fails=$((fails + 1))
  echo "ROW $1 $2 $3 $4 | $(echo "$5" | tr '\n' ' ' | cut -c1-300)"
}
# What a failing command said: its standard error, one line.
said() { tr '\n' ' ' <$T/err | cut -c1-300; }
lines() { grep -c . "$1" 2>/dev/null || echo 0; }

# `bpfsign keyring add CERT` prints the serial that `load --keyring` takes.
run_keyring() {
  B=$1 tag=$2
  if K=$($B keyring add $D/rsa.crt --keyring cli$tag 2>$T/err); then
    row cli$tag-keyring-add rsa.crt PASS "keyring $K"
  else
    row cli$tag-keyring-add rsa.crt FAIL refused "$(said)"
  fi
  EMPTY=$($B keyring add $D/unknown-signer.crt --keyring cli-other$tag 2>/dev/null)
}

# An outcome the kernel's configuration decides: objects with .kconfig
# externs need it, and Debian no longer publishes it for some kernels.
no_config() { grep -q 'no kernel configuration' $T/err; }

good_rows() {  # good_rows BPFSIGN TAG BUNDLES...
  B=$1 tag=$2
  shift 2
  for b in "$@"; do
    stem=$(basename $b .rsa.bundle)
    if $B load $b --keyring $K --json >$T/out 2>$T/err; then
      if grep -q '"kernel_checked_signature": true' $T/out && grep -q '"id": "kernel-signature"' $T/out; then
        row cli$tag-load-json $stem PASS "loaded, the kernel checked the signature"
      else
        row cli$tag-load-json $stem FAIL "loaded, but the report does not say the kernel checked" "$(tr '\n' ' ' <$T/out)"
      fi
    elif no_config; then
      row cli$tag-load-json $stem n/a no-kernel-configuration "$(said)"
    else
      row cli$tag-load-json $stem FAIL refused "$(said)"
    fi
    [ -n "$tag" ] && continue
    pin=/sys/fs/bpf/cli-$stem
    if $B load $b --keyring $K --attach --pin $pin >$T/out 2>$T/err; then
      n=$(ls $pin | grep -c .)
      if [ "$n" -gt 0 ] && grep -q "pinned under $pin" $T/out; then
        row cli-load-attach-pin $stem PASS "$n pinned, $(grep -c '^  attach' $T/out) attach lines"
      else
        row cli-load-attach-pin $stem FAIL "loaded, but $n pinned" "$(tr '\n' ' ' <$T/out)"
      fi
      rm -rf $pin
    elif no_config; then
      row cli-load-attach-pin $stem n/a no-kernel-configuration "$(said)"
    else
      row cli-load-attach-pin $stem FAIL refused "$(said)"
      [ -e $pin ] && row cli-load-attach-pin-left $stem FAIL "a refused load left $pin" && rm -rf $pin
    fi
    if $B verify $b --cert $D/rsa.crt >$T/out 2>$T/err; then
      row cli-verify $stem PASS verified
    else
      row cli-verify $stem FAIL refused "$(said)"
    fi
    if $B inspect $b >$T/out 2>$T/err; then
      row cli-inspect $stem PASS "$(lines $T/out) lines"
    else
      row cli-inspect $stem FAIL refused "$(said)"
    fi
  done
}

# refused CASE BPFSIGN TAG ARGS...: the load must fail with one line on
# standard error, no sanitizer report, nothing pinned.
refused() {
  name=$1 B=$2 tag=$3
  shift 3
  pin=/sys/fs/bpf/cli-refused
  $B load "$@" --pin $pin >$T/out 2>$T/err
  rc=$?
  if [ $rc -eq 0 ]; then
    row cli$tag-$name subprogs FAIL "loaded (exit 0)" "$(tr '\n' ' ' <$T/out)"
  elif grep -q Sanitizer $T/err || [ $rc -ge 86 ]; then
    row cli$tag-$name subprogs FAIL "sanitizer report (exit $rc)" "$(said)"
  elif [ -e $pin ]; then
    row cli$tag-$name subprogs FAIL "refused, but $pin exists" "$(said)"
  elif [ "$(lines $T/err)" -ne 1 ]; then
    row cli$tag-$name subprogs FAIL "refused with $(lines $T/err) lines, not one" "$(said)"
  else
    row cli$tag-$name subprogs PASS "refused (exit $rc)" "$(said)"
  fi
  rm -rf $pin
}

refusal_rows() {  # refusal_rows BPFSIGN TAG
  B=$1 tag=$2
  refused tampered-metadata $B "$tag" $D/subprogs.metadata.bundle --keyring $K
  refused kconfig-size $B "$tag" $D/subprogs.kconfig-size.bundle --keyring $K
  refused wrong-cert $B "$tag" $D/subprogs.rsa.bundle --keyring $K --cert $D/unknown-signer.crt
  refused wrong-cert-offline $B "$tag" $D/subprogs.rsa.bundle --keyring $K --offline-verified --cert $D/unknown-signer.crt
  refused unknown-signer $B "$tag" $D/subprogs.unknown.bundle --keyring $K
  refused wrong-keyring $B "$tag" $D/subprogs.rsa.bundle --keyring $EMPTY
  refused no-keyring $B "$tag" $D/subprogs.rsa.bundle
  # The right --cert: both checks run, and both are reported.
  if $B load $D/subprogs.rsa.bundle --keyring $K --cert $D/rsa.crt --json >$T/out 2>$T/err; then
    if grep -q '"offline_verified": true' $T/out && grep -q '"kernel_checked_signature": true' $T/out; then
      row cli$tag-cert-and-kernel subprogs PASS "loaded; offline and kernel checks reported"
    else
      row cli$tag-cert-and-kernel subprogs FAIL "loaded, but the report misses a check" "$(tr '\n' ' ' <$T/out)"
    fi
  else
    row cli$tag-cert-and-kernel subprogs FAIL refused "$(said)"
  fi
  if $B verify $D/subprogs.metadata.bundle --cert $D/rsa.crt >$T/out 2>$T/err; then
    row cli$tag-verify-tampered subprogs FAIL "verified a tampered bundle"
  else
    row cli$tag-verify-tampered subprogs PASS refused
  fi
}

run_keyring /bin/bpfsign ""
good_rows /bin/bpfsign "" $D/*.rsa.bundle
refusal_rows /bin/bpfsign ""
# An application built from a signed skeleton, the kernel verifying it.
if [ -x /bin/signed_skeleton_app ]; then
  /bin/bpfsign keyring add $D/skeleton.crt --keyring cli >/dev/null 2>$T/err || row skeleton-keyring-add skeleton.crt FAIL refused "$(said)"
  if /bin/signed_skeleton_app $K >$T/out 2>$T/err && grep -q 'the kernel verified' $T/out; then
    row signed-skeleton subprogs PASS "loaded, the kernel verified, counting" "$(tr '\n' ' ' <$T/out)"
  else
    row signed-skeleton subprogs FAIL "not loaded, or not verified by the kernel" "$(tr '\n' ' ' <$T/out) $(said)"
  fi
fi
if [ -x /bin/c_signed_skeleton_app ]; then
  if /bin/c_signed_skeleton_app $K >$T/out 2>$T/err && grep -q 'the kernel verified' $T/out; then
    row signed-c-skeleton subprogs PASS "loaded, the kernel verified" "$(tr '\n' ' ' <$T/out)"
  else
    row signed-c-skeleton subprogs FAIL "not loaded, or not verified by the kernel" "$(tr '\n' ' ' <$T/out) $(said)"
  fi
fi
if [ -x /bin/settings_c_signed_skeleton_app ]; then
  if /bin/settings_c_signed_skeleton_app $K >$T/out 2>$T/err && ! grep -q FAILED $T/out; then
    row signed-c-skeleton-settings runtime_settings PASS "setters, a value past them refused by the loader, values in effect" "$(grep -c '^ok' $T/out) checks"
  else
    row signed-c-skeleton-settings runtime_settings FAIL "a check failed" "$(grep FAILED $T/out | tr '\n' ' ') $(said)"
  fi
fi
if [ -x /bin/bpfsign-asan ]; then
  export ASAN_OPTIONS=detect_leaks=1:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
  run_keyring /bin/bpfsign-asan -asan
  good_rows /bin/bpfsign-asan -asan $D/subprogs.rsa.bundle $D/global_data.rsa.bundle $D/maps_btf.rsa.bundle
  refusal_rows /bin/bpfsign-asan -asan
fi
# Runtime settings, the kernel checking the signature (tests/vm/settings_rows.sh).
if [ -x /bin/settings_rows ]; then
  /bin/settings_rows /bin/bpfsign $D --keyring $K
  fails=$((fails + $?))
fi
echo "CLI-DONE failures=$fails"
[ $fails -eq 0 ]
