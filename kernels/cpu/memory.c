/* kernels/cpu/memory.c - backend memory (64-byte aligned host memory: alloc,
 * free, the copies, memset) and the thread budget of the CPU backend. */
#include "kernels/cpu/cpu.h"
#include "tl/util.h"

#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Large blocks (>= TL_CPU_BIG_ALLOC: a model's parameter arena, its
 * optimizer moments, a batch's activations) are anonymous mappings, 2 MiB
 * aligned and advised as transparent huge pages: the kernel hands them out
 * zeroed, so there is no memset pass, a page is faulted in when first
 * written (a quantized model's unused fp32 matrix slots never are), and a
 * 2 MiB page takes one fault where 4 KiB pages take 512. A small table
 * records each mapping's length for tl_cpu_free; anything not in it came
 * from posix_memalign. Under AddressSanitizer big blocks stay heap blocks,
 * so that a write past their end is still caught. */
#define TL_CPU_BIG_ALLOC ((size_t)4 << 20)
#define TL_CPU_HUGE ((size_t)2 << 20)
#ifdef __SANITIZE_ADDRESS__ /* under ASan every block is a heap block, with its redzones */
#define MAPPED_BLOCKS 0
#else
#define MAPPED_BLOCKS 1
#endif

static struct {
	void *p;
	size_t len;
} *big;
static size_t nbig, capbig;
static pthread_mutex_t big_mu = PTHREAD_MUTEX_INITIALIZER;

static void *big_alloc(size_t n)
{
	size_t len = (n + TL_CPU_HUGE - 1) & ~(TL_CPU_HUGE - 1);
	/* map a huge page more, then trim to a 2 MiB-aligned start */
	char *m = mmap(NULL, len + TL_CPU_HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uintptr_t a = ((uintptr_t)m + TL_CPU_HUGE - 1) & ~(uintptr_t)(TL_CPU_HUGE - 1);
	char *p = (char *)a;
	if (p > m)
		munmap(m, (size_t)(p - m));
	if (p + len < m + len + TL_CPU_HUGE)
		munmap(p + len, (size_t)(m + len + TL_CPU_HUGE - (p + len)));
#ifdef MADV_HUGEPAGE
	madvise(p, len, MADV_HUGEPAGE); /* advice only: 4 KiB pages work too */
#endif
	pthread_mutex_lock(&big_mu);
	if (nbig == capbig) {
		size_t nc = capbig ? 2 * capbig : 16;
		void *t = realloc(big, nc * sizeof *big);
		if (!t) {
			pthread_mutex_unlock(&big_mu);
			munmap(p, len);
			return NULL;
		}
		big = t;
		capbig = nc;
	}
	big[nbig].p = p;
	big[nbig].len = len;
	nbig++;
	pthread_mutex_unlock(&big_mu);
	return p;
}

/* 1 and unmapped when p is a big block, 0 otherwise */
static int big_free(void *p)
{
	size_t len = 0;
	pthread_mutex_lock(&big_mu);
	for (size_t i = 0; i < nbig; i++)
		if (big[i].p == p) {
			len = big[i].len;
			big[i] = big[--nbig];
			break;
		}
	if (!nbig) { /* nothing left: the table goes too (no leak at exit) */
		free(big);
		big = NULL;
		capbig = 0;
	}
	pthread_mutex_unlock(&big_mu);
	if (!len)
		return 0;
	munmap(p, len);
	return 1;
}

void *tl_cpu_alloc(size_t bytes)
{
	/* 64-byte aligned for AVX-512 loads, zeroed */
	size_t n = (bytes + 63) & ~(size_t)63;
	void *p = NULL;
	if (MAPPED_BLOCKS && n >= TL_CPU_BIG_ALLOC && (p = big_alloc(n)) != NULL)
		return p;
	if (posix_memalign(&p, 64, n ? n : 64) != 0)
		tl_oom("out of memory (%zu bytes)", bytes);
	memset(p, 0, n);
	return p;
}

void tl_cpu_free(void *p)
{
	if (p && big_free(p))
		return;
	free(p);
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

/* One pool of threads: OpenMP's. OpenBLAS is told to use one thread, and
 * large products are split by rows over the OpenMP threads, each calling
 * sgemm on its block. Two pools (OpenBLAS's pthreads spinning after a call
 * while OpenMP's wait for the next region) would fight over the cores. */
void tl_cpu_set_threads(int n)
{
	if (n <= 0)
		n = omp_get_num_procs();
	omp_set_num_threads(n);
	openblas_set_num_threads(1);
}

void tl_cpu_synchronize(void)
{
}
