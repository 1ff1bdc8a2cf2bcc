#!/bin/sh
# tl-eval against scikit-learn on the same predictions: N records, 4 classes
# with probabilities (AG News-like). Usage: sh bench/eval.sh [BUILD] [N]
# Prints the wall time of each run; run it at least twice and take medians.
# BENCH_QUICK=1 (bench/need.sh): 2,000 records, one run (without numpy the
# records then come from awk's generator).
set -e
. "$(dirname "$0")/need.sh"
bench_need eval.sh py:numpy py:sklearn
BUILD=${1:-build}
N=${2:-200000}
ROUNDS=3
bench_quick && N=2000 ROUNDS=1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if ! python3 -c 'import numpy' 2>/dev/null; then
	awk -v n="$N" 'BEGIN { srand(1); split("Business Sci/Tech Sports World", L, " ")
		for (i = 1; i <= n; i++) { g = 1 + int(rand() * 4); s = 0
			for (j = 1; j <= 4; j++) { z[j] = exp(rand() * 2 + (j == g) * 1.5); s += z[j] }
			b = 1; for (j = 2; j <= 4; j++) if (z[j] > z[b]) b = j
			printf "{\"id\":%d,\"label\":\"%s\",\"pred\":\"%s\",\"probs\":{", i, L[g], L[b]
			for (j = 1; j <= 4; j++) printf "%s\"%s\":%.6f", (j > 1 ? "," : ""), L[j], z[j] / s
			print "}}" } }' >"$T/p.jsonl"
else python3 - "$N" >"$T/p.jsonl" <<'PY'
import json, sys
import numpy as np
rng = np.random.default_rng(1)
L = ["Business", "Sci/Tech", "Sports", "World"]
n = int(sys.argv[1])
for i in range(n):
    g = int(rng.integers(0, 4))
    z = rng.normal(size=4); z[g] += 1.5
    p = np.exp(z) / np.exp(z).sum()
    print(json.dumps({"id": i + 1, "label": L[g], "pred": L[int(p.argmax())],
                      "probs": {l: float(p[j]) for j, l in enumerate(L)}}))
PY
fi
"$BUILD/bin/tl-cat" -t msgpack "$T/p.jsonl" >"$T/p.s"
echo "records: $N; stream $(wc -c <"$T/p.s") bytes, JSON lines $(wc -c <"$T/p.jsonl") bytes"
for i in $(seq "$ROUNDS"); do
	s=$(date +%s.%N)
	"$BUILD/bin/tl-eval" --json "$T/p.s" >"$T/out.json"
	e=$(date +%s.%N)
	echo "tl-eval --json (stream): $(echo "$e - $s" | bc) s; accuracy $(jq .accuracy "$T/out.json") roc_auc $(jq .roc_auc "$T/out.json")"
	[ "$BENCH_PEER" = 1 ] || continue
	s=$(date +%s.%N)
	python3 "$(dirname "$0")/eval_peer.py" "$T/p.jsonl" >"$T/peer.txt"
	e=$(date +%s.%N)
	echo "scikit-learn (JSON lines): $(echo "$e - $s" | bc) s wall (python start + $(cat "$T/peer.txt"))"
done
