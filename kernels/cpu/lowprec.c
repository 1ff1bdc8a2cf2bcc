/* kernels/cpu/lowprec.c - products at bf16 and int8 on weights prepared
 * once (kernels.h: matmul_prepare_prec, matmul_forward_prec), and the
 * same entry at fp32 (a prepared copy for gemm.c).
 *
 * bf16: the weight is rounded to bf16 once (round to nearest even), the
 * activations at every call; the micro-kernel multiplies pairs with
 * vdpbf16ps (AVX512-BF16) into fp32 accumulators. Without BF16 the
 * AVX-512F kernel takes the same bf16 values apart into fp32 and does the
 * two FMAs per pair in the instruction's order (odd element, then even:
 * the products of two bf16 are exact in fp32, so each step rounds once, as
 * the instruction does); it matches vdpbf16ps bit for bit except where
 * that flushes denormals (inputs or results below 2^-126), which
 * tests/unit/test_lowprec.c checks on random data.
 *
 * int8: weights symmetric per output channel (q = round(w / s), s =
 * max|w| / 127, |q| <= 127), with the sum over k of each channel's q
 * (colsum) kept; activations quantized per row at run time to u8 with a
 * zero point z over [min(0, min x), max(0, max x)] (ONNX Runtime's dynamic
 * quantization, per row instead of per tensor): sa = (max - min) / 255,
 * u = clamp(round(x / sa) + z, 0, 255). Then
 *   y = (float)(sum_k u w_q - z colsum) * (sa s) + bias (then GELU)
 * with an exact int32 sum: vpdpbusd (AVX512-VNNI), or on AVX-512BW the
 * bytes widened to 16 bits and vpmaddwd (no saturation: vpmaddubsw's would
 * clip), or the C reference; all three give the same bits.
 *
 * Blocking: the whole K at once (a row of A is at most a few KiB: 12 rows
 * stay in L1), panels of 32 outputs, 8 panels per column block (the
 * block's weights stay in L2), tiles of 12 rows over the block; the rows
 * in blocks of ~LP_ABLOCK bytes of converted activations, each converted
 * and then used against every column block while it is in L2. bf16 rows
 * may come from the producer (LayerNorm, a GELU epilogue) and go to the
 * next product already rounded (matmul_forward_bf16io). Output row n
 * depends on input row n only; threads take whole tiles. */
#include "kernels/cpu/lowprec.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/vmath512.h"
#include "tl/util.h"

#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define NR 32
#define MR 12
#define NCP 8 /* panels per column block */

#define TGT_F __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define TGT_BF __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx512bf16")))
#define TGT_VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx512vnni")))

int tl_precision_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "fp32"))
		return TL_PREC_FP32;
	if (!strcmp(s, "bf16"))
		return TL_PREC_BF16;
	if (!strcmp(s, "int8"))
		return TL_PREC_INT8;
	return -1;
}

const char *tl_precision_name(int prec)
{
	return prec == TL_PREC_BF16 ? "bf16" : prec == TL_PREC_INT8 ? "int8" : prec == TL_PREC_FP32 ? "fp32" : "?";
}

int tl_cpu_prec_path_ok(int prec, int path)
{
	if (path == TL_LP_REF)
		return 1;
	if (path == TL_LP_AVX512)
		return tl_isa_has(TL_FEAT_AVX512);
	if (path == TL_LP_DP)
		return tl_isa_has(prec == TL_PREC_BF16 ? TL_FEAT_BF16 : TL_FEAT_VNNI);
	if (path == TL_LP_AMX) /* the K tail runs on the DP instructions */
		return tl_cpu_amx_built() && tl_isa_has(TL_FEAT_AMX) &&
		       tl_isa_has(prec == TL_PREC_BF16 ? TL_FEAT_BF16 : TL_FEAT_VNNI);
	return 0;
}

uint16_t tl_cpu_f2bf(float x)
{
	uint32_t u;
	memcpy(&u, &x, sizeof u);
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 0x40);
	u += 0x7fffu + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

