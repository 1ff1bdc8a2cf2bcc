#!/usr/bin/env python3
"""Check that Hugging Face transformers loads a model directory written by
`tl-train -m bert` and gives the same logits as tl-predict.

Usage:
  tl-clean dev.tsv | tl-tokenize -m MODEL | tl-predict -m MODEL --logits \
      | tl-cat > pred.jsonl
  python3 tests/ref/check_hf_load.py MODEL pred.jsonl [--tol 1e-4]

For every record of pred.jsonl (its "ids", optional "type_ids", and the
"logits" tl-predict wrote) it runs BertForSequenceClassification
.from_pretrained(MODEL) on the same ids and reports the largest absolute
logit difference; it exits 1 when that exceeds the tolerance, or when the
loaded model's labels differ from the directory's config.
"""
import argparse
import json
import sys

import torch
from transformers import BertForSequenceClassification


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("pred")
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model = BertForSequenceClassification.from_pretrained(a.model)
    model.eval()
    cfg = json.load(open(a.model + "/config.json"))
    if {int(k): v for k, v in cfg["id2label"].items()} != model.config.id2label:
        print("id2label differs after loading", file=sys.stderr)
        return 1
    worst, n, agree = 0.0, 0, 0
    with open(a.pred) as f, torch.no_grad():
        for line in f:
            r = json.loads(line)
            if r.get("kind") == "header" or "logits" not in r:
                continue
            ids = torch.tensor([r["ids"]])
            types = torch.tensor([r["type_ids"]]) if "type_ids" in r else torch.zeros_like(ids)
            out = model(input_ids=ids, token_type_ids=types, attention_mask=torch.ones_like(ids)).logits[0]
            ref = torch.tensor(r["logits"], dtype=torch.float32)
            worst = max(worst, (out - ref).abs().max().item())
            agree += int(out.argmax().item() == ref.argmax().item())
            n += 1
    print("%s: %d records, max |logit(transformers) - logit(tl-predict)| = %.3g, same argmax %d/%d, labels %s"
          % (a.model, n, worst, agree, n, model.config.id2label))
    return 0 if n and worst <= a.tol else 1


if __name__ == "__main__":
    sys.exit(main())
