#!/bin/sh
# bench/train_ab.sh BIN_A BIN_B [STEPS] [THREADS] [REPS]: tl-train -m bert
# of two builds (their tools' folders) side by side on the same token ids
# (the first NSENT=20000 SST-2 training sentences, all-MiniLM-L6-v2, batch
# 32, the defaults), alternating A and B REPS times (default 5), STEPS
# steps each (60), THREADS threads (2). With the same seed both builds
# see the same batches in the same order, so each step is compared with
# itself: the table gives each build's tokens/s over steps 4..STEPS from
# the median time of every step over its runs (robust to a slow moment
# of the machine), its runs' own tokens/s, and B / A.
# First, B's products alone (bench/train_gemm.c, built against B's
# libtl.a): the forward and dX of MiniLM's four shapes, tl's micro-kernel
# against sgemm split by rows, at THREADS threads.
# Example: git worktree add /tmp/base HEAD~1 && make -C /tmp/base; then
#   sh bench/train_ab.sh /tmp/base/build/bin build/bin 60 2 5
# TRAIN_AB_ARGS: more tl-train options for both sides (e.g. --precision bf16).
# BENCH_QUICK=1 (bench/need.sh): 5 steps, 1 run, 500 sentences, products
# of 40 rows.
set -e
[ $# -ge 2 ] || { echo "usage: sh bench/train_ab.sh BIN_A BIN_B [STEPS] [THREADS] [REPS]" >&2; exit 2; }
. "$(dirname "$0")/need.sh"
A=$1 B=$2 STEPS=${3:-60} TH=${4:-2} REPS=${5:-5} GN=337 GREPS=30
if bench_quick; then STEPS=5 REPS=1 NSENT=500 GN=40 GREPS=2; fi
case $A in /*) ;; *) A=$PWD/$A ;; esac
case $B in /*) ;; *) B=$PWD/$B ;; esac
cd "$(dirname "$0")/.."
M=${MODEL:-models/all-MiniLM-L6-v2}
S=${TL_SHARED:-../shared}/data/sst2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
LIB=$(dirname "$B")/libtl.a
cc -O2 -fopenmp $(bench_lib_flags "$LIB") -Iinclude -I. -o "$W/train_gemm" bench/train_gemm.c "$LIB" \
	$(pkg-config --cflags --libs openblas msgpack jansson libutf8proc zlib) -lm
ASAN_OPTIONS=detect_leaks=0 "$W/train_gemm" "$GN" "$TH" "$GREPS"
head -n $((${NSENT:-20000} + 1)) "$S/train.tsv" | "$B/tl-clean" | "$B/tl-tokenize" -m "$M" >"$W/train.s"
echo "train_ab.sh: $STEPS steps, $TH threads, $REPS runs each${TRAIN_AB_ARGS:+, $TRAIN_AB_ARGS}; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$REPS"); do
	for side in A B; do
		if [ $side = A ]; then bin=$A; else bin=$B; fi
		rm -rf "$W/m"
		# shellcheck disable=SC2086 # TRAIN_AB_ARGS: words
		"$bin/tl-train" -m bert --pretrained "$M" -o "$W/m" -q --threads "$TH" --max-steps "$STEPS" \
			--log "$W/$side.$r.log" ${TRAIN_AB_ARGS:-} "$W/train.s"
	done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$W" "$REPS" <<'PY'
import json, statistics, sys
w, reps = sys.argv[1], int(sys.argv[2])
def steps(f):
    return [json.loads(l) for l in open(f) if '"event":"step"' in l]
rate = {}
for side in "AB":
    runs = [steps(f"{w}/{side}.{r}.log") for r in range(1, reps + 1)]
    n = min(len(r) for r in runs)
    tok = sum(runs[0][i]["tokens"] for i in range(3, n))
    dur = sum(statistics.median(r[i]["elapsed"] - r[i - 1]["elapsed"] for r in runs) for i in range(3, n))
    own = [sum(r[i]["tokens"] for i in range(3, n)) / (r[n - 1]["elapsed"] - r[2]["elapsed"]) for r in runs]
    rate[side] = tok / dur
    print(f"{side}: {tok / dur:,.0f} tokens/s (per-step medians); runs: " + ", ".join(f"{x:,.0f}" for x in own)
          + f"; last loss {runs[0][n - 1]['loss']}")
print(f"B / A: {rate['B'] / rate['A']:.3f}")
PY
