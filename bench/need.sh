# bench/need.sh - sourced by the bench scripts.
#
# bench_need SCRIPT py:MODULE... cmd:COMMAND...: what the peer side of a
# comparison needs. Missing in a full run: stop before any work, naming
# it, instead of failing midway. Missing with BENCH_QUICK=1: say
# "SCRIPT: peer not run: ..." on stderr, set BENCH_PEER=0 and go on with
# tl's side only (BENCH_PEER=1 when everything is there). BENCH_PEERS=0
# (with BENCH_QUICK=1) leaves every peer out, installed or not.
#
# BENCH_QUICK=1 (bench_quick): a seconds-long run on a slice of the data,
# one repetition: it checks that a script runs from a fresh checkout
# (tests/bats/bench.bats runs every script so); its figures mean nothing.
bench_quick() { [ "${BENCH_QUICK:-0}" = 1 ]; }
bench_need() {
	_who=$1
	shift
	_miss=
	BENCH_PEER=1
	for _n; do
		case $_n in
		py:*) python3 -c "import ${_n#py:}" 2>/dev/null || _miss="$_miss python3 module ${_n#py:}," ;;
		cmd:*) command -v "${_n#cmd:}" >/dev/null 2>&1 || _miss="$_miss command ${_n#cmd:}," ;;
		esac
	done
	if bench_quick && [ "${BENCH_PEERS:-1}" = 0 ]; then
		echo "$_who: peer not run: BENCH_PEERS=0 (BENCH_QUICK: tl's side only)" >&2
		BENCH_PEER=0
		return 0
	fi
	[ -z "$_miss" ] && return 0
	if bench_quick; then
		echo "$_who: peer not run: missing${_miss%,} (BENCH_QUICK: tl's side only)" >&2
		BENCH_PEER=0
		return 0
	fi
	echo "$_who: the peer side of this comparison needs what is not installed:${_miss%,}" >&2
	echo "$_who: (pip install the modules, apt-get install the commands; see the script's header)" >&2
	exit 1
}

# bench_lib_flags LIBTL_A: the extra compiler flags a program linked against
# that libtl.a needs: the sanitizer runtime when it is a SAN=1 build
# (build-san/libtl.a, as tests/bats/bench.bats uses under the sanitizer
# suite), else nothing. Programs so built run with leak checking off.
bench_lib_flags() {
	if nm -A "$1" 2>/dev/null | grep -q '__asan_init'; then
		echo "-fsanitize=address,undefined"
	fi
}
