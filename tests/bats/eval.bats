#!/usr/bin/env bats
# tl-eval: parity with scikit-learn on the fixtures of tests/ref/gen_eval.py,
# the table, --by, --compare, --svg, cron exits and bad input.
load helpers

REF="$TL_ROOT/tests/ref/eval"

# parity NAME [tl-eval options]: every figure of NAME.expected.json equals
# tl-eval's within 1e-9.
parity() {
	local name=$1
	shift
	tl-cat -t msgpack "$REF/$name.jsonl" >"$BATS_TEST_TMPDIR/$name.s"
	tl-eval --json "$@" "$BATS_TEST_TMPDIR/$name.s" >"$BATS_TEST_TMPDIR/$name.out"
	jq -r -n --slurpfile got "$BATS_TEST_TMPDIR/$name.out" --slurpfile want "$REF/$name.expected.json" \
		-f "$REF/compare.jq" >"$BATS_TEST_TMPDIR/$name.cmp"
	cat "$BATS_TEST_TMPDIR/$name.cmp"
	[ "$(grep -c -v '^checked ' "$BATS_TEST_TMPDIR/$name.cmp")" -eq 0 ]
	n=$(sed -n 's/^checked //p' "$BATS_TEST_TMPDIR/$name.cmp")
	[ "$n" -gt 10 ]
}

s() { mkstream >"$BATS_TEST_TMPDIR/${1:-in}.s"; echo "$BATS_TEST_TMPDIR/${1:-in}.s"; }

@test "tl-eval: SST-2 binary (TF-IDF + LR) equals scikit-learn, with --by and --compare" {
	tl-cat -t msgpack "$REF/sst2_binary_b.jsonl" >"$BATS_TEST_TMPDIR/b.s"
	parity sst2_binary --by length --compare "$BATS_TEST_TMPDIR/b.s"
	parity sst2_binary_b
}

@test "tl-eval: AG News 4-way equals scikit-learn (one-vs-rest AUC, per-class, --by)" {
	parity agnews_4way --by length
}

@test "tl-eval: multi-label equals scikit-learn (subset accuracy, Hamming loss, F1)" {
	parity multilabel --by split
}

@test "tl-eval: edge cases equal scikit-learn" {
	parity edge_never_predicted
	parity edge_absent_gold
	parity edge_single_class
	parity edge_one_label
	parity edge_natural_order
	jq -e '.roc_auc == null and (.roc_auc_note | test("one class"))' "$BATS_TEST_TMPDIR/edge_single_class.out"
	jq -e '.per_class.c.precision == 0 and .per_class.c.recall == 0' "$BATS_TEST_TMPDIR/edge_never_predicted.out"
	jq -e '.roc_auc_per_class.z == null and .per_class.z.support == 0' "$BATS_TEST_TMPDIR/edge_absent_gold.out"
	jq -e '.confusion.labels == ["1","2","10"]' "$BATS_TEST_TMPDIR/edge_natural_order.out"
}

@test "tl-eval: the parity check fails on a figure off by 1e-6" {
	tl-cat -t msgpack "$REF/agnews_4way.jsonl" | tl-eval --json | jq -c '.macro_f1 += 1e-6' >"$BATS_TEST_TMPDIR/bad.json"
	run jq -r -n --slurpfile got "$BATS_TEST_TMPDIR/bad.json" --slurpfile want "$REF/agnews_4way.expected.json" -f "$REF/compare.jq"
	[[ "$output" == *"differs macro_f1"* ]]
}

@test "tl-eval: table on stdout, labels in natural order" {
	f=$(printf '%s\n' '{"label":"10","pred":"10"}' '{"label":"2","pred":"10"}' '{"label":"1","pred":"1"}' | s)
	run tl-eval "$f"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "records 3, labels 3" ]]
	[[ "$output" == *"accuracy         0.6667"* ]]
	[[ "$output" == *"confusion (rows gold, columns predicted)"* ]]
	# rows of the per-class table in natural order 1, 2, 10
	order=$(printf '%s\n' "$output" | awk '$1 ~ /^[0-9]+$/ && NF == 5 {print $1}' | tr '\n' ' ')
	[ "$order" = "1 2 10 " ]
	# confusion row of gold 2: one predicted as 10
	printf '%s\n' "$output" | grep -E '^2 +0 +0 +1$'
}

