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
	[[ "${lines[1]}" == *'"id":"1~aug1"'*'"aug":{"op":'*'"src":1,"src_key":"'* ]]
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
	# (about the header record, which has no number: data records count from 1)
	[[ "$output" == "tl-augment: the stream was augmented already (tl-augment in the header's chain)"* ]]
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
	awk -F'"id":' '!/~aug/ {split($2, a, ","); cur=a[1]} /~aug/ {if (index($0, "\"src\":" cur ",\"src_key\":\"") == 0) bad++} END {exit bad > 0}' "$S/sst.jsonl"
	# the copies of one original share its src_key; n originals, n keys
	awk '!/~aug/ {grp++} /~aug/ {match($0, /"src_key":"[0-9a-f]+"/); k = substr($0, RSTART, RLENGTH); if (k == "" || (grp in key && key[grp] != k)) bad++; key[grp] = k} END {exit bad > 0}' "$S/sst.jsonl"
	[ "$(grep -o '"src_key":"[0-9a-f]*"' "$S/sst.jsonl" | sort -u | wc -l)" -eq "$(tl-cat -t tsv -f text --no-names "$S/sst.mp" | sort -u | wc -l)" ]
	grep -q "records, $n augmented" "$S/err"
}

@test "tl-augment: the man page example runs" {
	run sh -c "printf '{\"id\":7,\"text\":\"A gripping and moving film.\",\"label\":\"pos\"}\n' | tl-cat -t msgpack | tl-augment -n 2 --ops sr,rs --seed 3 | tl-cat -t tsv -f id,text,aug"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[2]}" == 7~aug1* ]]
}

@test "tl-augment: every copy carries src_key, the content key of its original (man tl-augment)" {
	tl-augment -n 2 "$S/in.mp" | tl-cat >"$S/k.jsonl"
	# reference values (tests/ref/gen_leak_keys.py) of the two training texts
	[ "$(grep -c '"src":1,"src_key":"2b507d8891fb008c"}' "$S/k.jsonl")" -eq 2 ]
	[ "$(grep -c '"src":"b","src_key":"ec2d6c2b8b115652"}' "$S/k.jsonl")" -eq 2 ]
	# originals stay byte-identical
	diff <(tl-cat "$S/in.mp") <(grep -v '~aug' "$S/k.jsonl")
	# text and text_b: h("b", h("foobar", 0)); h("foobar", 0) alone
	T '{"id":1,"text":"foobar","text_b":"b","label":"x"}' '{"id":2,"text":"foobar","label":"x"}' >"$S/fb.mp"
	run sh -c "tl-augment -n 2 --ops typo '$S/fb.mp' | tl-cat -t tsv -f id,aug --no-names"
	[ "${#lines[@]}" -eq 6 ]
	[[ "${lines[1]}" == '1~aug1'*'"src_key":"bfe422878fb988f3"'* ]]
	[[ "${lines[2]}" == '1~aug2'*'"src_key":"bfe422878fb988f3"'* ]]
	[[ "${lines[4]}" == '2~aug1'*'"src_key":"759197cf5d0e0770"'* ]]
}

# a small labelled TSV under the given name
mktsv() { printf 'sentence\tlabel\na fine movie with good actors\t1\nbad plot and awful acting\t0\n' >"$1"; }

@test "tl-augment: split from the file tl-clean read: passed through with one warning; --all augments" {
	mktsv "$S/dev.tsv"
	tl-clean "$S/dev.tsv" 2>/dev/null | tl-augment -n 2 2>"$S/err" | tl-cat >"$S/o.jsonl"
	[ "$(wc -l <"$S/o.jsonl")" -eq 2 ]
	! grep -q '~aug' "$S/o.jsonl"
	[ "$(wc -l <"$S/err")" -eq 1 ]
	grep -q "^tl-augment: $S/dev.tsv: split 'dev' (from the name of the file tl-clean read): records passed through without copies; --all augments them" "$S/err"
	# options before or after the file, with values, are skipped
	run sh -c "tl-clean '$S/dev.tsv' -f tsv --text sentence -l label 2>/dev/null | tl-augment -n 2 2>&1 >/dev/null"
	[[ "$output" == *"dev.tsv: split 'dev'"* ]]
	run sh -c "tl-clean --format=tsv -ftsv --no-extra -- '$S/dev.tsv' 2>/dev/null | tl-augment -n 2 2>&1 >/dev/null"
	[[ "$output" == *"dev.tsv: split 'dev'"* ]]
	# read from standard input, tl-clean knows no name: augmented as before
	run sh -c "tl-clean -f tsv <'$S/dev.tsv' 2>/dev/null | tl-augment -n 2 2>'$S/err2' | tl-cat | grep -c '~aug'"
	[ "$output" -eq 4 ]
	[ ! -s "$S/err2" ]
	# --all: copies, and the warning names the file
	run sh -c "tl-clean '$S/dev.tsv' 2>/dev/null | tl-augment -n 2 --all 2>'$S/err' | tl-cat | grep -c '~aug'"
	[ "$output" -eq 4 ]
	[ "$(wc -l <"$S/err")" -eq 1 ]
	grep -q "^tl-augment: $S/dev.tsv: --all: augmenting records of split 'dev' (from the name of the file tl-clean read); their copies carry 'aug'" "$S/err"
}

