/* kernels/cpu/attention_bf16.c - inference attention with bf16 products
 * (kernels.h attention_forward_packed_bf16, used at --precision bf16):
 * O = softmax(scale Q K^T) V per (sequence, head), both products on bf16
 * operands with fp32 sums (vdpbf16ps, else its AVX-512F form, else the C
 * reference: lowprec.c's micro-kernels, tl_cpu_bf16_tile_scaled), the
 * softmax in fp32.
 *
 * Per (sequence, head): q, k and v are rounded to bf16 once (round to
 * nearest even) into the micro-kernel's layout: q as rows of hd/2 pair
 * words; k as the B operand of the scores (pairs along the head
 * dimension, keys in panels of 32; 16 keys x 16 pair words rounded and
 * transposed in registers); v as the B operand of the output (pairs of
 * consecutive keys, the head dimension in panels of 32). Then, for each
 * tile of 12 queries: the scores S[12, lp] (lp: the keys rounded up to 32,
 * pad keys 0), the plain products (no epilogue), the softmax of each row
 * over the real keys in fp32 with the scale folded into its exponent
 * (exp(scale (s - max)) = 2^(s c - max c), c = scale log2 e: one FMA, a
 * clamp, a degree-5 polynomial of 2^f and vscalefps), its probabilities
 * rounded to bf16 pairs, and O = P V times each row's 1 / sum. The scores
 * of a tile stay in L1 (12 x 256 floats for a 256-token sequence), unlike
 * a whole [len, len] matrix per head.
 *
 * Each output element is one fp32 sum in key (or dimension) order over
 * values of its own sequence and head: the bits do not depend on the batch
 * or the threads.
 *
 * Input and output rows (mode, enum tl_att_mode): q, k, v as fp32 rows
 * (rounded here) or as bf16 rows written by the QKV product
 * (TL_ATT_IN_BF16: copied, loaded and transposed as they are; the same
 * bits, since the product rounds its fp32 results the same way); O as fp32
 * rows or bf16 rows (TL_ATT_OUT_BF16: rounded in the P V epilogue) for the
 * output product. tl-embed/tl-predict at bf16 use both.
 *
 * On fp32 rows, short sequences (under TL_ATT_BF16_MIN_LEN = 64 tokens,
 * all queries) run attention.c's fp32 kernel instead, where it is there
 * (the bf16 kernel was slower there before the changes above; now, with
 * bench/lowprec_att.c on Zen 4, bf16 on fp32 rows overtakes fp32 from
 * ~24 tokens: 52 against 49 GFLOP/s at 25, 134 against 82 at 222). On
 * bf16 rows every sequence runs the bf16 kernel (59 GFLOP/s at 25 tokens,
 * 141 at 222; slower than fp32 only under ~20 tokens, where a (sequence,
 * head) costs under half a microsecond either way). The choice depends on
 * the sequence's own length and the mode only, so the bits still do not
 * depend on the batch.
 *
 * The DP and AVX512 paths give the same bits (the micro-kernels do, the
 * conversions and softmax are shared, the exponentials are normal floats);
 * the REF path (no AVX-512) uses exp2f and may differ in the last bits.
 * The AMX path runs tiles of 32 queries on the tile unit's blocks
 * (lowprec_amx.c) with the DP path's softmax: its own bits, the same
 * bounds. */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/lowprec.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/vmath512.h"

#include "tl/kernels.h"
#include "tl/util.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define MRQ 12 /* queries per tile: the micro-kernel's rows */
#define MQX TL_AMX_ROWS /* on the AMX path: a block of the tile unit */
#define NP 32  /* columns per panel */
#define TGT_F __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define TGT_BF __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx512bf16")))

int tl_cpu_attention_bf16_path(void)
{
	return tl_cpu_prec_path_ok(TL_PREC_BF16, TL_LP_AMX)  ? TL_LP_AMX
	       : tl_cpu_prec_path_ok(TL_PREC_BF16, TL_LP_DP) ? TL_LP_DP
	       : tl_cpu_prec_path_ok(TL_PREC_BF16, TL_LP_AVX512) ? TL_LP_AVX512
								    : TL_LP_REF;
}

