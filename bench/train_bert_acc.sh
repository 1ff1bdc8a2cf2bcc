#!/bin/sh
# bench/train_bert_acc.sh - the dev accuracy of a short SST-2 fine-tuning of
# all-MiniLM-L6-v2 at each training precision (tl-train -m bert --precision
# fp32|bf16): the first N training sentences (2000), one epoch, seed 42,
# every other option the default; evaluated on SST-2 dev (872 sentences).
# Prints one JSON line per precision (dev accuracy, macro-F1, loss, training
# seconds, load) and the bf16 - fp32 accuracy difference in points. The
# full-epoch comparison (67,349 sentences) is the same command with N=all.
#
# usage: sh bench/train_bert_acc.sh [BIN] [N|all] [THREADS]
# BENCH_QUICK=1 (bench/need.sh): N=200.
set -e
. "$(dirname "$0")/need.sh"
BIN=${1:-build/bin}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
cd "$(dirname "$0")/.."
N=${2:-2000}
TH=${3:-1}
bench_quick && N=200
M=${MODEL:-models/all-MiniLM-L6-v2}
S=${TL_SHARED:-../shared}/data/sst2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
if [ "$N" = all ]; then cat "$S/train.tsv"; else head -n $((N + 1)) "$S/train.tsv"; fi |
	"$BIN/tl-clean" | "$BIN/tl-tokenize" -m "$M" >"$W/train.s"
"$BIN/tl-clean" "$S/dev.tsv" | "$BIN/tl-tokenize" -m "$M" >"$W/dev.s"
for prec in fp32 bf16; do
	load=$(cut -d' ' -f1 /proc/loadavg)
	"$BIN/tl-train" -m bert --pretrained "$M" -o "$W/$prec" -q --threads "$TH" --epochs 1 --seed 42 \
		--precision "$prec" --dev "$W/dev.s" "$W/train.s"
	jq -c --arg n "$N" --arg load "$load" '{precision, train_sentences: $n, steps, dev_accuracy: .dev.accuracy,
		dev_macro_f1: .dev.macro_f1, dev_loss: .dev.loss, train_seconds: .metrics.train_seconds, load: ($load | tonumber)}' \
		"$W/$prec/tl.json" | tee "$W/$prec.json"
done
jq -s -r '"bf16 - fp32 dev accuracy: \((.[1].dev_accuracy - .[0].dev_accuracy) * 10000 | round / 100) points (fp32 \(.[0].dev_accuracy * 10000 | round / 100)%, bf16 \(.[1].dev_accuracy * 10000 | round / 100)%)"' \
	"$W/fp32.json" "$W/bf16.json"
