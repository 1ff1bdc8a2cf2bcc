#!/usr/bin/env bats
# Domain adaptation in the BERT fine-tuning loop (issue 18; man tl-train,
# DOMAIN ADAPTATION): --source and --source-weight, records carrying
# "domain", unlabelled records that feed a domain loss only, --domain-loss
# dann|coral|mmd, the two-domain batches, determinism and SIGKILL resume,
# bad input. The tiny random BERT of tests/ref/tiny_bert (vocabulary of 40
# ids, hidden size 16) on synthetic data; no Python.
load helpers

TINY="$TL_ROOT/tests/ref/tiny_bert"

# n records with ids drawn from lo..hi (the domain's "vocabulary") plus the
# marker 30 (probability 0.15); label "pos" when 30 occurs, else "neg";
# lab 0: no "label"; dom: a "domain" string (empty: none); the text
# ("review I of set SEED") gives each record its own training key.
gen() { # seed n lo hi lab dom
	awk -v seed="$1" -v n="$2" -v lo="$3" -v hi="$4" -v lab="$5" -v dom="$6" 'BEGIN { srand(seed)
		for (i = 0; i < n; i++) {
			len = 3 + int(rand() * 8); hit = 0; s = "[2"
			for (j = 0; j < len; j++) { x = lo + int(rand() * (hi - lo + 1)); if (rand() < 0.15) x = 30; if (x == 30) hit = 1; s = s "," x }
			r = sprintf("{\"id\":%d,\"text\":\"review %d of set %d\",\"ids\":%s,3]", i, i, seed, s)
			if (lab) r = r sprintf(",\"label\":\"%s\"", hit ? "pos" : "neg")
			if (dom != "") r = r sprintf(",\"domain\":\"%s\"", dom)
			print r "}" } }'
}

setup() {
	D="$BATS_TEST_TMPDIR"
	[ -f "$D/src.s" ] || gen 1 200 5 24 1 "" | mkstream >"$D/src.s"     # source: labelled, ids 5..24
	[ -f "$D/tgt.s" ] || gen 2 60 20 39 1 "" | mkstream >"$D/tgt.s"     # target: labelled, ids 20..39
	[ -f "$D/unl.s" ] || gen 3 100 20 39 0 "" | mkstream >"$D/unl.s"    # target text without labels
	[ -f "$D/dev.s" ] || gen 4 60 20 39 1 "" | mkstream >"$D/dev.s"     # target dev
	export OMP_WAIT_POLICY=passive
}

da_train() { # out [args...]
	local out=$1
	shift
	tl-train -m bert --pretrained "$TINY" -o "$out" --epochs 2 --batch-size 8 --lr 2e-3 --threads 1 -q "$@"
}

# the bytes of one tensor of a safetensors file, as hex / as floats (one a line)
st_range() { # file name -> "begin end" (absolute byte offsets, 1-based for tail -c +)
	local n b e
	n=$(od -An -tu8 -N8 "$1" | tr -d ' ')
	read -r b e < <(tail -c +9 "$1" | head -c "$n" | jq -r --arg k "$2" '.[$k].data_offsets | "\(.[0]) \(.[1])"')
	echo "$((9 + n + b)) $((e - b))"
}
st_hex() {
	local s l
	read -r s l < <(st_range "$1" "$2")
	tail -c +"$s" "$1" | head -c "$l" | od -An -tx1 | tr -d ' \n'
}
st_floats() {
	local s l
	read -r s l < <(st_range "$1" "$2")
	tail -c +"$s" "$1" | head -c "$l" | od -An -v -tf4 -w4 | tr -d ' '
}

