#!/usr/bin/env python3
"""Reference fixtures for tests/unit/test_features.c: scikit-learn
CountVectorizer / TfidfVectorizer / HashingVectorizer on SST-2.

Fit on the first 2000 sentences of sst2/train.tsv, transform the first 30
of sst2/dev.tsv, and write every non-zero value as "doc<TAB>term<TAB>value"
(hashing: the bucket number instead of the term), one block per
configuration. The tokenizer is tl's word splitter written in Python
(lower-case per code point, split at whitespace/control characters,
punctuation and CJK ideographs are tokens of their own).

usage: python3 tests/ref/gen_features.py [DATA_DIR] > tests/ref/features_sst2.tsv
"""
import sys, unicodedata
import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer, HashingVectorizer

data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"

def read(path, n):
    out = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            out.append(line.rstrip("\n").split("\t")[0])
            if len(out) == n:
                break
    return out

train = read(f"{data}/sst2/train.tsv", 2000)
dev = read(f"{data}/sst2/dev.tsv", 30)

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
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2A6DF or
            0x2A700 <= o <= 0x2CEAF or 0xF900 <= o <= 0xFAFF or 0x2F800 <= o <= 0x2FA1F)

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

def tie_free(vec_kwargs, want):
    """Smallest max_features >= want whose cut does not fall inside a tie
    (scikit-learn's argsort is not stable there)."""
    v = CountVectorizer(**{k: x for k, x in vec_kwargs.items() if k in
                           ("analyzer", "ngram_range", "min_df", "max_df", "tokenizer", "token_pattern",
                            "lowercase", "binary")})
    X = v.fit_transform(train)
    tfs = np.sort(np.asarray(X.sum(axis=0)).ravel())[::-1]
    L = want
    while L < len(tfs) and tfs[L - 1] == tfs[L]:
        L += 1
    return L

W = dict(tokenizer=words, token_pattern=None, lowercase=False)
configs = [
    ("bow_word1", "--bow", CountVectorizer, dict(W)),
    ("tfidf_word12_mindf2_sublinear", "--tfidf --ngram 1,2 --min-df 2 --sublinear-tf", TfidfVectorizer,
     dict(W, ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
    ("tfidf_charwb24_maxdf05_maxfeat", "--tfidf --analyzer char_wb --ngram 2,4 --max-df 0.5 --max-features N",
     TfidfVectorizer, dict(analyzer="char_wb", ngram_range=(2, 4), max_df=0.5, max_features=3000)),
    ("tfidf_char13_l1_nosmooth", "--tfidf --analyzer char --ngram 1,3 --norm l1 --no-smooth-idf",
     TfidfVectorizer, dict(analyzer="char", ngram_range=(1, 3), norm="l1", smooth_idf=False)),
    ("bow_word12_binary_mindf_prop_maxfeat", "--bow --binary --ngram 1,2 --min-df 0.001 --max-features N",
     CountVectorizer, dict(W, ngram_range=(1, 2), binary=True, min_df=0.001, max_features=500)),
]
for name, flags, cls, kw in configs:
    if "max_features" in kw:
        kw["max_features"] = tie_free(kw, kw["max_features"])
        flags = flags.replace("N", str(kw["max_features"]))
    v = cls(**kw)
    v.fit(train)
    X = v.transform(dev).tocsr()
    X.sort_indices()
    names = v.get_feature_names_out()
    print(f"#config\t{name}\t{flags}\tdim={len(names)}")
    for i in range(X.shape[0]):
        for j, x in zip(X.indices[X.indptr[i]:X.indptr[i + 1]], X.data[X.indptr[i]:X.indptr[i + 1]]):
            t = names[j].replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            print(f"{i}\t{t}\t{x:.9g}")

# hashing: HashingVectorizer(alternate_sign=False, norm="l2") on words
hv = HashingVectorizer(n_features=1024, alternate_sign=False, norm="l2", **W)
X = hv.transform(dev).tocsr()
X.sort_indices()
print("#config\thash_word1_l2\t--bow --hash 1024 --norm l2\tdim=1024")
for i in range(X.shape[0]):
    for j, x in zip(X.indices[X.indptr[i]:X.indptr[i + 1]], X.data[X.indptr[i]:X.indptr[i + 1]]):
        print(f"{i}\t{j}\t{x:.9g}")
