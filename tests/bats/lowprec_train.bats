#!/usr/bin/env bats
# tl-train -m bert --precision bf16: bf16 products with fp32 master weights
# (issue 20). Runs on the tiny random BERT of tests/ref/tiny_bert with the
# synthetic data of train_bert.bats: the run, its determinism, SIGKILL
# resume, the precision recorded and refused on resume, bad values,
# $TL_ISA forcing (every path below AMX gives the same bits), and AMX tile
# blocks on MiniLM (deterministic, close to the vnni bits).
load helpers

load tiny_bert

setup() {
	tiny_setup
}

# the dtypes of a safetensors file's header
dtypes() { head -c 4096 "$1" | grep -ao '"dtype":"[^"]*"' | sort -u | tr -d '\n'; }

@test "lowprec_train: bf16 training runs, records its precision, saves fp32 that tl-predict loads" {
	tiny_train "$D/b" --precision bf16 --dev "$D/dev.s" "$D/train.s"
	[ "$(jq -r .precision "$D/b/tl.json")" = bf16 ]
	[ "$(dtypes "$D/b/model.safetensors")" = '"dtype":"F32"' ]
	jq -e '.dev.accuracy >= 0 and .dev.records == 100' "$D/b/tl.json"
	run sh -c "tl-predict -m '$D/b' <'$D/dev.s' | tl-cat -t jsonl | wc -l"
	[ "$status" -eq 0 ]
	[ "$output" -eq 100 ]
	# bf16 products really ran: not the fp32 run's bits
	tiny_train "$D/f" --dev "$D/dev.s" "$D/train.s"
	[ "$(jq -r .precision "$D/f/tl.json")" = fp32 ]
	! cmp -s "$D/b/model.safetensors" "$D/f/model.safetensors"
	# --precision fp32 is the default, bit for bit
	tiny_train "$D/f2" --precision fp32 --dev "$D/dev.s" "$D/train.s"
	cmp "$D/f/model.safetensors" "$D/f2/model.safetensors"
}

@test "lowprec_train: bf16 is deterministic (same seed, data, threads: same bits)" {
	tiny_train "$D/a" --precision bf16 "$D/train.s"
	tiny_train "$D/b" --precision bf16 "$D/train.s"
	cmp "$D/a/model.safetensors" "$D/b/model.safetensors"
	tiny_train "$D/t1" --precision bf16 --threads 2 "$D/train.s"
	tiny_train "$D/t2" --precision bf16 --threads 2 "$D/train.s"
	cmp "$D/t1/model.safetensors" "$D/t2/model.safetensors"
}

@test "lowprec_train: bf16 SIGKILL mid-epoch, then --resume, ends bitwise identical" {
	tiny_train "$D/ref" --precision bf16 --dev "$D/dev.s" "$D/train.s"
	TL_FAULT_KILL_AT_STEP=23 run tiny_train "$D/k" --precision bf16 --dev "$D/dev.s" --checkpoint-every 10 "$D/train.s"
	[ "$status" -eq 137 ]
	[ "$(jq -r .step "$D/k.ckpt/state.json")" = 20 ]
	[ "$(jq -r .options.precision "$D/k.ckpt/state.json")" = bf16 ]
	run tiny_train "$D/k" --precision bf16 --dev "$D/dev.s" --checkpoint-every 10 --resume "$D/k.ckpt" "$D/train.s"
	[ "$status" -eq 0 ]
	cmp "$D/ref/model.safetensors" "$D/k/model.safetensors"
	[ "$(jq -c .dev "$D/ref/tl.json")" = "$(jq -c .dev "$D/k/tl.json")" ]
}

@test "lowprec_train: --resume with another precision is refused (exit 2, naming it)" {
	TL_FAULT_KILL_AT_STEP=12 run tiny_train "$D/k" --precision bf16 --checkpoint-every 10 "$D/train.s"
	[ "$status" -eq 137 ]
	run tiny_train "$D/k" --checkpoint-every 10 --resume "$D/k.ckpt" "$D/train.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--precision was bf16 in the checkpoint, now fp32"*"--allow-change precision"* ]]
	[ ! -e "$D/k" ]
	# and the other way round
	TL_FAULT_KILL_AT_STEP=12 run tiny_train "$D/j" --checkpoint-every 10 "$D/train.s"
	[ "$status" -eq 137 ]
	run tiny_train "$D/j" --precision bf16 --checkpoint-every 10 --resume "$D/j.ckpt" "$D/train.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--precision was fp32 in the checkpoint, now bf16"* ]]
}

@test "lowprec_train: bad --precision values and \$TL_ISA exit 2" {
	run tiny_train "$D/x" --precision int8 "$D/train.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --precision: int8 is for inference"* ]]
	run tiny_train "$D/x" --precision fp16 "$D/train.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --precision: unknown 'fp16' (fp32, bf16)"* ]]
	run tiny_train "$D/x" --precision "" "$D/train.s"
	[ "$status" -eq 2 ]
	run tl-train -o "$D/x" --precision bf16 "$D/train.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--precision is not for -m fasttext"* ]]
	TL_ISA=sse run tiny_train "$D/x" --precision bf16 "$D/train.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"TL_ISA=sse: unknown instruction set"* ]]
	[ ! -e "$D/x" ]
}

