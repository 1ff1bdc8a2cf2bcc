/* kernels/cpu/kernels.c - the CPU backend of kernels/kernels.h: OpenBLAS
 * sgemm for the matrix products, OpenMP-parallel C loops written so that
 * gcc vectorises them (-O3 -march=native) for everything else.
 *
 * Threads: one pool, OpenMP's (see cpu_set_threads): --threads N means N
 * busy cores. */
#include "kernels/kernels.h"
#include "tl/util.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static void *cpu_alloc(size_t bytes)
{
	/* 64-byte aligned for AVX-512 loads, zeroed */
	size_t n = (bytes + 63) & ~(size_t)63;
	void *p = NULL;
	if (posix_memalign(&p, 64, n ? n : 64) != 0)
		tl_die(TL_EXIT_FAIL, "out of memory (%zu bytes)", bytes);
	memset(p, 0, n);
	return p;
}

static void cpu_free(void *p)
{
	free(p);
}

static void cpu_copy(void *dst, const void *src, size_t bytes)
{
	if (bytes)
		memcpy(dst, src, bytes);
}

/* One pool of threads: OpenMP's. OpenBLAS is told to use one thread, and
 * large products are split by rows over the OpenMP threads, each calling
 * sgemm on its block. Two pools (OpenBLAS's pthreads spinning after a call
 * while OpenMP's wait for the next region) would fight over the cores. */
static void cpu_set_threads(int n)
{
	if (n <= 0)
		n = omp_get_num_procs();
	omp_set_num_threads(n);
	openblas_set_num_threads(1);
}

static void cpu_synchronize(void)
{
}

static void sgemm_rows(float *out, const float *inp, const float *weight, const float *bias, int N, int IC, int OC)
{
	float beta = 0.0f;
	if (bias) {
		for (int n = 0; n < N; n++)
			memcpy(out + (size_t)n * OC, bias, (size_t)OC * sizeof(float));
		beta = 1.0f;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, inp, IC, weight, IC, beta, out,
		    OC);
}

static void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N,
			   int IC, int OC)
{
	int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
	if (nt <= 1 || (size_t)N * IC * OC < ((size_t)1 << 20) || N < 2 * nt) {
		sgemm_rows(out, inp, weight, bias, N, IC, OC);
		return;
	}
	/* row blocks, a multiple of 16 rows each where possible */
	int per = (N + nt - 1) / nt;
	per = (per + 15) / 16 * 16;
#pragma omp parallel num_threads(nt)
	{
		int t = omp_get_thread_num();
		int r0 = t * per, r1 = r0 + per < N ? r0 + per : N;
		if (r0 < r1)
			sgemm_rows(out + (size_t)r0 * OC, inp + (size_t)r0 * IC, weight, bias, r1 - r0, IC, OC);
	}
}

static void embedding_forward(float *out, const int32_t *ids, const int32_t *type_ids, const float *wte,
			      const float *wpe, const float *wtt, int B, int T, int C)
{
#pragma omp parallel for schedule(static) collapse(2)
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) {
			size_t bt = (size_t)b * T + t;
			const float *w = wte + (size_t)ids[bt] * C;
			const float *p = wpe + (size_t)t * C;
			const float *y = wtt + (size_t)(type_ids ? type_ids[bt] : 0) * C;
			float *o = out + bt * C;
			for (int c = 0; c < C; c++)
				o[c] = (w[c] + y[c]) + p[c];
		}
}

static void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
			      const float *bias, int N, int C, float eps)
{
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * C;
		float *o = out + (size_t)n * C;
		double s = 0;
		for (int c = 0; c < C; c++)
			s += x[c];
		float m = (float)(s / C);
		double v = 0;
		for (int c = 0; c < C; c++) {
			double d = (double)x[c] - m;
			v += d * d;
		}
		float r = (float)(1.0 / sqrt(v / C + eps));
		for (int c = 0; c < C; c++)
			o[c] = (x[c] - m) * r * weight[c] + bias[c];
		if (mean)
			mean[n] = m;
		if (rstd)
			rstd[n] = r;
	}
}

