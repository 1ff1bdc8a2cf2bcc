/* kernels/cpu/lowprec.h - the CPU backend's low-precision products
 * (lowprec.c), behind kernels.h's matmul_prepare_prec, matmul_forward_prec
 * and matmul_free_prec. Private to kernels/cpu and its tests, which run
 * every kernel path the machine has by setting `path` by hand.
 *
 * Layout of a prepared bf16/int8 weight: the input columns in groups of
 * one 32-bit word (bf16: 2 values, k = 2g in the low half; int8: 4 bytes,
 * k = 4g + j in byte j; past IC zero), the outputs in panels of 32 (OC
 * rounded up to OCp, padding zero): w[p G 32 + g 32 + c] holds group g of
 * output 32 p + c. */
#ifndef TL_CPU_LOWPREC_H
#define TL_CPU_LOWPREC_H

#include <stddef.h>
#include <stdint.h>

/* Kernel paths, each exact to the layout above:
 * REF the portable C kernels (every machine);
 * AVX512 AVX-512F (bf16: the products in fp32 FMA on bf16-rounded values)
 *   or AVX-512BW (int8: vpmaddwd on bytes widened to 16 bits);
 * DP the dot-product instructions: vdpbf16ps (AVX512-BF16), vpdpbusd
 *   (AVX512-VNNI);
 * AMX the tile unit: tdpbf16ps, tdpbusd (lowprec_amx.c) in blocks of 32
 *   rows (int8: the same integers as the others; bf16: the unit's own
 *   rounding inside an instruction, bounded in the tests). On this path
 *   tl_cpu_bf16_tile_* take up to 32 rows (A holds `rows` rows: none past
 *   them is read). */
enum tl_lp_path { TL_LP_REF = 0, TL_LP_AVX512 = 1, TL_LP_DP = 2, TL_LP_AMX = 3 };

typedef struct {
	int prec, IC, OC, OCp, G, path;
	uint32_t *w;     /* bf16 / int8: the groups, layout above */
	float *scale;    /* int8: [OCp] per output channel (max |w| / 127; 0 for a zero row) */
	int32_t *colsum; /* int8: [OCp] sum over k of the quantized weights */
	float *fw;       /* fp32: a copy of the weight, prepared (tag) by gemm.c */
	int tag;
	/* bf16 training (matmul_prepare_bf16_train): W itself as the B operand
	 * of dX = dY W, K = OC in pairs (Gt = (OC + 1) / 2 words), IC in panels
	 * of 32 (ICp): wt[p Gt 32 + g 32 + c] = (W[2g][32p + c], W[2g+1][32p + c]). */
	uint32_t *wt;
	int Gt, ICp;
} tl_cpu_prec_w;

/* 1 when a path (enum tl_lp_path) of a precision can run here (the CPU
 * and $TL_ISA allow it). */
int tl_cpu_prec_path_ok(int prec, int path);
/* Rows of an AMX block (two tiles of 16): the row step of every AMX caller. */
#define TL_AMX_ROWS 32
/* AMX blocks (lowprec_amx.c), in two halves so that other work can run
 * while the tile unit computes. tl_cpu_amx_start issues the products of a
 * block into the calling thread's tiles (prec TL_PREC_BF16 or
 * TL_PREC_INT8): row r (< rows, 1..TL_AMX_ROWS) of A (stride lda words)
 * times B[32 g + c] summed over the G words, for c < 32; rows past `rows`
 * are not read. tl_cpu_amx_finish, with the same arguments, stores them
 * into raw[r 32 + c] (fp32 for bf16, int32 for int8; 64-byte aligned, row
 * stride 32 elements; rows past `rows` not written; the K tail is one
 * more chunk of the start's, zero-padded).
 * Between the two the thread must not start another block. Only on a path
 * where tl_cpu_prec_path_ok(prec, TL_LP_AMX). */
void tl_cpu_amx_start(int prec, const uint32_t *A, size_t lda, int G, const uint32_t *B, int rows);
void tl_cpu_amx_finish(int prec, void *raw, const uint32_t *A, size_t lda, int G, const uint32_t *B, int rows);
/* S[r, 32 j + c] (row stride lds floats) = row r of A (G words, stride G)
 * times column c of panel j (B + 32 G j, tl_cpu_amx_start's layout), for
 * j < npan and r < rows (<= TL_AMX_ROWS): npan blocks stored from the
 * tiles straight into S, the bits of tl_cpu_bf16_tile_scaled without
 * rowf. G % 16 == 0. On the AMX path only (attention's scores). */
void tl_cpu_amx_bf16_panels(float *S, size_t lds, const uint32_t *A, int G, const uint32_t *B, int npan, int rows);
/* 1 when this build has the AMX kernels (a compiler with the intrinsics) */
int tl_cpu_amx_built(void);
/* The bf16 of x, rounded to nearest even (NaN stays a quiet NaN). */
uint16_t tl_cpu_f2bf(float x);

