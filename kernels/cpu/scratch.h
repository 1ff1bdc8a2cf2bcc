/* kernels/cpu/scratch.h - per-thread scratch buffers of the CPU kernels
 * (attention, low-precision products, LSTM), one mechanism for all.
 *
 * Ownership: each buffer belongs to the calling thread and its slot. It is
 * kept between calls (grown on demand, never shrunk), so that kernels
 * called once per layer do not map and fault in fresh pages each time, and
 * freed when the thread exits (OpenMP shrinks its pool when the thread
 * count drops) through a pthread key's destructor. The caller never frees
 * it. Valid until the thread's next call for the same slot; one user of a
 * slot at a time (kernels that nest use different slots). Contents are not
 * zeroed and not kept across a regrowth. */
#ifndef TL_CPU_SCRATCH_H
#define TL_CPU_SCRATCH_H

#include <stddef.h>

enum tl_cpu_scratch_slot {
	TL_SCR_ATTN, /* attention.c, attention_bf16.c */
	TL_SCR_LP, /* lowprec.c: converted activation rows */
	TL_SCR_LPT0, /* lowprec_train.c: A panels */
	TL_SCR_LPT1, /* lowprec_train.c: B panels */
	TL_SCR_LSTM0, /* lstm.c: TL_SCR_LSTM0 + its own slot enum */
	TL_SCR_NSLOT = TL_SCR_LSTM0 + 16
};

/* A 64-byte aligned buffer of at least `bytes` bytes (slot as above).
 * Out of memory: tl_oom. */
void *tl_cpu_scratch_slot(int slot, size_t bytes);

/* The attention kernels' buffer of at least n floats. */
static inline float *tl_cpu_scratch(size_t n)
{
	return tl_cpu_scratch_slot(TL_SCR_ATTN, n * sizeof(float));
}

#endif
