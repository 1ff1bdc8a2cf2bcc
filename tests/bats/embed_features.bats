#!/usr/bin/env bats
load helpers

# tl-embed's classic features (lib/features/embed_features.c): --bow, --tfidf,
# --word2vec, handed over by tl-embed's main().
setup() {
	for i in $(seq 1 30); do
		printf '{"id":%d,"text":"A good movie, a good plot %d","label":"1"}\n' "$i" "$i"
		printf '{"id":%d,"text":"a bad film and bad acting","label":"0"}\n' "$((i + 100))"
	done | mkstream >"$BATS_TEST_TMPDIR/train.s"
}

@test "tl-embed --tfidf: fit on train, the same file applied to dev gives the same vectors" {
	tl-embed --tfidf --ngram 1,2 --fit "$BATS_TEST_TMPDIR/f.tsv" "$BATS_TEST_TMPDIR/train.s" >"$BATS_TEST_TMPDIR/a.s"
	head -1 "$BATS_TEST_TMPDIR/f.tsv" | grep -qx 'tl-features 1'
	tl-embed --tfidf --features "$BATS_TEST_TMPDIR/f.tsv" "$BATS_TEST_TMPDIR/train.s" >"$BATS_TEST_TMPDIR/b.s"
	run tl-cat -t tsv -f id,sparse "$BATS_TEST_TMPDIR/a.s"
	a=$output
	run tl-cat -t tsv -f id,sparse "$BATS_TEST_TMPDIR/b.s"
	[ "$a" = "$output" ]
	[[ "${lines[1]}" == *'"dim":'* ]]
	run tl-cat -H "$BATS_TEST_TMPDIR/b.s"
	[[ "${lines[0]}" == *'"features":{"kind":"tfidf"'* ]]
	# l2-normalised: the squares of a record's values sum to 1
	run sh -c "tl-cat -t tsv --no-names -f sparse '$BATS_TEST_TMPDIR/b.s' | head -1 | sed 's/.*\"val\":\[\([^]]*\)\].*/\1/' | tr , '\n' | awk '{s += \$1 * \$1} END {printf \"%.4f\", s}'"
	[ "$output" = "1.0000" ]
}

@test "tl-embed --bow --hash: indices below the bucket count" {
	run sh -c "tl-embed --bow --hash 16 --fit '$BATS_TEST_TMPDIR/h.tsv' '$BATS_TEST_TMPDIR/train.s' | tl-cat -t tsv --no-names -f sparse | head -1"
	[ "$status" -eq 0 ]
	[[ "$output" == '{"dim":16,'* ]]
}

@test "tl-embed --tfidf: a file fitted with other options is refused" {
	tl-embed --tfidf --fit "$BATS_TEST_TMPDIR/f.tsv" --fit-only "$BATS_TEST_TMPDIR/train.s"
	run tl-embed --tfidf --ngram 1,3 --features "$BATS_TEST_TMPDIR/f.tsv" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"fitted with other options: --ngram differs"* ]]
	run tl-embed --bow --features "$BATS_TEST_TMPDIR/f.tsv" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 5 ]
	printf 'tl-features 1\nkind=bow\n' >"$BATS_TEST_TMPDIR/bad.tsv"
	run tl-embed --bow --features "$BATS_TEST_TMPDIR/bad.tsv" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"bad.tsv: line 2:"* ]]
}

@test "tl-embed --tfidf: empty vocabulary, record without text, usage" {
	run tl-embed --tfidf --min-df 1000 --fit "$BATS_TEST_TMPDIR/f.tsv" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"max_df corresponds to fewer documents than min_df"* || "$output" == *"empty vocabulary"* ]]
	run tl-embed --tfidf --min-df 31 --max-df 0.99 --fit "$BATS_TEST_TMPDIR/f.tsv" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"empty vocabulary"* ]]
	run sh -c "printf '{\"id\":1}\n' | tl-cat | tl-embed --bow --fit '$BATS_TEST_TMPDIR/g.tsv'"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 1: no "text"'* ]]
	[ ! -e "$BATS_TEST_TMPDIR/g.tsv" ]
	run tl-embed --tfidf "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 2 ]
	run tl-embed --tfidf --fit a --features b "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 2 ]
}

