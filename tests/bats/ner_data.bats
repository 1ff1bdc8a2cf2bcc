#!/usr/bin/env bats
# NER data and evaluation (issue 22): tl-clean -f conll, tl-tokenize word
# alignment, tl-eval's NER mode, with their bad input.
load helpers

D="$TL_SHARED/data/conll2003"
T() { printf '%s' "$BATS_TEST_TMPDIR/$1"; }

@test "tl-clean -f conll: sentences, -DOCSTART-, blank runs, columns" {
	printf -- '-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\n\nGerman JJ B-NP B-MISC\r\n-DOCSTART- -X- -X- O\nPeter NNP B-NP B-PER\n' >"$(T a.txt)"
	run sh -c "tl-clean -f conll '$(T a.txt)' | tl-cat"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = '{"id":1,"words":["EU","rejects"],"tags":["B-ORG","O"]}' ]
	[ "${lines[1]}" = '{"id":2,"words":["German"],"tags":["B-MISC"]}' ]
	[ "${lines[2]}" = '{"id":3,"words":["Peter"],"tags":["B-PER"]}' ]
	# columns by number: the POS column as tags, the chunk column with --text
	run sh -c "tl-clean -f conll --label 2 '$(T a.txt)' | tl-cat | head -1"
	[ "$output" = '{"id":1,"words":["EU","rejects"],"tags":["NNP","VBZ"]}' ]
	run sh -c "tl-clean -f conll --text 3 --label 4 '$(T a.txt)' | tl-cat | head -1"
	[ "$output" = '{"id":1,"words":["B-NP","B-VP"],"tags":["B-ORG","O"]}' ]
	# the header names the format
	run sh -c "tl-clean -f conll '$(T a.txt)' | tl-cat -H | head -1"
	[[ "$output" == *'"format":"conll"'* ]]
}

