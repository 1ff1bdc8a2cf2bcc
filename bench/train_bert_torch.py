#!/usr/bin/env python3
"""PyTorch/transformers peer of `tl-train -m bert` for bench/train_bert.sh.

Reads the same tokenized records (JSON lines from `tl-cat`: "ids", "label"),
builds batches the same way as tl-train (seeded shuffle, length-sorted
windows of 50 batches, dynamic padding to the longest member, shuffled
batch order), and runs N optimizer steps of BertForSequenceClassification
fine-tuning: AdamW (lr 5e-5, wd 0.01, no decay on bias/LayerNorm), linear
schedule with 6% warmup, gradient clipping 1.0, dropout as configured.
Prints one JSON line: steps, tokens, seconds (steps 4..N, the first three are
warm-up), tokens_per_s, final loss.

usage: train_bert_torch.py MODEL_DIR TRAIN.jsonl STEPS BATCH THREADS [--max-length 128]
With --pad-max (the seed articles' recipe: padding='max_length') every
batch is padded to --max-length instead. With --bf16 the forward runs under
torch.autocast("cpu", dtype=torch.bfloat16) (bf16 products, fp32 weights,
optimizer and loss), as tl-train --precision bf16.
"""
import argparse
import json
import random
import time

import torch
from transformers import BertForSequenceClassification, get_linear_schedule_with_warmup


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("train")
    ap.add_argument("steps", type=int)
    ap.add_argument("batch", type=int)
    ap.add_argument("threads", type=int)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--pad-max", action="store_true")
    ap.add_argument("--bf16", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    recs = []
    for line in open(a.train):
        r = json.loads(line)
        if "ids" not in r:
            continue
        ids = r["ids"]
        if len(ids) > a.max_length:
            ids = ids[:a.max_length - 1] + ids[-1:]
        recs.append((ids, r["label"]))
    labels = sorted(set(l for _, l in recs))
    lid = {l: i for i, l in enumerate(labels)}
    model = BertForSequenceClassification.from_pretrained(a.model, num_labels=len(labels))
    model.train()
    nd = ["bias", "LayerNorm.weight"]
    groups = [{"params": [p for n, p in model.named_parameters() if not any(x in n for x in nd)], "weight_decay": 0.01},
              {"params": [p for n, p in model.named_parameters() if any(x in n for x in nd)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=5e-5, eps=1e-8)
    sch = get_linear_schedule_with_warmup(opt, int(0.06 * a.steps + 0.999), a.steps)
    rng = random.Random(42)

    def batches():
        while True:
            order = list(range(len(recs)))
            rng.shuffle(order)
            w = a.batch * 50
            for i in range(0, len(order), w):
                order[i:i + w] = sorted(order[i:i + w], key=lambda j: len(recs[j][0]))
            bl = [order[i:i + a.batch] for i in range(0, len(order), a.batch)]
            rng.shuffle(bl)
            for b in bl:
                yield b

    it = batches()
    tokens = 0
    t0 = None
    loss = None
    for step in range(a.steps):
        if step == 3:
            t0 = time.perf_counter()
            tokens = 0
        b = next(it)
        T = a.max_length if a.pad_max else max(len(recs[j][0]) for j in b)
        ids = torch.zeros(len(b), T, dtype=torch.long)
        mask = torch.zeros(len(b), T, dtype=torch.long)
        for i, j in enumerate(b):
            s = recs[j][0]
            ids[i, :len(s)] = torch.tensor(s)
            mask[i, :len(s)] = 1
            tokens += len(s)
        y = torch.tensor([lid[recs[j][1]] for j in b])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            out = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids), labels=y)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sch.step()
        opt.zero_grad(set_to_none=True)
        loss = out.loss.item()
    dt = time.perf_counter() - t0
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "steps": a.steps, "timed_steps": a.steps - 3,
                      "tokens": tokens, "seconds": dt, "tokens_per_s": tokens / dt, "loss": loss,
                      "pad_max": a.pad_max, "bf16": a.bf16}))


if __name__ == "__main__":
    main()
