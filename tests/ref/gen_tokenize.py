#!/usr/bin/env python3
"""Generate the tl-tokenize parity fixtures and character tables.

The reference is Hugging Face `tokenizers` (Rust; the BertNormalizer,
BertPreTokenizer and WordPiece model that BertTokenizerFast uses), loaded
from the same vocab.txt. Every fixture is also checked against the slow
Python tokenizer (transformers' BertTokenizerLegacy); where fast and slow
disagree the fast one is written and the disagreement listed in
tests/ref/tokenize/fast-vs-slow.txt.

Usage (from the repository root; needs the PyPI packages `tokenizers` and
`transformers`, never needed by the tests themselves):

    python3 tests/ref/gen_tokenize.py tables     # lib/text/tokenize_tables.h + unicode fixture
    python3 tests/ref/gen_tokenize.py fixtures   # tests/ref/tokenize/*.gz

Texts of the real-data fixtures are read from $TL_SHARED/data (default
../shared/data) at test time; the fixtures store only the expected ids, one
text per line, in the order the texts are selected here:

    sst2-dev          sst2/dev.tsv, column 1, all 872 rows (header skipped)
    imdb-test-s8     imdb/test.tsv.gz, column 1, rows 0, 8, 16, ... (3,125)
    chnsenticorp-dev  chnsenticorp/dev.tsv, column 3, all 1,200 rows
    hard              tests/ref/tokenize/hard.jsonl (committed, hand-made)

A line is the space-separated ids; pair fixtures add a tab and the number
of leading tokens whose type id is 0 (the rest are 1).
"""
import gzip
import json
import os
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("TL_SHARED", os.path.join(ROOT, "..", "shared"))
OUT = os.path.join(ROOT, "tests", "ref", "tokenize")
UNCASED = os.path.join(SHARED, "models", "all-MiniLM-L6-v2-tokenizer")
CHINESE = os.path.join(SHARED, "models", "bert-base-chinese-tokenizer")


# ---------------------------------------------------------------- texts

def tsv_column(path, col):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt", encoding="utf-8", newline="\n") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln.split("\t")[col - 1] for ln in lines[1:]]


def texts_sst2():
    return tsv_column(os.path.join(SHARED, "data", "sst2", "dev.tsv"), 1)


def texts_imdb():
    t = tsv_column(os.path.join(SHARED, "data", "imdb", "test.tsv.gz"), 1)
    return t[::8]


def texts_chn():
    return tsv_column(os.path.join(SHARED, "data", "chnsenticorp", "dev.tsv"), 3)


