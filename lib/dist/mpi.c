/* mpi.c - tl/dist.h over Open MPI. Compiled only with `make MPI=1`
 * (mk/mpi.mk), so libtl built without MPI has no MPI symbol. */
#ifdef TL_HAVE_MPI
#include "tl/dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

static int mpi_allgather(tl_dist *d, const void *send, size_t n, tl_buf *out, size_t *counts, char *err,
			 size_t errsz)
{
	if (n > INT_MAX) {
		tl_errf(err, errsz, "all-gather of %zu bytes: more than MPI's int count", n);
		return -1;
	}
	int *cnt = tl_xmalloc((size_t)d->size * sizeof *cnt), *disp = tl_xmalloc((size_t)d->size * sizeof *disp);
	int mine = (int)n, rc = MPI_Allgather(&mine, 1, MPI_INT, cnt, 1, MPI_INT, MPI_COMM_WORLD);
	size_t total = 0;
	for (int r = 0; rc == MPI_SUCCESS && r < d->size; r++) {
		if (total > INT_MAX) {
			tl_errf(err, errsz, "all-gather of %zu bytes: more than MPI's int count", total);
			free(cnt);
			free(disp);
			return -1;
		}
		disp[r] = (int)total;
		counts[r] = (size_t)cnt[r];
		total += (size_t)cnt[r];
	}
	if (rc == MPI_SUCCESS) {
		out->len = 0;
		tl_buf_reserve(out, total + 1);
		rc = MPI_Allgatherv(send, mine, MPI_BYTE, out->data, cnt, disp, MPI_BYTE, MPI_COMM_WORLD);
		out->len = total;
	}
	free(cnt);
	free(disp);
	if (rc != MPI_SUCCESS) {
		char s[MPI_MAX_ERROR_STRING];
		int len = 0;
		MPI_Error_string(rc, s, &len);
		tl_errf(err, errsz, "MPI all-gather: %s", s);
		return -1;
	}
	return 0;
}

int tl_dist_under_mpirun(void)
{
	return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMI_SIZE") != NULL || getenv("PMIX_RANK") != NULL;
}

tl_dist *tl_dist_mpi_init(int *argc, char ***argv, char *err, size_t errsz)
{
	int provided = 0;
	if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
		tl_errf(err, errsz, "MPI_Init failed");
		return NULL;
	}
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	tl_dist *d = tl_xcalloc(1, sizeof *d);
	MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
	MPI_Comm_size(MPI_COMM_WORLD, &d->size);
	d->allgather = mpi_allgather;
	return d;
}

void tl_dist_mpi_finalize(tl_dist *d)
{
	MPI_Finalize();
	free(d);
}

void tl_dist_mpi_abort(tl_dist *d, int code)
{
	(void)d;
	MPI_Abort(MPI_COMM_WORLD, code);
	exit(code);
}
#else
/* Without MPI=1 this file is not compiled (mk/mpi.mk); an empty unit
 * otherwise. */
typedef int tl_dist_mpi_unused;
#endif
