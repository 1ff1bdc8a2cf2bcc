#!/usr/bin/env bats
# tl-predict --match-prior (issue 18): the labels' scores shifted so that
# the predicted labels of the whole input take given shares. A fastText
# model of three labels trained here in a second; no Python.
load helpers

# three labels: "a" and "b" share a word, "c" stands apart; the test
# stream leans to "a" (its records carry "alpha" twice). Every record
# carries two of the training numbers, whose small learned weights keep
# the scores apart: a tie is the one thing the matching cannot split
mk_train() {
	for i in $(seq 1 30); do
		printf '{"id":%d,"text":"alpha common %d","label":"a"}\n' "$i" "$i"
		printf '{"id":%d,"text":"beta common %d","label":"b"}\n' "$((i + 100))" "$i"
		printf '{"id":%d,"text":"gamma %d","label":"c"}\n' "$((i + 200))" "$i"
	done | mkstream
}
mk_test() { # n: records mixing the three words
	awk -v n="$1" 'BEGIN { srand(5); for (i = 1; i <= n; i++) {
		w = "alpha alpha"; r = rand(); if (r < 0.3) w = "beta common"; else if (r < 0.45) w = "gamma"; else if (r < 0.6) w = "alpha beta"
		printf "{\"id\":%d,\"text\":\"%s %d %d\"}\n", i, w, i % 30 + 1, (i * 7) % 29 + 1 } }' | mkstream
}

setup() {
	D="$BATS_TEST_TMPDIR"
	mk_train >"$D/train.s"
	tl-train -q -o "$D/m" --threads 1 --epochs 20 --dim 8 "$D/train.s"
	mk_test 200 >"$D/test.s"
}

shares() { # stream -> "a b c" counts of pred
	tl-cat "$1" | jq -r .pred | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }'
}

@test "tl-predict --match-prior: the predicted labels take the shares; same ranking, same order, pred is the argmax of probs" {
	tl-predict -m "$D/m" --logits "$D/test.s" >"$D/plain.s"
	tl-predict -m "$D/m" --logits --match-prior a=0.5,b=0.3,c=0.2 "$D/test.s" >"$D/m.s"
	echo "plain: $(shares "$D/plain.s")  matched: $(shares "$D/m.s")"
	# three labels: the shares exactly (no ties here)
	tl-cat "$D/m.s" | jq -s -e 'length == 200 and
		(group_by(.pred) | map({key: .[0].pred, value: length}) | from_entries) == {"a": 100, "b": 60, "c": 40}'
	# input order kept; pred is each record's most probable label
	[ "$(tl-cat "$D/m.s" | jq -c .id | tr '\n' ,)" = "$(tl-cat "$D/test.s" | jq -c .id | tr '\n' ,)" ]
	tl-cat "$D/m.s" | jq -s -e 'map(.pred == (.probs | to_entries | max_by(.value) | .key)) | all'
	# the logits moved by one offset per label, the same for every record
	paste <(tl-cat "$D/plain.s" | jq -c '.logits') <(tl-cat "$D/m.s" | jq -c '.logits') |
		awk -F'\t' '{ gsub(/[][]/, "", $1); gsub(/[][]/, "", $2); split($1, p, ","); split($2, q, ",")
			for (j = 1; j <= 3; j++) { d = q[j] - p[j]; if (NR == 1) o[j] = d; else if ((d - o[j])^2 > 1e-10) { print "record " NR " label " j ": " d " vs " o[j]; bad = 1 } } }
			END { exit bad }'
	# the stderr line says the offsets and the shares before and after
	run sh -c "tl-predict -m '$D/m' --match-prior a=5,b=3,c=2 '$D/test.s' 2>&1 >/dev/null"
	[[ "$output" == *"--match-prior over 200 records: offsets a "*"-> 50.0%), b "*"-> 30.0%), c "*"-> 20.0%)"* ]]
	# the shares are normalised: 5:3:2 is 0.5/0.3/0.2; -q silences the line
	tl-predict -m "$D/m" -q --match-prior a=5,b=3,c=2 "$D/test.s" | tl-cat >"$D/n1"
	tl-predict -m "$D/m" -q --match-prior a=0.5,b=0.3,c=0.2 "$D/test.s" | tl-cat | cmp - "$D/n1"
	run sh -c "tl-predict -m '$D/m' -q --match-prior uniform '$D/test.s' 2>&1 >/dev/null"
	[ -z "$output" ]
}

