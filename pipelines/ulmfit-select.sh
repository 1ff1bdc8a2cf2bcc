#!/bin/sh
# pipelines/ulmfit-select.sh [OUT] [THREADS]: how pipelines/ulmfit.mk's
# classifier settings for the 1,000-label tasks (K1_*) were chosen, on
# validation slices of the TRAINING sets, never on a test set:
#   imdbval: every 25th IMDB train review from row 12 (1,000; imdb1k is
#            every 25th from row 0, so the two are disjoint)
#   sstval:  every 67th SST-2 train sentence from row 33 (1,005; sst1k is
#            every 67th from row 0)
# Each setting below trains on imdb1k (from the IMDB LM of the pipeline's
# run) and on sst1k (from lm2-sst) and is scored on the matching slice;
# per method (ULMFiT u*, LSTM from scratch s*) the setting with the best
# mean of the two validation accuracies is the one the pipeline uses.
# Needs a finished `make -f pipelines/ulmfit.mk OUT=OUT ... en` (its
# vocabulary, LMs and streams); writes OUT/en/select/ and prints a table.
# Settings run one after the other at THREADS (1) threads each; about 40
# minutes at 1 thread on the 2-core AMX machine (the 20-epoch IMDB
# ULMFiT run alone: 7 minutes).
set -eu
OUT=${1:-out/ulmfit}
THREADS=${2:-1}
BIN=${BIN:-build/bin}
E=$OUT/en
S=$E/select
for f in "$E/imdb-train.tsv" "$E/sst-train.tsv" "$E/imdb1k.tsv" "$E/sst1k.tsv" "$E/v.txt" "$E/imdb1k.ids" "$E/sst1k.ids" "$E/lm2-sst/tl.json"; do
	[ -e "$f" ] || { echo "ulmfit-select.sh: $f missing: run make -f pipelines/ulmfit.mk OUT=$OUT en first" >&2; exit 2; }
done
# the IMDB classifier's LM: stage 2's when the pipeline ran it, else lm1
LMI=$E/lm2-imdb
[ -e "$LMI/tl.json" ] || LMI=$E/lm1
mkdir -p "$S"
# (rows whose line is one of the 1,000 training rows are left out: none at
# the pipeline's sizes, where the slices are disjoint by position; QUICK=1
# takes every 2nd row for the 1,000-label sets)
slice() { # slice K FROM TRAIN.tsv 1K.tsv
	awk -v k="$1" -v f="$2" 'NR == FNR { if (FNR > 1) seen[$0] = 1; next }
		FNR == 1 || ((FNR - 2) % k == f && !($0 in seen))' "$4" "$3"
}
slice 25 12 "$E/imdb-train.tsv" "$E/imdb1k.tsv" >"$S/imdbval.tsv"
slice 67 33 "$E/sst-train.tsv" "$E/sst1k.tsv" >"$S/sstval.tsv"
for v in imdbval sstval; do
	"$BIN/tl-clean" "$S/$v.tsv" | "$BIN/tl-tokenize" --mode word --vocab "$E/v.txt" >"$S/$v.ids"
done

# acc TASK NAME ARGS...: train on the task's 1,000 labels, print the
# validation accuracy (%)
acc() {
	task=$1 name=$2
	shift 2
	case $task in
	imdb) tr=$E/imdb1k.ids val=$S/imdbval.ids lm=$LMI ;;
	sst) tr=$E/sst1k.ids val=$S/sstval.ids lm=$E/lm2-sst ;;
	esac
	d=$S/$task-$name
	case $name in
	u*) set -- --pretrained "$lm" "$@" ;;
	s*) set -- --vocab "$E/v.txt" "$@" ;;
	esac
	[ -e "$d/tl.json" ] || "$BIN/tl-train" -q --force --seed 1 --threads "$THREADS" -m lstm -o "$d" --max-len 256 "$@" "$tr"
	"$BIN/tl-predict" -q -m "$d" "$val" | "$BIN/tl-eval" 2>/dev/null | awk '/^accuracy/ { printf "%.2f", 100 * $2 }'
}

echo "| setting | method | tl-train options | IMDB validation | SST-2 validation | mean |"
echo "|---|---|---|---:|---:|---:|"
while read -r name opts; do
	# shellcheck disable=SC2086
	a=$(acc imdb "$name" $opts)
	# shellcheck disable=SC2086
	b=$(acc sst "$name" $opts)
	case $name in u*) m=ULMFiT ;; *) m="from scratch" ;; esac
	echo "| $name | $m | $opts | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (a + b) / 2 }') |"
done <<EOF
uA --epochs 6
uB --epochs 12 --lr 2e-2
uC --epochs 12 --batch-size 8
uD --epochs 20 --lr 2e-2
uE --epochs 12 --batch-size 16 --lr 2e-2
uF --epochs 12 --lr 3e-2
sa --epochs 4
sb --epochs 4 --batch-size 8
sc --epochs 8
sd --epochs 4 --lr 2e-2
se --epochs 6 --batch-size 8
sf --epochs 4 --batch-size 16
EOF
