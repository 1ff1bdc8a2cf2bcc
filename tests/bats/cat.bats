#!/usr/bin/env bats
load helpers

@test "tl-cat: JSON lines round trip through a stream" {
	printf '{"id":1,"text":"a\\tb","ids":[101,102]}\n{"id":"x","label":["p","q"],"vec":[0.5,-1.25]}\n' >"$BATS_TEST_TMPDIR/in.jsonl"
	tl-cat "$BATS_TEST_TMPDIR/in.jsonl" >"$BATS_TEST_TMPDIR/s"
	run tl-cat "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"id":1,"text":"a\tb","ids":[101,102]}' ]
	[ "${lines[1]}" = '{"id":"x","label":["p","q"],"vec":[0.5,-1.25]}' ]
}

@test "tl-cat: ids are stored as int32 bins, vec as float32 bins" {
	run sh -c 'printf "{\"ids\":[1,2]}\n" | tl-cat | od -An -tx1 | tr -d " \n"'
	[ "$output" = "81a3696473c40801000000""02000000" ]
}

@test "tl-cat: TSV with chosen fields, tabs escaped" {
	run sh -c 'printf "{\"id\":1,\"text\":\"a\\\\tb\",\"label\":\"pos\"}\n" | tl-cat | tl-cat -t tsv -f label,text'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "label	text" ]
	[ "${lines[1]}" = 'pos	a\tb' ]
}

@test "tl-cat: header records hidden unless -H" {
	printf '{"tl":1,"kind":"header"}\n{"id":1}\n' | tl-cat >"$BATS_TEST_TMPDIR/s"
	run tl-cat "$BATS_TEST_TMPDIR/s"
	[ "$output" = '{"id":1}' ]
	run tl-cat -H "$BATS_TEST_TMPDIR/s"
	[ "${#lines[@]}" -eq 2 ]
}

@test "tl-cat: gzip input" {
	printf '{"id":1}\n' | tl-cat | gzip >"$BATS_TEST_TMPDIR/s.gz"
	run tl-cat "$BATS_TEST_TMPDIR/s.gz"
	[ "$output" = '{"id":1}' ]
}

@test "tl-cat: truncated stream is an error naming the record" {
	run sh -c 'printf "\201\241a\001\201\241a" | tl-cat'
	[ "$status" -eq 3 ]
	[[ "$output" == *"tl-cat: record 2: truncated record"* ]]
}

@test "tl-cat: a record that is not a map" {
	run sh -c 'printf "\223\001\002\003" | tl-cat'
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: not a map but array"* ]]
}

@test "tl-cat: invalid JSON line is an error naming the line" {
	run sh -c 'printf "{\"a\":1}\n{oops\n" | tl-cat'
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 2:"*"invalid JSON"* ]]
}