static inline float bf_lo(uint32_t w)
{
	uint32_t u = w << 16;
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static inline float bf_hi(uint32_t w)
{
	uint32_t u = w & 0xffff0000u;
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* ---------------- preparation ---------------- */

/* Store row o of an int8 weight (q, scale) into the prepared layout. */
static void put_int8_row(tl_cpu_prec_w *p, int o, const int8_t *q, float s)
{
	size_t G = (size_t)p->G;
	uint32_t *dst = p->w + (size_t)(o / NR) * G * NR + o % NR;
	int32_t sum = 0;
	for (size_t g = 0; g < G; g++) {
		uint32_t word = 0;
		for (int j = 0; j < 4; j++) {
			int k = 4 * (int)g + j, v = k < p->IC ? q[k] : 0;
			sum += v;
			word |= (uint32_t)(uint8_t)(int8_t)v << (8 * j);
		}
		dst[g * NR] = word;
	}
	p->scale[o] = s;
	p->colsum[o] = sum;
}

static tl_cpu_prec_w *new_prec(int IC, int OC, int prec)
{
	tl_cpu_prec_w *p = tl_xcalloc(1, sizeof *p);
	p->prec = prec;
	p->IC = IC;
	p->OC = OC;
	int gs = prec == TL_PREC_BF16 ? 2 : 4;
	p->G = (IC + gs - 1) / gs;
	p->OCp = (OC + NR - 1) / NR * NR;
	p->w = tl_cpu_alloc((size_t)p->OCp * p->G * sizeof(uint32_t));
	if (prec == TL_PREC_INT8) {
		p->scale = tl_cpu_alloc((size_t)p->OCp * sizeof(float));
		p->colsum = tl_cpu_alloc((size_t)p->OCp * sizeof(int32_t));
	}
	p->path = tl_cpu_prec_path_ok(prec, TL_LP_AMX)  ? TL_LP_AMX
		  : tl_cpu_prec_path_ok(prec, TL_LP_DP) ? TL_LP_DP
		  : tl_cpu_prec_path_ok(prec, TL_LP_AVX512) ? TL_LP_AVX512
							     : TL_LP_REF;
	return p;
}

void tl_quantize_row(int8_t *q, float *scale, const float *w, int IC)
{
	float m = 0;
	for (int k = 0; k < IC; k++)
		m = fabsf(w[k]) > m ? fabsf(w[k]) : m;
	float s = m / 127.0f;
	for (int k = 0; k < IC; k++) {
		int v = 0;
		if (s > 0) {
			v = (int)nearbyintf(w[k] / s);
			v = v < -127 ? -127 : v > 127 ? 127 : v;
		}
		q[k] = (int8_t)v;
	}
	*scale = s;
}

void *tl_cpu_matmul_prepare_prec(const float *w, int IC, int OC, int prec)
{
	if (prec != TL_PREC_BF16 && prec != TL_PREC_INT8) {
		tl_cpu_prec_w *p = tl_xcalloc(1, sizeof *p);
		p->prec = TL_PREC_FP32;
		p->IC = IC;
		p->OC = OC;
		p->fw = tl_cpu_alloc((size_t)IC * OC * sizeof(float));
		memcpy(p->fw, w, (size_t)IC * OC * sizeof(float));
		p->tag = tl_cpu_gemm_prepare(p->fw, IC, OC);
		return p;
	}
	tl_cpu_prec_w *p = new_prec(IC, OC, prec);
	size_t G = (size_t)p->G;
	int8_t *q = prec == TL_PREC_INT8 ? tl_xmalloc((size_t)IC) : NULL;
	/* bf16: a row's pairs by the fastest rounding the CPU has (the same
	 * bits on every path), then into its panel */
	uint32_t *pairs = prec == TL_PREC_BF16 ? tl_xmalloc(G * sizeof *pairs) : NULL;
	int rpath = tl_cpu_bf16_pairs_path();
	for (int o = 0; o < OC; o++) {
		const float *r = w + (size_t)o * IC;
		if (prec == TL_PREC_INT8) {
			float s;
			tl_quantize_row(q, &s, r, IC);
			put_int8_row(p, o, q, s);
			continue;
		}
		uint32_t *dst = p->w + (size_t)(o / NR) * G * NR + o % NR;
		tl_cpu_bf16_pairs(rpath, pairs, r, IC);
		for (size_t g = 0; g < G; g++)
			dst[g * NR] = pairs[g];
	}
	free(pairs);
	free(q);
	return p;
}

int tl_cpu_matmul_update_fp32(void *pw, const float *w)
{
	tl_cpu_prec_w *p = pw;
	if (p->prec != TL_PREC_FP32)
		tl_oom("matmul_update_fp32: a %s handle", tl_precision_name(p->prec));
	if (p->tag > 0)
		tl_cpu_gemm_pack(p->fw, w, p->IC, p->OC, p->tag);
	else
		memcpy(p->fw, w, (size_t)p->IC * p->OC * sizeof(float));
	return p->tag;
}

void *tl_cpu_matmul_prepare_q8(const int8_t *q, const float *scale, int IC, int OC)
{
	tl_cpu_prec_w *p = new_prec(IC, OC, TL_PREC_INT8);
	for (int o = 0; o < OC; o++)
		put_int8_row(p, o, q + (size_t)o * IC, scale[o]);
	return p;
}

void tl_cpu_matmul_free_prec(void *pw)
{
	tl_cpu_prec_w *p = pw;
	if (!p)
		return;
	tl_cpu_free(p->w);
	tl_cpu_free(p->scale);
	tl_cpu_free(p->colsum);
	tl_cpu_free(p->fw);
	tl_cpu_free(p->wt);
	free(p);
}

/* ---------------- activations ---------------- */

static void bf16_row(uint32_t *dst, const float *x, int IC, int G)
{
	for (int g = 0; g < G; g++) {
		int k = 2 * g;
		uint32_t lo = tl_cpu_f2bf(x[k]), hi = k + 1 < IC ? tl_cpu_f2bf(x[k + 1]) : 0;
		dst[g] = lo | hi << 16;
	}
}

static void int8_row(uint32_t *dst, float *sa, int32_t *zp, const float *x, int IC, int G)
{
	float mn = 0, mx = 0;
	for (int k = 0; k < IC; k++) {
		mn = x[k] < mn ? x[k] : mn;
		mx = x[k] > mx ? x[k] : mx;
	}
	float s = (mx - mn) / 255.0f;
	if (!(s > 0) || !isfinite(s))
		s = 1.0f;
	float inv = 1.0f / s;
	int z = (int)nearbyintf(-mn * inv);
	z = z < 0 ? 0 : z > 255 ? 255 : z;
	uint8_t *b = (uint8_t *)dst;
	for (int k = 0; k < IC; k++) {
		float v = x[k] * inv;
		v = v < -512.0f ? -512.0f : v > 512.0f ? 512.0f : v; /* NaN: below */
		int q = v == v ? (int)nearbyintf(v) + z : z;
		b[k] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
	}
	for (int k = IC; k < 4 * G; k++)
		b[k] = (uint8_t)z;
	*sa = s;
	*zp = z;
}

/* The same two conversions on AVX-512F, bit for bit (integer rounding of
 * the bf16, RNE roundscale for nearbyintf, exact min/max): the scalar
 * forms above are the reference, used on the REF path. */
TGT_F static void bf16_row_v(uint32_t *dst, const float *x, int IC, int G)
{
	int g = 0;
	const __m512i one = _mm512_set1_epi32(1), r = _mm512_set1_epi32(0x7fff), abs = _mm512_set1_epi32(0x7fffffff);
	const __m512i inf = _mm512_set1_epi32(0x7f800000), qb = _mm512_set1_epi32(0x40);
	for (; 2 * g + 32 <= IC; g += 16) {
		__m512i u[2];
		for (int h = 0; h < 2; h++) {
			__m512i v = _mm512_loadu_si512(x + 2 * g + 16 * h);
			__mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(v, abs), inf);
			__m512i t = _mm512_add_epi32(v, _mm512_add_epi32(r, _mm512_and_si512(_mm512_srli_epi32(v, 16), one)));
			t = _mm512_srli_epi32(t, 16);
			u[h] = _mm512_mask_or_epi32(t, nan, _mm512_srli_epi32(v, 16), qb);
		}
		/* pairs: element 2i low half, 2i+1 high half */
		__m256i lo = _mm512_cvtepi32_epi16(u[0]), hi = _mm512_cvtepi32_epi16(u[1]);
		_mm512_storeu_si512(dst + g, _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
	}
	bf16_row(dst + g, x + 2 * g, IC - 2 * g, G - g); /* the tail */
}

TGT_F static void int8_row_v(uint32_t *dst, float *sa, int32_t *zp, const float *x, int IC, int G)
{
	__m512 vmn = _mm512_setzero_ps(), vmx = _mm512_setzero_ps();
	int k = 0;
	for (; k + 16 <= IC; k += 16) {
		__m512 v = _mm512_loadu_ps(x + k);
		vmn = _mm512_min_ps(vmn, v);
		vmx = _mm512_max_ps(vmx, v);
	}
	float mn = _mm512_reduce_min_ps(vmn), mx = _mm512_reduce_max_ps(vmx);
	for (; k < IC; k++) {
		mn = x[k] < mn ? x[k] : mn;
		mx = x[k] > mx ? x[k] : mx;
	}
	float s = (mx - mn) / 255.0f;
	if (!(s > 0) || !isfinite(s))
		s = 1.0f;
	float inv = 1.0f / s;
	int z = (int)nearbyintf(-mn * inv);
	z = z < 0 ? 0 : z > 255 ? 255 : z;
	uint8_t *b = (uint8_t *)dst;
	const __m512 vi = _mm512_set1_ps(inv), lo = _mm512_set1_ps(-512.0f), hi = _mm512_set1_ps(512.0f);
	const __m512i vz = _mm512_set1_epi32(z), z0 = _mm512_setzero_si512(), z255 = _mm512_set1_epi32(255);
	for (k = 0; k + 16 <= IC; k += 16) {
		__m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + k), vi);
		v = _mm512_min_ps(hi, _mm512_max_ps(lo, v)); /* NaN: -512 here (the scalar form: z); never in practice */
		__m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)), vz);
		q = _mm512_min_epi32(z255, _mm512_max_epi32(z0, q));
		_mm_storeu_si128((__m128i *)(b + k), _mm512_cvtepi32_epi8(q));
	}
	for (; k < IC; k++) {
		float v = x[k] * inv;
		v = v < -512.0f ? -512.0f : v > 512.0f ? 512.0f : v;
		int q = v == v ? (int)nearbyintf(v) + z : z;
		b[k] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
	}
	for (k = IC; k < 4 * G; k++)
		b[k] = (uint8_t)z;
	*sa = s;
	*zp = z;
}

