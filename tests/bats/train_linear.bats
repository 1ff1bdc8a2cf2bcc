#!/usr/bin/env bats
load helpers

# A small labelled stream: positive/negative phrases.
mk_train() {
	for i in $(seq 1 40); do
		printf '{"id":%d,"text":"a great fun movie %d","label":"pos"}\n' "$i" "$i"
		printf '{"id":%d,"text":"a dull boring film %d","label":"neg"}\n' "$((i + 100))" "$i"
	done | mkstream
}

@test "tl-train: fasttext model directory, tl.json, deterministic across thread counts" {
	mk_train >"$BATS_TEST_TMPDIR/train.s"
	run tl-train -q -o "$BATS_TEST_TMPDIR/m1" --threads 1 --epochs 5 --dim 8 "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 0 ]
	[ -f "$BATS_TEST_TMPDIR/m1/config.json" ]
	[ -f "$BATS_TEST_TMPDIR/m1/model.safetensors" ]
	[ -f "$BATS_TEST_TMPDIR/m1/words.txt" ]
	grep -q '"model_type": "tl-linear"' "$BATS_TEST_TMPDIR/m1/config.json"
	grep -q '"sha256": "[0-9a-f]\{64\}"' "$BATS_TEST_TMPDIR/m1/tl.json"
	run tl-train -q -o "$BATS_TEST_TMPDIR/m2" --threads 2 --epochs 5 --dim 8 "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 0 ]
	cmp "$BATS_TEST_TMPDIR/m1/model.safetensors" "$BATS_TEST_TMPDIR/m2/model.safetensors"
	run tl-train -q -o "$BATS_TEST_TMPDIR/m3" --seed 7 --epochs 5 --dim 8 "$BATS_TEST_TMPDIR/train.s"
	! cmp -s "$BATS_TEST_TMPDIR/m1/model.safetensors" "$BATS_TEST_TMPDIR/m3/model.safetensors"
}

@test "tl-train: --dev accuracy on separable data, linear and fasttext" {
	mk_train >"$BATS_TEST_TMPDIR/train.s"
	for m in fasttext linear; do
		run tl-train -m $m -o "$BATS_TEST_TMPDIR/$m" --dev "$BATS_TEST_TMPDIR/train.s" "$BATS_TEST_TMPDIR/train.s"
		[ "$status" -eq 0 ]
		[[ "$output" == *"dev accuracy 1.0000 (80 records)"* ]]
	done
	[ -f "$BATS_TEST_TMPDIR/linear/features.tsv" ]
}

@test "tl-train: refuses an existing output directory unless --force" {
	mk_train >"$BATS_TEST_TMPDIR/train.s"
	mkdir "$BATS_TEST_TMPDIR/out"
	run tl-train -q -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"exists (use --force"* ]]
	run tl-train -q --force -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 0 ]
	[ -f "$BATS_TEST_TMPDIR/out/config.json" ]
	[ -z "$(ls -d "$BATS_TEST_TMPDIR"/out.tmp* 2>/dev/null)" ]
}

@test "tl-train: bad input: no labels, one class, no text, empty vocabulary, empty stream" {
	run sh -c 'printf "{\"text\":\"a b\"}\n" | tl-cat | tl-train -q -o "$1/x"' _ "$BATS_TEST_TMPDIR"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: no \"label\""* ]]
	run sh -c 'printf "{\"text\":\"a b\",\"label\":\"p\"}\n{\"text\":\"c\",\"label\":\"p\"}\n" | tl-cat | tl-train -q -o "$1/x"' _ "$BATS_TEST_TMPDIR"
	[ "$status" -eq 3 ]
	[[ "$output" == *"only one class"* ]]
	run sh -c 'printf "{\"label\":\"p\"}\n" | tl-cat | tl-train -q -o "$1/x"' _ "$BATS_TEST_TMPDIR"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: no \"text\""* ]]
	run sh -c 'printf "{\"text\":\"a\",\"label\":\"p\"}\n{\"text\":\"b\",\"label\":\"q\"}\n" | tl-cat | tl-train -q --min-count 5 -o "$1/x"' _ "$BATS_TEST_TMPDIR"
	[ "$status" -eq 3 ]
	[[ "$output" == *"empty vocabulary"* ]]
	run sh -c 'tl-train -q -o "$1/x" </dev/null' _ "$BATS_TEST_TMPDIR"
	[ "$status" -eq 3 ]
	run sh -c 'printf "\201\241a" | tl-train -q -o "$1/x"' _ "$BATS_TEST_TMPDIR"
	[ "$status" -eq 3 ]
	[[ "$output" == *"truncated"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
}

@test "tl-train: usage errors" {
	run tl-train "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 2 ]
	run tl-train -m nope -o "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 2 ]
	run tl-train --loss xx -o "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 2 ]
	run tl-train --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--init-vectors"* ]]
}

@test "tl-train: options of -m bert are usage errors for fasttext and linear; --device" {
	mk_train >"$BATS_TEST_TMPDIR/train.s"
	run tl-train -q --pretrained x -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 2 ]
	[ "$output" = "tl-train: option --pretrained is not for -m fasttext" ]
	run tl-train -m linear -q --batch-size 4 -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 2 ]
	[ "$output" = "tl-train: option --batch-size is not for -m linear" ]
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
	run tl-train -q --device cuda -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 2 ]
	[ "$output" = "tl-train: device 'cuda' is not built in (available: cpu)" ]
	run tl-train -m linear -q --device cpu -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 0 ]
	# the general summary, not the BERT one
	run tl-train --help
	[[ "$output" == "usage: tl-train [-m fasttext|linear|bert]"* ]]
}

