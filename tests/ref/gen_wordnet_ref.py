#!/usr/bin/env python3
"""Generate tests/ref/wordnet_ref.tsv: reference WordNet lookups from NLTK
for tests/unit/test_wordnet.c (the C reader must agree exactly).

NLTK reads the same WordNet 3.0 files as tl (Debian wordnet-base): copy
/usr/share/wordnet/{index,data}.* and *.exc plus a `lexnames` file into
~/nltk_data/corpora/wordnet (mode go-w), then run
    python3 tests/ref/gen_wordnet_ref.py $TL_SHARED/data/sst2/train.tsv > tests/ref/wordnet_ref.tsv
Lines:
    M <TAB> word <TAB> pos <TAB> morphy forms in order (space separated)
    L <TAB> word <TAB> sorted set of lemma names of wn.synsets(word)
"""
import collections, re, sys
from nltk.corpus.reader.wordnet import WordNetCorpusReader
WordNetCorpusReader.map_wn = lambda self, version="wordnet": None  # OMW mapping only
from nltk.corpus import wordnet as wn

EXTRA = """dogs geese running went happier glasses axes best ran stopped studies churches
men leaves better data corpora wolves buses boxes watches dishes cried tried lying dying
swimming was bought gave given taken saw seen Dog RUN good bad worse worst quickly
happily abetted abetting alto-relievos aurar ice_cream look_into feet teeth mice children
making made makes ate eaten going gone flies flying hoping hopped sees agreed fled
""".split()

def main():
    words = collections.Counter()
    with open(sys.argv[1], encoding="utf-8") as f:
        next(f)
        for line in f:
            for w in line.split("\t")[0].split():
                if re.fullmatch(r"[a-z][a-z'-]*", w):
                    words[w] += 1
    chosen = [w for w, _ in words.most_common(400)] + EXTRA
    seen = set()
    for w in chosen:
        if w in seen:
            continue
        seen.add(w)
        for pos in "nvar":
            forms = wn._morphy(w.lower(), pos)
            print("M\t%s\t%s\t%s" % (w, pos, " ".join(forms)))
        names = sorted({l.name() for s in wn.synsets(w) for l in s.lemmas()})
        print("L\t%s\t%s" % (w, " ".join(names)))

if __name__ == "__main__":
    main()
