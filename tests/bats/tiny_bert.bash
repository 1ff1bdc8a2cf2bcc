# tests/bats/tiny_bert.bash - the tiny random BERT of tests/ref/tiny_bert
# (vocabulary of 40 ids) with synthetic data, for the bats files that
# fine-tune it (`load tiny_bert` after `load helpers`):
#   gen SEED N      N records: ids [CLS] x.. [SEP] with x in 5..39; label
#                   "pos" when id 30 occurs, else "neg" (a stream)
#   tiny_setup      D=$BATS_TEST_TMPDIR, $D/train.s (300) and $D/dev.s (100)
#   tiny_train OUT [ARGS...]  tl-train -m bert on it: 3 epochs, batch 16,
#                   lr 2e-3, 1 thread, quiet
TINY="$TL_ROOT/tests/ref/tiny_bert"

gen() { # seed n
	awk -v seed="$1" -v n="$2" 'BEGIN { srand(seed); for (i = 0; i < n; i++) {
		len = 3 + int(rand() * 8); hit = 0; s = "[2"
		for (j = 0; j < len; j++) { x = 5 + int(rand() * 35); if (rand() < 0.1) x = 30; if (x == 30) hit = 1; s = s "," x }
		printf "{\"id\":%d,\"ids\":%s,3],\"label\":\"%s\"}\n", i, s, hit ? "pos" : "neg" } }' | mkstream
}

tiny_setup() {
	D="$BATS_TEST_TMPDIR"
	[ -f "$D/train.s" ] || gen 1 300 >"$D/train.s"
	[ -f "$D/dev.s" ] || gen 2 100 >"$D/dev.s"
	export OMP_WAIT_POLICY=passive
}

tiny_train() { # out [args...]
	local out=$1
	shift
	tl-train -m bert --pretrained "$TINY" -o "$out" --epochs 3 --batch-size 16 --lr 2e-3 --threads 1 -q "$@"
}