/* ---------------- micro-kernels ----------------
 * C[rows, cols] (row stride ldc) = epilogue(A[MR rows of G words] . B[G x
 * 32 words]); cols in 1..32 (masked stores). */

typedef struct {
	const float *bias, *scale; /* bias NULL: none; scale: int8 */
	const int32_t *colsum;     /* int8 */
	const float *sa;           /* int8: [rows] */
	const int32_t *zp;         /* int8: [rows] */
	int act;
	int accum;         /* bf16: C += the epilogue's value (product + bias, then GELU if any); fp32 C
			      only (training's products; the inference forward's residual sums) */
	const float *rowf; /* bf16: C = the product times rowf[r] (attention_bf16.c) */
	int obf;           /* bf16: C is uint16_t bf16 rows (ldc in elements), the result rounded to
			      nearest even after the epilogue (no accum) */
} epi;

static inline __mmask16 mask_of(int cols, int v)
{
	int n = cols - 16 * v;
	return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* The epilogue's common steps on 16 outputs: + bias (bb, loaded by the
 * caller), then GELU; and the fp32 store (+ C first when accumulating). */
TGT_F static inline __attribute__((always_inline)) __m512 epi_act(__m512 x, __m512 bb, const epi *e)
{
	if (e->bias)
		x = _mm512_add_ps(x, bb);
	if (e->act == TL_ACT_GELU)
		x = tl_vgelu512(x);
	return x;
}

TGT_F static inline __attribute__((always_inline)) void epi_store(float *c, __mmask16 m, __m512 x, const epi *e)
{
	if (e->accum)
		x = _mm512_add_ps(_mm512_maskz_loadu_ps(m, c), x);
	_mm512_mask_storeu_ps(c, m, x);
}

/* 16 floats -> their bf16 (round to nearest even, NaN a quiet NaN: the
 * bits of tl_cpu_f2bf and bf16_row_v) as 16-bit lanes */
TGT_F static inline __attribute__((always_inline)) __m256i bf16_of(__m512 x)
{
	__m512i v = _mm512_castps_si512(x);
	__mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(v, _mm512_set1_epi32(0x7fffffff)),
						_mm512_set1_epi32(0x7f800000));
	__m512i t = _mm512_add_epi32(v, _mm512_add_epi32(_mm512_set1_epi32(0x7fff),
							 _mm512_and_si512(_mm512_srli_epi32(v, 16), _mm512_set1_epi32(1))));
	t = _mm512_srli_epi32(t, 16);
	return _mm512_cvtepi32_epi16(_mm512_mask_or_epi32(t, nan, _mm512_srli_epi32(v, 16), _mm512_set1_epi32(0x40)));
}

/* bf16_of with AVX512-BF16's vcvtneps2bf16: the same bits (round to
 * nearest even, a NaN quiet with its sign and top payload) except that the
 * instruction flushes a denormal input to zero where tl_cpu_f2bf rounds
 * it; a vector holding a denormal therefore takes bf16_of. One instruction
 * for six: the AMX epilogue rounds every output of the products that feed
 * the next one (tests/unit/test_lowprec.c t_bf16_rounding: every path
 * against tl_cpu_f2bf, denormals, ties and NaNs included). */
