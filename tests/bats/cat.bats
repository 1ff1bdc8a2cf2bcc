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
