#!/usr/bin/env bats
# tl-train --dev: a dev stream that leaks training data (augmented copies
# of training records, dev records whose copies are trained on) is refused
# with exit 3, or with --drop-leaked left out; the same text in both is a
# warning; the model keeps its training keys in train-keys.bin. Every model
# kind: fasttext, linear, bert (tiny random BERT; one run on MiniLM).
load helpers
load bert_helpers
load keys

TINY="$TL_ROOT/tests/ref/tiny_bert"

# TSV of n made-up sentences (header "sentence label"), distinct through
# a number word; label 1 when "good" occurs. usage: gen_tsv SEED N
gen_tsv() {
	awk -v seed="$1" -v n="$2" 'BEGIN { srand(seed); split("the a movie film plot actor story is was very quite good bad dull fun long short scene music ending great weak", w, " ")
		print "sentence\tlabel"
		for (i = 0; i < n; i++) { len = 6 + int(rand() * 5); s = "s" seed "n" i; good = 0
			for (j = 0; j < len; j++) { x = w[1 + int(rand() * 22)]; if (x == "good") good = 1; s = s " " x }
			printf "%s\t%d\n", s, good } }'
}

# content key of a text, as tl-augment writes it into aug.src_key (keys.bash)
key() { hexkey "$1"; }

setup() {
	D="$BATS_TEST_TMPDIR"
	export OMP_WAIT_POLICY=passive
}

# The issue's reproduction: augment first, split after (400 + 200 records).
repro() {
	gen_tsv 1 200 >"$D/train.tsv"
	tl-clean "$D/train.tsv" | tl-augment -n 2 >"$D/all.aug"
	tl-cat "$D/all.aug" >"$D/all.jl"
	[ "$(wc -l <"$D/all.jl")" -eq 600 ]
	head -n 400 "$D/all.jl" | tl-cat -t msgpack >"$D/a1.s"
	tail -n +401 "$D/all.jl" | tl-cat -t msgpack >"$D/a2.s"
}

@test "leak: the issue's reproduction (augment, then split) is refused: exit 3, record and source named" {
	repro
	cd "$D"
	for kind in linear fasttext; do
		run tl-train -m $kind --dev a2.s -o m a1.s
		[ "$status" -eq 3 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == "tl-train: a2.s: record 1: '134~aug1' is an augmented copy"*"'134'"* ]]
		[[ "$output" == *"(augmented copies must not be evaluated on; --drop-leaked drops such records)" ]]
		[ ! -e m ]
	done
}

@test "leak: --drop-leaked leaves the copies out and says how many (not with -q)" {
	repro
	cd "$D"
	run tl-train -m linear --dev a2.s --drop-leaked -o m a1.s
	[ "$status" -eq 0 ]
	# 134~aug1, 134~aug2, then 66 originals with two copies each
	[[ "$output" == *"tl-train: a2.s: dropped 134 dev records that leak training data (first: record 1, '134~aug1' is an augmented copy"*"'134'"* ]]
	[ "$(jq -r .metrics.dev_records m/tl.json)" = 66 ]
	run tl-train -m fasttext --dev a2.s --drop-leaked -q -o m2 a1.s
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(jq -r .metrics.dev_records m2/tl.json)" = 66 ]
	# a dev stream that is not a file (read twice: the check, the evaluation)
	run tl-train -m linear --dev <(cat a2.s) --drop-leaked -q -o m3 a1.s
	[ "$status" -eq 0 ]
	[ "$(jq -r .metrics.dev_records m3/tl.json)" = 66 ]
	cmp m/model.safetensors m3/model.safetensors
}

@test "leak: the reverse: training holds augmented copies of a dev record: exit 3" {
	cat >"$D/dev.jl" <<-EOF
		{"id":1,"text":"a fine and moving film","label":"1"}
		{"id":2,"text":"the plot is dull and long","label":"0"}
		{"id":3,"text":"great music and a good ending","label":"1"}
	EOF
	k=$(key "the plot is dull and long")
	cat >"$D/train.jl" <<-EOF
		{"id":1,"text":"a weak story told badly","label":"0"}
		{"id":2,"text":"good actors and a great scene","label":"1"}
		{"id":"2~aug1","text":"the plot is boring and long","label":"0","aug":{"op":"sr","src":2,"src_key":"$k"}}
		{"id":4,"text":"quite good fun","label":"1"}
	EOF
	mkstream <"$D/dev.jl" >"$D/dev.s"
	mkstream <"$D/train.jl" >"$D/train.s"
	cd "$D"
	for kind in linear fasttext; do
		run tl-train -m $kind --dev dev.s -o m train.s
		[ "$status" -eq 3 ]
		[ "$output" = "tl-train: dev.s: record 2: training record '2~aug1' is an augmented copy of this record ('2') (a record whose augmented copies are trained on must not be evaluated on; --drop-leaked drops such records)" ]
		[ ! -e m ]
	done
	run tl-train -m linear --dev dev.s --drop-leaked -o m train.s
	[ "$status" -eq 0 ]
	[[ "$output" == *"tl-train: dev.s: dropped 1 dev record that leaks training data (first: record 2, training record '2~aug1' is an augmented copy of this record ('2'))"* ]]
	[ "$(jq -r .metrics.dev_records m/tl.json)" = 2 ]
	# a copy in dev whose source is a training original, with src_key
	k=$(key "good actors and a great scene")
	printf '{"id":"2~aug3","text":"good actors and a fine scene","label":"1","aug":{"op":"sr","src":2,"src_key":"%s"}}\n' "$k" |
		cat dev.jl - | mkstream >dev2.s
	run tl-train -m linear --dev dev2.s -o m2 train.s
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-train: dev2.s: record 2: "* ]] # the reverse comes first
	sed -n '1p;3p' dev.jl | cat - <(printf '{"id":"2~aug3","text":"x y","label":"1","aug":{"op":"sr","src":2,"src_key":"%s"}}\n' "$k") |
		mkstream >dev3.s
	run tl-train -m linear --dev dev3.s -o m2 train.s
	[ "$status" -eq 3 ]
	[ "$output" = "tl-train: dev3.s: record 3: '2~aug3' is an augmented copy of training record '2' (augmented copies must not be evaluated on; --drop-leaked drops such records)" ]
}

