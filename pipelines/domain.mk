# pipelines/domain.mk - cross-domain sentiment (issue 18): the 12 source ->
# target pairs of the Blitzer et al. (2007) Amazon reviews, books, dvd,
# electronics and kitchen, with fine-tuning on the source alone and with
# the domain-adaptation methods of tl-train -m bert (man tl-train, DOMAIN
# ADAPTATION).
#
#   make -f pipelines/domain.mk [BIN=build/bin] [PAIRS="books:kitchen ..."] [METHODS="src mixed union seq dann coral mmd mlm pseudo cbst"]
#   make -f pipelines/domain.mk METHODS="src src+match cbst cbst+match"   (M+match: M's model, tl-predict --match-prior)
#   make -f pipelines/domain.mk PAIRS=books:kitchen METHODS="src dann" MAXLEN=128 EPOCHS=1
#   make -f pipelines/domain.mk METHODS="src mixed dann coral mmd mlm"   (mlm: tl-train --objective mlm)
#
# Data (../shared/data/amazon_multidomain, offline; SOURCES.md): each
# domain's train.flat.tsv (1,700 reviews, labels 0/1) and all.flat.tsv
# (2,000: train + dev). Methods, for a pair S:T (all-MiniLM-L6-v2,
# --max-len $(MAXLEN), batch $(BATCH), $(EPOCHS) epoch(s), lr $(LR)):
#   src     fine-tune on S's train.flat labels only
#   mixed   --source S (labelled) with NMIX labelled reviews of T's train
#           (drawn by SEED): B records of each a step
#   union   S's labelled reviews and the same NMIX target reviews as one
#           stream (plain fine-tuning; batches mixed in proportion)
#   seq     the source-only model (src) fine-tuned further on the same NMIX
#           labelled target reviews alone ($(SEQ_EPOCHS) epoch(s), lr
#           $(SEQ_LR)): sequential transfer, source then target
#   dann    --source S --domain-loss dann on T's train.flat text without
#           labels (--domain-weight $(DW_DANN), times DANN's schedule)
#   coral   the same with --domain-loss coral (--domain-weight $(DW_CORAL):
#           CORAL's ||Cov_s - Cov_t||^2 / (4 C^2) on the 384 pooled features
#           was about 1e-7 a batch at the start of books -> kitchen, so a
#           weight of 1 changes nothing; 1e6 brings it near a tenth of the
#           classification loss: a starting point, not a tuned value)
#   mmd     the same with --domain-loss mmd (--domain-weight $(DW_MMD))
#   mlm     tl-train --objective mlm on T's train.flat text ($(MLM_EPOCHS)
#           epoch(s)), then src fine-tuning from that encoder (needs the
#           --objective mlm of tl-train)
#   pseudo  self-training, one round: the source-only model (src) labels
#           T's train.flat text; for each label it predicts, the
#           $(PSEUDO_FRAC) of those reviews it is most confident about
#           (chosen before any run, not tuned; src's probabilities after
#           one short epoch are soft, ~0.55-0.65, so a fixed threshold such
#           as 0.9 keeps nothing) join S's labelled reviews in one stream,
#           fine-tuned afresh from the encoder. Its eval runs without
#           --exclude-seen: its training "labels" of target reviews are its
#           own predictions, never the gold ones, and excluding them would
#           test it on another set
#   cbst    class-balanced self-training (Zou et al. 2018), one round: as
#           pseudo, but each label c takes the CBST_FRAC x prior(c) share of
#           T's reviews ranked by the source model's P(c), prior(c) being c's
#           share of S's labels (a review chosen for two labels is dropped):
#           the ranking, not the source model's shifted threshold, picks the
#           pseudo-labels. Assumes T's label shares are S's. Eval as pseudo
# Test: T's all.flat.tsv without the NMIX reviews of the mixed and union
# methods (T-test.s, 2,000 - NMIX reviews: the same set for every method;
# seq trains on them too),
# through tl-predict | tl-eval --exclude-seen (a guard: nothing left in it
# was seen). all.flat = train + dev, so the target
# text the unsupervised methods see (T's train.flat, without labels) is
# 1,700 of the 2,000 test reviews: the transductive setting of the DANN
# paper's Amazon experiments (Ganin et al. 2016, section 5.1.1, which
# adapts on the target's unlabelled reviews and tests on the target).
# $(OUT)/summary.txt: one row per pair, one column per method, and the mean.
BIN ?= build/bin
DATA ?= ../shared/data/amazon_multidomain
MODEL ?= all-MiniLM-L6-v2
OUT ?= out/domain
SEED ?= 1
MAXLEN ?= 128
BATCH ?= 16
EPOCHS ?= 1
LR ?= 5e-5
THREADS ?= 0
NMIX ?= 200
DW_DANN ?= 1
DW_CORAL ?= 1e6
DW_MMD ?= 1
MLM_EPOCHS ?= 1
SEQ_EPOCHS ?= 2
SEQ_LR ?= 2e-5
PSEUDO_FRAC ?= 0.5
CBST_FRAC ?= 0.5
TRAIN_FLAGS ?=
DOMAINS = books dvd electronics kitchen
PAIRS ?= $(foreach s,$(DOMAINS),$(foreach t,$(filter-out $(s),$(DOMAINS)),$(s):$(t)))
METHODS ?= src mixed dann coral mmd
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DELETE_ON_ERROR:
.SECONDARY:
.SECONDEXPANSION: # prerequisites named from the pair in the stem
# $(call train_with,EPOCHS,LR): fine-tuning with every other setting of the pipeline
train_with = $(BIN)/tl-train -m bert --force --seed $(SEED) --max-len $(MAXLEN) --batch-size $(BATCH) \
	--epochs $(1) --lr $(2) --threads $(THREADS) -q $(TRAIN_FLAGS)
