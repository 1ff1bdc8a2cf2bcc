#!/usr/bin/env bats
# pipelines/ulmfit.mk at tiny sizes (QUICK=1): the whole graph of issue 19's
# comparison (the three ULMFiT stages, the LSTM from scratch, -m linear,
# -m fasttext; Chinese and English) runs and writes its tables.
load helpers

setup() {
	D=$BATS_TEST_TMPDIR
	DATA=$TL_SHARED/data
	command -v jq >/dev/null || skip "jq not installed"
}

@test "ulmfit.mk QUICK=1: both tables, every model, the stages chained, no test text in the LM corpora" {
	[ -f "$DATA/chnsenticorp/train.tsv" ] && [ -f "$DATA/imdb/train.tsv.gz" ] && [ -f "$DATA/sst2/train.tsv" ] ||
		skip "no ChnSentiCorp / IMDB / SST-2 under $DATA"
	run make -s -f "$TL_ROOT/pipelines/ulmfit.mk" QUICK=1 OUT="$D/u" DATA="$DATA" BIN="$TL_BIN" zh en
	[ "$status" -eq 0 ]
	# Chinese: 4 rows with two accuracies each, the LM's perplexity
	[ "$(grep -cE '^\| .* \| [0-9]+\.[0-9]{2} \| [0-9]+\.[0-9]{2} \|' "$D/u/zh/table.md")" -eq 4 ]
	grep -q 'LM dev perplexity' "$D/u/zh/table.md"
	# English: 3 tasks x 4 models
	[ "$(grep -cE '^\| (imdb|imdb1k|sst1k) \([0-9]+\) \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|$' "$D/u/en/table.md")" -eq 3 ]
	# stage 2 starts from stage 1, the classifiers from stage 2
	[ "$(jq -r .pretrained "$D/u/zh/lm2/tl.json")" = "$D/u/zh/lm1" ]
	[ "$(jq -r .pretrained "$D/u/zh/ulmfit/tl.json")" = "$D/u/zh/lm2" ]
	[ "$(jq -r .pretrained "$D/u/en/sst1k-ulmfit/tl.json")" = "$D/u/en/lm2-sst" ]
	[ "$(jq -r .hyperparameters.gradual_unfreezing "$D/u/en/imdb1k-ulmfit/tl.json")" = 1 ]
	[ "$(jq -r .hyperparameters.gradual_unfreezing "$D/u/zh/scratch/tl.json")" = 0 ]
	# one vocabulary per language, shared by every LSTM model
	cmp "$D/u/zh/v.txt" "$D/u/zh/ulmfit/vocab.txt"
	cmp "$D/u/en/v.txt" "$D/u/en/imdb-scratch/vocab.txt"
	# the 1,000-label variants are every 2nd row at QUICK size
	[ "$(tl-cat "$D/u/en/imdb1k.ids" | wc -l)" -eq $(( ($(tl-cat "$D/u/en/imdb-train.ids" | wc -l) + 1) / 2 )) ]
	# no ChnSentiCorp dev text among the hotel reviews of the Chinese LM
	# corpus (its train.tsv part shares texts with dev, as the data set does),
	# no IMDB test / SST-2 dev text in the English one
	tl-cat "$D/u/zh/htl.s" | jq -r .text | sort -u >"$D/lmz"
	tl-cat "$D/u/zh/dev-all.s" | jq -r .text | sort -u >"$D/devz"
	[ "$(comm -12 "$D/lmz" "$D/devz" | wc -l)" -eq 0 ]
	tl-cat "$D/u/en/general.s" | jq -r .text | sort -u >"$D/lme"
	tl-cat "$D/u/en/imdb-test.s" "$D/u/en/sst-dev.s" | jq -r .text | sort -u >"$D/teste"
	[ "$(comm -12 "$D/lme" "$D/teste" | wc -l)" -eq 0 ]
	# a rerun has nothing to do
	run make -f "$TL_ROOT/pipelines/ulmfit.mk" QUICK=1 OUT="$D/u" DATA="$DATA" BIN="$TL_BIN" zh en
	[ "$status" -eq 0 ]
	! grep -q -- '-q --force' <<<"$output"
	# the 1,000-label settings' selection on validation slices of the
	# training sets: 12 settings, each with two accuracies and their mean;
	# the slices share no row with the 1,000 training labels
	BIN=$TL_BIN run "$TL_ROOT/pipelines/ulmfit-select.sh" "$D/u" 2
	[ "$status" -eq 0 ]
	[ "$(grep -cE '^\| [us][A-Fa-f] \| .* \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|$' <<<"$output")" -eq 12 ]
	[ "$(jq -r .pretrained "$D/u/en/select/imdb-uF/tl.json")" = "$D/u/en/lm2-imdb" ]
	sort "$D/u/en/select/imdbval.tsv" >"$D/iv"
	sort "$D/u/en/imdb1k.tsv" >"$D/i1"
	[ "$(comm -12 "$D/iv" "$D/i1" | grep -vc '^sentence' || true)" -eq 0 ]
	sort "$D/u/en/select/sstval.tsv" >"$D/sv"
	sort "$D/u/en/sst1k.tsv" >"$D/s1"
	[ "$(comm -12 "$D/sv" "$D/s1" | grep -vc '^sentence' || true)" -eq 0 ]
}

