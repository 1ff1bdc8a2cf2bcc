#!/usr/bin/env python3
"""Hugging Face Trainer reference run for tl-train -m bert --task token on
CoNLL-2003 (issue 22).

Same checkpoint (all-MiniLM-L6-v2 + a fresh token-classification head,
transformers' BertForTokenClassification), same data (the CoNLL files read
as tl-clean -f conll does: "-DOCSTART-" lines skipped, blank line = sentence
end, word = first column, tag = last), same labelling (the tag on a word's
first sub-token, -100 elsewhere: label_all_tokens=False), same label set
(sorted training tags), same hyperparameters as tl-train's defaults (lr 5e-5,
batch 32, warmup ceil(6%) of the steps, weight decay 0.01, linear decay,
clipping 1.0, max length 128, dropout from the config) and epochs, so the
same number of optimizer steps. Dynamic padding
(DataCollatorForTokenClassification). Dev: entity micro-F1 of the word tags
(first sub-token), by seqeval when it is installed, else by this script's
own IOB2 chunking (seqeval's default mode); the line says which.
Prints one JSON line: steps, train seconds, seconds per step after the first
3, dev entity F1 and word accuracy.

usage: ner_trainer.py MODEL_DIR DATA_DIR [--epochs 3] [--threads 2] [--seed 42]
       [--train-n N] [--max-steps N] [--no-eval]
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
from transformers import (AutoTokenizer, BertForTokenClassification, DataCollatorForTokenClassification, Trainer,
                          TrainerCallback, TrainingArguments)


class StepTimes(TrainerCallback):
    def __init__(self):
        self.t = []
        self.c = []  # process CPU seconds (all threads) at each step's end

    def on_step_end(self, args, state, control, **kw):
        self.t.append(time.time())
        self.c.append(time.process_time())


def read_conll(path, n=0):
    sents, cur = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            c = line.split()
            if not c:
                if cur:
                    sents.append(cur)
                    cur = []
                    if n and len(sents) == n:
                        return sents
                continue
            if c[0] == "-DOCSTART-":
                continue
            cur.append((c[0], c[-1]))
    if cur and not (n and len(sents) >= n):
        sents.append(cur)
    return sents


def chunks(tags):
    """Entity spans (type, start, end) as seqeval's default (IOB2) mode."""
    out, start, pt, pp = [], None, "", "O"
    for i, t in enumerate(list(tags) + ["O"]):
        p, ty = ("O", "") if t == "O" else (t[0], t[2:]) if t[1:2] == "-" else ("I", t)
        end = pp in "BI" and pp != "O" and (p in "BO" or ty != pt)
        if pp != "O" and ty != pt:
            end = True
        if end and start is not None:
            out.append((pt, start, i))
            start = None
        if p == "B" or (p == "I" and (pp == "O" or ty != pt)):
            start = i
        pp, pt = p, ty
    return out


def micro_f1(gold, pred):
    try:
        from seqeval.metrics import f1_score
        return f1_score(gold, pred), "seqeval"
    except ImportError:
        tp = ng = npd = 0
        for g, p in zip(gold, pred):
            gs, ps = set(chunks(g)), set(chunks(p))
            tp += len(gs & ps)
            ng += len(gs)
            npd += len(ps)
        return (2 * tp / (ng + npd) if ng + npd else 0.0), "ner_trainer.py chunks"


class DS(torch.utils.data.Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def encode(tok, sents, l2i):
    items, wids = [], []
    for s in sents:
        enc = tok([w for w, _ in s], is_split_into_words=True, truncation=True, max_length=128)
        w = enc.word_ids()
        lab = [-100 if x is None or (j > 0 and w[j - 1] == x) else l2i[s[x][1]] for j, x in enumerate(w)]
        items.append({"input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"],
                      "attention_mask": enc["attention_mask"], "labels": lab})
        wids.append(w)
    return items, wids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--train-n", type=int, default=0)
    ap.add_argument("--dev-n", type=int, default=0)
    ap.add_argument("--out", default="/tmp/ner-trainer")
    ap.add_argument("--max-steps", type=int, default=-1)
    ap.add_argument("--no-eval", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tok = AutoTokenizer.from_pretrained(a.model)
    train = read_conll(os.path.join(a.data, "train.txt"), a.train_n)
    dev = read_conll(os.path.join(a.data, "dev.txt"), a.dev_n)
    labels = sorted({t for s in train for _, t in s})
    l2i = {l: i for i, l in enumerate(labels)}
    tr, _ = encode(tok, train, l2i)
    dv, dv_w = encode(tok, dev, {**l2i, **{t: 0 for s in dev for _, t in s if t not in l2i}})
    model = BertForTokenClassification.from_pretrained(
        a.model, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=l2i)
    steps = math.ceil(math.ceil(len(train) / a.batch) * a.epochs)
    if a.max_steps > 0:
        steps = min(steps, a.max_steps)
    args = TrainingArguments(output_dir=a.out, num_train_epochs=a.epochs, per_device_train_batch_size=a.batch,
                             per_device_eval_batch_size=64, learning_rate=a.lr, warmup_steps=math.ceil(0.06 * steps),
                             weight_decay=0.01, lr_scheduler_type="linear", max_grad_norm=1.0, seed=a.seed,
                             max_steps=a.max_steps, save_strategy="no", eval_strategy="no", logging_steps=200,
                             report_to=[], use_cpu=True, dataloader_num_workers=0)
    trainer = Trainer(model=model, args=args, train_dataset=DS(tr),
                      data_collator=DataCollatorForTokenClassification(tok))
    st = StepTimes()
    trainer.add_callback(st)
    t0 = time.time()
    out = trainer.train()
    secs = time.time() - t0
    per = (st.t[-1] - st.t[2]) / (len(st.t) - 3) if len(st.t) > 4 else float("nan")
    # CPU seconds per step after the first (steps 2..S), the figure bench/ner_speed.sh compares
    cpu_per = (st.c[-1] - st.c[0]) / (len(st.c) - 1) if len(st.c) > 1 else float("nan")
    f1 = acc = None
    how = None
    if not a.no_eval:
        pr = trainer.predict(DS(dv))
        gold, pred, right, words = [], [], 0, 0
        for i, s in enumerate(dev):
            w = dv_w[i]
            p = ["O"] * len(s)
            for j, x in enumerate(w):
                if x is not None and (j == 0 or w[j - 1] != x):
                    p[x] = labels[int(np.argmax(pr.predictions[i][j]))]
            g = [t for _, t in s]
            right += sum(x == y for x, y in zip(g, p))
            words += len(g)
            gold.append(g)
            pred.append(p)
        f1, how = micro_f1(gold, pred)
        acc = right / words
    print(json.dumps({"peer": "transformers Trainer", "steps": out.global_step, "train_seconds": round(secs, 1),
                      "seconds_per_step": round(per, 3), "cpu_seconds_per_step": round(cpu_per, 4), "planned_steps": steps, "dev_entity_f1": f1,
                      "dev_word_accuracy": acc, "f1_by": how, "threads": a.threads, "epochs": a.epochs,
                      "n_train": len(train), "n_dev": len(dev), "labels": labels}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
