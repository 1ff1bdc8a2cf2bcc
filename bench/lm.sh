#!/bin/sh
# bench/lm.sh - speed of a whole word-level LSTM language-model training
# step: `tl-train -m lstm-lm` against a PyTorch AWD-LSTM (bench/lm_peer.py)
# of the same sizes, same run.
#
#   sh bench/lm.sh [BIN] [REPS] [STEPS]   (default build/bin, 3, 40)
#
# Data (DATA, default $TL_SHARED/data or ../shared/data): the vocabulary as
# pipelines/ulmfit.mk makes the English general one (tl-clean of the IMDB
# train reviews and SST-2 train sentences, tl-tokenize --mode word
# --build-vocab --min-count 3 --max-vocab 30000: V 30000), and a training
# stream of just enough IMDB train reviews for STEPS windows, tokenized
# with it. The model: --emb 200 --hidden 400 --layers 2 (tl's lm defaults;
# the last layer's hidden size is the embedding's, the decoder tied to it),
# batch 32, bptt 70, tl's default dropouts, AdamW and clipping; the peer
# builds the same (its docstring: each part, and what it does not mirror)
# and must have the same parameter count (printed, checked).
#
# For each repetition, thread count (1, 2) and precision (BENCH_PRECS,
# default "fp32 bf16"), alternately: tl-train -q --max-steps STEPS
# --precision P under /usr/bin/time (peak RSS), then the torch peer with
# the same V, B, T, threads (OMP_NUM_THREADS too) and precision. bf16: tl's
# --precision bf16 (the tied decoder's three products and the LSTM layers'
# products on bf16 operands, fp32 sums; the cells, loss and AdamW fp32;
# until 2026-12-04 the decoder's products only) against torch.autocast
# bf16 around the forward and loss (PyTorch's mixed precision: its LSTM
# in bf16 too). Figures:
#  - tl tokens_per_s: tl.json's metrics.tokens_per_second, the tokens of
#    all STEPS steps over their wall time: the clock starts after the data
#    are read and the model and optimizer built and stops before the model
#    is written, so start-up and saving are out, the first (cold) step is
#    in. tl has no option that fixes the window length: --bptt 70 is the
#    mean (35 with probability 0.05, then a normal draw of deviation 5), so
#    tl's windows average about 68 tokens while torch's are exactly 70; the
#    comparison is per token anyway (tl's per-step costs, AdamW over all
#    parameters, are spread over slightly fewer tokens).
#  - tl step_median_tokens_per_s: from --log, the median over steps 3..STEPS
#    of B * window / step wall time: the statistic torch's side reports.
#  - torch tokens_per_s: B*T / the median of STEPS timed steps after two
#    warm-up steps; peak RSS: the peer's ru_maxrss (torch's import
#    included; autograd holds the whole [B*T, V] logits where tl holds 512
#    rows of them).
# Prints every run, the load (/proc/loadavg) before and after, then per
# thread count the median over repetitions of each side's tokens/s, the
# tl/torch ratios and each side's median peak RSS. OMP_WAIT_POLICY is the
# caller's (printed). On a shared machine the wall figures move with the
# load.
# BENCH_QUICK=1 (bench/need.sh): 200 reviews (vocabulary from them too),
# batch 8, bptt 20, 1 thread, 1 repetition, 3 steps.
set -e
. "$(dirname "$0")/need.sh"
bench_need lm.sh py:torch
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "$1" ]; then BIN=$(cd "$1" && pwd); else BIN=$ROOT/build/bin; fi
REPS=${2:-3}
STEPS=${3:-40}
DATA=${DATA:-${TL_SHARED:-$ROOT/../shared}/data}
cd "$ROOT"
[ -x "$BIN/tl-train" ] || { echo "lm.sh: no $BIN/tl-train: run make first (BIN is the tools' folder, e.g. build/bin)" >&2; exit 1; }
for f in "$DATA/imdb/train.tsv.gz" "$DATA/sst2/train.tsv"; do
	[ -f "$f" ] || { echo "lm.sh: no $f (DATA=$DATA)" >&2; exit 1; }
done
B=32 T=70 E=200 H=400 L=2
THREADS="1 2"
PRECS=${BENCH_PRECS:-fp32 bf16}
QUICK=0
if bench_quick; then
	QUICK=1 B=8 T=20 THREADS=1 REPS=1 STEPS=3
fi
# reviews for STEPS windows of at most T + 20 tokens in each of B streams
# (an IMDB review is about 280 ids), with a margin
NREV=$((B * (STEPS + 2) * (T + 20) / 200 + 200))
[ "$QUICK" = 1 ] && NREV=200
[ "$NREV" -gt 25000 ] && NREV=25000
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
zcat "$DATA/imdb/train.tsv.gz" | head -n $((NREV + 1)) | "$BIN/tl-clean" >"$W/train.s"
if [ "$QUICK" = 1 ]; then
	cp "$W/train.s" "$W/general.s"
else
	zcat "$DATA/imdb/train.tsv.gz" | "$BIN/tl-clean" >"$W/imdb.s"
	"$BIN/tl-clean" "$DATA/sst2/train.tsv" >"$W/sst.s"
	"$BIN/tl-cat" "$W/imdb.s" "$W/sst.s" | "$BIN/tl-cat" -t msgpack >"$W/general.s"
	rm -f "$W/imdb.s" "$W/sst.s"