def hard_cases():
    """Hand-made hard cases: (text, text_b or None)."""
    H = []
    add = lambda a, b=None: H.append((a, b))
    add("Héllo Wörld! Ça va? naïve café résumé façade jalapeño")
    add("ÅNGSTRÖM Ärger Œuvre Æsir Øre ß ẞ ǅ ǈ ǋ ﬁ ﬂ")
    add("Istanbul İstanbul ISTANBUL ıi İİ dotless ı and dotted İ")
    add("ΟΔΥΣΣΕΥΣ σοφός ΣΟΦΟΣ ς")
    add("emoji 😀😃 👍🏽 👨‍👩‍👧 🇩🇪 ❤️ 🥰 🫠 ✨")
    add("control\x00chars\x01here\x7f and\x1b[0m ansi \x0b vt \x0c ff \x85 nel")
    add("zero\u200bwidth\u200cjoin\u200d\ufeffbom \u2060wj \u00adsoft\u00adhyphen")
    add("tabs\tand\nnewlines\r\nand\u2028line\u2029para\u3000ideo\u00a0nbsp\u202fnnbsp")
    add("a" * 200 + " " + "b" * 100 + " " + "c" * 101 + " " + "é" * 100 + " " + "é" * 101)
    add("supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic")
    add("mixed 日本語のテキスト 中文文本 한국어 텍스트 русский текст العربية עברית हिन्दी ไทย")
    add("combining e\u0301 a\u0308 o\u0302 n\u0303 z\u030c \u0301alone \u20dd enclosed \u0488x")
    add("punct: «quotes» „low“ ‘single’ — dash – en … ellipsis ¿qué? ¡sí! §1 ¶ † ‡ • ‰")
    add("ascii punct !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ end")
    add("symbols $100 €50 £3 ¥7 © ® ™ ° ± × ÷ ≤ ≥ ≠ ∞ √ ∑ → ⇒ ½ ¼ ²³")
    add("math 𝐀𝐁𝐂 𝕏 ℝ ℕ ﬀ Ⅻ ⅻ ① ⑴ ㈱ ㎏ ＡＢＣ ａｂｃ １２３ ！？")
    add("urls http://example.com/path?q=1&x=y#frag user@mail.org C++ C# .NET node.js")
    add("numbers 3.14159 1,000,000 -42 +7 1e-9 0x1F 2024-01-31 12:30:45")
    add("private use \ue000\uf8ff \U000f0000 noncharacter \ufdd0 \uffff unassigned \u0378 \U0001fbff")
    add("cjk ext 㐀 𠀀 𪜀 𫝀 𫠠 𬺰 𰀀 豈 丽 〇 〆 々 ヶ ｶﾀｶﾅ")
    add("greek varia \u1fef\u1fed\u0385 ano teleia \u0387 question \u037e ohm \u2126 kelvin \u212a angstrom \u212b")
    add("  leading and trailing spaces   ")
    add("")
    add("   ")
    add("\x00\x01\ufffd")
    add("[CLS] special [SEP] tokens [MASK] in [UNK] text [PAD] [cls] [SEP[SEP]]")
    add("a" * 50 + "##" + "b" * 10 + " ## ###")
    add("don't won't it's they're y'all rock'n'roll")
    add("hyphen-ated co-operation re-enter e-mail x--y")
    add("Ｆｕｌｌｗｉｄｔｈ ＬＡＴＩＮ ｈａｌｆ")
    add("Ǆemal ǅemal ǆemal ῼ ᾈ ᾳ ΐ ΰ ŉ ǰ")
    add("Cherokee ᏣᎳᎩ ꭰꭱ Georgian ႠႡ ა Armenian ԱԲ ﬓ Deseret 𐐀𐐨 Osage 𐒰 Adlam 𞤀")
    add("vietnamese Tiếng Việt có dấu: Ở đây người ta nói tiếng Việt")
    add("korean jamo \u1100\u1161\u11a8 한 hangul compat ㄱㅏ")
    add("devanagari क्षत्रिय बिंदु ञ्च thai ภาษาไทย ก่ี tamil தமிழ்")
    add("variation selectors ︎︀ a\ufe0f b\U000e0100 tags \U000e0041\U000e0020")
    add("word" + "\u0301" * 120)
    add("x" * 99 + "\u00e9")
    add("the quick brown fox " * 40)
    add("Question one?", "Answer two!")
    add("A pair with an empty second", "")
    add("", "second only")
    add("Héllo CAFÉ", "naïve İstanbul 日本")
    add("long " * 300, "short pair")
    add("short", "long pair text " * 200)
    return H


def read_hard():
    path = os.path.join(OUT, "hard.jsonl")
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            out.append((o["text"], o.get("text_b")))
    return out


def write_hard():
    path = os.path.join(OUT, "hard.jsonl")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for i, (a, b) in enumerate(hard_cases(), 1):
            o = {"id": i, "text": a}
            if b is not None:
                o["text_b"] = b
            f.write(json.dumps(o, ensure_ascii=True) + "\n")


# ---------------------------------------------------------------- tokenizers

