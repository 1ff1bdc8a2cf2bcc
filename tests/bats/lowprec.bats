#!/usr/bin/env bats
# --precision fp32|bf16|int8 on tl-embed and tl-predict, and TL_ISA forcing
# (kernels/cpu/lowprec.c, isa.c).
load helpers
load bert_helpers

setup() { need_model; }

cpu_has() { grep -qw "$1" /proc/cpuinfo; }

@test "tl-embed --precision: bf16 and int8 embeddings within cosine 0.99 of fp32; fp32 is the default, bit for bit" {
	sample_stream | tl-embed | tl-cat >"$BATS_TEST_TMPDIR/def"
	sample_stream | tl-embed --precision fp32 | tl-cat >"$BATS_TEST_TMPDIR/fp32"
	cmp "$BATS_TEST_TMPDIR/def" "$BATS_TEST_TMPDIR/fp32"
	for p in bf16 int8; do
		sample_stream | tl-embed --precision $p | tl-cat >"$BATS_TEST_TMPDIR/$p"
		[ "$(wc -l <"$BATS_TEST_TMPDIR/$p")" -eq 26 ]
		! cmp -s "$BATS_TEST_TMPDIR/fp32" "$BATS_TEST_TMPDIR/$p" # the low-precision products ran
		c=$(cosines "$BATS_TEST_TMPDIR/fp32" "$BATS_TEST_TMPDIR/$p")
		echo "$p cosine to fp32 (min, mean): $c"
		jq -e -n "$c | .[0] >= 0.99"
	done
	# bf16 keeps 8 significant bits: much closer than int8
	jq -e -n "$(cosines "$BATS_TEST_TMPDIR/fp32" "$BATS_TEST_TMPDIR/bf16") | .[0] >= 0.999"
	# the header says which
	sample_stream 1 | tl-embed --precision int8 | tl-cat -H | head -1 | jq -e '.embed.precision == "int8"'
	sample_stream 1 | tl-embed | tl-cat -H | head -1 | jq -e '.embed | has("precision") | not'
}

@test "tl-embed --precision: bitwise the same for any batch size and thread count" {
	for p in bf16 int8; do
		sample_stream | tl-embed --precision $p -b 1 -j 1 | tl-cat | jq -c .vec >"$BATS_TEST_TMPDIR/a"
		sample_stream | tl-embed --precision $p -b 7 -j 2 | tl-cat | jq -c .vec >"$BATS_TEST_TMPDIR/b"
		sample_stream | tl-embed --precision $p -b 32 -j 2 --pool mean | tl-cat | jq -c .vec >"$BATS_TEST_TMPDIR/c"
		cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
		cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/c"
	done
}

@test "tl-embed, tl-predict: bad --precision values are usage errors" {
	for v in fp16 INT8 "" 8; do
		run tl-embed --precision "$v" </dev/null
		[ "$status" -eq 2 ]
		[[ "$output" == "tl-embed: option --precision: unknown precision '$v' (fp32, bf16, int8)"* ]]
	done
	run tl-embed --precision
	[ "$status" -eq 2 ]
	CLS="$BATS_TEST_TMPDIR/seqcls"
	sh "$TL_ROOT/tests/ref/bert/mkseqcls.sh" "$CLS"
	run tl-predict -m "$CLS" --precision int4 </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == "tl-predict: option --precision: unknown precision 'int4' (fp32, bf16, int8)"* ]]
}

@test "TL_ISA: an unknown name or a level the CPU lacks is a usage error" {
	run env TL_ISA=sse tl-embed </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == "tl-embed: TL_ISA=sse: unknown instruction set (avx2, avx512, vnni, amx)"* ]]
	CLS="$BATS_TEST_TMPDIR/seqcls"
	sh "$TL_ROOT/tests/ref/bert/mkseqcls.sh" "$CLS"
	run env TL_ISA=bogus tl-predict -m "$CLS" </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == "tl-predict: TL_ISA=bogus: unknown instruction set"* ]]
	if cpu_has amx_tile; then
		skip "this CPU has AMX: no level above amx to refuse"
	fi
	run env TL_ISA=amx tl-embed </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == "tl-embed: TL_ISA=amx: this CPU lacks it (it has "* ]]
}

