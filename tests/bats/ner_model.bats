#!/usr/bin/env bats
# tl-train -m bert --task token and tl-predict on the token model (issue 22,
# the model side): training, the Hugging Face directory, determinism,
# resume, per-word predictions and entity spans, bad input. The tiny random
# BERT of tests/ref/tiny_bert (vocabulary of 40 ids, 16 positions) on
# synthetic sentences: word wK is id 5+K (K % 3 == 0 adds a second
# sub-token), words w20..w24 are PER, w25..w29 LOC, the rest O (IOB2).
load helpers

TINY="$TL_ROOT/tests/ref/tiny_bert"

gen_json() { # seed n
	awk -v seed="$1" -v n="$2" 'BEGIN { srand(seed); for (i = 0; i < n; i++) {
		nw = 2 + int(rand() * 5); ws = ""; ts = ""; ids = "[2"; wi = "[-1"; prev = "O"
		for (j = 0; j < nw; j++) {
			k = int(rand() * 30); if (rand() < 0.3) k = 20 + int(rand() * 10)
			ty = k >= 25 ? "LOC" : k >= 20 ? "PER" : ""
			tag = ty == "" ? "O" : (prev == ty ? "I-" ty : "B-" ty); prev = ty == "" ? "O" : ty
			ws = ws (j ? "," : "") "\"w" k "\""; ts = ts (j ? "," : "") "\"" tag "\""
			ids = ids "," (5 + k); wi = wi "," j
			if (k % 3 == 0) { ids = ids "," (35 + k % 5); wi = wi "," j }
		}
		printf "{\"id\":%d,\"words\":[%s],\"tags\":[%s],\"ids\":%s,3],\"word_ids\":%s,-1]}\n", i + 1, ws, ts, ids, wi } }'
}

setup() {
	D="$BATS_TEST_TMPDIR"
	[ -f "$D/train.s" ] || gen_json 1 300 | mkstream >"$D/train.s"
	[ -f "$D/dev.s" ] || gen_json 2 100 | mkstream >"$D/dev.s"
	export OMP_WAIT_POLICY=passive
}

tok_train() { # out [args...]
	local out=$1
	shift
	tl-train -m bert --task token --pretrained "$TINY" -o "$out" --epochs 8 --batch-size 16 --lr 5e-3 --threads 1 \
		-q "$@"
}

@test "ner_model: --task token writes a BertForTokenClassification directory and learns the tags" {
	run tok_train "$D/m" --dev "$D/dev.s" "$D/train.s"
	[ "$status" -eq 0 ]
	for f in config.json model.safetensors vocab.txt tokenizer_config.json tl.json; do [ -s "$D/m/$f" ]; done
	[ "$(jq -r '.architectures[0]' "$D/m/config.json")" = BertForTokenClassification ]
	# the label set: the sorted tags of the training stream
	[ "$(jq -r '[.id2label[]] | join(",")' "$D/m/config.json")" = "B-LOC,B-PER,I-LOC,I-PER,O" ]
	[ "$(jq -r '.label2id["I-PER"]' "$D/m/config.json")" = 3 ]
	[ "$(jq -r '.problem_type' "$D/m/config.json")" = null ]
	[ "$(jq -r .task "$D/m/tl.json")" = token ]
	# no pooler (transformers' token model has none); the head [K, C] and [K]
	hl=$(od -An -tu4 -N4 "$D/m/model.safetensors" | tr -d ' ')
	head -c $((8 + hl)) "$D/m/model.safetensors" | tail -c "$hl" >"$D/h.json"
	[ "$(jq -c '."classifier.weight".shape' "$D/h.json")" = "[5,16]" ]
	[ "$(jq -c '."classifier.bias".shape' "$D/h.json")" = "[5]" ]
	[ "$(jq '[keys[] | select(startswith("bert.pooler"))] | length' "$D/h.json")" = 0 ]
	# dev: the entity micro-F1 decides the best step; well above chance
	jq -e '.dev.entity_f1 > 0.6 and .dev.word_accuracy > 0.8 and .dev.records == 100' "$D/m/tl.json"
	# the best checkpoint is the one with the highest entity F1 of the log
	run tok_train "$D/l" --dev "$D/dev.s" --log "$D/l.jsonl" --epochs 3 "$D/train.s"
	[ "$status" -eq 0 ]
	best=$(jq -s '[.[] | select(.event == "eval") | .entity_f1] | max' "$D/l.jsonl")
	jq -e --argjson b "$best" '(.dev.entity_f1 - $b) | fabs < 1e-6' "$D/l/tl.json"
}