@test "ulmfit.mk: the 1,000-label tasks take the K1_* classifier settings; ulmfit-select.sh needs a finished run" {
	run make -n -f "$TL_ROOT/pipelines/ulmfit.mk" OUT="$D/k" DATA="$DATA" BIN="$TL_BIN" en
	[ "$status" -eq 0 ]
	grep -qE -- "-o $D/k/en/imdb1k-ulmfit .*--epochs 12 .*--lr 3e-2" <<<"$output"
	grep -qE -- "-o $D/k/en/sst1k-scratch .*--epochs 4 .*--batch-size 8" <<<"$output"
	grep -qE -- "-o $D/k/en/imdb-ulmfit .*--epochs 6 --max-len 256 +--log" <<<"$output"
	run make -n -f "$TL_ROOT/pipelines/ulmfit.mk" OUT="$D/k" DATA="$DATA" BIN="$TL_BIN" K1_CLS_EPOCHS=7 en
	grep -qE -- "-o $D/k/en/sst1k-ulmfit .*--epochs 7 " <<<"$output"
	# CLS_SEED: the classifiers again with another seed, on the same LMs,
	# into their own directories and table
	run make -n -f "$TL_ROOT/pipelines/ulmfit.mk" OUT="$D/k" DATA="$DATA" BIN="$TL_BIN" CLS_SEED=5 en
	[ "$status" -eq 0 ]
	grep -qE -- "--seed 5 .*-m lstm -o $D/k/en/imdb1k-ulmfit-s5 --pretrained $D/k/en/lm2-imdb " <<<"$output"
	grep -qE -- "--seed 5 .*-m lstm -o $D/k/en/imdb-scratch-s5 " <<<"$output"
	grep -qE -- "--seed 1 .*-m lstm-lm -o $D/k/en/lm1 " <<<"$output"
	! grep -qE -- "--seed 5 .*-m lstm-lm" <<<"$output"
	grep -q -- "$D/k/en/table-s5.md" <<<"$output"
	mkdir -p "$D/empty"
	BIN=$TL_BIN run "$TL_ROOT/pipelines/ulmfit-select.sh" "$D/empty"
	[ "$status" -eq 2 ]
	[[ "$output" == *"missing: run make -f pipelines/ulmfit.mk"* ]]
}

@test "ulmfit.mk: FT_EPOCHS_imdb=0 starts the IMDB classifiers from lm1, SST-2's still from its stage 2" {
	[ -f "$DATA/imdb/train.tsv.gz" ] && [ -f "$DATA/sst2/train.tsv" ] || skip "no IMDB / SST-2 under $DATA"
	run make -n -f "$TL_ROOT/pipelines/ulmfit.mk" QUICK=1 OUT="$D/w" DATA="$DATA" BIN="$TL_BIN" FT_EPOCHS_imdb=0 en
	[ "$status" -eq 0 ]
	grep -q -- "-o $D/w/en/imdb1k-ulmfit --pretrained $D/w/en/lm1 " <<<"$output"
	grep -q -- "-o $D/w/en/imdb-ulmfit --pretrained $D/w/en/lm1 " <<<"$output"
	grep -q -- "-o $D/w/en/sst1k-ulmfit --pretrained $D/w/en/lm2-sst " <<<"$output"
	grep -q -- "-o $D/w/en/lm2-sst " <<<"$output"
	! grep -q -- "lm2-imdb" <<<"$output"
	# by default both corpora get their stage 2
	run make -n -f "$TL_ROOT/pipelines/ulmfit.mk" QUICK=1 OUT="$D/w" DATA="$DATA" BIN="$TL_BIN" en
	[ "$status" -eq 0 ]
	grep -q -- "-o $D/w/en/imdb1k-ulmfit --pretrained $D/w/en/lm2-imdb " <<<"$output"
	grep -q -- "-o $D/w/en/sst1k-ulmfit --pretrained $D/w/en/lm2-sst " <<<"$output"
}

@test "ulmfit.mk: missing data fails without a table" {
	mkdir -p "$D/nodata"
	run make -s -f "$TL_ROOT/pipelines/ulmfit.mk" QUICK=1 OUT="$D/v" DATA="$D/nodata" BIN="$TL_BIN" zh
	[ "$status" -ne 0 ]
	[ ! -e "$D/v/zh/table.md" ]
}
