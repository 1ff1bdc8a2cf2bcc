#!/usr/bin/env bats
load helpers

T() { printf '%s\n' "$@" | tl-cat -t msgpack; }

setup() {
	S="$BATS_TEST_TMPDIR"
	T '{"id":1,"text":"It'"'"'s a charming, often affecting journey about dogs running home.","label":"1"}' \
	  '{"id":"b","text":"the plot is thin and the acting is worse than bad","label":"0","split":"train"}' \
	  '{"id":3,"text":"a dev sentence with several words here","label":"0","split":"dev"}' \
	  '{"id":4,"text":"no label on this sentence at all"}' >"$S/in.mp"
}

@test "tl-augment: --help and --version" {
	run tl-augment --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run tl-augment --version
	[ "$status" -eq 0 ]
}

@test "tl-augment: originals first and unchanged, K copies with new ids and aug" {
	tl-augment -n 3 "$S/in.mp" >"$S/out.mp"
	run tl-cat "$S/out.mp"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 10 ]
	[ "${lines[0]}" = "$(tl-cat "$S/in.mp" | head -1)" ]
	[[ "${lines[1]}" == *'"id":"1~aug1"'*'"aug":{"op":'*'"src":1}'* ]]
	[[ "${lines[3]}" == *'"id":"1~aug3"'* ]]
	[[ "${lines[5]}" == *'"id":"b~aug1"'*'"src":"b"'* ]]
	# dev and unlabelled records pass through untouched
	[ "${lines[8]}" = "$(tl-cat "$S/in.mp" | sed -n 3p)" ]
	[ "${lines[9]}" = "$(tl-cat "$S/in.mp" | sed -n 4p)" ]
	# the copies' text differs from the original's
	[ "$(tl-cat -t tsv -f text --no-names "$S/out.mp" | sed -n 2,4p | sort -u | wc -l)" -eq 3 ]
}

@test "tl-augment: same seed, same bytes; another seed, other bytes; copies do not depend on -n" {
	tl-augment -n 4 --ops all --seed 7 <"$S/in.mp" >"$S/a"
	tl-augment -n 4 --ops all --seed 7 <"$S/in.mp" >"$S/b"
	cmp "$S/a" "$S/b"
	tl-augment -n 4 --ops all --seed 8 <"$S/in.mp" >"$S/c"
	! cmp -s "$S/a" "$S/c"
	tl-augment -n 2 --ops all --seed 7 "$S/in.mp" >"$S/d"
	diff <(tl-cat "$S/a" | grep -E '~aug[12]"') <(tl-cat "$S/d" | grep '~aug')
}

@test "tl-augment: a header is written, an input header extended" {
	tl-augment -n 1 "$S/in.mp" | tl-cat -H | head -1 | grep -q '"kind":"header".*"tool":"tl-augment"'
	run sh -c "{ printf '{\"tl\":1,\"kind\":\"header\",\"chain\":[{\"tool\":\"tl-clean\"}]}\n'; tl-cat \"$S/in.mp\"; } | tl-cat -t msgpack | tl-augment -n 1 | tl-cat -H | head -1"
	[[ "$output" == *'"chain":[{"tool":"tl-clean"},{"tool":"tl-augment"'* ]]
	[ "$(tl-augment -n 1 "$S/in.mp" | tl-cat -H | grep -c '"kind":"header"')" -eq 1 ]
}

@test "tl-augment: --all augments dev and unlabelled records, and warns about dev" {
	run sh -c "tl-augment -n 2 --all '$S/in.mp' 2>'$S/err' | tl-cat | grep -c '~aug'"
	[ "$output" -eq 8 ]
	grep -q "record 3: --all: augmenting records of split 'dev'" "$S/err"
}