TGT_BF static inline __attribute__((always_inline)) __m256i bf16_of_dp(__m512 x)
{
	__m512i v = _mm512_castps_si512(x);
	__mmask16 den = _mm512_mask_test_epi32_mask(_mm512_testn_epi32_mask(v, _mm512_set1_epi32(0x7f800000)), v,
						    _mm512_set1_epi32(0x007fffff));
	if (__builtin_expect(den != 0, 0))
		return bf16_of(x);
	return (__m256i)_mm512_cvtneps_pbh(x);
}

/* bf16_row_v's words on AVX512-BF16 (bf16_of_dp: the same bits) */
TGT_BF static void bf16_row_dp(uint32_t *dst, const float *x, int IC, int G)
{
	int g = 0;
	for (; 2 * g + 32 <= IC; g += 16) {
		__m256i lo = bf16_of_dp(_mm512_loadu_ps(x + 2 * g)), hi = bf16_of_dp(_mm512_loadu_ps(x + 2 * g + 16));
		_mm512_storeu_si512(dst + g, _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
	}
	bf16_row(dst + g, x + 2 * g, IC - 2 * g, G - g); /* the tail */
}

/* store_f's epilogue with the result rounded to bf16 (e->obf) */
TGT_F static inline __attribute__((always_inline)) void store_bf(uint16_t *C, size_t ldc, __m512 acc[MR][2],
								  int rows, int cols, const epi *e)
{
	__mmask16 m0 = mask_of(cols, 0), m1 = mask_of(cols, 1);
	__m512 b0 = e->bias ? _mm512_maskz_loadu_ps(m0, e->bias) : _mm512_setzero_ps();
	__m512 b1 = e->bias ? _mm512_maskz_loadu_ps(m1, e->bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
	for (int r = 0; r < MR; r++) {
		if (r >= rows)
			break;
		__m512 x0 = acc[r][0], x1 = acc[r][1];
		if (e->rowf) {
			x0 = _mm512_mul_ps(x0, _mm512_set1_ps(e->rowf[r]));
			x1 = _mm512_mul_ps(x1, _mm512_set1_ps(e->rowf[r]));
		}
		if (e->bias) {
			x0 = _mm512_add_ps(x0, b0);
			x1 = _mm512_add_ps(x1, b1);
		}
		if (e->act == TL_ACT_GELU) {
			x0 = tl_vgelu512(x0);
			x1 = tl_vgelu512(x1);
		}
		_mm256_mask_storeu_epi16(C + r * ldc, m0, bf16_of(x0));
		_mm256_mask_storeu_epi16(C + r * ldc + 16, m1, bf16_of(x1));
	}
}

TGT_F static inline __attribute__((always_inline)) void store_f(float *C, size_t ldc, __m512 acc[MR][2], int rows,
								 int cols, const epi *e)
{
	if (e->obf) {
		store_bf((uint16_t *)(void *)C, ldc, acc, rows, cols, e);
		return;
	}
#pragma GCC unroll 2
	for (int v = 0; v < 2; v++) {
		__mmask16 m = mask_of(cols, v);
		__m512 bb = e->bias ? _mm512_maskz_loadu_ps(m, e->bias + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 12
		for (int r = 0; r < MR; r++) {
			if (r >= rows || !m)
				break;
			__m512 x = acc[r][v];
			if (e->rowf)
				x = _mm512_mul_ps(x, _mm512_set1_ps(e->rowf[r]));
			epi_store(C + r * ldc + 16 * v, m, epi_act(x, bb, e), e);
		}
	}
}

TGT_F static inline __attribute__((always_inline)) void store_i(float *C, size_t ldc, __m512i acc[MR][2], int rows,
								 int cols, const epi *e)
{
#pragma GCC unroll 2
	for (int v = 0; v < 2; v++) {
		__mmask16 m = mask_of(cols, v);
		__m512 bb = e->bias ? _mm512_maskz_loadu_ps(m, e->bias + 16 * v) : _mm512_setzero_ps();
		__m512 sw = _mm512_maskz_loadu_ps(m, e->scale + 16 * v);
		__m512i cs = _mm512_maskz_loadu_epi32(m, e->colsum + 16 * v);
#pragma GCC unroll 12
		for (int r = 0; r < MR; r++) {
			if (r >= rows || !m)
				break;
			__m512i c = _mm512_sub_epi32(acc[r][v], _mm512_mullo_epi32(_mm512_set1_epi32(e->zp[r]), cs));
			__m512 s = _mm512_mul_ps(_mm512_set1_ps(e->sa[r]), sw);
			__m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(c), s);
			_mm512_mask_storeu_ps(C + r * ldc + 16 * v, m, epi_act(x, bb, e));
		}
	}
}

TGT_BF static void kern_bf16_dp(float *C, size_t ldc, const uint32_t *A, int G, const uint32_t *B, int rows,
				int cols, const epi *e)
{
	__m512 acc[MR][2];
#pragma GCC unroll 12
	for (int r = 0; r < MR; r++)
		acc[r][0] = acc[r][1] = _mm512_setzero_ps();
	for (int g = 0; g < G; g++) {
		__m512bh b0 = (__m512bh)_mm512_loadu_si512(B + (size_t)g * NR);
		__m512bh b1 = (__m512bh)_mm512_loadu_si512(B + (size_t)g * NR + 16);
		_mm_prefetch((const char *)(B + (size_t)(g + 8) * NR), _MM_HINT_T0);
		_mm_prefetch((const char *)(B + (size_t)(g + 8) * NR + 16), _MM_HINT_T0);
#pragma GCC unroll 12
		for (int r = 0; r < MR; r++) {
			__m512bh a = (__m512bh)_mm512_set1_epi32((int)A[(size_t)r * G + g]);
			acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, b0);
			acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, b1);
		}
	}
	store_f(C, ldc, acc, rows, cols, e);
}

