/* tl-eval - evaluate predictions: accuracy, per-class P/R/F1, confusion,
 * probability metrics, multi-label figures, breakdowns and comparisons.
 * The numbers come from lib/eval/metrics.c; this file reads records, builds
 * the reports and renders them (table, JSON, SVG). */
#include "tl/cli.h"
#include "tl/fsutil.h"
#include "tl/json.h"
#include "tl/leak.h"
#include "tl/metrics.h"
#include "tl/model.h"
#include "tl/ner.h"
#include "tl/stream.h"
#include "tl/probs.h"
#include "tl/strtab.h"
#include "tl/util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const char usage[] =
	"usage: tl-eval [options] [FILE]\n"
	"Evaluate a stream of records with gold 'label', predicted 'pred' and\n"
	"optionally 'probs' (map label -> probability). Figures equal scikit-learn's.\n"
	"Records with array 'tags' and 'pred' (per-word tags, tl-predict on a token\n"
	"model) are scored as named entities instead, exactly as seqeval's default\n"
	"mode / conlleval: entity P/R/F1 per type, micro, macro, weighted, token accuracy.\n"
	"\n"
	"  -j, --json            one JSON object instead of the table\n"
	"      --svg FILE        write the confusion matrix and reliability diagram as SVG\n"
	"  -b, --by FIELD        also report per value of FIELD (e.g. domain, split,\n"
	"                        task: a multi-task model's maps by the record's task)\n"
	"  -c, --compare FILE    compare with another system's stream, aligned by 'id'\n"
	"      --bootstrap N     bootstrap resamples for --compare (default 1000)\n"
	"      --seed N          bootstrap seed (default 42)\n"
	"      --threshold T     confidence threshold for coverage/accuracy (default 0.9)\n"
	"      --bins N          reliability bins (default 10)\n"
	"      --pos-label L     positive label for binary ROC/PR-AUC (default: the\n"
	"                        second label in natural order)\n"
	"      --exclude-augmented  ignore records with an 'aug' key (from tl-augment)\n"
	"      --exclude-seen    ignore records the model was trained on ('seen': true\n"
	"                        from tl-predict, or found in --model's training keys)\n"
	"      --model DIR       check the records against DIR's training keys\n"
	"                        (train-keys.bin): for predictions made elsewhere\n"
	"      --min-accuracy X  exit 6 when accuracy < X (after the report)\n"
	"      --min-macro-f1 X  exit 6 when macro-F1 < X (after the report)\n"
	"      --label-names SPEC  read labels as names: KEY=NAME,... (e.g. 0=World), or\n"
	"                        a file with one name a line in the model's label\n"
	"                        order (the header's predict.labels from tl-predict)\n"
	"      --force-labels    score even when gold labels are not the model's\n"
	"      --strict          bad records are errors, not warnings\n"
	"      --scheme S        NER tags: iob2 (default), iob1 or iobes; the figures do\n"
	"                        not depend on it, only which tags are warned about\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 bad input (also gold labels that are not the\n"
	"model's labels, see man tl-eval), 4 I/O error, 5 bad --model,\n"
	"6 below --min-*.\n";

/* ---------------- options ---------------- */

static int opt_force_labels;
static tl_label_names names; /* --label-names; keyed once bound */
static const char *opt_names;
static int opt_json, opt_strict, opt_excl_aug, opt_excl_seen, opt_bins = 10, opt_boot = 1000;
static const char *opt_svg, *opt_by, *opt_compare, *opt_pos, *opt_model;
static tl_keyset *train_keys; /* --model's training keys, NULL without */
static double opt_thr = 0.9, opt_min_acc = -1, opt_min_f1 = -1;
static uint64_t opt_seed = 42;
static int opt_scheme = TL_NER_IOB2, opt_scheme_set;

/* ---------------- labels and groups ---------------- */

static tl_strtab label_map, group_map; /* name -> id, ids in order of first sight */
static char **label_name; /* by id; after sort_labels: in natural order */
static int nlabels;
static char **group_name;
static int ngroups;
static unsigned char *label_declared; /* from a header's "labels" */
static int have_declared;

static int label_id(const char *s, size_t n)
{
	const char *nm = opt_names ? tl_label_names_get(&names, s, n) : NULL;
	if (nm)
		s = nm, n = strlen(nm);
	int id = (int)tl_strtab_add(&label_map, s, n, NULL);
	if (id == nlabels) {
		label_name = tl_xrealloc(label_name, (size_t)(nlabels + 1) * sizeof *label_name);
		label_name[nlabels] = tl_xmalloc(n + 1);
		memcpy(label_name[nlabels], s, n);
		label_name[nlabels][n] = 0;
		label_declared = tl_xrealloc(label_declared, (size_t)(nlabels + 1));
		label_declared[nlabels] = 0;
		nlabels++;
	}
	return id;
}

static int group_id(const char *s, size_t n)
{
	int id = (int)tl_strtab_add(&group_map, s, n, NULL);
	if (id == ngroups) {
		group_name = tl_xrealloc(group_name, (size_t)(ngroups + 1) * sizeof *group_name);
		group_name[ngroups] = tl_xmalloc(n + 1);
		memcpy(group_name[ngroups], s, n);
		group_name[ngroups][n] = 0;
		ngroups++;
	}
	return id;
}

/* ---------------- terminal-safe text ---------------- */

/* The length of the valid UTF-8 sequence of a printable character at s
 * (n bytes left), 0 when it is not one: malformed, overlong, a surrogate,
 * or a C1 control (U+0080..U+009F, which terminals obey as ESC sequences). */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned cp;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

/* s (user-controlled: a label, a group, an id, a file name) made safe for
 * a terminal: C escapes for \n \t \r and the backslash, \xHH for every
 * other control or invalid byte; printable ASCII and valid printable UTF-8
 * as they are. Every such string tl-eval's text output and messages
 * print goes through here (--json and --svg escape for their formats).
 * The result lives until 8 more calls. */
static const char *tty(const char *s)
{
	static tl_buf ring[8];
	static int next;
	tl_buf *b = &ring[next];
	next = (next + 1) % 8;
	b->len = 0;
	const unsigned char *u = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)u);
	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		size_t l;
		if (c == '\\')
			tl_buf_adds(b, "\\\\");
		else if (c == '\n')
			tl_buf_adds(b, "\\n");
		else if (c == '\t')
			tl_buf_adds(b, "\\t");
		else if (c == '\r')
			tl_buf_adds(b, "\\r");
		else if (c >= 0x20 && c < 0x7f)
			tl_buf_addc(b, (char)c);
		else if (c >= 0x80 && (l = utf8_printable(u + i, n - i)) > 0) {
			tl_buf_add(b, (const char *)u + i, l);
			i += l;
			continue;
		} else
			tl_buf_printf(b, "\\x%02x", c);
		i++;
	}
	return tl_buf_cstr(b);
}

/* ---------------- datasets ---------------- */

typedef struct {
	uint64_t no;
	size_t goff, poff, qoff; /* into lab pool (gold, pred) and prob pool */
	int ngold, npred, nprob; /* nprob < 0: no usable probs */
	int group;
	int aug;
	int abstain; /* pred "": no prediction (npred 0) */
	int seen; /* trained on: 'seen': true, or a --model training key */
	char *id; /* "s:..." or "i:..."; NULL when absent */
	size_t idlen;
} item;

typedef struct {
	const char *name;
	item *it;
	size_t n, cap;
	int *lab; /* label ids */
	size_t nlab, caplab;
	int *qlab;
	double *qval;
	size_t nq, capq;
	int multilabel;
	/* the model's labels: from a header's predict.labels (have_model), or
	 * seen complete in a 'probs' map that sums to 1 (full_probs) */
	int *mlab;
	size_t nmlab;
	int have_model, full_probs;
	/* bad-input counts */
	size_t skipped, naug, nseen, probs_bad, probs_sum, probs_nogold, probs_undeclared;
	uint64_t first_skipped, first_probs_bad, first_probs_sum, first_nogold, first_seen;
	char first_seen_id[64];
} dataset;

static void push_lab(dataset *d, int id)
{
	if (d->nlab == d->caplab) {
		d->caplab = d->caplab ? 2 * d->caplab : 1024;
		d->lab = tl_xrealloc(d->lab, d->caplab * sizeof *d->lab);
	}
	d->lab[d->nlab++] = id;
}

static void push_prob(dataset *d, int id, double v)
{
	if (d->nq == d->capq) {
		d->capq = d->capq ? 2 * d->capq : 1024;
		d->qlab = tl_xrealloc(d->qlab, d->capq * sizeof *d->qlab);
		d->qval = tl_xrealloc(d->qval, d->capq * sizeof *d->qval);
	}
	d->qlab[d->nq] = id;
	d->qval[d->nq++] = v;
}

static int label_cb(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	return label_id(s, n);
}

/* One label value: string, or an integer written as decimal. 0 or -1. */
static int scalar_label(const msgpack_object *o, int *id)
{
	return tl_label_scalar(o, label_cb, NULL, id);
}

/* label or pred: pushes the ids; returns the count, or -1 when malformed.
 * Sets *arr when the value is an array (multi-label). */
static int parse_labels(dataset *d, const msgpack_object *o, int *arr)
{
	int id;
	*arr = 0;
	if (o->type == MSGPACK_OBJECT_ARRAY) {
		*arr = 1;
		size_t start = d->nlab;
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (scalar_label(&o->via.array.ptr[i], &id) < 0) {
				d->nlab = start;
				return -1;
			}
			int dup = 0;
			for (size_t j = start; j < d->nlab; j++)
				dup |= d->lab[j] == id;
			if (!dup)
				push_lab(d, id);
		}
		return (int)(d->nlab - start);
	}
	if (scalar_label(o, &id) < 0)
		return -1;
	push_lab(d, id);
	return 1;
}

static void bad_record(uint64_t no, const char *what, size_t *count, uint64_t *first)
{
	if (opt_strict)
		tl_die_rec(TL_EXIT_DATA, no, "%s", what);
	if (!*count && first)
		*first = no;
	(*count)++;
}

static void value_key(tl_buf *b, const msgpack_object *o)
{
	b->len = 0;
	if (o->type == MSGPACK_OBJECT_STR)
		tl_buf_add(b, o->via.str.ptr, o->via.str.size);
	else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		tl_buf_printf(b, "%llu", (unsigned long long)o->via.u64);
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		tl_buf_printf(b, "%lld", (long long)o->via.i64);
	else if (o->type == MSGPACK_OBJECT_BOOLEAN)
		tl_buf_adds(b, o->via.boolean ? "true" : "false");
	else if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
		tl_buf_printf(b, "%.17g", o->via.f64);
	else
		tl_buf_printf(b, "(%s)", tl_msgpack_type_name(o->type));
}

/* Was the model trained on rec? Its own "seen": true (tl-predict's mark),
 * or, with keys (--model), its content key or an augmented copy's source
 * key among the training keys. A record is one record however many of
 * these say so. */
static int rec_seen(const tl_record *rec, const tl_keyset *keys)
{
	const msgpack_object *s = tl_rec_get(rec, "seen");
	if (s && s->type == MSGPACK_OBJECT_BOOLEAN && s->via.boolean)
		return 1;
	return keys && tl_keyset_covers(keys, rec);
}

/* Open an input of tl-eval: a record stream, or JSON lines, which the
 * shared reader (tl/stream.h) takes as they are, so that
 * `... | jq -c ... | tl-eval` works. Dies when it cannot be opened. */
