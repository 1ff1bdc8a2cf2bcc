#!/usr/bin/env bats
# Faults of issue 15 (docs/FAULTS.md): hostile model files, truncated gzip,
# interrupted directory replacement, nesting and declared counts in
# streams, the label error of a classifier's config.json. Each test is the
# regression test of one catalogue entry.
load helpers
load bert_helpers

TINY="$TL_ROOT/tests/ref/tiny_bert"

setup() {
	D="$BATS_TEST_TMPDIR"
}

# a copy of MiniLM (links) whose config.json is edited by the jq filter $1
minilm_with() {
	rm -rf "$D/m"
	model_copy "$D/m"
	rm "$D/m/config.json"
	jq "$1" "$MINILM/config.json" >"$D/m/config.json"
}

# ---- 1: config.json sizes are checked before anything is allocated ----

@test "faults: config.json sizes that the weights do not hold are exit 5 naming the field, before allocating" {
	need_model || skip "models/all-MiniLM-L6-v2 missing"
	sample_stream 2 >"$D/in.s"
	minilm_with '.max_position_embeddings = 1000000000'
	run timeout 60 tl-embed -m "$D/m" "$D/in.s"
	[ "$status" -eq 5 ]
	[ "$output" = "tl-embed: $D/m/config.json: max_position_embeddings 1000000000 does not match the weights (512 positions in embeddings.position_embeddings.weight)" ]
	minilm_with '.type_vocab_size = 3000000'
	run timeout 60 tl-embed -m "$D/m" "$D/in.s"
	[ "$status" -eq 5 ]
	[ "$output" = "tl-embed: $D/m/config.json: type_vocab_size 3000000 does not match the weights (2 token types in embeddings.token_type_embeddings.weight)" ]
	minilm_with '.type_vocab_size = 1000000000'
	run timeout 60 tl-embed -m "$D/m" "$D/in.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"type_vocab_size 1000000000 does not match the weights"* ]]
	minilm_with '.vocab_size = 1000000000'
	run timeout 60 tl-embed -m "$D/m" "$D/in.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"vocab_size 1000000000 does not match the weights (30522 tokens in embeddings.word_embeddings.weight)" ]]
	minilm_with '.num_hidden_layers = 1000'
	run timeout 60 tl-embed -m "$D/m" "$D/in.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"num_hidden_layers 1000 does not match the weights (6 layers in encoder.layer.*)" ]]
	minilm_with '.intermediate_size = 200000'
	run timeout 60 tl-embed -m "$D/m" "$D/in.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"intermediate_size 200000 does not match the weights (1536 intermediate units in encoder.layer.0.intermediate.dense.weight)" ]]
	minilm_with '.max_position_embeddings = 0'
	run timeout 60 tl-embed -m "$D/m" "$D/in.s"
	[ "$status" -eq 5 ]
	[ "$output" = "tl-embed: $D/m/config.json: max_position_embeddings 0 out of range (1..2147483647)" ]
	minilm_with '.type_vocab_size = -2'
	run timeout 60 tl-embed -m "$D/m" "$D/in.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"type_vocab_size"*"out of range (-2)" ]]
	minilm_with '.num_attention_heads = 7'
	run timeout 60 tl-embed -m "$D/m" "$D/in.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"hidden_size 384 is not a multiple of num_attention_heads 7" ]]
	minilm_with '.pad_token_id = 40000'
	run timeout 60 tl-embed -m "$D/m" "$D/in.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"pad_token_id 40000 out of range (0..30521)" ]]
	# the unedited copy still works
	minilm_with '.'
	run tl-embed -m "$D/m" "$D/in.s"
	[ "$status" -eq 0 ]
}

# ---- 2: a truncated gzip is bad data, not a clean end of input ----

# gz of a stream of n records; its copy without the 8-byte trailer (every
# record whole: only the end is missing) and one cut in the middle
mk_gz() {
	for i in $(seq 1 "$1"); do printf '{"id":%d,"text":"a great fun movie %d","label":"%s"}\n' "$i" "$i" \
		$([ $((i % 2)) = 0 ] && echo pos || echo neg); done | mkstream | gzip -9 >"$D/s.gz"
	local n
	n=$(stat -c %s "$D/s.gz")
	head -c $((n - 8)) "$D/s.gz" >"$D/notrailer.gz"
	head -c $((n / 2)) "$D/s.gz" >"$D/half.gz"
}

