#!/usr/bin/env bats
# tl-tokenize: behaviour, parity with Hugging Face end to end, bad input.
load helpers

REF="$TL_ROOT/tests/ref/tokenize"
UNCASED_SHA=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3

# records -> "ids<TAB>number of type id 0" lines, the fixtures' format
ids_lines() {
	tl-cat -t tsv -f ids,type_ids --no-names | awk -F '\t' '{
		ids = $1; gsub(/[][]/, "", ids); gsub(/,/, " ", ids)
		n = split(ids, a, " "); z = n
		if ($2 != "") { t = $2; gsub(/[][]/, "", t); z = gsub(/(^|,)0/, "", t) }
		print ids "\t" z }'
}

# TSV column -> JSON lines {"id":N,"text":...} (SST-2 has no control characters)
tsv_jsonl() {
	awk -F '\t' -v col="$1" 'NR > 1 { t = $col; gsub(/\\/, "\\\\", t); gsub(/"/, "\\\"", t);
		printf "{\"id\":%d,\"text\":\"%s\"}\n", NR - 1, t }'
}

is_san() { case "${TL_BUILD:-}" in *-san*) return 0 ;; esac; return 1; }

@test "tl-tokenize: --help and --version" {
	run tl-tokenize --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run tl-tokenize --version
	[ "$status" -eq 0 ]
	[[ "$output" == *0.* ]]
}

@test "tl-tokenize: embedded default vocabulary, HF ids, keys passed through" {
	run sh -c 'printf "{\"id\":7,\"text\":\"Hello, World! Unaffable\",\"label\":\"pos\",\"x\":[1,2]}\n" | tl-cat -t msgpack | tl-tokenize | tl-cat'
	[ "$status" -eq 0 ]
	[ "$output" = '{"id":7,"text":"Hello, World! Unaffable","label":"pos","x":[1,2],"ids":[101,7592,1010,2088,999,14477,20961,3468,102]}' ]
}

@test "tl-tokenize: --tokens, pairs get type_ids" {
	run sh -c 'printf "{\"text\":\"Question?\",\"text_b\":\"Answer here\"}\n" | tl-cat -t msgpack | tl-tokenize --tokens | tl-cat'
	[ "$status" -eq 0 ]
	[ "$output" = '{"text":"Question?","text_b":"Answer here","ids":[101,3160,1029,102,3437,2182,102],"type_ids":[0,0,0,0,1,1,1],"tokens":["[CLS]","question","?","[SEP]","answer","here","[SEP]"]}' ]
}

@test "tl-tokenize: header carries the tokenizer settings and extends an input header" {
	run sh -c 'printf "{\"tl\":1,\"kind\":\"header\",\"chain\":[{\"tool\":\"tl-clean\"}],\"labels\":[\"a\"]}\n{\"text\":\"x\"}\n" | tl-cat -t msgpack | tl-tokenize --max-len 64 --truncate tail | tl-cat -H'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == *'"labels":["a"]'* ]]
	[[ "${lines[0]}" == *'"chain":[{"tool":"tl-clean"},{"tool":"tl-tokenize"'* ]]
	[[ "${lines[0]}" == *"\"tokenizer\":{\"mode\":\"wordpiece\",\"vocab_sha256\":\"$UNCASED_SHA\",\"vocab_size\":30522,\"lower\":true,\"strip_accents\":true,\"chinese_chars\":true,\"max_len\":64,\"truncate\":\"tail\"}"* ]]
}

@test "tl-tokenize: -m model directory reads its config; sha256 is the vocab.txt's" {
	d="$TL_SHARED/models/all-MiniLM-L6-v2-tokenizer"
	[ -d "$d" ] || skip "no $d"
	sha=$(sha256sum "$d/vocab.txt" | cut -d' ' -f1)
	run sh -c "printf '{\"text\":\"x\"}\n' | tl-cat -t msgpack | tl-tokenize -m '$d' | tl-cat -H | head -1"
	[[ "$output" == *"\"vocab_sha256\":\"$sha\""* ]]
	[[ "$output" == *'"max_len":256'* ]]   # model_max_length of tokenizer_config.json
}

