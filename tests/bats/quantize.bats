#!/usr/bin/env bats
# tl-quantize: a pre-quantized int8 model (per-channel scales) that tl-embed and
# tl-predict load without quantizing again; damaged scales and bad usage.
load helpers
load bert_helpers

setup() { need_model; }

@test "tl-quantize: int8 model; tl-embed runs it at int8 with --precision int8's bits, without quantizing again" {
	Q="$BATS_TEST_TMPDIR/q"
	tl-quantize -m "$MINILM" -o "$Q"
	jq -e '.quantization_config.quant_method == "tl-int8" and .model_type == "bert"' "$Q/config.json"
	jq -e '.quantization.precision == "int8" and .quantization.matrices == 36' "$Q/tl.json"
	[ -f "$Q/vocab.txt" ]
	# int8 weights: the file is about a third smaller than the fp32 one
	[ "$(stat -c %s "$Q/model.safetensors")" -lt "$(($(stat -L -c %s "$MINILM/model.safetensors") * 7 / 10))" ]
	sample_stream | tl-embed --precision int8 | tl-cat | jq -c .vec >"$BATS_TEST_TMPDIR/ref"
	sample_stream | tl-embed -m "$Q" | tl-cat | jq -c .vec >"$BATS_TEST_TMPDIR/def"
	sample_stream | tl-embed -m "$Q" --precision int8 | tl-cat | jq -c .vec >"$BATS_TEST_TMPDIR/i8"
	cmp "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/def"
	cmp "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/i8"
	sample_stream 1 | tl-embed -m "$Q" | tl-cat -H | head -1 | jq -e '.embed.precision == "int8"'
	# fp32 on the dequantized weights: still close to the original model
	sample_stream | tl-embed -m "$Q" --precision fp32 | tl-cat >"$BATS_TEST_TMPDIR/qf"
	sample_stream | tl-embed | tl-cat >"$BATS_TEST_TMPDIR/f"
	jq -e -n "$(cosines "$BATS_TEST_TMPDIR/f" "$BATS_TEST_TMPDIR/qf") | .[0] >= 0.99"
}

@test "tl-quantize: tl-predict loads a quantized classifier; bad scales, already quantized, usage" {
	Q="$BATS_TEST_TMPDIR/q"
	tl-quantize -m "$MINILM" -o "$Q"
	CLS="$BATS_TEST_TMPDIR/seqcls"
	sh "$TL_ROOT/tests/ref/bert/mkseqcls.sh" "$CLS" "$Q"
	sample_stream | tl-predict -m "$CLS" --logits | tl-cat >"$BATS_TEST_TMPDIR/o"
	jq -e -n "$(maxdiff logits ref_logits "$BATS_TEST_TMPDIR/o") < 0.05"
	sample_stream | tl-predict -m "$CLS" --logits --precision int8 | tl-cat >"$BATS_TEST_TMPDIR/o8"
	cmp "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/o8"
	# a scale tensor of the wrong shape (and dtype): F32 [384] made I8 [1536], same bytes
	B="$BATS_TEST_TMPDIR/bad"
	model_copy "$B"
	rm "$B/model.safetensors" "$B/config.json"
	cp "$Q/config.json" "$B/"
	perl -0777 -pe 's/("encoder\.layer\.0\.attention\.output\.dense\.weight_scale":\{"dtype":")F32(","shape":\[)384\]/${1}I8${2}1536]/' \
		"$Q/model.safetensors" >"$B/model.safetensors"
	! cmp -s "$Q/model.safetensors" "$B/model.safetensors"
	run sh -c 'head -n 1 "$1" | tl-cat -t msgpack | tl-embed -m "$2"' sh "$SAMPLE" "$B"
	[ "$status" -eq 5 ]
	[[ "$output" == *"tensor 'encoder.layer.0.attention.output.dense.weight_scale' is I8 [1536], expected F32 [384] (one scale per output channel"* ]]
	# a missing scale tensor
	perl -0777 -pe 's/attention\.output\.dense\.weight_scale"/attention.output.dense.weight_scalX"/' "$Q/model.safetensors" >"$B/model.safetensors"
	run sh -c 'head -n 1 "$1" | tl-cat -t msgpack | tl-embed -m "$2"' sh "$SAMPLE" "$B"
	[ "$status" -eq 5 ]
	[[ "$output" == *"is I8 but its scales 'encoder.layer.0.attention.output.dense.weight_scale' are missing"* ]]
	# quantizing again, an existing output, usage
	run tl-quantize -m "$Q" -o "$BATS_TEST_TMPDIR/q2"
	[ "$status" -eq 5 ]
	[[ "$output" == *"already quantized"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/q2" ]
	run tl-quantize -m "$MINILM" -o "$Q"
	[ "$status" -eq 2 ]
	[[ "$output" == *"exists (--force replaces it)"* ]]
	tl-quantize -m "$MINILM" -o "$Q" --force
	run tl-quantize -m "$MINILM"
	[ "$status" -eq 2 ]
	run tl-quantize -m "$BATS_TEST_TMPDIR/nowhere" -o "$BATS_TEST_TMPDIR/q3"
	[ "$status" -eq 5 ]
	tl-quantize --help | grep -q "usage: tl-quantize"
}
