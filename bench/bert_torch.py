#!/usr/bin/env python3
"""PyTorch peer of bench/bert.sh: the same model, the same token ids, batch 32.

usage: bert_torch.py IDS.jsonl MODEL_DIR --threads N --mode embed|predict
                     --padding dynamic|max_length [--max-length 128]
Prints one line: "torch mode=... padding=... threads=N n=... tokens=... seconds=..."
(seconds of the forward loop only, model loading excluded).
embed: mean pooling + normalize (sentence-transformers' computation);
predict: BertForSequenceClassification logits + softmax.
dynamic pads each batch (in input order) to its longest sequence, as a
DataCollatorWithPadding does; max_length pads every batch to --max-length,
as the usual fine-tuning recipes (padding='max_length') do.
"""
import argparse
import json
import time

import torch
from transformers import AutoModel, BertForSequenceClassification

ap = argparse.ArgumentParser()
ap.add_argument("ids")
ap.add_argument("model")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--mode", default="embed")
ap.add_argument("--padding", default="dynamic")
ap.add_argument("--max-length", type=int, default=128)
ap.add_argument("--batch-size", type=int, default=32)
a = ap.parse_args()
torch.set_num_threads(a.threads)
seqs = [json.loads(l)["ids"] for l in open(a.ids)]
if a.mode == "embed":
    model = AutoModel.from_pretrained(a.model).eval()
else:
    model = BertForSequenceClassification.from_pretrained(a.model).eval()
tokens = 0
t0 = time.perf_counter()
with torch.inference_mode():
    for s in range(0, len(seqs), a.batch_size):
        batch = [q[:a.max_length] if a.padding == "max_length" else q for q in seqs[s:s + a.batch_size]]
        T = a.max_length if a.padding == "max_length" else max(len(q) for q in batch)
        ids = torch.zeros(len(batch), T, dtype=torch.long)
        mask = torch.zeros(len(batch), T, dtype=torch.long)
        for i, q in enumerate(batch):
            ids[i, :len(q)] = torch.tensor(q)
            mask[i, :len(q)] = 1
            tokens += len(q)
        out = model(input_ids=ids, attention_mask=mask)
        if a.mode == "embed":
            h = out.last_hidden_state
            m = mask.unsqueeze(-1).float()
            v = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            v = torch.nn.functional.normalize(v, p=2, dim=1)
        else:
            v = out.logits.softmax(-1)
dt = time.perf_counter() - t0
print(f"torch mode={a.mode} padding={a.padding} threads={a.threads} n={len(seqs)} tokens={tokens} seconds={dt:.3f}")