@test "lowprec_train: TL_ISA forces the lower kernel paths, with the same bits below AMX" {
	flags=$(grep -m1 '^flags' /proc/cpuinfo)
	# AMX tiles give their own bits (the case at the end of this file): where
	# the CPU has them, the lower paths are compared with TL_ISA=vnni's run
	if [[ "$flags" == *amx_bf16* ]]; then
		TL_ISA=vnni tiny_train "$D/n" --precision bf16 "$D/train.s"
	else
		tiny_train "$D/n" --precision bf16 "$D/train.s"
	fi
	n=0
	for isa in avx2 avx512 vnni; do
		case $isa in
		avx512) [[ "$flags" == *avx512f* ]] || { echo "# SKIP TL_ISA=avx512: the CPU lacks it" >&3; continue; } ;;
		vnni) [[ "$flags" == *avx512_bf16* || "$flags" == *avx512_vnni* ]] ||
			{ echo "# SKIP TL_ISA=vnni: the CPU lacks it" >&3; continue; } ;;
		esac
		TL_ISA=$isa tiny_train "$D/$isa" --precision bf16 "$D/train.s"
		cmp "$D/n/model.safetensors" "$D/$isa/model.safetensors"
		n=$((n + 1))
	done
	[ "$n" -ge 1 ]
	if [[ "$flags" != *amx_tile* ]]; then
		TL_ISA=amx run tiny_train "$D/x" --precision bf16 "$D/train.s"
		[ "$status" -eq 2 ]
		[[ "$output" == *"TL_ISA=amx: this CPU lacks it"* ]]
	fi
}

@test "lowprec_train: bench/train_bert_acc.sh runs both precisions (BENCH_QUICK)" {
	[ -f "$TL_ROOT/models/all-MiniLM-L6-v2/model.safetensors" ] || skip "no models/all-MiniLM-L6-v2 (make models)"
	[ -f "$TL_SHARED/data/sst2/train.tsv" ] || skip "no data under $TL_SHARED/data"
	BENCH_QUICK=1 TL_SHARED="$TL_SHARED" run sh "$TL_ROOT/bench/train_bert_acc.sh" "$TL_BIN"
	[ "$status" -eq 0 ]
	grep -q '^{"precision":"fp32","train_sentences":"200",.*"dev_accuracy":0\.[0-9]*' <<<"$output"
	grep -q '^{"precision":"bf16","train_sentences":"200",.*"dev_accuracy":0\.[0-9]*' <<<"$output"
	grep -q '^bf16 - fp32 dev accuracy: -*[0-9.]* points' <<<"$output"
}

@test "lowprec_train: bf16 on AMX tile blocks (MiniLM's widths): deterministic for a thread count, close to the vnni path's bits" {
	grep -qw amx_bf16 /proc/cpuinfo || skip "the CPU lacks AMX-BF16: the tiny model above covers the lower paths"
	[ -f "$TL_ROOT/models/all-MiniLM-L6-v2/model.safetensors" ] || skip "no models/all-MiniLM-L6-v2 (make models)"
	# 26 sentences of the BERT fixture with two labels: 4 steps of batch 8
	jq -c '{id, ids, label: (if .id % 2 == 0 then "even" else "odd" end)}' "$TL_ROOT/tests/ref/bert/sample.jsonl" |
		tl-cat -t msgpack >"$D/m.s"
	mt() { # out [args...]
		local out=$1
		shift
		tl-train -m bert --pretrained "$TL_ROOT/models/all-MiniLM-L6-v2" -o "$out" --epochs 1 --batch-size 8 \
			--precision bf16 -q "$@" "$D/m.s"
	}
	mt "$D/a1" --threads 1
	mt "$D/b1" --threads 1
	cmp "$D/a1/model.safetensors" "$D/b1/model.safetensors"
	mt "$D/a2" --threads 2
	mt "$D/b2" --threads 2
	cmp "$D/a2/model.safetensors" "$D/b2/model.safetensors"
	# the tile unit's bits are not vdpbf16ps's, and the training ends close to them
	TL_ISA=vnni mt "$D/v1" --threads 1
	! cmp -s "$D/a1/model.safetensors" "$D/v1/model.safetensors"
	for m in a1 v1; do
		tl-embed -m "$D/$m" -j 1 --normalize <"$D/m.s" | tl-cat | jq -c .vec >"$D/$m.vec"
	done
	paste -d ' ' "$D/a1.vec" "$D/v1.vec" | jq -s -e -R 'split("\n") | map(select(length > 0) | split(" ") |
		map(fromjson) | [.[0], .[1]] | transpose | map(.[0] * .[1]) | add) | min > 0.9999'
}
