#!/bin/bash
# campaign.sh NAME...: a long fuzz campaign. Runs each harness
# $FUZZ_BUILD/fuzz_NAME until it has executed $FUZZ_CAMPAIGN_RUNS inputs
# (default 10000000) or for $FUZZ_CAMPAIGN_TIME seconds (default 900),
# whichever comes first, $FUZZ_JOBS harnesses at a time (default 2), at
# the lowest CPU priority, from the committed seeds
# tests/fuzz/corpus/NAME and the machine's corpus $FUZZ_BUILD/corpus/NAME
# (which it grows). Writes one row per harness to
# $FUZZ_BUILD/campaign.tsv (name, executions, wall seconds, CPU seconds
# (user + system of the fuzzer process: on a shared machine the fuzzing a
# harness really got), executions per CPU second, libFuzzer's exec/s (per
# wall second), corpus files before and after, crashes) and prints it as
# a Markdown table for docs/FAULTS.md. A crash leaves its input in $FUZZ_BUILD/crash-NAME-*
# and the log in $FUZZ_BUILD/campaign-NAME.log; the script then exits 1.
# Called by `make fuzz-campaign` (mk/fuzz.mk).
B=${FUZZ_BUILD:-build-fuzz}
RUNS=${FUZZ_CAMPAIGN_RUNS:-10000000}
T=${FUZZ_CAMPAIGN_TIME:-900}
J=${FUZZ_JOBS:-2}
L=${FUZZ_MAX_LEN:-8192}
# libFuzzer's -timeout is wall time: at nice 19 on a machine shared by a
# load of 20-30 a harness gets a few percent of a core, and an input of
# 0.5 s took 15 s (a timeout nothing else was wrong with); FUZZ_TIMEOUT
# seconds (default 60) per input
TO=${FUZZ_TIMEOUT:-60}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
OMP_NUM_THREADS=1
export UBSAN_OPTIONS OMP_NUM_THREADS
[ $# -gt 0 ] || { echo "usage: campaign.sh NAME..." >&2; exit 2; }

one() {
	n=$1
	mkdir -p "$B/corpus/$n"
	before=$(find "$B/corpus/$n" "tests/fuzz/corpus/$n" -type f | wc -l)
	# bash's time keyword: wall, user and system seconds of the fuzzer
	TIMEFORMAT='%R %U %S'
	{ time nice -n 19 "$B/fuzz_$n" -runs="$RUNS" -max_total_time="$T" -max_len="$L" -timeout="$TO" -rss_limit_mb=2048 \
		-malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$B/crash-$n-" \
		"$B/corpus/$n" "tests/fuzz/corpus/$n" >"$B/campaign-$n.log" 2>&1; } 2>"$B/campaign-$n.time"
	rc=$?
	wall=$(awk '{ printf "%.0f", $1 }' "$B/campaign-$n.time")
	cpu=$(awk '{ printf "%.0f", $2 + $3 }' "$B/campaign-$n.time")
	after=$(find "$B/corpus/$n" "tests/fuzz/corpus/$n" -type f | wc -l)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/campaign-$n.log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$B/campaign-$n.log" | tail -n 1)
	crashes=0
	[ $rc -eq 0 ] || crashes=1
	cpurate=$(awk -v e="${execs:-0}" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? e / c : 0) }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "${execs:-?}" "$wall" "$cpu" "$cpurate" "${rate:-?}" \
		"$before" "$after" $crashes >"$B/campaign-$n.row"
}

running=0
for n in "$@"; do
	one "$n" &
	running=$((running + 1))
	if [ $running -ge "$J" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

fail=0
: >"$B/campaign.tsv"
echo "| Harness | Executions | Wall s | CPU s | Exec/CPU s | Exec/s (wall) | Corpus before | Corpus after | Crashes |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in "$@"; do
	cat "$B/campaign-$n.row" >>"$B/campaign.tsv"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' \
		"$B/campaign-$n.row"
	[ "$(cut -f9 "$B/campaign-$n.row")" = 0 ] || fail=1
done
exit $fail
