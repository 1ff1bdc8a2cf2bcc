#!/usr/bin/env python3
"""Reference segmentations from jieba 0.42.1 (PyPI: pip install jieba==0.42.1).

  jieba_ref.py gen [OUTDIR]          write the committed fixtures
        OUTDIR/cases.jsonl  {"text", "default", "nohmm", "full", "search"} per case
        OUTDIR/user.jsonl   {"text", "default"} after load_userdict(OUTDIR/userdict.txt),
                            and one {"freqs": {word: FREQ}} line
  jieba_ref.py compare CUT DATA [MODE] [SAMPLE]
        run the C driver CUT (tests/ref/jieba_cut) and jieba on every text of
        DATA/chnsenticorp (train, dev, test, hotel reviews); print N texts,
        N identical and every difference. SAMPLE: only every SAMPLE-th text.
Python is only the reference here; the tests (tests/unit/test_jieba.c) read
the fixtures.
"""
import csv, json, os, subprocess, sys, time

import jieba

jieba.setLogLevel(60)
assert jieba.__version__ == "0.42.1", jieba.__version__

EDGE = [
    "", " ", "  \t\n", "我来到北京清华大学", "他来到了网易杭研大厦",
    "小明硕士毕业于中国科学院计算所，后在日本京都大学深造",
    "工信处女干事每月经过下属科室都要亲口交代24口交换机等技术性器件的安装工作",
    "這間酒店環境和服務態度亦算不錯,但房間空間太小~~不宣容納太大件行李",  # traditional
    "我用iPhone 12拍了3.5%的照片😀，GPU跑得飞快!!",  # mixed zh/en/digits/emoji
    "（全角）“引号”、顿号；分号：冒号？！……——《书名》【括号】",  # full-width punctuation
    "价格是12.5元，涨了3.5%，版本v1.2.3，AT&T和c#还有B超",
    "line1\r\nline2\rline3\nline4\u3000全角空格\u00a0nbsp\u2028sep",
    "http://www.example.com/a_b-c?x=1&y=2 邮箱test@example.com",
    "〇㐀䶵\u9fd5\u9fd6\u9fa5龥ＡＢＣ１２３",
    "一一一一一一一一一一一一一一一一一一一一",
    "的的的的的的", "abc def_ghi+jkl#mno%pqr-stu.vwx",
    "南京市长江大桥", "结婚的和尚未结婚的", "永和服装饰品有限公司",
    "吴国华人民检察院", "乒乓球拍卖完了", "研究生命起源", "我爱北京天安门",
    "李小福是创新办主任也是云计算方面的专家", "台中", "韩玉赏鉴", "easy_install is great",
    "江州市长江大桥参加了长江大桥的通车仪式", "2013年12月31日晚上8点30分",
    "a.b.c", "...", "--", "%%", "3.14.15", "1.5e10", "Ｔｈｅ　ｅｎｄ", "x\u200by\ufeffz",
    "\x1c\x1d\x1e\x1f分隔", "鸟巢和水立方", "不要使用我们", "快乐快乐快乐",
]

USERDICT = """\ufeff云计算 5
创新办 3 i
凱特琳 nz
台中
韩玉赏鉴 0
easy_install 3 eng
好用 300
还要 0 d
New York 7
石墨烯
"""
USER_TEXTS = [
    "李小福是创新办主任也是云计算方面的专家", "凱特琳和台中", "韩玉赏鉴", "easy_install is great",
    "这个好用还要石墨烯", "New York和石墨烯", "我来到北京清华大学", "还要",
]


def cut(t, mode):
    if mode == "default":
        return list(jieba.cut(t))
    if mode == "nohmm":
        return list(jieba.cut(t, HMM=False))
    if mode == "full":
        return list(jieba.cut(t, cut_all=True))
    return list(jieba.cut_for_search(t))


def corpus_texts(data):
    d = os.path.join(data, "chnsenticorp")
    out = []
    for name, col in (("train.tsv", "text_a"), ("dev.tsv", "text_a"), ("test.tsv", "text_a")):
        with open(os.path.join(d, name), encoding="utf-8", newline="") as f:
            rows = f.read().split("\n")
        head = rows[0].split("\t")
        k = head.index(col) if col in head else len(head) - 1
        for r in rows[1:]:
            if r:
                out.append((name, r.split("\t")[k]))
    with open(os.path.join(d, "ChnSentiCorp_htl_all.csv"), encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            if row:
                out.append(("htl_all.csv", row[-1]))
    return out


def gen(outdir):
    os.makedirs(outdir, exist_ok=True)
    data = os.environ.get("TL_SHARED", "/work/shared") + "/data"
    texts = list(EDGE)
    # a sample of real reviews: every 97th text of the corpus, up to 600 characters
    for i, (_, t) in enumerate(corpus_texts(data)):
        if i % 97 == 0 and len(t) <= 600:
            texts.append(t)
    with open(os.path.join(outdir, "cases.jsonl"), "w", encoding="utf-8") as f:
        for t in texts:
            rec = {"text": t}
            for m in ("default", "nohmm", "full", "search"):
                rec[m] = cut(t, m)
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    up = os.path.join(outdir, "userdict.txt")
    with open(up, "w", encoding="utf-8") as f:
        f.write(USERDICT)
    jieba.load_userdict(up)
    with open(os.path.join(outdir, "user.jsonl"), "w", encoding="utf-8") as f:
        for t in USER_TEXTS + EDGE[3:12]:
            f.write(json.dumps({"text": t, "default": cut(t, "default")}, ensure_ascii=False) + "\n")
        words = ["云计算", "创新办", "凱特琳", "台中", "韩玉赏鉴", "easy_install", "好用", "还要",
                 "New York", "石墨烯"]
        f.write(json.dumps({"freqs": {w: jieba.dt.FREQ.get(w) for w in words}, "total": jieba.dt.total},
                           ensure_ascii=False) + "\n")
    print("wrote %d cases to %s" % (len(texts), outdir))


def compare(cutbin, data, mode="default", sample=1):
    texts = corpus_texts(data)[::sample]
    blob = b"".join(t.encode("utf-8") + b"\0" for _, t in texts)
    t0 = time.time()
    p = subprocess.run([cutbin, mode], input=blob, stdout=subprocess.PIPE, check=True)
    t1 = time.time()
    got = p.stdout.split(b"\0")[:-1]
    assert len(got) == len(texts), (len(got), len(texts))
    same = 0
    diffs = []
    jieba.initialize()
    t2 = time.time()
    for (src, t), g in zip(texts, got):
        want = "\x01".join(cut(t, mode)).encode("utf-8")
        if want == g:
            same += 1
        else:
            diffs.append((src, t, want.decode().split("\x01"), g.decode().split("\x01")))
    t3 = time.time()
    print("mode %s: %d texts, %d identical, %d different (tl %.2fs, jieba %.2fs)"
          % (mode, len(texts), same, len(diffs), t1 - t0, t3 - t2))
    for src, t, w, g in diffs[:50]:
        print("DIFF %s: %r\n  jieba: %s\n  tl:    %s" % (src, t, " | ".join(w), " | ".join(g)))
    return 0 if not diffs else 1


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "gen":
        gen(sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "jieba"))
    elif len(sys.argv) >= 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "default",
                         int(sys.argv[5]) if len(sys.argv) > 5 else 1))
    else:
        sys.exit(__doc__)