TGT_F static void kern_bf16_f(float *C, size_t ldc, const uint32_t *A, int G, const uint32_t *B, int rows,
			      int cols, const epi *e)
{
	__m512 acc[MR][2];
	const __m512i hi = _mm512_set1_epi32((int)0xffff0000u);
#pragma GCC unroll 12
	for (int r = 0; r < MR; r++)
		acc[r][0] = acc[r][1] = _mm512_setzero_ps();
	for (int g = 0; g < G; g++) {
		__m512i w0 = _mm512_loadu_si512(B + (size_t)g * NR), w1 = _mm512_loadu_si512(B + (size_t)g * NR + 16);
		__m512 e0 = _mm512_castsi512_ps(_mm512_slli_epi32(w0, 16));
		__m512 o0 = _mm512_castsi512_ps(_mm512_and_si512(w0, hi));
		__m512 e1 = _mm512_castsi512_ps(_mm512_slli_epi32(w1, 16));
		__m512 o1 = _mm512_castsi512_ps(_mm512_and_si512(w1, hi));
#pragma GCC unroll 12
		for (int r = 0; r < MR; r++) {
			uint32_t a = A[(size_t)r * G + g];
			__m512 ae = _mm512_set1_ps(bf_lo(a)), ao = _mm512_set1_ps(bf_hi(a));
			acc[r][0] = _mm512_fmadd_ps(ae, e0, _mm512_fmadd_ps(ao, o0, acc[r][0]));
			acc[r][1] = _mm512_fmadd_ps(ae, e1, _mm512_fmadd_ps(ao, o1, acc[r][1]));
		}
	}
	store_f(C, ldc, acc, rows, cols, e);
}

TGT_VNNI static void kern_int8_dp(float *C, size_t ldc, const uint32_t *A, int G, const uint32_t *B, int rows,
				  int cols, const epi *e)
{
	__m512i acc[MR][2];
#pragma GCC unroll 12
	for (int r = 0; r < MR; r++)
		acc[r][0] = acc[r][1] = _mm512_setzero_si512();
	for (int g = 0; g < G; g++) {
		__m512i b0 = _mm512_loadu_si512(B + (size_t)g * NR), b1 = _mm512_loadu_si512(B + (size_t)g * NR + 16);
		_mm_prefetch((const char *)(B + (size_t)(g + 8) * NR), _MM_HINT_T0);
		_mm_prefetch((const char *)(B + (size_t)(g + 8) * NR + 16), _MM_HINT_T0);
#pragma GCC unroll 12
		for (int r = 0; r < MR; r++) {
			__m512i a = _mm512_set1_epi32((int)A[(size_t)r * G + g]);
			acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], a, b0);
			acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], a, b1);
		}
	}
	store_i(C, ldc, acc, rows, cols, e);
}

TGT_F static void kern_int8_bw(float *C, size_t ldc, const uint32_t *A, int G, const uint32_t *B, int rows,
			       int cols, const epi *e)
{
	__m512i acc[MR][2];
#pragma GCC unroll 12
	for (int r = 0; r < MR; r++)
		acc[r][0] = acc[r][1] = _mm512_setzero_si512();
	for (int g = 0; g < G; g++) {
		__m512i w0 = _mm512_loadu_si512(B + (size_t)g * NR), w1 = _mm512_loadu_si512(B + (size_t)g * NR + 16);
		/* bytes 0, 2 and 1, 3 of each word as signed 16-bit lanes */
		__m512i l0 = _mm512_srai_epi16(_mm512_slli_epi16(w0, 8), 8), h0 = _mm512_srai_epi16(w0, 8);
		__m512i l1 = _mm512_srai_epi16(_mm512_slli_epi16(w1, 8), 8), h1 = _mm512_srai_epi16(w1, 8);
#pragma GCC unroll 12
		for (int r = 0; r < MR; r++) {
			uint32_t a = A[(size_t)r * G + g];
			__m512i al = _mm512_set1_epi32((int)(a & 0x00ff00ffu)), ah = _mm512_set1_epi32((int)((a >> 8) & 0x00ff00ffu));
			acc[r][0] = _mm512_add_epi32(acc[r][0], _mm512_add_epi32(_mm512_madd_epi16(al, l0), _mm512_madd_epi16(ah, h0)));
			acc[r][1] = _mm512_add_epi32(acc[r][1], _mm512_add_epi32(_mm512_madd_epi16(al, l1), _mm512_madd_epi16(ah, h1)));
		}
	}
	store_i(C, ldc, acc, rows, cols, e);
}

/* The AMX path: a block of up to 32 rows x 32 outputs on the tile unit
 * (lowprec_amx.c) into a raw block, then the epilogue of store_f /
 * store_i, element for element the same operations, from it. */
TGT_BF static void amx_epilogue(int prec, float *C, size_t ldc, const float *raw, int rows, int cols, const epi *ep)
{
	/* a copy: for the compiler the stores below may write *ep, not a local,
	 * so its fields stay in registers instead of being read again per row */
	const epi el = *ep, *e = &el;
	for (int v = 0; v < 2; v++) {
		__mmask16 m = mask_of(cols, v);
		if (!m)
			break;
		__m512 bb = e->bias ? _mm512_maskz_loadu_ps(m, e->bias + 16 * v) : _mm512_setzero_ps();
		if (prec == TL_PREC_INT8) {
			__m512 sw = _mm512_maskz_loadu_ps(m, e->scale + 16 * v);
			__m512i cs = _mm512_maskz_loadu_epi32(m, e->colsum + 16 * v);
			for (int r = 0; r < rows; r++) {
				__m512i c = _mm512_sub_epi32(_mm512_load_si512(raw + 32 * r + 16 * v),
							     _mm512_mullo_epi32(_mm512_set1_epi32(e->zp[r]), cs));
				__m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(c), _mm512_mul_ps(_mm512_set1_ps(e->sa[r]), sw));
				epi_store(C + r * ldc + 16 * v, m, epi_act(x, bb, e), e);
			}
		} else {
			for (int r = 0; r < rows; r++) {
				__m512 x = _mm512_load_ps(raw + 32 * r + 16 * v);
				if (e->rowf)
					x = _mm512_mul_ps(x, _mm512_set1_ps(e->rowf[r]));
				x = epi_act(x, bb, e);
				if (e->obf)
					_mm256_mask_storeu_epi16((uint16_t *)(void *)C + r * ldc + 16 * v, m, bf16_of_dp(x));
				else
					epi_store(C + r * ldc + 16 * v, m, x, e);
			}
		}
	}
}

