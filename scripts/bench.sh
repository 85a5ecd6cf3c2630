#!/usr/bin/env bash
# bench.sh [BUILD_DIR]: runs the benchmarks and prints comparison tables,
# ours against the peer measured in the same run, as ratios.
#  1. in-process decoder throughput (Google Benchmark), against copying the raw slots;
#  2. reading objects into the model, against libbpf's bpf_object__open and
#     libbpf's open + load with bpf(2) answered in-process (no kernel), also
#     paired (both in every iteration, the ratio the target is judged by);
#  3. bpfsign inspect (symbolic decoding of a loader) against disassembling it;
#  4. signing and verifying bundles, against `openssl speed` (rsa2048, sha256)
#     and, paired, against the same cryptography done alone in-process;
#  5. whole-corpus disassembly, `bpfsign disasm` against `llvm-objdump-19 -d`;
#  6. loader sizes, every corpus object and scheme, against bpftool's light
#     skeletons (tests/oracle/loader_size.sh), and, as root, load times.
# This machine's timings are noisy: benchmarks are repeated, interleaved at
# random, and compared by their medians.
set -euo pipefail
source "$(dirname "$0")/env.sh"
build=${1:-$repo_root/build/gcc}
reps=${BPFSIGN_BENCH_REPS:-20}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$build/bench/bpfsign_bench" --benchmark_format=json --benchmark_min_time=0.2 --benchmark_repetitions=7 \
  --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true >"$out" 2>/dev/null
python3 - "$out" <<'PY'
import json, sys
runs = {b["run_name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"] if b.get("aggregate_name") == "median"}
peer = runs["BM_CopyRawSlots"]["insns/s"]
print("decoder throughput over the corpus (instructions/s); peer: copying raw 8-byte slots")
print(f"{'benchmark':<28}{'insns/s':>14}{'vs peer':>10}")
for name, b in runs.items():
    if "insns/s" in b:
        print(f"{name:<28}{b['insns/s']/1e6:>12.1f} M{b['insns/s']/peer:>10.2f}")

def us(name):
    b = runs[name]
    return b["real_time"] * {"ns": 1e-3, "us": 1.0, "ms": 1e3}[b["time_unit"]]
print("\nreading an object into a loadable model (median us); ratio = ours / peer, < 1 is faster")
print(f"{'object':<20}{'bpfsign':>10}{'libbpf open':>13}{'ratio':>7}{'libbpf open+load':>18}{'ratio':>7}")
for arg, label in (("0", "largest corpus"), ("1", "1000 programs")):
    ours, op, ol = us(f"BM_ReadObject/{arg}"), us(f"BM_LibbpfOpen/{arg}"), us(f"BM_LibbpfOpenLoadNoKernel/{arg}")
    print(f"{label:<20}{ours:>10.1f}{op:>13.1f}{ours/op:>7.2f}{ol:>18.1f}{ours/ol:>7.3f}")
print("paired (both readers in turn in every iteration; what the target is judged by):")
for arg, label in (("0", "largest corpus"), ("1", "1000 programs")):
    b = runs[f"BM_ReadVsOpenPaired/{arg}"]
    print(f"{label:<20}{b['ours_us']:>10.1f}{b['libbpf_us']:>13.1f}{b['ratio']:>7.2f}")
print("BTF alone (ours checks every type and reference loop; btf__new checks little)")
for arg, label in (("0", "largest corpus"), ("1", "1000 programs")):
    ours, peer = us(f"BM_BtfParse/{arg}"), us(f"BM_LibbpfBtfNew/{arg}")
    print(f"{label:<20}{ours:>10.1f}{peer:>13.1f}{ours/peer:>7.2f}")
print("\nbpfsign inspect: a loader read back into its commands (median us); peer: disassembling the same loader")
print(f"{'loader':<28}{'inspect':>10}{'disassemble':>13}{'ratio':>7}")
for arg, label in (("0", "many_progs (largest corpus)"), ("1", "1000 programs")):
    ours, peer = us(f"BM_InspectLoader/{arg}"), us(f"BM_DisassembleLoader/{arg}")
    print(f"{label:<28}{ours:>10.1f}{peer:>13.1f}{ours/peer:>7.2f}")
PY

# Signing and verifying bundles against what the cryptography alone costs,
# priced by `openssl speed` now, in this run: one RSA-2048 operation per
# signature plus SHA-256 over every byte the digests cover.
rsa=$(openssl speed -mr -seconds 1 rsa2048 2>/dev/null | awk -F: '/^\+F2:/ {print $4, $5}')
sha=$(openssl speed -mr -seconds 1 -bytes 16384 sha256 2>/dev/null | awk -F: '/^\+F:/ {print $4}')
python3 - "$out" $rsa "$sha" <<'PY'
import json, sys
runs = {b["run_name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"] if b.get("aggregate_name") == "median"}
sign_rate, verify_rate, sha_rate = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print(f"\nbundles signed and verified (RSA-2048, every scheme); openssl speed: rsa2048 {sign_rate:.0f} sign/s,"
      f" {verify_rate:.0f} verify/s, sha256 {sha_rate/1e6:.0f} MB/s")
