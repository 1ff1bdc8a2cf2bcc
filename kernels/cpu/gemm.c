/* kernels/cpu/gemm.c - the inference products on prepared weights: an
 * AVX-512 single-precision GEMM for out[N,OC] = act(inp[N,IC] W^T + b)
 * with W rearranged once, at the first forward, into the layout its inner
 * loop reads (kernels.h: matmul_prepare).
 *
 * Why not sgemm: OpenBLAS packs the weight again on every call (its
 * "oncopy", and the activations, "incopy"), clears the output first and
 * then adds the bias in another pass; on this suite's shapes (a few hundred
 * to ten thousand rows, 384..3072 columns) its kernel ran at 70-80% of the
 * machine's FMA rate and the rest was packing. Here the weight is packed
 * once, in place, the bias (and GELU) are applied while the output tile is
 * in cache, and the blocking below keeps the weight panel in L2 and the
 * activation micro-panel in L1.
 *
 * Layout of a prepared weight (tag nv: NR = 16 nv output columns per
 * panel, nv = 3 when OC % 48 == 0, else 2 when OC % 32 == 0): for each
 * block of KC input columns k0.. (kc = min(KC, IC - k0)), for each panel p
 * of NR outputs, kc rows of NR floats: P[k0 OC + p kc NR + k NR + c] =
 * W[p NR + c, k0 + k]. It is a permutation of W: the same size, prepared
 * and restored in place.
 *
 * Blocking (BLIS's loops, with the roles of A and B swapped for a
 * row-major output): for each block of NC outputs, for each KC block, for
 * each tile of MR rows of the input (read in place, 12 or 18 KiB: stays
 * in L1), for each panel of the block: the micro-kernel multiplies the
 * tile by the panel (kc x NR, streamed from L2, where the block's
 * NC x KC panel set, 720-768 KiB, stays) into MR x NR accumulators. Rows of
 * the last tile past N are zero (a padded copy) and never stored.
 *
 * Determinism: every output element is one chain of FMAs over k in
 * order, block by block, plus the bias, whatever its row's position in
 * the tile, the tile's in the product, and the thread that runs it: a
 * row's result depends on its input row only (tests/unit/test_kernels.c
 * checks it for several N and thread counts).
 *
 * Built with target attributes so that the sanitizer build (which has no
 * -march) compiles and checks the same code; used only where the CPU has
 * AVX-512F at run time (matmul_prepare returns 0 elsewhere, and where
 * $TL_ISA=avx2 caps the level: kernels.h tl_isa_level), and never when
 * TL_GEMM=blas is set in the environment. */
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vmath512.h"
#include "tl/util.h"

#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define KC 384
#define NC_PANELS_3 10 /* NC = 480 for NR = 48 */
#define NC_PANELS_2 16 /* NC = 512 for NR = 32 */
#define MR_3 8
#define MR_2 12
#define MR_MAX 12
#define PF 8 /* weight rows prefetched ahead */

#define TGT TL_TGT512

int tl_cpu_gemm_available(void)
{
	static int avail = -1;
	if (avail < 0) {
		const char *e = getenv("TL_GEMM");
		__builtin_cpu_init();
		avail = __builtin_cpu_supports("avx512f") && tl_isa_level() >= TL_ISA_AVX512 &&
			!(e && !strcmp(e, "blas"));
	}
	return avail;
}

static int nv_for(int OC)
{
	return OC % 48 == 0 ? 3 : OC % 32 == 0 ? 2 : 0;
}

/* to: 1 prepare (W -> P), 0 restore (P -> W) */
static void permute(float *w, int IC, int OC, int nv, int to)
{
	int NR = 16 * nv;
	size_t n = (size_t)IC * OC;
	float *tmp = malloc(n * sizeof(float));
	if (!tmp)
		tl_oom("out of memory (%zu bytes)", n * sizeof(float));
	memcpy(tmp, w, n * sizeof(float));
	for (int k0 = 0; k0 < IC; k0 += KC) {
		int kc = IC - k0 < KC ? IC - k0 : KC;
		for (int p = 0; p < OC / NR; p++) {
			size_t base = (size_t)k0 * OC + (size_t)p * kc * NR;
			for (int k = 0; k < kc; k++)
				for (int c = 0; c < NR; c++) {
					size_t pi = base + (size_t)k * NR + c, wi = (size_t)(p * NR + c) * IC + k0 + k;
					if (to)
						w[pi] = tmp[wi];
					else
						w[wi] = tmp[pi];
				}
		}
	}
	free(tmp);
}

