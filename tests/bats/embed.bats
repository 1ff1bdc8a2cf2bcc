#!/usr/bin/env bats
load helpers
load bert_helpers

setup() { need_model; }

@test "tl-embed: mean pooling + normalize reproduces sentence-transformers within 1e-4" {
	sample_stream | tl-embed --normalize | tl-cat >"$BATS_TEST_TMPDIR/out.jsonl"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out.jsonl")" -eq 26 ]
	d=$(maxdiff vec st "$BATS_TEST_TMPDIR/out.jsonl")
	echo "max abs diff $d"
	jq -e -n "$d < 1e-4"
}

@test "tl-embed: output order and ids are the input's, whatever the batch size" {
	sample_stream | tl-embed --normalize -b 1 | tl-cat >"$BATS_TEST_TMPDIR/b1.jsonl"
	sample_stream | tl-embed --normalize -b 7 --threads 1 | tl-cat >"$BATS_TEST_TMPDIR/b7.jsonl"
	[ "$(jq -c .id "$BATS_TEST_TMPDIR/b1.jsonl" | tr '\n' ,)" = "$(jq -c .id "$SAMPLE" | tr '\n' ,)" ]
	[ "$(jq -c .id "$BATS_TEST_TMPDIR/b7.jsonl" | tr '\n' ,)" = "$(jq -c .id "$SAMPLE" | tr '\n' ,)" ]
	jq -e -n "$(maxdiff vec st "$BATS_TEST_TMPDIR/b1.jsonl") < 1e-4"
	jq -e -n "$(maxdiff vec st "$BATS_TEST_TMPDIR/b7.jsonl") < 1e-4"
}

@test "tl-embed: vectors are bitwise the same for any batch size and thread count" {
	for opt in "-b 1 -j 1" "-b 7 -j 2" "-b 32 -j 1" "-b 32 -j 2" "-b 3 -j 2 --pool cls"; do
		sample_stream | tl-embed $opt | tl-cat | jq -c .vec >"$BATS_TEST_TMPDIR/v.$(echo "$opt" | tr -d ' -')"
	done
	cmp "$BATS_TEST_TMPDIR/v.b1j1" "$BATS_TEST_TMPDIR/v.b7j2"
	cmp "$BATS_TEST_TMPDIR/v.b1j1" "$BATS_TEST_TMPDIR/v.b32j1"
	cmp "$BATS_TEST_TMPDIR/v.b1j1" "$BATS_TEST_TMPDIR/v.b32j2"
	sample_stream | tl-embed -b 26 -j 1 --pool cls | tl-cat | jq -c .vec >"$BATS_TEST_TMPDIR/cls1"
	cmp "$BATS_TEST_TMPDIR/cls1" "$BATS_TEST_TMPDIR/v.b3j2poolcls"
	# very short sequences (the smallest matrix products) alone and in a batch
	{ sample_stream | tl-cat; printf '{"id":"s%d","ids":[101,%d,102]}\n' 1 7592 2 2088 3 1012; } >"$BATS_TEST_TMPDIR/short.jsonl"
	for b in 1 2 40; do
		tl-cat -t msgpack "$BATS_TEST_TMPDIR/short.jsonl" | tl-embed -b $b -j 2 --pool cls | tl-cat | jq -c .vec >"$BATS_TEST_TMPDIR/s$b"
	done
	cmp "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s2"
	cmp "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s40"
}

@test "tl-embed: header is extended and other keys pass through" {
	printf '{"tl":1,"kind":"header","chain":[]}\n{"id":"a","x":[1,2],"ids":[101,7592,102]}\n' | tl-cat -t msgpack |
		tl-embed --pool cls --layer 2 | tl-cat -H >"$BATS_TEST_TMPDIR/o"
	run jq -c '.embed' "$BATS_TEST_TMPDIR/o"
	[ "${lines[0]}" = '{"model":"models/all-MiniLM-L6-v2","pool":"cls","normalize":false,"layer":2,"dim":384}' ] ||
		[[ "${lines[0]}" == *'"pool":"cls","normalize":false,"layer":2,"dim":384}' ]]
	run jq -c '[.id, .x, (.vec | length)]' "$BATS_TEST_TMPDIR/o"
	[ "${lines[1]}" = '["a",[1,2],384]' ]
}

