#!/usr/bin/env bats
# Every tool that reads a record stream reads JSON lines in its place
# (lib/stream/stream.c, the one reader they share), so `jq -c ... | TOOL`
# works: the same records out as from the stream tl-cat -t msgpack makes
# of the same lines. Text (a TSV) where a stream is expected is refused
# naming what to run; a bad JSON line is bad data naming record and line.
# (issue 16 item 6)
load helpers

TINY="$TL_ROOT/tests/ref/tiny_bert"

setup() {
	D="$BATS_TEST_TMPDIR"
	cd "$D"
	export OMP_WAIT_POLICY=passive
	# labelled sentences, and a blank line (skipped) in the middle
	for i in $(seq 1 30); do
		printf '{"id":%d,"text":"a great fun movie number %d","label":"pos"}\n' "$i" "$i"
		printf '{"id":%d,"text":"a dull and boring film number %d","label":"neg"}\n' "$((i + 100))" "$i"
		[ "$i" = 15 ] && printf '\n'
	done >tr.jsonl
	grep -v '^$' tr.jsonl | tl-cat -t msgpack >tr.s
	printf 'sentence\tlabel\ngood film\t1\n' >in.tsv
}

# same OUT_A OUT_B: the records (headers hidden) of two outputs are the same
same() {
	tl-cat "$1" >"$1.j"
	tl-cat "$2" >"$2.j"
	[ -s "$1.j" ]
	cmp "$1.j" "$2.j"
}

# refused TOOL ARGS...: a TSV file and a TSV on standard input are text
refused() {
	run "$@" in.tsv
	[ "$status" -eq 3 ]
	[[ "$output" == *"in.tsv: this is text, not a tl record stream: run tl-clean first" ]]
	run sh -c '"$@" <in.tsv' sh "$@"
	[ "$status" -eq 3 ]
	[[ "$output" == *"standard input: this is text, not a tl record stream: run tl-clean first" ]]
}

# badline TOOL ARGS...: a broken second record on line 3 (after a blank line)
badline() {
	run sh -c 'printf "{\"id\":1,\"text\":\"a b\",\"label\":\"x\"}\n\n{\"id\":2,\"text\":\n" | "$@"' sh "$@"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 2: line 3: invalid JSON at column"* ]]
}

@test "jsonl: tl-tokenize reads JSON lines (file and pipe); text refused; a bad line named" {
	tl-tokenize tr.s >a.s
	tl-tokenize tr.jsonl >b.s
	same a.s b.s
	jq -c . tr.jsonl | tl-tokenize >c.s
	same a.s c.s
	refused tl-tokenize
	badline tl-tokenize
}

@test "jsonl: tl-augment reads JSON lines; text refused; a bad line named" {
	tl-augment -n 1 --ops rs,rd --no-wordnet tr.s >a.s
	tl-augment -n 1 --ops rs,rd --no-wordnet tr.jsonl >b.s
	same a.s b.s
	[ "$(tl-cat b.s | grep -c '~aug1')" -eq 60 ]
	jq -c . tr.jsonl | tl-augment -n 1 --ops rs,rd --no-wordnet >c.s
	same a.s c.s
	refused tl-augment -n 1 --ops rs --no-wordnet
	badline tl-augment -n 1 --ops rs --no-wordnet
}

@test "jsonl: tl-embed (TF-IDF and a BERT encoder) reads JSON lines; text refused; a bad line named" {
	tl-embed --tfidf --fit f.tsv tr.s >a.s
	tl-embed --tfidf --fit f.tsv tr.jsonl >b.s
	same a.s b.s
	jq -c . tr.jsonl | tl-embed --tfidf --features f.tsv >c.s
	same a.s c.s
	# ids as JSON arrays, as tl-cat writes them
	printf '{"id":1,"ids":[2,9,3]}\n{"id":2,"ids":[2,7,8,3]}\n' >ids.jsonl
	tl-cat -t msgpack ids.jsonl >ids.s
	tl-embed -m "$TINY" --threads 1 ids.s >e1.s
	tl-embed -m "$TINY" --threads 1 ids.jsonl >e2.s
	same e1.s e2.s
	[ "$(tl-cat e2.s | jq -s 'map(.vec | length > 0) | all')" = true ]
	refused tl-embed --tfidf --features f.tsv
	badline tl-embed --tfidf --features f.tsv
}

