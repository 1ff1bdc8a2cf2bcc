#!/usr/bin/env python3
"""The Python peer for bench/clean.sh: what the seed articles write to clean
IMDB (BeautifulSoup-free version): read the TSV, strip tags with a regex,
unescape entities with html.unescape, drop control characters, collapse
whitespace, and write one JSON line per record (id, text, label).

    python3 bench/clean_peer.py < train.tsv > out.jsonl
"""
import html
import json
import re
import sys

TAG = re.compile(r"<[^>]+>")
CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SPACE = re.compile(r"\s+")


def clean(text):
    text = TAG.sub(" ", text)
    text = html.unescape(text)
    text = CTRL.sub("", text)
    return SPACE.sub(" ", text).strip()


def main():
    inp = open(sys.stdin.fileno(), "r", encoding="utf-8", errors="replace", newline="\n")
    out = sys.stdout
    header = inp.readline().rstrip("\r\n").split("\t")
    ti, li = header.index("sentence"), header.index("label")
    for n, line in enumerate(inp, 1):
        f = line.rstrip("\r\n").split("\t")
        out.write(json.dumps({"id": n, "text": clean(f[ti]), "label": f[li]}, ensure_ascii=False))
        out.write("\n")


if __name__ == "__main__":
    main()