/* Scratch of one (sequence, head), in 32-bit words. */
static size_t scratch_words(int len, int nq, int hd)
{
	size_t lp = ((size_t)len + NP - 1) / NP * NP, G1 = ((size_t)hd + 1) / 2, G2 = lp / 2;
	size_t hdp = ((size_t)hd + NP - 1) / NP * NP, nqp = ((size_t)nq + MQX - 1) / MQX * MQX;
	size_t nq12 = ((size_t)nq + MRQ - 1) / MRQ * MRQ; /* q rows in tiles of either size */
	nqp = nq12 > nqp ? nq12 : nqp;
	return nqp * G1 + lp * G1 + hdp * G2 + MQX * lp + MQX * G2 + 2 * MQX + 3 * G1 + 16;
}

/* The softmax's exponentials: exp(scale (s - max)) = 2^t with t = s c -
 * max c, c = scale log2(e) (the scale folded in here: the score tiles are
 * the plain products), t clamped at TMIN = -125 so that every exponential
 * is a normal float >= 2^-125.5 (vcvtne2ps2bf16 would flush a denormal,
 * the integer rounding would not: clamped, the paths agree bit for bit;
 * such a term is < 2^-125 of the row's sum, which is >= 1). */
#define TMIN (-125.0f)
#define LOG2E 1.44269504088896341f

/* Row r of S (lp floats, len real; unscaled scores) -> P row (lp / 2
 * pair words, pad keys 0); returns 1 / the fp32 sum of the exponentials. */
static float softmax_ref(uint32_t *P, float *s, int len, int lp, float c)
{
	float m = -INFINITY, sum = 0;
	for (int j = 0; j < len; j++)
		m = s[j] > m ? s[j] : m;
	float b = -(m * c);
	for (int j = 0; j < lp; j++) { /* s: the exponentials, for the rounding below */
		float t = s[j] * c + b;
		s[j] = j < len ? exp2f(t > TMIN ? t : TMIN) : 0.0f;
	}
	for (int j = 0; j < lp; j++)
		sum += s[j];
	tl_cpu_bf16_pairs(TL_LP_REF, P, s, lp);
	return 1.0f / sum;
}

#define AI __attribute__((always_inline)) inline

/* 16 floats -> their bf16 (round to nearest even; NaN stays a quiet NaN)
 * in the low half of each 32-bit lane: tl_cpu_f2bf's bits */
TGT_F static AI __m512i bf16_lanes(__m512 x)
{
	__m512i v = _mm512_castps_si512(x);
	__mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(v, _mm512_set1_epi32(0x7fffffff)),
						_mm512_set1_epi32(0x7f800000));
	__m512i t = _mm512_add_epi32(v, _mm512_add_epi32(_mm512_set1_epi32(0x7fff),
							 _mm512_and_si512(_mm512_srli_epi32(v, 16), _mm512_set1_epi32(1))));
	t = _mm512_srli_epi32(t, 16);
	return _mm512_mask_or_epi32(t, nan, _mm512_srli_epi32(v, 16), _mm512_set1_epi32(0x40));
}

/* 32 floats (lo: elements 0..15, hi: 16..31) -> 16 pair words */
TGT_F static AI __m512i pairs_f(__m512 lo, __m512 hi)
{
	__m256i a = _mm512_cvtepi32_epi16(bf16_lanes(lo)), b = _mm512_cvtepi32_epi16(bf16_lanes(hi));
	return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}

TGT_BF static AI __m512i pairs_bf(__m512 lo, __m512 hi)
{
	return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/* 2^t for TMIN <= t <= ~0 (the softmax's exponent, already clamped):
 * k = round(t), f = t - k in [-1/2, 1/2], 2^f by a degree-5 polynomial
 * fitted to the relative error (2.3e-7 in fp32 arithmetic, against the
 * 2^-9 of the bf16 rounding that follows), 2^k by vscalefps. */
TGT_F static AI __m512 exp2_neg(__m512 t)
{
	__m512 k = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512 f = _mm512_sub_ps(t, k);
	__m512 p = _mm512_fmadd_ps(_mm512_set1_ps(1.327647245e-03f), f, _mm512_set1_ps(9.675541893e-03f));
	p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550713092e-02f));
	p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402212024e-01f));
	p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931469440e-01f));
	p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.000000119e+00f));
	return _mm512_scalef_ps(p, k);
}

