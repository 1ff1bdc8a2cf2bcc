/* fuzz_input.c - tl-clean's text readers (tl/input.h): lines, TSV and CSV
 * with each quoting, JSON lines, fastText, an embedded stream, gzip. The
 * first byte of the input picks the format and quoting (so the seeds of
 * every format live in one corpus); the rest is the file. Invariants: a
 * row's fields lie inside the input's buffers (ASan), every error has a
 * message, line numbers never go back. */
#include "fuzz.h"
#include "tl/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int sel = data[0];
	int fmt = sel % 7;                /* TL_FMT_AUTO .. TL_FMT_STREAM */
	int quoting = (sel / 7) % 3;      /* TL_QUOTE_NONE, AUTO, RFC */
	const char *name = (sel / 21) % 2 ? "in.csv" : "in.txt";
	const char *path = fz_write(name, data + 1, size - 1);
	tl_input *in = tl_input_open(path, fmt);
	FZ_CHECK(in);
	if ((sel / 42) % 2)
		tl_input_set_max(in, 64);
	fmt = tl_input_format(in);
	FZ_CHECK(fmt >= TL_FMT_LINES && fmt <= TL_FMT_STREAM);
	FZ_CHECK(tl_format_parse(tl_format_name(fmt)) == fmt);
	int ret;
	uint64_t last = 0;
	size_t total = 0;
	if (fmt == TL_FMT_STREAM) {
		tl_record rec;
		while ((ret = tl_reader_next(tl_input_stream(in), &rec)) == TL_READ_OK)
			FZ_CHECK(rec.map->type == MSGPACK_OBJECT_MAP);
		if (ret == TL_READ_ERR)
			FZ_CHECK(tl_reader_error(tl_input_stream(in))[0]);
		tl_input_close(in);
		return 0;
	}
	if (fmt == TL_FMT_LINES || fmt == TL_FMT_JSONL || fmt == TL_FMT_FASTTEXT) {
		const char *line;
		size_t len;
		while ((ret = tl_input_next_line(in, &line, &len)) == TL_INPUT_OK) {
			FZ_CHECK(tl_input_line(in) > last);
			last = tl_input_line(in);
			FZ_CHECK(!memchr(line, '\n', len));
			if (len) /* read both ends: ASan checks the bounds */
				total += (unsigned char)line[0] + (unsigned char)line[len - 1];
		}
	} else {
		char delim = fmt == TL_FMT_CSV ? ',' : '\t';
		if (fmt == TL_FMT_CSV)
			quoting = TL_QUOTE_RFC;
		tl_row row;
		while ((ret = tl_input_next_row(in, delim, quoting, &row)) == TL_INPUT_OK) {
			FZ_CHECK(tl_input_line(in) >= last);
			last = tl_input_line(in);
			FZ_CHECK(row.n >= 1);
			for (size_t i = 0; i < row.n; i++) {
				if (row.len[i])
					total += (unsigned char)row.field[i][0] + (unsigned char)row.field[i][row.len[i] - 1];
				if (quoting == TL_QUOTE_NONE)
					FZ_CHECK(!memchr(row.field[i], delim, row.len[i]));
			}
		}
	}
	if (ret == TL_INPUT_ERR || ret == TL_INPUT_IOERR)
		FZ_CHECK(tl_input_error(in) && tl_input_error(in)[0]);
	(void)total;
	tl_input_close(in);
	return 0;
}
