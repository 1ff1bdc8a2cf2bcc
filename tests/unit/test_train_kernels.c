/* test_train_kernels.c - the CPU training attention (forward and backward,
 * with and without probability dropout) against a plain double-precision
 * reference written from the definition:
 *
 *   s_ij = q_i . k_j / sqrt(hd) for j < len, a_i = softmax(s_i),
 *   out_i = sum_j f_ij a_ij v_j, f_ij = keep(ij) / (1 - p) (1 when p = 0),
 *
 * and its gradient; rows i >= len give zero output and zero probabilities.
 * The dropout element index of (b, h, i, j) is ((b*NH + h)*T + i)*T + j
 * (kernels.h). test_backward covers the same kernels through the
 * whole model against PyTorch with dropout off; this adds dropout, ragged
 * lengths (1, 15, 16, 17, T) and heads whose rows do not fill a vector. */
#include "testhelp.h"

#include "tl/kernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;

static float urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* reference forward and backward of one (b, h) */
static void ref(double *out, double *att, double *dqkv, const float *qkv, const float *dout, int b, int h,
		int len, int T, int C, int NH, float p, uint64_t seed, uint64_t stream)
{
	int hd = C / NH, C3 = 3 * C;
	double scale = 1.0 / sqrt((double)hd);
	const float *base = qkv + (size_t)b * T * C3;
	double *s = calloc((size_t)T, sizeof(double)), *f = calloc((size_t)T, sizeof(double));
	double *dp = calloc((size_t)T, sizeof(double));
	for (int i = 0; i < len; i++) {
		size_t a0 = (((size_t)b * NH + h) * T + i) * T;
		double m = -1e300;
		for (int j = 0; j < len; j++) {
			double d = 0;
			for (int e = 0; e < hd; e++)
				d += (double)base[(size_t)i * C3 + h * hd + e] * base[(size_t)j * C3 + C + h * hd + e];
			s[j] = d * scale;
			m = s[j] > m ? s[j] : m;
		}
		double sum = 0;
		for (int j = 0; j < len; j++)
			sum += s[j] = exp(s[j] - m);
		for (int j = 0; j < len; j++) {
			s[j] /= sum;
			att[a0 + j] = s[j];
			f[j] = p > 0 ? (tl_dropout_keep(seed, stream, a0 + j, p) ? 1.0 / (1.0 - (double)p) : 0.0) : 1.0;
		}
		const float *dO = dout + ((size_t)b * T + i) * C + h * hd;
		for (int e = 0; e < hd; e++) {
			double o = 0;
			for (int j = 0; j < len; j++)
				o += s[j] * f[j] * base[(size_t)j * C3 + 2 * C + h * hd + e];
			out[((size_t)b * T + i) * C + h * hd + e] = o;
		}
		/* backward: dv_j += a_ij f_ij dO_i; dp_j = f_ij dO_i . v_j;
		 * ds_j = a_j (dp_j - sum_k a_k dp_k) * scale; dq_i += ds_j k_j;
		 * dk_j += ds_j q_i */
		double dot = 0;
		for (int j = 0; j < len; j++) {
			double d = 0;
			for (int e = 0; e < hd; e++)
				d += dO[e] * (double)base[(size_t)j * C3 + 2 * C + h * hd + e];
			dp[j] = d * f[j];
			dot += s[j] * dp[j];
			for (int e = 0; e < hd; e++)
				dqkv[((size_t)b * T + j) * C3 + 2 * C + h * hd + e] += s[j] * f[j] * dO[e];
		}
		for (int j = 0; j < len; j++) {
			double ds = s[j] * (dp[j] - dot) * scale;
			for (int e = 0; e < hd; e++) {
				dqkv[((size_t)b * T + i) * C3 + h * hd + e] += ds * base[(size_t)j * C3 + C + h * hd + e];
				dqkv[((size_t)b * T + j) * C3 + C + h * hd + e] += ds * base[(size_t)i * C3 + h * hd + e];
			}
		}
	}
	free(s), free(f), free(dp);
}

static double maxdiff(const float *a, const double *b, size_t n, double *scale)
{
	double m = 0, s = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs(a[i] - b[i]);
		m = d > m ? d : m;
		s = fabs(b[i]) > s ? fabs(b[i]) : s;
	}
	*scale = s;
	return m;
}