static tl_reader *open_input(const char *path, const char *name)
{
	gzFile gz = tl_gzopen_input(path);
	if (!gz)
		tl_die_open(tty(name));
	gzbuffer(gz, 1 << 17);
	tl_reader *r = tl_reader_open_gz(gz);
	tl_reader_set_name(r, tty(name));
	return r;
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
	if (!m || m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	size_t kl = strlen(key);
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl && !memcmp(k->via.str.ptr, key, kl))
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

/* A header written by tl-predict names the model's labels in "predict":
 * "labels" (what pred and probs say) and, after tl-predict --label-names,
 * "label_ids" (the model's own labels, same order). They bind a positional
 * --label-names file (line i names label_ids[i], else labels[i]) and form
 * the model's label set for the label check. */
static void header_model_labels(dataset *d, const tl_record *rec)
{
	const msgpack_object *pr = tl_rec_get(rec, "predict");
	const msgpack_object *l = map_get(pr, "labels"), *ids = map_get(pr, "label_ids");
	if (!l || l->type != MSGPACK_OBJECT_ARRAY)
		return;
	if (opt_names && names.positional) {
		const msgpack_object *src = ids && ids->type == MSGPACK_OBJECT_ARRAY ? ids : l;
		static char **keys; /* static: reachable when an error exits */
		size_t n = src->via.array.size;
		keys = tl_xcalloc(n ? n : 1, sizeof *keys);
		for (size_t i = 0; i < n; i++) {
			const msgpack_object *o = &src->via.array.ptr[i];
			char tmp[32];
			if (o->type == MSGPACK_OBJECT_STR) {
				keys[i] = tl_xmalloc(o->via.str.size + 1);
				if (o->via.str.size)
					memcpy(keys[i], o->via.str.ptr, o->via.str.size);
				keys[i][o->via.str.size] = 0;
			} else {
				if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
					snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)o->via.u64);
				else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
					snprintf(tmp, sizeof tmp, "%lld", (long long)o->via.i64);
				else
					tl_die_rec(TL_EXIT_DATA, rec->no, "%s: the header's predict.labels holds a %s, not a label",
						   tty(d->name), tl_msgpack_type_name(o->type));
				keys[i] = tl_xstrdup(tmp);
			}
		}
		char err[512];
		if (tl_label_names_bind(&names, (const char *const *)keys, n, err, sizeof err) < 0)
			tl_die(TL_EXIT_USAGE, "option --label-names: %s: %s (the model's labels from %s's header)", tty(opt_names),
			       err, tty(d->name));
		for (size_t i = 0; i < n; i++)
			free(keys[i]);
		free(keys);
		keys = NULL;
	}
	for (uint32_t i = 0; i < l->via.array.size; i++) {
		int id;
		if (scalar_label(&l->via.array.ptr[i], &id) < 0)
			continue;
		d->mlab = tl_xrealloc(d->mlab, (d->nmlab + 1) * sizeof *d->mlab);
		d->mlab[d->nmlab++] = id;
		d->have_model = 1;
	}
}

/* ---------------- NER mode ---------------- */

static const char *const scheme_names[] = {"iob2", "iob1", "iobes"};
static json_t *jnum(double x);
static void fmt(char *b, size_t n, double x);

/* The strings of array o (key name what) into *v; dies naming the record. */
static size_t ner_strings(const tl_record *rec, const msgpack_object *o, const char *what, char ***v, size_t *cap,
			  tl_buf *pool)
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		tl_die_rec(TL_EXIT_DATA, rec->no, "'%s' is %s, not an array of tags", what, tl_msgpack_type_name(o->type));
	size_t n = o->via.array.size;
	if (n > *cap) {
		*cap = n + 64;
		*v = tl_xrealloc(*v, *cap * sizeof **v);
	}
	size_t *offs = tl_xmalloc((n ? n : 1) * sizeof *offs);
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *x = &o->via.array.ptr[i];
		if (x->type != MSGPACK_OBJECT_STR)
			tl_die_rec(TL_EXIT_DATA, rec->no, "'%s'[%zu] is %s, not a string", what, i,
				   tl_msgpack_type_name(x->type));
		if (memchr(x->via.str.ptr, 0, x->via.str.size))
			tl_die_rec(TL_EXIT_DATA, rec->no, "'%s'[%zu] holds a NUL byte", what, i);
		offs[i] = pool->len;
		tl_buf_add(pool, x->via.str.ptr, x->via.str.size);
		tl_buf_addc(pool, 0);
	}
	for (size_t i = 0; i < n; i++)
		(*v)[i] = (char *)(uintptr_t)offs[i]; /* an offset into pool until the caller fixes it up */
	free(offs);
	return n;
}

static json_t *ner_avg_json(double p, double r, double f, long tp, long npred, long ngold)
{
	json_t *o = json_object();
	json_object_set_new(o, "precision", jnum(p));
	json_object_set_new(o, "recall", jnum(r));
	json_object_set_new(o, "f1", jnum(f));
	json_object_set_new(o, "tp", json_integer(tp));
	json_object_set_new(o, "pred", json_integer(npred));
	json_object_set_new(o, "support", json_integer(ngold));
	return o;
}

/* Score the rest of the stream (rec is its first data record) as NER and
 * exit. A record without 'pred' is skipped with a warning (an error under
 * --strict) as in classification; tags and pred of different lengths,
 * non-string or malformed tags are errors naming the record. */
static _Noreturn void ner_run(tl_reader *r, tl_record *first, const char *name)
{
	if (opt_compare || opt_by || opt_svg || opt_model || opt_names || opt_pos || opt_excl_seen)
		tl_die(TL_EXIT_USAGE, "%s holds NER records ('tags'): --compare, --by, --svg, --model, --label-names, "
				      "--pos-label and --exclude-seen apply to classification only", tty(name));
	static tl_ner_eval *E;
	static char **gv, **pv;
	static size_t gcap, pcap;
	static tl_buf gpool, ppool;
	E = tl_ner_eval_new(opt_scheme);
	size_t skipped = 0, naug = 0;
	uint64_t first_skipped = 0;
	tl_record rec = *first;
	int have = 1;
	for (;;) {
		if (!have) {
			int ret = tl_reader_next(r, &rec);
			if (ret == TL_READ_EOF)
				break;
			if (ret == TL_READ_ERR) {
				int code = tl_reader_error_code(r);
				if (tl_reader_error_recno(r) == 0)
					tl_die(code, "%s", tl_reader_error(r));
				tl_die_rec(code, tl_reader_count(r), "%s: %s", tty(name), tl_reader_error(r));
			}
		}
		have = 0;
		if (rec.is_header)
			continue;
		if (tl_rec_get(&rec, "aug")) {
			if (opt_excl_aug)
				continue;
			naug++;
		}
		const msgpack_object *g = tl_rec_get(&rec, "tags"), *p = tl_rec_get(&rec, "pred");
		if (!g || !p) {
			bad_record(rec.no, !g && !p ? "no 'tags' and no 'pred'" : !g ? "no 'tags'" : "no 'pred'", &skipped,
				   &first_skipped);
			continue;
		}
		gpool.len = ppool.len = 0;
		size_t ng = ner_strings(&rec, g, "tags", &gv, &gcap, &gpool);
		size_t np = ner_strings(&rec, p, "pred", &pv, &pcap, &ppool);
		if (ng != np)
			tl_die_rec(TL_EXIT_DATA, rec.no, "'tags' has %zu words, 'pred' %zu: not the same sentence", ng, np);
		for (size_t i = 0; i < ng; i++) {
			gv[i] = gpool.data + (uintptr_t)gv[i];
			pv[i] = ppool.data + (uintptr_t)pv[i];
		}
		char err[300];
		if (tl_ner_eval_add(E, (const char *const *)gv, (const char *const *)pv, ng, err, sizeof err) < 0)
			tl_die_rec(TL_EXIT_DATA, rec.no, "%s", tty(err));
	}
	if (skipped)
		tl_warn("%s: %zu records without 'tags' or 'pred' skipped (first: record %llu)", tty(name), skipped,
			(unsigned long long)first_skipped);
	if (naug)
		tl_warn("%s: %zu augmented records in evaluation data (use --exclude-augmented to ignore them)",
			tty(name), naug);
	tl_ner_summary S;
	tl_ner_eval_summary(E, &S);
	if (S.sentences == 0)
		tl_die(TL_EXIT_DATA, "%s: no records to evaluate", tty(name));
	tl_ner_stats st;
	tl_ner_eval_stats(E, &st);
	if (st.es_tags)
		tl_warn("%s: %ld E-/S- tags (IOBES; gold and pred together) in %s data: scored as given (E- ends an entity, S- is one word); "
			"--scheme iobes if that is the scheme",
			tty(name), st.es_tags, scheme_names[opt_scheme]);
	if (st.i_starts)
		tl_warn("%s: %ld entities (gold and pred together) begin with I- (no B- before them: IOB1 style, or ill-formed %s): scored as "
			"conlleval does, an I- after O or after another type starts an entity; --scheme iob1 if that is the "
			"scheme",
			tty(name), st.i_starts, scheme_names[opt_scheme]);
	size_t k = tl_ner_eval_ntypes(E);
	if (opt_json) {
		json_t *o = json_object();
		json_object_set_new(o, "task", json_string("ner"));
		json_object_set_new(o, "scheme", json_string(scheme_names[opt_scheme]));
		json_object_set_new(o, "n", json_integer(S.sentences));
		json_object_set_new(o, "words", json_integer(S.words));
		json_object_set_new(o, "accuracy", jnum(S.accuracy));
		json_object_set_new(o, "micro", ner_avg_json(S.micro_p, S.micro_r, S.micro_f1, S.tp, S.npred, S.ngold));
		json_object_set_new(o, "macro", ner_avg_json(S.macro_p, S.macro_r, S.macro_f1, S.tp, S.npred, S.ngold));
		json_object_set_new(o, "weighted",
				    ner_avg_json(S.weighted_p, S.weighted_r, S.weighted_f1, S.tp, S.npred, S.ngold));
		json_t *ty = json_object();
		for (size_t i = 0; i < k; i++) {
			tl_ner_type_score t;
			tl_ner_eval_type(E, i, &t);
			json_object_set_new(ty, t.type, ner_avg_json(t.precision, t.recall, t.f1, t.tp, t.npred, t.ngold));
		}
		json_object_set_new(o, "types", ty);
		json_t *w = json_object();
		json_object_set_new(w, "skipped", json_integer((json_int_t)skipped));
		json_object_set_new(w, "es_tags", json_integer(st.es_tags));
		json_object_set_new(w, "i_starts", json_integer(st.i_starts));
		json_object_set_new(o, "input", w);
		char *js = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER);
		if (!js)
			tl_die(TL_EXIT_FAIL, "out of memory");
		fputs(js, stdout);
		fputc('\n', stdout);
		free(js);
		json_decref(o);
	} else {
		char a[32], b[32], c[32];
		printf("records %ld, words %ld, entities %ld gold, %ld predicted (seqeval default mode, %s)\n",
		       S.sentences, S.words, S.ngold, S.npred, scheme_names[opt_scheme]);
		printf("%-16s %9s %9s %9s %9s %9s\n", "type", "precision", "recall", "f1", "support", "predicted");
		for (size_t i = 0; i < k; i++) {
			tl_ner_type_score t;
			tl_ner_eval_type(E, i, &t);
			fmt(a, sizeof a, t.precision), fmt(b, sizeof b, t.recall), fmt(c, sizeof c, t.f1);
			printf("%-16s %9s %9s %9s %9ld %9ld\n", tty(t.type), a, b, c, t.ngold, t.npred);
		}
		const char *an[3] = {"micro avg", "macro avg", "weighted avg"};
		double av[3][3] = {{S.micro_p, S.micro_r, S.micro_f1},
				   {S.macro_p, S.macro_r, S.macro_f1},
				   {S.weighted_p, S.weighted_r, S.weighted_f1}};
		printf("\n");
		for (int i = 0; i < 3; i++) {
			fmt(a, sizeof a, av[i][0]), fmt(b, sizeof b, av[i][1]), fmt(c, sizeof c, av[i][2]);
			printf("%-16s %9s %9s %9s %9ld %9ld\n", an[i], a, b, c, S.ngold, S.npred);
		}
		fmt(a, sizeof a, S.accuracy);
		printf("%-16s %9s (%ld of %ld words)\n", "token accuracy", a, S.words_correct, S.words);
	}
	int rc = TL_EXIT_OK;
	if (opt_min_acc >= 0 && !(S.accuracy >= opt_min_acc)) {
		fflush(stdout);
		tl_warn("token accuracy %.4f is below --min-accuracy %g", S.accuracy, opt_min_acc);
		rc = TL_EXIT_BELOW;
	}
	if (opt_min_f1 >= 0 && !(S.macro_f1 >= opt_min_f1)) {
		fflush(stdout);
		tl_warn("macro entity F1 %.4f is below --min-macro-f1 %g", S.macro_f1, opt_min_f1);
		rc = TL_EXIT_BELOW;
	}
	tl_reader_close(r);
	tl_ner_eval_free(E);
	free(gv), free(pv), tl_buf_free(&gpool), tl_buf_free(&ppool);
	tl_close_stdout();
	exit(rc);
}

