#!/usr/bin/env bats
# Continued masked-LM pretraining (issue 18): tl-train -m bert --objective
# mlm on records with "ids" only, the BertForMaskedLM directory it writes
# (cls.predictions.*, no pooler or classifier), the dev MLM loss and
# perplexity, the head kept from a BertForMaskedLM checkpoint and fresh
# otherwise, fine-tuning and tl-embed from the written directory,
# determinism and SIGKILL resume, bad input. The tiny random BERT of
# tests/ref/tiny_bert (vocabulary of 40 ids); no Python.
#
# Not run by CI (needs Python with torch and transformers): that Hugging
# Face loads the directory as BertForMaskedLM with no missing weights and
# gives the logits of tl's forward of the same weights:
#   python3 tests/ref/mlm_hf_check.py DIR     (see that file)
load helpers
load tiny_bert

# n records of text only: ids [CLS] a a+1 a+2 .. [SEP] (wrapping in 5..39),
# so that a masked id is predictable from its neighbours
gen_text() { # seed n
	awk -v seed="$1" -v n="$2" 'BEGIN { srand(seed); for (i = 0; i < n; i++) {
		len = 3 + int(rand() * 8); a = int(rand() * 35); s = "[2"
		for (j = 0; j < len; j++) s = s "," 5 + (a + j) % 35
		printf "{\"id\":%d,\"ids\":%s,3]}\n", i, s } }' | mkstream
}

setup() {
	tiny_setup
	[ -f "$D/text.s" ] || gen_text 1 300 >"$D/text.s"
	[ -f "$D/tdev.s" ] || gen_text 2 60 >"$D/tdev.s"
}

mlm_train() { # out [args...]
	local out=$1
	shift
	tl-train -m bert --objective mlm --pretrained "$TINY" -o "$out" --epochs 3 --batch-size 16 --lr 2e-3 \
		--threads 1 -q "$@"
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
	tail -c +$((9 + n + b)) "$1" | head -c $((e - b)) | od -An -v -tx1 | tr -d ' \n'
}

@test "mlm: writes a BertForMaskedLM directory: cls.predictions.*, no pooler or classifier, tied decoder, tl.json" {
	mlm_train "$D/m" --dev "$D/tdev.s" --log "$D/m.jsonl" "$D/text.s"
	[ "$(jq -c .architectures "$D/m/config.json")" = '["BertForMaskedLM"]' ]
	jq -e 'has("id2label") or has("num_labels") or has("problem_type") | not' "$D/m/config.json"
	[ "$(jq -r .tie_word_embeddings "$D/m/config.json")" = true ]
	[ "$(st_keys "$D/m/model.safetensors" | grep -v '^bert\.\(embeddings\|encoder\)\.' | tr '\n' ' ')" = \
		"cls.predictions.bias cls.predictions.transform.LayerNorm.bias cls.predictions.transform.LayerNorm.weight cls.predictions.transform.dense.bias cls.predictions.transform.dense.weight " ]
	n=$(od -An -tu8 -N8 "$D/m/model.safetensors" | tr -d ' ')
	hdr=$(tail -c +9 "$D/m/model.safetensors" | head -c "$n")
	[ "$(jq -c '."cls.predictions.bias".shape' <<<"$hdr")" = "[40]" ]
	[ "$(jq -c '."cls.predictions.transform.dense.weight".shape' <<<"$hdr")" = "[16,16]" ]
	# the encoder is all there: 2 layers x 16 tensors + 5 embeddings
	[ "$(st_keys "$D/m/model.safetensors" | grep -c '^bert\.')" = 37 ]
	cmp "$TINY/vocab.txt" "$D/m/vocab.txt"
	[ -f "$D/m/tokenizer_config.json" ]
	[ "$(jq -r '[.task, .objective, .mlm.mask_prob, .mlm.whole_word_mask, .mlm.head_from_checkpoint] | @tsv' "$D/m/tl.json")" = \
		"$(printf 'mlm\tmlm\t0.15\tfalse\tfalse')" ]
	jq -e '.dev.mlm_loss > 0 and (.dev.perplexity - (.dev.mlm_loss | exp) | fabs < 1e-9) and .dev.masked_tokens > 0 and .dev.records == 60' "$D/m/tl.json"
	# one eval per epoch, logged with the loss and perplexity; the best is the one kept
	[ "$(grep -c '"event":"eval"' "$D/m.jsonl")" = 3 ]
	jq -e 'select(.event == "eval") | .perplexity > 1 and ((.perplexity - (.dev_loss | exp) | fabs) < 1e-3 * .perplexity)' "$D/m.jsonl" >/dev/null
	best=$(jq -s '[.[] | select(.event == "eval") | .dev_loss] | min' "$D/m.jsonl")
	jq -e --argjson b "$best" '.dev.mlm_loss - $b | fabs < 1e-6' "$D/m/tl.json"
	# the same masked tokens at every evaluation (a fixed masking of the dev stream)
	[ "$(jq -s '[.[] | select(.event == "eval") | .masked_tokens] | unique | length' "$D/m.jsonl")" = 1 ]
	[ ! -e "$D/m.ckpt" ]
}

