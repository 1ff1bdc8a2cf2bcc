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
