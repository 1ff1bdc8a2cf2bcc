/* kernels/cpu/lowprec_train.c - the bf16 products of training
 * (kernels.h: matmul_prepare_bf16_train, matmul_update_bf16_train,
 * matmul_backward_bf16; the forward is matmul_forward_prec on the same
 * handle): bf16 operands rounded to nearest even, fp32 accumulation, on
 * the micro-kernels of lowprec.c (vdpbf16ps, the AVX-512F fallback with the
 * same bits, the C reference).
 *
 * The handle keeps the weight in two bf16 layouts, both refreshed from the
 * fp32 master weight by matmul_update_bf16_train (once per optimizer step):
 * lowprec.h's forward layout (K = IC) for Y = X W^T, and W itself with
 * K = OC for dX = dY W (wt, lowprec.h). Per call, the activations and
 * gradients are rounded:
 *   dX[N,IC] += dY W:    A = rows of dY in pairs along OC, B = wt;
 *   dW[OC,IC] += dY^T X: A = columns of dY in pairs of rows (K = N),
 *                        B = X in pairs of rows, panels of 32 columns.
 * Every output element is one tile's sum over the whole K, in k order, then
 * added to the output once: the bits do not depend on the threads (whole
 * tiles per thread) or on the path. dbias is fp32, summed over n in order
 * as matmul_backward does. */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/lowprec.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/vmath512.h"
#include "tl/util.h"

#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define NR 32
#define MR 12
#define NCP 8 /* panels per column block */

#define TGT_F __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

/* ---------------- conversions ---------------- */

/* bf16 of 16 floats in the low halves of 16 words (tl_cpu_f2bf's bits) */
TGT_F static inline __m512i vbf(__m512 x)
{
	const __m512i one = _mm512_set1_epi32(1), r = _mm512_set1_epi32(0x7fff), abs = _mm512_set1_epi32(0x7fffffff);
	const __m512i inf = _mm512_set1_epi32(0x7f800000), qb = _mm512_set1_epi32(0x40);
	__m512i v = _mm512_castps_si512(x);
	__mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(v, abs), inf);
	__m512i t = _mm512_add_epi32(v, _mm512_add_epi32(r, _mm512_and_si512(_mm512_srli_epi32(v, 16), one)));
	t = _mm512_srli_epi32(t, 16);
	return _mm512_mask_or_epi32(t, nan, _mm512_srli_epi32(v, 16), qb);
}

/* Pairs of rows: for g < (rows + 1) / 2 and c < n,
 * dst[g gs + c cs] = bf(x[2g][c]) | bf(x[2g+1][c]) << 16 (0 past the last
 * row); x has row stride ldx. */
static void pack_rows2(uint32_t *dst, size_t gs, size_t cs, const float *x, size_t ldx, int rows, int n)
{
	for (int g = 0; 2 * g < rows; g++) {
		const float *r0 = x + (size_t)2 * g * ldx, *r1 = 2 * g + 1 < rows ? r0 + ldx : NULL;
		for (int c = 0; c < n; c++)
			dst[(size_t)g * gs + (size_t)c * cs] =
				(uint32_t)tl_cpu_f2bf(r0[c]) | (uint32_t)(r1 ? tl_cpu_f2bf(r1[c]) : 0) << 16;
	}
}

TGT_F static void pack_rows2_v(uint32_t *dst, size_t gs, size_t cs, const float *x, size_t ldx, int rows, int n)
{
	const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
					       _mm512_set1_epi32((int)cs));
	for (int g = 0; 2 * g < rows; g++) {
		const float *r0 = x + (size_t)2 * g * ldx, *r1 = 2 * g + 1 < rows ? r0 + ldx : NULL;
		uint32_t *d = dst + (size_t)g * gs;
		int c = 0;
		for (; c + 16 <= n; c += 16) {
			__m512i w = vbf(_mm512_loadu_ps(r0 + c));
			if (r1)
				w = _mm512_or_si512(w, _mm512_slli_epi32(vbf(_mm512_loadu_ps(r1 + c)), 16));
			if (cs == 1)
				_mm512_storeu_si512(d + c, w);
			else
				_mm512_i32scatter_epi32(d + (size_t)c * cs, idx, w, 4);
		}
		for (; c < n; c++)
			d[(size_t)c * cs] = (uint32_t)tl_cpu_f2bf(r0[c]) | (uint32_t)(r1 ? tl_cpu_f2bf(r1[c]) : 0) << 16;
	}
}

