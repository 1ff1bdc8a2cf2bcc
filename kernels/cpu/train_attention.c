/* kernels/cpu/train_attention.c - multi-head attention for training: the
 * forward pass with dropout on the attention probabilities (saving the
 * probabilities before dropout) and its backward pass.
 *
 * Layout as kernels.h attention_forward: qkv[B,T,3C] holds q, k, v of each
 * token, head h in columns h*hd..(h+1)*hd of each part. One task per
 * (sequence, head) pair; a task writes only its own head's columns of its
 * own sequence, so the result does not depend on the thread schedule.
 * The dropout element index of probability (b, h, i, j) is
 * ((b*NH + h)*T + i)*T + j. */
#include "kernels/kernels_train.h"
#include "tl/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tl_cpu_train_attention_forward(float *out, float *att, const float *qkv, const int32_t *lens, int B,
				    int T, int C, int NH, float p, uint64_t seed, uint64_t stream);
void tl_cpu_train_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
				     const int32_t *lens, int B, int T, int C, int NH, float p, uint64_t seed,
				     uint64_t stream);

void tl_cpu_train_attention_forward(float *out, float *att, const float *qkv, const int32_t *lens, int B,
				    int T, int C, int NH, float p, uint64_t seed, uint64_t stream)
{
	int hd = C / NH;
	float scale = 1.0f / sqrtf((float)hd), ds = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
	size_t C3 = 3 * (size_t)C;
#pragma omp parallel
	{
		float *kt = tl_xmalloc(sizeof(float) * (size_t)hd * T);
		float *vv = tl_xmalloc(sizeof(float) * (size_t)hd * T);
		float *s = tl_xmalloc(sizeof(float) * (size_t)T);
		float *o = tl_xmalloc(sizeof(float) * (size_t)hd);
#pragma omp for schedule(static) collapse(2)
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
					size_t arow = (((size_t)b * NH + h) * T + i) * T;
					float *a = att + arow;
					if (i >= len) {
						memset(dst, 0, sizeof(float) * hd);
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
					float sum = 0.0f;
					for (int j = 0; j < len; j++) {
						s[j] = expf(s[j] - m);
						sum += s[j];
					}
					float inv = 1.0f / sum;
					for (int d = 0; d < hd; d++)
						o[d] = 0.0f;
					for (int j = 0; j < len; j++) {
						float pj = s[j] * inv;
						a[j] = pj;
						float pd = pj;
						if (p > 0.0f)
							pd = tl_dropout_keep(seed, stream, arow + j, p) ? pj * ds : 0.0f;
						const float *vr = vv + (size_t)j * hd;
						for (int d = 0; d < hd; d++)
							o[d] += pd * vr[d];
					}
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

void tl_cpu_train_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
				     const int32_t *lens, int B, int T, int C, int NH, float p, uint64_t seed,
				     uint64_t stream)
{
	int hd = C / NH;
	float scale = 1.0f / sqrtf((float)hd), dsc = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
	size_t C3 = 3 * (size_t)C;
#pragma omp parallel
	{
		float *vt = tl_xmalloc(sizeof(float) * (size_t)hd * T);
		float *kk = tl_xmalloc(sizeof(float) * (size_t)hd * T);
		float *dk = tl_xmalloc(sizeof(float) * (size_t)hd * T);
		float *dv = tl_xmalloc(sizeof(float) * (size_t)hd * T);
		float *dp = tl_xmalloc(sizeof(float) * (size_t)T);
		float *pd = tl_xmalloc(sizeof(float) * (size_t)T);
#pragma omp for schedule(static) collapse(2)
		for (int b = 0; b < B; b++)
			for (int h = 0; h < NH; h++) {
				int len = lens[b];
				const float *base = qkv + (size_t)b * T * C3;
				float *dbase = dqkv + (size_t)b * T * C3;
				for (int j = 0; j < len; j++) {
					const float *k = base + j * C3 + C + h * hd;
					const float *v = base + j * C3 + 2 * C + h * hd;
					for (int d = 0; d < hd; d++) {
						vt[(size_t)d * len + j] = v[d];
						kk[(size_t)j * hd + d] = k[d];
					}
				}
				memset(dk, 0, sizeof(float) * (size_t)hd * len);
				memset(dv, 0, sizeof(float) * (size_t)hd * len);
				for (int i = 0; i < len; i++) {
					const float *doi = dout + ((size_t)b * T + i) * C + h * hd;
					const float *q = base + i * C3 + h * hd;
					float *dq = dbase + i * C3 + h * hd;
					size_t arow = (((size_t)b * NH + h) * T + i) * T;
					const float *a = att + arow;
					/* dp_j = dout_i . v_j */
					for (int j = 0; j < len; j++)
						dp[j] = 0.0f;
					for (int d = 0; d < hd; d++) {
						float g = doi[d];
						const float *vr = vt + (size_t)d * len;
						for (int j = 0; j < len; j++)
							dp[j] += g * vr[j];
					}
					/* through dropout; pd = dropped probabilities */
					for (int j = 0; j < len; j++) {
						int keep = p <= 0.0f || tl_dropout_keep(seed, stream, arow + j, p);
						float f = keep ? dsc : 0.0f;
						dp[j] *= f;
						pd[j] = a[j] * f;
					}
					/* dv_j += pd_j dout_i */
					for (int j = 0; j < len; j++) {
						float w = pd[j];
						float *r = dv + (size_t)j * hd;
						for (int d = 0; d < hd; d++)
							r[d] += w * doi[d];
					}
					/* softmax backward: ds_j = a_j (dp_j - sum_k a_k dp_k) */
					float dot = 0.0f;
					for (int j = 0; j < len; j++)
						dot += a[j] * dp[j];
					for (int j = 0; j < len; j++)
						dp[j] = a[j] * (dp[j] - dot) * scale;
					/* dq_i += sum_j ds_j k_j; dk_j += ds_j q_i */
					float acc[256];
					float *dqa = hd <= 256 ? acc : tl_xcalloc((size_t)hd, sizeof(float));
					for (int d = 0; d < hd; d++)
						dqa[d] = 0.0f;
					for (int j = 0; j < len; j++) {
						float w = dp[j];
						const float *kr = kk + (size_t)j * hd;
						float *r = dk + (size_t)j * hd;
						for (int d = 0; d < hd; d++) {
							dqa[d] += w * kr[d];
							r[d] += w * q[d];
						}
					}
					for (int d = 0; d < hd; d++)
						dq[d] += dqa[d];
					if (dqa != acc)
						free(dqa);
				}
				for (int j = 0; j < len; j++) {
					float *dkr = dbase + j * C3 + C + h * hd;
					float *dvr = dbase + j * C3 + 2 * C + h * hd;
					for (int d = 0; d < hd; d++) {
						dkr[d] += dk[(size_t)j * hd + d];
						dvr[d] += dv[(size_t)j * hd + d];
					}
				}
			}
		free(vt);
		free(kk);
		free(dk);
		free(dv);
		free(dp);
		free(pd);
	}
}
