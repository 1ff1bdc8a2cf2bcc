#!/usr/bin/env python3
"""Reference figures for lib/eval/ner.c (tests/ref/ner/cases.txt) and for
`tl-eval` in NER mode (tests/ref/ner/eval.jsonl + eval.expected.json).

Every number is seqeval 1.2.2's default mode (mode=None, which is
conlleval's chunking; zero_division default): per-type counts from
get_entities on the sentence list, per-type and averaged precision /
recall / F1 from precision_recall_fscore_support, token accuracy from
accuracy_score. Cases: the edge cases of issue 22 (I- without B-, entity at
sentence end, type change inside a span, IOB1 data, IOBES data, bare B/I
tags, types with '-' and non-ASCII types for the sort order, no entity at
all) plus seeded random sentences mixing all prefixes.

cases.txt, one block per case:
  case NAME
  s <gold tags...> | <pred tags...>      one line per sentence
  sum tp npred ngold words correct micro_p micro_r micro_f1 macro_p macro_r macro_f1 w_p w_r w_f1 accuracy
  type NAME tp npred ngold p r f1        one line per type, sorted
  end
Run from the repository root: python3 tests/ref/ner_ref.py
(pip install seqeval).
"""
import json
import random
import warnings
from collections import defaultdict

from seqeval.metrics import accuracy_score
from seqeval.metrics.sequence_labeling import get_entities, precision_recall_fscore_support

warnings.simplefilter("ignore")

CASES = [
    ("i_without_b", [(["I-PER", "I-PER", "O", "I-LOC"], ["B-PER", "I-PER", "O", "B-LOC"])]),
    ("entity_at_end", [(["O", "B-ORG", "I-ORG"], ["O", "B-ORG", "I-ORG"]),
                       (["B-LOC"], ["O"])]),
    ("type_change_in_span", [(["B-PER", "I-PER", "I-LOC", "I-LOC", "O"], ["B-PER", "I-PER", "I-PER", "I-LOC", "O"])]),
    ("iob1", [(["I-PER", "I-PER", "B-PER", "O", "I-ORG"], ["I-PER", "B-PER", "I-PER", "O", "I-ORG"]),
              (["O", "I-MISC", "I-MISC", "B-MISC", "I-MISC"], ["O", "I-MISC", "I-MISC", "I-MISC", "I-MISC"])]),
    ("iobes", [(["S-PER", "O", "B-LOC", "I-LOC", "E-LOC", "S-ORG"], ["S-PER", "O", "B-LOC", "E-LOC", "E-LOC", "B-ORG"]),
               (["E-PER", "I-PER", "S-PER"], ["B-PER", "E-PER", "S-PER"])]),
    ("b_b_same_type", [(["B-PER", "B-PER", "I-PER"], ["B-PER", "I-PER", "I-PER"])]),
    ("bare_tags", [(["B", "I", "O", "I", "B-"], ["B", "I", "O", "B", "I"])]),
    ("odd_types", [(["B-ORG-X", "I-ORG-X", "B-Ärzte", "B-Z", "B-a"], ["B-ORG-X", "I-ORG", "B-Ärzte", "B-a", "B-Z"])]),
    ("no_entities", [(["O", "O"], ["O", "O"])]),
    ("only_pred", [(["O", "O", "O"], ["B-PER", "O", "I-LOC"])]),
    ("only_gold", [(["B-PER", "O", "I-LOC"], ["O", "O", "O"])]),
    ("empty_and_one", [([], []), (["B-MISC"], ["B-MISC"])]),
]


def rand_cases(rng, n):
    out = []
    prefixes = ["B", "I", "E", "S"]
    for c in range(n):
        types = rng.sample(["PER", "LOC", "ORG", "MISC", "DATE"], rng.randint(1, 4))
        sents = []
        for _ in range(rng.randint(1, 12)):
            L = rng.randint(0, 14)
            def one():
                return ["O" if rng.random() < 0.4 else rng.choice(prefixes[:2] if c % 2 == 0 else prefixes) + "-" + rng.choice(types)
                        for _ in range(L)]
            g = one()
            p = [t if rng.random() < 0.6 else x for t, x in zip(g, one())]
            sents.append((g, p))
        out.append((f"random{c}", sents))
    return out


def score(sents):
    y = [g for g, _ in sents]
    p = [q for _, q in sents]
    et, ep = defaultdict(set), defaultdict(set)
    for t, s, e in get_entities(y):
        et[t].add((s, e))
    for t, s, e in get_entities(p):
        ep[t].add((s, e))
    names = sorted(set(et) | set(ep))
    types = [(n, len(et[n] & ep[n]), len(ep[n]), len(et[n])) for n in names]
    per = precision_recall_fscore_support(y, p, average=None)
    avg = {}
    for a in ("micro", "macro", "weighted"):
        if names:
            avg[a] = precision_recall_fscore_support(y, p, average=a)[:3]
        else:
            avg[a] = (0.0, 0.0, 0.0)  # seqeval: nan for macro (empty mean); tl: 0
    words = sum(len(g) for g in y)
    correct = sum(a == b for g, q in sents for a, b in zip(g, q))
    acc = accuracy_score(y, p) if words else 0.0
    return names, types, per, avg, words, correct, acc


def main():
    rng = random.Random(22)
    cases = CASES + rand_cases(rng, 40)
    lines = []
    for name, sents in cases:
        names, types, per, avg, words, correct, acc = score(sents)
        lines.append(f"case {name}")
        for g, p in sents:
            lines.append("s " + " ".join(g + ["|"] + p))
        tp = sum(t[1] for t in types)
        npred = sum(t[2] for t in types)
        ngold = sum(t[3] for t in types)
        nums = [*avg["micro"], *avg["macro"], *avg["weighted"], acc]
        lines.append(f"sum {tp} {npred} {ngold} {words} {correct} " + " ".join("%.17g" % float(x) for x in nums))
        for i, (n, a, b, c) in enumerate(types):
            lines.append(f"type {n} {a} {b} {c} " + " ".join("%.17g" % float(per[k][i]) for k in range(3)))
        lines.append("end")
    with open("tests/ref/ner/cases.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")

    # a tl-eval fixture: all hand-made cases' sentences as records
    recs = []
    for name, sents in CASES[:8] + rand_cases(random.Random(7), 3):
        for g, p in sents:
            recs.append({"id": len(recs) + 1, "words": [f"w{i}" for i in range(len(g))], "tags": g, "pred": p})
    recs = [r for r in recs if r["tags"]]
    allsents = [(r["tags"], r["pred"]) for r in recs]
    names, types, per, avg, words, correct, acc = score(allsents)
    exp = {"n": len(recs), "accuracy": acc,
           "micro": dict(zip(("precision", "recall", "f1"), map(float, avg["micro"]))),
           "macro": dict(zip(("precision", "recall", "f1"), map(float, avg["macro"]))),
           "weighted": dict(zip(("precision", "recall", "f1"), map(float, avg["weighted"]))),
           "types": {n: {"precision": float(per[0][i]), "recall": float(per[1][i]), "f1": float(per[2][i]),
                         "tp": a, "pred": b, "support": c} for i, (n, a, b, c) in enumerate(types)}}
    with open("tests/ref/ner/eval.jsonl", "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open("tests/ref/ner/eval.expected.json", "w", encoding="utf-8") as f:
        json.dump(exp, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
