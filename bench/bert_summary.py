#!/usr/bin/env python3
"""Summarise bench/bert.sh's results.tsv into the README's table (medians)."""
import json
import statistics
import sys

res, w = sys.argv[1:3]
C, I, L = 384, 1536, 6
lens = {s: [len(json.loads(l)["ids"]) for l in open(f"{w}/{s}.jsonl")] for s in ("sst2", "imdb")}
# useful FLOPs of the encoder on the real tokens (no padding)
flops = {s: sum(L * (2 * n * (4 * C * C + 2 * C * I) + 4 * n * n * C) for n in v) for s, v in lens.items()}
rows = {}
for line in open(res):
    f = line.rstrip("\n").split("\t")
    rows.setdefault((f[0], f[1], f[2]), []).append(f)
peak = {th: statistics.median(float(r[3]) for r in rows[("sgemm", "-", th)]) for th in ("1", "2") if ("sgemm", "-", th) in rows}
print("GEMM peak GFLOP/s (median; best of OpenBLAS and tl's prepared product): " + ", ".join(f"{th} thread(s) {p:.1f}" for th, p in peak.items()))
print()
print("| set | threads | program | runs | sentences/s | tokens/s | peak RSS MB | speed vs torch (dynamic) | GFLOP/s | of GEMM peak |")
print("|---|---|---|---|---|---|---|---|---|---|")
for s in ("sst2", "imdb"):
    for th in ("1", "2"):
        base = {}
        for prog in ("torch-embed-dynamic", "torch-embed-max_length", "tl-embed", "torch-predict-dynamic", "tl-predict"):
            r = rows.get((prog, s, th))
            if not r or th not in peak:
                continue
            if prog.startswith("torch"):
                secs = statistics.median(float(x[5].split("seconds=")[1]) for x in r)
            else:
                secs = statistics.median(float(x[3]) for x in r)
            rss = statistics.median(float(x[4]) for x in r) / 1024
            n, tok = len(lens[s]), sum(lens[s])
            kind = "embed" if "embed" in prog else "predict"
            if prog.endswith("dynamic"):
                base[kind] = secs
            ratio = f"{base[kind] / secs:.2f}x" if kind in base else "-"
            gf = flops[s] / secs / 1e9
            print(f"| {s} | {th} | {prog} | {len(r)} | {n / secs:.0f} | {tok / secs:.0f} | {rss:.0f} | {ratio} | {gf:.1f} | {100 * gf / peak[th]:.0f}% |")
