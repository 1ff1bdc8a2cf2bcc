#!/usr/bin/env bats
load helpers

# Issue 16, a newcomer's frictions: the model search from any directory
# (item 5), tl-cat -f for JSON lines and the documented BERT progress
# cadence (item 12), one rule for tl-clean's ids (item 13).

MINI="$TL_ROOT/models/all-MiniLM-L6-v2"
TOKDIR="$TL_SHARED/models/all-MiniLM-L6-v2-tokenizer"

# every test works in its own directory, never in the source tree
setup() { cd "$BATS_TEST_TMPDIR"; }

# a directory outside the tree, with no model anywhere a user setting points
away() {
	mkdir -p "$BATS_TEST_TMPDIR/away" "$BATS_TEST_TMPDIR/xdg"
	cd "$BATS_TEST_TMPDIR/away"
	unset TL_MODEL_PATH
	export XDG_DATA_HOME="$BATS_TEST_TMPDIR/xdg"
}

# ---------------- item 5: finding models ----------------

@test "model search: a checkout's build finds models/ from another directory" {
	[ -f "$MINI/config.json" ] || skip "models/all-MiniLM-L6-v2 not installed (make models)"
	away
	run sh -c "printf '{\"text\":\"Hello, World\"}\n' | tl-cat -t msgpack | tl-tokenize -m all-MiniLM-L6-v2 | tl-cat -f ids -t tsv --no-names"
	[ "$status" -eq 0 ]
	[ "$output" = "[101,7592,1010,2088,102]" ]
	# tl-embed's default model too
	run sh -c "printf '{\"text\":\"Hello\"}\n' | tl-cat -t msgpack | tl-tokenize | tl-embed | tl-cat | jq -e '.vec | length == 384'"
	[ "$status" -eq 0 ]
}

@test "model search: tl-train -m bert finds its default --pretrained from another directory" {
	[ -f "$MINI/model.safetensors" ] || skip "models/all-MiniLM-L6-v2 not installed (make models)"
	away
	printf '{"text":"good film","label":"pos"}\n{"text":"bad film","label":"neg"}\n' | tl-cat -t msgpack | tl-tokenize >tr.s
	run tl-train -m bert -q --max-steps 1 --batch-size 2 -o m tr.s
	[ "$status" -eq 0 ]
	[ -f m/config.json ]
}

