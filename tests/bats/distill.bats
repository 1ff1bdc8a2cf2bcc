#!/usr/bin/env bats
# Knowledge distillation (issue 17): tl-predict --logits keeps a teacher's
# soft targets in the stream, tl-train -m bert --distill trains a student on
# them (fewer layers with --student-layers, the teacher's hidden states with
# --teacher), determinism and SIGKILL resume, bad input. The tiny random
# BERT of tests/ref/tiny_bert (2 layers, width 16) on the synthetic rule of
# train_bert.bats: label "pos" when id 30 occurs.
load helpers

TINY="$TL_ROOT/tests/ref/tiny_bert"

gen() { # seed n
	awk -v seed="$1" -v n="$2" 'BEGIN { srand(seed); for (i = 0; i < n; i++) {
		len = 3 + int(rand() * 8); hit = 0; s = "[2"
		for (j = 0; j < len; j++) { x = 5 + int(rand() * 35); if (rand() < 0.1) x = 30; if (x == 30) hit = 1; s = s "," x }
		printf "{\"id\":%d,\"ids\":%s,3],\"label\":\"%s\"}\n", i, s, hit ? "pos" : "neg" } }' | mkstream
}

tiny() { # out [args...]: the options every run here shares
	local out=$1
	shift
	tl-train -m bert -o "$out" --batch-size 16 --lr 2e-3 --threads 1 -q "$@"
}

setup_file() {
	export OMP_WAIT_POLICY=passive
	F="$BATS_FILE_TMPDIR"
	gen 1 300 >"$F/train.s"
	gen 2 100 >"$F/dev.s"
	# the teacher: the tiny 2-layer model fine-tuned on the labels
	tiny "$F/teacher" --pretrained "$TINY" --epochs 8 "$F/train.s"
	tl-predict -m "$F/teacher" --logits "$F/train.s" >"$F/soft.s"
}

setup() {
	F="$BATS_FILE_TMPDIR"
	D="$BATS_TEST_TMPDIR"
	export OMP_WAIT_POLICY=passive
}

# the stream as JSON lines with its header (-H), for editing with jq
json() { tl-cat -H "$1"; }

@test "distill: tl-predict --logits: the header names the logits' labels in their order" {
	run sh -c "tl-cat -H '$F/soft.s' | head -n 1 | jq -c '.predict.labels'"
	[ "$status" -eq 0 ]
	[ "$output" = '["neg","pos"]' ]
	[ "$(tl-cat "$F/soft.s" | head -n 1 | jq '.logits | length')" = 2 ]
	# --label-names renames "labels"; the model's own names stay in "label_ids"
	tl-predict -m "$F/teacher" --logits --label-names neg=negative,pos=positive "$F/dev.s" >"$D/r.s"
	[ "$(tl-cat -H "$D/r.s" | head -n 1 | jq -c '[.predict.labels, .predict.label_ids]')" = \
		'[["negative","positive"],["neg","pos"]]' ]
}

@test "distill: a 1-layer student from the teacher's logits: HF layout, loads in tl-predict, learns" {
	run tiny "$D/s" --pretrained "$F/teacher" --distill --student-layers 1 --epochs 6 --dev "$F/dev.s" "$F/soft.s"
	[ "$status" -eq 0 ]
	[ "$(jq -r .num_hidden_layers "$D/s/config.json")" = 1 ]
	[ "$(jq -r .num_hidden_layers "$F/teacher/config.json")" = 2 ]
	[ "$(jq -c .student_layers "$D/s/tl.json")" = '[0]' ]
	[ "$(jq -c '[.distill.temperature, .distill.alpha, .distill.teacher_labels_in_header, .distill.labelled_records]' \
		"$D/s/tl.json")" = '[2,0.5,true,300]' ]
	grep -q '"bert.encoder.layer.0.attention.self.query.weight"' "$D/s/model.safetensors"
	! grep -q '"bert.encoder.layer.1.' "$D/s/model.safetensors"
	# half the encoder's weights
	[ "$(stat -c %s "$D/s/model.safetensors")" -lt "$(stat -c %s "$F/teacher/model.safetensors")" ]
	acc=$(jq -r .dev.accuracy "$D/s/tl.json")
	echo "student dev accuracy $acc"
	awk -v a="$acc" 'BEGIN { exit !(a >= 0.85) }'
	# tl-predict reads it like any model and agrees with the dev figure
	tl-predict -m "$D/s" "$F/dev.s" | tl-cat | jq -s -e --argjson a "$acc" \
		'(map(select(.pred == .label)) | length) / length | . - $a | fabs < 1e-9'
}

