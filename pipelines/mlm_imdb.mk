# pipelines/mlm_imdb.mk - low-resource IMDB with and without continued
# masked-LM pretraining on IMDB's own training text (issue 18, "don't stop
# pretraining"): the gain of `tl-train --objective mlm` before fine-tuning.
#
#   make -f pipelines/mlm_imdb.mk                  # ../shared/data/imdb
#   make -f pipelines/mlm_imdb.mk MLM_STEPS=1000 THREADS=8
#
# Data (../shared/data/imdb/{train,test}.tsv.gz: sentence, label, rating,
# id; each split is its 12,500 pos reviews then its 12,500 neg ones):
#   labelled  training data lines k (1-based, after the header) with
#             k % 25 == 1 (1, 26, 51, ...): 1,000 reviews, 500 pos, 500 neg
#   text      training lines with k % 4 == 3 and k % 25 != 1: 6,000 reviews of
#             training text, sentence and id only (disjoint from the
#             labelled ones); MLM dev text: k % 100 == 4 (4, 104, ...: 250
#             reviews, disjoint from both)
#   test      test lines with k % 25 == 1 or 13 (1, 13, 26, 38, ...): 2,000
#             reviews, 1,000 of each label, seen only by tl-predict
# Stages (file targets; a rerun redoes only what is stale):
#   $(OUT)/dapt/tl.json       MODEL + MLM_STEPS steps of MLM on the text
#   $(OUT)/base/tl.json       MODEL fine-tuned on the 1,000 labelled reviews
#   $(OUT)/dapt_ft/tl.json    the MLM model fine-tuned on the same, same options
#   $(OUT)/*.pred, *.eval     tl-predict / tl-eval on the 2,000 test reviews
#   $(OUT)/results.txt        both accuracies, the gain and tl-eval --compare
#                             (paired bootstrap)
# Variables: BIN, MODEL (all-MiniLM-L6-v2), DATA, OUT (out/mlm_imdb),
# MLM_STEPS (200), MLM_LR (1e-4), MLM_BATCH (16), MAXLEN (64), EPOCHS (3),
# LR (5e-5), BATCH (16), SEED (42), THREADS (0: all cores).

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DELETE_ON_ERROR:

BIN       ?= build/bin
MODEL     ?= all-MiniLM-L6-v2
DATA      ?= ../shared/data/imdb
OUT       ?= out/mlm_imdb
MLM_STEPS ?= 200
MLM_HEAD_STEPS ?= 0
MLM_HEAD_LR ?= 1e-3
MLM_LR    ?= 1e-4
MLM_BATCH ?= 16
MAXLEN    ?= 64
EPOCHS    ?= 3
LR        ?= 5e-5
BATCH     ?= 16
SEED      ?= 42
THREADS   ?= 0

FT_ARGS = --epochs $(EPOCHS) --lr $(LR) --batch-size $(BATCH) --max-len $(MAXLEN) --seed $(SEED) \
	--threads $(THREADS) -f

.PHONY: all clean
all: $(OUT)/results.txt
	@cat $<

# the header and the data lines k (1-based, after the header) for which the
# awk condition $(2) on k holds
define sample
	zcat $(1) | awk -F'\t' 'NR == 1 { print; next } { k = NR - 1 } $(2)'
endef

$(OUT)/labelled.s: $(DATA)/train.tsv.gz
	@mkdir -p $(OUT)
	$(call sample,$<,k % 25 == 1) | $(BIN)/tl-clean | $(BIN)/tl-tokenize -m $(MODEL) > $@.tmp
	mv $@.tmp $@

# ids made unique (IMDB numbers each label's reviews from 0: "1-0", "0-0")
# for tl-eval --compare's pairing
$(OUT)/test.s: $(DATA)/test.tsv.gz
	@mkdir -p $(OUT)
	$(call sample,$<,k % 25 == 1 || k % 25 == 13) | awk -F'\t' -v OFS='\t' 'NR > 1 { $$4 = $$2 "-" $$4 } 1' | \
		$(BIN)/tl-clean | $(BIN)/tl-tokenize -m $(MODEL) > $@.tmp
	mv $@.tmp $@

# text only: the sentence and id columns (no label)
$(OUT)/text.s: $(DATA)/train.tsv.gz
	@mkdir -p $(OUT)
	$(call sample,$<,k % 4 == 3 && k % 25 != 1) | cut -f1,4 | $(BIN)/tl-clean | $(BIN)/tl-tokenize -m $(MODEL) > $@.tmp
	mv $@.tmp $@

