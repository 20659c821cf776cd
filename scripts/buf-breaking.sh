#!/usr/bin/env bash
# Fails on a breaking change to the eeo.v1 contract (buf breaking, FILE
# rules), compared with two references:
#
#  1. proto/breaking-baseline.txtpb, the recorded contract (`make
#     proto-baseline` writes it). Always checked.
#  2. proto/ at BREAKING_REF (default HEAD~1, the previous commit of main in
#     CI), so a break cannot slip in between baseline updates. Skipped when
#     the baseline itself changed since BREAKING_REF: regenerating it is the
#     documented way to declare a break intended, and that commit shows it.
#
# buf's own `--against '.git#ref=…'` cannot build the old tree: buf.yaml's
# second module, .build/protos (fetched by `make protos`), is not in git.
# So the old proto/ is taken with git archive and built beside a copy of
# the fetched protos.
set -euo pipefail
cd "$(dirname "$0")/.."

buf=${BUF:-.bin/buf}
baseline=proto/breaking-baseline.txtpb
ref=${BREAKING_REF:-HEAD~1}
# Only our files: the third-party protos are not ours to keep compatible.
# Both sides are built into images of just those files first, as --path
# would also filter the against image, whose paths lack the proto/ prefix.
scope=(--path proto/eeo --exclude-source-info)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The current side keeps its source info, so failures name file:line.
"$buf" build --path proto/eeo -o "$work/current.binpb"

echo "buf breaking: against $baseline"
"$buf" breaking --exclude-imports "$work/current.binpb" --against "$baseline"

if ! git rev-parse --verify --quiet "$ref^{commit}" >/dev/null; then
	echo "buf breaking: no commit $ref; only the baseline was checked"
	exit 0
fi
if ! git diff --quiet "$ref" -- "$baseline"; then
	echo "buf breaking: $baseline changed since $ref, so a break against $ref is declared intended; not compared"
	exit 0
fi
if [ -z "$(git ls-tree -r --name-only "$ref" -- proto/eeo)" ]; then
	echo "buf breaking: $ref has no proto/eeo; only the baseline was checked"
	exit 0
fi

old=$work/old
mkdir "$old"
git archive "$ref" proto | tar -x -C "$old"
mkdir -p "$old/.build"
cp -R .build/protos "$old/.build/protos"
cp buf.yaml "$old/buf.yaml"
buf_abs=$(cd "$(dirname "$buf")" && pwd)/$(basename "$buf")
(cd "$old" && "$buf_abs" build "${scope[@]}" -o "$work/against.binpb")
echo "buf breaking: against proto/ at $ref ($(git rev-parse --short "$ref"))"
"$buf" breaking --exclude-imports "$work/current.binpb" --against "$work/against.binpb"