@test "faults: truncated IMDB gzip into tl-clean is exit 3 naming the file" {
	[ -f "$TL_SHARED/data/imdb/test.tsv.gz" ] || skip "no $TL_SHARED/data/imdb"
	head -c 20000 "$TL_SHARED/data/imdb/test.tsv.gz" >"$D/t.gz"
	run sh -c 'tl-clean "$1" >/dev/null' sh "$D/t.gz"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-clean: $D/t.gz: unexpected end of file (truncated gzip)" ]
}

@test "faults: truncated gzip text into tl-clean (TSV, lines, stdin) is exit 3" {
	for i in $(seq 1 300); do printf 'review number %d is fine\tpos\n' "$i"; done | gzip >"$D/r.gz"
	head -c $(($(stat -c %s "$D/r.gz") - 8)) "$D/r.gz" >"$D/r8.gz"
	run sh -c 'tl-clean "$1" >/dev/null' sh "$D/r8.gz"
	[ "$status" -eq 3 ]
	[[ "$output" == *"tl-clean: $D/r8.gz: unexpected end of file (truncated gzip)" ]]
	run sh -c 'tl-clean < "$1" >/dev/null' sh "$D/r8.gz"
	[ "$status" -eq 3 ]
	[[ "$output" == *"tl-clean: standard input: unexpected end of file (truncated gzip)" ]]
	seq 1 500 | gzip >"$D/l.gz"
	head -c 100 "$D/l.gz" >"$D/l100.gz"
	run sh -c 'tl-clean -f lines "$1" >/dev/null' sh "$D/l100.gz"
	[ "$status" -eq 3 ]
	[[ "$output" == *"unexpected end of file (truncated gzip)" ]]
	# the whole file is still fine
	run sh -c 'tl-clean "$1" 2>/dev/null | tl-cat | wc -l' sh "$D/r.gz"
	[ "$status" -eq 0 ]
	[ "$output" -eq 300 ]
}

@test "faults: truncated gzipped stream into tl-cat is exit 3 naming the input" {
	mk_gz 400
	run sh -c 'tl-cat "$1" >/dev/null' sh "$D/notrailer.gz"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-cat: $D/notrailer.gz: unexpected end of file (truncated gzip)" ]
	run sh -c 'tl-cat < "$1" >/dev/null' sh "$D/half.gz"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-cat: standard input: unexpected end of file (truncated gzip)" ]
	run sh -c 'tl-cat "$1" | wc -l' sh "$D/s.gz"
	[ "$output" -eq 400 ]
	# gzipped JSON lines that end early
	for i in $(seq 1 300); do printf '{"id":%d,"text":"x"}\n' "$i"; done | gzip >"$D/j.gz"
	head -c $(($(stat -c %s "$D/j.gz") - 8)) "$D/j.gz" >"$D/j8.gz"
	run sh -c 'tl-cat "$1" >/dev/null' sh "$D/j8.gz"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-cat: $D/j8.gz: unexpected end of file (truncated gzip)" ]
}

@test "faults: truncated gzipped stream into tl-predict (linear model) is exit 3" {
	mk_gz 400
	gunzip -c "$D/s.gz" >"$D/tr.s"
	tl-train -q -o "$D/lin" --epochs 2 --dim 8 "$D/tr.s"
	run sh -c 'tl-predict -m "$1" "$2" >/dev/null' sh "$D/lin" "$D/notrailer.gz"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-predict: $D/notrailer.gz: unexpected end of file (truncated gzip)" ]
	run sh -c 'tl-predict -m "$1" < "$2" >/dev/null' sh "$D/lin" "$D/half.gz"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-predict: standard input: unexpected end of file (truncated gzip)" ]
	run sh -c 'tl-predict -m "$1" "$2" | tl-cat | wc -l' sh "$D/lin" "$D/s.gz"
	[ "$status" -eq 0 ]
	[ "$output" -eq 400 ]
}

