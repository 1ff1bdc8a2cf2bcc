#!/bin/sh
# bench/augment.sh [BUILD]: tl-augment against EDA's reference Python code
# (bench/augment_eda.py: eda.py ported line by line, NLTK WordNet on the same
# WordNet 3.0 files) on SST-2 train sentences, single-threaded.
#   tl:  all 67,349 sentences, -n 1 with --ops all and with --ops eda
#   EDA: the first PY_N (default 5000) sentences, num_aug=1 (EDA then runs
#        each of its 4 operations once per sentence and keeps one result)
# Each runs REPS times (default 2); the summary gives medians of wall time,
# user CPU time and sentences/s (wall). tl's time includes loading WordNet;
# EDA's sentence loop is timed inside the script and its WordNet load is
# reported apart. Needs NLTK with ~/nltk_data/corpora/wordnet (see
# tests/ref/gen_wordnet_ref.py). BENCH_QUICK=1: the first 2,000 sentences,
# PY_N 200, REPS 1 (bench/need.sh).
set -e
. "$(dirname "$0")/need.sh"
bench_need augment.sh py:nltk
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/$BUILD/bin
DATA=${TL_SHARED:-$ROOT/../shared}/data
REPS=${REPS:-2}
PY_N=${PY_N:-5000}
W=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$W"
SRC=$DATA/sst2/train.tsv
if bench_quick; then
	head -n 2001 "$SRC" >"$W/quick.tsv"
	SRC=$W/quick.tsv REPS=1 PY_N=200
fi
tail -n +2 "$SRC" | awk -F'\t' '{gsub(/\\/,"\\\\",$1); gsub(/"/,"\\\"",$1);
	printf "{\"id\":%d,\"text\":\"%s\",\"label\":\"%s\"}\n", NR, $1, $2}' | "$BIN/tl-cat" -t msgpack >"$W/sst2.tl"
N=$(tail -n +2 "$SRC" | wc -l)
head -n $((PY_N + 1)) "$SRC" >"$W/py.tsv"
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
for ops in all eda; do
	: >"$W/t_$ops"
	for r in $(seq "$REPS"); do
		/usr/bin/time -f "%e %U %M" -o "$W/time" taskset -c 0 "$BIN/tl-augment" -n 1 --ops $ops --seed $r <"$W/sst2.tl" >"$W/out.tl"
		cat "$W/time" >>"$W/t_$ops"
	done
done
: >"$W/t_py"
[ "$BENCH_PEER" = 1 ] && for r in $(seq "$REPS"); do
	/usr/bin/time -f "%e %U %M" -o "$W/time" taskset -c 0 python3 "$ROOT/bench/augment_eda.py" "$W/py.tsv" 1 >"$W/out.py" 2>"$W/py.err"
	echo "$(sed -n 's/^eda: [0-9]* sentences in \([0-9.]*\) s (\([0-9.]*\) s loading.*/\1 \2/p' "$W/py.err") $(cat "$W/time")" >>"$W/t_py"
done
echo "conditions: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), pinned to core 0, REPS=$REPS"
for ops in all eda; do
	wall=$(cut -d' ' -f1 "$W/t_$ops" | median)
	user=$(cut -d' ' -f2 "$W/t_$ops" | median)
	rss=$(cut -d' ' -f3 "$W/t_$ops" | median)
	echo "tl-augment -n 1 --ops $ops: $N sentences, wall ${wall}s (user ${user}s), $(echo "$N / $wall" | bc) sentences/s wall, $(echo "$N / $user" | bc) per CPU-s, max RSS ${rss} KB"
	eval "tl_$ops=\$(echo \"$N / $wall\" | bc)"
done
[ "$BENCH_PEER" = 1 ] || exit 0
loop=$(cut -d' ' -f1 "$W/t_py" | median)
load=$(cut -d' ' -f2 "$W/t_py" | median)
rss=$(cut -d' ' -f5 "$W/t_py" | median)
py=$(echo "$PY_N / $loop" | bc)
echo "EDA eda.py (NLTK) num_aug=1: $PY_N sentences, loop ${loop}s (+ ${load}s loading WordNet), $py sentences/s, max RSS ${rss} KB"
echo "ratio tl-augment --ops eda / EDA: $(echo "$tl_eda / $py" | bc)x; --ops all / EDA: $(echo "$tl_all / $py" | bc)x"
