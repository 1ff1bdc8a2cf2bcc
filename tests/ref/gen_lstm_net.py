#!/usr/bin/env python3
"""Reference values of the LSTM network of lib/models/lstm (issue 19).

A tiny network in PyTorch with the layout of tl/lstm.h: embedding [V,E],
two nn.LSTM layers (E->H, H->E), then
  - the language model: logits = h W_emb^T + decoder.bias (tied), mean
    cross-entropy over every token of a [B,T] window that starts from a given
    state (h0, c0 per layer);
  - the classifier: concat pooling [h at the last real step, max over time,
    mean over time] of the last layer, linear(3E->head) -> ReLU ->
    linear(head->NL), mean cross-entropy over the batch; sequences of
    different lengths (each run on its own, no padding).
Dropout off. Writes tests/ref/lstm_net.safetensors: the weights (tl names),
the inputs, the losses, logits, final states and the gradient of every
parameter ("lm.grad.NAME", "cls.grad.NAME"). Read by
tests/unit/test_lstm_net.c.

Usage: python3 tests/ref/gen_lstm_net.py
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
V, E, H, NL, HEAD = 13, 5, 7, 3, 4
torch.manual_seed(19)
torch.set_default_dtype(torch.float64)  # the reference in double


def params():
    p = {"embedding.weight": torch.rand(V, E) * 0.2 - 0.1}
    for l, (i, o) in enumerate([(E, H), (H, E)]):
        a = 1 / o ** 0.5
        p[f"lstm.{l}.weight_ih"] = (torch.rand(4 * o, i) * 2 - 1) * a
        p[f"lstm.{l}.weight_hh"] = (torch.rand(4 * o, o) * 2 - 1) * a
        p[f"lstm.{l}.bias_ih"] = (torch.rand(4 * o) * 2 - 1) * a
        p[f"lstm.{l}.bias_hh"] = (torch.rand(4 * o) * 2 - 1) * a
    p["decoder.bias"] = torch.rand(V) * 0.2 - 0.1
    p["head.0.weight"] = (torch.rand(HEAD, 3 * E) * 2 - 1) * 0.5
    p["head.0.bias"] = (torch.rand(HEAD) * 2 - 1) * 0.5
    p["head.1.weight"] = (torch.rand(NL, HEAD) * 2 - 1) * 0.5
    p["head.1.bias"] = (torch.rand(NL) * 2 - 1) * 0.5
    # float32 values, so C and PyTorch start from the same numbers
    return {k: v.float().double().requires_grad_(True) for k, v in p.items()}


def lstm_layer(p, l, x, h0, c0):
    w = [p[f"lstm.{l}.weight_ih"], p[f"lstm.{l}.weight_hh"], p[f"lstm.{l}.bias_ih"], p[f"lstm.{l}.bias_hh"]]
    # nn.LSTM's own kernel (what nn.LSTM.forward calls) on these weights
    return torch._VF.lstm(x, (h0, c0), w, True, 1, 0.0, False, False, True)


def stack(p, ids, h0=None, c0=None):
    x = p["embedding.weight"][ids]
    B = ids.shape[0]
    hs, cs = [], []
    for l in range(2):
        o = p[f"lstm.{l}.weight_hh"].shape[1]
        hh = h0[l][None] if h0 is not None else torch.zeros(1, B, o)
        cc = c0[l][None] if c0 is not None else torch.zeros(1, B, o)
        x, hT, cT = lstm_layer(p, l, x, hh, cc)
        hs.append(hT[0])
        cs.append(cT[0])
    return x, hs, cs


def main():
    out = {}
    p = params()
    for k, v in p.items():
        out[k] = v.detach().float()
    # language model window
    B, T = 2, 6
    ids = torch.randint(0, V, (B, T))
    y = torch.randint(0, V, (B, T))
    h0 = [(torch.rand(B, o) * 2 - 1).float().double() for o in (H, E)]
    c0 = [(torch.rand(B, o) * 2 - 1).float().double() for o in (H, E)]
    x, hT, cT = stack(p, ids, h0, c0)
    logits = x @ p["embedding.weight"].T + p["decoder.bias"]
    loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    g = torch.autograd.grad(loss, [p[k] for k in p if not k.startswith("head.")])
    out["lm.ids"] = ids.int()
    out["lm.y"] = y.int()
    for l in range(2):
        out[f"lm.h0.{l}"] = h0[l].float()
        out[f"lm.c0.{l}"] = c0[l].float()
        out[f"lm.hT.{l}"] = hT[l].detach().float()
        out[f"lm.cT.{l}"] = cT[l].detach().float()
    out["lm.loss"] = loss.detach().reshape(1).float()
    for k, gg in zip([k for k in p if not k.startswith("head.")], g):
        out["lm.grad." + k] = gg.float()
    # classifier batch: lengths 6, 3, 1 (padded with 0 on the right)
    lens = [6, 3, 1]
    T = 6
    cids = torch.randint(1, V, (3, T))
    for b, n in enumerate(lens):
        cids[b, n:] = 0
    labels = torch.tensor([2, 0, 1])
    pooled = []
    for b, n in enumerate(lens):
        xb, _, _ = stack(p, cids[b:b + 1, :n])
        xb = xb[0]
        pooled.append(torch.cat([xb[n - 1], xb.max(0).values, xb.mean(0)]))
    pooled = torch.stack(pooled)
    z = F.relu(pooled @ p["head.0.weight"].T + p["head.0.bias"])
    clog = z @ p["head.1.weight"].T + p["head.1.bias"]
    closs = F.cross_entropy(clog, labels)
    names = [k for k in p if k != "decoder.bias"]
    g = torch.autograd.grad(closs, [p[k] for k in names])
    out["cls.ids"] = cids.int()
    out["cls.lens"] = torch.tensor(lens).int()
    out["cls.y"] = labels.int()
    out["cls.loss"] = closs.detach().reshape(1).float()
    out["cls.logits"] = clog.detach().float()
    out["cls.pool"] = pooled.detach().float()
    for k, gg in zip(names, g):
        out["cls.grad." + k] = gg.float()
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(HERE, "lstm_net.safetensors"))


if __name__ == "__main__":
    main()
