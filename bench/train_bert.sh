#!/bin/sh
# bench/train_bert.sh - training throughput of `tl-train -m bert` against
# PyTorch/transformers (bench/train_bert_torch.py), side by side in one run:
# same model (all-MiniLM-L6-v2), same token ids (the first 20,000 SST-2
# training sentences), batch 32, dynamic padding with length bucketing for
# both, same thread count, STEPS optimizer steps each (the first 3 are not
# timed), REPS repetitions alternating the two; the median of each is
# reported with the ratio, the sgemm peak of the machine measured in the
# same run (bench/sgemm_peak.c; once at the start, and again right before
# each tl fp32 run, whose fraction of that peak is also given), and the
# peak RSS of each (GNU time).
# Each precision of PRECISIONS (default "fp32 bf16") is run on both sides in
# every repetition, alternating: tl-train --precision bf16 (bf16 products,
# fp32 master weights) against PyTorch's torch.autocast("cpu", bfloat16)
# (train_bert_torch.py --bf16). NSENT (default 20000) sentences.
#
# usage: sh bench/train_bert.sh [BIN] [STEPS] [THREADS] [REPS]
# (from anywhere; BIN is the tools' folder, libtl.a is taken from its parent).
# A seconds-long run: sh bench/train_bert.sh build/bin 5 2 1. Without Python's
# torch and transformers the PyTorch side is skipped (tl only, said so).
# BENCH_QUICK=1 (bench/need.sh): 5 steps, 1 repetition, 500 sentences.
# Training FLOPs per token for MiniLM-L6-H384 (6 layers, C 384, I 1536),
# matmuls only: 3 (forward + 2x backward) x 2 x (4 C^2 + 2 C I) x 6 = 63.7 MFLOP.
set -e
. "$(dirname "$0")/need.sh"
BIN=${1:-build/bin}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
cd "$(dirname "$0")/.."
LIB=$(dirname "$BIN")/libtl.a
[ -f "$LIB" ] || { echo "train_bert.sh: no $LIB: run make first (BIN is the tools' folder, e.g. build/bin)" >&2; exit 1; }
STEPS=${2:-60}
TH=${3:-2}
REPS=${4:-3}
NSENT=${NSENT:-20000}
PRECISIONS=${PRECISIONS:-fp32 bf16}
if bench_quick; then
	STEPS=5 REPS=1 NSENT=500
fi
M=${MODEL:-models/all-MiniLM-L6-v2}
S=${TL_SHARED:-../shared}/data/sst2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# OpenMP's wait policy is the caller's: unset, both engines run with
# OpenMP's default (a waiting thread spins a while, then sleeps), as a
# user's plain `tl-train` does. OMP_WAIT_POLICY=passive (threads sleep at
# once; the setting this script forced until 2026-12-02, chosen on hosts
# crowded with other jobs, where spinning threads take cores from them)
# costs tl 15-20% at 2 threads on a quiet machine: a step has hundreds of
# parallel regions, and each wakes a sleeping thread.
echo "OMP_WAIT_POLICY: ${OMP_WAIT_POLICY:-unset (OpenMP's default)}"
head -n $((NSENT + 1)) "$S/train.tsv" | "$BIN/tl-clean" | "$BIN/tl-tokenize" -m "$M" >"$W/train.s"
"$BIN/tl-cat" "$W/train.s" >"$W/train.jsonl"
cc -O2 -fopenmp $(bench_lib_flags "$LIB") -Iinclude -I. -o "$W/sgemm_peak" bench/sgemm_peak.c "$LIB" \
	$(pkg-config --cflags --libs openblas msgpack jansson libutf8proc zlib) -lm
peak=$(ASAN_OPTIONS=detect_leaks=0 "$W/sgemm_peak" "$TH" | sed -n 's/^peak //p')
echo "sgemm peak ($TH threads): $peak GFLOP/s; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
if bench_quick; then
	bench_need train_bert.sh py:torch py:transformers
	PT=$BENCH_PEER
elif python3 -c 'import torch, transformers' 2>/dev/null; then PT=1; else
	PT=0; echo "train_bert.sh: python3 torch/transformers not installed: tl only" >&2; fi
