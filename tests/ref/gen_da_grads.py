#!/usr/bin/env python3
"""Reference gradients of the domain-adaptation objectives through the
encoder (issue 18), in PyTorch float64.

Loads the tiny random BERT of tests/ref/tiny_bert (written by gen_grads.py)
as transformers' BertModel (encoder and pooler), in float64, dropout off,
puts a 3-label nn.Linear classifier on the pooled output (as Hugging Face's
BertForSequenceClassification) and runs one batch of 8 sequences, rows 0-3
of domain 0 (source) and rows 4-7 of domain 1 (target), every row labelled.
Three objectives, each backpropagated from zero gradients:

  dann:  CE(classifier(pooled), y) + CE(disc(GRL_lambda(pooled)), dom)
         disc = Linear(C, H) - ReLU - Linear(H, D), H = 8, D = 2, the
         gradient reversal layer a torch.autograd.Function (identity
         forward, -lambda * grad backward), lambda = 0.6
  coral: CE(classifier(pooled), y) + 3000 * CORAL(pooled[dom 0], pooled[dom 1])
  mmd:   CE(classifier(pooled), y) + 0.5 * MMD^2(pooled[dom 0], pooled[dom 1])

(The pooled features of the random tiny model vary little between
sequences, so CORAL is about 1e-5 and needs the weight 3000 for its
gradient to be of the classifier loss's size; MMD's is larger than CE's.)
CORAL and MMD as in tests/ref/gen_domain.py (Deep CORAL; DAN's
multi-kernel MMD, base detached). tl's side (h7's tl_da step, or a unit
test: tl_bert_train_loss + tl_bert_train_pooled + tl_dann_loss /
tl_coral_loss / tl_mmd_loss + tl_bert_train_add_pooled_grad +
tl_bert_train_backward) must give the same gradients.

Writes tests/ref/tiny_da_grads.safetensors: ids, type_ids, lens, y, dom
(I32), classifier.weight/bias and disc.w1/b1/w2/b2 (F32, the weights the
C side copies in; classifier rows as the model's classifier), for each
objective O: O.loss_cls, O.loss_dom (F64 [1]) and O.grad.<name> (F32) for
every BertModel parameter ("bert." + name, the names tl_bert_train_tensors
uses), classifier.weight/bias, and for dann tl.domain.dense.weight|bias,
tl.domain.out.weight|bias.

Usage: python3 tests/ref/gen_da_grads.py
"""
import os

import torch
from safetensors.torch import save_file
from transformers import BertModel

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tiny_da_grads.safetensors")
torch.set_num_threads(2)
LAMBDA, W_CORAL, W_MMD, H, D, NL = 0.6, 3000.0, 0.5, 8, 2, 3
FLOOR = 1e-12


class GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lam):
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return -ctx.lam * g, None


def coral(s, t):
    C = s.shape[1]
    cs = (s - s.mean(0)).T @ (s - s.mean(0)) / (s.shape[0] - 1)
    ct = (t - t.mean(0)).T @ (t - t.mean(0)) / (t.shape[0] - 1)
    return ((cs - ct) ** 2).sum() / (4 * C * C)


def mmd(s, t, mult=(0.25, 0.5, 1.0, 2.0, 4.0)):
    X = torch.cat([s, t])
    N, ns = X.shape[0], s.shape[0]
    d2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(2)
    base = (d2.detach().sum() / (N * N - N)).clamp(min=FLOOR)
    K = sum(torch.exp(-d2 / (base * m)) for m in mult)
    return K[:ns, :ns].mean() + K[ns:, ns:].mean() - 2 * K[:ns, ns:].mean()


def batch(seqs):
    T = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), T, dtype=torch.long)
    mask = torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    return ids, torch.zeros_like(ids), mask


def main():
    torch.manual_seed(1818)
    enc = BertModel.from_pretrained(os.path.join(HERE, "tiny_bert")).double()
    enc.eval()
    C = enc.config.hidden_size
    # fp32 weights for the C side, used exactly (as float64) here
    cls_w = (torch.randn(NL, C) * 0.3).float()
    cls_b = (torch.randn(NL) * 0.1).float()
    w1 = (torch.randn(H, C) * 0.4).float()
    b1 = (torch.randn(H) * 0.1).float()
    w2 = (torch.randn(D, H) * 0.4).float()
    b2 = (torch.randn(D) * 0.1).float()
    ids, types, mask = batch([[2, 7, 9, 11, 3], [2, 20, 3], [2, 5, 6, 7, 8, 9, 3], [2, 12, 13, 3],
                              [2, 30, 31, 32, 3], [2, 33, 34, 35, 36, 37, 3], [2, 25, 3], [2, 26, 27, 28, 3]])
    y = torch.tensor([0, 1, 2, 1, 2, 0, 1, 0])
    dom = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    out = {"ids": ids.int(), "type_ids": types.int(), "lens": mask.sum(1).int(), "y": y.int(),
           "dom": dom.int(), "classifier.weight": cls_w, "classifier.bias": cls_b,
           "disc.w1": w1, "disc.b1": b1, "disc.w2": w2, "disc.b2": b2}
    for obj in ("dann", "coral", "mmd"):
        params = {"classifier.weight": cls_w.double().requires_grad_(True),
                  "classifier.bias": cls_b.double().requires_grad_(True)}
        if obj == "dann":
            params.update({"tl.domain.dense.weight": w1.double().requires_grad_(True),
                           "tl.domain.dense.bias": b1.double().requires_grad_(True),
                           "tl.domain.out.weight": w2.double().requires_grad_(True),
                           "tl.domain.out.bias": b2.double().requires_grad_(True)})
        enc.zero_grad()
        pooled = enc(input_ids=ids, token_type_ids=types, attention_mask=mask).pooler_output
        logits = pooled @ params["classifier.weight"].T + params["classifier.bias"]
        lc = torch.nn.functional.cross_entropy(logits, y)
        if obj == "dann":
            r = GradReverse.apply(pooled, LAMBDA)
            z = torch.relu(r @ params["tl.domain.dense.weight"].T + params["tl.domain.dense.bias"])
            ld = torch.nn.functional.cross_entropy(
                z @ params["tl.domain.out.weight"].T + params["tl.domain.out.bias"], dom)
            total = lc + ld
        elif obj == "coral":
            ld = coral(pooled[dom == 0], pooled[dom == 1])
            total = lc + W_CORAL * ld
        else:
            ld = mmd(pooled[dom == 0], pooled[dom == 1])
            total = lc + W_MMD * ld
        total.backward()
        out[obj + ".loss_cls"] = torch.tensor([lc.item()], dtype=torch.float64)
        out[obj + ".loss_dom"] = torch.tensor([ld.item()], dtype=torch.float64)
        for n, p in enc.named_parameters():
            out[obj + ".grad.bert." + n] = p.grad.float().contiguous()
        for n, p in params.items():
            out[obj + ".grad." + n] = p.grad.float().contiguous()
        print("%s: loss_cls %.6f loss_dom %.6f" % (obj, lc.item(), ld.item()))
    save_file(out, OUT)
    print("wrote %s (%d tensors)" % (OUT, len(out)))


if __name__ == "__main__":
    main()
