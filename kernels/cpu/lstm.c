/* kernels/cpu/lstm.c - one LSTM layer (PyTorch nn.LSTM: one direction,
 * batch_first, gates i, f, g, o), forward and backward.
 *
 * Forward: the input projection of every timestep in one sgemm
 * (x[B*T,I] w_ih^T + b_ih + b_hh into the gates buffer), then per step one
 * pass of tiles that add the recurrent product h_{t-1} w_hh^T and run the
 * cell on the result (fwd_step). Backward: per step, from the last one
 * down, tiles that compute dh_t = dG[:,t+1] w_hh and run the cell backward
 * on it, giving dG[:,t] (bwd_step); after the loop dh0 = dG[:,0] w_hh, dx
 * (row-wise, rec_product), dw_ih, dw_hh (sgemm over all timesteps, dw_hh
 * against the shifted outputs h_{t-1}, h0 at t = 0) and the biases (one
 * column sum of dG for both).
 *
 * bf16 (pw_ih, pw_hh: kernels.h): the input projection, dx, dw_ih and
 * dw_hh on the bf16 training products (dG packed once for both weight
 * gradients); the recurrence per step as one bf16 product of the running
 * sequences' gathered h_{t-1} rows, added to the gate rows, after which
 * the tiles below run the cell with no product of their own (and in the
 * backward dh = dG_{t+1} w_hh the same way, into the carried dh).
 *
 * Threads: the batch is split between them when it is large enough (each
 * runs every step for its sequences, no barrier), else every step's tiles
 * are shared out (batch_threads). Bits: each element of the recurrence is
 * one fma chain in a fixed order, the nonlinearities the same operations on
 * every path, so an output row depends on its own sequence only.
 *
 * Prefetch: a sequence's rows of the saved buffers ([B,T,*]) lie T rows
 * apart, so every step's reads of them (the input projection in the
 * forward; gates, c_{t-2} and the output gradient in the backward) missed
 * the cache; each tile asks for its rows of the next step into L2 before
 * its product (hints only: the bits do not change).
 *
 * Padding: rows t >= lens[b] are skipped (h, c, gates there are 0, and
 * they carry no gradient); the state of sequence b after its last real
 * step is what hT/cT receive. */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/lowprec.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/vmath512.h"
#include "tl/util.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#undef I /* complex.h's, through cblas.h: here I is the input size */

/* Scratch of the calling thread, one buffer per slot (enum below, from
 * TL_SCR_LSTM0 of scratch.h), kept between calls: a training
 * step calls the kernels once per layer and window, and fresh buffers of
 * B*T*4H floats would be mapped and faulted in every time. */
enum { S_GATES, S_C, S_BIAS, S_PANEL, S_DG, S_STATE, S_DX, S_HPREV, S_ROWS, S_RA, S_RP, S_NSLOT };
_Static_assert(TL_SCR_LSTM0 + S_NSLOT <= TL_SCR_NSLOT, "scratch.h: too few LSTM slots");
static float *lstm_buf(int slot, size_t n)
{
	return tl_cpu_scratch_slot(TL_SCR_LSTM0 + slot, n * sizeof(float));
}

/* ---- the row-wise product of the recurrence ----
 * C[rows[m], :N] = C[rows[m], :N] + A[rows[m], :K] W[K,N] for the listed
 * rows only, W packed once per call into column panels of NB floats
 * (pack_panels: panel p holds W[k, p*NB .. p*NB+NB) for k = 0..K-1,
 * zero-filled past N). Every element of C is one fused multiply-add chain
 * over k = 0..K-1 in order, started from its value in C: the bits depend
 * on neither the other rows listed, nor the tiling, nor the threads, nor
 * the instruction set (the AVX-512 kernel and the C one compute the same
 * chain). Units of work (panel, tile of MR rows) are shared out over the
 * OpenMP threads in contiguous runs, panel-major. */
#define NB 64
#define MR 6

/* pk[np][K][NB] from W[K,N] (row stride ldw; trans: W given as [N,K],
 * i.e. W[k,n] = w[n*ldw + k]). */
static float *pack_panels(const float *w, size_t ldw, int trans, int K, int N)
{
	int np = (N + NB - 1) / NB;
	float *pk = lstm_buf(S_PANEL, (size_t)np * K * NB);
	for (int p = 0; p < np; p++) {
		int n0 = p * NB, nb = N - n0 < NB ? N - n0 : NB;
		float *d = pk + (size_t)p * K * NB;
		if (trans) {
			for (int k = 0; k < K; k++)
				for (int j = nb; j < NB; j++)
					d[(size_t)k * NB + j] = 0.0f;
			for (int j = 0; j < nb; j++) {
				const float *src = w + (size_t)(n0 + j) * ldw;
				for (int k = 0; k < K; k++)
					d[(size_t)k * NB + j] = src[k];
			}
		} else {
			for (int k = 0; k < K; k++) {
				const float *src = w + (size_t)k * ldw + n0;
				for (int j = 0; j < NB; j++)
					d[(size_t)k * NB + j] = j < nb ? src[j] : 0.0f;
			}
		}
	}
	return pk;
}

static void tile_c(float *C, size_t ldc, const float *A, size_t lda, const float *pk, int K, int n0, int nb,
		   const int *rows, int mr)
{
	float acc[MR][NB];
	const float *a[MR];
	for (int r = 0; r < mr; r++) {
		a[r] = A + (size_t)rows[r] * lda;
		memcpy(acc[r], C + (size_t)rows[r] * ldc + n0, (size_t)nb * sizeof(float));
	}
	for (int k = 0; k < K; k++) {
		const float *b = pk + (size_t)k * NB;
		for (int r = 0; r < mr; r++) {
			float av = a[r][k];
#pragma omp simd
			for (int j = 0; j < nb; j++)
				acc[r][j] = fmaf(av, b[j], acc[r][j]);
		}
	}
	for (int r = 0; r < mr; r++)
		memcpy(C + (size_t)rows[r] * ldc + n0, acc[r], (size_t)nb * sizeof(float));
}