/* A multi-task model's prediction (tl-predict without --task): "pred" a
 * map task -> label and "probs" a map task -> {label: p}. *p and *q
 * become the entries of the record's "task"; NULL, or why the record
 * cannot be scored. */
static const char *task_entry(const tl_record *rec, const msgpack_object **p, const msgpack_object **q)
{
	const msgpack_object *t = tl_rec_get(rec, "task");
	if (!t || t->type != MSGPACK_OBJECT_STR)
		return "'pred' is a map of tasks (a multi-task model's) and the record has no string 'task'";
	char key[128];
	if (t->via.str.size >= sizeof key)
		return "'task' is too long";
	memcpy(key, t->via.str.ptr, t->via.str.size);
	key[t->via.str.size] = 0;
	*p = map_get(*p, key);
	if (!*p)
		return "'pred' has no entry for the record's 'task'";
	if (*q && (*q)->type == MSGPACK_OBJECT_MAP) {
		const msgpack_object *v = map_get(*q, key);
		if (v && v->type == MSGPACK_OBJECT_MAP)
			*q = v;
	}
	return NULL;
}

static void read_dataset(dataset *d, const char *path, const tl_keyset *keys)
{
	d->name = path && strcmp(path, "-") ? path : "standard input";
	static tl_reader *r; /* static: reachable when an error exits */
	static tl_buf kb;
	static int *pq_ids; /* one record's probs */
	static double *pq_vals;
	static size_t pq_cap;
	r = open_input(path, d->name);
	tl_record rec;
	for (;;) {
		int ret = tl_reader_next(r, &rec);
		if (ret == TL_READ_EOF)
			break;
		if (ret == TL_READ_ERR) {
			int code = tl_reader_error_code(r);
			if (tl_reader_error_recno(r) == 0) /* about the whole input: the message names it */
				tl_die(code, "%s", tl_reader_error(r));
			tl_die_rec(code, tl_reader_count(r), "%s: %s", tty(d->name), tl_reader_error(r));
		}
		if (rec.is_header) {
			header_model_labels(d, &rec);
			const msgpack_object *l = tl_rec_get(&rec, "labels");
			if (l && l->type == MSGPACK_OBJECT_ARRAY) {
				for (uint32_t i = 0; i < l->via.array.size; i++) {
					int id;
					if (scalar_label(&l->via.array.ptr[i], &id) == 0) {
						label_declared[id] = 1;
						have_declared = 1;
					}
				}
			}
			continue;
		}
		static int kind_checked;
		if (!kind_checked) {
			kind_checked = 1;
			const msgpack_object *t = tl_rec_get(&rec, "tags");
			if (t && t->type == MSGPACK_OBJECT_ARRAY && !tl_rec_get(&rec, "label"))
				ner_run(r, &rec, d->name); /* does not return */
		}
		if (opt_names && names.positional)
			tl_die(TL_EXIT_USAGE, "option --label-names: %s names labels in the model's order, and %s has no header "
					      "with tl-predict's predict.labels before its first record: give KEY=NAME,... instead",
			       tty(opt_names), tty(d->name));
		const msgpack_object *aug = tl_rec_get(&rec, "aug");
		if (aug && opt_excl_aug)
			continue;
		int seen = rec_seen(&rec, keys);
		if (seen && opt_excl_seen)
			continue;
		const msgpack_object *g = tl_rec_get(&rec, "label"), *p = tl_rec_get(&rec, "pred");
		const msgpack_object *q = tl_rec_get(&rec, "probs");
		if (p && p->type == MSGPACK_OBJECT_MAP) {
			/* a multi-task model's maps (tl-predict): the record's task's entry */
			const char *why = task_entry(&rec, &p, &q);
			if (why) {
				bad_record(rec.no, why, &d->skipped, &d->first_skipped);
				continue;
			}
		}
		if (!g || !p) {
			bad_record(rec.no, !g && !p ? "no 'label' and no 'pred'" : !g ? "no 'label'" : "no 'pred'",
				   &d->skipped, &d->first_skipped);
			continue;
		}
		size_t lab0 = d->nlab;
		int ga = 0, pa = 0;
		int ng = parse_labels(d, g, &ga);
		/* pred "" (tl-predict --threshold) is an abstention, not a class */
		int abstain = p->type == MSGPACK_OBJECT_STR && p->via.str.size == 0;
		int np = ng < 0 ? -1 : abstain ? 0 : parse_labels(d, p, &pa);
		if (ng < 0 || np < 0) {
			d->nlab = lab0;
			bad_record(rec.no, ng < 0 ? "'label' is not a string or an array of strings"
						  : "'pred' is not a string or an array of strings",
				   &d->skipped, &d->first_skipped);
			continue;
		}
		if (ga || pa)
			d->multilabel = 1;
		if (d->n == d->cap) {
			d->cap = d->cap ? 2 * d->cap : 1024;
			d->it = tl_xrealloc(d->it, d->cap * sizeof *d->it);
		}
		item *x = &d->it[d->n++];
		memset(x, 0, sizeof *x);
		x->no = rec.no;
		x->goff = lab0;
		x->ngold = ng;
		x->poff = lab0 + (size_t)ng;
		x->npred = np;
		x->aug = aug != NULL;
		d->naug += x->aug;
		x->abstain = abstain;
		x->seen = seen;
		if (seen && !d->nseen++) {
			d->first_seen = rec.no;
			tl_rec_id_text(&rec, d->first_seen_id, sizeof d->first_seen_id);
		}
		x->group = -1;
		x->nprob = -1;
		if (opt_by) {
			const msgpack_object *v = tl_rec_get(&rec, opt_by);
			if (v)
				value_key(&kb, v);
			else {
				kb.len = 0;
				tl_buf_adds(&kb, "(missing)");
			}
			x->group = group_id(kb.data, kb.len);
		}
		const msgpack_object *id = tl_rec_get(&rec, "id");
		if (id && opt_compare) {
			kb.len = 0;
			if (id->type == MSGPACK_OBJECT_STR) {
				tl_buf_add(&kb, "s:", 2);
				tl_buf_add(&kb, id->via.str.ptr, id->via.str.size);
			} else if (id->type == MSGPACK_OBJECT_POSITIVE_INTEGER || id->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
				tl_buf_add(&kb, "i:", 2);
				tl_buf_printf(&kb, "%lld", (long long)id->via.i64);
			}
			if (kb.len) {
				x->id = tl_xmalloc(kb.len + 1);
				memcpy(x->id, kb.data, kb.len);
				x->id[kb.len] = 0;
				x->idlen = kb.len;
			}
		}
		if (!q)
			continue;
		long nq = tl_probs_parse(q, label_cb, NULL, &pq_ids, &pq_vals, &pq_cap);
		if (nq == TL_PROBS_NOT_MAP) {
			bad_record(rec.no, "'probs' is not a map of label -> probability", &d->probs_bad,
				   &d->first_probs_bad);
			continue;
		}
		size_t q0 = d->nq;
		double sum = 0;
		int bad = nq < 0, hasgold = 0, undeclared = 0;
		for (long i = 0; i < nq; i++) {
			int lid = pq_ids[i];
			double val = pq_vals[i];
			if (have_declared && !label_declared[lid])
				undeclared = 1;
			for (int j = 0; j < ng; j++)
				hasgold |= d->lab[x->goff + (size_t)j] == lid;
			sum += val;
			push_prob(d, lid, val);
		}
		if (bad) {
			d->nq = q0;
			bad_record(rec.no, "'probs' has a key that is not a label or a value that is not a probability in [0, 1]",
				   &d->probs_bad, &d->first_probs_bad);
			continue;
		}
		if (undeclared)
			bad_record(rec.no, "'probs' names a label that the header's 'labels' does not declare",
				   &d->probs_undeclared, NULL);
		if (fabs(sum - 1) <= 1e-3 && !d->multilabel && !ga)
			d->full_probs = 1;
		if (fabs(sum - 1) > 1e-3) {
			char m[96];
			snprintf(m, sizeof m, "probabilities sum to %.6g, not 1 (tolerance 1e-3)", sum);
			bad_record(rec.no, m, &d->probs_sum, &d->first_probs_sum);
		}
		if (!d->multilabel && ng == 1 && !hasgold)
			bad_record(rec.no, "'probs' has no entry for the gold label (taken as 0)", &d->probs_nogold,
				   &d->first_nogold);
		x->qoff = q0;
		x->nprob = (int)(d->nq - q0);
	}
	tl_buf_free(&kb);
	free(pq_ids);
	free(pq_vals);
	pq_ids = NULL;
	pq_vals = NULL;
	pq_cap = 0;
	tl_reader_close(r);
}

static void warn_dataset(const dataset *d)
{
	if (d->skipped)
		tl_warn("%s: %zu records without a usable 'label' or 'pred' skipped (first: record %llu)", tty(d->name),
			d->skipped, (unsigned long long)d->first_skipped);
	if (d->probs_bad)
		tl_warn("%s: %zu records with malformed 'probs' (ignored for probability metrics; first: record %llu)",
			tty(d->name), d->probs_bad, (unsigned long long)d->first_probs_bad);
	if (d->probs_sum)
		tl_warn("%s: %zu records whose probabilities do not sum to 1 within 1e-3 (used as given; first: record %llu)",
			tty(d->name), d->probs_sum, (unsigned long long)d->first_probs_sum);
	if (d->probs_nogold)
		tl_warn("%s: %zu records whose 'probs' lack the gold label (probability taken as 0; first: record %llu)",
			tty(d->name), d->probs_nogold, (unsigned long long)d->first_nogold);
	if (d->probs_undeclared)
		tl_warn("%s: %zu records with 'probs' for labels the header does not declare", tty(d->name),
			d->probs_undeclared);
	if (d->naug)
		tl_warn("%s: %zu augmented records in evaluation data (use --exclude-augmented to ignore them)",
			tty(d->name), d->naug);
	if (d->nseen) {
		char id[sizeof d->first_seen_id + 8] = "";
		if (d->first_seen_id[0])
			snprintf(id, sizeof id, ", id '%s'", tty(d->first_seen_id));
		tl_warn("%s: %zu records the model was trained on (first: record %llu%s); --exclude-seen ignores them",
			tty(d->name), d->nseen, (unsigned long long)d->first_seen, id);
	}
}

/* The labels in natural order whose flag is set, as "{a, b, c}" (the first
 * 20, then how many in all), appended to b. */
