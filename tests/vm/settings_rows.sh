#!/bin/sh
# settings_rows.sh BPFSIGN DATA_DIR TRUST...: runtime settings through the
# command line, as docs/settings.md shows them, on the running kernel.
# DATA_DIR holds runtime_settings.rsa.bundle (signed with
# testdata/bpf/runtime_settings.settings.json), runtime_settings.plain.bundle
# (signed without a declaration) and rsa.crt; TRUST is how a load is
# trusted here (--keyring SERIAL in the qemu matrix, where the kernel checks
# the signature; --offline-verified --cert CERT on a kernel that checks
# none). Values are observed in the programs' .bss and the maps' sizes with
# bpftool (a test oracle). The loader's own refusal of an out-of-bounds
# value, with the runtime's check bypassed, is tests/vm/vm_matrix.cpp's.
# Environment: SETTINGS_SKIP_FENTRY=1 where trampolines are refused (a
# kernel under lockdown): the fentry is skipped as asked, its kprobe
# fallback loads. POSIX sh (busybox in the matrix). Prints "ROW ..." lines;
# exits with the number of failed rows.
B=$1 D=$2
shift 2
T=${TMPDIR:-/tmp}/settings-rows.$$
mkdir -p $T
P=/sys/fs/bpf/settings-rows-$$
fails=0
row() {  # row CASE PASS|FAIL OUTCOME [DETAIL]
  [ "$2" = PASS ] || fails=$((fails + 1))
  echo "ROW $1 runtime_settings $2 $3 | $(echo "$4" | tr '\n' ' ' | cut -c1-300)"
}
said() { tr '\n' ' ' <$T/err | cut -c1-300; }
# The value of a .bss variable, from bpftool's BTF-formatted dump.
bss() { bpftool -j map dump pinned $P/maps/_bss | tr '{},' '\n\n\n' | sed -n "s/^\"$1\":\(-*[0-9]*\)\$/\1/p"; }
max_entries() { bpftool -j map show pinned $P/maps/$1 | tr ',' '\n' | sed -n 's/^"max_entries":\([0-9]*\)$/\1/p'; }
# This shell's own pid (in a subshell $$ is the parent's).
read -r me _ </proc/self/stat
skip=""
[ "${SETTINGS_SKIP_FENTRY:-0}" = 1 ] && skip="--skip on_unlink_fentry"

# verify and inspect show the declaration; inspect explains every check.
if $B verify $D/runtime_settings.rsa.bundle --cert $D/rsa.crt >$T/out 2>$T/err \
   && grep -q 'runtime settings the signer declared (covered by the verified signatures)' $T/out \
   && grep -q 'variable step (.rodata +4, 4-byte unsigned): one of 1, 2, 5' $T/out; then
  row settings-verify PASS "declaration shown as verified"
else
  row settings-verify FAIL "declaration not shown" "$(cat $T/out) $(said)"
fi
if $B inspect $D/runtime_settings.rsa.bundle >$T/out 2>$T/err && grep -q 'the runtime setting at context +[0-9]* (the loader stores it only when it is one of 1, 2, 5' $T/out; then
  row settings-inspect PASS "every check explained, the inputs named"
else
  row settings-inspect FAIL "unexplained code or inputs not named" "$(tail -5 $T/out) $(said)"
fi

