#!/usr/bin/env bats
# tl-eval --svg: the structure of the reliability diagram for a model of
# known calibration (over- and under-confident), its bin counts and ECE,
# and the confusion matrix's label names. Structure, not pixels.
load helpers

# calib over|under: 400 binary predictions whose calibration is known by
# construction. over: confidence 0.70..0.99, 55% right; under: confidence
# 0.50..0.79, 95% right. Three bins of 136, 132 and 132 records each.
calib() {
	awk -v mode="$1" 'BEGIN { for (i = 0; i < 400; i++) {
		if (mode == "over") { conf = 0.7 + 0.3 * ((i * 37) % 100) / 100; ok = ((i * 13) % 100) < 55 }
		else { conf = 0.5 + 0.3 * ((i * 37) % 100) / 100; ok = ((i * 13) % 100) < 95 }
		g = (i % 2) ? "pos" : "neg"; o = (g == "pos") ? "neg" : "pos"; p = ok ? g : o; q = (p == "pos") ? "neg" : "pos"
		printf "{\"id\":%d,\"label\":\"%s\",\"pred\":\"%s\",\"probs\":{\"%s\":%.4f,\"%s\":%.4f}}\n", i, g, p, p, conf, q, 1 - conf } }' |
		tl-cat -t msgpack >"$BATS_TEST_TMPDIR/$1.s"
}

# attr FILE CLASS ATTR: the values of ATTR of the elements with class="CLASS", one a line
attr() {
	grep -o "<[a-z]* class=\"$2\"[^>]*" "$1" | grep -o " $3=\"[^\"]*\"" | sed 's/^[^"]*"//; s/"$//'
}

# the y of the accuracy bar and of the confidence tick of each bin, "ya yc" a line
bars() {
	paste -d' ' <(attr "$1" acc y) <(attr "$1" conf y1)
}

@test "tl-eval --svg: an over-confident model: the confidence ticks above the accuracy bars, red gaps, ECE in the title" {
	calib over
	f=$BATS_TEST_TMPDIR/over.svg
	run tl-eval --svg "$f" "$BATS_TEST_TMPDIR/over.s"
	[ "$status" -eq 0 ]
	ece=$(printf '%s\n' "$output" | awk '$1 == "ECE" { print $2 }')
	[ "$ece" = "0.2985" ]
	if command -v xmllint >/dev/null; then xmllint --noout "$f"; fi
	grep -q "<text class=\"title\"[^>]*>Reliability diagram, ECE $ece</text>" "$f"
	grep -q 'class="reliability"[^>]* data-verdict="over-confident"' "$f"
	grep -q '>mean confidence 0.848, accuracy 0.550: over-confident<' "$f"
	# three non-empty bins, each with its bar, its tick, its gap, its count
	[ "$(attr "$f" bin data-n | tr '\n' ' ')" = "136 132 132 " ]
	[ "$(grep -c '<g class="bin"' "$f")" -eq 3 ]
	[ "$(grep -c '<rect class="acc"' "$f")" -eq 3 ]
	[ "$(grep -c '<line class="conf"' "$f")" -eq 3 ]
	[ "$(grep -c '<rect class="gap over"' "$f")" -eq 3 ]
	[ "$(grep -c 'class="gap under"' "$f")" -eq 0 ]
	[ "$(grep -c '<rect class="count"' "$f")" -eq 3 ]
	[ "$(grep -o '<text class="count"[^>]*>[0-9]*<' "$f" | sed 's/.*>\([0-9]*\)<$/\1/' | tr '\n' ' ')" = "136 132 132 " ]
	# the bar (accuracy) ends lower on the page than the tick (confidence): larger y
	run bars "$f"
	[ "${#lines[@]}" -eq 3 ]
	for l in "${lines[@]}"; do
		awk -v l="$l" 'BEGIN { split(l, a, " "); exit !(a[1] > a[2] + 30) }'
	done
	# the per-bin figures agree with the table
	[ "$(attr "$f" bin data-acc | head -1)" = "0.529412" ]
	[ "$(attr "$f" bin data-conf | head -1)" = "0.749500" ]
	# axis labels, the histogram's label, the diagonal, the legend of both gaps
	grep -q 'class="xlabel"[^>]*>confidence (max probability), 10 bins<' "$f"
	grep -q 'class="ylabel"[^>]*>accuracy in the bin<' "$f"
	grep -q 'class="hlabel"[^>]*>records<' "$f"
	grep -q '<line class="diagonal"' "$f"
	grep -q '>over-confident gap (conf &gt; acc)<' "$f"
	grep -q '>under-confident gap (acc &gt; conf)<' "$f"
}