@test "leak: separately cleaned train and dev, augmentation on train: no refusal (ids collide, texts do not)" {
	gen_tsv 1 300 >"$D/train.tsv"
	gen_tsv 2 100 >"$D/dev.tsv"
	cd "$D"
	tl-clean train.tsv | tl-augment -n 2 >tr.s
	tl-clean dev.tsv >dev.s
	for kind in linear fasttext; do
		run tl-train -m $kind --dev dev.s -o m-$kind tr.s
		[ "$status" -eq 0 ]
		[[ "$output" != *"leak"* && "$output" != *"augmented"* && "$output" != *"same text"* ]]
		[ "$(jq -r .metrics.dev_records m-$kind/tl.json)" = 100 ]
	done
	# the same on SST-2's first few hundred sentences
	[ -f "$TL_SHARED/data/sst2/train.tsv" ] || skip "../shared/data/sst2 missing"
	head -n 501 "$TL_SHARED/data/sst2/train.tsv" | tl-clean | tl-augment -n 2 >str.s
	head -n 201 "$TL_SHARED/data/sst2/dev.tsv" | tl-clean >sdev.s
	run tl-train -m linear --dev sdev.s -o sm str.s
	[ "$status" -eq 0 ]
	[[ "$output" != *"leak"* && "$output" != *"augmented"* ]]
	[ "$(jq -r .metrics.dev_records sm/tl.json)" = 200 ]
}

@test "leak: the same text in train and dev is a warning with the count, once (not with -q)" {
	gen_tsv 3 50 >"$D/train.tsv"
	{ gen_tsv 4 20; sed -n '6p;9p;30p' "$D/train.tsv"; } >"$D/dev.tsv"
	cd "$D"
	tl-clean train.tsv >tr.s
	tl-clean dev.tsv >dev.s
	run tl-train -m linear --dev dev.s -o m tr.s
	[ "$status" -eq 0 ]
	[ "$(grep -c 'same text' <<<"$output")" -eq 1 ]
	# (tl-clean's header record is not counted: record 21 has id 21)
	[[ "$output" == *"tl-train: dev.s: 3 dev records have the same text as a training record (first: record 21, '21' has the same text as training record '5')"* ]]
	[ "$(jq -r .metrics.dev_records m/tl.json)" = 23 ]
	run tl-train -m fasttext -q --dev dev.s -o m2 tr.s
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

# count of distinct training keys: originals' texts and copies' src_key
@test "leak: the model keeps train-keys.bin, its count in tl.json (fasttext, linear)" {
	gen_tsv 5 100 >"$D/train.tsv"
	cd "$D"
	tl-clean train.tsv | tl-augment -n 2 >tr.s
	for kind in linear fasttext; do
		tl-train -m $kind -q -o m-$kind tr.s
		[ -f m-$kind/train-keys.bin ]
		[ "$(jq -c .train_keys m-$kind/tl.json)" = '{"file":"train-keys.bin","count":100,"key":"tlkey2: h(text_b, h(text, 0)), man tl-augment"}' ]
		# 16 bytes of head, 8 a key
		[ "$(stat -c %s m-$kind/train-keys.bin)" -eq $((16 + 8 * 100)) ]
		[ "$(head -c 8 m-$kind/train-keys.bin)" = TLKEYS2 ]
		# nothing left next to the model
		[ "$(ls | grep -c "^m-$kind")" -eq 1 ]
	done
	# the keys are those of the texts, sorted (a larger set: the radix sort)
	gen_tsv 6 1500 >big.tsv
	tl-clean big.tsv >big.s
	tl-train -m linear -q -o m-big big.s
	[ "$(jq -r .train_keys.count m-big/tl.json)" = 1500 ]
	# the keys tl-augment computes for these texts, sorted, against the file's
	tl-cat -t jsonl big.s | keys_of | sort -u >want.txt
	[ "$(wc -l <want.txt)" -eq 1500 ]
	od -An -v -t x8 --endian=little -j 16 m-big/train-keys.bin | tr -s ' ' '\n' | grep . >got.txt
	diff got.txt want.txt
	# TL_NO_LEAK_CHECK=1 (a measurement aid): no check, no keys
	TL_NO_LEAK_CHECK=1 tl-train -m linear -q -o m-off tr.s
	[ ! -e m-off/train-keys.bin ]
	[ "$(jq -r .train_keys m-off/tl.json)" = null ]
}

# tiny BERT records: text (for the keys) and made-up ids in its vocabulary
gen_bert() { # seed n [extra jsonl]
	awk -v seed="$1" -v n="$2" 'BEGIN { srand(seed); for (i = 0; i < n; i++) {
		len = 3 + int(rand() * 6); hit = 0; s = "[2"; t = "r" seed "n" i
		for (j = 0; j < len; j++) { x = 5 + int(rand() * 35); if (x == 30) hit = 1; s = s "," x; t = t " w" x }
		printf "{\"id\":%d,\"text\":\"%s\",\"ids\":%s,3],\"label\":\"%s\"}\n", i + 1, t, s, hit ? "pos" : "neg" } }'
}

