#!/usr/bin/env python3
"""Reference gradients and optimizer figures for tl-train -m bert.

Writes (small, committed) fixtures read by tests/unit/test_backward.c and
tests/unit/test_optim.c:

  tests/ref/tiny_bert/          a tiny random BertForSequenceClassification
                                (config.json, model.safetensors, vocab.txt)
  tests/ref/tiny_grads.safetensors
      inputs (ids, type_ids, lens, labels, mlabels), the loss and the
      gradient of every parameter tensor (Hugging Face names, prefix
      "grad."), single-label cross-entropy; the same for multi-label BCE
      (prefix "mlgrad.", loss "mlloss"), dropout off.
  tests/ref/minilm_grads.safetensors
      the same for all-MiniLM-L6-v2 with a seeded 2-label head on 8 SST-2
      dev sentences: the head ("head.classifier.weight/bias"), inputs, loss,
      and per parameter tensor either the full gradient (<= 4096 values) or
      256 sampled entries ("idx.NAME" int32 flat indices, "grad.NAME"
      values; word embeddings sampled from the rows the batch uses) plus the
      full gradient's L2 norm ("norm.NAME").
  tests/ref/optim.safetensors
      torch.optim.AdamW / SGD trajectories and Hugging Face schedule values.

Usage: python3 tests/ref/gen_grads.py [MINILM_DIR] [SST2_DEV_TSV]
(defaults: models/all-MiniLM-L6-v2, ../shared/data/sst2/dev.tsv)
"""
import math
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import (BertConfig, BertForSequenceClassification, BertTokenizer,
                          get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                          get_linear_schedule_with_warmup)

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(2)


def batch_inputs(seqs, labels):
    T = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), T, dtype=torch.long)
    mask = torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    return ids, mask, torch.tensor(labels)


def run(model, ids, mask, types, labels, problem):
    model.zero_grad()
    model.config.problem_type = problem
    out = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels)
    out.loss.backward()
    return out.loss.detach(), {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def tiny():
    torch.manual_seed(1234)
    cfg = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=24, max_position_embeddings=16, type_vocab_size=2, num_labels=3,
                     hidden_act="gelu", layer_norm_eps=1e-12, initializer_range=0.2)
    model = BertForSequenceClassification(cfg)
    # make LayerNorm and biases non-trivial so every gradient path is tested
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("bias") or "LayerNorm" in n:
                p.add_(0.1 * torch.randn_like(p))
    model.eval()
    d = os.path.join(HERE, "tiny_bert")
    model.config.id2label = {0: "a", 1: "b", 2: "c"}
    model.config.label2id = {"a": 0, "b": 1, "c": 2}
    model.save_pretrained(d, safe_serialization=True)
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ["w%d" % i for i in range(35)]
        f.write("\n".join(toks) + "\n")
    seqs = [[2, 7, 9, 11, 3], [2, 20, 3], [2, 5, 6, 7, 8, 9, 10, 3], [2, 39, 38, 3]]
    ids, mask, labels = batch_inputs(seqs, [0, 2, 1, 2])
    types = torch.zeros_like(ids)
    types[2, 4:8] = 1
    loss, g = run(model, ids, mask, types, labels, "single_label_classification")
    ml = torch.tensor([[1, 0, 1], [0, 0, 0], [0, 1, 1], [1, 1, 1]], dtype=torch.float)
    mlloss, mg = run(model, ids, mask, types, ml, "multi_label_classification")
    t = {"ids": ids.int(), "type_ids": types.int(), "lens": mask.sum(1).int(), "labels": labels.int(),
         "mlabels": ml, "loss": loss.reshape(1), "mlloss": mlloss.reshape(1)}
    for n, v in g.items():
        t["grad." + n] = v.contiguous()
    for n, v in mg.items():
        t["mlgrad." + n] = v.contiguous()
    save_file(t, os.path.join(HERE, "tiny_grads.safetensors"))
    print("tiny: loss %.6f mlloss %.6f, %d tensors" % (loss, mlloss, len(g)))


