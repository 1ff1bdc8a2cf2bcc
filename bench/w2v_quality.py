#!/usr/bin/env python3
"""Quality check of word vectors in the word2vec text format: nearest
neighbours of common words, and accuracy@1 on bench/w2v_analogies.txt
(3CosAdd, the three input words excluded).
usage: w2v_quality.py VECTORS.txt [ANALOGIES]"""
import sys
import numpy as np

path = sys.argv[1]
ana = sys.argv[2] if len(sys.argv) > 2 else __file__.rsplit("/", 1)[0] + "/w2v_analogies.txt"
with open(path, encoding="utf-8") as f:
    n, d = map(int, f.readline().split())
    words, vecs = [], np.zeros((n, d), dtype=np.float32)
    for i, line in enumerate(f):
        p = line.rstrip("\n").split(" ")
        words.append(p[0])
        vecs[i] = np.asarray(p[1:], dtype=np.float32)
idx = {w: i for i, w in enumerate(words)}
U = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
for w in ["good", "bad", "movie", "actor", "funny", "boring", "great", "awful"]:
    if w in idx:
        s = U @ U[idx[w]]
        s[idx[w]] = -2
        top = np.argsort(-s)[:8]
        print(f"{w}: " + " ".join(f"{words[j]}({s[j]:.2f})" for j in top))
hit = tot = skipped = 0
for line in open(ana, encoding="utf-8"):
    if line.startswith("#") or not line.strip():
        continue
    a, b, c, dd = line.split()
    if any(x not in idx for x in (a, b, c, dd)):
        skipped += 1
        continue
    q = U[idx[b]] - U[idx[a]] + U[idx[c]]
    s = U @ q
    for x in (a, b, c):
        s[idx[x]] = -2
    tot += 1
    hit += words[int(np.argmax(s))] == dd
print(f"analogies: {hit}/{tot} correct at 1 ({100.0 * hit / max(tot, 1):.1f}%), {skipped} skipped (out of vocabulary)")