static void kern_amx(int prec, float *C, size_t ldc, const uint32_t *A, int G, const uint32_t *B, int rows, int cols,
		     const epi *e)
{
	float raw[32 * 32] __attribute__((aligned(64)));
	tl_cpu_amx_start(prec, A, (size_t)G, G, B, rows);
	tl_cpu_amx_finish(prec, raw, A, (size_t)G, G, B, rows);
	amx_epilogue(prec, C, ldc, raw, rows, cols, e);
}

/* A driver's sequence of AMX blocks, software-pipelined: block i's
 * products are issued to the tile unit before block i-1's epilogue runs on
 * the vector units, so the two overlap; then block i is stored into the
 * other raw buffer. amx_pipe_flush runs the last epilogue. The bits are
 * kern_amx's. */
typedef struct {
	float raw[2][32 * 32] __attribute__((aligned(64)));
	int cur, pending, rows, cols;
	float *C;
	size_t ldc;
	epi e;
} amx_pipe;

static void amx_pipe_flush(int prec, amx_pipe *q)
{
	if (q->pending)
		amx_epilogue(prec, q->C, q->ldc, q->raw[q->cur ^ 1], q->rows, q->cols, &q->e);
	q->pending = 0;
}

__attribute__((target("prfchw"))) static void amx_pipe_block(int prec, amx_pipe *q, float *C, size_t ldc,
							     const uint32_t *A, int G, const uint32_t *B, int rows,
							     int cols, const epi *e)
{
	tl_cpu_amx_start(prec, A, (size_t)G, G, B, rows);
	/* the block's output lines, for writing, while the tile unit works:
	 * the outputs are megabytes, and the epilogue's stores otherwise wait
	 * for each line from memory (most of its time, in perf) */
	size_t esz = e->obf ? sizeof(uint16_t) : sizeof(float), bytes = (size_t)cols * esz;
	for (int r = 0; r < rows; r++) {
		const char *row = (const char *)C + (size_t)r * ldc * esz;
		for (size_t b0 = 0; b0 < bytes; b0 += 64)
			__builtin_prefetch(row + b0, 1, 3);
		__builtin_prefetch(row + bytes - 1, 1, 3);
	}
	amx_pipe_flush(prec, q);
	tl_cpu_amx_finish(prec, q->raw[q->cur], A, (size_t)G, G, B, rows);
	q->cur ^= 1;
	q->pending = 1;
	q->C = C, q->ldc = ldc, q->rows = rows, q->cols = cols, q->e = *e;
}

/* The C reference of both precisions, on the same layout and in the same
 * order of operations as the vector kernels. */
static void kern_ref(int prec, float *C, size_t ldc, const uint32_t *A, int G, const uint32_t *B, int rows,
		     int cols, const epi *e)
{
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++) {
			const uint32_t *a = A + (size_t)r * G;
			float x;
			if (prec == TL_PREC_BF16) {
				float acc = 0;
				for (int g = 0; g < G; g++) {
					uint32_t wa = a[g], wb = B[(size_t)g * NR + c];
					acc = acc + bf_hi(wa) * bf_hi(wb);
					acc = acc + bf_lo(wa) * bf_lo(wb);
				}
				x = acc;
				if (e->rowf)
					x = x * e->rowf[r];
			} else {
				int32_t acc = 0;
				for (int g = 0; g < G; g++) {
					uint32_t wa = a[g], wb = B[(size_t)g * NR + c];
					for (int j = 0; j < 4; j++)
						acc += (int32_t)(uint8_t)(wa >> (8 * j)) * (int32_t)(int8_t)(uint8_t)(wb >> (8 * j));
				}
				acc -= e->zp[r] * e->colsum[c];
				float s = e->sa[r] * e->scale[c];
				x = (float)acc * s;
			}
			if (e->bias)
				x = x + e->bias[c];
			if (e->act == TL_ACT_GELU)
				x = tl_vgelu(x);
			if (e->obf) {
				((uint16_t *)(void *)C)[(size_t)r * ldc + c] = tl_cpu_f2bf(x);
				continue;
			}
			if (e->accum)
				x = C[(size_t)r * ldc + c] + x;
			C[(size_t)r * ldc + c] = x;
		}
}

/* One bf16 tile for the training products (lowprec_train.c): C[rows,
 * cols] += A . B on the layout above, on a path. */
void tl_cpu_bf16_tile_acc(int path, float *C, size_t ldc, const uint32_t *A, int G, const uint32_t *B, int rows,
			  int cols)
{
	epi e = {0};
	e.accum = 1;
	if (path == TL_LP_REF)
		kern_ref(TL_PREC_BF16, C, ldc, A, G, B, rows, cols, &e);
	else if (path == TL_LP_AMX)
		kern_amx(TL_PREC_BF16, C, ldc, A, G, B, rows, cols, &e);
	else
		(path == TL_LP_DP ? kern_bf16_dp : kern_bf16_f)(C, ldc, A, G, B, rows, cols, &e);
}

/* C[rows, cols] = (A . B) * rowf[r]: the products of attention_bf16.c. */
void tl_cpu_bf16_tile_scaled(int path, float *C, size_t ldc, const uint32_t *A, int G, const uint32_t *B, int rows,
			     int cols, const float *rowf)
{
	epi e = {0};
	e.rowf = rowf;
	if (path == TL_LP_REF)
		kern_ref(TL_PREC_BF16, C, ldc, A, G, B, rows, cols, &e);
	else if (path == TL_LP_AMX)
		kern_amx(TL_PREC_BF16, C, ldc, A, G, B, rows, cols, &e);
	else
		(path == TL_LP_DP ? kern_bf16_dp : kern_bf16_f)(C, ldc, A, G, B, rows, cols, &e);
}

/* tl_cpu_bf16_tile_scaled with C as bf16 rows (uint16_t, ldc in
 * elements), each result rounded once after its scaling. */