TRAIN = $(call train_with,$(EPOCHS),$(LR))
s_of = $(word 1,$(subst -, ,$(1)))
t_of = $(word 2,$(subst -, ,$(1)))

.PHONY: all clean
all: # its prerequisites below, after EVALS

$(OUT)/random.bin:
	@mkdir -p $(OUT)
	(openssl enc -aes-256-ctr -pass pass:$(SEED) -nosalt -pbkdf2 </dev/zero 2>/dev/null || true) | head -c 1048576 >$@
	test "$$(wc -c <$@)" -eq 1048576

# streams of each domain: labelled train, its text without labels, the
# test set, NMIX labelled train reviews
$(OUT)/%-train.s:
	@mkdir -p $(OUT)
	$(BIN)/tl-clean -f tsv $(DATA)/$*/train.flat.tsv | $(BIN)/tl-tokenize -m $(MODEL) >$@
$(OUT)/%-text.s:
	@mkdir -p $(OUT)
	$(BIN)/tl-clean -f tsv $(DATA)/$*/train.flat.tsv | $(BIN)/tl-cat | jq -c 'del(.label)' | $(BIN)/tl-cat -t msgpack | \
		$(BIN)/tl-tokenize -m $(MODEL) >$@
$(OUT)/%-all.s:
	@mkdir -p $(OUT)
	$(BIN)/tl-clean -f tsv $(DATA)/$*/all.flat.tsv | $(BIN)/tl-tokenize -m $(MODEL) >$@
$(OUT)/%-mix.tsv: $(OUT)/random.bin
	tail -n +2 $(DATA)/$*/train.flat.tsv | shuf -n $(NMIX) --random-source=$< | (echo -e 'sentence\tlabel'; cat) >$@
$(OUT)/%-mix.s: $(OUT)/%-mix.tsv
	$(BIN)/tl-clean -f tsv $< | $(BIN)/tl-tokenize -m $(MODEL) >$@
# the test set of every method: T's all.flat without the NMIX reviews that
# mixed and union train on, so that every column is over the same reviews
$(OUT)/%-test.s: $(OUT)/%-mix.tsv
	grep -vxF -f <(tail -n +2 $<) $(DATA)/$*/all.flat.tsv | $(BIN)/tl-clean -f tsv | $(BIN)/tl-tokenize -m $(MODEL) >$@

# models, one directory per pair S-T and method; tl-train's stderr with
# /usr/bin/time -v's report
# source-only: one model per source domain, shared by its three pairs
# (S-T.src is a link to src-S)
$(OUT)/src-%/tl.json: $(OUT)/%-train.s
	/usr/bin/time -v $(TRAIN) -o $(OUT)/src-$* $< 2>$(OUT)/src-$*.log
$(OUT)/%.src/tl.json: $(OUT)/src-$$(call s_of,$$*)/tl.json
	ln -sfn src-$(call s_of,$*) $(OUT)/$*.src
$(OUT)/%.mixed/tl.json: $(OUT)/$$(call s_of,$$*)-train.s $(OUT)/$$(call t_of,$$*)-mix.s
	/usr/bin/time -v $(TRAIN) -o $(OUT)/$*.mixed --source $< $(word 2,$^) 2>$(OUT)/$*.mixed.log
# union: S's labelled train and T's NMIX labelled reviews as one stream,
# shuffled together (each batch in proportion: about 1 target record in 9)
$(OUT)/%.union/tl.json: $(OUT)/$$(call s_of,$$*)-train.s $(OUT)/$$(call t_of,$$*)-mix.s
	$(BIN)/tl-cat -t msgpack $< $(word 2,$^) | /usr/bin/time -v $(TRAIN) -o $(OUT)/$*.union - 2>$(OUT)/$*.union.log
