#!/bin/sh
# bench/lstm.sh - training speed of tl's LSTM kernels (lstm_forward +
# lstm_backward, kernels/cpu/lstm.c) against PyTorch nn.LSTM, same shapes,
# same run.
#
#   sh bench/lstm.sh [BUILD] [REPS]      (default build, 3 repetitions)
#
# Shapes B T I H: 32 70 400 400 (an AWD-LSTM layer's input and hidden
# size at ULMFiT's BPTT 70, I=H), 32 70 400 1150 (AWD-LSTM's first layer),
# 32 256 128 128 (the seed article's Keras LSTM(128) on 256 tokens); threads
# 1 and 2. One step = forward + backward of one layer with every gradient
# (dx too: a language model's first layer feeds the embedding), h0/c0
# given, all sequences full. Each repetition runs tl (bench/lstm_bench.c,
# built here against BUILD/libtl.a) and torch (bench/lstm_peer.py)
# alternately, each timing ITERS (default 3) steps after a warm-up and reporting the
# median step. Prints every run, then per shape and threads the median over
# repetitions of tokens/s (B*T per step / wall time) and of CPU ms per step
# (process CPU time, all threads), and tl/torch ratios of both, and whether
# tl's outputs had the same bits at every thread count. The machine
# load (/proc/loadavg) is printed before and after: on a shared machine the
# wall figures move with it, the 1-thread CPU figures much less.
# PRECS (default "fp32 bf16"): bf16 runs tl with the products with the
# inputs in bf16 (lstm_forward's pw_ih: what tl-train -m lstm-lm
# --precision bf16 does; the recurrence stays fp32) against torch's
# forward under torch.autocast("cpu", bfloat16); the summary gives tl
# bf16 against the faster of torch's two.
# BENCH_QUICK=1 (bench/need.sh): one small shape, 1 thread, 1 repetition,
# 2 steps.
set -e
. "$(dirname "$0")/need.sh"
bench_need lstm.sh py:torch
BUILD=${1:-build}
REPS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHAPES="32,70,400,400 32,70,400,1150 32,256,128,128"
THREADS="1 2"
ITERS=${ITERS:-3}
PRECS=${PRECS:-fp32 bf16}
if bench_quick; then
	SHAPES="8,20,64,64" THREADS=1 REPS=1 ITERS=2
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cc -O2 -fopenmp $(bench_lib_flags "$BUILD/libtl.a") -Iinclude -I. -o "$W/lstm_bench" bench/lstm_bench.c \
	"$BUILD/libtl.a" $(pkg-config --cflags --libs openblas msgpack jansson libutf8proc zlib) -lm
echo "load before: $(cat /proc/loadavg) ($(nproc) cores)"
RES=$W/res
: >"$RES"
for rep in $(seq "$REPS"); do
	for sh in $SHAPES; do
		set -- $(echo "$sh" | tr , ' ')
		for th in $THREADS; do
			for prec in $PRECS; do
				ASAN_OPTIONS=detect_leaks=0 "$W/lstm_bench" "$1" "$2" "$3" "$4" "$th" "$ITERS" "$prec" | tee -a "$RES"
				[ "$BENCH_PEER" = 1 ] || continue
				OMP_NUM_THREADS=$th python3 bench/lstm_peer.py "$1" "$2" "$3" "$4" "$th" "$ITERS" "$prec" | tee -a "$RES"
			done
		done
	done
done
echo "load after: $(cat /proc/loadavg)"
# summary: medians over repetitions
awk '{
	key = $3 " " $5 " " $7 " " $9 " " $11; sub(":", "", key)
	tok[$1, key] = tok[$1, key] " " $15; cpu[$1, key] = cpu[$1, key] " " $17; keys[key] = 1
}
function med(s,   a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n ? a[int((n + 1) / 2)] : 0
}
END {
	for (k in keys) {
		split(k, f, " ")
		line = sprintf("summary B %s T %s I %s H %s threads %s:", f[1], f[2], f[3], f[4], f[5])
		if (("tl", k) in tok) {
			tt = med(tok["tl", k]); tc = med(cpu["tl", k])
			line = line sprintf(" tl %.0f tokens/s %.1f cpu_ms", tt, tc)
			if (("torch", k) in tok) {
				pt = med(tok["torch", k]); pc = med(cpu["torch", k])
				line = line sprintf(", torch %.0f tokens/s %.1f cpu_ms; tl/torch tokens/s %.2fx, torch/tl cpu %.2fx", pt, pc, tt / pt, pc / tc)
			}
			line = line ";"
		}
		if (("tl-bf16", k) in tok) {
			bt = med(tok["tl-bf16", k]); bc = med(cpu["tl-bf16", k])
			line = line sprintf(" tl-bf16 %.0f tokens/s %.1f cpu_ms", bt, bc)
			if (("torch-bf16", k) in tok) {
				qt = med(tok["torch-bf16", k]); best = qt
				if (("torch", k) in tok && med(tok["torch", k]) > best) best = med(tok["torch", k])
				line = line sprintf(", torch-bf16 %.0f tokens/s; tl-bf16/torch-bf16 %.2fx, tl-bf16/best torch %.2fx", qt, bt / qt, bt / best)
			}
		}
		print line
	}
}' "$RES" | sort -t' ' -k3,3n -k5,5n -k7,7n -k9,9n -k11,11n
# tl's results (bench/lstm_bench.c's hash of every output and gradient)
# across thread counts and repetitions: one value per shape when the bits
# do not depend on the threads
awk '($1 == "tl" || $1 == "tl-bf16") && $18 == "bits" {
	key = $1 " B " $3 " T " $5 " I " $7 " H " $9; if (!((key, $19) in seen)) { seen[key, $19] = 1; n[key]++ }
}
END { for (k in n) printf "bits %s: %d distinct over threads %s\n", k, n[k], (n[k] == 1 ? "(the same bits)" : "(DIFFER)") }' "$RES"