@test "tl-tokenize: hard cases equal Hugging Face tokenizers end to end (several option sets)" {
	for spec in "hard-uncased:" "hard-uncased-max16:--max-len 16" "hard-cased:--no-lower" \
		"hard-lower-keep-accents:--no-strip-accents" "hard-strip-only:--no-lower --strip-accents" \
		"hard-no-chinese:--no-chinese-chars"; do
		name=${spec%%:*} opts=${spec#*:}
		tl-cat -t msgpack "$REF/hard.jsonl" | tl-tokenize --max-len 0 $opts | ids_lines >"$BATS_TEST_TMPDIR/got"
		zcat "$REF/$name.ids.gz" >"$BATS_TEST_TMPDIR/want"
		diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got" || { echo "differs: $name"; false; }
	done
}

@test "tl-tokenize: Chinese vocabulary end to end on the hard cases" {
	d="$TL_SHARED/models/bert-base-chinese-tokenizer"
	[ -d "$d" ] || skip "no $d"
	tl-cat -t msgpack "$REF/hard.jsonl" | tl-tokenize -m "$d" --max-len 0 | ids_lines >"$BATS_TEST_TMPDIR/got"
	zcat "$REF/hard-chinese.ids.gz" | diff - "$BATS_TEST_TMPDIR/got"
}

@test "tl-tokenize: SST-2 dev equals Hugging Face tokenizers end to end" {
	f="$TL_SHARED/data/sst2/dev.tsv"
	[ -f "$f" ] || skip "no $f"
	n=872
	is_san && n=150
	tsv_jsonl 1 <"$f" | head -n $n | tl-cat -t msgpack | tl-tokenize | ids_lines | cut -f1 >"$BATS_TEST_TMPDIR/got"
	zcat "$REF/sst2-dev.ids.gz" | head -n $n | cut -f1 | diff - "$BATS_TEST_TMPDIR/got"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/got")" -eq $n ]
}

@test "tl-tokenize: --max-len with head, tail and head+tail" {
	printf '{"text":"one two three four five six seven eight nine ten"}\n' | tl-cat -t msgpack >"$BATS_TEST_TMPDIR/s"
	run sh -c "tl-tokenize --max-len 8 --tokens <'$BATS_TEST_TMPDIR/s' | tl-cat -t tsv -f tokens --no-names"
	[ "$output" = '["[CLS]","one","two","three","four","five","six","[SEP]"]' ]
	run sh -c "tl-tokenize --max-len 8 --truncate tail --tokens <'$BATS_TEST_TMPDIR/s' | tl-cat -t tsv -f tokens --no-names"
	[ "$output" = '["[CLS]","five","six","seven","eight","nine","ten","[SEP]"]' ]
	run sh -c "tl-tokenize --max-len 10 --truncate head+tail --tokens <'$BATS_TEST_TMPDIR/s' | tl-cat -t tsv -f tokens --no-names"
	[ "$output" = '["[CLS]","one","two","five","six","seven","eight","nine","ten","[SEP]"]' ]
	run sh -c "tl-tokenize --max-len 2 <'$BATS_TEST_TMPDIR/s'"
	[ "$status" -eq 2 ]
}

@test "tl-tokenize: special tokens written in the text map to their ids unless --split-special" {
	printf '{"text":"a [SEP] b"}\n' | tl-cat -t msgpack >"$BATS_TEST_TMPDIR/s"
	run sh -c "tl-tokenize <'$BATS_TEST_TMPDIR/s' | tl-cat -t tsv -f ids --no-names"
	[ "$output" = "[101,1037,102,1038,102]" ]
	run sh -c "tl-tokenize --split-special <'$BATS_TEST_TMPDIR/s' | tl-cat -t tsv -f ids --no-names"
	[ "$output" = "[101,1037,1031,19802,1033,1038,102]" ]
	run sh -c "tl-tokenize --no-special <'$BATS_TEST_TMPDIR/s' | tl-cat -t tsv -f ids --no-names"
	[ "$output" = "[1037,102,1038]" ]
}

