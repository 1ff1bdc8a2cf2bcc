#!/bin/sh
# bench/lowprec.sh [BUILD]: inference speed of tl-embed at each precision
# (fp32, and bf16/int8 when tl-embed has --precision) side by side with five
# peers (bench/lowprec_peers.py: PyTorch fp32, PyTorch bf16 autocast,
# PyTorch bf16 weights, ONNX Runtime fp32 on the BERT-optimized graph, ONNX
# Runtime int8 by dynamic per-channel quantization), on the same token ids
# (a tl-tokenize stream; the peers read it through tl-cat), batch 32, dynamic
# padding, batches formed as tl-embed forms them, 1 and 2 threads. tl int8
# runs twice: on the fp32 model (quantized at its first batch: "tl-int8")
# and on the model tl-quantize wrote before the timing ("tl-int8q"), the
# counterpart of the ORT int8 engine's model, quantized before its timing.
#
# Data: SST-2 dev (872 sentences; $TL_SHARED/data/sst2/dev.tsv) and the first
# IMDB_N (500) reviews of $TL_SHARED/data/imdb/test.tsv.gz tokenized with
# --max-len IMDB_MAXLEN (256).
# Every configuration runs BENCH_REPS times (default 3), the engines
# alternating inside each repetition; the table gives medians of tokens/s
# (real tokens, padding not counted). tl is timed as the whole tl-embed
# process (model loading included); the peers time their forward loop only
# (loading, ONNX export/quantization and one warm-up batch excluded): the
# comparison leans against tl. So tl's fixed cost is timed AT EACH
# PRECISION: tl-embed on a stream without records (startup and model
# loading) and on a stream of one SST-2 sentence ("one": loading, the
# weights' preparation, bf16 rounding or int8 quantization, which tl-embed
# does at its first batch, and one short forward pass); the table shows
# tl's tokens/s and tokens/CPU-s both with everything included and with
# that precision's "one" median subtracted (the like-for-like figure: the
# peers' loops exclude loading, export and quantization).
# Each run's CPU time (all its threads) is kept too (tl: the process's user +
# system time; peers: time.process_time() around the loop), and the table
# shows tokens per CPU-second: on a machine shared with other work, where
# wall-clock figures swing, it tells what each engine does with the CPU it
# gets (with 2 threads it also charges the time threads spend waiting).
# gemm_peak's figures are per second of thread CPU time for that reason.
# bench/gemm_peak.c runs in every repetition; each engine's useful GFLOP/s is
# shown as a fraction of the best peak of its precision at that thread count
# (fp32: fp32_zmm; bf16: amx_bf16 where present, else bf16_dp; int8:
# amx_int8 where present, else int8_vnni). Useful FLOPs of MiniLM: see
# bench/lowprec_summary.py (2 per multiply-add, GEMMs only, real tokens).
# `uptime` is printed before, between and after the repetitions.
#
# Environment: BENCH_REPS (3), BENCH_THREADS ("1 2"), BENCH_PRECS ("fp32 bf16
# int8": the precisions compared, each with its peers), IMDB_N (500),
# IMDB_MAXLEN (256), SST2_N (0 = all), BENCH_DIR (work folder, default
# out/lowprec/run), BENCH_QUICK=1 (seconds: 64 SST-2 sentences, 16 reviews at
# --max-len 128, 1 thread, 1 repetition, the peers in one Python process).
# The ONNX files are cached in out/lowprec/onnx (git-ignored).
set -e
. "$(dirname "$0")/need.sh"
bench_need lowprec.sh py:numpy py:torch py:transformers py:onnx py:onnxruntime
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=$ROOT/$BUILD/bin
DATA=${TL_SHARED:-$ROOT/../shared}/data
MODEL=$ROOT/models/all-MiniLM-L6-v2
REPS=${BENCH_REPS:-3}
THREADS=${BENCH_THREADS:-1 2}
IMDB_N=${IMDB_N:-500}
IMDB_MAXLEN=${IMDB_MAXLEN:-256}
SST2_N=${SST2_N:-0}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	REPS=1 THREADS=1 IMDB_N=16 IMDB_MAXLEN=128 SST2_N=64
fi
W=${BENCH_DIR:-$ROOT/out/lowprec/run}
CACHE=$ROOT/out/lowprec/onnx
mkdir -p "$W" "$CACHE"
RES=$W/results.tsv
: >"$RES"
: >"$W/load.txt"
: >"$W/peaks.tsv"
load() { echo "$1: $(uptime)" | tee -a "$W/load.txt"; }

# tl's precisions: what this tl-embed offers (never a made-up figure);
# int8q: tl int8 on the model tl-quantize wrote (quantized once, before
# the timing, as the ORT int8 engine's model is), where tl-quantize exists
if "$BIN/tl-embed" --help 2>&1 | grep -q -- --precision; then
	PRECS="fp32 bf16 int8"
	[ -x "$BIN/tl-quantize" ] && PRECS="$PRECS int8q"
else
	PRECS="fp32"
	echo "lowprec.sh: $BIN/tl-embed has no --precision: tl bf16/int8 are not measured" >&2
fi

# the same token ids for everyone: tl-tokenize streams, shown as JSON lines
if [ "$SST2_N" -gt 0 ]; then head -n $((SST2_N + 1)) "$DATA/sst2/dev.tsv"; else cat "$DATA/sst2/dev.tsv"; fi |
	"$BIN/tl-clean" | "$BIN/tl-tokenize" -m "$MODEL" >"$W/sst2.s"
