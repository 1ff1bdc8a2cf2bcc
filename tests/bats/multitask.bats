#!/usr/bin/env bats
# Multi-task learning (issue 17): records carrying "task", a head per task
# on one encoder (tl-train -m bert), the heads in the model directory
# (classifier + tl.heads.<task>.*, tl.json "tasks"), task sampling and
# loss weights, determinism and SIGKILL resume, tl-predict's maps and
# --task, tl-eval --by task, bad input. The tiny random BERT of
# tests/ref/tiny_bert on synthetic data; no Python.
load helpers

TINY="$TL_ROOT/tests/ref/tiny_bert"

# n records: ids [CLS] x.. [SEP] with x in 5..39, task "sent" (60%) or
# "topic"; sent: "pos" when id 30 occurs, else "neg"; topic: a, b or c
# from the first id mod 3.
gen() { # seed n
	awk -v seed="$1" -v n="$2" 'BEGIN { srand(seed); for (i = 0; i < n; i++) {
		len = 3 + int(rand() * 8); hit = 0; s = "[2"; task = rand() < 0.6 ? "sent" : "topic"
		for (j = 0; j < len; j++) { x = 5 + int(rand() * 35); if (rand() < 0.1) x = 30; if (x == 30) hit = 1
			if (j == 0) top = x % 3 == 0 ? "a" : x % 3 == 1 ? "b" : "c"; s = s "," x }
		printf "{\"id\":%d,\"ids\":%s,3],\"task\":\"%s\",\"label\":\"%s\"}\n", i, s, task,
			task == "sent" ? (hit ? "pos" : "neg") : top } }'
}

setup() {
	D="$BATS_TEST_TMPDIR"
	[ -f "$D/train.jsonl" ] || gen 1 300 >"$D/train.jsonl"
	[ -f "$D/train.s" ] || mkstream <"$D/train.jsonl" >"$D/train.s"
	[ -f "$D/dev.s" ] || gen 2 100 | mkstream >"$D/dev.s"
	export OMP_WAIT_POLICY=passive
}

mt_train() { # out [args...]
	local out=$1
	shift
	tl-train -m bert --pretrained "$TINY" -o "$out" --epochs 3 --batch-size 16 --lr 2e-3 --threads 1 -q "$@"
}

# the tensor names of a safetensors file (its JSON header), sorted
st_keys() {
	local n
	n=$(od -An -tu8 -N8 "$1" | tr -d ' ')
	tail -c +9 "$1" | head -c "$n" | jq -r 'keys[] | select(. != "__metadata__")' | sort
}

# the bytes of one tensor, as hex
st_hex() { # file name
	local n b e
	n=$(od -An -tu8 -N8 "$1" | tr -d ' ')
	read -r b e < <(tail -c +9 "$1" | head -c "$n" | jq -r --arg k "$2" '.[$k].data_offsets | "\(.[0]) \(.[1])"')
	tail -c +$((9 + n + b)) "$1" | head -c $((e - b)) | od -An -tx1 | tr -d ' \n'
}

@test "multitask: a head per task: classifier for the first, tl.heads.<task> for the others, tl.json tasks" {
	mt_train "$D/m" --dev "$D/dev.s" "$D/train.s"
	[ "$(st_keys "$D/m/model.safetensors" | grep -v '^bert\.' | tr '\n' ' ')" = \
		"classifier.bias classifier.weight tl.heads.topic.bias tl.heads.topic.weight " ]
	n=$(od -An -tu8 -N8 "$D/m/model.safetensors" | tr -d ' ')
	hdr=$(tail -c +9 "$D/m/model.safetensors" | head -c "$n")
	[ "$(jq -c '."tl.heads.topic.weight".shape' <<<"$hdr")" = "[3,16]" ]
	[ "$(jq -c '."classifier.weight".shape' <<<"$hdr")" = "[2,16]" ]
	# config.json is the first task's BertForSequenceClassification
	[ "$(jq -c '[.architectures[0], .id2label["0"], .id2label["1"], .num_labels]' "$D/m/config.json")" = \
		'["BertForSequenceClassification","neg","pos",2]' ]
	[ "$(jq -c '[.tasks[] | [.name, .labels, .multi_label, .weight, .bias, .train_records, .loss_weight]]' "$D/m/tl.json")" = \
		'[["sent",["neg","pos"],false,"classifier.weight","classifier.bias",167,1],["topic",["a","b","c"],false,"tl.heads.topic.weight","tl.heads.topic.bias",133,1]]' ]
	[ "$(jq -r .task_sampling.name "$D/m/tl.json")" = proportional ]
	# dev: each task's figures, and their mean
	jq -e '(.tasks[0].dev.accuracy + .tasks[1].dev.accuracy) / 2 - .dev.accuracy | fabs < 1e-12' "$D/m/tl.json"
	jq -e '.tasks[0].dev.accuracy > 0.6' "$D/m/tl.json"
}

