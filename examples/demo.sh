#!/bin/sh
# make demo: clean and tokenize a few raw reviews with the embedded default
# vocabulary, and show the records as JSON lines.
set -e
BIN=${1:-build/bin}
cd "$(dirname "$0")/.."
echo "== tl-clean < examples/reviews.txt | tl-tokenize --tokens | tl-cat" >&2
"$BIN/tl-clean" < examples/reviews.txt | "$BIN/tl-tokenize" --tokens | "$BIN/tl-cat"
