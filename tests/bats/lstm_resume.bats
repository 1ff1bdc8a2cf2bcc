#!/usr/bin/env bats
# tl-train -m lstm-lm / -m lstm checkpoints and --resume (issue 19): a run
# SIGKILLed or interrupted mid-training and resumed writes the same model
# bytes as an uninterrupted one; damaged checkpoints, changed options and
# other data are refused.
load helpers

setup() {
	D=$BATS_TEST_TMPDIR
	for i in $(seq 1 60); do
		printf '{"id":%d,"text":"a great fun movie with a good story %d","label":"pos"}\n' "$i" "$((i % 7))"
		printf '{"id":%d,"text":"a dull boring film and a bad plot %d","label":"neg"}\n' "$((i + 100))" "$((i % 5))"
	done | mkstream >"$D/c.s"
	tl-tokenize --mode word --build-vocab "$D/v.txt" "$D/c.s" 2>/dev/null
	tl-tokenize --mode word --vocab "$D/v.txt" "$D/c.s" >"$D/c.ids"
	LM="--vocab $D/v.txt --emb 16 --hidden 24 --batch-size 4 --bptt 20 --threads 1 --epochs 3 --dev $D/c.ids"
}

@test "lstm-lm: SIGKILL mid-epoch, --resume: the same model bytes, dev figures and one log" {
	tl-train -m lstm-lm -q -o "$D/ref" $LM "$D/c.ids"
	# 15 windows per epoch (about 300 tokens per stream, windows of ~20):
	# killed after step 22 of epoch 2, the checkpoint of step 20 is left
	TL_FAULT_KILL_AT_STEP=22 run tl-train -m lstm-lm -q -o "$D/k" $LM --checkpoint-every 10 --log "$D/k.jsonl" "$D/c.ids"
	[ "$status" -eq 137 ]
	[ ! -e "$D/k" ]
	[ "$(jq -r .step "$D/k.ckpt/state.json")" = 20 ]
	[ "$(jq -r .epoch "$D/k.ckpt/state.json")" = 1 ]
	# the carried hidden state of the 4 streams is in the checkpoint
	grep -q '"h0.1"' "$D/k.ckpt/tensors.safetensors"
	run tl-train -m lstm-lm -o "$D/k" $LM --checkpoint-every 10 --log "$D/k.jsonl" --resume "$D/k.ckpt" "$D/c.ids"
	[ "$status" -eq 0 ]
	[[ "$output" == *"resuming from $D/k.ckpt at step 20 (epoch 2)"* ]]
	[[ "$output" == *"removed the checkpoint"* ]]
	cmp "$D/ref/model.safetensors" "$D/k/model.safetensors"
	[ "$(jq -c .dev "$D/ref/tl.json")" = "$(jq -c .dev "$D/k/tl.json")" ]
	[ ! -e "$D/k.ckpt" ]
	# the log: every step once (21, 22 cut back to the checkpoint), one resume event
	[ "$(jq -cs '[.[] | select(.step != null and .event == null) | .step]' "$D/k.jsonl")" = "$(seq -s, 1 45 | sed 's/^/[/; s/$/]/')" ]
	[ "$(jq -cs '[.[] | select(.event == "resume") | .step]' "$D/k.jsonl")" = "[20]" ]
	# --keep-checkpoint leaves it; resuming without --checkpoint-every
	TL_FAULT_KILL_AT_STEP=22 run tl-train -m lstm-lm -q -o "$D/z" $LM --checkpoint-every 10 "$D/c.ids"
	[ "$status" -eq 137 ]
	tl-train -m lstm-lm -q -o "$D/z" $LM --resume "$D/z.ckpt" --keep-checkpoint "$D/c.ids"
	cmp "$D/ref/model.safetensors" "$D/z/model.safetensors"
	[ -f "$D/z.ckpt/state.json" ]
}

@test "lstm --pretrained: SIGKILL during gradual unfreezing, --resume: the same bytes; SIGINT: exit 130, checkpoint" {
	tl-train -m lstm-lm -q -o "$D/lm" $LM "$D/c.ids"
	C="--pretrained $D/lm --head 8 --batch-size 8 --epochs 4 --threads 1 --dev $D/c.ids"
	tl-train -m lstm -q -o "$D/ref" $C "$D/c.ids"
	# 15 batches per epoch: step 22 is in epoch 2 (groups 2.. train)
	TL_FAULT_KILL_AT_STEP=22 run tl-train -m lstm -q -o "$D/k" $C --checkpoint-every 5 "$D/c.ids"
	[ "$status" -eq 137 ]
	[ "$(jq -c '[.step, .epoch, .position]' "$D/k.ckpt/state.json")" = "[20,1,5]" ]
	run tl-train -m lstm -q -o "$D/k" $C --checkpoint-every 5 --resume "$D/k.ckpt" "$D/c.ids"
	[ "$status" -eq 0 ]
	cmp "$D/ref/model.safetensors" "$D/k/model.safetensors"
	[ "$(jq -c .dev "$D/ref/tl.json")" = "$(jq -c .dev "$D/k/tl.json")" ]
	# a checkpoint at the end of an epoch (step 30 of 60) resumes at the next
	TL_FAULT_SIGINT_AT_STEP=30 run tl-train -m lstm -q -o "$D/i" $C "$D/c.ids"
	[ "$status" -eq 130 ]
	[[ "$output" == *"interrupted at step 30: checkpoint saved in $D/i.ckpt (continue with --resume $D/i.ckpt)"* ]]
	[ ! -e "$D/i" ]
	tl-train -m lstm -q -o "$D/i" $C --resume "$D/i.ckpt" "$D/c.ids"
	cmp "$D/ref/model.safetensors" "$D/i/model.safetensors"
	# from scratch (no unfreezing), checkpoint directory of its own
	S="--vocab $D/v.txt --emb 16 --hidden 16 --head 8 --batch-size 16 --epochs 3 --threads 1"
	tl-train -m lstm -q -o "$D/s" $S "$D/c.ids"
	TL_FAULT_KILL_AT_STEP=13 run tl-train -m lstm -q -o "$D/s2" $S --checkpoint-every 4 --checkpoint-dir "$D/cks" "$D/c.ids"
	[ "$status" -eq 137 ]
	tl-train -m lstm -q -o "$D/s2" $S --checkpoint-dir "$D/cks" --resume "$D/cks" "$D/c.ids"
	cmp "$D/s/model.safetensors" "$D/s2/model.safetensors"
	[ ! -e "$D/cks" ]
}

