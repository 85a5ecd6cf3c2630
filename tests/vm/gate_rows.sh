#!/bin/sh
# gate_rows.sh DATA_DIR: `bpfsign gate` through the command line on the
# running kernel (the qemu matrix), scoped to a cgroup so that the rest of
# the VM keeps working: in enforce mode a signed bundle from an admitted
# signer loads with its inner loads admitted; an unsigned object, a raw
# bpf(BPF_PROG_LOAD), a bundle signed by a key the policy does not admit
# and an unsigned load right after a loader finished are refused with
# EPERM and logged; a task outside the scope loads as before; the policy
# map cannot be opened for writing; the dry-run agrees with the gate; in
# audit mode all load and are logged; stop leaves nothing pinned. Also: a
# load claiming a signature it does not give is unsigned; the policy is
# frozen; a pin directory made by someone else, or a gate whose links were
# unpinned, is refused by start and reported by status; a certificate
# signer is enrolled by start; unsigned_loads "admit" admits an unsigned
# loader's inner loads too.
# POSIX sh (busybox). Prints "ROW ..." lines and "GATE-DONE failures=N".
D=${1:-/data}
B=/bin/bpfsign
T=/tmp/gate
P=/sys/fs/bpf/bpfsign-gate
mkdir -p $T
fails=0
row() {  # row CASE OBJECT PASS|FAIL OUTCOME [DETAIL]
  [ "$3" = PASS ] || fails=$((fails + 1))
  echo "ROW $1 $2 $3 $4 | $(echo "$5" | tr '\n' ' ' | cut -c1-300)"
}
said() { tr '\n' ' ' <$T/err | cut -c1-300; }
# The kernel generation, as the dry-run names it.
case $(uname -r) in
  6.*|7.0.*|7.1.*) gen=6.18-7.2.5 ;;
  7.2.[0-5]|7.2.[0-5][-+]*) gen=6.18-7.2.5 ;;
  7.2.*) gen=7.2.6-7.2 ;;
  *) gen=7.3 ;;
esac

# The scope: this shell and its children.
S=/sys/fs/cgroup/gate-test
mkdir -p $S && echo $$ >$S/cgroup.procs || row gate-scope - FAIL "cannot make the test cgroup" ""
K=$($B keyring add $D/rsa.crt --keyring gate 2>$T/err) || row gate-keyring rsa.crt FAIL refused "$(said)"
O=$($B keyring add $D/unknown-signer.crt --keyring gate-other 2>$T/err) || row gate-keyring unknown FAIL refused "$(said)"
cat >$T/enforce.json <<JSON
{"mode": "enforce", "signers": [{"keyring": "gate"}], "scope": {"cgroup": "$S"}}
JSON
cat >$T/audit.json <<JSON
{"mode": "audit", "signers": [{"keyring": "gate"}], "scope": {"cgroup": "$S"}}
JSON

if $B gate start --policy $T/enforce.json >$T/out 2>$T/err; then
  row gate-start enforce PASS "started" "$(tr '\n' ' ' <$T/out)"
else
  row gate-start enforce FAIL "not started" "$(said)"
  echo "GATE-DONE failures=$fails"
  exit $fails
fi
$B gate start --policy $T/enforce.json >$T/out 2>$T/err && grep -q 'already running' $T/out \
  && row gate-start-again enforce PASS "idempotent" "" || row gate-start-again enforce FAIL "not idempotent" "$(said)"
$B gate status --json >$T/out 2>$T/err && grep -q '"mode": "enforce"' $T/out \
  && row gate-status enforce PASS "status --json: enforce" "" || row gate-status enforce FAIL "status" "$(said)"

