#!/bin/sh
# bench/ner.sh - NER fine-tuning (issue 22): tl-train -m bert --task token
# against Hugging Face's Trainer (bench/ner_trainer.py) on CoNLL-2003, run
# back to back on the same machine: same checkpoint (all-MiniLM-L6-v2 + a
# fresh token head), same sentences, same hyperparameters (tl-train's
# defaults: lr 5e-5, batch 32, 6% warmup, linear decay, weight decay 0.01,
# clipping 1.0, max length 128), same epochs and so the same optimizer
# steps, same thread count. Reported side by side: dev entity micro-F1 (tl:
# the dev evaluation of tl-train, once, after the last step; the peer:
# seqeval, or the script's own seqeval-equivalent chunking) and training
# seconds (tl: the "elapsed" of the last step in --log, so the final dev
# pass is not counted; the peer: trainer.train()), with the speed ratio.
# When tl-eval is built with its NER mode, `tl-predict | tl-eval` of the
# tl model is printed too.
#
# usage: sh bench/ner.sh [BIN] [EPOCHS] [THREADS] [TRAIN_N]
# (from anywhere; BIN is the tools' folder; TRAIN_N 0 = all 14,041
# training sentences). The full run (3 epochs, 1317 steps each side) takes
# hours on 2 cores: run it with nice on a quiet machine.
# BENCH_QUICK=1 (bench/need.sh): 200 training and 100 dev sentences, 5 steps.
# Needs the data under ${TL_SHARED:-../shared}/data/conll2003 and, for the
# peer, python3 torch, transformers, accelerate (seqeval optional).
set -e
. "$(dirname "$0")/need.sh"
BIN=${1:-build/bin}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
cd "$(dirname "$0")/.."
EPOCHS=${2:-3}
TH=${3:-2}
TRAIN_N=${4:-0}
DEV_N=0
MAXS=0
if bench_quick; then
	TRAIN_N=200 DEV_N=100 MAXS=5
fi
M=${MODEL:-models/all-MiniLM-L6-v2}
DATA=${TL_SHARED:-../shared}/data/conll2003
[ -f "$DATA/train.txt" ] || { echo "ner.sh: no $DATA/train.txt" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
if bench_quick; then
	bench_need ner.sh py:torch py:transformers py:accelerate
	PT=$BENCH_PEER
else
	bench_need ner.sh py:torch py:transformers py:accelerate
	PT=1
fi

# the first N records of a stream (0: all)
first() { if [ "$1" -gt 0 ]; then "$BIN/tl-cat" | head -n "$1" | "$BIN/tl-cat" -t msgpack; else cat; fi; }
"$BIN/tl-clean" -f conll "$DATA/train.txt" | "$BIN/tl-tokenize" -m "$M" | first "$TRAIN_N" >"$W/train.s"
"$BIN/tl-clean" -f conll "$DATA/dev.txt" | "$BIN/tl-tokenize" -m "$M" | first "$DEV_N" >"$W/dev.s"
n=$("$BIN/tl-cat" "$W/train.s" | wc -l)
steps=$(( (n + 31) / 32 * EPOCHS ))
[ "$MAXS" -gt 0 ] && [ "$MAXS" -lt "$steps" ] && steps=$MAXS
echo "ner.sh: $n training sentences, $EPOCHS epochs, $steps optimizer steps each side, $TH threads;" \
	"$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# tl: one dev evaluation, after the last step (--max-steps ends the run there)
"$BIN/tl-train" -m bert --task token --pretrained "$M" -o "$W/m" -q --threads "$TH" --epochs "$EPOCHS" \
	--max-steps "$steps" --eval-every 1000000000 --dev "$W/dev.s" --log "$W/tl.log" "$W/train.s"
jq -s -c --slurpfile tj "$W/m/tl.json" '[.[] | select(.event == "step")] as $s |
	{peer: "tl", steps: ($s | length), train_seconds: ($s[-1].elapsed * 10 | round / 10),
	 dev_entity_f1: $tj[0].dev.entity_f1, dev_word_accuracy: $tj[0].dev.word_accuracy}' "$W/tl.log" | tee "$W/tl.json"
if "$BIN/tl-predict" -m "$W/m" "$W/dev.s" >"$W/dev.pred" 2>"$W/pred.err" && "$BIN/tl-eval" "$W/dev.pred" >"$W/eval.txt" 2>&1; then
	echo "tl-predict | tl-eval:"
	cat "$W/eval.txt"
else
	echo "ner.sh: tl-predict | tl-eval did not run: $(cat "$W/pred.err" "$W/eval.txt" 2>/dev/null | head -2)" >&2
fi
[ "$PT" = 1 ] || exit 0
args="--epochs $EPOCHS --threads $TH --max-steps $steps"
[ "$TRAIN_N" -gt 0 ] && args="$args --train-n $TRAIN_N"
[ "$DEV_N" -gt 0 ] && args="$args --dev-n $DEV_N"
# shellcheck disable=SC2086
python3 bench/ner_trainer.py "$M" "$DATA" $args --out "$W/hf" 2>"$W/hf.err" | tail -1 | tee "$W/pt.json" ||
	{ tail -5 "$W/hf.err" >&2; exit 1; }
jq -r -n --slurpfile tl "$W/tl.json" --slurpfile pt "$W/pt.json" '$tl[0] as $a | $pt[0] as $b |
	"dev entity F1: tl \($a.dev_entity_f1 * 10000 | round / 100), transformers Trainer \($b.dev_entity_f1 * 10000 | round / 100)" +
	" (difference \(($a.dev_entity_f1 - $b.dev_entity_f1) * 10000 | round / 100) points, F1 by \($b.f1_by));" +
	" training seconds: tl \($a.train_seconds), Trainer \($b.train_seconds), tl \($b.train_seconds / $a.train_seconds * 100 | round / 100)x faster"'
