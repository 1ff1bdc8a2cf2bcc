#!/usr/bin/env bats
# Data-parallel fastText under Open MPI (make MPI=1; README "Beyond one
# machine"): np 1, 2, 3 and a plain run give bitwise-identical models at
# the same global batch (-m fasttext, and -m bert below); bad groups are
# refused naming the rank; a killed rank ends the job and --resume gives
# the uninterrupted run's bits. Skipped
# only when mpirun is absent (CI installs openmpi-bin: tests/deps.sh).
load helpers

setup() {
	command -v mpirun >/dev/null || skip "mpirun absent (apt-get install openmpi-bin libopenmpi-dev)"
	ldd "$TL_BIN/tl-train" | grep -q libmpi || skip "tl-train built without MPI (make MPI=1 with mpicc)"
	T=$BATS_TEST_TMPDIR
	# Open MPI's own allocations (MPI_Init's, in components it dlopens) are
	# never freed, which LeakSanitizer reports in the SAN build: leak
	# checking is off for the ranks only (the plain runs here keep it, and
	# test_dist checks the library's distributed path under ASan with it)
	MR="env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 mpirun --oversubscribe --allow-run-as-root"
	export OMPI_MCA_rmaps_base_oversubscribe=1
	tl-clean "$TL_ROOT/examples/reviews.tsv" >"$T/r.s"
}

@test "mpi: np 2 and np 3 give the plain run's model, bit for bit (softmax, batch 8)" {
	tl-train -q -m fasttext --batch 8 --epochs 3 -o "$T/m1" "$T/r.s"
	$MR -np 2 tl-train -q -m fasttext --batch 8 --epochs 3 -o "$T/m2" "$T/r.s"
	$MR -np 3 tl-train -q -m fasttext --batch 8 --epochs 3 -o "$T/m3" "$T/r.s"
	for m in m2 m3; do
		cmp "$T/m1/model.safetensors" "$T/$m/model.safetensors"
		cmp "$T/m1/words.txt" "$T/$m/words.txt"
		cmp "$T/m1/config.json" "$T/$m/config.json"
	done
	# the model is trained: its predictions match the plain run's, and
	# a different global batch gives a different model (the test can fail)
	tl-train -q -m fasttext --batch 4 --epochs 3 -o "$T/b4" "$T/r.s"
	! cmp -s "$T/m1/model.safetensors" "$T/b4/model.safetensors"
}

@test "mpi: hierarchical softmax with 2 threads per rank, np 2 = plain run" {
	tl-train -q -m fasttext --loss hs --threads 2 --epochs 2 -o "$T/h1" "$T/r.s"
	$MR -np 2 tl-train -q -m fasttext --loss hs --threads 2 --epochs 2 -o "$T/h2" "$T/r.s"
	cmp "$T/h1/model.safetensors" "$T/h2/model.safetensors"
}

@test "mpi: np larger than the records (empty shards) still gives the plain run's model" {
	tl-cat "$T/r.s" | head -3 | tl-cat >"$T/three.s"
	tl-train -q -m fasttext -o "$T/t1" "$T/three.s"
	run $MR -np 4 tl-train -q -m fasttext -o "$T/t4" "$T/three.s"
	[ "$status" -eq 0 ]
	cmp "$T/t1/model.safetensors" "$T/t4/model.safetensors"
	# rank 0 alone writes: one model directory, no leftovers
	[ -z "$(ls -a "$T" | grep '^\.\{0,1\}t4' | grep -v '^t4$' | grep -v '^t4\.lock$')" ]
}

@test "mpi: ranks given other arguments or another stream are refused, naming the rank" {
	run $MR -np 2 sh -c 'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then e=2; else e=3; fi
		exec tl-train -q -m fasttext --epochs $e -o "$0/x" "$0/r.s"' "$T"
	[ "$status" -eq 2 ]
	[[ "$output" == *"tl-train: rank 1 of 2: was given other arguments than rank 0"* ]]
	[ ! -e "$T/x" ]
	mkdir "$T/d0" "$T/d1"
	cp "$T/r.s" "$T/d0/in.s"
	tl-cat "$T/r.s" | head -50 | tl-cat >"$T/d1/in.s"
	run $MR -np 2 sh -c 'cd "$0/d$OMPI_COMM_WORLD_RANK" && exec tl-train -q -m fasttext -o "$0/y" in.s' "$T"
	[ "$status" -eq 3 ]
	[[ "$output" == *"tl-train: rank 1 of 2: read another stream (its labelled records hash differently)"* ]]
	[ ! -e "$T/y" ]
}

