#!/usr/bin/env bats
# tl-train -m lstm-lm / -m lstm (issue 19), tl-predict and tl-embed on their
# model directories, and their bad input.
load helpers

# A small labelled corpus, tokenized at word level with its own vocabulary
# (v.txt), and a second vocabulary (w.txt) that differs.
setup() {
	D=$BATS_TEST_TMPDIR
	for i in $(seq 1 60); do
		printf '{"id":%d,"text":"a great fun movie with a good story %d","label":"pos"}\n' "$i" "$((i % 7))"
		printf '{"id":%d,"text":"a dull boring film and a bad plot %d","label":"neg"}\n' "$((i + 100))" "$((i % 5))"
	done | mkstream >"$D/c.s"
	tl-tokenize --mode word --build-vocab "$D/v.txt" "$D/c.s" 2>/dev/null
	tl-tokenize --mode word --vocab "$D/v.txt" "$D/c.s" >"$D/c.ids"
	{ cat "$D/v.txt"; echo extra; } >"$D/w.txt"
	tl-tokenize --mode word --vocab "$D/w.txt" "$D/c.s" >"$D/w.ids"
	LM="--vocab $D/v.txt --emb 16 --hidden 24 --batch-size 4 --bptt 20 --threads 1"
}

sha() { sha256sum "$1" | cut -c1-64; }

@test "lstm-lm: model directory, dev perplexity in tl.json, --log lines, same seed same bits" {
	run tl-train -m lstm-lm -o "$D/lm" $LM --epochs 2 --dev "$D/c.ids" --log "$D/log" "$D/c.ids"
	[ "$status" -eq 0 ]
	[[ "$output" == *"epoch 2: train loss"*"dev perplexity"* ]]
	for f in config.json model.safetensors tl.json vocab.txt; do [ -f "$D/lm/$f" ]; done
	grep -q '"model_type": "tl-lstm"' "$D/lm/config.json"
	grep -q '"mode": "lm"' "$D/lm/config.json"
	grep -q "\"vocab_sha256\": \"$(sha "$D/v.txt")\"" "$D/lm/tl.json"
	cmp "$D/v.txt" "$D/lm/vocab.txt"
	# a perplexity between 1 and the vocabulary size (25)
	p=$(grep '"perplexity"' "$D/lm/tl.json" | sed 's/[^0-9.]*\([0-9.]*\).*/\1/')
	awk -v p="$p" 'BEGIN { exit !(p > 1 && p < 25) }'
	grep -q '"step":1,' "$D/log"
	grep -q '"dev_perplexity"' "$D/log"
	run tl-train -m lstm-lm -q -o "$D/lm2" $LM --epochs 2 "$D/c.ids"
	[ "$status" -eq 0 ]
	run tl-train -m lstm-lm -q -o "$D/lm3" $LM --epochs 2 "$D/c.ids"
	cmp "$D/lm2/model.safetensors" "$D/lm3/model.safetensors"
	run tl-train -m lstm-lm -q -o "$D/lm4" $LM --epochs 2 --seed 9 "$D/c.ids"
	! cmp -s "$D/lm2/model.safetensors" "$D/lm4/model.safetensors"
}