@test "domain: --source: each step holds B records of each domain, an epoch is the larger domain; tl.json" {
	da_train "$D/m" --source "$D/src.s" --source-weight 0.5 --dev "$D/dev.s" --log "$D/m.jsonl" "$D/tgt.s"
	# 200 source and 60 target records, batch 8: 25 steps an epoch, 2 epochs
	[ "$(jq -s '[.[] | select(.event == "step")] | length' "$D/m.jsonl")" = 50 ]
	[ "$(jq -r 'select(.event == "step") | "\(.labelled) \(.unlabelled)"' "$D/m.jsonl" | sort -u)" = "16 0" ]
	[ "$(jq -c -S '.domain_adaptation | [.method, .source_weight, .domains, .train_records, .source_records]' "$D/m/tl.json")" = \
		'["none",0.5,[{"labelled":60,"name":"target","records":60},{"labelled":200,"name":"source","records":200}],{"labelled":60,"records":60},{"labelled":200,"records":200}]' ]
	# the dev is the target's, evaluated as without --source
	jq -e '.dev.records == 60 and .dev.accuracy > 0' "$D/m/tl.json"
	# labelled source records are training data: in train-keys.bin
	[ "$(jq -r .train_keys.count "$D/m/tl.json")" = 260 ]
	# the model directory stays a plain classifier
	[ "$(jq -r '.architectures[0]' "$D/m/config.json")" = BertForSequenceClassification ]
	# the source weight is part of the run: another weight, another model
	da_train "$D/m2" --source "$D/src.s" --dev "$D/dev.s" "$D/tgt.s"
	! cmp -s "$D/m/model.safetensors" "$D/m2/model.safetensors"
}

@test "domain: unlabelled target records feed the domain loss only (coral, mmd, dann), not train-keys.bin" {
	for m in coral mmd dann; do
		da_train "$D/$m" --source "$D/src.s" --domain-loss $m --dev "$D/dev.s" --log "$D/$m.jsonl" "$D/unl.s"
		# 8 source (labelled) + 8 target (unlabelled) records a step
		[ "$(jq -r 'select(.event == "step") | "\(.labelled) \(.unlabelled)"' "$D/$m.jsonl" | sort -u)" = "8 8" ]
		jq -s -e '[.[] | select(.event == "step") | .domain_loss] | length == 50 and all(. >= 0)' "$D/$m.jsonl" >/dev/null
		[ "$(jq -c -S '.domain_adaptation | [.method, .train_records, .source_records]' "$D/$m/tl.json")" = \
			"[\"$m\",{\"labelled\":0,\"records\":100},{\"labelled\":200,\"records\":200}]" ]
		# no label was seen on the target text: only the source records are training keys
		[ "$(jq -r .train_keys.count "$D/$m/tl.json")" = 200 ]
		# the discriminator is the checkpoint's, not the model's
		run sh -c "tail -c +9 '$D/$m/model.safetensors' | head -c 4000 | grep -c tl.domain"
		[ "$output" = 0 ]
	done
	# DANN: the discriminator's accuracy, and its weight rising as 2/(1+exp(-10p))-1 from 0
	jq -s -e '[.[] | select(.event == "step") | .domain_accuracy] | length == 50 and all(. >= 0 and . <= 1)' "$D/dann.jsonl" >/dev/null
	[ "$(jq -s '[.[] | select(.event == "step")][0].domain_weight' "$D/dann.jsonl")" = 0 ]
	jq -s -e '[.[] | select(.event == "step") | .domain_weight] | (. == sort) and .[-1] > 0.99' "$D/dann.jsonl"
	jq -e '.domain_adaptation.disc_hidden == 16 and .domain_adaptation.domain_accuracy_last_epoch > 0' "$D/dann/tl.json"
	# the target's text may be the dev's text: no leak refusal (no label seen)
	tl-cat "$D/dev.s" | jq -c 'del(.label)' | mkstream >"$D/devtext.s"
	da_train "$D/tr" --source "$D/src.s" --domain-loss coral --dev "$D/dev.s" "$D/devtext.s"
}

@test "domain: records carrying \"domain\" name the domains; dann learns D of them, coral/mmd refuse more than two" {
	{ gen 5 40 5 14 1 books; gen 6 40 15 24 1 dvd; gen 7 40 25 39 1 kitchen; } | mkstream >"$D/three.s"
	da_train "$D/d3" --domain-loss dann --log "$D/d3.jsonl" "$D/three.s"
	[ "$(jq -c '[.domain_adaptation.domains[] | [.name, .records]]' "$D/d3/tl.json")" = '[["books",40],["dvd",40],["kitchen",40]]' ]
	# 3 domains x batch 8 a step
	[ "$(jq -r 'select(.event == "step") | .labelled' "$D/d3.jsonl" | sort -u)" = 24 ]
	for m in coral mmd; do
		run da_train "$D/c3" --domain-loss $m "$D/three.s"
		[ "$status" -eq 3 ]
		[[ "$output" == *"--domain-loss $m aligns two domains; the training data has 3 (books, dvd, kitchen): use dann"* ]]
	done
	# --source's records without "domain" are domain "source"
	gen 8 30 20 39 1 kindle | mkstream >"$D/k.s"
	da_train "$D/ks" --source "$D/src.s" --domain-loss coral "$D/k.s"
	[ "$(jq -c '[.domain_adaptation.domains[].name]' "$D/ks/tl.json")" = '["kindle","source"]' ]
}