@test "distill: soft targets only (records without labels) and a label order other than the teacher's" {
	# no label anywhere: alpha 1, the label set from the header
	json "$F/soft.s" | jq -c 'del(.label)' | mkstream >"$D/nolab.s"
	run tiny "$D/a" --pretrained "$TINY" --distill --epochs 2 --dev "$F/dev.s" "$D/nolab.s"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.distill.alpha, .distill.labelled_records]' "$D/a/tl.json")" = '[1,0]' ]
	[ "$(jq -c '[.id2label["0"], .id2label["1"]]' "$D/a/config.json")" = '["neg","pos"]' ]
	# labels on some records only: those mix in the hard loss
	json "$F/soft.s" | jq -c 'if (.id // -1) % 2 == 1 then del(.label) else . end' | mkstream >"$D/half.s"
	run tiny "$D/h" --pretrained "$TINY" --distill --epochs 1 "$D/half.s"
	[ "$status" -eq 0 ]
	[ "$(jq -r .distill.labelled_records "$D/h/tl.json")" = 150 ]
	# a teacher whose logits are in another order (pos, neg): permuted by name, same student bits
	json "$F/soft.s" | jq -c 'if .kind == "header" then .predict.labels = ["pos","neg"] else .logits |= [.[1], .[0]] end' |
		mkstream >"$D/swap.s"
	tiny "$D/x1" --pretrained "$TINY" --distill --epochs 1 "$F/soft.s"
	tiny "$D/x2" --pretrained "$TINY" --distill --epochs 1 "$D/swap.s"
	cmp "$D/x1/model.safetensors" "$D/x2/model.safetensors"
}

@test "distill: bad input: no logits, another label set or length, non-finite logits (exit 3)" {
	# a stream without logits: exit 3 naming the first record
	run tiny "$D/o" --pretrained "$TINY" --distill "$F/train.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'tl-train: record 1: '*'no "logits"'*'tl-predict -m TEACHER --logits'* ]]
	[ ! -e "$D/o" ]
	# logits stop at record 5
	json "$F/soft.s" | jq -c 'if .id == 4 then del(.logits) else . end' | mkstream >"$D/cut.s"
	run tiny "$D/o" --pretrained "$TINY" --distill "$D/cut.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 5: "*'no "logits"'* ]]
	# the header names other labels than the records' / --labels
	json "$F/soft.s" | jq -c 'if .kind == "header" then .predict.labels = ["x","y"] else . end' | mkstream >"$D/other.s"
	run tiny "$D/o" --pretrained "$TINY" --distill "$D/other.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: unknown label 'pos' (not in the teacher's label set, stream header)"* ]]
	printf 'neg\npos\n' >"$D/labels"
	run tiny "$D/o" --pretrained "$TINY" --distill --labels "$D/labels" "$D/other.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"the logits are over the teacher's labels (x, y; stream header), not over $D/labels (neg, pos): another label set"* ]]
	# a record with three logits where the teacher has two labels
	json "$F/soft.s" | jq -c 'if .id == 2 then .logits += [0.5] else . end' | mkstream >"$D/len.s"
	run tiny "$D/o" --pretrained "$TINY" --distill "$D/len.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 3: "*"3 logits, the teacher's label set in the stream header has 2 labels"* ]]
	# without a header: the count against the label set, and between records
	tl-cat "$D/len.s" | mkstream >"$D/nohdr.s"
	run tiny "$D/o" --pretrained "$TINY" --distill "$D/nohdr.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 3: "*"3 logits where record 1 has 2"* ]]
	tl-cat "$F/soft.s" | jq -c '.logits += [0.5]' | mkstream >"$D/three.s"
	run tiny "$D/o" --pretrained "$TINY" --distill "$D/three.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: "*"3 logits for the 2 labels of the data's labels"* ]]
	# a header after records without one; two headers naming different label orders
	tl-cat "$F/soft.s" | head -n 5 | mkstream >"$D/five.s"
	cat "$D/five.s" "$F/soft.s" >"$D/late.s"
	run tiny "$D/o" --pretrained "$TINY" --distill "$D/late.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"a stream header naming the teacher's labels after 5 records without one"* ]]
	json "$F/soft.s" | jq -c 'if .kind == "header" then .predict.labels = ["pos","neg"] else . end' | mkstream >"$D/rev.s"
	cat "$F/soft.s" "$D/rev.s" >"$D/two.s"
	run tiny "$D/o" --pretrained "$TINY" --distill "$D/two.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"a stream header names other teacher labels than the first one"* ]]
	# a NaN logit (float32 0x7fc00000) in record 1
	printf '\203\243ids\223\002\005\003\245label\243pos\246logits\222\312\177\300\000\000\312\000\000\000\000' >"$D/nan.s"
	run tiny "$D/o" --pretrained "$TINY" --distill "$D/nan.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: "*"logits[0] is nan, not a finite number"* ]]
	# not numbers
	tl-cat "$F/soft.s" | head -n 3 | jq -c '.logits = "high"' | mkstream >"$D/str.s"
	run tiny "$D/o" --pretrained "$TINY" --distill "$D/str.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: "*'"logits" is not a bin of float32'* ]]
	[ ! -e "$D/o" ]
}