@test "multitask: one task per batch; proportional sampling takes each task's batches once per epoch" {
	mt_train "$D/p" --log "$D/p.jsonl" "$D/train.s"
	# 167 sent and 133 topic records, batch 16: 11 + 9 batches an epoch, 3 epochs
	[ "$(jq -r 'select(.event == "step") | .task' "$D/p.jsonl" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')" = \
		"sent=33 topic=27 " ]
	mt_train "$D/u" --log "$D/u.jsonl" --task-sampling uniform "$D/train.s"
	[ "$(jq -s '[.[] | select(.event == "step")] | length' "$D/u.jsonl")" = 60 ]
	[ "$(jq -r 'select(.event == "step") | .task' "$D/u.jsonl" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')" != \
		"sent=33 topic=27 " ]
	mt_train "$D/t" --task-sampling temperature:2 "$D/train.s"
	jq -e '.task_sampling.name == "temperature" and .task_sampling.T == 2' "$D/t/tl.json"
	! cmp -s "$D/p/model.safetensors" "$D/u/model.safetensors"
}

@test "multitask: a task weight of 0 leaves its head at its initial value; weights are recorded" {
	mt_train "$D/a" --weight-decay 0 --task-weight topic=0 "$D/train.s"
	mt_train "$D/b" --weight-decay 0 --task-weight topic=0,sent=2 --lr 1e-3 "$D/train.s"
	[ "$(st_hex "$D/a/model.safetensors" tl.heads.topic.weight)" = "$(st_hex "$D/b/model.safetensors" tl.heads.topic.weight)" ]
	[ "$(st_hex "$D/a/model.safetensors" classifier.weight)" != "$(st_hex "$D/b/model.safetensors" classifier.weight)" ]
	[ "$(jq -c '[.tasks[].loss_weight]' "$D/b/tl.json")" = "[2,0]" ]
	[ "$(jq -r .task_weight "$D/b/tl.json")" = fixed ]
}

@test "multitask: uncertainty weighting learns a log variance per task" {
	mt_train "$D/u" --task-weight uncertainty:0.05 "$D/train.s"
	[ "$(jq -r .task_weight "$D/u/tl.json")" = uncertainty ]
	jq -e '[.tasks[].log_var | fabs > 0.01] | all' "$D/u/tl.json"
	jq -e '.tasks[0].log_var != .tasks[1].log_var' "$D/u/tl.json"
}

@test "multitask: bitwise deterministic, and SIGKILL + --resume ends bitwise identical (uncertainty, temperature)" {
	A=(--dev "$D/dev.s" --task-weight uncertainty:0.05 --task-sampling temperature:2)
	mt_train "$D/r1" "${A[@]}" "$D/train.s"
	mt_train "$D/r2" "${A[@]}" "$D/train.s"
	cmp "$D/r1/model.safetensors" "$D/r2/model.safetensors"
	TL_FAULT_KILL_AT_STEP=25 run mt_train "$D/k" "${A[@]}" --checkpoint-every 10 "$D/train.s"
	[ "$status" -eq 137 ]
	[ "$(jq -r .step "$D/k.ckpt/state.json")" = 20 ]
	jq -e '.task_log_var | length == 2' "$D/k.ckpt/state.json"
	run mt_train "$D/k" "${A[@]}" --checkpoint-every 10 --resume "$D/k.ckpt" "$D/train.s"
	[ "$status" -eq 0 ]
	cmp "$D/r1/model.safetensors" "$D/k/model.safetensors"
	[ "$(jq -c '[.tasks, .dev]' "$D/r1/tl.json")" = "$(jq -c '[.tasks, .dev]' "$D/k/tl.json")" ]
	# another sampling is another run: the resume refuses it
	TL_FAULT_KILL_AT_STEP=15 run mt_train "$D/k2" "${A[@]}" --checkpoint-every 10 "$D/train.s"
	run mt_train "$D/k2" --dev "$D/dev.s" --task-weight uncertainty:0.05 --checkpoint-every 10 --resume "$D/k2.ckpt" "$D/train.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--task-sampling was temperature:2 in the checkpoint, now proportional"* ]]
}

