#!/bin/sh
# mkseeds.sh BIN: (re)make the seed corpora tests/fuzz/corpus/NAME/ of the
# fuzz harnesses from small tests/ fixtures, with the tools in BIN (e.g.
# build/bin). Run from the repository root; the seeds are committed, so
# this is only needed when a fixture or a format changes. Seeds found by
# fuzzing (crash-*, regressions) are added by hand and kept.
set -e
B=${1:-build/bin}
C=tests/fuzz/corpus
E=tests/ref/eval
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p $C/stream $C/input $C/tokenize $C/vocab $C/config $C/st_index $C/checkpoint $C/wordnet \
	$C/word2vec $C/features $C/json $C/probs $C/fields

# msgpack streams: prediction records, a header, ids/vec bins, gzip
head -n 4 $E/sst2_binary.jsonl >$T/pred.jsonl
$B/tl-cat $T/pred.jsonl >$C/stream/pred
printf '{"tl":1,"kind":"header","chain":[{"tool":"tl-clean"}]}\n{"id":1,"text":"a b","label":"pos"}\n' >$T/h.jsonl
$B/tl-cat $T/h.jsonl >$C/stream/header
printf '{"id":1,"ids":[101,2023,102],"type_ids":[0,0,0],"vec":[0.5,-1,2e-3],"logits":[1,2]}\n' >$T/b.jsonl
$B/tl-cat $T/b.jsonl >$C/stream/bins
gzip -c $C/stream/pred >$C/stream/pred.gz
head -n 3 $E/multilabel.jsonl >$T/m.jsonl
$B/tl-cat $T/m.jsonl >$C/stream/multilabel

# text inputs: the first byte picks format/quoting (fuzz_input.c)
sel() { printf "\\$(printf '%03o' "$1")"; }
{ sel 0; printf 'a plain line\nanother one\n\n'; } >$C/input/auto-lines
{ sel 9; printf 'label\ttext\n1\t"quoted\tfield"\n0\tplain "x"\n'; } >$C/input/tsv-auto
{ sel 16; printf 'a\t"b""c"\n"multi\nline"\tz\n'; } >$C/input/tsv-rfc
{ sel 24; printf 'text,label\n"a, b",1\n"say ""hi""",0\n'; } >$C/input/csv
{ sel 4; head -n 2 $E/edge_one_label.jsonl; } >$C/input/jsonl
{ sel 5; printf '__label__pos __label__x great movie\n__label__neg bad\n'; } >$C/input/fasttext
{ sel 6; cat $C/stream/header; } >$C/input/stream
{ sel 2; printf 'x\ty\n' | gzip -c; } >$C/input/tsv-gz
{ sel 43; printf 'a line longer than the sixty-four byte limit set for this input, surely\nshort\n'; } >$C/input/max

# tokenizer: two option bytes, then text A [tab text B]
n=0
head -n 6 tests/ref/tokenize/fast-vs-slow.txt | while IFS= read -r l; do
	n=$((n + 1))
	{ sel $((n * 37 % 256)); sel $((n * 11 % 256)); printf '%s\tsecond text\n' "$l"; } >$C/tokenize/t$n
done
{ sel 2; sel 0; printf 'Hello, World! [CLS] caf\303\251 \344\270\255\346\226\207 unaffable'; } >$C/tokenize/wordpiece
{ sel 1; sel 0; printf 'word mode: one two'; } >$C/tokenize/word
{ sel 2; sel 0; printf 'char \303\251\344\270\255'; } >$C/tokenize/char

# vocab.txt
cp tests/ref/tiny_bert/vocab.txt $C/vocab/tiny
head -n 120 lib/text/data/vocab-uncased.txt >$C/vocab/head
{ head -n 110 lib/text/data/vocab-uncased.txt; sed -n '1990,2100p' lib/text/data/vocab-uncased.txt; } >$C/vocab/words

# tokenizer_config.json ---- config.json
{ printf '{"do_lower_case": false, "strip_accents": null, "model_max_length": 512}\n----\n'; cat tests/ref/tiny_bert/config.json; } >$C/config/tiny
{ printf '\n----\n'; cat tests/ref/bert/seqcls/config.json; } >$C/config/seqcls
printf '{"tokenize_chinese_chars": true}\n----\n{"num_labels": 3, "problem_type": "multi_label_classification", "max_position_embeddings": 64}\n' >$C/config/labels

# model.safetensors.index.json (shard model-1.safetensors: tiny_bert's weights)
printf '{"weight_map": {"embeddings.word_embeddings.weight": "model-1.safetensors", "classifier.bias": "model-1.safetensors"}}\n' >$C/st_index/one
printf '{"metadata": {}, "weight_map": {"a": "model-1.safetensors", "b": "model-2.safetensors"}}\n' >$C/st_index/two
sed 's/model-0000[12]-of-00002/model-1/' tests/ref/bert/seqcls/model.safetensors.index.json >$C/st_index/seqcls

# checkpoint: state.json ---- tensors.safetensors
{ printf '{"data_sha256": "ab", "nparams": 4, "nlabels": 2, "epoch": 1, "batch": 3, "step": 7, "best": 0.5, "best_step": 6}\n----\n'; cat tests/fuzz/corpus/safetensors/f32_f16_bf16; } >$C/checkpoint/state
printf '{"nparams": 1}\n' >$C/checkpoint/state-only