: >"$W/tl.all"
: >"$W/pt.all"
for r in $(seq "$REPS"); do
	for prec in $PRECISIONS; do
	rm -rf "$W/m"
	# the peak again right before each tl fp32 run: these VMs drift 20-30%
	# within minutes, so each run's fraction is taken against its own
	[ "$prec" = fp32 ] && peak_r=$(ASAN_OPTIONS=detect_leaks=0 "$W/sgemm_peak" "$TH" | sed -n 's/^peak //p')
	/usr/bin/time -f "%M" -o "$W/tl.rss" "$BIN/tl-train" -m bert --pretrained "$M" -o "$W/m" -q --threads "$TH" \
		--max-steps "$STEPS" --precision "$prec" --log "$W/tl.log" "$W/train.s"
	jq -s -c --arg rss "$(cat "$W/tl.rss")" --arg prec "$prec" '[.[] | select(.event == "step")] as $s |
		{peer: "tl", steps: ($s | length), tokens: ($s[3:] | map(.tokens) | add),
		 seconds: ($s[-1].elapsed - $s[2].elapsed), loss: $s[-1].loss, peak_rss_kb: ($rss | tonumber)} |
		. + {tokens_per_s: (.tokens / .seconds), precision: $prec, load: ($load | tonumber)} +
		(if $prec == "fp32" then {peak: $peak_r} else {} end)' \
		--arg load "$(cut -d' ' -f1 /proc/loadavg)" --argjson peak_r "${peak_r:-0}" "$W/tl.log" | tee -a "$W/tl.all"
	[ "$PT" = 1 ] || continue
	ptf=; [ "$prec" = bf16 ] && ptf=--bf16
	/usr/bin/time -f "%M" -o "$W/pt.rss" python3 bench/train_bert_torch.py "$M" "$W/train.jsonl" "$STEPS" 32 "$TH" \
		$ptf 2>/dev/null >"$W/pt.json"
	jq -c --arg rss "$(cat "$W/pt.rss")" --arg prec "$prec" --arg load "$(cut -d' ' -f1 /proc/loadavg)" \
		'. + {peak_rss_kb: ($rss | tonumber), precision: $prec, load: ($load | tonumber)}' "$W/pt.json" | tee -a "$W/pt.all"
	done
done
# one line per precision besides fp32's summary below
for prec in $PRECISIONS; do
	[ "$prec" = fp32 ] && continue
	jq -s -r --arg prec "$prec" --slurpfile pt "$W/pt.all" --slurpfile tl "$W/tl.all" '
	def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def med($x; $p): [$x[] | select(.precision == $p) | .tokens_per_s] | if length > 0 then median else null end;
	def r: if . == null then "-" else (. * 10 | round / 10 | tostring) end;
	med($tl; "fp32") as $t32 | med($tl; $prec) as $t | med($pt; "fp32") as $p32 | med($pt; $prec) as $p |
	"median tokens/s \($prec): tl \($t | r) (\(if $t and $t32 then ($t / $t32 * 100 | round / 100 | tostring) + "x tl fp32" else "-" end))" +
	(if $p then ", pytorch autocast \($p | r) (\(if $p32 then ($p / $p32 * 100 | round / 100 | tostring) + "x pytorch fp32" else "-" end)), tl/pytorch \($t / $p * 100 | round / 100)x" else " (no pytorch run)" end)' /dev/null
done
# the fp32 summary, as before --precision
for f in tl pt; do
	jq -c 'select(.precision == "fp32")' "$W/$f.all" >"$W/$f.fp32"
	mv "$W/$f.fp32" "$W/$f.all"
done
[ -s "$W/tl.all" ] || exit 0
jq -s -r --argjson peak "${peak:-0}" --slurpfile pt "$W/pt.all" '
	def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	(map(.tokens_per_s) | median) as $tl |
	([.[] | select(.peak > 0) | .tokens_per_s * 63.7e-3 / .peak * 100 | round]) as $fr |
	(if ($fr | length) > 0 then "; against the peak measured right before each run: \($fr | map(tostring + "%") | join(", ")), median \($fr | median)%" else "" end) as $frs |
	if ($pt | length) == 0 then
	"median tokens/s: tl \($tl * 10 | round / 10); " +
	"tl at \($tl * 63.7e-3 | round) GFLOP/s = \(if $peak > 0 then ($tl * 63.7e-3 / $peak * 100 | round) else "?" end)% of sgemm peak; " +
	"peak RSS tl \((map(.peak_rss_kb) | max) / 1024 | round) MiB (no pytorch run)" + $frs
	else ($pt | map(.tokens_per_s) | median) as $p |
	"median tokens/s: tl \($tl * 10 | round / 10), pytorch \($p * 10 | round / 10), ratio \($tl / $p * 100 | round / 100)x; " +
	"tl at \($tl * 63.7e-3 | round) GFLOP/s = \(if $peak > 0 then ($tl * 63.7e-3 / $peak * 100 | round) else "?" end)% of sgemm peak; " +
	"peak RSS tl \((map(.peak_rss_kb) | max) / 1024 | round) MiB, pytorch \(($pt | map(.peak_rss_kb) | max) / 1024 | round) MiB" + $frs end' "$W/tl.all"
