# pipelines/zh.mk - the Chinese recipe (docs/RECIPES.md R5) on ChnSentiCorp:
# jieba words + stop words + TF-IDF + logistic regression, word2vec features
# + logistic regression, and fastText, each on words (tl-clean --segment
# jieba) beside characters (tl-clean alone: tl splits CJK per ideograph).
#
#   make jieba                                   # once: jieba's dictionary
#   make -f pipelines/zh.mk                      # ../shared/data/chnsenticorp
#   make -f pipelines/zh.mk DATA=dir OUT=/tmp/zh
#
# Stages (file targets, so a rerun redoes only what is stale):
#   $(OUT)/{train,dev,devnd}.{w,c}.s   tl-clean: w = words (--segment jieba
#                                      --stopwords zh), c = characters
#   $(OUT)/devnd.tsv                   the dev rows whose text is not in
#                                      train.tsv (862 of 1,200; see
#                                      ../shared/data/SOURCES.md)
#   $(OUT)/<model>/tl.json             tl-train (models below)
#   $(OUT)/table.md                    dev accuracy: full dev, not-in-train
#                                      dev, and the hotel reviews
# Models: lr-w, lr-c (tl-train -m linear on the text: its own TF-IDF, word
# 1-2-grams, sublinear tf), w2v-w, w2v-c (tl-embed --word2vec, mean vector,
# then -m linear), ft-w, ft-c (-m fasttext).
# Hotel reviews (ChnSentiCorp_htl_all.csv, no split given): a fixed split
# made by tl-cat --split dev=0.1 --seed 1 (stratified by label) of the
# cleaned stream; the words and characters streams hold the same records in
# the same order, so both get the same split. Note: 232 ChnSentiCorp dev
# texts occur in the hotel file; the hotel models are trained and scored on
# the hotel file only.
#
# Variables: DATA (train.tsv, dev.tsv, ChnSentiCorp_htl_all.csv; default
# ../shared/data/chnsenticorp), BIN (default build/bin), OUT (default out/zh,
# git-ignored), SEED, LR_EPOCHS, FT_EPOCHS, W2V_FLAGS.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DELETE_ON_ERROR:

BIN       ?= build/bin
DATA      ?= ../shared/data/chnsenticorp
OUT       ?= out/zh
SEED      ?= 1
LR_EPOCHS ?= 20
FT_EPOCHS ?= 10
W2V_FLAGS ?= --dim 100 --epochs 10 --min-count 2 --threads 1

WORDS = --segment jieba --stopwords zh
CHARS =
HTL   = -f csv --no-header -l 1 -t 2
MODELS = lr-w lr-c w2v-w w2v-c ft-w ft-c

.SECONDEXPANSION:
.SECONDARY:
.PHONY: all clean
all: $(OUT)/table.md
	@cat $<

$(OUT)/devnd.tsv: $(DATA)/train.tsv $(DATA)/dev.tsv
	@mkdir -p $(OUT)
	awk -F'\t' 'NR==FNR { if (FNR > 1) seen[$$2] = 1; next } FNR == 1 || !($$3 in seen)' $^ > $@

$(OUT)/train.w.s: $(DATA)/train.tsv
	@mkdir -p $(OUT)
	$(BIN)/tl-clean $(WORDS) $< > $@
$(OUT)/train.c.s: $(DATA)/train.tsv
	@mkdir -p $(OUT)
	$(BIN)/tl-clean $(CHARS) $< > $@
$(OUT)/dev.w.s: $(DATA)/dev.tsv
	$(BIN)/tl-clean $(WORDS) $< > $@
$(OUT)/dev.c.s: $(DATA)/dev.tsv
	$(BIN)/tl-clean $(CHARS) $< > $@
$(OUT)/devnd.w.s: $(OUT)/devnd.tsv
	$(BIN)/tl-clean $(WORDS) $< > $@
$(OUT)/devnd.c.s: $(OUT)/devnd.tsv
	$(BIN)/tl-clean $(CHARS) $< > $@

# hotel reviews: clean, then the fixed split into htl-X/train.s, htl-X/dev.s
$(OUT)/htl-w/dev.s: $(DATA)/ChnSentiCorp_htl_all.csv
	@mkdir -p $(@D)
	$(BIN)/tl-clean $(HTL) $(WORDS) $< | $(BIN)/tl-cat --split dev=0.1 --seed 1 -o $(OUT)/htl-w --force