# admitted CASE OBJECT COMMAND...: must succeed. refused ...: must fail with EPERM.
admitted() {
  name=$1 obj=$2
  shift 2
  if "$@" >$T/out 2>$T/err; then row $name $obj PASS admitted ""; else row $name $obj FAIL "refused" "$(said)"; fi
}
refused() {
  name=$1 obj=$2
  shift 2
  if "$@" >$T/out 2>$T/err; then
    row $name $obj FAIL "admitted" "$(tr '\n' ' ' <$T/out)"
  elif grep -q -e 'Operation not permitted' -e 'errno 1 ' -e 'errno 1)' $T/out $T/err; then
    row $name $obj PASS "refused with EPERM" "$(said) $(tr '\n' ' ' <$T/out)"
  else
    row $name $obj FAIL "refused, not with EPERM" "$(said) $(tr '\n' ' ' <$T/out)"
  fi
}
admitted gate-signed subprogs $B load $D/subprogs.rsa.bundle --keyring $K
admitted gate-signed-settings runtime_settings $B load $D/runtime_settings.rsa.bundle --keyring $K --set step=2
refused gate-unsigned-object subprogs $B load $D/subprogs.bpf.o
refused gate-raw-prog-load socket_filter /bin/raw_prog_load
# A signature size and an admitted keyring, but no signature: the kernel
# checks nothing (6.18 - 7.2.5 have no verdict to tell), so the gate must
# judge it unsigned.
refused gate-sigless socket_filter /bin/raw_prog_load --sigless $K
refused gate-other-signer subprogs $B load $D/subprogs.unknown.bundle --keyring $O
# A signature the kernel cannot verify (its signer is not in the keyring
# the load names) is refused before the LSM hook: ENOKEY, not EPERM, and
# nothing is logged for it (measured here on each generation).
# (Every read of the log is kept in $T/all: a read consumes what it shows.)
$B gate log >>$T/all 2>/dev/null
if $B load $D/subprogs.unknown.bundle --keyring $K >$T/out 2>$T/err; then
  row gate-bad-signature subprogs FAIL "loaded" ""
elif $B gate log >$T/new 2>/dev/null; cat $T/new >>$T/all; grep -q 'Required key not available' $T/err && ! grep -q '"keyring_serial":'"$K"',.*"signature_given":true' $T/new; then
  row gate-bad-signature subprogs PASS "refused by the kernel's signature check (ENOKEY) before the hook: not logged" "$(said)"
else
  row gate-bad-signature subprogs FAIL "refused otherwise, or the hook saw it" "$(said)"
fi
# In one thread: a signed load, then at once an unsigned raw load.
/bin/vm_matrix after-loader $D $K >$T/out 2>$T/err
if grep -q '^AFTER-LOADER signed=loaded raw=errno 1 ' $T/out; then
  row gate-after-loader subprogs PASS "the signed load admitted, the raw load right after refused with EPERM" "$(tr '\n' ' ' <$T/out)"
else
  row gate-after-loader subprogs FAIL "unexpected" "$(tr '\n' ' ' <$T/out) $(said)"
fi
# Outside the scope, loads go on as before.
if sh -c "echo \$\$ >/sys/fs/cgroup/cgroup.procs && exec /bin/raw_prog_load" >$T/out 2>$T/err; then
  row gate-out-of-scope socket_filter PASS "a task outside the cgroup loads" ""
else
  row gate-out-of-scope socket_filter FAIL "refused outside the scope" "$(tr '\n' ' ' <$T/out)"
fi
# Self-protection: no writable fd to the policy map.
# (bpftool opens the map before it reads the value: a value of the wrong
# size fails differently, so only EPERM counts.)
if bpftool map update pinned $P/maps/gate_config key 0 0 0 0 value 0 >$T/out 2>$T/err; then
  row gate-self-protect gate_config FAIL "the policy map was written" ""
elif grep -q 'Operation not permitted' $T/err; then
  row gate-self-protect gate_config PASS "opening the policy map for writing refused (EPERM)" "$(said)"
else
  row gate-self-protect gate_config FAIL "refused, not with EPERM" "$(said)"
fi

