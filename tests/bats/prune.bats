#!/usr/bin/env bats
# tl-prune: attention heads removed by importance (Michel et al. 2019) or whole
# layers, written as a Hugging Face directory that tl-predict, tl-embed and
# tl-quantize load (config.json pruned_heads); tl-train refuses it; bad input.
load helpers
load bert_helpers

TINY="$TL_ROOT/tests/ref/tiny_bert"     # 2 layers x 2 heads, labels a b c
PRUNED="$TL_ROOT/tests/ref/pruned_bert" # pruned by transformers: heads 2 4 1 3

# labelled records for the tiny model
tiny_data() {
	printf '%s\n' '{"ids":[2,7,9,11,3],"label":"a"}' '{"ids":[2,20,3],"label":"c"}' \
		'{"ids":[2,5,6,7,8,9,10,3],"label":"b"}' '{"ids":[2,39,38,3],"label":"c"}' \
		'{"ids":[2,30,31,3],"label":"b"}' '{"ids":[2,8,3],"label":"a"}' | tl-cat -t msgpack
}

@test "tl-prune --heads: the least important heads go; importance JSON; deterministic; tl-predict loads the result" {
	tiny_data >"$BATS_TEST_TMPDIR/d"
	run tl-prune -m "$TINY" -o "$BATS_TEST_TMPDIR/p" --heads 2 --batch-size 4 --importance-out "$BATS_TEST_TMPDIR/imp.json" "$BATS_TEST_TMPDIR/d"
	[ "$status" -eq 0 ]
	[[ "$output" == *"6 records, 2 of 4 heads removed, 2 kept"* ]]
	# the reference (tests/ref/gen_prune.py, transformers): normalized importance
	# [[0.756, 0.655], [0.793, 0.610]]: head 1 of each layer goes
	jq -e '.pruned_heads == {"0": [1], "1": [1]} and .num_hidden_layers == 2' "$BATS_TEST_TMPDIR/p/config.json"
	jq -e '.records == 6 and (.importance | length) == 2 and (.normalized[1][1] - 0.6098 | fabs) < 1e-4 and .removed == [[0, 1], [1, 1]]' "$BATS_TEST_TMPDIR/imp.json"
	jq -e '.pruning.records == 6 and .pruning.heads_removed == [[0, 1], [1, 1]]' "$BATS_TEST_TMPDIR/p/tl.json"
	[ -f "$BATS_TEST_TMPDIR/p/vocab.txt" ]
	# the same again: the same bits
	tl-prune -q -m "$TINY" -o "$BATS_TEST_TMPDIR/p2" --heads 0.5 --batch-size 4 --importance-out "$BATS_TEST_TMPDIR/imp2.json" "$BATS_TEST_TMPDIR/d"
	cmp "$BATS_TEST_TMPDIR/p/model.safetensors" "$BATS_TEST_TMPDIR/p2/model.safetensors"
	cmp "$BATS_TEST_TMPDIR/imp.json" "$BATS_TEST_TMPDIR/imp2.json"
	tiny_data | tl-predict -m "$BATS_TEST_TMPDIR/p" --logits | tl-cat >"$BATS_TEST_TMPDIR/o"
	[ "$(jq -s 'map(.logits | length) | unique' "$BATS_TEST_TMPDIR/o")" = "$(printf '[\n  3\n]')" ]
	# stdin works as DATA; --heads 0 writes an unpruned copy
	tiny_data | tl-prune -q -m "$TINY" -o "$BATS_TEST_TMPDIR/p0" --heads 0
	jq -e 'has("pruned_heads") | not' "$BATS_TEST_TMPDIR/p0/config.json"
}

