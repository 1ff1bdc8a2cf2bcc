#!/bin/sh
# run.sh [PATTERN]: run the fault catalogue's cases (tests/faults/cases.tsv)
# whose id matches the grep -E PATTERN (default: all). Each case runs in a
# fresh empty directory (its working directory) with the tools of $TL_BIN
# first on PATH, its standard input from the named fixture (or
# /dev/null), under a 120 s timeout, and is checked three ways: its exit
# status, its standard error against the expected extended regex ('-':
# standard error must be empty), and no sanitizer report. Prints "ok ID" or
# "not ok ID: why" per case and a count; exits 1 when a case failed.
#
# cases.tsv: one case a line, tab-separated: id, what (for docs/FAULTS.md),
# stdin (a file under $S, or '-'), exit status, stderr regex, command (sh,
# no tabs). Blank lines and lines starting with '#' are skipped. The
# command sees: $S the shared fixtures (tests/faults/setup.sh makes them
# once per run: do not modify them, copy first), $R the repository,
# $TINY the tiny BERT model (tests/ref/tiny_bert), $FX tests/faults/fixtures.
set -u
: "${TL_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${TL_BIN:=$TL_ROOT/build/bin}"
R=$TL_ROOT
FX=$R/tests/faults/fixtures
TINY=$R/tests/ref/tiny_bert
PATH=$TL_BIN:$PATH
OMP_NUM_THREADS=1
OMP_WAIT_POLICY=passive
export R FX TINY PATH OMP_NUM_THREADS OMP_WAIT_POLICY TL_ROOT TL_BIN
pat=${1:-.}
T=$(mktemp -d "${TMPDIR:-/tmp}/tl-faults.XXXXXX")
trap 'rm -rf "$T"' EXIT
S=$T/shared
export S
mkdir -p "$S"
if ! (cd "$S" && sh "$R/tests/faults/setup.sh") >"$T/setup.log" 2>&1; then
	echo "not ok setup: tests/faults/setup.sh failed"
	cat "$T/setup.log"
	exit 1
fi
tab=$(printf '\t')
n=0
bad=0
while IFS="$tab" read -r id what stdin want re cmd; do
	case $id in '' | '#'*) continue ;; esac
	printf '%s\n' "$id" | grep -Eq -- "$pat" || continue
	n=$((n + 1))
	W=$T/case-$n
	mkdir -p "$W"
	in=/dev/null
	[ "$stdin" = - ] || in=$S/$stdin
	(cd "$W" && exec timeout 120 sh -c "$cmd") <"$in" >"$T/out" 2>"$T/err"
	rc=$?
	why=
	if [ $rc -eq 124 ]; then
		why="timed out"
	elif [ "$rc" != "$want" ]; then
		why="exit $rc, expected $want"
	elif [ "$re" = - ]; then
		[ -s "$T/err" ] && why="standard error not empty"
	elif ! grep -Eq -- "$re" "$T/err"; then
		why="standard error does not match /$re/"
	fi
	if grep -Eq 'Sanitizer|runtime error:' "$T/err"; then
		why="${why:+$why; }sanitizer report"
	fi
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		echo "not ok $id: $why"
		sed 's/^/#   stderr: /' "$T/err" | head -n 6
	else
		echo "ok $id"
	fi
	rm -rf "$W"
done <"$R/tests/faults/cases.tsv"
echo "# $n cases, $bad failed"
[ $n -gt 0 ] && [ $bad -eq 0 ]