int tl_cpu_gemm_prepare(float *w, int IC, int OC)
{
	int nv = nv_for(OC);
	if (!tl_cpu_gemm_available() || !nv || IC <= 0)
		return 0;
	permute(w, IC, OC, nv, 1);
	return nv;
}

void tl_cpu_gemm_unprepare(float *w, int IC, int OC, int tag)
{
	if (tag)
		permute(w, IC, OC, tag, 0);
}

/* The micro-kernel: C[rows, NR] (row stride ldc) = (first ? 0 : C) +
 * A B (+ bias when bias != NULL); A is MR rows of kc floats (row stride
 * lda, read in place: broadcasts straight from the rows cost less than
 * packing them), B kc x NR.
 * MR and NV are constants after inlining, so acc lives in registers
 * (24 of the 32 zmm). */
TGT static inline __attribute__((always_inline)) void kern(const int MR, const int NV, float *C, size_t ldc,
							   const float *A, size_t lda, const float *B, size_t ldb, int kc,
							   int first, const float *bias, int rows)
{
	__m512 acc[MR_MAX][3];
#pragma GCC unroll 12
	for (int r = 0; r < MR; r++)
#pragma GCC unroll 3
		for (int v = 0; v < NV; v++)
			acc[r][v] = _mm512_setzero_ps();
	if (!first)
		for (int r = 0; r < MR && r < rows; r++)
			for (int v = 0; v < NV; v++)
				_mm_prefetch((const char *)(C + r * ldc + 16 * v), _MM_HINT_T0);
#pragma GCC unroll 2
	for (int k = 0; k < kc; k++) {
		__m512 b[3];
#pragma GCC unroll 3
		for (int v = 0; v < NV; v++) {
			b[v] = _mm512_loadu_ps(B + (size_t)k * ldb + 16 * v);
			_mm_prefetch((const char *)(B + (size_t)(k + PF) * ldb + 16 * v), _MM_HINT_T0);
		}
#pragma GCC unroll 12
		for (int r = 0; r < MR; r++) {
			__m512 a = _mm512_set1_ps(A[r * lda + k]);
#pragma GCC unroll 3
			for (int v = 0; v < NV; v++)
				acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
		}
	}
	if (bias)
#pragma GCC unroll 3
		for (int v = 0; v < NV; v++) {
			__m512 bb = _mm512_loadu_ps(bias + 16 * v);
#pragma GCC unroll 12
			for (int r = 0; r < MR; r++)
				acc[r][v] = _mm512_add_ps(acc[r][v], bb);
		}
#pragma GCC unroll 12
	for (int r = 0; r < MR && r < rows; r++)
#pragma GCC unroll 3
		for (int v = 0; v < NV; v++) {
			float *c = C + r * ldc + 16 * v;
			_mm512_storeu_ps(c, first ? acc[r][v] : _mm512_add_ps(_mm512_loadu_ps(c), acc[r][v]));
		}
}

TGT static void kern8x3(float *C, size_t ldc, const float *A, size_t lda, const float *B, int kc, int first,
			const float *bias, int rows)
{
	kern(MR_3, 3, C, ldc, A, lda, B, 48, kc, first, bias, rows);
}

TGT static void kern12x2(float *C, size_t ldc, const float *A, size_t lda, const float *B, int kc, int first,
			 const float *bias, int rows)
{
	kern(MR_2, 2, C, ldc, A, lda, B, 32, kc, first, bias, rows);
}

/* GELU of a finished tile (in L1): bias_gelu_forward's formula, bit for
 * bit (vmath512.h), four registers at a time */