@test "distill: bad options: T <= 0, alpha outside [0,1], students, teachers (exit 2)" {
	run tl-train -m bert --help
	for o in --distill --temperature --alpha --student-layers --teacher --hidden-weight; do
		[[ "$output" == *"$o"* ]]
	done
	grep -q '^.It Fl \\-distill' "$TL_ROOT/man/tl-train.1"
	grep -q '^.It Fl \\-student-layers' "$TL_ROOT/man/tl-train.1"
	for t in 0 -1 nan; do
		run tiny "$D/o" --pretrained "$TINY" --distill --temperature "$t" "$F/soft.s"
		[ "$status" -eq 2 ]
		[[ "$output" == *"--temperature"* ]]
	done
	for a in 1.5 -0.1; do
		run tiny "$D/o" --pretrained "$TINY" --distill --alpha "$a" "$F/soft.s"
		[ "$status" -eq 2 ]
		[[ "$output" == *"option --alpha: '$a' is not a number in [0, 1]"* ]]
	done
	run tiny "$D/o" --pretrained "$TINY" --temperature 3 "$F/soft.s"
	[ "$status" -eq 2 ]
	[ "$output" = "tl-train: option --temperature is for --distill" ]
	run tiny "$D/o" --pretrained "$TINY" --teacher "$F/teacher" "$F/soft.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--teacher is for --distill"* ]]
	run tiny "$D/o" --pretrained "$TINY" --distill --hidden-weight 2 "$F/soft.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--hidden-weight needs --teacher"* ]]
	run tiny "$D/o" --pretrained "$TINY" --distill --label-smoothing 0.1 "$F/soft.s"
	[ "$status" -eq 2 ]
	for s in 3 0 x 1,0 0,0 0,2 , 0,,1; do
		run tiny "$D/o" --pretrained "$TINY" --student-layers "$s" "$F/train.s"
		[ "$status" -eq 2 ]
		[[ "$output" == *"option --student-layers: '$s'"* ]]
	done
	run tiny "$D/o" --pretrained "$TINY" --distill --task token "$F/soft.s"
	[ "$status" -eq 2 ]
	[ ! -e "$D/o" ]
}

@test "distill: --teacher of another width is refused (exit 2)" {
	[ -f "$TL_ROOT/models/all-MiniLM-L6-v2/model.safetensors" ] || skip "models/all-MiniLM-L6-v2 missing: run 'make models'"
	run tiny "$D/o" --pretrained "$TINY" --distill --teacher "$TL_ROOT/models/all-MiniLM-L6-v2" "$F/soft.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"hidden size 384, the student's is 16: the hidden-state loss needs the same width"* ]]
}