# ... nor an fd for its programs or links (by id), so none can be detached
# or replaced through bpf(2).
$B gate status --json >$T/status 2>$T/err
pid=$(tr -d ' \n' <$T/status | sed -n 's/.*"own_program_ids":\[\([0-9]*\).*/\1/p')
lid=$(tr -d ' \n' <$T/status | sed -n 's/.*"own_link_ids":\[\([0-9]*\).*/\1/p')
if [ -z "$pid" ] || [ -z "$lid" ]; then
  row gate-self-protect-ids - FAIL "status lists no ids" "$(tr '\n' ' ' <$T/status)"
else
  bpftool prog show id $pid >$T/out 2>$T/err; p_rc=$?
  p_said=$(said)
  bpftool link detach id $lid >$T/out 2>$T/err; l_rc=$?
  if [ $p_rc -ne 0 ] && [ $l_rc -ne 0 ] && grep -q 'Operation not permitted' $T/err && echo "$p_said" | grep -q 'Operation not permitted'; then
    row gate-self-protect-ids program+link PASS "no fd for the gate's program $pid or link $lid (EPERM): not detached" "$(said)"
  else
    row gate-self-protect-ids program+link FAIL "prog show exit $p_rc, link detach exit $l_rc" "$p_said $(said)"
  fi
fi

# The log: each refusal and the admissions, as JSON lines.
$B gate log >>$T/all 2>$T/err || row gate-log - FAIL "log" "$(said)"
cp $T/all $T/log
# logged DECISION RULE: a line of the log with both (keys are in JSON order).
logged() { grep "\"rule\":\"$2\"" $T/log | grep -q "\"decision\":\"$1\""; }
case $gen in 6.18-7.2.5) signed_rule=signed-no-verdict ;; *) signed_rule=signed ;; esac
if grep -q '"seq":' $T/log && ! grep -q 'lost' $T/err; then
  row gate-log-seq log PASS "records numbered, no gap" ""
else
  row gate-log-seq log FAIL "no numbers, or a gap" "$(said)"
fi
for pair in admitted:$signed_rule admitted:inner-admitted refused:unsigned refused:keyring-not-admitted refused:self-protection; do
  decision=${pair%%:*} rule=${pair#*:}
  if logged $decision $rule; then
    row gate-log-$rule log PASS "logged: $decision" "$(grep -m1 "\"rule\":\"$rule\"" $T/log)"
  else
    row gate-log-$rule log FAIL "not logged as $decision" "$(head -c 300 $T/log)"
  fi
done

# The dry-run's answers for this kernel generation agree with the gate's.
dry() {  # dry KEYRING -> the loader's decision on this generation
  $B gate dry-run --policy $T/enforce.json $D/subprogs.rsa.bundle --keyring $1 2>/dev/null \
    | sed -n "/^kernels $gen:/,/^kernels /{/^  [a-z-]* *the signed loader/s/^ *\([a-z-]*\) .*/\1/p}"
}
a=$(dry gate) b=$(dry gate-other)
if [ "$a" = admitted ] && [ "$b" = refused ]; then
  row gate-dry-run subprogs PASS "on $gen: the admitted signer's bundle admitted, the other's refused, as the gate did" ""
else
  row gate-dry-run subprogs FAIL "dry-run said '$a' and '$b' on $gen" ""
fi

# Audit: everything loads, the refusals are logged as would-refuse.
$B gate stop >$T/out 2>$T/err || row gate-stop enforce FAIL "stop" "$(said)"
if $B gate start --policy $T/audit.json >$T/out 2>$T/err; then
  admitted gate-audit-unsigned subprogs $B load $D/subprogs.bpf.o
  admitted gate-audit-raw socket_filter /bin/raw_prog_load
  $B gate log >$T/log 2>$T/err
  logged would-refuse unsigned && row gate-audit-log log PASS "logged as would-refuse" "" \
    || row gate-audit-log log FAIL "not logged" "$(head -c 300 $T/log)"
  # The gate does not guard itself in audit mode, yet its policy stays as
  # started: frozen (the kernel refuses writes through any fd).
  zeros="" i=0
  while [ $i -lt 168 ]; do zeros="$zeros 0"; i=$((i + 1)); done
  if bpftool map update pinned $P/maps/gate_config key 0 0 0 0 value $zeros >$T/out 2>$T/err; then
    row gate-policy-frozen gate_config FAIL "the policy map was written" ""
  elif grep -q 'Operation not permitted' $T/err; then
    row gate-policy-frozen gate_config PASS "written from user space: refused (frozen)" "$(said)"
  else
    row gate-policy-frozen gate_config FAIL "refused, not with EPERM" "$(said)"
  fi