@test "tl-cat: empty input gives empty output" {
	run sh -c ': | tl-cat'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "tl-cat: bad option is a usage error" {
	run tl-cat --to xml
	[ "$status" -eq 2 ]
	run tl-cat --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run tl-cat --version
	[[ "$output" == "tl-cat (tl) "* ]]
}

@test "tl-cat: missing file" {
	run tl-cat /nonexistent/x
	[ "$status" -eq 4 ]
	[[ "$output" == "tl-cat: cannot open /nonexistent/x: No such file or directory" ]]
}

@test "tl-cat: closed pipe exits quietly" {
	yes '{"text":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}' | head -200000 | tl-cat >"$BATS_TEST_TMPDIR/big"
	run sh -c "tl-cat '$BATS_TEST_TMPDIR/big' | head -1"
	[ "$status" -eq 0 ]
	[ "$output" = '{"text":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}' ]
}

@test "tl-cat: several inputs: an empty file, JSON lines and a stream, headers in the second" {
	d=$BATS_TEST_TMPDIR
	printf '{"id":1}\n{"id":2}\n' >"$d/a.jsonl"
	: >"$d/empty"
	printf '{"tl":1,"kind":"header"}\n{"id":3}\n' | tl-cat >"$d/b.s"
	run tl-cat -t jsonl "$d/a.jsonl" "$d/empty" "$d/b.s"
	[ "$status" -eq 0 ]
	[ "$output" = '{"id":1}
{"id":2}
{"id":3}' ]
	run sh -c "tl-cat -t msgpack '$d/b.s' '$d/empty' '$d/b.s' | tl-cat -H"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[2]}" = '{"tl":1,"kind":"header"}' ]
}

@test "tl-cat: a missing second file is reported after the first file's records" {
	printf '{"id":1}\n' | tl-cat >"$BATS_TEST_TMPDIR/a.s"
	run tl-cat "$BATS_TEST_TMPDIR/a.s" /nonexistent/x
	[ "$status" -eq 4 ]
	[ "${lines[0]}" = '{"id":1}' ]
	[ "${lines[1]}" = "tl-cat: cannot open /nonexistent/x: No such file or directory" ]
}

@test "tl-cat: a full disk is a write error (exit 4)" {
	[ -w /dev/full ] || skip "no /dev/full"
	yes '{"text":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}' | head -5000 >"$BATS_TEST_TMPDIR/in.jsonl"
	run sh -c "tl-cat -t msgpack '$BATS_TEST_TMPDIR/in.jsonl' >/dev/full"
	[ "$status" -eq 4 ]
	[ "$output" = "tl-cat: write error: No space left on device" ]
	run sh -c "tl-cat '$BATS_TEST_TMPDIR/in.jsonl' | tl-cat >/dev/full"
	[ "$status" -eq 4 ]
	[ "$output" = "tl-cat: write error: No space left on device" ]
}

@test "tl-cat: -f is honoured for every output, msgpack too (JSON lines in, stream out)" {
	D="$BATS_TEST_TMPDIR"
	printf '%s\n' '{"tl":1,"kind":"header","x":1}' '{"id":1,"text":"a","label":"p"}' '{"id":2,"label":"q"}' >"$D/in.jsonl"
	tl-cat -f label,text,label "$D/in.jsonl" >"$D/s"
	run tl-cat -H "$D/s"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"tl":1,"kind":"header","x":1}' ]
	[ "${lines[1]}" = '{"label":"p","text":"a"}' ]
	[ "${lines[2]}" = '{"label":"q"}' ]
	# stream in, stream out
	tl-cat "$D/in.jsonl" | tl-cat -t msgpack -f id | tl-cat >"$D/o"
	[ "$(cat "$D/o")" = "$(printf '{"id":1}\n{"id":2}')" ]
	# JSON lines out
	[ "$(tl-cat -t jsonl -f text "$D/in.jsonl")" = "$(printf '{"text":"a"}\n{}')" ]
}

# n records, labels a (1 in 4) and b, text t0..t(n-1)
split_input() {
	awk -v n="$1" 'BEGIN { printf "{\"tl\":1,\"kind\":\"header\",\"tokenizer\":{\"name\":\"x\"}}\n"
		for (i = 0; i < n; i++) printf "{\"id\":%d,\"text\":\"t%d\",\"label\":\"%s\"}\n", i, i, (i % 4 == 0) ? "a" : "b" }'
}

