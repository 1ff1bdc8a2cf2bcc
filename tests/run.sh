#!/bin/sh
# Run the unit tests and the bats tests against one build directory and
# print one closing line "tests (BUILD): N passed, N failed".
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$ROOT" && cd "$BUILD" && pwd)
export TL_BIN="$BUILD/bin" TL_ROOT="$ROOT" TL_BUILD="$BUILD"
export PATH="$BUILD/bin:$PATH"
export TL_SHARED="${TL_SHARED:-$ROOT/../shared}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
pass=0 fail=0 failed=""
log=$(mktemp)
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	if (cd "$ROOT" && "$t") >"$log" 2>&1; then
		p=$(sed -n 's/^.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$log" | tail -1)
		pass=$((pass + ${p:-1}))
		echo "ok unit $(basename "$t") (${p:-1} checks)"
	else
		fail=$((fail + 1))
		failed="$failed $(basename "$t")"
		echo "not ok unit $(basename "$t")"
		tail -30 "$log"
	fi
done
if ls "$ROOT"/tests/bats/*.bats >/dev/null 2>&1; then
	(cd "$ROOT" && bats --tap tests/bats) >"$log" 2>&1
	cat "$log"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	pass=$((pass + p))
	fail=$((fail + f))
	[ "$f" -gt 0 ] && failed="$failed bats($f)"
	grep -q '^1\.\.' "$log" || { fail=$((fail + 1)); failed="$failed bats(did-not-run)"; }
fi
rm -f "$log"
echo "tests ($(basename "$BUILD")):$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
