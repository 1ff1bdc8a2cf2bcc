#!/usr/bin/env python3
"""Reference fixtures for tl-eval (tests/ref/eval/).

For each prediction set this writes NAME.jsonl (records with id, label,
pred, probs and a grouping field; turn them into a stream with tl-cat) and
NAME.expected.json: the figures scikit-learn gives on the same predictions,
under the key names of `tl-eval --json`. tests/bats/eval.bats compares
every number within 1e-9.

Sets: a real TF-IDF + logistic regression model on SST-2 dev (binary, plus
a weaker second system for --compare), the same on AG News (4 classes),
a synthetic multi-label set, and edge cases (a class never predicted, a
class absent from gold, a single class in gold, one label only, labels in
natural order "1" < "2" < "10").

Conventions reproduced here (documented in man/tl-eval.1):
- labels in natural order (digit runs compare as numbers);
- per-class figures over all labels seen in gold, pred or probs keys;
  averages over the labels in gold or pred (sklearn's default labels);
- binary ROC/PR-AUC use the probability of the second label; with more
  labels, one-vs-rest per label, macro over the labels defined (ROC-AUC:
  present in gold and not all of gold; AP: present in gold);
- ECE: conf = max prob (first max in label order), correct = its label is
  gold; bin floor(conf * 10), the last bin takes 1.0;
- bootstrap: splitmix64 from the seed, index = (x * n) >> 64, numpy
  percentile (linear); McNemar exact = scipy binomtest, chi2 with
  continuity correction = scipy chi2.sf.

Needs: numpy, scipy, scikit-learn and $TL_SHARED/data (default ../shared/data).
Run from the repository root: python3 tests/ref/gen_eval.py
"""
import csv, functools, json, os, re, sys
import numpy as np
import scipy.stats
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB
from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix, f1_score,
                             hamming_loss, log_loss, precision_recall_fscore_support, roc_auc_score)
from sklearn.preprocessing import MultiLabelBinarizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(os.environ.get("TL_SHARED", os.path.join(ROOT, "..", "shared")), "data")
OUT = os.path.join(ROOT, "tests", "ref", "eval")
BINS, THR = 10, 0.9
M64 = (1 << 64) - 1


def natcmp(a, b):
    """tl_metrics_natcmp: digit runs compare as numbers, the rest bytewise."""
    p, q = a.encode(), b.encode()
    i = j = 0
    isd = lambda c: 48 <= c <= 57
    while i < len(p) and j < len(q):
        if isd(p[i]) and isd(q[j]):
            while p[i] == 48 and i + 1 < len(p) and isd(p[i + 1]):
                i += 1
            while q[j] == 48 and j + 1 < len(q) and isd(q[j + 1]):
                j += 1
            li = i
            while li < len(p) and isd(p[li]):
                li += 1
            lj = j
            while lj < len(q) and isd(q[lj]):
                lj += 1
            if li - i != lj - j:
                return -1 if li - i < lj - j else 1
            if p[i:li] != q[j:lj]:
                return -1 if p[i:li] < q[j:lj] else 1
            i, j = li, lj
            continue
        if p[i] != q[j]:
            return -1 if p[i] < q[j] else 1
        i += 1
        j += 1
    if i < len(p) or j < len(q):
        return 1 if i < len(p) else -1
    return (p > q) - (p < q)


natsort = lambda xs: sorted(xs, key=functools.cmp_to_key(natcmp))


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def fl(x):
    return None if x is None or not np.isfinite(x) else float(x)