@test "tl-predict --match-prior: two labels are matched exactly, on the whole input over several files" {
	awk 'BEGIN { for (i = 1; i <= 40; i++) { printf "{\"id\":%d,\"text\":\"good %d\",\"label\":\"pos\"}\n", i, i; printf "{\"id\":%d,\"text\":\"bad %d\",\"label\":\"neg\"}\n", i + 100, i } }' |
		mkstream >"$D/tr2.s"
	tl-train -q -o "$D/m2" --threads 1 --epochs 10 --dim 8 "$D/tr2.s"
	# 70 records: 60 say "good", 10 "bad" (and a few both), with two of the
	# training numbers each (their small learned weights keep the scores
	# apart: ties are the one thing that cannot be split); two files
	awk 'BEGIN { for (i = 1; i <= 70; i++) { w = i <= 60 ? "good" : "bad"; if (i % 7 == 0) w = "good bad"
		printf "{\"id\":%d,\"text\":\"%s %d %d\"}\n", i, w, i % 40 + 1, (i * 7) % 39 + 1 } }' | mkstream >"$D/t2.s"
	[ "$(tl-predict -m "$D/m2" -q --logits "$D/t2.s" | tl-cat | jq -c .logits | sort -u | wc -l)" -eq 70 ]
	tl-cat "$D/t2.s" | head -35 | mkstream >"$D/t2a.s"
	tl-cat "$D/t2.s" | tail -n +36 | mkstream >"$D/t2b.s"
	for spec in neg=0.5,pos=0.5 neg=0.2,pos=0.8 neg=1,pos=0 neg=0,pos=1 uniform; do
		tl-predict -m "$D/m2" -q --match-prior "$spec" "$D/t2a.s" "$D/t2b.s" >"$D/o.s"
		case $spec in neg=0.2*) want=56 ;; neg=1*) want=0 ;; neg=0,*) want=70 ;; *) want=35 ;; esac
		got=$(tl-cat "$D/o.s" | jq -s 'map(select(.pred == "pos")) | length')
		echo "$spec: $got positive, want $want"
		[ "$got" -eq "$want" ]
		[ "$(tl-cat "$D/o.s" | jq -c .id | tr '\n' ,)" = "$(tl-cat "$D/t2.s" | jq -c .id | tr '\n' ,)" ]
	done
	# the ranking is kept: every positive has a larger P(pos) than every negative
	tl-cat "$D/o.s" | jq -s -e '(map(select(.pred == "pos") | .probs.pos) | min) >= (map(select(.pred == "neg") | .probs.pos) | max)'
	# an empty input writes nothing, successfully
	run sh -c "printf '' | tl-predict -m '$D/m2' --match-prior uniform"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "tl-predict --match-prior: bad shares and models it does not apply to are usage errors (exit 2)" {
	for spec in "a=1" "a=1,b=1,c=x" "a=1,b=1,a=1,c=1" "a=1,b=1,d=1" "=1" "a=" "a=-1,b=1,c=1" "a=0,b=0,c=0" "a=nan,b=1,c=1" \
		"a=inf,b=1,c=1" "a=1e400,b=1,c=1" ""; do
		run tl-predict -m "$D/m" --match-prior "$spec" "$D/test.s"
		echo "[$spec] $status: $output"
		[ "$status" -eq 2 ]
		[[ "$output" == "tl-predict: option --match-prior: "* ]]
	done
	run tl-predict -m "$D/m" --match-prior a=1,b=1,d=1 "$D/test.s"
	[[ "$output" == *"'d' is not a label of the model"* ]]
	run tl-predict -m "$D/m" --match-prior a=1,b=1 "$D/test.s"
	[[ "$output" == *"no share for label 'c'"* ]]
	# multi-label: no single predicted label to match
	for i in $(seq 1 20); do
		printf '{"id":%d,"text":"red round %d","label":["red","round"]}\n{"id":%d,"text":"blue %d","label":["blue"]}\n' "$i" "$i" "$((i + 50))" "$i"
	done | mkstream >"$D/ml.s"
	tl-train -q -o "$D/ml" --threads 1 --epochs 5 --dim 8 "$D/ml.s"
	run tl-predict -m "$D/ml" --match-prior uniform "$D/test.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"is a multi-label model: single-label sequence models only"* ]]
}
