/* kernels/cpu/memory.c - backend memory (64-byte aligned host memory: alloc,
 * free, the copies, memset) and the thread budget of the CPU backend. */
#include "kernels/cpu/cpu.h"
#include "tl/util.h"

#include <cblas.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Every block carries a 64-byte header just below the pointer returned,
 * marking it as tl_cpu_alloc's: tl_cpu_free refuses a pointer without the
 * mark (a block of malloc given to k->free would be wrong on any other
 * backend; under ASan reading the mark of a foreign pointer is reported
 * there). The header also holds the pointer calloc gave, since the block
 * is aligned to 64 bytes inside it.
 * Blocks are heap memory from calloc: glibc reuses freed memory that is
 * already faulted in (and clears it), and a block it takes from a fresh
 * anonymous mapping (large ones: 151 MB of activations for tl-embed's
 * batch of 32 x 256 tokens) is known to be zero and not written, so only
 * the pages a forward pass touches are faulted in (at bf16 the products'
 * bf16 rows fill half of their fp32-sized buffers). It was posix_memalign
 * + memset, which faulted in every page: 52,000 faults, 0.1 s of a 1.8 s
 * tl-embed of 200 IMDB reviews at bf16 (2026-12-03).
 * Anonymous mappings with huge pages were tried (2026-12-02): on these VMs
 * every fresh page costs a fault on first touch, which made page clearing
 * 14% of a short training run's CPU time against 0.1% with heap blocks.
 * And for the one large block of a model's weights (2026-12-03, tl-embed's
 * start-up, MiniLM): madvise MADV_HUGEPAGE on it cut the system time of a
 * load from 0.06 to 0.03 s in most runs, but 2 runs of 7 took 0.22-0.25 s
 * in direct compaction (THP defrag "madvise"), so it is not done either. */
#define HDR 64
enum { KIND_HEAP = 0x48454150 };
struct hdr {
	unsigned kind;
	void *base; /* what calloc returned */
};

void *tl_cpu_alloc(size_t bytes)
{
	/* 64-byte aligned for AVX-512 loads, zeroed */
	size_t n = (bytes + 63) & ~(size_t)63;
	if (n > SIZE_MAX - 2 * HDR)
		tl_oom("out of memory (%zu bytes)", bytes);
	char *b = calloc(1, 2 * HDR + (n ? n : 64));
	if (!b)
		tl_oom("out of memory (%zu bytes)", bytes);
	char *p = (char *)(((uintptr_t)b + 2 * HDR - 1) & ~(uintptr_t)(HDR - 1)); /* >= b + HDR */
	struct hdr *h = (struct hdr *)(p - HDR);
	h->kind = KIND_HEAP;
	h->base = b;
	return p;
}

void tl_cpu_free(void *p)
{
	if (!p)
		return;
	struct hdr *h = (struct hdr *)((char *)p - HDR);
	if (h->kind != KIND_HEAP)
		tl_oom("tl_cpu_free: %p is not a block of tl_cpu_alloc", p);
	h->kind = 0;
	free(h->base);
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
 * while OpenMP's wait for the next region) would fight over the cores.
 * A pthreads OpenBLAS starts its worker threads when it is loaded, before
 * main, and each spins in sched_yield for about 2^28 cycles before it
 * sleeps: a core's worth of CPU for the first ~0.1 s of every tl process,
 * taken from tl's own threads (perf of a one-sentence `tl-embed -j 2`: 18%
 * of its samples). With one thread asked for they have nothing to do, so
 * they are shut down through OpenBLAS's exported blas_thread_shutdown_
 * (what it calls itself before a fork; a weak reference: an OpenBLAS
 * without it keeps its threads). A later call asking for more threads
 * would start them again; tl never asks. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void tl_cpu_set_threads(int n)
{
	if (n <= 0)
		n = omp_get_num_procs();
	omp_set_num_threads(n);
	tl_cpu_blas_init();
	openblas_set_num_threads(1);
	if (blas_thread_shutdown_)
		blas_thread_shutdown_();
}

void tl_cpu_synchronize(void)
{
}
