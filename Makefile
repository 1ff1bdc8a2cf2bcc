# tl - transfer learning for text classification as small Unix tools.
#
#   make deps       install the Debian packages the suite needs (root)
#   make            build libtl and every tl-* tool into $(BUILD)
#   make check      deps + test: the README's test command, run by CI
#   make demo       the whole loop on the default model and a bundled sample:
#                   fetch the model if missing, fine-tune, predict, evaluate
#   make test       unit + bats tests, optimized and under ASan/UBSan
#   make install    PREFIX=/usr/local (and DESTDIR): binaries, libtl.a and
#                   libtl.so, the headers, tl.pc for pkg-config, man pages,
#                   models/ when present; make uninstall removes them
#
# Variables: BUILD (build dir), SAN=1 (sanitizer build), ARCH (-march value).
# The library is built from lib/ and kernels/cpu (the only backend).

.DEFAULT_GOAL := all
PREFIX ?= /usr/local
DESTDIR ?=
SAN ?= 0
ARCH ?= native
ifeq ($(SAN),1)
BUILD ?= build-san
OPTFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDSAN = -fsanitize=address,undefined
else
BUILD ?= build
OPTFLAGS = -O3 -march=$(ARCH) -g $(VECFLAGS)
LDSAN =
endif
# Full-width AVX-512 in the vectorised loops where the CPU has it (gcc
# defaults to 256-bit vectors there; the sgemm kernels use 512 anyway).
VECFLAGS ?= $(shell $(CC) -march=$(ARCH) -dM -E - </dev/null 2>/dev/null | grep -q __AVX512F__ && \
	echo -mprefer-vector-width=512)

CC ?= cc
PKGS = msgpack jansson libutf8proc openblas zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC -fopenmp $(OPTFLAGS) \
	-Iinclude -I. $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(LDSAN) -fopenmp $(PKG_LIBS) -lm -lpthread $(LDLIBS)

LIB_SRC := $(sort $(shell find lib kernels/cpu -name "*.c"))
LIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
LIB_GEN_OBJ :=
CMD_SRC := $(wildcard cmd/tl-*.c)
BINS := $(patsubst cmd/%.c,$(BUILD)/bin/%,$(CMD_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNITS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

# Extra objects and rules contributed by modules (embedded data, models, fuzz).
-include $(wildcard mk/*.mk)

.PHONY: all deps check demo test test-opt test-san install uninstall clean
all: $(BUILD)/libtl.a $(BUILD)/libtl.so $(BINS) $(UNITS)

deps:
	@sh tests/deps.sh

# The README's test command: install what is missing, build, test.
# The fuzz run comes first so that the test summary is the closing line.
check:
	$(MAKE) deps
	$(MAKE) models
	$(MAKE) fuzz FUZZ_RUNS=20000
	$(MAKE) test

# The README's demonstration (examples/demo.sh): fine-tune the default
# model on examples/reviews.tsv, evaluate on examples/reviews-dev.tsv;
# outputs in out/demo. `make models` fetches the model when it is missing.
demo: all models
	sh examples/demo.sh $(BUILD)/bin

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/libtl.a: $(LIB_OBJ) $(LIB_GEN_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libtl.so: $(LIB_OBJ) $(LIB_GEN_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/bin/%: $(BUILD)/obj/cmd/%.o $(BUILD)/libtl.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(BUILD)/libtl.a $(LDLIBS_ALL)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libtl.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(BUILD)/libtl.a $(LDLIBS_ALL)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# The test command (README): optimized build, then the same suite under
# AddressSanitizer and UBSan.
test:
	$(MAKE) test-opt
	$(MAKE) test-san

test-opt: all
	sh tests/run.sh $(BUILD)

test-san:
	$(MAKE) SAN=1 all
	sh tests/run.sh build-san

# The object files of cmd/ and tests/ are kept (not deleted as intermediate
# files), so that a second make, e.g. make install, finds nothing to redo.
.SECONDARY:

# tl.pc: pkg-config's description of the installed library. Public headers
# include <msgpack.h> and <jansson.h> (Requires); the rest is needed only
# for a static link (pkg-config --static).
TL_VERSION := $(shell sed -n 's/^\#define TL_VERSION "\(.*\)"/\1/p' include/tl/util.h)
PCDIR = $(PREFIX)/lib/pkgconfig

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PCDIR) $(DESTDIR)$(PREFIX)/include/tl \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7 $(DESTDIR)$(PREFIX)/share/tl
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(BUILD)/libtl.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libtl.so $(DESTDIR)$(PREFIX)/lib/
	printf '%s\n' 'prefix=$(PREFIX)' 'exec_prefix=$${prefix}' 'libdir=$${exec_prefix}/lib' \
		'includedir=$${prefix}/include' '' 'Name: tl' \
		'Description: transfer learning for text classification (libtl)' \
		'Version: $(TL_VERSION)' 'Requires: msgpack jansson' \
		'Requires.private: libutf8proc openblas zlib' \
		'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -ltl' \
		'Libs.private: -fopenmp -lm -lpthread' >$(DESTDIR)$(PCDIR)/tl.pc
	install -m 644 include/tl/*.h $(DESTDIR)$(PREFIX)/include/tl/
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(wildcard man/*.7) $(DESTDIR)$(PREFIX)/share/man/man7/
	if [ -d models ]; then cp -R models $(DESTDIR)$(PREFIX)/share/tl/; fi

uninstall:
	rm -f $(patsubst cmd/%.c,$(DESTDIR)$(PREFIX)/bin/%,$(CMD_SRC))
	rm -f $(DESTDIR)$(PREFIX)/lib/libtl.a $(DESTDIR)$(PREFIX)/lib/libtl.so $(DESTDIR)$(PCDIR)/tl.pc
	rm -rf $(DESTDIR)$(PREFIX)/include/tl $(DESTDIR)$(PREFIX)/share/tl
	cd man && for f in *.1; do rm -f $(DESTDIR)$(PREFIX)/share/man/man1/$$f; done
	cd man && for f in *.7; do rm -f $(DESTDIR)$(PREFIX)/share/man/man7/$$f; done

clean:
	rm -rf build build-san