static void residual_forward(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
	for (size_t i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

/* erf in float, branch-free so that the GELU loop vectorises (glibc's
 * erff is a scalar call and was a fifth of the forward pass). |x| < 1:
 * x P(x^2); 1 <= |x| < 4: 1 - exp(-x^2 + Q(|x|)) (P, Q least-squares fits,
 * tests/unit/test_kernels.c checks it against erf over [-10, 10]); max abs error 1.4e-7, about 2 ulp near 1. */
static const float erf_p[7] = {7.9328754514e-05f,-8.0346482195e-04f,5.1911939866e-03f,-2.6855385151e-02f,1.1283625322e-01f,-3.7612629830e-01f,1.1283791666e+00f};
static const float erf_q[9] = {1.6140616143e-06f,-1.3309390389e-05f,7.7394425515e-05f,-4.2014456752e-04f,2.1651603098e-03f,-1.0858517013e-02f,5.6106359727e-02f,-3.5268068107e-01f,-1.5568152771e+00f};

static inline float exp_approx(float x) /* Cephes expf: 1 ulp on [-87, 88] */
{
	x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x; /* (fminf is a call) */
	float k = rintf(x * 1.44269504088896341f);
	float r = fmaf(k, -0.693359375f, x);
	r = fmaf(k, 2.12194440e-4f, r);
	float p = 1.9875691500E-4f;
	p = fmaf(p, r, 1.3981999507E-3f);
	p = fmaf(p, r, 8.3334519073E-3f);
	p = fmaf(p, r, 4.1665795894E-2f);
	p = fmaf(p, r, 1.6666665459E-1f);
	p = fmaf(p, r, 5.0000001201E-1f);
	p = fmaf(p, r * r, r) + 1.0f;
	union { int32_t i; float f; } sc = {.i = ((int32_t)k + 127) << 23};
	return p * sc.f;
}

static inline float erf_approx(float a)
{
	float t = fabsf(a), s = a * a;
	/* Horner, written out so that the caller's loop vectorises */
	float p = fmaf(fmaf(fmaf(fmaf(fmaf(fmaf(erf_p[0], s, erf_p[1]), s, erf_p[2]), s, erf_p[3]), s, erf_p[4]),
			    s, erf_p[5]),
		       s, erf_p[6]);
	float tt = t < 4.0f ? t : 4.0f, u = tt - 2.5f;
	float q = fmaf(fmaf(fmaf(fmaf(erf_q[0], u, erf_q[1]), u, erf_q[2]), u, erf_q[3]), u, erf_q[4]);
	q = fmaf(fmaf(fmaf(fmaf(q, u, erf_q[5]), u, erf_q[6]), u, erf_q[7]), u, erf_q[8]);
	float big = copysignf(1.0f - exp_approx(fmaf(-tt, tt, q)), a);
	return t < 1.0f ? p * a : big;
}

float tl_cpu_erf(float x)
{
	return erf_approx(x);
}

static void gelu_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 16384)
	for (size_t i = 0; i < n; i++) {
		float x = inp[i];
		out[i] = 0.5f * x * (1.0f + erf_approx(x * (float)M_SQRT1_2));
	}
}

/* Attention, one (sequence, head) pair per task. K is transposed into a
 * [hd, len] scratch so that the score loop runs over keys (vectorised,
 * each score summed over d in order), and V is packed [len, hd]. */
static void attention_forward(float *out, float *att, const float *qkv, const int32_t *lens, int B, int T,
			      int C, int NH)
{
	int hd = C / NH;
	float scale = 1.0f / sqrtf((float)hd);
	size_t C3 = 3 * (size_t)C;
#pragma omp parallel
	{
		float *kt = malloc(sizeof(float) * (size_t)hd * T);
		float *vv = malloc(sizeof(float) * (size_t)hd * T);
		float *s = malloc(sizeof(float) * (size_t)T);
		float *o = malloc(sizeof(float) * (size_t)hd);
		if (!kt || !vv || !s || !o)
			tl_die(TL_EXIT_FAIL, "out of memory");
#pragma omp for schedule(dynamic, 1) collapse(2)
		for (int b = 0; b < B; b++)
			for (int h = 0; h < NH; h++) {
				int len = lens[b];
				const float *base = qkv + (size_t)b * T * C3;
				for (int j = 0; j < len; j++) {
					const float *k = base + j * C3 + C + h * hd;
					const float *v = base + j * C3 + 2 * C + h * hd;
					for (int d = 0; d < hd; d++) {
						kt[(size_t)d * len + j] = k[d];
						vv[(size_t)j * hd + d] = v[d];
					}
				}
				for (int i = 0; i < T; i++) {
					float *dst = out + ((size_t)b * T + i) * C + h * hd;
					float *a = att ? att + (((size_t)b * NH + h) * T + i) * T : NULL;
					if (i >= len) {
						memset(dst, 0, sizeof(float) * hd);
						if (a)
							memset(a, 0, sizeof(float) * T);
						continue;
					}
					const float *q = base + i * C3 + h * hd;
					for (int j = 0; j < len; j++)
						s[j] = 0.0f;
					for (int d = 0; d < hd; d++) {
						float qd = q[d];
						const float *kr = kt + (size_t)d * len;
						for (int j = 0; j < len; j++)
							s[j] += qd * kr[j];
					}
					float m = -INFINITY;
					for (int j = 0; j < len; j++) {
						s[j] *= scale;
						m = s[j] > m ? s[j] : m;
					}
					for (int j = 0; j < len; j++) /* vectorised */
						s[j] = exp_approx(s[j] - m);
					float sum = 0.0f;
					for (int j = 0; j < len; j++)
						sum += s[j];
					float inv = 1.0f / sum;
					for (int d = 0; d < hd; d++)
						o[d] = 0.0f;
					for (int j = 0; j < len; j++) {
						float p = s[j] * inv;
						const float *vr = vv + (size_t)j * hd;
						for (int d = 0; d < hd; d++)
							o[d] += p * vr[d];
						if (a)
							a[j] = p;
					}
					if (a)
						for (int j = len; j < T; j++)
							a[j] = 0.0f;
					memcpy(dst, o, sizeof(float) * hd);
				}
			}
		free(kt);
		free(vv);
		free(s);
		free(o);
	}
}

