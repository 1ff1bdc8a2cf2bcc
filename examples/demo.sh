#!/bin/sh
# make demo: the whole loop on the default encoder (all-MiniLM-L6-v2, which
# `make models` installs) and a small labelled sample bundled here:
#   examples/reviews.tsv      196 short product and movie reviews (training)
#   examples/reviews-dev.tsv  60 more, held out (never trained on)
# clean -> tokenize -> fine-tune (tl-train -m bert) -> predict -> tl-eval.
# About a minute on 2 cores. Everything is written under $DEMO_OUT
# (default out/demo, git-ignored): train.s, dev.s, model/, dev.pred, eval.txt.
#
# usage: sh examples/demo.sh [BIN]
# Environment: DEMO_OUT (output folder), DEMO_MODEL (pretrained model folder;
# default models/all-MiniLM-L6-v2), DEMO_STEPS (stop after N optimizer steps:
# a seconds-long run for tests; default: 4 epochs, 52 steps),
# DEMO_THREADS (default 0 = all cores).
set -e
BIN=${1:-build/bin}
cd "$(dirname "$0")/.."
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
OUT=${DEMO_OUT:-out/demo}
MODEL=${DEMO_MODEL:-models/all-MiniLM-L6-v2}
STEPS=${DEMO_STEPS:-0}
THREADS=${DEMO_THREADS:-0}
if [ ! -s "$MODEL/model.safetensors" ]; then
	echo "demo: no pretrained model in $MODEL: run \`make models\` first (\`make demo\` does)" >&2
	exit 5
fi
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*" >&2; }

step "tl-clean examples/reviews.tsv | tl-tokenize -m $MODEL > $OUT/train.s  (and the same for reviews-dev.tsv)"
"$BIN/tl-clean" examples/reviews.tsv | "$BIN/tl-tokenize" -m "$MODEL" >"$OUT/train.s"
"$BIN/tl-clean" examples/reviews-dev.tsv | "$BIN/tl-tokenize" -m "$MODEL" >"$OUT/dev.s"
echo "the first training record, as JSON (tl-cat):" >&2
"$BIN/tl-cat" "$OUT/train.s" | head -n 1 >&2

step "tl-train -m bert --pretrained $MODEL -o $OUT/model $OUT/train.s"
"$BIN/tl-train" -m bert --pretrained "$MODEL" -o "$OUT/model" --force \
	--epochs 4 --lr 1e-4 --batch-size 16 --max-len 64 --seed 1 \
	--threads "$THREADS" --max-steps "$STEPS" "$OUT/train.s"

step "tl-predict -m $OUT/model $OUT/dev.s > $OUT/dev.pred; tl-eval $OUT/dev.pred"
"$BIN/tl-predict" -m "$OUT/model" "$OUT/dev.s" >"$OUT/dev.pred"
"$BIN/tl-eval" "$OUT/dev.pred" >"$OUT/eval.txt"
cat "$OUT/eval.txt"

acc=$(awk '$1 == "accuracy" { print $2; exit }' "$OUT/eval.txt")
n=$(awk '$1 == "records" { sub(",", "", $2); print $2; exit }' "$OUT/eval.txt")
echo
echo "demo: accuracy $acc on $n held-out reviews; model in $OUT/model"
