# bench/need.sh - sourced by the bench scripts that compare tl with a peer:
# stop before any work, naming what is missing, instead of failing midway.
# usage: bench_need SCRIPT py:MODULE... cmd:COMMAND...
bench_need() {
	_who=$1
	shift
	_miss=
	for _n; do
		case $_n in
		py:*) python3 -c "import ${_n#py:}" 2>/dev/null || _miss="$_miss python3 module ${_n#py:}," ;;
		cmd:*) command -v "${_n#cmd:}" >/dev/null 2>&1 || _miss="$_miss command ${_n#cmd:}," ;;
		esac
	done
	[ -z "$_miss" ] && return 0
	echo "$_who: the peer side of this comparison needs what is not installed:${_miss%,}" >&2
	echo "$_who: (pip install the modules, apt-get install the commands; see the script's header)" >&2
	exit 1
}
