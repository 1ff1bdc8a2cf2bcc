/* kernels/cpu/cpu.h - the CPU backend's functions, one per entry of the
 * tl_kernels table (include/tl/kernels.h), and the helpers that more than
 * one of its files share. Private to kernels/cpu (and its tests): not
 * installed.
 *
 * Files by operation, forward and backward side by side (a GPU backend
 * mirrors them file for file): memory.c, matmul.c (gemm.c: the AVX-512
 * engine of prepared weights), attention.c, lstm.c, layernorm.c, gelu.c,
 * embedding.c, pool.c, dropout.c, loss.c, optimizer.c, elementwise.c;
 * backend.c holds the table. */
#ifndef TL_CPU_H
#define TL_CPU_H

#include "tl/kernels.h"

#include <omp.h>
#include <stddef.h>
#include <stdint.h>

/* Column blocks of 64 floats: the unit of work of column reductions. */
#define TL_CPU_CB 64

/* This thread's share [*i0, *i1) of n elements under a static partition
 * (whole multiples of 16 floats, so every share but the last starts on a
 * 64-byte boundary when the array does). Element-wise loops give the same
 * bits under any partition; the partition only spreads the work. */
static inline void tl_cpu_thread_share(size_t n, size_t *i0, size_t *i1)
{
	size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
	size_t per = ((n + nt - 1) / nt + 15) & ~(size_t)15;
	*i0 = id * per < n ? id * per : n;
	*i1 = *i0 + per < n ? *i0 + per : n;
}

/* The float erf of the GELU kernels (vmath.h; vectorisable, max abs error
 * 2.8e-7), exposed for test_kernels. */
float tl_cpu_erf(float x);

/* memory.c */
void *tl_cpu_alloc(size_t bytes);
void tl_cpu_free(void *p);
void tl_cpu_copy(void *dst, const void *src, size_t bytes);
void tl_cpu_memset(void *p, int c, size_t bytes);
void tl_cpu_set_threads(int n);
/* OpenBLAS on its AVX-512 kernels where it fell back to AVX2 ones (memory.c);
 * once per process, before the first product; tl_cpu_set_threads calls it. */
void tl_cpu_blas_init(void);
void tl_cpu_synchronize(void);

/* matmul.c; tl_cpu_sgemm_rows: out[N,OC] = inp W^T + bias in one sgemm
 * call, padded below OpenBLAS's small-matrix size (row n's result depends
 * on row n only), shared with the pooler. */
void tl_cpu_sgemm_rows(float *out, const float *inp, const float *weight, const float *bias, int N, int IC,
		       int OC);
void tl_cpu_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int IC,
			   int OC);
void tl_cpu_matmul_forward_prepared(float *out, const float *inp, const float *weight, int tag,
				    const float *bias, int N, int IC, int OC, int act);
void tl_cpu_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
			    const float *weight, int N, int IC, int OC);
void tl_cpu_matmul_backward_gelu(float *dpre, float *dweight, float *dbias, const float *dout, const float *inp,
				 const float *weight, const float *pre, int N, int IC, int OC);

/* attention.c */
void tl_cpu_attention_forward(float *out, float *att, const float *qkv, const int32_t *lens, int B, int T, int C,
			      int NH);
void tl_cpu_attention_forward_packed(float *out, const float *qkv, const int32_t *lens, int B, int C, int NH,
				     int first_only);
void tl_cpu_attention_forward_train(float *out, float *att, const float *qkv, const int32_t *lens, int B, int T,
				    int C, int NH, float p, uint64_t seed, uint64_t stream, int packed);
void tl_cpu_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
			       const int32_t *lens, int B, int T, int C, int NH, float p, uint64_t seed,
			       uint64_t stream, int packed);

/* attention_bf16.c */
void tl_cpu_attention_forward_packed_bf16(float *out, const float *qkv, const int32_t *lens, int B, int C, int NH,
					  int first_only);

/* layernorm.c */
void tl_cpu_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
			      const float *bias, int N, int C, float eps);
void tl_cpu_add_layernorm_forward(float *out, const float *a, const float *b, const float *bbias,
				  const float *weight, const float *bias, int N, int C, float eps);
void tl_cpu_add_layernorm_forward_bf16(float *out, void *out_bf16, const float *a, const float *b,
				       const float *bbias, const float *weight, const float *bias, int N, int C,
				       float eps);
void tl_cpu_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
			       const float *weight, const float *mean, const float *rstd, int N, int C);
