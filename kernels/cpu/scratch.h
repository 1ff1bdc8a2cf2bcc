/* kernels/cpu/scratch.h - the per-thread scratch buffer of the CPU
 * attention kernels (attention.c). */
#ifndef TL_CPU_SCRATCH_H
#define TL_CPU_SCRATCH_H

#include "tl/util.h"

#include <stdlib.h>

/* A 64-byte aligned buffer of at least n floats, owned by the calling
 * thread and kept between calls (grown on demand, never shrunk), so that
 * kernels called once per layer do not map and fault in fresh pages each
 * time. Valid until the thread's next call; one user at a time. */
static inline float *tl_cpu_scratch(size_t n)
{
	static _Thread_local float *buf;
	static _Thread_local size_t cap;
	if (n > cap || !buf) {
		free(buf);
		size_t want = n > 2 * cap ? n : 2 * cap;
		buf = aligned_alloc(64, ((want ? want : 1) * sizeof(float) + 63) & ~(size_t)63);
		if (!buf)
			tl_oom("out of memory");
		cap = want;
	}
	return buf;
}

#endif
