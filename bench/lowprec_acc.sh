#!/bin/sh
# bench/lowprec_acc.sh [BUILD]: what low precision costs in accuracy, on
# SST-2 ($TL_SHARED/data/sst2), for each precision tl-embed offers (fp32,
# and bf16/int8 when it has --precision; never a made-up figure):
#  1. the sentence embeddings' cosine to fp32's on the dev set (872
#     sentences): min and mean (tl-embed --normalize, mean pooling);
#  2. the frozen-feature classifier at that precision: tl-embed the training
#     and dev sets, tl-train -m linear on the training vectors, tl-predict +
#     tl-eval on the dev vectors: dev accuracy, and its difference from fp32
#     (goals: int8 within 0.5 point, bf16 within 0.2);
#  3. the fp32 classifier applied to that precision's dev vectors (the
#     embedding shift alone, with the classifier held fixed).
# With PyTorch and ONNX Runtime installed (PEERS=1, the default), the
# cosines of PyTorch bf16 (autocast, weights) and ONNX Runtime int8
# embeddings to tl fp32 are shown for scale (bench/lowprec_peers.py).
# Environment: TRAIN_N (first N training sentences; default 0 = all 67,349),
# THREADS (default 2), ACC_DIR (work folder, default out/lowprec/acc).
# Python (numpy) only computes the cosines.
set -e
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=$ROOT/$BUILD/bin
DATA=${TL_SHARED:-$ROOT/../shared}/data/sst2
MODEL=$ROOT/models/all-MiniLM-L6-v2
TRAIN_N=${TRAIN_N:-0}
TH=${THREADS:-2}
W=${ACC_DIR:-$ROOT/out/lowprec/acc}
mkdir -p "$W"
python3 -c 'import numpy' 2>/dev/null || { echo "lowprec_acc.sh: needs python3 with numpy (the cosines)" >&2; exit 1; }

if "$BIN/tl-embed" --help 2>&1 | grep -q -- --precision; then
	PRECS="fp32 bf16 int8"
else
	PRECS="fp32"
	echo "lowprec_acc.sh: $BIN/tl-embed has no --precision: only fp32 is measured" >&2
fi
echo "lowprec_acc.sh: $(uptime)"

"$BIN/tl-clean" "$DATA/dev.tsv" | "$BIN/tl-tokenize" -m "$MODEL" >"$W/dev.s"
if [ "$TRAIN_N" -gt 0 ]; then head -n $((TRAIN_N + 1)) "$DATA/train.tsv"; else cat "$DATA/train.tsv"; fi |
	"$BIN/tl-clean" | "$BIN/tl-tokenize" -m "$MODEL" >"$W/train.s"
ntrain=$(wc -l <"$DATA/train.tsv")
echo "lowprec_acc.sh: train $((ntrain - 1)) sentences available, using ${TRAIN_N} (0 = all); dev 872"

acc() { "$BIN/tl-eval" -j "$1" | python3 -c 'import json,sys; print("%.2f" % (100 * json.load(sys.stdin)["accuracy"]))'; }

for p in $PRECS; do
	opt=
	[ "$PRECS" != fp32 ] && opt="--precision $p"
	for s in dev train; do
		# shellcheck disable=SC2086
		"$BIN/tl-embed" -j "$TH" --normalize -m "$MODEL" $opt "$W/$s.s" >"$W/$s.$p.e"
	done
	"$BIN/tl-cat" -f vec "$W/dev.$p.e" >"$W/dev.$p.jsonl"
	rm -rf "$W/clf.$p"
	"$BIN/tl-train" -m linear --input vec --threads "$TH" -o "$W/clf.$p" "$W/train.$p.e" >"$W/train.$p.log" 2>&1 ||
		{ cat "$W/train.$p.log" >&2; exit 1; }
	"$BIN/tl-predict" -m "$W/clf.$p" "$W/dev.$p.e" >"$W/dev.$p.pred"
	"$BIN/tl-predict" -m "$W/clf.fp32" "$W/dev.$p.e" >"$W/dev.$p.predfp32"
done

{
	echo "| precision | cosine to fp32: min | mean | dev accuracy (own classifier) | vs fp32 | dev accuracy (fp32 classifier) |"
	echo "|---|---|---|---|---|---|"
	a32=$(acc "$W/dev.fp32.pred")
	for p in $PRECS; do
		cos=$(python3 - "$W/dev.fp32.jsonl" "$W/dev.$p.jsonl" <<'PY'
import json, sys
import numpy as np
a, b = ([json.loads(l)["vec"] for l in open(f) if '"vec"' in l] for f in sys.argv[1:3])
a, b = np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)
assert a.shape == b.shape, (a.shape, b.shape)
c = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
print("%.6f | %.6f" % (c.min(), c.mean()))
PY
)
		ap=$(acc "$W/dev.$p.pred")
		af=$(acc "$W/dev.$p.predfp32")
		d=$(awk "BEGIN { printf \"%+.2f\", $ap - $a32 }")
		echo "| $p | $cos | $ap | $d | $af |"
	done
	# the peers' low precision on the same ids, for scale (cosine to tl fp32,
	# which equals PyTorch fp32 within 1e-6)
	if [ "${PEERS:-1}" = 1 ] && python3 -c 'import torch, transformers, onnx, onnxruntime' 2>/dev/null; then
		"$BIN/tl-cat" "$W/dev.s" >"$W/dev.ids.jsonl"
		python3 bench/lowprec_peers.py "$W/dev.ids.jsonl" "$MODEL" --threads "$TH" --cache "$ROOT/out/lowprec/onnx" \
			--engine torch-bf16-autocast,torch-bf16,ort-int8 --save-emb "$W/peer" >"$W/peer.log" 2>&1 ||
			{ cat "$W/peer.log" >&2; exit 1; }
		for e in torch-bf16-autocast torch-bf16 ort-int8; do
			cos=$(python3 - "$W/dev.fp32.jsonl" "$W/peer.$e.npy" <<'PY'
import json, sys
import numpy as np
a = np.array([json.loads(l)["vec"] for l in open(sys.argv[1]) if '"vec"' in l], dtype=np.float64)
b = np.load(sys.argv[2]).astype(np.float64)
c = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
print("%.6f | %.6f" % (c.min(), c.mean()))
PY
)
			echo "| peer $e | $cos | - | - | - |"
		done
	fi
} | tee "$W/summary.md"
echo "lowprec_acc.sh: $(uptime)"