@test "mpi: -m linear under mpirun is refused with the reason" {
	run $MR -np 2 tl-train -q -m linear -o "$T/l" "$T/r.s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"-m linear trains by per-example SGD"* ]]
	[ ! -e "$T/l" ]
}

# ---- -m bert (README "Beyond one machine", man tl-train DATA-PARALLEL
# TRAINING): micro-batch j of a step on rank j mod N, gradients summed in
# micro-batch order. The tiny random BERT of tests/ref/tiny_bert on the
# synthetic rule of train_bert.bats (label pos when id 30 occurs).

TINY="$TL_ROOT/tests/ref/tiny_bert"

bert_data() { # seed n
	awk -v seed="$1" -v n="$2" 'BEGIN { srand(seed); for (i = 0; i < n; i++) {
		len = 3 + int(rand() * 8); hit = 0; s = "[2"
		for (j = 0; j < len; j++) { x = 5 + int(rand() * 35); if (rand() < 0.1) x = 30; if (x == 30) hit = 1; s = s "," x }
		printf "{\"id\":%d,\"ids\":%s,3],\"label\":\"%s\"}\n", i, s, hit ? "pos" : "neg" } }' | tl-cat -t msgpack
}

# 300 records, batch 8: 38 micro-batches an epoch, so --grad-accum 3 ends
# each epoch on a step of 2 (rank 2 of 3 idle) and 4 on a step of 2
BT="-m bert --pretrained $TINY --epochs 2 --batch-size 8 --lr 2e-3 --threads 1 -q"

@test "mpi bert: np 1, 2, 3 and a plain run give the same model, bit for bit, at the same global batch" {
	bert_data 1 300 >"$T/b.s"
	for acc in 1 3 4; do
		tl-train $BT --grad-accum $acc -o "$T/p$acc" "$T/b.s"
		$MR -np 1 tl-train $BT --grad-accum $acc -o "$T/n1_$acc" "$T/b.s"
		$MR -np 2 tl-train $BT --grad-accum $acc -o "$T/n2_$acc" "$T/b.s"
		cmp "$T/p$acc/model.safetensors" "$T/n1_$acc/model.safetensors"
		cmp "$T/p$acc/model.safetensors" "$T/n2_$acc/model.safetensors"
		cmp "$T/p$acc/config.json" "$T/n2_$acc/config.json"
	done
	# 3 ranks for 3 and for 4 micro-batches a step (a round with idle ranks)
	$MR -np 3 tl-train $BT --grad-accum 3 -o "$T/n3_3" "$T/b.s"
	$MR -np 3 tl-train $BT --grad-accum 4 -o "$T/n3_4" "$T/b.s"
	cmp "$T/p3/model.safetensors" "$T/n3_3/model.safetensors"
	cmp "$T/p4/model.safetensors" "$T/n3_4/model.safetensors"
	# the global batch decides: another one gives another model (the test can fail)
	! cmp -s "$T/p3/model.safetensors" "$T/p4/model.safetensors"
	# rank 0 alone writes: one model directory, no checkpoint, no leftovers
	[ -z "$(ls -a "$T" | grep '^\.\{0,1\}n2_3' | grep -v '^n2_3$' | grep -v '^n2_3\.lock$')" ]
	# the model is trained: the plain run and the ranks predict the same
	tl-predict -m "$T/p3" "$T/b.s" | tl-cat -t jsonl >"$T/pp.jsonl"
	tl-predict -m "$T/n2_3" "$T/b.s" | tl-cat -t jsonl >"$T/pn.jsonl"
	cmp "$T/pp.jsonl" "$T/pn.jsonl"
}