@test "mlm: training lowers the dev MLM loss on predictable text; labels are ignored with a note" {
	mlm_train "$D/m" --dev "$D/tdev.s" --eval-every 40 --epochs 20 --lr 5e-3 --log "$D/m.jsonl" "$D/text.s"
	first=$(jq -s '[.[] | select(.event == "eval")][0].dev_loss' "$D/m.jsonl")
	jq -e --argjson f "$first" '.dev.mlm_loss < $f - 0.4' "$D/m/tl.json"
	# labelled records: trained on their ids, the label ignored (a warning says so)
	run tl-train -m bert --objective mlm --pretrained "$TINY" -o "$D/l" --max-steps 2 --threads 1 "$D/train.s"
	[ "$status" -eq 0 ]
	[[ "$output" == *'300 records carry a "label": --objective mlm ignores it'* ]]
	[ "$(jq -r .mlm.labels_ignored "$D/l/tl.json")" = 300 ]
}

@test "mlm: a fresh head from a BertModel; a BertForMaskedLM checkpoint's head is kept" {
	# --lr 0: the weights stay as initialised
	mlm_train "$D/z" --lr 0 --max-steps 2 "$D/text.s"
	[ "$(jq -r .mlm.head_from_checkpoint "$D/z/tl.json")" = false ]
	[ "$(st_hex "$D/z/model.safetensors" cls.predictions.transform.LayerNorm.weight)" = "$(printf '0000803f%.0s' $(seq 16))" ]
	[ "$(st_hex "$D/z/model.safetensors" cls.predictions.bias)" = "$(printf '00000000%.0s' $(seq 40))" ]
	[ "$(st_hex "$D/z/model.safetensors" cls.predictions.transform.dense.weight)" != "$(printf '00000000%.0s' $(seq 256))" ]
	# the encoder is the pretrained one
	for t in bert.embeddings.word_embeddings.weight bert.encoder.layer.1.output.dense.weight; do
		[ "$(st_hex "$D/z/model.safetensors" $t)" = "$(st_hex "$TINY/model.safetensors" $t)" ]
	done
	# from a trained BertForMaskedLM: its head (and encoder) come back
	mlm_train "$D/m" "$D/text.s"
	mlm_train "$D/m2" --pretrained "$D/m" --lr 0 --max-steps 2 --seed 7 "$D/text.s"
	[ "$(jq -r .mlm.head_from_checkpoint "$D/m2/tl.json")" = true ]
	for t in cls.predictions.transform.dense.weight cls.predictions.bias bert.encoder.layer.0.attention.self.query.weight; do
		[ "$(st_hex "$D/m2/model.safetensors" $t)" = "$(st_hex "$D/m/model.safetensors" $t)" ]
	done
	# and it goes on learning from there
	mlm_train "$D/m3" --pretrained "$D/m" --dev "$D/tdev.s" --epochs 1 "$D/text.s"
	mlm_train "$D/m4" --pretrained "$TINY" --dev "$D/tdev.s" --epochs 1 "$D/text.s"
	jq -e --slurpfile b "$D/m4/tl.json" '.dev.mlm_loss < $b[0].dev.mlm_loss' "$D/m3/tl.json"
}

