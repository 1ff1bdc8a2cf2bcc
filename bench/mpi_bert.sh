#!/bin/sh
# bench/mpi_bert.sh - data-parallel BERT fine-tuning under Open MPI
# (README "Beyond one machine", docs/SCALE.md): training tokens/s of
# `tl-train -m bert` (all-MiniLM-L6-v2, the first NSENT SST-2 training
# sentences) at the same global batch in four forms:
#   plain1  one process, --threads 1
#   plain2  one process, --threads 2
#   np1     mpirun -np 1, --threads 1 (a plain run: MPI started, no group)
#   np2     mpirun -np 2, --threads 1 per rank
# and, for np2, the all-reduce's share of the step time (the step log's
# "allreduce_s": the all-gathers of the micro-batch gradients and their
# ordered sum) and the time a rank waits for the other at each round's
# start ("wait_s": a small all-gather of the micro-batches' losses). The first 2 steps are not timed. The models are compared
# with cmp: np1 and np2 must equal plain1 (the test of tests/bats/mpi.bats
# at MiniLM size); plain2 is reported (equal when the kernels do not depend
# on the thread count). The load average is printed before and after each
# run: on a shared machine the figures are lower bounds.
#
# usage: sh bench/mpi_bert.sh [BIN] [STEPS]   (BIN: the tools' folder,
# default build/bin; STEPS: optimizer steps, default 12). Environment:
# NSENT (2000), BS (--batch-size, 16), ACC (--grad-accum, 4), MAXLEN (64),
# OMPI_MCA_mpi_yield_when_idle (1 here; Open MPI's default is 0).
# Needs mpirun (openmpi-bin) and tl-train built with MPI (make MPI=1);
# BENCH_QUICK=1 (bench/need.sh): 4 steps on 200 sentences, figures
# meaningless; without mpirun it runs the plain forms only and says so.
set -e
. "$(dirname "$0")/need.sh"
BIN=${1:-build/bin}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
cd "$(dirname "$0")/.."
STEPS=${2:-12}
NSENT=${NSENT:-2000} BS=${BS:-16} ACC=${ACC:-4} MAXLEN=${MAXLEN:-64}
if bench_quick; then
	STEPS=4 NSENT=200
fi
M=${MODEL:-models/all-MiniLM-L6-v2}
S=${TL_SHARED:-../shared}/data/sst2
bench_need mpi_bert.sh cmd:mpirun
MPI=$BENCH_PEER
if [ "$MPI" = 1 ] && ! ldd "$BIN/tl-train" | grep -q libmpi; then
	echo "mpi_bert.sh: $BIN/tl-train is built without MPI (make MPI=1 with mpicc): plain forms only" >&2
	MPI=0
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# a rank waiting in MPI yields the core instead of spinning (Open MPI's
# default spins): on a machine with more runnable jobs than cores the
# spinning rank takes the time of the one it waits for
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
head -n $((NSENT + 1)) "$S/train.tsv" | "$BIN/tl-clean" | "$BIN/tl-tokenize" -m "$M" >"$W/train.s"
TR="-m bert --pretrained $M -q --max-steps $STEPS --batch-size $BS --grad-accum $ACC --max-len $MAXLEN"
load() { cut -d' ' -f1 /proc/loadavg; }
echo "mpi_bert.sh: $(nproc) cores; $NSENT sentences, global batch $BS x $ACC, $STEPS steps (first 2 not timed); mpi_yield_when_idle=$OMPI_MCA_mpi_yield_when_idle"
form() { # name command...
	name=$1
	shift
	l0=$(load)
	"$@" -o "$W/$name" --log "$W/$name.log" "$W/train.s"
	jq -s -c --arg name "$name" --arg l0 "$l0" --arg l1 "$(load)" '[.[] | select(.event == "step")] as $s |
		{form: $name, steps: ($s | length), tokens: ($s[2:] | map(.tokens) | add),
		 seconds: ($s[-1].elapsed - $s[1].elapsed),
		 allreduce_s: ($s[2:] | map(.allreduce_s // 0) | add), wait_s: ($s[2:] | map(.wait_s // 0) | add)} |
		. + {tokens_per_s: ((.tokens / .seconds) * 10 | round / 10),
		     allreduce_share: ((.allreduce_s / .seconds) * 1000 | round / 1000),
		     wait_share: ((.wait_s / .seconds) * 1000 | round / 1000),
		     load_before: ($l0 | tonumber), load_after: ($l1 | tonumber)}' "$W/$name.log" | tee -a "$W/all"
}
: >"$W/all"
form plain1 "$BIN/tl-train" $TR --threads 1
form plain2 "$BIN/tl-train" $TR --threads 2
if [ "$MPI" = 1 ]; then
	MR="mpirun --oversubscribe --allow-run-as-root --bind-to none"
	form np1 $MR -np 1 "$BIN/tl-train" $TR --threads 1
	form np2 $MR -np 2 "$BIN/tl-train" $TR --threads 1
fi
same() { if cmp -s "$W/plain1/model.safetensors" "$W/$1/model.safetensors"; then echo same; else echo differs; fi; }
echo "models against plain1: plain2 $(same plain2)$([ "$MPI" = 1 ] && echo ", np1 $(same np1), np2 $(same np2)")"
jq -s -r 'map({(.form): .}) | add as $f |
	"tokens/s: plain1 \($f.plain1.tokens_per_s), plain2 \($f.plain2.tokens_per_s)" +
	(if $f.np2 then ", np1 \($f.np1.tokens_per_s), np2 \($f.np2.tokens_per_s); np2/plain1 \(($f.np2.tokens_per_s / $f.plain1.tokens_per_s) * 100 | round / 100), np2/plain2 \(($f.np2.tokens_per_s / $f.plain2.tokens_per_s) * 100 | round / 100); np2 step time: all-reduce \($f.np2.allreduce_share * 100 | round)%, waiting for the other rank \($f.np2.wait_share * 100 | round)%" else "" end)' "$W/all"
if [ "$MPI" = 1 ]; then
	[ "$(same np1)" = same ] && [ "$(same np2)" = same ] || {
		echo "mpi_bert.sh: the ranks' model differs from the plain run's" >&2
		exit 1
	}
fi
