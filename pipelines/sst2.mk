# pipelines/sst2.mk - fine-tune BERT on SST-2 and evaluate it, stage by stage.
#
#   make -f pipelines/sst2.mk                    # ../shared/data/sst2 when it exists
#   make -f pipelines/sst2.mk TRAIN_N=2000 EPOCHS=1
#   make -f pipelines/sst2.mk DATA=glue          # GLUE SST-2, downloaded (curl)
#   make -f pipelines/sst2.mk DATA=path/to/dir   # any train.tsv + dev.tsv
#
# Every stage is a file target, so a rerun redoes only what is stale:
#   $(OUT)/train.s, dev.s     tl-clean | tl-tokenize (record streams)
#   $(OUT)/model/tl.json      tl-train -m bert (the model directory)
#   $(OUT)/dev.pred           tl-predict on the dev set
#   $(OUT)/eval.txt           tl-eval (accuracy, macro-F1, ...)
#
# Variables: DATA (directory with train.tsv and dev.tsv, "sentence<TAB>label"
# with a header line; default: ../shared/data/sst2 when that folder exists,
# offline; otherwise, or with DATA=glue, GLUE SST-2 downloaded from
# $(GLUE_URL) into $(OUT)/glue: the only stage that needs the internet;
# every run prints which data it uses), BIN (the tl tools; default build/bin),
# MODEL (pretrained model name or directory), OUT (default out/sst2, which
# .gitignore covers: nothing is written into the source tree), TRAIN_N (first
# N training examples; 0 = all), EPOCHS, LR, BATCH, SEED, THREADS,
# TRAIN_FLAGS (more tl-train options).

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DELETE_ON_ERROR:

BIN      ?= build/bin
MODEL    ?= all-MiniLM-L6-v2
OUT      ?= out/sst2
GLUE_URL ?= https://dl.fbaipublicfiles.com/glue/data/SST-2.zip
SHARED_SST2 ?= ../shared/data/sst2
DATA     ?= $(if $(wildcard $(SHARED_SST2)/train.tsv),$(SHARED_SST2),glue)
ifeq ($(DATA),glue)
override DATA := $(OUT)/glue/SST-2
DATA_NOTE = GLUE SST-2, downloaded from $(GLUE_URL) into $(DATA)
else
DATA_NOTE = $(DATA) (train.tsv, dev.tsv)
endif
TRAIN_N  ?= 0
EPOCHS   ?= 3
LR       ?= 5e-5
BATCH    ?= 32
SEED     ?= 42
THREADS  ?= 0
TRAIN_FLAGS ?=

TL_TRAIN_ARGS = --pretrained $(MODEL) --epochs $(EPOCHS) --lr $(LR) --batch-size $(BATCH) \
	--seed $(SEED) --threads $(THREADS) $(TRAIN_FLAGS)

.PHONY: all clean data-note
all: data-note $(OUT)/eval.txt
	@cat $(OUT)/eval.txt

data-note:
	@echo "sst2.mk: data: $(DATA_NOTE); outputs in $(OUT)"

# GLUE's SST-2, only with DATA=glue (or no ../shared/data/sst2)
$(OUT)/glue/SST-2/train.tsv $(OUT)/glue/SST-2/dev.tsv:
	mkdir -p $(OUT)/glue
	curl -fsSL -o $(OUT)/glue/SST-2.zip $(GLUE_URL)
	cd $(OUT)/glue && unzip -o -q SST-2.zip
	touch $(OUT)/glue/SST-2/train.tsv $(OUT)/glue/SST-2/dev.tsv

$(OUT)/train.s: $(DATA)/train.tsv
	@mkdir -p $(OUT)
	if [ "$(TRAIN_N)" -gt 0 ]; then head -n $$(($(TRAIN_N) + 1)) $<; else cat $<; fi \
		| $(BIN)/tl-clean | $(BIN)/tl-tokenize -m $(MODEL) > $@.tmp
	mv $@.tmp $@

$(OUT)/dev.s: $(DATA)/dev.tsv
	@mkdir -p $(OUT)
	$(BIN)/tl-clean $< | $(BIN)/tl-tokenize -m $(MODEL) > $@.tmp
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
