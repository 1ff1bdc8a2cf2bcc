/* gemm_peak.c - the instruction throughput ceiling of each precision on this
 * CPU, the yardstick of bench/lowprec.sh: register-only loops of the one
 * multiply-add instruction a GEMM micro-kernel of that precision is made of,
 * with enough independent accumulators to keep every port busy (12 zmm
 * chains; the longest latency x ports product of current x86 cores is 8),
 * one thread and all threads. No memory traffic is timed: this is the figure
 * a kernel approaches, not one it can pass.
 *
 * Op counting: 2 ops per multiply-add (one multiply, one add), so a figure
 * compares directly with 2*M*N*K / seconds of a GEMM.
 *   fp32_ymm    vfmadd231ps ymm      8 lanes              16 FLOP/instr
 *   fp32_zmm    vfmadd231ps zmm      16 lanes             32 FLOP/instr
 *   bf16_dp     vdpbf16ps zmm        16 lanes x 2 pairs   64 FLOP/instr
 *   int8_vnni   vpdpbusd zmm         16 lanes x 4 u8*s8  128 OP/instr
 *   amx_bf16    tdpbf16ps 16x16x32   8192 multiply-adds  16384 FLOP/instr
 *   amx_int8    tdpbssd   16x16x64   16384 multiply-adds 32768 OP/instr
 * A path is run only when cpuid (and, for zmm and AMX state, XCR0; for AMX
 * the kernel's arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)) says it
 * is there; otherwise its line says "absent" and why, never a number.
 *
 * Each figure is the best of 5 timed runs of about 0.2 s after a warm-up,
 * counted per second of the CPU time each thread actually got
 * (CLOCK_THREAD_CPUTIME_ID, summed over threads): the core's ceiling even on
 * a machine shared with other work; the per-wall-second figure follows.
 *
 * usage: gemm_peak [THREADS [SECONDS]]   (default: every processor; 1 thread
 * is always run; SECONDS per timed run, default 0.2)
 * output: one line per path and thread count, tab separated:
 *   NAME <TAB> THREADS <TAB> VALUE <TAB> UNIT <TAB> wall VALUE   e.g. fp32_zmm 1 95.3 GFLOP/s wall 94.8
 *   NAME <TAB> THREADS <TAB> absent <TAB> REASON
 * build: cc -O2 -fopenmp -o gemm_peak bench/gemm_peak.c   (no library needed;
 * each kernel carries its own target attribute, so one binary runs on any
 * x86-64 and checks cpuid before calling a kernel) */
#define _GNU_SOURCE
#include <cpuid.h>
#include <immintrin.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static volatile float sink_f;
static volatile int sink_i;

#define NACC 12
/* the 12 accumulators are named variables, not an array: an array the
 * compiler does not fully unroll would live on the stack */
#define ACC12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

/* Each kernel runs n iterations of NACC independent instructions and
 * returns the number of instructions issued. */

/* One kernel per instruction: c_i = OP(c_i, a, b) for the 12 accumulators,
 * n times; the empty asm makes `a` loop-variant so nothing is hoisted. */
