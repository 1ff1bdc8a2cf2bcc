# pipelines/multitask.mk - one encoder for two tasks (issue 17): sentiment
# (SST-2) and topic (AG News) trained jointly, against each trained alone
# with the same number of optimizer steps per task.
#
#   make -f pipelines/multitask.mk [BIN=build/bin] [N=800] [NDEV=400] [SEED=1]
#   make -f pipelines/multitask.mk N=4000 EPOCHS=2 THREADS=8
#
# Data (../shared/data, offline): SST-2 train.tsv / dev.tsv; AG News: the
# 5,000-record sample subset_lst11111/train.csv ("title description",
# label 0-3) for training and the official test.csv (class 1-4, title,
# description) for dev, both labelled World, Sports, Business, Sci/Tech.
# N training and NDEV dev records per task, drawn with `shuf
# --random-source` from a byte stream made from SEED (as augment.mk).
#
# Runs (all-MiniLM-L6-v2, --max-len $(MAXLEN), batch $(BATCH), $(EPOCHS)
# epoch(s), lr $(LR), seed $(SEED)):
#   joint   records of both tasks with "task", one head per task, MT-DNN
#           proportional sampling: N/BATCH batches of each task an epoch
#   sst2    the SST-2 records alone (same N/BATCH steps for the task)
#   ag      the AG News records alone
# Each task's dev accuracy comes from tl-predict | tl-eval (--by task for
# the joint model); time and peak memory from /usr/bin/time -v; size is
# model.safetensors. $(OUT)/summary.txt is the table.
BIN ?= build/bin
DATA ?= ../shared/data
MODEL ?= all-MiniLM-L6-v2
OUT ?= out/multitask
SEED ?= 1
N ?= 800
NDEV ?= 400
MAXLEN ?= 64
BATCH ?= 16
EPOCHS ?= 1
LR ?= 5e-5
THREADS ?= 0
TRAIN_FLAGS ?=
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DELETE_ON_ERROR:
.SECONDARY: # keep the streams and models the pattern rules make
AG_NAMES = ["World","Sports","Business","Sci/Tech"]
TRAIN = $(BIN)/tl-train -m bert --pretrained $(MODEL) --force --seed $(SEED) --max-len $(MAXLEN) \
	--batch-size $(BATCH) --epochs $(EPOCHS) --lr $(LR) --threads $(THREADS) $(TRAIN_FLAGS)

.PHONY: all clean
all: $(OUT)/summary.txt

$(OUT)/random.bin:
	@mkdir -p $(OUT)
	(openssl enc -aes-256-ctr -pass pass:$(SEED) -nosalt -pbkdf2 </dev/zero 2>/dev/null || true) | head -c 1048576 >$@
	test "$$(wc -c <$@)" -eq 1048576

# records as JSON lines {text, label, task}
$(OUT)/sst2-train.jsonl: $(OUT)/random.bin
	tail -n +2 $(DATA)/sst2/train.tsv | shuf -n $(N) --random-source=$< | \
		(echo -e 'sentence\tlabel'; cat) | $(BIN)/tl-clean -f tsv | $(BIN)/tl-cat | jq -c '{text, "label": .label, task: "sentiment"}' >$@
$(OUT)/sst2-dev.jsonl: $(OUT)/random.bin
	tail -n +2 $(DATA)/sst2/dev.tsv | shuf -n $(NDEV) --random-source=$< | \
		(echo -e 'sentence\tlabel'; cat) | $(BIN)/tl-clean -f tsv | $(BIN)/tl-cat | jq -c '{text, "label": .label, task: "sentiment"}' >$@
$(OUT)/ag-train.jsonl: $(OUT)/random.bin
	shuf -n $(N) --random-source=$< $(DATA)/ag_news/subset_lst11111/train.csv | \
		$(BIN)/tl-clean -f csv --no-header --fix-entities -t 1 -l 2 | $(BIN)/tl-cat | \
		jq -c '$(AG_NAMES) as $$n | {text, "label": $$n[.label | tonumber], task: "topic"}' >$@
$(OUT)/ag-dev.jsonl: $(OUT)/random.bin
	shuf -n $(NDEV) --random-source=$< $(DATA)/ag_news/test.csv | \
		$(BIN)/tl-clean -f csv --no-header --fix-entities -t 2,3 -l 1 | $(BIN)/tl-cat | \
		jq -c '$(AG_NAMES) as $$n | {text, "label": $$n[(.label | tonumber) - 1], task: "topic"}' >$@