/* MR_ rows by NB columns in zmm registers: 4 loads and MR_ broadcasts
 * feed 4 MR_ FMAs per k. */
#define TILE512(MR_)                                                                                         \
	TL_TGT512 static void tile512_##MR_(float *C, size_t ldc, const float *A, size_t lda, const float *pk, \
					    int K, int n0, int nb, const int *rows)                          \
	{                                                                                                    \
		__m512 acc[MR_][4];                                                                          \
		const float *a[MR_];                                                                         \
		__mmask16 mk[4];                                                                             \
		for (int v = 0; v < 4; v++) {                                                                \
			int w = nb - 16 * v;                                                                 \
			mk[v] = w >= 16 ? (__mmask16)0xffff : w <= 0 ? (__mmask16)0 : (__mmask16)((1u << w) - 1); \
		}                                                                                            \
		for (int r = 0; r < MR_; r++) {                                                              \
			a[r] = A + (size_t)rows[r] * lda;                                                    \
			const float *c = C + (size_t)rows[r] * ldc + n0;                                     \
			for (int v = 0; v < 4; v++)                                                          \
				acc[r][v] = _mm512_maskz_loadu_ps(mk[v], c + 16 * v);                        \
		}                                                                                            \
		for (int k = 0; k < K; k++) {                                                                \
			const float *b = pk + (size_t)k * NB;                                                \
			__m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16), b2 = _mm512_load_ps(b + 32), \
			       b3 = _mm512_load_ps(b + 48);                                                  \
			for (int r = 0; r < MR_; r++) {                                                      \
				__m512 av = _mm512_set1_ps(a[r][k]);                                         \
				acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);                              \
				acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);                              \
				acc[r][2] = _mm512_fmadd_ps(av, b2, acc[r][2]);                              \
				acc[r][3] = _mm512_fmadd_ps(av, b3, acc[r][3]);                              \
			}                                                                                    \
		}                                                                                            \
		for (int r = 0; r < MR_; r++) {                                                              \
			float *c = C + (size_t)rows[r] * ldc + n0;                                           \
			for (int v = 0; v < 4; v++)                                                          \
				_mm512_mask_storeu_ps(c + 16 * v, mk[v], acc[r][v]);                         \
		}                                                                                            \
	}
TILE512(1)
TILE512(2)
TILE512(3)
TILE512(4)
TILE512(5)
TILE512(6)

static void rec_product(float *C, size_t ldc, const float *A, size_t lda, const float *pk, int K, int N,
			const int *rows, int M)
{
	if (M <= 0 || N <= 0)
		return;
	static int avx512 = -1;
	if (avx512 < 0)
		avx512 = tl_isa_has(TL_FEAT_AVX512);
	int np = (N + NB - 1) / NB, nm = (M + MR - 1) / MR, units = np * nm;
	int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
	if ((double)M * K * N < 2e5)
		nt = 1;
	nt = nt < units ? nt : units;
#pragma omp parallel num_threads(nt) if (nt > 1)
	{
		int id = omp_get_thread_num(), n = omp_get_num_threads();
		int u0 = (int)((long)units * id / n), u1 = (int)((long)units * (id + 1) / n);
		for (int u = u0; u < u1; u++) {
			/* nm tiles of near-equal height (32 rows: 6 6 5 5 5 5, not
			 * 6 6 6 6 6 2: a 2-row tile runs at half speed) */
			int p = u / nm, m0 = (int)((long)(u % nm) * M / nm), m1 = (int)((long)(u % nm + 1) * M / nm);
			int n0 = p * NB, nb = N - n0 < NB ? N - n0 : NB, mr = m1 - m0;
			const float *pp = pk + (size_t)p * K * NB;
			if (!avx512) {
				tile_c(C, ldc, A, lda, pp, K, n0, nb, rows + m0, mr);
				continue;
			}
			switch (mr) {
			case 1: tile512_1(C, ldc, A, lda, pp, K, n0, nb, rows + m0); break;
			case 2: tile512_2(C, ldc, A, lda, pp, K, n0, nb, rows + m0); break;
			case 3: tile512_3(C, ldc, A, lda, pp, K, n0, nb, rows + m0); break;
			case 4: tile512_4(C, ldc, A, lda, pp, K, n0, nb, rows + m0); break;
			case 5: tile512_5(C, ldc, A, lda, pp, K, n0, nb, rows + m0); break;
			default: tile512_6(C, ldc, A, lda, pp, K, n0, nb, rows + m0); break;
			}
		}
	}
}

static inline float sigm(float x)
{
	return 1.0f / (1.0f + tl_vexpf(-x));
}

/* tanh(x) = 1 - 2 / (exp(2x) + 1): exact at the ends (exp saturates to 0
 * or a huge value), absolute error a few 1e-8 near 0. */
static inline float tanhv(float x)
{
	return 1.0f - 2.0f / (tl_vexpf(2.0f * x) + 1.0f);
}

/* ---- the forward step: recurrent product and cell fused ----
 * w_hh packed gate-interleaved (pack_gates): panel p covers the hidden
 * units u0 = 16p .. u0+15 of all four gates, its 64 columns i, f, g, o of
 * those 16 units, so a tile's accumulators hold the four pre-activations
 * of its units and the cell runs on them in registers: one pass, one
 * parallel region per step, no barrier between product and cell. The
 * product is the fma chain of rec_product (started from the input
 * projection in gates), the cell the scalar formulas of cell_forward in
 * the same operations: the same bits from the C path, the AVX-512 path,
 * any tiling and any thread count. */