# WordNet: twelve files (index, data, exc for noun, verb, adj, adv)
w() { printf '%s\n----\n' "$@"; }
{
	w 'dog n 1 1 @ 1 0 00000000' '00000000 05 n 02 dog 0 domestic_dog 0 001 @ 00000000 n 0000 | a dog  ' 'dogs dog'
	w 'run v 1 0 1 0 00000000' '00000000 29 v 01 run 0 000 01 + 02 00 | move fast  ' 'ran run'
	w 'good a 1 0 1 0 00000000' '00000000 00 a 02 good 0 full 0 000 | good  ' 'better good'
	printf 'quickly r 1 0 1 0 00000000\n----\n00000000 02 r 01 quickly 0 000 | fast  \n----\n'
} >$C/wordnet/tiny

# word vectors
printf '3 2\nthe 0.1 0.2\nmovie -1 1e-3\ngood 0.5 0.5\n' >$C/word2vec/header
printf 'the 0.1 0.2 0.3\nfilm 1 2 3\n' >$C/word2vec/glove
printf '2 2\na 1 2\nb 3 4\n' | gzip -c >$C/word2vec/gz

# fitted features files, written by tl-embed
printf '{"text":"the movie was great"}\n{"text":"a bad movie"}\n{"text":"great fun"}\n' >$T/tr.jsonl
$B/tl-cat $T/tr.jsonl >$T/tr.s
$B/tl-embed --tfidf --fit $C/features/tfidf $T/tr.s >/dev/null
$B/tl-embed --bow --ngram 1,2 --fit $C/features/bow $T/tr.s >/dev/null
$B/tl-embed --tfidf --hash 16 --fit $C/features/hash $T/tr.s >/dev/null 2>&1 || rm -f $C/features/hash

# JSON lines (tl-cat)
head -n 1 $E/multilabel.jsonl >$C/json/multilabel
printf '{"id":1,"ids":[101,2023,102],"vec":[0.5,-1],"t":"\\u00e9\\n","n":null,"o":{"a":[true,false]}}' >$C/json/bins
printf '{"tl":1,"kind":"header","chain":[]}' >$C/json/header
printf '{"a":1e400,"b":-0,"c":18446744073709551615}' >$C/json/numbers

# probs maps (one msgpack object each)
printf '{"probs":{"pos":0.9,"neg":0.1}}\n{"probs":{"1":1,"0":0}}\n{"probs":{"a":0.5,"b":2}}\n' >$T/p.jsonl
$B/tl-cat $T/p.jsonl >$T/p.s
# split the stream into its records with tl-cat per line
i=0
while IFS= read -r l; do
	i=$((i + 1))
	printf '%s\n' "$l" | $B/tl-cat >$T/one.s
	# drop the outer map header byte 0x81 and the key "probs" (0xa5 + 5 bytes): the value
	tail -c +8 $T/one.s >$C/probs/p$i
done <$T/p.jsonl
# record fields (fuzz_fields.c): text, ids, aug, vec, sparse in both forms
printf '{"id":"a-long-record-id","text":"the movie","text_b":"b","vec":[1,2.5],"sparse":{"dim":5,"idx":[0,3],"val":[1,0.5]}}\n{"id":7,"text":"the movie","aug":{"src":"1","src_key":"00000000000000ab"},"sparse":{"1":2.0,"4":-1}}\n' |
	$B/tl-cat -t msgpack >$C/fields/mixed
printf '{"id":1,"text":"x","aug":{"src":2}}\n{"text":"x"}\n{"text":"y","aug":{"src":"1","src_key":"zz"},"sparse":{"idx":[1],"val":["a"]}}\n{"id":-3,"vec":"no","sparse":{"x":1}}\n' |
	$B/tl-cat -t msgpack >$C/fields/bad
cp $C/stream/bins $C/fields/bins

# model directories beside fixed weights (tests/fuzz/data, tests/ref)
mkdir -p $C/lstm_model $C/bert_config $C/heads $C/distill
L=tests/fuzz/data/lstm
{ cat $L/config.json; printf '\n----\n'; cat $L/vocab.txt; } >$C/lstm_model/classifier
cat $L/config.json >$C/lstm_model/no-vocab
sed -e 's/"classifier"/"lm"/' $L/config.json >$C/lstm_model/lm
{ cat $L/config.json; printf '\n----\n'; cat $L/vocab.txt; printf '\n----\n'; cat $L/model.safetensors; } >$C/lstm_model/weights
cp tests/ref/tiny_bert/config.json $C/bert_config/tiny
{ cat tests/ref/pruned_bert/config.json; printf '\n----\npruned'; } >$C/bert_config/pruned
sed -e 's/"BertForSequenceClassification"/"BertForTokenClassification"/' tests/ref/tiny_bert/config.json >$C/bert_config/token
cp tests/fuzz/data/multitask/tl.json $C/heads/two
printf '{"tasks": [{"name": "sent", "labels": ["neg", "pos"]}, {"name": "topic", "labels": ["a", "b", "c"], "multi_label": true}, {"name": "x", "labels": ["u"], "weight": "tl.heads.topic.bias", "bias": "classifier.bias"}]}' >$C/heads/three
# --distill streams: a tl-predict header naming the labels, logits
printf '{"tl":1,"kind":"header","predict":{"labels":["neg","pos"]}}\n{"id":1,"ids":[2,5,3],"label":"pos","logits":[0.5,-1]}\n{"id":2,"ids":[2,7,9,3],"logits":[2,1]}\n' |
	$B/tl-cat -t msgpack >$C/distill/header
printf '{"id":1,"ids":[2,5,3],"label":"b","logits":[0.5,-1,3]}\n{"id":2,"ids":[2,7,3],"label":"a","logits":[1,1,1],"task":"t"}\n' |
	$B/tl-cat -t msgpack >$C/distill/no-header
echo "seeds made under $C"
