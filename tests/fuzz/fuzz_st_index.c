/* fuzz_st_index.c - a sharded checkpoint's model.safetensors.index.json,
 * read by tl_bert_load: the directory holds the tiny test model's
 * config.json and its weights as shard "model-1.safetensors"
 * (tests/ref/tiny_bert, found from the current directory or $TL_ROOT), and
 * the input as the index. A load either succeeds with the shapes of
 * config.json or is refused with a message. */
#include "fuzz.h"
#include "tl/bert.h"

#include <sys/stat.h>

static int ready;

static void copy_in(const char *name, const char *as)
{
	char path[1024];
	const char *root = getenv("TL_ROOT");
	snprintf(path, sizeof path, "%s/tests/ref/tiny_bert/%s", root ? root : ".", name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz_st_index: cannot open %s (run from the repository root or set TL_ROOT)\n", path);
		exit(1);
	}
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	fz_write(as, buf, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		copy_in("config.json", "config.json");
		copy_in("model.safetensors", "model-1.safetensors");
		/* a second shard: an empty file and a directory, for "bad file" paths */
		fz_write("model-2.safetensors", "", 0);
		char d[256];
		snprintf(d, sizeof d, "%s/sub", fz_dir());
		mkdir(d, 0700);
		ready = 1;
	}
	fz_write("model.safetensors.index.json", data, size);
	char err[512] = "";
	tl_bert *m = tl_bert_load(fz_dir(), NULL, err, sizeof err);
	if (m) {
		FZ_CHECK(m->cfg.C == 16 && m->cfg.L == 2);
		tl_bert_free(m);
	} else {
		FZ_CHECK(err[0]);
	}
	return 0;
}