static float *pack_gates(const float *w_hh, int H)
{
	int np = (H + 15) / 16;
	float *pk = lstm_buf(S_PANEL, (size_t)np * H * NB);
	for (int p = 0; p < np; p++)
		for (int k = 0; k < H; k++) {
			float *d = pk + ((size_t)p * H + k) * NB;
			for (int v = 0; v < 4; v++)
				for (int l = 0; l < 16; l++) {
					int u = 16 * p + l;
					d[16 * v + l] = u < H ? w_hh[((size_t)v * H + u) * H + k] : 0.0f;
				}
		}
	return pk;
}

typedef struct {
	float *g, *c, *h;    /* gates (input projection in, activated out), c, h: [B,T,*] */
	const float *hp;     /* h_{t-1} rows (stride ldh), NULL: zeros (no product) */
	size_t ldh;
	const float *c0;     /* c_{-1} at t = 0 (NULL: zeros) */
	int t, T, H;
} fwd_args;

static void fwd_tile_c(const fwd_args *q, const float *pk, int u0, int nu, const int *rows, int mr)
{
	int H = q->H, K = q->hp ? H : 0;
	size_t G = (size_t)4 * H;
	float acc[MR][NB];
	for (int r = 0; r < mr; r++) {
		const float *g = q->g + ((size_t)rows[r] * q->T + q->t) * G;
		for (int v = 0; v < 4; v++)
			for (int l = 0; l < 16; l++)
				acc[r][16 * v + l] = l < nu ? g[(size_t)v * H + u0 + l] : 0.0f;
	}
	for (int k = 0; k < K; k++) {
		const float *b = pk + (size_t)k * NB;
		for (int r = 0; r < mr; r++) {
			float av = q->hp[(size_t)rows[r] * q->ldh + k];
#pragma omp simd
			for (int j = 0; j < NB; j++)
				acc[r][j] = fmaf(av, b[j], acc[r][j]);
		}
	}
	for (int r = 0; r < mr; r++) {
		size_t rr = (size_t)rows[r] * q->T + q->t;
		float *g = q->g + rr * G, *c = q->c + rr * H + u0, *h = q->h + rr * H + u0;
		const float *cp = q->t ? q->c + (rr - 1) * H + u0 : q->c0 ? q->c0 + (size_t)rows[r] * H + u0 : NULL;
		for (int l = 0; l < nu; l++) {
			float i = sigm(acc[r][l]), f = sigm(acc[r][16 + l]), gv = tanhv(acc[r][32 + l]),
			      o = sigm(acc[r][48 + l]);
			float cv = f * (cp ? cp[l] : 0.0f) + i * gv;
			g[u0 + l] = i;
			g[H + u0 + l] = f;
			g[2 * H + u0 + l] = gv;
			g[3 * H + u0 + l] = o;
			c[l] = cv;
			h[l] = o * tanhv(cv);
		}
	}
}

TL_TGT512 static inline __m512 sigm512(__m512 x)
{
	__m512 one = _mm512_set1_ps(1.0f);
	return _mm512_div_ps(one, _mm512_add_ps(one, tl_vexp512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

TL_TGT512 static inline __m512 tanh512(__m512 x)
{
	__m512 one = _mm512_set1_ps(1.0f);
	__m512 e = tl_vexp512(_mm512_mul_ps(_mm512_set1_ps(2.0f), x));
	return _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
}

#define FWD512(MR_)                                                                                          \
	TL_TGT512 static void fwd512_##MR_(const fwd_args *q, const float *pk, int u0, int nu, const int *rows) \
	{                                                                                                    \
		int H = q->H, K = q->hp ? H : 0;                                                             \
		size_t G = (size_t)4 * H;                                                                    \
		__mmask16 mu = nu >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nu) - 1);                  \
		__m512 acc[MR_][4];                                                                          \
		const float *a[MR_];                                                                         \
		for (int r = 0; r < MR_; r++) {                                                              \
			const float *g = q->g + ((size_t)rows[r] * q->T + q->t) * G + u0;                    \
			for (int v = 0; v < 4; v++)                                                          \
				acc[r][v] = _mm512_maskz_loadu_ps(mu, g + (size_t)v * H);                    \
			a[r] = q->hp ? q->hp + (size_t)rows[r] * q->ldh : NULL;                              \
			if (q->t + 1 < q->T)                                                                 \
				for (int v = 0; v < 4; v++)                                                  \
					_mm_prefetch((const char *)(g + G + (size_t)v * H), _MM_HINT_T1);    \
		}                                                                                            \
		for (int k = 0; k < K; k++) {                                                                \
			const float *b = pk + (size_t)k * NB;                                                \
			__m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16), b2 = _mm512_load_ps(b + 32), \
			       b3 = _mm512_load_ps(b + 48);                                                  \
			for (int r = 0; r < MR_; r++) {                                                      \
				__m512 av = _mm512_set1_ps(a[r][k]);                                         \
				acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);                              \
				acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);                              \
				acc[r][2] = _mm512_fmadd_ps(av, b2, acc[r][2]);                              \
				acc[r][3] = _mm512_fmadd_ps(av, b3, acc[r][3]);                              \
			}                                                                                    \
		}                                                                                            \
		for (int r = 0; r < MR_; r++) {                                                              \
			size_t rr = (size_t)rows[r] * q->T + q->t;                                           \
			float *g = q->g + rr * G + u0;                                                       \
			const float *cp = q->t ? q->c + (rr - 1) * H + u0                                    \
					       : q->c0 ? q->c0 + (size_t)rows[r] * H + u0 : NULL;            \
			__m512 cpv = cp ? _mm512_maskz_loadu_ps(mu, cp) : _mm512_setzero_ps();               \
			__m512 i = sigm512(acc[r][0]), f = sigm512(acc[r][1]), gv = tanh512(acc[r][2]),      \
			       o = sigm512(acc[r][3]);                                                       \
			__m512 cv = _mm512_add_ps(_mm512_mul_ps(f, cpv), _mm512_mul_ps(i, gv));              \
			_mm512_mask_storeu_ps(g, mu, i);                                                     \
			_mm512_mask_storeu_ps(g + H, mu, f);                                                 \
			_mm512_mask_storeu_ps(g + 2 * (size_t)H, mu, gv);                                    \
			_mm512_mask_storeu_ps(g + 3 * (size_t)H, mu, o);                                     \
			_mm512_mask_storeu_ps(q->c + rr * H + u0, mu, cv);                                   \
			_mm512_mask_storeu_ps(q->h + rr * H + u0, mu, _mm512_mul_ps(o, tanh512(cv)));        \
		}                                                                                            \
	}