/* exp(scale (s - max)) of 16 scores: exp2_neg of max(s c + b, TMIN) */
#define EXPS(x) exp2_neg(_mm512_max_ps(_mm512_set1_ps(TMIN), _mm512_fmadd_ps((x), vc, vb)))

/* The vector softmax, its bf16 rounding fused (PAIRS: pairs_f or
 * pairs_bf): whole blocks of 32 keys unmasked, then the masked tail; two
 * sums (even and odd 16-key halves), added at the end. */
#define SOFTMAX_V(PAIRS)                                                                                           \
	__m512 m = _mm512_set1_ps(-INFINITY);                                                                      \
	int j = 0;                                                                                                 \
	for (; j + 16 <= len; j += 16)                                                                             \
		m = _mm512_max_ps(m, _mm512_loadu_ps(s + j));                                                      \
	if (len > j)                                                                                               \
		m = _mm512_mask_max_ps(m, (__mmask16)((1u << (len - j)) - 1), m, _mm512_loadu_ps(s + j));          \
	const __m512 vc = _mm512_set1_ps(c), vb = _mm512_set1_ps(-(_mm512_reduce_max_ps(m) * c));                 \
	__m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();                                                 \
	for (j = 0; j + 32 <= len; j += 32) {                                                                      \
		__m512 e0 = EXPS(_mm512_loadu_ps(s + j)), e1 = EXPS(_mm512_loadu_ps(s + j + 16));                  \
		s0 = _mm512_add_ps(s0, e0);                                                                        \
		s1 = _mm512_add_ps(s1, e1);                                                                        \
		_mm512_storeu_si512(P + j / 2, PAIRS(e0, e1));                                                     \
	}                                                                                                          \
	for (; j < lp; j += 32) {                                                                                  \
		int n0 = len - j, n1 = len - j - 16;                                                               \
		__mmask16 k0 = n0 >= 16 ? (__mmask16)0xffff : n0 <= 0 ? 0 : (__mmask16)((1u << n0) - 1);          \
		__mmask16 k1 = n1 >= 16 ? (__mmask16)0xffff : n1 <= 0 ? 0 : (__mmask16)((1u << n1) - 1);          \
		__m512 e0 = _mm512_maskz_mov_ps(k0, EXPS(_mm512_loadu_ps(s + j)));                                 \
		__m512 e1 = _mm512_maskz_mov_ps(k1, EXPS(_mm512_loadu_ps(s + j + 16)));                            \
		s0 = _mm512_add_ps(s0, e0);                                                                        \
		s1 = _mm512_add_ps(s1, e1);                                                                        \
		_mm512_storeu_si512(P + j / 2, PAIRS(e0, e1));                                                     \
	}                                                                                                          \
	return 1.0f / _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));

TGT_F static float softmax_f(uint32_t *P, float *s, int len, int lp, float c)
{
	SOFTMAX_V(pairs_f)
}

TGT_BF static float softmax_bf(uint32_t *P, float *s, int len, int lp, float c)
{
	SOFTMAX_V(pairs_bf)
}

/* The 16 x 16 32-bit words r[i][c] -> r[c][i] (vmath512.h
 * tl_vtranspose16_512) */
TGT_F static AI void transpose16w(__m512i r[16])
{
	__m512 f[16];
	for (int i = 0; i < 16; i++)
		f[i] = _mm512_castsi512_ps(r[i]);
	tl_vtranspose16_512(f);
	for (int i = 0; i < 16; i++)
		r[i] = _mm512_castps_si512(f[i]);
}

/* Kp[p][g][c] (panels of 32 keys, G1 groups) = pairs of key 32 p + c, pad
 * keys 0: blocks of 16 keys x 16 groups rounded (tl_cpu_bf16_pairs's bits),
 * transposed in registers, stored as half panels. */