@test "lstm-lm --precision bf16: the decoder and the LSTM layers in bf16, same bits on every bf16 path below AMX and after a resume; refusals" {
	run tl-train -m lstm-lm -q -o "$D/f" $LM --epochs 2 --dev "$D/c.ids" "$D/c.ids"
	[ "$status" -eq 0 ]
	run tl-train -m lstm-lm -q -o "$D/f2" $LM --epochs 2 --precision fp32 "$D/c.ids"
	[ "$status" -eq 0 ]
	cmp "$D/f/model.safetensors" "$D/f2/model.safetensors"
	jq -e '.precision == "fp32"' "$D/f2/tl.json"
	run tl-train -m lstm-lm -q -o "$D/b" $LM --epochs 2 --precision bf16 --dev "$D/c.ids" "$D/c.ids"
	[ "$status" -eq 0 ]
	jq -e '.precision == "bf16"' "$D/b/tl.json"
	# the saved model stays fp32, in the same layout
	grep -q '"model_type": "tl-lstm"' "$D/b/config.json"
	[ "$(stat -c %s "$D/b/model.safetensors")" -eq "$(stat -c %s "$D/f/model.safetensors")" ]
	! cmp -s "$D/f/model.safetensors" "$D/b/model.safetensors"
	# dev perplexity within 2% of fp32's
	jq -n --slurpfile f "$D/f/tl.json" --slurpfile b "$D/b/tl.json" \
		'($b[0].dev.perplexity / $f[0].dev.perplexity - 1) | fabs < 0.02' | grep -qx true
	# the same bits again, and on the lower paths of the bf16 products this
	# CPU has (AVX-512F without vdpbf16ps, the C reference); AMX tiles give
	# their own bits, so where the CPU has them the lower paths are compared
	# with TL_ISA=vnni's run (vdpbf16ps) and AMX's with fp32's perplexity
	run tl-train -m lstm-lm -q -o "$D/b2" $LM --epochs 2 --precision bf16 --dev "$D/c.ids" "$D/c.ids"
	cmp "$D/b/model.safetensors" "$D/b2/model.safetensors"
	ref=$D/b
	if grep -qw amx_bf16 /proc/cpuinfo; then
		TL_ISA=vnni run tl-train -m lstm-lm -q -o "$D/bv" $LM --epochs 2 --precision bf16 --dev "$D/c.ids" "$D/c.ids"
		[ "$status" -eq 0 ]
		! cmp -s "$D/b/model.safetensors" "$D/bv/model.safetensors"
		jq -n --slurpfile f "$D/f/tl.json" --slurpfile b "$D/bv/tl.json" \
			'($b[0].dev.perplexity / $f[0].dev.perplexity - 1) | fabs < 0.02' | grep -qx true
		ref=$D/bv
	fi
	isas=avx2
	grep -qw avx512f /proc/cpuinfo && isas="avx512 avx2"
	for isa in $isas; do
		TL_ISA=$isa run tl-train -m lstm-lm -q -o "$D/b2" --force $LM --epochs 2 --precision bf16 --dev "$D/c.ids" "$D/c.ids"
		[ "$status" -eq 0 ]
		cmp "$ref/model.safetensors" "$D/b2/model.safetensors"
	done
	# interrupted (SIGINT: checkpoint, 130) and resumed: the same bytes
	TL_FAULT_SIGINT_AT_STEP=5 run tl-train -m lstm-lm -q -o "$D/r" $LM --epochs 2 --precision bf16 --dev "$D/c.ids" "$D/c.ids"
	[ "$status" -eq 130 ]
	run tl-train -m lstm-lm -q -o "$D/r" $LM --epochs 2 --precision fp32 --dev "$D/c.ids" --resume "$D/r.ckpt" "$D/c.ids"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--precision was bf16 in the checkpoint, now fp32"* ]]
	run tl-train -m lstm-lm -q -o "$D/r" $LM --epochs 2 --precision bf16 --dev "$D/c.ids" --resume "$D/r.ckpt" "$D/c.ids"
	[ "$status" -eq 0 ]
	cmp "$D/b/model.safetensors" "$D/r/model.safetensors"
	# refusals: int8 and unknown precisions, for both models
	for p in int8 fp16; do
		for mm in lstm-lm lstm; do
			run tl-train -m $mm -q -o "$D/x" --vocab "$D/v.txt" --precision $p "$D/c.ids"
			[ "$status" -eq 2 ]
			[[ "$output" == *"--precision: '$p': fp32 or bf16"* ]]
			[ ! -e "$D/x" ]
		done
	done
}

