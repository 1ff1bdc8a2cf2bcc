/* lib/models/bert/bert_da.c - domain adaptation in the fine-tuning loop
 * (issue 18): domains of the records, the two-domain batch plan, the step's
 * classification + source + domain loss. See bert_da.h and man tl-train
 * (DOMAIN ADAPTATION). Errors are returned (tl_err), never fatal.
 */
#include "bert_da.h"

#include "tl/domain.h"
#include "tl/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DA_MAX_DOMAINS 64

const char *tl_da_method_name(int method)
{
	static const char *const n[] = {"none", "dann", "coral", "mmd"};
	return method >= 0 && method <= TL_DA_MMD ? n[method] : "?";
}

void tl_da_stream(tl_da *da, const char *defname, int src)
{
	da->defname = defname;
	da->cur_src = src;
	da->first_without = 0;
	da->named = 0;
}

static int da_domain_index(tl_da *da, const char *s, size_t len)
{
	for (int i = 0; i < da->nd; i++)
		if (strlen(da->dname[i]) == len && !memcmp(da->dname[i], s, len))
			return i;
	if (da->nd == DA_MAX_DOMAINS)
		return -1;
	da->dname = tl_xrealloc(da->dname, (size_t)(da->nd + 1) * sizeof *da->dname);
	da->dcount = tl_xrealloc(da->dcount, (size_t)(da->nd + 1) * sizeof *da->dcount);
	da->dlab = tl_xrealloc(da->dlab, (size_t)(da->nd + 1) * sizeof *da->dlab);
	char *c = tl_xmalloc(len + 1);
	memcpy(c, s, len);
	c[len] = 0;
	da->dname[da->nd] = c;
	da->dcount[da->nd] = da->dlab[da->nd] = 0;
	return da->nd++;
}

int tl_da_rec(tl_da *da, const tl_record *rec, int has_label, const char *what, tl_err *e)
{
	const msgpack_object *o = tl_rec_get(rec, "domain");
	const char *s;
	size_t len;
	if (o) {
		if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size > 64)
			return tl_seterr(e, TL_EXIT_DATA, "record %llu: %s: \"domain\" is not a string of 1 to 64 bytes",
					 (unsigned long long)rec->no, what);
		if (da->first_without)
			return tl_seterr(e, TL_EXIT_DATA,
					 "record %llu: %s: no \"domain\" (record %llu names one: every record of a stream names its domain, or none)",
					 (unsigned long long)da->first_without, what, (unsigned long long)rec->no);
		s = o->via.str.ptr;
		len = o->via.str.size;
		da->named++;
	} else {
		if (da->named)
			return tl_seterr(e, TL_EXIT_DATA,
					 "record %llu: %s: no \"domain\" (earlier records name one: every record of a stream names its domain, or none)",
					 (unsigned long long)rec->no, what);
		if (!da->first_without)
			da->first_without = rec->no;
		s = da->defname;
		len = strlen(s);
	}
	int d = da_domain_index(da, s, len);
	if (d < 0)
		return tl_seterr(e, TL_EXIT_DATA, "record %llu: %s: more than %d domains", (unsigned long long)rec->no, what,
				 DA_MAX_DOMAINS);
	if (da->n == da->cap) {
		da->cap = da->cap ? 2 * da->cap : 4096;
		da->dom = tl_xrealloc(da->dom, da->cap * sizeof *da->dom);
		da->lab = tl_xrealloc(da->lab, da->cap);
		da->src = tl_xrealloc(da->src, da->cap);
	}
	da->dom[da->n] = d;
	da->lab[da->n] = has_label != 0;
	da->src[da->n] = (unsigned char)da->cur_src;
	da->n++;
	da->dcount[d]++;
	da->dlab[d] += has_label != 0;
	da->nstream[da->cur_src]++;
	da->labelled[da->cur_src] += has_label != 0;
	return 0;
}

