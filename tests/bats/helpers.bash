# Shared setup for the bats tests: tools from $TL_BIN (set by tests/run.sh),
# fixtures under tests/, real data under $TL_SHARED/data.
: "${TL_ROOT:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${TL_BIN:=$TL_ROOT/build/bin}"
: "${TL_SHARED:=$TL_ROOT/../shared}"
PATH="$TL_BIN:$PATH"
export TL_ROOT TL_BIN TL_SHARED PATH

# jsonl lines -> stream
mkstream() { tl-cat -t msgpack; }

# The two malformed streams every stream reader refuses with exit 3 and a
# message naming the tool and the record: a record that is not a map, and
# a truncated record (record 2 of each; record 1 is {"text":"a"}).
# usage (inside a @test): expect_bad_stream tl-NAME [ARGS...]
expect_bad_stream() {
	local tool=$1
	run sh -c 'printf "\201\244text\241a\223\001\002\003" | "$@" >/dev/null' sh "$@"
	[ "$status" -eq 3 ]
	[[ "$output" == "$tool: record 2: not a map but array"* ]]
	run sh -c 'printf "\201\244text\241a\201\244te" | "$@" >/dev/null' sh "$@"
	[ "$status" -eq 3 ]
	[[ "$output" == "$tool: record 2: truncated record"* ]]
}

# the bytes of tensor NAME of a safetensors file
st_bytes() { # file name
	local hl a b
	hl=$(od -An -tu4 -N4 "$1" | tr -d ' ')
	read -r a b < <(head -c $((8 + hl)) "$1" | tail -c "$hl" | jq -r --arg n "$2" '.[$n].data_offsets | "\(.[0]) \(.[1])"')
	tail -c +$((8 + hl + a + 1)) "$1" | head -c $((b - a))
}

# dev_pass_keeps_weights TRAIN DEV [tl-train args...]: the inference forward
# of tl-train's dev pass prepares MiniLM's layer weights in place (AVX-512:
# products of 32-multiple widths); the dev passes (steps 2 and 4) must give
# them back: the checkpoint of step 4 (the last one a 5-step run writes)
# holds the same weights with and without them. Leaves the model with dev
# passes in $D/wd.
dev_pass_keeps_weights() { # train dev [args...]
	local M="$TL_ROOT/models/all-MiniLM-L6-v2" train=$1 dev=$2
	shift 2
	mini() { # out [args...]
		tl-train -m bert --pretrained "$M" -o "$1" --batch-size 16 --lr 5e-5 --threads 1 \
			--max-steps 5 --checkpoint-every 4 --keep-checkpoint -q "${@:2}" "$train"
	}
	mini "$D/nd" "$@"
	mini "$D/wd" "$@" --dev "$dev" --eval-every 2
	[ "$(jq -r .step "$D/wd.ckpt/state.json")" = 4 ]
	st_bytes "$D/nd.ckpt/tensors.safetensors" params >"$D/p1"
	st_bytes "$D/wd.ckpt/tensors.safetensors" params >"$D/p2"
	[ -s "$D/p1" ]
	cmp "$D/p1" "$D/p2"
}

# tl-train's dev figures (tl.json "dev": the best evaluation, whose weights
# are the model written) against tl-predict | tl-eval on that model: each
# EVAL:DEV pair (tl-eval --json's figure : tl.json dev's) within TOL
dev_matches_predict() { # model dev tol eval:dev...
	local m=$1 d=$2 tol=$3 expr=true kv
	shift 3
	for kv in "$@"; do expr="$expr and ((.${kv%%:*} - \$d[0].dev.${kv#*:} | fabs) < $tol)"; done
	tl-predict -m "$m" "$d" | tl-eval --json >"$m.eval.json"
	jq -e --slurpfile d "$m/tl.json" "$expr" "$m.eval.json"
}