/* pack_rows2 (gs 1, cs G) for dW's operand A: dst[c G + g] = pair g of
 * column c, for rows x[rows, n] of stride ldx. pack_rows2_v writes it
 * with one 16-lane scatter per pair and 16 columns, 16 cache lines each:
 * at a language model's n = 30,000 channels that was a quarter of a step.
 * Here blocks of 16 pairs x 16 columns are transposed in registers and
 * stored as whole 64-byte rows of dst; the columns past the last 16 and
 * the pairs past the last 16 (or with a missing odd row) go one by one.
 * The same words as pack_rows2. */
TGT_F static void pack_t2_v(uint32_t *dst, size_t G, const float *x, size_t ldx, int rows, int n)
{
	int g = 0;
	for (; 2 * (g + 16) <= rows; g += 16) {
		const float *r = x + (size_t)2 * g * ldx;
		int c = 0;
		for (; c + 16 <= n; c += 16) {
			__m512 t[16];
			for (int i = 0; i < 16; i++) {
				const float *r0 = r + (size_t)2 * i * ldx + c;
				__m512i w = _mm512_or_si512(vbf(_mm512_loadu_ps(r0)),
							    _mm512_slli_epi32(vbf(_mm512_loadu_ps(r0 + ldx)), 16));
				t[i] = _mm512_castsi512_ps(w);
			}
			tl_vtranspose16_512(t); /* t[j] lane i: pair g + i of column c + j */
			for (int j = 0; j < 16; j++)
				_mm512_storeu_si512(dst + (size_t)(c + j) * G + g, _mm512_castps_si512(t[j]));
		}
		if (c < n)
			pack_rows2(dst + (size_t)c * G + g, 1, G, r + c, ldx, 32, n - c);
	}
	if (2 * g < rows)
		pack_rows2_v(dst + g, 1, G, x + (size_t)2 * g * ldx, ldx, rows - 2 * g, n);
}

/* Pairs along a row: dst[g] = bf(x[2g]) | bf(x[2g+1]) << 16 for g < G
 * (0 past K). */
static void pack_cols2(uint32_t *dst, const float *x, int K, int G, int vec);