int tl_da_ready(tl_da *da, int have_source_opt, long batch, tl_err *e)
{
	(void)batch;
	if (da->method != TL_DA_NONE && da->nd < 2) {
		if (!have_source_opt && da->nd == 1 && !da->named)
			return tl_seterr(e, TL_EXIT_USAGE,
					 "--domain-loss %s needs a second domain: --source SRC, or records that name their \"domain\"",
					 tl_da_method_name(da->method));
		return tl_seterr(e, TL_EXIT_DATA, "--domain-loss %s: the training data has one domain ('%s'): nothing to align",
				 tl_da_method_name(da->method), da->nd ? da->dname[0] : "");
	}
	if ((da->method == TL_DA_CORAL || da->method == TL_DA_MMD) && da->nd > 2) {
		tl_buf b = {0};
		for (int i = 0; i < da->nd; i++)
			tl_buf_printf(&b, "%s%s", i ? ", " : "", da->dname[i]);
		tl_seterr(e, TL_EXIT_DATA, "--domain-loss %s aligns two domains; the training data has %d (%s): use dann",
			  tl_da_method_name(da->method), da->nd, tl_buf_cstr(&b));
		tl_buf_free(&b);
		return -1;
	}
	da->members = tl_xcalloc((size_t)da->nd, sizeof *da->members);
	size_t *k = tl_xcalloc((size_t)da->nd, sizeof *k);
	for (int d = 0; d < da->nd; d++)
		da->members[d] = tl_xmalloc((da->dcount[d] + 1) * sizeof **da->members);
	for (size_t i = 0; i < da->n; i++)
		da->members[da->dom[i]][k[da->dom[i]]++] = i;
	free(k);
	return 0;
}

long tl_da_batches(const tl_da *da, long batch)
{
	size_t mx = 0;
	for (int d = 0; d < da->nd; d++)
		mx = da->dcount[d] > mx ? da->dcount[d] : mx;
	return (long)((mx + (size_t)batch - 1) / (size_t)batch);
}

/* pass q of domain d: a seeded permutation of its members */
static void da_pass(const tl_da *da, int d, uint64_t seed, uint64_t q, size_t *perm)
{
	size_t n = da->dcount[d];
	memcpy(perm, da->members[d], n * sizeof *perm);
	uint64_t s = tl_mix64(seed ^ tl_mix64(0x444f4d41494eull + ((uint64_t)d << 48) + q));
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(((unsigned __int128)tl_mix64(s++) * i) >> 64), t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}

void tl_da_plan(const tl_da *da, long batch, uint64_t seed, long epoch, size_t **idx, size_t **start, size_t *nb)
{
	size_t B = (size_t)batch, NB = (size_t)tl_da_batches(da, batch), D = (size_t)da->nd;
	*nb = NB;
	*idx = tl_xrealloc(*idx, (NB * B * D + 1) * sizeof **idx);
	*start = tl_xrealloc(*start, (NB + 1) * sizeof **start);
	for (size_t b = 0; b <= NB; b++)
		(*start)[b] = b * B * D;
	for (size_t d = 0; d < D; d++) {
		size_t n = da->dcount[d];
		size_t *perm = tl_xmalloc((n + 1) * sizeof *perm);
		/* draw k of this domain: pass k / n, position k % n */
		uint64_t k0 = (uint64_t)epoch * NB * B, q = UINT64_MAX;
		for (size_t b = 0; b < NB; b++)
			for (size_t s = 0; s < B; s++) {
				uint64_t k = k0 + b * B + s;
				if (k / n != q) {
					q = k / n;
					da_pass(da, (int)d, seed, q, perm);
				}
				(*idx)[b * B * D + d * B + s] = perm[k % n];
			}
		free(perm);
	}
}

static void da_scratch(tl_da *da, int B, int C)
{
	if ((size_t)B > da->scap) {
		da->scap = (size_t)B * 2;
		da->y = tl_xrealloc(da->y, da->scap * sizeof *da->y);
		da->dm = tl_xrealloc(da->dm, da->scap * sizeof *da->dm);
		da->swb = tl_xrealloc(da->swb, da->scap * sizeof *da->swb);
	}
	size_t need = (size_t)B * (size_t)C;
	if (need > da->fcap) {
		da->fcap = need * 2;
		da->f = tl_xrealloc(da->f, da->fcap * sizeof *da->f);
		da->df = tl_xrealloc(da->df, da->fcap * sizeof *da->df);
		da->fs = tl_xrealloc(da->fs, da->fcap * sizeof *da->fs);
		da->ft = tl_xrealloc(da->ft, da->fcap * sizeof *da->ft);
		da->gs = tl_xrealloc(da->gs, da->fcap * sizeof *da->gs);
		da->gt = tl_xrealloc(da->gt, da->fcap * sizeof *da->gt);
	}
}