void tl_cpu_bf16_tile_scaled_bf(int path, uint16_t *C, size_t ldc, const uint32_t *A, int G, const uint32_t *B,
				int rows, int cols, const float *rowf)
{
	epi e = {0};
	e.rowf = rowf;
	e.obf = 1;
	float *o = (float *)(void *)C;
	if (path == TL_LP_REF)
		kern_ref(TL_PREC_BF16, o, ldc, A, G, B, rows, cols, &e);
	else if (path == TL_LP_AMX)
		kern_amx(TL_PREC_BF16, o, ldc, A, G, B, rows, cols, &e);
	else
		(path == TL_LP_DP ? kern_bf16_dp : kern_bf16_f)(o, ldc, A, G, B, rows, cols, &e);
}

int tl_cpu_bf16_pairs_path(void)
{
	return tl_cpu_prec_path_ok(TL_PREC_BF16, TL_LP_DP)       ? TL_LP_DP
	       : tl_cpu_prec_path_ok(TL_PREC_BF16, TL_LP_AVX512) ? TL_LP_AVX512
								 : TL_LP_REF;
}

void tl_cpu_bf16_pairs(int path, uint32_t *dst, const float *x, int n)
{
	(path == TL_LP_REF ? bf16_row : path == TL_LP_AVX512 ? bf16_row_v : bf16_row_dp)(dst, x, n, (n + 1) / 2);
}

/* ---------------- driver ---------------- */

/* A 64-byte aligned buffer of at least `bytes`, owned by the calling
 * thread and kept between calls (grown, never shrunk): the converted
 * activations of a product are megabytes (IMDB batches: ~20 MB for the
 * feed-forward output), and a fresh zeroed allocation per call showed as
 * 1-4% of perf's samples in page faults and memset (no measurable change
 * in a whole run's CPU time). One user at a time: prec_rows. The
 * mechanism, ownership and freeing at thread exit: scratch.h. */
static void *lp_scratch(size_t bytes)
{
	return tl_cpu_scratch_slot(TL_SCR_LP, bytes);
}

/* Rows [0, N) on the calling thread, in blocks of MC rows: a block's
 * activations are converted and then used at once, while they are in L2
 * (MC G words: at most ~LP_ABLOCK bytes), against every column block. */
#ifndef LP_ABLOCK
#define LP_ABLOCK (160 * 1024)
#endif
/* ain: the activations as bf16 pair rows of G words already (bf16 only),
 * or NULL (converted here); obf: out is bf16 rows of OCw = 2 ((OC + 1) / 2)
 * elements (bf16 only), else fp32 rows of OC, which acc adds to (bf16
 * only, not with obf). */
static void prec_rows(const tl_cpu_prec_w *p, void *out, const float *inp, const uint32_t *ain, int obf, int acc,
		      const float *bias, int N, int act)
{
	int G = p->G, mr = p->path == TL_LP_AMX ? TL_AMX_ROWS : MR;
	int MC = (int)(LP_ABLOCK / ((size_t)G * sizeof(uint32_t))) / mr * mr;
	if (MC < mr)
		MC = mr;
	if (MC > (N + mr - 1) / mr * mr)
		MC = (N + mr - 1) / mr * mr;
	size_t abytes = ((size_t)MC * G * sizeof(uint32_t) + 63) & ~(size_t)63;
	char *buf = lp_scratch(abytes + (p->prec == TL_PREC_INT8 ? 2 * (size_t)MC * sizeof(float) : 0));
	float *sa = p->prec == TL_PREC_INT8 ? (float *)(buf + abytes) : NULL;
	int32_t *zp = sa ? (int32_t *)(sa + MC) : NULL;
	int vec = p->path != TL_LP_REF, OC = p->OC;
	size_t ldo = obf ? 2 * (((size_t)OC + 1) / 2) : (size_t)OC;
	amx_pipe pipe_s, *pipe = p->path == TL_LP_AMX ? &pipe_s : NULL;
	if (pipe)
		pipe->cur = pipe->pending = 0;
	for (int mb = 0; mb < N; mb += MC) {
		int nb = N - mb < MC ? N - mb : MC, nbp = (nb + mr - 1) / mr * mr;
		uint32_t *A = (uint32_t *)buf;
		if (ain) {
			/* the rows themselves; a last partial tile copied, its pad rows
			 * zero (the 12-row kernels read them; AMX blocks read only their
			 * rows and use the rows in place) */
			if (nb < nbp && !pipe) {
				int full = nb / mr * mr;
				memcpy(A + (size_t)full * G, ain + (size_t)(mb + full) * G,
				       (size_t)(nb - full) * G * sizeof(uint32_t));
				memset(A + (size_t)nb * G, 0, (size_t)(nbp - nb) * G * sizeof(uint32_t));
			}
		} else {
			for (int n = 0; n < nb; n++) {
				uint32_t *a = A + (size_t)n * G;
				const float *x = inp + (size_t)(mb + n) * p->IC;
				if (p->prec == TL_PREC_BF16)
					tl_cpu_bf16_pairs(p->path, a, x, p->IC);
				else
					(vec ? int8_row_v : int8_row)(a, &sa[n], &zp[n], x, p->IC, G);
			}
			/* rows nb..nbp of the last tile are read by the kernels, never stored */
			memset(A + (size_t)nb * G, 0, (size_t)(nbp - nb) * G * sizeof(uint32_t));
			for (int n = nb; sa && n < nbp; n++)
				sa[n] = 0, zp[n] = 0;
		}
		/* AMX: one column block of every panel (a 32-row block of A stays in
		 * L1 while the panels stream from L2) */
		int ncb = pipe ? p->OCp : NR * NCP;
		for (int n0 = 0; n0 < p->OCp; n0 += ncb) {
			int n1 = n0 + ncb < p->OCp ? n0 + ncb : p->OCp;
			for (int m0 = 0; m0 < nb; m0 += mr) {
				int rows = nb - m0 < mr ? nb - m0 : mr;
				const uint32_t *a = ain && (m0 + mr <= nb || pipe) ? ain + (size_t)(mb + m0) * G
										   : A + (size_t)m0 * G;
				for (int c0 = n0; c0 < n1; c0 += NR) {
					int cols = OC - c0 < NR ? OC - c0 : NR;
					const uint32_t *b = p->w + (size_t)(c0 / NR) * G * NR;
					size_t at = (size_t)(mb + m0) * ldo + c0;
					float *o = obf ? (float *)(void *)((uint16_t *)out + at) : (float *)out + at;
					epi e = {bias ? bias + c0 : NULL, p->scale ? p->scale + c0 : NULL,
						 p->colsum ? p->colsum + c0 : NULL, sa ? sa + m0 : NULL, zp ? zp + m0 : NULL,
						 act, acc, NULL, obf};
					if (p->path == TL_LP_REF)
						kern_ref(p->prec, o, ldo, a, G, b, rows, cols, &e);
					else if (p->path == TL_LP_AMX)
						amx_pipe_block(p->prec, pipe, o, ldo, a, G, b, rows, cols, &e);
					else if (p->prec == TL_PREC_BF16)
						(p->path == TL_LP_DP ? kern_bf16_dp : kern_bf16_f)(o, ldo, a, G, b, rows, cols,
												  &e);
					else
						(p->path == TL_LP_DP ? kern_int8_dp : kern_int8_bw)(o, ldo, a, G, b, rows, cols,
												    &e);
				}
			}
		}
		if (pipe) /* before the next block of rows overwrites A, sa, zp */
			amx_pipe_flush(p->prec, pipe);
		if (obf && ldo > (size_t)OC) /* odd OC: each row's pad element */
			for (int n = 0; n < nb; n++)
				((uint16_t *)out)[(size_t)(mb + n) * ldo + OC] = 0;
	}
}

