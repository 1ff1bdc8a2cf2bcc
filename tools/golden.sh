#!/bin/sh
# tools/golden.sh BIN OUT: run every tool on the fixtures and SST-2 dev at
# fixed seeds and thread counts and write what they produce under OUT, so
# that two builds can be compared byte for byte:
#
#   sh tools/golden.sh /tmp/old/bin /tmp/g-old
#   sh tools/golden.sh build/bin /tmp/g-new
#   diff -r /tmp/g-old /tmp/g-new && echo identical
#
# Used to show that a refactoring changed no output (issue 14). Needs
# `make models` and ../shared/data (TL_SHARED).
set -eu
BIN=$(cd "$1" && pwd)
OUT=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SH=${TL_SHARED:-$ROOT/../shared}
MODEL=$ROOT/models/all-MiniLM-L6-v2
rm -rf "$OUT"; mkdir -p "$OUT"; cd "$OUT"
# Tools record their arguments (stream headers, tl.json): give them the
# same relative names wherever the checkout is.
ln -s "$MODEL" m; ln -s "$SH" sh; ln -s "$ROOT" src
MODEL=m SH=sh ROOT=src
T() { "$BIN/tl-$@"; }
sst=$SH/data/sst2/dev.tsv
# text: cleaning and tokenizing
T clean < "$sst" > dev.c
T clean --lower --stopwords en --urls remove --nfkc "$sst" > dev.c2
T clean --keep U+4E00-U+9FA5 --stopwords zh "$SH/data/chnsenticorp/dev.tsv" > zh.c
T clean "$ROOT/examples/reviews.txt" > rev.c
T tokenize < dev.c > dev.s
T tokenize -m "$MODEL" --tokens < dev.c > dev.tok
T tokenize --mode word --build-vocab wv.txt < dev.c
T tokenize --mode word --vocab wv.txt < dev.c > dev.w
T tokenize --mode char --build-vocab zv.txt < zh.c 2>/dev/null
T tokenize --mode char --vocab zv.txt --max-len 64 < zh.c > zh.s
T cat < dev.tok > dev.jsonl
T cat -t tsv -f id,label,text < dev.c > dev.tsv
T cat < dev.jsonl > dev.rt
# augmentation
head -n 201 "$sst" | T clean > small.c
T augment -n 3 --seed 7 --stats small.c > small.aug 2> aug.stats
T augment -n 2 --ops all --seed 3 --no-wordnet --synonyms "$ROOT/tests/ref/synonyms_test.tsv" small.c > small.aug2
# classic features
T embed --bow --fit bow.fit < dev.c > dev.bow
T embed --tfidf --ngram 1,2 --sublinear-tf --fit tfidf.fit < dev.c > dev.tfidf
T embed --tfidf --features tfidf.fit < small.c > small.tfidf
T embed --word2vec --fit w2v.txt --dim 20 --min-count 2 --epochs 2 -q < dev.c > dev.w2v
# BERT features and prediction
T embed -m "$MODEL" -j 1 < dev.s > dev.emb
T embed -m "$MODEL" -j 2 --pool cls --normalize --layer 3 < dev.s > dev.emb2
# linear and fastText models
T train -m linear -o lin --seed 1 -q < dev.c
T train -m linear --input sparse -o lin2 -q < dev.tfidf
T train -m fasttext -o ft --epochs 2 --seed 1 -q < dev.c
T predict -m lin < dev.c > dev.lin.pred
T predict -m ft --top-k 1 < dev.c > dev.ft.pred
T eval < dev.lin.pred > eval.lin.txt
T eval -j < dev.ft.pred > eval.ft.json
T eval -c dev.ft.pred --bootstrap 200 < dev.lin.pred > eval.cmp.txt
# BERT fine-tuning, few steps, one and two threads
head -n 161 "$sst" | T clean | T tokenize -m "$MODEL" > tr.s
T train -m bert -o bert1 --pretrained "$MODEL" --epochs 1 --batch-size 16 --threads 1 --seed 3 -q tr.s
T tokenize -m "$MODEL" < small.c > small.s
T train -m bert -o bert3 --pretrained "$MODEL" --epochs 1 --batch-size 8 --max-steps 6 --threads 2 \
	--freeze 3 --layer-lr-decay 0.9 --dev small.s --seed 5 -q tr.s
T predict -m bert1 -j 1 --logits < dev.s > dev.bert.pred
T predict -m bert3 -j 2 < dev.s > dev.bert3.pred
T eval -j < dev.bert.pred > eval.bert.json
rm -f bert*/tl.json.tmp
# the one field that is a measurement, not a result
sed -i "s/\"train_seconds\": [0-9.e+-]*/\"train_seconds\": 0/" */tl.json
rm m sh src
ls -R > listing.txt
