/* tl-quantize - write a pre-quantized (int8) copy of a BERT model directory:
 * the four weight matrices of every encoder layer as I8 with per-output-
 * channel F32 scales ("<name>_scale"), everything else as it was. tl-embed
 * and tl-predict load it without quantizing again (tl/bert.h: quantized)
 * and run it at int8 by default. */
#include "tl/bert.h"
#include "tl/cli.h"
#include "tl/fsutil.h"
#include "tl/kernels.h"
#include "tl/model.h"
#include "tl/safetensors.h"
#include "tl/safetensors_save.h"
#include "tl/util.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
	"usage: tl-quantize -m MODEL -o OUT [--force]\n"
	"Write OUT, an int8 copy of the BERT model MODEL: each encoder layer's four\n"
	"weight matrices as int8, symmetric per output channel (scale max|w|/127,\n"
	"stored as \"<name>_scale\"); embeddings, biases, LayerNorm, pooler and head\n"
	"stay float. config.json gets \"quantization_config\", tl.json \"quantization\".\n"
	"tl-embed and tl-predict run such a model at int8 without quantizing again.\n"
	"\n"
	"  -m, --model MODEL   model directory or name (as tl-embed finds it)\n"
	"  -o, --output OUT    the directory to write (atomically)\n"
	"  -f, --force         replace OUT when it exists\n"
	"  -h, --help          show this help\n"
	"      --version       show the version\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 4 I/O error, 5 bad model.\n";

static const char *const suffixes[] = {".attention.self.query.weight", ".attention.self.key.weight",
				       ".attention.self.value.weight", ".attention.output.dense.weight",
				       ".intermediate.dense.weight", ".output.dense.weight"};

/* a layer matrix: "...encoder.layer.N<suffix>" */
static int is_layer_matrix(const char *name)
{
	if (!strstr(name, "encoder.layer."))
		return 0;
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
		size_t m = strlen(suffixes[i]);
		if (n > m && !strcmp(name + n - m, suffixes[i]))
			return 1;
	}
	return 0;
}

static void copy_file(const char *src, const char *dst)
{
	tl_buf b = {0};
	if (tl_fs_read_file(src, &b) < 0)
		tl_die(TL_EXIT_IO, "%s:", src);
	if (tl_fs_write_file(dst, b.data, b.len) < 0)
		tl_die(TL_EXIT_IO, "%s:", dst);
	tl_buf_free(&b);
}

static void write_json(json_t *j, const char *path)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		tl_oom("out of memory");
	size_t n = strlen(text);
	text = realloc(text, n + 2);
	if (!text)
		tl_oom("out of memory");
	text[n] = '\n';
	if (tl_fs_write_file(path, text, n + 1) < 0)
		tl_die(TL_EXIT_IO, "%s:", path);
	free(text);
}