@test "tl-augment: an augmented stream is refused (copies and ids would repeat)" {
	run sh -c "tl-augment -n 2 '$S/in.mp' | tl-augment -n 2 >/dev/null"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: the stream was augmented already (tl-augment in the header's chain)"* ]]
	run sh -c "tl-augment -n 2 '$S/in.mp' | tl-cat | tl-cat -t msgpack | tl-augment -n 2 >/dev/null"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 2: the stream was augmented already (record has 'aug')"* ]]
	# -n 0 passes anything through
	run sh -c "tl-augment -n 2 '$S/in.mp' | tl-augment -n 0 | tl-cat | grep -c '~aug'"
	[ "$output" -eq 4 ]
}

@test "tl-augment: tokenized input is refused (stale ids)" {
	run sh -c "printf '{\"id\":1,\"text\":\"a b c\",\"label\":\"x\",\"ids\":[101,102]}\n' | tl-cat | tl-augment"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: record already has 'ids': run tl-augment before tl-tokenize"* ]]
	# but a dev record with ids passes through
	run sh -c "printf '{\"id\":1,\"text\":\"a b c\",\"label\":\"x\",\"split\":\"test\",\"ids\":[101,102]}\n' | tl-cat | tl-augment | tl-cat"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "tl-augment: invalid rates and options are usage errors" {
	for a in "--sr -0.1" "--rd 1.5" "--ri x" "--typo 2" "--dropout -1" "-n -1" "--ops bogus" "--ops sr,,zz"; do
		run tl-augment $a </dev/null
		[ "$status" -eq 2 ]
	done
	run tl-augment --sr 0 --ri 0 --rs 0 --rd 0 </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"rate 0"* ]]
	run tl-augment --no-wordnet --ops sr </dev/null
	[ "$status" -eq 2 ]
}

