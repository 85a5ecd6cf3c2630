#!/usr/bin/env bash
# docs_flow.sh BPFSIGN: the manual pages and the bash completion are made
# from the same command line --help prints: every option --help lists for a
# command is in that command's page and completes, and scheme names complete
# after --scheme.
set -u
bpfsign=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bpfsign" man --output-dir "$dir/man" >/dev/null || fail "man --output-dir"
[ -s "$dir/man/bpfsign.1" ] || fail "no bpfsign.1"
"$bpfsign" man --output-dir "$dir/man" >/dev/null 2>&1; [ $? -eq 2 ] || fail "man replaced existing pages without --force"
"$bpfsign" man --output-dir "$dir/man" --force >/dev/null || fail "man --force"
"$bpfsign" completion bash >"$dir/completion.bash" || fail "completion bash"

# complete WORDS...: what the completion offers for the last word.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _bpfsign; printf "%s\n" "${COMPREPLY[@]}"' _ "$dir/completion.bash" "$@"
}

pages=0
for page in "$dir"/man/bpfsign-*.1; do
  words=$(basename "$page" .1 | sed 's/^bpfsign-//; s/-/ /g')
  # A command name with a hyphen of its own (gate dry-run) splits here: then
  # its last two words are one.
  # shellcheck disable=SC2086
  if ! help=$("$bpfsign" $words --help 2>/dev/null); then
    words=$(echo "$words" | sed 's/ \([^ ]*\)$/-\1/')
    # shellcheck disable=SC2086
    help=$("$bpfsign" $words --help) || fail "bpfsign $words --help"
  fi
  # The options: the names at the start of --help's option lines.
  for opt in $(printf '%s\n' "$help" | grep -E '^ +-' | awk '{print $1}' | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u); do
    grep -qF -- "$(printf '%s' "$opt" | sed 's/-/\\-/g')" "$page" || fail "$(basename "$page") lacks $opt, which 'bpfsign $words --help' lists"
    # shellcheck disable=SC2086
    complete_words bpfsign $words "${opt:0:4}" | grep -qx -- "$opt" || fail "'bpfsign $words ${opt:0:4}' does not complete $opt"
  done
  pages=$((pages + 1))
done
[ "$pages" -ge 15 ] || fail "only $pages command pages"
for cmd in $("$bpfsign" --help | awk '/^Subcommands:/ {on=1; next} on && NF {print $1}'); do
  [ -s "$dir/man/bpfsign-$cmd.1" ] || fail "no page for $cmd"
  grep -q "bpfsign\\\\-$cmd" "$dir/man/bpfsign.1" || fail "bpfsign.1 does not list $cmd"
done

complete_words bpfsign si | grep -qx sign || fail "'bpfsign si' does not complete sign"
complete_words bpfsign keyring a | grep -qx add || fail "'bpfsign keyring a' does not complete add"
complete_words bpfsign sign --scheme ker | grep -qx kernel-chained || fail "--scheme does not complete scheme names"
complete_words bpfsign keygen -a p2 | grep -qx p256 || fail "-a does not complete key algorithms"
echo "ok: $pages pages"