@test "tl-train: --init-vectors: wrong dimension and non-numbers are errors" {
	mk_train >"$BATS_TEST_TMPDIR/train.s"
	printf '2 3\ngreat 1 2 3\ndull 4 5 6\n' >"$BATS_TEST_TMPDIR/v3.txt"
	run tl-train -q --dim 4 --init-vectors "$BATS_TEST_TMPDIR/v3.txt" -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"dimension 3"* ]]
	printf '2 3\ngreat 1 2 3\ndull 4 x 6\n' >"$BATS_TEST_TMPDIR/bad.txt"
	run tl-train -q --dim 3 --init-vectors "$BATS_TEST_TMPDIR/bad.txt" -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"line 3: 'x' is not a number"* ]]
	printf '2 3\ngreat 1 2 3\ndull 4 6\n' >"$BATS_TEST_TMPDIR/short.txt"
	run tl-train -q --dim 3 --init-vectors "$BATS_TEST_TMPDIR/short.txt" -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"line 3: 2 values, expected 3"* ]]
	run tl-train -q --dim 3 --init-vectors "$BATS_TEST_TMPDIR/v3.txt" -o "$BATS_TEST_TMPDIR/ok" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 0 ]
}

@test "tl-train: multi-label records train one-vs-all" {
	for i in $(seq 1 30); do
		printf '{"text":"red apple %d","label":["red","fruit"]}\n{"text":"green car %d","label":["green"]}\n' "$i" "$i"
	done | mkstream >"$BATS_TEST_TMPDIR/ml.s"
	run tl-train -q -o "$BATS_TEST_TMPDIR/ml" "$BATS_TEST_TMPDIR/ml.s"
	[ "$status" -eq 0 ]
	grep -q '"problem_type": "multi_label_classification"' "$BATS_TEST_TMPDIR/ml/config.json"
	grep -q '"loss": "ova"' "$BATS_TEST_TMPDIR/ml/config.json"
}

@test "tl-train: SST-2 fasttext and linear reach 78% dev accuracy" {
	[ -f "$TL_SHARED/data/sst2/train.tsv" ] || skip "no SST-2 data"
	if [[ "${TL_BUILD:-}" == *-san* ]]; then n=5001; else n=67350; fi
	head -n $n "$TL_SHARED/data/sst2/train.tsv" | tl-clean -f tsv >"$BATS_TEST_TMPDIR/tr.s"
	tl-clean "$TL_SHARED/data/sst2/dev.tsv" >"$BATS_TEST_TMPDIR/dev.s"
	min=0.78; [ $n -lt 67350 ] && min=0.60
	for m in fasttext linear; do
		run tl-train -m $m --threads 2 -o "$BATS_TEST_TMPDIR/$m" --dev "$BATS_TEST_TMPDIR/dev.s" "$BATS_TEST_TMPDIR/tr.s"
		[ "$status" -eq 0 ]
		acc=$(sed -n 's/.*dev accuracy \([0-9.]*\).*/\1/p' <<<"$output")
		awk -v a="$acc" -v m="$min" 'BEGIN { exit !(a >= m) }'
	done
}

@test "tl-predict and tl-eval read tl-linear models (fasttext, hs, linear)" {
	mk_train >"$BATS_TEST_TMPDIR/train.s"
	for opt in "-m fasttext" "-m fasttext --loss hs" "-m linear"; do
		tl-train -q $opt --force -o "$BATS_TEST_TMPDIR/m" "$BATS_TEST_TMPDIR/train.s"
		run sh -c "tl-predict -m '$BATS_TEST_TMPDIR/m' '$BATS_TEST_TMPDIR/train.s' | tl-cat -t tsv --no-names -f label,pred | awk -F'\t' '\$1 != \$2' | wc -l"
		[ "$status" -eq 0 ]
		[ "$output" -eq 0 ]
	done
	run sh -c "tl-predict -m '$BATS_TEST_TMPDIR/m' '$BATS_TEST_TMPDIR/train.s' | tl-eval"
	[ "$status" -eq 0 ]
	run sh -c "printf '{\"id\":1}\n' | tl-cat | tl-predict -m '$BATS_TEST_TMPDIR/m'"
	[ "$status" -eq 3 ]
	[[ "$output" == *'no "text"'* ]]
	printf 'x' >"$BATS_TEST_TMPDIR/m/model.safetensors"
	run sh -c "tl-predict -m '$BATS_TEST_TMPDIR/m' '$BATS_TEST_TMPDIR/train.s'"
	[ "$status" -eq 5 ]
}

@test "tl-train: a --log that cannot be written is exit 4 and no model (fasttext, linear)" {
	[ -w /dev/full ] || skip "no /dev/full"
	mk_train >"$BATS_TEST_TMPDIR/train.s"
	for m in fasttext linear; do
		run tl-train -m $m -q --log /dev/full -o "$BATS_TEST_TMPDIR/$m" "$BATS_TEST_TMPDIR/train.s"
		[ "$status" -eq 4 ]
		[[ "$output" == *"/dev/full"*"no model written"* ]]
		[ ! -e "$BATS_TEST_TMPDIR/$m" ]
	done
}