#define KERNEL(NAME, TARGET, VT, CONSTR, SETUP, INIT, STEP, ADD, FINISH)                                       \
	__attribute__((target(TARGET))) static long NAME(long n)                                               \
	{                                                                                                       \
		SETUP;                                                                                          \
		ACC12(DECL_##VT)                                                                                \
		for (long it = 0; it < n; it++) {                                                               \
			ACC12(STEP)                                                                             \
			__asm__ volatile("" : CONSTR(a));                                                       \
		}                                                                                               \
		VT s = c0;                                                                                      \
		ACC12(ADD)                                                                                      \
		FINISH;                                                                                         \
		return n * NACC;                                                                                \
	}

#define DECL___m256(i) __m256 c##i = _mm256_set1_ps((float)i);
#define DECL___m512(i) __m512 c##i = _mm512_set1_ps((float)i);
#define DECL___m512i(i) __m512i c##i = _mm512_set1_epi32(i);
#define X_CONSTR(v) "+x"(v)
#define V_CONSTR(v) "+v"(v)

#define STEP_YMM(i) c##i = _mm256_fmadd_ps(a, b, c##i);
#define ADD_YMM(i) s = _mm256_add_ps(s, c##i);
KERNEL(k_fp32_ymm, "avx2,fma", __m256, X_CONSTR,
       __m256 a = _mm256_set1_ps(1.0001f); __m256 b = _mm256_set1_ps(0.9999f), INIT, STEP_YMM, ADD_YMM,
       sink_f = _mm256_cvtss_f32(s))

#define STEP_ZMM(i) c##i = _mm512_fmadd_ps(a, b, c##i);
#define ADD_ZMM(i) s = _mm512_add_ps(s, c##i);
KERNEL(k_fp32_zmm, "avx512f", __m512, V_CONSTR,
       __m512 a = _mm512_set1_ps(1.0001f); __m512 b = _mm512_set1_ps(0.9999f), INIT, STEP_ZMM, ADD_ZMM,
       sink_f = _mm512_reduce_add_ps(s))

#define STEP_BF16(i) c##i = _mm512_dpbf16_ps(c##i, a, b);
KERNEL(k_bf16_dp, "avx512f,avx512bf16", __m512, V_CONSTR,
       __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80); __m512bh b = (__m512bh)_mm512_set1_epi16(0x3f80),
       INIT, STEP_BF16, ADD_ZMM, sink_f = _mm512_reduce_add_ps(s))

#define STEP_VNNI(i) c##i = _mm512_dpbusd_epi32(c##i, a, b);
#define ADD_I32(i) s = _mm512_add_epi32(s, c##i);
KERNEL(k_int8_vnni, "avx512f,avx512vnni", __m512i, V_CONSTR,
       __m512i a = _mm512_set1_epi8(1); __m512i b = _mm512_set1_epi8(1), INIT, STEP_VNNI, ADD_I32,
       sink_i = _mm512_reduce_add_epi32(s))

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define HAVE_AMX_INTRIN 1
/* 64-byte tile configuration, palette 1: 8 tiles of 16 rows x 64 bytes */
struct tilecfg {
	uint8_t palette, start_row, reserved[14];
	uint16_t colsb[16];
	uint8_t rows[16];
};

/* ldtilecfg with the configuration as a memory operand: GCC 12's
 * _tile_loadconfig does not tell the optimizer that it reads the struct,
 * so the stores filling it may be dropped (kernels/cpu/lowprec_amx.c) */
static inline void load_tilecfg(const struct tilecfg *c)
{
	__asm__ volatile("ldtilecfg %0" : : "m"(*c));
}

/* tmm0-3 accumulate, tmm4-5 hold A, tmm6-7 hold B (a 2x2 block): four
 * independent tile products per iteration. */
__attribute__((target("amx-tile,amx-bf16"))) static long k_amx_bf16(long n)
{
	struct tilecfg cfg __attribute__((aligned(64)));
	memset(&cfg, 0, sizeof cfg);
	cfg.palette = 1;
	for (int i = 0; i < 8; i++)
		cfg.colsb[i] = 64, cfg.rows[i] = 16;
	uint16_t src[16 * 32] __attribute__((aligned(64)));
	float dst[16 * 16] __attribute__((aligned(64)));
	for (int i = 0; i < 16 * 32; i++)
		src[i] = 0x3f80;
	load_tilecfg(&cfg);
	_tile_zero(0);
	_tile_zero(1);
	_tile_zero(2);
	_tile_zero(3);
	_tile_loadd(4, src, 64);
	_tile_loadd(5, src, 64);
	_tile_loadd(6, src, 64);
	_tile_loadd(7, src, 64);
	for (long it = 0; it < n; it++) {
		_tile_dpbf16ps(0, 4, 6);
		_tile_dpbf16ps(1, 4, 7);
		_tile_dpbf16ps(2, 5, 6);
		_tile_dpbf16ps(3, 5, 7);
	}
	_tile_stored(0, dst, 64);
	_tile_release();
	sink_f = dst[0];
	return n * 4;
}

