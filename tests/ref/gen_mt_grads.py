#!/usr/bin/env python3
"""Reference gradients of a two-head multi-task loss (issue 17).

Loads the tiny random BERT of tests/ref/tiny_bert (written by gen_grads.py)
as transformers' BertModel (encoder and pooler) and puts two nn.Linear
heads on its pooled output, as Hugging Face's classifier does: head "a"
(3 labels, single-label, softmax cross-entropy) and head "b" (2 labels,
multi-label, BCEWithLogitsLoss). One batch per task, as tl-train draws
them (MT-DNN), and the weighted sum

    loss = 1.0 * CE(a(pooled(batch A)), yA) + 0.5 * BCE(b(pooled(batch B)), YB)

is backpropagated with dropout off. Writes tests/ref/tiny_mt_grads.safetensors:
the two batches (ids, type_ids, lens; yA int32, yB float32 [B, 2]), the
heads' weights (head.a.weight ...), each task's loss, and the gradient of
every parameter ("grad." + "bert." + BertModel name, "grad.head.a.weight"
...). Read by tests/unit/test_backward_mt.c.

Usage: python3 tests/ref/gen_mt_grads.py
"""
import os

import torch
from safetensors.torch import save_file
from transformers import BertModel

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(2)
WA, WB = 1.0, 0.5


def batch(seqs, typed=False):
    T = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), T, dtype=torch.long)
    mask = torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    types = torch.zeros_like(ids)
    if typed:
        types[0, 3:len(seqs[0])] = 1
    return ids, types, mask


def main():
    torch.manual_seed(17)
    enc = BertModel.from_pretrained(os.path.join(HERE, "tiny_bert"))
    enc.eval()
    C = enc.config.hidden_size
    heads = {"a": torch.nn.Linear(C, 3), "b": torch.nn.Linear(C, 2)}
    for h in heads.values():
        torch.nn.init.normal_(h.weight, std=0.2)
        torch.nn.init.normal_(h.bias, std=0.1)
    A = batch([[2, 7, 9, 11, 3], [2, 20, 3], [2, 5, 6, 7, 8, 9, 3]], typed=True)
    B = batch([[2, 39, 38, 12, 3], [2, 14, 15, 3]])
    yA = torch.tensor([2, 0, 1])
    yB = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    enc.zero_grad()
    pa = enc(input_ids=A[0], token_type_ids=A[1], attention_mask=A[2]).pooler_output
    la = torch.nn.functional.cross_entropy(heads["a"](pa), yA)
    pb = enc(input_ids=B[0], token_type_ids=B[1], attention_mask=B[2]).pooler_output
    lb = torch.nn.functional.binary_cross_entropy_with_logits(heads["b"](pb), yB)
    (WA * la + WB * lb).backward()
    t = {"a.ids": A[0].int(), "a.type_ids": A[1].int(), "a.lens": A[2].sum(1).int(), "a.y": yA.int(),
         "b.ids": B[0].int(), "b.type_ids": B[1].int(), "b.lens": B[2].sum(1).int(), "b.y": yB.float(),
         "loss.a": la.detach().reshape(1), "loss.b": lb.detach().reshape(1)}
    for name, h in heads.items():
        t["head.%s.weight" % name] = h.weight.detach().clone().contiguous()
        t["head.%s.bias" % name] = h.bias.detach().clone().contiguous()
        t["grad.head.%s.weight" % name] = h.weight.grad.detach().clone().contiguous()
        t["grad.head.%s.bias" % name] = h.bias.grad.detach().clone().contiguous()
    for n, p in enc.named_parameters():
        t["grad.bert." + n] = p.grad.detach().clone().contiguous()
    save_file(t, os.path.join(HERE, "tiny_mt_grads.safetensors"))
    print("two heads: loss a %.6f, loss b %.6f, %d tensors" % (la.item(), lb.item(), len(t)))


if __name__ == "__main__":
    main()