print("fraction = (time the cryptography alone needs) / (our time); 1.0 is the bound")
print(f"{'bundle':<28}{'KiB':>8}{'sign/s':>9}{'MB/s':>8}{'fraction':>10}{'verify/s':>10}{'MB/s':>8}{'fraction':>10}")
for arg, label in (("0", "many_progs (largest corpus)"), ("1", "1000 programs")):
    s, v = runs[f"BM_SignBundle/{arg}"], runs[f"BM_VerifyBundle/{arg}"]
    sigs, digest, size = v["signatures"], v["digest_bytes"], v["bundle_bytes"]
    sign_bound = sigs / sign_rate + digest / sha_rate
    verify_bound = sigs / verify_rate + digest / sha_rate
    print(f"{label:<28}{size/1024:>8.0f}{s['items_per_second']:>9.0f}{s['bytes_per_second']/1e6:>8.1f}"
          f"{sign_bound*s['items_per_second']:>10.2f}{v['items_per_second']:>10.0f}{v['bytes_per_second']/1e6:>8.1f}"
          f"{verify_bound*v['items_per_second']:>10.2f}")
print("paired: verification and the same cryptography done alone with OpenSSL, in turn in every iteration")
print(f"{'bundle':<28}{'ours us':>10}{'crypto us':>11}{'fraction':>10}")
for arg, label in (("0", "many_progs (largest corpus)"), ("1", "1000 programs")):
    b = runs[f"BM_VerifyVsCryptoFloor/{arg}"]
    print(f"{label:<28}{b['ours_us']:>10.1f}{b['crypto_us']:>11.1f}{b['fraction']:>10.2f}")
PY

objs=("$build"/testdata/bpf/*.bpf.o)
time_loop() {  # prints nanoseconds for $reps runs of "$@" over every corpus object
  local start end
  start=$(date +%s%N)
  for ((i = 0; i < reps; i++)); do
    for o in "${objs[@]}"; do "$@" "$o" >/dev/null; done
  done
  end=$(date +%s%N)
  echo $((end - start))
}
ours=$(time_loop "$build/cli/bpfsign" disasm)
peer=$(time_loop llvm-objdump-19 -d)
python3 - "$ours" "$peer" "$reps" "${#objs[@]}" <<'PY'
import sys
ours, peer, reps, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"\nwhole-corpus disassembly, {n} objects x {reps} runs (process start included)")
print(f"{'tool':<24}{'ms/object':>12}{'ratio':>8}")
print(f"{'llvm-objdump-19 -d':<24}{peer/1e6/(reps*n):>12.2f}{1.0:>8.2f}")
print(f"{'bpfsign disasm':<24}{ours/1e6/(reps*n):>12.2f}{ours/peer:>8.2f}")
PY

# Loader sizes: every corpus object, each scheme, against bpftool's light
# skeleton of the same object (no kernel needed).
echo
echo "loader sizes, ours (each scheme) against bpftool's light skeletons, in instructions"
"$repo_root/tests/oracle/loader_size.sh" "$build/cli/bpfsign" "$build/testdata/bpf"

# Loaders on this kernel (root only): ours against bpftool's light skeleton
# of the same object, in the same run.
if [ "$(id -u)" -ne 0 ]; then
  echo; echo "loader comparison: skipped (needs root for bpf(2))"
  exit 0
fi
lskel_dir="$build/tests/lskel"
rows=()
for drv in "$lskel_dir"/lskel_*; do
  stem=${drv##*/lskel_}
  theirs_insns=$(grep -o 'opts.insns_sz = [0-9]*' "$lskel_dir/$stem.lskel.h" | grep -o '[0-9]*$')
  theirs_ns=$("$drv" --bench 50 | python3 -c 'import json,sys; print(json.load(sys.stdin)["ns_per_load"])')
  ours=$("$build/bench/loader_load_bench" 50 "$build/testdata/bpf/$stem.bpf.o")
  rows+=("$stem $theirs_insns $theirs_ns $ours")
done
printf '%s\n' "${rows[@]}" | python3 -c "$(cat <<'PY'
import json, sys
print("\nloaders, ours against bpftool light skeletons (same object, same run); ratio = ours / theirs")
print(f"{'object':<18}{'insns':>7}{'theirs':>8}{'ratio':>7}{'verifier':>10}{'load us':>9}{'theirs':>8}{'ratio':>7}")
for line in sys.stdin:
    stem, t_bytes, t_ns, rest = line.split(" ", 3)
    o = json.loads(rest)
    t_insns = int(t_bytes) // 8
    print(f"{stem:<18}{o['loader_insns']:>7}{t_insns:>8}{o['loader_insns']/t_insns:>7.2f}{o['verifier_processed']:>10}"
          f"{o['ns_per_load']/1e3:>9.0f}{float(t_ns)/1e3:>8.0f}{o['ns_per_load']/float(t_ns):>7.2f}")
PY
)"