def fast_tok(vocab, lower=True, strip=None, chinese=True, max_len=0, direction="right"):
    from tokenizers import BertWordPieceTokenizer
    t = BertWordPieceTokenizer(vocab, clean_text=True, handle_chinese_chars=chinese,
                               strip_accents=strip, lowercase=lower)
    if max_len:
        t._tokenizer.enable_truncation(max_len, strategy="longest_first", direction=direction)
    return t


def slow_tok(vocab, lower=True, strip=None, chinese=True):
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy
    return BertTokenizerLegacy(vocab, do_lower_case=lower, strip_accents=strip,
                               tokenize_chinese_chars=chinese)


def encode_fast(t, pairs):
    out = []
    for a, b in pairs:
        e = t.encode(a, b) if b is not None else t.encode(a)
        out.append((e.ids, e.type_ids))
    return out


def encode_slow(t, pairs, max_len=0, side="right"):
    t.truncation_side = side
    out = []
    for a, b in pairs:
        kw = dict(truncation="longest_first", max_length=max_len) if max_len else {}
        e = t(a, b, **kw) if b is not None else t(a, **kw)
        out.append((e["input_ids"], e.get("token_type_ids") or [0] * len(e["input_ids"])))
    return out


def write_ids(name, encs, pair):
    path = os.path.join(OUT, name + ".ids.gz")
    with gzip.open(path + ".tmp", "wt", encoding="ascii", compresslevel=9) as f:
        for ids, types in encs:
            line = " ".join(map(str, ids))
            if pair:
                line += "\t%d" % types.count(0)
            f.write(line + "\n")
    # deterministic gzip header: rewrite with mtime 0
    with gzip.open(path + ".tmp", "rb") as f:
        data = f.read()
    os.remove(path + ".tmp")
    with open(path, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as g:
            g.write(data)
    print("wrote %s (%d texts)" % (path, len(encs)))


def compare(name, fast, slow, pairs, report):
    bad = [i for i in range(len(fast)) if list(fast[i][0]) != list(slow[i][0])]
    report.append("%s: %d texts, fast and slow disagree on %d" % (name, len(fast), len(bad)))
    for i in bad[:20]:
        a, b = pairs[i]
        report.append("  #%d text=%s%s" % (i + 1, json.dumps(a[:120], ensure_ascii=True),
                                           "" if b is None else " text_b=" + json.dumps(b[:60], ensure_ascii=True)))
        f, s = fast[i][0], slow[i][0]
        k = next((j for j in range(min(len(f), len(s))) if f[j] != s[j]), min(len(f), len(s)))
        report.append("     fast[%d:]=%s" % (k, f[k:k + 8]))
        report.append("     slow[%d:]=%s" % (k, s[k:k + 8]))


def fixtures():
    from transformers.utils import logging as tlog
    tlog.set_verbosity_error()
    os.makedirs(OUT, exist_ok=True)
    write_hard()
    hard = read_hard()
    uv = os.path.join(UNCASED, "vocab.txt")
    cv = os.path.join(CHINESE, "vocab.txt")
    report = []
    sets = [
        # name, texts, vocab, options, max_len, direction
        ("sst2-dev", [(t, None) for t in texts_sst2()], uv, {}, 0, "right"),
        ("imdb-test-s8", [(t, None) for t in texts_imdb()], uv, {}, 0, "right"),
        ("imdb-test-s8-max512", [(t, None) for t in texts_imdb()], uv, {}, 512, "right"),
        ("imdb-test-s8-max128-tail", [(t, None) for t in texts_imdb()], uv, {}, 128, "left"),
        ("chnsenticorp-dev", [(t, None) for t in texts_chn()], cv, {}, 0, "right"),
        ("sst2-pairs", None, uv, {}, 0, "right"),
        ("sst2-pairs-max24", None, uv, {}, 24, "right"),
        ("hard-uncased", hard, uv, {}, 0, "right"),
        ("hard-uncased-max16", hard, uv, {}, 16, "right"),
        ("hard-cased", hard, uv, {"lower": False}, 0, "right"),
        ("hard-lower-keep-accents", hard, uv, {"lower": True, "strip": False}, 0, "right"),
        ("hard-strip-only", hard, uv, {"lower": False, "strip": True}, 0, "right"),
        ("hard-no-chinese", hard, uv, {"chinese": False}, 0, "right"),
        ("hard-chinese", hard, cv, {}, 0, "right"),
    ]
    derived = {"imdb-test-s8-max512": "imdb-test-s8", "imdb-test-s8-max128-tail": "imdb-test-s8"}
    stored = {}
    sst = texts_sst2()
    sst_pairs = [(sst[i], sst[i + 1]) for i in range(0, len(sst) - 1, 2)]
    for name, pairs, vocab, opt, max_len, direction in sets:
        if pairs is None:
            pairs = sst_pairs
        ft = fast_tok(vocab, max_len=max_len, direction=direction, **opt)
        fast = encode_fast(ft, pairs)
        st = slow_tok(vocab, **opt)
        slow = encode_slow(st, pairs, max_len, direction)
        compare(name, fast, slow, pairs, report)
        if name in derived:
            # not stored: the test derives it from the untruncated fixture;
            # check here that the derivation is what tokenizers does
            full = stored[derived[name]]
            keep = max_len - 2
            for (f, _), (ids, _) in zip(full, fast):
                exp = list(f) if len(f) <= max_len else (
                    [f[0]] + list(f[1:1 + keep] if direction == "right" else f[-1 - keep:-1]) + [f[-1]])
                assert exp == list(ids), name
            report.append("%s: derived from %s (checked)" % (name, derived[name]))
            continue
        stored[name] = fast
        write_ids(name, fast, any(b is not None for _, b in pairs))
    # the transformers AutoTokenizer of the model directory (tokenizer.json)
    from transformers import AutoTokenizer
    at = AutoTokenizer.from_pretrained(UNCASED)
    ft = fast_tok(uv)
    for name, pairs in (("sst2-dev", [(t, None) for t in sst]), ("hard", hard)):
        a = [at(x, y)["input_ids"] if y is not None else at(x)["input_ids"] for x, y in pairs]
        f = [e[0] for e in encode_fast(ft, pairs)]
        bad = [i for i in range(len(a)) if list(a[i]) != list(f[i])]
        report.append("AutoTokenizer(%s) vs BertWordPieceTokenizer on %s: %d differ" %
                      (os.path.basename(UNCASED), name, len(bad)))
        for i in bad[:5]:
            report.append("  #%d text=%s" % (i + 1, json.dumps(pairs[i][0][:100], ensure_ascii=True)))
            report.append("     auto=%s" % a[i][:12])
            report.append("     fast=%s" % f[i][:12])
    with open(os.path.join(OUT, "fast-vs-slow.txt"), "w", encoding="utf-8") as f:
        f.write("# generated by tests/ref/gen_tokenize.py fixtures (tokenizers %s, transformers %s)\n" %
                (__import__("tokenizers").__version__, __import__("transformers").__version__))
        f.write("\n".join(report) + "\n")
    print("\n".join(report))


# ---------------------------------------------------------------- tables

def ranges(cps):
    out = []
    for c in sorted(cps):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def tables():
    """Probe the reference normalizer and pre-tokenizer on every code point."""
    from tokenizers import normalizers, pre_tokenizers
    plain = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                       strip_accents=False, lowercase=False)
    pt = pre_tokenizers.BertPreTokenizer()
    lower = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                       strip_accents=False, lowercase=True)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                       strip_accents=True, lowercase=False)
    removed, punct, mark = set(), set(), set()
    rows, lo_exc, st_exc, outs = [], [], [], {}
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        if plain.normalize_str(c) == "":
            removed.add(cp)
        if len(pt.pre_tokenize_str("a" + c + "a")) == 3:
            punct.add(cp)
        # non-spacing marks as the reference sees them: stripped when alone
        # (a mark has no decomposition of its own, so NFD leaves it alone)
        if strip.normalize_str(c) == "" and unicodedata.normalize("NFD", c) == c:
            mark.add(cp)
        lo, st = lower.normalize_str(c), strip.normalize_str(c)
        if lo != c.lower():
            lo_exc.append(cp)
        if lo != c or st != c:
            outs[cp] = (lo, st)
        if lo != c or st != c:
            rows.append("%X\t%s\t%s" % (cp, " ".join("%X" % ord(x) for x in lo),
                                         " ".join("%X" % ord(x) for x in st)))
    import tokenizers
    hdr = ("/* tokenize_tables.h - character classes of the reference BERT tokenizer.\n"
           " * GENERATED by tests/ref/gen_tokenize.py tables from Hugging Face tokenizers %s:\n"
           " * the code points its BertNormalizer removes as control characters (Cc, Cf,\n"
           " * Co, Cs of its Unicode tables; unassigned code points are kept), the ones\n"
           " * its BertPreTokenizer splits off as punctuation (ASCII punctuation and P*),\n"
           " * and the non-spacing marks (Mn) its accent stripping drops. These follow\n"
           " * the Unicode version of the Rust crates tokenizers uses, which is older\n"
           " * than utf8proc's; utf8proc does NFD and case mapping. Do not edit. */\n"
           % tokenizers.__version__)
    body = [hdr]
    for name, s in (("control", removed), ("punct", punct), ("mark", mark)):
        r = ranges(s)
        body.append("static const uint32_t tl_tok_%s_ranges[][2] = {\n" % name)
        for i in range(0, len(r), 4):
            body.append("\t" + " ".join("{0x%X, 0x%X}," % (a, b) for a, b in r[i:i + 4]) + "\n")
        body.append("};\n")
    # code points where the reference's case mapping / NFD differ from
    # Unicode 14 (Python's unicodedata; utf8proc 2.8 is Unicode 15): the
    # reference lower-cases with Rust's newer tables and decomposes with an
    # older crate. Stored as (cp, n, out[3]).
    # (marks are decided after the sweep, so recheck strip exceptions here)
    st_exc = [cp for cp in range(0x110000) if not 0xD800 <= cp < 0xE000 and
              outs.get(cp, (chr(cp), chr(cp)))[1] !=
              "".join(x for x in unicodedata.normalize("NFD", chr(cp)) if ord(x) not in mark)]
    outs = {cp: outs.get(cp, (chr(cp), chr(cp))) for cp in set(lo_exc) | set(st_exc)}
    for name, lst, col in (("lower", lo_exc, 0), ("strip", st_exc, 1)):
        body.append("static const uint32_t tl_tok_%s_exc[][4] = {\n" % name)
        for cp in lst:
            o = [ord(x) for x in outs[cp][col]]
            assert len(o) <= 2
            body.append("\t{0x%X, %d, %s},\n" % (cp, len(o), ", ".join("0x%X" % x for x in (o + [0, 0])[:2])))
        body.append("};\n")
    with open(os.path.join(ROOT, "lib", "text", "tokenize_tables.h"), "w") as f:
        f.write("".join(body))
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "unicode.tsv.gz")
    with open(path, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as g:
            g.write(("# cp\tlowercase\tstrip_accents (hex code points; tokenizers %s)\n" %
                     tokenizers.__version__).encode())
            g.write(("\n".join(rows) + "\n").encode())
    print("control %d punct %d mark %d mapped %d; exceptions: lower %d strip %d" %
          (len(removed), len(punct), len(mark), len(rows), len(lo_exc), len(st_exc)))


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "fixtures"
    if cmd == "tables":
        tables()
    elif cmd == "fixtures":
        fixtures()
    else:
        sys.exit("usage: gen_tokenize.py tables|fixtures")
