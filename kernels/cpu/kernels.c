/* kernels/cpu/kernels.c - the CPU backend of include/tl/kernels.h: OpenBLAS
 * sgemm for the matrix products, OpenMP-parallel C loops written so that
 * gcc vectorises them (-O3 -march=native) for everything else.
 *
 * Threads: one pool, OpenMP's (see cpu_set_threads): --threads N means N
 * busy cores. */
#include "tl/kernels.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/vmath.h"
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
		tl_oom("out of memory (%zu bytes)", bytes);
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
static void cpu_memset(void *p, int c, size_t bytes)
{
	if (bytes)
		memset(p, c, bytes);
}

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

/* OpenBLAS sends products of up to about 100^3 multiply-adds to its
 * small-matrix kernels, which sum in another order than its regular ones.
 * Row n of a regular product depends on row n of inp only, so a product
 * below that size is padded with zero rows up to it: then every row's
 * result is the same whatever the batch size, the packing or the thread
 * split, and inference is bitwise reproducible across all three. */
#define SMALL_MNK 1.1e6

static void sgemm_rows(float *out, const float *inp, const float *weight, const float *bias, int N, int IC, int OC)
{
	double per_row = (double)IC * OC;
	if (N > 0 && (double)N * per_row <= SMALL_MNK) {
		int M = (int)(SMALL_MNK / per_row) + 1;
		float *pin = calloc((size_t)M * IC, sizeof(float)), *pout = malloc(sizeof(float) * (size_t)M * OC);
		if (!pin || !pout)
			tl_oom("out of memory");
		memcpy(pin, inp, sizeof(float) * (size_t)N * IC);
		sgemm_rows(pout, pin, weight, bias, M, IC, OC);
		memcpy(out, pout, sizeof(float) * (size_t)N * OC);
		free(pin);
		free(pout);
		return;
	}
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
	/* row blocks, a multiple of 16 rows each where possible */
	int per = nt > 1 ? (N + nt - 1) / nt : N;
	per = (per + 15) / 16 * 16;
	if (nt <= 1 || (double)per * IC * OC <= 2 * SMALL_MNK || N < 2 * nt) {
		sgemm_rows(out, inp, weight, bias, N, IC, OC);
		return;
	}
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

/* One row: o = (x - mean) * rstd * w + b. Two passes in float, 16 lanes
 * (omp simd): exact enough for C in the thousands and four times cheaper
 * than double. o may equal x. */
static inline void layernorm_row(float *o, const float *x, const float *w, const float *b, int C, float eps,
				 float *mean, float *rstd)
{
	float s = 0.0f;
#pragma omp simd reduction(+ : s)
	for (int c = 0; c < C; c++)
		s += x[c];
	float m = s / (float)C;
	float v = 0.0f;
#pragma omp simd reduction(+ : v)
	for (int c = 0; c < C; c++) {
		float d = x[c] - m;
		v += d * d;
	}
	float r = 1.0f / sqrtf(v / (float)C + eps);
#pragma omp simd
	for (int c = 0; c < C; c++)
		o[c] = (x[c] - m) * r * w[c] + b[c];
	if (mean)
		*mean = m;
	if (rstd)
		*rstd = r;
}

static void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
			      const float *bias, int N, int C, float eps)
{
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++)
		layernorm_row(out + (size_t)n * C, inp + (size_t)n * C, weight, bias, C, eps, mean ? mean + n : NULL,
			      rstd ? rstd + n : NULL);
}

static void add_layernorm_forward(float *out, const float *a, const float *b, const float *bbias,
				  const float *weight, const float *bias, int N, int C, float eps)
{
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		float *o = out + (size_t)n * C;
		const float *x = a + (size_t)n * C, *y = b + (size_t)n * C;
		if (bbias) {
#pragma omp simd
			for (int c = 0; c < C; c++)
				o[c] = x[c] + (y[c] + bbias[c]);
		} else {
#pragma omp simd
			for (int c = 0; c < C; c++)
				o[c] = x[c] + y[c];
		}
		layernorm_row(o, o, weight, bias, C, eps, NULL, NULL);
	}
}

static void residual_forward(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
	for (size_t i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

float tl_cpu_erf(float x)
{
	return tl_verff(x);
}

static void gelu_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 16384)
	for (size_t i = 0; i < n; i++) {
		float x = inp[i];
		out[i] = tl_vgelu(x);
	}
}

