#!/usr/bin/env python3
"""Summary of bench/lowprec.sh: a Markdown table of tokens/s (medians), the
ratios the issue asks for, and each engine as a fraction of its precision's
peak measured by bench/gemm_peak.c in the same run.

usage: lowprec_summary.py RUN_DIR CONFIG.json
RUN_DIR holds results.tsv (set, threads, engine, rep, wall seconds, CPU
seconds), peaks.tsv (peak, rep, name, threads, value|absent, unit|why, wall
value) and SET.jsonl (the token ids). The peaks are per second of thread CPU
time (see bench/gemm_peak.c), the engines' GFLOP/s per wall second: on a
loaded machine the fraction of peak per wall second understates; the one
per CPU-second (useful FLOPs / CPU seconds of the run / the peak of one
thread's CPU-second, i.e. the THREADS-thread peak / THREADS) does not (with 2
threads it charges waiting threads too).

Useful FLOPs of a BERT encoder (MiniLM-L6: L=6 layers, C=384, I=1536),
2 per multiply-add, the GEMMs only (embeddings, LayerNorm, softmax, GELU,
pooling not counted), on the real tokens (padding not counted), for a
sequence of n tokens:
    per layer: 2*n*(4*C*C + 2*C*I)      Q, K, V, output projections; FFN in and out
             + 2*2*n*n*C                 Q.K^T and P.V over all heads
    FLOPs(n) = L * (2*n*(4*C*C + 2*C*I) + 4*n*n*C)
MiniLM-L6: 21.2 MFLOP per token plus 9,216*n FLOP per token of attention.
"""
import json
import statistics
import sys
from collections import defaultdict

run, cfgpath = sys.argv[1:3]
cfg = json.load(open(cfgpath))
L, C, I = cfg["num_hidden_layers"], cfg["hidden_size"], cfg["intermediate_size"]


def flops(n):
    return L * (2 * n * (4 * C * C + 2 * C * I) + 4 * n * n * C)


sets = {}  # tl-embed on "empty" (no record) and "one" (one sentence) time its fixed cost per precision
for s in ("sst2", "imdb"):
    lens = [len(json.loads(line)["ids"]) for line in open(f"{run}/{s}.jsonl") if '"ids"' in line]
    sets[s] = (len(lens), sum(lens), sum(flops(n) for n in lens))

secs = defaultdict(list)
cpus = defaultdict(list)
for line in open(f"{run}/results.tsv"):
    s, th, eng, rep, sec, cpu = line.rstrip("\n").split("\t")
    secs[(s, int(th), eng)].append(float(sec))
    cpus[(s, int(th), eng)].append(float(cpu))

peaks = {}  # (name, threads) -> best value, or "absent: why"
for line in open(f"{run}/peaks.tsv"):
    f = line.rstrip("\n").split("\t")
    name, th, val = f[2], int(f[3]), f[4]
    if val == "absent":
        peaks[(name, th)] = "absent: " + f[5]
    else:
        old = peaks.get((name, th))
        peaks[(name, th)] = max(float(val), old if isinstance(old, float) else 0.0)


def peak_of(prec, th):
    order = {"fp32": ["fp32_zmm", "fp32_ymm"], "bf16": ["amx_bf16", "bf16_dp"],
             "int8": ["amx_int8", "int8_vnni"]}[prec]
    for name in order:
        v = peaks.get((name, th))
        if isinstance(v, float):
            return name, v
    return None, None


# tl-int8q: tl int8 on tl-quantize's model (quantized before the timing, as ORT int8's model is)
PREC = {"tl-fp32": "fp32", "tl-bf16": "bf16", "tl-int8": "int8", "tl-int8q": "int8", "torch-fp32": "fp32",
        "torch-bf16-autocast": "bf16", "torch-bf16": "bf16", "ort-fp32": "fp32", "ort-int8": "int8"}
ORDER = list(PREC)