def minilm(model_dir, dev_tsv):
    tok = BertTokenizer.from_pretrained(model_dir)
    sents, labels = [], []
    with open(dev_tsv) as f:
        next(f)
        for line in f:
            s, l = line.rstrip("\n").split("\t")
            sents.append(s)
            labels.append(int(l))
            if len(sents) == 8:
                break
    seqs = [tok(s, truncation=True, max_length=128)["input_ids"] for s in sents]
    ids, mask, lab = batch_inputs(seqs, labels)
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(model_dir, num_labels=2)
    model.eval()
    loss, g = run(model, ids, mask, torch.zeros_like(ids), lab, "single_label_classification")
    rng = np.random.default_rng(7)
    used = sorted(set(int(x) for x in ids[mask.bool()]))
    t = {"ids": ids.int(), "lens": mask.sum(1).int(), "labels": lab.int(), "loss": loss.reshape(1),
         "head.classifier.weight": model.classifier.weight.detach().contiguous(),
         "head.classifier.bias": model.classifier.bias.detach().contiguous()}
    for n, v in g.items():
        flat = v.reshape(-1)
        t["norm." + n] = flat.double().norm().float().reshape(1)
        if flat.numel() <= 4096:
            t["grad." + n] = v.contiguous()
            continue
        if "word_embeddings" in n:
            rows = rng.choice(used, 256)
            idx = rows * v.shape[1] + rng.integers(0, v.shape[1], 256)
        else:
            idx = rng.choice(flat.numel(), 256, replace=False)
        idx = torch.tensor(np.sort(idx), dtype=torch.int32)
        t["idx." + n] = idx
        t["grad." + n] = flat[idx.long()].contiguous()
    save_file(t, os.path.join(HERE, "minilm_grads.safetensors"))
    print("minilm: loss %.6f, %d tensors" % (loss, len(g)))


def optim():
    t = {}
    torch.manual_seed(3)
    p0 = torch.randn(37)
    grads = torch.randn(6, 37)
    t["p0"] = p0.clone()
    t["grads"] = grads.clone()
    for name, ctor in [("adamw", lambda ps: torch.optim.AdamW(ps, lr=1e-2, betas=(0.9, 0.999), eps=1e-8,
                                                               weight_decay=0.1)),
                       ("sgd", lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, weight_decay=0.1))]:
        p = torch.nn.Parameter(p0.clone())
        opt = ctor([p])
        traj = []
        for s in range(6):
            p.grad = grads[s].clone()
            opt.step()
            traj.append(p.detach().clone())
        t[name] = torch.stack(traj)
    # clip_grad_norm_
    a = torch.nn.Parameter(torch.zeros(37))
    b = torch.nn.Parameter(torch.zeros(5))
    a.grad = grads[0].clone() * 3
    b.grad = grads[1, :5].clone() * 3
    norm = torch.nn.utils.clip_grad_norm_([a, b], 1.0)
    t["clip_in_a"] = grads[0].clone() * 3
    t["clip_in_b"] = grads[1, :5].clone() * 3
    t["clip_a"] = a.grad.clone()
    t["clip_b"] = b.grad.clone()
    t["clip_norm"] = norm.reshape(1).float()
    # schedules: multipliers at steps 0..29 for warmup 4, total 30
    for name, fn in [("linear", get_linear_schedule_with_warmup), ("cosine", get_cosine_schedule_with_warmup)]:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        sch = fn(opt, 4, 30)
        vals = []
        for s in range(30):
            vals.append(opt.param_groups[0]["lr"])
            opt.step()
            sch.step()
        t["sched_" + name] = torch.tensor(vals, dtype=torch.float64)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sch = get_constant_schedule_with_warmup(opt, 4)
    vals = []
    for s in range(30):
        vals.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    t["sched_constant"] = torch.tensor(vals, dtype=torch.float64)
    # cross-entropy with class weights and label smoothing
    torch.manual_seed(5)
    z = torch.randn(6, 4, requires_grad=True)
    y = torch.tensor([0, 3, 1, 1, 2, 0])
    w = torch.tensor([0.5, 2.0, 1.0, 1.5])
    loss = torch.nn.functional.cross_entropy(z, y, weight=w, label_smoothing=0.1)
    loss.backward()
    t["ce_z"] = z.detach().clone()
    t["ce_y"] = y.int()
    t["ce_w"] = w
    t["ce_loss"] = loss.detach().reshape(1)
    t["ce_grad"] = z.grad.clone()
    z2 = z.detach().clone().requires_grad_(True)
    yt = (torch.rand(6, 4) > 0.5).float()
    pw = torch.tensor([1.0, 2.0, 0.5, 1.0])
    loss2 = torch.nn.functional.binary_cross_entropy_with_logits(z2, yt * 0.9 + 0.05, pos_weight=pw)
    loss2.backward()
    t["bce_y"] = yt
    t["bce_pw"] = pw
    t["bce_loss"] = loss2.detach().reshape(1)
    t["bce_grad"] = z2.grad.clone()
    save_file(t, os.path.join(HERE, "optim.safetensors"))
    print("optim: done")


if __name__ == "__main__":
    root = os.path.dirname(os.path.dirname(HERE))
    mdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "models", "all-MiniLM-L6-v2")
    dev = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "..", "shared", "data", "sst2", "dev.tsv")
    tiny()
    optim()
    minilm(mdir, dev)
