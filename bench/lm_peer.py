#!/usr/bin/env python3
"""PyTorch word-level AWD-LSTM language-model training step, the peer of
`tl-train -m lstm-lm` (bench/lm.sh).

    python3 bench/lm_peer.py V B T THREADS STEPS [E H L [PREC]]

PREC fp32 (default) or bf16: torch.autocast("cpu", torch.bfloat16) around
the forward and the loss (the products in bf16, fp32 master weights and
optimizer, as PyTorch's mixed-precision recipe; its LSTM runs in bf16 too,
where tl's --precision bf16 keeps the LSTM layers fp32 and puts only the
tied decoder's products in bf16).

The model of `tl-train -m lstm-lm --emb E --hidden H --layers L` (defaults
200 400 2; lib/models/lstm/lstm.c, lstm_fit.c) with a vocabulary of V ids:
  - embedding [V, E], uniform(-0.1, 0.1);
  - L LSTM layers E -> H -> ... -> H -> E (the last layer's hidden size is
    E, so the decoder is tied to the embedding), gates i, f, g, o, biases
    b_ih and b_hh, uniform(+-1/sqrt(out)), run by torch.lstm (the kernel
    nn.LSTM calls) one layer at a time, batch_first;
  - decoder: logits = y @ W_emb^T + b (b [V], zeros), cross-entropy (mean
    over the B*T targets, full softmax over V);
  - AWD-LSTM dropouts at tl's lm defaults: embedding 0.1 (one keep/drop
    per vocabulary id and step, scaled by 1/(1-p): a dropped word is dropped
    everywhere in the batch), locked (variational) masks shared over time,
    one per sequence and channel: input 0.6 on the embedding output, hidden
    0.2 between layers, output 0.1 on the top layer's output; DropConnect
    0.5 on every weight_hh (a fresh mask each step, over the whole matrix,
    applied before the step as fastai's WeightDropout does; its gradient
    goes back through the mask);
  - AdamW lr 3e-3, betas (0.7, 0.99), eps 1e-8, weight decay 0.01 on the
    embedding and the LSTM matrices, none on biases (tl_optim's segments);
  - global gradient-norm clipping at 0.25 (clip_grad_norm_: max/(norm+1e-6),
    as tl_optim).
The hidden state (h, c of every layer) is carried from one window to the
next, detached; the data are B parallel streams of random ids in [0, V)
(fixed seed), read in windows of exactly T (tl draws its window lengths
around --bptt; see bench/lm.sh). tl's learning-rate schedule (slanted
triangular) is a scalar per step: a constant rate here.

Not mirrored: tl computes the decoder and its gradient in chunks of 512
rows, holding 512 x V logits; autograd holds the whole [B*T, V] logits and
their gradient (about 2 x 270 MB at V 30000, B 32, T 70), so the peak RSS
differs for that reason as well as torch's own footprint (~300 MB imported).

One timed step: masks, forward, loss, backward, clipping, AdamW step,
zero_grad. Two warm-up steps, then STEPS timed; prints
    torch lm V B T threads: median_ms M tokens_per_s X peak_rss_mb R params P
(X = B*T / median step seconds; R = ru_maxrss of the process; P = the
number of trained parameters).
"""
import resource
import sys
import time

import torch
import torch.nn.functional as F

P_EMB, P_IN, P_HID, P_OUT, P_W = 0.1, 0.6, 0.2, 0.1, 0.5
LR, BETAS, EPS, WD, CLIP = 3e-3, (0.7, 0.99), 1e-8, 0.01, 0.25
WARMUP = 2


def locked_mask(B, C, p):
    return torch.empty(B, 1, C).bernoulli_(1 - p).div_(1 - p)


def main():
    if len(sys.argv) not in (6, 9, 10):
        sys.exit("usage: lm_peer.py V B T THREADS STEPS [E H L [PREC]]")
    V, B, T, th, steps = (int(a) for a in sys.argv[1:6])
    E, H, L = (int(a) for a in sys.argv[6:9]) if len(sys.argv) >= 9 else (200, 400, 2)
    prec = sys.argv[9] if len(sys.argv) == 10 else "fp32"
    if prec not in ("fp32", "bf16"):
        sys.exit("lm_peer.py: PREC is fp32 or bf16")
    cast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec == "bf16")
    torch.set_num_threads(th)
    torch.manual_seed(1)

    def uni(shape, a):
        return torch.nn.Parameter(torch.empty(*shape).uniform_(-a, a))

    emb = uni((V, E), 0.1)
    layers = []  # (w_ih, w_hh, b_ih, b_hh) per layer
    sizes = []
    for l in range(L):
        i, o = (E if l == 0 else H), (E if l == L - 1 else H)
        a = 1.0 / o ** 0.5
        layers.append((uni((4 * o, i), a), uni((4 * o, o), a), uni((4 * o,), a), uni((4 * o,), a)))
        sizes.append(o)
    dec_b = torch.nn.Parameter(torch.zeros(V))
    decay = [emb] + [p for ly in layers for p in ly[:2]]
    nodecay = [p for ly in layers for p in ly[2:]] + [dec_b]
    params = decay + nodecay
    nparams = sum(p.numel() for p in params)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=EPS)

    n = WARMUP + steps
    data = torch.randint(0, V, (B, n * T + 1), generator=torch.Generator().manual_seed(1))
    state = [(torch.zeros(1, B, o), torch.zeros(1, B, o)) for o in sizes]

    def step(k):
        nonlocal state
        x = data[:, k * T:(k + 1) * T]
        y = data[:, k * T + 1:(k + 1) * T + 1]
        # embedding dropout (per id) and the locked input dropout
        wmask = torch.empty(V).bernoulli_(1 - P_EMB).div_(1 - P_EMB)
        new = []
        with cast:
            h = F.embedding(x, emb) * (wmask[x].unsqueeze(-1) * locked_mask(B, E, P_IN))
            for l, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
                whh = F.dropout(w_hh, P_W, training=True)  # DropConnect
                st = tuple(s.to(h.dtype) for s in state[l])
                h, hn, cn = torch.lstm(h, st, [w_ih, whh, b_ih, b_hh], True, 1, 0.0, True, False, True)
                new.append((hn.detach().float(), cn.detach().float()))
                h = h * locked_mask(B, sizes[l], P_HID if l + 1 < L else P_OUT).to(h.dtype)
            logits = F.linear(h.reshape(B * T, E), emb, dec_b)
            loss = F.cross_entropy(logits, y.reshape(B * T))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        opt.zero_grad()
        state = new
        return loss.item()

    ms = []
    for k in range(n):
        t0 = time.perf_counter()
        step(k)
        ms.append((time.perf_counter() - t0) * 1e3)
    ms = sorted(ms[WARMUP:])
    med = ms[len(ms) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("torch lm V %d B %d T %d threads %d: median_ms %.1f tokens_per_s %.0f peak_rss_mb %.0f params %d prec %s"
          % (V, B, T, th, med, B * T / (med * 1e-3), rss, nparams, prec))


if __name__ == "__main__":
    main()
