/* fuzz_lstm_model.c - an LSTM model directory (tl-train -m lstm-lm|lstm,
 * read by tl-predict, tl-embed and tl-train --pretrained through
 * tl_lstm_load): the input is config.json, a line "----", vocab.txt, and
 * optionally another "----" and model.safetensors; without that third part
 * the weights are the small classifier of tests/fuzz/data/lstm (found from
 * the current directory or $TL_ROOT), so that the size and shape checks of
 * config.json against real tensors run. Without a second part there is no
 * vocab.txt. A directory that loads has sizes that match its tensors,
 * labels when it is a classifier, a vocabulary sha256 of 64 hex digits or
 * none, encodes a short sequence, and the stream-header vocabulary check
 * answers; every refusal has a message. */
#include "fuzz.h"
#include "tl/classifier.h"
#include "tl/kernels.h"
#include "tl/lstm.h"
#include "tl/model.h"

#include <msgpack.h>

static char *weights;
static size_t weights_len;

static void load_fixture(void)
{
	char path[1024];
	const char *root = getenv("TL_ROOT");
	snprintf(path, sizeof path, "%s/tests/fuzz/data/lstm/model.safetensors", root ? root : ".");
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz_lstm_model: cannot open %s (run from the repository root or set TL_ROOT)\n", path);
		exit(1);
	}
	static char buf[1 << 16];
	weights_len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	weights = buf;
}

/* A stream header {"tokenizer": {"vocab_sha256": sha}} unpacked into z. */
static msgpack_object header(msgpack_zone *z, msgpack_sbuffer *sb, const char *sha, size_t len)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "tokenizer", 9);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "vocab_sha256", 12);
	msgpack_pack_str_with_body(&pk, sha, len);
	msgpack_object o;
	FZ_CHECK(msgpack_unpack(sb->data, sb->size, NULL, z, &o) == MSGPACK_UNPACK_SUCCESS);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!weights) {
		load_fixture();
		tl_kernels_cpu()->set_threads(1);
	}
	size_t l0 = 0, l1 = 0, l2 = 0;
	const uint8_t *p0 = fz_part(data, size, 0, &l0), *p1 = fz_part(data, size, 1, &l1),
		      *p2 = fz_part(data, size, 2, &l2);
	fz_write("config.json", p0, l0);
	if (p1)
		fz_write("vocab.txt", p1, l1);
	else
		fz_unlink("vocab.txt");
	if (p2)
		fz_write("model.safetensors", p2, l2);
	else
		fz_write("model.safetensors", weights, weights_len);
	const char *dir = fz_dir();
	char err[512] = "";
	const tl_kernels *k = tl_kernels_cpu();
	tl_lstm *m = tl_lstm_load(dir, k, err, sizeof err);
	int loaded = m != NULL;
	if (!m) {
		FZ_CHECK(err[0]);
	} else {
		const tl_lstm_cfg *c = &m->cfg;
		FZ_CHECK(c->V >= 1 && c->E >= 1 && c->H >= 1 && c->L >= 1 && c->L <= TL_LSTM_MAXL && c->NL >= 0);
		FZ_CHECK(m->n >= (size_t)c->V * (size_t)c->E);
		/* no size beyond what the weights hold */
		FZ_CHECK(m->n * 2 <= (p2 ? l2 : weights_len)); /* bf16 at least */
		for (int i = 0; i < c->NL; i++)
			FZ_CHECK(m->labels && m->labels[i]);
		size_t sl = strlen(m->vocab_sha256);
		FZ_CHECK(sl == 0 || (sl == 64 && strspn(m->vocab_sha256, "0123456789abcdef") == 64));
		FZ_CHECK(!p1 == !sl);
		int32_t ids[3] = {0, c->V - 1, c->V / 2}, len = 3;
		float *vec = calloc(3 * (size_t)c->E, sizeof *vec);
		FZ_CHECK(vec);
		tl_lstm_encode(m, ids, &len, 1, 3, vec);
		free(vec);
		/* the vocabulary check of a stream header: the model's own sha
		 * passes, another is refused, no vocab.txt is a warning (1) */
		msgpack_zone z;
		msgpack_zone_init(&z, 1024);
		msgpack_sbuffer sb;
		msgpack_sbuffer_init(&sb);
		static const char other[] = "0000000000000000000000000000000000000000000000000000000000000000";
		msgpack_object h = header(&z, &sb, sl ? m->vocab_sha256 : other, 64);
		err[0] = 0;
		int r = tl_model_check_vocab(&h, m->vocab_sha256, dir, err, sizeof err);
		FZ_CHECK(sl ? r == 0 : (r == 1 && err[0]));
		msgpack_sbuffer_clear(&sb);
		h = header(&z, &sb, "ab", 2);
		err[0] = 0;
		r = tl_model_check_vocab(&h, m->vocab_sha256, dir, err, sizeof err);
		FZ_CHECK(r != 0 && err[0]);
		msgpack_sbuffer_destroy(&sb);
		msgpack_zone_destroy(&z);
		tl_lstm_free(m);
	}
	/* tl-predict's loader: a classifier, or a message */
	tl_classifier_err e;
	memset(&e, 0, sizeof e);
	tl_classifier *cl = tl_lstm_classifier_load(dir, NULL, 1, &e);
	if (cl) {
		FZ_CHECK(loaded && cl->nlabels >= 1 && cl->labels);
		tl_classifier_free(cl);
	} else {
		FZ_CHECK(e.msg[0] && e.code == TL_EXIT_MODEL);
	}
	return 0;
}
