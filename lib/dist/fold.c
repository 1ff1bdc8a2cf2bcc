/* fold.c - the ordered sums of the data-parallel trainers over the
 * all-gather of tl/dist.h. MPI-free: it runs on any tl_dist (Open MPI in
 * lib/dist/mpi.c, threads in tests/unit/test_dist.c) and on none (one
 * process), so a plain run and a run of N ranks add the same numbers in the
 * same order. */
#include "tl/dist.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Floats per rank and all-gather: 16 Mi floats (64 MiB), fewer when size
 * x the chunk would pass MPI's int count (tl_dist_fold_f32). Each
 * all-gather is a meeting of every rank: few large ones cost less than
 * many small ones on a busy machine. */
#define FOLD_CHUNK ((size_t)1 << 24)
static size_t fold_chunk = FOLD_CHUNK;

void tl_dist_set_fold_chunk(size_t floats)
{
	fold_chunk = floats ? floats : FOLD_CHUNK;
}

int tl_dist_allgather_fixed(tl_dist *d, const void *mine, size_t n, void *all, char *err, size_t errsz)
{
	if (!d || d->size < 2) {
		memcpy(all, mine, n);
		return 0;
	}
	tl_buf out = {0};
	size_t *counts = tl_xmalloc((size_t)d->size * sizeof *counts);
	int rc = d->allgather(d, mine, n, &out, counts, err, errsz);
	for (int r = 0; rc == 0 && r < d->size; r++)
		if (counts[r] != n)
			rc = tl_errf(err, errsz, "rank %d of %d sent %zu bytes where %zu were expected", r, d->size,
				     counts[r], n);
	if (rc == 0)
		memcpy(all, out.data, n * (size_t)d->size);
	tl_buf_free(&out);
	free(counts);
	return rc < 0 ? -1 : 0;
}

/* sum (+)= x, or sum = x for the first term: the one operation both paths
 * use, so the sign of a zero is the same too. */
static void fold_into(float *sum, const float *x, size_t n, int first)
{
	if (first)
		memcpy(sum, x, n * sizeof *sum);
	else
		for (size_t i = 0; i < n; i++)
			sum[i] += x[i];
}

int tl_dist_fold_f32(tl_dist *d, const float *mine, float *sum, size_t n, int *have, char *err, size_t errsz)
{
	if (!d || d->size < 2) {
		if (mine) {
			fold_into(sum, mine, n, !*have);
			*have = 1;
		}
		return 0;
	}
	if (n == 0)
		return 0;
	tl_buf out = {0};
	size_t *counts = tl_xmalloc((size_t)d->size * sizeof *counts);
	int rc = 0, any = 0;
	size_t chunk = fold_chunk, most = (size_t)INT_MAX / sizeof *sum / (size_t)d->size;
	if (chunk > most)
		chunk = most;
	for (size_t c0 = 0; c0 < n; c0 += chunk) {
		size_t m = n - c0 < chunk ? n - c0 : chunk;
		/* an idle rank sends nothing: the others see a count of 0 */
		if (d->allgather(d, mine ? (const void *)(mine + c0) : "", mine ? m * sizeof *mine : 0, &out, counts,
				 err, errsz) < 0) {
			rc = -1;
			break;
		}
		int first = !*have;
		any = 0;
		for (int r = 0; r < d->size; r++) {
			if (counts[r] == 0)
				continue;
			if (counts[r] != m * sizeof *sum) {
				rc = tl_errf(err, errsz, "rank %d of %d sent %zu bytes of a gradient where %zu were expected",
					     r, d->size, counts[r], m * sizeof *sum);
				break;
			}
			/* the piece is not float-aligned in general: copy through */
			const char *p = tl_dist_piece(&out, counts, r);
			if (((uintptr_t)p % sizeof(float)) == 0) {
				fold_into(sum + c0, (const float *)(const void *)p, m, first);
			} else {
				float *tmp = tl_xmalloc(m * sizeof *tmp + 1);
				memcpy(tmp, p, m * sizeof *tmp);
				fold_into(sum + c0, tmp, m, first);
				free(tmp);
			}
			first = 0;
			any = 1;
		}
		if (rc < 0)
			break;
	}
	if (rc == 0 && any)
		*have = 1;
	tl_buf_free(&out);
	free(counts);
	return rc < 0 ? -1 : 0;
}