static void label_set_text(tl_buf *b, const unsigned char *flag)
{
	int *ids = tl_xmalloc((size_t)(nlabels ? nlabels : 1) * sizeof *ids), n = 0;
	for (int i = 0; i < nlabels; i++)
		if (flag[i])
			ids[n++] = i;
	for (int i = 1; i < n; i++) /* insertion sort in natural order */
		for (int j = i; j > 0 && tl_metrics_natcmp(label_name[ids[j - 1]], label_name[ids[j]]) > 0; j--) {
			int t = ids[j];
			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	tl_buf_addc(b, '{');
	for (int i = 0; i < n && i < 20; i++)
		tl_buf_printf(b, "%s%s", i ? ", " : "", tty(label_name[ids[i]]));
	if (n > 20)
		tl_buf_printf(b, ", ... (%d in all)", n);
	tl_buf_addc(b, '}');
	free(ids);
}

/* Do the gold labels and the model's labels match? The model's label set
 * is known in full from a tl-predict header (predict.labels) or from a
 * 'probs' map that sums to 1 (all its labels present; the union of all
 * records' probs keys and preds is taken); then a gold label outside it is
 * an error: the model can never predict it (0-3 against 1-4, names against
 * ids). Known only in part (pred alone, or top-k probs), a class may simply
 * never be predicted, so only gold and predicted labels without any label
 * in common are an error. --force-labels makes either a warning. Exit 3. */
static void check_labels(const dataset *d)
{
	size_t nl = (size_t)(nlabels ? nlabels : 1);
	static unsigned char *G, *M, *U; /* static: reachable when an error exits */
	static long *cnt;
	static tl_buf msg;
	G = tl_xcalloc(nl, 1), M = tl_xcalloc(nl, 1), U = tl_xcalloc(nl, 1);
	cnt = tl_xcalloc(nl, sizeof *cnt);
	for (size_t i = 0; i < d->nmlab; i++)
		M[d->mlab[i]] = 1;
	for (size_t j = 0; j < d->n; j++) {
		const item *x = &d->it[j];
		for (int i = 0; i < x->ngold; i++) {
			G[d->lab[x->goff + (size_t)i]] = 1;
			cnt[d->lab[x->goff + (size_t)i]]++;
		}
		if (d->have_model)
			continue;
		for (int i = 0; i < x->npred; i++)
			M[d->lab[x->poff + (size_t)i]] = 1;
		for (int i = 0; i < x->nprob; i++)
			M[d->qlab[x->qoff + (size_t)i]] = 1;
	}
	int complete = d->have_model || d->full_probs, nunk = 0, common = 0, anym = 0;
	long nrec = 0;
	for (int i = 0; i < nlabels; i++) {
		anym |= M[i];
		common |= G[i] && M[i];
		if (G[i] && !M[i]) {
			U[i] = 1;
			nunk++;
			nrec += cnt[i];
		}
	}
	const char *src = d->have_model ? "tl-predict's header"
			  : d->full_probs ? "the keys of 'probs' and 'pred'" : "'pred' and 'probs'";
	msg.len = 0;
	if (anym && complete && nunk) {
		tl_buf_printf(&msg, "%s: %s%d gold label%s the model does not have (%ld of %zu records): ", tty(d->name),
			      opt_force_labels ? "scoring anyway (--force-labels): " : "", nunk, nunk > 1 ? "s" : "", nrec, d->n);
		label_set_text(&msg, U);
	} else if (anym && !common) {
		tl_buf_printf(&msg, "%s: %sthe gold labels and the predicted labels have none in common", tty(d->name),
			      opt_force_labels ? "scoring anyway (--force-labels): " : "");
	}
	if (msg.len) {
		tl_buf_adds(&msg, "; gold labels ");
		label_set_text(&msg, G);
		tl_buf_printf(&msg, ", model labels (from %s) ", src);
		label_set_text(&msg, M);
		if (!opt_force_labels)
			tl_buf_adds(&msg, "; map them with --label-names (e.g. 0=World,1=Sports) or score anyway with --force-labels");
		if (opt_force_labels)
			tl_warn("%s", tl_buf_cstr(&msg));
		else
			tl_die(TL_EXIT_DATA, "%s", tl_buf_cstr(&msg));
	}
	tl_buf_free(&msg);
	free(G), free(M), free(U), free(cnt);
	G = M = U = NULL;
	cnt = NULL;
}

/* Put labels in natural order and renumber every pool. */
static int *label_rank;
static int cmp_label_ids(const void *a, const void *b)
{
	return tl_metrics_natcmp(label_name[*(const int *)a], label_name[*(const int *)b]);
}

static void sort_labels(dataset **ds, int nds)
{
	int *order = tl_xmalloc((size_t)(nlabels ? nlabels : 1) * sizeof *order);
	for (int i = 0; i < nlabels; i++)
		order[i] = i;
	qsort(order, (size_t)nlabels, sizeof *order, cmp_label_ids);
	label_rank = tl_xmalloc((size_t)(nlabels ? nlabels : 1) * sizeof *label_rank);
	char **names = tl_xmalloc((size_t)(nlabels ? nlabels : 1) * sizeof *names);
	for (int i = 0; i < nlabels; i++) {
		label_rank[order[i]] = i;
		names[i] = label_name[order[i]];
	}
	free(label_name);
	label_name = names;
	for (int j = 0; j < nds; j++) {
		dataset *d = ds[j];
		for (size_t i = 0; i < d->nlab; i++)
			d->lab[i] = label_rank[d->lab[i]];
		for (size_t i = 0; i < d->nq; i++)
			d->qlab[i] = label_rank[d->qlab[i]];
	}
	free(order);
}

/* ---------------- reports ---------------- */

#define RC_POINTS 10

typedef struct {
	size_t n, naug, nseen;
	int multilabel;
	int k;       /* labels in this report */
	int *lab;    /* their global ids, in natural order */
	unsigned char *use; /* in the averages (seen in gold or pred) */
	long *cm;    /* k x k, rows gold, columns pred (single-label) */
	tl_prf *per;
	tl_prf_avg avg;
	double accuracy, hamming;
	/* probabilities (single-label) */
	size_t nprob;
	int binary, pos;
	double log_loss, roc_auc, pr_auc, ece;
	double *auc_c, *ap_c; /* per class (one-vs-rest) */
	const char *auc_note;
	tl_calib_bin *bins;
	size_t thr_n;
	double thr_cov, thr_acc;
	/* abstentions (pred ""; single-label) */
	size_t nabstain;
	double coverage, sel_acc; /* share predicted, accuracy on those */
	long *abst_row;           /* k: abstentions per gold label */
	tl_rc_point rc[RC_POINTS]; /* risk-coverage from probs (nprob > 0) */
} report;

static void report_free(report *r)
{
	free(r->lab), free(r->use), free(r->cm), free(r->per), free(r->auc_c), free(r->ap_c), free(r->bins);
	free(r->abst_row);
	memset(r, 0, sizeof *r);
}

static double mean_defined(const double *v, int k, int *nd)
{
	double s = 0;
	int m = 0;
	for (int i = 0; i < k; i++)
		if (!isnan(v[i]))
			s += v[i], m++;
	if (nd)
		*nd = m;
	return m ? s / m : NAN;
}

static void compute(report *r, const dataset *d, const size_t *sel, size_t n)
{
	memset(r, 0, sizeof *r);
	r->n = n;
	r->multilabel = d->multilabel;
	int *g2r = tl_xmalloc((size_t)(nlabels ? nlabels : 1) * sizeof *g2r);
	unsigned char *inuse = tl_xcalloc((size_t)(nlabels ? nlabels : 1), 1);
	unsigned char *seen = tl_xcalloc((size_t)(nlabels ? nlabels : 1), 1);
	for (size_t j = 0; j < n; j++) {
		const item *x = &d->it[sel[j]];
		r->naug += x->aug;
		r->nseen += x->seen;
		for (int i = 0; i < x->ngold; i++)
			inuse[d->lab[x->goff + (size_t)i]] = 1;
		for (int i = 0; i < x->npred; i++)
			inuse[d->lab[x->poff + (size_t)i]] = 1;
		if (!d->multilabel)
			for (int i = 0; i < x->nprob; i++)
				seen[d->qlab[x->qoff + (size_t)i]] = 1;
	}
	r->lab = tl_xmalloc((size_t)(nlabels ? nlabels : 1) * sizeof *r->lab);
	r->use = tl_xmalloc((size_t)(nlabels ? nlabels : 1));
	for (int i = 0; i < nlabels; i++) {
		g2r[i] = -1;
		if (inuse[i] || seen[i]) {
			g2r[i] = r->k;
			r->use[r->k] = inuse[i];
			r->lab[r->k++] = i;
		}
	}
	int k = r->k;
	long *cnt = tl_xcalloc((size_t)k * 3 + 1, sizeof *cnt), *tp = cnt, *ng = cnt + k, *npr = cnt + 2 * k;
	r->per = tl_xcalloc((size_t)k + 1, sizeof *r->per);
	if (!d->multilabel) {
		r->cm = tl_xcalloc((size_t)k * (size_t)k + 1, sizeof *r->cm);
		r->abst_row = tl_xcalloc((size_t)k + 1, sizeof *r->abst_row);
		size_t ok = 0;
		for (size_t j = 0; j < n; j++) {
			const item *x = &d->it[sel[j]];
			int a = g2r[d->lab[x->goff]];
			ng[a]++;
			if (x->abstain) { /* a miss for the gold label's recall, no class predicted */
				r->abst_row[a]++;
				r->nabstain++;
				continue;
			}
			int b = g2r[d->lab[x->poff]];
			r->cm[(size_t)a * (size_t)k + (size_t)b]++;
			npr[b]++;
			if (a == b)
				tp[a]++, ok++;
		}
		r->accuracy = (double)ok / (double)n; /* abstentions count as errors */
		r->coverage = (double)(n - r->nabstain) / (double)n;
		r->sel_acc = n > r->nabstain ? (double)ok / (double)(n - r->nabstain) : NAN;
		tl_metrics_prf(tp, ng, npr, k, r->use, r->per, &r->avg);
	} else {
		unsigned char *G = tl_xcalloc(n * (size_t)k + 1, 1), *P = tl_xcalloc(n * (size_t)k + 1, 1);
		for (size_t j = 0; j < n; j++) {
			const item *x = &d->it[sel[j]];
			for (int i = 0; i < x->ngold; i++)
				G[j * (size_t)k + (size_t)g2r[d->lab[x->goff + (size_t)i]]] = 1;
			for (int i = 0; i < x->npred; i++)
				P[j * (size_t)k + (size_t)g2r[d->lab[x->poff + (size_t)i]]] = 1;
		}
		for (size_t j = 0; j < n; j++)
			for (int i = 0; i < k; i++) {
				unsigned char a = G[j * (size_t)k + (size_t)i], b = P[j * (size_t)k + (size_t)i];
				ng[i] += a, npr[i] += b, tp[i] += a && b;
			}
		r->accuracy = tl_metrics_subset_accuracy(G, P, n, k);
		r->hamming = tl_metrics_hamming_loss(G, P, n, k);
		tl_metrics_prf(tp, ng, npr, k, NULL, r->per, &r->avg);
		free(G), free(P);
	}
	free(cnt);

	/* probabilities */
	for (size_t j = 0; j < n && !d->multilabel; j++)
		r->nprob += d->it[sel[j]].nprob >= 0;
	if (r->nprob) {
		size_t m = r->nprob;
		double *Pm = tl_xcalloc(m * (size_t)k, sizeof *Pm);
		int *gold = tl_xmalloc(m * sizeof *gold);
		size_t j2 = 0;
		for (size_t j = 0; j < n; j++) {
			const item *x = &d->it[sel[j]];
			if (x->nprob < 0)
				continue;
			gold[j2] = g2r[d->lab[x->goff]];
			for (int i = 0; i < x->nprob; i++)
				Pm[j2 * (size_t)k + (size_t)g2r[d->qlab[x->qoff + (size_t)i]]] = d->qval[x->qoff + (size_t)i];
			j2++;
		}
		double *pg = tl_xmalloc(m * sizeof *pg), *conf = tl_xmalloc(m * sizeof *conf),
		       *col = tl_xmalloc(m * sizeof *col);
		unsigned char *ok = tl_xmalloc(m), *pos = tl_xmalloc(m);
		size_t thr_ok = 0;
		for (size_t i = 0; i < m; i++) {
			const double *row = Pm + i * (size_t)k;
			pg[i] = row[gold[i]];
			int am = 0;
			for (int c = 1; c < k; c++)
				if (row[c] > row[am])
					am = c;
			conf[i] = row[am];
			ok[i] = am == gold[i];
			if (conf[i] >= opt_thr) {
				r->thr_n++;
				thr_ok += ok[i];
			}
		}
		r->log_loss = tl_metrics_log_loss(pg, m);
		r->bins = tl_xcalloc((size_t)opt_bins, sizeof *r->bins);
		r->ece = tl_metrics_ece(conf, ok, m, opt_bins, r->bins);
		r->thr_cov = (double)r->thr_n / (double)m;
		if (r->nabstain)
			tl_metrics_risk_coverage(conf, ok, m, RC_POINTS, r->rc);
		r->thr_acc = r->thr_n ? (double)thr_ok / (double)r->thr_n : NAN;
		r->auc_c = tl_xmalloc((size_t)k * sizeof *r->auc_c);
		r->ap_c = tl_xmalloc((size_t)k * sizeof *r->ap_c);
		for (int c = 0; c < k; c++) {
			for (size_t i = 0; i < m; i++) {
				col[i] = Pm[i * (size_t)k + (size_t)c];
				pos[i] = gold[i] == c;
			}
			r->auc_c[c] = tl_metrics_roc_auc(col, pos, m);
			r->ap_c[c] = tl_metrics_average_precision(col, pos, m);
		}
		if (k == 2) {
			r->binary = 1;
			r->pos = 1;
			if (opt_pos) {
				int gid = (int)tl_strtab_find(&label_map, opt_pos, strlen(opt_pos));
				if (gid >= 0 && g2r[label_rank[gid]] >= 0)
					r->pos = g2r[label_rank[gid]];
			}
			r->roc_auc = r->auc_c[r->pos];
			r->pr_auc = r->ap_c[r->pos];
			if (isnan(r->roc_auc))
				r->auc_note = "only one class present in gold: ROC-AUC is not defined";
		} else {
			int nd;
			r->roc_auc = mean_defined(r->auc_c, k, &nd);
			r->pr_auc = mean_defined(r->ap_c, k, NULL);
			if (nd == 0)
				r->auc_note = "only one class present in gold: ROC-AUC is not defined";
			else if (nd < k)
				r->auc_note = "one-vs-rest macro over the labels present in gold (others undefined)";
		}
		free(Pm), free(gold), free(pg), free(conf), free(col), free(ok), free(pos);
	}
	free(g2r), free(inuse), free(seen);
}

/* ---------------- JSON ---------------- */

static json_t *jnum(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *report_json(const report *r)
{
	json_t *o = json_object();
	int k = r->k;
	json_object_set_new(o, "n", json_integer((json_int_t)r->n));
	json_object_set_new(o, "augmented", json_integer((json_int_t)r->naug));
	json_object_set_new(o, "seen", json_integer((json_int_t)r->nseen));
	json_object_set_new(o, "multilabel", json_boolean(r->multilabel));
	json_t *labs = json_array();
	for (int i = 0; i < k; i++)
		json_array_append_new(labs, json_string(label_name[r->lab[i]]));
	json_object_set_new(o, "labels", labs);
	json_object_set_new(o, "accuracy", jnum(r->accuracy));
	if (r->multilabel) {
		json_object_set_new(o, "subset_accuracy", jnum(r->accuracy));
		json_object_set_new(o, "hamming_loss", jnum(r->hamming));
	}
	if (r->nabstain) {
		json_t *ab = json_object();
		json_object_set_new(ab, "n", json_integer((json_int_t)r->nabstain));
		json_object_set_new(ab, "coverage", jnum(r->coverage));
		json_object_set_new(ab, "selective_accuracy", jnum(r->sel_acc));
		json_object_set_new(ab, "accuracy", jnum(r->accuracy));
		json_t *row = json_object();
		for (int i = 0; i < k; i++)
			json_object_set_new(row, label_name[r->lab[i]], json_integer(r->abst_row[i]));
		json_object_set_new(ab, "per_gold_label", row);
		if (r->nprob) {
			json_t *curve = json_array();
			for (int i = 0; i < RC_POINTS; i++) {
				if (i && r->rc[i].n == r->rc[i - 1].n)
					continue; /* few records: the same point again */
				json_t *pt = json_object();
				json_object_set_new(pt, "coverage", jnum(r->rc[i].coverage));
				json_object_set_new(pt, "n", json_integer(r->rc[i].n));
				json_object_set_new(pt, "risk", jnum(r->rc[i].risk));
				json_object_set_new(pt, "threshold", jnum(r->rc[i].threshold));
				json_array_append_new(curve, pt);
			}
			json_object_set_new(ab, "risk_coverage", curve);
		}
		json_object_set_new(o, "abstention", ab);
	}
	json_object_set_new(o, "macro_precision", jnum(r->avg.macro_p));
	json_object_set_new(o, "macro_recall", jnum(r->avg.macro_r));
	json_object_set_new(o, "macro_f1", jnum(r->avg.macro_f1));
	json_object_set_new(o, "micro_precision", jnum(r->avg.micro_p));
	json_object_set_new(o, "micro_recall", jnum(r->avg.micro_r));
	json_object_set_new(o, "micro_f1", jnum(r->avg.micro_f1));
	json_object_set_new(o, "weighted_precision", jnum(r->avg.weighted_p));
	json_object_set_new(o, "weighted_recall", jnum(r->avg.weighted_r));
	json_object_set_new(o, "weighted_f1", jnum(r->avg.weighted_f1));
	json_t *pc = json_object();
	for (int i = 0; i < k; i++) {
		json_t *c = json_object();
		json_object_set_new(c, "precision", jnum(r->per[i].precision));
		json_object_set_new(c, "recall", jnum(r->per[i].recall));
		json_object_set_new(c, "f1", jnum(r->per[i].f1));
		json_object_set_new(c, "support", json_integer(r->per[i].support));
		if (!r->use[i])
			json_object_set_new(c, "in_averages", json_false());
		json_object_set_new(pc, label_name[r->lab[i]], c);
	}
	json_object_set_new(o, "per_class", pc);
	if (!r->multilabel) {
		json_t *cm = json_object(), *mat = json_array();
		json_object_set_new(cm, "labels", json_deep_copy(labs));
		for (int a = 0; a < k; a++) {
			json_t *row = json_array();
			for (int b = 0; b < k; b++)
				json_array_append_new(row, json_integer(r->cm[(size_t)a * (size_t)k + (size_t)b]));
			json_array_append_new(mat, row);
		}
		json_object_set_new(cm, "matrix", mat);
		json_object_set_new(o, "confusion", cm);
	}
	if (r->nprob) {
		json_object_set_new(o, "n_probs", json_integer((json_int_t)r->nprob));
		json_object_set_new(o, "log_loss", jnum(r->log_loss));
		json_object_set_new(o, "roc_auc", jnum(r->roc_auc));
		json_object_set_new(o, "pr_auc", jnum(r->pr_auc));
		if (r->auc_note)
			json_object_set_new(o, "roc_auc_note", json_string(r->auc_note));
		if (r->binary) {
			json_object_set_new(o, "positive_label", json_string(label_name[r->lab[r->pos]]));
		} else {
			json_t *a = json_object(), *p = json_object();
			for (int i = 0; i < k; i++) {
				json_object_set_new(a, label_name[r->lab[i]], jnum(r->auc_c[i]));
				json_object_set_new(p, label_name[r->lab[i]], jnum(r->ap_c[i]));
			}
			json_object_set_new(o, "roc_auc_per_class", a);
			json_object_set_new(o, "pr_auc_per_class", p);
		}
		json_object_set_new(o, "ece", jnum(r->ece));
		json_t *rel = json_array();
		for (int b = 0; b < opt_bins; b++) {
			json_t *x = json_object();
			json_object_set_new(x, "lo", json_real(r->bins[b].lo));
			json_object_set_new(x, "hi", json_real(r->bins[b].hi));
			json_object_set_new(x, "n", json_integer(r->bins[b].n));
			json_object_set_new(x, "confidence", r->bins[b].n ? jnum(r->bins[b].conf) : json_null());
			json_object_set_new(x, "accuracy", r->bins[b].n ? jnum(r->bins[b].acc) : json_null());
			json_array_append_new(rel, x);
		}
		json_object_set_new(o, "reliability", rel);
		json_t *t = json_object();
		json_object_set_new(t, "threshold", json_real(opt_thr));
		json_object_set_new(t, "n", json_integer((json_int_t)r->thr_n));
		json_object_set_new(t, "coverage", jnum(r->thr_cov));
		json_object_set_new(t, "accuracy", jnum(r->thr_acc));
		json_object_set_new(o, "at_threshold", t);
	}
	return o;
}

/* ---------------- table ---------------- */

static void fmt(char *b, size_t n, double x)
{
	if (isfinite(x))
		snprintf(b, n, "%.4f", x);
	else
		snprintf(b, n, "-");
}

static void print_report(const report *r)
{
	int k = r->k, w = 12;
	char a[32], b[32], c[32], d[32];
	for (int i = 0; i < k; i++) {
		int l = (int)strlen(tty(label_name[r->lab[i]]));
		if (l > w)
			w = l;
	}
	if (w > 40)
		w = 40;
	printf("records %zu, labels %d%s", r->n, k, r->multilabel ? " (multi-label)" : "");
	if (r->naug)
		printf(", augmented %zu", r->naug);
	if (r->nseen)
		printf(", seen %zu", r->nseen);
	printf("\n");
	fmt(a, sizeof a, r->accuracy);
	printf("%-16s %s%s\n", r->multilabel ? "subset accuracy" : "accuracy", a,
	       r->nabstain ? "  (abstentions count as errors)" : "");
	if (r->nabstain) {
		fmt(a, sizeof a, r->coverage), fmt(b, sizeof b, r->sel_acc);
		printf("%-16s %s  (%zu of %zu records predicted, %zu abstained)\n", "coverage", a, r->n - r->nabstain,
		       r->n, r->nabstain);
		printf("%-16s %s  (on the predicted records)\n", "selective acc.", b);
	}
	if (r->multilabel) {
		fmt(a, sizeof a, r->hamming);
		printf("%-16s %s\n", "hamming loss", a);
	}
	fmt(a, sizeof a, r->avg.macro_f1), fmt(b, sizeof b, r->avg.micro_f1), fmt(c, sizeof c, r->avg.weighted_f1);
	printf("%-16s %s\n%-16s %s\n%-16s %s\n\n", "macro-F1", a, "micro-F1", b, "weighted-F1", c);
	printf("%-*s %9s %9s %9s %9s\n", w, "label", "precision", "recall", "f1", "support");
	for (int i = 0; i < k; i++) {
		fmt(a, sizeof a, r->per[i].precision), fmt(b, sizeof b, r->per[i].recall), fmt(c, sizeof c, r->per[i].f1);
		printf("%-*.*s %9s %9s %9s %9ld%s\n", w, w, tty(label_name[r->lab[i]]), a, b, c, r->per[i].support,
		       r->use[i] ? "" : "  (probs only; not averaged)");
	}
	long tot = 0;
	for (int i = 0; i < k; i++)
		tot += r->use[i] ? r->per[i].support : 0;
	fmt(a, sizeof a, r->avg.macro_p), fmt(b, sizeof b, r->avg.macro_r), fmt(c, sizeof c, r->avg.macro_f1);
	printf("%-*s %9s %9s %9s %9ld\n", w, "macro avg", a, b, c, tot);
	fmt(a, sizeof a, r->avg.weighted_p), fmt(b, sizeof b, r->avg.weighted_r), fmt(c, sizeof c, r->avg.weighted_f1);
	printf("%-*s %9s %9s %9s %9ld\n", w, "weighted avg", a, b, c, tot);
	if (!r->multilabel) {
		int cw = 5;
		for (int i = 0; i < k; i++) {
			int l = (int)strlen(tty(label_name[r->lab[i]]));
			if (l > cw)
				cw = l;
			for (int j = 0; j < k; j++) {
				int nl = snprintf(a, sizeof a, "%ld", r->cm[(size_t)i * (size_t)k + (size_t)j]);
				if (nl > cw)
					cw = nl;
			}
		}
		if (cw > 12)
			cw = 12;
		if (r->nabstain && cw < 9)
			cw = 9;
		printf("\nconfusion (rows gold, columns predicted)\n%-*s", w, "");
		for (int j = 0; j < k; j++)
			printf(" %*.*s", cw, cw, tty(label_name[r->lab[j]]));
		if (r->nabstain)
			printf(" %*s", cw, "abstained");
		printf("\n");
		for (int i = 0; i < k; i++) {
			printf("%-*.*s", w, w, tty(label_name[r->lab[i]]));
			for (int j = 0; j < k; j++)
				printf(" %*ld", cw, r->cm[(size_t)i * (size_t)k + (size_t)j]);
			if (r->nabstain)
				printf(" %*ld", cw, r->abst_row[i]);
			printf("\n");
		}
	}
	if (r->nprob) {
		fmt(a, sizeof a, r->log_loss), fmt(b, sizeof b, r->roc_auc), fmt(c, sizeof c, r->pr_auc),
			fmt(d, sizeof d, r->ece);
		printf("\nprobabilities (%zu records)\n", r->nprob);
		printf("%-16s %s\n", "log loss", a);
		if (r->binary)
			printf("%-16s %s  (positive label %s)\n%-16s %s\n", "ROC-AUC", b, tty(label_name[r->lab[r->pos]]),
			       "PR-AUC (AP)", c);
		else
			printf("%-16s %s  (one-vs-rest macro)\n%-16s %s  (one-vs-rest macro)\n", "ROC-AUC", b,
			       "PR-AUC (AP)", c);
		if (r->auc_note)
			printf("%-16s %s\n", "", r->auc_note);
		printf("%-16s %s  (%d bins on max-prob confidence)\n", "ECE", d, opt_bins);
		fmt(a, sizeof a, r->thr_cov), fmt(b, sizeof b, r->thr_acc);
		printf("conf >= %-8g coverage %s  accuracy %s  (%zu records)\n", opt_thr, a, b, r->thr_n);
		printf("\nreliability\n%-13s %7s %10s %9s\n", "confidence", "n", "mean conf", "accuracy");
		for (int i = 0; i < opt_bins; i++) {
			const tl_calib_bin *x = &r->bins[i];
			if (!x->n)
				continue;
			fmt(a, sizeof a, x->conf), fmt(b, sizeof b, x->acc);
			printf("[%.3f,%.3f%c %7ld %10s %9s\n", x->lo, x->hi, i == opt_bins - 1 ? ']' : ')', x->n, a, b);
		}
		if (r->nabstain) {
			printf("\nrisk-coverage (keeping the most confident by max prob)\n%-9s %7s %9s %10s\n", "coverage",
			       "n", "risk", "conf >=");
			for (int i = 0; i < RC_POINTS; i++) {
				if (i && r->rc[i].n == r->rc[i - 1].n)
					continue;
				fmt(a, sizeof a, r->rc[i].risk), fmt(b, sizeof b, r->rc[i].threshold);
				printf("%-9.2f %7ld %9s %10s\n", r->rc[i].coverage, r->rc[i].n, a, b);
			}
		}
	}
}

/* ---------------- SVG ---------------- */

static void xml_text(tl_buf *b, const char *s, size_t max)
{
	size_t n = strlen(s), i = 0;
	int cut = n > max;
	if (cut) {
		n = max - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) /* do not split a UTF-8 sequence */
			n--;
	}
	for (; i < n; i++) {
		switch (s[i]) {
		case '&': tl_buf_adds(b, "&amp;"); break;
		case '<': tl_buf_adds(b, "&lt;"); break;
		case '>': tl_buf_adds(b, "&gt;"); break;
		case '"': tl_buf_adds(b, "&quot;"); break;
		default:
			if ((unsigned char)s[i] < 0x20)
				tl_buf_addc(b, ' ');
			else
				tl_buf_addc(b, s[i]);
		}
	}
	if (cut)
		tl_buf_adds(b, "\xe2\x80\xa6");
}

static void write_svg(const report *r, const char *path)
{
	tl_buf b = {0};
	int k = r->k;
	int cell = k <= 4 ? 64 : k <= 10 ? 44 : k <= 20 ? 26 : 16;
	int maxl = 0;
	for (int i = 0; i < k; i++) {
		int l = (int)strlen(label_name[r->lab[i]]);
		if (l > maxl)
			maxl = l;
	}
	if (maxl > 18)
		maxl = 18;
	int left = 40 + maxl * 7 + 10, top = 76 + maxl * 5 + 14;
	int cmw = r->multilabel ? 0 : cell * k;
	int panel = r->multilabel ? 0 : left + cmw + 40;
	if (!r->multilabel && panel < 380)
		panel = 380;
	int has_rel = r->nprob > 0;
	int relx = panel + 60, relw = 300;
	int width = (r->multilabel ? (has_rel ? 40 : 320) : panel) + (has_rel ? relw + 150 : 0);
	int height = top + (r->multilabel ? 0 : cmw) + 50;
	if (has_rel && height < 94 + relw + 46 + 56 + 64)
		height = 94 + relw + 46 + 56 + 64;
	tl_buf_printf(&b,
		      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		      "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
		      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		      width, height, width, height);
	if (!r->multilabel) {
		tl_buf_printf(&b, "<text x=\"20\" y=\"24\" font-size=\"15\" font-weight=\"bold\">Confusion matrix</text>\n");
		tl_buf_printf(&b, "<text x=\"20\" y=\"42\" fill=\"#555\">%zu records, accuracy %.4f, macro-F1 %.4f</text>\n",
			      r->n, r->accuracy, r->avg.macro_f1);
		tl_buf_printf(&b, "<text x=\"20\" y=\"58\" fill=\"#555\">shade: share of the gold row</text>\n");
		for (int i = 0; i < k; i++) {
			long row = 0;
			for (int j = 0; j < k; j++)
				row += r->cm[(size_t)i * (size_t)k + (size_t)j];
			for (int j = 0; j < k; j++) {
				long v = r->cm[(size_t)i * (size_t)k + (size_t)j];
				double f = row ? (double)v / (double)row : 0;
				int R = (int)(255 - f * (255 - 8)), G = (int)(255 - f * (255 - 81)), B = (int)(255 - f * (255 - 156));
				int x = left + j * cell, y = top + i * cell;
				tl_buf_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,%d)\" stroke=\"#ccc\"/>\n",
					      x, y, cell, cell, R, G, B);
				if (cell >= 26)
					tl_buf_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"%d\" fill=\"%s\">%ld</text>\n",
						      x + cell / 2, y + cell / 2 + 4, cell >= 44 ? 13 : 10, f > 0.5 ? "white" : "#222", v);
			}
			tl_buf_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 6, top + i * cell + cell / 2 + 4);
			xml_text(&b, label_name[r->lab[i]], 18);
			tl_buf_adds(&b, "</text>\n");
			tl_buf_printf(&b, "<text transform=\"translate(%d,%d) rotate(-45)\">", left + i * cell + cell / 2, top - 6);
			xml_text(&b, label_name[r->lab[i]], 18);
			tl_buf_adds(&b, "</text>\n");
		}
		tl_buf_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n", left, top, cmw, cmw);
		tl_buf_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#333\">predicted</text>\n", left + cmw / 2, top + cmw + 24);
		tl_buf_printf(&b, "<text transform=\"translate(%d,%d) rotate(-90)\" text-anchor=\"middle\" fill=\"#333\">gold</text>\n",
			      16, top + cmw / 2);
	}
	if (has_rel) {
		/* Reliability diagram: per confidence bin the accuracy as a bar
		 * from 0, the mean confidence as a dark tick with a dot, and
		 * the gap between them hatched: red where confidence exceeds
		 * accuracy (over-confident: the tick above the bar), green
		 * where accuracy exceeds confidence (under-confident: the
		 * hatched band is the top of the bar, the tick below its top).
		 * Below the plot, a histogram of the records per bin. Classes
		 * and data-* attributes name the parts for tests and tools. */
		int x0 = relx, y0 = 94, s = relw, hy = y0 + s + 46, hh = 56;
		double nconf = 0, nacc = 0;
		long maxn = 0;
		for (int i = 0; i < opt_bins; i++) {
			const tl_calib_bin *c = &r->bins[i];
			nconf += (double)c->n * c->conf;
			nacc += (double)c->n * c->acc;
			if (c->n > maxn)
				maxn = c->n;
		}
		double mconf = nconf / (double)r->nprob, macc = nacc / (double)r->nprob, diff = mconf - macc;
		const char *verdict = diff > 0.01 ? "over-confident" : diff < -0.01 ? "under-confident" : "calibrated";
		tl_buf_printf(&b,
			      "<defs>\n"
			      "<pattern id=\"hatch-over\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
			      "<rect width=\"6\" height=\"6\" fill=\"#fbd3c8\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#c0392b\" stroke-width=\"2.5\"/></pattern>\n"
			      "<pattern id=\"hatch-under\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(-45)\">"
			      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#a9f5bc\" stroke-width=\"2.5\"/></pattern>\n"
			      "</defs>\n");
		tl_buf_printf(&b, "<g class=\"reliability\" data-ece=\"%.6f\" data-bins=\"%d\" data-n=\"%zu\" data-mean-conf=\"%.6f\" data-accuracy=\"%.6f\" data-verdict=\"%s\">\n",
			      r->ece, opt_bins, r->nprob, mconf, macc, verdict);
		tl_buf_printf(&b, "<text class=\"title\" x=\"%d\" y=\"24\" font-size=\"15\" font-weight=\"bold\">Reliability diagram, ECE %.4f</text>\n",
			      x0 - 40, r->ece);
		tl_buf_printf(&b, "<text x=\"%d\" y=\"42\" fill=\"#555\">%d bins, %zu records with probs</text>\n", x0 - 40, opt_bins,
			      r->nprob);
		tl_buf_printf(&b, "<text class=\"verdict\" x=\"%d\" y=\"58\" fill=\"#333\">mean confidence %.3f, accuracy %.3f: %s</text>\n",
			      x0 - 40, mconf, macc, verdict);
		tl_buf_printf(&b, "<text x=\"%d\" y=\"74\" fill=\"#555\" font-size=\"11\">bar top above the black tick (mean confidence): under-confident</text>\n",
			      x0 - 40);
		tl_buf_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#444\"/>\n", x0, y0, s, s);
		for (int t = 0; t <= 5; t++) {
			double v = t / 5.0;
			int px = x0 + (int)(v * s), py = y0 + s - (int)(v * s);
			tl_buf_printf(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#e4e4e4\"/>\n", x0, py, x0 + s, py);
			tl_buf_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"10\">%.1f</text>\n", x0 - 4, py + 4, v);
			tl_buf_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\">%.1f</text>\n", px, y0 + s + 14, v);
		}
		for (int i = 0; i < opt_bins; i++) {
			const tl_calib_bin *c = &r->bins[i];
			double bx = x0 + c->lo * s, bw = (c->hi - c->lo) * s;
			double pad = bw >= 6 ? 1 : 0, ww = bw - 2 * pad;
			if (!c->n)
				continue;
			double ya = y0 + s - c->acc * s, yc = y0 + s - c->conf * s;
			const char *dir = c->conf > c->acc ? "over" : c->conf < c->acc ? "under" : "none";
			tl_buf_printf(&b, "<g class=\"bin\" data-bin=\"%d\" data-lo=\"%.6g\" data-hi=\"%.6g\" data-n=\"%ld\" data-conf=\"%.6f\" data-acc=\"%.6f\" data-gap=\"%s\">\n",
				      i, c->lo, c->hi, c->n, c->conf, c->acc, dir);
			tl_buf_printf(&b, "<title>confidence [%.3f, %.3f%c: %ld records, mean confidence %.4f, accuracy %.4f</title>\n",
				      c->lo, c->hi, i == opt_bins - 1 ? ']' : ')', c->n, c->conf, c->acc);
			tl_buf_printf(&b, "<rect class=\"acc\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#3b73b9\" stroke=\"#1d3f6e\"/>\n",
				      bx + pad, ya, ww, y0 + s - ya);
			double gy = ya < yc ? ya : yc, gh = fabs(ya - yc);
			if (gh > 0)
				tl_buf_printf(&b, "<rect class=\"gap %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"url(#hatch-%s)\" stroke=\"%s\"/>\n",
					      dir, bx + pad, gy, ww, gh, dir, *dir == 'o' ? "#c0392b" : "#1e8449");
			tl_buf_printf(&b, "<line class=\"conf\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#111\" stroke-width=\"2\"/>"
				      "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#111\"/>\n",
				      bx + pad, yc, bx + pad + ww, yc, bx + bw / 2, yc);
			double ch = maxn ? (double)c->n / (double)maxn * hh : 0;
			tl_buf_printf(&b, "<rect class=\"count\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#999\"/>\n",
				      bx + pad, hy + hh - ch, ww, ch);
			if (bw >= 22)
				tl_buf_printf(&b, "<text class=\"count\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"9\" fill=\"#333\">%ld</text>\n",
					      bx + bw / 2, hy + hh - ch - 3, c->n);
			tl_buf_adds(&b, "</g>\n");
		}
		tl_buf_printf(&b, "<line class=\"diagonal\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#666\" stroke-dasharray=\"5,4\"/>\n", x0, y0 + s, x0 + s, y0);
		tl_buf_printf(&b, "<text class=\"xlabel\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#333\">confidence (max probability), %d bins</text>\n",
			      x0 + s / 2, y0 + s + 30, opt_bins);
		tl_buf_printf(&b, "<text class=\"ylabel\" transform=\"translate(%d,%d) rotate(-90)\" text-anchor=\"middle\" fill=\"#333\">accuracy in the bin</text>\n",
			      x0 - 34, y0 + s / 2);
		/* the histogram's frame and scale */
		tl_buf_printf(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", x0, hy + hh, x0 + s, hy + hh);
		tl_buf_printf(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", x0, hy, x0, hy + hh);
		tl_buf_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"10\">%ld</text>\n", x0 - 4, hy + 4, maxn);
		tl_buf_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"10\">0</text>\n", x0 - 4, hy + hh + 4);
		tl_buf_printf(&b, "<text class=\"hlabel\" transform=\"translate(%d,%d) rotate(-90)\" text-anchor=\"middle\" fill=\"#333\" font-size=\"10\">records</text>\n",
			      x0 - 34, hy + hh / 2);
		int ly = hy + hh + 22;
		tl_buf_printf(&b, "<g class=\"legend\" font-size=\"11\">\n");
		tl_buf_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#3b73b9\"/><text x=\"%d\" y=\"%d\">accuracy</text>\n",
			      x0 - 40, ly, x0 - 24, ly + 10);
		tl_buf_printf(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#111\" stroke-width=\"2\"/><circle cx=\"%d\" cy=\"%d\" r=\"2.5\" fill=\"#111\"/><text x=\"%d\" y=\"%d\">mean confidence</text>\n",
			      x0 + 48, ly + 6, x0 + 62, ly + 6, x0 + 55, ly + 6, x0 + 66, ly + 10);
		tl_buf_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#999\"/><text x=\"%d\" y=\"%d\">records per bin</text>\n",
			      x0 + 170, ly, x0 + 186, ly + 10);
		tl_buf_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"url(#hatch-over)\" stroke=\"#c0392b\"/><text x=\"%d\" y=\"%d\">over-confident gap (conf &gt; acc)</text>\n",
			      x0 - 40, ly + 18, x0 - 24, ly + 28);
		tl_buf_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#3b73b9\"/><rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"url(#hatch-under)\" stroke=\"#1e8449\"/><text x=\"%d\" y=\"%d\">under-confident gap (acc &gt; conf)</text>\n",
			      x0 + 170, ly + 18, x0 + 170, ly + 18, x0 + 186, ly + 28);
		tl_buf_adds(&b, "</g>\n</g>\n");
	}
	if (r->multilabel && !has_rel)
		tl_buf_printf(&b, "<text x=\"20\" y=\"30\">multi-label: no confusion matrix</text>\n");
	tl_buf_adds(&b, "</svg>\n");
	if (tl_fs_write_file(path, b.data, b.len) < 0)
		tl_die(TL_EXIT_IO, "cannot write %s:", path);
	tl_buf_free(&b);
}

