#!/bin/sh
# bench/domain.sh - the 12-pair Amazon cross-domain table (issue 18;
# pipelines/domain.mk): fine-tuning on the source alone against the
# domain-adaptation methods of tl-train -m bert, accuracy on the target.
#
#   sh bench/domain.sh [PAIRS] [METHODS]        (from the repository root, after make)
#   sh bench/domain.sh "books:kitchen" "src dann coral"
#   MAXLEN=256 EPOCHS=2 THREADS=8 sh bench/domain.sh
#
# PAIRS: space-separated S:T (default: the 12 pairs of books, dvd,
# electronics, kitchen); METHODS: src mixed union seq dann coral mmd mlm pseudo
# cbst, and M+match for any of them (tl-predict --match-prior on M's model)
# (default: src mixed dann coral mmd). Runs under `nice`; the table is out/domain/summary.txt
# and is printed at the end with the machine's load. Each run's time is in
# its model's tl.json (metrics.train_seconds) and in out/domain/*.log
# (/usr/bin/time -v). A partial run (a few pairs) is a partial table: the
# mean row is over the pairs run, and the line under the table says which.
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
PAIRS=${1:-}
METHODS=${2:-src mixed dann coral mmd}
for t in tl-clean tl-tokenize tl-train tl-predict tl-eval tl-cat; do
	[ -x "$BIN/$t" ] || { echo "bench/domain.sh: $BIN/$t missing (make first)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "bench/domain.sh: jq missing" >&2; exit 2; }
set -- -f pipelines/domain.mk BIN="$BIN" METHODS="$METHODS" \
	MAXLEN="${MAXLEN:-128}" EPOCHS="${EPOCHS:-1}" BATCH="${BATCH:-16}" THREADS="${THREADS:-2}" \
	OUT="${OUT:-out/domain}"
[ -n "$PAIRS" ] && set -- "$@" PAIRS="$PAIRS"
start=$(date +%s)
nice make "$@"
echo "pairs: ${PAIRS:-all 12}; methods: $METHODS; wall $(($(date +%s) - start)) s; load $(cut -d' ' -f1-3 /proc/loadavg)"