static void bias_gelu_forward(float *out, const float *inp, const float *bias, int N, int C)
{
	if (!bias) {
		gelu_forward(out, inp, (size_t)N * C);
		return;
	}
#pragma omp parallel for schedule(static) if ((size_t)N * C > 16384)
	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * C;
		float *o = out + (size_t)n * C;
#pragma omp simd
		for (int c = 0; c < C; c++) {
			float v = x[c] + bias[c];
			o[c] = tl_vgelu(v);
		}
	}
}

static void matmul_forward_prepared(float *out, const float *inp, const float *weight, int tag, const float *bias,
				    int N, int IC, int OC, int act)
{
	if (tag > 0) {
		tl_cpu_gemm(out, inp, weight, tag, bias, N, IC, OC, act);
		return;
	}
	if (act == TL_ACT_GELU) {
		matmul_forward(out, inp, weight, NULL, N, IC, OC);
		bias_gelu_forward(out, out, bias, N, OC);
	} else {
		matmul_forward(out, inp, weight, bias, N, IC, OC);
	}
}

/* Attention, one (sequence, head) pair per task, on the real tokens only.
 * With AVX-512 and a head size that is a multiple of 16, attention.c's
 * kernel (tl_cpu_attention). Otherwise S = scale Q K^T and O = softmax(S)
 * V are two sgemm calls that read q, k and v in place (row stride 3C) and
 * write O straight into out (row stride C); the softmax between them is a
 * vectorised loop. Rows of padding positions are zero.
 *
 * One (sequence, head): q, k, v rows at qkv (row stride C3), len rows; O
 * rows at dst (row stride ldo); s: attention_scratch(len, hd) floats. The
 * softmax is left unnormalised in s (exp(s_ij - max), rows of *lds floats)
 * and each output row is scaled by its 1/sum, kept in s[len * *lds + i]:
 * hd values per row rather than len. */
static size_t attention_scratch(int len, int hd)
{
	size_t n = (size_t)len * len + (size_t)len;
	if (tl_cpu_attention_ok(hd)) {
		size_t f = tl_cpu_attention_scratch(len, hd);
		n = f > n ? f : n;
	}
	return n;
}

static void attention_one(float *dst, int ldo, const float *qkv, int C3, int C, int h, int hd, int len,
			  float scale, float *s, int *lds)
{
	const float *q = qkv + h * hd;
	if (tl_cpu_attention_ok(hd)) {
		tl_cpu_attention(dst, ldo, q, q + C, q + 2 * C, C3, hd, len, scale, s, lds);
		return;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, hd, scale, q, C3, q + C, C3, 0.0f, s, len);
	float *inv = s + (size_t)len * len;
	for (int i = 0; i < len; i++)
		inv[i] = tl_exp_row(s + (size_t)i * len, len);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, hd, len, 1.0f, s, len, q + 2 * C, C3, 0.0f, dst,
		    ldo);
	for (int i = 0; i < len; i++)
		tl_scale_row(dst + (size_t)i * ldo, hd, inv[i]);
	*lds = len;
}

static void attention_forward(float *out, float *att, const float *qkv, const int32_t *lens, int B, int T,
			      int C, int NH)
{
	int hd = C / NH;
	float scale = 1.0f / sqrtf((float)hd);
	int C3 = 3 * C;
#pragma omp parallel for schedule(dynamic, 1) collapse(2)
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			int len = lens[b];
			float *dst = out + (size_t)b * T * C + h * hd;
			for (int i = len; i < T; i++)
				memset(dst + (size_t)i * C, 0, sizeof(float) * hd);
			float *a = att ? att + ((size_t)b * NH + h) * T * T : NULL;
			if (len <= 0) {
				if (a)
					memset(a, 0, sizeof(float) * T * T);
				continue;
			}
			float *sc = tl_cpu_scratch(attention_scratch(len, hd));
			int lds;
			attention_one(dst, C, qkv + (size_t)b * T * C3, C3, C, h, hd, len, scale, sc, &lds);
			if (a)
				for (int i = 0; i < T; i++) {
					float *ar = a + (size_t)i * T;
					if (i < len) {
						const float *e = sc + (size_t)i * lds;
						float f = sc[(size_t)len * lds + i];
						for (int j = 0; j < len; j++)
							ar[j] = e[j] * f;
						memset(ar + len, 0, sizeof(float) * (T - len));
					} else {
						memset(ar, 0, sizeof(float) * T);
					}
				}
		}
}

