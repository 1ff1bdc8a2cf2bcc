#!/bin/sh
# run.sh NAME...: run each libFuzzer harness $FUZZ_BUILD/fuzz_NAME for
# $FUZZ_TIME seconds from tests/fuzz/corpus/NAME (committed seeds, read
# only) and $FUZZ_BUILD/corpus/NAME (what this machine found so far).
# One summary line per harness; exits 1 when any harness crashed (its
# input is left in $FUZZ_BUILD/crash-NAME-*, its log in
# $FUZZ_BUILD/fuzz-NAME.log). Called by `make fuzz` (mk/fuzz.mk).
# FUZZ_RUNS=N instead runs N inputs from a fixed seed (-seed=1): the same
# amount of work on any machine, and mostly the same inputs (libFuzzer's
# choices still follow coverage, which differs a little from run to run in
# a few harnesses), so a gate such as `make check` does not depend on the
# machine's speed.
B=${FUZZ_BUILD:-build-fuzz}
T=${FUZZ_TIME:-5}
L=${FUZZ_MAX_LEN:-8192}
# ASan's options are set in fuzz.h (allocations over 1 GiB return NULL);
# leaks are findings.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
OMP_NUM_THREADS=1
export UBSAN_OPTIONS OMP_NUM_THREADS
fail=0
for n in "$@"; do
	mkdir -p "$B/corpus/$n"
	log=$B/fuzz-$n.log
	if [ -n "${FUZZ_RUNS:-}" ]; then
		how="-runs=$FUZZ_RUNS -seed=1"
	else
		how="-max_total_time=$T"
	fi
	# shellcheck disable=SC2086
	"$B/fuzz_$n" $how -max_len="$L" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$B/crash-$n-" "$B/corpus/$n" "tests/fuzz/corpus/$n" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	new=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -n 1)
	crashes=0
	[ $rc -eq 0 ] || crashes=1
	printf 'fuzz %-12s %10s execs %7s/s %5s new units, %d crashes\n' "$n" "${execs:-?}" "${rate:-?}" "${new:-?}" $crashes
	if [ $rc -ne 0 ]; then
		grep -E 'ERROR|SUMMARY|invariant|out of memory|Test unit written' "$log" | head -n 8
		fail=1
	fi
done
exit $fail