# ---- 3: directory replacement, stale siblings, damaged checkpoints ----

@test "faults: --force replaces a model directory and leaves no sibling; stale ones of dead runs go" {
	mk_gz 40
	gunzip -c "$D/s.gz" >"$D/tr.s"
	tl-train -q -m linear -o "$D/out" "$D/tr.s"
	# what a run killed while publishing leaves (pid of a finished process)
	sh -c 'exit 0' &
	dead=$!
	wait "$dead"
	mkdir "$D/out.tmp-$dead-abcdef" "$D/out.old-$dead"
	: >"$D/out.tmp-$dead-abcdef/tensors.safetensors"
	tl-train -q -m linear --force -o "$D/out" "$D/tr.s"
	[ -f "$D/out/tl.json" ]
	run sh -c 'cd "$1" && ls -d out*' sh "$D"
	[ "$output" = "out" ]
	TL_FS_NO_EXCHANGE=1 tl-train -q -m linear --force -o "$D/out" "$D/tr.s"
	run sh -c 'cd "$1" && ls -d out*' sh "$D"
	[ "$output" = "out" ]
}

tiny_train() { # out [args...]
	local out=$1
	shift
	tl-train -m bert --pretrained "$TINY" -o "$out" --epochs 1 --batch-size 16 --threads 1 -q "$@"
}

@test "faults: --resume of a half-published or damaged checkpoint is exit 5" {
	for i in $(seq 1 40); do printf '{"id":%d,"ids":[2,%d,3],"label":"%s"}\n' "$i" $((5 + i % 30)) \
		$([ $((i % 2)) = 0 ] && echo pos || echo neg); done | mkstream >"$D/tr.s"
	# a directory without state.json (the run died before writing it)
	mkdir "$D/c1"
	run tiny_train "$D/o" --resume "$D/c1" "$D/tr.s"
	[ "$status" -eq 5 ]
	[[ "$output" == "tl-train: --resume: $D/c1/state.json: not a checkpoint"* ]]
	# state.json cut short
	printf '{"epoch": 0, "ba' >"$D/c1/state.json"
	run tiny_train "$D/o" --resume "$D/c1" "$D/tr.s"
	[ "$status" -eq 5 ]
	# state.json without the fields of a checkpoint
	printf '{"epoch": 0}\n' >"$D/c1/state.json"
	run tiny_train "$D/o" --resume "$D/c1" "$D/tr.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"state.json has no valid \"data_sha256\" (a damaged checkpoint)" ]]
	# a real checkpoint whose tensors file is missing or cut short
	tiny_train "$D/k" --checkpoint-every 1 --keep-checkpoint "$D/tr.s"
	[ -f "$D/k.ckpt/state.json" ]
	cp -r "$D/k.ckpt" "$D/c2"
	rm "$D/c2/tensors.safetensors"
	run tiny_train "$D/o" --resume "$D/c2" "$D/tr.s"
	[ "$status" -eq 5 ]
	cp -r "$D/k.ckpt" "$D/c3"
	head -c 1000 "$D/k.ckpt/tensors.safetensors" >"$D/c3/tensors.safetensors"
	run tiny_train "$D/o" --resume "$D/c3" "$D/tr.s"
	[ "$status" -eq 5 ]
	# the intact checkpoint resumes
	run tiny_train "$D/o" --resume "$D/k.ckpt" "$D/tr.s"
	[ "$status" -eq 0 ]
	[ ! -e "$D/o.ckpt.old-$$" ]
}

# ---- 4: nesting and declared counts in streams are bad data ----

