#!/usr/bin/env bats
# Records a model was trained on: tl-predict marks them "seen": true from
# the model's train-keys.bin (tl/leak.h), tl-eval counts and warns,
# --exclude-seen drops them, --model DIR checks a stream directly.
load helpers

load keys # mkkeys FILE (a train-keys.bin written from the documented format), hexkey TEXT

mk_train() {
	for i in $(seq 1 40); do
		printf '{"id":%d,"text":"a great fun movie %d","label":"pos"}\n' "$i" "$i"
		printf '{"id":%d,"text":"a dull boring film %d","label":"neg"}\n' "$((i + 100))" "$i"
	done
}

setup() {
	T=$BATS_TEST_TMPDIR
	mk_train >"$T/train.jsonl"
	mkstream <"$T/train.jsonl" >"$T/train.s"
	tl-train -q -m linear -o "$T/m" "$T/train.s"
	# trained on (as far as the keys say): records 3 and 103 (ids), and 7
	grep -E '"id":(3|103|7),' "$T/train.jsonl" | mkkeys "$T/m/train-keys.bin"
	# test data: two unseen sentences, one trained on, an augmented copy of
	# a trained-on record and one of an unseen record
	{
		printf '{"id":1,"text":"a great fun movie 99","label":"pos"}\n'
		printf '{"id":2,"text":"a dull boring film 3","label":"neg"}\n'
		printf '{"id":3,"text":"a dull boring film 77","label":"pos"}\n'
		printf '{"id":"7~aug1","text":"a great fun flick 7","label":"neg","aug":{"op":"swap","src":7,"src_key":"%s"}}\n' \
			"$(hexkey 'a great fun movie 7')"
		printf '{"id":"8~aug1","text":"a great fun flick 8","label":"pos","aug":{"op":"swap","src":8,"src_key":"%s"}}\n' \
			"$(hexkey 'a great fun movie 8')"
	} | mkstream >"$T/test.s"
}

@test "tl-predict: marks exactly the records the model was trained on, augmented copies through aug.src_key" {
	tl-predict -m "$T/m" "$T/train.s" | tl-cat >"$T/o"
	[ "$(jq -c 'select(.seen == true) | .id' "$T/o" | tr '\n' ,)" = "3,103,7," ]
	[ "$(jq -c 'select(has("seen")) | .id' "$T/o" | wc -l)" -eq 3 ]
	tl-predict -m "$T/m" "$T/test.s" | tl-cat >"$T/o"
	[ "$(jq -c 'select(.seen == true) | .id' "$T/o" | tr '\n' ,)" = '2,"7~aug1",' ]
	[ "$(jq -c 'select(has("seen")) | .id' "$T/o" | wc -l)" -eq 2 ]
}

@test "tl-predict: no train-keys.bin, or keys matching nothing: no marks, the same bytes" {
	printf '{"text":"never trained on"}\n' | mkkeys "$T/m/train-keys.bin"
	tl-predict -m "$T/m" "$T/test.s" | tl-cat >"$T/o1"
	rm "$T/m/train-keys.bin"
	run sh -c "tl-predict -m '$T/m' '$T/test.s' | tl-cat >'$T/o2'"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	cmp "$T/o1" "$T/o2"
	! grep -q seen "$T/o2"
	# a "seen" mark belongs to the model that made it: another model drops it
	tl-predict -m "$T/m" "$T/test.s" | tl-predict -m "$T/m" | tl-cat >"$T/o3"
	cmp "$T/o2" "$T/o3"
	printf '{"id":1,"text":"a great fun movie 1","seen":true}\n' | mkstream | tl-predict -m "$T/m" | tl-cat >"$T/o4"
	jq -e 'has("seen") | not' "$T/o4"
}

@test "tl-predict: a damaged train-keys.bin is a model error naming the file" {
	printf 'TLKEYS2\n\002\0\0\0\0\0\0\0\001\0\0\0\0\0\0\0' >"$T/m/train-keys.bin" # 2 keys announced, 1 there
	run sh -c "tl-predict -m '$T/m' '$T/test.s' >/dev/null"
	[ "$status" -eq 5 ]
	[[ "$output" == "tl-predict: $T/m/train-keys.bin: "*damaged* ]]
	printf 'TLKEYS2\n\002\0\0\0\0\0\0\0\002\0\0\0\0\0\0\0\001\0\0\0\0\0\0\0' >"$T/m/train-keys.bin" # out of order
	run sh -c "tl-predict -m '$T/m' '$T/test.s' >/dev/null"
	[ "$status" -eq 5 ]
	[[ "$output" == "tl-predict: $T/m/train-keys.bin: "*damaged* ]]
	run sh -c "tl-eval --model '$T/m' '$T/test.s' >/dev/null"
	[ "$status" -eq 5 ]
	[[ "$output" == "tl-eval: $T/m/train-keys.bin: "*damaged* ]]
}

@test "tl-predict, tl-eval --model: keys of the older format (FNV-1a, TLKEYS1) are a warning, nothing marked" {
	# a model trained before the key changed: its file starts TLKEYS1
	printf 'TLKEYS1\n\001\0\0\0\0\0\0\0\001\0\0\0\0\0\0\0' >"$T/m/train-keys.bin"
	run sh -c "tl-predict -m '$T/m' '$T/test.s' 2>'$T/err' | tl-cat >'$T/o'"
	[ "$status" -eq 0 ]
	[ "$(cat "$T/err")" = "tl-predict: $T/m/train-keys.bin: keys of an older format (FNV-1a, before tl 2026-12), seen-check off" ]
	! grep -q seen "$T/o"
	[ "$(wc -l <"$T/o")" -eq 5 ]
	tl-cat <"$T/test.s" | jq -c '. + {pred: .label}' | mkstream >"$T/other.s"
	run sh -c "tl-eval --model '$T/m' '$T/other.s' 2>&1 >/dev/null"
	[ "$status" -eq 0 ]
	[[ "$output" == "tl-eval: option --model: $T/m/train-keys.bin: keys of an older format (FNV-1a, before tl 2026-12), seen-check off"* ]]
	[[ "$output" != *"trained on"* ]]
}