print("## gemm_peak (best of the repetitions; 2 ops per multiply-add)\n")
ths = sorted({k[1] for k in peaks})
print("| path | " + " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in ths) + " |")
print("|---|" + "---|" * len(ths))
for name in ("fp32_ymm", "fp32_zmm", "bf16_dp", "int8_vnni", "amx_bf16", "amx_int8"):
    unit = "GOP/s" if "int8" in name else "GFLOP/s"
    cells = []
    for t in ths:
        v = peaks.get((name, t))
        cells.append(f"{v:.1f} {unit}" if isinstance(v, float) else (v or "-"))
    print(f"| {name} | " + " | ".join(cells) + " |")

for s, (n, tok, fl) in sets.items():
    print(f"\n## {s}: {n} sequences, {tok} tokens, {fl / 1e9:.2f} useful GFLOP per pass\n")
    print("| threads | engine | tokens/s (median) | runs (tokens/s) | GFLOP/s | of peak (wall / CPU) | tokens/CPU-s | tl tokens/CPU-s without its fixed cost | tl tokens/s without it |")
    print("|---|---|---|---|---|---|---|---|---|")
    med, med_cpu, med_cpu_nofixed = {}, {}, {}
    for th in sorted({k[1] for k in secs if k[0] == s}):
        for eng in ORDER:
            v = secs.get((s, th, eng))
            if not v:
                continue
            m = statistics.median(v)
            med[(th, eng)] = tok / m
            pname, pk = peak_of(PREC[eng], th)
            gf = fl / m / 1e9
            cm = statistics.median(cpus[(s, th, eng)])
            frac = (f"{100 * gf / pk:.0f}% / {100 * fl / cm / 1e9 / (pk / th):.0f}% of {pname}" if pk
                    else "no peak measured")
            runs = ", ".join(f"{tok / x:,.0f}" for x in v)
            noload = nocpu = "-"
            # tl's fixed cost at its own precision: the one-sentence run (loading + the weights'
            # preparation); older runs only timed the empty stream at fp32
            fx = secs.get(("one", th, eng)) or secs.get(("empty", th, eng)) or secs.get(("empty", th, "tl-fp32"))
            fxc = cpus.get(("one", th, eng)) or cpus.get(("empty", th, eng)) or cpus.get(("empty", th, "tl-fp32"))
            if eng.startswith("tl-") and fx and m > statistics.median(fx):
                fm, fc = statistics.median(fx), statistics.median(fxc)
                noload = f"{tok / (m - fm):,.0f} (fixed {fm:.2f} s)"
                if cm > fc:
                    nocpu = f"{tok / (cm - fc):,.0f} (fixed {fc:.2f} CPU-s)"
                    med_cpu_nofixed[(th, eng)] = tok / (cm - fc)
            med_cpu[(th, eng)] = tok / cm
            print(f"| {th} | {eng} | {tok / m:,.0f} | {runs} | {gf:.1f} | {frac} | {tok / cm:,.0f} | {nocpu} | {noload} |")
    print()
    for th in sorted({k[0] for k in med}):
        def ratio(a, b_list, label):
            b_ok = [(med[(th, b)], b) for b in b_list if (th, b) in med]
            if (th, a) not in med:
                return f"- {th} thread(s): {label}: n/a ({a} not measured: not in BENCH_PRECS, or tl-embed without --precision)"
            if not b_ok:
                return f"- {th} thread(s): {label}: n/a (peer not measured)"
            bv, bn = max(b_ok)
            out = f"- {th} thread(s): {label}: wall {med[(th, a)] / bv:.2f}x ({a} {med[(th, a)]:,.0f} / {bn} {bv:,.0f} tokens/s)"
            # per CPU-second: the peer with the best tokens/CPU-s; tl with its fixed cost, then without it
            bc, bcn = max((med_cpu[(th, b)], b) for b in b_list if (th, b) in med_cpu)
            out += f"; per CPU-s {med_cpu[(th, a)] / bc:.2f}x with tl's fixed cost"
            if (th, a) in med_cpu_nofixed:
                out += f", {med_cpu_nofixed[(th, a)] / bc:.2f}x without it"
            return out + f" ({bcn} {bc:,.0f} tokens/CPU-s)"
        print(ratio("tl-int8", ["ort-int8"], "tl int8 / ONNX Runtime int8 (goal >= 1.5)"))
        if (th, "tl-int8q") in med:
            print(ratio("tl-int8q", ["ort-int8"], "tl int8, tl-quantize's model / ONNX Runtime int8 (goal >= 1.5)"))
        print(ratio("tl-bf16", ["torch-bf16-autocast", "torch-bf16"], "tl bf16 / best PyTorch bf16 (goal >= 1.5)"))
        print(ratio("tl-fp32", ["torch-fp32", "ort-fp32"], "tl fp32 / best fp32 peer"))

try:
    print("\nmachine load:")
    print(open(f"{run}/load.txt").read().rstrip())
except OSError:
    pass
