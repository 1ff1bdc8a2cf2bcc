#!/usr/bin/env bats
load helpers
load bert_helpers

# issue 16 items 2, 3 and 14 (cleaning): frozen features are what tl-train
# -m linear trains on and what tl-predict checks; text_b is read by the
# linear and fastText models; tl-clean joins columns and repairs entities.

setup() {
	D=$BATS_TEST_TMPDIR
	# the label is only in the second text: a model reading "text" alone cannot learn it
	for i in $(seq 1 40); do
		printf '{"id":%d,"text":"headline number %d","text_b":"a good great fine story %d","label":"pos"}\n' "$i" "$i" "$i"
		printf '{"id":%d,"text":"headline number %d","text_b":"a bad awful poor story %d","label":"neg"}\n' "$((i + 100))" "$i" "$i"
	done | mkstream >"$D/pairs.s"
	for i in $(seq 1 30); do
		printf '{"id":%d,"text":"A good movie, a good plot %d","label":"1"}\n' "$i" "$i"
		printf '{"id":%d,"text":"a bad film and bad acting %d","label":"0"}\n' "$((i + 100))" "$i"
	done | mkstream >"$D/train.s"
}

acc() { tl-predict -m "$1" "$2" | tl-eval --json 2>/dev/null | jq .accuracy; }

# ---------------- tl-clean --text A,B and --fix-entities ----------------

@test "tl-clean --text 2,3: CSV columns joined with a space; no header guessed from the list" {
	printf '"3","Title one","First description."\n"4","Title two","Second one."\n' >"$D/ag.csv"
	run sh -c "tl-clean --text 2,3 --label 1 '$D/ag.csv' | tl-cat -f id,text,label"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"id":1,"text":"Title one First description.","label":"3"}' ]
	[ "${lines[1]}" = '{"id":2,"text":"Title two Second one.","label":"4"}' ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "$output" != *columns* ]]
	# names with a header, an empty field skipped, the joined columns not copied as extras
	printf 'y\ttitle\tbody\tsrc\n1\tHello\t\tx\n0\tA\tB\ty\n' >"$D/h.tsv"
	run sh -c "tl-clean --text title,body '$D/h.tsv' | tl-cat"
	[ "${lines[0]}" = '{"id":1,"text":"Hello","label":"1","src":"x"}' ]
	[ "${lines[1]}" = '{"id":2,"text":"A B","label":"0","src":"y"}' ]
	# JSON keys
	run sh -c "printf '{\"t\":\"x\",\"u\":\"y\",\"label\":1}\n' | tl-clean --text t,u | tl-cat"
	[ "$output" = '{"id":1,"text":"x y","label":"1"}' ]
}

@test "tl-clean --text A,B: unknown column (exit 2, columns listed), missing key or row field (exit 3)" {
	printf 'a\tb\tc\n1\tx\ty\n' >"$D/h.tsv"
	run tl-clean --text a,zz "$D/h.tsv"
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --text: no column 'zz' (columns: a, b, c)"* ]]
	run sh -c "printf '{\"t\":\"x\",\"label\":1}\n' | tl-clean --text t,u"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 1: no key "u" (keys: t, label); choose one with --text'* ]]
	run sh -c "printf '{\"t\":\"x\",\"u\":3}\n' | tl-clean --text t,u"
	[ "$status" -eq 3 ]
	[[ "$output" == *'"u" is integer, not a string'* ]]
	printf '"1","a","b"\n"2","c"\n' >"$D/short.csv"
	run tl-clean --text 2,3 --label 1 "$D/short.csv"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 2: line 2: 2 fields, but the text is column 3"* ]]
	run tl-clean --text , "$D/h.tsv"
	[ "$status" -eq 2 ]
}

@test "tl-clean --fix-entities: AG News's #39; #36; #151; &amp;-escaped references and backslash breaks" {
	printf '"1","it#39;s  #36;10","a second\\team #151; won &amp;quot;big&amp;quot; &amp;#39;99 \\\\ end"\n' >"$D/e.csv"
	run sh -c "tl-clean --fix-entities --text 2,3 --label 1 '$D/e.csv' | tl-cat -f text"
	[ "$status" -eq 0 ]
	[ "$output" = '{"text":"it'"'"'s $10 a second team — won \"big\" '"'"'99 end"}' ]
	# off by default: the artefacts stay
	run sh -c "tl-clean --text 2,3 --label 1 '$D/e.csv' | tl-cat -f text"
	[[ "$output" == *'it#39;s #36;10'*'second\\team'* ]]
	# with --no-html the references are decoded by the repair itself
	run sh -c "tl-clean --no-html --fix-entities --text 2 --label 1 '$D/e.csv' | tl-cat -f text"
	[ "$output" = '{"text":"it'"'"'s $10"}' ]
	# not a reference: left alone (no ';', too many digits, a hash tag)
	run sh -c "printf '#39 #12345678; #tag C#\n' | tl-clean --fix-entities | tl-cat -f text"
	[ "$output" = '{"text":"#39 #12345678; #tag C#"}' ]
	# the header records it
	run sh -c "tl-clean --fix-entities --text 2 --label 1 '$D/e.csv' | tl-cat -H | head -1 | jq -c .clean.fix_entities"
	[ "$output" = true ]
}

