#!/bin/sh
# bench/prune.sh [BUILD]: accuracy and tl-predict throughput of a
# tl-fine-tuned all-MiniLM-L6-v2 on SST-2 dev ($TL_SHARED/data/sst2, 872
# sentences) with 0, 25 and 50% of its 72 attention heads removed by
# tl-prune (head importance, Michel et al. 2019, on IMP_N training
# sentences that the classifier was trained on).
# The classifier: tl-train -m bert, 1 epoch on the first TRAIN_N training
# sentences (default 8000), batch 32, lr 5e-5, seed 42 (a short run: the
# figures are about what pruning costs, not the best SST-2 model);
# FT=DIR uses an existing fine-tuned model instead.
# Throughput: tokens (the dev set's ids) per second of tl-predict, wall and
# CPU (user + sys) time, best of REPS (default 3) runs with THREADS threads
# (default 2), fp32; on a loaded machine the CPU figure (THREADS=1) is the
# steadier one. SKIP_PRUNE=1 reuses the pruned models of an earlier run.
# Environment: TRAIN_N, IMP_N (default 1000), THREADS, REPS, W (work folder,
# default out/prune). No Python (jq reads the JSON).
set -e
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=$ROOT/$BUILD/bin
DATA=${TL_SHARED:-$ROOT/../shared}/data/sst2
MODEL=$ROOT/models/all-MiniLM-L6-v2
TRAIN_N=${TRAIN_N:-8000}
IMP_N=${IMP_N:-1000}
TH=${THREADS:-2}
REPS=${REPS:-3}
W=${W:-$ROOT/out/prune}
mkdir -p "$W"
echo "prune.sh: $(uptime)"

"$BIN/tl-clean" "$DATA/dev.tsv" | "$BIN/tl-tokenize" -m "$MODEL" >"$W/dev.s"
head -n $((TRAIN_N + 1)) "$DATA/train.tsv" | "$BIN/tl-clean" | "$BIN/tl-tokenize" -m "$MODEL" >"$W/train.s"
FT=${FT:-$W/ft}
if [ ! -f "$FT/config.json" ]; then
	"$BIN/tl-train" -m bert --pretrained "$MODEL" -o "$FT" --epochs 1 --batch-size 32 --lr 5e-5 --seed 42 \
		--threads "$TH" --dev "$W/dev.s" "$W/train.s" >"$W/train.log" 2>&1 || { cat "$W/train.log" >&2; exit 1; }
fi
tokens=$("$BIN/tl-cat" -f ids "$W/dev.s" | awk -F, '/\[/ { n += NF } END { print n }')

for pct in 25 50; do
	[ "${SKIP_PRUNE:-0}" = 1 ] && [ -f "$W/p$pct/config.json" ] && continue
	rm -rf "$W/p$pct"
	/usr/bin/time -f "%e" -o "$W/p$pct.time" "$BIN/tl-prune" -m "$FT" -o "$W/p$pct" --heads "0.$pct" \
		--max-records "$IMP_N" --threads "$TH" --importance-out "$W/p$pct.importance.json" "$W/train.s" 2>"$W/p$pct.log"
done

echo "| heads removed | heads kept | dev accuracy | tl-predict tokens/s wall (fp32, $TH threads) | tokens per CPU-second | model.safetensors MB |"
echo "|---|---|---|---|---|---|"
for m in ft p25 p50; do
	d=$FT
	[ "$m" != ft ] && d=$W/$m
	"$BIN/tl-predict" -j "$TH" -m "$d" "$W/dev.s" >"$W/$m.pred"
	acc=$("$BIN/tl-eval" -j "$W/$m.pred" | jq .accuracy)
	best=
	bcpu=
	i=0
	while [ $i -lt "$REPS" ]; do
		/usr/bin/time -f "%e %U %S" -o "$W/$m.t" "$BIN/tl-predict" -j "$TH" -m "$d" "$W/dev.s" >/dev/null
		t=$(awk '{ print $1 }' "$W/$m.t")
		cpu=$(awk '{ print $2 + $3 }' "$W/$m.t")
		best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
		bcpu=$(awk -v a="$bcpu" -v b="$cpu" 'BEGIN { print (a == "" || b < a) ? b : a }')
		i=$((i + 1))
	done
	kept=$(jq '.num_hidden_layers * .num_attention_heads - ([.pruned_heads // {} | .[] | length] | add // 0)' "$d/config.json")
	size=$(stat -L -c %s "$d/model.safetensors")
	awk -v m="$m" -v k="$kept" -v a="$acc" -v tok="$tokens" -v t="$best" -v c="$bcpu" -v s="$size" 'BEGIN {
		printf "| %s | %d | %.2f%% | %.0f | %.0f | %.1f |\n", (m == "ft" ? "0%" : m == "p25" ? "25%" : "50%"), k, 100 * a,
			tok / t, tok / c, s / 1e6 }'
done
echo "prune.sh: importance on $IMP_N training records: $(cat "$W/p25.time") s (25%), $(cat "$W/p50.time") s (50%); dev tokens $tokens"
echo "prune.sh: $(uptime)"