double tl_da_loss(tl_da *da, tl_bert_train *t, const size_t *idx, int B, const int32_t *y, const float *sw,
		  const float *cw, float ls, float scale, double p)
{
	int C = t->m->cfg.C;
	da_scratch(da, B, C);
	/* classification: L_train + lambda L_source, each the (weighted) mean
	 * over its stream's labelled records of the micro-batch, as one
	 * softmax_xent call whose sample weights carry 1 / S_train and
	 * lambda / S_source (S: the sum of class weight x sample weight) */
	double lam = da->sw_anneal ? da->sw * tl_dann_lambda(p, 10.0) : da->sw;
	double S[2] = {0, 0};
	long nlab = 0;
	for (int i = 0; i < B; i++) {
		int lab = da->lab[idx[i]] && y[i] >= 0;
		da->y[i] = lab ? y[i] : 0;
		if (lab) {
			S[da->src[idx[i]]] += (cw ? cw[y[i]] : 1.0) * (double)sw[i];
			nlab++;
		}
	}
	double denom = 0;
	for (int i = 0; i < B; i++) {
		int lab = da->lab[idx[i]] && y[i] >= 0, s = da->src[idx[i]];
		double f = !lab || !(S[s] > 0) ? 0.0 : (s ? lam : 1.0) * (double)sw[i] / S[s];
		da->swb[i] = (float)f;
		denom += (cw ? cw[da->y[i]] : 1.0) * (double)da->swb[i]; /* as the kernel sums it */
	}
	double l;
	if (denom > 0)
		l = tl_bert_train_loss(t, da->y, NULL, cw, da->swb, ls, (float)(scale * denom)) * denom;
	else
		l = tl_bert_train_loss(t, da->y, NULL, cw, da->swb, ls, scale); /* no labelled record: 0, zero gradient */
	da->st_lab += nlab;
	da->st_unlab += B - nlab;
	if (da->method == TL_DA_NONE)
		return l;

	/* the domain loss on the pooled features */
	const float *pooled = tl_bert_train_pooled(t);
	const float *f = pooled;
	if (!t->k->host_memory) {
		t->k->to_host(da->f, pooled, (size_t)B * (size_t)C * sizeof(float));
		f = da->f;
	}
	double W = (da->dw_anneal || da->method == TL_DA_DANN) ? da->dw * tl_dann_lambda(p, 10.0) : da->dw;
	double dl, acc = 0;
	if (da->method == TL_DA_DANN) {
		const tl_bert_params *P = &t->m->params, *G = &t->grads;
		for (int i = 0; i < B; i++)
			da->dm[i] = da->dom[idx[i]];
		dl = tl_dann_loss(f, da->dm, B, C, t->m->cfg.disc_hidden, t->m->cfg.ndomains, P->disc_w1, P->disc_b1,
				  P->disc_w2, P->disc_b2, (float)W, scale, G->disc_w1, G->disc_b1, G->disc_w2, G->disc_b2,
				  da->df, &acc);
	} else {
		int ns = 0, nt = 0;
		size_t rs = (size_t)C * sizeof(float);
		for (int i = 0; i < B; i++) {
			if (da->dom[idx[i]] == 0)
				memcpy(da->fs + (size_t)ns++ * C, f + (size_t)i * C, rs);
			else
				memcpy(da->ft + (size_t)nt++ * C, f + (size_t)i * C, rs);
		}
		float sc = (float)(W * (double)scale);
		dl = da->method == TL_DA_CORAL ? tl_coral_loss(da->fs, ns, da->ft, nt, C, sc, da->gs, da->gt)
					       : tl_mmd_loss(da->fs, ns, da->ft, nt, C, NULL, TL_MMD_NK_DEFAULT, sc, da->gs,
							     da->gt);
		ns = nt = 0;
		for (int i = 0; i < B; i++)
			memcpy(da->df + (size_t)i * C, da->dom[idx[i]] == 0 ? da->gs + (size_t)ns++ * C : da->gt + (size_t)nt++ * C,
			       rs);
	}
	if (!isfinite(dl))
		return NAN;
	tl_bert_train_add_pooled_grad(t, da->df, 1.0f);
	da->st_dloss += dl;
	da->st_dacc += acc;
	da->st_w = W;
	da->st_n++;
	da->ep_dloss += dl;
	da->ep_dacc += acc;
	da->ep_n++;
	return da->method == TL_DA_DANN ? l : l + W * dl;
}

void tl_da_step_begin(tl_da *da)
{
	da->st_dloss = da->st_dacc = 0;
	da->st_lab = da->st_unlab = 0;
	da->st_n = 0;
}