@test "TL_ISA forcing: avx512 gives vpdpbusd's and vdpbf16ps's bits, amx tdpbusd's at int8 and close at bf16; avx2 (C products, no AVX-512 anywhere) is close" {
	cpu_has avx512_vnni && cpu_has avx512bw || skip "the CPU lacks AVX512-VNNI: nothing to compare the fallbacks with"
	# int8 sums are exact integers on every path: the default (amx where the CPU has it) included
	sample_stream 8 | tl-embed --precision int8 -j 1 | tl-cat | jq -c .vec >"$BATS_TEST_TMPDIR/def"
	sample_stream 8 | TL_ISA=vnni tl-embed --precision int8 -j 1 | tl-cat | jq -c .vec >"$BATS_TEST_TMPDIR/vnni"
	sample_stream 8 | TL_ISA=avx512 tl-embed --precision int8 -j 1 | tl-cat | jq -c .vec >"$BATS_TEST_TMPDIR/avx512"
	cmp "$BATS_TEST_TMPDIR/vnni" "$BATS_TEST_TMPDIR/avx512"
	cmp "$BATS_TEST_TMPDIR/def" "$BATS_TEST_TMPDIR/vnni"
	# at avx2 the fp32 parts (attention, OpenBLAS products) change too: the
	# C int8 kernel's own bits are checked against vpdpbusd in test_lowprec
	sample_stream 8 | tl-embed -j 1 --precision int8 | tl-cat >"$BATS_TEST_TMPDIR/i5"
	sample_stream 8 | TL_ISA=avx2 tl-embed -j 1 --precision int8 | tl-cat >"$BATS_TEST_TMPDIR/i2"
	! cmp -s "$BATS_TEST_TMPDIR/i5" "$BATS_TEST_TMPDIR/i2"
	jq -e -n "$(cosines "$BATS_TEST_TMPDIR/i5" "$BATS_TEST_TMPDIR/i2") | .[0] >= 0.999" # int8 rounding flips on tiny fp32 changes
	cpu_has avx512_bf16 || skip "the CPU lacks AVX512-BF16"
	sample_stream 8 | TL_ISA=vnni tl-embed --precision bf16 -j 1 | tl-cat >"$BATS_TEST_TMPDIR/bdp"
	sample_stream 8 | TL_ISA=avx512 tl-embed --precision bf16 -j 1 | tl-cat >"$BATS_TEST_TMPDIR/bf"
	cmp "$BATS_TEST_TMPDIR/bdp" "$BATS_TEST_TMPDIR/bf"
	if cpu_has amx_bf16; then
		# the tile unit rounds inside an instruction its own way: other bits, as close as bf16 allows
		sample_stream 8 | tl-embed --precision bf16 -j 1 | tl-cat >"$BATS_TEST_TMPDIR/bamx"
		! cmp -s "$BATS_TEST_TMPDIR/bamx" "$BATS_TEST_TMPDIR/bdp"
		c=$(cosines "$BATS_TEST_TMPDIR/bamx" "$BATS_TEST_TMPDIR/bdp")
		echo "bf16 amx cosine to vnni (min, mean): $c"
		jq -e -n "$c | .[0] >= 0.9999"
	else
		echo "# SKIP bf16 on amx: the CPU lacks AMX-BF16" >&3
	fi
	# fp32 under TL_ISA=avx2 runs OpenBLAS instead of the AVX-512 kernels: close, not the same bits
	sample_stream 8 | TL_ISA=avx2 tl-embed -j 1 | tl-cat >"$BATS_TEST_TMPDIR/f2"
	sample_stream 8 | tl-embed -j 1 | tl-cat >"$BATS_TEST_TMPDIR/f5"
	jq -e -n "$(cosines "$BATS_TEST_TMPDIR/f5" "$BATS_TEST_TMPDIR/f2") | .[0] >= 0.99999"
}

@test "tl-predict --precision: logits near the reference, same predictions where the margin is clear; not for tl-linear models" {
	CLS="$BATS_TEST_TMPDIR/seqcls"
	sh "$TL_ROOT/tests/ref/bert/mkseqcls.sh" "$CLS"
	sample_stream | tl-predict -m "$CLS" --logits | tl-cat >"$BATS_TEST_TMPDIR/fp32"
	for p in bf16 int8; do
		sample_stream | tl-predict -m "$CLS" --logits --precision $p | tl-cat >"$BATS_TEST_TMPDIR/$p"
		d=$(maxdiff logits ref_logits "$BATS_TEST_TMPDIR/$p")
		echo "$p max abs logit diff $d"
		jq -e -n "$d < 0.05 and $d > 0"
		# the same prediction wherever fp32's margin exceeds twice that
		paste -d '\n' "$BATS_TEST_TMPDIR/fp32" "$BATS_TEST_TMPDIR/$p" | jq -s -e '[range(0; length; 2) as $i |
			select((.[$i].logits[1] - .[$i].logits[0]) | fabs > 0.1) | .[$i].pred == .[$i+1].pred] | all'
	done
	for i in $(seq 1 20); do
		printf '{"id":%d,"text":"a great fun movie %d","label":"pos"}\n' "$i" "$i"
		printf '{"id":%d,"text":"a dull boring film %d","label":"neg"}\n' "$((i + 100))" "$i"
	done | mkstream >"$BATS_TEST_TMPDIR/train.s"
	tl-train -q -o "$BATS_TEST_TMPDIR/lin" --threads 1 --epochs 2 --dim 8 "$BATS_TEST_TMPDIR/train.s"
	run tl-predict -m "$BATS_TEST_TMPDIR/lin" --precision int8 <"$BATS_TEST_TMPDIR/train.s"
	[ "$status" -eq 2 ]
	[[ "$output" == "tl-predict: --precision int8: a tl-linear model has no such products (BERT models only)"* ]]
	tl-predict -m "$BATS_TEST_TMPDIR/lin" --precision fp32 <"$BATS_TEST_TMPDIR/train.s" | tl-cat | wc -l | grep -qx 40
}


@test "bf16 attention: every TL_ISA level runs it, close to the default path (avx2: the C kernels and exp2f)" {
	sample_stream 8 | tl-embed --precision bf16 -j 1 | tl-cat >"$BATS_TEST_TMPDIR/b"
	sample_stream 8 | tl-embed --precision fp32 -j 1 | tl-cat >"$BATS_TEST_TMPDIR/f"
	for lv in avx2 avx512; do
		sample_stream 8 | TL_ISA=$lv tl-embed --precision bf16 -j 1 | tl-cat >"$BATS_TEST_TMPDIR/$lv"
		c=$(cosines "$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/$lv")
		echo "TL_ISA=$lv bf16 cosine to the default bf16 (min, mean): $c"
		jq -e -n "$c | .[0] >= 0.9999"
	done
	# bf16 products and attention, against fp32: the bound of the SST-2 dev figures (README)
	c=$(cosines "$BATS_TEST_TMPDIR/f" "$BATS_TEST_TMPDIR/b")
	echo "bf16 cosine to fp32 (min, mean): $c"
	jq -e -n "$c | .[0] >= 0.9999"
}
