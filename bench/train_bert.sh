#!/bin/sh
# bench/train_bert.sh - training throughput of `tl-train -m bert` against
# PyTorch/transformers (bench/train_bert_torch.py), side by side in one run:
# same model (all-MiniLM-L6-v2), same token ids (SST-2 train), batch 32,
# dynamic padding with length bucketing for both, same thread count, STEPS
# optimizer steps each (the first 3 are not timed), REPS repetitions
# alternating the two, median reported. Also the sgemm peak of the machine
# (bench/sgemm_peak.c) and the peak RSS of each (GNU time).
#
# usage: sh bench/train_bert.sh [BIN] [STEPS] [THREADS] [REPS]
# Training FLOPs per token for MiniLM-L6-H384 (6 layers, C 384, I 1536):
# 3 x 2 x (4 C^2 + 2 C I) x 6 = 63.7 MFLOP (forward + backward, matmuls only).
set -e
BIN=${1:-build/bin}
STEPS=${2:-60}
TH=${3:-2}
REPS=${4:-2}
M=${MODEL:-models/all-MiniLM-L6-v2}
S=${TL_SHARED:-../shared}/data/sst2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
head -20001 "$S/train.tsv" | "$BIN/tl-clean" | "$BIN/tl-tokenize" -m "$M" >"$W/train.s"
"$BIN/tl-cat" "$W/train.s" >"$W/train.jsonl"
cc -O2 -o "$W/sgemm_peak" bench/sgemm_peak.c $(pkg-config --cflags --libs openblas)
echo "sgemm peak ($TH threads): $("$W/sgemm_peak" "$TH" | sed -n 's/^peak //p')"
for r in $(seq "$REPS"); do
	rm -rf "$W/m"
	/usr/bin/time -f "%M" -o "$W/tl.rss" "$BIN/tl-train" -m bert --pretrained "$M" -o "$W/m" -q --threads "$TH" \
		--max-steps "$STEPS" --log "$W/tl.log" "$W/train.s"
	jq -s --arg rss "$(cat "$W/tl.rss")" '[.[] | select(.event == "step")] as $s |
		($s[3:] | map(.tokens_per_s) | length) as $n |
		{peer: "tl", steps: ($s | length), seconds: ($s[-1].elapsed - $s[2].elapsed),
		 loss: $s[-1].loss, peak_rss_kb: ($rss | tonumber)}' "$W/tl.log" >"$W/tl.json"
	# tokens of steps 4..N from the per-step figures
	tok=$(jq -s '[.[] | select(.event == "step")] | .[3:] | map(.tokens_per_s) | length' "$W/tl.log")
	/usr/bin/time -f "%M" -o "$W/pt.rss" python3 bench/train_bert_torch.py "$M" "$W/train.jsonl" "$STEPS" 32 "$TH" \
		2>/dev/null >"$W/pt.json"
	echo "rep $r tl: $(cat "$W/tl.json" | jq -c .) tokens_timed: $(jq -r '.tokens' "$W/pt.json" 2>/dev/null) (peer's count)"
	echo "rep $r pytorch: $(jq -c --arg rss "$(cat "$W/pt.rss")" '. + {peak_rss_kb: ($rss | tonumber)}' "$W/pt.json")"
	: "$tok"
done
