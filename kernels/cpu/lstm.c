/* kernels/cpu/lstm.c - one LSTM layer (PyTorch nn.LSTM: one direction,
 * batch_first, gates i, f, g, o), forward and backward.
 *
 * Forward: the input projection of every timestep in one product
 * (x[B*T,I] w_ih^T + b_ih + b_hh into the gates buffer), then per step the
 * recurrent product h_{t-1} w_hh^T added to it and the fused cell (the
 * gate nonlinearities, c and h). Backward: per step, from the last one
 * down, the fused cell backward gives the gate gradients dG[:,t] and then
 * dh_{t-1} = dG[:,t] w_hh; after the loop dx, dw_ih, dw_hh and the biases
 * are single products over all timesteps (dw_hh against the shifted
 * outputs h_{t-1}, h0 at t = 0).
 *
 * Padding: rows t >= lens[b] are skipped by the cell (h, c, gates there
 * are 0, and they carry no gradient); the state of sequence b after its
 * last real step is what hT/cT receive. */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/vmath512.h"
#include "tl/util.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#undef I /* complex.h's, through cblas.h: here I is the input size */

/* Scratch of the calling thread, one buffer per slot (enum below), kept
 * between calls (grown on demand, never shrunk, as scratch.h): a training
 * step calls the kernels once per layer and window, and fresh buffers of
 * B*T*4H floats would be mapped and faulted in every time. */