$(OUT)/%.seq/tl.json: $(OUT)/src-$$(call s_of,$$*)/tl.json $(OUT)/$$(call t_of,$$*)-mix.s
	/usr/bin/time -v $(call train_with,$(SEQ_EPOCHS),$(SEQ_LR)) --pretrained $(OUT)/src-$(call s_of,$*) \
		-o $(OUT)/$*.seq $(word 2,$^) 2>$(OUT)/$*.seq.log
$(OUT)/%.dann/tl.json: $(OUT)/$$(call s_of,$$*)-train.s $(OUT)/$$(call t_of,$$*)-text.s
	/usr/bin/time -v $(TRAIN) -o $(OUT)/$*.dann --source $< --domain-loss dann --domain-weight $(DW_DANN) $(word 2,$^) \
		2>$(OUT)/$*.dann.log
$(OUT)/%.coral/tl.json: $(OUT)/$$(call s_of,$$*)-train.s $(OUT)/$$(call t_of,$$*)-text.s
	/usr/bin/time -v $(TRAIN) -o $(OUT)/$*.coral --source $< --domain-loss coral --domain-weight $(DW_CORAL) $(word 2,$^) \
		2>$(OUT)/$*.coral.log
$(OUT)/%.mmd/tl.json: $(OUT)/$$(call s_of,$$*)-train.s $(OUT)/$$(call t_of,$$*)-text.s
	/usr/bin/time -v $(TRAIN) -o $(OUT)/$*.mmd --source $< --domain-loss mmd --domain-weight $(DW_MMD) $(word 2,$^) \
		2>$(OUT)/$*.mmd.log
# continued masked-LM pretraining on the target's text, then source fine-tuning
$(OUT)/mlm-%/config.json: $(OUT)/%-text.s
	/usr/bin/time -v $(BIN)/tl-train -m bert --objective mlm --force --seed $(SEED) --max-len $(MAXLEN) \
		--batch-size $(BATCH) --epochs $(MLM_EPOCHS) --lr $(LR) --threads $(THREADS) -q -o $(OUT)/mlm-$* $< \
		2>$(OUT)/mlm-$*.log
$(OUT)/%.mlm/tl.json: $(OUT)/$$(call s_of,$$*)-train.s $(OUT)/mlm-$$(call t_of,$$*)/config.json
	/usr/bin/time -v $(TRAIN) --pretrained $(OUT)/mlm-$(call t_of,$*) -o $(OUT)/$*.mlm $< 2>$(OUT)/$*.mlm.log

# self-training: the pseudo-labelled target reviews, then S + them
# (the jq program: per predicted label, the most confident fraction f)
export PSEUDO_JQ = group_by(.pred)[] | sort_by(-([.probs[]] | max)) | .[0:(length * $$f | ceil)][] | .label = .pred | del(.pred, .probs)
$(OUT)/%.pseudo.s: $(OUT)/src-$$(call s_of,$$*)/tl.json $(OUT)/$$(call t_of,$$*)-text.s
	$(BIN)/tl-predict -m $(OUT)/src-$(call s_of,$*) --threads $(THREADS) $(word 2,$^) | $(BIN)/tl-cat | \
		jq -c -s --argjson f $(PSEUDO_FRAC) "$$PSEUDO_JQ" | \
		$(BIN)/tl-cat -t msgpack >$@
	test "$$($(BIN)/tl-cat $@ | wc -l)" -gt 0
$(OUT)/%.pseudo/tl.json: $(OUT)/$$(call s_of,$$*)-train.s $(OUT)/%.pseudo.s
	$(BIN)/tl-cat -t msgpack $^ | /usr/bin/time -v $(TRAIN) -o $(OUT)/$*.pseudo - 2>$(OUT)/$*.pseudo.log
# class-balanced self-training: S's label shares, then per label c the
# first floor(n f prior(c)) of T's reviews by P(c), those chosen twice dropped
export PRIOR_JQ = length as $$n | group_by(.label) | map({key: .[0].label, value: (length / $$n)}) | from_entries
export CBST_JQ = $$prior[0] as $$pr | length as $$n | . as $$all | [$$pr | to_entries[] | .key as $$c | .value as $$q | \
	$$all | sort_by(-.probs[$$c]) | .[0:($$n * $$f * $$q | floor)] | map(.label = $$c)] | add | \
	group_by(.id) | map(select(length == 1) | .[0]) | .[] | del(.pred, .probs)
