#!/usr/bin/env bats
load helpers
load bert_helpers

setup() {
	need_model
	CLS="$BATS_TEST_TMPDIR/seqcls"
	sh "$TL_ROOT/tests/ref/bert/mkseqcls.sh" "$CLS"
}

@test "tl-predict: logits of a transformers BertForSequenceClassification directory within 1e-4" {
	sample_stream | tl-predict -m "$CLS" --logits | tl-cat >"$BATS_TEST_TMPDIR/o"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/o")" -eq 26 ]
	d=$(maxdiff logits ref_logits "$BATS_TEST_TMPDIR/o")
	echo "max abs diff $d"
	jq -e -n "$d < 1e-4"
	# pred is the argmax, probs a distribution over id2label's names
	jq -e -s 'map((if .ref_logits[1] > .ref_logits[0] then "positive" else "negative" end) == .pred) | all' "$BATS_TEST_TMPDIR/o"
	jq -e -s 'map(.probs | (keys == ["negative","positive"]) and ((add - 1) | fabs < 1e-6)) | all' "$BATS_TEST_TMPDIR/o"
	[ "$(jq -c .id "$BATS_TEST_TMPDIR/o" | tr '\n' ,)" = "$(jq -c .id "$SAMPLE" | tr '\n' ,)" ]
}

@test "tl-predict: order and results do not depend on the batch size" {
	sample_stream | tl-predict -m "$CLS" --logits -b 3 -j 1 | tl-cat >"$BATS_TEST_TMPDIR/o"
	[ "$(jq -c .id "$BATS_TEST_TMPDIR/o" | tr '\n' ,)" = "$(jq -c .id "$SAMPLE" | tr '\n' ,)" ]
	jq -e -n "$(maxdiff logits ref_logits "$BATS_TEST_TMPDIR/o") < 1e-4"
	# bitwise: batch size and thread count change nothing
	sample_stream | tl-predict -m "$CLS" --logits -b 32 -j 2 | tl-cat >"$BATS_TEST_TMPDIR/o2"
	sample_stream | tl-predict -m "$CLS" --logits -b 1 -j 2 | tl-cat >"$BATS_TEST_TMPDIR/o3"
	cmp "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/o2"
	cmp "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/o3"
}

@test "tl-predict: --top-k, --threshold abstains, header names the labels" {
	sample_stream 4 | tl-predict -m "$CLS" -k 1 | tl-cat -H >"$BATS_TEST_TMPDIR/o"
	run jq -c '.predict.labels' "$BATS_TEST_TMPDIR/o"
	[ "${lines[0]}" = '["negative","positive"]' ]
	jq -e -s '.[1:] | map(.probs | length == 1) | all' "$BATS_TEST_TMPDIR/o"
	sample_stream 4 | tl-predict -m "$CLS" -t 0.999 | tl-cat | jq -e -s 'map(.pred == "") | all'
	run sh -c "printf '{\"ids\":[101,102]}\n' | tl-cat -t msgpack | tl-predict -m '$CLS' | tl-cat | jq -c 'keys'"
	[ "$output" = '["ids","pred","probs"]' ]
}

@test "tl-predict: multi-label models use sigmoids and give label arrays" {
	rm "$CLS/config.json"
	jq '.problem_type = "multi_label_classification"' "$TL_ROOT/tests/ref/bert/seqcls/config.json" >"$CLS/config.json"
	sample_stream 3 | tl-predict -m "$CLS" --logits -t 0.0 | tl-cat >"$BATS_TEST_TMPDIR/o"
	jq -e -s 'map(.pred == ["negative","positive"] or .pred == ["positive","negative"]) | all' "$BATS_TEST_TMPDIR/o"
	jq -e -s 'map(((.probs.positive - 1 / (1 + (-.logits[1] | exp))) | fabs) < 1e-6) | all' "$BATS_TEST_TMPDIR/o"
}

@test "tl-predict: not a classification model, unknown model_type, no -m" {
	sample_stream 1 >"$BATS_TEST_TMPDIR/s"
	run tl-predict -m "$MINILM" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"not a sequence-classification model"* ]]
	rm "$CLS/config.json"
	echo '{"model_type":"gpt9"}' >"$CLS/config.json"
	run tl-predict -m "$CLS" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"unsupported model_type 'gpt9'"* ]]
	echo 'nope' >"$CLS/config.json"
	run tl-predict -m "$CLS" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"config.json: not valid JSON"* ]]
	run tl-predict "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 2 ]
	run tl-predict -m "$BATS_TEST_TMPDIR/none" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
}