@test "lstm --precision bf16: the classifier's LSTM in bf16 learns the task, same bits twice and on the paths below AMX, resume" {
	CLS="--vocab $D/v.txt --emb 16 --hidden 24 --layers 2 --head 8 --batch-size 8 --epochs 6 --threads 1"
	run tl-train -m lstm -q -o "$D/f" $CLS --dev "$D/c.ids" "$D/c.ids"
	[ "$status" -eq 0 ]
	jq -e '.precision == "fp32"' "$D/f/tl.json"
	run tl-train -m lstm -o "$D/b" $CLS --precision bf16 --dev "$D/c.ids" "$D/c.ids"
	[ "$status" -eq 0 ]
	[[ "$output" == *"epoch 6: train loss"*"dev accuracy 1.0000"* ]]
	jq -e '.precision == "bf16"' "$D/b/tl.json"
	! cmp -s "$D/f/model.safetensors" "$D/b/model.safetensors"
	# the model is fp32 and classifies as well under tl-predict
	run sh -c 'tl-predict -m "$1/b" "$1/c.ids" | tl-eval' _ "$D"
	[[ "$output" == *"accuracy         1.0000"* ]]
	run tl-train -m lstm -q -o "$D/b2" $CLS --precision bf16 --dev "$D/c.ids" "$D/c.ids"
	cmp "$D/b/model.safetensors" "$D/b2/model.safetensors"
	ref=$D/b
	if grep -qw amx_bf16 /proc/cpuinfo; then
		TL_ISA=vnni run tl-train -m lstm -q -o "$D/bv" $CLS --precision bf16 "$D/c.ids"
		[ "$status" -eq 0 ]
		ref=$D/bv
		TL_ISA=avx512 run tl-train -m lstm -q -o "$D/b3" $CLS --precision bf16 "$D/c.ids"
		cmp "$ref/model.safetensors" "$D/b3/model.safetensors"
	fi
	# interrupted and resumed: the same bytes; another precision refused
	TL_FAULT_SIGINT_AT_STEP=20 run tl-train -m lstm -q -o "$D/r" $CLS --precision bf16 --dev "$D/c.ids" "$D/c.ids"
	[ "$status" -eq 130 ]
	run tl-train -m lstm -q -o "$D/r" $CLS --dev "$D/c.ids" --resume "$D/r.ckpt" "$D/c.ids"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--precision was bf16 in the checkpoint, now fp32"* ]]
	run tl-train -m lstm -q -o "$D/r" $CLS --precision bf16 --dev "$D/c.ids" --resume "$D/r.ckpt" "$D/c.ids"
	[ "$status" -eq 0 ]
	cmp "$D/b/model.safetensors" "$D/r/model.safetensors"
}

@test "lstm-lm --pretrained continues; a stream of another vocabulary is refused naming both sha256s" {
	tl-train -m lstm-lm -q -o "$D/lm" $LM "$D/c.ids"
	run tl-train -m lstm-lm -q -o "$D/lm2" --pretrained "$D/lm" --batch-size 4 --threads 1 "$D/c.ids"
	[ "$status" -eq 0 ]
	grep -q '"pretrained"' "$D/lm2/tl.json"
	! cmp -s "$D/lm/model.safetensors" "$D/lm2/model.safetensors"
	cmp "$D/lm/vocab.txt" "$D/lm2/vocab.txt"
	run tl-train -m lstm-lm -q -o "$D/lm3" --pretrained "$D/lm" --batch-size 4 "$D/w.ids"
	[ "$status" -eq 3 ]
	[[ "$output" == *"$(sha "$D/w.txt")"* ]]
	[[ "$output" == *"$(sha "$D/v.txt")"* ]]
	[ ! -e "$D/lm3" ]
}

