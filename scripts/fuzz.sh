#!/usr/bin/env bash
# fuzz.sh BUILD_DIR SECONDS: runs each libFuzzer target for SECONDS over a seed
# corpus built from the BPF test objects (whole objects for the ELF reader,
# their code sections for the instruction decoder, their .BTF and .BTF.ext
# for the BTF parser). Fails on any crash.
set -euo pipefail
build=$1 seconds=$2
repo_root=$(cd "$(dirname "$0")/.." && pwd)
corpus_objs="$build/testdata/bpf"
work="$build/fuzz-work"
mkdir -p "$work/seeds-elf" "$work/seeds-isa" "$work/seeds-btf" "$work/seeds-bundle" "$work/seeds-lskel" "$work/seeds-settings" "$work/crashes"
# bpftool's light skeleton headers, as the tests build them.
cp "$build"/tests/lskel/*.lskel.h "$work/seeds-lskel/" 2>/dev/null || true

for o in "$corpus_objs"/*.bpf.o; do
  cp "$o" "$work/seeds-elf/"
  # Code sections as raw instruction streams.
  while read -r name; do
    safe=$(echo "$(basename "$o")-$name" | tr '/' '_')
    objcopy_out="$work/seeds-isa/$safe"
    llvm-objcopy-19 --dump-section "$name=$objcopy_out" "$o" /dev/null 2>/dev/null || true
  done < <(llvm-readelf-19 -S -W "$o" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) *PROGBITS .* AX .*/\1/p')
  # fuzz_btf input: u32 length of .BTF, .BTF, .BTF.ext
  llvm-objcopy-19 --dump-section ".BTF=$work/btf.tmp" --dump-section ".BTF.ext=$work/ext.tmp" "$o" /dev/null
  python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(); e=open(sys.argv[2],"rb").read(); open(sys.argv[3],"wb").write(struct.pack("<I",len(b))+b+e)' \
    "$work/btf.tmp" "$work/ext.tmp" "$work/seeds-btf/$(basename "$o")"
done

# Bundles of a few objects, signed with a throwaway RSA and ECDSA key.
bpfsign="$build/cli/bpfsign"
for alg in rsa2048 p256; do
  "$bpfsign" keygen --force -a "$alg" --key "$work/$alg.key" --cert "$work/$alg.crt" >/dev/null
  for stem in global_data subprogs maps_btf; do
    "$bpfsign" sign --force "$corpus_objs/$stem.bpf.o" -k "$work/$alg.key" -c "$work/$alg.crt" -o "$work/seeds-bundle/$stem-$alg.bundle" >/dev/null
  done
done
# A bundle with runtime settings (manifest records, loader bound checks),
# and declarations for the settings target, resolved against its object.
"$bpfsign" sign --force "$corpus_objs/runtime_settings.bpf.o" -k "$work/p256.key" -c "$work/p256.crt" \
  --settings "$repo_root/testdata/bpf/runtime_settings.settings.json" -o "$work/seeds-bundle/runtime_settings-p256.bundle" >/dev/null
cp "$repo_root/testdata/bpf/runtime_settings.settings.json" "$work/seeds-settings/"
echo '{"variables": {"step": {"values": [1]}}, "optional_programs": {"on_sync_fentry": {}}}' >"$work/seeds-settings/small.json"
# Gate policies: the documented example and small ones of each form.
mkdir -p "$work/seeds-policy"
cat >"$work/seeds-policy/full.json" <<'JSON'
{"mode": "enforce", "signers": [{"certificate": "/etc/a.pem", "keyring": "k"}, {"keyring": "ops"}, {"keyring_serial": 5}],
 "program_types": ["tracepoint", "kprobe"], "map_types": ["hash", "ringbuf"], "scope": {"cgroup": "/sys/fs/cgroup/w"}, "unsigned_loads": "refuse"}
JSON
echo '{"mode": "audit", "unsigned_loads": "admit"}' >"$work/seeds-policy/audit.json"
export BPFSIGN_FUZZ_SETTINGS_OBJECT="$corpus_objs/runtime_settings.bpf.o"
# The load decision's target reads bundles and bare manifests.
mkdir -p "$work/seeds-plan"
cp "$work"/seeds-bundle/* "$work/seeds-plan/"
for b in "$work"/seeds-bundle/*-rsa2048.bundle; do
  "$build/tests/tamper_bundle" "$b" "$work/seeds-plan/$(basename "$b" .bundle).manifest" manifest
done

run() {
  local target=$1 seeds=$2
  echo "fuzz: $target for ${seconds}s over $(ls "$seeds" | wc -l) seeds"
  mkdir -p "$work/$target"
  # Inputs that once crashed a target are replayed first, every run.
  local regressions="$repo_root/fuzz/regressions/$target"
  if [ -d "$regressions" ]; then
    "$build/fuzz/$target" -runs=0 "$regressions"/* >"$work/$target.replay.log" 2>&1 || { tail -40 "$work/$target.replay.log"; exit 1; }
  fi
  "$build/fuzz/$target" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/crashes/$target-" \
    "$work/$target" "$seeds" 2>"$work/$target.log" || { tail -40 "$work/$target.log"; exit 1; }
  grep -E 'stat::number_of_executed_units|Done' "$work/$target.log" | tail -2
}
run fuzz_elf_file "$work/seeds-elf"
run fuzz_object_reader "$work/seeds-elf"
run fuzz_btf "$work/seeds-btf"
run fuzz_isa_decode "$work/seeds-isa"
run fuzz_bundle "$work/seeds-bundle"
run fuzz_lskel "$work/seeds-lskel"
run fuzz_load_plan "$work/seeds-plan"
run fuzz_settings "$work/seeds-settings"
run fuzz_gate_policy "$work/seeds-policy"