FWD512(1)
FWD512(2)
FWD512(3)
FWD512(4)
FWD512(5)
FWD512(6)

static void fwd_step(const fwd_args *q, const float *pk, const int *rows, int M, int avx512)
{
	if (M <= 0)
		return;
	int H = q->H, np = (H + 15) / 16, nm = (M + MR - 1) / MR, units = np * nm;
	int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
	if ((double)M * H * H * 4 < 2e5)
		nt = 1;
	nt = nt < units ? nt : units;
#pragma omp parallel num_threads(nt) if (nt > 1)
	{
		int id = omp_get_thread_num(), n = omp_get_num_threads();
		int w0 = (int)((long)units * id / n), w1 = (int)((long)units * (id + 1) / n);
		for (int u = w0; u < w1; u++) {
			int p = u / nm, m0 = (int)((long)(u % nm) * M / nm), m1 = (int)((long)(u % nm + 1) * M / nm);
			int u0 = 16 * p, nu = H - u0 < 16 ? H - u0 : 16, mr = m1 - m0;
			const float *pp = pk + (size_t)p * H * NB;
			if (!avx512) {
				fwd_tile_c(q, pp, u0, nu, rows + m0, mr);
				continue;
			}
			switch (mr) {
			case 1: fwd512_1(q, pp, u0, nu, rows + m0); break;
			case 2: fwd512_2(q, pp, u0, nu, rows + m0); break;
			case 3: fwd512_3(q, pp, u0, nu, rows + m0); break;
			case 4: fwd512_4(q, pp, u0, nu, rows + m0); break;
			case 5: fwd512_5(q, pp, u0, nu, rows + m0); break;
			default: fwd512_6(q, pp, u0, nu, rows + m0); break;
			}
		}
	}
}

/* How the recurrence uses the threads. Sequences are independent and
 * every row's bits are its own, so the batch may be split: each thread
 * runs all T steps for its share of the sequences with no barrier at all
 * (what a busy machine needs: a per-step barrier waits for the slowest
 * thread T times), reading all of w_hh each step. Otherwise (fewer than two
 * tiles of rows per thread) every step is shared out by columns. Returns
 * the threads of the batch split, or 1. $TL_LSTM_SPLIT=cols forces the
 * per-step split (for measurements). */
static int batch_threads(int B)
{
	int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
	const char *e = getenv("TL_LSTM_SPLIT");
	if (nt <= 1 || B < 2 * MR * nt || (e && !strcmp(e, "cols")))
		return 1;
	return nt;
}

/* pw_ih / pw_hh checked: a bf16 training handle of a weight [G, K] */
static const tl_cpu_prec_w *bf16_handle(const void *pw, int K, int G, const char *what)
{
	const tl_cpu_prec_w *p = pw;
	if (!p)
		return NULL;
	if (p->prec != TL_PREC_BF16 || !p->wt || p->IC != K || p->OC != G)
		tl_oom("lstm: %s is not a bf16 training handle of a [%d, %d] weight", what, G, K);
	return p;
}

/* The recurrent product of step t in bf16 (pw_hh), for the M sequences
 * rows[]: the gathered rows h_{t-1} times w_hh^T on the handle (bf16
 * operands, fp32 sums; each row's bits its own), added to the gate rows
 * (which hold the input projection); the cell then runs with no product
 * of its own (fwd_step with hp NULL). Scratch of the calling thread. */
static void rec_forward_bf16(float *g, const float *hp, size_t ldh, const tl_cpu_prec_w *ph, const int *rows,
			     int M, int t, int T, int H)
{
	size_t G = (size_t)4 * H;
	float *A = lstm_buf(S_RA, (size_t)M * H), *P = lstm_buf(S_RP, (size_t)M * G);
	for (int m = 0; m < M; m++)
		memcpy(A + (size_t)m * H, hp + (size_t)rows[m] * ldh, (size_t)H * sizeof(float));
	tl_cpu_matmul_forward_prec(P, A, ph, NULL, M, H, (int)G, TL_ACT_NONE);
	for (int m = 0; m < M; m++) {
		float *d = g + ((size_t)rows[m] * T + t) * G;
		const float *s = P + (size_t)m * G;
		for (size_t j = 0; j < G; j++)
			d[j] += s[j];
	}
}

/* The backward's recurrent product in bf16 (pw_hh): dhc[b] = dG[b,t1] w_hh
 * for the M sequences rows[] (the cell backward then runs with prod 0,
 * reading dh from dhc). */
static void rec_backward_bf16(float *dhc, const float *dG, const tl_cpu_prec_w *ph, const int *rows, int M,
			      int t1, int T, int H)
{
	size_t G = (size_t)4 * H;
	float *A = lstm_buf(S_RP, (size_t)M * G), *D = lstm_buf(S_RA, (size_t)M * H);
	for (int m = 0; m < M; m++)
		memcpy(A + (size_t)m * G, dG + ((size_t)rows[m] * T + t1) * G, G * sizeof(float));
	memset(D, 0, (size_t)M * H * sizeof(float));
	tl_cpu_matmul_backward_bf16(D, NULL, NULL, A, NULL, ph, M, H, (int)G);
	for (int m = 0; m < M; m++)
		memcpy(dhc + (size_t)rows[m] * H, D + (size_t)m * H, (size_t)H * sizeof(float));
}

