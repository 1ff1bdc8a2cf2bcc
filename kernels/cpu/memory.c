/* kernels/cpu/memory.c - backend memory (64-byte aligned host memory: alloc,
 * free, the copies, memset) and the thread budget of the CPU backend. */
#include "kernels/cpu/cpu.h"
#include "tl/util.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

void *tl_cpu_alloc(size_t bytes)
{
	/* 64-byte aligned for AVX-512 loads, zeroed */
	size_t n = (bytes + 63) & ~(size_t)63;
	void *p = NULL;
	if (posix_memalign(&p, 64, n ? n : 64) != 0)
		tl_oom("out of memory (%zu bytes)", bytes);
	memset(p, 0, n);
	return p;
}

void tl_cpu_free(void *p)
{
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
