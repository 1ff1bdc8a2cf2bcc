/* tl/input.h - readers for the text formats tl-clean accepts: plain lines,
 * TSV and CSV (RFC 4180 quoting), JSON lines, fastText, CoNLL columns, and an existing
 * msgpack record stream; gzip is read transparently.
 *
 * A tl_input reads one record at a time from a growing buffer that holds
 * only the current record, so memory is bounded by the longest record
 * (and by the limit set with tl_input_set_max). Pointers returned by the
 * readers point into the tl_input and stay valid until the next call.
 *
 * Ownership: tl_input_open returns an input the caller frees with
 * tl_input_close, which also closes the file and the stream reader of
 * tl_input_stream. The error text of tl_input_error belongs to the input
 * and stays valid until the next read.
 */
#ifndef TL_INPUT_H
#define TL_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "tl/stream.h"

enum tl_format {
	TL_FMT_AUTO = 0,
	TL_FMT_LINES,
	TL_FMT_TSV,
	TL_FMT_CSV,
	TL_FMT_JSONL,
	TL_FMT_FASTTEXT,
	TL_FMT_STREAM,
	TL_FMT_CONLL /* never detected: -f conll */
};

/* "lines", "tsv", ... -> TL_FMT_*, or -1. */
int tl_format_parse(const char *name);
const char *tl_format_name(int fmt);

/* Quoting of TSV fields (CSV fields always follow RFC 4180). */
enum tl_quoting {
	TL_QUOTE_NONE = 0, /* '"' is an ordinary character */
	TL_QUOTE_AUTO,     /* a field "..." is unquoted only if it had to be
			    * quoted: it holds a tab, a line break or a
			    * doubled "". Otherwise it is taken literally. */
	TL_QUOTE_RFC       /* RFC 4180, as for CSV */
};

typedef struct tl_input tl_input;

/* Open path (NULL or "-": stdin). format TL_FMT_AUTO detects it from the
 * first bytes: a msgpack map -> stream; '{' -> jsonl; "__label__" ->
 * fasttext; a tab in the first line -> tsv; a name ending in .csv or
 * .csv.gz -> csv; anything else (and empty input) -> lines. A UTF-8 byte
 * order mark at the start is skipped. Returns NULL with errno set when the
 * file cannot be opened. Free with tl_input_close. */
tl_input *tl_input_open(const char *path, int format);
void tl_input_close(tl_input *in);
/* The format in use (detected or as given). */
int tl_input_format(const tl_input *in);
/* Records longer than max bytes are an error (0: no limit). */
void tl_input_set_max(tl_input *in, size_t max);
/* The last error, e.g. "line 7: unterminated quoted field". */
const char *tl_input_error(const tl_input *in);
/* Line number (1-based) where the last record began. */
uint64_t tl_input_line(const tl_input *in);

enum { TL_INPUT_EOF = 0, TL_INPUT_OK = 1, TL_INPUT_ERR = -1, TL_INPUT_IOERR = -2 };

/* Next line, without its '\n' and a '\r' before it. Blank lines are
 * returned too. */
int tl_input_next_line(tl_input *in, const char **line, size_t *len);

/* Next row of delimiter-separated fields. Completely blank lines are
 * skipped. */
typedef struct {
	size_t n;           /* number of fields */
	const char **field; /* field[i], not NUL-terminated */
	size_t *len;        /* len[i] */
} tl_row;
int tl_input_next_row(tl_input *in, char delim, int quoting, tl_row *row);

/* CoNLL (TL_FMT_CONLL): one word per line, columns separated by runs of
 * spaces or tabs, a blank (or all-whitespace) line ends a sentence, a line
 * whose first column is -DOCSTART- is skipped and also ends a sentence.
 * Runs of blank lines make no empty sentences: the reader never returns
 * n == 0. The file is tagged when its first word line has two or more
 * columns (or tag_col > 0 was asked for): then every word line needs its
 * tag column (a shorter line is an error naming it), else (one column: a
 * file to predict on) every line must have exactly one column.
 * text_col: the 1-based word column; tag_col: the 1-based tag column, 0:
 * the last column of each line. A NUL byte in a line is an error. */
typedef struct {
	size_t n;          /* words, >= 1 */
	const char **word; /* word[i], NUL-terminated */
	const char **tag;  /* tag[i], or NULL for an untagged file */
	uint64_t line;     /* line of the first word */
} tl_conll_sent;
/* Next sentence: TL_INPUT_OK, _EOF, _ERR (tl_input_error: "line N: ...",
 * tl_input_line: N) or _IOERR. The strings are owned by the input and valid
 * until the next call. */
int tl_input_next_sentence(tl_input *in, int text_col, int tag_col, tl_conll_sent *s);

/* For TL_FMT_STREAM: the record reader (owned by the tl_input). */
tl_reader *tl_input_stream(tl_input *in);

#endif