@test "lstm --resume: a half-written or damaged checkpoint is exit 5, changed options exit 2, other data exit 3" {
	TL_FAULT_SIGINT_AT_STEP=8 run tl-train -m lstm-lm -q -o "$D/r" $LM "$D/c.ids"
	[ "$status" -eq 130 ]
	cp -r "$D/r.ckpt" "$D/good"
	# tensors cut short (a copy interrupted, a disk that filled)
	f="$D/r.ckpt/tensors.safetensors"
	head -c $(($(stat -c %s "$f") / 2)) "$f" >"$D/half" && mv "$D/half" "$f"
	run tl-train -m lstm-lm -q -o "$D/r" $LM --resume "$D/r.ckpt" "$D/c.ids"
	[ "$status" -eq 5 ]
	[[ "$output" == *"--resume"*"tensors.safetensors"* ]]
	[ ! -e "$D/r" ]
	# state.json half written, missing
	rm -rf "$D/r.ckpt" && cp -r "$D/good" "$D/r.ckpt"
	head -c 100 "$D/good/state.json" >"$D/r.ckpt/state.json"
	run tl-train -m lstm-lm -q -o "$D/r" $LM --resume "$D/r.ckpt" "$D/c.ids"
	[ "$status" -eq 5 ]
	[[ "$output" == *"not a checkpoint"* ]]
	rm "$D/r.ckpt/state.json"
	run tl-train -m lstm-lm -q -o "$D/r" $LM --resume "$D/r.ckpt" "$D/c.ids"
	[ "$status" -eq 5 ]
	# a position field damaged
	jq '.window_rng = "xyz"' "$D/good/state.json" >"$D/r.ckpt/state.json"
	run tl-train -m lstm-lm -q -o "$D/r" $LM --resume "$D/r.ckpt" "$D/c.ids"
	[ "$status" -eq 5 ]
	[[ "$output" == *'no valid "window_rng"'* ]]
	# no checkpoint at all: I/O
	run tl-train -m lstm-lm -q -o "$D/r" $LM --resume "$D/nowhere" "$D/c.ids"
	[ "$status" -eq 4 ]
	# options that decide the result: exit 2 naming the option and both values
	run tl-train -m lstm-lm -q -o "$D/r" $LM --lr 1e-3 --resume "$D/good" "$D/c.ids"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--resume $D/good: --lr was 0.003 in the checkpoint, now 0.001"*"--allow-change lr"* ]]
	run tl-train -m lstm-lm -q -o "$D/r" $LM --threads 2 --resume "$D/good" "$D/c.ids"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--threads was 1 in the checkpoint, now 2"* ]]
	run tl-train -m lstm-lm -q -o "$D/r" $LM --bptt 30 --resume "$D/good" "$D/c.ids"
	[ "$status" -eq 2 ]
	run tl-train -m lstm-lm -q -o "$D/r" $LM --allow-change lrr --resume "$D/good" "$D/c.ids"
	[ "$status" -eq 2 ]
	[[ "$output" == *"'lrr' is not an option a resume compares"* ]]
	# a classifier cannot resume a language model's checkpoint
	run tl-train -m lstm -q -o "$D/r" --vocab "$D/v.txt" --threads 1 --resume "$D/good" "$D/c.ids"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--model was lstm-lm in the checkpoint, now lstm"* ]]
	# other training data
	tl-cat "$D/c.ids" | head -100 | mkstream >"$D/less.ids"
	run tl-train -m lstm-lm -q -o "$D/r" $LM --resume "$D/good" "$D/less.ids"
	[ "$status" -eq 3 ]
	[[ "$output" == *"made on other training data"* ]]
	# --allow-change: runs, says so, and is not the same run
	run tl-train -m lstm-lm -o "$D/r" $LM --lr 1e-3 --allow-change lr --keep-checkpoint --resume "$D/good" "$D/c.ids"
	[ "$status" -eq 0 ]
	[[ "$output" == *"--lr changed from 0.003 to 0.001 (--allow-change)"* ]]
	[ -f "$D/good/state.json" ]
	# --max-steps at the checkpoint's step: the model as it stands, no step run
	run tl-train -m lstm-lm -o "$D/m" $LM --max-steps 8 --allow-change max-steps --keep-checkpoint --log "$D/m.log" \
		--resume "$D/good" "$D/c.ids"
	[ "$status" -eq 0 ]
	[ "$(jq -r .steps "$D/m/tl.json")" = 8 ]
	! grep -q '"step":9' "$D/m.log"
}