@test "domain: \"domain\" on only some records of a stream: exit 3 naming the record" {
	{ gen 5 3 5 14 1 books; gen 6 3 15 24 1 ""; } | mkstream >"$D/some.s"
	run da_train "$D/o" --domain-loss dann "$D/some.s"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-train: record 4: $D/some.s: no \"domain\" (earlier records name one: every record of a stream names its domain, or none)" ]]
	{ gen 6 2 15 24 1 ""; gen 5 3 5 14 1 books; } | mkstream >"$D/some2.s"
	run da_train "$D/o" --source "$D/src.s" --domain-loss dann "$D/some2.s"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-train: record 1: $D/some2.s: no \"domain\" (record 3 names one"* ]]
	printf '%s\n' '{"ids":[2,5,3],"label":"a","domain":7}' | mkstream >"$D/num.s"
	run da_train "$D/o" --source "$D/src.s" "$D/num.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: $D/num.s: \"domain\" is not a string of 1 to 64 bytes"* ]]
	[ ! -e "$D/o" ]
}

@test "domain: bad options are usage errors (exit 2)" {
	for a in "--source-weight -1" "--source-weight -0.5" "--source-weight abc" "--source-weight 1:foo" \
		"--source-weight :anneal" "--domain-loss coral --domain-weight -0.5" "--domain-loss coral --domain-weight abc" \
		"--domain-loss xyz" "--domain-loss dann --disc-hidden 0"; do
		run da_train "$D/o" --source "$D/src.s" $a "$D/tgt.s"
		[ "$status" -eq 2 ]
		[[ "$output" == "tl-train: option --"* ]]
	done
	run da_train "$D/o" --source-weight 0.5 "$D/tgt.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--source-weight weighs the loss of the --source stream: give --source SRC"* ]]
	run da_train "$D/o" --source "$D/src.s" --domain-weight 2 "$D/tgt.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--domain-weight is for --domain-loss"* ]]
	run da_train "$D/o" --source "$D/src.s" --domain-loss coral --disc-hidden 8 "$D/tgt.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--disc-hidden is for --domain-loss dann"* ]]
	run da_train "$D/o" --source "$D/src.s" --domain-loss mmd --batch-size 1 "$D/tgt.s"
	[ "$status" -eq 2 ]
	# a domain loss without a second domain: usage (nothing names one) or data (one named domain)
	run da_train "$D/o" --domain-loss coral "$D/tgt.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--domain-loss coral needs a second domain: --source SRC, or records that name their \"domain\""* ]]
	gen 5 20 5 14 1 books | mkstream >"$D/one.s"
	run da_train "$D/o" --domain-loss dann "$D/one.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"--domain-loss dann: the training data has one domain ('books'): nothing to align"* ]]
	# not with other objectives
	run da_train "$D/o" --source "$D/src.s" --distill "$D/tgt.s"
	[ "$status" -eq 2 ]
	run da_train "$D/o" --source "$D/src.s" --task token "$D/tgt.s"
	[ "$status" -eq 2 ]
	tl-cat "$D/tgt.s" | jq -c '.label = [.label]' | mkstream >"$D/ml.s"
	run da_train "$D/o" --source "$D/src.s" "$D/ml.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"train single-label heads"* ]]
	[ ! -e "$D/o" ]
}

@test "domain: records without label and no domain objective: exit 3 naming the record, as without --source" {
	run da_train "$D/o" --source "$D/src.s" "$D/unl.s"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-train: record 1: $D/unl.s: no \"label\" (training needs labelled records)" ]]
	run da_train "$D/o" --source "$D/unl.s" "$D/tgt.s"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-train: record 1: $D/unl.s: no \"label\" (training needs labelled records)" ]]
	# a domain loss and no labelled record at all
	run da_train "$D/o" --source "$D/unl.s" --domain-loss coral "$D/unl.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"no labels in the training data"* ]]
}

