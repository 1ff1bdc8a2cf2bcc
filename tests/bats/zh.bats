#!/usr/bin/env bats
# Chinese words in the models: text segmented by tl-clean (--segment jieba,
# or --zh-segmented for text already segmented) keeps its CJK words in
# tl-embed --bow/--tfidf/--word2vec and tl-train -m fasttext|linear; the
# choice is recorded (fitted file "cjk=words", config.json "cjk") and a
# words model refuses text whose header says it was not segmented. These
# tests use --zh-segmented so that they need no jieba dictionary.
load helpers

setup() {
	T=$BATS_TEST_TMPDIR
	# pre-segmented reviews: the same texts with and without the spaces
	for i in 1 2 3 4 5 6; do
		printf '手机 很 好 用\t1\n屏幕 清晰 手机 不错\t1\n电池 太 差 了\t0\n手机 很 差 失望\t0\n'
	done > "$T/w.tsv"
	tr -d ' ' < "$T/w.tsv" > "$T/c.tsv"
	tl-clean --zh-segmented --no-header "$T/w.tsv" > "$T/w.s"
	tl-clean --no-header "$T/c.tsv" > "$T/c.s"
	tl-clean --no-header "$T/w.tsv" > "$T/wnohdr.s" # segmented text, header says not
}

@test "zh: tfidf on segmented text keeps words, records cjk=words" {
	tl-embed --tfidf --fit "$T/f.tsv" --fit-only "$T/w.s"
	grep -q ' cjk=words$' "$T/f.tsv"
	grep -q '^手机	' "$T/f.tsv"
	! grep -q '^手	' "$T/f.tsv"
	# characters: the same text unsegmented
	tl-embed --tfidf --fit "$T/g.tsv" --fit-only "$T/c.s"
	! grep -q 'cjk' "$T/g.tsv"
	grep -q '^手	' "$T/g.tsv"
	! grep -q '^手机	' "$T/g.tsv"
	# --cjk words by hand on the unsegmented header's stream
	tl-embed --tfidf --cjk words --fit "$T/h.tsv" --fit-only "$T/wnohdr.s"
	grep -q '^手机	' "$T/h.tsv"
}

@test "zh: a words fitted file refuses unsegmented text; a chars file warns on segmented text" {
	tl-embed --bow --fit "$T/f.tsv" --fit-only "$T/w.s"
	run tl-embed --bow --features "$T/f.tsv" "$T/c.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"splits Chinese into words"*"not segmented"* ]]
	tl-embed --bow --fit "$T/g.tsv" --fit-only "$T/c.s"
	run tl-embed --bow --features "$T/g.tsv" "$T/w.s"
	[ "$status" -eq 0 ]
	[[ "$output" == *"splits Chinese into characters"* ]]
	# --cjk contradicting the file
	run tl-embed --bow --features "$T/f.tsv" --cjk chars "$T/w.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"--cjk differs"* ]]
	run tl-embed --bow --cjk syllables --fit "$T/x" "$T/w.s"
	[ "$status" -eq 2 ]
}

@test "zh: word2vec vocabulary of words, known again at load" {
	tl-embed --word2vec -q --fit "$T/v.txt" --fit-only --min-count 1 --dim 8 --epochs 1 "$T/w.s"
	grep -q '^手机 ' "$T/v.txt"
	tl-embed --word2vec --features "$T/v.txt" "$T/w.s" > /dev/null
	run tl-embed --word2vec --features "$T/v.txt" "$T/c.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"not segmented"* ]]
	tl-embed --word2vec -q --fit "$T/u.txt" --fit-only --min-count 1 --dim 8 --epochs 1 "$T/c.s"
	! grep -q '^手机 ' "$T/u.txt"
	run tl-embed --word2vec --features "$T/v.txt" --cjk chars "$T/w.s"
	[ "$status" -eq 5 ]
	# TF-IDF weights must split as the vectors do
	tl-embed --tfidf --fit "$T/g.tsv" --fit-only "$T/c.s"
	run tl-embed --word2vec --features "$T/v.txt" --tfidf-weights "$T/g.tsv" "$T/w.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"--tfidf-weights"*"chars"*"words"* ]]
}

@test "zh: fastText and linear record cjk words; tl-predict refuses unsegmented text" {
	for m in fasttext linear; do
		tl-train -m $m -q -o "$T/$m" "$T/w.s"
		grep -q '"cjk": "words"' "$T/$m/config.json"
		tl-predict -m "$T/$m" "$T/w.s" | tl-eval | grep -q '^accuracy *1.0000'
		run tl-predict -m "$T/$m" "$T/c.s"
		[ "$status" -eq 3 ]
		[[ "$output" == *"splits Chinese into words"* ]]
		# --dev unsegmented: refused too
		run tl-train -m $m -q --force -o "$T/$m-d" --dev "$T/c.s" "$T/w.s"
		[ "$status" -eq 3 ]
		# characters model: no cjk key, segmented text only warns
		tl-train -m $m -q -o "$T/$m-c" "$T/c.s"
		! grep -q '"cjk"' "$T/$m-c/config.json"
		run tl-predict -m "$T/$m-c" "$T/w.s"
		[ "$status" -eq 0 ]
		[[ "$output" == *"splits Chinese into characters"* ]]
	done
	grep -q '"cjk": "words"' "$T/fasttext/tl.json"
	grep -q 'cjk=words' "$T/linear/tl.json"
	grep -q '^手机$' "$T/fasttext/words.txt"
	run tl-train -m fasttext --cjk maybe -o "$T/bad" "$T/w.s"
	[ "$status" -eq 2 ]
}

@test "zh: text without CJK is split the same with --cjk words" {
	printf 'Good phone, works well!\t1\nbad battery...\t0\n' > "$T/e.tsv"
	tl-clean --no-header "$T/e.tsv" > "$T/e.s"
	tl-embed --tfidf --fit "$T/a.tsv" --fit-only "$T/e.s"
	tl-embed --tfidf --cjk words --fit "$T/b.tsv" --fit-only "$T/e.s"
	diff <(sed 1,2d "$T/a.tsv") <(sed 1,2d "$T/b.tsv")
}
