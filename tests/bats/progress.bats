#!/usr/bin/env bats
# Progress of the filter tools tl-embed and tl-predict (issue 16 item 15):
# a bar on a terminal, nothing on a pipe or file unless --progress[=S],
# nothing at all with -q. The terminal is made with script(1).
load helpers

TINY="$TL_ROOT/tests/ref/tiny_bert"

setup() {
	D="$BATS_TEST_TMPDIR"
	printf '%s\n' '{"ids":[2,5,6,3],"label":"a"}' '{"ids":[2,7,8,9,3],"label":"b"}' '{"ids":[2,10,3],"label":"a"}' \
		| mkstream >"$D/ids.s"
	printf 'text\tlabel\ngood movie\tpos\nbad film\tneg\nnice one\tpos\nawful\tneg\n' | tl-clean >"$D/t.s"
	[ -d "$D/lin" ] || tl-train -m linear -o "$D/lin" -q "$D/t.s"
}

# run a command on a pseudo-terminal; its stderr (and stdout) in $output
on_tty() {
	command -v script >/dev/null || { echo "script(1) is needed" >&2; return 1; }
	run script -qec "bash -c '$1'" /dev/null
}

@test "progress: quiet on a pipe by default, plain lines with --progress, nothing with -q" {
	for t in "tl-embed -m $TINY" "tl-predict -m $D/lin"; do
		in="$D/ids.s"
		[[ "$t" == tl-predict* ]] && in="$D/t.s"
		run sh -c "$t $in 2>&1 >/dev/null"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
		run sh -c "$t --progress=0 $in $in 2>&1 >/dev/null"
		[ "$status" -eq 0 ]
		tool=${t%% *}
		n=3; [ "$tool" = tl-predict ] && n=4
		# a line at each batch written (one per file here) and a final one
		[ "${lines[0]}" = "$tool: $n records, ${lines[0]#*records, }" ]
		[[ "${lines[1]}" == "$tool: $((2 * n)) records, "*"/s, elapsed 00:00" ]]
		[[ "${lines[-1]}" == "$tool: $((2 * n)) records, "* ]]
		# --progress: every 10 s, and the final line
		run sh -c "$t --progress $in 2>&1 >/dev/null"
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == "$tool: $n records, "* ]]
		run sh -c "$t -q --progress=0 $in 2>&1 >/dev/null"
		[ -z "$output" ]
		# the records are the same whatever the progress
		cmp <($t $in | tl-cat) <($t --progress=0 $in 2>/dev/null | tl-cat)
	done
}

@test "progress: a bar on a terminal, redrawn in place, none with -q" {
	# the second file comes 0.5 s later: past the 0.2 s between redraws
	for t in "tl-embed -m $TINY $D/ids.s" "tl-predict -m $D/lin $D/t.s"; do
		tool=${t%% *}
		in=${t##* }
		on_tty "$t <(sleep 0.5; cat $in) >/dev/null"
		[ "$status" -eq 0 ]
		[[ "$output" == *$'\r\033[K'"$tool: "*" records "*"/s 00:00"* ]]
		on_tty "$t -q <(sleep 0.5; cat $in) >/dev/null"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	done
}

@test "progress: bad --progress values are usage errors" {
	for v in -1 x 1e9 ''; do
		run tl-predict -m "$D/lin" --progress="$v" "$D/t.s"
		[ "$status" -eq 2 ]
		[[ "$output" == *"option --progress"* ]]
		run tl-embed -m "$TINY" --progress="$v" "$D/ids.s"
		[ "$status" -eq 2 ]
		[[ "$output" == *"option --progress"* ]]
	done
}
