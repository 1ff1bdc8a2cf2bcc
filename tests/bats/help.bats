#!/usr/bin/env bats
# Help consistency across tl-train's model kinds (issue 16 item 12).
load helpers

@test "help: tl-train --help points to the BERT options, -m bert --help lists them" {
	run tl-train --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"bert (its options:"*"tl-train -m bert --help)"* ]]
	[[ "$output" == *"-f, --force"* ]]
	run tl-train -m bert --help
	[ "$status" -eq 0 ]
	for o in --pretrained --batch-size --schedule --resume --allow-change --keep-checkpoint --progress-every -f; do
		[[ "$output" == *"$o"* ]]
	done
}

@test "help: -f is --force for every -m" {
	D="$BATS_TEST_TMPDIR"
	printf 'text\tlabel\ngood movie\tpos\nbad film\tneg\nnice one\tpos\nawful\tneg\n' | tl-clean >"$D/a.s"
	for m in fasttext linear; do
		tl-train -m "$m" -o "$D/$m" -q "$D/a.s"
		run tl-train -m "$m" -o "$D/$m" -q "$D/a.s"
		[ "$status" -eq 2 ]
		[[ "$output" == *"exists (use --force to replace it)"* ]]
		run tl-train -m "$m" -o "$D/$m" -q -f "$D/a.s"
		[ "$status" -eq 0 ]
		run tl-train -m "$m" -o "$D/$m" -qf "$D/a.s"
		[ "$status" -eq 0 ]
	done
	# bad input: -f takes no value
	run tl-train -m linear -o "$D/linear" -f=1 "$D/a.s"
	[ "$status" -eq 2 ]
}

@test "help: man tl-train documents the BERT progress cadence and the resume checks" {
	m="$TL_ROOT/man/tl-train.1"
	grep -q 'after every N-th optimizer step (default 50)' "$m"
	grep -q '10 seconds or more after the previous line' "$m"
	grep -q 'redrawn at most every 0.2' "$m"
	grep -q '^.It Fl \\-allow-change' "$m"
	grep -q '^.It Fl \\-keep-checkpoint' "$m"
}
