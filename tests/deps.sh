#!/bin/sh
# make deps: install the Debian packages tl needs, when they are missing.
set -e
PKGS="build-essential pkg-config libopenblas-dev libutf8proc-dev libmsgpack-dev libjansson-dev zlib1g-dev bats man-db wordnet-base jq clang libclang-rt-14-dev libomp-dev"
# data-parallel training (tl-train under mpirun, make MPI=1) and sharded scoring (tests/bats/mpi.bats, shard.bats)
PKGS="$PKGS libopenmpi-dev openmpi-bin parallel"
PKGS="$PKGS ${TL_EXTRA_DEPS:-}"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all present"
	exit 0
fi
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
