#!/usr/bin/env bats
load helpers

# make install into a temporary prefix, then build a program against the
# installed headers and library the way a user would: pkg-config tl.
#
# It installs the optimized build ($TL_ROOT/build) when that is built, else
# the build under test ($TL_BUILD, e.g. build-san when only that exists);
# either way the build is already complete, so make only copies files.
# One install per file (setup_file); the tests share the prefix.
setup_file() {
	export P="$BATS_FILE_TMPDIR/prefix" SANFLAGS="" B MKSAN
	if [ -f "$TL_ROOT/build/libtl.so" ]; then
		B=build
		MKSAN=0
	else
		B=$(realpath --relative-to="$TL_ROOT" "${TL_BUILD:?}")
		MKSAN=0
		case "$B" in *-san) MKSAN=1 SANFLAGS="-fsanitize=address,undefined" ;; esac
	fi
	export PKG_CONFIG_PATH="$P/lib/pkgconfig"
	make -C "$TL_ROOT" --no-print-directory install BUILD="$B" SAN=$MKSAN PREFIX="$P" \
		>"$BATS_FILE_TMPDIR/install.log" 2>&1 || { cat "$BATS_FILE_TMPDIR/install.log"; false; }
	cat >"$BATS_FILE_TMPDIR/prog.c" <<'EOF'
#include <stdio.h>
#include <string.h>

#include <tl/tokenize.h>
#include <tl/util.h>
#include <tl/vocab.h>

int main(int argc, char **argv)
{
	const char *text = argc > 1 ? argv[1] : "Hello, World!";
	char err[256];
	tl_tok_opts o;
	tl_tok_opts_default(&o);
	tl_vocab *v = tl_vocab_default();
	tl_tokenizer *t = v ? tl_tokenizer_init(v, &o, err, sizeof err) : NULL;
	if (!t)
		return 1;
	tl_tok_out out = {0};
	size_t bad;
	int bad_b;
	if (tl_tokenizer_encode(t, text, strlen(text), NULL, 0, &out, &bad, &bad_b) != 0)
		return 1;
	printf("tl %s:", TL_VERSION);
	for (size_t i = 0; i < out.n; i++)
		printf(" %d", (int)out.ids[i]);
	printf("\n");
	tl_tok_out_free(&out);
	tl_tokenizer_free(t);
	tl_vocab_free(v);
	return 0;
}
EOF
}

version() { sed -n 's/^#define TL_VERSION "\(.*\)"/\1/p' "$TL_ROOT/include/tl/util.h"; }

@test "make install: tools, libtl, headers, tl.pc, man pages under PREFIX" {
	for f in bin/tl-clean bin/tl-tokenize bin/tl-train lib/libtl.a lib/libtl.so lib/pkgconfig/tl.pc \
		include/tl/util.h include/tl/kernels.h include/tl/dropout.h include/tl/cli.h share/man/man1/tl-clean.1 share/man/man7/tl.7; do
		[ -e "$P/$f" ] || { echo "missing $P/$f"; false; }
	done
	for h in "$TL_ROOT"/include/tl/*.h; do
		cmp "$h" "$P/include/tl/$(basename "$h")"
	done
	run pkg-config --modversion tl
	[ "$status" -eq 0 ]
	[ "$output" = "$(version)" ]
	run pkg-config --cflags tl
	[[ "$output" == "-I$P/include"* ]]
	run pkg-config --libs tl
	[[ "$output" == "-L$P/lib -ltl"* ]]
	run pkg-config --static --libs tl
	[[ "$output" == *-fopenmp* && "$output" == *-lopenblas* && "$output" == *-lutf8proc* ]]
	"$P/bin/tl-clean" --help >/dev/null
}

@test "make install: every installed header compiles on its own (C11, no other flags)" {
	n=0
	for h in "$P"/include/tl/*.h; do
		echo "#include <tl/$(basename "$h")>" >"$BATS_TEST_TMPDIR/one.c"
		cc -std=c11 -Wall -Wextra -Werror -fsyntax-only $(pkg-config --cflags tl) "$BATS_TEST_TMPDIR/one.c" ||
			{ echo "does not compile alone: $h"; false; }
		n=$((n + 1))
	done
	[ "$n" -eq "$(ls "$TL_ROOT"/include/tl/*.h | wc -l)" ]
}

@test "make install: a program built with pkg-config tl links libtl.so and tokenizes" {
	cc -std=c11 -Wall -Wextra -Werror $SANFLAGS -o "$BATS_TEST_TMPDIR/prog" "$BATS_FILE_TMPDIR/prog.c" \
		$(pkg-config --cflags --libs tl) -Wl,-rpath,"$P/lib"
	run "$BATS_TEST_TMPDIR/prog"
	[ "$status" -eq 0 ]
	[ "$output" = "tl $(version): 101 7592 1010 2088 999 102" ]
	ldd "$BATS_TEST_TMPDIR/prog" | grep -q "$P/lib/libtl.so"
}

@test "make install: a program built with pkg-config --static tl links libtl.a and tokenizes" {
	libs=$(pkg-config --static --libs tl)
	libs=${libs/-ltl/$P/lib/libtl.a}
	cc -std=c11 -Wall -Wextra -Werror $SANFLAGS -o "$BATS_TEST_TMPDIR/prog" "$BATS_FILE_TMPDIR/prog.c" \
		$(pkg-config --cflags tl) $libs
	! ldd "$BATS_TEST_TMPDIR/prog" | grep -q libtl
	run "$BATS_TEST_TMPDIR/prog" "Un café, s'il vous plaît"
	[ "$status" -eq 0 ]
	want=$(printf '{"text":"%s"}\n' "Un café, s'il vous plaît" | tl-cat -t msgpack | tl-tokenize | tl-cat -t tsv -f ids --no-names | tr -d '[]' | tr ',' ' ')
	[ "$output" = "tl $(version): $want" ]
}

@test "make uninstall removes what make install put under PREFIX, tl.pc too" {
	make -C "$TL_ROOT" --no-print-directory uninstall BUILD="$B" SAN=$MKSAN PREFIX="$P" >/dev/null
	[ ! -e "$P/lib/pkgconfig/tl.pc" ]
	[ ! -e "$P/lib/libtl.a" ]
	[ ! -e "$P/lib/libtl.so" ]
	[ ! -e "$P/include/tl" ]
	[ ! -e "$P/bin/tl-clean" ]
	[ ! -e "$P/share/man/man7/tl.7" ]
}

@test "make install DESTDIR=...: staged under DESTDIR, tl.pc names the final PREFIX; uninstall with the same DESTDIR" {
	st="$BATS_TEST_TMPDIR/stage"
	make -C "$TL_ROOT" --no-print-directory install BUILD="$B" SAN=$MKSAN DESTDIR="$st" PREFIX=/opt/tl >/dev/null
	[ -f "$st/opt/tl/lib/libtl.so" ]
	[ -f "$st/opt/tl/include/tl/dropout.h" ]
	grep -qx 'prefix=/opt/tl' "$st/opt/tl/lib/pkgconfig/tl.pc"
	grep -qx "Version: $(version)" "$st/opt/tl/lib/pkgconfig/tl.pc"
	make -C "$TL_ROOT" --no-print-directory uninstall BUILD="$B" SAN=$MKSAN DESTDIR="$st" PREFIX=/opt/tl >/dev/null
	[ ! -e "$st/opt/tl/lib/pkgconfig/tl.pc" ]
	[ ! -e "$st/opt/tl/lib/libtl.so" ]
	[ ! -e "$st/opt/tl/include/tl" ]
}