@test "faults: a record nested deeper than 32 levels is exit 3 naming the record" {
	# record 1 {"a":1}; record 2 {"x": 32 nested arrays around 1} = 33 levels
	printf '\201\241a\001\201\241x' >"$D/deep.s"
	for i in $(seq 1 32); do printf '\221'; done >>"$D/deep.s"
	printf '\001' >>"$D/deep.s"
	run sh -c 'tl-cat "$1" >/dev/null' sh "$D/deep.s"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-cat: record 2: nesting deeper than 32 levels" ]
	run sh -c 'tl-predict -m "$1" < "$2" >/dev/null' sh "$TINY" "$D/deep.s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 2: nesting deeper than 32 levels" ]]
	# 32 levels are fine, and survive JSON -> stream -> JSON
	v=1
	for i in $(seq 1 31); do v="[$v]"; done
	printf '{"x":%s}\n' "$v" >"$D/d32.json"
	tl-cat "$D/d32.json" >"$D/d32.s"
	run tl-cat "$D/d32.s"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$D/d32.json")" ]
}

@test "faults: a declared count larger than the input is exit 3, not out of memory" {
	# array32 and map32 headers declaring 4294967295 items, 5 bytes follow
	printf '\201\241a\001\201\241x\335\377\377\377\377\001\001\001\001\001' >"$D/arr.s"
	run sh -c 'tl-cat "$1" >/dev/null' sh "$D/arr.s"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-cat: record 2: declared 4294967295 elements but the input is 13 bytes" ]
	printf '\201\241a\001\337\377\377\377\377\001\001\001\001\001' >"$D/map.s"
	run sh -c 'tl-cat < "$1" >/dev/null' sh "$D/map.s"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-cat: record 2: declared 4294967295 map entries but the input is 10 bytes" ]
	# a str32 of 4 GiB declared
	printf '\201\241a\001\201\241x\333\377\377\377\377ab' >"$D/str.s"
	run sh -c 'tl-cat "$1" >/dev/null' sh "$D/str.s"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-cat: record 2: truncated record at end of input" ]
	# the byte msgpack never uses
	printf '\201\241a\001\301' >"$D/c1.s"
	run sh -c 'tl-cat "$1" >/dev/null' sh "$D/c1.s"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-cat: record 2: malformed msgpack (is the input a tl stream?)" ]
}

@test "faults: tl-cat and tl-clean refuse JSON nested deeper than a stream holds, naming the line" {
	v=1
	for i in $(seq 1 32); do v="[$v]"; done
	printf '{"text":"a"}\n{"text":"b","x":%s}\n' "$v" >"$D/d33.json"
	run sh -c 'tl-cat -t msgpack "$1" >/dev/null' sh "$D/d33.json"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-cat: record 2: $D/d33.json: nesting deeper than 32 levels (the most a tl stream holds)" ]
	run sh -c 'tl-cat "$1" >/dev/null' sh "$D/d33.json"
	[ "$status" -eq 3 ]
	run sh -c 'tl-clean -f jsonl "$1" >/dev/null' sh "$D/d33.json"
	[ "$status" -eq 3 ]
	[[ "$output" == *"nesting deeper than 32 levels"* ]]
	# an array of ids is packed as a bin: no level of its own
	v='{"ids":[1,2]}'
	for i in $(seq 1 31); do v="{\"k\":$v}"; done
	printf '%s\n' "$v" | tl-cat -t msgpack >"$D/bin.s"
	run tl-cat "$D/bin.s"
	[ "$status" -eq 0 ]
}

# ---- 6: the specific label error of a classifier's config.json ----

@test "faults: id2label with a gap is reported as such, not as 'no id2label'" {
	mkdir "$D/c"
	ln -s "$TINY/model.safetensors" "$TINY/vocab.txt" "$D/c/"
	jq '.id2label = {"0": "a", "5": "b"} | .num_labels = 2' "$TINY/config.json" >"$D/c/config.json"
	printf '{"ids":[2,5,3]}\n' | tl-cat -t msgpack >"$D/in.s"
	run tl-predict -m "$D/c" "$D/in.s"
	[ "$status" -eq 5 ]
	[ "$output" = "tl-predict: $D/c/config.json: id2label has no string for id 1" ]
	# no labels at all keeps its own message
	jq 'del(.id2label) | del(.label2id)' "$TINY/config.json" >"$D/c/config.json"
	run tl-predict -m "$D/c" "$D/in.s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"no id2label or num_labels: not a sequence-classification model" ]]
}
