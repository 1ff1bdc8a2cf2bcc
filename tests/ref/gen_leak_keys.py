#!/usr/bin/env python3
"""Reference values of tl's content key (include/tl/leak.h, man tl-augment)
for tests/unit/test_leak.c, computed independently of the C code:

  h(data, seed): h = seed ^ (n * K0); per 8-byte little-endian word w
  (the last 1-7 bytes zero-padded): w *= K1; w ^= w >> 31;
  h = (h ^ w) * K0; h ^= h >> 29; then the finaliser
  h ^= h >> 32; h *= F1; h ^= h >> 29; h *= F2; h ^= h >> 32.
  key(text, text_b) = h(text_b, h(text, 0)) (h(text, 0) without text_b),
  0 -> 1.

Run: python3 tests/ref/gen_leak_keys.py   (prints C CHECK lines)
"""
M = (1 << 64) - 1
K0, K1 = 0x9e3779b97f4a7c15, 0xd6e8feb86659fd93
F1, F2 = 0xbf58476d1ce4e5b9, 0x94d049bb133111eb


def h(data: bytes, seed: int) -> int:
    x = (seed ^ (len(data) * K0)) & M
    for i in range(0, len(data), 8):
        w = int.from_bytes(data[i:i + 8], "little")
        w = (w * K1) & M
        w ^= w >> 31
        x = ((x ^ w) * K0) & M
        x ^= x >> 29
    x ^= x >> 32
    x = (x * F1) & M
    x ^= x >> 29
    x = (x * F2) & M
    x ^= x >> 32
    return x


def key(text: str, text_b=None) -> int:
    k = h(text.encode(), 0)
    if text_b is not None:
        k = h(text_b.encode(), k)
    return k or 1


CASES = [("", None), ("a", None), ("foobar", None), ("12345678", None),
         ("123456789", None), ("a", "b"), ("a", ""), ("premise", "hypothesis"),
         ("it 's a charming and often affecting journey . ", None),
         ("héllo wörld, ünïcode ✓", None)]

if __name__ == "__main__":
    for t, b in CASES:
        bs = "NULL" if b is None else '"%s"' % b
        print('\tCHECK(key_of("%s", %s) == 0x%016xULL);' % (t, bs, key(t, b)))
    print('\t/* h("abc", 7) */ 0x%016x' % h(b"abc", 7))
