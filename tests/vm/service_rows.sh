#!/bin/sh
# The installed Debian package, inside each kernel booted under qemu: the
# packages scripts/build-deb.sh built are unpacked into the initramfs
# (/usr/bin/bpfsign, libbpfsign, the unit file, /etc/bpfsign). This minimal
# init then runs what the package's bpfsign.service runs, the unit's own
# ExecStart= and ExecReload= lines read from the installed unit file, and
# the installed command's signed load as README shows it.
# Prints "ROW <case> <object> <PASS|FAIL> ..." lines and
# "SERVICE-DONE failures=N".
D=${1:-/data}
T=/tmp/service
mkdir -p $T
fails=0
B=/usr/bin/bpfsign
row() {  # row CASE OBJECT PASS|FAIL OUTCOME [DETAIL]
  [ "$3" = PASS ] || fails=$((fails + 1))
  echo "ROW $1 $2 $3 $4 | $(echo "$5" | tr '\n' ' ' | cut -c1-300)"
}
out() { tr '\n' ' ' <$T/out | cut -c1-300; }
said() { tr '\n' ' ' <$T/err | cut -c1-300; }

unit=/lib/systemd/system/bpfsign.service
[ -f $unit ] || unit=/usr/lib/systemd/system/bpfsign.service
# The unit's command lines, as systemd would run them (no prefixes, no
# variables: anything else would need systemd's parser, and is refused).
exec_line() {
  line=$(grep "^$1=" $unit | head -1 | cut -d= -f2-)
  case $line in
    "$B boot"*) echo "$line" ;;
    *) echo "unsupported $1 line: '$line'" >&2 ;;
  esac
}

# --- the installed command and its files.
if $B version >$T/out 2>$T/err; then
  row pkg-installed bpfsign PASS "$(out)"
else
  row pkg-installed bpfsign FAIL "the installed command does not run" "$(said)"
fi
missing=""
for f in $unit /usr/share/man/man1/bpfsign.1.gz /usr/share/man/man1/bpfsign-boot.1.gz \
  /usr/share/bash-completion/completions/bpfsign /etc/bpfsign/certs /etc/bpfsign/bundles; do
  [ -e $f ] || missing="$missing $f"
done
if [ -z "$missing" ]; then row pkg-files bpfsign PASS "unit, manual pages, completion, /etc/bpfsign"; else row pkg-files bpfsign FAIL "missing:$missing"; fi

# --- a signed load with the installed command, as README shows it.
if K=$($B keyring add $D/rsa.crt --keyring pkg 2>$T/err) && $B load $D/subprogs.rsa.bundle --keyring $K --json >$T/out 2>>$T/err; then
  if grep -q '"kernel_checked_signature": true' $T/out; then
    row pkg-load-signed subprogs PASS "loaded by the installed command, the kernel checked the signature"
  else
    row pkg-load-signed subprogs FAIL "loaded, but the kernel did not check" "$(out)"
  fi
else
  row pkg-load-signed subprogs FAIL refused "$(said)"
fi

# --- the service: a signer, two good bundles and one from a signer that is
# not enrolled.
start=$(exec_line ExecStart)
reload=$(exec_line ExecReload)
cp $D/rsa.crt /etc/bpfsign/certs/signer.crt
cp $D/subprogs.rsa.bundle /etc/bpfsign/bundles/subprogs.bundle
cp $D/maps_btf.rsa.bundle /etc/bpfsign/bundles/maps_btf.bundle
cp $D/subprogs.unknown.bundle /etc/bpfsign/bundles/unknown_signer.bundle
$start >$T/out 2>$T/err
rc=$?
P=/sys/fs/bpf/bpfsign
if [ $rc -eq 5 ] && grep -q '^bundle subprogs: loaded.*the kernel verified' $T/out && grep -q '^bundle maps_btf: loaded.*the kernel verified' $T/out &&
  grep -q '^bundle unknown_signer: FAILED' $T/out && [ -n "$(ls $P/subprogs/progs)" ] && [ -n "$(ls $P/maps_btf/links)" ] &&
  [ ! -e $P/unknown_signer ]; then
  row service-start corpus PASS "2 bundles loaded and pinned, the kernel verified each, the unknown signer's refused, exit 5" "$(out)"
else
  row service-start corpus FAIL "exit $rc" "$(out) $(said)"
fi