@test "tl-clean --fix-entities on the AG News test set: no #NN; and no backslash left" {
	f=$TL_SHARED/data/ag_news/test.csv
	[ -f "$f" ] || skip "$f absent"
	before=$(tl-clean --text 2,3 --label 1 "$f" | tl-cat -f text | grep -c -E '#[0-9]+;|\\' || true)
	[ "$before" -gt 500 ]
	run sh -c "tl-clean --fix-entities --text 2,3 --label 1 '$f' | tl-cat -f text | grep -c -E '#[0-9]+;|\\\\\\\\'"
	[ "$output" = 0 ]
}

# ---------------- text_b in the linear and fastText models ----------------

@test "tl-train -m fasttext|linear: text_b is read (joined), recorded, and used by tl-predict" {
	for m in fasttext linear; do
		tl-train -q -m $m --epochs 20 -o "$D/$m" "$D/pairs.s"
		[ "$(jq -r .text_b "$D/$m/config.json")" = joined ]
		[ "$(jq -r .params.text_b "$D/$m/tl.json")" = joined ]
		[ "$(acc "$D/$m" "$D/pairs.s")" = 1 ]
		# the same records without text_b: the label is gone
		tl-cat "$D/pairs.s" | jq -c 'del(.text_b)' | mkstream >"$D/notb.s"
		a=$(acc "$D/$m" "$D/notb.s")
		jq -e -n "$a <= 0.6"
	done
	# a model trained without text_b ignores it at prediction
	tl-cat "$D/pairs.s" | jq -c 'del(.text_b)' | mkstream >"$D/notb.s"
	tl-train -q -m linear -o "$D/plain" "$D/notb.s"
	[ "$(jq -r .text_b "$D/plain/config.json")" = null ]
	[ "$(jq -r .params.text_b "$D/plain/tl.json")" = null ]
	[ "$(tl-predict -m "$D/plain" "$D/pairs.s" | tl-cat -f pred | md5sum)" = "$(tl-predict -m "$D/plain" "$D/notb.s" | tl-cat -f pred | md5sum)" ]
}

@test "tl-train/tl-predict: a text_b that is not a string is bad data (exit 3)" {
	printf '{"text":"a","text_b":3,"label":"x"}\n{"text":"b","label":"y"}\n' | mkstream >"$D/bad.s"
	run tl-train -q -m linear -o "$D/m" "$D/bad.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'"text_b" is not a string'* ]]
	tl-train -q -m fasttext -o "$D/ft" "$D/pairs.s"
	run tl-predict -m "$D/ft" "$D/bad.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 1: "text_b" is not a string'* ]]
	# a damaged config.json text_b is a model error
	jq '.text_b = "both"' "$D/ft/config.json" >"$D/c" && cp "$D/c" "$D/ft/config.json"
	run tl-predict -m "$D/ft" "$D/pairs.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *'text_b is not "joined"'* ]]
}

@test "AG News (README recipe, 4/5 train, 1/5 test of test.csv): title+description beats title only" {
	f=$TL_SHARED/data/ag_news/test.csv
	[ -f "$f" ] || skip "$f absent"
	awk 'NR % 5 != 0' "$f" >"$D/tr.csv"
	awk 'NR % 5 == 0' "$f" >"$D/te.csv"
	for v in title pair; do
		if [ $v = title ]; then o="--text 2"; else o="--text 2 --text-b 3"; fi
		tl-clean $o --label 1 "$D/tr.csv" >"$D/tr.s"
		tl-clean $o --label 1 "$D/te.csv" >"$D/te.s"
		tl-train -q -o "$D/$v" "$D/tr.s"
		eval "$v=$(acc "$D/$v" "$D/te.s")"
	done
	echo "title $title pair $pair" >&3
	jq -e -n "$pair >= $title + 0.08"
}

# ---------------- frozen features: input auto and provenance ----------------

@test "tl-train -m linear --input auto trains on sparse when the records also carry text; tl.json says how they were made" {
	tl-embed --tfidf --fit "$D/f.tsv" "$D/train.s" >"$D/sp.s"
	run tl-train -m linear -o "$D/m" "$D/sp.s"
	[ "$status" -eq 0 ]
	[[ "$output" == *'training on "sparse" (--input auto)'* ]]
	[ "$(jq -r .input "$D/m/config.json")" = sparse ]
	[ "$(jq -c '.params.features | [.kind, .dim > 0, (.sha256 | length)]' "$D/m/tl.json")" = '["tfidf",true,64]' ]
	[ "$(jq -r .params.features.sha256 "$D/m/tl.json")" = "$(sha256sum "$D/f.tsv" | cut -c1-64)" ]
	# the same from standard input (it was text before)
	tl-train -q -m linear -o "$D/m2" <"$D/sp.s"
	[ "$(jq -r .input "$D/m2/config.json")" = sparse ]
	# --input text: the model's own TF-IDF, described as such
	tl-train -q -m linear --input text -o "$D/t" "$D/sp.s"
	[ "$(jq -c '.params.features | [.kind, .file]' "$D/t/tl.json")" = '["tfidf","features.tsv"]' ]
	[[ "$(jq -r .params.features.options "$D/t/tl.json")" == *ngram* ]]
}

