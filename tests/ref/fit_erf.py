#!/usr/bin/env python3
"""The coefficients of tl's float erf (kernels/cpu/vmath.h: tl_verff).

erf(x) ~ x P(x^2) / Q(x^2) on [0, 4] (odd, so on [-4, 4]; beyond, erf(4)
already rounds to 1 in float), P of degree 6, Q of degree 5 with Q(0) = 1:
a linearised least-squares fit (x P - erf Q = erf, weighted by 1 / Q of the
previous iterate), then Lawson reweighting towards the minimax error.
Prints the two C arrays (ascending powers) and the fit's error in exact
arithmetic; evaluated in float with FMA Horner the error is about 3e-7
(tests/unit/test_kernels.c checks it against libm's double erf).
Needs numpy."""
from math import erf

import numpy as np

NP, NQ = 6, 5
xs = np.linspace(1e-6, 4.0, 40001)
f = np.array([erf(x) for x in xs])
t = xs * xs
q = np.ones_like(xs)
lw = np.ones_like(xs)
for it in range(30):
    A = np.concatenate([np.stack([xs * t**i for i in range(NP + 1)], 1),
                        np.stack([-f * t**j for j in range(1, NQ + 1)], 1)], 1)
    w = lw / q
    sol, *_ = np.linalg.lstsq(A * w[:, None], f * w, rcond=None)
    a, b = sol[:NP + 1], np.concatenate([[1.0], sol[NP + 1:]])
    P = sum(a[i] * t**i for i in range(NP + 1))
    q = sum(b[j] * t**j for j in range(NQ + 1))
    err = xs * P / q - f
    if it >= 10:
        lw = lw * (np.abs(err) + 1e-20)
        lw /= lw.sum() / len(lw)
assert q.min() > 0, "Q has a root in [0, 16]"
print(f"/* max abs error in exact arithmetic {np.max(np.abs(err)):.3g} */")
print(f"static const float erf_p[{NP + 1}] = {{" + ", ".join(f"{v:.10e}f" for v in a) + "};")
print(f"static const float erf_q[{NQ + 1}] = {{" + ", ".join(f"{v:.10e}f" for v in b) + "};")
