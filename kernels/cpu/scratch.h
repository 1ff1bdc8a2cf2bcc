/* kernels/cpu/scratch.h - per-thread scratch buffers of the CPU kernels
 * (kernels.c, train_attention.c). */
#ifndef TL_CPU_SCRATCH_H
#define TL_CPU_SCRATCH_H

#include "tl/util.h"

#include <stdlib.h>

/* A 64-byte aligned buffer of at least n floats in *buf (capacity *cap),
 * grown on demand; the caller frees *buf. */
static inline float *tl_cpu_scratch(float **buf, size_t *cap, size_t n)
{
	if (n > *cap || !*buf) {
		free(*buf);
		*buf = aligned_alloc(64, ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63);
		if (!*buf)
			tl_die(TL_EXIT_FAIL, "out of memory");
		*cap = n;
	}
	return *buf;
}

#endif