__attribute__((target("amx-tile,amx-int8"))) static long k_amx_int8(long n)
{
	struct tilecfg cfg __attribute__((aligned(64)));
	memset(&cfg, 0, sizeof cfg);
	cfg.palette = 1;
	for (int i = 0; i < 8; i++)
		cfg.colsb[i] = 64, cfg.rows[i] = 16;
	int8_t src[16 * 64] __attribute__((aligned(64)));
	int32_t dst[16 * 16] __attribute__((aligned(64)));
	for (int i = 0; i < 16 * 64; i++)
		src[i] = 1;
	load_tilecfg(&cfg);
	_tile_zero(0);
	_tile_zero(1);
	_tile_zero(2);
	_tile_zero(3);
	_tile_loadd(4, src, 64);
	_tile_loadd(5, src, 64);
	_tile_loadd(6, src, 64);
	_tile_loadd(7, src, 64);
	for (long it = 0; it < n; it++) {
		_tile_dpbssd(0, 4, 6);
		_tile_dpbssd(1, 4, 7);
		_tile_dpbssd(2, 5, 6);
		_tile_dpbssd(3, 5, 7);
	}
	_tile_stored(0, dst, 64);
	_tile_release();
	sink_i = dst[0];
	return n * 4;
}
#endif

/* --- what the CPU and OS offer --- */

static unsigned long long xcr0(void)
{
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 27))) /* OSXSAVE */
		return 0;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((unsigned long long)hi << 32) | lo;
}

typedef struct {
	int avx2, fma, avx512f, vnni, bf16, amx_tile, amx_bf16, amx_int8;
	int os_ymm, os_zmm, os_amx;
} feats;

static feats detect(void)
{
	feats f;
	memset(&f, 0, sizeof f);
	unsigned a, b, c, d, max = __get_cpuid_max(0, NULL);
	__cpuid(1, a, b, c, d);
	f.fma = !!(c & (1u << 12));
	unsigned long long x = xcr0();
	f.os_ymm = (x & 6) == 6;
	f.os_zmm = (x & 0xe6) == 0xe6;
	f.os_amx = (x & (3ull << 17)) == (3ull << 17);
	if (max >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		f.avx2 = !!(b & (1u << 5));
		f.avx512f = !!(b & (1u << 16));
		f.vnni = !!(c & (1u << 11));
		f.amx_bf16 = !!(d & (1u << 22));
		f.amx_tile = !!(d & (1u << 24));
		f.amx_int8 = !!(d & (1u << 25));
		__cpuid_count(7, 1, a, b, c, d);
		f.bf16 = !!(a & (1u << 5));
	}
	return f;
}

/* Linux gives a process AMX tile data only on request. */
static int amx_permit(void)
{
#ifdef SYS_arch_prctl
	return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
#else
	return 0;
#endif
}

/* --- timing --- */

typedef long (*kern)(long);
static double run_s = 0.2; /* seconds of one timed run */

static double cputime(void) /* this thread's CPU time */
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* instructions per second over `threads` threads, best of 5 runs of ~0.2 s:
 * per second of the CPU time each thread got (returned), and per second of
 * wall time (*wall; lower than the first on a machine shared with others) */
static double rate(kern k, int threads, double *wall)
{
	long n = 1000;
	double t;
	for (;;) { /* calibrate on one thread (also the warm-up) */
		double t0 = now();
		k(n);
		t = now() - t0;
		if (t > run_s / 4)
			break;
		n *= 4;
	}
	n = (long)(n * run_s / t) + 1;
	double best = 0, bestw = 0;
	for (int rep = 0; rep < 5; rep++) {
		long total = 0;
		double per_cpu = 0, t0 = now();
#pragma omp parallel num_threads(threads) reduction(+ : total, per_cpu)
		{
			double c0 = cputime();
			long m = k(n);
			total += m;
			per_cpu += m / (cputime() - c0);
		}
		double r = total / (now() - t0);
		bestw = r > bestw ? r : bestw;
		best = per_cpu > best ? per_cpu : best;
	}
	*wall = bestw;
	return best;
}