def report(recs):
    gold = [r["label"] for r in recs]
    pred = [r["pred"] for r in recs]
    ml = any(isinstance(x, list) for x in gold + pred)
    out = {"n": len(recs), "multilabel": ml}
    if ml:
        G = [x if isinstance(x, list) else [x] for x in gold]
        P = [x if isinstance(x, list) else [x] for x in pred]
        L = natsort({l for s in G + P for l in s})
        mlb = MultiLabelBinarizer(classes=L)
        Yg, Yp = mlb.fit_transform(G), mlb.transform(P)
        out["labels"] = L
        out["accuracy"] = out["subset_accuracy"] = accuracy_score(Yg, Yp)
        out["hamming_loss"] = hamming_loss(Yg, Yp)
        pr, rc, f, s = precision_recall_fscore_support(Yg, Yp, zero_division=0)
        for avg in ("macro", "micro", "weighted"):
            a = precision_recall_fscore_support(Yg, Yp, average=avg, zero_division=0)
            out[avg + "_precision"], out[avg + "_recall"], out[avg + "_f1"] = map(float, a[:3])
        out["per_class"] = {l: {"precision": float(pr[i]), "recall": float(rc[i]), "f1": float(f[i]), "support": int(s[i])}
                            for i, l in enumerate(L)}
        return out
    has_p = [r for r in recs if "probs" in r]
    L = natsort(set(gold) | set(pred) | {k for r in has_p for k in r["probs"]})
    out["labels"] = L
    out["accuracy"] = accuracy_score(gold, pred)
    for avg in ("macro", "micro", "weighted"):
        a = precision_recall_fscore_support(gold, pred, average=avg, zero_division=0)
        out[avg + "_precision"], out[avg + "_recall"], out[avg + "_f1"] = map(float, a[:3])
    assert out["macro_f1"] == f1_score(gold, pred, average="macro", zero_division=0)
    pr, rc, f, s = precision_recall_fscore_support(gold, pred, labels=L, zero_division=0)
    out["per_class"] = {l: {"precision": float(pr[i]), "recall": float(rc[i]), "f1": float(f[i]), "support": int(s[i])}
                        for i, l in enumerate(L)}
    out["confusion"] = {"labels": L, "matrix": confusion_matrix(gold, pred, labels=L).tolist()}
    if not has_p:
        return out
    k = len(L)
    Pm = np.array([[r["probs"].get(l, 0.0) for l in L] for r in has_p])
    y = np.array([L.index(r["label"]) for r in has_p])
    out["n_probs"] = len(has_p)
    lex = sorted(L)  # sklearn's LabelBinarizer order for log_loss
    out["log_loss"] = log_loss([r["label"] for r in has_p], Pm[:, [L.index(l) for l in lex]], labels=lex)
    auc, ap = [], []
    for c in range(k):
        pos = (y == c).astype(int)
        auc.append(roc_auc_score(pos, Pm[:, c]) if 0 < pos.sum() < len(pos) else None)
        ap.append(average_precision_score(pos, Pm[:, c]) if pos.sum() > 0 else None)
    if k == 2:
        out["roc_auc"], out["pr_auc"] = fl(auc[1]), fl(ap[1])
        out["positive_label"] = L[1]
        if auc[1] is not None:  # the plain binary call gives the same
            assert abs(auc[1] - roc_auc_score([r["label"] for r in has_p], Pm[:, 1])) < 1e-12
    else:
        d = [a for a in auc if a is not None]
        e = [a for a in ap if a is not None]
        out["roc_auc"] = float(np.mean(d)) if d else None
        out["pr_auc"] = float(np.mean(e)) if e else None
        out["roc_auc_per_class"] = {l: fl(auc[i]) for i, l in enumerate(L)}
        out["pr_auc_per_class"] = {l: fl(ap[i]) for i, l in enumerate(L)}
        if len(d) == k and np.allclose(Pm.sum(1), 1):  # equals sklearn's one-vs-rest call
            lexP = Pm[:, [L.index(l) for l in lex]]
            ref = roc_auc_score([r["label"] for r in has_p], lexP, multi_class="ovr", average="macro", labels=lex)
            assert abs(ref - out["roc_auc"]) < 1e-12, (ref, out["roc_auc"])
    conf = Pm.max(1)
    ok = (Pm.argmax(1) == y)
    b = np.minimum(np.floor(conf * BINS).astype(int), BINS - 1)
    ece, rel = 0.0, []
    for i in range(BINS):
        m = b == i
        n = int(m.sum())
        mc = float(conf[m].mean()) if n else None
        ma = float(ok[m].mean()) if n else None
        if n:
            ece += n / len(conf) * abs(ma - mc)
        rel.append({"lo": i / BINS, "hi": (i + 1) / BINS, "n": n, "confidence": mc, "accuracy": ma})
    out["ece"] = ece
    out["reliability"] = rel
    cov = conf >= THR
    out["at_threshold"] = {"threshold": THR, "n": int(cov.sum()), "coverage": float(cov.mean()),
                           "accuracy": float(ok[cov].mean()) if cov.any() else None}
    return out