@test "tl-eval: --by FIELD in the table and JSON" {
	f=$(printf '%s\n' '{"label":"a","pred":"a","domain":"books"}' '{"label":"b","pred":"a","domain":"dvd"}' '{"label":"b","pred":"b"}' | s)
	run tl-eval --by domain "$f"
	[[ "$output" == *"== domain = books =="* ]]
	[[ "$output" == *"== domain = (missing) =="* ]]
	run tl-eval --json --by domain "$f"
	echo "$output" | jq -e '.by.field == "domain" and .by.groups.books.accuracy == 1 and .by.groups.dvd.accuracy == 0 and .by.groups["(missing)"].n == 1'
}

@test "tl-eval: augmented records are counted and warned about, or excluded" {
	f=$(printf '%s\n' '{"label":"a","pred":"a"}' '{"label":"a","pred":"b","aug":{"op":"swap","src":1}}' | s)
	run tl-eval --json "$f"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tl-eval: $f: 1 augmented records in evaluation data (use --exclude-augmented to ignore them)"* ]]
	run sh -c "tl-eval --json '$f' 2>/dev/null | jq -c '[.n, .augmented, .accuracy]'"
	[ "$output" = "[2,1,0.5]" ]
	run sh -c "tl-eval --json --exclude-augmented '$f' 2>&1"
	[[ "$output" != *augmented\ records* ]]
	[ "$(echo "$output" | jq -c '[.n, .augmented, .accuracy]')" = "[1,0,1.0]" ] || [ "$(echo "$output" | jq -c '[.n, .augmented, .accuracy]')" = "[1,0,1]" ]
}

@test "tl-eval: records without label or pred are counted; --strict names the record" {
	f=$(printf '%s\n' '{"label":"a","pred":"a"}' '{"label":"a"}' '{"pred":"a"}' '{"label":3,"pred":"3"}' '{"label":{"x":1},"pred":"a"}' | s)
	run sh -c "tl-eval --json '$f' 2>&1 >/dev/null"
	[ "$status" -eq 0 ]
	[[ "$output" == *"3 records without a usable 'label' or 'pred' skipped (first: record 2)"* ]]
	run sh -c "tl-eval --json '$f' 2>/dev/null | jq -c '[.n, .input.skipped, .accuracy]'"
	[ "$output" = "[2,3,1.0]" ] || [ "$output" = "[2,3,1]" ]
	run tl-eval --strict "$f"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-eval: record 2: no 'pred'" ]
}

@test "tl-eval: probabilities that do not sum to 1 warn (count) or fail under --strict" {
	f=$(printf '%s\n' '{"label":"a","pred":"a","probs":{"a":0.7,"b":0.2}}' '{"label":"b","pred":"b","probs":{"a":0.1,"b":0.9}}' '{"label":"b","pred":"a","probs":{"a":0.5,"b":0.4995}}' | s)
	run sh -c "tl-eval --json '$f' 2>&1 >/dev/null"
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 records whose probabilities do not sum to 1 within 1e-3 (used as given; first: record 1)"* ]]
	run tl-eval --strict "$f"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-eval: record 1: probabilities sum to 0.9, not 1 (tolerance 1e-3)" ]]
}

@test "tl-eval: malformed probs are ignored for probability metrics, or an error under --strict" {
	f=$(printf '%s\n' '{"label":"a","pred":"a","probs":{"a":"high","b":0.1}}' '{"label":"b","pred":"b","probs":{"a":0.1,"b":0.9}}' '{"label":"b","pred":"b","probs":[0.1,0.9]}' '{"label":"a","pred":"a","probs":{"a":1.5,"b":-0.5}}' | s)
	run sh -c "tl-eval --json '$f' 2>&1 >/dev/null"
	[[ "$output" == *"3 records with malformed 'probs'"*"first: record 1"* ]]
	run sh -c "tl-eval --json '$f' 2>/dev/null | jq -c '[.n, .n_probs]'"
	[ "$output" = "[4,1]" ]
	run tl-eval --strict "$f"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-eval: record 1: 'probs' has a key that is not a label or a value that is not a probability in [0, 1]" ]]
}

