#!/usr/bin/env python3
"""Reference values for tests/unit/test_rng.c: splitmix64, the tl_mix64
finaliser, xoshiro256** seeded through splitmix64, the Box-Muller draw of
tl_mix64_normal and FNV-1a, written from the published algorithms
(Steele et al. 2014; Blackman & Vigna 2018; Fowler/Noll/Vo).
Run: python3 tests/ref/gen_rng.py"""
import math

M = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def fin(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def splitmix64(state):
    state = (state + GOLDEN) & M
    return state, fin(state)


def mix64(x):
    return fin((x + GOLDEN) & M)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M


def xoshiro_next(s):
    r = (rotl((s[1] * 5) & M, 7) * 9) & M
    t = (s[1] << 17) & M
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 45)
    return r


def xoshiro_seed(seed):
    s = []
    for _ in range(4):
        seed, v = splitmix64(seed)
        s.append(v)
    return s


def normal(counter):
    a, b = mix64(counter), mix64(counter + 1)
    u1 = ((a >> 11) + 1.0) * (1.0 / 9007199254740993.0)
    u2 = (b >> 11) * (1.0 / 9007199254740992.0)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def fnv(data, h, prime, mask):
    for c in data:
        h = ((h ^ c) * prime) & mask
    return h


st = 42
out = []
for _ in range(3):
    st, v = splitmix64(st)
    out.append(v)
print("splitmix64(42):", ", ".join("0x%016xULL" % v for v in out))
print("tl_mix64(0), (1), (2^64-1):", ", ".join("0x%016xULL" % mix64(x) for x in (0, 1, M)))
s = xoshiro_seed(42)
print("xoshiro seed 42:", ", ".join("0x%016xULL" % xoshiro_next(s) for _ in range(3)))
print("normal(counter 0), (counter 2): %.17g %.17g" % (normal(0), normal(2)))
for w in (b"", b"a", b"foobar"):
    print("fnv1a64(%r) = 0x%016x  fnv1a32 = 0x%08x  strtab basis = 0x%016x" % (
        w, fnv(w, 0xCBF29CE484222325, 0x100000001B3, M), fnv(w, 2166136261, 16777619, 0xFFFFFFFF),
        fnv(w, 1469598103934665603, 0x100000001B3, M)))