@test "mpi bert: more ranks than micro-batches (idle ranks add nothing) and than records" {
	bert_data 1 300 >"$T/b.s"
	tl-train $BT --grad-accum 2 -o "$T/p" "$T/b.s"
	run $MR -np 4 tl-train $BT --grad-accum 2 -o "$T/n4" "$T/b.s"
	[ "$status" -eq 0 ]
	cmp "$T/p/model.safetensors" "$T/n4/model.safetensors"
	# not quiet: rank 0 says which ranks wait
	$MR -np 3 tl-train ${BT% -q} --max-steps 2 -o "$T/w" "$T/b.s" 2>"$T/w.err"
	grep -q "tl-train: 3 ranks for 1 micro-batches a step (--grad-accum): ranks 1..2 have none and wait (give --grad-accum 3 or more)" "$T/w.err"
	[ "$(grep -c 'tl-train: bert from' "$T/w.err")" -eq 1 ] # one summary: rank 0's
	# 3 records, one micro-batch: np 4 trains what one process trains
	printf '%s\n' '{"ids":[2,30,7,3],"label":"pos"}' '{"ids":[2,8,9,3],"label":"neg"}' \
		'{"ids":[2,5,30,6,3],"label":"pos"}' | tl-cat -t msgpack >"$T/three.s"
	tl-train $BT --grad-accum 1 -o "$T/t1" "$T/three.s"
	run $MR -np 4 tl-train $BT --grad-accum 1 -o "$T/t4" "$T/three.s"
	[ "$status" -eq 0 ]
	cmp "$T/t1/model.safetensors" "$T/t4/model.safetensors"
}

@test "mpi bert: --task token (loss over the step's labelled tokens) and --dev early stopping, np 2 = plain" {
	awk 'BEGIN { srand(3); for (i = 0; i < 200; i++) {
		nw = 2 + int(rand() * 5); ws = ""; ts = ""; ids = "[2"; wi = "[-1"
		for (j = 0; j < nw; j++) {
			k = int(rand() * 30); tag = k >= 20 ? "B-PER" : "O"
			ws = ws (j ? "," : "") "\"w" k "\""; ts = ts (j ? "," : "") "\"" tag "\""
			ids = ids "," (5 + k); wi = wi "," j
			if (k % 3 == 0) { ids = ids "," (35 + k % 5); wi = wi "," j }
		}
		printf "{\"id\":%d,\"words\":[%s],\"tags\":[%s],\"ids\":%s,3],\"word_ids\":%s,-1]}\n", i + 1, ws, ts, ids, wi } }' |
		tl-cat -t msgpack >"$T/tok.s"
	tl-train $BT --task token --lr 5e-3 --grad-accum 3 -o "$T/tp" "$T/tok.s"
	$MR -np 2 tl-train $BT --task token --lr 5e-3 --grad-accum 3 -o "$T/tn" "$T/tok.s"
	cmp "$T/tp/model.safetensors" "$T/tn/model.safetensors"
	# dev evaluation every 5 steps, the best weights, early stopping
	bert_data 1 200 >"$T/b.s"
	bert_data 2 60 >"$T/dev.s"
	tl-train $BT --epochs 4 --grad-accum 2 --dev "$T/dev.s" --eval-every 5 --patience 2 -o "$T/dp" "$T/b.s"
	$MR -np 2 tl-train $BT --epochs 4 --grad-accum 2 --dev "$T/dev.s" --eval-every 5 --patience 2 -o "$T/dn" "$T/b.s"
	cmp "$T/dp/model.safetensors" "$T/dn/model.safetensors"
	cmp "$T/dp/train-keys.bin" "$T/dn/train-keys.bin"
	[ "$(jq -c '[.steps, .dev.step, .stopped_early]' "$T/dp/tl.json")" = "$(jq -c '[.steps, .dev.step, .stopped_early]' "$T/dn/tl.json")" ]
}

