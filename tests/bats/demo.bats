#!/usr/bin/env bats
# make demo (examples/demo.sh): the whole loop on the default model and the
# bundled labelled sample, in its fast mode (DEMO_STEPS: 2 optimizer steps).
load helpers

MINILM="$TL_ROOT/models/all-MiniLM-L6-v2"

@test "demo: the bundled sample is labelled, balanced and the held-out part is disjoint" {
	for f in reviews.tsv reviews-dev.tsv; do
		[ "$(head -n 1 "$TL_ROOT/examples/$f")" = "$(printf 'sentence\tlabel')" ]
		# every row has a sentence and a 0/1 label; as many of each
		run awk -F '\t' 'NR > 1 { if (NF != 2 || $1 == "" || ($2 != "0" && $2 != "1")) bad++; n[$2]++ }
			END { print bad + 0, n[0], n[1] }' "$TL_ROOT/examples/$f"
		[ "$status" -eq 0 ]
		set -- $output
		[ "$1" -eq 0 ]
		[ "$2" -eq "$3" ]
	done
	[ "$(($(wc -l <"$TL_ROOT/examples/reviews.tsv") - 1))" -ge 150 ]
	[ "$(($(wc -l <"$TL_ROOT/examples/reviews-dev.tsv") - 1))" -eq 60 ]
	# no held-out sentence is in the training part
	run sh -c "tail -q -n +2 '$TL_ROOT/examples/reviews.tsv' '$TL_ROOT/examples/reviews-dev.tsv' | cut -f1 | sort | uniq -d"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "demo: fine-tunes, predicts and ends with the accuracy and the model's folder" {
	[ -f "$MINILM/model.safetensors" ] || skip "models/all-MiniLM-L6-v2 not installed (make models)"
	out="$BATS_TEST_TMPDIR/demo"
	DEMO_STEPS=2 DEMO_OUT="$out" DEMO_THREADS=2 run sh "$TL_ROOT/examples/demo.sh" "$TL_BIN"
	echo "$output" | tail -n 5
	[ "$status" -eq 0 ]
	[[ "$output" == *"tl-train: wrote $out/model after 2 steps"* ]]
	[[ "${lines[${#lines[@]} - 1]}" =~ ^demo:\ accuracy\ [01]\.[0-9]{4}\ on\ 60\ held-out\ reviews\;\ model\ in\ $out/model$ ]]
	[ -f "$out/model/tl.json" ]
	[ -f "$out/model/model.safetensors" ]
	[ -f "$out/eval.txt" ]
	# the predictions cover the held-out part
	[ "$(tl-cat -t tsv -f pred --no-names "$out/dev.pred" | wc -l)" -eq 60 ]
}

@test "demo: a missing model says to run make models (exit 5)" {
	DEMO_MODEL="$BATS_TEST_TMPDIR/none" DEMO_OUT="$BATS_TEST_TMPDIR/demo" run sh "$TL_ROOT/examples/demo.sh" "$TL_BIN"
	[ "$status" -eq 5 ]
	[[ "$output" == *"no pretrained model in $BATS_TEST_TMPDIR/none: run \`make models\`"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/demo" ]
}
