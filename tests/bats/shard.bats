#!/usr/bin/env bats
# Sharded scoring (man tl-cat, SHARDS): tl-cat --shard I/N, tl-predict on
# each shard, tl-cat --merge; and GNU parallel --pipe -k over JSON lines.
# Either way the records must be exactly those of one tl-predict run.
load helpers

setup() {
	T=$BATS_TEST_TMPDIR
	tl-clean "$TL_ROOT/examples/reviews.tsv" >"$T/r.s"
	tl-train -q -m linear --epochs 2 -o "$T/m" "$T/r.s"
	tl-predict -m "$T/m" "$T/r.s" | tl-cat >"$T/one.jsonl"
}

@test "shard: 4 shards through tl-cat --shard and --merge give the single-process output" {
	for i in 0 1 2 3; do
		tl-cat --shard $i/4 -t msgpack "$T/r.s" | tl-predict -m "$T/m" >"$T/p$i.s"
	done
	tl-cat --merge "$T/p0.s" "$T/p1.s" "$T/p2.s" "$T/p3.s" | tl-cat >"$T/merged.jsonl"
	[ "$(wc -l <"$T/one.jsonl")" -eq 196 ]
	cmp "$T/one.jsonl" "$T/merged.jsonl"
	# the shards are disjoint, round-robin, and keep the header
	[ "$(tl-cat "$T/p1.s" | head -1 | jq .id)" = 2 ]
	[ "$(tl-cat "$T/p1.s" | sed -n 2p | jq .id)" = 6 ]
	tl-cat -H --shard 3/4 "$T/r.s" | head -1 | grep -q '"kind":"header"'
}

@test "shard: 4 jobs of GNU parallel --pipe -k (or xargs -P and --merge) give the single-process output" {
	if command -v parallel >/dev/null; then
		tl-cat "$T/r.s" | parallel --pipe -k -N 30 -j4 "tl-cat | tl-predict -m $T/m" | tl-cat >"$T/par.jsonl"
	else
		# the documented form without GNU parallel (README, man tl-cat)
		printf '%s\n' 0 1 2 3 | xargs -P4 -I{} sh -c \
			"tl-cat --shard {}/4 -t msgpack $T/r.s | tl-predict -m $T/m >$T/x{}.s"
		tl-cat --merge "$T/x0.s" "$T/x1.s" "$T/x2.s" "$T/x3.s" | tl-cat >"$T/par.jsonl"
	fi
	cmp "$T/one.jsonl" "$T/par.jsonl"
}

@test "shard: more shards than records leaves some empty, and the merge still restores the order" {
	tl-cat "$T/r.s" | head -3 | tl-cat >"$T/three.s"
	tl-predict -m "$T/m" "$T/three.s" | tl-cat >"$T/three.jsonl"
	for i in 0 1 2 3 4; do
		tl-cat --shard $i/5 -t msgpack "$T/three.s" | tl-predict -m "$T/m" >"$T/q$i.s"
	done
	[ -z "$(tl-cat "$T/q4.s")" ]
	tl-cat --merge "$T/q0.s" "$T/q1.s" "$T/q2.s" "$T/q3.s" "$T/q4.s" | tl-cat >"$T/m3.jsonl"
	cmp "$T/three.jsonl" "$T/m3.jsonl"
}

@test "shard: tiny BERT (MiniLM, 8 records) in 2 shards gives the single-process vectors" {
	load bert_helpers
	need_model || skip "models/all-MiniLM-L6-v2 missing: run 'make models'"
	sample_stream 8 >"$T/b.s"
	tl-embed --threads 1 "$T/b.s" | tl-cat >"$T/b1.jsonl"
	for i in 0 1; do tl-cat --shard $i/2 -t msgpack "$T/b.s" | tl-embed --threads 1 >"$T/e$i.s"; done
	tl-cat --merge "$T/e0.s" "$T/e1.s" | tl-cat >"$T/b2.jsonl"
	[ "$(wc -l <"$T/b1.jsonl")" -eq 8 ]
	cmp "$T/b1.jsonl" "$T/b2.jsonl"
}

@test "shard: bad --shard and --merge input are refused" {
	run tl-cat --shard 4/4 "$T/r.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--shard: '4/4' is not I/N with 0 <= I < N"* ]]
	run tl-cat --shard 1 "$T/r.s"
	[ "$status" -eq 2 ]
	run tl-cat --shard -1/2 "$T/r.s"
	[ "$status" -eq 2 ]
	run tl-cat --shard 0/0 "$T/r.s"
	[ "$status" -eq 2 ]
	run tl-cat --shard 0/2 --merge "$T/r.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"give one"* ]]
	run tl-cat --merge
	[ "$status" -eq 2 ]
	# shards given out of order: sizes that round-robin cannot produce
	for i in 0 1 2; do tl-cat --shard $i/3 -t msgpack "$T/r.s" >"$T/s$i.s"; done
	run tl-cat --merge "$T/s1.s" "$T/s0.s" "$T/s2.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"s0.s has more records than"*"not the shards of one stream, in shard order"* ]]
	run tl-cat --merge "$T/s0.s" "$T/nope.s"
	[ "$status" -eq 4 ]
	printf '\201\244text\241a\201\244te' >"$T/bad.s"
	run tl-cat --merge "$T/s0.s" "$T/bad.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 2: "*"truncated record"* ]]
}