$(OUT)/text_dev.s: $(DATA)/train.tsv.gz
	@mkdir -p $(OUT)
	$(call sample,$<,k % 100 == 4) | cut -f1,4 | $(BIN)/tl-clean | $(BIN)/tl-tokenize -m $(MODEL) > $@.tmp
	mv $@.tmp $@

# the MLM head first, alone (MLM_HEAD_STEPS > 0): all-MiniLM-L6-v2 has no MLM
# head, and a fresh one's first gradients reach the whole encoder; with
# --freeze all only the head's transform and decoder bias learn (the decoder
# is the frozen word embeddings), at MLM_HEAD_LR; then the whole model
ifeq ($(MLM_HEAD_STEPS),0)
DAPT_FROM = $(MODEL)
DAPT_DEP =
else
DAPT_FROM = $(OUT)/head
DAPT_DEP = $(OUT)/head/tl.json
endif
$(OUT)/head/tl.json: $(OUT)/text.s
	$(BIN)/tl-train -m bert --objective mlm --pretrained $(MODEL) -o $(OUT)/head -f --max-steps $(MLM_HEAD_STEPS) \
		--epochs 1000 --lr $(MLM_HEAD_LR) --batch-size $(MLM_BATCH) --max-len $(MAXLEN) --seed $(SEED) \
		--threads $(THREADS) --freeze all --log $(OUT)/head.log $(OUT)/text.s

$(OUT)/dapt/tl.json: $(OUT)/text.s $(OUT)/text_dev.s $(DAPT_DEP)
	$(BIN)/tl-train -m bert --objective mlm --pretrained $(DAPT_FROM) -o $(OUT)/dapt -f --max-steps $(MLM_STEPS) \
		--epochs 1000 --lr $(MLM_LR) --batch-size $(MLM_BATCH) --max-len $(MAXLEN) --seed $(SEED) \
		--threads $(THREADS) --dev $(OUT)/text_dev.s --drop-leaked --eval-every $$(( $(MLM_STEPS) / 3 )) \
		--log $(OUT)/dapt.log $(OUT)/text.s

$(OUT)/base/tl.json: $(OUT)/labelled.s
	$(BIN)/tl-train -m bert --pretrained $(MODEL) -o $(OUT)/base $(FT_ARGS) --log $(OUT)/base.log $<

$(OUT)/dapt_ft/tl.json: $(OUT)/labelled.s $(OUT)/dapt/tl.json
	$(BIN)/tl-train -m bert --pretrained $(OUT)/dapt -o $(OUT)/dapt_ft $(FT_ARGS) --log $(OUT)/dapt_ft.log $<

$(OUT)/%.pred: $(OUT)/%/tl.json $(OUT)/test.s
	$(BIN)/tl-predict -m $(OUT)/$* --threads $(THREADS) $(OUT)/test.s | $(BIN)/tl-cat > $@.tmp
	mv $@.tmp $@

$(OUT)/%.eval: $(OUT)/%.pred
	$(BIN)/tl-eval -j $< > $@.tmp
	mv $@.tmp $@

$(OUT)/results.txt: $(OUT)/base.eval $(OUT)/dapt_ft.eval $(OUT)/base.pred $(OUT)/dapt_ft.pred $(OUT)/dapt/tl.json
	{ echo "IMDB, 1,000 labelled training reviews, 2,000 test reviews (every 25th), max-len $(MAXLEN), seed $(SEED)"; \
	  echo "MLM: $(MLM_STEPS) steps x $(MLM_BATCH) of 6,000 training reviews' text; dev MLM loss" \
		"$$(jq -s '[.[] | select(.event == "eval")][0].dev_loss' $(OUT)/dapt.log) ->" \
		"$$(jq .dev.mlm_loss $(OUT)/dapt/tl.json) (perplexity $$(jq .dev.perplexity $(OUT)/dapt/tl.json))"; \
	  b=$$(jq .accuracy $(OUT)/base.eval); d=$$(jq .accuracy $(OUT)/dapt_ft.eval); \
	  echo "accuracy: $(MODEL) $$b, MLM-continued $$d, gain $$(echo "$$d - $$b" | bc -l)"; \
	  $(BIN)/tl-eval --compare $(OUT)/base.pred $(OUT)/dapt_ft.pred; } > $@.tmp
	mv $@.tmp $@

clean:
	rm -rf $(OUT)