tiny_train() { # out [args...]
	local out=$1
	shift
	tl-train -m bert --pretrained "$TINY" -o "$out" --epochs 1 --batch-size 16 --lr 2e-3 --threads 1 "$@"
}

@test "leak: -m bert: refusal before training, --drop-leaked, train-keys.bin, also after --resume" {
	cd "$D"
	gen_bert 1 64 >tr.jl
	gen_bert 2 20 >dv.jl
	k=$(key "$(jq -r 'select(.id == 7) | .text' tr.jl)")
	printf '{"id":"7~aug1","text":"x","ids":[2,9,3],"label":"neg","aug":{"op":"sr","src":7,"src_key":"%s"}}\n' "$k" >>dv.jl
	mkstream <tr.jl >tr.s
	mkstream <dv.jl >dv.s
	run tiny_train m --dev dv.s tr.s
	[ "$status" -eq 3 ]
	[ "$output" = "tl-train: dv.s: record 21: '7~aug1' is an augmented copy of training record '7' (augmented copies must not be evaluated on; --drop-leaked drops such records)" ]
	[ ! -e m ]
	run tiny_train m --dev dv.s --drop-leaked tr.s
	[ "$status" -eq 0 ]
	[[ "$output" == *"tl-train: dv.s: dropped 1 dev record that leaks training data (first: record 21, '7~aug1' is an augmented copy of training record '7')"* ]]
	[ "$(jq -r .dev.records m/tl.json)" = 20 ]
	[ "$(jq -c .train_keys m/tl.json)" = '{"count":64,"file":"train-keys.bin","key":"tlkey2: h(text_b, h(text, 0)), man tl-augment"}' ]
	[ "$(stat -c %s m/train-keys.bin)" -eq $((16 + 8 * 64)) ]
	# interrupted, resumed: the final model has the keys too
	TL_FAULT_SIGINT_AT_STEP=2 run tiny_train r -q --dev dv.s --drop-leaked tr.s
	[ "$status" -eq 130 ]
	[ ! -e r ]
	tiny_train r -q --dev dv.s --drop-leaked --resume r.ckpt tr.s
	cmp m/train-keys.bin r/train-keys.bin
	cmp m/model.safetensors r/model.safetensors
	[ "$(jq -r .train_keys.count r/tl.json)" = 64 ]
}

@test "leak: -m bert on all-MiniLM-L6-v2: one step on 16 tokenized records" {
	need_model || skip "models/all-MiniLM-L6-v2 missing"
	gen_tsv 6 16 >"$D/train.tsv"
	cd "$D"
	tl-clean train.tsv | tl-tokenize -m "$MINILM" >tr.s
	tl-clean train.tsv | tl-augment -n 1 | tl-tokenize -m "$MINILM" >dv.s
	run tl-train -m bert --pretrained "$MINILM" -o m --max-steps 1 --batch-size 8 --dev dv.s tr.s
	[ "$status" -eq 3 ]
	# (tl-tokenize's header is not counted; record 1 is the original, a duplicate)
	[[ "$output" == "tl-train: dv.s: record 2: '1~aug1' is an augmented copy"*"'1'"* ]]
	run tl-train -m bert --pretrained "$MINILM" -o m --max-steps 1 --batch-size 8 -q tr.s
	[ "$status" -eq 0 ]
	[ "$(jq -r .train_keys.count m/tl.json)" = 16 ]
	[ "$(stat -c %s m/train-keys.bin)" -eq $((16 + 8 * 16)) ]
}
