#!/usr/bin/env python3
"""Write a TSV (sentence<TAB>label, header, optionally gzip) as fastText
input: "__label__L w1 w2 ..." with tl's word splitter (lower-case, split at
whitespace, punctuation and CJK ideographs), so fastText and tl see the
same tokens. usage: ft_prep.py IN.tsv[.gz] > OUT.txt"""
import gzip, sys, unicodedata

def is_punct(c):
    o = ord(c)
    if 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126:
        return True
    return o >= 128 and unicodedata.category(c).startswith("P")

def is_space(c):
    o = ord(c)
    if c in " \t\n\r\f\v" or o < 32 or o == 127 or o == 0x85:
        return True
    return o >= 128 and unicodedata.category(c) in ("Zs", "Zl", "Zp", "Cc")

def is_cjk(c):
    o = ord(c)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF

def words(s):
    out, cur = [], []
    for c in s:
        if is_space(c):
            if cur: out.append("".join(cur)); cur = []
        elif is_punct(c) or is_cjk(c):
            if cur: out.append("".join(cur)); cur = []
            out.append(c)
        else:
            cur.append(c.lower())
    if cur: out.append("".join(cur))
    return out

path = sys.argv[1]
f = gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")
next(f)
out = sys.stdout
for line in f:
    cols = line.rstrip("\n").split("\t")
    out.write("__label__%s %s\n" % (cols[1], " ".join(words(cols[0]))))