TGT_F static void k_panels(uint32_t *Kp, const float *k, size_t ld, int hd, int len, int lp, int G1)
{
	for (int j0 = 0; j0 < lp; j0 += 16)
		for (int g0 = 0; g0 < G1; g0 += 16) {
			int n0 = hd - 2 * g0, n1 = n0 - 16;
			__mmask16 m0 = n0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n0) - 1);
			__mmask16 m1 = n1 >= 16 ? (__mmask16)0xffff : n1 <= 0 ? 0 : (__mmask16)((1u << n1) - 1);
			__m512i r[16];
			for (int i = 0; i < 16; i++) {
				r[i] = _mm512_setzero_si512();
				if (j0 + i < len) {
					const float *x = k + (size_t)(j0 + i) * ld + 2 * g0;
					r[i] = pairs_f(_mm512_maskz_loadu_ps(m0, x), _mm512_maskz_loadu_ps(m1, x + 16));
				}
			}
			transpose16w(r);
			uint32_t *d = Kp + (size_t)(j0 / NP) * G1 * NP + j0 % NP;
			int ng = G1 - g0 < 16 ? G1 - g0 : 16;
			for (int g = 0; g < ng; g++)
				_mm512_storeu_si512(d + (size_t)(g0 + g) * NP, r[g]);
		}
}

/* Vp[g][0..hd) (panels of 32 words, panel stride G2 32) = pairs of
 * v rows 2g and 2g + 1 (a missing row 2g + 1: 0) */
TGT_F static void v_pairs(uint32_t *Vp, int G2, const float *v, size_t ld, int hd, int len)
{
	for (int g = 0; 2 * g < len; g++) {
		const float *r0 = v + (size_t)(2 * g) * ld, *r1 = r0 + ld;
		for (int c = 0; c < hd; c += 16) {
			__mmask16 k = hd - c >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (hd - c)) - 1);
			__m512i a = bf16_lanes(_mm512_maskz_loadu_ps(k, r0 + c));
			__m512i b = 2 * g + 1 < len ? bf16_lanes(_mm512_maskz_loadu_ps(k, r1 + c)) : _mm512_setzero_si512();
			_mm512_mask_storeu_epi32(Vp + (size_t)(c / NP) * G2 * NP + (size_t)g * NP + c % NP, k,
						 _mm512_or_si512(a, _mm512_slli_epi32(b, 16)));
		}
	}
}

/* k_panels from bf16 rows (uint16_t, row stride ld elements): the pair
 * words are loaded as they are (the high half past an odd hd zero) */
TGT_F static void k_panels_b(uint32_t *Kp, const uint16_t *k, size_t ld, int hd, int len, int lp, int G1)
{
	for (int j0 = 0; j0 < lp; j0 += 16)
		for (int g0 = 0; g0 < G1; g0 += 16) {
			int n = hd - 2 * g0;
			__mmask32 m = n >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << n) - 1);
			__m512i r[16];
			for (int i = 0; i < 16; i++)
				r[i] = j0 + i < len ? _mm512_maskz_loadu_epi16(m, k + (size_t)(j0 + i) * ld + 2 * g0)
						    : _mm512_setzero_si512();
			transpose16w(r);
			uint32_t *d = Kp + (size_t)(j0 / NP) * G1 * NP + j0 % NP;
			int ng = G1 - g0 < 16 ? G1 - g0 : 16;
			for (int g = 0; g < ng; g++)
				_mm512_storeu_si512(d + (size_t)(g0 + g) * NP, r[g]);
		}
}

/* q from bf16 rows: rows of G1 = (hd + 1) / 2 pair words, copied (the
 * high half past an odd hd zero) */
TGT_F static void q_rows_b(uint32_t *Qb, int G1, const uint16_t *q, size_t ld, int hd, int nq)
{
	for (int i = 0; i < nq; i++) {
		uint16_t *d = (uint16_t *)(Qb + (size_t)i * G1);
		for (int c = 0; c < 2 * G1; c += 32) {
			int n = hd - c, w = 2 * G1 - c;
			__mmask32 ml = n >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << n) - 1);
			__mmask32 ms = w >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << w) - 1);
			_mm512_mask_storeu_epi16(d + c, ms, _mm512_maskz_loadu_epi16(ml, q + (size_t)i * ld + c));
		}
	}
}