@test "tl-embed: pool modes differ, max >= mean, cls is the first token" {
	sample_stream 3 | tl-embed --pool mean | tl-cat >"$BATS_TEST_TMPDIR/mean"
	sample_stream 3 | tl-embed --pool max | tl-cat >"$BATS_TEST_TMPDIR/max"
	sample_stream 3 | tl-embed --pool cls | tl-cat >"$BATS_TEST_TMPDIR/cls"
	paste -d '\n' "$BATS_TEST_TMPDIR/mean" "$BATS_TEST_TMPDIR/max" | jq -s -e '[range(0; length; 2) as $i | [.[$i].vec, .[$i+1].vec] | transpose[] | .[1] >= .[0]] | all'
	! cmp -s "$BATS_TEST_TMPDIR/mean" "$BATS_TEST_TMPDIR/cls"
	run jq -e -s 'map(.vec | map(. * .) | add) | all(. > 1.5)' "$BATS_TEST_TMPDIR/mean"
	[ "$status" -eq 0 ]
}

@test "tl-embed: the default model is found through TL_MODEL_PATH from any directory" {
	mkdir -p "$BATS_TEST_TMPDIR/m" && ln -s "$MINILM" "$BATS_TEST_TMPDIR/m/all-MiniLM-L6-v2"
	sample_stream 1 >"$BATS_TEST_TMPDIR/s"
	cd "$BATS_TEST_TMPDIR"
	TL_MODEL_PATH="$BATS_TEST_TMPDIR/m" tl-embed s | tl-cat | jq -e '.vec | length == 384'
	run env TL_MODEL_PATH=/nonexistent tl-embed -m no-such-model s
	[ "$status" -eq 5 ]
	[[ "$output" == "tl-embed: model 'no-such-model' not found"* ]]
}

@test "tl-embed: a stream tokenized with another vocabulary is refused" {
	sha=$(sha256sum "$MINILM/vocab.txt" | cut -c1-64)
	printf '{"tl":1,"kind":"header","tokenizer":{"vocab_sha256":"%s"}}\n{"ids":[101,102]}\n' "$sha" | tl-cat -t msgpack |
		tl-embed | tl-cat | jq -e '.vec | length == 384'
	run sh -c 'printf "{\"tl\":1,\"kind\":\"header\",\"tokenizer\":{\"vocab_sha256\":\"%064d\"}}\n{\"ids\":[101,102]}\n" 0 | tl-cat -t msgpack | tl-embed'
	[ "$status" -eq 5 ]
	# (about the header record, which has no number: data records count from 1)
	[[ "$output" == "tl-embed: the stream was tokenized with another vocabulary"*"vocab.txt"* ]]
}

@test "tl-embed: bad records are errors naming the record" {
	run sh -c 'printf "{\"ids\":[101,102]}\n{\"text\":\"x\"}\n" | tl-cat -t msgpack | tl-embed >/dev/null'
	[ "$status" -eq 3 ]
	[[ "$output" == *"tl-embed: record 2: no \"ids\""* ]]
	run sh -c 'printf "{\"ids\":[101,30522,102]}\n" | tl-cat -t msgpack | tl-embed >/dev/null'
	[ "$status" -eq 3 ]
	[[ "$output" == *"record 1: ids[1] = 30522 outside the vocabulary"* ]]
	run sh -c 'printf "{\"ids\":\"x\"}\n" | tl-cat -t msgpack | tl-embed >/dev/null'
	[ "$status" -eq 3 ]
	run sh -c 'printf "{\"ids\":[]}\n" | tl-cat -t msgpack | tl-embed >/dev/null'
	[ "$status" -eq 3 ]
}

@test "tl-embed: a sequence longer than max_position_embeddings is an error (exit 3)" {
	jq -n -c '{id: 1, ids: [range(0; 10) | 1000]}, {id: 2, ids: [range(0; 513) | 1000]}' | tl-cat -t msgpack >"$BATS_TEST_TMPDIR/s"
	run tl-embed "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"tl-embed: record 2: 513 tokens, more than the model's max_position_embeddings (512)"* ]]
}