enum { S_GATES, S_C, S_BIAS, S_PANEL, S_DG, S_STATE, S_DX, S_HPREV, S_ROWS, S_NSLOT };
static float *lstm_buf(int slot, size_t n)
{
	static _Thread_local float *buf[S_NSLOT];
	static _Thread_local size_t cap[S_NSLOT];
	if (n > cap[slot] || !buf[slot]) {
		free(buf[slot]);
		size_t want = n > cap[slot] + cap[slot] / 2 ? n : cap[slot] + cap[slot] / 2;
		buf[slot] = aligned_alloc(64, ((want ? want : 1) * sizeof(float) + 63) & ~(size_t)63);
		if (!buf[slot])
			tl_oom("out of memory (lstm scratch, %zu floats)", want);
		cap[slot] = want;
	}
	return buf[slot];
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
			int p = u / nm, m0 = (u % nm) * MR;
			int n0 = p * NB, nb = N - n0 < NB ? N - n0 : NB, mr = M - m0 < MR ? M - m0 : MR;
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

/* Threads for the cell loops: rows of B, when there is enough work. */
static int cell_threads(int B, int H)
{
	int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
	return (size_t)B * H < 8192 ? 1 : nt;
}

/* The cell of one row: pre[4H] (pre-activations, overwritten with the
 * activated gates), cprev[H] -> c[H], h[H]. */
static void cell_forward(float *restrict g, float *restrict c, float *restrict h, const float *restrict cprev,
			 int H)
{
	float *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
#pragma omp simd
	for (int j = 0; j < H; j++) {
		float i = sigm(gi[j]), f = sigm(gf[j]), gv = tanhv(gg[j]), o = sigm(go[j]);
		float cv = f * (cprev ? cprev[j] : 0.0f) + i * gv;
		gi[j] = i;
		gf[j] = f;
		gg[j] = gv;
		go[j] = o;
		c[j] = cv;
		h[j] = o * tanhv(cv);
	}
}

void tl_cpu_lstm_forward(float *h, float *c, float *gates, float *hT, float *cT, const float *x, const float *h0,
			 const float *c0, const float *w_ih, const float *w_hh, const float *b_ih, const float *b_hh,
			 const int32_t *lens, int B, int T, int I, int H)
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
	if (T > 0)
		tl_cpu_matmul_forward(gbuf, x, w_ih, bias, (int)BT, I, (int)G);
	int cnt = cell_threads(B, H);
	/* w_hh^T [H,4H] in panels: the recurrent product's right side */
	float *wt = pack_panels(w_hh, (size_t)H, 1, H, (int)G);
	int *rows = malloc(sizeof(int) * (size_t)B);
	if (!rows)
		tl_oom("out of memory");
	for (int t = 0; t < T; t++) {
		/* gates[b,t] += h_{t-1} w_hh^T for the sequences still running */
		int M = 0;
		for (int b = 0; b < B; b++)
			if (t < (lens ? lens[b] : T))
				rows[M++] = b;
		const float *hp = t ? h + (size_t)(t - 1) * H : h0;
		size_t ldh = t ? (size_t)T * H : (size_t)H;
		if (hp && M)
			rec_product(gbuf + (size_t)t * G, (size_t)T * G, hp, ldh, wt, H, (int)G, rows, M);
		/* the cell, rows over the threads (each row's bits are its own) */
#pragma omp parallel for num_threads(cnt) schedule(static) if (cnt > 1)
		for (int b = 0; b < B; b++) {
			size_t r = (size_t)b * T + t;
			int len = lens ? lens[b] : T;
			if (t >= len) {
				memset(gbuf + r * G, 0, G * sizeof(float));
				memset(cbuf + r * H, 0, (size_t)H * sizeof(float));
				memset(h + r * H, 0, (size_t)H * sizeof(float));
				continue;
			}
			const float *cp = t ? cbuf + (r - 1) * H : c0 ? c0 + (size_t)b * H : NULL;
			cell_forward(gbuf + r * G, cbuf + r * H, h + r * H, cp, H);
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
 * w.r.t. the pre-activations. */
static void cell_backward(float *restrict dg, float *restrict dc, const float *restrict dhr,
			  const float *restrict dhx, const float *restrict g, const float *restrict c,
			  const float *restrict cprev, int H)
{
	const float *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
#pragma omp simd
	for (int j = 0; j < H; j++) {
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

void tl_cpu_lstm_backward(float *dx, float *dh0, float *dc0, float *dw_ih, float *dw_hh, float *db_ih,
			  float *db_hh, const float *dh, const float *dhT, const float *dcT, const float *x,
			  const float *h0, const float *c0, const float *h, const float *c, const float *gates,
			  const float *w_ih, const float *w_hh, const int32_t *lens, int B, int T, int I, int H)
{
	if (B <= 0)
		return;
	size_t G = (size_t)4 * H, BT = (size_t)B * T;
	float *dG = lstm_buf(S_DG, BT * G); /* every row written below: real steps by the cell, padding 0 */
	float *st = lstm_buf(S_STATE, (size_t)2 * B * H);
	float *dhc = st, *dcc = st + (size_t)B * H;
	int cnt = cell_threads(B, H);
	memset(dhc, 0, (size_t)B * H * sizeof(float));
	memset(dcc, 0, (size_t)B * H * sizeof(float));
	int *rows = malloc(sizeof(int) * (size_t)B);
	if (!rows)
		tl_oom("out of memory");
	float *wp = pack_panels(w_hh, (size_t)H, 0, (int)G, H);
	for (int t = T - 1; t >= 0; t--) {
#pragma omp parallel for num_threads(cnt) schedule(static) if (cnt > 1)
		for (int b = 0; b < B; b++) {
			int len = lens ? lens[b] : T;
			size_t r = (size_t)b * T + t;
			if (t >= len) {
				memset(dG + r * G, 0, G * sizeof(float));
				continue;
			}
			float *dhb = dhc + (size_t)b * H, *dcb = dcc + (size_t)b * H;
			if (t == len - 1) { /* the last real step: the final state's gradient */
				for (int j = 0; j < H; j++) {
					dhb[j] = dhT ? dhT[(size_t)b * H + j] : 0.0f;
					dcb[j] = dcT ? dcT[(size_t)b * H + j] : 0.0f;
				}
			}
			const float *cp = t ? c + (r - 1) * H : c0 ? c0 + (size_t)b * H : NULL;
			cell_backward(dG + r * G, dcb, dhb, dh ? dh + r * H : NULL, gates + r * G, c + r * H, cp, H);
		}
		/* dh_{t-1} = dG[b,t] w_hh for the sequences running at t (the
		 * others are set at their last step) */
		int M = 0;
		for (int b = 0; b < B; b++)
			if (t < (lens ? lens[b] : T))
				rows[M++] = b;
		for (int m = 0; m < M; m++)
			memset(dhc + (size_t)rows[m] * H, 0, (size_t)H * sizeof(float));
		if (M)
			rec_product(dhc, (size_t)H, dG + (size_t)t * G, (size_t)T * G, wp, (int)G, H, rows, M);
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
		tl_cpu_matmul_backward(NULL, dw_ih, db_ih, dG, x, w_ih, (int)BT, I, (int)G);
		if (dw_hh) {
			/* the inputs of the recurrent product: h_{t-1}, h0 (or 0) at t = 0 */
			float *hp = lstm_buf(S_HPREV, BT * H);
			for (int b = 0; b < B; b++) {
				float *d = hp + (size_t)b * T * H;
				if (h0)
					memcpy(d, h0 + (size_t)b * H, (size_t)H * sizeof(float));
				else
					memset(d, 0, (size_t)H * sizeof(float));
				memcpy(d + H, h + (size_t)b * T * H, (size_t)(T - 1) * H * sizeof(float));
			}
			tl_cpu_matmul_backward(NULL, dw_hh, db_hh, dG, hp, w_hh, (int)BT, H, (int)G);
		} else if (db_hh) {
			tl_cpu_matmul_backward(NULL, NULL, db_hh, dG, x, w_ih, (int)BT, I, (int)G);
		}
	}
}
