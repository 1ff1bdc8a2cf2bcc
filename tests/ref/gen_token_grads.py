#!/usr/bin/env python3
"""Reference gradients of the token-classification head (issue 22).

Loads the tiny random BERT of tests/ref/tiny_bert (written by gen_grads.py)
as transformers' BertForTokenClassification (the same encoder and
classifier.weight/bias; no pooler), runs one batch with per-token labels
(-100 on [CLS], [SEP], padding and the non-first sub-tokens of a word, as
Hugging Face's label_all_tokens=False) and writes
tests/ref/tiny_token_grads.safetensors: ids, type_ids, lens, labels [B,T]
(int32, -100 = ignored), the loss (torch CrossEntropyLoss, ignore_index
-100, mean over the labelled tokens), the logits [B,T,3] and the gradient
of every parameter ("grad." + Hugging Face name), dropout off. Read by
tests/unit/test_backward_token.c.

Usage: python3 tests/ref/gen_token_grads.py
"""
import os

import torch
from safetensors.torch import save_file
from transformers import BertForTokenClassification

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(2)


def main():
    model = BertForTokenClassification.from_pretrained(os.path.join(HERE, "tiny_bert"))
    model.eval()
    seqs = [[2, 7, 9, 11, 3], [2, 20, 3], [2, 5, 6, 7, 8, 9, 10, 3], [2, 39, 38, 3]]
    labs = [[-100, 0, 2, -100, -100], [-100, 1, -100], [-100, 2, 2, -100, 1, 0, 0, -100], [-100, -100, -100, -100]]
    T = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), T, dtype=torch.long)
    mask = torch.zeros(len(seqs), T, dtype=torch.long)
    labels = torch.full((len(seqs), T), -100, dtype=torch.long)
    for i, (s, l) in enumerate(zip(seqs, labs)):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
        labels[i, :len(l)] = torch.tensor(l)
    types = torch.zeros_like(ids)
    types[2, 4:8] = 1
    model.zero_grad()
    out = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels)
    out.loss.backward()
    t = {"ids": ids.int(), "type_ids": types.int(), "lens": mask.sum(1).int(), "labels": labels.int(),
         "loss": out.loss.detach().reshape(1), "logits": out.logits.detach().contiguous()}
    for n, p in model.named_parameters():
        t["grad." + n] = p.grad.detach().clone().contiguous()
    save_file(t, os.path.join(HERE, "tiny_token_grads.safetensors"))
    print("tiny token head: loss %.6f, %d tensors" % (out.loss.item(), len(t) - 6))


if __name__ == "__main__":
    main()