static void report(const char *name, int threads, const char *absent, kern k, double ops_per_instr,
		   const char *unit)
{
	if (absent) {
		printf("%s\t%d\tabsent\t%s\n", name, threads, absent);
		return;
	}
	double wall, cpu = rate(k, threads, &wall);
	printf("%s\t%d\t%.1f\t%s\twall %.1f\n", name, threads, cpu * ops_per_instr / 1e9, unit,
	       wall * ops_per_instr / 1e9);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	char *end = "";
	long all = argc > 1 ? strtol(argv[1], &end, 10) : omp_get_num_procs();
	int bad = *end != '\0' || all > 4096;
	if (argc > 2) {
		run_s = strtod(argv[2], &end);
		bad |= *end != '\0';
	}
	if (bad || all < 1 || argc > 3 || !(run_s > 0 && run_s <= 10)) {
		fprintf(stderr, "usage: gemm_peak [THREADS [SECONDS]]  (THREADS >= 1; SECONDS per timed run, 0-10, "
				"default 0.2)\n");
		return 2;
	}
	feats f = detect();
	const char *amx_why = NULL;
#ifdef HAVE_AMX_INTRIN
	if (!f.amx_tile)
		amx_why = "no amx-tile in cpuid";
	else if (!f.os_amx)
		amx_why = "XCR0 lacks tile state";
	else if (!amx_permit())
		amx_why = "arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA) refused";
#else
	amx_why = "compiler without AMX intrinsics";
#endif
	const char *ymm = !(f.avx2 && f.fma) ? "no avx2/fma in cpuid" : !f.os_ymm ? "XCR0 lacks ymm state" : NULL;
	const char *zmm = !f.avx512f ? "no avx512f in cpuid" : !f.os_zmm ? "XCR0 lacks zmm state" : NULL;
	const char *bf = zmm ? zmm : !f.bf16 ? "no avx512_bf16 in cpuid" : NULL;
	const char *vn = zmm ? zmm : !f.vnni ? "no avx512_vnni in cpuid" : NULL;
	const char *ab = amx_why ? amx_why : !f.amx_bf16 ? "no amx-bf16 in cpuid" : NULL;
	const char *ai = amx_why ? amx_why : !f.amx_int8 ? "no amx-int8 in cpuid" : NULL;
	printf("# gemm_peak: register-only multiply-add loops, best of 5 timed runs; 2 ops per multiply-add;\n"
	       "# per second of thread CPU time, then per second of wall time\n");
	int tcounts[2] = {1, (int)all};
	for (int ti = 0; ti < (all > 1 ? 2 : 1); ti++) {
		int th = tcounts[ti];
		report("fp32_ymm", th, ymm, k_fp32_ymm, 16, "GFLOP/s");
		report("fp32_zmm", th, zmm, k_fp32_zmm, 32, "GFLOP/s");
		report("bf16_dp", th, bf, k_bf16_dp, 64, "GFLOP/s");
		report("int8_vnni", th, vn, k_int8_vnni, 128, "GOP/s");
#ifdef HAVE_AMX_INTRIN
		report("amx_bf16", th, ab, k_amx_bf16, 2.0 * 16 * 16 * 32, "GFLOP/s");
		report("amx_int8", th, ai, k_amx_int8, 2.0 * 16 * 16 * 64, "GOP/s");
#else
		report("amx_bf16", th, ab, NULL, 0, "");
		report("amx_int8", th, ai, NULL, 0, "");
#endif
	}
	return 0;
}