@test "tl-clean -f conll: one column is prediction input (no tags)" {
	printf 'EU\nrejects\n\nGerman\n' | tl-clean -f conll | tl-cat >"$(T o)"
	[ "$(cat "$(T o)")" = '{"id":1,"words":["EU","rejects"]}
{"id":2,"words":["German"]}' ]
}

@test "tl-clean -f conll: CoNLL-2003 train and dev sentence counts" {
	[ -f "$D/train.txt" ] || skip "no $D"
	[ "$(tl-clean -f conll "$D/train.txt" | tl-cat | wc -l)" -eq 14041 ]
	[ "$(tl-clean -f conll "$D/dev.txt" | tl-cat | wc -l)" -eq 3250 ]
	# B-PER entities in train (SOURCES.md: 6,592)
	[ "$(tl-clean -f conll "$D/train.txt" | tl-cat | grep -o '"B-PER"' | wc -l)" -eq 6592 ]
}

@test "tl-clean -f conll: bad input exits 3 naming file:line" {
	printf 'EU B-ORG\nrejects\n\nx O\n' >"$(T one.txt)"
	run tl-clean -f conll "$(T one.txt)"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-clean: $(T one.txt):2: one column (no tag) in a tagged file (line 1 has tags)"* ]]
	printf 'EU\nrejects O\n' >"$(T two.txt)"
	run tl-clean -f conll "$(T two.txt)"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-clean: $(T two.txt):2: 2 columns in an untagged file (line 1 has one column)"* ]]
	printf 'EU NNP B-ORG\nrejects O\n' >"$(T three.txt)"
	run tl-clean -f conll --label 3 "$(T three.txt)"
	[ "$status" -eq 3 ]
	[[ "$output" == *"three.txt:2: 2 columns, the tag column is 3"* ]]
	printf 'EU B-ORG\nre\000jects O\n' >"$(T nul.txt)"
	run tl-clean -f conll "$(T nul.txt)"
	[ "$status" -eq 3 ]
	[[ "$output" == *"nul.txt:2: NUL byte in a line"* ]]
	printf 'EU B-ORG\n' >"$(T ok.txt)"
	run tl-clean -f conll --label 1 "$(T ok.txt)"
	[ "$status" -eq 2 ]
	run tl-clean -f conll --text words "$(T ok.txt)"
	[ "$status" -eq 2 ]
	[[ "$output" == *"column number"* ]]
}

@test "tl-clean -f conll: empty input and only blank lines give no records" {
	run sh -c "printf '\n\n-DOCSTART- O\n\n' | tl-clean -f conll | tl-cat"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run sh -c "printf '' | tl-clean -f conll | tl-cat"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "tl-tokenize: words -> ids and word_ids (first sub-token carries the word)" {
	run sh -c "printf 'EU B-ORG\nrejects O\nunbelievably O\n' | tl-clean -f conll | tl-tokenize --tokens | tl-cat"
	[ "$status" -eq 0 ]
	[ "$output" = '{"id":1,"words":["EU","rejects","unbelievably"],"tags":["B-ORG","O","O"],"ids":[101,7327,19164,4895,8671,2666,3567,6321,102],"word_ids":[-1,0,1,2,2,2,2,2,-1],"tokens":["[CLS]","eu","rejects","un","##bel","##ie","##va","##bly","[SEP]"]}' ]
}

@test "tl-tokenize --words: plain text gets words, byte offsets and word_ids" {
	run sh -c "printf 'Peter went to Brüssel, don'\''t he?\n' | tl-clean | tl-tokenize --words | tl-cat"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"words":["Peter","went","to","Brüssel",",","don","'"'"'","t","he","?"],"offsets":[[0,5],[6,10],[11,13],[14,22],[22,23],[24,27],[27,28],[28,29],[30,32],[32,33]]'* ]]
	[[ "$output" == *'"word_ids":[-1,0,1,2,3,3,3,4,5,6,7,8,9,-1]'* ]]
}

@test "tl-tokenize: a sentence over --max-len is truncated with a warning naming the record" {
	printf 'a O\nb O\n\nunbelievably O\nunbelievably O\nunbelievably O\n' | tl-clean -f conll >"$(T s)"
	run sh -c "tl-tokenize --max-len 8 <'$(T s)' | tl-cat"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tl-tokenize: record 2: 15 word pieces, more than --max-len 8 allows: truncated, 1 word after word 2 get no token"* ]]
	[[ "$output" == *'"word_ids":[-1,0,0,0,0,0,1,-1],"truncated":true}'* ]]
	[[ "$output" == *"1 record longer than --max-len 8 word pieces"* ]]
	# record 1 (the first sentence) is not marked
	[[ "$output" == *'{"id":1,"words":["a","b"],"tags":["O","O"],"ids":[101,1037,1038,102],"word_ids":[-1,0,1,-1]}'* ]]
}

@test "tl-tokenize: bad words exit 3 naming the record" {
	run sh -c "printf '{\"words\":\"EU\"}\n' | tl-cat -t msgpack | tl-tokenize"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 1: "words" is string, not an array of strings'* ]]
	run sh -c "printf '{\"words\":[\"EU\",3]}\n' | tl-cat -t msgpack | tl-tokenize"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 1: "words"[1] is'*'not a string'* ]]
	run sh -c "printf '{\"id\":1}\n' | tl-cat -t msgpack | tl-tokenize --words"
	[ "$status" -eq 3 ]
	[[ "$output" == *'no "words" and no "text" key'* ]]
	run tl-tokenize --words --mode word --vocab /dev/null
	[ "$status" -eq 2 ]
}

@test "tl-eval NER: equals seqeval on the edge-case fixture (every figure within 1e-9)" {
	REF="$TL_ROOT/tests/ref"
	tl-eval --json "$REF/ner/eval.jsonl" >"$(T got.json)" 2>"$(T err)"
	run jq -r -n --slurpfile got "$(T got.json)" --slurpfile want "$REF/ner/eval.expected.json" -f "$REF/eval/compare.jq"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == "checked "* ]]
	[ "${lines[0]#checked }" -ge 60 ]
	# a corrupted expectation is caught (the comparison can fail)
	jq '.micro.f1 += 0.001' "$REF/ner/eval.expected.json" >"$(T bad.json)"
	run jq -r -n --slurpfile got "$(T got.json)" --slurpfile want "$(T bad.json)" -f "$REF/eval/compare.jq"
	[[ "$output" == *"differs micro.f1"* ]]
	# mixed schemes are scored as given, with warnings
	grep -q "E-/S- tags (IOBES; gold and pred together) in iob2 data: scored as given" "$(T err)"
	grep -q "entities (gold and pred together) begin with I- (no B- before them" "$(T err)"
	run sh -c "tl-eval --scheme iobes --json '$REF/ner/eval.jsonl' 2>&1 >/dev/null"
	[[ "$output" != *"E-/S- tags"* ]]
	[ "$(tl-eval --scheme iob1 --json "$REF/ner/eval.jsonl" 2>/dev/null | jq .micro.f1)" = "$(jq .micro.f1 "$(T got.json)")" ]
}

@test "tl-eval NER: the table (per type, micro/macro/weighted, token accuracy)" {
	printf '%s\n' '{"tags":["B-PER","I-PER","O","B-LOC"],"pred":["B-PER","I-PER","O","B-ORG"]}' \
		'{"tags":["O","B-ORG"],"pred":["O","B-ORG"]}' >"$(T t.jsonl)"
	run tl-eval "$(T t.jsonl)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "records 2, words 6, entities 3 gold, 3 predicted (seqeval default mode, iob2)" ]
	[[ "$output" == *"LOC                 0.0000    0.0000    0.0000         1         0"* ]]
	[[ "$output" == *"ORG                 0.5000    1.0000    0.6667         1         2"* ]]
	[[ "$output" == *"micro avg           0.6667    0.6667    0.6667         3         3"* ]]
	[[ "$output" == *"macro avg           0.5000    0.6667    0.5556         3         3"* ]]
	[[ "$output" == *"token accuracy      0.8333 (5 of 6 words)"* ]]
	run tl-eval --min-macro-f1 0.6 "$(T t.jsonl)"
	[ "$status" -eq 6 ]
}

@test "tl-eval NER: bad input names the record" {
	printf '%s\n' '{"tags":["B-PER","O"],"pred":["B-PER","O"]}' '{"tags":["B-PER","O"],"pred":["B-PER"]}' >"$(T len.jsonl)"
	run tl-eval "$(T len.jsonl)"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 2: 'tags' has 2 words, 'pred' 1: not the same sentence"* ]]
	printf '%s\n' '{"tags":["B-PER","PER"],"pred":["B-PER","O"]}' >"$(T mal.jsonl)"
	run tl-eval "$(T mal.jsonl)"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 1: tags: word 2: malformed tag "PER"'* ]]
	printf '%s\n' '{"tags":["B-PER"],"pred":["B_PER"]}' >"$(T mal2.jsonl)"
	run tl-eval "$(T mal2.jsonl)"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 1: pred: word 1: malformed tag "B_PER"'* ]]
	printf '%s\n' '{"tags":["B-PER"],"pred":"B-PER"}' >"$(T str.jsonl)"
	run tl-eval "$(T str.jsonl)"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: 'pred' is string, not an array of tags"* ]]
	printf '%s\n' '{"tags":["B-PER"],"pred":[1]}' >"$(T num.jsonl)"
	run tl-eval "$(T num.jsonl)"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: 'pred'[0] is"*"not a string"* ]]
	# no pred: skipped with a warning, an error under --strict
	printf '%s\n' '{"tags":["B-PER"],"pred":["B-PER"]}' '{"tags":["O"]}' >"$(T nopred.jsonl)"
	run tl-eval "$(T nopred.jsonl)"
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 records without 'tags' or 'pred' skipped (first: record 2)"* ]]
	run tl-eval --strict "$(T nopred.jsonl)"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 2: no 'pred'"* ]]
	run tl-eval --scheme bio "$(T nopred.jsonl)"
	[ "$status" -eq 2 ]
	run tl-eval --by x "$(T nopred.jsonl)"
	[ "$status" -eq 2 ]
	[[ "$output" == *"classification only"* ]]
}

@test "tl-eval NER: conll in, gold as pred, scores 1 (the whole data path)" {
	[ -f "$D/dev.txt" ] || skip "no $D"
	run sh -c "tl-clean -f conll '$D/dev.txt' | tl-cat | jq -c '.pred = .tags' | tl-eval --json 2>/dev/null"
	[ "$status" -eq 0 ]
	[ "$(printf '%s' "$output" | jq -c '[.n, .micro.f1, .macro.f1, .accuracy, .micro.support]')" = "[3250,1,1,1,5942]" ]
}
