/* fuzz_distill.c - a --distill training stream (tl-train -m bert
 * --distill, records of tl-predict --logits): the stream header's
 * "predict" labels (ds_teacher_labels), every record's "logits"
 * (ds_read_logits) with ids, labels and "task", then the label set and the
 * logits permuted into it, through tl_bert_fit_read_distill (the reading
 * of tl_bert_fit before any model work; vocabulary 40, 2 token types as
 * the tiny BERT). The input is a msgpack stream. Accepted: records and
 * labels counted; refused: a message and exit code 3 (bad data) or 4. */
#include "fuzz.h"
#include "tl/bert_fit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fz_write("train.s", data, size);
	tl_err e;
	memset(&e, 0, sizeof e);
	size_t n = 0;
	int k = 0;
	if (tl_bert_fit_read_distill(path, 40, 2, &n, &k, &e) == 0)
		FZ_CHECK(k >= 0 && (size_t)k <= size && n <= size); /* every label and record takes a byte */
	else
		FZ_CHECK(e.msg[0] && (e.code == TL_EXIT_DATA || e.code == TL_EXIT_IO));
	return 0;
}