# --- reload: only what was added loads (a bundle that needs no kernel
# configuration, which Debian does not publish for every kernel).
cp $D/isa_v1.rsa.bundle /etc/bpfsign/bundles/isa_v1.bundle
$reload >$T/out 2>$T/err
rc=$?
if [ $rc -eq 5 ] && grep -q '^bundle isa_v1: loaded' $T/out && grep -q '^bundle subprogs: already loaded' $T/out &&
  grep -q '^1 loaded, 2 already loaded, 1 failed' $T/out && [ -n "$(ls $P/isa_v1/progs)" ]; then
  row service-reload corpus PASS "the added bundle loaded, the others left as they were" "$(out)"
else
  row service-reload corpus FAIL "exit $rc" "$(out) $(said)"
fi

# --- a clean configuration: exit 0.
rm /etc/bpfsign/bundles/unknown_signer.bundle
if $reload >$T/out 2>$T/err; then
  row service-all-good corpus PASS "exit 0" "$(out)"
else
  row service-all-good corpus FAIL "exit $?" "$(out) $(said)"
fi

# --- a certificate directory others may write is refused before anything.
cp $D/subprogs.metadata.bundle /etc/bpfsign/bundles/tampered.bundle
chmod 777 /etc/bpfsign/certs
$start >$T/out 2>$T/err
rc=$?
if [ $rc -eq 2 ] && grep -q 'writable by its group or by others' $T/err && [ ! -e $P/tampered ]; then
  row service-unsafe-certs corpus PASS "refused, exit 2, nothing loaded" "$(said)"
else
  row service-unsafe-certs corpus FAIL "exit $rc" "$(out) $(said)"
fi
chmod 755 /etc/bpfsign/certs

# --- a tampered bundle fails on its own line; nothing of it is pinned.
$start >$T/out 2>$T/err
rc=$?
if [ $rc -eq 5 ] && grep -q '^bundle tampered: FAILED' $T/out && [ ! -e $P/tampered ]; then
  row service-tampered subprogs PASS "refused, nothing pinned" "$(grep '^bundle tampered' $T/out)"
else
  row service-tampered subprogs FAIL "exit $rc" "$(out) $(said)"
fi
rm -rf $P

# --- the gate's unit: a policy in /etc/bpfsign/gate.json whose signer is
# the enrolled certificate, scoped to a cgroup so the VM keeps working.
gunit=/lib/systemd/system/bpfsign-gate.service
[ -f $gunit ] || gunit=/usr/lib/systemd/system/bpfsign-gate.service
gate_line() {
  line=$(grep "^$1=" $gunit | head -1 | cut -d= -f2-)
  case $line in
    "$B gate "*) echo "$line" ;;
    *) echo "unsupported $1 line: '$line'" >&2 ;;
  esac
}
gstart=$(gate_line ExecStart)
gstop=$(gate_line ExecStop)
S=/sys/fs/cgroup/service-gate
mkdir -p $S
cat >/etc/bpfsign/gate.json <<JSON
{"mode": "enforce", "signers": [{"certificate": "/etc/bpfsign/certs/signer.crt", "keyring": "bpfsign-gate"}], "scope": {"cgroup": "$S"}}
JSON
in_scope() { sh -c "echo \$\$ >$S/cgroup.procs && exec \"\$@\"" sh "$@"; }
if $gstart >$T/out 2>$T/err; then
  if in_scope $B load $D/subprogs.rsa.bundle --keyring bpfsign-gate >$T/out 2>$T/err; then
    if in_scope /bin/raw_prog_load >$T/out 2>&1; then
      row service-gate corpus FAIL "an unsigned load went through" "$(out)"
    elif grep -q 'errno 1 ' $T/out; then
      row service-gate corpus PASS "the unit's gate admits the enrolled signer's bundle, refuses an unsigned load (EPERM)" ""
    else
      row service-gate corpus FAIL "the unsigned load failed otherwise" "$(out)"
    fi
  else
    row service-gate corpus FAIL "the signed bundle was refused" "$(said)"
  fi
else
  row service-gate corpus FAIL "ExecStart failed" "$(out) $(said)"
fi
if $gstop >$T/out 2>$T/err && [ ! -e /sys/fs/bpf/bpfsign-gate ] && in_scope /bin/raw_prog_load >/dev/null; then
  row service-gate-stop - PASS "ExecStop: nothing pinned, loads as before" "$(out)"
else
  row service-gate-stop - FAIL "ExecStop" "$(out) $(said)"
fi
rm -f /etc/bpfsign/gate.json

echo "SERVICE-DONE failures=$fails"
[ $fails -eq 0 ]