@test "tl-predict: a missing head tensor and a wrong head shape are model errors" {
	rm "$CLS/config.json"
	jq '.id2label = {"0":"a","1":"b","2":"c"} | .label2id = {"a":0,"b":1,"c":2}' "$TL_ROOT/tests/ref/bert/seqcls/config.json" >"$CLS/config.json"
	run sh -c "printf '{\"ids\":[101,102]}\n' | tl-cat -t msgpack | tl-predict -m '$CLS'"
	[ "$status" -eq 5 ]
	[[ "$output" == *"config.json: id2label/num_labels 3 does not match the weights (2 labels in classifier.weight)"* ]]
	rm "$CLS/model-00002-of-00002.safetensors"
	run sh -c "printf '{\"ids\":[101,102]}\n' | tl-cat -t msgpack | tl-predict -m '$CLS'"
	[ "$status" -eq 5 ]
	[[ "$output" == *"model-00002-of-00002.safetensors"* ]]
}

@test "tl-predict: bad records, other vocabulary, too long (exit 3 / 5)" {
	run sh -c "printf '{\"ids\":[101,102]}\n{\"id\":7}\n' | tl-cat -t msgpack | tl-predict -m '$CLS' >/dev/null"
	[ "$status" -eq 3 ]
	[[ "$output" == *"tl-predict: record 2: no \"ids\""* ]]
	run sh -c "printf '{\"tl\":1,\"kind\":\"header\",\"tokenizer\":{\"vocab_sha256\":\"%064d\"}}\n{\"ids\":[101,102]}\n' 0 | tl-cat -t msgpack | tl-predict -m '$CLS'"
	[ "$status" -eq 5 ]
	[[ "$output" == *"another vocabulary"* ]]
	jq -n -c '{id: 1, ids: [range(0; 600) | 1000]}' | tl-cat -t msgpack >"$BATS_TEST_TMPDIR/s"
	run tl-predict -m "$CLS" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: 600 tokens"* ]]
}

@test "tl-predict: help, version, empty input" {
	run tl-predict --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run tl-predict --version
	[ "$status" -eq 0 ]
	run sh -c ": | tl-predict -m '$CLS'"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run tl-predict -m "$CLS" --threshold 2
	[ "$status" -eq 2 ]
}

@test "tl-predict: --device cpu gives the default's records (header aside); cuda (not built) and TL_DEVICE=bogus are usage errors" {
	sample_stream | tl-predict -m "$CLS" | tl-cat >"$BATS_TEST_TMPDIR/a"
	sample_stream | tl-predict -m "$CLS" --device cpu | tl-cat >"$BATS_TEST_TMPDIR/b"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	run tl-predict -m "$CLS" --device cuda </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"tl-predict: device 'cuda' is not built in (available: cpu)"* ]]
	TL_DEVICE=bogus run tl-predict -m "$CLS" </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"tl-predict: device 'bogus' is not built in (available: cpu)"* ]]
	sample_stream | TL_DEVICE=bogus tl-predict -m "$CLS" --device cpu | tl-cat >"$BATS_TEST_TMPDIR/d"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/d"
	run tl-predict --help
	[[ "$output" == *"--device NAME"* ]]
}

@test "tl-predict: several files: record numbers run on, a missing file, a full disk" {
	sample_stream 3 >"$BATS_TEST_TMPDIR/a.s"
	printf '{"ids":[101,102]}\n{"id":7}\n' | tl-cat -t msgpack >"$BATS_TEST_TMPDIR/b.s"
	run sh -c "tl-predict -m '$CLS' '$BATS_TEST_TMPDIR/a.s' '$BATS_TEST_TMPDIR/b.s' >/dev/null"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-predict: record 5: no \"ids\""* ]]
	run sh -c "tl-predict -m '$CLS' '$BATS_TEST_TMPDIR/a.s' /nonexistent/x >/dev/null"
	[ "$status" -eq 4 ]
	[ "$output" = "tl-predict: cannot open /nonexistent/x: No such file or directory" ]
	[ -w /dev/full ] || skip "no /dev/full"
	run sh -c "tl-predict -m '$CLS' '$BATS_TEST_TMPDIR/a.s' >/dev/full"
	[ "$status" -eq 4 ]
	[ "$output" = "tl-predict: write error: No space left on device" ]
}

@test "tl-predict, tl-train: a TSV instead of a stream: what it is and what to run; JSON lines are read" {
	printf 'label\tsentence\n1\tgood\n' >"$BATS_TEST_TMPDIR/in.tsv"
	run tl-predict -m "$CLS" "$BATS_TEST_TMPDIR/in.tsv"
	[ "$status" -eq 3 ]
	[[ "$output" == *"$BATS_TEST_TMPDIR/in.tsv: this is text, not a tl record stream: run tl-clean first"* ]]
	[[ "$output" != *"record 1"* ]]
	run tl-train -m linear -o "$BATS_TEST_TMPDIR/m" "$BATS_TEST_TMPDIR/in.tsv"
	[ "$status" -eq 3 ]
	[[ "$output" == *"in.tsv: this is text, not a tl record stream: run tl-clean first"* ]]
	# JSON lines are records (tests/bats/jsonl.bats for every tool)
	run sh -c 'echo "{\"ids\":[101,2204,102]}" | tl-predict -m "$1" | tl-cat' _ "$CLS"
	[ "$status" -eq 0 ]
	[[ "$output" == '{"ids":[101,2204,102],"pred":'* ]]
}