/* v_pairs from bf16 rows */
TGT_F static void v_pairs_b(uint32_t *Vp, int G2, const uint16_t *v, size_t ld, int hd, int len)
{
	for (int g = 0; 2 * g < len; g++) {
		const uint16_t *r0 = v + (size_t)(2 * g) * ld;
		for (int c = 0; c < hd; c += 16) {
			__mmask16 k = hd - c >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (hd - c)) - 1);
			__m512i a = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, r0 + c));
			__m512i b = 2 * g + 1 < len ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, r0 + ld + c))
						    : _mm512_setzero_si512();
			_mm512_mask_storeu_epi32(Vp + (size_t)(c / NP) * G2 * NP + (size_t)g * NP + c % NP, k,
						 _mm512_or_si512(a, _mm512_slli_epi32(b, 16)));
		}
	}
}

/* The operands of one (sequence, head): q, k, v rows of stride ld, fp32
 * (ibf 0: rounded here) or bf16 (ibf 1: uint16_t, used as they are) */
typedef struct {
	const void *q, *k, *v;
	int ld, ibf;
} att_in;

/* One (sequence, head): O into dst, fp32 rows (obf 0) or bf16 rows (obf 1) */
static void att_one(int path, void *dst, int ldo, int obf, const att_in *in, int hd, int len, int nq, float scale)
{
	const int lp = (len + NP - 1) / NP * NP, G1 = (hd + 1) / 2, G2 = lp / 2;
	const int mq = path == TL_LP_AMX ? MQX : MRQ; /* queries per tile */
	const int hdp = (hd + NP - 1) / NP * NP, nqp = (nq + mq - 1) / mq * mq;
	const size_t ld = (size_t)in->ld;
	uint32_t *Qb = (uint32_t *)tl_cpu_scratch(scratch_words(len, nq, hd));
	uint32_t *Kp = Qb + (size_t)nqp * G1, *Vp = Kp + (size_t)lp * G1, *P = Vp + (size_t)hdp * G2;
	float *S = (float *)(P + (size_t)MQX * G2), *inv = S + (size_t)MQX * lp;
	uint32_t *row = (uint32_t *)(inv + MQX); /* G1 words; then 2 G1 more for v */
	const float *q = in->q, *k = in->k, *v = in->v;
	const uint16_t *qb = in->q, *kb = in->k, *vb = in->v;
	/* q: rows of pairs; rows past nq zero (read by the last tile, not stored) */
	if (in->ibf && path != TL_LP_REF)
		q_rows_b(Qb, G1, qb, ld, hd, nq);
	else
		for (int i = 0; i < nq; i++) {
			uint32_t *d = Qb + (size_t)i * G1;
			if (!in->ibf) {
				tl_cpu_bf16_pairs(path, d, q + (size_t)i * ld, hd);
				continue;
			}
			memcpy(d, qb + (size_t)i * ld, sizeof(uint16_t) * (size_t)hd);
			if (hd % 2)
				((uint16_t *)d)[hd] = 0;
		}
	memset(Qb + (size_t)nq * G1, 0, sizeof(uint32_t) * (size_t)(nqp - nq) * G1);
	/* k: Kp[p][g][c] = pairs of key 32 p + c; pad keys 0 */
	if (path != TL_LP_REF) {
		if (in->ibf)
			k_panels_b(Kp, kb, ld, hd, len, lp, G1);
		else
			k_panels(Kp, k, ld, hd, len, lp, G1);
	} else {
		for (int j = 0; j < lp; j++) {
			if (j >= len)
				memset(row, 0, sizeof(uint32_t) * (size_t)G1);
			else if (in->ibf)
				for (int g = 0; g < G1; g++) {
					const uint16_t *x = kb + (size_t)j * ld + 2 * g;
					row[g] = (uint32_t)x[0] | (2 * g + 1 < hd ? (uint32_t)x[1] << 16 : 0);
				}
			else
				tl_cpu_bf16_pairs(path, row, k + (size_t)j * ld, hd);
			uint32_t *d = Kp + (size_t)(j / NP) * G1 * NP + j % NP;
			for (int g = 0; g < G1; g++)
				d[(size_t)g * NP] = row[g];
		}
	}
	/* v: Vp[p][g][c] = (v[2g][32p + c], v[2g + 1][32p + c]); pad keys and
	 * columns 0 */
	memset(Vp, 0, sizeof(uint32_t) * (size_t)hdp * G2);
	if (path != TL_LP_REF) {
		if (in->ibf)
			v_pairs_b(Vp, G2, vb, ld, hd, len);
		else
			v_pairs(Vp, G2, v, ld, hd, len);
	} else {
		uint16_t *h0 = (uint16_t *)(row + G1), *h1 = (uint16_t *)(row + 2 * G1);
		for (int g = 0; g < G2 && 2 * g < len; g++) {
			if (in->ibf) {
				memcpy(h0, vb + (size_t)(2 * g) * ld, sizeof(uint16_t) * (size_t)hd);
				if (2 * g + 1 < len)
					memcpy(h1, vb + (size_t)(2 * g + 1) * ld, sizeof(uint16_t) * (size_t)hd);
				else
					memset(h1, 0, sizeof(uint16_t) * (size_t)hd);
			} else {
				tl_cpu_bf16_pairs(path, (uint32_t *)h0, v + (size_t)(2 * g) * ld, hd);
				if (2 * g + 1 < len)
					tl_cpu_bf16_pairs(path, (uint32_t *)h1, v + (size_t)(2 * g + 1) * ld, hd);
				else
					memset(h1, 0, sizeof(uint32_t) * (size_t)G1);
			}
			for (int c = 0; c < hd; c++)
				Vp[(size_t)(c / NP) * G2 * NP + (size_t)g * NP + c % NP] =
					(uint32_t)h0[c] | (uint32_t)h1[c] << 16;
		}
	}
	const float c = scale * LOG2E;
	memset(P, 0, sizeof(uint32_t) * (size_t)mq * G2);
	for (int i0 = 0; i0 < nq; i0 += mq) {
		int rows = nq - i0 < mq ? nq - i0 : mq;
		const uint32_t *qa = Qb + (size_t)i0 * G1;
		/* the plain products (the scale is in c); on AMX with whole chunks of
		 * the head (hd % 32 == 0) stored from the tiles straight into S */
		if (path == TL_LP_AMX && G1 % 16 == 0)
			tl_cpu_amx_bf16_panels(S, (size_t)lp, qa, G1, Kp, lp / NP, rows);
		else
			for (int p = 0; p < lp; p += NP)
				tl_cpu_bf16_tile_scaled(path, S + p, (size_t)lp, qa, G1, Kp + (size_t)p * G1, rows, NP,
							NULL);
		for (int r = 0; r < rows; r++)
			inv[r] = (path == TL_LP_REF     ? softmax_ref
				  : path == TL_LP_AVX512 ? softmax_f
							 : softmax_bf)(P + (size_t)r * G2, S + (size_t)r * lp, len, lp, c);
		for (int p = 0; p < hd; p += NP) {
			size_t at = (size_t)i0 * ldo + p;
			int cols = hd - p < NP ? hd - p : NP;
			if (obf)
				tl_cpu_bf16_tile_scaled_bf(path, (uint16_t *)dst + at, (size_t)ldo, P, G2, Vp + (size_t)p * G2,
							   rows, cols, inv);
			else
				tl_cpu_bf16_tile_scaled(path, (float *)dst + at, (size_t)ldo, P, G2, Vp + (size_t)p * G2, rows,
							cols, inv);
		}
	}
}