@test "tl-tokenize: word mode --build-vocab, then --vocab" {
	printf '{"text":"The cat sat. The cat ran!"}\n{"text":"the DOG","text_b":"a cat"}\n' | tl-cat -t msgpack >"$BATS_TEST_TMPDIR/s"
	run tl-tokenize --mode word --build-vocab "$BATS_TEST_TMPDIR/v.txt" --min-count 2 "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 0 ]
	[ -z "$(ls "$BATS_TEST_TMPDIR" | grep tmp)" ]
	run cat "$BATS_TEST_TMPDIR/v.txt"
	[ "$output" = "$(printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ncat\nthe')" ]   # 3 each: ties by bytes
	run sh -c "tl-tokenize --mode word --vocab '$BATS_TEST_TMPDIR/v.txt' --tokens <'$BATS_TEST_TMPDIR/s' | tl-cat"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"text":"The cat sat. The cat ran!","ids":[6,5,1,1,6,5,1,1],"tokens":["the","cat","[UNK]","[UNK]","the","cat","[UNK]","[UNK]"]}' ]
	[ "${lines[1]}" = '{"text":"the DOG","text_b":"a cat","ids":[6,1,3,1,5],"type_ids":[0,0,0,1,1],"tokens":["the","[UNK]","[SEP]","[UNK]","cat"]}' ]
	run sh -c "tl-tokenize --mode word --vocab '$BATS_TEST_TMPDIR/v.txt' <'$BATS_TEST_TMPDIR/s' | tl-cat -H | head -1"
	[[ "$output" == *'"mode":"word"'*'"lower":true,"strip_accents":false'* ]]
}

@test "tl-tokenize: char mode" {
	printf '{"text":"abba cab!"}\n' | tl-cat -t msgpack >"$BATS_TEST_TMPDIR/s"
	tl-tokenize --mode char --build-vocab "$BATS_TEST_TMPDIR/v.txt" <"$BATS_TEST_TMPDIR/s"
	run sed -n '6,9p' "$BATS_TEST_TMPDIR/v.txt"
	[ "$output" = "$(printf 'a\nb\n!\nc')" ]
	run sh -c "tl-tokenize --mode char --vocab '$BATS_TEST_TMPDIR/v.txt' --special <'$BATS_TEST_TMPDIR/s' | tl-cat -t tsv -f ids --no-names"
	[ "$output" = "[2,5,6,6,5,8,5,6,7,3]" ]
}

@test "tl-tokenize: empty input gives just a header" {
	run sh -c ': | tl-tokenize | tl-cat -H'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == *'"kind":"header"'*'"tokenizer":'* ]]
}

@test "tl-tokenize: a 10 MB text goes through" {
	awk 'BEGIN { printf "{\"id\":1,\"text\":\""; for (i = 0; i < 1000000; i++) printf "word%d, ", i % 1000; print "\"}" }' |
		tl-cat -t msgpack >"$BATS_TEST_TMPDIR/big"
	run sh -c "tl-tokenize --max-len 0 <'$BATS_TEST_TMPDIR/big' | tl-cat -t tsv -f id --no-names"
	[ "$status" -eq 0 ]
	[ "$output" = "1" ]
	run sh -c "tl-tokenize <'$BATS_TEST_TMPDIR/big' | tl-cat -t tsv -f ids --no-names | grep -o ',' | wc -l"
	[ "$output" -eq 511 ]   # 512 ids by default
}

