#!/usr/bin/env python3
"""Reference values of the masked-LM head and the pooled-feature gradient
(issue 18), read by tests/unit/test_mlm.c.

1. tests/ref/tiny_mlm/: the tiny random BERT of tests/ref/tiny_bert (its
   encoder) as transformers' BertForMaskedLM with a seeded random head
   (cls.predictions.transform.dense, LayerNorm perturbed away from 1/0,
   decoder bias; the decoder weight tied to the word embeddings), written
   with save_pretrained (model.safetensors, config.json, vocab.txt).
2. tests/ref/tiny_mlm_grads.safetensors: one padded batch with [MASK]ed
   inputs and labels [B,T] (-100 = not predicted; one sequence without a
   labelled position), BertForMaskedLM(labels=...).loss, the prediction
   logits [B,T,V] and the gradient of every parameter ("grad." + name;
   the tied word embeddings carry both the embedding and the decoder
   gradient), dropout off. Then the pooled-feature hook: the tiny BERT's
   BertModel, loss = sum(pooler_output * R) with a fixed R [B,C]:
   "pool.R", "pool.pooled" and "pool.grad." + every parameter.
   tests/ref/tiny_mlm/tl_names.txt: the tensor names a model of tl with
   the MLM head lists (tl_bert_train_tensors: the encoder,
   cls.predictions.transform.*, cls.predictions.bias; no pooler, no
   decoder weight), one a line.
   Before writing, this script saves exactly those tensors (values from
   the model) with the config into a temporary directory and loads it
   with BertForMaskedLM.from_pretrained(output_loading_info=True): it
   fails unless missing_keys, unexpected_keys and mismatched_keys are all
   empty and the loss is the same (the "loads as BertForMaskedLM with no
   missing weights" check; the C test compares its own list with this).
3. tests/ref/minilm_mlm_grads.safetensors: all-MiniLM-L6-v2 (no MLM
   head: transformers initialises one, torch seed 0: dense N(0, 0.02)
   rounded to float16, stored as "head.cls.predictions.transform.dense.
   weight" (F16); biases 0, LayerNorm 1 and 0) on 8 SST-2 dev sentences, 15% of the maskable
   tokens masked (numpy seed 5, 80/10/10), the loss, the norm of every
   gradient ("norm." + name) and 256 sampled entries of each large one
   ("idx." + name, "grad." + name; word embeddings from the rows the batch
   uses and from the masked targets).

Usage: python3 tests/ref/gen_mlm.py [MINILM_DIR [SST2_DEV_TSV]]
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForMaskedLM, BertModel, BertTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(2)


def batch(seqs, labs):
    T = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), T, dtype=torch.long)
    mask = torch.zeros(len(seqs), T, dtype=torch.long)
    labels = torch.full((len(seqs), T), -100, dtype=torch.long)
    for i, (s, l) in enumerate(zip(seqs, labs)):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
        labels[i, :len(l)] = torch.tensor(l)
    return ids, mask, labels


def tl_names(cfg):
    """The names tl_bert_train_tensors lists for an MLM model without pooler or classifier."""
    n = ["bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
         "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight",
         "bert.embeddings.LayerNorm.bias"]
    for l in range(cfg.num_hidden_layers):
        p = "bert.encoder.layer.%d." % l
        for q in ("query", "key", "value"):
            n += [p + "attention.self.%s.weight" % q, p + "attention.self.%s.bias" % q]
        n += [p + s for s in ("attention.output.dense.weight", "attention.output.dense.bias",
                              "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
                              "intermediate.dense.weight", "intermediate.dense.bias", "output.dense.weight",
                              "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias")]
    n += ["cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
          "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
          "cls.predictions.bias"]
    return n


def check_hf_loads(model, names, ids, mask, types, labels, loss):
    sd = model.state_dict()
    d = tempfile.mkdtemp()
    try:
        save_file({n: sd[n].contiguous() for n in names}, os.path.join(d, "model.safetensors"),
                  metadata={"format": "pt"})
        cfg = model.config.to_dict()
        cfg["architectures"] = ["BertForMaskedLM"]
        json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
        m2, info = BertForMaskedLM.from_pretrained(d, output_loading_info=True)
        bad = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
        if bad:
            raise SystemExit("BertForMaskedLM does not load tl's names cleanly: %s" % bad)
        m2.eval()
        with torch.no_grad():
            l2 = m2(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels).loss.item()
        if abs(l2 - loss) > 1e-6 * max(1.0, abs(loss)):
            raise SystemExit("reloaded loss %.8f differs from %.8f" % (l2, loss))
        print("tl's MLM names load as BertForMaskedLM: no missing/unexpected/mismatched keys, loss equal")
    finally:
        shutil.rmtree(d)


def tiny():
    src = os.path.join(HERE, "tiny_bert")
    cfg = BertConfig.from_pretrained(src)
    cfg.architectures = ["BertForMaskedLM"]
    torch.manual_seed(3)
    model = BertForMaskedLM(cfg)
    enc = BertModel.from_pretrained(src, add_pooling_layer=False)
    model.bert.load_state_dict(enc.state_dict(), strict=True)
    g = torch.Generator().manual_seed(11)
    h = model.cls.predictions
    with torch.no_grad():
        h.transform.dense.weight.copy_(torch.randn(h.transform.dense.weight.shape, generator=g) * 0.2)
        h.transform.dense.bias.copy_(torch.randn(cfg.hidden_size, generator=g) * 0.1)
        h.transform.LayerNorm.weight.copy_(1 + torch.randn(cfg.hidden_size, generator=g) * 0.1)
        h.transform.LayerNorm.bias.copy_(torch.randn(cfg.hidden_size, generator=g) * 0.1)
        h.bias.copy_(torch.randn(cfg.vocab_size, generator=g) * 0.1)
    assert model.cls.predictions.decoder.weight.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr()
    out_dir = os.path.join(HERE, "tiny_mlm")
    model.save_pretrained(out_dir)
    shutil.copy(os.path.join(src, "vocab.txt"), out_dir)
    model.eval()
    # [MASK] = 4; labels: the original ids at the predicted positions
    seqs = [[2, 4, 9, 11, 3], [2, 20, 4, 3], [2, 5, 4, 4, 8, 9, 33, 3], [2, 39, 38, 3], [2, 7, 7, 4, 3]]
    labs = [[-100, 6, -100, 11, -100], [-100, -100, 17, -100], [-100, -100, 12, 13, -100, 9, -100, -100],
            [-100, -100, -100, -100], [-100, 7, -100, 35, -100]]
    ids, mask, labels = batch(seqs, labs)
    types = torch.zeros_like(ids)
    types[2, 4:8] = 1
    model.zero_grad()
    out = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels)
    out.loss.backward()
    t = {"ids": ids.int(), "type_ids": types.int(), "lens": mask.sum(1).int(), "labels": labels.int(),
         "loss": out.loss.detach().reshape(1), "logits": out.logits.detach().contiguous()}
    n = 0
    for name, p in model.named_parameters():
        t["grad." + name] = p.grad.detach().clone().contiguous()
        n += 1
    names = tl_names(cfg)
    for nm in names:
        assert "grad." + nm in t, nm
    check_hf_loads(model, names, ids, mask, types, labels, out.loss.item())

    # pooled-feature gradient: BertModel with its pooler, loss = sum(pooled * R)
    bm = BertModel.from_pretrained(src)
    bm.eval()
    R = torch.randn(ids.shape[0], cfg.hidden_size, generator=g)
    bm.zero_grad()
    pooled = bm(input_ids=ids, attention_mask=mask, token_type_ids=types).pooler_output
    (pooled * R).sum().backward()
    t["pool.R"] = R.contiguous()
    t["pool.pooled"] = pooled.detach().contiguous()
    for name, p in bm.named_parameters():
        t["pool.grad.bert." + name] = p.grad.detach().clone().contiguous()
    save_file(t, os.path.join(HERE, "tiny_mlm_grads.safetensors"))
    with open(os.path.join(HERE, "tiny_mlm", "tl_names.txt"), "w") as f:
        f.write("".join(n + "\n" for n in names))
    print("tiny MLM: loss %.7f, %d parameter gradients, %d labelled positions" %
          (out.loss.item(), n, int((labels != -100).sum())))


def minilm(model_dir, dev_tsv):
    tok = BertTokenizer.from_pretrained(model_dir)
    sents = []
    with open(dev_tsv) as f:
        next(f)
        for line in f:
            sents.append(line.rstrip("\n").split("\t")[0])
            if len(sents) == 8:
                break
    seqs = [tok(s, truncation=True, max_length=128)["input_ids"] for s in sents]
    rng = np.random.default_rng(5)
    special = {tok.cls_token_id, tok.sep_token_id, tok.pad_token_id}
    V = tok.vocab_size
    inp, labs = [], []
    for s in seqs:
        s2, l = list(s), [-100] * len(s)
        for i, x in enumerate(s):
            if x in special or rng.random() >= 0.15:
                continue
            l[i] = x
            r = rng.random()
            s2[i] = tok.mask_token_id if r < 0.8 else int(rng.integers(0, V)) if r < 0.9 else x
        inp.append(s2)
        labs.append(l)
    ids, mask, labels = batch(inp, labs)
    torch.manual_seed(0)
    model = BertForMaskedLM.from_pretrained(model_dir)
    model.eval()
    model.zero_grad()
    out = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids), labels=labels)
    out.loss.backward()
    h = model.cls.predictions
    # transformers' fresh head: dense N(0, 0.02), biases 0, LayerNorm 1 and 0; the dense weight rounded to
    # float16 (exact in float32) so that the fixture stores it in half the bytes
    with torch.no_grad():
        h.transform.dense.weight.copy_(h.transform.dense.weight.half().float())
        for z in (h.transform.dense.bias, h.transform.LayerNorm.bias, h.bias):
            assert float(z.abs().max()) == 0.0
        assert float((h.transform.LayerNorm.weight - 1).abs().max()) == 0.0
    model.zero_grad()
    out = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids), labels=labels)
    out.loss.backward()
    t = {"ids": ids.int(), "lens": mask.sum(1).int(), "labels": labels.int(), "loss": out.loss.detach().reshape(1),
         "head.cls.predictions.transform.dense.weight": h.transform.dense.weight.detach().half().contiguous()}
    rs = np.random.default_rng(7)
    used = sorted(set(int(x) for x in ids[mask.bool()]) | set(int(x) for x in labels[labels != -100]))
    ng = 0
    for name, p in model.named_parameters():
        v = p.grad.detach()
        flat = v.reshape(-1)
        t["norm." + name] = flat.double().norm().float().reshape(1)
        ng += 1
        if flat.numel() <= 4096:
            t["grad." + name] = v.contiguous()
            continue
        if "word_embeddings" in name:  # rows of the batch and of random words (the decoder reaches every row)
            rows = np.concatenate([rs.choice(used, 192), rs.integers(0, V, 64)])
            idx = rows * v.shape[1] + rs.integers(0, v.shape[1], 256)
            idx = np.unique(idx)
        else:
            idx = rs.choice(flat.numel(), 256, replace=False)
        idx = torch.tensor(np.sort(idx), dtype=torch.int32)
        t["idx." + name] = idx
        t["grad." + name] = flat[idx.long()].contiguous()
    save_file(t, os.path.join(HERE, "minilm_mlm_grads.safetensors"))
    print("minilm MLM: loss %.6f, %d labelled positions, %d gradients" %
          (out.loss.item(), int((labels != -100).sum()), ng))


def main():
    root = os.path.dirname(os.path.dirname(HERE))
    tiny()
    mdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "models", "all-MiniLM-L6-v2")
    dev = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "..", "shared", "data", "sst2", "dev.tsv")
    if not os.path.exists(dev):
        dev = "/work/shared/data/sst2/dev.tsv"
    minilm(mdir, dev)


if __name__ == "__main__":
    main()