@test "tl-prune: a model pruned by transformers runs in tl-predict at every precision, in tl-embed, after tl-quantize and --layers" {
	printf '%s\n' '{"ids":[2,7,9,11,3]}' '{"ids":[2,20,3]}' '{"ids":[2,5,6,7,8,9,10,41,42,43,44,45,46,47,48,3]}' |
		tl-cat -t msgpack >"$BATS_TEST_TMPDIR/d"
	tl-predict -m "$PRUNED" --logits "$BATS_TEST_TMPDIR/d" | tl-cat >"$BATS_TEST_TMPDIR/f"
	# logits of transformers 4.57 for the first two records (tests/ref/gen_prune.py)
	jq -e -s '(.[0].logits[0] - 0.2025042 | fabs) < 1e-4 and (.[0].logits[1] - 2.0513334 | fabs) < 1e-4' "$BATS_TEST_TMPDIR/f"
	for p in bf16 int8; do
		tl-predict -m "$PRUNED" --logits --precision $p "$BATS_TEST_TMPDIR/d" | tl-cat >"$BATS_TEST_TMPDIR/$p"
		paste -d '\n' "$BATS_TEST_TMPDIR/f" "$BATS_TEST_TMPDIR/$p" | jq -e -s '[range(0; length; 2) as $i | [.[$i].logits, .[$i+1].logits] | transpose | map(.[0] - .[1] | fabs) | max] | max < 0.1'
	done
	tl-embed -m "$PRUNED" "$BATS_TEST_TMPDIR/d" | tl-cat | jq -e -s 'map(.vec | length) == [64, 64, 64]'
	tl-quantize -m "$PRUNED" -o "$BATS_TEST_TMPDIR/q"
	jq -e '.pruned_heads["2"] == [0, 1, 3]' "$BATS_TEST_TMPDIR/q/config.json"
	tl-predict -m "$BATS_TEST_TMPDIR/q" --logits "$BATS_TEST_TMPDIR/d" | tl-cat >"$BATS_TEST_TMPDIR/q8"
	paste -d '\n' "$BATS_TEST_TMPDIR/f" "$BATS_TEST_TMPDIR/q8" | jq -e -s '[range(0; length; 2) as $i | [.[$i].logits, .[$i+1].logits] | transpose | map(.[0] - .[1] | fabs) | max] | max < 0.1'
	# whole layers, from a pruned and from a quantized pruned model: renumbered
	tl-prune -m "$PRUNED" -o "$BATS_TEST_TMPDIR/l" --layers 1,2
	jq -e '.num_hidden_layers == 2 and .pruned_heads == {"0": [1, 2], "1": [0]}' "$BATS_TEST_TMPDIR/l/config.json"
	jq -e '.pruning.layers_removed == [1, 2]' "$BATS_TEST_TMPDIR/l/tl.json"
	tl-predict -m "$BATS_TEST_TMPDIR/l" --logits "$BATS_TEST_TMPDIR/d" | tl-cat | jq -e -s 'length == 3'
	tl-prune -m "$BATS_TEST_TMPDIR/q" -o "$BATS_TEST_TMPDIR/lq" --layers 0
	tl-predict -m "$BATS_TEST_TMPDIR/lq" --logits "$BATS_TEST_TMPDIR/d" | tl-cat | jq -e -s 'length == 3'
}

@test "tl-prune --layers on all-MiniLM-L6-v2: a 4-layer encoder tl-embed loads" {
	need_model
	tl-prune -m "$MINILM" -o "$BATS_TEST_TMPDIR/m4" --layers 1,3
	jq -e '.num_hidden_layers == 4' "$BATS_TEST_TMPDIR/m4/config.json"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/m4/model.safetensors")" -lt "$(stat -L -c %s "$MINILM/model.safetensors")" ]
	sample_stream 3 | tl-embed -m "$BATS_TEST_TMPDIR/m4" | tl-cat | jq -e -s 'map(.vec | length) == [384, 384, 384]'
	# layer 0 of the new model is layer 0 of the old: hidden_states[1] agree
	sample_stream 3 | tl-embed -m "$BATS_TEST_TMPDIR/m4" --layer 1 | tl-cat >"$BATS_TEST_TMPDIR/a"
	sample_stream 3 | tl-embed --layer 1 | tl-cat >"$BATS_TEST_TMPDIR/b"
	jq -e -n "$(cosines "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b") | .[0] >= 0.999999"
}