int main(void)
{
	const tl_kernels *tk = tl_kernels_cpu();
	enum { B = 5, T = 37, C = 48, NH = 4 };
	int32_t lens[B] = {1, 15, 16, 17, T};
	size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, na = (size_t)B * NH * T * T;
	float *qkv = malloc(nq * sizeof(float)), *dout = malloc(no * sizeof(float));
	for (size_t i = 0; i < nq; i++)
		qkv[i] = 2.0f * urand();
	for (size_t i = 0; i < no; i++)
		dout[i] = urand();
	float *out = malloc(no * sizeof(float)), *att = malloc(na * sizeof(float));
	float *dqkv = malloc(nq * sizeof(float)), *dqkv2 = malloc(nq * sizeof(float));
	double *rout = malloc(no * sizeof(double)), *ratt = malloc(na * sizeof(double));
	double *rdq = malloc(nq * sizeof(double));
	const float ps[2] = {0.0f, 0.1f};
	for (int pi = 0; pi < 2; pi++) {
		float p = ps[pi];
		uint64_t seed = 7, stream = tl_dropout_stream(5, 2);
		memset(out, 0x7f, no * sizeof(float)); /* garbage: every element must be written */
		memset(att, 0x7f, na * sizeof(float));
		tk->attention_forward_train(out, att, qkv, lens, B, T, C, NH, p, seed, stream, 0);
		for (size_t i = 0; i < nq; i++)
			dqkv[i] = 0.25f; /* the backward accumulates */
		tk->attention_backward(dqkv, dout, qkv, att, lens, B, T, C, NH, p, seed, stream, 0);
		memset(rout, 0, no * sizeof(double));
		memset(ratt, 0, na * sizeof(double));
		for (size_t i = 0; i < nq; i++)
			rdq[i] = 0.25;
		for (int b = 0; b < B; b++)
			for (int h = 0; h < NH; h++)
				ref(rout, ratt, rdq, qkv, dout, b, h, lens[b], T, C, NH, p, seed, stream);
		double so, sa, sd;
		double eo = maxdiff(out, rout, no, &so), ea = maxdiff(att, ratt, na, &sa),
		       ed = maxdiff(dqkv, rdq, nq, &sd);
		printf("dropout %.1f: out max error %.2e (of %.2f), probabilities %.2e, dqkv %.2e (of %.2f)\n", p, eo,
		       so, ea, ed, sd);
		CHECK(eo < 1e-5 * so);
		CHECK(ea < 1e-6);
		CHECK(ed < 1e-5 * sd);
		/* padded query rows are exactly zero */
		int zero = 1;
		for (int b = 0; b < B; b++)
			for (int i = lens[b]; i < T; i++)
				for (int c = 0; c < C; c++)
					zero &= out[((size_t)b * T + i) * C + c] == 0.0f;
		CHECK(zero);
		/* deterministic across calls */
		for (size_t i = 0; i < nq; i++)
			dqkv2[i] = 0.25f;
		tk->attention_backward(dqkv2, dout, qkv, att, lens, B, T, C, NH, p, seed, stream, 0);
		CHECK(memcmp(dqkv, dqkv2, nq * sizeof(float)) == 0);
		/* packed rows (the trainer's layout): the real rows only, the same
		 * bits as the padded layout's real rows (the backward assigns: as
		 * the padded one accumulating into zeros); att the same */
		size_t nr = 0;
		for (int b = 0; b < B; b++)
			nr += (size_t)lens[b];
		float *pq = malloc(nr * 3 * C * sizeof(float)), *pd = malloc(nr * C * sizeof(float));
		float *po = malloc(nr * C * sizeof(float)), *pg = malloc(nr * 3 * C * sizeof(float));
		float *att2 = malloc(na * sizeof(float));
		for (int b = 0, r = 0; b < B; b++)
			for (int i = 0; i < lens[b]; i++, r++) {
				memcpy(pq + (size_t)r * 3 * C, qkv + ((size_t)b * T + i) * 3 * C, 3 * C * sizeof(float));
				memcpy(pd + (size_t)r * C, dout + ((size_t)b * T + i) * C, C * sizeof(float));
			}
		for (size_t i = 0; i < nr * 3 * C; i++)
			pg[i] = NAN; /* assigned: nothing read */
		for (size_t i = 0; i < nq; i++)
			dqkv2[i] = 0.0f;
		tk->attention_backward(dqkv2, dout, qkv, att, lens, B, T, C, NH, p, seed, stream, 0);
		memset(att2, 0x7f, na * sizeof(float));
		tk->attention_forward_train(po, att2, pq, lens, B, T, C, NH, p, seed, stream, 1);
		tk->attention_backward(pg, pd, pq, att2, lens, B, T, C, NH, p, seed, stream, 1);
		int same = memcmp(att, att2, na * sizeof(float)) == 0;
		for (int b = 0, r = 0; b < B; b++)
			for (int i = 0; i < lens[b]; i++, r++) {
				same &= memcmp(po + (size_t)r * C, out + ((size_t)b * T + i) * C, C * sizeof(float)) == 0;
				same &= memcmp(pg + (size_t)r * 3 * C, dqkv2 + ((size_t)b * T + i) * 3 * C,
					       3 * C * sizeof(float)) == 0;
			}
		printf("dropout %.1f: packed rows bitwise the padded layout's: %s\n", p, same ? "yes" : "no");
		CHECK(same);
		free(pq), free(pd), free(po), free(pg), free(att2);
	}
	/* dropout actually drops: outputs differ from p = 0 */
	{
		float *o0 = malloc(no * sizeof(float));
		tk->attention_forward_train(o0, att, qkv, lens, B, T, C, NH, 0.0f, 7, 1, 0);
		tk->attention_forward_train(out, att, qkv, lens, B, T, C, NH, 0.1f, 7, 1, 0);
		CHECK(memcmp(o0, out, no * sizeof(float)) != 0);
		free(o0);
	}
	free(qkv), free(dout), free(out), free(att), free(dqkv), free(dqkv2), free(rout), free(ratt), free(rdq);
	TEST_REPORT("test_train_kernels");
}