@test "tl-eval: probs for labels the header does not declare; probs without the gold label" {
	f=$(printf '%s\n' '{"tl":1,"kind":"header","labels":["a","b"]}' '{"label":"a","pred":"a","probs":{"a":0.8,"c":0.2}}' '{"label":"b","pred":"b","probs":{"a":0.1,"b":0.9}}' | s)
	run sh -c "tl-eval '$f' 2>&1 >/dev/null"
	[[ "$output" == *"1 records with 'probs' for labels the header does not declare"* ]]
	run tl-eval --strict "$f"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: 'probs' names a label that the header's 'labels' does not declare"* ]]
	# probs that sum to 1 name all the model's labels: gold b is not one of
	# them (an error, see labels.bats); scored with --force-labels
	f=$(printf '%s\n' '{"label":"b","pred":"a","probs":{"a":1.0}}' '{"label":"a","pred":"a","probs":{"a":1.0}}' | s)
	run tl-eval "$f"
	[ "$status" -eq 3 ]
	run sh -c "tl-eval --force-labels '$f' 2>&1 >/dev/null"
	[[ "$output" == *"1 records whose 'probs' lack the gold label (probability taken as 0; first: record 1)"* ]]
}

@test "tl-eval: truncated stream, non-map record, bad msgpack" {
	run sh -c 'printf "\202\245label\241a" | tl-eval'
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: standard input: truncated record"* ]]
	run sh -c 'printf "\223\001\002\003" | tl-eval'
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: standard input: not a map but array"* ]]
	run sh -c 'printf "\301" | tl-eval'
	[ "$status" -eq 3 ]
}

@test "tl-eval: empty stream, only headers, only unusable records: no records to evaluate" {
	run sh -c ': | tl-eval'
	[ "$status" -eq 3 ]
	[ "$output" = "tl-eval: standard input: no records to evaluate" ]
	f=$(printf '%s\n' '{"tl":1,"kind":"header"}' '{"text":"x"}' | s)
	run tl-eval "$f"
	[ "$status" -eq 3 ]
	[[ "$output" == *"no records to evaluate"* ]]
}

@test "tl-eval: --compare reports both systems, bootstrap CI and McNemar" {
	a=$(printf '%s\n' '{"id":1,"label":"a","pred":"a"}' '{"id":2,"label":"b","pred":"b"}' '{"id":"x","label":"b","pred":"b"}' '{"id":4,"label":"a","pred":"b"}' | s a)
	b=$(printf '%s\n' '{"id":"x","label":"b","pred":"a"}' '{"id":2,"label":"b","pred":"a"}' '{"id":1,"label":"a","pred":"a"}' '{"id":4,"label":"a","pred":"b"}' | s b)
	run tl-eval --compare "$b" "$a"
	[ "$status" -eq 0 ]
	[[ "$output" == *"comparison with $b (4 records aligned by id)"* ]]
	[[ "$output" == *"A - B accuracy +0.5000  95% CI"* ]]
	[[ "$output" == *"exact binomial p = 0.5"* ]]
	run sh -c "tl-eval --json --compare '$b' --bootstrap 50 --seed 7 '$a' | jq -c '[.compare.a.accuracy, .compare.b.accuracy, .compare.mcnemar.a_only, .compare.mcnemar.b_only, .compare.mcnemar.p_exact, .compare.bootstrap.resamples]'"
	[ "$output" = "[0.75,0.25,2,0,0.5,50]" ]
	# the same seed gives the same interval, another seed (usually) another
	x=$(tl-eval --json --compare "$b" --seed 3 "$a" | jq -c .compare.diff)
	y=$(tl-eval --json --compare "$b" --seed 3 "$a" | jq -c .compare.diff)
	[ "$x" = "$y" ]
}