void tl_cpu_lstm_forward(float *h, float *c, float *gates, float *hT, float *cT, const float *x, const float *h0,
			 const float *c0, const float *w_ih, const float *w_hh, const float *b_ih, const float *b_hh,
			 const int32_t *lens, int B, int T, int I, int H, const void *pw_ih, const void *pw_hh)
{
	if (B <= 0)
		return;
	size_t G = (size_t)4 * H, BT = (size_t)B * T;
	float *gbuf = gates ? gates : lstm_buf(S_GATES, BT * G);
	float *cbuf = c ? c : lstm_buf(S_C, BT * H);
	/* the biases once, summed as PyTorch's cell does (b_ih + b_hh) */
	float *bias = NULL;
	if (b_ih || b_hh) {
		bias = lstm_buf(S_BIAS, G);
		for (size_t j = 0; j < G; j++)
			bias[j] = (b_ih ? b_ih[j] : 0.0f) + (b_hh ? b_hh[j] : 0.0f);
	}
	if (T > 0 && pw_ih)
		tl_cpu_matmul_forward_prec(gbuf, x, bf16_handle(pw_ih, I, (int)G, "pw_ih"), bias, (int)BT, I, (int)G, TL_ACT_NONE);
	else if (T > 0)
		tl_cpu_matmul_forward(gbuf, x, w_ih, bias, (int)BT, I, (int)G);
	int avx512 = tl_isa_has(TL_FEAT_AVX512);
	const tl_cpu_prec_w *ph = bf16_handle(pw_hh, H, (int)G, "pw_hh");
	float *wt = ph ? NULL : pack_gates(w_hh, H);
	int *rows = malloc(sizeof(int) * (size_t)B);
	if (!rows)
		tl_oom("out of memory");
	int bt = batch_threads(B);
#pragma omp parallel num_threads(bt) if (bt > 1)
	{
		/* this thread's sequences [b0, b1) (all of them at bt == 1) */
		int id = omp_get_thread_num(), n = omp_get_num_threads();
		int b0 = (int)((long)B * id / n), b1 = (int)((long)B * (id + 1) / n);
		for (int t = 0; t < T; t++) {
			/* the sequences still running; rows of the others are 0 */
			int M = 0;
			for (int b = b0; b < b1; b++) {
				if (t < (lens ? lens[b] : T)) {
					rows[b0 + M++] = b;
					continue;
				}
				size_t r = (size_t)b * T + t;
				memset(gbuf + r * G, 0, G * sizeof(float));
				memset(cbuf + r * H, 0, (size_t)H * sizeof(float));
				memset(h + r * H, 0, (size_t)H * sizeof(float));
			}
			fwd_args q = {.g = gbuf, .c = cbuf, .h = h, .hp = t ? h + (size_t)(t - 1) * H : h0,
				      .ldh = t ? (size_t)T * H : (size_t)H, .c0 = c0, .t = t, .T = T, .H = H};
			if (ph && q.hp && M > 0) {
				rec_forward_bf16(gbuf, q.hp, q.ldh, ph, rows + b0, M, t, T, H);
				q.hp = NULL;
			}
			fwd_step(&q, wt, rows + b0, M, avx512);
		}
	}
	for (int b = 0; b < B; b++) {
		int len = lens ? lens[b] : T;
		size_t r = (size_t)b * T + (size_t)(len - 1);
		if (hT) {
			float *d = hT + (size_t)b * H;
			if (len > 0)
				memcpy(d, h + r * H, (size_t)H * sizeof(float));
			else if (h0)
				memcpy(d, h0 + (size_t)b * H, (size_t)H * sizeof(float));
			else
				memset(d, 0, (size_t)H * sizeof(float));
		}
		if (cT) {
			float *d = cT + (size_t)b * H;
			if (len > 0)
				memcpy(d, cbuf + r * H, (size_t)H * sizeof(float));
			else if (c0)
				memcpy(d, c0 + (size_t)b * H, (size_t)H * sizeof(float));
			else
				memset(d, 0, (size_t)H * sizeof(float));
		}
	}
	free(rows);
}

/* The cell backward of one row: the gradient w.r.t. h is dhr (from the
 * step above) + dhx (from the output; NULL: none), dc the gradient w.r.t.
 * c from the step above (overwritten with the gradient w.r.t. c_{t-1});
 * the saved gates g[4H], c[H], cprev[H] (NULL: 0) -> dg[4H], the gradient
 * w.r.t. the pre-activations; the first n of the H units (g and dg are
 * rows of 4 blocks of stride H). */
static void cell_backward(float *restrict dg, float *restrict dc, const float *restrict dhr,
			  const float *restrict dhx, const float *restrict g, const float *restrict c,
			  const float *restrict cprev, int H, int n)
{
	const float *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
#pragma omp simd
	for (int j = 0; j < n; j++) {
		float i = gi[j], f = gf[j], gv = gg[j], o = go[j];
		float tc = tanhv(c[j]);
		float dhv = dhr[j] + (dhx ? dhx[j] : 0.0f);
		float dcv = dc[j] + dhv * o * (1.0f - tc * tc);
		float cp = cprev ? cprev[j] : 0.0f;
		dg[j] = dcv * gv * i * (1.0f - i);
		dg[H + j] = dcv * cp * f * (1.0f - f);
		dg[2 * H + j] = dcv * i * (1.0f - gv * gv);
		dg[3 * H + j] = dhv * tc * o * (1.0f - o);
		dc[j] = dcv * f;
	}
}