# A load with settings: the values reach the programs.
if $B load $D/runtime_settings.rsa.bundle "$@" --set targ_tgid=$me --set step=5 --set delta=-7 --max-entries counts=4096 --max-entries events=1000000 $skip \
     --attach --pin $P >$T/out 2>$T/err; then
  for i in 1 2 3 4 5; do cd /; done
  calls=$(bss calls) hits=$(bss hits) delta=$(bss seen_delta)
  if [ "${calls:-0}" -ge 5 ] && [ "$hits" -eq $((5 * calls)) ] && [ "$delta" = -7 ] && [ "$(max_entries counts)" = 4096 ]; then
    row settings-applied PASS "calls $calls, hits $hits (step 5), seen_delta $delta, counts sized 4096"
  else
    row settings-applied FAIL "calls '$calls' hits '$hits' seen_delta '$delta' counts '$(max_entries counts)'" "$(cat $T/out)"
  fi
  # A ring buffer sized from an option: 1000000 bytes, rounded up to a
  # power-of-two number of pages as for a declared size.
  if [ "$(max_entries events)" = 1048576 ]; then
    row settings-ringbuf-size PASS "events asked 1000000, sized 1048576"
  else
    row settings-ringbuf-size FAIL "events sized '$(max_entries events)'" ""
  fi
  if grep -q "skipped on_sync_fentry .*its attach target 'bpfsign_renamed_ksys_sync' is missing from the running kernel" $T/out; then
    row settings-target-missing PASS "the optional fentry skipped with one line"
  else
    row settings-target-missing FAIL "no skip line" "$(cat $T/out)"
  fi
  if [ -n "$skip" ]; then
    grep -q 'skipped on_unlink_fentry .*skipped as asked' $T/out && [ -e $P/progs/on_unlink_kprobe ] \
      && row settings-fallback PASS "fentry skipped as asked, its kprobe fallback loaded" \
      || row settings-fallback FAIL "fallback not loaded" "$(grep -e skipped -e on_unlink $T/out)"
  else
    grep -q "skipped on_unlink_kprobe .*the fallback for 'on_unlink_fentry', which loaded" $T/out && [ -e $P/progs/on_unlink_fentry ] \
      && row settings-fallback PASS "fentry loaded, its kprobe fallback skipped" \
      || row settings-fallback FAIL "fentry not loaded or fallback not skipped" "$(grep -e skipped -e on_unlink $T/out)"
  fi
  # The filter in effect: a child process's unlink is not this shell's.
  : >$T/victim && rm $T/victim
  if [ "$(bss unlink_fentry_hits)" = 0 ] && [ "$(bss unlink_kprobe_hits)" = 0 ]; then
    row settings-filter PASS "another process's unlink not counted (targ_tgid=$me)"
  else
    row settings-filter FAIL "counted another process" "fentry $(bss unlink_fentry_hits) kprobe $(bss unlink_kprobe_hits)"
  fi
  # The fallback at work, where kprobes attach: sync(2) reaches ksys_sync.
  if grep -q 'attach  on_sync_kprobe .*kprobe ksys_sync' $T/out; then
    sync
    [ "$(bss sync_kprobe_hits)" -ge 1 ] && row settings-fallback-runs PASS "sync counted by the kprobe fallback" \
      || row settings-fallback-runs FAIL "sync not counted" "$(bss sync_kprobe_hits)"
  fi
  rm -rf $P
else
  row settings-applied FAIL refused "$(said)"
fi

# Refused before anything loads: one line, exit 2, nothing pinned.
refused() {  # refused CASE PATTERN BUNDLE ARGS...
  name=$1 pattern=$2 bundle=$3
  shift 3
  $B load $D/$bundle "$@" --pin $P >$T/out 2>$T/err
  rc=$?
  if [ $rc -eq 2 ] && [ "$(grep -c . $T/err)" -eq 1 ] && grep -q "$pattern" $T/err && [ ! -e $P ]; then
    row settings-$name PASS "refused (exit 2)" "$(said)"
  else
    row settings-$name FAIL "exit $rc" "$(said)"
  fi
  rm -rf $P
}
TRUST="$*"
refused out-of-bounds 'outside what the signer allows (one of 1, 2, 5)' runtime_settings.rsa.bundle $TRUST --set step=3
refused undeclared "'calls' is not declared settable" runtime_settings.rsa.bundle $TRUST --set calls=1
refused size-bounds 'outside what the signer allows (64..65536)' runtime_settings.rsa.bundle $TRUST --max-entries counts=1
refused not-optional "'count_chdir' is not declared settable" runtime_settings.rsa.bundle $TRUST --skip count_chdir
refused no-declaration 'declared: none' runtime_settings.plain.bundle $TRUST --set step=5
rm -rf $T
echo "SETTINGS-DONE failures=$fails"
exit $fails
