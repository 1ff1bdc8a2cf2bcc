#!/usr/bin/env python3
"""Check that Hugging Face transformers loads a directory written by
`tl-train -m bert --objective mlm` as BertForMaskedLM with no missing
weights, and gives the MLM logits and loss of tl's forward of the same
weights.

Usage (after `make all`; needs torch and transformers, not run by CI):
  python3 tests/ref/mlm_hf_check.py DIR [--build build] [--n 4] [--tol 1e-4]

It builds tests/ref/mlm_logits.c against BUILD/libtl.a, draws N sequences
of ids from the directory's vocabulary ([CLS] ids.. [SEP], lengths 8..24
or up to max_position_embeddings, numpy seed 0), runs both sides and prints: the loading info (missing,
unexpected and mismatched keys: all must be empty), the largest absolute
logit difference over every position and word, and the two losses with
every inner position labelled by its own id (tl_bert_train_mlm_loss
against BertForMaskedLM(labels=...).loss). Exits 1 when a key is missing
or the difference exceeds --tol (logits; loss: tol / 10 relative).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from transformers import BertForMaskedLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--build", default="build")
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    torch.set_num_threads(2)
    model, info = BertForMaskedLM.from_pretrained(a.model, output_loading_info=True)
    model.eval()
    bad = {k: v for k, v in info.items() if v}
    print("%s: loading info: %s" % (a.model, bad if bad else "no missing, unexpected or mismatched keys"))
    cfg = json.load(open(a.model + "/config.json"))
    V = cfg["vocab_size"]
    vocab = open(a.model + "/vocab.txt", encoding="utf-8").read().split("\n")
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    firsts = [i for i, t in enumerate(vocab[:V]) if not (t.startswith("[") and t.endswith("]"))]
    rng = np.random.default_rng(0)
    top = min(24, cfg["max_position_embeddings"]) - 2  # inner ids
    seqs = [[cls] + [int(x) for x in rng.choice(firsts, size=int(rng.integers(min(6, top), top + 1)))] + [sep]
            for _ in range(a.n)]
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "mlm_logits")
        libs = subprocess.check_output(["pkg-config", "--libs", "msgpack", "jansson", "libutf8proc", "openblas",
                                        "zlib"], text=True).split()
        subprocess.check_call(["cc", "-O2", "-std=c11", "-D_GNU_SOURCE", "-I" + os.path.join(root, "include"), "-o",
                               exe, os.path.join(root, "tests/ref/mlm_logits.c"),
                               os.path.join(a.build, "libtl.a")] + libs + ["-fopenmp", "-lm"])
        inp = "".join(json.dumps({"ids": s}) + "\n" for s in seqs)
        out = subprocess.run([exe, a.model], input=inp, capture_output=True, text=True, check=True).stdout
    worst, worst_loss = 0.0, 0.0
    for s, line in zip(seqs, out.splitlines()):
        r = json.loads(line)
        ids = torch.tensor([s])
        labels = ids.clone()
        labels[0, 0] = labels[0, -1] = -100
        with torch.no_grad():
            o = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels)
        ref = torch.tensor(r["logits"], dtype=torch.float64)
        worst = max(worst, (o.logits[0].double() - ref).abs().max().item())
        worst_loss = max(worst_loss, abs(o.loss.item() - r["loss"]) / abs(o.loss.item()))
        print("  %d ids: loss transformers %.7f, tl %.7f" % (len(s), o.loss.item(), r["loss"]))
    print("%s: %d sequences, max |logit(transformers) - logit(tl)| = %.3g, max relative loss difference %.3g"
          % (a.model, len(seqs), worst, worst_loss))
    return 0 if not bad and worst <= a.tol and worst_loss <= a.tol / 10 else 1


if __name__ == "__main__":
    sys.exit(main())
