#!/bin/sh
# Throughput and memory of tl-clean (README "tl-clean").
#
#   sh bench/clean.sh [BUILD] [RUNS]
#
# 1. Throughput: IMDB train (33.4 MB of TSV, decompressed first, so gzip is
#    not measured), default cleaning, pinned to one core (taskset -c 0):
#    tl-clean vs the Python peer bench/clean_peer.py (re + html.unescape, as
#    the seed articles clean IMDB), RUNS runs each, interleaved. MB/s is input
#    bytes / median seconds, both for wall time and for CPU time (user+sys,
#    the fair figure when other jobs share the machine).
# 2. Bounded memory: 1 GiB of generated text piped through tl-clean (and
#    through tl-clean | tl-tokenize when tl-tokenize is built): max RSS from
#    /usr/bin/time -v.
# BENCH_QUICK=1 (bench/need.sh): the first 2,000 reviews, 1 run, 16 MiB.
set -e
. "$(dirname "$0")/need.sh"
bench_need clean.sh cmd:python3
BUILD=${1:-build}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/$BUILD/bin"
SHARED=${TL_SHARED:-$ROOT/../shared}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
[ -x "$BIN/tl-clean" ] || { echo "build first: make BUILD=$BUILD" >&2; exit 1; }

GEN_BYTES=1073741824
if bench_quick; then
	zcat "$SHARED/data/imdb/train.tsv.gz" | head -n 2001 >"$TMP/train.tsv"
	RUNS=1 GEN_BYTES=16777216
else
	zcat "$SHARED/data/imdb/train.tsv.gz" >"$TMP/train.tsv"
fi
BYTES=$(wc -c <"$TMP/train.tsv")
echo "input: IMDB train.tsv, $BYTES bytes, $(($(wc -l <"$TMP/train.tsv") - 1)) reviews; $RUNS runs each; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# one timed run appends "wall cpu" (seconds) to the file $1
timed() {
	f=$1
	shift
	/usr/bin/time -f '%e %U %S' -o "$TMP/t" "$@"
	awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$TMP/t" >>"$f"
}
: >"$TMP/tl"
: >"$TMP/py"
i=0
while [ $i -lt "$RUNS" ]; do
	timed "$TMP/tl" taskset -c 0 "$BIN/tl-clean" "$TMP/train.tsv" >"$TMP/out.tl"
	[ "$BENCH_PEER" = 1 ] && timed "$TMP/py" taskset -c 0 sh -c "python3 '$ROOT/bench/clean_peer.py' <'$TMP/train.tsv' >'$TMP/out.py'"
	i=$((i + 1))
done
report() {
	w=$(cut -d' ' -f1 "$2" | median)
	c=$(cut -d' ' -f2 "$2" | median)
	printf '%-12s wall %.3f s = %6.1f MB/s   cpu %.3f s = %6.1f MB/s   (wall cpu per run: %s)\n' "$1" "$w" \
		"$(echo "$BYTES / $w / 1000000" | bc -l)" "$c" "$(echo "$BYTES / $c / 1000000" | bc -l)" \
		"$(tr '\n' ',' <"$2")"
}
report tl-clean "$TMP/tl"
[ "$BENCH_PEER" = 1 ] && report python-peer "$TMP/py"
[ "$BENCH_PEER" = 1 ] && printf 'ratio (peer / tl-clean): wall %.1fx, cpu %.1fx\n' \
	"$(echo "$(cut -d' ' -f1 "$TMP/py" | median) / $(cut -d' ' -f1 "$TMP/tl" | median)" | bc -l)" \
	"$(echo "$(cut -d' ' -f2 "$TMP/py" | median) / $(cut -d' ' -f2 "$TMP/tl" | median)" | bc -l)"
# The same texts? The peer differs where its naive tag regex eats prose
# ("<3", "<< >>"), and it leaves Windows-1252 C1 dashes (U+0096) and soft
# hyphens in place, which tl-clean maps/removes.
[ "$BENCH_PEER" = 1 ] && "$BIN/tl-cat" "$TMP/out.tl" | python3 -c '
import json, sys
a = [json.loads(l)["text"] for l in sys.stdin]
b = [json.loads(l)["text"] for l in open(sys.argv[1])]
same = sum(x == y for x, y in zip(a, b))
print("same text as the peer: %d of %d records (the peer wrote %d)" % (same, len(a), len(b)))' "$TMP/out.py"

echo "memory: $((GEN_BYTES / 1048576)) MiB of generated lines, piped (yes | head -c)"
gen() { yes 'A review with <br /> tags, &amp; entities, and   extra   spaces. It was great!' | head -c "$GEN_BYTES"; }
rss() { echo "$(awk -F': ' '/Maximum resident/ {print $2}' "$1") KB (elapsed $(awk -F': ' '/Elapsed/ {print $2}' "$1"))"; }
gen | /usr/bin/time -v -o "$TMP/t1" "$BIN/tl-clean" >/dev/null
echo "tl-clean:               max RSS $(rss "$TMP/t1")"
if [ -x "$BIN/tl-tokenize" ]; then
	gen | /usr/bin/time -v -o "$TMP/t1" "$BIN/tl-clean" | /usr/bin/time -v -o "$TMP/t2" "$BIN/tl-tokenize" >/dev/null
	echo "tl-clean | tl-tokenize: tl-clean max RSS $(rss "$TMP/t1"); tl-tokenize max RSS $(rss "$TMP/t2")"
fi