def by(recs, field):
    vals = natsort({str(r.get(field, "(missing)")) for r in recs})
    return {"field": field, "groups": {v: report([r for r in recs if str(r.get(field, "(missing)")) == v]) for v in vals}}


def compare(a, b, resamples=1000, seed=42):
    L = natsort({r["label"] for r in a} | {r["pred"] for r in a} | {r["pred"] for r in b})
    bid = {r["id"]: r for r in b}
    gold = np.array([L.index(r["label"]) for r in a])
    pa = np.array([L.index(r["pred"]) for r in a])
    pb = np.array([L.index(bid[r["id"]]["pred"]) for r in a])
    n = len(a)
    st, da, df = seed, [], []
    for _ in range(resamples):
        idx = np.empty(n, dtype=np.int64)
        for j in range(n):
            st, x = splitmix64(st)
            idx[j] = (x * n) >> 64
        g = gold[idx]
        da.append(accuracy_score(g, pa[idx]) - accuracy_score(g, pb[idx]))
        df.append(f1_score(g, pa[idx], average="macro", zero_division=0) - f1_score(g, pb[idx], average="macro", zero_division=0))
    ra, rb = pa == gold, pb == gold
    bc, cc = int((ra & ~rb).sum()), int((~ra & rb).sum())
    stat = (abs(bc - cc) - 1) ** 2 / (bc + cc)
    out = {"n": n,
           "a": {"accuracy": accuracy_score(gold, pa), "macro_f1": f1_score(gold, pa, average="macro", zero_division=0)},
           "b": {"accuracy": accuracy_score(gold, pb), "macro_f1": f1_score(gold, pb, average="macro", zero_division=0)},
           "mcnemar": {"a_only": bc, "b_only": cc,
                       "p_exact": scipy.stats.binomtest(min(bc, cc), bc + cc, 0.5).pvalue,
                       "chi2": stat, "p_chi2": float(scipy.stats.chi2.sf(stat, 1))},
           "bootstrap": {"resamples": resamples, "seed": seed}}
    out["diff"] = {"accuracy": {"value": out["a"]["accuracy"] - out["b"]["accuracy"],
                                "ci_low": float(np.percentile(da, 2.5)), "ci_high": float(np.percentile(da, 97.5))},
                   "macro_f1": {"value": out["a"]["macro_f1"] - out["b"]["macro_f1"],
                                "ci_low": float(np.percentile(df, 2.5)), "ci_high": float(np.percentile(df, 97.5))}}
    return out


