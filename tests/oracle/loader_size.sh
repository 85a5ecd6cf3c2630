#!/usr/bin/env bash
# loader_size.sh BPFSIGN CORPUS_DIR: every corpus object's loaders, for each
# signature scheme, against the loader of bpftool's light skeleton of the
# same object (`bpftool gen skeleton -L`, Debian's bpftool), in instructions.
# Prints the table with the ratio ours / bpftool's (scripts/bench.sh shows
# it) and fails if any of our loaders is larger. Objects bpftool cannot
# make a light skeleton of (legacy maps, map-in-map slots) are listed as such.
set -u
bpfsign=$1
corpus=$2
command -v bpftool >/dev/null || { echo "skipped: no bpftool"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bpfsign" keygen --key "$work/k.key" --cert "$work/k.crt" --cn "loader size" >/dev/null 2>&1 || { echo "FAIL: keygen"; exit 1; }
larger=0
printf '%-18s %8s %8s %8s %8s %8s %6s\n' object bpftool loader-c hash-only kernel-c hash-ch ratio
for obj in "$corpus"/*.bpf.o; do
  stem=$(basename "$obj" .bpf.o)
  if ! bpftool gen skeleton -L "$obj" name "$stem" >"$work/$stem.h" 2>/dev/null; then
    printf '%-18s %8s\n' "$stem" "(bpftool makes no light skeleton)"
    continue
  fi
  theirs=$(( $(grep -o 'opts.insns_sz = [0-9]*' "$work/$stem.h" | grep -o '[0-9]*$') / 8 ))
  "$bpfsign" sign "$obj" -k "$work/k.key" -c "$work/k.crt" -o "$work/$stem.bundle" --json >"$work/$stem.json" 2>"$work/err" ||
    { echo "FAIL: sign $stem: $(cat "$work/err")"; exit 1; }
  row=$(python3 - "$work/$stem.json" "$theirs" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
theirs = int(sys.argv[2])
n = {s["scheme"]: s["loader_insns"] for s in j["signatures"]}
order = ["loader-checked", "loader-checked-hash-only", "kernel-chained", "hash-chain"]
worst = max(n.values())
print(" ".join(str(n.get(s, "-")) for s in order), f"{worst / theirs:.2f}", "larger" if worst > theirs else "ok")
PY
)
  read -r lc ho kc hc ratio verdict <<<"$row"
  printf '%-18s %8s %8s %8s %8s %8s %6s\n' "$stem" "$theirs" "$lc" "$ho" "$kc" "$hc" "$ratio"
  [ "$verdict" = ok ] || larger=$((larger + 1))
done
echo "ratio: our largest loader / bpftool's light skeleton loader, in instructions"
[ $larger -eq 0 ] || { echo "FAIL: $larger objects have a loader larger than bpftool's"; exit 1; }