@test "tl-eval: --compare with ids that do not align is an error naming counts and the first id" {
	a=$(printf '%s\n' '{"id":1,"label":"a","pred":"a"}' '{"id":2,"label":"b","pred":"b"}' '{"id":3,"label":"b","pred":"b"}' | s a)
	b=$(printf '%s\n' '{"id":1,"label":"a","pred":"a"}' '{"id":5,"label":"b","pred":"a"}' | s b)
	run tl-eval --compare "$b" "$a"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-eval: --compare: ids do not align: 2 of 3 ids of $a are missing from $b (first: 2); 1 ids of $b are not in $a" ]
	b=$(printf '%s\n' '{"id":1,"label":"a","pred":"a"}' '{"id":2,"label":"b","pred":"a"}' '{"id":3,"label":"b","pred":"a"}' '{"id":9,"label":"b","pred":"a"}' | s b)
	run tl-eval --compare "$b" "$a"
	[ "$status" -eq 3 ]
	[[ "$output" == *"1 ids of $b are not in $a (first: 9)"* ]]
	b=$(printf '%s\n' '{"id":1,"label":"a","pred":"a"}' '{"id":1,"label":"b","pred":"a"}' | s b)
	run tl-eval --compare "$b" "$a"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 2: $b: duplicate id 1"* ]]
	b=$(printf '%s\n' '{"label":"a","pred":"a"}' | s b)
	run tl-eval --compare "$b" "$a"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: $b: no 'id'"* ]]
}

@test "tl-eval: --min-accuracy / --min-macro-f1 exit 6 after the report" {
	f=$(printf '%s\n' '{"label":"a","pred":"a"}' '{"label":"b","pred":"a"}' | s)
	run tl-eval --min-accuracy 0.5 "$f"
	[ "$status" -eq 0 ]
	run tl-eval --min-accuracy 0.8 "$f"
	[ "$status" -eq 6 ]
	[[ "${lines[0]}" == "records 2, labels 2" ]]
	[ "${lines[${#lines[@]}-1]}" = "tl-eval: accuracy 0.5000 is below --min-accuracy 0.8" ]
	run sh -c "tl-eval --json --min-macro-f1 0.5 '$f' 2>&1"
	[ "$status" -eq 6 ]
	[[ "$output" == *"tl-eval: macro-F1 0.3333 is below --min-macro-f1 0.5"* ]]
	echo "$output" | head -1 | jq -e '.macro_f1 < 0.34'
	run tl-eval --min-accuracy 2 "$f"
	[ "$status" -eq 2 ]
}

