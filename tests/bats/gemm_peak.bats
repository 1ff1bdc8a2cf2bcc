#!/usr/bin/env bats
# bench/gemm_peak.c: the per-ISA peak microbenchmark of bench/lowprec.sh.
# Every path the CPU has (by /proc/cpuinfo, the kernel's view) prints a
# positive figure; every path it lacks prints "absent" and a reason.
load helpers

setup_file() {
	export GP="$BATS_FILE_TMPDIR/gemm_peak"
	cc -O2 -fopenmp -o "$GP" "$TL_ROOT/bench/gemm_peak.c"
}

# has FLAG...: every flag in /proc/cpuinfo
has() {
	local f
	for f; do grep -qw "$f" /proc/cpuinfo || return 1; done
}

# check NAME THREADS FLAG...: the line of NAME at THREADS threads is a figure
# > 0 with its unit when the CPU has every FLAG, "absent" otherwise
check() {
	local name=$1 th=$2 line
	shift 2
	line=$(printf '%s\n' "$output" | awk -F '\t' -v n="$name" -v t="$th" '$1 == n && $2 == t')
	[ -n "$line" ] || { echo "no line for $name at $th threads"; return 1; }
	if has "$@"; then
		printf '%s\n' "$line" | awk -F '\t' '$3 + 0 > 0 && ($4 == "GFLOP/s" || $4 == "GOP/s") && $5 ~ /^wall [0-9.]+$/ { ok = 1 } END { exit !ok }' ||
			{ echo "expected a figure: $line"; return 1; }
	else
		[[ "$line" == "$name	$th	absent	"?* ]] || { echo "expected absent: $line"; return 1; }
	fi
}

@test "gemm_peak: one line per path, figures exactly where cpuinfo has the ISA" {
	run "$GP" 2 0.01
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -vc '^#')" -eq 12 ]
	for th in 1 2; do
		check fp32_ymm $th avx2 fma
		check fp32_zmm $th avx512f
		check bf16_dp $th avx512f avx512_bf16
		check int8_vnni $th avx512f avx512_vnni
		check amx_bf16 $th amx_tile amx_bf16
		check amx_int8 $th amx_tile amx_int8
	done
}

@test "gemm_peak: one thread only when THREADS is 1" {
	run "$GP" 1 0.01
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -vc '^#')" -eq 6 ]
	! printf '%s\n' "$output" | awk -F '\t' '$2 != 1 && !/^#/ { bad = 1 } END { exit !bad }'
}

@test "gemm_peak: bad arguments are usage errors (exit 2)" {
	for a in 0 2x -1 "1 0" "1 0.5s" "1 11" "1 0.1 3"; do
		run "$GP" $a
		[ "$status" -eq 2 ] || { echo "args '$a': status $status"; return 1; }
		[[ "$output" == usage:\ gemm_peak* ]]
	done
}
