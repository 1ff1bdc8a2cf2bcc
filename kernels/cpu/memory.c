/* kernels/cpu/memory.c - backend memory (64-byte aligned host memory: alloc,
 * free, the copies, memset) and the thread budget of the CPU backend. */
#include "kernels/cpu/cpu.h"
#include "tl/util.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

/* Every block carries a 64-byte header just below the pointer returned:
 * its kind and, for a mapping, its length. Blocks of BIG bytes or more are
 * anonymous mappings: the kernel's zero pages, faulted in on first touch
 * (no memset pass over memory that may never be used, such as the spare
 * room of an activation arena sized for the longest batch yet), on
 * transparent huge pages where the system allows them (MADV_HUGEPAGE:
 * fewer faults and TLB misses on weights read with a row stride). */
#define BIG ((size_t)1 << 21)
#define HDR 64
enum { KIND_HEAP = 0x48454150, KIND_MAP = 0x4d415021 };
struct hdr {
	size_t len;
	unsigned kind;
};

void *tl_cpu_alloc(size_t bytes)
{
	/* 64-byte aligned for AVX-512 loads, zeroed */
	size_t n = (bytes + 63) & ~(size_t)63;
	if (n >= BIG) {
		/* the header at the end of the first page, the block from the
		 * second: page-aligned */
		size_t page = 4096, len = page + (n + page - 1) / page * page;
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			tl_oom("out of memory (%zu bytes)", bytes);
		(void)madvise(m, len, MADV_HUGEPAGE); /* advice: an error changes nothing */
		char *p = m + page;
		struct hdr *h = (struct hdr *)(p - HDR);
		h->len = len;
		h->kind = KIND_MAP;
		return p;
	}
	void *b = NULL;
	if (posix_memalign(&b, 64, HDR + (n ? n : 64)) != 0)
		tl_oom("out of memory (%zu bytes)", bytes);
	memset(b, 0, HDR + n);
	((struct hdr *)b)->kind = KIND_HEAP;
	return (char *)b + HDR;
}

void tl_cpu_free(void *p)
{
	if (!p)
		return;
	struct hdr *h = (struct hdr *)((char *)p - HDR);
	if (h->kind == KIND_MAP)
		munmap((char *)p - 4096, h->len);
	else if (h->kind == KIND_HEAP)
		free(h);
	else
		tl_oom("tl_cpu_free: %p is not a block of tl_cpu_alloc", p);
}

void tl_cpu_copy(void *dst, const void *src, size_t bytes)
{
	if (bytes)
		memcpy(dst, src, bytes);
}

void tl_cpu_memset(void *p, int c, size_t bytes)
{
	if (bytes)
		memset(p, c, bytes);
}

/* OpenBLAS's kernels. A DYNAMIC_ARCH OpenBLAS picks its kernels at load
 * time, from $OPENBLAS_CORETYPE where it is set, else from the CPU model.
 * On an AVX-512 CPU its AVX2 kernels ("Haswell", "Zen") run sgemm at about
 * half the speed of its AVX-512 ones (AMD Zen 5, MiniLM's shapes, one core:
 * 100-108 against 192-213 GFLOP/s), and machines are met where the
 * environment sets OPENBLAS_CORETYPE=Haswell for every process (this
 * project's build machines do). So once, before the first product: where
 * the CPU has AVX-512 F, DQ, BW and VL (tl_isa_detected, not the $TL_ISA
 * cap, so that a forced lower tl path multiplies with the same OpenBLAS
 * kernels and gives the same bits) and OpenBLAS runs its Haswell or Zen
 * kernels, it is re-initialised on its SkylakeX (AVX-512) kernels through
 * its exported gotoblas_dynamic_quit/init (weak references: an OpenBLAS
 * built for one core lacks them, and nothing changes). $OPENBLAS_CORETYPE
 * is given back its value afterwards, for the programs this one starts.
 * TL_BLAS_CORE=openblas leaves OpenBLAS's own choice. */
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));
extern char *openblas_get_corename(void) __attribute__((weak));

void tl_cpu_blas_init(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	if (!gotoblas_dynamic_init || !gotoblas_dynamic_quit || !openblas_get_corename)
		return;
	const char *keep = getenv("TL_BLAS_CORE");
	if (keep && !strcmp(keep, "openblas"))
		return;
	if (tl_isa_detected() < TL_ISA_AVX512)
		return;
	const char *core = openblas_get_corename();
	if (!core || (strcasecmp(core, "haswell") && strcasecmp(core, "zen")))
		return;
	const char *was = getenv("OPENBLAS_CORETYPE");
	char *saved = was ? strdup(was) : NULL;
	if ((was && !saved) || setenv("OPENBLAS_CORETYPE", "SkylakeX", 1) != 0) {
		free(saved);
		return;
	}
	char was_core[32];
	snprintf(was_core, sizeof was_core, "%s", core);
	gotoblas_dynamic_quit();
	gotoblas_dynamic_init();
	const char *now = openblas_get_corename();
	if (!now || strcasecmp(now, "skylakex")) {
		/* a build without the SkylakeX kernels falls back to another
		 * core: back to the one it had */
		setenv("OPENBLAS_CORETYPE", was_core, 1);
		gotoblas_dynamic_quit();
		gotoblas_dynamic_init();
	}
	if (saved)
		setenv("OPENBLAS_CORETYPE", saved, 1);
	else
		unsetenv("OPENBLAS_CORETYPE");
	free(saved);
}

/* One pool of threads: OpenMP's. OpenBLAS is told to use one thread, and
 * large products are split by rows over the OpenMP threads, each calling
 * sgemm on its block. Two pools (OpenBLAS's pthreads spinning after a call
 * while OpenMP's wait for the next region) would fight over the cores. */
void tl_cpu_set_threads(int n)
{
	if (n <= 0)
		n = omp_get_num_procs();
	omp_set_num_threads(n);
	tl_cpu_blas_init();
	openblas_set_num_threads(1);
}

void tl_cpu_synchronize(void)
{
}