void tl_cpu_matmul_forward_gelu_keep(float *pre, float *out, const float *inp, const void *pw, const float *bias,
				     int N, int IC, int OC);
void tl_cpu_dropout_add_layernorm_forward(float *res, float *out, float *mean, float *rstd, const float *x,
					  const float *weight, const float *bias, int N, int C, float eps, float p,
					  uint64_t seed, uint64_t stream);
void tl_cpu_layernorm_backward_dropout(float *dres, float *ddrop, float *dweight, float *dbias, const float *dout,
				       const float *inp, const float *weight, const float *mean, const float *rstd,
				       int N, int C, float p, uint64_t seed, uint64_t stream);

/* gelu.c */
void tl_cpu_gelu_forward(float *out, const float *inp, size_t n);
void tl_cpu_bias_gelu_forward(float *out, const float *inp, const float *bias, int N, int C);
void tl_cpu_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);
void tl_cpu_gelu_backward_zeroed(float *d, const float *inp, size_t n);
void tl_cpu_tanh_backward(float *dinp, const float *out, const float *dout, size_t n);

/* embedding.c */
void tl_cpu_embedding_forward(float *out, const int32_t *ids, const int32_t *type_ids, const float *wte,
			      const float *wpe, const float *wtt, int B, int T, int C);
void tl_cpu_embedding_backward(float *dwte, float *dwpe, float *dwtt, const float *dout, const int32_t *ids,
			       const int32_t *type_ids, const int32_t *lens, int B, int T, int C);

/* pool.c */
void tl_cpu_pack_rows(float *dst, const float *src, const int32_t *lens, int B, int T, int C, int mode);
void tl_cpu_pooler_forward(float *out, const float *hidden, const float *weight, const float *bias, int B, int T,
			   int C, int OC);
void tl_cpu_pool_forward(float *out, const float *hidden, const int32_t *lens, int B, int T, int C, int mode);
void tl_cpu_l2norm_forward(float *x, int N, int C);

/* lstm.c */
void tl_cpu_lstm_forward(float *h, float *c, float *gates, float *hT, float *cT, const float *x, const float *h0,
			 const float *c0, const float *w_ih, const float *w_hh, const float *b_ih, const float *b_hh,
			 const int32_t *lens, int B, int T, int In, int H, const void *pw_ih, const void *pw_hh);
void tl_cpu_lstm_backward(float *dx, float *dh0, float *dc0, float *dw_ih, float *dw_hh, float *db_ih,
			  float *db_hh, const float *dh, const float *dhT, const float *dcT, const float *x,
			  const float *h0, const float *c0, const float *h, const float *c, const float *gates,
			  const float *w_ih, const float *w_hh, const int32_t *lens, int B, int T, int In, int H,
			  const void *pw_ih, const void *pw_hh);

/* dropout.c */
void tl_cpu_dropout_forward(float *out, const float *inp, size_t n, float p, uint64_t seed, uint64_t stream);
void tl_cpu_dropout_backward(float *dinp, const float *dout, size_t n, float p, uint64_t seed, uint64_t stream);

/* loss.c */
double tl_cpu_softmax_xent(float *dlogits, const float *logits, const int32_t *y, const float *w, const float *sw,
			   float ls, float scale, int N, int K);
double tl_cpu_sigmoid_bce(float *dlogits, const float *logits, const float *y, const float *pw, float ls,
			  float scale, int N, int K);
void tl_cpu_lm_xent(float *z, const int32_t *y, double *rowloss, int n, int V, float f, int grad);

/* optimizer.c */
void tl_cpu_adamw_update(float *param, const float *grad, float *m, float *v, size_t n, float lr, float b1,
			 float b2, float eps, float wd, int t);
void tl_cpu_adamw_update_zero(float *param, float *grad, float *m, float *v, size_t n, float lr, float b1,
			      float b2, float eps, float wd, int t, float gscale, unsigned char *cold,
			      const unsigned char *live);
void tl_cpu_sgd_update(float *param, const float *grad, float *buf, size_t n, float lr, float mom, float wd,
		       int t);

/* elementwise.c */
void tl_cpu_residual_forward(float *out, const float *a, const float *b, size_t n);
double tl_cpu_sumsq(const float *x, size_t n);
double tl_cpu_sumsq_live(const float *x, size_t n, const unsigned char *live);
void tl_cpu_scale(float *x, size_t n, float s);
int tl_cpu_nonfinite(const float *x, size_t n);

#endif