@test "tl-eval --svg: an under-confident model: the accuracy bars above the confidence ticks, green gaps" {
	calib under
	f=$BATS_TEST_TMPDIR/under.svg
	run tl-eval --svg "$f" "$BATS_TEST_TMPDIR/under.s"
	[ "$status" -eq 0 ]
	ece=$(printf '%s\n' "$output" | awk '$1 == "ECE" { print $2 }')
	[ "$ece" = "0.3015" ]
	if command -v xmllint >/dev/null; then xmllint --noout "$f"; fi
	grep -q "<text class=\"title\"[^>]*>Reliability diagram, ECE $ece</text>" "$f"
	grep -q 'class="reliability"[^>]* data-verdict="under-confident"' "$f"
	[ "$(grep -c '<rect class="gap under"' "$f")" -eq 3 ]
	[ "$(grep -c 'class="gap over"' "$f")" -eq 0 ]
	[ "$(attr "$f" bin data-gap | sort -u)" = "under" ]
	run bars "$f"
	[ "${#lines[@]}" -eq 3 ]
	for l in "${lines[@]}"; do
		awk -v l="$l" 'BEGIN { split(l, a, " "); exit !(a[1] + 30 < a[2]) }'
	done
	# the accuracy bar is drawn whole (from its top to the axis), not covered:
	# its height is accuracy * 300 (the plot's side)
	h=$(attr "$f" acc height | head -1)
	acc=$(attr "$f" bin data-acc | head -1)
	awk -v h="$h" -v a="$acc" 'BEGIN { d = h - a * 300; exit !(d > -0.11 && d < 0.11) }'
}

@test "tl-eval --svg: more bins than room for numbers keeps the histogram; empty bins are not drawn" {
	calib over
	f=$BATS_TEST_TMPDIR/b40.svg
	tl-eval --bins 40 --svg "$f" "$BATS_TEST_TMPDIR/over.s" >/dev/null
	n=$(grep -c '<g class="bin"' "$f")
	[ "$n" -ge 10 ] && [ "$n" -le 12 ]
	[ "$(grep -c '<rect class="count"' "$f")" -eq "$n" ]
	[ "$(grep -c '<text class="count"' "$f")" -eq 0 ]
	[ "$(attr "$f" bin data-n | awk '{ s += $1 } END { print s }')" -eq 400 ]
	grep -q '<title>confidence \[0.975, 1.000\]: ' "$f"
	if command -v xmllint >/dev/null; then xmllint --noout "$f"; fi
}

@test "tl-eval --svg: no probabilities, no reliability diagram; label names escaped; bad --bins" {
	f=$BATS_TEST_TMPDIR/np.svg
	printf '%s\n' '{"label":"a<&>\"b","pred":"a<&>\"b"}' '{"label":"x","pred":"a<&>\"b"}' | tl-cat -t msgpack >"$BATS_TEST_TMPDIR/np.s"
	tl-eval --svg "$f" "$BATS_TEST_TMPDIR/np.s" >/dev/null
	grep -q 'Confusion matrix' "$f"
	! grep -q 'class="reliability"' "$f"
	grep -q '>a&lt;&amp;&gt;&quot;b<' "$f"
	if command -v xmllint >/dev/null; then xmllint --noout "$f"; fi
	run tl-eval --bins 0 --svg "$f" "$BATS_TEST_TMPDIR/np.s"
	[ "$status" -eq 2 ]
}
