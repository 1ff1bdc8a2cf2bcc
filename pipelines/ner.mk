# pipelines/ner.mk - named-entity recognition on CoNLL-2003 (issue 22):
# fine-tune BERT with a token-classification head and score the entities.
#
#   make -f pipelines/ner.mk                       # ../shared/data/conll2003
#   make -f pipelines/ner.mk TRAIN_N=2000 EPOCHS=1
#   make -f pipelines/ner.mk DATA=path/to/dir      # any train.txt + dev.txt (CoNLL columns)
#
# Every stage is a file target, so a rerun redoes only what is stale:
#   $(OUT)/train.s, dev.s     tl-clean -f conll | tl-tokenize (words, tags -> ids, word_ids)
#   $(OUT)/model/tl.json      tl-train -m bert --task token (BertForTokenClassification directory)
#   $(OUT)/dev.pred           tl-predict: per-word "pred" tags and "entities"
#   $(OUT)/eval.txt           tl-eval: entity precision/recall/F1 per type, micro, macro (seqeval's)
#
# Variables: DATA (directory with train.txt and dev.txt; default
# ../shared/data/conll2003, offline), BIN (default build/bin), MODEL
# (pretrained model name or directory; all-MiniLM-L6-v2 is uncased), OUT
# (default out/ner, git-ignored as out/), TRAIN_N (first N training
# sentences; 0 = all), EPOCHS, LR, BATCH, SEED, THREADS, TRAIN_FLAGS (more
# tl-train options). bench/ner.sh compares the same run with Hugging Face's
# Trainer.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DELETE_ON_ERROR:

BIN      ?= build/bin
MODEL    ?= all-MiniLM-L6-v2
OUT      ?= out/ner
DATA     ?= ../shared/data/conll2003
TRAIN_N  ?= 0
EPOCHS   ?= 3
LR       ?= 5e-5
BATCH    ?= 32
SEED     ?= 42
THREADS  ?= 0
TRAIN_FLAGS ?=

TL_TRAIN_ARGS = --task token --pretrained $(MODEL) --epochs $(EPOCHS) --lr $(LR) --batch-size $(BATCH) \
	--seed $(SEED) --threads $(THREADS) $(TRAIN_FLAGS)

.PHONY: all clean
all: $(OUT)/eval.txt
	@cat $(OUT)/eval.txt

$(OUT)/train.s: $(DATA)/train.txt
	@mkdir -p $(OUT)
	$(BIN)/tl-clean -f conll $< | $(BIN)/tl-tokenize -m $(MODEL) \
		| if [ "$(TRAIN_N)" -gt 0 ]; then $(BIN)/tl-cat | head -n $(TRAIN_N) | $(BIN)/tl-cat -t msgpack; else cat; fi > $@.tmp
	mv $@.tmp $@

$(OUT)/dev.s: $(DATA)/dev.txt
	@mkdir -p $(OUT)
	$(BIN)/tl-clean -f conll $< | $(BIN)/tl-tokenize -m $(MODEL) > $@.tmp
	mv $@.tmp $@

$(OUT)/model/tl.json: $(OUT)/train.s $(OUT)/dev.s
	$(BIN)/tl-train -m bert -o $(OUT)/model --force --dev $(OUT)/dev.s --log $(OUT)/train.log \
		$(TL_TRAIN_ARGS) $(OUT)/train.s

$(OUT)/dev.pred: $(OUT)/model/tl.json $(OUT)/dev.s
	$(BIN)/tl-predict -m $(OUT)/model $(OUT)/dev.s > $@.tmp
	mv $@.tmp $@

$(OUT)/eval.txt: $(OUT)/dev.pred
	$(BIN)/tl-eval $< > $@.tmp
	mv $@.tmp $@

clean:
	rm -rf $(OUT)/train.s $(OUT)/dev.s $(OUT)/model $(OUT)/model.ckpt $(OUT)/dev.pred $(OUT)/eval.txt $(OUT)/train.log
