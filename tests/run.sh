#!/bin/sh
# Run the unit tests and the bats tests against one build directory. The
# last line is the summary CI reads: "N passed, N failed, N skipped".
# passed: unit checks (CHECK...) and bats tests that ran and passed;
# failed: failing unit test programs and bats tests; skipped: TEST_SKIP
# parts of unit tests and bats tests reported as "ok N ... # skip".
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$ROOT" && cd "$BUILD" && pwd)
export TL_BIN="$BUILD/bin" TL_ROOT="$ROOT" TL_BUILD="$BUILD"
export PATH="$BUILD/bin:$PATH"
export TL_SHARED="${TL_SHARED:-$ROOT/../shared}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
pass=0 fail=0 skip=0 failed="" skipped=""
log=$(mktemp)
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if (cd "$ROOT" && "$t") >"$log" 2>&1; then
		# TEST_REPORT: "NAME: N passed, N failed, N skipped"
		p=$(sed -n 's/^.*: \([0-9]*\) passed, [0-9]* failed, [0-9]* skipped$/\1/p' "$log" | tail -1)
		s=$(sed -n 's/^.*: [0-9]* passed, [0-9]* failed, \([0-9]*\) skipped$/\1/p' "$log" | tail -1)
		if [ -z "$p" ]; then
			fail=$((fail + 1))
			failed="$failed $name(no-report)"
			echo "not ok unit $name (no \"N passed, N failed, N skipped\" line)"
			tail -30 "$log"
			continue
		fi
		pass=$((pass + p))
		skip=$((skip + s))
		if [ "$s" -gt 0 ]; then
			skipped="$skipped $name($s)"
			echo "ok unit $name ($p checks, $s skipped)"
			grep '^SKIP ' "$log"
		else
			echo "ok unit $name ($p checks)"
		fi
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "not ok unit $name"
		tail -30 "$log"
	fi
done
# The tests must leave the source tree as they found it (files a test
# writes belong in its $BATS_TEST_TMPDIR): compared with git when the tree
# is a git checkout.
tree_state() { git -C "$ROOT" status --porcelain --untracked-files=all 2>/dev/null; }
tree_before=$(tree_state)
if ls "$ROOT"/tests/bats/*.bats >/dev/null 2>&1; then
	(cd "$ROOT" && bats --tap tests/bats) >"$log" 2>&1
	cat "$log"
	s=$(grep -Ec '^ok [0-9]+ .*# skip( |$)' "$log")
	p=$(grep -c '^ok ' "$log")
	p=$((p - s))
	f=$(grep -c '^not ok ' "$log")
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
	[ "$f" -gt 0 ] && failed="$failed bats($f)"
	[ "$s" -gt 0 ] && skipped="$skipped bats($s)"
	grep -q '^1\.\.' "$log" || { fail=$((fail + 1)); failed="$failed bats(did-not-run)"; }
fi
tree_after=$(tree_state)
if [ "$tree_before" != "$tree_after" ]; then
	fail=$((fail + 1))
	failed="$failed source-tree"
	echo "not ok tree: the tests changed the source tree (git status before and after):"
	printf '%s\n' "$tree_after" | grep -vxF "$tree_before" | sed 's/^/#   /'
fi
rm -f "$log"
echo "tests ($(basename "$BUILD")): failed:${failed:- none}; skipped:${skipped:- none}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
