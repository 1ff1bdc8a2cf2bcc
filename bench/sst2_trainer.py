#!/usr/bin/env python3
"""Hugging Face Trainer reference run for tl-train -m bert on SST-2.

Same checkpoint (all-MiniLM-L6-v2 + a fresh 2-label head), same
hyperparameters as tl-train's defaults (lr 5e-5, batch 32, warmup 6%, weight
decay 0.01, linear decay, max length 128, clipping 1.0, dropout from the
config) and the same number of epochs, so the same number of optimizer
steps. Padding: dynamic (DataCollatorWithPadding, as tl does) by default,
or padding='max_length' with --pad-max (the seed articles' recipe).
Prints one JSON line: steps, train seconds, seconds per step after the
first 3 (steps cost the same with --pad-max, so a short --max-steps run
times the whole recipe), dev accuracy.

usage: sst2_trainer.py MODEL_DIR DATA_DIR [--epochs 1] [--threads 2]
       [--seed 42] [--pad-max] [--train-n N] [--max-steps N] [--no-eval]
"""
import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch
from transformers import (AutoTokenizer, BertForSequenceClassification, DataCollatorWithPadding, Trainer,
                          TrainerCallback, TrainingArguments)


class StepTimes(TrainerCallback):
    def __init__(self):
        self.t = []

    def on_step_end(self, args, state, control, **kw):
        self.t.append(time.time())


def read_tsv(path, n=0):
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(r)
        for row in r:
            rows.append((row[0], int(row[1])))
            if n and len(rows) == n:
                break
    return rows


class DS(torch.utils.data.Dataset):
    def __init__(self, enc, labels):
        self.enc, self.labels = enc, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        d = {k: v[i] for k, v in self.enc.items()}
        d["labels"] = self.labels[i]
        return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--epochs", type=float, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--pad-max", action="store_true")
    ap.add_argument("--train-n", type=int, default=0)
    ap.add_argument("--out", default="/tmp/sst2-trainer")
    ap.add_argument("--max-steps", type=int, default=-1)
    ap.add_argument("--no-eval", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tok = AutoTokenizer.from_pretrained(a.model)
    train = read_tsv(os.path.join(a.data, "train.tsv"), a.train_n)
    dev = read_tsv(os.path.join(a.data, "dev.tsv"))
    pad = "max_length" if a.pad_max else False
    enc = lambda rows: tok([t for t, _ in rows], truncation=True, max_length=128, padding=pad)
    tr, dv = DS(enc(train), [l for _, l in train]), DS(enc(dev), [l for _, l in dev])
    model = BertForSequenceClassification.from_pretrained(a.model, num_labels=2)
    steps = math.ceil(math.ceil(len(train) / 32) * a.epochs)
    args = TrainingArguments(output_dir=a.out, num_train_epochs=a.epochs, per_device_train_batch_size=32,
                             per_device_eval_batch_size=32, learning_rate=a.lr,
                             warmup_steps=math.ceil(0.06 * steps),
                             weight_decay=0.01, lr_scheduler_type="linear", max_grad_norm=1.0,
                             seed=a.seed, max_steps=a.max_steps, save_strategy="no", eval_strategy="no", logging_steps=200,
                             report_to=[], use_cpu=True, dataloader_num_workers=0)
    acc = lambda p: {"accuracy": float((np.argmax(p.predictions, -1) == p.label_ids).mean())}
    trainer = Trainer(model=model, args=args, train_dataset=tr, eval_dataset=dv,
                      data_collator=DataCollatorWithPadding(tok), compute_metrics=acc)
    st = StepTimes()
    trainer.add_callback(st)
    t0 = time.time()
    out = trainer.train()
    secs = time.time() - t0
    per = (st.t[-1] - st.t[2]) / (len(st.t) - 3) if len(st.t) > 4 else float("nan")
    ev = {"eval_accuracy": None} if a.no_eval else trainer.evaluate()
    print(json.dumps({"steps": out.global_step, "train_seconds": round(secs, 1),
                      "seconds_per_step": round(per, 3), "planned_steps": steps,
                      "dev_accuracy": ev["eval_accuracy"], "pad_max": a.pad_max, "threads": a.threads,
                      "epochs": a.epochs, "n_train": len(train)}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
