#!/usr/bin/env python3
"""Reference values of the domain-adaptation losses of include/tl/domain.h
(issue 18), computed by PyTorch autograd in float64.

DANN: a gradient reversal layer written as a torch.autograd.Function
(forward identity, backward -lambda * grad) between the features f and a
discriminator Linear(C, H) - ReLU - Linear(H, D) - CrossEntropyLoss('mean');
scale * loss is backpropagated, so the parameters' .grad is
scale * dloss/dparam and f.grad is -lambda * scale * dloss/df, the values
tl_dann_loss writes. CORAL: Deep CORAL's loss (Sun & Saenko 2016),
||Cov_s - Cov_t||_F^2 / (4 C^2), unbiased covariances. MMD: the biased
multi-kernel Gaussian MMD^2 of DAN (Long et al. 2015), bandwidth base = the
mean squared distance over the distinct pairs of the joint batch, floored at
1e-12 and detached.

The inputs are drawn in float32 (what the C functions take) and converted
exactly to float64 for the reference. Writes tests/ref/domain.safetensors:
for each case "dann.K.", "coral.K.", "mmd.K." + input names (F32; dom I32),
scalars lambda/scale (F64 [1]), the loss (and DANN's accuracy) (F64 [1])
and the gradients (computed in F64, stored rounded to F32, as the C
functions write them). Read by tests/unit/test_domain.c.

Usage: python3 tests/ref/gen_domain.py
"""
import os

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "domain.safetensors")
FLOOR = 1e-12


class GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lam):
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return -ctx.lam * g, None


def scalar(v):
    return torch.tensor([float(v)], dtype=torch.float64)


def f32(shape, std=1.0, mean=0.0):
    return (torch.randn(*shape, dtype=torch.float32) * std + mean)


def dann_case(out, k, n, C, H, D, lam, scale, dom=None):
    f = f32((n, C))
    W1 = f32((H, C), 0.3)
    b1 = f32((H,), 0.2)
    W2 = f32((D, H), 0.4)
    b2 = f32((D,), 0.1)
    if dom is None:
        dom = torch.arange(n, dtype=torch.int64) % D
        dom = dom[torch.randperm(n)]
    p = {name: t.double().requires_grad_(True) for name, t in
         (("f", f), ("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2))}
    z = torch.relu(GradReverse.apply(p["f"], lam) @ p["W1"].T + p["b1"])
    logits = z @ p["W2"].T + p["b2"]
    loss = torch.nn.functional.cross_entropy(logits, dom)
    (scale * loss).backward()
    acc = (logits.argmax(1) == dom).double().mean()
    pre = "dann.%d." % k
    for name, t in (("f", f), ("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2)):
        out[pre + name] = t.contiguous()
    out[pre + "dom"] = dom.to(torch.int32)
    out[pre + "lambda"] = scalar(lam)
    out[pre + "scale"] = scalar(scale)
    out[pre + "loss"] = scalar(loss.item())
    out[pre + "acc"] = scalar(acc.item())
    out[pre + "df"] = p["f"].grad.float().contiguous()
    for name in ("W1", "b1", "W2", "b2"):
        out[pre + "d" + name] = p[name].grad.float().contiguous()


def coral(s, t):
    C = s.shape[1]
    cs = (s - s.mean(0)).T @ (s - s.mean(0)) / (s.shape[0] - 1)
    ct = (t - t.mean(0)).T @ (t - t.mean(0)) / (t.shape[0] - 1)
    return ((cs - ct) ** 2).sum() / (4 * C * C)


def mmd(s, t, mult):
    X = torch.cat([s, t])
    N, ns = X.shape[0], s.shape[0]
    d2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(2)
    base = (d2.detach().sum() / (N * N - N)).clamp(min=FLOOR)
    K = sum(torch.exp(-d2 / (base * m)) for m in mult)
    return K[:ns, :ns].mean() + K[ns:, ns:].mean() - 2 * K[:ns, ns:].mean()


def pair_case(out, kind, k, fs, ft, scale, mult=None):
    s = fs.double().requires_grad_(True)
    t = ft.double().requires_grad_(True)
    if kind == "coral":
        loss = coral(s, t)
    else:
        loss = mmd(s, t, mult if mult is not None else [0.25, 0.5, 1.0, 2.0, 4.0])
    (scale * loss).backward()
    pre = "%s.%d." % (kind, k)
    out[pre + "fs"] = fs.contiguous()
    out[pre + "ft"] = ft.contiguous()
    out[pre + "scale"] = scalar(scale)
    if mult is not None:
        out[pre + "mult"] = torch.tensor(mult, dtype=torch.float32)
    out[pre + "loss"] = scalar(loss.item())
    out[pre + "dfs"] = s.grad.float().contiguous()
    out[pre + "dft"] = t.grad.float().contiguous()


def main():
    torch.manual_seed(18)
    out = {}
    # DANN: (n, C, H, D, lambda, scale)
    dann_case(out, 0, 8, 16, 12, 2, 0.7, 1.0)
    dann_case(out, 1, 9, 20, 10, 3, 0.3, 0.5)
    dann_case(out, 2, 6, 12, 8, 2, 0.0, 1.0)
    dann_case(out, 3, 32, 32, 24, 4, 1.0, 2.0)
    dann_case(out, 4, 5, 8, 6, 3, 0.5, 1.0, dom=torch.tensor([2, 2, 0, 2, 0]))
    # CORAL: source and target of different sizes and statistics
    pair_case(out, "coral", 0, f32((8, 10)), f32((6, 10), 2.0, 0.5), 1.0)
    fs, ft = f32((5, 16)), f32((7, 16), 0.5)
    fs[:, 3] = 1.5          # a constant feature in the source
    fs[:, 5] = ft[:, 5] = 0  # and one constant in both
    pair_case(out, "coral", 1, fs, ft, 0.25)
    pair_case(out, "coral", 2, f32((2, 4)), f32((2, 4)), 1.0)  # the minimum, n = 2
    pair_case(out, "coral", 3, f32((32, 32)), f32((32, 32), 1.3, 0.2), 3.0)
    # MMD
    fs, ft = f32((8, 16)), f32((8, 16), 1.0, 0.4)
    ft[0] = fs[0]            # a zero distance between the domains
    pair_case(out, "mmd", 0, fs, ft, 1.0)
    pair_case(out, "mmd", 1, f32((5, 12)), f32((9, 12), 2.0), 0.5, mult=[0.5, 1.0, 3.0])
    pair_case(out, "mmd", 2, f32((1, 6)), f32((2, 6)), 1.0)
    pair_case(out, "mmd", 3, f32((32, 32)), f32((32, 32), 1.2, 0.3), 2.0)
    save_file(out, OUT)
    print("wrote %s (%d tensors)" % (OUT, len(out)))


if __name__ == "__main__":
    main()