@test "tl-eval: warns about records the model was trained on, counts them, --exclude-seen ignores them" {
	tl-predict -m "$T/m" "$T/test.s" >"$T/p.s"
	run sh -c "tl-eval <'$T/p.s'"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tl-eval: standard input: 2 records the model was trained on (first: record 2, id '2'); --exclude-seen ignores them"* ]]
	[[ "$output" == *"records 5, labels 2, augmented 2, seen 2"* ]]
	# the augmented copy of a trained-on record is counted once in each
	run sh -c "tl-eval --json '$T/p.s' 2>/dev/null | jq -c '[.n, .augmented, .seen]'"
	[ "$output" = "[5,2,2]" ]
	# accuracy over the rest: 1, 3 and 8~aug1 (3 is labelled against its text)
	run sh -c "tl-eval --json --exclude-seen '$T/p.s' 2>&1 >/dev/null"
	[ "$status" -eq 0 ]
	[[ "$output" != *"trained on"* ]]
	run sh -c "tl-eval --json --exclude-seen '$T/p.s' 2>/dev/null"
	echo "$output" | jq -e '.n == 3 and .seen == 0 and .augmented == 1 and (.accuracy - 2/3 | fabs) < 1e-9'
	run sh -c "tl-eval --json --exclude-seen --exclude-augmented '$T/p.s' 2>/dev/null | jq -c '[.n, .augmented, .seen]'"
	[ "$output" = "[2,0,0]" ]
	# without the keys file: no marks, no message
	rm "$T/m/train-keys.bin"
	run sh -c "tl-predict -m '$T/m' '$T/test.s' | tl-eval --exclude-augmented 2>&1 >/dev/null"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "tl-eval --model DIR: checks a stream that did not come through tl-predict" {
	# predictions made elsewhere: label and pred, no "seen"
	tl-cat <"$T/test.s" | jq -c '. + {pred: .label}' | mkstream >"$T/other.s"
	run sh -c "tl-eval '$T/other.s' 2>&1"
	[[ "$output" != *"trained on"* ]]
	run sh -c "tl-eval --model '$T/m' '$T/other.s' 2>&1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tl-eval: $T/other.s: 2 records the model was trained on (first: record 2, id '2'); --exclude-seen ignores them"* ]]
	run sh -c "tl-eval --json --model '$T/m' --exclude-seen '$T/other.s' 2>/dev/null | jq -c '[.n, .seen]'"
	[ "$output" = "[3,0]" ]
	# a record marked by tl-predict and found by --model is one record
	run sh -c "tl-predict -m '$T/m' '$T/test.s' | tl-eval --json --model '$T/m' 2>/dev/null | jq -c '[.n, .seen]'"
	[ "$output" = "[5,2]" ]
	# a model made before training keys were stored: said, not an error
	rm "$T/m/train-keys.bin"
	run sh -c "tl-eval --model '$T/m' '$T/other.s' 2>&1 >/dev/null"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tl-eval: option --model: $T/m has no train-keys.bin (made before tl-train stored its training keys): records not checked"* ]]
	[[ "$output" != *"trained on"* ]]
	run tl-eval --model "$T/no-such-model" "$T/other.s"
	[ "$status" -eq 5 ]
	[[ "$output" == "tl-eval: option --model: "* ]]
}

@test "SST-2: the keys of a model trained on dev mark train records by text, never by id" {
	D=$TL_SHARED/data/sst2
	[ -f "$D/dev.tsv" ] && [ -f "$D/train.tsv" ] || skip "no SST-2 in $TL_SHARED/data"
	tl-clean "$D/dev.tsv" >"$T/dev.s"
	tl-clean "$D/train.tsv" >"$T/tr.s"
	tl-train -q -m linear --force -o "$T/sst" "$T/dev.s"
	# the keys of dev and of five train records (as if trained on them too)
	{ tl-cat <"$T/dev.s"; tl-cat <"$T/tr.s" | sed -n '10,14p'; } >"$T/keyed.jsonl"
	mkkeys "$T/sst/train-keys.bin" <"$T/keyed.jsonl"
	# expected independently: train records whose text is a keyed text
	# (SST-2's train and dev share no sentence: the five, and their repeats)
	jq -r .text "$T/keyed.jsonl" | sort -u >"$T/texts"
	tl-cat <"$T/tr.s" | jq -r .text | sort | comm -12 - "$T/texts" | wc -l >"$T/expect"
	[ "$(cat "$T/expect")" -ge 5 ]
	tl-predict -m "$T/sst" "$T/tr.s" >"$T/p.s"
	run sh -c "tl-cat <'$T/p.s' | jq -c 'select(.seen == true)' | wc -l"
	[ "$output" -eq "$(cat "$T/expect")" ]
	# ids collide (tl-clean numbers both files from 1): no effect
	run sh -c "tl-eval --json '$T/p.s' 2>/dev/null | jq .seen"
	[ "$output" -eq "$(cat "$T/expect")" ]
	# dev itself: every record trained on
	run sh -c "tl-predict -m '$T/sst' '$T/dev.s' | tl-eval --json 2>/dev/null | jq -c '[.n, .seen]'"
	[ "$output" = "[872,872]" ]
}
