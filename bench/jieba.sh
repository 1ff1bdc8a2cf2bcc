#!/bin/sh
# bench/jieba.sh: tl's jieba (lib/text/jieba.c) against jieba 0.42.1 (Python)
# on the same text in the same run: single-thread MB/s of jieba.cut (and
# the other modes), alternating tl / jieba, median of RUNS (3); and load
# time: tl from its compiled cache and compiling it, jieba from its marshal
# cache and building its prefix dictionary. All times are CPU time of the
# process (CLOCK_PROCESS_CPUTIME_ID / time.process_time), so that a loaded
# machine does not skew the ratio; both sides run one thread.
#   sh bench/jieba.sh [TEXTFILE]   (default: ChnSentiCorp dev+test texts)
# OLD=path/to/an/older/libtl.a also runs that build (with its own cache
# directory), alternating with the others, and prints new/old.
# Needs `make all jieba` and python3 with jieba==0.42.1.
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/need.sh"
BUILD=${BUILD:-$ROOT/build}
RUNS=${RUNS:-3}
MODES=${MODES:-default full search}
DATA=${TL_SHARED:-$ROOT/../shared}/data/chnsenticorp
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -std=c11 -D_GNU_SOURCE $(bench_lib_flags "$BUILD/libtl.a") -I"$ROOT/include" -o "$tmp/jieba_cut" "$ROOT/tests/ref/jieba_cut.c" \
	"$BUILD/libtl.a" $(pkg-config --libs msgpack jansson libutf8proc openblas zlib) -fopenmp -lm
if [ -n "$OLD" ]; then
	cc -O2 -std=c11 -D_GNU_SOURCE -I"$ROOT/include" -o "$tmp/jieba_cut_old" "$ROOT/tests/ref/jieba_cut.c" \
		"$OLD" $(pkg-config --libs msgpack jansson libutf8proc openblas zlib) -fopenmp -lm
fi
if [ -n "$1" ]; then
	cp "$1" "$tmp/text.txt"
else
	{ tail -n +2 "$DATA/dev.tsv" | cut -f3; tail -n +2 "$DATA/test.tsv" | cut -f2; } >"$tmp/text.txt"
fi
cat >"$tmp/py.py" <<'PY'
import sys, time
import jieba
jieba.setLogLevel(60)
mode, path, cachedir = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.process_time()
dt = jieba.Tokenizer()
dt.tmp_dir = cachedir
dt.initialize()
t1 = time.process_time()
data = open(path, "rb").read()
lines = data.decode("utf-8").split("\n")
f = {"default": lambda s: dt.cut(s), "nohmm": lambda s: dt.cut(s, HMM=False),
     "full": lambda s: dt.cut(s, cut_all=True), "search": lambda s: dt.cut_for_search(s)}[mode]
t2 = time.process_time()
n = 0
for s in lines:
    for w in f(s):
        n += 1
t3 = time.process_time()
print("load_ms %.2f bytes %d words %d seconds %.4f MBps %.3f" % ((t1 - t0) * 1e3, len(data), n, t3 - t2,
                                                                len(data) / 1e6 / (t3 - t2)))
PY
field() { sed -n "s/.* $1 \([0-9.]*\).*/\1/p; s/^$1 \([0-9.]*\).*/\1/p" | head -1; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
bytes=$(wc -c <"$tmp/text.txt")
echo "text: $bytes bytes, $(wc -l <"$tmp/text.txt") lines; runs: $RUNS (median); $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
# load times: cold (compile / build) in a fresh directory, then warm (cache)
mkdir -p "$tmp/m/jieba" "$tmp/pycache"
cp "$ROOT"/models/jieba/dict.txt "$ROOT"/models/jieba/prob_*.py "$tmp/m/jieba/"
if [ -n "$OLD" ]; then
	mkdir -p "$tmp/mo/jieba"
	cp "$tmp"/m/jieba/* "$tmp/mo/jieba/"
	TL_MODEL_PATH="$tmp/mo" "$tmp/jieba_cut_old" --bench default "$tmp/one.txt" >/dev/null
fi
: >"$tmp/one.txt"
tl_cold=$(TL_MODEL_PATH="$tmp/m" "$tmp/jieba_cut" --bench default "$tmp/one.txt" | field load_ms)
py_cold=$(python3 "$tmp/py.py" default "$tmp/one.txt" "$tmp/pycache" | field load_ms)
for m in $MODES; do
	: >"$tmp/tl.$m"; : >"$tmp/py.$m"; : >"$tmp/old.$m"
	i=0
	while [ $i -lt "$RUNS" ]; do
		TL_MODEL_PATH="$tmp/m" "$tmp/jieba_cut" --bench "$m" "$tmp/text.txt" >>"$tmp/tl.$m"
		[ -z "$OLD" ] || TL_MODEL_PATH="$tmp/mo" "$tmp/jieba_cut_old" --bench "$m" "$tmp/text.txt" >>"$tmp/old.$m"
		python3 "$tmp/py.py" "$m" "$tmp/text.txt" "$tmp/pycache" >>"$tmp/py.$m"
		i=$((i + 1))
	done
	tw=$(field words <"$tmp/tl.$m"); pw=$(field words <"$tmp/py.$m")
	tm=$(while read -r l; do echo "$l" | field MBps; done <"$tmp/tl.$m" | median)
	pm=$(while read -r l; do echo "$l" | field MBps; done <"$tmp/py.$m" | median)
	printf '%-8s tl %8.2f MB/s  jieba %6.3f MB/s  ratio %6.1fx  (words: tl %s, jieba %s)\n' \
		"$m" "$tm" "$pm" "$(echo "$tm $pm" | awk '{print $1/$2}')" "$tw" "$pw"
	if [ -n "$OLD" ]; then
		om=$(while read -r l; do echo "$l" | field MBps; done <"$tmp/old.$m" | median)
		printf '%-8s old tl %6.2f MB/s  new/old %.2fx  (words: old %s)\n' "$m" "$om" \
			"$(echo "$tm $om" | awk '{print $1/$2}')" "$(field words <"$tmp/old.$m")"
	fi
done
tl_warm=$(while read -r l; do echo "$l" | field load_ms; done <"$tmp/tl.default" | median)
py_warm=$(while read -r l; do echo "$l" | field load_ms; done <"$tmp/py.default" | median)
printf 'load     tl %.1f ms from cache (%.0f ms compiling it)  jieba %.0f ms from its cache (%.0f ms building it)\n' \
	"$tl_warm" "$tl_cold" "$py_warm" "$py_cold"