@test "jsonl: tl-train reads JSON lines (training and --dev); text refused; a bad line named" {
	tl-train -q -m linear --seed 1 -o ma tr.s
	tl-train -q -m linear --seed 1 -o mb --dev tr.jsonl tr.jsonl 2>/dev/null || true
	# (--dev on the training data is refused as a leak: train on jsonl alone)
	tl-train -q -m linear --seed 1 -o mb2 tr.jsonl
	cmp ma/model.safetensors mb2/model.safetensors
	jq -c . tr.jsonl | tl-train -q -m fasttext --seed 1 -o mc
	tl-train -q -m fasttext --seed 1 -o md tr.s
	cmp mc/model.safetensors md/model.safetensors
	# --dev as JSON lines
	printf '{"id":1,"text":"a great fun movie number 77","label":"pos"}\n' >dev.jsonl
	run tl-train -m linear --seed 1 -o me --dev dev.jsonl tr.s
	[ "$status" -eq 0 ]
	[[ "$output" == *"dev accuracy"*"(1 records)"* ]]
	refused tl-train -q -m linear -o mf
	badline tl-train -q -m linear -o mg
	[ ! -e mf ] && [ ! -e mg ]
}

@test "jsonl: tl-predict reads JSON lines; text refused; a bad line named" {
	tl-train -q -m linear --seed 1 -o m tr.s
	tl-predict -m m tr.s >a.s
	tl-predict -m m tr.jsonl >b.s
	same a.s b.s
	# the pipeline of the issue: jq into tl-predict
	jq -c 'select(.label == "neg") | {id, text}' tr.jsonl | tl-predict -m m >c.s
	[ "$(tl-cat c.s | jq -s 'map(select(.pred == "neg")) | length')" -eq 30 ]
	refused tl-predict -m m
	badline tl-predict -m m
}

@test "jsonl: tl-eval reads JSON lines through the shared reader; text refused; a bad line named" {
	tl-train -q -m linear --seed 1 -o m tr.s
	tl-predict -m m tr.s | tl-cat >p.jsonl
	tl-eval --json p.jsonl >a.json
	tl-cat -t msgpack p.jsonl | tl-eval --json >b.json
	cmp a.json b.json
	jq -e '.n == 60' a.json
	refused tl-eval
	run sh -c 'printf "{\"label\":\"a\",\"pred\":\"a\"}\n\n{\"label\":\n" | tl-eval'
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-eval: record 2: standard input: line 3: invalid JSON at column"* ]]
}

@test "jsonl: a header line is a header; white space before the first object; a JSON line that is not an object" {
	# a header as a JSON line: not counted, its vocabulary checked as a stream's
	printf '{"tl":1,"kind":"header","chain":[]}\n{"id":1,"text":"Hello"}\n' | tl-tokenize | tl-cat >o.jsonl
	[ "$(jq -c .ids o.jsonl)" = "[101,7592,102]" ]
	# blank lines and spaces first
	printf '\n  \n  {"id":1,"text":"Hello"}\n' | tl-tokenize | tl-cat >o2.jsonl
	cmp o.jsonl o2.jsonl
	# a UTF-8 byte order mark first (editors on Windows write one)
	printf '\xef\xbb\xbf{"id":1,"text":"Hello"}\n' | tl-tokenize | tl-cat >o3.jsonl
	cmp o.jsonl o3.jsonl
	# an array on a line: bad data about that record
	run sh -c 'printf "{\"id\":1,\"text\":\"a\"}\n[1,2]\n" | tl-tokenize >/dev/null'
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-tokenize: record 2: line 2: "*"object"* ]]
	# only blank lines: nothing to read, said as text
	run sh -c 'printf "\n\n" | tl-tokenize'
	[ "$status" -eq 3 ]
	[[ "$output" == *"this is text, not a tl record stream: run tl-clean first" ]]
}
