#!/usr/bin/env python3
"""Peer for bench/tokenize.sh: Hugging Face tokenizers (Rust) on the same
texts, one thread. Reads JSON lines {"text": ...} from argv[1] (not timed),
then times encode_batch and a loop of encode; prints one line per method:
    METHOD texts tokens wall_seconds cpu_seconds
(cpu = process_time: user + system time of all the process's threads).
Set RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false (bench/tokenize.sh does)."""
import json
import sys
import time

from tokenizers import BertWordPieceTokenizer

texts = [json.loads(line)["text"] for line in open(sys.argv[1], encoding="utf-8")]
tok = BertWordPieceTokenizer(sys.argv[2], lowercase=True)
tok.no_truncation()

t, c = time.perf_counter(), time.process_time()
enc = tok.encode_batch(texts)
dt, dc = time.perf_counter() - t, time.process_time() - c
print("hf-encode_batch %d %d %.4f %.4f" % (len(texts), sum(len(e.ids) for e in enc), dt, dc))
del enc

t, c = time.perf_counter(), time.process_time()
n = 0
for x in texts:
    n += len(tok.encode(x).ids)
dt, dc = time.perf_counter() - t, time.process_time() - c
print("hf-encode-loop %d %d %.4f %.4f" % (len(texts), n, dt, dc))