/* ---- the backward step: recurrent product and cell backward fused ----
 * For the sequences running at t+1, a tile (rows, 64 hidden units)
 * computes dh_t = dG[b,t+1] w_hh for its units (rec_product's chain from
 * 0, on w_hh's 64-column panels) and runs the cell backward of step t on
 * them in registers (cell_backward's operations), writing dG[b,t] of its
 * units' four gates and the carried dc; the sequences whose last step is t
 * start from dhT (dhc holds it) with no product. One parallel region per
 * step; the same bits from the C and AVX-512 paths, any tiling, any
 * thread count. */
typedef struct {
	float *dG, *dhc, *dcc; /* dG [B,T,4H]; dhc, dcc [B,H]: dh (prod = 0) and dc carried */
	const float *dh, *g, *c, *c0;
	int t, T, H, prod;     /* prod: dh from dG[:,t+1] w_hh, else from dhc */
} bwd_args;

static void bwd_tile_c(const bwd_args *q, const float *pk, int u0, int nu, const int *rows, int mr)
{
	int H = q->H, K = q->prod ? 4 * H : 0;
	size_t G = (size_t)4 * H;
	float acc[MR][NB];
	for (int r = 0; r < mr; r++)
		for (int j = 0; j < NB; j++)
			acc[r][j] = q->prod || j >= nu ? 0.0f : q->dhc[(size_t)rows[r] * H + u0 + j];
	for (int k = 0; k < K; k++) {
		const float *b = pk + (size_t)k * NB;
		for (int r = 0; r < mr; r++) {
			float av = q->dG[((size_t)rows[r] * q->T + q->t + 1) * G + k];
#pragma omp simd
			for (int j = 0; j < NB; j++)
				acc[r][j] = fmaf(av, b[j], acc[r][j]);
		}
	}
	for (int r = 0; r < mr; r++) {
		size_t rr = (size_t)rows[r] * q->T + q->t;
		const float *cp = q->t ? q->c + (rr - 1) * H : q->c0 ? q->c0 + (size_t)rows[r] * H : NULL;
		cell_backward(q->dG + rr * G + u0, q->dcc + (size_t)rows[r] * H + u0, acc[r],
			      q->dh ? q->dh + rr * H + u0 : NULL, q->g + rr * G + u0, q->c + rr * H + u0,
			      cp ? cp + u0 : NULL, H, nu);
	}
}

#define BWD512(MR_)                                                                                          \
	TL_TGT512 static void bwd512_##MR_(const bwd_args *q, const float *pk, int u0, int nu, const int *rows) \
	{                                                                                                    \
		int H = q->H, K = q->prod ? 4 * H : 0;                                                       \
		size_t G = (size_t)4 * H;                                                                    \
		__mmask16 mk[4];                                                                             \
		for (int v = 0; v < 4; v++) {                                                                \
			int w = nu - 16 * v;                                                                 \
			mk[v] = w >= 16 ? (__mmask16)0xffff : w <= 0 ? (__mmask16)0 : (__mmask16)((1u << w) - 1); \
		}                                                                                            \
		__m512 acc[MR_][4];                                                                          \
		const float *a[MR_];                                                                         \
		for (int r = 0; r < MR_; r++) {                                                              \
			a[r] = q->dG + ((size_t)rows[r] * q->T + q->t + 1) * G;                              \
			if (q->t > 0) {                                                                      \
				/* step t-1's saved rows: gates, c_{t-2}, the output gradient */             \
				size_t rp = (size_t)rows[r] * q->T + q->t - 1;                               \
				for (int v = 0; v < 4 && mk[v]; v++) {                                       \
					size_t o16 = (size_t)u0 + 16 * v;                                    \
					for (int j = 0; j < 4; j++)                                          \
						_mm_prefetch((const char *)(q->g + rp * G + o16 + (size_t)j * H), _MM_HINT_T1); \
					if (q->t > 1)                                                        \
						_mm_prefetch((const char *)(q->c + (rp - 1) * H + o16), _MM_HINT_T1); \
					if (q->dh)                                                           \
						_mm_prefetch((const char *)(q->dh + rp * H + o16), _MM_HINT_T1); \
				}                                                                            \
			}                                                                                    \
			for (int v = 0; v < 4; v++)                                                          \
				acc[r][v] = q->prod ? _mm512_setzero_ps()                                    \
						    : _mm512_maskz_loadu_ps(mk[v], q->dhc + (size_t)rows[r] * H + u0 + 16 * v); \
		}                                                                                            \
		for (int k = 0; k < K; k++) {                                                                \
			const float *b = pk + (size_t)k * NB;                                                \
			__m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16), b2 = _mm512_load_ps(b + 32), \
			       b3 = _mm512_load_ps(b + 48);                                                  \
			for (int r = 0; r < MR_; r++) {                                                      \
				__m512 av = _mm512_set1_ps(a[r][k]);                                         \
				acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);                              \
				acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);                              \
				acc[r][2] = _mm512_fmadd_ps(av, b2, acc[r][2]);                              \
				acc[r][3] = _mm512_fmadd_ps(av, b3, acc[r][3]);                              \
			}                                                                                    \
		}                                                                                            \
		__m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();                               \
		for (int r = 0; r < MR_; r++) {                                                              \
			size_t rr = (size_t)rows[r] * q->T + q->t;                                           \
			const float *cp = q->t ? q->c + (rr - 1) * H                                         \
					       : q->c0 ? q->c0 + (size_t)rows[r] * H : NULL;                 \
			for (int v = 0; v < 4 && mk[v]; v++) {                                               \
				size_t o16 = (size_t)u0 + 16 * v;                                            \
				const float *g = q->g + rr * G + o16;                                        \
				float *dg = q->dG + rr * G + o16, *dcp = q->dcc + (size_t)rows[r] * H + o16; \
				__m512 i = _mm512_maskz_loadu_ps(mk[v], g),                                  \
				       f = _mm512_maskz_loadu_ps(mk[v], g + H),                              \
				       gv = _mm512_maskz_loadu_ps(mk[v], g + 2 * (size_t)H),                 \
				       o = _mm512_maskz_loadu_ps(mk[v], g + 3 * (size_t)H);                  \
				__m512 tc = tanh512(_mm512_maskz_loadu_ps(mk[v], q->c + rr * H + o16));      \
				__m512 dhv = _mm512_add_ps(acc[r][v], q->dh ? _mm512_maskz_loadu_ps(mk[v], q->dh + rr * H + o16) : zero); \
				__m512 dcv = _mm512_add_ps(_mm512_maskz_loadu_ps(mk[v], dcp),                \
							   _mm512_mul_ps(_mm512_mul_ps(dhv, o),               \
									 _mm512_sub_ps(one, _mm512_mul_ps(tc, tc)))); \
				__m512 cpv = cp ? _mm512_maskz_loadu_ps(mk[v], cp + o16) : zero;             \
				_mm512_mask_storeu_ps(dg, mk[v],                                             \
						      _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dcv, gv), i), _mm512_sub_ps(one, i))); \
				_mm512_mask_storeu_ps(dg + H, mk[v],                                         \
						      _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dcv, cpv), f), _mm512_sub_ps(one, f))); \
				_mm512_mask_storeu_ps(dg + 2 * (size_t)H, mk[v],                             \
						      _mm512_mul_ps(_mm512_mul_ps(dcv, i), _mm512_sub_ps(one, _mm512_mul_ps(gv, gv)))); \
				_mm512_mask_storeu_ps(dg + 3 * (size_t)H, mk[v],                             \
						      _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dhv, tc), o), _mm512_sub_ps(one, o))); \
				_mm512_mask_storeu_ps(dcp, mk[v], _mm512_mul_ps(dcv, f));                    \
			}                                                                                    \
		}                                                                                            \
	}