@test "lstm from scratch: learns a separable task; tl-predict pred/probs; tl-embed 3E-float vec" {
	run tl-train -m lstm -o "$D/c" --vocab "$D/v.txt" --emb 16 --hidden 24 --layers 2 --head 8 --batch-size 8 \
		--epochs 6 --threads 1 --dev "$D/c.ids" "$D/c.ids"
	[ "$status" -eq 0 ]
	[[ "$output" == *"epoch 6: train loss"*"dev accuracy 1.0000"* ]]
	grep -q '"mode": "classifier"' "$D/c/config.json"
	grep -q '"id2label"' "$D/c/config.json"
	tl-predict -m "$D/c" "$D/c.ids" | tl-cat >"$D/pred.jsonl"
	[ "$(grep -c '"pred"' "$D/pred.jsonl")" -eq 120 ]
	grep -q '"probs"' "$D/pred.jsonl"
	run sh -c 'tl-predict -m "$1/c" "$1/c.ids" | tl-eval'  _ "$D"
	[ "$status" -eq 0 ]
	[[ "$output" == *"accuracy         1.0000"* ]]
	tl-embed -m "$D/c" "$D/c.ids" | tl-cat -H >"$D/emb.jsonl"
	grep -q '"pool":"concat"' "$D/emb.jsonl"
	grep -q '"dim":48' "$D/emb.jsonl"
	[ "$(sed -n 2p "$D/emb.jsonl" | grep -o '"vec":\[[^]]*\]' | tr ',' '\n' | wc -l)" -eq 48 ]
	# the language model gives features too
	tl-train -m lstm-lm -q -o "$D/lm" $LM "$D/c.ids"
	[ "$(tl-embed -m "$D/lm" "$D/c.ids" | tl-cat | head -1 | grep -o '"vec":\[[^]]*\]' | tr ',' '\n' | wc -l)" -eq 48 ]
	# but it does not classify
	run tl-predict -m "$D/lm" "$D/c.ids"
	[ "$status" -eq 5 ]
	[[ "$output" == *"a language model"* ]]
}

@test "lstm --pretrained: gradual unfreezing one group per epoch, discriminative rates, vocabulary checked" {
	tl-train -m lstm-lm -q -o "$D/lm" $LM --epochs 2 "$D/c.ids"
	run tl-train -m lstm -o "$D/c" --pretrained "$D/lm" --head 8 --batch-size 8 --epochs 5 --threads 1 --log "$D/log" \
		"$D/c.ids"
	[ "$status" -eq 0 ]
	# 2 layers: groups 0 (embedding), 1, 2, 3 (head); epoch 1 trains group 3 only
	for e in 1 2 3 4 5; do
		g=$(grep "\"epoch\":$e,.*trainable_from_group" "$D/log" | head -1 | sed 's/.*"trainable_from_group":\([0-9]*\).*/\1/')
		want=$((4 - e)); [ "$want" -lt 0 ] && want=0
		[ "$g" -eq "$want" ]
	done
	grep -q '"gradual_unfreezing": 1' "$D/c/tl.json"
	grep -q '"lr_div": 2.6' "$D/c/tl.json"
	cmp "$D/lm/vocab.txt" "$D/c/vocab.txt"
	# with 2 epochs only the head (epoch 1) and layer 1 (epoch 2) train: the
	# embedding and layer 0 (the first tensors of model.safetensors) keep the
	# LM's bytes, layer 1 does not
	run tl-train -m lstm -q -o "$D/c2" --pretrained "$D/lm" --head 8 --batch-size 8 --epochs 2 --threads 1 "$D/c.ids"
	[ "$status" -eq 0 ]
	V=$(wc -l <"$D/v.txt")
	n0=$((V * 16 * 4 + (96 * 16 + 96 * 24 + 2 * 96) * 4)) n1=$((96 * 24 * 4))
	part() { local h; h=$(od -An -tu8 -N8 "$1" | tr -d ' '); tail -c +$((8 + h + 1 + $2)) "$1" | head -c "$3"; }
	cmp <(part "$D/lm/model.safetensors" 0 $n0) <(part "$D/c2/model.safetensors" 0 $n0)
	! cmp -s <(part "$D/lm/model.safetensors" $n0 $n1) <(part "$D/c2/model.safetensors" $n0 $n1)
	# a classifier stream of another vocabulary than its LM's: refused naming both
	run tl-train -m lstm -q -o "$D/c3" --pretrained "$D/lm" "$D/w.ids"
	[ "$status" -eq 3 ]
	[[ "$output" == *"$(sha "$D/w.txt")"* ]]
	[[ "$output" == *"$(sha "$D/v.txt")"* ]]
	run tl-train -m lstm -q -o "$D/c3" --pretrained "$D/lm" --vocab "$D/w.txt" "$D/c.ids"
	[ "$status" -eq 3 ]
	[[ "$output" == *"is not the vocabulary of --pretrained"* ]]
	# a classifier is no starting point
	run tl-train -m lstm -q -o "$D/c4" --pretrained "$D/c" "$D/c.ids"
	[ "$status" -eq 5 ]
}