@test "domain: a --source stream tokenized with another vocabulary: exit 3 naming both sha256" {
	model_sha=$(sha256sum "$TINY/vocab.txt" | cut -c1-12)
	{ printf '{"tl":1,"kind":"header","tokenizer":{"vocab_sha256":"%064d"}}\n' 7; gen 1 5 5 24 1 ""; } | mkstream >"$D/other.s"
	run da_train "$D/o" --source "$D/other.s" "$D/tgt.s"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-train: $D/other.s: the stream was tokenized with another vocabulary (sha256 000000000000...) than the model's"*"($model_sha...)"* ]]
}

@test "domain: the same seed gives the same bits; SIGKILL and --resume repeat the run bitwise (dann, coral)" {
	A=(--source "$D/src.s" --domain-loss dann --domain-weight 0.5 --source-weight 0.8:anneal --dev "$D/dev.s")
	da_train "$D/r1" "${A[@]}" --log "$D/r1.jsonl" "$D/unl.s"
	da_train "$D/r2" "${A[@]}" "$D/unl.s"
	cmp "$D/r1/model.safetensors" "$D/r2/model.safetensors"
	# 100 target and 200 source records: 25 steps an epoch; killed after step 35, checkpoint at 30
	TL_FAULT_KILL_AT_STEP=35 run da_train "$D/k" "${A[@]}" --checkpoint-every 10 --log "$D/k.jsonl" "$D/unl.s"
	[ "$status" -eq 137 ]
	[ "$(jq -r .step "$D/k.ckpt/state.json")" = 30 ]
	run da_train "$D/k" "${A[@]}" --checkpoint-every 10 --log "$D/k.jsonl" --resume "$D/k.ckpt" "$D/unl.s"
	[ "$status" -eq 0 ]
	cmp "$D/r1/model.safetensors" "$D/k/model.safetensors"
	# the log goes on as the uninterrupted run's, domain figures included
	diff <(jq -c 'select(.event == "step") | del(.tokens_per_s, .elapsed)' "$D/r1.jsonl") \
		<(jq -c 'select(.event == "step") | del(.tokens_per_s, .elapsed)' "$D/k.jsonl")
	# another domain weight is another run: the resume refuses it
	TL_FAULT_KILL_AT_STEP=15 run da_train "$D/k2" "${A[@]}" --checkpoint-every 10 "$D/unl.s"
	run da_train "$D/k2" --source "$D/src.s" --domain-loss dann --source-weight 0.8:anneal --dev "$D/dev.s" \
		--checkpoint-every 10 --resume "$D/k2.ckpt" "$D/unl.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--domain-weight was 0.5 in the checkpoint, now 1"* ]]
	run da_train "$D/k2" --source "$D/src.s" --domain-loss coral --domain-weight 0.5 --source-weight 0.8:anneal \
		--dev "$D/dev.s" --checkpoint-every 10 --resume "$D/k2.ckpt" "$D/unl.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--domain-loss was dann in the checkpoint, now coral"* ]]
	# CORAL too
	B=(--source "$D/src.s" --domain-loss coral --domain-weight 50 --dev "$D/dev.s")
	da_train "$D/c1" "${B[@]}" "$D/unl.s"
	TL_FAULT_KILL_AT_STEP=27 run da_train "$D/c2" "${B[@]}" --checkpoint-every 5 "$D/unl.s"
	[ "$status" -eq 137 ]
	da_train "$D/c2" "${B[@]}" --checkpoint-every 5 --resume "$D/c2.ckpt" "$D/unl.s"
	cmp "$D/c1/model.safetensors" "$D/c2/model.safetensors"
}

