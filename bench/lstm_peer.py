#!/usr/bin/env python3
"""PyTorch nn.LSTM training speed, the peer of bench/lstm_bench.c (bench/lstm.sh).

    python3 bench/lstm_peer.py B T I H THREADS ITERS [fp32|bf16]

The same work as tl's side: one nn.LSTM layer (batch_first), h0/c0 given,
every sequence of length T, forward then backward of sum(h * dh) with the
gradient of x, h0, c0 and every parameter (the first layer of a language
model needs dx for its embedding). One warm-up step, then ITERS timed steps;
prints
    torch B T I H threads: median_ms M tokens_per_s X cpu_ms C
(C: the median step's process CPU time, as bench/lstm_bench.c).
bf16: the forward under torch.autocast("cpu", dtype=torch.bfloat16) (the
fp32 parameters, bf16 products where autocast makes them), the line
starting with "torch-bf16".
"""
import sys
import time

import torch


def main():
    B, T, I, H, th, it = (int(a) for a in sys.argv[1:7])
    bf16 = len(sys.argv) > 7 and sys.argv[7] == "bf16"
    torch.set_num_threads(th)
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(I, H, num_layers=1, batch_first=True)
    x = (torch.rand(B, T, I) * 2 - 1).requires_grad_()
    h0 = ((torch.rand(1, B, H) * 2 - 1) * 0.5).requires_grad_()
    c0 = ((torch.rand(1, B, H) * 2 - 1) * 0.5).requires_grad_()
    dh = (torch.rand(B, T, H) * 2 - 1) * 1e-3
    ms, cpu = [], []
    for r in range(it + 1):
        t0, c0t = time.perf_counter(), time.process_time()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y, _ = lstm(x, (h0, c0))
        y.float().backward(dh)
        ms.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0t) * 1e3)
    ms, cpu = sorted(ms[1:]), sorted(cpu[1:])
    med = ms[len(ms) // 2]
    print("%s B %d T %d I %d H %d threads %d: median_ms %.2f tokens_per_s %.0f cpu_ms %.2f"
          % ("torch-bf16" if bf16 else "torch", B, T, I, H, th, med, B * T / (med * 1e-3), cpu[len(cpu) // 2]))


if __name__ == "__main__":
    main()