@test "tl-tokenize: bad records: truncated, not a map, text not a string, no text, invalid UTF-8" {
	expect_bad_stream tl-tokenize
	run sh -c 'printf "{\"text\":5}\n" | tl-cat -t msgpack | tl-tokenize >/dev/null'
	[ "$status" -eq 3 ]
	[ "$output" = 'tl-tokenize: record 1: "text" is integer, not a string' ] || [[ "$output" == 'tl-tokenize: record 1: "text" is '*'not a string' ]]
	run sh -c 'printf "{\"id\":1,\"text\":\"ok\"}\n{\"id\":2}\n" | tl-cat -t msgpack | tl-tokenize >/dev/null'
	[ "$status" -eq 3 ]
	[ "$output" = 'tl-tokenize: record 2: no "text" key' ]
	run sh -c 'printf "\201\244text\242a\377" | tl-tokenize >/dev/null'
	[ "$status" -eq 3 ]
	[ "$output" = 'tl-tokenize: record 1: "text": invalid UTF-8 at byte 1' ]
	run sh -c 'printf "{\"text\":\"a\",\"text_b\":[1]}\n" | tl-cat -t msgpack | tl-tokenize >/dev/null'
	[ "$status" -eq 3 ]
	[[ "$output" == 'tl-tokenize: record 1: "text_b" is '* ]]
}

@test "tl-tokenize: bad vocabularies and model directories exit 5" {
	printf '{"text":"x"}\n' | tl-cat -t msgpack >"$BATS_TEST_TMPDIR/s"
	run tl-tokenize --vocab "$BATS_TEST_TMPDIR/missing.txt" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == "tl-tokenize: cannot open vocabulary $BATS_TEST_TMPDIR/missing.txt: No such file or directory" ]]
	run tl-tokenize --vocab "$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == "tl-tokenize: cannot read vocabulary $BATS_TEST_TMPDIR:"* ]]
	: >"$BATS_TEST_TMPDIR/empty.txt"
	run tl-tokenize --vocab "$BATS_TEST_TMPDIR/empty.txt" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"empty vocabulary" ]]
	printf '[CLS]\n[SEP]\nx\n' >"$BATS_TEST_TMPDIR/nounk.txt"
	run tl-tokenize --vocab "$BATS_TEST_TMPDIR/nounk.txt" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"no [UNK] token in the vocabulary" ]]
	mkdir -p "$BATS_TEST_TMPDIR/m"
	run tl-tokenize -m "$BATS_TEST_TMPDIR/m" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"m/vocab.txt: No such file or directory" ]]
	printf '[UNK]\n[CLS]\n[SEP]\n' >"$BATS_TEST_TMPDIR/m/vocab.txt"
	printf '{"do_lower_case": "yes"}' >"$BATS_TEST_TMPDIR/m/tokenizer_config.json"
	run tl-tokenize -m "$BATS_TEST_TMPDIR/m" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *'"do_lower_case" is not true or false' ]]
	printf '{"do_lower_case": ' >"$BATS_TEST_TMPDIR/m/tokenizer_config.json"
	run tl-tokenize -m "$BATS_TEST_TMPDIR/m" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
}

@test "tl-tokenize: usage errors exit 2" {
	run tl-tokenize --mode bpe
	[ "$status" -eq 2 ]
	run tl-tokenize --truncate middle
	[ "$status" -eq 2 ]
	run tl-tokenize --mode word
	[ "$status" -eq 2 ]
	[[ "$output" == *"needs --vocab"* ]]
	run tl-tokenize --build-vocab x.txt
	[ "$status" -eq 2 ]
	run tl-tokenize --max-len -1
	[ "$status" -eq 2 ]
	run tl-tokenize --bogus
	[ "$status" -eq 2 ]
}