BWD512(1)
BWD512(2)
BWD512(3)
BWD512(4)
BWD512(5)
BWD512(6)

static void bwd_step(const bwd_args *q, const float *pk, const int *rows, int M, int avx512)
{
	if (M <= 0)
		return;
	int H = q->H, np = (H + NB - 1) / NB, nm = (M + MR - 1) / MR, units = np * nm;
	int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
	if ((double)M * H * (q->prod ? 4.0 * H : 16.0) < 2e5)
		nt = 1;
	nt = nt < units ? nt : units;
#pragma omp parallel num_threads(nt) if (nt > 1)
	{
		int id = omp_get_thread_num(), n = omp_get_num_threads();
		int w0 = (int)((long)units * id / n), w1 = (int)((long)units * (id + 1) / n);
		for (int u = w0; u < w1; u++) {
			int p = u / nm, m0 = (int)((long)(u % nm) * M / nm), m1 = (int)((long)(u % nm + 1) * M / nm);
			int u0 = NB * p, nu = H - u0 < NB ? H - u0 : NB, mr = m1 - m0;
			const float *pp = pk + (size_t)p * 4 * H * NB;
			if (!avx512) {
				bwd_tile_c(q, pp, u0, nu, rows + m0, mr);
				continue;
			}
			switch (mr) {
			case 1: bwd512_1(q, pp, u0, nu, rows + m0); break;
			case 2: bwd512_2(q, pp, u0, nu, rows + m0); break;
			case 3: bwd512_3(q, pp, u0, nu, rows + m0); break;
			case 4: bwd512_4(q, pp, u0, nu, rows + m0); break;
			case 5: bwd512_5(q, pp, u0, nu, rows + m0); break;
			default: bwd512_6(q, pp, u0, nu, rows + m0); break;
			}
		}
	}
}

/* The inputs of the recurrent product, [B,T,H]: h_{t-1}, h0 (or 0) at
 * t = 0 (scratch) */
static const float *shifted_h(const float *h, const float *h0, int B, int T, int H)
{
	float *hp = lstm_buf(S_HPREV, (size_t)B * T * H);
	for (int b = 0; b < B; b++) {
		float *d = hp + (size_t)b * T * H;
		if (h0)
			memcpy(d, h0 + (size_t)b * H, (size_t)H * sizeof(float));
		else
			memset(d, 0, (size_t)H * sizeof(float));
		memcpy(d + H, h + (size_t)b * T * H, (size_t)(T - 1) * H * sizeof(float));
	}
	return hp;
}