else
  row gate-start audit FAIL "not started" "$(said)"
fi
$B gate stop >$T/out 2>$T/err

# A pin directory someone else made is never used: whoever can write it
# could unpin the gate.
mkdir -p $P
if $B gate start --policy $T/enforce.json >$T/out 2>$T/err; then
  row gate-pin-dir-taken - FAIL "started in a directory it did not make" ""
  $B gate stop >/dev/null 2>&1
elif grep -q 'exists and holds no gate' $T/err && [ -z "$(ls $P)" ]; then
  row gate-pin-dir-taken - PASS "refused, nothing pinned" "$(said)"
else
  row gate-pin-dir-taken - FAIL "refused otherwise" "$(said)"
fi
rmdir $P

# A certificate signer (start enrols it into its keyring) and unsigned
# loads admitted: an unsigned loader's inner loads are admitted with it.
cat >$T/cert.json <<JSON
{"mode": "enforce", "signers": [{"certificate": "$D/rsa.crt", "keyring": "gate-cert"}], "scope": {"cgroup": "$S"}, "unsigned_loads": "admit"}
JSON
# A certificate left in that keyring from before is not admitted: start
# makes it hold exactly the policy's certificates.
$B keyring add $D/unknown-signer.crt --keyring gate-cert >/dev/null 2>$T/err || row gate-keyring unknown FAIL refused "$(said)"
if $B gate start --policy $T/cert.json >$T/out 2>$T/err; then
  admitted gate-cert-signer subprogs $B load $D/subprogs.rsa.bundle --keyring gate-cert
  if $B load $D/subprogs.unknown.bundle --keyring gate-cert >$T/out 2>$T/err; then
    row gate-cert-keyring-exact subprogs FAIL "a certificate the policy does not name was admitted" ""
  elif grep -q 'Required key not available' $T/err; then
    row gate-cert-keyring-exact subprogs PASS "the certificate added before start is gone from the keyring (ENOKEY)" "$(said)"
  else
    row gate-cert-keyring-exact subprogs FAIL "refused otherwise" "$(said)"
  fi
  admitted gate-unsigned-admitted subprogs $B load $D/subprogs.bpf.o
  refused gate-cert-other-signer subprogs $B load $D/subprogs.unknown.bundle --keyring $O
  # Its links unpinned (root's means, docs/gate.md): status and start say
  # the gate is not whole, instead of trusting the pins that remain.
  rm -f $P/links/*
  $B gate status >$T/out 2>$T/err
  st=$?
  if [ $st -eq 1 ] && grep -q 'NOT WHOLE' $T/out && ! $B gate start --policy $T/cert.json >/dev/null 2>$T/err && grep -q 'not running whole' $T/err; then
    row gate-not-whole - PASS "status exit 1, start refused" "$(said)"
  else
    row gate-not-whole - FAIL "status exit $st" "$(tr '\n' ' ' <$T/out) $(said)"
  fi
else
  row gate-start cert FAIL "not started" "$(said)"
fi
$B gate stop >$T/out 2>$T/err
if [ ! -e $P ] && /bin/raw_prog_load >/dev/null; then
  row gate-stop - PASS "nothing pinned, loads as before" ""
else
  row gate-stop - FAIL "left pinned or still refusing" "$(ls $P 2>&1)"
fi
echo $$ >/sys/fs/cgroup/cgroup.procs 2>/dev/null
echo "GATE-DONE failures=$fails"
exit $fails