@test "distill: --student-layers keeps the listed layers' weights" {
	# no update (--lr 0, no weight decay): the student's layers are the teacher's, renumbered
	hdr() { head -c 8 "$1" | od -An -t u8 | tr -d ' '; }
	bytes() { # file tensor -> its bytes in hex
		local n s e
		n=$(hdr "$1")
		read -r s e <<<"$(head -c $((8 + n)) "$1" | tail -c "$n" | jq -r --arg k "$2" '.[$k].data_offsets | "\(.[0]) \(.[1])"')"
		tail -c +$((9 + n + s)) "$1" | head -c $((e - s)) | od -An -v -t x1
	}
	tiny "$D/l1" --pretrained "$F/teacher" --student-layers 1, --lr 0 --max-steps 1 --weight-decay 0 "$F/train.s"
	tiny "$D/l2" --pretrained "$F/teacher" --student-layers 0,1 --lr 0 --max-steps 1 --weight-decay 0 "$F/train.s"
	[ "$(jq -r .num_hidden_layers "$D/l1/config.json")" = 1 ]
	[ "$(jq -c .student_layers "$D/l1/tl.json")" = '[1]' ]
	[ "$(jq -c .student_layers "$D/l2/tl.json")" = '[0,1]' ]
	t=bert.encoder.layer.1.output.dense.weight
	[ -n "$(bytes "$F/teacher/model.safetensors" $t)" ]
	[ "$(bytes "$D/l2/model.safetensors" $t)" = "$(bytes "$F/teacher/model.safetensors" $t)" ]
	[ "$(bytes "$D/l1/model.safetensors" bert.encoder.layer.0.attention.self.key.weight)" = \
		"$(bytes "$F/teacher/model.safetensors" bert.encoder.layer.1.attention.self.key.weight)" ]
	[ "$(bytes "$D/l1/model.safetensors" bert.encoder.layer.0.attention.self.key.weight)" != \
		"$(bytes "$F/teacher/model.safetensors" bert.encoder.layer.0.attention.self.key.weight)" ]
	[ "$(bytes "$D/l1/model.safetensors" classifier.weight)" = "$(bytes "$F/teacher/model.safetensors" classifier.weight)" ]
	# and tl-predict runs the 1-layer model
	tl-predict -m "$D/l1" "$F/dev.s" | tl-cat | jq -s -e 'length == 100'
}

@test "distill: --teacher adds the hidden-state loss; same bits twice; another seed differs" {
	tiny "$D/a" --pretrained "$TINY" --distill --teacher "$F/teacher" --epochs 2 "$F/soft.s"
	tiny "$D/b" --pretrained "$TINY" --distill --teacher "$F/teacher" --epochs 2 "$F/soft.s"
	cmp "$D/a/model.safetensors" "$D/b/model.safetensors"
	[ "$(jq -r .distill.hidden_weight "$D/a/tl.json")" = 1 ]
	tiny "$D/c" --pretrained "$TINY" --distill --epochs 2 "$F/soft.s"
	! cmp -s "$D/a/model.safetensors" "$D/c/model.safetensors"
	tiny "$D/d" --pretrained "$TINY" --distill --teacher "$F/teacher" --hidden-weight 0 --epochs 2 "$F/soft.s"
	cmp "$D/c/model.safetensors" "$D/d/model.safetensors"
	tiny "$D/e" --pretrained "$TINY" --distill --teacher "$F/teacher" --epochs 2 --seed 7 "$F/soft.s"
	! cmp -s "$D/a/model.safetensors" "$D/e/model.safetensors"
}

@test "distill: SIGKILL mid-epoch, then --resume, ends bitwise identical; a changed option is refused" {
	args=(--pretrained "$F/teacher" --distill --student-layers 1 --teacher "$F/teacher" --temperature 3 --alpha 0.7
		--epochs 3 --dev "$F/dev.s" --checkpoint-every 10)
	tiny "$D/ref" "${args[@]}" "$F/soft.s"
	TL_FAULT_KILL_AT_STEP=23 run tiny "$D/k" "${args[@]}" "$F/soft.s"
	[ "$status" -eq 137 ]
	[ "$(jq -r .step "$D/k.ckpt/state.json")" = 20 ]
	[ "$(jq -r '.options.temperature + " " + .options.alpha + " " + .options["student-layers"]' "$D/k.ckpt/state.json")" = "3 0.7 1" ]
	# another temperature, no --distill, another student: refused before any work
	run tiny "$D/k" "${args[@]}" --temperature 4 --resume "$D/k.ckpt" "$F/soft.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--temperature was 3 in the checkpoint, now 4"* ]]
	run tiny "$D/k" --pretrained "$F/teacher" --student-layers 1 --epochs 3 --dev "$F/dev.s" --checkpoint-every 10 \
		--resume "$D/k.ckpt" "$F/soft.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--distill was on in the checkpoint, now off"* ]]
	run tiny "$D/k" "${args[@]}" --student-layers 0,1 --resume "$D/k.ckpt" "$F/soft.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--student-layers was 1 in the checkpoint, now 0,1"* ]]
	[ ! -e "$D/k" ]
	run tiny "$D/k" "${args[@]}" --resume "$D/k.ckpt" "$F/soft.s"
	[ "$status" -eq 0 ]
	cmp "$D/ref/model.safetensors" "$D/k/model.safetensors"
	[ "$(jq -c .dev "$D/ref/tl.json")" = "$(jq -c .dev "$D/k/tl.json")" ]
}