void tl_da_epoch_begin(tl_da *da)
{
	da->ep_dloss = da->ep_dacc = 0;
	da->ep_n = 0;
}

void tl_da_log(const tl_da *da, char *s, size_t cap)
{
	size_t l = strlen(s);
	if (l >= cap)
		return;
	int k = snprintf(s + l, cap - l, ",\"labelled\":%ld,\"unlabelled\":%ld", da->st_lab, da->st_unlab);
	if (k < 0 || (size_t)k >= cap - l || da->method == TL_DA_NONE || !da->st_n)
		return;
	l += (size_t)k;
	if (da->method == TL_DA_DANN)
		snprintf(s + l, cap - l, ",\"domain_loss\":%.6f,\"domain_accuracy\":%.6f,\"domain_weight\":%.6f",
			 da->st_dloss / da->st_n, da->st_dacc / da->st_n, da->st_w);
	else
		snprintf(s + l, cap - l, ",\"domain_loss\":%.6g,\"domain_weight\":%.6f", da->st_dloss / da->st_n, da->st_w);
}

void tl_da_describe(const tl_da *da, FILE *f)
{
	fprintf(f, "tl-train: domains:");
	for (int d = 0; d < da->nd; d++)
		fprintf(f, "%s %s (%zu records, %zu labelled)", d ? "," : "", da->dname[d], da->dcount[d], da->dlab[d]);
	fprintf(f, "; source weight %g%s", da->sw, da->sw_anneal ? " annealed" : "");
	if (da->method != TL_DA_NONE)
		fprintf(f, ", domain loss %s weight %g%s", tl_da_method_name(da->method), da->dw,
			da->method == TL_DA_DANN || da->dw_anneal ? " x 2/(1+exp(-10p))-1" : "");
	fputc('\n', f);
}

const char *tl_da_rec_domain(const tl_da *da, size_t i)
{
	return i < da->n ? da->dname[da->dom[i]] : "";
}

json_t *tl_da_json(const tl_da *da, const char *source)
{
	json_t *j = json_object();
	json_object_set_new(j, "method", json_string(tl_da_method_name(da->method)));
	json_object_set_new(j, "source", source ? json_string(source) : json_null());
	json_object_set_new(j, "source_weight", json_real(da->sw));
	json_object_set_new(j, "source_weight_anneal", json_boolean(da->sw_anneal));
	if (da->method != TL_DA_NONE) {
		json_object_set_new(j, "domain_weight", json_real(da->dw));
		json_object_set_new(j, "domain_weight_anneal", json_boolean(da->dw_anneal || da->method == TL_DA_DANN));
	}
	if (da->method == TL_DA_DANN)
		json_object_set_new(j, "disc_hidden", json_integer(da->hidden));
	json_t *dj = json_array();
	for (int d = 0; d < da->nd; d++)
		json_array_append_new(dj, json_pack("{s:s,s:I,s:I}", "name", da->dname[d], "records", (json_int_t)da->dcount[d],
						    "labelled", (json_int_t)da->dlab[d]));
	json_object_set_new(j, "domains", dj);
	json_object_set_new(j, "train_records", json_pack("{s:I,s:I}", "records", (json_int_t)da->nstream[0], "labelled",
							  (json_int_t)da->labelled[0]));
	json_object_set_new(j, "source_records", json_pack("{s:I,s:I}", "records", (json_int_t)da->nstream[1], "labelled",
							   (json_int_t)da->labelled[1]));
	if (da->method != TL_DA_NONE && da->ep_n > 0) {
		json_object_set_new(j, "domain_loss_last_epoch", json_real(da->ep_dloss / (double)da->ep_n));
		if (da->method == TL_DA_DANN)
			json_object_set_new(j, "domain_accuracy_last_epoch", json_real(da->ep_dacc / (double)da->ep_n));
	}
	return j;
}

void tl_da_free(tl_da *da)
{
	free(da->dom), free(da->lab), free(da->src);
	for (int d = 0; d < da->nd; d++) {
		free(da->dname[d]);
		if (da->members)
			free(da->members[d]);
	}
	free(da->dname), free(da->members), free(da->dcount), free(da->dlab);
	free(da->y), free(da->dm), free(da->swb), free(da->f), free(da->df), free(da->fs), free(da->ft), free(da->gs),
		free(da->gt);
	memset(da, 0, sizeof *da);
}