@test "tl-predict refuses sparse features fitted on other data (exit 3, both shown); same fit passes" {
	tl-embed --tfidf --fit "$D/f.tsv" "$D/train.s" >"$D/sp.s"
	tl-train -q -m linear -o "$D/m" "$D/sp.s"
	tl-predict -m "$D/m" "$D/sp.s" >/dev/null
	tl-embed --tfidf --fit "$D/g.tsv" "$D/pairs.s" >/dev/null
	tl-embed --tfidf --features "$D/g.tsv" "$D/train.s" >"$D/other.s"
	run tl-predict -m "$D/m" "$D/other.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"the vectors were made differently from the model's training vectors: sha256"* ]]
	[[ "$output" == *"(stream: {"*'"file":"'"$D/g.tsv"*"model $D/m/tl.json: {"*'"file":"'"$D/f.tsv"* ]]
	# tl-train --dev: the dev stream is checked against the training stream's
	run tl-train -q -m linear -o "$D/m3" --log "$D/m3.log" --dev "$D/other.s" "$D/sp.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"tl-train: --dev $D/other.s: the vectors were made differently"*"model $D/sp.s: {"* ]]
	[ ! -e "$D/m3" ]
	[ ! -s "$D/m3.log" ] # refused before training: not one progress line
	run tl-train -q -m linear -o "$D/m3" --log "$D/m3b.log" --dev - "$D/sp.s" <"$D/other.s" # a pipe too
	[ "$status" -eq 3 ]
	[ ! -s "$D/m3b.log" ]
	tl-train -q -m linear -o "$D/m4" --log "$D/m4.log" "$D/sp.s"
	[ -s "$D/m4.log" ] # (training does write progress lines)
	# a stream without a header is trusted (warning at training, nothing at prediction)
	tl-cat "$D/sp.s" | mkstream >"$D/nohdr.s"
	run tl-train -m linear -o "$D/n" "$D/nohdr.s"
	[[ "$output" == *'header does not say how its "sparse" features were made'* ]]
	[ "$(jq -c .params.features "$D/n/tl.json")" = null ]
	run tl-predict -m "$D/m" "$D/nohdr.s"
	[ "$status" -eq 0 ]
	# a model that records nothing: the stream is not checked, with a warning
	run sh -c "tl-predict -m '$D/n' '$D/sp.s' 2>&1 >/dev/null"
	[ "$status" -eq 0 ]
	[[ "$output" == *"does not record how its training vectors were made"* ]]
}

@test "tl-train: fastText refuses a feature stream under --input auto, --input vec/sparse is for -m linear, both kinds is ambiguous" {
	tl-embed --tfidf --fit "$D/f.tsv" "$D/train.s" >"$D/sp.s"
	run tl-train -o "$D/ft" "$D/sp.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *'the records carry "sparse" (tl-embed output) and fastText reads only the text'* ]]
	run tl-train -m fasttext --input vec -o "$D/ft" "$D/sp.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--input vec is for -m linear"* ]]
	tl-train -q -m fasttext --input text -o "$D/ft" "$D/sp.s"
	tl-cat "$D/sp.s" | jq -c '. + {vec: [1.0, 2.0]}' | mkstream >"$D/both.s"
	run tl-train -m linear -o "$D/b" "$D/both.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *'both "sparse" and "vec": choose one with --input'* ]]
}

@test "tl-embed vectors: the header names the encoder (sha256); tl-predict refuses --pool cls into a mean-pooled model" {
	need_model
	sample_stream 26 | tl-cat | jq -c '. + {label: (if (.id | tostring | length) % 2 == 0 then "a" else "b" end)}' |
		mkstream >"$D/tok.s"
	tl-embed "$D/tok.s" >"$D/mean.s"
	tl-embed --pool cls "$D/tok.s" >"$D/cls.s"
	[ "$(tl-cat -H "$D/mean.s" | head -1 | jq -r .embed.sha256)" = "$(sha256sum "$MINILM/model.safetensors" | cut -c1-64)" ]
	tl-train -q -m linear -o "$D/m" "$D/mean.s"
	[ "$(jq -c '.params.features | [.kind, .pool, .layer, .normalize, .dim]' "$D/m/tl.json")" = '["bert","mean",6,false,384]' ]
	tl-predict -m "$D/m" "$D/mean.s" >/dev/null
	run tl-predict -m "$D/m" "$D/cls.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'pool "cls" in the stream, "mean" in the model'* ]]
	tl-embed --normalize --layer 3 "$D/tok.s" >"$D/l3.s"
	run tl-predict -m "$D/m" "$D/l3.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'layer 3 in the stream, 6 in the model; normalize true in the stream, false in the model'* ]]
}