@test "distill: bench/distill.sh runs from a checkout (BENCH_QUICK=1)" {
	[ -f "$TL_SHARED/data/sst2/train.tsv" ] || skip "no data under $TL_SHARED/data (../shared)"
	[ -f "$TL_ROOT/models/all-MiniLM-L6-v2/model.safetensors" ] || skip "models/all-MiniLM-L6-v2 missing: run 'make models'"
	: "${TL_BUILD:=$TL_ROOT/build}"
	cd "$TL_ROOT"
	BENCH_QUICK=1 run sh bench/distill.sh "$TL_BUILD/bin"
	[ "$status" -eq 0 ]
	grep -q '^{"model":"teacher","layers":6,"dev_accuracy":0\.[0-9]*,' <<<"$output"
	grep -q '^{"model":"distilled","layers":3,' <<<"$output"
	grep -q '^{"model":"labels","layers":3,' <<<"$output"
	[[ "$output" == *"student speed-up "*"x"* ]]
}

# ---- the fastText-class student (Tang et al. 2019): tl-train -m fasttext --distill ----

# The teacher's logits stream with a "text" ("w5 w30 ..." from the ids),
# header kept: what a fastText student reads.
ft_soft() {
	[ -s "$F/ftsoft.s" ] ||
		json "$F/soft.s" | jq -c 'if .ids then .text = (.ids | map("w" + tostring) | join(" ")) else . end' |
		mkstream >"$F/ftsoft.s"
	[ -s "$F/ftdev.s" ] ||
		tl-cat "$F/dev.s" | jq -c '.text = (.ids | map("w" + tostring) | join(" "))' | mkstream >"$F/ftdev.s"
}

ft() { # out [args...]
	local out=$1
	shift
	tl-train -m fasttext -o "$out" --dim 16 --epochs 10 --threads 1 -q "$@"
}

@test "distill: fasttext student from the BERT teacher's logits: learns, tl.json, loads in tl-predict, same bits twice" {
	ft_soft
	run ft "$D/s" --distill --temperature 3 --alpha 0.7 --dev "$F/ftdev.s" "$F/ftsoft.s"
	[ "$status" -eq 0 ]
	[ "$(jq -c .params.distill "$D/s/tl.json")" = '{"temperature":3.0,"alpha":0.69999999999999996,"teacher_labels":["neg","pos"]}' ] ||
		[ "$(jq -c '.params.distill | [.temperature, .alpha, .teacher_labels]' "$D/s/tl.json")" = '[3,0.7,["neg","pos"]]' ]
	acc=$(jq .metrics.dev_accuracy "$D/s/tl.json")
	awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'
	# the student predicts with tl-predict like any fastText model
	run sh -c "tl-predict -m '$D/s' '$F/ftdev.s' | tl-cat | head -n 1 | jq -r .pred"
	[ "$status" -eq 0 ]
	[[ "$output" == pos || "$output" == neg ]]
	# deterministic: the same run twice, and with 3 threads, gives the same bits
	ft "$D/s2" --distill --temperature 3 --alpha 0.7 "$F/ftsoft.s"
	ft "$D/s3" --distill --temperature 3 --alpha 0.7 --threads 3 "$F/ftsoft.s"
	cmp "$D/s/model.safetensors" "$D/s2/model.safetensors"
	cmp "$D/s/model.safetensors" "$D/s3/model.safetensors"
	# soft targets matter: another temperature gives other weights
	ft "$D/s4" --distill --temperature 1 --alpha 0.7 "$F/ftsoft.s"
	run cmp -s "$D/s/model.safetensors" "$D/s4/model.safetensors"
	[ "$status" -ne 0 ]
}

