#!/usr/bin/env python3
"""Reference word alignment for tl-tokenize on records with "words"
(tests/unit/test_ner_tokenize.c): Hugging Face's fast tokenizer (the
all-MiniLM-L6-v2 tokenizer in $TL_SHARED/models, bert-base-uncased's
vocabulary) called with is_split_into_words=True; word_ids() with None
written as -1.

Inputs: the CoNLL-2003 dev sentences ($TL_SHARED/data/conll2003/dev.txt,
read at test time through tl-clean's CoNLL reader: blank line = sentence
end, word = first column) and tests/ref/ner/words-hard.jsonl (hand-made:
empty and control-only words, punctuation and CJK inside a word, [CLS] as
a word, a word over 100 characters, accents, full-width letters, words
holding spaces).

Outputs, one line per sentence: "ids<TAB>word_ids", space-separated:
  tests/ref/ner/words-conll-dev.txt.gz        max_length 512
  tests/ref/ner/words-conll-dev-max24.txt.gz  max_length 24 (truncation=True)
  tests/ref/ner/words-hard.txt                 max_length 512, then max_length 8
Needs: transformers, tokenizers. Run from the repository root:
python3 tests/ref/ner_tokenize.py
"""
import gzip
import json
import os

from transformers import AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("TL_SHARED", os.path.join(ROOT, "..", "shared"))
TOK = AutoTokenizer.from_pretrained(os.path.join(SHARED, "models", "all-MiniLM-L6-v2-tokenizer"))
assert TOK.is_fast


def conll(path):
    sents, cur = [], []
    for line in open(path, encoding="utf-8"):
        cols = line.split()
        if not cols or cols[0] == "-DOCSTART-":
            if cur:
                sents.append(cur)
            cur = []
            continue
        cur.append(cols[0])
    if cur:
        sents.append(cur)
    return sents


def line(words, max_length):
    e = TOK(words, is_split_into_words=True, truncation=True, max_length=max_length)
    wid = [-1 if w is None else w for w in e.word_ids()]
    return " ".join(map(str, e["input_ids"])) + "\t" + " ".join(map(str, wid))


def main():
    dev = conll(os.path.join(SHARED, "data", "conll2003", "dev.txt"))
    assert len(dev) == 3250
    for name, ml in (("words-conll-dev", 512), ("words-conll-dev-max24", 24)):
        with gzip.GzipFile(os.path.join(ROOT, "tests/ref/ner", name + ".txt.gz"), "wb", mtime=0) as f:
            f.write("".join(line(s, ml) + "\n" for s in dev).encode())
    hard = [json.loads(l)["words"] for l in open(os.path.join(ROOT, "tests/ref/ner/words-hard.jsonl"), encoding="utf-8")]
    with open(os.path.join(ROOT, "tests/ref/ner/words-hard.txt"), "w", encoding="utf-8") as f:
        for ml in (512, 8):
            for w in hard:
                f.write(line(w, ml) + "\n")


if __name__ == "__main__":
    main()