@test "mpi bert: SIGKILL of one rank after a checkpoint ends the job (no hang); --resume gives the same bits; SIGINT" {
	bert_data 1 300 >"$T/b.s"
	tl-train $BT --grad-accum 2 -o "$T/u" "$T/b.s"
	# rank 1 is killed after step 7; rank 0 wrote the checkpoint of step 6
	run timeout 120 $MR -np 2 sh -c 'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then export TL_FAULT_KILL_AT_STEP=7; fi
		exec "$@"' sh tl-train $BT --grad-accum 2 --checkpoint-every 3 --log "$T/k.jsonl" -o "$T/k" "$T/b.s"
	[ "$status" -ne 0 ]
	[ "$status" -ne 124 ] # mpirun ended the job: timeout did not have to
	[[ "$output" == *"exited on signal 9"* ]]
	[ ! -e "$T/k" ]
	[ "$(jq .step "$T/k.ckpt/state.json")" -eq 6 ]
	$MR -np 2 tl-train $BT --grad-accum 2 --checkpoint-every 3 --log "$T/k.jsonl" --resume "$T/k.ckpt" -o "$T/k" "$T/b.s"
	cmp "$T/u/model.safetensors" "$T/k/model.safetensors"
	[ ! -e "$T/k.ckpt" ] # served and removed by rank 0
	# the log is rank 0's: steps 1-6, the resume, steps 7-38 once, each with its all-reduce time
	[ "$(jq -cs '[.[] | select(.event == "step") | .step] | [length, .[0], .[-1]]' "$T/k.jsonl")" = "[38,1,38]" ]
	jq -se '[.[] | select(.event == "step") | .allreduce_s > 0 and .wait_s >= 0] | all' "$T/k.jsonl"
	# a plain run's log has neither
	tl-train $BT --grad-accum 2 --max-steps 2 --log "$T/p.jsonl" -o "$T/p" "$T/b.s"
	jq -se '[.[] | select(.event == "step") | has("allreduce_s") or has("wait_s")] | any | not' "$T/p.jsonl"
	# a checkpoint resumes under another number of ranks too (the same bits: N does not matter)
	run timeout 120 $MR -np 3 sh -c 'if [ "$OMPI_COMM_WORLD_RANK" = 2 ]; then export TL_FAULT_KILL_AT_STEP=4; fi
		exec "$@"' sh tl-train $BT --grad-accum 2 --checkpoint-every 3 -o "$T/k3" "$T/b.s"
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
	tl-train $BT --grad-accum 2 --resume "$T/k3.ckpt" -o "$T/k3" "$T/b.s"
	cmp "$T/u/model.safetensors" "$T/k3/model.safetensors"
	# SIGINT to one rank stops all after the step: rank 0 saves, exit 130
	run timeout 120 $MR -np 2 sh -c 'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then export TL_FAULT_SIGINT_AT_STEP=5; fi
		exec "$@"' sh tl-train $BT --grad-accum 2 -o "$T/i" "$T/b.s"
	[ "$status" -eq 130 ]
	[ "$(jq .step "$T/i.ckpt/state.json")" -eq 5 ]
	$MR -np 2 tl-train $BT --grad-accum 2 --resume "$T/i.ckpt" -o "$T/i" "$T/b.s"
	cmp "$T/u/model.safetensors" "$T/i/model.safetensors"
}

@test "mpi bert: bad groups are refused naming the rank: other arguments, another or an empty stream, a rank that cannot read" {
	bert_data 1 300 >"$T/b.s"
	run $MR -np 2 sh -c 'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then e=2; else e=1; fi
		exec tl-train -m bert --pretrained "$1" -q --epochs $e -o "$0/x" "$0/b.s"' "$T" "$TINY"
	[ "$status" -eq 2 ]
	[[ "$output" == *"tl-train: rank 1 of 2: was given other arguments than rank 0"* ]]
	[ ! -e "$T/x" ]
	mkdir "$T/d0" "$T/d1"
	cp "$T/b.s" "$T/d0/in.s"
	tl-cat "$T/b.s" | head -50 | tl-cat >"$T/d1/in.s"
	rk() { $MR -np 2 sh -c 'cd "$0/d$OMPI_COMM_WORLD_RANK" && exec "$@"' "$T" tl-train $BT -o "$T/y" in.s; }
	run rk
	[ "$status" -eq 3 ]
	[[ "$output" == *"tl-train: rank 1 of 2: read another training stream than rank 0 (its records hash differently)"* ]]
	[ ! -e "$T/y" ]
	: >"$T/d1/in.s" # an empty stream
	run rk
	[ "$status" -eq 3 ]
	[[ "$output" == *"tl-train: rank 1 of 2: in.s: no training records"* ]]
	rm "$T/d1/in.s" # a rank that cannot read its input
	run rk
	[ "$status" -eq 4 ]
	[[ "$output" == *"tl-train: rank 1 of 2: cannot open in.s: No such file or directory"* ]]
	[ ! -e "$T/y" ]
	# another pretrained model on rank 1 (same shape, other weights)
	cp -r "$TINY" "$T/tiny2"
	tl-train $BT --max-steps 1 --warmup-steps 0 -o "$T/moved" "$T/b.s"
	cp "$T/moved/model.safetensors" "$T/tiny2/model.safetensors"
	ln -s "$TINY" "$T/d0/pre"
	ln -s "$T/tiny2" "$T/d1/pre"
	run $MR -np 2 sh -c 'cd "$0/d$OMPI_COMM_WORLD_RANK" && exec tl-train -m bert --pretrained pre -q -o "$0/z" "$0/b.s"' "$T"
	[ "$status" -eq 5 ]
	[[ "$output" == *"tl-train: rank 1 of 2: starts from other weights than rank 0 (another --pretrained model or --resume checkpoint)"* ]]
	[ ! -e "$T/z" ]
}