@test "tl-train refuses a head-pruned model (exit 5, pruned_heads)" {
	run sh -c 'tl-cat -t msgpack <<EOF | tl-train -m bert --pretrained "$1" -o "$2" --epochs 1
{"ids":[2,7,9,11,3],"label":"neg"}
{"ids":[2,20,3],"label":"pos"}
EOF' sh "$PRUNED" "$BATS_TEST_TMPDIR/t"
	[ "$status" -eq 5 ]
	[[ "$output" == *"pruned_heads: tl-train cannot fine-tune a head-pruned model"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/t" ]
}

@test "tl-prune: bad input (fractions, every head, no classifier, no labels, existing OUT, usage)" {
	tiny_data >"$BATS_TEST_TMPDIR/d"
	for h in 1.0 1.5 -0.1 0.x abc -3; do
		run tl-prune -m "$TINY" -o "$BATS_TEST_TMPDIR/p" --heads "$h" "$BATS_TEST_TMPDIR/d"
		[ "$status" -eq 2 ]
		[[ "$output" == *"--heads $h"* ]]
	done
	run tl-prune -m "$TINY" -o "$BATS_TEST_TMPDIR/p" --heads 4 "$BATS_TEST_TMPDIR/d"
	[ "$status" -eq 2 ]
	[[ "$output" == *"would prune every head of the model (4)"* ]]
	run tl-prune -m "$TINY" -o "$BATS_TEST_TMPDIR/p" --heads 3 "$BATS_TEST_TMPDIR/d"
	[ "$status" -eq 2 ]
	[[ "$output" == *"at most 2 of the 4 heads can go (each layer keeps one"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/p" ]
	# DATA without labels, with an unknown label, without ids, empty
	run sh -c 'printf "%s\n" "{\"ids\":[2,7,3]}" | tl-cat -t msgpack | tl-prune -m "$1" -o "$2" --heads 1' sh "$TINY" "$BATS_TEST_TMPDIR/p"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-prune: record 1: no \"label\": head importance needs labelled records"* ]]
	run sh -c 'printf "%s\n" "{\"ids\":[2,7,3],\"label\":\"a\"}" "{\"ids\":[2,7,3],\"label\":\"zz\"}" | tl-cat -t msgpack | tl-prune -m "$1" -o "$2" --heads 1' sh "$TINY" "$BATS_TEST_TMPDIR/p"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-prune: record 2: label \"zz\" is not one of the model's 3 labels"* ]]
	run sh -c 'printf "%s\n" "{\"text\":\"x\",\"label\":\"a\"}" | tl-cat -t msgpack | tl-prune -m "$1" -o "$2" --heads 1' sh "$TINY" "$BATS_TEST_TMPDIR/p"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: no \"ids\""* ]]
	run tl-prune -m "$TINY" -o "$BATS_TEST_TMPDIR/p" --heads 1 /dev/null
	[ "$status" -eq 3 ]
	[[ "$output" == *"no records"* ]]
	head -c $(($(stat -c %s "$BATS_TEST_TMPDIR/d") - 3)) "$BATS_TEST_TMPDIR/d" >"$BATS_TEST_TMPDIR/trunc"
	run tl-prune -m "$TINY" -o "$BATS_TEST_TMPDIR/p" --heads 1 "$BATS_TEST_TMPDIR/trunc"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-prune: record 6: truncated record"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/p" ]
	# a model without a classifier; a pruned one (importance needs every head)
	if [ -f "$MINILM/model.safetensors" ]; then
		run tl-prune -m "$MINILM" -o "$BATS_TEST_TMPDIR/p" --heads 1 "$BATS_TEST_TMPDIR/d"
		[ "$status" -eq 5 ]
		[[ "$output" == *"no classifier (classifier.weight): head importance needs"* ]]
	fi
	run tl-prune -m "$PRUNED" -o "$BATS_TEST_TMPDIR/p" --heads 1 "$BATS_TEST_TMPDIR/d"
	[ "$status" -eq 5 ]
	[[ "$output" == *"pruned_heads: the model is head-pruned already"* ]]
	# an existing OUT: refused without --force, replaced with it
	mkdir "$BATS_TEST_TMPDIR/out"
	touch "$BATS_TEST_TMPDIR/out/old"
	run tl-prune -m "$TINY" -o "$BATS_TEST_TMPDIR/out" --heads 1 "$BATS_TEST_TMPDIR/d"
	[ "$status" -eq 2 ]
	[[ "$output" == *"exists (--force replaces it)"* ]]
	[ -e "$BATS_TEST_TMPDIR/out/old" ]
	tl-prune -q -m "$TINY" -o "$BATS_TEST_TMPDIR/out" --heads 1 --force "$BATS_TEST_TMPDIR/d"
	[ ! -e "$BATS_TEST_TMPDIR/out/old" ]
	jq -e '[.pruned_heads[] | length] | add == 1' "$BATS_TEST_TMPDIR/out/config.json"
	# --layers: every layer, out of range, with DATA; neither or both options
	run tl-prune -m "$TINY" -o "$BATS_TEST_TMPDIR/p" --layers 0,1
	[ "$status" -eq 2 ]
	[[ "$output" == *"removes every encoder layer (2)"* ]]
	run tl-prune -m "$TINY" -o "$BATS_TEST_TMPDIR/p" --layers 2
	[ "$status" -eq 2 ]
	[[ "$output" == *"'2' is not a layer number (0..1)"* ]]
	run tl-prune -m "$TINY" -o "$BATS_TEST_TMPDIR/p" --layers 1 "$BATS_TEST_TMPDIR/d"
	[ "$status" -eq 2 ]
	run tl-prune -m "$TINY" -o "$BATS_TEST_TMPDIR/p"
	[ "$status" -eq 2 ]
	[[ "$output" == *"give one of --heads FRACTION|N and --layers LIST"* ]]
	run tl-prune -m "$TINY" -o "$BATS_TEST_TMPDIR/p" --heads 1 --layers 1
	[ "$status" -eq 2 ]
	run tl-prune -m "$BATS_TEST_TMPDIR/nonexistent" -o "$BATS_TEST_TMPDIR/p" --layers 1
	[ "$status" -eq 5 ]
	[ ! -e "$BATS_TEST_TMPDIR/p" ]
}