@test "ner_model: two runs give the same bits; SIGINT then --resume ends identical" {
	tok_train "$D/a" --epochs 3 --dev "$D/dev.s" "$D/train.s"
	tok_train "$D/b" --epochs 3 --dev "$D/dev.s" "$D/train.s"
	cmp "$D/a/model.safetensors" "$D/b/model.safetensors"
	tok_train "$D/c" --epochs 3 --seed 7 "$D/train.s"
	! cmp -s "$D/a/model.safetensors" "$D/c/model.safetensors"
	# 19 batches an epoch: step 25 is inside epoch 2
	TL_FAULT_SIGINT_AT_STEP=25 run tok_train "$D/i" --epochs 3 --dev "$D/dev.s" "$D/train.s"
	[ "$status" -eq 130 ]
	[ ! -e "$D/i" ]
	[ "$(jq -r .step "$D/i.ckpt/state.json")" = 25 ]
	# the options a resume compares include the task's metric
	[ "$(jq -r .options.metric "$D/i.ckpt/state.json")" = entity_f1 ]
	[ "$(jq -r .options.task "$D/i.ckpt/state.json")" = token ]
	tok_train "$D/i" --epochs 3 --dev "$D/dev.s" --resume "$D/i.ckpt" "$D/train.s"
	cmp "$D/a/model.safetensors" "$D/i/model.safetensors"
	[ "$(jq -c .dev "$D/a/tl.json")" = "$(jq -c .dev "$D/i/tl.json")" ]
}

@test "ner_model: tl-predict writes a tag per word and the entity spans" {
	tok_train "$D/m" "$D/train.s"
	tl-predict -m "$D/m" "$D/dev.s" | tl-cat >"$D/p.jsonl"
	[ "$(wc -l <"$D/p.jsonl")" -eq 100 ]
	# pred: one tag of the label set per word; gold tags pass through
	jq -e -s 'all(.[]; (.pred | length) == (.words | length) and (.tags | length) == (.words | length))' "$D/p.jsonl"
	jq -e -s '[.[].pred[]] | unique | all(.[]; IN("B-LOC","B-PER","I-LOC","I-PER","O"))' "$D/p.jsonl"
	# entities: word spans [start, end) whose first tag is B-/I-TYPE and the rest I-TYPE, text = the words
	jq -e -s 'all(.[]; . as $r | all(.entities[]; . as $e | ($r.pred[$e.start] | test("^[BI]-" + $e.type + "$"))
		and all($r.pred[$e.start + 1:$e.end][]; . == "I-" + $e.type)
		and $e.text == ($r.words[$e.start:$e.end] | join(" "))
		and ($e.end == ($r.pred | length) or $r.pred[$e.end] != "I-" + $e.type)))' "$D/p.jsonl"
	# every B- starts an entity
	jq -e -s 'all(.[]; ([.pred[] | select(startswith("B-"))] | length) <= (.entities | length))' "$D/p.jsonl"
	jq -e -s '[.[].entities | length] | add > 50' "$D/p.jsonl"
	# --threshold 1: no word is that sure, so everything is O and there are no entities
	tl-predict -m "$D/m" --threshold 1 "$D/dev.s" | tl-cat >"$D/t.jsonl"
	jq -e -s 'all(.[]; all(.pred[]; . == "O") and (.entities | length) == 0)' "$D/t.jsonl"
	# --logits: every id's scores, [ids x 5]
	tl-predict -m "$D/m" --logits "$D/dev.s" | tl-cat >"$D/l.jsonl"
	jq -e -s 'all(.[]; (.logits | length) == 5 * (.ids | length))' "$D/l.jsonl"
	# offsets give char_start/char_end and the text's own characters
	printf '%s\n' '{"text":"w21  w10 w25","words":["w21","w10","w25"],"offsets":[[0,3],[5,8],[9,12]],"ids":[2,26,15,30,3],"word_ids":[-1,0,1,2,-1]}' |
		mkstream | tl-predict -m "$D/m" | tl-cat >"$D/o.jsonl"
	jq -e 'all(.entities[]; .text == (.char_start as $a | .char_end as $b | "w21  w10 w25"[$a:$b]))' "$D/o.jsonl"
	# a word left without a sub-token (truncated) is O and counted in a warning
	printf '%s\n' '{"words":["w21","w10","w25"],"ids":[2,26,15,3],"word_ids":[-1,0,1,-1]}' | mkstream >"$D/cut.s"
	tl-predict -m "$D/m" "$D/cut.s" 2>"$D/cut.err" | tl-cat >"$D/cut.jsonl"
	[[ "$(cat "$D/cut.err")" == *"1 words of 1 records had no sub-token left"*"predicted O"* ]]
	[ "$(jq -r '.pred[2]' "$D/cut.jsonl")" = O ]
}