@test "model search: the user data directory \$XDG_DATA_HOME/tl/models is searched" {
	[ -f "$TOKDIR/vocab.txt" ] || skip "$TOKDIR missing"
	away
	mkdir -p "$XDG_DATA_HOME/tl/models/mini"
	cp "$TOKDIR"/* "$XDG_DATA_HOME/tl/models/mini/"
	run sh -c "printf '{\"text\":\"Hello, World\"}\n' | tl-cat -t msgpack | tl-tokenize -m mini | tl-cat -f ids -t tsv --no-names"
	[ "$status" -eq 0 ]
	[ "$output" = "[101,7592,1010,2088,102]" ]
	# default: ~/.local/share/tl/models
	unset XDG_DATA_HOME
	mkdir -p "$BATS_TEST_TMPDIR/home/.local/share/tl/models"
	mv "$BATS_TEST_TMPDIR/xdg/tl/models/mini" "$BATS_TEST_TMPDIR/home/.local/share/tl/models/"
	run sh -c "printf '{\"text\":\"Hello\"}\n' | tl-cat -t msgpack | HOME='$BATS_TEST_TMPDIR/home' tl-tokenize -m mini | tl-cat -f ids -t tsv --no-names"
	[ "$status" -eq 0 ]
	[ "$output" = "[101,7592,102]" ]
}

@test "model search: 'not found' lists every place searched; make models only for the default model" {
	away
	# a copy of the tool outside the tree: no source tree beside it
	cp "$TL_BIN/tl-embed" "$BATS_TEST_TMPDIR/away/tl-embed"
	run env TL_MODEL_PATH="$BATS_TEST_TMPDIR/p1:$BATS_TEST_TMPDIR/p2" ./tl-embed </dev/null
	[ "$status" -eq 5 ]
	echo "$output"
	[[ "$output" == "tl-embed: model 'all-MiniLM-L6-v2' not found"* ]]
	[[ "$output" == *"$BATS_TEST_TMPDIR/p1, $BATS_TEST_TMPDIR/p2, $XDG_DATA_HOME/tl/models, "* ]]
	[[ "$output" == *"share/tl/models"*"./models"* ]]
	[[ "$output" == *"run 'make models'"* ]]
	[[ "$output" == *"-m NAME|DIR"* ]]
	# from the build directory the checkout's models/ is listed too
	run tl-embed -m no-such-model </dev/null
	[ "$status" -eq 5 ]
	echo "$output"
	[[ "$output" == *"\$TL_MODEL_PATH (unset)"* ]]
	[[ "$output" == *"/../../models, ./models"* ]]
	[[ "$output" != *"make models"* ]]
}

@test "model search: tl-predict with a mistyped model directory says it does not exist" {
	away
	run tl-predict -m ./my-modle </dev/null
	[ "$status" -eq 5 ]
	[ "$output" = "tl-predict: ./my-modle: no such directory" ]
	run tl-predict -m my-modle </dev/null
	[ "$status" -eq 5 ]
	[[ "$output" == "tl-predict: model 'my-modle' not found: no directory 'my-modle' here, none in "* ]]
	[[ "$output" != *"make models"* ]]
	: >afile
	run tl-predict -m ./afile </dev/null
	[ "$status" -eq 5 ]
	[ "$output" = "tl-predict: ./afile: not a directory" ]
}

@test "model search: tl-train's hint names --pretrained, not -m DIR" {
	away
	printf '{"text":"good film","label":"pos","ids":[101,2204,102]}\n{"text":"bad","label":"neg","ids":[101,2919,102]}\n' | tl-cat -t msgpack >tr.s
	run tl-train -m bert --pretrained no-such-encoder -o m tr.s
	[ "$status" -eq 5 ]
	echo "$output"
	[[ "$output" == *"model 'no-such-encoder' not found"* ]]
	[[ "$output" == *"--pretrained NAME|DIR"* ]]
	[[ "$output" != *"-m DIR"* ]]
	[[ "$output" != *"make models"* ]]
}

@test "model search: make models-user links the model into \$XDG_DATA_HOME/tl/models" {
	[ -f "$MINI/model.safetensors" ] || skip "models/all-MiniLM-L6-v2 not installed (make models)"
	away
	run make -C "$TL_ROOT" --no-print-directory models-user XDG_DATA_HOME="$XDG_DATA_HOME"
	[ "$status" -eq 0 ]
	[ -f "$XDG_DATA_HOME/tl/models/all-MiniLM-L6-v2/config.json" ]
	# a tool with no checkout beside it now finds the default model
	cp "$TL_BIN/tl-tokenize" ./tl-tokenize
	run sh -c "printf '{\"text\":\"Hello\"}\n' | tl-cat -t msgpack | ./tl-tokenize -m all-MiniLM-L6-v2 | tl-cat -f ids -t tsv --no-names"
	[ "$status" -eq 0 ]
	[ "$output" = "[101,7592,102]" ]
}

# ---------------- item 12: help consistency ----------------

@test "tl-cat -f selects and orders the keys of JSON lines" {
	printf '{"id":1,"text":"a","label":"x","vec":[1.5]}\n{"id":2,"text":"b"}\n' | mkstream >s
	run tl-cat -f label,id,vec s
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"label":"x","id":1,"vec":[1.5]}' ]
	[ "${lines[1]}" = '{"id":2}' ]
	# JSON lines in, JSON lines out; a key given twice is written once
	run sh -c "printf '{\"id\":1,\"text\":\"a\"}\n' | tl-cat -t jsonl -f text,id,text"
	[ "$status" -eq 0 ]
	[ "$output" = '{"text":"a","id":1}' ]
	# TSV unchanged
	run tl-cat -t tsv -f label,id s
	[ "${lines[0]}" = "$(printf 'label\tid')" ]
	[ "${lines[1]}" = "$(printf 'x\t1')" ]
	tl-cat --help | grep -q "keys of each JSON line"
	man -l "$TL_ROOT/man/tl-cat.1" 2>/dev/null | grep -q "for JSON lines the keys" || grep -q "for JSON lines the keys" "$TL_ROOT/man/tl-cat.1"
}

@test "tl-train: the BERT progress cadence is documented (every N steps and every ~10 s)" {
	run tl-train -m bert --help
	[[ "$output" == *"--progress-every N"*"every ~10 s"* ]]
	grep -q "after every N-th optimizer step" "$TL_ROOT/man/tl-train.1"
	grep -q "10 seconds or more after the previous line" "$TL_ROOT/man/tl-train.1"
}

# ---------------- item 13: one rule for ids ----------------

@test "tl-clean ids: generated ids are record numbers from 1 in every format (blank lines not counted)" {
	printf 'hello\n\nworld\n' >a.txt
	printf '__label__x hello\n\n__label__y world\n' >a.ft
	printf '{"text":"hello"}\n\n{"text":"world"}\n' >a.jsonl
	printf 'text\tlabel\nhello\t1\n\nworld\t0\n' >a.tsv
	printf 'text,label\nhello,1\n\nworld,0\n' >a.csv
	for f in "a.txt -f lines" "a.ft -f fasttext" a.jsonl a.tsv a.csv; do
		run sh -c "tl-clean $f | tl-cat -f id -t tsv --no-names | tr '\n' ,"
		echo "$f: $output"
		[ "$status" -eq 0 ]
		[ "$output" = "1,2," ]
	done
	# a stream: the same numbers, integers
	tl-clean a.txt >a.s
	[ "$(tl-clean a.s | tl-cat | jq -c .id | tr '\n' ,)" = "1,2," ]
}

@test "tl-clean ids: an id from the input keeps its type (TSV/CSV text; JSON string or integer)" {
	printf 'index\ttext\tlabel\n007\thello\t1\n8\tworld\t0\n' >b.tsv
	[ "$(tl-clean b.tsv | tl-cat | jq -c .id | tr '\n' ,)" = '"007","8",' ]
	printf 'id,text\n3,hello\n' >b.csv
	[ "$(tl-clean b.csv | tl-cat | jq -c .id)" = '"3"' ]
	printf '{"text":"a","id":5}\n{"text":"b","id":"q"}\n{"text":"c","id":null}\n{"text":"d","id":-2}\n' >b.jsonl
	[ "$(tl-clean b.jsonl | tl-cat | jq -c .id | tr '\n' ,)" = '5,"q",3,-2,' ]
	# cleaning a cleaned stream again keeps its ids and their types
	tl-clean b.jsonl >b.s
	[ "$(tl-clean b.s | tl-cat | jq -c .id | tr '\n' ,)" = '5,"q",3,-2,' ]
	# any other type is bad data, with the record number
	printf '{"text":"a"}\n\n{"text":"b","id":1.5}\n' >c.jsonl
	run tl-clean c.jsonl
	[ "$status" -eq 3 ]
	[[ "$output" == *'tl-clean: record 2: "id" is float; an id is a string or an integer'* ]]
	run sh -c "printf '{\"text\":\"a\",\"key\":true}\n' | tl-cat -t msgpack | tl-clean -i key"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 1: "key" is boolean; an id is a string or an integer'* ]]
}

@test "tl-clean ids: downstream tools work with either kind of id" {
	printf 'index\ttext\tlabel\n007\ta very good film indeed\tpos\n8\ta rather bad film overall\tneg\n' >s.tsv
	printf 'text\tlabel\na very good film indeed\tpos\na rather bad film overall\tneg\n' >n.tsv
	for f in s.tsv n.tsv; do
		tl-clean "$f" | tl-augment -n 1 --seed 1 | tl-cat -f id -t tsv --no-names >ids
		cat ids
		grep -q '~aug1$' ids
	done
	# tl-eval --compare aligns by id of either type
	tl-clean s.tsv | tl-cat | jq -c '. + {pred: .label}' | tl-cat -t msgpack >p1
	tl-clean n.tsv | tl-cat | jq -c '. + {pred: .label}' | tl-cat -t msgpack >p2
	run tl-eval --compare p1 p1
	[ "$status" -eq 0 ]
	run tl-eval --compare p2 p2
	[ "$status" -eq 0 ]
}

# ---------------- item 11: record numbers as a user counts them ----------------

@test "record numbers: the first data row is record 1 in every tool, header row and stream header not counted" {
	cd "$BATS_TEST_TMPDIR"
	# a TSV with a header row; the first data row has no label
	printf 'sentence\tlabel\nhello world\t\nbad movie\t0\n' >h.tsv
	tl-clean h.tsv >h.s
	[ "$(tl-cat h.s | head -1 | jq -c .id)" = 1 ]
	run tl-train -q -m linear -o m h.s
	[ "$status" -eq 3 ]
	[ "$output" = 'tl-train: record 1: no "label" (training needs labelled records)' ]
	# the stream header is there (record numbers do not count it)
	[ "$(tl-cat -H h.s | head -1 | jq -r .kind)" = header ]
	# the same from standard input, and through tl-tokenize (whose header
	# extends tl-clean's): still record 1
	run sh -c 'tl-clean h.tsv | tl-tokenize | tl-train -q -m linear -o m'
	[ "$status" -eq 3 ]
	[ "$output" = 'tl-train: record 1: no "label" (training needs labelled records)' ]
	# the third data row is record 3 for tl-clean (a bad row; the header
	# row and a blank line not counted, the line number says where) ...
	printf 'sentence,label\na,1\n\nb,0\n"c,1\n' >q.csv
	run tl-clean q.csv
	[ "$status" -eq 3 ]
	[[ "$output" == *"tl-clean: record 3: line 5: unterminated quoted field"* ]]
	printf 'a\n\nb\naaaa\n' >l.txt
	run tl-clean --format text --max-record 3 l.txt
	[ "$status" -eq 3 ]
	[[ "$output" == *"tl-clean: record 3: line 4: record longer than 3 bytes"* ]]
	# ... and for tl-eval (a bad probs map), after a header record
	printf '%s\n' '{"tl":1,"kind":"header"}' '{"label":"a","pred":"a"}' '{"label":"a","pred":"b"}' \
		'{"label":"a","pred":"a","probs":{"a":7}}' | tl-cat -t msgpack >p.s
	run tl-eval --strict p.s
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-eval: record 3: "* ]]
	# a bad record is numbered as the data record it would be
	{ tl-cat -H -t msgpack <h.s; printf '\x93\x01\x02\x03'; } >bad.s
	run tl-predict -m m bad.s
	[ "$status" -ne 0 ]
	run sh -c 'tl-cat bad.s >/dev/null'
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-cat: record 3: not a map but array"* ]]
	# several files: numbers run on over the data records of each
	run sh -c 'tl-cat h.s bad.s >/dev/null'
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-cat: record 5: not a map but array"* ]]
}