TGT static void gelu_tile_to(float *dst, const float *out, size_t ldo, int rows, int n)
{
	for (int r = 0; r < rows; r++) {
		const float *o = out + r * ldo;
		float *d = dst + r * ldo;
		int c = 0;
		for (; c + 64 <= n; c += 64) {
			__m512 a0 = tl_vgelu512(_mm512_loadu_ps(o + c)), a1 = tl_vgelu512(_mm512_loadu_ps(o + c + 16));
			__m512 a2 = tl_vgelu512(_mm512_loadu_ps(o + c + 32)), a3 = tl_vgelu512(_mm512_loadu_ps(o + c + 48));
			_mm512_storeu_ps(d + c, a0);
			_mm512_storeu_ps(d + c + 16, a1);
			_mm512_storeu_ps(d + c + 32, a2);
			_mm512_storeu_ps(d + c + 48, a3);
		}
		for (; c + 16 <= n; c += 16)
			_mm512_storeu_ps(d + c, tl_vgelu512(_mm512_loadu_ps(o + c)));
		for (; c < n; c++)
			d[c] = tl_vgelu(o[c]);
	}
}

TGT static void gelu_tile(float *out, size_t ldo, int rows, int n)
{
	gelu_tile_to(out, out, ldo, rows, n);
}

/* The rows of a tile as the micro-kernel reads them: in place (stride
 * *lda), or for the last tile (rows < MR) its rows then zeros copied into
 * Ap (MR x kc, *lda becomes kc). */
static inline const float *tile_rows(float *Ap, const float *a, size_t *lda, int rows, int MR, int kc)
{
	if (rows == MR)
		return a;
	for (int r = 0; r < MR; r++)
		if (r < rows)
			memcpy(Ap + (size_t)r * kc, a + r * *lda, sizeof(float) * kc);
		else
			memset(Ap + (size_t)r * kc, 0, sizeof(float) * kc);
	*lda = (size_t)kc;
	return Ap;
}

/* The threads for N rows in tiles of MR (whole tiles each: a row's result
 * never depends on the split), and thread t's rows [*r0, *r1). */
static int row_team(int N, int MR, size_t work)
{
	int tiles = (N + MR - 1) / MR, nt = omp_in_parallel() ? 1 : omp_get_max_threads();
	if (nt > tiles)
		nt = tiles;
	return work < ((size_t)1 << 19) ? 1 : nt; /* as matmul_backward: not worth a team */
}

static void row_part(int N, int MR, int t, int nt, int *r0, int *r1)
{
	int tiles = (N + MR - 1) / MR;
	int t0 = (int)((long)tiles * t / nt), t1 = (int)((long)tiles * (t + 1) / nt);
	*r0 = t0 * MR;
	*r1 = t1 * MR < N ? t1 * MR : N;
}

TGT static void kern8x3_ld(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb, int kc,
			   int first, int rows);
TGT static void kern12x2_ld(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb, int kc,
			    int first, int rows);

/* dGELU of a finished tile (in L1): o[r][c] = o[r][c] * gelu'(pre[r][c]) + 0
 * (pre's row stride ldo too), bit for bit gelu_backward's accumulation into
 * a zeroed buffer (gelu.c gelu_grad; the + 0 makes a -0 product +0 as
 * 0 + x does) */
TGT static void gelu_grad_tile(float *out, const float *pre, size_t ldo, int rows, int n)
{
	for (int r = 0; r < rows; r++) {
		float *o = out + r * ldo;
		const float *x = pre + r * ldo;
		for (int c = 0; c + 16 <= n; c += 16) {
			__m512 g = tl_vgelu_grad512(_mm512_loadu_ps(x + c));
			_mm512_storeu_ps(o + c, _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(o + c), g), _mm512_setzero_ps()));
		}
	}
}

/* Rows [0, N) of out[N,OC] (+)= act(inp[N,IC] B + bias), on the calling
 * thread. B: w in the prepared layout (ldb 0), or read in place, row-major
 * [IC,OC] with row stride ldb (no bias or GELU then). accum: add to out.
 * gpre (B read in place, accum 0 only): then each finished tile is
 * multiplied by gelu' of the same elements of gpre[N,OC] (gelu_grad_tile).
 * gout (act NONE): the GELU of each finished tile also goes to gout[N,OC]
 * (the training forward keeps both). */
