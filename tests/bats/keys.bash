# Content keys (tl/leak.h, man tl-augment) for the bats tests, computed by
# the tools themselves rather than by a second implementation: tl-augment
# writes the key of each original into its copies' aug.src_key. (The key
# function itself is checked against independent reference values in
# tests/unit/test_leak.c.)

# keys_of: the jsonl records on stdin (text, optional text_b) -> the 16 hex
# digits of each record's content key, one a line, in input order.
keys_of() {
	jq -c '{id: input_line_number, text: .text, label: "x"} + (if has("text_b") then {text_b: .text_b} else {} end)' |
		tl-cat -t msgpack | tl-augment -n 1 --ops typo,rs,rd --no-wordnet --seed 1 | tl-cat -t jsonl |
		grep '~aug1' | sed 's/.*"src_key":"\([0-9a-f]\{16\}\)".*/\1/'
}

# hexkey TEXT [TEXT_B]: the content key of one text (what aug.src_key holds)
hexkey() {
	if [ $# -ge 2 ]; then
		jq -cn --arg t "$1" --arg b "$2" '{text: $t, text_b: $b}'
	else
		jq -cn --arg t "$1" '{text: $t}'
	fi | keys_of
}

# le64 HEX16: the 8 bytes of a 64-bit value, little-endian, as printf %b escapes
le64() {
	printf '%s' "$1" | awk '{ for (i = 15; i >= 1; i -= 2) printf "\\x%s", substr($0, i, 2) }'
}

# mkkeys FILE: a train-keys.bin for the jsonl records on stdin, written
# from the documented format (magic "TLKEYS2\n", u64 LE count, the
# distinct keys in increasing order as u64 LE), independently of tl-train.
mkkeys() {
	local ks n
	ks=$(keys_of | sort -u)
	n=$(printf '%s\n' "$ks" | grep -c .)
	{
		printf 'TLKEYS2\n'
		printf '%b' "$(le64 "$(printf '%016x' "$n")")"
		for k in $ks; do printf '%b' "$(le64 "$k")"; done
	} >"$1"
}