$(OUT)/%.prior.json: $(OUT)/%-train.s
	$(BIN)/tl-cat $< | jq -s "$$PRIOR_JQ" >$@
$(OUT)/%.cbst.s: $(OUT)/src-$$(call s_of,$$*)/tl.json $(OUT)/$$(call t_of,$$*)-text.s $(OUT)/$$(call s_of,$$*).prior.json
	$(BIN)/tl-predict -m $(OUT)/src-$(call s_of,$*) --threads $(THREADS) $(word 2,$^) | $(BIN)/tl-cat | \
		jq -c -s --argjson f $(CBST_FRAC) --slurpfile prior $(word 3,$^) "$$CBST_JQ" | \
		$(BIN)/tl-cat -t msgpack >$@
	test "$$($(BIN)/tl-cat $@ | wc -l)" -gt 0
$(OUT)/%.cbst/tl.json: $(OUT)/$$(call s_of,$$*)-train.s $(OUT)/%.cbst.s
	$(BIN)/tl-cat -t msgpack $^ | /usr/bin/time -v $(TRAIN) -o $(OUT)/$*.cbst - 2>$(OUT)/$*.cbst.log

# the target's test set through the model (pseudo and cbst without --exclude-seen:
# its target "labels" are its own predictions; see the methods above)
$(OUT)/%.eval.json: $(OUT)/%/tl.json $(OUT)/$$(call t_of,$$(basename $$*))-test.s
	$(BIN)/tl-predict -m $(OUT)/$* --threads $(THREADS) $(word 2,$^) | \
		$(BIN)/tl-eval --json $(if $(filter .pseudo .cbst,$(suffix $*)),,--exclude-seen) >$@

# M+match: method M's model with tl-predict --match-prior: over the test
# reviews (their text, never their labels), the scores shifted so that the
# predicted labels take the source's label shares (S.prior.json), the
# assumption CBST makes too. Transductive, like the methods that adapt on
# T's text: the matching sees the reviews it predicts
$(OUT)/%+match.eval.json: $(OUT)/%/tl.json $(OUT)/$$(call t_of,$$(basename $$*))-test.s \
		$(OUT)/$$(call s_of,$$(basename $$*)).prior.json
	$(BIN)/tl-predict -m $(OUT)/$* --threads $(THREADS) -q \
		--match-prior "$$(jq -r 'to_entries | map("\(.key)=\(.value)") | join(",")' $(word 3,$^))" $(word 2,$^) | \
		$(BIN)/tl-eval --json $(if $(filter .pseudo .cbst,$(suffix $*)),,--exclude-seen) >$@

PAIR_DIRS = $(subst :,-,$(PAIRS))
EVALS = $(foreach p,$(PAIR_DIRS),$(foreach m,$(METHODS),$(OUT)/$(p).$(m).eval.json))
# the evaluations are goals themselves: with .SECONDARY, a summary.txt newer
# than the streams would otherwise leave a new method's runs unmade
all: $(EVALS) $(OUT)/summary.txt

# accuracy (%) per pair and method, the mean over the pairs, seconds per run
$(OUT)/summary.txt: $(EVALS)
	( printf '%-22s' pair; for m in $(METHODS); do printf ' %11s' $$m; done; echo; \
	  for p in $(PAIR_DIRS); do printf '%-22s' "$${p/-/ -> }"; \
	    for m in $(METHODS); do printf ' %11.2f' $$(jq '.accuracy * 100' $(OUT)/$$p.$$m.eval.json); done; echo; done; \
	  printf '%-22s' mean; \
	  for m in $(METHODS); do printf ' %11.2f' $$(for p in $(PAIR_DIRS); do jq '.accuracy * 100' $(OUT)/$$p.$$m.eval.json; done | \
	    awk '{ s += $$1; n++ } END { print s / n }'); done; echo; \
	  printf '%-22s' 'train s (mean)'; \
	  for m in $(METHODS); do printf ' %11.0f' $$(for p in $(PAIR_DIRS); do jq '.metrics.train_seconds' $(OUT)/$$p.$${m%+match}/tl.json; done | \
	    awk '{ s += $$1; n++ } END { print s / n }'); done; echo; \
	  echo "accuracy (%) on the target's all.flat.tsv without the $(NMIX) labelled target reviews of mixed, union and seq; $(MODEL)," \
	    "max-len $(MAXLEN), batch $(BATCH), $(EPOCHS) epoch(s), lr $(LR), seed $(SEED), dann/coral/mmd weights" \
	    "$(DW_DANN)/$(DW_CORAL)/$(DW_MMD), threads $(THREADS); load $$(cut -d' ' -f1-3 /proc/loadavg)" \
	) | tee $@

clean:
	rm -rf $(OUT)
