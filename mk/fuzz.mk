# make fuzz: build the libFuzzer harnesses tests/fuzz/fuzz_*.c (one per
# parser) against the whole library compiled with clang under
# ASan/UBSan, and run each for FUZZ_TIME seconds (default 5: about 80 s
# for all) from its committed seed corpus tests/fuzz/corpus/NAME/. One
# summary line per harness; a crash, leak or sanitizer report fails the
# target and leaves the input in $(FUZZ_BUILD)/crash-NAME-*.
# make fuzz FUZZ_RUNS=N: N inputs per harness from a fixed seed instead of
# a time (what `make check` runs: the same work on a fast or a slow machine).
# make fuzz-long FUZZ_TIME=1800: the same, longer (a campaign).
# make fuzz-build: only build. Needs clang; skipped with a message
# without it. `make check` runs `make fuzz`.
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 5
FUZZ_LONG_TIME ?= 600
FUZZ_MAX_LEN ?= 8192
CLANG ?= clang

FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -fopenmp -O1 -g -fno-omit-frame-pointer -march=$(ARCH) \
	-Wall -Wno-unknown-pragmas -Wno-pass-failed $(FUZZ_SAN) -Iinclude -I. $(PKG_CFLAGS)
FUZZ_LIBS = -fopenmp $(PKG_LIBS) -lm -lpthread

FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_BINS := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_NAMES))
FUZZ_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(LIB_SRC)) $(FUZZ_BUILD)/gen/embed_vocab.o

.PHONY: fuzz fuzz-long fuzz-build
fuzz:
	@if command -v $(CLANG) >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory fuzz-build && \
		FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_TIME=$(FUZZ_TIME) FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_MAX_LEN=$(FUZZ_MAX_LEN) \
			sh tests/fuzz/run.sh $(FUZZ_NAMES); \
	else echo "fuzz: $(CLANG) not found, skipped"; fi

fuzz-long:
	$(MAKE) --no-print-directory fuzz FUZZ_TIME=$(if $(filter command line,$(origin FUZZ_TIME)),$(FUZZ_TIME),$(FUZZ_LONG_TIME))

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC (fuzz) $<"
	@$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/gen/embed_vocab.c: $(EMBED_VOCAB) mk/embed.sh
	@mkdir -p $(dir $@)
	sh mk/embed.sh tl_embed_vocab_uncased $(EMBED_VOCAB) > $@.tmp && mv $@.tmp $@

$(FUZZ_BUILD)/gen/embed_vocab.o: $(FUZZ_BUILD)/gen/embed_vocab.c
	$(CLANG) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/libtl-fuzz.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/fuzz/fzmodel.h $(FUZZ_BUILD)/libtl-fuzz.a
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libtl-fuzz.a $(FUZZ_LIBS)

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)

# make fuzz-campaign: the long campaign (tests/fuzz/campaign.sh): each
# harness to FUZZ_CAMPAIGN_RUNS executions (1e7) or FUZZ_CAMPAIGN_TIME
# seconds (900), FUZZ_JOBS (2) at a time at nice 19; a Markdown table of
# executions, time, exec/s, corpus growth and crashes for docs/FAULTS.md.
.PHONY: fuzz-campaign
fuzz-campaign: fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_MAX_LEN=$(FUZZ_MAX_LEN) bash tests/fuzz/campaign.sh $(FUZZ_NAMES)

# make fuzz-campaign-fast: the same campaign on harnesses built with UBSan
# only (FUZZ_FAST_BUILD, default build-fuzz-fast: 6-8x the inputs a second
# of the ASan build: fuzz_stream 29,000 against 4,500), then fuzz-replay:
# every input the campaign kept run once through the ASan/UBSan harnesses
# of FUZZ_BUILD (libFuzzer -runs=0), so an out-of-bounds access that did
# not crash the fast build is still reported.
FUZZ_FAST_BUILD ?= build-fuzz-fast
.PHONY: fuzz-campaign-fast fuzz-replay
fuzz-campaign-fast:
	$(MAKE) --no-print-directory fuzz-build FUZZ_BUILD=$(FUZZ_FAST_BUILD) \
		FUZZ_SAN="-fsanitize=undefined -fno-sanitize-recover=all"
	FUZZ_BUILD=$(FUZZ_FAST_BUILD) FUZZ_MAX_LEN=$(FUZZ_MAX_LEN) bash tests/fuzz/campaign.sh $(FUZZ_NAMES)
	$(MAKE) --no-print-directory fuzz-replay

fuzz-replay: fuzz-build
	@fail=0; for n in $(FUZZ_NAMES); do \
		[ -d $(FUZZ_FAST_BUILD)/corpus/$$n ] || continue; \
		if $(FUZZ_BUILD)/fuzz_$$n -runs=0 -max_len=$(FUZZ_MAX_LEN) -rss_limit_mb=2048 -malloc_limit_mb=2048 \
			-artifact_prefix=$(FUZZ_BUILD)/crash-$$n- $(FUZZ_FAST_BUILD)/corpus/$$n >$(FUZZ_BUILD)/replay-$$n.log 2>&1; \
		then echo "replay $$n: $$(ls $(FUZZ_FAST_BUILD)/corpus/$$n | wc -l) inputs under ASan/UBSan, 0 crashes"; \
		else echo "replay $$n: FAILED, see $(FUZZ_BUILD)/replay-$$n.log"; fail=1; fi; \
	done; exit $$fail
