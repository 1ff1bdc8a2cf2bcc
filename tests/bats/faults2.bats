#!/usr/bin/env bats
# Regression tests of issue 15's failures 5, 7, 8 and 9: non-finite
# features and scores, terminal-safe tl-eval output, a model directory
# without vocab.txt, empty path options, a directory as an input FILE, and
# the output lock of tl-train.
load helpers

TINY="$TL_ROOT/tests/ref/tiny_bert"

setup() {
	D="$BATS_TEST_TMPDIR"
	export OMP_WAIT_POLICY=passive
}

# msgpack float32 values (JSON has no NaN): raw bytes
F1='\312\077\200\000\000'     # 1.0
FNAN='\312\177\300\000\000'   # NaN
FINF='\312\177\200\000\000'   # +inf
FNINF='\312\377\200\000\000'  # -inf

# a linear model over "vec" (length 3) in $D/mv, one over "sparse" (dim 5) in $D/ms
vec_model() {
	for i in 1 2 3 4 5 6; do echo "{\"vec\":[$i.0,0.5,1.0],\"label\":\"$((i % 2))\"}"; done | mkstream >"$D/vtr.s"
	tl-train -q -m linear -o "$D/mv" "$D/vtr.s"
}
sparse_model() {
	for i in 1 2 3 4; do echo "{\"sparse\":{\"dim\":5,\"idx\":[0,$i],\"val\":[1.0,2.0]},\"label\":\"$((i % 2))\"}"; done |
		mkstream >"$D/str.s"
	tl-train -q -m linear -o "$D/ms" "$D/str.s"
}

@test "faults2: a NaN in \"vec\" is a data error of the record in tl-predict, not a silent empty pred" {
	vec_model
	{ printf '{"vec":[1.0,2.0,3.0]}\n{"vec":[1.0,2.0,3.0]}\n' | mkstream
	  printf "\201\243vec\223$F1$FNAN$F1"; } >"$D/nan.s"
	run tl-predict -m "$D/mv" "$D/nan.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'tl-predict: record 3: "vec" has a non-finite value (NaN at 1)' ]]
	printf "\201\243vec\223$F1$F1$FINF" >"$D/inf.s"
	run tl-predict -m "$D/mv" "$D/inf.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'tl-predict: record 1: "vec" has a non-finite value (inf at 2)' ]]
	# finite input still predicts
	run sh -c 'printf "{\"vec\":[1.0,2.0,3.0]}\n" | tl-cat -t msgpack | tl-predict -m "$1" | tl-cat' sh "$D/mv"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"pred":"'[01]'"'* ]]
}

@test "faults2: a non-finite score of the model is a data error of the record, not a NaN probability" {
	vec_model
	# classifier.bias[0] (data bytes 24..27 after the header) := NaN
	n=$(od -An -tu8 -N8 "$D/mv/model.safetensors" | tr -d ' ')
	printf '\000\000\300\177' | dd of="$D/mv/model.safetensors" bs=1 seek=$((8 + n + 24)) conv=notrunc 2>/dev/null
	run sh -c 'printf "{\"vec\":[1.0,2.0,3.0]}\n" | tl-cat -t msgpack | tl-predict -m "$1" >/dev/null' sh "$D/mv"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-predict: record 1: the model's score for label '0' is not finite (NaN)" ]
}

@test "faults2: a non-finite \"sparse\" value is a data error naming the record and the feature index" {
	sparse_model
	printf "\201\246sparse\203\243dim\005\243idx\222\000\003\243val\222$F1$FNINF" >"$D/bad.s"
	run tl-predict -m "$D/ms" "$D/bad.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'tl-predict: record 1: "sparse" has a non-finite value (-inf at 3)' ]]
	# the {index: value} form too
	printf "\201\246sparse\201\2412$FNAN" >"$D/bad2.s"
	run tl-predict -m "$D/ms" "$D/bad2.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'"sparse" has a non-finite value (NaN at 2)' ]]
}

@test "faults2: tl-train -m linear refuses non-finite vec / sparse training and --dev records (exit 3, the record)" {
	vec_model
	{ cat "$D/vtr.s"; printf "\202\243vec\223$F1$FNAN$F1\245label\2411"; } >"$D/trnan.s"
	run tl-train -q -m linear -o "$D/m2" "$D/trnan.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'tl-train: record 7: "vec" has a non-finite value (NaN at 1)' ]]
	[ ! -e "$D/m2" ]
	printf "\202\243vec\223$F1$FINF$F1\245label\2411" >"$D/dvnan.s"
	run tl-train -q -m linear -o "$D/m3" --dev "$D/dvnan.s" "$D/vtr.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'"vec" has a non-finite value (inf at 1)'* ]]
	sparse_model
	{ cat "$D/str.s"; printf "\202\246sparse\203\243dim\005\243idx\221\001\243val\221$FNAN\245label\2411"; } >"$D/spnan.s"
	run tl-train -q -m linear -o "$D/m4" "$D/spnan.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'tl-train: record 5: "sparse" has a non-finite value (NaN at 1)' ]]
}

