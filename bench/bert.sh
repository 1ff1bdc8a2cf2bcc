#!/bin/sh
# bench/bert.sh [BUILD]: tl-embed and tl-predict against PyTorch
# transformers on the same model (all-MiniLM-L6-v2; the two-label
# classification model of tests/ref/gen_bert.py), the same token ids, batch
# 32, 1 and 2 threads, on the SST-2 dev set (872 sentences) and an IMDB test
# sample (every 250th review: 100, cut to 512 tokens). Each configuration
# runs REPS times (default 2); the summary reports medians of sentences/s,
# tokens/s, peak RSS (/usr/bin/time), and tl's useful GFLOP/s as a fraction of
# the machine's GEMM peak measured in the same run (bench/sgemm_peak.c: the
# best of OpenBLAS sgemm and tl's own product on prepared weights).
# BENCH_QUICK=1: 16 SST-2 and 2 IMDB texts, 1 thread, REPS 1, PyTorch only
# with dynamic padding (and not at all without torch/transformers: the ids
# then come from tl-tokenize).
set -e
. "$(dirname "$0")/need.sh"
bench_need bert.sh py:torch py:transformers
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=$ROOT/$BUILD/bin
DATA=${TL_SHARED:-$ROOT/../shared}/data
MODEL=$ROOT/models/all-MiniLM-L6-v2
REPS=${REPS:-2}
THREADS="1 2"
if bench_quick; then
	REPS=1 THREADS=1
	export BENCH_QUICK
fi
W=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$W"
RES=$W/results.tsv
: >"$RES"

[ "$BENCH_PEER" = 1 ] && python3 - "$DATA" "$MODEL" "$W" <<'PY'
import gzip, json, os, sys
from transformers import AutoTokenizer
data, model, w = sys.argv[1:4]
tok = AutoTokenizer.from_pretrained(model)
sst = [l.rstrip("\n").split("\t")[0] for l in open(f"{data}/sst2/dev.tsv", encoding="utf-8")][1:]
imdb = [l.rstrip("\n").split("\t")[0] for i, l in enumerate(gzip.open(f"{data}/imdb/test.tsv.gz", "rt", encoding="utf-8")) if i and (i - 1) % 250 == 0]
if os.environ.get("BENCH_QUICK") == "1":
    sst, imdb = sst[:16], imdb[:2]
for name, texts in (("sst2", sst), ("imdb", imdb)):
    with open(f"{w}/{name}.jsonl", "w") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": i, "ids": tok(t, truncation=True, max_length=512)["input_ids"]}) + "\n")
PY
if [ "$BENCH_PEER" != 1 ]; then # tl's side only: the ids from tl-tokenize
	head -n 17 "$DATA/sst2/dev.tsv" | "$BIN/tl-clean" | "$BIN/tl-tokenize" -m "$MODEL" --max-len 512 | "$BIN/tl-cat" >"$W/sst2.jsonl"
	zcat "$DATA/imdb/test.tsv.gz" | head -n 3 | "$BIN/tl-clean" | "$BIN/tl-tokenize" -m "$MODEL" --max-len 512 |
		"$BIN/tl-cat" >"$W/imdb.jsonl"
fi
for s in sst2 imdb; do "$BIN/tl-cat" -t msgpack "$W/$s.jsonl" >"$W/$s.tl"; done
sh tests/ref/bert/mkseqcls.sh "$W/seqcls" "$MODEL"
cc -O2 -fopenmp $(bench_lib_flags "$BUILD/libtl.a") -Iinclude -I. -o "$W/sgemm_peak" bench/sgemm_peak.c "$BUILD/libtl.a" \
	$(pkg-config --cflags --libs openblas msgpack jansson libutf8proc zlib) -lm

timed() { # label set threads cmd...: appends "label set threads seconds maxrss_kb [torch line]"
	label=$1 set=$2 th=$3
	shift 3
	/usr/bin/time -f "%e %M" -o "$W/time" "$@" >"$W/stdout" 2>"$W/stderr" || { cat "$W/stderr" >&2; exit 1; }
	printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$set" "$th" "$(cat "$W/time" | tr ' ' '\t')" "$(grep '^torch' "$W/stdout" || true)" >>"$RES"
}
for rep in $(seq "$REPS"); do
	for th in $THREADS; do
		ASAN_OPTIONS=detect_leaks=0 "$W/sgemm_peak" "$th" >"$W/peak.$th.txt"
		echo "sgemm	-	$th	$(sed -n 's/^peak //p' "$W/peak.$th.txt")" >>"$RES"
		cat "$W/peak.$th.txt" >>"$W/peak.log"
		for s in sst2 imdb; do
			ml=128
			[ "$s" = imdb ] && ml=512
			timed tl-embed "$s" "$th" "$BIN/tl-embed" -j "$th" -b 32 --normalize -m "$MODEL" "$W/$s.tl"
			timed tl-predict "$s" "$th" "$BIN/tl-predict" -j "$th" -b 32 -m "$W/seqcls" "$W/$s.tl"
			[ "$BENCH_PEER" = 1 ] || continue
			timed torch-embed-dynamic "$s" "$th" python3 bench/bert_torch.py "$W/$s.jsonl" "$MODEL" --threads "$th" --mode embed --padding dynamic
			timed torch-predict-dynamic "$s" "$th" python3 bench/bert_torch.py "$W/$s.jsonl" "$W/seqcls" --threads "$th" --mode predict --padding dynamic
			bench_quick && continue
			timed torch-embed-max_length "$s" "$th" python3 bench/bert_torch.py "$W/$s.jsonl" "$MODEL" --threads "$th" --mode embed --padding max_length --max-length "$ml"
		done
	done
done
python3 bench/bert_summary.py "$RES" "$W"
echo "raw results: $RES"