@test "domain: weight 0 gives the bits of the plain --source run (coral; dann with --clip 0)" {
	da_train "$D/p" --source "$D/src.s" "$D/tgt.s"
	da_train "$D/c0" --source "$D/src.s" --domain-loss coral --domain-weight 0 "$D/tgt.s"
	cmp "$D/p/model.safetensors" "$D/c0/model.safetensors"
	da_train "$D/c1" --source "$D/src.s" --domain-loss coral --domain-weight 100 "$D/tgt.s"
	! cmp -s "$D/p/model.safetensors" "$D/c1/model.safetensors"
	# DANN at weight 0: the discriminator learns, the encoder gets no gradient
	# from it (its gradient norm would change the clipping: --clip 0)
	da_train "$D/pc" --source "$D/src.s" --clip 0 "$D/tgt.s"
	da_train "$D/d0" --source "$D/src.s" --domain-loss dann --domain-weight 0 --clip 0 "$D/tgt.s"
	cmp "$D/pc/model.safetensors" "$D/d0/model.safetensors"
	# source weight 0: the source records' labels count for nothing, the
	# target's alone train (same batches, so not the plain target run)
	da_train "$D/s0" --source "$D/src.s" --source-weight 0 "$D/tgt.s"
	! cmp -s "$D/p/model.safetensors" "$D/s0/model.safetensors"
}

@test "domain: one SGD step with coral moves the encoder by W x the CORAL gradient, the head not at all" {
	# one step of SGD (lr 1, the first step's momentum buffer is the
	# gradient), no clipping, decay or dropout: w1 = w0 - (g_cls + W g_coral)
	S=(--source "$D/src.s" --domain-loss coral --optimizer sgd --lr 1 --schedule constant --warmup-steps 0 --clip 0
		--weight-decay 0 --dropout 0 --max-steps 1 --epochs 1)
	for w in 0 1000 2000; do da_train "$D/w$w" "${S[@]}" --domain-weight $w "$D/unl.s"; done
	# the classifier sees no CORAL gradient: the same bits
	for tn in classifier.weight classifier.bias; do
		[ "$(st_hex "$D/w0/model.safetensors" $tn)" = "$(st_hex "$D/w1000/model.safetensors" $tn)" ]
		[ "$(st_hex "$D/w0/model.safetensors" $tn)" = "$(st_hex "$D/w2000/model.safetensors" $tn)" ]
	done
	# the pooler and the encoder do, linearly in W: (w2000 - w0) = 2 (w1000 - w0)
	for tn in bert.pooler.dense.weight bert.encoder.layer.1.output.dense.weight bert.embeddings.word_embeddings.weight; do
		paste <(st_floats "$D/w0/model.safetensors" $tn) <(st_floats "$D/w1000/model.safetensors" $tn) \
			<(st_floats "$D/w2000/model.safetensors" $tn) >"$D/p.txt"
		awk '{ a = $2 - $1; b = $3 - $1; d = b - 2 * a; if (d < 0) d = -d; if (d > e) e = d
			if (b < 0) b = -b; if (b > m) m = b } END { printf "%s %.3g %.3g\n", FILENAME, m, e
			exit !(m > 1e-3 && e <= 1e-3 * m) }' "$D/p.txt"
	done
}

@test "domain: DANN's gradient reversal: the encoder's update raises the discriminator's loss" {
	# one batch holds all the records (200 of each domain, batch 200), so
	# each step's domain loss is on the same records; plain SGD (no
	# momentum, decay, clipping or dropout). Step 1 has lambda(0) = 0 (no
	# reversal): steps 1 and 2 agree for every W. Step 2 reverses with
	# weight W lambda(1/3): the discriminator's own update is the same for
	# every W, so the domain loss at step 3 differs by the encoder's move
	# alone, which must raise it, more for a larger W.
	gen 11 200 5 14 1 "" | mkstream >"$D/s2.s"
	gen 12 200 31 39 0 "" | mkstream >"$D/t2.s"
	A=(--source "$D/s2.s" --domain-loss dann --epochs 3 --batch-size 200 --optimizer sgd --momentum 0 --lr 0.1
		--schedule constant --warmup-steps 0 --clip 0 --weight-decay 0 --dropout 0)
	for w in 0 1 10; do da_train "$D/d$w" "${A[@]}" --domain-weight $w --log "$D/d$w.jsonl" "$D/t2.s"; done
	dl() { jq -s -r --argjson i "$2" '[.[] | select(.event == "step")][$i].domain_loss' "$D/d$1.jsonl"; }
	echo "domain loss at step 3: W=0 $(dl 0 2), W=1 $(dl 1 2), W=10 $(dl 10 2)"
	for i in 0 1; do [ "$(dl 0 $i)" = "$(dl 1 $i)" ] && [ "$(dl 0 $i)" = "$(dl 10 $i)" ]; done
	[ "$(jq -s -r '[.[] | select(.event == "step")][1].domain_weight' "$D/d10.jsonl")" = 9.311096 ]
	awk -v a="$(dl 0 2)" -v b="$(dl 1 2)" -v c="$(dl 10 2)" 'BEGIN { exit !(a < b && b < c) }'
}