int main(int argc, char **argv)
{
	tl_init(argv[0]);
	static const struct option lopts[] = {{"model", required_argument, 0, 'm'}, {"output", required_argument, 0, 'o'},
					      {"force", no_argument, 0, 'f'},	    {"help", no_argument, 0, 'h'},
					      {"version", no_argument, 0, 'V'},	    {0, 0, 0, 0}};
	const char *model = NULL, *out = NULL;
	int force = 0, c;
	while ((c = getopt_long(argc, argv, "m:o:fh", lopts, NULL)) != -1) {
		switch (c) {
		case 'm': model = tl_parse_path("-m", optarg); break;
		case 'o': out = tl_parse_path("-o", optarg); break;
		case 'f': force = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': tl_print_version(); return 0;
		default: fputs(usage, stderr); return TL_EXIT_USAGE;
		}
	}
	if (!model || !out || optind < argc) {
		fputs(usage, stderr);
		tl_die(TL_EXIT_USAGE, "%s", optind < argc ? "no input files: give -m MODEL -o OUT" : "give -m MODEL and -o OUT");
	}
	char err[1024];
	char *dir = tl_model_find(model, err, sizeof err);
	if (!dir)
		tl_die(TL_EXIT_MODEL, "%s", err);
	if (tl_fs_exists(out) && !force)
		tl_die(TL_EXIT_USAGE, "%s exists (--force replaces it)", out);
	/* a loadable BERT model, and not quantized already */
	tl_bert *m = tl_bert_load(dir, NULL, err, sizeof err);
	if (!m)
		tl_die(TL_EXIT_MODEL, "%s", err);
	int already = m->quantized;
	tl_bert_free(m);
	if (already)
		tl_die(TL_EXIT_MODEL, "%s: already quantized (int8 layer weights): nothing to do", dir);
	tl_buf p = {0};
	tl_buf_printf(&p, "%s/model.safetensors", dir);
	tl_st_file f;
	if (tl_st_open(&f, tl_buf_cstr(&p), err, sizeof err) < 0)
		tl_die(TL_EXIT_MODEL, "%s (sharded checkpoints are not quantized: one model.safetensors only)", err);

	tl_st_saver *sv = tl_st_saver_init();
	void **keep = tl_xcalloc(2 * f.n + 1, sizeof *keep);
	size_t nkeep = 0, nq = 0;
	for (size_t i = 0; i < f.n; i++) {
		const tl_st_tensor *t = &f.tensors[i];
		if (!is_layer_matrix(t->name) || t->ndim != 2) {
			tl_st_saver_add(sv, t->name, tl_st_dtype_name(t->dtype), t->shape, t->ndim, tl_st_bytes(&f, t),
					t->end - t->begin);
			continue;
		}
		int OC = (int)t->shape[0], IC = (int)t->shape[1];
		float *w = tl_xmalloc(t->numel * sizeof *w), *s = tl_xmalloc((size_t)OC * sizeof *s);
		int8_t *q = tl_xmalloc(t->numel);
		if (tl_st_read_f32(&f, t, w, err, sizeof err) < 0)
			tl_die(TL_EXIT_MODEL, "%s", err);
		for (int o = 0; o < OC; o++)
			tl_quantize_row(q + (size_t)o * IC, &s[o], w + (size_t)o * IC, IC);
		free(w);
		char sn[512];
		snprintf(sn, sizeof sn, "%s_scale", t->name);
		int64_t sshape[1] = {OC};
		tl_st_saver_add(sv, t->name, "I8", t->shape, 2, q, t->numel);
		tl_st_saver_add(sv, sn, "F32", sshape, 1, s, (size_t)OC * sizeof *s);
		keep[nkeep++] = q;
		keep[nkeep++] = s;
		nq++;
	}
	if (!nq)
		tl_die(TL_EXIT_MODEL, "%s: no encoder layer weights to quantize", tl_buf_cstr(&p));
	tl_st_saver_meta(sv, "format", "pt");
	tl_st_saver_meta(sv, "tl_quantization", "int8 symmetric per output channel; <name>_scale F32 [out]");

	char *tmp = tl_fs_tmpdir_for(out);
	if (!tmp)
		tl_die(TL_EXIT_IO, "%s:", out);
	tl_buf q = {0};
	tl_buf_printf(&q, "%s/model.safetensors", tmp);
	if (tl_st_saver_write(sv, tl_buf_cstr(&q)) < 0) {
		int e = errno;
		tl_fs_rmtree(tmp);
		errno = e;
		tl_die(TL_EXIT_IO, "%s:", tl_buf_cstr(&q));
	}
	tl_st_saver_free(sv);
	for (size_t i = 0; i < nkeep; i++)
		free(keep[i]);
	free(keep);
	tl_st_close(&f);

	/* the other files (not subdirectories), config.json and tl.json marked */
	DIR *d = opendir(dir);
	if (!d)
		tl_die(TL_EXIT_IO, "%s:", dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, "model.safetensors") || !strcmp(n, "config.json") || !strcmp(n, "tl.json"))
			continue;
		p.len = 0;
		tl_buf_printf(&p, "%s/%s", dir, n);
		struct stat st;
		if (stat(tl_buf_cstr(&p), &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		q.len = 0;
		tl_buf_printf(&q, "%s/%s", tmp, n);
		copy_file(tl_buf_cstr(&p), tl_buf_cstr(&q));
	}
	closedir(d);
	json_t *cfg = tl_model_read_config(dir, err, sizeof err);
	if (!cfg)
		tl_die(TL_EXIT_MODEL, "%s", err);
	json_object_set_new(cfg, "quantization_config",
			    json_pack("{s:s, s:i, s:s, s:s, s:s}", "quant_method", "tl-int8", "bits", 8, "weights",
				      "symmetric per output channel, scale max|w|/127", "activations",
				      "u8 with a zero point per row, at run time", "scale_suffix", "_scale"));
	q.len = 0;
	tl_buf_printf(&q, "%s/config.json", tmp);
	write_json(cfg, tl_buf_cstr(&q));
	json_decref(cfg);
	p.len = 0;
	tl_buf_printf(&p, "%s/tl.json", dir);
	json_error_t je;
	json_t *tj = tl_fs_exists(tl_buf_cstr(&p)) ? json_load_file(tl_buf_cstr(&p), 0, &je) : json_object();
	if (!tj || !json_is_object(tj))
		tl_die(TL_EXIT_MODEL, "%s: not a JSON object", tl_buf_cstr(&p));
	json_object_set_new(tj, "quantization",
			    json_pack("{s:s, s:s, s:i}", "precision", "int8", "from", dir, "matrices", (int)nq));
	q.len = 0;
	tl_buf_printf(&q, "%s/tl.json", tmp);
	write_json(tj, tl_buf_cstr(&q));
	json_decref(tj);
	if (tl_fs_publish_dir(tmp, out, force) < 0) {
		int e = errno;
		tl_fs_rmtree(tmp);
		errno = e;
		tl_die(TL_EXIT_IO, "%s:", out);
	}
	free(tmp);
	tl_buf_free(&p);
	tl_buf_free(&q);
	free(dir);
	return 0;
}