/* ---------------- --compare ---------------- */

static json_t *compare(const dataset *A, const dataset *B, const size_t *sel, size_t n)
{
	if (A->multilabel || B->multilabel)
		tl_die(TL_EXIT_DATA, "--compare: multi-label streams are not supported (single-label only)");
	/* file scope, so that the maps stay reachable when an error exits */
	static tl_strtab ids, seen;
	for (size_t i = 0; i < B->n; i++) {
		const item *x = &B->it[i];
		if (!x->id)
			tl_die_rec(TL_EXIT_DATA, x->no, "%s: no 'id' (string or integer): --compare aligns records by id", tty(B->name));
		if ((int)tl_strtab_add(&ids, x->id, x->idlen, NULL) != (int)i)
			tl_die_rec(TL_EXIT_DATA, x->no, "%s: duplicate id %s", tty(B->name), tty(x->id + 2));
	}
	static int *gold, *pa, *pb;
	gold = tl_xmalloc((n ? n : 1) * sizeof *gold);
	pa = tl_xmalloc((n ? n : 1) * sizeof *pa);
	pb = tl_xmalloc((n ? n : 1) * sizeof *pb);
	size_t missing = 0, gold_diff = 0;
	const char *first_missing = NULL;
	for (size_t j = 0; j < n; j++) {
		const item *x = &A->it[sel[j]];
		if (!x->id)
			tl_die_rec(TL_EXIT_DATA, x->no, "%s: no 'id' (string or integer): --compare aligns records by id", tty(A->name));
		if ((int)tl_strtab_add(&seen, x->id, x->idlen, NULL) != (int)j)
			tl_die_rec(TL_EXIT_DATA, x->no, "%s: duplicate id %s", tty(A->name), tty(x->id + 2));
		int bi = (int)tl_strtab_find(&ids, x->id, x->idlen);
		if (bi < 0) {
			if (!missing++)
				first_missing = x->id + 2;
			continue;
		}
		gold[j] = A->lab[x->goff];
		pa[j] = x->abstain ? -1 : A->lab[x->poff];
		pb[j] = B->it[bi].abstain ? -1 : B->lab[B->it[bi].poff];
		gold_diff += B->lab[B->it[bi].goff] != gold[j];
	}
	size_t extra = B->n - (n - missing);
	if (missing || extra) {
		const char *first_extra = NULL;
		for (size_t i = 0; i < B->n && !first_extra; i++)
			if ((int)tl_strtab_find(&seen, B->it[i].id, B->it[i].idlen) < 0)
				first_extra = B->it[i].id + 2;
		if (missing)
			tl_die(TL_EXIT_DATA, "--compare: ids do not align: %zu of %zu ids of %s are missing from %s (first: %s); %zu ids of %s are not in %s",
			       missing, n, tty(A->name), tty(B->name), tty(first_missing), extra, tty(B->name), tty(A->name));
		tl_die(TL_EXIT_DATA, "--compare: ids do not align: %zu ids of %s are not in %s (first: %s)", extra, tty(B->name),
		       tty(A->name), tty(first_extra ? first_extra : "?"));
	}
	if (gold_diff)
		tl_warn("--compare: %zu records have a different gold label in %s (the input's gold is used)", gold_diff, tty(B->name));
	double acc_a, f1_a, acc_b, f1_b, ci_acc[2], ci_f1[2];
	tl_metrics_acc_f1(gold, pa, NULL, n, nlabels, &acc_a, &f1_a);
	tl_metrics_acc_f1(gold, pb, NULL, n, nlabels, &acc_b, &f1_b);
	tl_metrics_bootstrap_diff(gold, pa, pb, n, nlabels, opt_boot, opt_seed, 0.95, ci_acc, ci_f1);
	long bc = 0, cc = 0;
	for (size_t j = 0; j < n; j++) {
		int ra = pa[j] == gold[j], rb = pb[j] == gold[j];
		bc += ra && !rb;
		cc += !ra && rb;
	}
	double chi, p_exact = tl_metrics_mcnemar_exact(bc, cc), p_chi = tl_metrics_mcnemar_chi2(bc, cc, &chi);
	json_t *o = json_object();
	json_object_set_new(o, "file", json_string(B->name));
	json_object_set_new(o, "n", json_integer((json_int_t)n));
	json_t *sa = json_object(), *sb = json_object();
	json_object_set_new(sa, "accuracy", jnum(acc_a));
	json_object_set_new(sa, "macro_f1", jnum(f1_a));
	json_object_set_new(sb, "accuracy", jnum(acc_b));
	json_object_set_new(sb, "macro_f1", jnum(f1_b));
	json_object_set_new(o, "a", sa);
	json_object_set_new(o, "b", sb);
	json_t *da = json_object(), *df = json_object();
	json_object_set_new(da, "value", jnum(acc_a - acc_b));
	json_object_set_new(da, "ci_low", jnum(ci_acc[0]));
	json_object_set_new(da, "ci_high", jnum(ci_acc[1]));
	json_object_set_new(df, "value", jnum(f1_a - f1_b));
	json_object_set_new(df, "ci_low", jnum(ci_f1[0]));
	json_object_set_new(df, "ci_high", jnum(ci_f1[1]));
	json_t *diff = json_object();
	json_object_set_new(diff, "accuracy", da);
	json_object_set_new(diff, "macro_f1", df);
	json_object_set_new(o, "diff", diff);
	json_t *bs = json_object();
	json_object_set_new(bs, "resamples", json_integer(opt_boot));
	json_object_set_new(bs, "seed", json_integer((json_int_t)opt_seed));
	json_object_set_new(bs, "level", json_real(0.95));
	json_object_set_new(o, "bootstrap", bs);
	json_t *mc = json_object();
	json_object_set_new(mc, "a_only", json_integer(bc));
	json_object_set_new(mc, "b_only", json_integer(cc));
	json_object_set_new(mc, "p_exact", jnum(p_exact));
	json_object_set_new(mc, "chi2", jnum(chi));
	json_object_set_new(mc, "p_chi2", jnum(p_chi));
	json_object_set_new(o, "mcnemar", mc);
	free(gold), free(pa), free(pb);
	tl_strtab_free(&ids);
	tl_strtab_free(&seen);
	return o;
}