$(OUT)/htl-c/dev.s: $(DATA)/ChnSentiCorp_htl_all.csv
	@mkdir -p $(@D)
	$(BIN)/tl-clean $(HTL) $(CHARS) $< | $(BIN)/tl-cat --split dev=0.1 --seed 1 -o $(OUT)/htl-c --force

# models on a cleaned training stream ($1 = model dir, $2 = train stream, $3 = dev stream)
LR  = $(BIN)/tl-train -m linear -q --force --seed $(SEED) --epochs $(LR_EPOCHS)
FT  = $(BIN)/tl-train -m fasttext -q --force --seed $(SEED) --epochs $(FT_EPOCHS)

$(OUT)/lr-%/tl.json: $(OUT)/train.%.s
	$(LR) -o $(@D) $<
$(OUT)/ft-%/tl.json: $(OUT)/train.%.s
	$(FT) -o $(@D) $<
$(OUT)/htl-lr-%/tl.json: $(OUT)/htl-%/dev.s
	$(LR) -o $(@D) $(OUT)/htl-$*/train.s
$(OUT)/htl-ft-%/tl.json: $(OUT)/htl-%/dev.s
	$(FT) -o $(@D) $(OUT)/htl-$*/train.s

# word2vec on the training text, its mean vectors, then logistic regression
$(OUT)/w2v.%.txt: $(OUT)/train.%.s
	$(BIN)/tl-embed --word2vec -q --fit $@ --fit-only --seed $(SEED) $(W2V_FLAGS) $<
$(OUT)/%.w2v.s: $(OUT)/%.s $(OUT)/w2v.$$(lastword $$(subst ., ,$$*)).txt
	$(BIN)/tl-embed --word2vec --features $(OUT)/w2v.$(lastword $(subst ., ,$*)).txt $< > $@
$(OUT)/w2v-%/tl.json: $(OUT)/train.%.w2v.s
	$(LR) -o $(@D) $<

# accuracy of model dir $1 on stream $2 (tl-predict | tl-eval)
acc = $$($(BIN)/tl-predict -q -m $(1) $(2) | $(BIN)/tl-eval 2>/dev/null | awk '/^accuracy/ { printf "%.2f", 100 * $$2 }')

# the stream a model reads: w2v-X reads X's vectors
in = $(if $(filter w2v-%,$(1)),$(OUT)/$(2).$(subst w2v-,,$(1)).w2v.s,$(OUT)/$(2).$(lastword $(subst -, ,$(1))).s)

$(OUT)/table.md: $(foreach m,$(MODELS),$(OUT)/$(m)/tl.json $(call in,$(m),dev) $(call in,$(m),devnd)) \
		$(foreach x,w c,$(OUT)/htl-lr-$(x)/tl.json $(OUT)/htl-ft-$(x)/tl.json)
	{ echo "| model | split | ChnSentiCorp dev (1,200) | dev not in train (862) | hotel dev (10%, seed 1) |"; \
	  echo "|---|---|---|---|---|"; \
	  for m in $(MODELS); do \
	    case $$m in lr-*) what="TF-IDF + logistic regression";; w2v-*) what="word2vec mean + logistic regression";; \
	      ft-*) what="fastText";; esac; \
	    case $$m in *-w) split="jieba words";; *) split="characters";; esac; \
	    x=$${m##*-}; \
	    if [ $${m%%-*} = w2v ]; then d=$(OUT)/dev.$$x.w2v.s; n=$(OUT)/devnd.$$x.w2v.s; else d=$(OUT)/dev.$$x.s; n=$(OUT)/devnd.$$x.s; fi; \
	    a=$(call acc,$(OUT)/$$m,$$d); b=$(call acc,$(OUT)/$$m,$$n); \
	    h=-; if [ -d $(OUT)/htl-$$m ]; then h=$(call acc,$(OUT)/htl-$$m,$(OUT)/htl-$$x/dev.s); fi; \
	    echo "| $$what | $$split | $$a | $$b | $$h |"; \
	  done; } > $@.tmp
	mv $@.tmp $@

clean:
	rm -rf $(OUT)
