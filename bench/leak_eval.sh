#!/bin/sh
# bench/leak_eval.sh [BUILD]: the cost of the training-keys check of issue 24
# in tl-predict ("seen": true from the model's train-keys.bin) and tl-eval
# (counting "seen", --model DIR), on SST-2.
#   model:   -m linear trained on SST-2 dev (872 records), its train-keys.bin
#            tl-train's (TLKEYS2; a BASE build before 2026-12 reads only
#            TLKEYS1 files, so give BASE only for the timings without keys)
#   streams: dev (872) and train (67,349), cleaned once
#   tl-predict -m model STREAM   with the keys file / renamed away
#   tl-eval                      on predictions with / without seen marks
#   tl-eval --model model        against plain tl-eval on the same stream
#   BASE=DIR (optional): a bin directory of a build before the change; its
#            tl-predict and tl-eval are timed on the same inputs too
# The train stream has no record of dev's texts (SST-2's splits share
# none), so its seen marks are 0: its figures are the cost of the check.
# Runs alternate (with, without, with, ...); REPS (default 3) timings each,
# a timing being INNER runs (default 50 for dev, INNER_TRAIN=2 for train)
# tl-predict runs single-threaded (-j 1): CPU time of idle OpenMP threads
# under load would swamp the figure, median shown.
# BENCH_QUICK=1 (bench/need.sh): the first 2,000 training sentences,
# REPS 1, INNER 2, INNER_TRAIN 1.
set -e
. "$(dirname "$0")/need.sh"
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/$BUILD/bin
DATA=${TL_SHARED:-$ROOT/../shared}/data/sst2
REPS=${REPS:-3}
W=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$W"
"$BIN/tl-clean" "$DATA/dev.tsv" >"$W/dev.s"
if bench_quick; then
	REPS=1 INNER=2 INNER_TRAIN=1
	head -n 2001 "$DATA/train.tsv" | "$BIN/tl-clean" >"$W/train.s"
else
	"$BIN/tl-clean" "$DATA/train.tsv" >"$W/train.s"
fi
"$BIN/tl-train" -q -m linear --force -o "$W/m" "$W/dev.s"
if [ ! -f "$W/m/train-keys.bin" ]; then
	echo "bench/leak_eval.sh: $BIN/tl-train wrote no train-keys.bin (a build before issue 24)" >&2
	exit 1
fi
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# timeit NAME INNER CMD...: run CMD INNER times (output to /dev/null) and
# append one timing to $W/t_NAME: CPU ms (user + system) per run, which
# other load on the machine disturbs less than wall time, then wall ms
timeit() {
	name=$1 inner=$2
	shift 2
	/usr/bin/time -f "%U %S %e" -o "$W/time" sh -c 'n=$1; shift; i=0
		while [ $i -lt "$n" ]; do "$@" >/dev/null 2>&1; i=$((i + 1)); done' sh "$inner" "$@"
	awk -v n="$inner" '{ printf "%.2f %.2f\n", ($1 + $2) * 1000 / n, $3 * 1000 / n }' "$W/time" >>"$W/t_$name"
}
keys_on() { [ -f "$W/m/train-keys.bin" ] || mv "$W/m/keys.away" "$W/m/train-keys.bin"; }
keys_off() { [ ! -f "$W/m/train-keys.bin" ] || mv "$W/m/train-keys.bin" "$W/m/keys.away"; }
rm -f "$W"/t_*
for set in dev train; do
	inner=${INNER_TRAIN:-2}
	[ $set = dev ] && inner=${INNER:-50}
	keys_on
	"$BIN/tl-predict" -m "$W/m" "$W/$set.s" >"$W/p_seen_$set.s"
	keys_off
	"$BIN/tl-predict" -m "$W/m" "$W/$set.s" >"$W/p_plain_$set.s"
	for r in $(seq "$REPS"); do
		keys_on
		timeit "predict_keys_$set" $inner "$BIN/tl-predict" -j 1 -m "$W/m" "$W/$set.s"
		keys_off
		timeit "predict_nokeys_$set" $inner "$BIN/tl-predict" -j 1 -m "$W/m" "$W/$set.s"
		[ -z "$BASE" ] || timeit "predict_base_$set" $inner "$BASE/tl-predict" -j 1 -m "$W/m" "$W/$set.s"
		keys_on
		timeit "eval_seen_$set" $inner "$BIN/tl-eval" "$W/p_seen_$set.s"
		timeit "eval_plain_$set" $inner "$BIN/tl-eval" "$W/p_plain_$set.s"
		timeit "eval_model_$set" $inner "$BIN/tl-eval" --model "$W/m" "$W/p_plain_$set.s"
		[ -z "$BASE" ] || timeit "eval_base_$set" $inner "$BASE/tl-eval" "$W/p_plain_$set.s"
	done
done
keys_on
echo "conditions: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), REPS=$REPS, dev timings of ${INNER:-50} runs"
echo "seen marks: dev $("$BIN/tl-cat" <"$W/p_seen_dev.s" | grep -c '"seen":true'), train $("$BIN/tl-cat" <"$W/p_seen_train.s" | grep -c '"seen":true' || true)"
m() { cut -d' ' -f1 "$W/t_$1" | median; }
ratio() { awk -v a="$(m "$1")" -v b="$(m "$2")" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }'; }
for set in dev train; do
	echo "== $set: median CPU ms (user + system) per run; wall times in $W/t_* =="
	echo "tl-predict   keys $(m predict_keys_$set)  no keys $(m predict_nokeys_$set)  overhead $(ratio predict_keys_$set predict_nokeys_$set)"
	echo "tl-eval      seen marks $(m eval_seen_$set)  plain $(m eval_plain_$set)  overhead $(ratio eval_seen_$set eval_plain_$set)"
	echo "tl-eval --model  $(m eval_model_$set)  plain $(m eval_plain_$set)  overhead $(ratio eval_model_$set eval_plain_$set)"
	if [ -n "$BASE" ]; then
		echo "before the change: tl-predict $(m predict_base_$set) (no keys: $(ratio predict_nokeys_$set predict_base_$set), keys: $(ratio predict_keys_$set predict_base_$set)), tl-eval $(m eval_base_$set) (plain: $(ratio eval_plain_$set eval_base_$set))"
	fi
done