@test "tl-augment: missing or damaged WordNet is exit 5; not needed without sr/ri" {
	run tl-augment --wordnet /nonexistent/wn <"$S/in.mp"
	[ "$status" -eq 5 ]
	[[ "$output" == *"cannot read WordNet: /nonexistent/wn/index.noun: No such file or directory"* ]]
	mkdir "$S/wn"
	cp /usr/share/wordnet/index.* /usr/share/wordnet/data.* /usr/share/wordnet/*.exc "$S/wn/"
	head -c 100000 /usr/share/wordnet/data.verb >"$S/wn/data.verb"
	run tl-augment --wordnet "$S/wn" <"$S/in.mp"
	[ "$status" -eq 5 ]
	[[ "$output" == *"data.verb: damaged"* ]]
	WNSEARCHDIR=/nonexistent run tl-augment <"$S/in.mp"
	[ "$status" -eq 5 ]
	run sh -c "tl-augment --wordnet /nonexistent/wn --ops rs,rd,rot,typo,dropout -n 2 '$S/in.mp' | tl-cat | grep -c '~aug'"
	[ "$output" -eq 4 ]
}

@test "tl-augment: empty input, empty text, one word" {
	run sh -c ': | tl-augment | wc -c'
	[ "$output" -eq 0 ]
	T '{"id":1,"text":"","label":"a"}' '{"id":2,"text":"   ","label":"a"}' '{"id":3,"text":"word","label":"a"}' >"$S/e.mp"
	run sh -c "tl-augment -n 4 --ops rs,rd,rot '$S/e.mp' | tl-cat"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ] # nothing to swap, delete or rotate: no copies
	run sh -c "tl-augment -n 4 --ops typo '$S/e.mp' | tl-cat | grep -c '\"id\":\"3~aug'"
	[ "$output" -eq 4 ]
}

@test "tl-augment: bad records" {
	expect_bad_stream tl-augment
	run sh -c "printf '{\"id\":1,\"text\":5,\"label\":\"a\"}\n' | tl-cat | tl-augment"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: 'text' is not a string"* ]]
	run sh -c "printf '{\"id\":1,\"label\":\"a\"}\n' | tl-cat | tl-augment"
	[ "$status" -eq 3 ]
	[[ "$output" == *"no 'text'"* ]]
	run sh -c "printf '{\"id\":1.5,\"text\":\"a b\",\"label\":\"a\"}\n' | tl-cat | tl-augment"
	[ "$status" -eq 3 ]
	[[ "$output" == *"'id' is a"* ]]
	# invalid UTF-8 in text: msgpack built by hand (map{text: "a\xff b", label: "x"})
	run sh -c 'printf "\202\244text\244a\377 b\245label\241x" | tl-augment'
	[ "$status" -eq 3 ]
	[[ "$output" == *"not valid UTF-8"* ]]
	run tl-augment /nonexistent/file
	[ "$status" -eq 4 ]
}

@test "tl-augment: Chinese: no synonyms without a dictionary, dictionary words with one" {
	T '{"id":1,"text":"我很喜欢这部电影，非常好看！","label":"1"}' >"$S/zh.mp"
	run sh -c "tl-augment -n 3 --ops sr '$S/zh.mp' | tl-cat | wc -l"
	[ "$output" -eq 1 ]
	run sh -c "tl-augment -n 3 --ops sr --synonyms '$TL_ROOT/tests/ref/synonyms_test.tsv' '$S/zh.mp' | tl-cat -t tsv -f text --no-names"
	[ "${#lines[@]}" -eq 4 ]
	for l in "${lines[@]:1}"; do
		[[ "$l" == *喜爱* || "$l" == *爱这* || "$l" == *影片* || "$l" == *精彩* ]]
	done
	# character-level operations work without one
	run sh -c "tl-augment -n 3 --ops typo,rot,rs '$S/zh.mp' | tl-cat | grep -c '~aug'"
	[ "$output" -eq 3 ]
	run tl-augment --synonyms /nonexistent.tsv <"$S/zh.mp"
	[ "$status" -eq 5 ]
	printf 'bad line without tab\n' >"$S/bad.tsv"
	run tl-augment --synonyms "$S/bad.tsv" <"$S/zh.mp"
	[ "$status" -eq 5 ]
	[[ "$output" == *"line 1: expected word<TAB>"* ]]
}

@test "tl-augment: English synonym file, case kept" {
	T '{"id":1,"text":"Good movie, good plot.","label":"1"}' >"$S/en.mp"
	run sh -c "tl-augment -n 1 --no-wordnet --ops sr --sr 0.5 --synonyms '$TL_ROOT/tests/ref/synonyms_test.tsv' '$S/en.mp' | tl-cat -t tsv -f text --no-names | tail -1"
	[[ "$output" == "Great film, great plot." || "$output" == "Fine film, fine plot." ]]
}

@test "tl-augment: SST-2 sample: unique ids, every operation used, sources exist" {
	f="$TL_SHARED/data/sst2/train.tsv"
	[ -f "$f" ] || skip "no $f"
	n=2000
	case "$TL_BUILD" in *-san) n=300 ;; esac
	tail -n +2 "$f" | head -n "$n" | awk -F'\t' '{gsub(/\\/,"\\\\",$1); gsub(/"/,"\\\"",$1); printf "{\"id\":%d,\"text\":\"%s\",\"label\":\"%s\"}\n", NR, $1, $2}' | tl-cat -t msgpack >"$S/sst.mp"
	tl-augment -n 7 --ops all --stats "$S/sst.mp" 2>"$S/err" | tl-cat >"$S/sst.jsonl"
	[ "$(grep -c '~aug' "$S/sst.jsonl")" -gt $((n * 69 / 10)) ]
	[ "$(grep -o '"id":[^,]*' "$S/sst.jsonl" | sort | uniq -d | wc -l)" -eq 0 ]
	for op in sr ri rs rd rot typo dropout; do
		grep -q "\"op\":\"$op\"" "$S/sst.jsonl"
	done
	# every copy's src is the id of the record right before its copies
	awk -F'"id":' '!/~aug/ {split($2, a, ","); cur=a[1]} /~aug/ {if (index($0, "\"src\":" cur "}") == 0) bad++} END {exit bad > 0}' "$S/sst.jsonl"
	grep -q "records, $n augmented" "$S/err"
}

@test "tl-augment: the man page example runs" {
	run sh -c "printf '{\"id\":7,\"text\":\"A gripping and moving film.\",\"label\":\"pos\"}\n' | tl-cat -t msgpack | tl-augment -n 2 --ops sr,rs --seed 3 | tl-cat -t tsv -f id,text,aug"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[2]}" == 7~aug1* ]]
}