@test "tl-augment: split from FILE's name (test.s), and which names count" {
	tl-cat -t msgpack <<<'{"id":1,"text":"a fine movie with good actors","label":"1"}' >"$S/test.s"
	run sh -c "tl-augment -n 2 '$S/test.s' 2>'$S/err' | tl-cat | wc -l"
	[ "$output" -eq 1 ]
	[ "$(cat "$S/err")" = "tl-augment: $S/test.s: split 'test' (from the file name): records passed through without copies; --all augments them (keep those copies out of evaluation)" ]
	run sh -c "tl-augment -n 2 --all '$S/test.s' 2>'$S/err' | tl-cat | wc -l"
	[ "$output" -eq 3 ]
	grep -q "test.s: --all: augmenting records of split 'test' (from the file name)" "$S/err"
	mkdir "$S/n"
	for f in dev.tsv DEV.TSV sst2-dev.tsv dev_2k.tsv test.tsv.gz valid.jsonl validation.csv val val.2.s my.eval.s \
		 imdb_test.tsv; do
		cp "$S/test.s" "$S/n/$f"
		run sh -c "tl-augment -n 1 '$S/n/$f' 2>&1 >/dev/null"
		[[ "$output" == *"$f: split '"*"' (from the file name)"* ]] || { echo "not marked: $f"; false; }
	done
	for f in train.tsv latest.tsv devil.tsv contest.s devtest.tsv evaluation-notes.s data.test-x; do
		cp "$S/test.s" "$S/n/$f"
		run sh -c "tl-augment -n 1 '$S/n/$f' 2>&1 | tl-cat | grep -c '~aug'"
		[ "$output" -eq 1 ] || { echo "marked: $f"; false; }
	done
}

@test "tl-augment: split from the stream header; the record's field over the header over the file name" {
	run sh -c "{ printf '{\"tl\":1,\"kind\":\"header\",\"split\":\"dev\"}\n'; tl-cat '$S/in.mp'; } | tl-cat -t msgpack | tl-augment -n 2 2>'$S/err' | tl-cat | grep -c '~aug'"
	# records 1 and b have no split of their own (1) or say train (b)
	[ "$output" -eq 2 ]
	[ "$(cat "$S/err")" = "tl-augment: split 'dev' (from the stream header): records passed through without copies; --all augments them (keep those copies out of evaluation)" ]
	run sh -c "{ printf '{\"tl\":1,\"kind\":\"header\",\"split\":\"test\"}\n'; tl-cat '$S/in.mp'; } | tl-cat -t msgpack | tl-augment -n 2 --all 2>'$S/err' | tl-cat | grep -c '~aug'"
	[ "$output" -eq 8 ]
	[ "$(wc -l <"$S/err")" -eq 1 ]
	grep -q "^tl-augment: --all: augmenting records of split 'test' (from the stream header); their copies" "$S/err"
	# a header saying train wins over the file name
	{ printf '{"tl":1,"kind":"header","split":"train"}\n'; tl-cat "$S/in.mp"; } | tl-cat -t msgpack >"$S/dev.s"
	run sh -c "tl-augment -n 2 '$S/dev.s' 2>'$S/err' | tl-cat | grep -c '~aug'"
	[ "$output" -eq 4 ]
	[ ! -s "$S/err" ]
	# a record's own split wins over the file name
	cp "$S/in.mp" "$S/test.mp"
	run sh -c "tl-augment -n 2 '$S/test.mp' 2>'$S/err' | tl-cat | grep -c '~aug'"
	[ "$output" -eq 2 ] # only b, which says split train
	grep -q "test.mp: split 'test' (from the file name)" "$S/err"
}

@test "tl-augment: --all names the record's split field; a train file gives no warning" {
	run sh -c "tl-augment -n 1 --all '$S/in.mp' 2>&1 >/dev/null"
	[ "$output" = "tl-augment: record 3: --all: augmenting records of split 'dev' (from the record's 'split' field); their copies carry 'aug' and must be kept out of evaluation (tl-eval --exclude-augmented)" ]
	# without --all, records that name their split pass through quietly
	run sh -c "tl-augment -n 1 '$S/in.mp' 2>&1 >/dev/null"
	[ -z "$output" ]
	mktsv "$S/train.tsv"
	tl-clean "$S/train.tsv" 2>/dev/null | tl-augment -n 2 2>"$S/err" | tl-cat >"$S/o.jsonl"
	[ ! -s "$S/err" ]
	[ "$(grep -c '~aug' "$S/o.jsonl")" -eq 4 ]
}

@test "tl-augment: the ordinary pipeline (augment train, clean dev, train with --dev) is not refused" {
	d="$TL_SHARED/data/sst2"
	[ -f "$d/train.tsv" ] || skip "no $d/train.tsv"
	head -n 301 "$d/train.tsv" >"$S/train.tsv"
	head -n 101 "$d/dev.tsv" >"$S/dev.tsv"
	tl-clean "$S/train.tsv" 2>/dev/null | tl-augment -n 2 --ops rs,rd 2>"$S/err" >"$S/tr.s"
	[ ! -s "$S/err" ]
	tl-clean "$S/dev.tsv" 2>/dev/null >"$S/dev.s"
	# the dev file, augmented by mistake, is passed through with a warning
	run sh -c "tl-augment -n 2 --ops rs,rd '$S/dev.s' 2>&1 >/dev/null"
	[[ "$output" == *"dev.s: split 'dev' (from the file name)"* ]]
	run tl-train -q --epochs 1 --dim 10 -o "$S/m" --dev "$S/dev.s" "$S/tr.s"
	[ "$status" -eq 0 ]
	[[ "$output" != *refus* ]]
}