@test "ner_model: bad input is refused with the record and exit status" {
	# training records without word_ids / tags, tags and words of different lengths, empty sentences
	printf '%s\n' '{"ids":[2,7,3],"label":"x"}' | mkstream >"$D/nowid.s"
	run tl-train -m bert --task token --pretrained "$TINY" -o "$D/x" -q "$D/nowid.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: "*'no "word_ids"'* ]]
	printf '%s\n' '{"words":["w2"],"ids":[2,7,3],"word_ids":[-1,0,-1]}' | mkstream >"$D/notag.s"
	run tl-train -m bert --task token --pretrained "$TINY" -o "$D/x" -q "$D/notag.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 1: '*'no "tags"'* ]]
	{ gen_json 3 2; printf '%s\n' '{"words":["w2","w3"],"tags":["O"],"ids":[2,7,8,3],"word_ids":[-1,0,0,-1]}'; } |
		mkstream >"$D/len.s"
	run tl-train -m bert --task token --pretrained "$TINY" -o "$D/x" -q "$D/len.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 3: "*"1 tags for 2 words"* ]]
	printf '%s\n' '{"words":[],"tags":[],"ids":[2,3],"word_ids":[-1,-1]}' | mkstream >"$D/empty.s"
	run tl-train -m bert --task token --pretrained "$TINY" -o "$D/x" -q "$D/empty.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: "*"empty sentence"* ]]
	printf '%s\n' '{"words":["w2"],"tags":["O"],"ids":[2,7,3],"word_ids":[-1,4,-1]}' | mkstream >"$D/wid.s"
	run tl-train -m bert --task token --pretrained "$TINY" -o "$D/x" -q "$D/wid.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: "*"word_ids[1] = 4 outside -1..0"* ]]
	printf '%s\n' '{"words":["w2"],"tags":["O"],"ids":[2,7,3],"word_ids":[-1,0]}' | mkstream >"$D/widlen.s"
	run tl-train -m bert --task token --pretrained "$TINY" -o "$D/x" -q "$D/widlen.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'"word_ids" malformed or not as long as "ids"'* ]]
	# a dev tag the training data never had
	{ gen_json 4 3; printf '%s\n' '{"words":["w2"],"tags":["B-ORG"],"ids":[2,7,3],"word_ids":[-1,0,-1]}'; } |
		mkstream >"$D/devorg.s"
	run tok_train "$D/x" --epochs 1 --dev "$D/devorg.s" "$D/train.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"unknown tag 'B-ORG'"* ]]
	[ ! -e "$D/x" ]
	run tl-train -m bert --task words --pretrained "$TINY" -o "$D/x" "$D/train.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --task: unknown 'words' (sequence, token)"* ]]
	# tl-predict: records a token model cannot tag
	tok_train "$D/m" --epochs 1 "$D/train.s"
	run tl-predict -m "$D/m" "$D/nowid.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 1: no "words"'* ]]
	printf '%s\n' '{"words":["w2"],"ids":[2,7,3]}' | mkstream >"$D/pnowid.s"
	run tl-predict -m "$D/m" "$D/pnowid.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 1: no "word_ids"'* ]]
	run tl-predict -m "$D/m" "$D/empty.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: empty sentence"* ]]
	run tl-predict -m "$D/m" "$D/wid.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"word_ids[1] = 4 outside"* ]]
	run tl-predict -m "$D/m" --top-k 2 "$D/dev.s"
	[ "$status" -eq 2 ]
	# a gold tag outside the label set is passed through (scoring it is tl-eval's business)
	tl-predict -m "$D/m" "$D/devorg.s" | tl-cat >"$D/org.jsonl"
	[ "$(tail -1 "$D/org.jsonl" | jq -r '.tags[0]')" = B-ORG ]
}

@test "ner_model: --task token batches are not sorted by length by default (--bucket-window 1), as the Trainer's" {
	run tok_train "$D/w" --max-steps 2 --checkpoint-every 1 --keep-checkpoint "$D/train.s"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.options["bucket-window"]' "$D/w.ckpt/state.json")" = 1 ]
	run tok_train "$D/w50" --max-steps 2 --checkpoint-every 1 --keep-checkpoint --bucket-window 50 "$D/train.s"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.options["bucket-window"]' "$D/w50.ckpt/state.json")" = 50 ]
	! cmp -s "$D/w/model.safetensors" "$D/w50/model.safetensors"
	run tl-train -m bert --help
	[[ "$output" == *"--bucket-window N   batches per length-sorting window (50; --task token: 1)"* ]]
}

@test "ner_model: tl-train's dev pass gives tl-predict's tags (the same inference forward)" {
	run tok_train "$D/m" --dev "$D/dev.s" "$D/train.s"
	[ "$status" -eq 0 ]
	dev_matches_predict "$D/m" "$D/dev.s" 1e-9 accuracy:word_accuracy micro.f1:entity_f1
	# a model whose dev figures differ from tl-eval's would fail the check
	jq '.dev.word_accuracy -= 0.01' "$D/m/tl.json" >"$D/t.json" && mv "$D/t.json" "$D/m/tl.json"
	! dev_matches_predict "$D/m" "$D/dev.s" 1e-9 accuracy:word_accuracy micro.f1:entity_f1
}

@test "ner_model: MiniLM: the dev pass leaves the weights as they were, bit for bit, and gives tl-predict's figures" {
	MINILM="$TL_ROOT/models/all-MiniLM-L6-v2"
	[ -f "$MINILM/model.safetensors" ] || skip "models/all-MiniLM-L6-v2 not installed (make models)"
	dev_pass_keeps_weights "$D/train.s" "$D/dev.s" --task token
	dev_matches_predict "$D/wd" "$D/dev.s" 1e-9 accuracy:word_accuracy micro.f1:entity_f1
}