# token streams: the joint ones carry "task", the single-task ones do not
$(OUT)/joint-%.s: $(OUT)/sst2-%.jsonl $(OUT)/ag-%.jsonl
	cat $^ | $(BIN)/tl-cat -t msgpack | $(BIN)/tl-tokenize -m $(MODEL) >$@
$(OUT)/sst2-%.s: $(OUT)/sst2-%.jsonl
	jq -c 'del(.task)' $< | $(BIN)/tl-cat -t msgpack | $(BIN)/tl-tokenize -m $(MODEL) >$@
$(OUT)/ag-%.s: $(OUT)/ag-%.jsonl
	jq -c 'del(.task)' $< | $(BIN)/tl-cat -t msgpack | $(BIN)/tl-tokenize -m $(MODEL) >$@

# the models; tl-train's stderr with /usr/bin/time -v's report
$(OUT)/%.model/tl.json: $(OUT)/%-train.s $(OUT)/%-dev.s
	/usr/bin/time -v $(TRAIN) --dev $(OUT)/$*-dev.s -o $(OUT)/$*.model $< 2>$(OUT)/$*.train.log
	test -f $@

# dev predictions and their evaluation (tl-eval --json)
$(OUT)/%.eval.json: $(OUT)/%.model/tl.json $(OUT)/%-dev.s
	/usr/bin/time -v $(BIN)/tl-predict -m $(OUT)/$*.model --threads $(THREADS) $(OUT)/$*-dev.s 2>$(OUT)/$*.predict.log >$(OUT)/$*.pred
	$(BIN)/tl-eval --json $(if $(filter joint,$*),--by task) $(OUT)/$*.pred >$@

# one row per model and task: accuracy, macro-F1, training seconds and
# steps, peak memory (MB) of training and prediction, model size (MB)
$(OUT)/summary.txt: $(OUT)/joint.eval.json $(OUT)/sst2.eval.json $(OUT)/ag.eval.json
	( printf '%-8s %-10s %9s %9s %7s %6s %9s %9s %8s\n' model task accuracy macro_f1 train_s steps train_MB pred_MB size_MB; \
	  for m in joint sst2 ag; do \
	    secs=$$(jq -r '.metrics.train_seconds | floor' $(OUT)/$$m.model/tl.json); \
	    steps=$$(jq -r .steps $(OUT)/$$m.model/tl.json); \
	    tmb=$$(awk '/Maximum resident/ { printf "%d", $$NF / 1024 }' $(OUT)/$$m.train.log); \
	    pmb=$$(awk '/Maximum resident/ { printf "%d", $$NF / 1024 }' $(OUT)/$$m.predict.log); \
	    smb=$$(awk -v b=$$(stat -c %s $(OUT)/$$m.model/model.safetensors) 'BEGIN { printf "%.1f", b / 1048576 }'); \
	    if [ $$m = joint ]; then rows=$$(jq -r '.by.groups | to_entries[] | "\(.key) \(.value.accuracy) \(.value.macro_f1)"' $(OUT)/$$m.eval.json); \
	    else t=$$([ $$m = sst2 ] && echo sentiment || echo topic); rows=$$(jq -r --arg t $$t '"\($$t) \(.accuracy) \(.macro_f1)"' $(OUT)/$$m.eval.json); fi; \
	    while read -r task acc f1; do \
	      printf '%-8s %-10s %9.4f %9.4f %7s %6s %9s %9s %8s\n' $$m $$task $$acc $$f1 $$secs $$steps $$tmb $$pmb $$smb; \
	    done <<<"$$rows"; \
	  done; \
	  awk -v a=$$(stat -c %s $(OUT)/sst2.model/model.safetensors) -v b=$$(stat -c %s $(OUT)/ag.model/model.safetensors) \
	    -v j=$$(stat -c %s $(OUT)/joint.model/model.safetensors) \
	    'BEGIN { printf "one joint model %.1f MB instead of two (%.1f MB together)\n", j / 1048576, (a + b) / 1048576 }'; \
	  echo "N=$(N) per task, NDEV=$(NDEV) per task, batch $(BATCH), $(EPOCHS) epoch(s), lr $(LR), max-len $(MAXLEN), seed $(SEED), threads $(THREADS); load $$(cut -d' ' -f1-3 /proc/loadavg)" \
	) | tee $@

clean:
	rm -rf $(OUT)