TGT static void gemm_rows(float *out, const float *inp, const float *w, size_t ldb, int nv, const float *bias, int N,
			  int IC, int OC, int act, int accum, const float *gpre, float *gout)
{
	const int NR = 16 * nv, MR = nv == 3 ? MR_3 : MR_2;
	const int NC = NR * (nv == 3 ? NC_PANELS_3 : NC_PANELS_2);
	float Ap[MR_MAX * KC] __attribute__((aligned(64)));
	for (int n0 = 0; n0 < OC; n0 += NC) {
		int nc = OC - n0 < NC ? OC - n0 : NC;
		for (int k0 = 0; k0 < IC; k0 += KC) {
			int kc = IC - k0 < KC ? IC - k0 : KC, first = k0 == 0 && !accum, last = k0 + kc == IC;
			const float *wb = w + (size_t)k0 * OC;
			for (int m0 = 0; m0 < N; m0 += MR) {
				int rows = N - m0 < MR ? N - m0 : MR;
				size_t lda = (size_t)IC;
				const float *a = tile_rows(Ap, inp + (size_t)m0 * IC + k0, &lda, rows, MR, kc);
				float *o = out + (size_t)m0 * OC;
				for (int c0 = n0; c0 < n0 + nc; c0 += NR) {
					if (ldb) {
						if (nv == 3)
							kern8x3_ld(o + c0, (size_t)OC, a, lda, wb + c0, ldb, kc, first, rows);
						else
							kern12x2_ld(o + c0, (size_t)OC, a, lda, wb + c0, ldb, kc, first, rows);
						continue;
					}
					const float *bp = wb + (size_t)(c0 / NR) * kc * NR;
					const float *bb = last && bias ? bias + c0 : NULL;
					if (nv == 3)
						kern8x3(o + c0, (size_t)OC, a, lda, bp, kc, first, bb, rows);
					else
						kern12x2(o + c0, (size_t)OC, a, lda, bp, kc, first, bb, rows);
				}
				if (last && act == TL_ACT_GELU)
					gelu_tile(o + n0, (size_t)OC, rows, nc);
				if (last && gpre)
					gelu_grad_tile(o + n0, gpre + (size_t)m0 * OC + n0, (size_t)OC, rows, nc);
				if (last && gout)
					gelu_tile_to(gout + (size_t)m0 * OC + n0, o + n0, (size_t)OC, rows, nc);
			}
		}
	}
}

static void gemm(float *out, float *gout, const float *inp, const float *w, int tag, const float *bias, int N,
		 int IC, int OC, int act)
{
	if (N <= 0)
		return;
	int MR = tag == 3 ? MR_3 : MR_2, nt = row_team(N, MR, (size_t)-1);
	if (nt <= 1) {
		gemm_rows(out, inp, w, 0, tag, bias, N, IC, OC, act, 0, NULL, gout);
		return;
	}
	/* whole tiles per thread, contiguous */
#pragma omp parallel num_threads(nt)
	{
		int r0, r1;
		row_part(N, MR, omp_get_thread_num(), nt, &r0, &r1);
		if (r0 < r1)
			gemm_rows(out + (size_t)r0 * OC, inp + (size_t)r0 * IC, w, 0, tag, bias, r1 - r0, IC, OC, act, 0,
				  NULL, gout ? gout + (size_t)r0 * OC : NULL);
	}
}

void tl_cpu_gemm(float *out, const float *inp, const float *w, int tag, const float *bias, int N, int IC, int OC,
		 int act)
{
	gemm(out, NULL, inp, w, tag, bias, N, IC, OC, act);
}

void tl_cpu_gemm_gelu_keep(float *pre, float *out, const float *inp, const float *w, int tag, const float *bias,
			   int N, int IC, int OC)
{
	gemm(pre, out, inp, w, tag, bias, N, IC, OC, TL_ACT_NONE);
}