static void attention_forward_packed(float *out, const float *qkv, const int32_t *lens, int B, int C, int NH,
				     int first_only)
{
	int hd = C / NH;
	float scale = 1.0f / sqrtf((float)hd);
	int C3 = 3 * C;
	size_t *offs = malloc(sizeof(size_t) * ((size_t)B + 1));
	if (!offs)
		tl_oom("out of memory");
	offs[0] = 0;
	for (int b = 0; b < B; b++)
		offs[b + 1] = offs[b] + (size_t)(lens[b] > 0 ? lens[b] : 0);
#pragma omp parallel for schedule(dynamic, 1) collapse(2)
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			int len = (int)(offs[b + 1] - offs[b]);
			const float *base = qkv + offs[b] * C3;
			if (len <= 0) {
				if (first_only)
					memset(out + (size_t)b * C + h * hd, 0, sizeof(float) * hd);
			} else if (first_only) {
				/* one query: scores and output are vector products */
				float *sc = tl_cpu_scratch((size_t)len);
				cblas_sgemv(CblasRowMajor, CblasNoTrans, len, hd, scale, base + C + h * hd, C3,
					    base + h * hd, 1, 0.0f, sc, 1);
				float inv = tl_exp_row(sc, len);
				cblas_sgemv(CblasRowMajor, CblasTrans, len, hd, 1.0f, base + 2 * C + h * hd, C3,
					    sc, 1, 0.0f, out + (size_t)b * C + h * hd, 1);
				tl_scale_row(out + (size_t)b * C + h * hd, hd, inv);
			} else {
				int lds;
				attention_one(out + offs[b] * C + h * hd, C, base, C3, C, h, hd, len, scale,
					      tl_cpu_scratch(attention_scratch(len, hd)), &lds);
			}
		}
	free(offs);
}

static void pack_rows(float *dst, const float *src, const int32_t *lens, int B, int T, int C, int mode)
{
	size_t o = 0, row = sizeof(float) * (size_t)C;
	for (int b = 0; b < B; b++) {
		int len = lens[b] < 0 ? 0 : mode != TL_ROWS_FIRST && lens[b] > T ? T : lens[b];
		float *pad = dst + (size_t)b * T * C;
		if (mode == TL_ROWS_UNPACK) {
			memcpy(pad, src + o * C, row * len);
			memset(pad + (size_t)len * C, 0, row * (size_t)(T - len));
		} else if (mode == TL_ROWS_PACK) {
			memcpy(dst + o * C, src + (size_t)b * T * C, row * len);
		} else if (len > 0) {
			memcpy(dst + (size_t)b * C, src + o * C, row);
		} else {
			memset(dst + (size_t)b * C, 0, row);
		}
		o += (size_t)len;
	}
}

static void pooler_forward(float *out, const float *hidden, const float *weight, const float *bias, int B,
			   int T, int C, int OC)
{
	/* the [CLS] rows hidden[b, 0, :] through the same product as every
	 * other layer (so that it does not depend on B either); gathered
	 * first unless they are contiguous already (T == 1: first-token-only
	 * output) */
	float *cls = NULL;
	if (T != 1) {
		cls = malloc(sizeof(float) * ((size_t)B * C + 1));
		if (!cls)
			tl_oom("out of memory");
		for (int b = 0; b < B; b++)
			memcpy(cls + (size_t)b * C, hidden + (size_t)b * T * C, sizeof(float) * C);
	}
	sgemm_rows(out, cls ? cls : hidden, weight, bias, B, C, OC);
	free(cls);
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
	.copy = cpu_copy,
	.memset = cpu_memset,
	.set_threads = cpu_set_threads,
	.synchronize = cpu_synchronize,
	.matmul_forward = matmul_forward,
	.matmul_prepare = tl_cpu_gemm_prepare,
	.matmul_unprepare = tl_cpu_gemm_unprepare,
	.matmul_forward_prepared = matmul_forward_prepared,
	.embedding_forward = embedding_forward,
	.layernorm_forward = layernorm_forward,
	.residual_forward = residual_forward,
	.gelu_forward = gelu_forward,
	.bias_gelu_forward = bias_gelu_forward,
	.add_layernorm_forward = add_layernorm_forward,
	.attention_forward = attention_forward,
	.pack_rows = pack_rows,
	.attention_forward_packed = attention_forward_packed,
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

const tl_kernels *tl_kernels_select(const char *name, char *err, size_t errsz)
{
	if (!name || !*name)
		name = getenv("TL_DEVICE");
	if (!name || !*name)
		name = "cpu";
	const tl_kernels *k = tl_kernels_get(name);
	if (!k)
		tl_errf(err, errsz, "device '%s' is not built in (available: cpu)", name);
	return k;
}
