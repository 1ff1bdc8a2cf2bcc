/* kernels/cpu/vmath512.h - vmath.h's exp and GELU on whole zmm registers,
 * for the AVX-512 kernels (gemm.c, attention.c): the same operations in
 * the same order as tl_vexpf and tl_vgelu, so that a value comes out bit
 * for bit as the scalar (or compiler-vectorised) form gives it, but written
 * so that a loop can keep several independent registers in flight (the
 * compiler's vectorisation of tl_vgelu ran one dependent chain at a
 * time). Functions carry TL_TGT512, so they are compiled for AVX-512
 * whatever the file's -march; call them only where the CPU has AVX-512F. */
#ifndef TL_CPU_VMATH512_H
#define TL_CPU_VMATH512_H

#include "kernels/cpu/vmath.h"

#include <immintrin.h>

/* the target of every AVX-512 kernel (gemm.c, attention.c: their TGT) */
#define TL_TGT512 __attribute__((target("avx512f,fma")))
#define TL_S1(c) _mm512_set1_ps(c)

/* r[c][j] = r[j][c] for a 16 x 16 block of 32-bit lanes, in registers:
 * 32-bit, then 64-bit interleaves within 128-bit lanes, then two lane
 * shuffles (attention.c's K^T blocks, attention_bf16.c's key panels) */
TL_TGT512 static inline __attribute__((always_inline)) void tl_vtranspose16_512(__m512 r[16])
{
	__m512 t[16], u[16];
	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
		t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
	}
	for (int i = 0; i < 16; i += 4) { /* u[i + c], lane L: column 4 L + c of rows i..i+3 */
		u[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
		u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
		u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
		u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
	}
	for (int c = 0; c < 4; c++) {
		__m512 x = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), y = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
		__m512 x2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88),
		       y2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
		r[c] = _mm512_shuffle_f32x4(x, x2, 0x88);
		r[4 + c] = _mm512_shuffle_f32x4(y, y2, 0x88);
		r[8 + c] = _mm512_shuffle_f32x4(x, x2, 0xDD);
		r[12 + c] = _mm512_shuffle_f32x4(y, y2, 0xDD);
	}
}

/* tl_vexpf */
TL_TGT512 static inline __m512 tl_vexp512(__m512 x)
{
	/* constant first: vmaxps/vminps return the second operand on NaN */
	x = _mm512_min_ps(TL_S1(88.0f), _mm512_max_ps(TL_S1(-87.0f), x));
	__m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, TL_S1(1.44269504088896341f)),
					_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512 r = _mm512_fmadd_ps(k, TL_S1(-0.693359375f), x);
	r = _mm512_fmadd_ps(k, TL_S1(2.12194440e-4f), r);
	__m512 p = TL_S1(1.9875691500E-4f);
	p = _mm512_fmadd_ps(p, r, TL_S1(1.3981999507E-3f));
	p = _mm512_fmadd_ps(p, r, TL_S1(8.3334519073E-3f));
	p = _mm512_fmadd_ps(p, r, TL_S1(4.1665795894E-2f));
	p = _mm512_fmadd_ps(p, r, TL_S1(1.6666665459E-1f));
	p = _mm512_fmadd_ps(p, r, TL_S1(5.0000001201E-1f));
	p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), TL_S1(1.0f));
	return _mm512_scalef_ps(p, k); /* p 2^k, as the exponent-bits product */
}

/* tl_verff of x / sqrt 2: its rational form, bit for bit */
TL_TGT512 static inline __m512 tl_verf_sqrt1_2_512(__m512 x)
{
	__m512 a = _mm512_mul_ps(x, TL_S1((float)M_SQRT1_2));
	a = _mm512_min_ps(TL_S1(4.0f), _mm512_max_ps(TL_S1(-4.0f), a));
	__m512 s = _mm512_mul_ps(a, a);
	__m512 p = _mm512_fmadd_ps(TL_S1(erf_p[6]), s, TL_S1(erf_p[5]));
	for (int i = 4; i >= 0; i--)
		p = _mm512_fmadd_ps(p, s, TL_S1(erf_p[i]));
	__m512 q = _mm512_fmadd_ps(TL_S1(erf_q[5]), s, TL_S1(erf_q[4]));
	for (int i = 3; i >= 0; i--)
		q = _mm512_fmadd_ps(q, s, TL_S1(erf_q[i]));
	return _mm512_div_ps(_mm512_mul_ps(a, p), q);
}

/* tl_vgelu: 0.5 x (1 + erf(x / sqrt 2)) with tl_verff's rational form */
TL_TGT512 static inline __m512 tl_vgelu512(__m512 x)
{
	__m512 erf = tl_verf_sqrt1_2_512(x);
	return _mm512_mul_ps(_mm512_mul_ps(TL_S1(0.5f), x), _mm512_add_ps(TL_S1(1.0f), erf));
}

/* gelu'(x) = Phi(x) + x phi(x), gelu.c's gelu_grad bit for bit */
TL_TGT512 static inline __m512 tl_vgelu_grad512(__m512 x)
{
	__m512 cdf = _mm512_mul_ps(TL_S1(0.5f), _mm512_add_ps(TL_S1(1.0f), tl_verf_sqrt1_2_512(x)));
	__m512 e = tl_vexp512(_mm512_mul_ps(_mm512_mul_ps(TL_S1(-0.5f), x), x));
	__m512 pdf = _mm512_mul_ps(TL_S1(0.3989422804014327f), e);
	return _mm512_add_ps(cdf, _mm512_mul_ps(x, pdf));
}

#endif
