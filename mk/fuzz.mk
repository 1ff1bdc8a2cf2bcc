# make fuzz: run the libFuzzer harness of the safetensors reader for
# FUZZ_TIME seconds (default 60) from the committed seed corpus. Needs
# clang; skipped with a message without it. `make check` runs it.
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 60
CLANG ?= clang

.PHONY: fuzz
fuzz:
	@if command -v $(CLANG) >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(FUZZ_BUILD)/fuzz_safetensors && \
		mkdir -p $(FUZZ_BUILD)/corpus && \
		$(FUZZ_BUILD)/fuzz_safetensors -max_total_time=$(FUZZ_TIME) -max_len=8192 -print_final_stats=1 \
			$(FUZZ_BUILD)/corpus tests/fuzz/corpus 2>$(FUZZ_BUILD)/fuzz.log && \
		tail -n 3 $(FUZZ_BUILD)/fuzz.log || { tail -n 40 $(FUZZ_BUILD)/fuzz.log; exit 1; }; \
	else echo "fuzz: $(CLANG) not found, skipped"; fi

$(FUZZ_BUILD)/fuzz_safetensors: tests/fuzz/fuzz_safetensors.c lib/models/safetensors.c lib/core/util.c include/tl/safetensors.h
	@mkdir -p $(FUZZ_BUILD)
	$(CLANG) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-Iinclude tests/fuzz/fuzz_safetensors.c lib/models/safetensors.c lib/core/util.c \
		$$(pkg-config --cflags --libs jansson) -lm -o $@
