#!/bin/sh
# tl-eval against scikit-learn on the same predictions: N records, 4 classes
# with probabilities (AG News-like). Usage: sh bench/eval.sh [BUILD] [N]
# Prints the wall time of each run; run it at least twice and take medians.
set -e
. "$(dirname "$0")/need.sh"
bench_need eval.sh py:numpy py:sklearn
BUILD=${1:-build}
N=${2:-200000}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 - "$N" >"$T/p.jsonl" <<'PY'
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
"$BUILD/bin/tl-cat" -t msgpack "$T/p.jsonl" >"$T/p.s"
echo "records: $N; stream $(wc -c <"$T/p.s") bytes, JSON lines $(wc -c <"$T/p.jsonl") bytes"
for i in 1 2 3; do
	s=$(date +%s.%N)
	"$BUILD/bin/tl-eval" --json "$T/p.s" >"$T/out.json"
	e=$(date +%s.%N)
	echo "tl-eval --json (stream): $(echo "$e - $s" | bc) s; accuracy $(jq .accuracy "$T/out.json") roc_auc $(jq .roc_auc "$T/out.json")"
	s=$(date +%s.%N)
	python3 "$(dirname "$0")/eval_peer.py" "$T/p.jsonl" >"$T/peer.txt"
	e=$(date +%s.%N)
	echo "scikit-learn (JSON lines): $(echo "$e - $s" | bc) s wall (python start + $(cat "$T/peer.txt"))"
done