/* Rows split over the threads by whole tiles. */
static void prec_forward(const tl_cpu_prec_w *p, void *out, const float *inp, const uint32_t *ain, int obf,
			 int acc, const float *bias, int N, int act)
{
	int mr = p->path == TL_LP_AMX ? TL_AMX_ROWS : MR, tiles = (N + mr - 1) / mr;
	int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
	if (nt > tiles)
		nt = tiles;
	if (nt <= 1) {
		prec_rows(p, out, inp, ain, obf, acc, bias, N, act);
		return;
	}
	size_t ldo = obf ? 2 * (((size_t)p->OC + 1) / 2) : (size_t)p->OC;
#pragma omp parallel num_threads(nt)
	{
		int t = omp_get_thread_num();
		int t0 = (int)((long)tiles * t / nt), t1 = (int)((long)tiles * (t + 1) / nt);
		int r0 = t0 * mr, r1 = t1 * mr < N ? t1 * mr : N;
		if (r0 < r1)
			prec_rows(p,
				  obf ? (void *)((uint16_t *)out + (size_t)r0 * ldo) : (void *)((float *)out + (size_t)r0 * ldo),
				  ain ? NULL : inp + (size_t)r0 * p->IC, ain ? ain + (size_t)r0 * p->G : NULL, obf, acc, bias,
				  r1 - r0, act);
	}
}

void tl_cpu_matmul_forward_prec(float *out, const float *inp, const void *pw, const float *bias, int N, int IC,
				int OC, int act)
{
	const tl_cpu_prec_w *p = pw;
	if (N <= 0)
		return;
	if (p->IC != IC || p->OC != OC)
		tl_oom("matmul_forward_prec: weight prepared as [%d, %d], used as [%d, %d]", p->OC, p->IC, OC, IC);
	if (p->prec == TL_PREC_FP32) {
		tl_cpu_matmul_forward_prepared(out, inp, p->fw, p->tag, bias, N, IC, OC, act);
		return;
	}
	prec_forward(p, out, inp, NULL, 0, 0, bias, N, act);
}

/* kernels.h matmul_forward_gelu_keep: on an fp32 handle packed for the
 * micro-kernel, GELU on each finished tile (gemm.c); else the two calls */
void tl_cpu_matmul_forward_gelu_keep(float *pre, float *out, const float *inp, const void *pw, const float *bias,
				     int N, int IC, int OC)
{
	const tl_cpu_prec_w *p = pw;
	if (N <= 0)
		return;
	if (p->prec == TL_PREC_FP32 && p->tag > 0 && p->IC == IC && p->OC == OC) {
		tl_cpu_gemm_gelu_keep(pre, out, inp, p->fw, p->tag, bias, N, IC, OC);
		return;
	}
	tl_cpu_matmul_forward_prec(pre, inp, pw, bias, N, IC, OC, TL_ACT_NONE);
	tl_cpu_gelu_forward(out, pre, (size_t)N * OC);
}

void tl_cpu_matmul_forward_bf16io(void *out, const void *inp, const void *pw, const float *bias, int N, int IC,
				  int OC, int act, int io)
{
	const tl_cpu_prec_w *p = pw;
	if (N <= 0)
		return;
	if (p->IC != IC || p->OC != OC)
		tl_oom("matmul_forward_bf16io: weight prepared as [%d, %d], used as [%d, %d]", p->OC, p->IC, OC, IC);
	if (io & ~(TL_IO_IN_BF16 | TL_IO_OUT_BF16 | TL_IO_OUT_ACC))
		tl_oom("matmul_forward_bf16io: unknown flags %#x", (unsigned)io);
	if ((io & TL_IO_OUT_ACC) && (io & TL_IO_OUT_BF16))
		tl_oom("matmul_forward_bf16io: TL_IO_OUT_ACC adds to fp32 rows, not to bf16 ones");
	if (!io) {
		tl_cpu_matmul_forward_prec(out, inp, pw, bias, N, IC, OC, act);
		return;
	}
	if (p->prec != TL_PREC_BF16)
		tl_oom("matmul_forward_bf16io: bf16 rows need a bf16 weight (this one: %s)",
		       tl_precision_name(p->prec));
	prec_forward(p, out, io & TL_IO_IN_BF16 ? NULL : inp, io & TL_IO_IN_BF16 ? inp : NULL, !!(io & TL_IO_OUT_BF16),
		     !!(io & TL_IO_OUT_ACC), bias, N, act);
}