@test "distill: fasttext: soft targets only (no labels), a teacher order other than the sorted one" {
	ft_soft
	json "$F/ftsoft.s" | jq -c 'del(.label)' | mkstream >"$D/nolab.s"
	run ft "$D/s" --distill --dev "$F/ftdev.s" "$D/nolab.s"
	[ "$status" -eq 0 ]
	awk -v a="$(jq .metrics.dev_accuracy "$D/s/tl.json")" 'BEGIN { exit !(a >= 0.9) }'
	# the teacher lists (pos, neg): logits permuted by name, the same model
	json "$D/nolab.s" | jq -c 'if .kind == "header" then .predict.labels = ["pos","neg"] else .logits |= reverse end' |
		mkstream >"$D/rev.s"
	ft "$D/r" --distill "$D/rev.s"
	ft "$D/s2" --distill "$D/nolab.s"
	cmp "$D/r/model.safetensors" "$D/s2/model.safetensors"
	[ "$(jq -c .id2label "$D/r/config.json")" = '{"0":"neg","1":"pos"}' ]
}

@test "distill: fasttext: bad input and options (exit 3, exit 2)" {
	ft_soft
	# no logits
	run ft "$D/o" --distill "$F/ftdev.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'tl-train: record 1: no "logits" (--distill trains on a teacher'*'tl-predict -m TEACHER --logits'* ]]
	# a header naming another label set
	json "$F/ftsoft.s" | jq -c 'if .kind == "header" then .predict.labels = ["x","y"] else . end' | mkstream >"$D/other.s"
	run ft "$D/o" --distill "$D/other.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: unknown label 'pos' (not in the teacher's label set, stream header)"* ]]
	# wrong length, non-finite, not numbers
	json "$F/ftsoft.s" | jq -c 'if .id == 2 then .logits += [0.5] else . end' | mkstream >"$D/len.s"
	run ft "$D/o" --distill "$D/len.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 3: 3 logits, the teacher's label set in the stream header has 2 labels"* ]]
	printf '\203\244text\241a\245label\243pos\246logits\222\312\177\300\000\000\312\000\000\000\000' >"$D/nan.s"
	run ft "$D/o" --distill "$D/nan.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: logits[0] is nan, not a finite number"* ]]
	tl-cat "$F/ftsoft.s" | head -n 3 | jq -c '.logits = "high"' | mkstream >"$D/str.s"
	run ft "$D/o" --distill "$D/str.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 1: "logits" is not a bin of float32'* ]]
	# a header after records without one
	tl-cat "$F/ftsoft.s" | head -n 5 | mkstream >"$D/five.s"
	cat "$D/five.s" "$F/ftsoft.s" >"$D/late.s"
	run ft "$D/o" --distill "$D/late.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"a stream header naming the teacher's labels after 5 records without one"* ]]
	# no header: the count against the data's labels
	tl-cat "$F/ftsoft.s" | jq -c '.logits += [0.5]' | mkstream >"$D/three.s"
	run ft "$D/o" --distill "$D/three.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"3 logits for the 2 labels of the data's labels"* ]]
	# options: hs / ova loss, T <= 0, alpha outside [0, 1], KD options without --distill, BERT-only ones
	for l in hs ova; do
		run ft "$D/o" --distill --loss "$l" "$F/ftsoft.s"
		[ "$status" -eq 2 ]
		[[ "$output" == *"--distill trains with --loss softmax"* ]]
	done
	for t in 0 -1 nan; do
		run ft "$D/o" --distill --temperature "$t" "$F/ftsoft.s"
		[ "$status" -eq 2 ]
		[[ "$output" == *"option --temperature: '$t'"* ]]
	done
	run ft "$D/o" --distill --alpha 1.5 "$F/ftsoft.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --alpha: '1.5' is not a number in [0, 1]"* ]]
	run ft "$D/o" --temperature 3 "$F/ftsoft.s"
	[ "$status" -eq 2 ]
	[ "$output" = "tl-train: option --temperature is for --distill" ]
	run ft "$D/o" --distill --student-layers 0 "$F/ftsoft.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --student-layers is not for -m fasttext"* ]]
	run tl-train -m linear -o "$D/o" --distill -q "$F/ftsoft.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --distill is not for -m linear"* ]]
	[ ! -e "$D/o" ]
}