@test "tl-embed --word2vec: vectors file, document vectors, bad vector files" {
	tl-embed --word2vec --dim 8 --min-count 1 --epochs 3 -q --fit "$BATS_TEST_TMPDIR/v.txt" \
		"$BATS_TEST_TMPDIR/train.s" >"$BATS_TEST_TMPDIR/w.s"
	run head -1 "$BATS_TEST_TMPDIR/v.txt"
	[[ "$output" =~ ^[0-9]+\ 8$ ]]
	run sh -c "tl-cat -t tsv --no-names -f vec '$BATS_TEST_TMPDIR/w.s' | head -1 | tr , '\n' | wc -l"
	[ "$output" -eq 8 ]
	run tl-embed --word2vec --features "$BATS_TEST_TMPDIR/v.txt" --nearest good "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 0 ]
	[[ "$output" == "good: "* ]]
	printf '2 3\na 1 2 3\nb 1 2\n' >"$BATS_TEST_TMPDIR/bad.txt"
	run tl-embed --word2vec --features "$BATS_TEST_TMPDIR/bad.txt" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"line 3: 2 values, expected 3"* ]]
	printf '1 2\na 1 zz\n' >"$BATS_TEST_TMPDIR/bad.txt"
	run tl-embed --word2vec --features "$BATS_TEST_TMPDIR/bad.txt" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"'zz' is not a number"* ]]
	run tl-embed --word2vec --min-count 1000 --fit "$BATS_TEST_TMPDIR/v2.txt" "$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"empty vocabulary"* ]]
}

@test "tl-embed --tfidf features train tl-train -m linear" {
	tl-embed --tfidf --fit "$BATS_TEST_TMPDIR/f.tsv" "$BATS_TEST_TMPDIR/train.s" >"$BATS_TEST_TMPDIR/tr.f"
	run tl-train -m linear -o "$BATS_TEST_TMPDIR/m" --dev "$BATS_TEST_TMPDIR/tr.f" "$BATS_TEST_TMPDIR/tr.f"
	[ "$status" -eq 0 ]
	[[ "$output" == *"dev accuracy 1.0000"* ]]
	grep -q '"input": "sparse"' "$BATS_TEST_TMPDIR/m/config.json"
}

@test "tl-embed --bow: an unreadable input before the fitted file, a full disk (exit 4)" {
	run tl-embed --bow --features "$BATS_TEST_TMPDIR/none.tsv" /nonexistent/x
	[ "$status" -eq 4 ]
	[ "$output" = "tl-embed: cannot open /nonexistent/x: No such file or directory" ]
	[ -w /dev/full ] || skip "no /dev/full"
	tl-embed --bow --fit "$BATS_TEST_TMPDIR/f.tsv" --fit-only "$BATS_TEST_TMPDIR/train.s"
	run sh -c "tl-embed --bow --features '$BATS_TEST_TMPDIR/f.tsv' '$BATS_TEST_TMPDIR/train.s' >/dev/full"
	[ "$status" -eq 4 ]
	[ "$output" = "tl-embed: write error: No space left on device" ]
}

@test "tl-embed --bow: one header for the input, later headers folded into it" {
	printf '{"tl":1,"kind":"header","a":1}\n{"text":"x"}\n{"tl":1,"kind":"header","b":2}\n{"text":"y"}\n' |
		tl-cat >"$BATS_TEST_TMPDIR/h.s"
	tl-embed --bow --fit "$BATS_TEST_TMPDIR/h.tsv" --fit-only "$BATS_TEST_TMPDIR/h.s"
	run sh -c "tl-embed --bow --features '$BATS_TEST_TMPDIR/h.tsv' '$BATS_TEST_TMPDIR/h.s' | tl-cat -H"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == *'"a":1'*'"features"'* ]]
}