static void print_compare(const json_t *o)
{
	const json_t *a = json_object_get(o, "a"), *b = json_object_get(o, "b"), *d = json_object_get(o, "diff"),
		     *m = json_object_get(o, "mcnemar");
	printf("\ncomparison with %s (%lld records aligned by id)\n", tty(json_string_value(json_object_get(o, "file"))),
	       (long long)json_integer_value(json_object_get(o, "n")));
	printf("%-14s %9s %9s\n", "", "accuracy", "macro-F1");
	printf("%-14s %9.4f %9.4f\n", "A (input)", json_real_value(json_object_get(a, "accuracy")),
	       json_real_value(json_object_get(a, "macro_f1")));
	printf("%-14s %9.4f %9.4f\n", "B (compare)", json_real_value(json_object_get(b, "accuracy")),
	       json_real_value(json_object_get(b, "macro_f1")));
	const char *names[2] = {"accuracy", "macro_f1"};
	for (int i = 0; i < 2; i++) {
		const json_t *x = json_object_get(d, names[i]);
		printf("A - B %-8s %+.4f  95%% CI [%+.4f, %+.4f]  (paired bootstrap, %d resamples, seed %llu)\n",
		       i ? "macro-F1" : "accuracy", json_real_value(json_object_get(x, "value")),
		       json_real_value(json_object_get(x, "ci_low")), json_real_value(json_object_get(x, "ci_high")), opt_boot,
		       (unsigned long long)opt_seed);
	}
	printf("McNemar: A right/B wrong %lld, A wrong/B right %lld, exact binomial p = %.4g (chi-square with continuity correction p = %.4g)\n",
	       (long long)json_integer_value(json_object_get(m, "a_only")),
	       (long long)json_integer_value(json_object_get(m, "b_only")),
	       json_real_value(json_object_get(m, "p_exact")), json_real_value(json_object_get(m, "p_chi2")));
}

