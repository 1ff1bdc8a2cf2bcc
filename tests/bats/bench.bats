#!/usr/bin/env bats
# Every bench/*.sh runs from a checkout after `make`, as its README line
# says, in its seconds-long mode (BENCH_QUICK=1, bench/need.sh): tl's side
# must run and print its figures. A peer (Python module or command) runs
# when it is installed, and its figures must then be there; when it is
# missing the script must say "peer not run" and print no peer figure,
# which this test checks rather than counting the peer as run. The PyTorch
# peers of bench/bert.sh and bench/train_bert.sh take minutes on 2 cores:
# they are left out (BENCH_PEERS=0) unless TL_BENCH_PEERS=1.
load helpers

setup() {
	[ -f "$TL_SHARED/data/sst2/train.tsv" ] || skip "no data under $TL_SHARED/data (../shared)"
	: "${TL_BUILD:=$TL_ROOT/build}"
	B=$(realpath --relative-to="$TL_ROOT" "$TL_BUILD")
	cd "$TL_ROOT"
	export BENCH_QUICK=1 TL_SHARED
}

# has_py MODULE...: all importable
has_py() { for m; do python3 -c "import $m" 2>/dev/null || return 1; done; }

# peer_check RAN PATTERN: the peer's figure line matches PATTERN when RAN
# is 1, else there is none and the script said it did not run
peer_check() {
	if [ "$1" = 1 ]; then
		[[ "$output" != *"peer not run"* ]]
		grep -q -- "$2" <<<"$output"
	else
		[[ "$output" == *"peer not run"* ]]
		! grep -q -- "$2" <<<"$output"
	fi
}

@test "bench: augment.sh (EDA peer: nltk)" {
	run sh bench/augment.sh "$B"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tl-augment -n 1 --ops all: 2000 sentences, wall "*"sentences/s"* ]]
	[[ "$output" == *"tl-augment -n 1 --ops eda: 2000 sentences"* ]]
	ran=0; has_py nltk && ran=1
	peer_check $ran '^EDA eda.py (NLTK) num_aug=1: 200 sentences'
}

@test "bench: clean.sh (peer: bench/clean_peer.py), and without the peer" {
	run sh bench/clean.sh "$B"
	[ "$status" -eq 0 ]
	[[ "$output" == *"2000 reviews"* ]]
	grep -q '^tl-clean     wall [0-9.]* s' <<<"$output"
	grep -q '^tl-clean:  *max RSS [0-9]* KB' <<<"$output"
	peer_check 1 '^python-peer  wall'
	BENCH_PEERS=0 run sh bench/clean.sh "$B"
	[ "$status" -eq 0 ]
	grep -q '^tl-clean     wall' <<<"$output"
	peer_check 0 '^python-peer'
}

@test "bench: eval.sh (peer: scikit-learn)" {
	run sh bench/eval.sh "$B"
	[ "$status" -eq 0 ]
	grep -q '^records: 2000;' <<<"$output"
	grep -q '^tl-eval --json (stream): [0-9.]* s; accuracy 0\.[0-9]* roc_auc 0\.' <<<"$output"
	ran=0; has_py numpy sklearn && ran=1
	peer_check $ran '^scikit-learn (JSON lines):'
}

@test "bench: leak.sh and leak_eval.sh (no peer)" {
	run sh bench/leak.sh "$B"
	[ "$status" -eq 0 ]
	for m in linear fasttext; do
		grep -q "^tl-train -m $m cpu: median with the check [0-9.]* s, without [0-9.]* s, ratio" <<<"$output"
	done
	run sh bench/leak_eval.sh "$B"
	[ "$status" -eq 0 ]
	grep -q '^tl-predict   keys [0-9.]*  no keys [0-9.]*' <<<"$output"
	grep -q '^seen marks: dev 872, train 0' <<<"$output"
}

@test "bench: linear.sh (peers: fastText, scikit-learn)" {
	run sh bench/linear.sh "$B"
	[ "$status" -eq 0 ]
	grep -q '^sst2 tl-fasttext run 1: acc 0\.[0-9]* train_s' <<<"$output"
	grep -q '^sst2 tl-linear run 1: acc 0\.[0-9]* train_s .* n 872$' <<<"$output"
	ran=0; has_py sklearn && command -v fasttext >/dev/null && ran=1
	peer_check $ran '^sst2 fasttext run 1: acc'
}

@test "bench: tokenize.sh (peer: tokenizers), and without the peer" {
	run sh bench/tokenize.sh "$B"
	[ "$status" -eq 0 ]
	grep -q '^texts: 500 ' <<<"$output"
	grep -q '^tl-tokenize  ' <<<"$output"
	ran=0; has_py tokenizers && ran=1
	peer_check $ran '^hf-encode_batch '
	BENCH_PEERS=0 run sh bench/tokenize.sh "$B"
	[ "$status" -eq 0 ]
	grep -q '^tl-tokenize  ' <<<"$output"
	peer_check 0 '^hf-encode'
}

