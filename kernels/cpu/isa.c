/* kernels/cpu/isa.c - the instruction sets of this CPU, read at run time
 * (cpuid and xgetbv: the CPU has the feature and the OS saves its
 * registers), so that one binary picks the kernels the machine it runs on
 * has (kernels.h: enum tl_isa, tl_isa_level).
 *
 * Levels: avx2 (AVX2 + FMA) < avx512 (AVX-512 F/BW/VL/DQ) < vnni
 * (avx512 plus AVX512-VNNI or AVX512-BF16) < amx (AMX tiles, granted by
 * the kernel through arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)).
 * $TL_ISA caps the level (a lower path, for tests and comparisons);
 * tl_isa_check says whether its value is valid and available here: the
 * tools call it and exit 2 (usage) when it is not. Where a program does not
 * call it, an unknown or unavailable $TL_ISA is ignored (the level
 * detected). At level amx the low-precision products run on the tile
 * unit (lowprec_amx.c); the level needs AMX-BF16 and AMX-INT8 both. */
#include "tl/kernels.h"
#include "tl/util.h"

#include <cpuid.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static int detected = -1;
static int has_vnni, has_bf16;

static const char *const names[] = {"base", "avx2", "avx512", "vnni", "amx"};

static unsigned long long xgetbv0(void)
{
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((unsigned long long)hi << 32) | lo;
}

/* AMX needs the OS to grant the tile data state to this process. */
static int amx_permit(void)
{
#if defined(__linux__) && defined(SYS_arch_prctl)
	return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
#else
	return 0;
#endif
}

static void detect(void)
{
	unsigned a, b, c, d;
	int level = TL_ISA_BASE;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) {
		detected = level;
		return;
	}
	int fma = (c >> 12) & 1;
	unsigned long long xcr0 = xgetbv0();
	int ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xe6) == 0xe6, tiles = (xcr0 & 0x60000) == 0x60000;
	unsigned b7 = 0, c7 = 0, d7 = 0, a71 = 0;
	if (__get_cpuid_max(0, NULL) >= 7) {
		__cpuid_count(7, 0, a, b7, c7, d7);
		__cpuid_count(7, 1, a71, b, c, d);
	}
	int avx2 = (b7 >> 5) & 1, f = (b7 >> 16) & 1, dq = (b7 >> 17) & 1, bw = (b7 >> 30) & 1, vl = (b7 >> 31) & 1;
	int vnni = (c7 >> 11) & 1, bf16 = (a71 >> 5) & 1;
	int amx_bf16 = (d7 >> 22) & 1, amx_tile = (d7 >> 24) & 1, amx_int8 = (d7 >> 25) & 1;
	if (ymm && avx2 && fma)
		level = TL_ISA_AVX2;
	if (level == TL_ISA_AVX2 && zmm && f && dq && bw && vl)
		level = TL_ISA_AVX512;
	if (level == TL_ISA_AVX512 && (vnni || bf16)) {
		level = TL_ISA_VNNI;
		has_vnni = vnni;
		has_bf16 = bf16;
	}
	if (level == TL_ISA_VNNI && vnni && bf16 && amx_tile && amx_bf16 && amx_int8 && tiles && amx_permit())
		level = TL_ISA_AMX;
	detected = level;
}

int tl_isa_detected(void)
{
	if (detected < 0)
		detect();
	return detected;
}

const char *tl_isa_name(int level)
{
	return level >= 0 && level <= TL_ISA_AMX ? names[level] : "?";
}

int tl_isa_parse(const char *s)
{
	for (int i = TL_ISA_AVX2; i <= TL_ISA_AMX; i++)
		if (s && !strcmp(s, names[i]))
			return i;
	return -1;
}

int tl_isa_check(char *err, size_t errsz)
{
	const char *e = getenv("TL_ISA");
	if (!e || !*e)
		return 0;
	int l = tl_isa_parse(e);
	if (l < 0)
		return tl_errf(err, errsz, "TL_ISA=%s: unknown instruction set (avx2, avx512, vnni, amx)", e);
	if (l > tl_isa_detected())
		return tl_errf(err, errsz, "TL_ISA=%s: this CPU lacks it (it has %s)", e,
			       tl_isa_name(tl_isa_detected()));
	return 0;
}

int tl_isa_level(void)
{
	int d = tl_isa_detected();
	const char *e = getenv("TL_ISA");
	int l = e && *e ? tl_isa_parse(e) : -1;
	return l >= 0 && l < d ? l : d;
}

int tl_isa_has(int feature)
{
	int l = tl_isa_level();
	switch (feature) {
	case TL_FEAT_AVX512: return l >= TL_ISA_AVX512;
	case TL_FEAT_VNNI: return l >= TL_ISA_VNNI && has_vnni;
	case TL_FEAT_BF16: return l >= TL_ISA_VNNI && has_bf16;
	case TL_FEAT_AMX: return l >= TL_ISA_AMX;
	default: return 0;
	}
}
