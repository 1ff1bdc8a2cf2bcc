#!/usr/bin/env bats
# The fault catalogue of docs/FAULTS.md: every case of
# tests/faults/cases.tsv (a command, its standard input, the exit status and
# the standard-error message it must give) is run once by
# tests/faults/run.sh, and each test below checks one group of cases (one
# tool, or the inputs found by fuzzing): every case of the group ran and
# passed. The report of each case ("ok ID" / "not ok ID: why") is shown as a
# comment. The last test checks that docs/FAULTS.md documents every case and
# that every row of its fault tables names a test that exists.
load helpers

setup_file() {
	export OMP_WAIT_POLICY=passive
	TL_ROOT=$TL_ROOT TL_BIN=$TL_BIN sh "$TL_ROOT/tests/faults/run.sh" >"$BATS_FILE_TMPDIR/report" 2>&1 || true
}

# group PREFIX: the cases whose id starts with PREFIX- all passed
group() {
	local r="$BATS_FILE_TMPDIR/report"
	grep -E "^(not )?ok $1-" "$r" | sed 's/^/# /' >&3
	grep -A6 -E "^not ok $1-" "$r" | grep '^#' | sed 's/^/# /' >&3 || true
	local n fail
	n=$(grep -cE "^(not )?ok $1-" "$r")
	fail=$(grep -cE "^not ok $1-" "$r" || true)
	want=$(cut -f1 "$TL_ROOT/tests/faults/cases.tsv" | grep -c "^$1-")
	echo "# $1: $n of $want cases ran, $fail failed" >&3
	[ "$want" -gt 0 ]
	[ "$n" -eq "$want" ]
	[ "$fail" -eq 0 ]
}

@test "catalogue: the shared fixtures were made (tests/faults/setup.sh)" {
	! grep -q '^not ok setup' "$BATS_FILE_TMPDIR/report"
	grep -qE '^# [0-9]+ cases, [0-9]+ failed$' "$BATS_FILE_TMPDIR/report"
}
@test "catalogue: tl-clean's bad options, inputs and outputs" { group clean; }
@test "catalogue: tl-tokenize's bad options, vocabularies, inputs and outputs" { group tok; }
@test "catalogue: tl-augment's bad options, WordNet and synonym files, inputs" { group aug; }
@test "catalogue: tl-embed's bad options, models (config, weights), inputs" { group emb; }
@test "catalogue: tl-embed --bow/--tfidf/--word2vec: fitted files, options, outputs" { group feat; }
@test "catalogue: tl-embed --word2vec vectors" { group w2v; }
@test "catalogue: tl-train's bad options, data, outputs, signals" { group train; }
@test "catalogue: tl-predict's bad options, models, inputs, outputs" { group pred; }
@test "catalogue: tl-eval's bad options, records, outputs" { group eval; }
@test "catalogue: tl-cat's bad options, JSON, streams, gzip, outputs, pipes" { group cat; }
@test "catalogue: inputs found by fuzzing (tests/fuzz/corpus/*/crash-*)" { group fuzz; }

@test "catalogue: every case has a known group (a test above runs it)" {
	run sh -c "cut -f1 '$TL_ROOT/tests/faults/cases.tsv' | grep -v '^#' | grep . | grep -vE '^(clean|tok|aug|emb|feat|w2v|train|pred|eval|cat|fuzz)-'"
	[ -z "$output" ]
}

@test "catalogue: docs/FAULTS.md lists every case, and every fault row names an existing test (150 at least)" {
	run sh "$TL_ROOT/tests/faults/check_doc.sh"
	echo "$output" | sed 's/^/# /' >&3
	[ "$status" -eq 0 ]
}
