#!/usr/bin/env python3
"""Reference values of the LSTM kernels (kernels/cpu/lstm.c) from PyTorch
nn.LSTM (one layer, one direction, batch_first).

Writes tests/ref/lstm.safetensors, read by tests/unit/test_lstm_kernel.c.
Three cases, prefixes "a.", "b.", "c.":
  a: B=3, T=5, I=7, H=6, lens {5, 3, 0} (a sequence of length 0: its final
     state is its initial state), h0/c0 given, both biases, the gradient
     w.r.t. every output h (dh) and the final state (dhT, dcT);
  b: B=4, T=6, I=5, H=8, lens {6, 2, 4, 1}, no initial state (zeros), no
     biases (bias=False), only dh;
  c: B=5, T=7, I=20, H=37 (4H = 148: the vector kernels' partial blocks),
     lens {7, 1, 5, 0, 7}, as a.
Inputs (float32, padding rows of x random: they must not matter): x, h0, c0,
w_ih, w_hh, b_ih, b_hh, lens (int32), dh, dhT, dcT. Outputs: h [B,T,H] (0 at
t >= lens[b]), hT, cT, and the gradients of
    L = sum(dh * h) + sum(dhT * hT) + sum(dcT * cT)
w.r.t. x, h0, c0, w_ih, w_hh, b_ih, b_hh (names "grad." + input name).
Each sequence goes through nn.LSTM on its real steps only (length 0: no
call). The reference is computed in float64 (the module and inputs
converted exactly from the float32 values) and stored as float32; the
float32 nn.LSTM's own error against it is printed for comparison.

Usage: python3 tests/ref/gen_lstm.py
"""
import os

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)


def run(lstm, x, h0, c0, lens, dh, dhT, dcT):
    """Loss L and the outputs, one sequence at a time."""
    B, T, _ = x.shape
    H = lstm.hidden_size
    h = torch.zeros(B, T, H, dtype=x.dtype)
    hT, cT = [], []
    outs = []
    for b in range(B):
        hb = h0[b:b + 1].unsqueeze(0)
        cb = c0[b:b + 1].unsqueeze(0)
        n = int(lens[b])
        if n > 0:
            y, (hn, cn) = lstm(x[b:b + 1, :n], (hb, cb))
            outs.append((b, n, y[0]))
            hb, cb = hn, cn
        hT.append(hb[0, 0])
        cT.append(cb[0, 0])
    rows = [torch.cat([y, torch.zeros(T - n, H, dtype=x.dtype)]) if n < T else y for b, n, y in outs]
    bi = [b for b, n, y in outs]
    full = []
    for b in range(B):
        full.append(rows[bi.index(b)] if b in bi else torch.zeros(T, H, dtype=x.dtype))
    h = torch.stack(full)
    hT = torch.stack(hT)
    cT = torch.stack(cT)
    L = (dh * h).sum() + (dhT * hT).sum() + (dcT * cT).sum()
    return L, h, hT, cT


def case(g, B, T, I, H, lens, state, bias, final):
    lstm = torch.nn.LSTM(I, H, num_layers=1, bias=bias, batch_first=True)
    with torch.no_grad():
        for p in lstm.parameters():
            p.uniform_(-0.6, 0.6, generator=g)
    x = torch.rand(B, T, I, generator=g) * 2 - 1
    h0 = (torch.rand(B, H, generator=g) * 2 - 1) if state else torch.zeros(B, H)
    c0 = (torch.rand(B, H, generator=g) * 2 - 1) if state else torch.zeros(B, H)
    dh = torch.rand(B, T, H, generator=g) * 2 - 1
    for b in range(B):
        dh[b, lens[b]:] = 0  # ignored by the kernel; keeps L the same for both
    dhT = (torch.rand(B, H, generator=g) * 2 - 1) if final else torch.zeros(B, H)
    dcT = (torch.rand(B, H, generator=g) * 2 - 1) if final else torch.zeros(B, H)
    t = {"x": x, "lens": torch.tensor(lens, dtype=torch.int32), "dh": dh,
         "w_ih": lstm.weight_ih_l0.detach().clone(), "w_hh": lstm.weight_hh_l0.detach().clone()}
    if bias:
        t["b_ih"] = lstm.bias_ih_l0.detach().clone()
        t["b_hh"] = lstm.bias_hh_l0.detach().clone()
    if state:
        t["h0"], t["c0"] = h0, c0
    if final:
        t["dhT"], t["dcT"] = dhT, dcT
    res = {}
    for dt in (torch.float64, torch.float32):
        m = lstm.to(dt)
        m.zero_grad()
        xs = [v.to(dt).requires_grad_() for v in (x, h0, c0)]
        L, h, hT, cT = run(m, xs[0], xs[1], xs[2], lens, dh.to(dt), dhT.to(dt), dcT.to(dt))
        L.backward()
        r = {"h": h.detach(), "hT": hT.detach(), "cT": cT.detach(), "grad.x": xs[0].grad,
             "grad.h0": xs[1].grad, "grad.c0": xs[2].grad,
             "grad.w_ih": m.weight_ih_l0.grad.clone(), "grad.w_hh": m.weight_hh_l0.grad.clone()}
        if bias:
            r["grad.b_ih"] = m.bias_ih_l0.grad.clone()
            r["grad.b_hh"] = m.bias_hh_l0.grad.clone()
        res[dt] = r
    worst = 0.0
    for k, v in res[torch.float64].items():
        e = (res[torch.float32][k].double() - v).abs().max() / max(v.abs().max(), 1e-30)
        worst = max(worst, float(e))
        t[k] = v.float()
    print("B=%d T=%d I=%d H=%d lens %s: float32 nn.LSTM vs float64, worst relative error %.2e"
          % (B, T, I, H, lens, worst))
    return t


def main():
    g = torch.Generator().manual_seed(19)
    out = {}
    for pre, args in (("a.", (3, 5, 7, 6, [5, 3, 0], True, True, True)),
                      ("b.", (4, 6, 5, 8, [6, 2, 4, 1], False, False, False)),
                      ("c.", (5, 7, 20, 37, [7, 1, 5, 0, 7], True, True, True))):
        for k, v in case(g, *args).items():
            out[pre + k] = v.contiguous()
    save_file(out, os.path.join(HERE, "lstm.safetensors"))


if __name__ == "__main__":
    main()