@test "multitask: tl-predict writes maps, a record's task picks its head, --task NAME; tl-eval --by task" {
	mt_train "$D/m" --dev "$D/dev.s" "$D/train.s"
	# no task on the record: pred task -> label, probs task -> {label: p}
	tl-cat "$D/dev.s" | jq -c 'del(.task)' | mkstream | tl-predict -m "$D/m" | tl-cat >"$D/map.jsonl"
	[ "$(jq -c '.pred | keys' "$D/map.jsonl" | sort -u)" = '["sent","topic"]' ]
	jq -e '(.probs.sent | add - 1 | fabs < 1e-5) and (.probs.topic | add - 1 | fabs < 1e-5)' "$D/map.jsonl" >/dev/null
	jq -e '.pred.topic as $p | .probs.topic | to_entries | max_by(.value).key == $p' "$D/map.jsonl" >/dev/null
	# the header lists the heads
	[ "$(tl-predict -m "$D/m" "$D/dev.s" | tl-cat -H | head -1 | jq -c '[.predict.tasks[] | [.name, .labels]]')" = \
		'[["sent",["neg","pos"]],["topic",["a","b","c"]]]' ]
	# a record's task: that head's plain pred and probs
	tl-predict -m "$D/m" "$D/dev.s" | tl-cat >"$D/own.jsonl"
	jq -e 'if .task == "sent" then (.pred | IN("neg", "pos")) else (.pred | IN("a", "b", "c")) end' "$D/own.jsonl" >/dev/null
	jq -e '.probs | keys | length <= 3' "$D/own.jsonl" >/dev/null
	# --task NAME: that head for every record
	tl-predict -m "$D/m" --task topic "$D/dev.s" | tl-cat >"$D/topic.jsonl"
	[ "$(jq -r .pred "$D/topic.jsonl" | sort -u | tr '\n' ' ')" != "" ]
	jq -e '.pred | IN("a", "b", "c")' "$D/topic.jsonl" >/dev/null
	# the map's entries are the --task outputs
	[ "$(jq -r .pred.topic "$D/map.jsonl")" = "$(jq -r .pred "$D/topic.jsonl")" ]
	# tl-eval --by task: each task's accuracy as the training's dev figures
	tl-predict -m "$D/m" "$D/dev.s" | tl-eval --json --by task >"$D/e1.json"
	jq -e --slurpfile t "$D/m/tl.json" '(.by.groups.sent.accuracy - $t[0].tasks[0].dev.accuracy | fabs < 1e-9) and
		(.by.groups.topic.accuracy - $t[0].tasks[1].dev.accuracy | fabs < 1e-9)' "$D/e1.json"
	# the same from the maps, the record's task restored
	paste -d '\t' <(jq -c . "$D/map.jsonl") <(tl-cat "$D/dev.s" | jq -r .task) |
		awk -F '\t' '{ sub(/}$/, ",\"task\":\"" $2 "\"}", $1); print $1 }' | mkstream |
		tl-eval --json --by task >"$D/e2.json"
	[ "$(jq -c '.by.groups | map_values(.accuracy)' "$D/e1.json")" = "$(jq -c '.by.groups | map_values(.accuracy)' "$D/e2.json")" ]
}

