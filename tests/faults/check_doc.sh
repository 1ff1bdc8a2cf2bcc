#!/bin/sh
# check_doc.sh: docs/FAULTS.md is checkable. (1) The section between the
# catalogue markers is what tests/faults/mkdoc.sh makes of
# tests/faults/cases.tsv (every case documented, nothing else). (2) Every
# row of every table whose last column is "Test" names a test that exists:
# "FILE.bats: NAME" (a @test of tests/bats/FILE.bats whose name contains
# NAME), "tests/unit/FILE.c (...)" (the file exists), "catalogue.bats: ID"
# (a case of cases.tsv), or "same" (the row above's test). (3) There are at
# least $FAULTS_MIN (150) such rows. Prints each problem; exits 1 on any.
R=$(cd "$(dirname "$0")/../.." && pwd)
D=$R/docs/FAULTS.md
MIN=${FAULTS_MIN:-150}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
bad=0
sed -n '/^<!-- catalogue: begin/,/^<!-- catalogue: end/p' "$D" | sed '1d;$d' >"$T/section"
sh "$R/tests/faults/mkdoc.sh" >"$T/want"
if ! cmp -s "$T/section" "$T/want"; then
	echo "docs/FAULTS.md: the catalogue section differs from tests/faults/mkdoc.sh's output:"
	diff "$T/want" "$T/section" | head -n 20
	bad=1
fi
cut -f1 "$R/tests/faults/cases.tsv" | grep -v '^#' | grep . >"$T/ids"
# every table row with a Test column: its last cell
awk -F'|' '
/^\|/ { last = $(NF-1); gsub(/^ +| +$/, "", last)
	if (last == "Test") { intable = 1; next }
	if (last ~ /^-+$/) next
	if (intable) print NR "\t" last; next }
{ intable = 0 }
' "$D" >"$T/rows"
rows=0
prev=
while IFS="$(printf '\t')" read -r line cell; do
	rows=$((rows + 1))
	ok=
	[ "$cell" = same ] && cell=$prev
	case $cell in
	catalogue.bats:\ *)
		grep -qxF -- "${cell#catalogue.bats: }" "$T/ids" && ok=1 ;;
	tests/unit/*)
		[ -f "$R/${cell%% *}" ] && ok=1 ;;
	*.bats:\ *)
		f=$R/tests/bats/${cell%%: *}
		name=${cell#*.bats: }
		[ -f "$f" ] && sed -n 's/^@test "\(.*\)" {$/\1/p' "$f" | sed 's/\\"/"/g' | grep -qF -- "$name" && ok=1 ;;
	esac
	if [ -z "$ok" ]; then
		echo "docs/FAULTS.md:$line: no such test: '$cell'"
		bad=1
	fi
	prev=$cell
done <"$T/rows"
if [ "$rows" -lt "$MIN" ]; then
	echo "docs/FAULTS.md: $rows faults with a test, fewer than $MIN"
	bad=1
fi
echo "# docs/FAULTS.md: $rows faults, each with a test; $(wc -l <"$T/ids") catalogue cases"
exit $bad
