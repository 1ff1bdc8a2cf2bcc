#!/bin/sh
# setup.sh: the shared fixtures of the fault catalogue's cases, made in the
# current directory ($S) by tests/faults/run.sh once per run, with the
# tools on PATH: small streams of each kind, two trained models, a copy of
# the tiny BERT model. Cases read them and copy before changing them.
set -e
i=0
for t in "a good movie" "a bad film" "great fun" "boring and bad" "good acting" "awful plot" "nice" "dull"; do
	i=$((i + 1))
	l=pos
	[ $((i % 2)) -eq 1 ] || l=neg
	printf '{"id":%d,"text":"%s","label":"%s"}\n' $i "$t" $l
done >good.jsonl
tl-clean -f jsonl good.jsonl >good.s
gzip -c good.s >good.s.gz
gzip -c good.jsonl >good.jsonl.gz
printf 'label\ttext\npos\ta good movie\nneg\ta bad film\n' >good.tsv
tl-tokenize good.s >tok.s
tl-tokenize -m "$TINY" good.s >tinytok.s
tl-train -q -m linear -o lin good.s
tl-train -q -o ft --dim 4 --buckets 1000 --epochs 1 good.s
tl-predict -m lin good.s >pred.s
tl-cat pred.s >pred.jsonl
tl-embed -q -m "$TINY" tinytok.s >vec.s 2>/dev/null || tl-embed -m "$TINY" tinytok.s >vec.s
awk 'BEGIN { for (i = 1; i <= 20000; i++) printf "{\"id\":%d,\"text\":\"record number %d of a long stream\",\"label\":\"%s\"}\n", i, i, i % 2 ? "pos" : "neg" }' |
	tl-cat -t msgpack >big.s
cp -r "$TINY" tiny
printf '' >empty
tail -c 3000 "$TINY/model.safetensors" >random.bin
printf '\201\244text\241a\223\001\002\003' >notmap.s
printf '\201\244text\241a\201\244te' >trunc.s
printf '{"text":"a"}\n' >line.json
# labelled / tokenized first records, so that record 2 is the bad one
printf '\202\244text\241a\245label\241x\223\001\002\003' >notmap-l.s
printf '\202\244text\241a\245label\241x\201\244te' >trunc-l.s
printf '\201\243ids\223\001\002\003\223\001\002\003' >notmap-t.s
# records no model was trained on, and their predictions
printf '{"id":1,"text":"good fun","label":"pos"}\n{"id":2,"text":"bad plot","label":"neg"}\n{"id":3,"text":"nice acting","label":"pos"}\n' |
	tl-cat -t msgpack >other.s
tl-predict -m lin other.s >predo.s
# a WordNet database of four entries (one per part of speech)
mkdir wn
printf 'dog n 1 1 @ 1 0 00000000\n' >wn/index.noun
printf '00000000 05 n 02 dog 0 hound 0 000 | a dog  \n' >wn/data.noun
printf 'dogs dog\n' >wn/noun.exc
printf 'run v 1 0 1 0 00000000\n' >wn/index.verb
printf '00000000 29 v 01 run 0 000 01 + 02 00 | move fast  \n' >wn/data.verb
printf 'ran run\n' >wn/verb.exc
printf 'good a 1 0 1 0 00000000\n' >wn/index.adj
printf '00000000 00 a 02 good 0 full 0 000 | good  \n' >wn/data.adj
printf 'better good\n' >wn/adj.exc
printf 'quickly r 1 0 1 0 00000000\n' >wn/index.adv
printf '00000000 02 r 01 quickly 0 000 | fast  \n' >wn/data.adv
printf 'fast quick\n' >wn/adv.exc
# a linear model over "vec" (length 3)
for i in 1 2 3 4 5 6; do echo "{\"vec\":[$i.0,0.5,1.0],\"label\":\"$((i % 2))\"}"; done | tl-cat -t msgpack >vtr.s
tl-train -q -m linear -o linvec vtr.s
