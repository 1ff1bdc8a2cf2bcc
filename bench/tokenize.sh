#!/bin/sh
# bench/tokenize.sh [BUILD]: single-thread throughput of tl-tokenize against
# Hugging Face tokenizers (Rust, via Python) on the same texts, in the same
# run: IMDB test (25,000 reviews) + SST-2 dev (872 sentences), uncased BERT
# vocabulary, no truncation. tl is timed end to end on a pre-made stream
# (reading msgpack, tokenizing, writing msgpack to /dev/null); the peer's
# timing excludes Python's file reading. Prints texts/s, tokens/s, ratio.
# RUNS (default 3) repetitions; the median is reported.
# BENCH_QUICK=1 (bench/need.sh): the first 500 texts, 1 run.
set -e
. "$(dirname "$0")/need.sh"
bench_need tokenize.sh py:tokenizers
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/$BUILD/bin"
SHARED=${TL_SHARED:-$ROOT/../shared}
RUNS=${RUNS:-3}
VOCAB="$ROOT/lib/text/data/vocab-uncased.txt"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

python3 - "$SHARED" >"$TMP/texts.jsonl" <<'PY'
import gzip, json, sys
sh = sys.argv[1]
def col(path, c):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt", encoding="utf-8", newline="\n") as f:
        lines = f.read().split("\n")[1:]
    return [l.split("\t")[c - 1] for l in lines if l]
for t in col(sh + "/data/imdb/test.tsv.gz", 1) + col(sh + "/data/sst2/dev.tsv", 1):
    print(json.dumps({"text": t}))
PY
if bench_quick; then
	RUNS=1
	head -n 500 "$TMP/texts.jsonl" >"$TMP/t" && mv "$TMP/t" "$TMP/texts.jsonl"
fi
"$BIN/tl-cat" -t msgpack "$TMP/texts.jsonl" >"$TMP/in.tl"
ntexts=$(wc -l <"$TMP/texts.jsonl")
mb=$(awk -v b="$(wc -c <"$TMP/in.tl")" 'BEGIN { printf "%.1f", b / 1e6 }')
ntok=$("$BIN/tl-tokenize" --max-len 0 <"$TMP/in.tl" | "$BIN/tl-cat" -t tsv -f ids --no-names |
	awk '{ n += gsub(/,/, ",") + 1 } END { print n }')

export RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1
: >"$TMP/times"
i=0
while [ "$i" -lt "$RUNS" ]; do
	/usr/bin/time -f "%e %U %S" -o "$TMP/t" "$BIN/tl-tokenize" --max-len 0 <"$TMP/in.tl" >/dev/null
	awk -v n="$ntexts" -v k="$ntok" '{ printf "tl-tokenize %d %d %s %.3f\n", n, k, $1, $2 + $3 }' "$TMP/t" >>"$TMP/times"
	[ "$BENCH_PEER" = 1 ] && python3 "$ROOT/bench/tokenize_hf.py" "$TMP/texts.jsonl" "$VOCAB" >>"$TMP/times"
	i=$((i + 1))
done
echo "texts: $ntexts (IMDB test + SST-2 dev; stream $mb MB; $ntok tokens), runs: $RUNS, medians;"
echo "cpu = user+system seconds of the process (robust on a busy machine), wall = elapsed; load: $(cut -d' ' -f1-3 /proc/loadavg)"
awk 'function med(a, m,   i, j, x) {
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
		return a[int((m + 1) / 2)] }
	{ k = $1; n[k]++; W[k, n[k]] = $4; C[k, n[k]] = $5; tx[k] = $2; tk[k] = $3; if (!(k in seen)) { seen[k] = 1; order[++no] = k } }
END {
	for (q = 1; q <= no; q++) {
		k = order[q]
		for (i = 1; i <= n[k]; i++) { w[i] = W[k, i]; c[i] = C[k, i] }
		mw[k] = med(w, n[k]); mc[k] = med(c, n[k])
	}
	printf "%-16s %8s %8s %10s %12s %s\n", "method", "wall s", "cpu s", "texts/s", "tokens/s", "tl is faster by (cpu)"
	for (q = 1; q <= no; q++) {
		k = order[q]
		printf "%-16s %8.2f %8.2f %10.0f %12.0f %.2fx\n", k, mw[k], mc[k], tx[k] / mc[k], tk[k] / mc[k], mc[k] / mc["tl-tokenize"]
	}
}' "$TMP/times"
