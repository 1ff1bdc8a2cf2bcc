#!/usr/bin/env python3
"""Peer for bench/eval.sh: the figures tl-eval --json computes, with
scikit-learn, from the same predictions as JSON lines.
Prints the seconds spent loading and computing."""
import json, sys, time
import numpy as np
from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix, log_loss,
                             precision_recall_fscore_support, roc_auc_score)

t0 = time.time()
recs = [json.loads(l) for l in open(sys.argv[1])]
L = sorted({r["label"] for r in recs} | {r["pred"] for r in recs})
y = [r["label"] for r in recs]
p = [r["pred"] for r in recs]
P = np.array([[r["probs"].get(l, 0.0) for l in L] for r in recs])
t1 = time.time()
out = {"accuracy": accuracy_score(y, p)}
for avg in ("macro", "micro", "weighted"):
    out[avg] = precision_recall_fscore_support(y, p, average=avg, zero_division=0)[:3]
out["per_class"] = precision_recall_fscore_support(y, p, labels=L, zero_division=0)
out["confusion"] = confusion_matrix(y, p, labels=L)
out["log_loss"] = log_loss(y, P, labels=L)
yi = np.array([L.index(v) for v in y])
out["roc_auc"] = roc_auc_score(y, P, multi_class="ovr", labels=L)
out["pr_auc"] = float(np.mean([average_precision_score(yi == c, P[:, c]) for c in range(len(L))]))
conf, ok = P.max(1), P.argmax(1) == yi
b = np.minimum(np.floor(conf * 10).astype(int), 9)
out["ece"] = sum((b == i).sum() / len(conf) * abs(ok[b == i].mean() - conf[b == i].mean()) for i in range(10) if (b == i).any())
t2 = time.time()
print(f"load {t1 - t0:.3f} metrics {t2 - t1:.3f} total {t2 - t0:.3f} accuracy {out['accuracy']:.6f} roc_auc {out['roc_auc']:.6f}")