@test "tl-tokenize: missing input file exits 4; closed pipe is quiet" {
	run tl-tokenize /nonexistent/in.tl
	[ "$status" -eq 4 ]
	[[ "$output" == "tl-tokenize: cannot open /nonexistent/in.tl:"* ]]
	awk 'BEGIN { for (i = 0; i < 20000; i++) printf "{\"text\":\"some words here %d\"}\n", i }' | tl-cat -t msgpack >"$BATS_TEST_TMPDIR/s"
	run sh -c "tl-tokenize <'$BATS_TEST_TMPDIR/s' 2>'$BATS_TEST_TMPDIR/err' | head -c 10 >/dev/null"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "tl-tokenize: the man pages' examples (tl-tokenize.1, tl-cat.1)" {
	run sh -c "echo 'Hello, World!' | tl-clean | tl-tokenize --tokens | tl-cat"
	[ "$status" -eq 0 ]
	[ "$output" = '{"id":1,"text":"Hello, World!","ids":[101,7592,1010,2088,999,102],"tokens":["[CLS]","hello",",","world","!","[SEP]"]}' ]
	printf '{"id":1,"text":"Hello"}\n' | tl-cat -t msgpack >"$BATS_TEST_TMPDIR/one.tl"
	run tl-cat "$BATS_TEST_TMPDIR/one.tl"
	[ "$output" = '{"id":1,"text":"Hello"}' ]
	printf 'The cat sat.\nthe cat ran\n' >"$BATS_TEST_TMPDIR/train.txt"
	tl-clean "$BATS_TEST_TMPDIR/train.txt" | tl-tokenize --mode word --build-vocab "$BATS_TEST_TMPDIR/words.txt" --min-count 2
	run sh -c "tl-clean '$BATS_TEST_TMPDIR/train.txt' | tl-tokenize --mode word --vocab '$BATS_TEST_TMPDIR/words.txt' | tl-cat -t tsv -f ids --no-names"
	[ "${lines[0]}" = "[6,5,1,1]" ]
	[ "${lines[1]}" = "[6,5,1]" ]
}

@test "tl-tokenize: make demo pipeline works on the example reviews" {
	run sh -c "tl-clean <'$TL_ROOT/examples/reviews.txt' | tl-tokenize --tokens | tl-cat"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -ge 3 ]
	[[ "${lines[0]}" == *'"ids":[101,'*'"tokens":["[CLS]",'* ]]
}

@test "tl-tokenize: -m takes a model name from the search path, like tl-embed" {
	mkdir -p "$BATS_TEST_TMPDIR/zoo/mini"
	cp "$TL_SHARED/models/all-MiniLM-L6-v2-tokenizer/"* "$BATS_TEST_TMPDIR/zoo/mini/"
	run sh -c "printf '{\"text\":\"Hello, World\"}\n' | tl-cat -t msgpack | TL_MODEL_PATH='$BATS_TEST_TMPDIR/zoo' tl-tokenize -m mini | tl-cat -f ids -t tsv --no-names"
	[ "$status" -eq 0 ]
	[ "$output" = "[101,7592,1010,2088,102]" ]
	run sh -c ": | TL_MODEL_PATH='$BATS_TEST_TMPDIR/zoo' tl-tokenize -m nonesuch"
	[ "$status" -eq 5 ]
	[[ "$output" == *"model 'nonesuch' not found"* ]]
}

@test "tl-tokenize: warns once when more than 5% of the tokens are [UNK], not on English, not with -q" {
	printf '这家酒店非常好，服务很周到\n房间一般，不如上次那家\n' >"$BATS_TEST_TMPDIR/zh.txt"
	tl-clean "$BATS_TEST_TMPDIR/zh.txt" >"$BATS_TEST_TMPDIR/zh.tl"
	tl-tokenize "$BATS_TEST_TMPDIR/zh.tl" >"$BATS_TEST_TMPDIR/out.tl" 2>"$BATS_TEST_TMPDIR/err"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/err")" -eq 1 ]
	run cat "$BATS_TEST_TMPDIR/err"
	[[ "$output" =~ ^tl-tokenize:\ [0-9.]+%\ of\ the\ tokens\ are\ \[UNK\] ]]
	[[ "$output" == *"Chinese text needs a Chinese vocabulary, e.g. -m bert-base-chinese)" ]]
	# the output is written all the same
	run sh -c "tl-cat -f ids -t tsv --no-names '$BATS_TEST_TMPDIR/out.tl' | wc -l"
	[ "$output" -eq 2 ]
	# -q: no warning
	tl-tokenize -q "$BATS_TEST_TMPDIR/zh.tl" >/dev/null 2>"$BATS_TEST_TMPDIR/err"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	# English with the default English vocabulary: no warning
	echo 'The hotel was fine, but not as good as last time' | tl-clean | tl-tokenize >/dev/null 2>"$BATS_TEST_TMPDIR/err"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	# empty input: no warning
	: | tl-tokenize >/dev/null 2>"$BATS_TEST_TMPDIR/err"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}