void tl_cpu_attention_bf16_one(int path, float *dst, int ldo, const float *q, const float *k, const float *v,
			       int ld, int hd, int len, int nq, float scale)
{
	att_in in = {q, k, v, ld, 0};
	att_one(path, dst, ldo, 0, &in, hd, len, nq, scale);
}

void tl_cpu_attention_bf16_one_io(int path, void *dst, int ldo, const void *q, const void *k, const void *v, int ld,
				  int hd, int len, int nq, float scale, int io)
{
	att_in in = {q, k, v, ld, !!(io & TL_IO_IN_BF16)};
	att_one(path, dst, ldo, !!(io & TL_IO_OUT_BF16), &in, hd, len, nq, scale);
}

/* dst[r * ldd + c] = the bf16 of src[r * lds + c], c < n (AVX-512F: only
 * called where attention.c's kernel ran) */
TGT_F static void rows_bf16(uint16_t *dst, size_t ldd, const float *src, size_t lds, int rows, int n)
{
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < n; c += 16) {
			__mmask16 m = n - c >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - c)) - 1);
			_mm256_mask_storeu_epi16(dst + (size_t)r * ldd + c, m,
						 _mm512_cvtepi32_epi16(bf16_lanes(_mm512_maskz_loadu_ps(m, src + (size_t)r * lds + c))));
		}
}

