/* kernels/cpu/gemm.h - the CPU backend's AVX-512 inference kernels: the
 * GEMM on prepared weights (gemm.c), behind kernels.h's matmul_prepare,
 * matmul_unprepare and matmul_forward_prepared, and the attention of one
 * (sequence, head) (attention.c), behind attention_forward(_packed). */
#ifndef TL_CPU_GEMM_H
#define TL_CPU_GEMM_H

#include "tl/kernels.h"

/* 1 when the prepared products can run here: the CPU has AVX-512F and
 * TL_GEMM is not "blas" (and $TL_ISA does not cap the level below avx512). */
int tl_cpu_gemm_available(void);
/* Rearrange w[OC,IC] in place; returns the layout tag (> 0), or 0 (left
 * as it is: no AVX-512F, TL_GEMM=blas, or OC not a multiple of 32). */
int tl_cpu_gemm_prepare(float *w, int IC, int OC);
/* Undo tl_cpu_gemm_prepare bit for bit (tag 0: nothing to do). */
void tl_cpu_gemm_unprepare(float *w, int IC, int OC, int tag);
/* out[N,OC] = act(inp[N,IC] W^T + bias) on a weight prepared with tag > 0
 * (bias may be NULL; act: enum tl_act). OpenMP over tiles of rows. */
void tl_cpu_gemm(float *out, const float *inp, const float *w, int tag, const float *bias, int N, int IC, int OC,
		 int act);
/* pre = inp W^T + bias and out = GELU(pre), both kept, GELU applied to
 * each finished tile in L1 (kernels.h matmul_forward_gelu_keep). */
void tl_cpu_gemm_gelu_keep(float *pre, float *out, const float *inp, const float *w, int tag, const float *bias,
			   int N, int IC, int OC);
/* The prepared layout of tag (> 0) made from w[OC,IC] into dst (IC * OC
 * floats, not overlapping w): the same bits as tl_cpu_gemm_prepare on a copy
 * of w, without its scratch copy, by 16 x 16 register transposes, OpenMP
 * over (k block, panel). For a weight that changes every step (fp32
 * training: kernels.h matmul_update_fp32). */
void tl_cpu_gemm_pack(float *dst, const float *w, int IC, int OC, int tag);
/* out[N,M] = A[N,K] B[K,M] (accum: out += A B), B row-major and read in
 * place (no preparation): the backward product dinp += dout W of a linear
 * layer whose weight W[OC,IC] changes every step. Returns 0, touching
 * nothing, where it cannot run (tl_cpu_gemm_available() is 0 or M is not a
 * multiple of 32); 1 when done. Row n of out depends on row n of A only
 * (one chain of FMAs over k in order per element), whatever N and the
 * thread count. OpenMP over tiles of rows. */
int tl_cpu_gemm_nn(float *out, const float *A, const float *B, int N, int K, int M, int accum);
/* The same, assigned, with GELU's backward on each finished tile:
 * out = (A B) * gelu'(pre), pre[N,M] (kernels.h matmul_backward_gelu). */
int tl_cpu_gemm_nn_gelu(float *out, const float *A, const float *B, const float *pre, int N, int K, int M);

/* Inference attention of one (sequence, head), attention.c: 1 when it
 * runs here (tl_cpu_gemm_available() and hd a multiple of 16, at most 64);
 * the scratch it needs for len tokens (floats); and the product itself:
 * dst rows (stride ldo) = softmax(scale q k^T) v over len rows of q, k, v
 * (stride ld). On return s holds exp(s_ij - max_j) in rows of *lds floats
 * (pad lanes 0) and, after len rows, the 1 / sum of each row. */
int tl_cpu_attention_ok(int hd);
size_t tl_cpu_attention_scratch(int len, int hd);
void tl_cpu_attention(float *dst, int ldo, const float *q, const float *k, const float *v, int ld, int hd,
		      int len, float scale, float *s, int *lds);

#endif
