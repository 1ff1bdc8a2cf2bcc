/* tl-cat - show a record stream as JSON lines or TSV, or turn JSON lines
 * into a stream. */
#include "tl/cli.h"
#include "tl/json.h"
#include "tl/stream.h"
#include "tl/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char usage[] =
	"usage: tl-cat [-t jsonl|tsv|msgpack] [-f FIELDS] [-H] [--no-names] [FILE...]\n"
	"Render tl record streams for people (JSON lines, TSV) or turn JSON lines\n"
	"back into a stream. The input kind is detected: a line starting with '{'\n"
	"is JSON lines, anything else a msgpack stream; gzip is read transparently.\n"
	"\n"
	"  -t, --to FORMAT   jsonl (default for stream input), tsv, or msgpack\n"
	"                    (default for JSON-lines input)\n"
	"  -f, --fields LIST comma-separated keys: the TSV columns (default: the keys\n"
	"                    of the first record), or the keys of each JSON line, in\n"
	"                    that order (a key a record lacks is left out; header\n"
	"                    records shown whole); msgpack output ignores it\n"
	"      --no-names    TSV without the line of column names\n"
	"  -H, --header      also show header records (always kept in msgpack output)\n"
	"  -h, --help        show this help\n"
	"      --version     show the version\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 bad input, 4 I/O error.\n";

enum { TO_AUTO, TO_JSONL, TO_TSV, TO_MSGPACK };

static int to = TO_AUTO, show_header, names = 1;
static char **fields;
static int nfields;
static tl_writer *W;
static tl_buf line;
static uint64_t recno;

static void split_fields(const char *list)
{
	char *s = tl_xstrdup(list), *save = NULL;
	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		fields = tl_xrealloc(fields, (size_t)(nfields + 1) * sizeof *fields);
		fields[nfields++] = tl_xstrdup(t);
	}
	free(s);
}

static void tsv_value(tl_buf *b, const msgpack_object *o, const char *key)
{
	if (!o)
		return;
	if (o->type == MSGPACK_OBJECT_STR) {
		for (uint32_t i = 0; i < o->via.str.size; i++) {
			char c = o->via.str.ptr[i];
			if (c == '\t')
				tl_buf_add(b, "\\t", 2);
			else if (c == '\n')
				tl_buf_add(b, "\\n", 2);
			else if (c == '\r')
				tl_buf_add(b, "\\r", 2);
			else if (c == '\\')
				tl_buf_add(b, "\\\\", 2);
			else
				tl_buf_addc(b, c);
		}
	} else {
		tl_json_from_msgpack(b, o, key, strlen(key));
	}
}

static void emit_line(void)
{
	if (fwrite(line.data, 1, line.len, stdout) != line.len) {
		if (errno == EPIPE)
			exit(0);
		tl_die(TL_EXIT_IO, "write error:");
	}
	line.len = 0;
}

static void out_record(const tl_record *rec)
{
	if (rec->is_header && !show_header && to != TO_MSGPACK)
		return;
	if (to == TO_MSGPACK) {
		msgpack_pack_object(tl_writer_raw(W), *rec->map);
		tl_writer_commit(W);
		return;
	}
	if (to == TO_JSONL) {
		if (fields && !rec->is_header) {
			/* -f: those keys, in that order; a key the record lacks is left out */
			int n = 0;
			tl_buf_addc(&line, '{');
			for (int i = 0; i < nfields; i++) {
				const msgpack_object *v = tl_rec_get(rec, fields[i]);
				int dup = 0;
				for (int j = 0; j < i && !dup; j++)
					dup = !strcmp(fields[j], fields[i]);
				if (!v || dup) /* a key once: JSON objects have no repeated keys */
					continue;
				if (n++)
					tl_buf_addc(&line, ',');
				tl_json_string(&line, fields[i], strlen(fields[i]));
				tl_buf_addc(&line, ':');
				tl_json_from_msgpack(&line, v, fields[i], strlen(fields[i]));
			}
			tl_buf_addc(&line, '}');
		} else {
			tl_json_from_msgpack(&line, rec->map, NULL, 0);
		}
		tl_buf_addc(&line, '\n');
		emit_line();
		return;
	}
	/* TSV */
	if (!fields) {
		for (uint32_t i = 0; i < rec->map->via.map.size; i++) {
			const msgpack_object *k = &rec->map->via.map.ptr[i].key;
			if (k->type != MSGPACK_OBJECT_STR)
				continue;
			fields = tl_xrealloc(fields, (size_t)(nfields + 1) * sizeof *fields);
			fields[nfields] = tl_xmalloc(k->via.str.size + 1);
			memcpy(fields[nfields], k->via.str.ptr, k->via.str.size);
			fields[nfields++][k->via.str.size] = 0;
		}
	}
	if (names) {
		for (int i = 0; i < nfields; i++) {
			if (i)
				tl_buf_addc(&line, '\t');
			tl_buf_adds(&line, fields[i]);
		}
		tl_buf_addc(&line, '\n');
		names = 0;
	}
	for (int i = 0; i < nfields; i++) {
		if (i)
			tl_buf_addc(&line, '\t');
		tsv_value(&line, tl_rec_get(rec, fields[i]), fields[i]);
	}
	tl_buf_addc(&line, '\n');
	emit_line();
}