@test "tl-embed: corrupt model directories (exit 5, one line naming the file)" {
	sample_stream 1 >"$BATS_TEST_TMPDIR/s"
	d="$BATS_TEST_TMPDIR/bad"
	model_copy "$d"
	rm "$d/config.json" && echo '{"hidden_size": 384,' >"$d/config.json"
	run tl-embed -m "$d" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == "tl-embed: $d/config.json: not valid JSON"* ]]
	jq 'del(.hidden_size)' "$MINILM/config.json" >"$d/config.json"
	run tl-embed -m "$d" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"no integer \"hidden_size\""* ]]
	jq '.intermediate_size = 1537' "$MINILM/config.json" >"$d/config.json"
	run tl-embed -m "$d" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"config.json: intermediate_size 1537 does not match the weights (1536 intermediate units in encoder.layer.0.intermediate.dense.weight)"* ]]
	rm "$d/config.json" && ln -s "$MINILM/config.json" "$d/"
	rm "$d/model.safetensors"
	head -c 5000000 "$MINILM/model.safetensors" >"$d/model.safetensors"
	run tl-embed -m "$d" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"model.safetensors: tensor '"*"out of range"* ]]
	[ "${#lines[@]}" -eq 1 ]
	printf '\377\377\377\000\000\000\000\000{}' >"$d/model.safetensors"
	run tl-embed -m "$d" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"header length 16777215 beyond the end of the file"* ]]
	mkst "$d/model.safetensors" '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}' 12
	run tl-embed -m "$d" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"tensors 'a' and 'b' overlap"* ]]
	mkst "$d/model.safetensors" '{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}' 8
	run tl-embed -m "$d" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"tensor 'a': unknown dtype 'Q4'"* ]]
	mkst "$d/model.safetensors" '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 8
	run tl-embed -m "$d" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"tensor 'embeddings.word_embeddings.weight' missing"* ]]
	rm "$d/model.safetensors"
	run tl-embed -m "$d" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 5 ]
	[[ "$output" == *"no model.safetensors"* ]]
}

@test "tl-embed: usage, help, version, empty input" {
	run tl-embed --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run tl-embed --version
	[ "$status" -eq 0 ]
	run tl-embed --pool median
	[ "$status" -eq 2 ]
	run tl-embed --layer 9 /dev/null
	[ "$status" -eq 2 ]
	run tl-embed --bogus
	[ "$status" -eq 2 ]
	run sh -c ': | tl-embed'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "tl-embed: tl-clean | tl-tokenize | tl-embed on SST-2 dev gives sentence-transformers' embeddings" {
	head -n 25 "$TL_SHARED/data/sst2/dev.tsv" | tl-clean | tl-tokenize | tl-embed --normalize | tl-cat >"$BATS_TEST_TMPDIR/o"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/o")" -eq 24 ]
	d=$(jq -n --slurpfile a "$BATS_TEST_TMPDIR/o" --slurpfile r "$SAMPLE" \
		'[$a, $r[:24]] | transpose | map(([.[0].ids, .[1].ids] | .[0] == .[1]) as $same | if $same then ([.[0].vec, .[1].st] | transpose | map(.[0] - .[1] | fabs) | max) else 99 end) | max')
	echo "max abs diff $d"
	jq -e -n "$d < 1e-4"
}

@test "tl-embed: TL_GEMM=blas (OpenBLAS products, no prepared weights) gives the same embeddings" {
	sample_stream | tl-embed --normalize | tl-cat >"$BATS_TEST_TMPDIR/a.jsonl"
	sample_stream | TL_GEMM=blas tl-embed --normalize | tl-cat >"$BATS_TEST_TMPDIR/b.jsonl"
	jq -e -n "$(maxdiff vec st "$BATS_TEST_TMPDIR/b.jsonl") < 1e-4"
	jq -s '.[].vec' "$BATS_TEST_TMPDIR/a.jsonl" >"$BATS_TEST_TMPDIR/va.json"
	jq -s '.[].vec' "$BATS_TEST_TMPDIR/b.jsonl" >"$BATS_TEST_TMPDIR/vb.json"
	# not the same bits (another summation order), the same vectors to 1e-6
	d=$(jq -n --slurpfile a "$BATS_TEST_TMPDIR/va.json" --slurpfile b "$BATS_TEST_TMPDIR/vb.json" \
		'[$a, $b] | transpose | map(transpose | map(.[0] - .[1] | fabs) | max) | max')
	echo "max abs diff between the two paths: $d"
	jq -e -n "$d < 1e-6"
}

@test "tl-embed: --device cpu gives the default's records (header aside); cuda (not built) and TL_DEVICE=bogus are usage errors" {
	sample_stream | tl-embed | tl-cat >"$BATS_TEST_TMPDIR/a"
	sample_stream | tl-embed --device cpu | tl-cat >"$BATS_TEST_TMPDIR/b"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	sample_stream | TL_DEVICE=cpu tl-embed | tl-cat >"$BATS_TEST_TMPDIR/c"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/c"
	run tl-embed --device cuda </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"tl-embed: device 'cuda' is not built in (available: cpu)"* ]]
	TL_DEVICE=bogus run tl-embed </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"tl-embed: device 'bogus' is not built in (available: cpu)"* ]]
	# --device wins over TL_DEVICE
	sample_stream | TL_DEVICE=bogus tl-embed --device cpu | tl-cat >"$BATS_TEST_TMPDIR/d"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/d"
	run tl-embed --help
	[[ "$output" == *"--device NAME"* ]]
}