@test "lstm-lm: records shorter than the BPTT window, too few tokens, an empty corpus" {
	# a corpus shorter than one window: one shorter window per epoch
	printf '{"ids":[5,6,7]}\n{"ids":[8,9]}\n' | tl-cat -t msgpack >"$D/short.s"
	run tl-train -m lstm-lm -o "$D/s" --vocab "$D/v.txt" --emb 8 --hidden 8 --batch-size 2 --bptt 70 --threads 1 "$D/short.s"
	[ "$status" -eq 0 ]
	[[ "$output" == *"wrote"*"after 1 steps"* ]]
	# fewer than 2 tokens per parallel stream
	run tl-train -m lstm-lm -q -o "$D/s2" --vocab "$D/v.txt" --batch-size 8 "$D/short.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"too few for 8 parallel streams"* ]]
	# empty corpus
	: | tl-cat -t msgpack >"$D/empty.s"
	run tl-train -m lstm-lm -q -o "$D/s3" --vocab "$D/v.txt" "$D/empty.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"no records: an empty corpus"* ]]
	run tl-train -m lstm -q -o "$D/s3" --vocab "$D/v.txt" "$D/empty.s"
	[ "$status" -eq 3 ]
	[ ! -e "$D/s3" ]
}

@test "lstm: bad records and options: no ids, no label, ids out of range, NaN loss, usage" {
	printf '{"text":"a b","label":"x"}\n' | tl-cat -t msgpack >"$D/noids.s"
	run tl-train -m lstm-lm -q -o "$D/x" --vocab "$D/v.txt" "$D/noids.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: no \"ids\""* ]]
	printf '{"ids":[5,6]}\n' | tl-cat -t msgpack >"$D/nolab.s"
	run tl-train -m lstm -q -o "$D/x" --vocab "$D/v.txt" "$D/nolab.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: no \"label\""* ]]
	printf '{"ids":[5,999],"label":"a"}\n' | tl-cat -t msgpack >"$D/big.s"
	run tl-train -m lstm -q -o "$D/x" --vocab "$D/v.txt" "$D/big.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: ids[1] = 999 outside the vocabulary"* ]]
	run tl-train -m lstm-lm -o "$D/x" $LM --lr 1e30 "$D/c.ids"
	[ "$status" -eq 1 ]
	[[ "$output" == *"loss is NaN at step"* ]]
	[ ! -e "$D/x" ]
	run tl-train -m lstm -q -o "$D/x" --bptt 10 --vocab "$D/v.txt" "$D/c.ids"
	[ "$status" -eq 2 ]
	run tl-train -m lstm-lm -q -o "$D/x" --head 3 --vocab "$D/v.txt" "$D/c.ids"
	[ "$status" -eq 2 ]
	run tl-train -m lstm-lm -q "$D/c.ids"
	[ "$status" -eq 2 ]
	mkdir "$D/exists"
	run tl-train -m lstm-lm -q -o "$D/exists" $LM "$D/c.ids"
	[ "$status" -eq 2 ]
	[[ "$output" == *"exists (use --force"* ]]
	run tl-train -m lstm-lm -q --force -o "$D/exists" $LM "$D/c.ids"
	[ "$status" -eq 0 ]
	[ -f "$D/exists/model.safetensors" ]
	run tl-train -m lstm --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"gradual unfreezing"* ]]
	# malformed streams (record 1 is {"ids":[5]}): exit 3 naming the record
	run sh -c 'printf "\201\243ids\221\005\223\001\002\003" | tl-train -m lstm-lm -q -o "$1/y" --vocab "$1/v.txt"' _ "$D"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-train: record 2: not a map but array"* ]]
	run sh -c 'printf "\201\243ids\221\005\201\244te" | tl-train -m lstm-lm -q -o "$1/y" --vocab "$1/v.txt"' _ "$D"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-train: record 2: truncated record"* ]]
}