/* ---- training: the same micro-kernel on a weight read in place ----
 *
 * out[N,M] (+)= A[N,K] B[K,M] with B row-major and unprepared: the
 * micro-kernel's panel of NR columns is then B's rows read with stride M
 * instead of a packed kc x NR block. This is the backward product
 * dinp = dout W of a linear layer (W[OC,IC] is B with K = OC, M = IC),
 * whose weight changes at every optimizer step: no packing at all, and
 * the weight is not copied once per thread as sgemm's row split does. */

TGT static void kern8x3_ld(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb, int kc,
			   int first, int rows)
{
	kern(MR_3, 3, C, ldc, A, lda, B, ldb, kc, first, NULL, rows);
}

TGT static void kern12x2_ld(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb, int kc,
			    int first, int rows)
{
	kern(MR_2, 2, C, ldc, A, lda, B, ldb, kc, first, NULL, rows);
}

/* gemm_nn, and with gpre non-NULL out = (A B) * gelu'(gpre), assigned */
static int gemm_nn(float *out, const float *A, const float *B, int N, int K, int M, int accum, const float *gpre)
{
	int nv = nv_for(M);
	if (!tl_cpu_gemm_available() || !nv || K <= 0)
		return 0;
	if (N <= 0)
		return 1;
	int MR = nv == 3 ? MR_3 : MR_2, nt = row_team(N, MR, (size_t)N * K * M);
	if (nt <= 1) {
		gemm_rows(out, A, B, (size_t)M, nv, NULL, N, K, M, TL_ACT_NONE, accum, gpre, NULL);
		return 1;
	}
#pragma omp parallel num_threads(nt)
	{
		int r0, r1;
		row_part(N, MR, omp_get_thread_num(), nt, &r0, &r1);
		if (r0 < r1)
			gemm_rows(out + (size_t)r0 * M, A + (size_t)r0 * K, B, (size_t)M, nv, NULL, r1 - r0, K, M,
				  TL_ACT_NONE, accum, gpre ? gpre + (size_t)r0 * M : NULL, NULL);
	}
	return 1;
}

int tl_cpu_gemm_nn(float *out, const float *A, const float *B, int N, int K, int M, int accum)
{
	return gemm_nn(out, A, B, N, K, M, accum, NULL);
}

int tl_cpu_gemm_nn_gelu(float *out, const float *A, const float *B, const float *pre, int N, int K, int M)
{
	return gemm_nn(out, A, B, N, K, M, 0, pre);
}

/* One (k block, panel) of the prepared layout, out of place: the kc x NR
 * block D[k NR + c] = w[(p NR + c) IC + k0 + k], as 16 x 16 register
 * transposes (the k columns past the last whole 16 one by one). */
TGT static void pack_block(float *D, const float *w, int IC, int nv, int p, int k0, int kc)
{
	const int NR = 16 * nv;
	int k = 0;
	for (; k + 16 <= kc; k += 16)
		for (int g = 0; g < nv; g++) {
			__m512 r[16];
			const float *src = w + (size_t)(p * NR + 16 * g) * IC + k0 + k;
			for (int j = 0; j < 16; j++)
				r[j] = _mm512_loadu_ps(src + (size_t)j * IC);
			tl_vtranspose16_512(r);
			for (int j = 0; j < 16; j++)
				_mm512_storeu_ps(D + (size_t)(k + j) * NR + 16 * g, r[j]);
		}
	for (; k < kc; k++)
		for (int c = 0; c < NR; c++)
			D[(size_t)k * NR + c] = w[(size_t)(p * NR + c) * IC + k0 + k];
}

void tl_cpu_gemm_pack(float *dst, const float *w, int IC, int OC, int tag)
{
	const int NR = 16 * tag, np = OC / NR, nkb = (IC + KC - 1) / KC;
	int blocks = np * nkb;
	/* a pure copy: the bits do not depend on the split */
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && (size_t)IC * OC >= ((size_t)1 << 16))
	for (int b = 0; b < blocks; b++) {
		int kb = b / np, p = b % np, k0 = kb * KC, kc = IC - k0 < KC ? IC - k0 : KC;
		pack_block(dst + (size_t)k0 * OC + (size_t)p * kc * NR, w, IC, tag, p, k0, kc);
	}
}