TGT_F static void pack_cols2_v(uint32_t *dst, const float *x, int K, int G)
{
	int g = 0;
	for (; 2 * g + 32 <= K; g += 16) {
		__m256i lo = _mm512_cvtepi32_epi16(vbf(_mm512_loadu_ps(x + 2 * g)));
		__m256i hi = _mm512_cvtepi32_epi16(vbf(_mm512_loadu_ps(x + 2 * g + 16)));
		_mm512_storeu_si512(dst + g, _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
	}
	for (; g < G; g++) {
		int k = 2 * g;
		dst[g] = (uint32_t)tl_cpu_f2bf(x[k]) | (uint32_t)(k + 1 < K ? tl_cpu_f2bf(x[k + 1]) : 0) << 16;
	}
}

static void pack_cols2(uint32_t *dst, const float *x, int K, int G, int vec)
{
	if (vec) {
		pack_cols2_v(dst, x, K, G);
		return;
	}
	for (int g = 0; g < G; g++) {
		int k = 2 * g;
		dst[g] = (uint32_t)tl_cpu_f2bf(x[k]) | (uint32_t)(k + 1 < K ? tl_cpu_f2bf(x[k + 1]) : 0) << 16;
	}
}

/* x[rows, IC] (row stride IC) in pairs of rows, as panels of 32 columns
 * (the B operand): dst[p G 32 + g 32 + c], G = (rows + 1) / 2; columns
 * past IC are left as they are (zero from the allocation). Rows [g0, g1)
 * of pairs only. */
static void pack_panels(uint32_t *dst, const float *x, int rows, int IC, int g0, int g1, int vec)
{
	size_t G = (size_t)(rows + 1) / 2;
	int r0 = 2 * g0, r1 = 2 * g1 < rows ? 2 * g1 : rows;
	if (r0 >= r1)
		return;
	for (int p = 0; p * NR < IC; p++) {
		int n = IC - p * NR < NR ? IC - p * NR : NR;
		uint32_t *d = dst + (size_t)p * G * NR + (size_t)g0 * NR;
		const float *s = x + (size_t)r0 * IC + (size_t)p * NR;
		(vec ? pack_rows2_v : pack_rows2)(d, NR, 1, s, (size_t)IC, r1 - r0, n);
	}
}

/* Per-thread scratch of the calling thread, slot 0 or 1, kept between
 * calls (grown on demand) so that a product called once per layer does not
 * map and fault in fresh pages each time. Not zeroed: every word a stored
 * output depends on is written before it is read (rows and columns past
 * the operands' only reach accumulators that are not stored). Mechanism
 * and ownership: scratch.h. */
static uint32_t *scratch(int slot, size_t n)
{
	return tl_cpu_scratch_slot(TL_SCR_LPT0 + slot, n * sizeof(uint32_t));
}

/* ---------------- weights ---------------- */

static void fill(tl_cpu_prec_w *p, const float *w)
{
	int IC = p->IC, OC = p->OC, vec = p->path != TL_LP_REF;
	size_t G = (size_t)p->G;
	int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
#pragma omp parallel num_threads(nt) if (nt > 1)
	{
		uint32_t *row = scratch(0, G);
#pragma omp for schedule(static)
		for (int o = 0; o < OC; o++) {
			uint32_t *dst = p->w + (size_t)(o / NR) * G * NR + o % NR;
			pack_cols2(row, w + (size_t)o * IC, IC, (int)G, vec);
			for (size_t g = 0; g < G; g++)
				dst[g * NR] = row[g];
		}
	}
	int Gt = p->Gt;
#pragma omp parallel num_threads(nt) if (nt > 1)
	{
		int t = omp_get_thread_num(), n = omp_get_num_threads();
		int g0 = (int)((long)Gt * t / n), g1 = (int)((long)Gt * (t + 1) / n);
		pack_panels(p->wt, w, OC, IC, g0, g1, vec);
	}
}

void *tl_cpu_matmul_prepare_bf16_train(const float *weight, int IC, int OC)
{
	tl_cpu_prec_w *p = tl_cpu_matmul_prepare_prec(weight, IC, OC, TL_PREC_BF16);
	p->Gt = (OC + 1) / 2;
	p->ICp = (IC + NR - 1) / NR * NR;
	p->wt = tl_cpu_alloc((size_t)p->ICp * p->Gt * sizeof(uint32_t));
	fill(p, weight);
	return p;
}

void tl_cpu_matmul_update_bf16_train(void *pw, const float *weight)
{
	tl_cpu_prec_w *p = pw;
	if (!p->wt)
		tl_oom("matmul_update_bf16_train: a handle not made by matmul_prepare_bf16_train");
	fill(p, weight);
}

/* ---------------- products ---------------- */

/* C[M, NC] += A[M rows of G words] . B[panels of G x 32] for the row tiles
 * [t0, t1) (MR rows each; on AMX their rows in blocks of 32), in column
 * blocks of NCP panels. */
static void tiles(int path, float *C, int M, int NC, const uint32_t *A, int G, const uint32_t *B, int t0, int t1)
{
	int NCp = (NC + NR - 1) / NR * NR;
	for (int n0 = 0; n0 < NCp; n0 += NR * NCP) {
		int n1 = n0 + NR * NCP < NCp ? n0 + NR * NCP : NCp;
		/* AMX: the rows of the tiles [t0, t1) in blocks of TL_AMX_ROWS */
		int step = path == TL_LP_AMX ? TL_AMX_ROWS : MR, r1 = t1 * MR < M ? t1 * MR : M;
		for (int m0 = t0 * MR; m0 < r1; m0 += step) {
			int rows = r1 - m0 < step ? r1 - m0 : step;
			for (int c0 = n0; c0 < n1; c0 += NR) {
				int cols = NC - c0 < NR ? NC - c0 : NR;
				tl_cpu_bf16_tile_acc(path, C + (size_t)m0 * NC + c0, (size_t)NC, A + (size_t)m0 * G, G,
						     B + (size_t)(c0 / NR) * G * NR, rows, cols);
			}
		}
	}
}

static int nthreads(size_t work)
{
	int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
	return work < ((size_t)1 << 17) ? 1 : nt;
}

/* dW[OC,IC] += dY^T X on bf16 operands (matmul_backward_bf16's dweight),
 * for one or two (dW, X, IC) with the same dY (the LSTM's dw_ih and dw_hh;
 * dw2 NULL: one): A = the columns of dY in pairs of rows (K = N), packed
 * once; B = X in pairs of rows, panels of 32 columns; tiles of output
 * channels, whole tiles per thread: the same bits for one or two. */
void tl_cpu_bf16_dweight(int path, const float *dout, int N, int OC, float *dw1, const float *in1, int IC1,
			 float *dw2, const float *in2, int IC2)
{
	if (N <= 0)
		return;
	int ICm = dw2 && IC2 > IC1 ? IC2 : IC1;
	int vec = path != TL_LP_REF, nt = nthreads((size_t)N * (IC1 + (dw2 ? IC2 : 0)) * OC);
	int G = (N + 1) / 2, Ot = (OC + MR - 1) / MR, ICp = (ICm + NR - 1) / NR * NR;
	uint32_t *A = scratch(0, (size_t)Ot * MR * G), *B = scratch(1, (size_t)ICp * G);
#pragma omp parallel num_threads(nt) if (nt > 1)
	{
		int t = omp_get_thread_num(), m = omp_get_num_threads();
		int g0 = (int)((long)G * t / m), g1 = (int)((long)G * (t + 1) / m);
		if (g0 < g1) {
			/* A[o G + g] for g in [g0, g1): a column of words per channel */
			const float *s = dout + (size_t)2 * g0 * OC;
			int rows = (2 * g1 < N ? 2 * g1 : N) - 2 * g0;
			if (vec)
				pack_t2_v(A + g0, (size_t)G, s, (size_t)OC, rows, OC);
			else
				pack_rows2(A + g0, 1, (size_t)G, s, (size_t)OC, rows, OC);
		}
		int n = m < Ot ? m : Ot;
		for (int w = 0; w < 2; w++) {
			float *dw = w ? dw2 : dw1;
			const float *in = w ? in2 : in1;
			int IC = w ? IC2 : IC1;
			if (!dw)
				continue;
			if (w) { /* every thread is done with the first B */
#pragma omp barrier
			}
			if (g0 < g1)
				pack_panels(B, in, N, IC, g0, g1, vec);
#pragma omp barrier
			if (t < n) {
				int t0 = (int)((long)Ot * t / n), t1 = (int)((long)Ot * (t + 1) / n);
				tiles(path, dw, OC, IC, A, G, B, t0, t1);
			}
		}
	}
}

void tl_cpu_matmul_backward_bf16(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
				 const void *pw, int N, int IC, int OC)
{
	const tl_cpu_prec_w *p = pw;
	if (N <= 0)
		return;
	if (p->IC != IC || p->OC != OC || !p->wt)
		tl_oom("matmul_backward_bf16: weight prepared as [%d, %d]%s, used as [%d, %d]", p->OC, p->IC,
		       p->wt ? "" : " for inference", OC, IC);
	int path = p->path, vec = path != TL_LP_REF;
	int nt = nthreads((size_t)N * IC * OC);
	int Mt = (N + MR - 1) / MR; /* row tiles of dX */
	if (dinp) {
		/* A: the rows of dY in pairs along OC (K = OC); tiles of rows */
		int G = p->Gt;
		uint32_t *A = scratch(0, (size_t)Mt * MR * G);
		int n = nt < Mt ? nt : Mt;
#pragma omp parallel num_threads(n) if (n > 1)
		{
			int t = omp_get_thread_num(), m = omp_get_num_threads();
			int t0 = (int)((long)Mt * t / m), t1 = (int)((long)Mt * (t + 1) / m);
			int r1 = t1 * MR < N ? t1 * MR : N;
			for (int r = t0 * MR; r < r1; r++)
				pack_cols2(A + (size_t)r * G, dout + (size_t)r * OC, OC, G, vec);
			tiles(path, dinp, N, IC, A, G, p->wt, t0, t1);
		}
	}
	if (dweight)
		tl_cpu_bf16_dweight(path, dout, N, OC, dweight, inp, IC, NULL, NULL, 0);
	if (dbias) {
		float *acc = tl_xcalloc((size_t)OC, sizeof *acc);
		for (int i = 0; i < N; i++) {
			const float *d = dout + (size_t)i * OC;
			for (int o = 0; o < OC; o++)
				acc[o] += d[o];
		}
		for (int o = 0; o < OC; o++)
			dbias[o] += acc[o];
		free(acc);
	}
}
