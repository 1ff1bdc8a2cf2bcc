#!/bin/sh
# bench/ner_speed.sh - training speed of NER fine-tuning (issue 22):
# tl-train -m bert --task token against Hugging Face's Trainer
# (bench/ner_trainer.py), in CPU seconds per optimizer step, so that a
# busy machine (where wall time measures the share of the cores a process
# got) still gives a fair figure. Both sides train all-MiniLM-L6-v2 + a
# fresh token head on the same first 32 x STEPS CoNLL-2003 training
# sentences (one epoch of STEPS steps of batch 32, dynamic padding each
# side), with the same thread count, REPS times, alternating tl and the
# Trainer; the medians are printed with the ratio.
#
# tl: the CPU time (user + system, all threads) of a STEPS-step run minus
# that of a 1-step run on the same data (the same model load and save), over
# STEPS - 1. The Trainer: time.process_time() between the ends of step 1 and
# step STEPS, over STEPS - 1 (model loading, tokenization and evaluation are
# outside it on both sides). Wall seconds per step are printed too.
#
# usage: sh bench/ner_speed.sh [BIN] [STEPS] [THREADS] [REPS]
# (defaults 100 steps, 1 thread, 3 repetitions). BENCH_QUICK=1
# (bench/need.sh): 3 steps, one repetition.
set -e
. "$(dirname "$0")/need.sh"
BIN=${1:-build/bin}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
cd "$(dirname "$0")/.."
STEPS=${2:-100}
TH=${3:-1}
REPS=${4:-3}
if bench_quick; then STEPS=3 REPS=1; fi
[ "$STEPS" -ge 2 ] || { echo "ner_speed.sh: STEPS must be at least 2" >&2; exit 2; }
M=${MODEL:-models/all-MiniLM-L6-v2}
DATA=${TL_SHARED:-../shared}/data/conll2003
[ -f "$DATA/train.txt" ] || { echo "ner_speed.sh: no $DATA/train.txt" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || [ -x /usr/bin/time ] || { echo "ner_speed.sh: needs /usr/bin/time (Debian: time)" >&2; exit 1; }
bench_need ner_speed.sh py:torch py:transformers py:accelerate
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
N=$((32 * STEPS))
"$BIN/tl-clean" -f conll "$DATA/train.txt" | "$BIN/tl-tokenize" -m "$M" | "$BIN/tl-cat" | head -n "$N" |
	"$BIN/tl-cat" -t msgpack >"$W/train.s"
echo "ner_speed.sh: $N training sentences, $STEPS steps of 32, $TH threads, $REPS repetitions;" \
	"$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# tl_cpu STEPS: user+system CPU seconds and wall seconds of one tl-train run
tl_cpu() {
	rm -rf "$W/m"
	/usr/bin/time -f '%U %S %e' -o "$W/time" "$BIN/tl-train" -m bert --task token --pretrained "$M" -o "$W/m" -q \
		--threads "$TH" --epochs 1 --max-steps "$1" "$W/train.s" || { echo "ner_speed.sh: tl-train failed" >&2; return 1; }
	awk '{ printf "%.3f %.3f\n", $1 + $2, $3 }' "$W/time"
}

: >"$W/tl.txt"
: >"$W/pt.txt"
r=1
while [ "$r" -le "$REPS" ]; do
	tl_cpu "$STEPS" >"$W/cs" || exit 1
	tl_cpu 1 >"$W/c1" || exit 1
	read -r cs ws <"$W/cs"
	read -r c1 w1 <"$W/c1"
	awk -v cs="$cs" -v c1="$c1" -v ws="$ws" -v w1="$w1" -v s="$STEPS" -v r="$r" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
		'BEGIN { printf "tl rep %d: cpu_s_per_step %.4f wall_s_per_step %.4f (load %s)\n", r, (cs - c1) / (s - 1), (ws - w1) / (s - 1), l }' |
		tee -a "$W/tl.txt"
	if [ "$BENCH_PEER" = 1 ]; then
		python3 bench/ner_trainer.py "$M" "$DATA" --epochs 1 --threads "$TH" --max-steps "$STEPS" --train-n "$N" \
			--no-eval --out "$W/hf" 2>"$W/hf.err" | tail -n 1 >"$W/pt.json" || { tail -5 "$W/hf.err" >&2; exit 1; }
		jq -r --arg r "$r" --arg l "$(cut -d' ' -f1 /proc/loadavg)" \
			'"transformers Trainer rep \($r): cpu_s_per_step \(.cpu_seconds_per_step) wall_s_per_step \(.seconds_per_step) (load \($l))"' \
			"$W/pt.json" | tee -a "$W/pt.txt"
	fi
	r=$((r + 1))
done
med() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p" "$2" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
tc=$(med cpu_s_per_step "$W/tl.txt")
tw=$(med wall_s_per_step "$W/tl.txt")
echo "median tl: $tc CPU s/step, $tw wall s/step"
if [ "$BENCH_PEER" = 1 ]; then
	pc=$(med cpu_s_per_step "$W/pt.txt")
	pw=$(med wall_s_per_step "$W/pt.txt")
	echo "median transformers Trainer: $pc CPU s/step, $pw wall s/step"
	awk -v a="$tc" -v b="$pc" -v c="$tw" -v d="$pw" \
		'BEGIN { printf "tl speed-up: %.2fx in CPU time, %.2fx in wall time\n", b / a, d / c }'
fi
