# Helpers for the BERT tool tests (embed.bats, predict.bats).
MINILM="$TL_ROOT/models/all-MiniLM-L6-v2"
SAMPLE="$TL_ROOT/tests/ref/bert/sample.jsonl"

need_model() {
	[ -f "$MINILM/model.safetensors" ] || {
		echo "models/all-MiniLM-L6-v2 missing: run 'make models'" >&2
		return 1
	}
}

# sample records (id + ids, plus the reference keys) as a stream
sample_stream() { head -n "${1:-26}" "$SAMPLE" | tl-cat -t msgpack; }

# largest |a[i] - b[i]| over the records of a JSON-lines file, keys a, b
maxdiff() { jq -s "map([.$1, .$2] | transpose | map(.[0] - .[1] | fabs) | max) | max" "$3"; }

# a copy of the MiniLM directory whose files are links, except those the
# test then replaces
model_copy() {
	mkdir -p "$1"
	for f in "$MINILM"/*; do ln -s "$f" "$1/"; done
}

# mkst FILE HEADER_JSON DATA_BYTES: a safetensors file with that header
mkst() {
	n=${#2}
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o\\000\\000\\000\\000' $((n & 255)) $((n >> 8 & 255)) \
		$((n >> 16 & 255)) $((n >> 24 & 255)))" >"$1"
	printf '%s' "$2" >>"$1"
	head -c "$3" /dev/zero >>"$1"
}

# cosines (min, mean) between the vec of two JSON-lines files, record by record
cosines() {
	paste -d '\n' "$1" "$2" | jq -s -c '[range(0; length; 2) as $i | [.[$i].vec, .[$i+1].vec] |
		(transpose | map(.[0] * .[1]) | add) / ((.[0] | map(. * .) | add | sqrt) * (.[1] | map(. * .) | add | sqrt))] |
		[min, add / length]'
}