@test "multitask: bad input: unseen task at predict time, task on some records, unknown label, bad options" {
	mt_train "$D/m" "$D/train.s"
	# a task the model was not trained on: exit 3 naming the record and the task
	tl-cat "$D/dev.s" | head -3 | jq -c 'if .id == 2 then .task = "spam" else . end' | mkstream >"$D/spam.s"
	run tl-predict -m "$D/m" "$D/spam.s"
	[ "$status" -eq 3 ]
	[ "${lines[-1]}" = "tl-predict: record 3: task 'spam' was not seen in training (the model's tasks: sent, topic)" ]
	run tl-predict -m "$D/m" --task nope "$D/dev.s"
	[ "$status" -eq 2 ]
	[ "$output" = "tl-predict: option --task: 'nope' is not a task of the model (sent, topic)" ]
	# a single-task model has no --task
	head -40 "$D/train.jsonl" | jq -c 'select(.task == "sent") | del(.task)' | mkstream >"$D/one.s"
	mt_train "$D/one" "$D/one.s"
	run tl-predict -m "$D/one" --task sent "$D/dev.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"is not a multi-task model"* ]]
	# "task" on only some records: exit 3 naming the first record without it
	head -6 "$D/train.jsonl" | jq -c 'if .id == 3 or .id == 4 then del(.task) else . end' | mkstream >"$D/some.s"
	run mt_train "$D/x" "$D/some.s"
	[ "$status" -eq 3 ]
	[ "$output" = 'tl-train: record 4: '"$D"'/some.s: no "task" (earlier records name one: every record must name its task, or none)' ]
	head -6 "$D/train.jsonl" | jq -c 'if .id < 2 then del(.task) else . end' | mkstream >"$D/some2.s"
	run mt_train "$D/x" "$D/some2.s"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-train: record 1: "*"no \"task\" (record 3 names one"* ]]
	# a dev record without a task, with an unknown task, with a label not in its task's set
	tl-cat "$D/dev.s" | head -5 | jq -c 'if .id == 3 then del(.task) else . end' | mkstream >"$D/d1.s"
	run mt_train "$D/x" --dev "$D/d1.s" "$D/train.s"
	[ "$status" -eq 3 ]
	[ "$output" = 'tl-train: record 4: '"$D"'/d1.s: no "task" (earlier records name one: every record must name its task, or none)' ]
	tl-cat "$D/dev.s" | head -5 | jq -c 'if .id == 2 then .task = "spam" else . end' | mkstream >"$D/d2.s"
	run mt_train "$D/x" --dev "$D/d2.s" "$D/train.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 3: "*"task 'spam' is not a task of the training data (sent, topic)"* ]]
	tl-cat "$D/dev.s" | head -5 | jq -c 'if .task == "sent" then .label = "a" else . end' | mkstream >"$D/d3.s"
	run mt_train "$D/x" --dev "$D/d3.s" "$D/train.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"unknown label 'a' for task 'sent' (its labels: neg, pos)"* ]]
	# a task name that cannot name a tensor, a task that is not a string
	head -3 "$D/train.jsonl" | jq -c '.task = "a.b"' | mkstream >"$D/dot.s"
	run mt_train "$D/x" "$D/dot.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"task 'a.b' is not a name of at most 48 letters, digits"* ]]
	head -3 "$D/train.jsonl" | jq -c '.task = 7' | mkstream >"$D/num.s"
	run mt_train "$D/x" "$D/num.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: "*"\"task\" is not a non-empty string"* ]]
	# malformed --task-weight / --task-sampling: usage, exit 2, nothing written
	for w in sent= =1 sent=-1 sent=x sent uncertainty:0 uncertainty:x uncertaintyx "sent=1,,topic=1"; do
		run mt_train "$D/x" --task-weight "$w" "$D/train.s"
		[ "$status" -eq 2 ]
		[[ "$output" == "tl-train: option --task-weight: "* ]]
	done
	run mt_train "$D/x" --task-weight sports=1 "$D/train.s"
	[ "$status" -eq 2 ]
	[ "$output" = "tl-train: option --task-weight: 'sports' is not a task of the training data (sent, topic)" ]
	for s in temperature:0 temperature: random; do
		run mt_train "$D/x" --task-sampling "$s" "$D/train.s"
		[ "$status" -eq 2 ]
		[[ "$output" == "tl-train: option --task-sampling: "* ]]
	done
	# the options need records with tasks
	run mt_train "$D/x" --task-weight sent=1 "$D/one.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--task-weight is for multi-task training: the training records carry no \"task\""* ]]
	run mt_train "$D/x" --class-weights auto "$D/train.s"
	[ "$status" -eq 2 ]
	[ ! -e "$D/x" ]
}

@test "multitask: a multi-label head next to a single-label one" {
	jq -c 'if .task == "topic" then .label = [.label, "z"] else . end' "$D/train.jsonl" | mkstream >"$D/ml.s"
	mt_train "$D/ml" --log "$D/ml.jsonl" "$D/ml.s"
	[ "$(jq -c '[.tasks[] | [.name, .multi_label, .labels]]' "$D/ml/tl.json")" = \
		'[["sent",false,["neg","pos"]],["topic",true,["a","b","c","z"]]]' ]
	# config.json describes the first (single-label) head
	[ "$(jq -r .problem_type "$D/ml/config.json")" = single_label_classification ]
	tl-predict -m "$D/ml" "$D/dev.s" | tl-cat >"$D/mlp.jsonl"
	jq -e 'if .task == "topic" then (.pred | type == "array") and (.probs | keys == ["a","b","c","z"]) else (.pred | type == "string") end' \
		"$D/mlp.jsonl" >/dev/null
	# sigmoid per label: the topic probabilities need not sum to 1, the sentiment ones do
	jq -e 'select(.task == "sent") | .probs | add - 1 | fabs < 1e-5' "$D/mlp.jsonl" >/dev/null
	# one array label makes its task multi-label, as in a single-task stream
	jq -c 'if .id == 0 then .label = ["pos", "neg"] | .task = "sent" else . end' "$D/train.jsonl" | mkstream >"$D/bad.s"
	run mt_train "$D/x" "$D/bad.s"
	[ "$status" -eq 0 ]
	jq -e '.tasks[0].multi_label' "$D/x/tl.json"
}
