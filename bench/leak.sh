#!/bin/sh
# bench/leak.sh - the cost of tl-train's leak check (--dev against the
# training records, train-keys.bin in the model) on SST-2: tl-train -m
# linear and -m fasttext on train.tsv (67k sentences, cleaned once) with
# --dev dev.tsv, with the check and without it (TL_NO_LEAK_CHECK=1, the
# measurement aid of man/tl-train.1), runs alternating, median of RUNS.
#
#   sh bench/leak.sh [BUILD] [RUNS]      (default build, 3 runs)
#
# Prints one line per run (wall and CPU seconds, user + sys, from
# /usr/bin/time), then per kind the medians and their ratios; the CPU
# figure is the steadier one on a shared machine. A figure independent of
# the load: instructions under valgrind --tool=callgrind, on a build that
# valgrind can run (make BUILD=build-vg ARCH=x86-64-v2: no AVX-512).
# BENCH_QUICK=1 (bench/need.sh): the first 2,000 training sentences, 1 run,
# in a fresh temporary folder.
set -e
. "$(dirname "$0")/need.sh"
BUILD=${1:-build}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/$BUILD/bin
DATA=${TL_SHARED:-$ROOT/../shared}/data/sst2
W=${TMPDIR:-/tmp}/tl-bench-leak
if bench_quick; then
	W=$(mktemp -d) RUNS=1
	trap 'rm -rf "$W"' EXIT
	head -n 2001 "$DATA/train.tsv" | "$BIN/tl-clean" >"$W/train.s"
fi
mkdir -p "$W"
[ -f "$W/train.s" ] || "$BIN/tl-clean" "$DATA/train.tsv" >"$W/train.s"
[ -f "$W/dev.s" ] || "$BIN/tl-clean" "$DATA/dev.tsv" >"$W/dev.s"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for m in linear fasttext; do
	for f in on off; do : >"$W/$f.$m.wall"; : >"$W/$f.$m.cpu"; done
	for r in $(seq 1 "$RUNS"); do
		for mode in on off; do
			if [ $mode = on ]; then
				/usr/bin/time -f '%e %U %S' -o "$W/t" "$BIN/tl-train" -q -m $m --force -o "$W/m" --threads 1 \
					--dev "$W/dev.s" "$W/train.s"
			else
				TL_NO_LEAK_CHECK=1 /usr/bin/time -f '%e %U %S' -o "$W/t" "$BIN/tl-train" -q -m $m --force \
					-o "$W/m" --threads 1 --dev "$W/dev.s" "$W/train.s"
			fi
			read -r wall user sys <"$W/t"
			cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
			echo "$wall" >>"$W/$mode.$m.wall"
			echo "$cpu" >>"$W/$mode.$m.cpu"
			echo "tl-train -m $m check $mode run $r: wall $wall s, cpu $cpu s"
		done
	done
	for k in wall cpu; do
		on=$(median <"$W/on.$m.$k")
		off=$(median <"$W/off.$m.$k")
		echo "tl-train -m $m $k: median with the check $on s, without $off s, ratio" \
			"$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }')"
	done
done
