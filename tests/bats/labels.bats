#!/usr/bin/env bats
# Label names (--label-names of tl-predict and tl-eval) and tl-eval's check
# that the gold labels are the model's labels (issue 16 item 14).
load helpers

# a 4-class linear model with labels 0..3 (AG News style), trained in a blink
setup() {
	D=$BATS_TEST_TMPDIR
	awk 'BEGIN { split("war peace election|game team score|market stock price|software chip computer", W, "|")
		for (i = 0; i < 80; i++) { c = i % 4; split(W[c + 1], w, " ")
			printf "{\"id\":%d,\"text\":\"%s %s news %d\",\"label\":%d}\n", i, w[1 + (i % 3)], w[1 + ((i + 1) % 3)], i, c } }' |
		tl-cat -t msgpack >"$D/tr.s"
	tl-train -q -m linear -o "$D/m" "$D/tr.s"
	printf 'World\nSports\nBusiness\nSci/Tech\n' >"$D/classes.txt"
}

@test "tl-predict --label-names: a file in the model's label order, or KEY=NAME pairs" {
	tl-predict -m "$D/m" --label-names "$D/classes.txt" "$D/tr.s" | tl-cat -H >"$D/o"
	[ "$(head -1 "$D/o" | jq -c .predict.labels)" = '["World","Sports","Business","Sci/Tech"]' ]
	[ "$(head -1 "$D/o" | jq -c .predict.label_ids)" = '["0","1","2","3"]' ]
	[ "$(sed -n 2p "$D/o" | jq -r .pred)" = World ]
	[ "$(sed -n 3p "$D/o" | jq -r .pred)" = Sports ]
	[ "$(sed -n 2p "$D/o" | jq -c '.probs | keys')" = '["Business","Sci/Tech","Sports","World"]' ]
	# the same probabilities as without names, label for label
	tl-predict -m "$D/m" "$D/tr.s" | tl-cat >"$D/plain"
	[ "$(sed -n 2p "$D/o" | jq -c '[.probs.World, .probs.Sports]')" = "$(head -1 "$D/plain" | jq -c '[.probs["0"], .probs["1"]]')" ]
	# pairs name some labels, the others keep theirs
	tl-predict -m "$D/m" --label-names '1=Sports,3=Sci & Tech' "$D/tr.s" | tl-cat -H >"$D/o2"
	[ "$(head -1 "$D/o2" | jq -c .predict.labels)" = '["0","Sports","2","Sci & Tech"]' ]
	[ "$(tail -1 "$D/o2" | jq -r .pred)" = "Sci & Tech" ]
	! grep -q label_ids "$D/plain"
}

@test "tl-predict --label-names: bad maps are usage errors naming the model's labels" {
	printf 'World\nSports\nBusiness\n' >"$D/three.txt"
	run tl-predict -m "$D/m" --label-names "$D/three.txt" "$D/tr.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --label-names: 3 names for 4 labels (one name a line, in label order); the model's labels: 0, 1, 2, 3"* ]]
	run tl-predict -m "$D/m" --label-names 5=Other "$D/tr.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"'5' is not a label of the model; its labels: 0, 1, 2, 3"* ]]
	run tl-predict -m "$D/m" --label-names 0=A,1=A "$D/tr.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"name 'A' is given to two labels"* ]]
	run tl-predict -m "$D/m" --label-names 0=1 "$D/tr.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"labels '0' and '1' would both read '1'"* ]]
	run tl-predict -m "$D/m" --label-names nosuchfile "$D/tr.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"'nosuchfile' is neither a file nor KEY=NAME[,KEY=NAME...]"* ]]
	run tl-predict -m "$D/m" --label-names 0= "$D/tr.s"
	[ "$status" -eq 2 ]
	printf 'World\n\nBusiness\nSci\n' >"$D/gap.txt"
	run tl-predict -m "$D/m" --label-names "$D/gap.txt" "$D/tr.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"gap.txt: line 2 is empty (one name a line)"* ]]
	run tl-predict -m "$D/m" --label-names "$D" "$D/tr.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"is a directory"* ]]
}

@test "tl-eval: gold 1-4 against a model of 0-3 is an error showing both sets; --force-labels scores" {
	tl-predict -m "$D/m" "$D/tr.s" | tl-cat -H | jq -c 'if .kind == "header" then . else .label = (.label + 1) end' >"$D/shift.jsonl"
	run tl-eval "$D/shift.jsonl"
	[ "$status" -eq 3 ]
	[[ "$output" == *"1 gold label the model does not have (20 of 80 records): {4}; gold labels {1, 2, 3, 4}, model labels (from tl-predict's header) {0, 1, 2, 3}; map them with --label-names"*"or score anyway with --force-labels"* ]]
	# nothing on stdout: no report
	run sh -c "tl-eval '$D/shift.jsonl' 2>/dev/null"
	[ -z "$output" ]
	# without the header, probs that sum to 1 tell the model's labels as well
	grep -v '"header"' "$D/shift.jsonl" >"$D/nohdr.jsonl"
	run tl-eval "$D/nohdr.jsonl"
	[ "$status" -eq 3 ]
	[[ "$output" == *"model labels (from the keys of 'probs' and 'pred') {0, 1, 2, 3}"* ]]
	run sh -c "tl-eval --force-labels --json '$D/shift.jsonl' 2>'$D/err'"
	[ "$status" -eq 0 ]
	[ "$(printf '%s' "$output" | jq -c .labels)" = '["0","1","2","3","4"]' ]
	grep -q 'scoring anyway (--force-labels): 1 gold label the model does not have' "$D/err"
}