def fix_floats(o):
    if isinstance(o, dict):
        return {k: fix_floats(v) for k, v in o.items()}
    if isinstance(o, list):
        return [fix_floats(v) for v in o]
    if isinstance(o, (np.floating, float)):
        return float(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    return o


def write(name, recs, expected):
    with open(os.path.join(OUT, name + ".jsonl"), "w") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(OUT, name + ".expected.json"), "w") as f:
        json.dump(fix_floats(expected), f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(name, len(recs), "records", file=sys.stderr)


def model_records(texts, labels, classes, vec, clf, extra):
    P = clf.predict_proba(vec.transform(texts))
    recs = []
    for i, (t, l) in enumerate(zip(texts, labels)):
        p = P[i]
        r = {"id": i + 1, "label": l, "pred": classes[int(np.argmax(p))],
             "probs": {c: float(p[j]) for j, c in enumerate(classes)}}
        r.update(extra(t))
        recs.append(r)
    return recs


def length_field(t):
    return {"length": "short" if len(t.split()) <= 15 else "long"}


def sst2():
    def read(path, limit=None):
        rows = list(csv.reader(open(path, encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
        rows = rows[:limit] if limit else rows
        return [r[0] for r in rows], [r[1] for r in rows]
    tx, ty = read(os.path.join(DATA, "sst2", "train.tsv"), 20000)
    dx, dy = read(os.path.join(DATA, "sst2", "dev.tsv"))
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(tx)
    clf = LogisticRegression(C=2.0, max_iter=2000).fit(vec.transform(tx), ty)
    a = model_records(dx, dy, list(clf.classes_), vec, clf, length_field)
    vec2 = TfidfVectorizer(min_df=2).fit(tx[:3000])
    nb = MultinomialNB().fit(vec2.transform(tx[:3000]), ty[:3000])
    b = model_records(dx, dy, list(nb.classes_), vec2, nb, length_field)
    exp = report(a)
    exp["by"] = by(a, "length")
    exp["compare"] = compare(a, b)
    write("sst2_binary", a, exp)
    write("sst2_binary_b", b, report(b))


def agnews():
    names = ["World", "Sports", "Business", "Sci/Tech"]
    tr = list(csv.reader(open(os.path.join(DATA, "ag_news", "subset_lst11111", "train.csv"), encoding="utf-8")))
    te = list(csv.reader(open(os.path.join(DATA, "ag_news", "test.csv"), encoding="utf-8")))[::8]
    tx, ty = [r[0] for r in tr], [names[int(r[1])] for r in tr]
    dx, dy = [r[1] + " " + r[2] for r in te], [names[int(r[0]) - 1] for r in te]
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(tx)
    clf = LogisticRegression(C=4.0, max_iter=2000).fit(vec.transform(tx), ty)
    a = model_records(dx, dy, list(clf.classes_), vec, clf, length_field)
    exp = report(a)
    exp["by"] = by(a, "length")
    write("agnews_4way", a, exp)


def multilabel():
    rng = np.random.default_rng(7)
    L = ["arts", "economy", "health", "politics", "science", "sports"]
    recs = []
    for i in range(300):
        g = [l for l in L if rng.random() < 0.25]
        p = [l for l in L if (l in g) != (rng.random() < 0.12)]
        recs.append({"id": i + 1, "label": g, "pred": p, "split": "a" if i % 3 else "b"})
    exp = report(recs)
    exp["by"] = by(recs, "split")
    write("multilabel", recs, exp)


def softmaxish(rng, k, hot):
    p = rng.dirichlet(np.ones(k))
    p[hot] += 1.0
    return p / p.sum()


def edges():
    rng = np.random.default_rng(11)
    # a class never predicted ("c"); probs over a, b, c
    recs = []
    for i in range(60):
        g = "abc"[i % 3]
        pr = softmaxish(rng, 3, rng.integers(0, 2))
        recs.append({"id": i + 1, "label": g, "pred": "ab"[int(np.argmax(pr[:2]))],
                     "probs": {c: float(pr[j]) for j, c in enumerate("abc")}})
    write("edge_never_predicted", recs, report(recs))
    # a class absent from gold ("z" is predicted but never gold)
    recs = []
    for i in range(50):
        g = "xy"[i % 2]
        pr = softmaxish(rng, 3, rng.integers(0, 3))
        recs.append({"id": i + 1, "label": g, "pred": "xyz"[int(np.argmax(pr))],
                     "probs": {c: float(pr[j]) for j, c in enumerate("xyz")}})
    write("edge_absent_gold", recs, report(recs))
    # a single class in gold: ROC-AUC undefined
    recs = []
    for i in range(20):
        p = float(rng.uniform(0.2, 1.0))
        recs.append({"id": i + 1, "label": "pos", "pred": "pos" if p >= 0.5 else "neg", "probs": {"pos": p, "neg": 1 - p}})
    write("edge_single_class", recs, report(recs))
    # one label only, no probabilities
    recs = [{"id": i + 1, "label": "only", "pred": "only"} for i in range(7)]
    write("edge_one_label", recs, report(recs))
    # natural order: "1" < "2" < "10", with ties in the scores
    recs = []
    for i in range(90):
        g = ["1", "2", "10"][i % 3]
        hot = int(rng.integers(0, 3))
        pr = np.round(softmaxish(rng, 3, hot), 1)
        pr = pr / pr.sum()
        lab = ["1", "2", "10"]
        recs.append({"id": i + 1, "label": g, "pred": lab[int(np.argmax(pr))],
                     "probs": {c: float(pr[j]) for j, c in enumerate(lab)}})
    exp = report(recs)
    assert exp["labels"] == ["1", "2", "10"]
    write("edge_natural_order", recs, exp)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    sst2()
    agnews()
    multilabel()
    edges()