@test "mlm: tl-train --pretrained fine-tunes the written directory (MLM head dropped); tl-embed encodes it" {
	mlm_train "$D/m" "$D/text.s"
	tiny_train "$D/c" --pretrained "$D/m" --dev "$D/dev.s" "$D/train.s"
	[ "$(jq -c .architectures "$D/c/config.json")" = '["BertForSequenceClassification"]' ]
	[ -z "$(st_keys "$D/c/model.safetensors" | grep '^cls\.')" ]
	st_keys "$D/c/model.safetensors" | grep -qx bert.pooler.dense.weight
	st_keys "$D/c/model.safetensors" | grep -qx classifier.weight
	[ "$(tl-predict -m "$D/c" "$D/dev.s" | tl-cat | jq -r .pred | grep -cE '^(pos|neg)$')" = 100 ]
	# lr 0: the classifier's encoder is the MLM model's, bit for bit
	tiny_train "$D/c0" --pretrained "$D/m" --lr 0 --max-steps 1 "$D/train.s"
	[ "$(st_hex "$D/c0/model.safetensors" bert.encoder.layer.1.output.dense.weight)" = \
		"$(st_hex "$D/m/model.safetensors" bert.encoder.layer.1.output.dense.weight)" ]
	# tl-embed: the MLM directory of an unchanged encoder (lr 0) embeds as the encoder it came from
	mlm_train "$D/z" --lr 0 --max-steps 1 "$D/text.s"
	tl-embed -m "$D/z" --threads 1 "$D/dev.s" | tl-cat | jq -c .vec >"$D/e1"
	tl-embed -m "$TINY" --threads 1 "$D/dev.s" | tl-cat | jq -c .vec >"$D/e2"
	[ "$(wc -l <"$D/e1")" = 100 ]
	cmp "$D/e1" "$D/e2"
	tl-embed -m "$D/m" --threads 1 "$D/dev.s" | tl-cat | jq -e '.vec | length == 16' >/dev/null
}

@test "mlm: bitwise deterministic; SIGKILL + --resume ends bitwise identical; the seed and --mask-prob change the run" {
	A=(--dev "$D/tdev.s" --whole-word-mask --mask-prob 0.2)
	mlm_train "$D/r1" "${A[@]}" "$D/text.s"
	mlm_train "$D/r2" "${A[@]}" "$D/text.s"
	cmp "$D/r1/model.safetensors" "$D/r2/model.safetensors"
	TL_FAULT_KILL_AT_STEP=33 run mlm_train "$D/k" "${A[@]}" --checkpoint-every 10 "$D/text.s"
	[ "$status" -eq 137 ]
	[ "$(jq -r .step "$D/k.ckpt/state.json")" = 30 ]
	[ "$(jq -r .options.objective "$D/k.ckpt/state.json")" = mlm ]
	run mlm_train "$D/k" "${A[@]}" --checkpoint-every 10 --resume "$D/k.ckpt" "$D/text.s"
	[ "$status" -eq 0 ]
	cmp "$D/r1/model.safetensors" "$D/k/model.safetensors"
	[ "$(jq -c .dev "$D/r1/tl.json")" = "$(jq -c .dev "$D/k/tl.json")" ]
	# a resume with another masking is another run: refused
	TL_FAULT_KILL_AT_STEP=15 run mlm_train "$D/k2" "${A[@]}" --checkpoint-every 10 "$D/text.s"
	run mlm_train "$D/k2" --dev "$D/tdev.s" --whole-word-mask --checkpoint-every 10 --resume "$D/k2.ckpt" "$D/text.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--mask-prob was 0.2 in the checkpoint, now 0.15"* ]]
	# nor does a classification run resume an MLM checkpoint
	run tiny_train "$D/k2" --checkpoint-every 10 --resume "$D/k2.ckpt" "$D/train.s"
	[ "$status" -ne 0 ]
	mlm_train "$D/s2" "${A[@]}" --seed 43 "$D/text.s"
	run cmp -s "$D/r1/model.safetensors" "$D/s2/model.safetensors"
	[ "$status" -eq 1 ]
	mlm_train "$D/p3" --dev "$D/tdev.s" --whole-word-mask --mask-prob 0.3 "$D/text.s"
	run cmp -s "$D/r1/model.safetensors" "$D/p3/model.safetensors"
	[ "$status" -eq 1 ]
}