/* ---------------- main ---------------- */

/* --model DIR: its training keys into train_keys. A directory without
 * train-keys.bin (a model made before tl-train wrote it) is a warning:
 * nothing can be checked. */
static void load_train_keys(const char *name)
{
	char err[1024];
	char *dir = tl_model_find(name, err, sizeof err);
	if (!dir)
		tl_die(TL_EXIT_MODEL, "option --model: %s", err);
	train_keys = tl_model_train_keys(dir, err, sizeof err);
	int e = errno;
	if (!train_keys && e == ENOENT)
		tl_warn("option --model: %s has no %s (made before tl-train stored its training keys): records not checked",
			dir, TL_TRAIN_KEYS_FILE);
	free(dir);
	if (!train_keys && e == EPROTO)
		tl_warn("option --model: %s", err); /* keys of an older format */
	else if (!train_keys && e != ENOENT)
		tl_die(TL_EXIT_MODEL, "%s", err);
}

static void free_dataset(dataset *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->it[i].id);
	free(d->it), free(d->lab), free(d->qlab), free(d->qval), free(d->mlab);
}

int main(int argc, char **argv)
{
	tl_init(argv[0]);
	enum { O_SVG = 256, O_BOOT, O_SEED, O_THR, O_BINS, O_POS, O_EXCL, O_EXCL_SEEN, O_MODEL, O_MINACC, O_MINF1, O_STRICT, O_NAMES, O_FORCE, O_VERSION, O_SCHEME };
	static const struct option opts[] = {
		{"json", no_argument, 0, 'j'},
		{"svg", required_argument, 0, O_SVG},
		{"by", required_argument, 0, 'b'},
		{"compare", required_argument, 0, 'c'},
		{"bootstrap", required_argument, 0, O_BOOT},
		{"seed", required_argument, 0, O_SEED},
		{"threshold", required_argument, 0, O_THR},
		{"bins", required_argument, 0, O_BINS},
		{"pos-label", required_argument, 0, O_POS},
		{"exclude-augmented", no_argument, 0, O_EXCL},
		{"exclude-seen", no_argument, 0, O_EXCL_SEEN},
		{"model", required_argument, 0, O_MODEL},
		{"min-accuracy", required_argument, 0, O_MINACC},
		{"min-macro-f1", required_argument, 0, O_MINF1},
		{"strict", no_argument, 0, O_STRICT},
		{"label-names", required_argument, 0, O_NAMES},
		{"force-labels", no_argument, 0, O_FORCE},
		{"scheme", required_argument, 0, O_SCHEME},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, O_VERSION},
		{0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "jb:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': opt_json = 1; break;
		case O_SVG: opt_svg = tl_parse_path("--svg", optarg); break;
		case 'b': opt_by = optarg; break;
		case 'c': opt_compare = tl_parse_path("--compare", optarg); break;
		case O_BOOT: opt_boot = (int)tl_parse_long("--bootstrap", optarg, 1, 1000000); break;
		case O_SEED: opt_seed = (uint64_t)tl_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
		case O_THR: opt_thr = tl_parse_double("--threshold", optarg, 0, 1); break;
		case O_BINS: opt_bins = (int)tl_parse_long("--bins", optarg, 1, 1000); break;
		case O_POS: opt_pos = optarg; break;
		case O_EXCL: opt_excl_aug = 1; break;
		case O_EXCL_SEEN: opt_excl_seen = 1; break;
		case O_MODEL: opt_model = tl_parse_path("--model", optarg); break;
		case O_MINACC: opt_min_acc = tl_parse_double("--min-accuracy", optarg, 0, 1); break;
		case O_MINF1: opt_min_f1 = tl_parse_double("--min-macro-f1", optarg, 0, 1); break;
		case O_STRICT: opt_strict = 1; break;
		case O_NAMES: opt_names = optarg; break;
		case O_FORCE: opt_force_labels = 1; break;
		case O_SCHEME:
			for (opt_scheme = 0; opt_scheme < 3 && strcmp(optarg, scheme_names[opt_scheme]); opt_scheme++)
				;
			if (opt_scheme == 3)
				tl_die(TL_EXIT_USAGE, "option --scheme: unknown scheme '%s' (iob2, iob1, iobes)", tty(optarg));
			opt_scheme_set = 1;
			break;
		case 'h': fputs(usage, stdout); return 0;
		case O_VERSION: tl_print_version(); return 0;
		default: fputs(usage, stderr); return TL_EXIT_USAGE;
		}
	}
	if (argc - optind > 1)
		tl_die(TL_EXIT_USAGE, "one input file at most (the other system goes to --compare)");
	const char *path = optind < argc ? argv[optind] : "-";
	if (opt_names) {
		char err[512];
		if (tl_label_names_parse(opt_names, &names, err, sizeof err) < 0)
			tl_die(TL_EXIT_USAGE, "option --label-names: %s", tty(err));
	}

	/* file-scope data stays reachable when an error exits (LeakSanitizer) */
	static dataset A, B;
	static report R;
	static size_t *sel;
	if (opt_model)
		load_train_keys(opt_model);
	read_dataset(&A, path, train_keys);
	if (opt_compare)
		read_dataset(&B, opt_compare, NULL);
	check_labels(&A); /* before the warnings: a mismatch explains them */
	if (opt_compare)
		check_labels(&B);
	warn_dataset(&A);
	if (opt_compare)
		warn_dataset(&B);
	if (opt_pos && opt_names) { /* --pos-label may name a mapped label by its key */
		const char *nm = tl_label_names_get(&names, opt_pos, strlen(opt_pos));
		if (nm)
			opt_pos = nm;
	}
	if (A.n == 0)
		tl_die(TL_EXIT_DATA, "%s: no records to evaluate", tty(A.name));
	if (opt_pos && (int)tl_strtab_find(&label_map, opt_pos, strlen(opt_pos)) < 0)
		tl_die(TL_EXIT_USAGE, "option --pos-label: '%s' is not a label of the input", tty(opt_pos));
	dataset *ds[2] = {&A, &B};
	sort_labels(ds, opt_compare ? 2 : 1);

	sel = tl_xmalloc(A.n * sizeof *sel);
	for (size_t i = 0; i < A.n; i++)
		sel[i] = i;
	compute(&R, &A, sel, A.n);
	json_t *cmp = opt_compare ? compare(&A, &B, sel, A.n) : NULL;

	json_t *root = opt_json ? report_json(&R) : NULL;
	if (!opt_json)
		print_report(&R);
	if (opt_by) {
		/* groups in natural order of their values */
		int *gord = tl_xmalloc((size_t)(ngroups ? ngroups : 1) * sizeof *gord);
		for (int g = 0; g < ngroups; g++)
			gord[g] = g;
		for (int i = 1; i < ngroups; i++) /* insertion sort: few groups */
			for (int j = i; j > 0 && tl_metrics_natcmp(group_name[gord[j - 1]], group_name[gord[j]]) > 0; j--) {
				int t = gord[j];
				gord[j] = gord[j - 1];
				gord[j - 1] = t;
			}
		json_t *by = NULL, *groups = NULL;
		if (opt_json) {
			by = json_object();
			groups = json_object();
			json_object_set_new(by, "field", json_string(opt_by));
		}
		size_t *gs = tl_xmalloc(A.n * sizeof *gs);
		for (int gi = 0; gi < ngroups; gi++) {
			int g = gord[gi];
			size_t m = 0;
			for (size_t i = 0; i < A.n; i++)
				if (A.it[i].group == g)
					gs[m++] = i;
			report S;
			compute(&S, &A, gs, m);
			if (opt_json)
				json_object_set_new(groups, group_name[g], report_json(&S));
			else {
				printf("\n== %s = %s ==\n", tty(opt_by), tty(group_name[g]));
				print_report(&S);
			}
			report_free(&S);
		}
		free(gs);
		free(gord);
		if (opt_json) {
			json_object_set_new(by, "groups", groups);
			json_object_set_new(root, "by", by);
		}
	}
	if (cmp) {
		if (opt_json)
			json_object_set(root, "compare", cmp);
		else
			print_compare(cmp);
	}
	if (opt_json) {
		json_t *w = json_object();
		json_object_set_new(w, "skipped", json_integer((json_int_t)A.skipped));
		json_object_set_new(w, "probs_malformed", json_integer((json_int_t)A.probs_bad));
		json_object_set_new(w, "probs_not_normalized", json_integer((json_int_t)A.probs_sum));
		json_object_set_new(w, "probs_without_gold", json_integer((json_int_t)A.probs_nogold));
		json_object_set_new(root, "input", w);
		char *s = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER);
		if (!s)
			tl_die(TL_EXIT_FAIL, "out of memory");
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
		json_decref(root);
	}
	if (opt_svg)
		write_svg(&R, opt_svg);
	int rc = TL_EXIT_OK;
	if (opt_min_acc >= 0 && !(R.accuracy >= opt_min_acc)) {
		fflush(stdout);
		tl_warn("accuracy %.4f is below --min-accuracy %g", R.accuracy, opt_min_acc);
		rc = TL_EXIT_BELOW;
	}
	if (opt_min_f1 >= 0 && !(R.avg.macro_f1 >= opt_min_f1)) {
		fflush(stdout);
		tl_warn("macro-F1 %.4f is below --min-macro-f1 %g", R.avg.macro_f1, opt_min_f1);
		rc = TL_EXIT_BELOW;
	}
	json_decref(cmp);
	report_free(&R);
	free(sel);
	free_dataset(&A);
	free_dataset(&B);
	for (int i = 0; i < nlabels; i++)
		free(label_name[i]);
	for (int i = 0; i < ngroups; i++)
		free(group_name[i]);
	free(label_name), free(group_name), free(label_rank), free(label_declared);
	tl_keyset_free(train_keys);
	tl_label_names_free(&names);
	tl_strtab_free(&label_map);
	tl_strtab_free(&group_map);
	tl_close_stdout();
	return rc;
}
