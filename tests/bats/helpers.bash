# Shared setup for the bats tests: tools from $TL_BIN (set by tests/run.sh),
# fixtures under tests/, real data under $TL_SHARED/data.
: "${TL_ROOT:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${TL_BIN:=$TL_ROOT/build/bin}"
: "${TL_SHARED:=$TL_ROOT/../shared}"
PATH="$TL_BIN:$PATH"
export TL_ROOT TL_BIN TL_SHARED PATH

# jsonl lines -> stream
mkstream() { tl-cat -t msgpack; }