@test "faults2: tl-eval's text output escapes control bytes of labels, groups and ids; keeps UTF-8" {
	printf '%s\n' '{"id":"i\u001b]0;x\u0007","label":"a\u001b[31mX\nb","pred":"a\u001b[31mX\nb","g":"g\r1"}' \
		'{"id":"2","label":"caf\u00e9","pred":"caf\u00e9","g":"g\r1"}' | mkstream >"$D/e.s"
	run tl-eval "$D/e.s"
	[ "$status" -eq 0 ]
	[[ "$output" != *$'\e'* ]]
	[[ "$output" == *'a\x1b[31mX\nb '* ]]
	[[ "$output" == *"café "* ]]
	run tl-eval --by g "$D/e.s"
	[ "$status" -eq 0 ]
	[[ "$output" != *$'\r'* ]]
	[[ "$output" == *'== g = g\r1 =='* ]]
	# an invalid UTF-8 byte and a C1 control (U+009B, a CSI to some terminals)
	printf '\202\245label\243\377\302\233\244pred\243\377\302\233' >"$D/raw.s"
	run tl-eval "$D/raw.s"
	[ "$status" -eq 0 ]
	[[ "$output" == *'\xff\xc2\x9b '* ]]
	# --json keeps the names as they are (JSON escapes them itself)
	run tl-eval --json "$D/e.s"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.labels[0]')" = "$(printf 'a\033[31mX\nb')" ] ||
		[ "$(echo "$output" | jq -r '.labels[1]')" = "$(printf 'a\033[31mX\nb')" ]
}

@test "faults2: tl-eval warnings quote record data escaped (seen id)" {
	printf '%s\n' '{"id":"x\u001b[2J","label":"a","pred":"a","seen":true}' '{"id":"2","label":"b","pred":"b"}' |
		mkstream >"$D/s.s"
	run tl-eval "$D/s.s"
	[ "$status" -eq 0 ]
	[[ "$output" != *$'\e'* ]]
	[[ "$output" == *"id 'x\\x1b[2J'"* ]]
}

@test "faults2: tl-train -m bert --pretrained DIR without vocab.txt is refused (exit 5)" {
	mkdir "$D/nv"
	cp "$TINY/config.json" "$TINY/model.safetensors" "$D/nv/"
	printf '{"ids":[2,5,6,3],"label":"a"}\n{"ids":[2,7,3],"label":"b"}\n' | mkstream >"$D/ids.s"
	run tl-train -m bert --pretrained "$D/nv" -o "$D/out" -q "$D/ids.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"tl-train: $D/nv: no vocab.txt (the model directory must carry the tokenizer's vocabulary)" ]]
	[ ! -e "$D/out" ]
}

@test "faults2: tl-embed and tl-predict warn once when the model has no vocab.txt to check the stream's" {
	printf 'hello world\n' | tl-clean | tl-tokenize -m "$TINY" >"$D/tok.s"
	mkdir "$D/nv"
	cp "$TINY/config.json" "$TINY/model.safetensors" "$D/nv/"
	run sh -c 'tl-embed -m "$1" "$2" "$2" 2>&1 >/dev/null' sh "$D/nv" "$D/tok.s"
	[ "$status" -eq 0 ]
	[ "$output" = "tl-embed: $D/nv: no vocab.txt: cannot check that the stream was tokenized with this model's vocabulary" ]
	# with vocab.txt: no warning
	run sh -c 'tl-embed -m "$1" "$2" 2>&1 >/dev/null' sh "$TINY" "$D/tok.s"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# a classifier trained on the tiny model, its vocab.txt then removed
	printf '{"ids":[2,5,6,3],"label":"a"}\n{"ids":[2,7,3],"label":"b"}\n' | mkstream >"$D/ids.s"
	tl-train -m bert --pretrained "$TINY" -o "$D/cls" --epochs 1 --threads 1 -q "$D/ids.s"
	[ -f "$D/cls/vocab.txt" ]
	run sh -c 'tl-predict -m "$1" "$2" 2>&1 >/dev/null' sh "$D/cls" "$D/tok.s"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	rm "$D/cls/vocab.txt"
	run sh -c 'tl-predict -m "$1" "$2" "$2" 2>&1 >/dev/null' sh "$D/cls" "$D/tok.s"
	[ "$status" -eq 0 ]
	[ "$output" = "tl-predict: $D/cls: no vocab.txt: cannot check that the stream was tokenized with this model's vocabulary" ]
}

@test "faults2: an empty path option is a usage error (exit 2) in every tool" {
	printf '{"text":"a","label":"x"}\n' | mkstream >"$D/a.s"
	run tl-train -o "" "$D/a.s"
	[ "$status" -eq 2 ]
	[ "$output" = "tl-train: option -o: empty path" ]
	run tl-train -m linear -o "$D/x" --log "" "$D/a.s"
	[ "$status" -eq 2 ]
	run tl-train -m bert --pretrained "$TINY" -o "" "$D/a.s"
	[ "$status" -eq 2 ]
	[ "$output" = "tl-train: option -o: empty path" ]
	run tl-train -m bert --pretrained "" -o "$D/x" "$D/a.s"
	[ "$status" -eq 2 ]
	run tl-embed --bow --fit "" "$D/a.s"
	[ "$status" -eq 2 ]
	[ "$output" = "tl-embed: option --fit: empty path" ]
	run tl-embed -m "" "$D/a.s"
	[ "$status" -eq 2 ]
	run tl-tokenize --build-vocab "" "$D/a.s"
	[ "$status" -eq 2 ]
	[ "$output" = "tl-tokenize: option --build-vocab: empty path" ]
	run tl-tokenize --vocab "" "$D/a.s"
	[ "$status" -eq 2 ]
	run tl-eval --svg "" "$D/a.s"
	[ "$status" -eq 2 ]
	[ "$output" = "tl-eval: option --svg: empty path" ]
	run tl-eval --compare "" "$D/a.s"
	[ "$status" -eq 2 ]
	run tl-predict -m "" "$D/a.s"
	[ "$status" -eq 2 ]
	run tl-augment --synonyms "" "$D/a.s"
	[ "$status" -eq 2 ]
}

@test "faults2: a directory as an input FILE is 'PATH: is a directory', exit 4, in every tool" {
	mkdir "$D/dir"
	vec_model
	for cmd in "tl-clean" "tl-tokenize" "tl-augment" "tl-eval" "tl-cat" "tl-embed --bow --fit $D/f.bin" \
		"tl-predict -m $D/mv" "tl-train -q -m linear -o $D/o"; do
		run $cmd "$D/dir"
		echo "$cmd: $status $output"
		[ "$status" -eq 4 ]
		[ "$output" = "${cmd%% *}: $D/dir: is a directory" ]
	done
	run tl-train -m bert --pretrained "$TINY" -o "$D/o" -q "$D/dir"
	[ "$status" -eq 4 ]
	[[ "$output" == *"$D/dir: is a directory" ]]
	# a directory on standard input too
	run sh -c 'tl-clean <"$1"' sh "$D/dir"
	[ "$status" -eq 4 ]
	[ "$output" = "tl-clean: standard input: is a directory" ]
}

@test "faults2: a second tl-train on the same -o DIR fails at once; the lock goes with the run" {
	awk 'BEGIN { srand(1); for (i = 0; i < 300; i++)
		printf "{\"id\":%d,\"ids\":[2,%d,%d,3],\"label\":\"%s\"}\n", i, 5 + int(rand() * 30), 5 + int(rand() * 30), i % 2 ? "a" : "b" }' |
		mkstream >"$D/b.s"
	tl-train -m bert --pretrained "$TINY" -o "$D/L" --epochs 40 --batch-size 16 --threads 1 -q "$D/b.s" \
		>"$D/first.out" 2>&1 &
	pid=$!
	for i in $(seq 200); do [ -e "$D/L.lock" ] && break; sleep 0.05; done
	[ -e "$D/L.lock" ]
	start=$(date +%s)
	run tl-train -m bert --pretrained "$TINY" -o "$D/L" --epochs 1 -q "$D/b.s"
	[ "$status" -eq 4 ]
	[ "$output" = "tl-train: $D/L is being written by another tl-train ($D/L.lock)" ]
	# every model kind takes the same lock; --force does not break it
	run tl-train -q -m linear -o "$D/L/" --force "$D/b.s"
	[ "$status" -eq 4 ]
	[ "$output" = "tl-train: $D/L is being written by another tl-train ($D/L.lock)" ]
	[ $(($(date +%s) - start)) -lt 20 ]
	kill -0 "$pid" # the first still runs
	wait "$pid"
	[ -f "$D/L/config.json" ]
	[ ! -e "$D/L.lock" ]
	# a lock file left by a killed run does not block the next
	: >"$D/L2.lock"
	run tl-train -m bert --pretrained "$TINY" -o "$D/L2" --epochs 1 --threads 1 -q "$D/b.s"
	[ "$status" -eq 0 ]
	[ ! -e "$D/L2.lock" ]
}