void tl_cpu_attention_forward_packed_bf16(float *out, const float *qkv, const int32_t *lens, int B, int C, int NH,
					  int mode)
{
	int hd = C / NH, path = tl_cpu_attention_bf16_path();
	int first_only = mode & TL_ATT_FIRST_ONLY, obf = !!(mode & TL_ATT_OUT_BF16), ibf = !!(mode & TL_ATT_IN_BF16);
	float scale = 1.0f / sqrtf((float)hd);
	/* row strides in elements: bf16 rows padded to an even count */
	int C3 = ibf ? 2 * ((3 * C + 1) / 2) : 3 * C, ldo = obf ? 2 * ((C + 1) / 2) : C;
	size_t *offs = tl_xmalloc(sizeof(size_t) * ((size_t)B + 1));
	offs[0] = 0;
	for (int b = 0; b < B; b++)
		offs[b + 1] = offs[b] + (size_t)(lens[b] > 0 ? lens[b] : 0);
#pragma omp parallel for schedule(dynamic, 1) collapse(2)
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			int len = (int)(offs[b + 1] - offs[b]);
			size_t qat = offs[b] * (size_t)C3 + (size_t)h * hd;
			const void *q = ibf ? (const void *)((const uint16_t *)(const void *)qkv + qat) : (const void *)(qkv + qat);
			att_in in = {q, NULL, NULL, C3, ibf};
			in.k = ibf ? (const void *)((const uint16_t *)q + C) : (const void *)((const float *)q + C);
			in.v = ibf ? (const void *)((const uint16_t *)q + 2 * C) : (const void *)((const float *)q + 2 * C);
			size_t at = (first_only ? (size_t)b : offs[b]) * (size_t)ldo + (size_t)h * hd;
			void *dst = obf ? (void *)((uint16_t *)(void *)out + at) : (void *)(out + at);
			if (len <= 0) {
				if (first_only)
					memset(dst, 0, (obf ? sizeof(uint16_t) : sizeof(float)) * hd);
				continue;
			}
			if (!first_only && !ibf && len < TL_ATT_BF16_MIN_LEN && tl_cpu_attention_ok(hd)) {
				int lds;
				size_t sw = tl_cpu_attention_scratch(len, hd);
				float *s = tl_cpu_scratch(sw + (obf ? (size_t)len * hd : 0));
				const float *qf = q;
				if (!obf) {
					tl_cpu_attention(dst, C, qf, qf + C, qf + 2 * C, C3, hd, len, scale, s, &lds);
					continue;
				}
				tl_cpu_attention(s + sw, hd, qf, qf + C, qf + 2 * C, C3, hd, len, scale, s, &lds);
				rows_bf16(dst, (size_t)ldo, s + sw, (size_t)hd, len, hd);
				continue;
			}
			att_one(path, dst, ldo, obf, &in, hd, len, first_only ? 1 : len, scale);
		}
	if (obf && ldo > C) { /* odd C: each row's pad element */
		size_t rows = first_only ? (size_t)B : offs[B];
		for (size_t r = 0; r < rows; r++)
			((uint16_t *)(void *)out)[r * ldo + C] = 0;
	}
	free(offs);
}