gzip -dc "$DATA/imdb/test.tsv.gz" | head -n $((IMDB_N + 1)) | "$BIN/tl-clean" |
	"$BIN/tl-tokenize" -m "$MODEL" --max-len "$IMDB_MAXLEN" >"$W/imdb.s"
for s in sst2 imdb; do "$BIN/tl-cat" "$W/$s.s" >"$W/$s.jsonl"; done
: | "$BIN/tl-tokenize" -m "$MODEL" >"$W/empty.s" # a header, no record: startup and model loading
# one sentence: tl-embed's fixed cost at a precision (loading, and the weights' bf16/int8 preparation,
# which tl-embed does at its first batch), plus one short forward pass
head -n 2 "$DATA/sst2/dev.tsv" | "$BIN/tl-clean" | "$BIN/tl-tokenize" -m "$MODEL" >"$W/one.s"
echo "lowprec.sh: sst2: $(wc -l <"$W/sst2.jsonl") sentences; imdb: $(wc -l <"$W/imdb.jsonl") reviews at --max-len $IMDB_MAXLEN"

cc -O2 -fopenmp -o "$W/gemm_peak" bench/gemm_peak.c
python3 bench/lowprec_peers.py - "$MODEL" --prepare --cache "$CACHE" >/dev/null 2>"$W/prepare.log" ||
	{ cat "$W/prepare.log" >&2; exit 1; }

now() { date +%s.%N; }
# tl_run set threads precision rep
tl_run() {
	popt= # not p: the callers loop over p
	[ "$PRECS" != fp32 ] && popt="--precision $3"
	mdl=$MODEL
	if [ "$3" = int8q ]; then mdl=$W/model-int8 popt=; fi # tl-quantize's model runs at int8 as it is
	t0=$(now)
	# shellcheck disable=SC2086
	/usr/bin/time -f "%U %S" -o "$W/time" "$BIN/tl-embed" -j "$2" -b 32 --normalize -m "$mdl" $popt "$W/$1.s" \
		>"$W/emb.out" 2>"$W/stderr" || { cat "$W/stderr" >&2; exit 1; }
	t1=$(now)
	printf '%s\t%s\ttl-%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }")" \
		"$(awk '{ printf "%.3f", $1 + $2 }' "$W/time")" >>"$RES"
}
# peer_run set threads engines rep
peer_run() {
	python3 bench/lowprec_peers.py "$W/$1.jsonl" "$MODEL" --engine "$3" --threads "$2" --cache "$CACHE" \
		>"$W/peer.out" 2>"$W/stderr" || { cat "$W/stderr" >&2; exit 1; }
	sed -n 's/^peer engine=\([^ ]*\) .* seconds=\([0-9.]*\) cpu_seconds=\([0-9.]*\)$/\1\t\2\t\3/p' "$W/peer.out" |
		while IFS="$(printf '\t')" read -r e sec cpu; do
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$e" "$4" "$sec" "$cpu" >>"$RES"
		done
}
has() { case " $PRECS " in *" $1 "*) return 0 ;; esac; return 1; }
# BENCH_PRECS (default "fp32 bf16 int8"): the precisions compared, tl's and the peers' of each
# (BENCH_PRECS=bf16: tl bf16 against PyTorch's two bf16 engines only)
want() { case " ${BENCH_PRECS:-fp32 bf16 int8} " in *" ${1%q} "*) return 0 ;; esac; return 1; } # int8q: with int8
if has int8q && want int8; then "$BIN/tl-quantize" -m "$MODEL" -o "$W/model-int8" --force; fi

load "before"
for rep in $(seq "$REPS"); do
	"$W/gemm_peak" "$(echo "$THREADS" | tr ' ' '\n' | sort -n | tail -1)" >"$W/peak.$rep.txt"
	cat "$W/peak.$rep.txt" | grep -v '^#' | sed "s/^/peak\t$rep\t/" >>"$W/peaks.tsv"
	for th in $THREADS; do
		for s in sst2 imdb; do
			if [ "$QUICK" = 1 ]; then
				if [ "$s" = sst2 ]; then for p in $PRECS; do tl_run empty "$th" "$p" "$rep"; tl_run one "$th" "$p" "$rep"; done; fi
				for p in $PRECS; do tl_run "$s" "$th" "$p" "$rep"; done
				peer_run "$s" "$th" torch-fp32,torch-bf16-autocast,torch-bf16,ort-fp32,ort-int8 "$rep"
				continue
			fi
			# alternating: tl and the peers of each precision side by side
			if [ "$s" = sst2 ]; then # the fixed costs, at each precision
				for p in $PRECS; do want "$p" || continue; tl_run empty "$th" "$p" "$rep"; tl_run one "$th" "$p" "$rep"; done
			fi
			if want fp32; then
				tl_run "$s" "$th" fp32 "$rep"
				peer_run "$s" "$th" torch-fp32 "$rep"
				peer_run "$s" "$th" ort-fp32 "$rep"
			fi
			if want bf16; then
				if has bf16; then tl_run "$s" "$th" bf16 "$rep"; fi
				peer_run "$s" "$th" torch-bf16-autocast "$rep"
				peer_run "$s" "$th" torch-bf16 "$rep"
			fi
			if want int8; then
				if has int8; then tl_run "$s" "$th" int8 "$rep"; fi
				peer_run "$s" "$th" ort-int8 "$rep"
				if has int8q; then tl_run "$s" "$th" int8q "$rep"; fi
			fi
		done
	done
	load "after repetition $rep"
done
python3 bench/lowprec_summary.py "$W" "$MODEL/config.json" | tee "$W/summary.md"
echo "raw results: $RES, $W/peaks.tsv, $W/load.txt"