static void json_lines(gzFile gz, const char *name)
{
	char *buf = NULL;
	size_t cap = 0, len = 0;
	int c = 0;
	char err[256];
	for (;;) {
		len = 0;
		while ((c = gzgetc(gz)) != -1 && c != '\n') {
			if (len + 1 >= cap) {
				cap = cap ? 2 * cap : 4096;
				buf = tl_xrealloc(buf, cap);
			}
			buf[len++] = (char)c;
		}
		if (c == -1 && len == 0)
			break;
		recno++;
		size_t n = len;
		while (n && (buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		if (to == TO_MSGPACK) {
			if (tl_json_to_msgpack(tl_writer_raw(W), buf, n, 1, err, sizeof err) < 0) {
				free(buf); /* nothing left for LeakSanitizer to report */
				tl_die_rec(TL_EXIT_DATA, recno, "%s: %s", name, err);
			}
			tl_writer_commit(W);
		} else {
			/* JSON -> JSON/TSV: go through msgpack to normalise */
			msgpack_sbuffer sb;
			msgpack_sbuffer_init(&sb);
			msgpack_packer pk;
			msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
			if (tl_json_to_msgpack(&pk, buf, n, 1, err, sizeof err) < 0) {
				msgpack_sbuffer_destroy(&sb);
				free(buf);
				tl_die_rec(TL_EXIT_DATA, recno, "%s: %s", name, err);
			}
			msgpack_unpacked up;
			msgpack_unpacked_init(&up);
			msgpack_unpack_next(&up, sb.data, sb.size, NULL);
			tl_record rec = {&up.data, recno, 0};
			rec.is_header = tl_map_get(rec.map, "tl") && tl_map_get(rec.map, "kind");
			out_record(&rec);
			msgpack_unpacked_destroy(&up);
			msgpack_sbuffer_destroy(&sb);
		}
		if (c == -1)
			break;
	}
	char zm[512];
	int zcode = tl_gz_status(gz, name, zm, sizeof zm); /* truncated gzip: 3; corrupt, read error: 4 */
	free(buf);
	if (zcode)
		tl_die(zcode, "%s", zm);
}

/* tl_source's hook for each input file: an empty file is skipped, JSON
 * lines are read here, a stream is left to the source. */
static int open_file(void *ctx, void *gzp, const char *name, tl_err *e)
{
	(void)ctx;
	gzFile gz = gzp;
	int first = gzgetc(gz);
	if (first == -1) { /* empty, unless the gzip data is corrupt or cut short */
		char zm[512];
		int code = tl_gz_status(gz, name, zm, sizeof zm);
		return code ? tl_seterr(e, code, "%s", zm) : 1;
	}
	gzungetc(first, gz);
	int jsonl = first == '{' || first == ' ' || first == '\n' || first == '\r' || first == '\t';
	if (to == TO_AUTO)
		to = jsonl ? TO_MSGPACK : TO_JSONL;
	if (!W)
		W = tl_writer_open(stdout);
	if (!jsonl)
		return 0;
	json_lines(gz, name);
	return 1;
}

int main(int argc, char **argv)
{
	tl_init(argv[0]);
	static const struct option opts[] = {
		{"to", required_argument, 0, 't'}, {"fields", required_argument, 0, 'f'},
		{"header", no_argument, 0, 'H'},   {"no-names", no_argument, 0, 'N'},
		{"help", no_argument, 0, 'h'},     {"version", no_argument, 0, 'V'},
		{0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "t:f:Hh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!strcmp(optarg, "jsonl") || !strcmp(optarg, "json"))
				to = TO_JSONL;
			else if (!strcmp(optarg, "tsv"))
				to = TO_TSV;
			else if (!strcmp(optarg, "msgpack") || !strcmp(optarg, "stream"))
				to = TO_MSGPACK;
			else
				tl_die(TL_EXIT_USAGE, "option --to: unknown format '%s' (jsonl, tsv, msgpack)", optarg);
			break;
		case 'f': split_fields(optarg); break;
		case 'H': show_header = 1; break;
		case 'N': names = 0; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': tl_print_version(); return 0;
		default: fputs(usage, stderr); return TL_EXIT_USAGE;
		}
	}
	tl_source *src = tl_source_new(argv + optind, argc - optind);
	tl_source_set_file_hook(src, open_file, NULL);
	tl_record rec;
	while (tl_source_next_or_die(src, &rec))
		out_record(&rec);
	tl_source_free(src);
	if (W && tl_writer_free(W) != 0)
		tl_die(TL_EXIT_IO, "write error:");
	tl_buf_free(&line);
	tl_close_stdout();
	return 0;
}