@test "tl-eval: legitimate partial overlap is scored as before: a class never predicted, top-k probs" {
	# pred alone: gold b is never predicted
	run tl-eval "$(printf '%s\n' '{"label":"a","pred":"a"}' '{"label":"b","pred":"a"}' | tl-cat -t msgpack >"$D/p.s"; echo "$D/p.s")"
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == "accuracy         0.5000" ]]
	# probs of the full model (header) where one class is never predicted
	tl-predict -m "$D/m" "$D/tr.s" | tl-cat -H | jq -c 'if .kind == "header" then . else (if .pred == "3" then .pred = "2" else . end) end' >"$D/never.jsonl"
	run tl-eval "$D/never.jsonl"
	[ "$status" -eq 0 ]
	# top-k 1 without a header: probs do not sum to 1, the label set is partial
	tl-predict -m "$D/m" -k 1 "$D/tr.s" | tl-cat | jq -c 'if .pred == "3" then .pred = "2" | .probs = {"2": 0.5} else . end' >"$D/topk.jsonl"
	run sh -c "tl-eval '$D/topk.jsonl' 2>&1"
	[ "$status" -eq 0 ]
	[[ "$output" != *"does not have"* ]]
	# but predicted and gold labels with nothing in common are an error even then
	run tl-eval "$(printf '%s\n' '{"label":"a","pred":"x"}' '{"label":"b","pred":"y"}' | tl-cat -t msgpack >"$D/d.s"; echo "$D/d.s")"
	[ "$status" -eq 3 ]
	[[ "$output" == *"the gold labels and the predicted labels have none in common; gold labels {a, b}, model labels (from 'pred' and 'probs') {x, y}"* ]]
}

@test "tl-eval --label-names: gold ids meet predicted names; the report and SVG read names" {
	tl-predict -m "$D/m" --label-names "$D/classes.txt" "$D/tr.s" >"$D/named.s"
	run tl-eval "$D/named.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"gold labels {0, 1, 2, 3}, model labels (from tl-predict's header) {Business, Sci/Tech, Sports, World}"* ]]
	# a names file binds to the header's label_ids (the model's own labels)
	run sh -c "tl-eval --label-names '$D/classes.txt' '$D/named.s' 2>/dev/null"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "records 80, labels 4, seen 80" ]
	[ "${lines[1]}" = "accuracy         1.0000" ]
	[[ "$output" == *"Sci/Tech"* ]]
	# pairs map every label value (gold, pred, probs keys); --pos-label by key
	tl-predict -m "$D/m" "$D/tr.s" >"$D/ids.s"
	run sh -c "tl-eval --json --label-names '0=World,1=Sports,2=Busi<ness>,3=Sci&Tech' --svg '$D/n.svg' '$D/ids.s' 2>/dev/null"
	[ "$status" -eq 0 ]
	[ "$(printf '%s' "$output" | jq -c .labels)" = '["Busi<ness>","Sci&Tech","Sports","World"]' ]
	grep -q '>Busi&lt;ness&gt;<' "$D/n.svg"
	grep -q '>Sci&amp;Tech<' "$D/n.svg"
	if command -v xmllint >/dev/null; then xmllint --noout "$D/n.svg"; fi
	printf '%s\n' '{"label":0,"pred":1,"probs":{"0":0.4,"1":0.6}}' '{"label":1,"pred":1,"probs":{"0":0.2,"1":0.8}}' | tl-cat -t msgpack >"$D/b.s"
	run sh -c "tl-eval --label-names 0=neg,1=pos --pos-label 0 '$D/b.s' | grep ROC-AUC"
	[[ "$output" == *"(positive label neg)"* ]]
}

@test "tl-eval --label-names: bad maps, and a names file without tl-predict's header" {
	tl-predict -m "$D/m" "$D/tr.s" | tl-cat >"$D/nohdr.jsonl"
	run tl-eval --label-names "$D/classes.txt" "$D/nohdr.jsonl"
	[ "$status" -eq 2 ]
	[[ "$output" == *"classes.txt names labels in the model's order, and "*"nohdr.jsonl has no header with tl-predict's predict.labels before its first record: give KEY=NAME,... instead"* ]]
	printf 'A\nB\n' >"$D/two.txt"
	run tl-eval --label-names "$D/two.txt" <(tl-predict -m "$D/m" "$D/tr.s")
	[ "$status" -eq 2 ]
	[[ "$output" == *"2 names for 4 labels"* ]]
	run tl-eval --label-names 'x' "$D/nohdr.jsonl"
	[ "$status" -eq 2 ]
	run tl-eval --label-names '0=a,0=b' "$D/nohdr.jsonl"
	[ "$status" -eq 2 ]
	[[ "$output" == *"label '0' is named twice"* ]]
	run tl-eval --label-names '' "$D/nohdr.jsonl"
	[ "$status" -eq 2 ]
}