@test "lstm: tl-predict and tl-embed run records in batches sorted by length: the bits of one record at a time" {
	tl-train -m lstm -q -o "$D/c" --vocab "$D/v.txt" --emb 16 --hidden 24 --layers 2 --head 8 --batch-size 8 \
		--epochs 2 --threads 1 "$D/c.ids"
	# records of 0 to 40 ids, in an order that is not by length
	awk 'BEGIN { for (i = 0; i <= 40; i++) { n = (i * 17) % 41; s = ""
		for (j = 0; j < n; j++) s = s (j ? "," : "") (4 + (i + j * 7) % 20)
		printf "{\"id\":%d,\"ids\":[%s],\"label\":\"pos\"}\n", i, s } }' | mkstream >"$D/var.ids"
	[ "$(tl-cat "$D/var.ids" | grep -c '"ids":\[\]')" -eq 1 ]
	# the data records (headers name the options); floats as %.9g: exact
	same() { cmp <(tl-cat "$1") <(tl-cat "$2"); }
	for t in 1 2; do
		tl-predict -m "$D/c" --threads $t --logits --batch-size 1 "$D/var.ids" >"$D/p1.s"
		tl-predict -m "$D/c" --threads $t --logits "$D/var.ids" >"$D/p32.s"
		tl-predict -m "$D/c" --threads $t --logits --batch-size 7 "$D/var.ids" >"$D/p7.s"
		same "$D/p1.s" "$D/p32.s"
		same "$D/p1.s" "$D/p7.s"
		tl-embed -m "$D/c" --threads $t --batch-size 1 "$D/var.ids" >"$D/e1.s"
		tl-embed -m "$D/c" --threads $t "$D/var.ids" >"$D/e32.s"
		tl-embed -m "$D/c" --threads $t --batch-size 3 "$D/var.ids" >"$D/e3.s"
		same "$D/e1.s" "$D/e32.s"
		same "$D/e1.s" "$D/e3.s"
	done
	grep -q '"logits"' <(tl-cat "$D/p7.s")
	grep -q '"vec"' <(tl-cat "$D/e3.s")
	# input order kept
	[ "$(tl-cat "$D/p32.s" | jq -r .id | tr '\n' ' ')" = "$(seq -s ' ' 0 40) " ]
	[ "$(tl-cat "$D/e3.s" | jq -r .id | tr '\n' ' ')" = "$(seq -s ' ' 0 40) " ]
	# a bad record in the middle of a batch is named
	{ tl-cat "$D/var.ids" | head -5; echo '{"id":99,"ids":[5,999]}'; } | mkstream >"$D/bad.ids"
	run tl-predict -m "$D/c" "$D/bad.ids"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 6"*"ids[1] = 999 outside the model's vocabulary"* ]]
	run tl-embed -m "$D/c" "$D/bad.ids"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 6"*"ids[1] = 999"* ]]
}