void *tl_cpu_matmul_prepare_q8(const int8_t *q, const float *scale, int IC, int OC);
void *tl_cpu_matmul_prepare_prec(const float *weight, int IC, int OC, int prec);
void tl_cpu_matmul_forward_prec(float *out, const float *inp, const void *pw, const float *bias, int N, int IC,
				int OC, int act);
void tl_cpu_matmul_free_prec(void *pw);
/* kernels.h matmul_update_fp32 */
int tl_cpu_matmul_update_fp32(void *pw, const float *weight);
/* kernels.h matmul_forward_bf16io */
void tl_cpu_matmul_forward_bf16io(void *out, const void *inp, const void *pw, const float *bias, int N, int IC,
				  int OC, int act, int io);
/* C[rows, cols] (row stride ldc) += A[rows, G words] . B[G words x 32]
 * on the bf16 layout, on a path (enum tl_lp_path): rows <= 12 (AMX: 32),
 * cols <= 32. */
void tl_cpu_bf16_tile_acc(int path, float *C, size_t ldc, const uint32_t *A, int G, const uint32_t *B, int rows,
			  int cols);
/* C[rows, cols] (row stride ldc) = (A . B) * rowf[r] on the bf16 layout,
 * on a path: rows <= 12 (A holds 12 rows of G words; rows past `rows` are
 * read, never stored; AMX: rows <= 32, none past them read), cols <= 32. The attention products (attention_bf16.c). */
void tl_cpu_bf16_tile_scaled(int path, float *C, size_t ldc, const uint32_t *A, int G, const uint32_t *B, int rows,
			     int cols, const float *rowf);
/* tl_cpu_bf16_tile_scaled into bf16 rows: C[r * ldc + c] (uint16_t) = the
 * bf16 (round to nearest even) of the fp32 result. */
void tl_cpu_bf16_tile_scaled_bf(int path, uint16_t *C, size_t ldc, const uint32_t *A, int G, const uint32_t *B,
				int rows, int cols, const float *rowf);
/* dst[(n + 1) / 2] = x[0..n) as bf16 pairs (element 2g in the low half of
 * word g, past n zero), rounded to nearest even; the same bits on every path. */
void tl_cpu_bf16_pairs(int path, uint32_t *dst, const float *x, int n);
/* The fastest path of tl_cpu_bf16_pairs here (AVX512-BF16, AVX-512F or C,
 * within $TL_ISA): for callers with no path of their own. */
int tl_cpu_bf16_pairs_path(void);
/* The bf16 attention (attention_bf16.c) of one (sequence, head) on a path:
 * O[nq, hd] (row stride ldo) = softmax(scale q k^T) v over len keys, the
 * first nq queries (nq = len, or 1 for the first token only); q, k, v rows
 * with stride ld. Both products on bf16 operands with fp32 sums, the
 * softmax in fp32. */
void tl_cpu_attention_bf16_one(int path, float *dst, int ldo, const float *q, const float *k, const float *v,
			       int ld, int hd, int len, int nq, float scale);
/* tl_cpu_attention_bf16_one with (io, enum tl_bf16io) q, k, v as bf16
 * rows (uint16_t, stride ld elements; used as they are: the same bits as
 * their fp32 rows rounded) and/or O as bf16 rows (uint16_t, stride ldo
 * elements: each fp32 result rounded to nearest even). */
void tl_cpu_attention_bf16_one_io(int path, void *dst, int ldo, const void *q, const void *k, const void *v, int ld,
				  int hd, int len, int nq, float scale, int io);
int tl_cpu_attention_bf16_path(void);
/* attention_forward_packed_bf16 on fp32 rows (not TL_ATT_IN_BF16) runs
 * sequences shorter than this (all their queries) on attention.c's fp32
 * kernel, where that kernel runs. */
#define TL_ATT_BF16_MIN_LEN 64

/* bf16 training (lowprec_train.c; kernels.h: matmul_prepare_bf16_train,
 * matmul_update_bf16_train, matmul_backward_bf16). The backward runs on
 * the handle's path (tests set it by hand, as for the forward). */
void *tl_cpu_matmul_prepare_bf16_train(const float *weight, int IC, int OC);
void tl_cpu_matmul_update_bf16_train(void *pw, const float *weight);
void tl_cpu_matmul_backward_bf16(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
				 const void *pw, int N, int IC, int OC);
/* matmul_backward_bf16's dweight[OC,IC] += dout^T inp alone, on a path
 * (enum tl_lp_path; a handle's), for dw1 (in1, IC1) and, when dw2 is not
 * NULL, dw2 (in2, IC2) from the same dout[N,OC] packed once (lstm.c's
 * dw_ih and dw_hh). The same bits as through matmul_backward_bf16. */
void tl_cpu_bf16_dweight(int path, const float *dout, int N, int OC, float *dw1, const float *in1, int IC1,
			 float *dw2, const float *in2, int IC2);
#endif