static void pooler_forward(float *out, const float *hidden, const float *weight, const float *bias, int B,
			   int T, int C, int OC)
{
	/* rows hidden[b, 0, :] are T*C apart: one strided sgemm */
	for (int b = 0; b < B; b++)
		memcpy(out + (size_t)b * OC, bias, sizeof(float) * OC);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, OC, C, 1.0f, hidden, T * C, weight, C, 1.0f,
		    out, OC);
	for (size_t i = 0; i < (size_t)B * OC; i++)
		out[i] = tanhf(out[i]);
}

static void pool_forward(float *out, const float *hidden, const int32_t *lens, int B, int T, int C, int mode)
{
#pragma omp parallel for schedule(static)
	for (int b = 0; b < B; b++) {
		const float *h = hidden + (size_t)b * T * C;
		float *o = out + (size_t)b * C;
		int len = lens[b];
		if (mode == TL_POOL_CLS || len <= 0) {
			memcpy(o, h, sizeof(float) * C);
			continue;
		}
		memcpy(o, h, sizeof(float) * C);
		for (int t = 1; t < len; t++) {
			const float *r = h + (size_t)t * C;
			if (mode == TL_POOL_MAX)
				for (int c = 0; c < C; c++)
					o[c] = r[c] > o[c] ? r[c] : o[c];
			else
				for (int c = 0; c < C; c++)
					o[c] += r[c];
		}
		if (mode == TL_POOL_MEAN) {
			float inv = 1.0f / (float)len;
			for (int c = 0; c < C; c++)
				o[c] *= inv;
		}
	}
}

static void l2norm_forward(float *x, int N, int C)
{
	for (int n = 0; n < N; n++) {
		float *r = x + (size_t)n * C;
		double s = 0;
		for (int c = 0; c < C; c++)
			s += (double)r[c] * r[c];
		double nrm = sqrt(s);
		/* as torch.nn.functional.normalize: x / max(||x||, 1e-12) */
		float inv = (float)(1.0 / (nrm > 1e-12 ? nrm : 1e-12));
		for (int c = 0; c < C; c++)
			r[c] *= inv;
	}
}

static const tl_kernels cpu = {
	.name = "cpu",
	.host_memory = 1,
	.alloc = cpu_alloc,
	.free = cpu_free,
	.to_device = cpu_copy,
	.to_host = cpu_copy,
	.set_threads = cpu_set_threads,
	.synchronize = cpu_synchronize,
	.matmul_forward = matmul_forward,
	.embedding_forward = embedding_forward,
	.layernorm_forward = layernorm_forward,
	.residual_forward = residual_forward,
	.gelu_forward = gelu_forward,
	.attention_forward = attention_forward,
	.pooler_forward = pooler_forward,
	.pool_forward = pool_forward,
	.l2norm_forward = l2norm_forward,
};

const tl_kernels *tl_kernels_cpu(void)
{
	return &cpu;
}

const tl_kernels *tl_kernels_get(const char *name)
{
	if (!name || !strcmp(name, "cpu"))
		return &cpu;
	return NULL;
}