void tl_cpu_lstm_backward(float *dx, float *dh0, float *dc0, float *dw_ih, float *dw_hh, float *db_ih,
			  float *db_hh, const float *dh, const float *dhT, const float *dcT, const float *x,
			  const float *h0, const float *c0, const float *h, const float *c, const float *gates,
			  const float *w_ih, const float *w_hh, const int32_t *lens, int B, int T, int I, int H,
			  const void *pw_ih, const void *pw_hh)
{
	if (B <= 0)
		return;
	size_t G = (size_t)4 * H, BT = (size_t)B * T;
	float *dG = lstm_buf(S_DG, BT * G); /* every row written below: real steps by the cell, padding 0 */
	float *st = lstm_buf(S_STATE, (size_t)2 * B * H);
	float *dhc = st, *dcc = st + (size_t)B * H;
	int avx512 = tl_isa_has(TL_FEAT_AVX512);
	int *rows = malloc(sizeof(int) * (size_t)B * 2);
	if (!rows)
		tl_oom("out of memory");
	int *ending = rows + B;
	const tl_cpu_prec_w *ph = bf16_handle(pw_hh, H, (int)G, "pw_hh");
	float *wp = ph ? NULL : pack_panels(w_hh, (size_t)H, 0, (int)G, H);
	int bt = batch_threads(B);
#pragma omp parallel num_threads(bt) if (bt > 1)
	{
		/* this thread's sequences [b0, b1) (all of them at bt == 1) */
		int id = omp_get_thread_num(), n = omp_get_num_threads();
		int b0 = (int)((long)B * id / n), b1 = (int)((long)B * (id + 1) / n);
		int *run = rows + b0, *end = ending + b0;
		for (int t = T - 1; t >= 0; t--) {
			/* running on at t+1 (product), ending at t (from dhT/dcT),
			 * padding (dG 0) */
			int M = 0, E = 0;
			for (int b = b0; b < b1; b++) {
				int len = lens ? lens[b] : T;
				if (t + 1 < len) {
					run[M++] = b;
				} else if (t + 1 == len) {
					end[E++] = b;
					for (int j = 0; j < H; j++) {
						dhc[(size_t)b * H + j] = dhT ? dhT[(size_t)b * H + j] : 0.0f;
						dcc[(size_t)b * H + j] = dcT ? dcT[(size_t)b * H + j] : 0.0f;
					}
				} else {
					memset(dG + ((size_t)b * T + t) * G, 0, G * sizeof(float));
				}
			}
			bwd_args q = {.dG = dG, .dhc = dhc, .dcc = dcc, .dh = dh, .g = gates, .c = c, .c0 = c0,
				      .t = t, .T = T, .H = H, .prod = 1};
			if (ph && M > 0) {
				rec_backward_bf16(dhc, dG, ph, run, M, t + 1, T, H);
				q.prod = 0;
			}
			bwd_step(&q, wp, run, M, avx512);
			q.prod = 0;
			bwd_step(&q, wp, end, E, avx512);
		}
		/* dh0 = dG[b,0] w_hh for the sequences with a step */
		int M = 0;
		for (int b = b0; b < b1; b++)
			if ((lens ? lens[b] : T) > 0) {
				run[M++] = b;
				memset(dhc + (size_t)b * H, 0, (size_t)H * sizeof(float));
			}
		if (T > 0 && ph && M > 0)
			rec_backward_bf16(dhc, dG, ph, run, M, 0, T, H);
		else if (T > 0)
			rec_product(dhc, (size_t)H, dG, (size_t)T * G, wp, (int)G, H, run, M);
	}
	free(rows);
	for (int b = 0; b < B; b++) {
		int len = lens ? lens[b] : T;
		for (int j = 0; j < H; j++) {
			size_t k = (size_t)b * H + j;
			float vh = len > 0 ? dhc[k] : (dhT ? dhT[k] : 0.0f);
			float vc = len > 0 ? dcc[k] : (dcT ? dcT[k] : 0.0f);
			if (dh0)
				dh0[k] += vh;
			if (dc0)
				dc0[k] += vc;
		}
	}
	if (T > 0 && pw_ih) {
		/* bf16 products: dx (every row on its own; padded rows add
		 * dG's zeros) and dw_ih through the handle, dw_hh on its path */
		const tl_cpu_prec_w *p = bf16_handle(pw_ih, I, (int)G, "pw_ih");
		if (dx)
			tl_cpu_matmul_backward_bf16(dx, NULL, NULL, dG, x, p, (int)BT, I, (int)G);
		const float *hp = dw_hh ? shifted_h(h, h0, B, T, H) : NULL;
		if (dw_ih) /* and dw_hh, from one packing of dG */
			tl_cpu_bf16_dweight(p->path, dG, (int)BT, (int)G, dw_ih, x, I, dw_hh, hp, H);
		else if (dw_hh)
			tl_cpu_bf16_dweight(p->path, dG, (int)BT, (int)G, dw_hh, hp, H, NULL, NULL, 0);
		dx = NULL, dw_ih = NULL, dw_hh = NULL;
	}
	if (T > 0) {
		if (dx) {
			/* dx[b,t] += dG[b,t] w_ih on the real steps, each row on its
			 * own (the same bits whatever the batch) */
			int *all = malloc(sizeof(int) * BT);
			float *p = lstm_buf(S_DX, BT * (size_t)I);
			if (!all)
				tl_oom("out of memory");
			int M = 0;
			for (int b = 0; b < B; b++)
				for (int t = 0; t < (lens ? lens[b] : T); t++) {
					all[M] = b * T + t;
					memset(p + (size_t)all[M] * I, 0, (size_t)I * sizeof(float));
					M++;
				}
			float *wi = pack_panels(w_ih, (size_t)I, 0, (int)G, I);
			rec_product(p, (size_t)I, dG, G, wi, (int)G, I, all, M);
			for (int m = 0; m < M; m++) {
				float *d = dx + (size_t)all[m] * I;
				const float *q = p + (size_t)all[m] * I;
				for (int j = 0; j < I; j++)
					d[j] += q[j];
			}
			free(all);
		}
		/* the bias gradients, both the column sums of dG: summed once */
		if (db_ih || db_hh) {
			float *db = lstm_buf(S_BIAS, G);
			memset(db, 0, G * sizeof(float));
			tl_cpu_matmul_backward(NULL, NULL, db, dG, x, w_ih, (int)BT, I, (int)G);
			for (size_t j = 0; j < G; j++) {
				if (db_ih)
					db_ih[j] += db[j];
				if (db_hh)
					db_hh[j] += db[j];
			}
		}
		if (dw_ih)
			tl_cpu_matmul_backward(NULL, dw_ih, NULL, dG, x, w_ih, (int)BT, I, (int)G);
		if (dw_hh)
			tl_cpu_matmul_backward(NULL, dw_hh, NULL, dG, shifted_h(h, h0, B, T, H), w_hh, (int)BT, H, (int)G);
	}
}
