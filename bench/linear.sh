#!/bin/sh
# bench/linear.sh - tl-train -m fasttext / -m linear vs fastText (Debian
# package) and scikit-learn TF-IDF + LogisticRegression, side by side.
#
#   sh bench/linear.sh [BUILD] [RUNS]      (default build, 2 runs)
#
# Same preprocessing for everyone: tl's word splitter (lower-case,
# whitespace and punctuation split); fastText gets it through
# bench/ft_prep.py. Same settings: word bigrams, 5 epochs, dim 100, lr 0.5,
# fastText with 2 threads, tl-train with TLTH (default 1) threads. Prints
# one line per tool and run: accuracy, training wall
# time, peak RSS (/usr/bin/time -v), prediction time on the test file.
# BENCH_QUICK=1 (bench/need.sh): SST-2 only, the first 2,000 training
# sentences, 1 epoch, 1 run, in a fresh temporary folder.
set -e
. "$(dirname "$0")/need.sh"
bench_need linear.sh py:sklearn cmd:fasttext
BUILD=${1:-build}
RUNS=${2:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/$BUILD/bin
DATA=${TL_SHARED:-$ROOT/../shared}/data
W=${TMPDIR:-/tmp}/tl-bench-linear
EP=5 DIM=100 LR=0.5 NG=2 TH=2 TLTH=${TLTH:-1}
if bench_quick; then
	W=$(mktemp -d) RUNS=1 EP=1
	trap 'rm -rf "$W"' EXIT
fi
mkdir -p "$W"

rss() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
wall() { sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$1" |
	awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }'; }

run_set() { # name train.tsv test.tsv
	name=$1
	[ -f "$W/$name.train.s" ] || "$BIN/tl-clean" "$2" >"$W/$name.train.s"
	[ -f "$W/$name.test.s" ] || "$BIN/tl-clean" "$3" >"$W/$name.test.s"
	# fastText reads its file in order: give it a (fixed) shuffle, as its
	# documentation advises; tl-train shuffles every epoch itself.
	if [ "$BENCH_PEER" = 1 ]; then
	[ -f "$W/$name.train.ft" ] || python3 "$ROOT/bench/ft_prep.py" "$2" |
		python3 -c 'import sys, random; l = sys.stdin.readlines(); random.Random(1).shuffle(l); sys.stdout.writelines(l)' \
		>"$W/$name.train.ft"
	[ -f "$W/$name.test.ft" ] || python3 "$ROOT/bench/ft_prep.py" "$3" >"$W/$name.test.ft"
	fi
	n=$(($("$BIN/tl-cat" "$W/$name.test.s" | wc -l)))
	for r in $(seq 1 "$RUNS"); do
		[ "$BENCH_PEER" = 1 ] && /usr/bin/time -v fasttext supervised -input "$W/$name.train.ft" -output "$W/ft" -wordNgrams $NG \
			-epoch $EP -dim $DIM -lr $LR -thread $TH -verbose 0 2>"$W/t.ft"
		[ "$BENCH_PEER" = 1 ] && acc=$(fasttext test "$W/ft.bin" "$W/$name.test.ft" | sed -n 's/^P@1\t//p') &&
		/usr/bin/time -v fasttext predict "$W/ft.bin" "$W/$name.test.ft" >/dev/null 2>"$W/p.ft" &&
		echo "$name fasttext run $r: acc $acc train_s $(wall "$W/t.ft") rss_kb $(rss "$W/t.ft") predict_s $(wall "$W/p.ft") n $n"
		for m in fasttext linear; do
			/usr/bin/time -v "$BIN/tl-train" -q -m $m --force -o "$W/tl-$m" --epochs $EP --lr $LR \
				--threads $TLTH $( [ $m = fasttext ] && echo --dim $DIM --word-ngrams $NG ) \
				"$W/$name.train.s" 2>"$W/t.tl"
			/usr/bin/time -v "$BIN/tl-predict" -m "$W/tl-$m" --threads $TH "$W/$name.test.s" \
				>"$W/pred.s" 2>"$W/p.tl"
			acc=$("$BIN/tl-cat" -t tsv --no-names -f label,pred "$W/pred.s" | awk -F'\t' '{ n++; h += $1 == $2 } END { printf "%.4f", h / n }')
			echo "$name tl-$m run $r: acc $acc train_s $(wall "$W/t.tl") rss_kb $(rss "$W/t.tl") predict_s $(wall "$W/p.tl") n $n"
		done
	done
	[ "$BENCH_PEER" = 1 ] || return 0
	python3 - "$2" "$3" <<'PY'
import sys, time, gzip
sys.path.insert(0, sys.argv[0].rsplit("/", 1)[0])
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
def read(p):
    f = gzip.open(p, "rt") if p.endswith(".gz") else open(p)
    next(f)
    X, y = [], []
    for line in f:
        c = line.rstrip("\n").split("\t")
        X.append(c[0]); y.append(c[1])
    return X, y
exec(open(__import__("os").environ.get("FTPREP", "bench/ft_prep.py")).read().split("path = sys.argv[1]")[0])
Xtr, ytr = read(sys.argv[1]); Xte, yte = read(sys.argv[2])
t = time.time()
v = TfidfVectorizer(tokenizer=words, token_pattern=None, lowercase=False, ngram_range=(1, 2), sublinear_tf=True)
A = v.fit_transform(Xtr)
clf = LogisticRegression(max_iter=1000).fit(A, ytr)
acc = (clf.predict(v.transform(Xte)) == yte).mean()
print("sklearn tfidf(1,2,sublinear)+LogisticRegression: acc %.4f train_s %.1f" % (acc, time.time() - t))
PY
}

cd "$ROOT"
export FTPREP=$ROOT/bench/ft_prep.py
if bench_quick; then
	head -n 2001 "$DATA/sst2/train.tsv" >"$W/quick-train.tsv"
	run_set sst2 "$W/quick-train.tsv" "$DATA/sst2/dev.tsv"
	exit 0
fi
run_set sst2 "$DATA/sst2/train.tsv" "$DATA/sst2/dev.tsv"
run_set imdb "$DATA/imdb/train.tsv.gz" "$DATA/imdb/test.tsv.gz"