@test "mlm: records with nothing to mask are skipped with one warning; a stream of only those is exit 3" {
	{ printf '%s\n' '{"ids":[2,3]}' '{"ids":[2,5,6,3]}' '{"ids":[2,1,3]}' '{"ids":[2,7,8,9,3]}'; } | mkstream >"$D/short.s"
	run tl-train -m bert --objective mlm --pretrained "$TINY" -o "$D/s" --threads 1 --epochs 1 "$D/short.s"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tl-train: $D/short.s: 2 records with no token to mask (only [CLS] [SEP] or other special tokens) skipped, the first is record 1"* ]]
	[ "$(grep -c 'no token to mask' <<<"$output")" = 1 ]
	[ "$(jq -r '[.train_records, .mlm.skipped_records] | @tsv' "$D/s/tl.json")" = "$(printf '2\t2')" ]
	printf '%s\n' '{"ids":[2,3]}' '{"ids":[2,4,3]}' | mkstream >"$D/none.s"
	run tl-train -m bert --objective mlm --pretrained "$TINY" -o "$D/n" --threads 1 "$D/none.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"tl-train: $D/none.s: no record has a token to mask (all 2 hold only special tokens such as [CLS] [SEP]; the first is record 1)"* ]]
	[ ! -e "$D/n" ]
	# a dev stream of only those: exit 3 too
	run mlm_train "$D/n" --dev "$D/none.s" "$D/text.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"no dev records with a token to mask"* ]]
}

@test "mlm: bad options and input (exit 2 / 3)" {
	for p in 0 1 abc -0.1 1.5; do
		run mlm_train "$D/o" --mask-prob "$p" "$D/text.s"
		[ "$status" -eq 2 ]
		[[ "$output" == *"option --mask-prob: '$p'"* ]]
	done
	run tiny_train "$D/o" --objective bogus "$D/train.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --objective: unknown 'bogus' (cls, mlm)"* ]]
	run tiny_train "$D/o" --mask-prob 0.2 "$D/train.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --mask-prob is for --objective mlm"* ]]
	run tiny_train "$D/o" --whole-word-mask "$D/train.s"
	[ "$status" -eq 2 ]
	for a in "--task token" "--distill" "--labels $D/l.txt" "--class-weights auto" "--metric macro_f1" \
		"--label-smoothing 0.1" "--task-weight a=2" "--source $D/text.s" "--domain-loss coral"; do
		run mlm_train "$D/o" $a "$D/text.s"
		[ "$status" -eq 2 ]
		[[ "$output" == *"--objective mlm: ${a%% *}"*"is for classification"* ]]
	done
	# multi-task records
	printf '%s\n' '{"ids":[2,5,6,3],"task":"a","label":"x"}' '{"ids":[2,7,8,3],"task":"b","label":"y"}' | mkstream >"$D/mt.s"
	run mlm_train "$D/o" "$D/mt.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *'--objective mlm: the records of '*'name a "task"'* ]]
	# a dev stream tokenized with another vocabulary: both sha256 named
	printf '%s\n' '{"tl":1,"kind":"header","tokenizer":{"vocab_sha256":"'"$(printf 'ab%.0s' $(seq 32))"'"}}' '{"ids":[2,5,6,3]}' \
		| mkstream >"$D/vocab.s"
	run mlm_train "$D/o" --dev "$D/vocab.s" "$D/text.s"
	[ "$status" -eq 3 ]
	sha=$(sha256sum "$TINY/vocab.txt" | cut -c1-12)
	[[ "$output" == *"$D/vocab.s: the stream was tokenized with another vocabulary (sha256 abababababab...)"* ]]
	[[ "$output" == *"$sha..."* ]]
	# no ids, ids outside the vocabulary: as for classification
	printf '%s\n' '{"text":"a"}' | mkstream >"$D/noids.s"
	run mlm_train "$D/o" "$D/noids.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *'record 1: '*'no "ids"'* ]]
	[ ! -e "$D/o" ]
}