@test "bench: bert.sh and train_bert.sh (peer: torch, transformers)" {
	[ -f "$TL_ROOT/models/all-MiniLM-L6-v2/model.safetensors" ] || skip "no models/all-MiniLM-L6-v2 (make models)"
	export BENCH_PEERS=${TL_BENCH_PEERS:-0}
	ran=0; [ "$BENCH_PEERS" != 0 ] && has_py torch transformers && ran=1
	run sh bench/bert.sh "$B"
	[ "$status" -eq 0 ]
	grep -q '^| sst2 | 1 | tl-embed | 1 | [0-9]* |' <<<"$output"
	grep -q '^| imdb | 1 | tl-predict | 1 | [0-9]* |' <<<"$output"
	peer_check $ran '^| sst2 | 1 | torch-embed-dynamic |'
	# as README says: the tools' folder, from anywhere
	cd /
	run sh "$TL_ROOT/bench/train_bert.sh" "$TL_BUILD/bin"
	[ "$status" -eq 0 ]
	grep -q '^{"peer":"tl","steps":5,' <<<"$output"
	grep -q '^median tokens/s: tl [0-9.]*' <<<"$output"
	peer_check $ran '"peer":"torch"\|pytorch [0-9]'
}

@test "bench: train_ab.sh (two builds side by side, no peer) and its products (train_gemm.c)" {
	[ -f "$TL_ROOT/models/all-MiniLM-L6-v2/model.safetensors" ] || skip "no models/all-MiniLM-L6-v2 (make models)"
	run sh bench/train_ab.sh "$B/bin" "$B/bin"
	[ "$status" -eq 0 ]
	grep -q '^A: [0-9,]* tokens/s (per-step medians)' <<<"$output"
	grep -q '^B: [0-9,]* tokens/s (per-step medians)' <<<"$output"
	grep -q '^B / A: [0-9.]*$' <<<"$output"
	# the products: four shapes where tl's kernels run, else said so
	grep -q '^IC 1536 OC  384: forward sgemm *[0-9]* tl *[0-9]*' <<<"$output" ||
		grep -q "tl's kernels do not run" <<<"$output"
	run sh bench/train_ab.sh "$B/bin"
	[ "$status" -eq 2 ]
	[[ "$output" == *usage* ]]
}

@test "bench: lm.sh (peer: a torch AWD-LSTM LM step), and without the peer" {
	ran=0; has_py torch && ran=1
	run sh bench/lm.sh "$B/bin"
	[ "$status" -eq 0 ]
	for p in fp32 bf16; do
		grep -q "^tl lm V [0-9]* B 8 T 20 threads 1: tokens_per_s [0-9]* step_median_tokens_per_s [0-9]* mean_window [0-9.]* peak_rss_mb [0-9]* params [0-9]* prec $p\$" <<<"$output"
		grep -q "^summary threads 1 $p: tl [0-9]* tokens/s" <<<"$output"
		peer_check $ran "^torch lm V [0-9]* B 8 T 20 threads 1: median_ms .* prec $p\$"
	done
	grep -q '^load before: ' <<<"$output"
	if [ $ran = 1 ]; then grep -q '^params: tl [0-9]* (model.safetensors), torch [0-9]*: the same$' <<<"$output"; fi
	BENCH_PEERS=0 run sh bench/lm.sh "$B/bin"
	[ "$status" -eq 0 ]
	grep -q '^tl lm V ' <<<"$output"
	peer_check 0 '^torch lm'
}

@test "bench: lstm.sh (peer: torch nn.LSTM), and without the peer" {
	ran=0; has_py torch && ran=1
	run sh bench/lstm.sh "$B"
	[ "$status" -eq 0 ]
	grep -q '^tl B 8 T 20 I 64 H 64 threads 1: median_ms [0-9.]* tokens_per_s [0-9]* cpu_ms' <<<"$output"
	grep -q '^tl-bf16 B 8 T 20 I 64 H 64 threads 1: median_ms [0-9.]* tokens_per_s [0-9]* cpu_ms' <<<"$output"
	grep -q '^summary B 8 T 20 I 64 H 64 threads 1: tl [0-9]* tokens/s.*; tl-bf16 [0-9]* tokens/s' <<<"$output"
	grep -q '^load before: ' <<<"$output"
	grep -q "^bits tl B 8 T 20 I 64 H 64: 1 distinct" <<<"$output"
	grep -q "^bits tl-bf16 B 8 T 20 I 64 H 64: 1 distinct" <<<"$output"
	peer_check $ran '^torch B 8 T 20 I 64 H 64 threads 1: median_ms'
	peer_check $ran '^torch-bf16 B 8 T 20 I 64 H 64 threads 1: median_ms'
	BENCH_PEERS=0 run sh bench/lstm.sh "$B"
	[ "$status" -eq 0 ]
	grep -q '^tl B 8 ' <<<"$output"
	peer_check 0 '^torch B'
	peer_check 0 '^torch-bf16 B'
	# one precision only
	PRECS=bf16 run sh bench/lstm.sh "$B"
	[ "$status" -eq 0 ]
	! grep -q '^tl B 8 ' <<<"$output"
	grep -q '^tl-bf16 B 8 ' <<<"$output"
}
