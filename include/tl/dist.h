/* tl/dist.h - the data-parallel layer: a group of processes ("ranks")
 * training one model, each on its shard of the examples.
 *
 * The interface is free of MPI: a tl_dist is a rank, a size and one
 * collective, an all-gather of byte strings in rank order. The library's
 * trainers (tl/linear.h, tl_lin_opts.dist) use only that, so libtl built
 * without MPI (the default when mpicc is absent) has no MPI symbol; the
 * Open MPI implementation (lib/dist/mpi.c) is compiled only with
 * `make MPI=1` (the default when mpicc is found), which defines
 * TL_HAVE_MPI.
 *
 * Determinism: every collective result is a concatenation in rank order,
 * never a sum in MPI's reduction tree; the caller adds up what it needs in
 * an order it fixes (fastText: the per-example updates in global example
 * order), so the result does not depend on the number of ranks.
 *
 * BERT (tl/bert_fit.h, tl_bert_fit_opts.dist) splits each optimizer step
 * into its --grad-accum micro-batches, micro-batch j of a step to rank
 * j mod size, and sums their gradients with tl_dist_fold_f32 in
 * micro-batch order; a plain run folds the same micro-batch gradients in
 * the same order.
 *
 * Ownership: a tl_dist from tl_dist_mpi_init is the caller's, freed by
 * tl_dist_mpi_finalize. Buffers passed to allgather are the caller's.
 */
#ifndef TL_DIST_H
#define TL_DIST_H

#include "tl/util.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tl_dist tl_dist;
struct tl_dist {
	int rank, size;
	/* Every rank passes n bytes at send; out gets all ranks' bytes one
	 * after the other in rank order (out->len reset first), counts[r]
	 * (size entries, caller's) rank r's length. 0, or -1 with a message
	 * in err. */
	int (*allgather)(tl_dist *d, const void *send, size_t n, tl_buf *out, size_t *counts, char *err,
			 size_t errsz);
	void *impl;
};

/* Rank r's piece of an all-gather result: a pointer into out at the
 * offset counts[0] + ... + counts[r-1]. */
static inline const char *tl_dist_piece(const tl_buf *out, const size_t *counts, int r)
{
	size_t off = 0;
	for (int i = 0; i < r; i++)
		off += counts[i];
	return out->data + off;
}

/* Ordered sums (lib/dist/fold.c, MPI-free). With d NULL or of size 1 they
 * run locally, so one process and N ranks compute the same bits.
 *
 * tl_dist_allgather_fixed: every rank sends n bytes from mine; all
 * (size * n bytes, caller's) gets them in rank order. 0, or -1 with a
 * message (also when a rank sent another length). */
int tl_dist_allgather_fixed(tl_dist *d, const void *mine, size_t n, void *all, char *err, size_t errsz);
/* One round of an ordered gradient sum: every rank passes its gradient
 * mine[n] (NULL: an idle rank, it adds nothing) and the same sum[n]; the
 * contributions are added into sum in rank order, the first one of a sum
 * copied (*have 0: sum holds nothing yet; set to 1 once it does). A plain
 * run calls it once per term with d NULL: the sum is the left fold
 * ((g0 + g1) + g2) + ... in term order whatever the number of ranks, as
 * long as term j of a round of N is rank j's. Collective: the data moves
 * in all-gathers of at most tl_dist_set_fold_chunk floats per rank
 * (default 16 Mi, fewer when size x chunk x 4 bytes would pass INT_MAX),
 * size x n floats in all per round. 0, or -1 with a
 * message. */
int tl_dist_fold_f32(tl_dist *d, const float *mine, float *sum, size_t n, int *have, char *err, size_t errsz);
/* The all-gather size of tl_dist_fold_f32 in floats (0: the default);
 * for tests of the chunking. */
void tl_dist_set_fold_chunk(size_t floats);

#ifdef TL_HAVE_MPI
/* MPI_Init (threads: MPI_THREAD_FUNNELED; only the calling thread
 * communicates) and the communicator's rank and size. NULL with a message
 * when MPI cannot start. */
tl_dist *tl_dist_mpi_init(int *argc, char ***argv, char *err, size_t errsz);
/* Whether this process was started by mpirun/mpiexec (Open MPI's
 * environment): a plain run does not start MPI at all. */
int tl_dist_under_mpirun(void);
/* MPI_Finalize and free. */
void tl_dist_mpi_finalize(tl_dist *d);
/* MPI_Abort(code): ends every rank (a rank that dies alone would leave the
 * others waiting in a collective). Does not return. */
void tl_dist_mpi_abort(tl_dist *d, int code) __attribute__((noreturn));
#endif

#endif
