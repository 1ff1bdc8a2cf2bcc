#!/bin/sh
# bench/distill.sh - knowledge distillation on SST-2 (issue 17): a teacher
# (all-MiniLM-L6-v2 fine-tuned by tl-train -m bert, 6 layers), a 3-layer
# student distilled from its logits (--student-layers 3 --distill: layers
# 0, 2, 4 of the teacher, its head, T and alpha below), and the same
# 3-layer student trained on the labels only, with the same data, steps
# and seed. Prints one JSON line per model: dev accuracy (tl-predict |
# tl-eval on the 872 dev sentences), tl-predict throughput on dev
# (sentences/s, --threads THREADS, median of 3), model.safetensors size,
# training seconds, and the load average before each step.
#
# usage: sh bench/distill.sh [BIN] [N|all] [THREADS] [STUDENT_EPOCHS]
#   N: the first N SST-2 training sentences (default 8000) for the teacher
#   (one epoch) and both students (STUDENT_EPOCHS, default 2).
#   TEACHER=DIR reuses a fine-tuned teacher; T=2 ALPHA=0.5; LR (student
#   learning rate, default 1e-4); KEEP=DIR keeps the work directory.
# BENCH_QUICK=1 (bench/need.sh): N=200, one epoch each, the first 64 dev
# sentences, one timing run.
set -e
. "$(dirname "$0")/need.sh"
BIN=${1:-build/bin}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
cd "$(dirname "$0")/.."
N=${2:-8000}
TH=${3:-1}
SE=${4:-2}
T=${T:-2}
ALPHA=${ALPHA:-0.5}
LR=${LR:-1e-4}
NDEV=0 REPS=3
bench_quick && N=200 && SE=1 && NDEV=64 && REPS=1 # seconds, also under the sanitizers
M=${MODEL:-models/all-MiniLM-L6-v2}
S=${TL_SHARED:-../shared}/data/sst2
if [ -n "$KEEP" ]; then W=$KEEP; mkdir -p "$W"; else W=$(mktemp -d); trap 'rm -rf "$W"' EXIT; fi
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
load() { cut -d' ' -f1 /proc/loadavg; }
if [ "$N" = all ]; then cat "$S/train.tsv"; else head -n $((N + 1)) "$S/train.tsv"; fi |
	"$BIN/tl-clean" | "$BIN/tl-tokenize" -m "$M" >"$W/train.s"
if [ "$NDEV" -gt 0 ]; then head -n $((NDEV + 1)) "$S/dev.tsv"; else cat "$S/dev.tsv"; fi |
	"$BIN/tl-clean" | "$BIN/tl-tokenize" -m "$M" >"$W/dev.s"
if [ -n "$TEACHER" ]; then
	cp -r "$TEACHER" "$W/teacher"
else
	echo "teacher: load $(load)" >&2
	"$BIN/tl-train" -m bert --pretrained "$M" -o "$W/teacher" -q --threads "$TH" --epochs 1 --seed 42 "$W/train.s"
fi
"$BIN/tl-predict" -m "$W/teacher" --logits --threads "$TH" "$W/train.s" >"$W/soft.s"
echo "student, distilled: load $(load)" >&2
"$BIN/tl-train" -m bert --pretrained "$W/teacher" --student-layers 3 --distill --temperature "$T" --alpha "$ALPHA" \
	-o "$W/distilled" -q --threads "$TH" --epochs "$SE" --lr "$LR" --seed 42 "$W/soft.s"
echo "student, labels only: load $(load)" >&2
"$BIN/tl-train" -m bert --pretrained "$W/teacher" --student-layers 3 \
	-o "$W/labels" -q --threads "$TH" --epochs "$SE" --lr "$LR" --seed 42 "$W/train.s"
n=$("$BIN/tl-cat" "$W/dev.s" | wc -l)
for m in teacher distilled labels; do
	l=$(load)
	"$BIN/tl-predict" -m "$W/$m" --threads "$TH" "$W/dev.s" >"$W/$m.pred"
	acc=$("$BIN/tl-eval" -j "$W/$m.pred" | jq .accuracy)
	best=
	for r in $(seq "$REPS"); do
		t0=$(date +%s.%N)
		"$BIN/tl-predict" -m "$W/$m" --threads "$TH" "$W/dev.s" >/dev/null
		t1=$(date +%s.%N)
		best="$best $(echo "$t1 - $t0" | bc -l)"
	done
	secs=$(echo $best | tr ' ' '\n' | sort -g | sed -n "$(((REPS + 1) / 2))p") # the median
	jq -n -c --arg m "$m" --argjson acc "$acc" --argjson secs "$secs" --argjson n "$n" \
		--argjson size "$(stat -c %s "$W/$m/model.safetensors")" --argjson load "$l" \
		--argjson layers "$(jq .num_hidden_layers "$W/$m/config.json")" \
		--argjson train_s "$(jq '.metrics.train_seconds // null' "$W/$m/tl.json")" \
		'{model: $m, layers: $layers, dev_accuracy: $acc, predict_sentences_per_s: ($n / $secs | round),
		  predict_seconds_median: $secs, model_mb: ($size / 1e6 * 10 | round / 10), train_seconds: $train_s,
		  load: ($load | tonumber)}' | tee "$W/$m.json"
done
jq -s -r '"distilled - teacher: \((.[1].dev_accuracy - .[0].dev_accuracy) * 10000 | round / 100) points, labels-only - teacher: \((.[2].dev_accuracy - .[0].dev_accuracy) * 10000 | round / 100) points; student speed-up \(.[1].predict_sentences_per_s / .[0].predict_sentences_per_s * 100 | round / 100)x"' \
	"$W/teacher.json" "$W/distilled.json" "$W/labels.json"
