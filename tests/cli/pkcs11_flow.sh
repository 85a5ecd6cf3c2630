#!/usr/bin/env bash
# pkcs11_flow.sh BPFSIGN OBJECT: signing with keys that live in a PKCS#11
# token (SoftHSM2, a throwaway token in a temporary directory): RSA and
# ECDSA keys are imported as sensitive objects, bpfsign signs through
# OpenSSL's pkcs11 engine, and the bundles verify against the certificates.
set -u
bpfsign=$1 object=$2
module=/usr/lib/softhsm/libsofthsm2.so
for tool in softhsm2-util pkcs11-tool; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (scripts/setup-debian.sh installs it)"; exit 1; }
done
[ -f "$module" ] || { echo "FAIL: $module missing"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$dir/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir" >"$dir/softhsm2.conf"
export SOFTHSM2_CONF=$dir/softhsm2.conf
softhsm2-util --init-token --free --label bpfsign-test --pin 4321 --so-pin 8765 >/dev/null || fail "token init"
id=1
for alg in rsa2048 p256; do
  "$bpfsign" keygen -a "$alg" --cn "token $alg" --key "$dir/$alg.pem" --cert "$dir/$alg.crt" >/dev/null || fail "keygen $alg"
  openssl pkcs8 -topk8 -nocrypt -in "$dir/$alg.pem" -outform DER -out "$dir/$alg.der"
  openssl x509 -in "$dir/$alg.crt" -outform DER -out "$dir/$alg.cder"
  rm -f "$dir/$alg.pem"  # from here on the key exists only in the token
  pkcs11-tool --module "$module" --login --pin 4321 --write-object "$dir/$alg.der" --type privkey --id "0$id" --label "$alg" >/dev/null 2>&1 ||
    fail "import $alg key"
  pkcs11-tool --module "$module" --login --pin 4321 --write-object "$dir/$alg.cder" --type cert --id "0$id" --label "$alg" >/dev/null 2>&1 ||
    fail "import $alg certificate"
  rm -f "$dir/$alg.der"
  BPFSIGN_PKCS11_PIN=4321 "$bpfsign" sign "$object" -k "pkcs11:token=bpfsign-test;object=$alg;type=private" -c "$dir/$alg.crt" \
    --pkcs11-module "$module" -o "$dir/$alg.bundle" >"$dir/out" 2>&1 || { cat "$dir/out"; fail "sign with token key $alg"; }
  "$bpfsign" verify "$dir/$alg.bundle" --cert "$dir/$alg.crt" >"$dir/out" 2>&1 || { cat "$dir/out"; fail "verify $alg"; }
  id=$((id + 1))
done
# A wrong PIN is refused with a clear error, and nothing is written.
if BPFSIGN_PKCS11_PIN=0000 "$bpfsign" sign "$object" -k "pkcs11:token=bpfsign-test;object=p256;type=private" -c "$dir/p256.crt" \
  --pkcs11-module "$module" -o "$dir/wrong.bundle" >/dev/null 2>"$dir/err"; then
  fail "signed with a wrong PIN"
fi
[ ! -e "$dir/wrong.bundle" ] || fail "a refused sign left an output"
grep -q "PKCS#11" "$dir/err" || { cat "$dir/err"; fail "error does not name PKCS#11"; }
echo ok