fi
"$BIN/tl-tokenize" --mode word --build-vocab "$W/v.txt" --min-count 3 --max-vocab 30000 "$W/general.s" >/dev/null 2>&1
"$BIN/tl-tokenize" --mode word --vocab "$W/v.txt" "$W/train.s" >"$W/train.ids"
rm -f "$W/general.s" "$W/train.s"
V=$(wc -l <"$W/v.txt")
V=$((V + 0))
echo "lm.sh: V $V, $NREV IMDB train reviews; emb $E hidden $H layers $L, batch $B, bptt $T, $STEPS steps, $REPS repetitions"
echo "OMP_WAIT_POLICY: ${OMP_WAIT_POLICY:-unset (OpenMP's default)}"
echo "torch: $( [ "$BENCH_PEER" = 1 ] && python3 -c 'import torch; print(torch.__version__)' || echo 'not run')"

# st_params DIR: the number of values in DIR/model.safetensors (its header)
st_params() {
	n=$(od -An -tu8 -N8 "$1/model.safetensors" | tr -d ' ')
	dd if="$1/model.safetensors" bs=1 skip=8 count="$n" 2>/dev/null |
		jq '[to_entries[] | select(.key != "__metadata__") | .value.shape | reduce .[] as $x (1; . * $x)] | add'
}

echo "load before: $(cat /proc/loadavg) ($(nproc) cores)"
RES=$W/res
: >"$RES"
for rep in $(seq "$REPS"); do
	for th in $THREADS; do
	for prec in $PRECS; do
		rm -rf "$W/m"
		ASAN_OPTIONS=detect_leaks=0 /usr/bin/time -f %M -o "$W/rss" "$BIN/tl-train" -q --force --seed 1 --threads "$th" \
			-m lstm-lm -o "$W/m" --vocab "$W/v.txt" --emb "$E" --hidden "$H" --layers "$L" --batch-size "$B" \
			--bptt "$T" --max-steps "$STEPS" --precision "$prec" --log "$W/log" "$W/train.ids"
		steps=$(jq .steps "$W/m/tl.json")
		[ "$steps" = "$STEPS" ] || { echo "lm.sh: tl-train ran $steps steps, not $STEPS: the stream is too short" >&2; exit 1; }
		tv=$(jq .vocab_size "$W/m/config.json")
		[ "$tv" = "$V" ] || { echo "lm.sh: tl's model has V $tv, the vocabulary file $V lines" >&2; exit 1; }
		tps=$(jq .metrics.tokens_per_second "$W/m/tl.json")
		tlp=$(st_params "$W/m")
		# the log's step lines: per-step wall time and window; the median
		# after two warm-up steps, and the mean window
		med=$(jq -r 'select(.step) | "\(.elapsed) \(.bptt)"' "$W/log" | awk -v B="$B" '
			{ dt = $1 - prev; prev = $1; n++; w += $2; if (n > 2 && dt > 0) r[++k] = B * $2 / dt }
			END {
				for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
				printf "%.0f %.1f", k ? r[int((k + 1) / 2)] : 0, n ? w / n : 0
			}')
		printf 'tl lm V %s B %s T %s threads %s: tokens_per_s %.0f step_median_tokens_per_s %s mean_window %s peak_rss_mb %.0f params %s prec %s\n' \
			"$V" "$B" "$T" "$th" "$tps" ${med} "$(($(cat "$W/rss") / 1024))" "$tlp" "$prec" | tee -a "$RES"
		[ "$BENCH_PEER" = 1 ] || continue
		OMP_NUM_THREADS=$th python3 bench/lm_peer.py "$V" "$B" "$T" "$th" "$STEPS" "$E" "$H" "$L" "$prec" | tee -a "$RES"
	done
	done
done
echo "load after: $(cat /proc/loadavg)"
# summary: medians over repetitions, per thread count
awk '
function val(name,   i) { for (i = 1; i <= NF; i++) if ($i == name) return $(i + 1); return "" }
function med(s,   a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n ? a[int((n + 1) / 2)] : 0
}
$2 == "lm" {
	th = $10; sub(":", "", th); k = th " " val("prec"); ks[k] = 1
	tok[$1, k] = tok[$1, k] " " val("tokens_per_s"); rss[$1, k] = rss[$1, k] " " val("peak_rss_mb")
	par[$1] = val("params")
	if ($1 == "tl") step[k] = step[k] " " val("step_median_tokens_per_s")
}
END {
	if (("torch") in par)
		printf "params: tl %s (model.safetensors), torch %s: %s\n", par["tl"], par["torch"], par["tl"] == par["torch"] ? "the same" : "DIFFER"
	for (k in ks) {
		split(k, a, " ")
		tt = med(tok["tl", k]); ts = med(step[k])
		line = sprintf("summary threads %s %s: tl %.0f tokens/s (tl.json) %.0f (median step), peak RSS %.0f MB", a[1], a[2], tt, ts, med(rss["tl", k]))
		if (("torch", k) in tok) {
			pt = med(tok["torch", k])
			line = line sprintf("; torch %.0f tokens/s, peak RSS %.0f MB; tl/torch %.2fx (tl.json) %.2fx (median step)", pt, med(rss["torch", k]), tt / pt, ts / pt)
		}
		print line
	}
}' "$RES" | sort