@test "tl-cat --split: two files, stratified by label, deterministic, input order kept, headers in both" {
	D="$BATS_TEST_TMPDIR"
	split_input 200 | tl-cat >"$D/all.s"
	run tl-cat --split dev=0.1 --seed 1 -o "$D" "$D/all.s"
	[ "$status" -eq 0 ]
	[[ "$output" == *"200 records: 180 in $D/train.s, 20 in $D/dev.s (dev=0.1 of each of 2 values of \"label\")"* ]]
	# stratified: 5 of the 50 a, 15 of the 150 b
	[ "$(tl-cat "$D/dev.s" | jq -r .label | sort | uniq -c | tr -s ' ' | tr '\n' ';')" = " 5 a; 15 b;" ]
	# together they are the input, each in input order, no record twice
	[ "$( (tl-cat "$D/train.s"; tl-cat "$D/dev.s") | jq .id | sort -n | tr '\n' ' ')" = "$(seq 0 199 | tr '\n' ' ')" ]
	tl-cat "$D/train.s" | jq .id | sort -nc
	tl-cat "$D/dev.s" | jq .id | sort -nc
	# the header goes to both (tools check the tokenizer there)
	[ "$(tl-cat -H "$D/dev.s" | head -1 | jq -r .kind)" = header ]
	[ "$(tl-cat -H "$D/train.s" | head -1 | jq -r .kind)" = header ]
	# same seed, same split (also from JSON lines); another seed, another split
	mkdir "$D/b" "$D/c"
	split_input 200 | tl-cat --split dev=0.1 --seed 1 -o "$D/b"
	cmp "$D/dev.s" "$D/b/dev.s"
	cmp "$D/train.s" "$D/b/train.s"
	tl-cat --split dev=0.1 --seed 2 -o "$D/c" "$D/all.s" 2>/dev/null
	! cmp -s "$D/dev.s" "$D/c/dev.s"
	# existing outputs are kept unless --force
	run tl-cat --split dev=0.1 --seed 2 -o "$D" "$D/all.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"train.s exists (use --force to replace it)"* ]]
	cmp "$D/dev.s" "$D/b/dev.s"
	run tl-cat --split dev=0.1 --seed 2 --force -o "$D" "$D/all.s"
	[ "$status" -eq 0 ]
	cmp "$D/dev.s" "$D/c/dev.s"
	# --no-stratify: 10% of the whole; -t jsonl: .jsonl files with the NAME given
	mkdir "$D/n"
	run tl-cat --split test=0.25 --no-stratify -t jsonl -o "$D/n" "$D/all.s"
	[ "$status" -eq 0 ]
	[[ "$output" == *"150 in $D/n/train.jsonl, 50 in $D/n/test.jsonl (test=0.25, not stratified)"* ]]
	[ "$(wc -l <"$D/n/test.jsonl")" -eq 50 ]
	# --stratify on another field
	printf '%s\n' '{"g":1,"label":"a"}' '{"g":1,"label":"a"}' '{"g":2,"label":"a"}' '{"g":2,"label":"b"}' >"$D/g.jsonl"
	mkdir "$D/g"
	tl-cat --split dev=0.5 --stratify g -t jsonl -o "$D/g" "$D/g.jsonl"
	[ "$(jq -r .g "$D/g/dev.jsonl" | sort | tr '\n' ' ')" = "1 2 " ]
}

@test "tl-cat --split: bad input (fraction out of range, unknown field, missing field, no records)" {
	D="$BATS_TEST_TMPDIR"
	split_input 20 | tl-cat >"$D/all.s"
	for bad in dev=0 dev=1 dev=1.5 dev=-0.1 dev=abc dev= dev 0.1 =0.1 train=0.1 'd/v=0.1' dev=0.1x; do
		run tl-cat --split "$bad" -o "$D" "$D/all.s"
		[ "$status" -eq 2 ]
		[[ "$output" == *"option --split"* ]]
	done
	run tl-cat --split dev=2 -o "$D" "$D/all.s"
	[[ "$output" == *"the fraction '2' is not a number between 0 and 1 (exclusive)"* ]]
	run tl-cat --split dev=0.1 --stratify nope -o "$D" "$D/all.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'no record has a field "nope"'* ]]
	printf '%s\n' '{"label":"a"}' '{"label":"b"}' '{"text":"x"}' >"$D/miss.jsonl"
	run tl-cat --split dev=0.5 -o "$D" "$D/miss.jsonl"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 3: no "label" to stratify on (--no-stratify splits without it)'* ]]
	: >"$D/empty"
	run tl-cat --split dev=0.5 -o "$D" "$D/empty"
	[ "$status" -eq 3 ]
	[[ "$output" == *"no records"* ]]
	run tl-cat --split dev=0.5 -o "$D/nowhere" "$D/all.s"
	[ "$status" -eq 4 ]
	run tl-cat --split dev=0.5 --stratify "" -o "$D" "$D/all.s"
	[ "$status" -eq 2 ]
	run tl-cat --seed 3 "$D/all.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"are for --split"* ]]
	run tl-cat --split dev=0.5 -o "$D" "$D/nofile"
	[ "$status" -eq 4 ]
	# no failed run left anything behind
	[ -z "$(ls "$D" | grep -v '^all.s$\|^miss.jsonl$\|^empty$')" ]
}