@test "tl-eval: --svg writes the confusion matrix and reliability diagram atomically" {
	tl-cat -t msgpack "$REF/agnews_4way.jsonl" >"$BATS_TEST_TMPDIR/ag.s"
	run tl-eval --svg "$BATS_TEST_TMPDIR/ag.svg" "$BATS_TEST_TMPDIR/ag.s"
	[ "$status" -eq 0 ]
	grep -q '^<svg ' "$BATS_TEST_TMPDIR/ag.svg"
	tail -1 "$BATS_TEST_TMPDIR/ag.svg" | grep -q '^</svg>$'
	grep -q 'Confusion matrix' "$BATS_TEST_TMPDIR/ag.svg"
	grep -q 'Reliability diagram' "$BATS_TEST_TMPDIR/ag.svg"
	grep -q '>Sci/Tech<' "$BATS_TEST_TMPDIR/ag.svg"
	[ "$(grep -c '<rect [^>]*stroke="#ccc"' "$BATS_TEST_TMPDIR/ag.svg")" -eq 16 ]
	if command -v xmllint >/dev/null; then xmllint --noout "$BATS_TEST_TMPDIR/ag.svg"; fi
	f=$(printf '%s\n' '{"label":"<&>","pred":"\"q\""}' | s)
	run tl-eval --force-labels --svg "$BATS_TEST_TMPDIR/esc.svg" "$f"
	grep -q '&lt;&amp;&gt;' "$BATS_TEST_TMPDIR/esc.svg"
	grep -q '&quot;q&quot;' "$BATS_TEST_TMPDIR/esc.svg"
	run tl-eval --svg /nonexistent/dir/x.svg "$BATS_TEST_TMPDIR/ag.s"
	[ "$status" -eq 4 ]
	[[ "$output" == *"cannot write /nonexistent/dir/x.svg"* ]]
	[ ! -e /nonexistent/dir/x.svg ]
	[ -z "$(ls "$BATS_TEST_TMPDIR" | grep -v -E '\.(s|svg)$')" ]
}

@test "tl-eval: usage, --help, --version, missing file, unknown --pos-label" {
	run tl-eval --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run tl-eval --version
	[[ "$output" == "tl-eval (tl) "* ]]
	run tl-eval --bogus
	[ "$status" -eq 2 ]
	run tl-eval a b
	[ "$status" -eq 2 ]
	run tl-eval /nonexistent/x
	[ "$status" -eq 4 ]
	[ "$output" = "tl-eval: cannot open /nonexistent/x: No such file or directory" ]
	f=$(printf '%s\n' '{"label":"a","pred":"a"}' | s)
	run tl-eval --pos-label zz "$f"
	[ "$status" -eq 2 ]
	run tl-eval --bootstrap 0 "$f"
	[ "$status" -eq 2 ]
}

@test "tl-eval: --pos-label picks the positive class of binary PR-AUC" {
	tl-cat -t msgpack "$REF/sst2_binary.jsonl" >"$BATS_TEST_TMPDIR/b.s"
	a=$(tl-eval --json "$BATS_TEST_TMPDIR/b.s" | jq -c '[.positive_label, .pr_auc]')
	b=$(tl-eval --json --pos-label 0 "$BATS_TEST_TMPDIR/b.s" | jq -c '[.positive_label, .pr_auc]')
	[[ "$a" == '["1",'* ]]
	[[ "$b" == '["0",'* ]]
	[ "$a" != "$b" ]
}

@test "tl-eval: multi-label table; gzip input; closed pipe" {
	tl-cat -t msgpack "$REF/multilabel.jsonl" | gzip >"$BATS_TEST_TMPDIR/ml.s.gz"
	run tl-eval "$BATS_TEST_TMPDIR/ml.s.gz"
	[ "$status" -eq 0 ]
	[[ "$output" == *"(multi-label)"* ]]
	[[ "$output" == *"subset accuracy"* ]]
	[[ "$output" == *"hamming loss"* ]]
	[[ "$output" != *"confusion"* ]]
	tl-cat -t msgpack "$REF/sst2_binary.jsonl" >"$BATS_TEST_TMPDIR/b.s"
	run sh -c "tl-eval --by id '$BATS_TEST_TMPDIR/b.s' | head -1"
	[ "$status" -eq 0 ]
	[ "$output" = "records 872, labels 2" ]
}

@test "tl-eval: the man page examples run" {
	tl-cat -t msgpack "$REF/sst2_binary.jsonl" >"$BATS_TEST_TMPDIR/preds.stream"
	tl-cat -t msgpack "$REF/sst2_binary_b.jsonl" >"$BATS_TEST_TMPDIR/baseline.stream"
	cd "$BATS_TEST_TMPDIR"
	tl-eval preds.stream >/dev/null
	tl-eval --json preds.stream | jq .macro_f1 >/dev/null
	tl-eval --by length --svg eval.svg preds.stream >/dev/null
	tl-eval --compare baseline.stream preds.stream >/dev/null
	tl-eval --min-accuracy 0.75 preds.stream >/dev/null
	run tl-eval --min-accuracy 0.99 preds.stream
	[ "$status" -eq 6 ]
}

@test "tl-eval: a TSV says it is text and to run tl-clean; JSON lines are read directly" {
	printf 'label\tsentence\n1\tgood\n' >"$BATS_TEST_TMPDIR/in.tsv"
	run tl-eval "$BATS_TEST_TMPDIR/in.tsv"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-eval: $BATS_TEST_TMPDIR/in.tsv: this is text, not a tl record stream: run tl-clean first" ]
	# JSON lines, e.g. from jq, as tl-cat reads them: same table as the stream
	printf '{"label":"a","pred":"a"}\n\n{"label":"b","pred":"a"}\n{"label":"b","pred":"b"}\n' >"$BATS_TEST_TMPDIR/p.jsonl"
	tl-cat -t msgpack "$BATS_TEST_TMPDIR/p.jsonl" >"$BATS_TEST_TMPDIR/p.s"
	tl-eval --json "$BATS_TEST_TMPDIR/p.s" >"$BATS_TEST_TMPDIR/want"
	jq -c . "$BATS_TEST_TMPDIR/p.jsonl" | tl-eval --json >"$BATS_TEST_TMPDIR/got"
	cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	jq -e '.accuracy == (2/3)' "$BATS_TEST_TMPDIR/got"
	# bad JSON: the line number
	run sh -c 'printf "{\"label\":\"a\",\"pred\":\"a\"}\n{\"label\":\n" | tl-eval'
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-eval: record 2: standard input: line 2: invalid JSON"* ]]
}

@test "tl-eval: abstentions (pred \"\") are not a class: coverage, selective accuracy, risk-coverage" {
	# gold a a b b b; pred a, -, b, a, - (two abstentions); max probs
	# .95 .6 .9 .92 .55, the argmax right, right, right, wrong, wrong
	cat >"$BATS_TEST_TMPDIR/ab.jsonl" <<'J'
{"id":1,"label":"a","pred":"a","probs":{"a":0.95,"b":0.05}}
{"id":2,"label":"a","pred":"","probs":{"a":0.6,"b":0.4}}
{"id":3,"label":"b","pred":"b","probs":{"a":0.1,"b":0.9}}
{"id":4,"label":"b","pred":"a","probs":{"a":0.92,"b":0.08}}
{"id":5,"label":"b","pred":"","probs":{"a":0.55,"b":0.45}}
J
	tl-cat -t msgpack "$BATS_TEST_TMPDIR/ab.jsonl" >"$BATS_TEST_TMPDIR/ab.s"
	tl-eval --json "$BATS_TEST_TMPDIR/ab.s" >"$BATS_TEST_TMPDIR/o"
	# two labels, never ""; accuracy 2/5 (abstentions are errors), coverage
	# 3/5, selective accuracy 2/3
	jq -e '.labels == ["a","b"] and (.per_class | has("") | not)' "$BATS_TEST_TMPDIR/o"
	jq -e '.accuracy == 0.4 and .abstention.n == 2 and .abstention.coverage == 0.6' "$BATS_TEST_TMPDIR/o"
	jq -e '(.abstention.selective_accuracy - 2/3 | fabs) < 1e-12' "$BATS_TEST_TMPDIR/o"
	jq -e '.abstention.per_gold_label == {"a":1,"b":1}' "$BATS_TEST_TMPDIR/o"
	# an abstention on gold X is a miss for X's recall: a P 1/2 R 1/2,
	# b P 1/1 R 1/3 F1 1/2; macro-F1 over 2 labels
	jq -e '.per_class.a.recall == 0.5 and .per_class.a.precision == 0.5 and .per_class.b.precision == 1' "$BATS_TEST_TMPDIR/o"
	jq -e '(.per_class.b.recall - 1/3 | fabs) < 1e-12 and .per_class.b.f1 == 0.5 and .macro_f1 == 0.5' "$BATS_TEST_TMPDIR/o"
	jq -e '.confusion.matrix == [[1,0],[1,1]]' "$BATS_TEST_TMPDIR/o"
	# risk-coverage: the k most confident by max prob (.95 .92 .9 .6 .55)
	jq -e '[.abstention.risk_coverage[] | [.n, (.risk * 1000 | round), .threshold]]
		== [[1,0,0.95],[2,500,0.92],[3,333,0.9],[4,250,0.6],[5,400,0.55]]' "$BATS_TEST_TMPDIR/o"
	run tl-eval "$BATS_TEST_TMPDIR/ab.s"
	[ "$status" -eq 0 ]
	[[ "$output" == *"accuracy         0.4000  (abstentions count as errors)"* ]]
	[[ "$output" == *"coverage         0.6000  (3 of 5 records predicted, 2 abstained)"* ]]
	[[ "$output" == *"selective acc.   0.6667"* ]]
	[[ "$output" == *"records 5, labels 2"* ]]
	[[ "$output" == *"risk-coverage"* ]]
	[[ "$output" == *"0.40            2    0.5000     0.9200"* ]]
	# no abstention: no such section
	tl-eval --json "$REF/edge_never_predicted.jsonl" | jq -e 'has("abstention") | not'
}