@test "domain: under mpirun a domain objective is a usage error" {
	command -v mpirun >/dev/null || skip "mpirun absent (apt-get install openmpi-bin libopenmpi-dev)"
	ldd "$TL_BIN/tl-train" | grep -q libmpi || skip "tl-train built without MPI (make MPI=1 with mpicc)"
	export OMPI_MCA_rmaps_base_oversubscribe=1
	run env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 mpirun --oversubscribe --allow-run-as-root -np 2 \
		tl-train -m bert --pretrained "$TINY" -o "$D/o" -q --source "$D/src.s" "$D/tgt.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--source under mpirun: the domain losses and the two-domain batches are not split across ranks (run one process)"* ]]
}

# pipelines/domain.mk's programs, as make exports them to its recipes
domain_mk_var() {
	# a make of its own: none of the calling make's flags (under make check,
	# MAKEFLAGS would add "Entering directory" lines to the output)
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -f "$TL_ROOT/pipelines/domain.mk" \
		--eval "showvar: ; @printf '%s\n' \"\$\$$1\"" showvar
}

@test "domain.mk: cbst takes each label's share of the target by rank of P(label), drops a review chosen twice" {
	prior_jq=$(domain_mk_var PRIOR_JQ)
	cbst_jq=$(domain_mk_var CBST_JQ)
	[ -n "$prior_jq" ] && [ -n "$cbst_jq" ]
	# the source's label shares: 3 of 4 "a"
	run jq -c -s "$prior_jq" <<<'{"label":"a"} {"label":"b"} {"label":"a"} {"label":"a"}'
	[ "$status" -eq 0 ]
	[ "$output" = '{"a":0.75,"b":0.25}' ]
	# 8 target predictions, shifted towards "a" (pred "a" for all but one):
	# with f = 0.5 and prior a 0.5, b 0.5, each label takes floor(8 * 0.5 * 0.5)
	# = 2 reviews, by rank of its own probability, whatever pred says
	echo '{"a":0.5,"b":0.5}' >"$BATS_TEST_TMPDIR/prior.json"
	preds='{"id":1,"probs":{"a":0.90,"b":0.10},"pred":"a"} {"id":2,"probs":{"a":0.80,"b":0.20},"pred":"a"}
	       {"id":3,"probs":{"a":0.70,"b":0.30},"pred":"a"} {"id":4,"probs":{"a":0.65,"b":0.35},"pred":"a"}
	       {"id":5,"probs":{"a":0.60,"b":0.40},"pred":"a"} {"id":6,"probs":{"a":0.55,"b":0.45},"pred":"a"}
	       {"id":7,"probs":{"a":0.52,"b":0.48},"pred":"a"} {"id":8,"probs":{"a":0.30,"b":0.70},"pred":"b"}'
	run jq -c -s --argjson f 0.5 --slurpfile prior "$BATS_TEST_TMPDIR/prior.json" "$cbst_jq" <<<"$preds"
	[ "$status" -eq 0 ]
	[ "$output" = '{"id":1,"label":"a"}
{"id":2,"label":"a"}
{"id":7,"label":"b"}
{"id":8,"label":"b"}' ]
	# f = 1.5 with 4 reviews: floor(4 * 1.5 * 0.5) = 3 each; a takes 1, 2, 3
	# and b takes 4, 3, 2: the two chosen by both are dropped
	run jq -c -s --argjson f 1.5 --slurpfile prior "$BATS_TEST_TMPDIR/prior.json" "$cbst_jq" <<<'{"id":1,"probs":{"a":0.9,"b":0.1}} {"id":2,"probs":{"a":0.6,"b":0.4}}
		{"id":3,"probs":{"a":0.5,"b":0.5}} {"id":4,"probs":{"a":0.2,"b":0.8}}'
	[ "$status" -eq 0 ]
	[ "$output" = '{"id":1,"label":"a"}
{"id":4,"label":"b"}' ]
}
