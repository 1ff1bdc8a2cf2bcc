# pipelines/augment.mk - does EDA augmentation help at 500 training examples?
# SST-2: a fixed-seed sample of 500 training sentences, with and without
# tl-augment -n 8, the linear model (TF-IDF + logistic regression) or BERT
# fine-tuning (MODEL=bert: the streams are tokenized), dev accuracy.
#
#   make -f pipelines/augment.mk [BIN=build/bin] [SEED=1] [N=500] [K=8] [OPS=eda]
#   make -f pipelines/augment.mk MODEL=bert OUT=out/augment-bert
#
# The sample: `shuf -n N --random-source=R` where R is a byte stream made from
# SEED by `openssl enc -aes-256-ctr -pass pass:SEED -nosalt </dev/zero` (the
# GNU coreutils manual's recipe for repeatable shuf output). Results go to
# $(OUT)/{plain,aug}.eval (tl-eval tables) and $(OUT)/summary.txt.
BIN ?= build/bin
DATA ?= ../shared/data
OUT ?= out/augment
SEED ?= 1
N ?= 500
K ?= 8
OPS ?= eda
MODEL ?= linear
TRAIN_ARGS ?=
# BERT reads token ids: tokenize every stream for it
ifeq ($(MODEL),bert)
TOK = | $(BIN)/tl-tokenize
else
TOK =
endif
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DELETE_ON_ERROR:

.PHONY: all clean
all: $(OUT)/summary.txt

$(OUT)/random.bin:
	@mkdir -p $(OUT)
	(openssl enc -aes-256-ctr -pass pass:$(SEED) -nosalt -pbkdf2 </dev/zero 2>/dev/null || true) | head -c 1048576 >$@
	test "$$(wc -c <$@)" -eq 1048576

$(OUT)/train.tsv: $(OUT)/random.bin
	(head -1 $(DATA)/sst2/train.tsv; tail -n +2 $(DATA)/sst2/train.tsv | shuf -n $(N) --random-source=$(OUT)/random.bin) >$@

$(OUT)/train.tl: $(OUT)/train.tsv
	$(BIN)/tl-clean $< $(TOK) >$@

$(OUT)/train-aug.tl: $(OUT)/train.tsv
	$(BIN)/tl-clean $< | $(BIN)/tl-augment -n $(K) --ops $(OPS) --seed $(SEED) --stats $(TOK) >$@

$(OUT)/dev.tl:
	@mkdir -p $(OUT)
	$(BIN)/tl-clean $(DATA)/sst2/dev.tsv $(TOK) >$@

# dev accuracy: tl-train --dev (the same figure as tl-predict | tl-eval)
$(OUT)/plain.model: $(OUT)/train.tl $(OUT)/dev.tl
	$(BIN)/tl-train -m $(MODEL) --force --seed $(SEED) $(TRAIN_ARGS) --dev $(OUT)/dev.tl -o $@ $< 2>$(OUT)/plain.log
$(OUT)/aug.model: $(OUT)/train-aug.tl $(OUT)/dev.tl
	$(BIN)/tl-train -m $(MODEL) --force --seed $(SEED) $(TRAIN_ARGS) --dev $(OUT)/dev.tl -o $@ $< 2>$(OUT)/aug.log

# the same through tl-predict and tl-eval: make -f pipelines/augment.mk eval
$(OUT)/%.eval: $(OUT)/%.model $(OUT)/dev.tl
	$(BIN)/tl-predict -m $< <$(OUT)/dev.tl | $(BIN)/tl-eval >$@
.PHONY: eval seeds
eval: $(OUT)/plain.eval $(OUT)/aug.eval

$(OUT)/summary.txt: $(OUT)/plain.model $(OUT)/aug.model
	{ echo "SST-2 dev, $(N) training sentences (sample seed $(SEED)), model $(MODEL) $(TRAIN_ARGS)"; \
	  echo "without augmentation: $$(grep -o 'dev accuracy [0-9.]*' $(OUT)/plain.log)"; \
	  echo "with tl-augment -n $(K) --ops $(OPS): $$(grep -o 'dev accuracy [0-9.]*' $(OUT)/aug.log)"; } | tee $@

# several samples: make -f pipelines/augment.mk seeds SEEDS="1 2 3 4 5"
SEEDS ?= 1 2 3 4 5
seeds:
	for s in $(SEEDS); do $(MAKE) -f pipelines/augment.mk SEED=$$s OUT=$(OUT)/seed$$s BIN=$(BIN) DATA=$(DATA) N=$(N) K=$(K) OPS=$(OPS) MODEL=$(MODEL) TRAIN_ARGS="$(TRAIN_ARGS)" || exit 1; done
	cat $(OUT)/seed*/summary.txt

clean:
	rm -rf $(OUT)
