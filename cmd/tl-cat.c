/* tl-cat - show a record stream as JSON lines or TSV, or turn JSON lines
 * into a stream. */
#include "tl/cli.h"
#include "tl/fsutil.h"
#include "tl/json.h"
#include "tl/rng.h"
#include "tl/stream.h"
#include "tl/util.h"

#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const char usage[] =
	"usage: tl-cat [-t jsonl|tsv|msgpack] [-f FIELDS] [-H] [--no-names] [FILE...]\n"
	"       tl-cat --split NAME=FRACTION [--seed N] [--stratify FIELD|--no-stratify]\n"
	"              [-o DIR] [--force] [-t FORMAT] [-f FIELDS] [FILE...]\n"
	"       tl-cat --shard I/N [-t FORMAT] [-f FIELDS] [FILE...]\n"
	"       tl-cat --merge [-t FORMAT] [-f FIELDS] SHARD0 SHARD1 ...\n"
	"Render tl record streams for people (JSON lines, TSV) or turn JSON lines\n"
	"back into a stream. The input kind is detected: a line starting with '{'\n"
	"is JSON lines, anything else a msgpack stream; gzip is read transparently.\n"
	"\n"
	"  -t, --to FORMAT   jsonl (default for stream input), tsv, or msgpack\n"
	"                    (default for JSON-lines input)\n"
	"  -f, --fields LIST comma-separated keys: the TSV columns (default: the keys\n"
	"                    of the first record), or the keys of each JSON line, in\n"
	"                    that order (a key a record lacks is left out; header\n"
	"                    records shown whole), or of each record of msgpack output\n"
	"      --no-names    TSV without the line of column names\n"
	"  -H, --header      also show header records (always kept in msgpack output)\n"
	"split one labelled file in two (man tl-cat, SPLIT):\n"
	"      --split NAME=F    put the fraction F (0 < F < 1) of the records in\n"
	"                        DIR/NAME.s and the rest in DIR/train.s (.jsonl, .tsv\n"
	"                        with -t); input order is kept in both\n"
	"      --seed N          which records go where (1)\n"
	"      --stratify FIELD  the fraction within each value of FIELD (label)\n"
	"      --no-stratify     the fraction of the whole\n"
	"  -o, --output DIR    where the two files go (.)\n"
	"      --force           replace them if they exist\n"
	"score in parallel (man tl-cat, SHARDS):\n"
	"      --shard I/N       only the data records whose index (0-based, headers\n"
	"                        not counted) is I modulo N; headers kept\n"
	"      --merge           interleave the files' records round-robin (one from\n"
	"                        each in turn): undoes --shard 0/N .. N-1/N for files\n"
	"                        given in shard order; headers of the first file only\n"
	"  -h, --help        show this help\n"
	"      --version     show the version\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 bad input, 4 I/O error.\n";

enum { TO_AUTO, TO_JSONL, TO_TSV, TO_MSGPACK };

static int to = TO_AUTO, show_header, names = 1;
static char **fields;
static int nfields;
static tl_writer *W;
static FILE *outf; /* stdout, or a --split output */
static tl_buf line;
static uint64_t recno;

/* --split: every record kept packed, headers apart */
typedef struct {
	tl_buf data;     /* packed maps */
	size_t *off, n, cap; /* record i: data[off[i] .. off[i+1]) */
	size_t *datano;  /* data record number (headers not counted), for messages */
} packed_set;
static int split_mode;
static packed_set split_recs, split_heads;
static size_t split_datano;
/* --shard I/N */
static uint64_t shard_i, shard_n, shard_count;

static void packed_add(packed_set *ps, const msgpack_object *o, size_t no)
{
	if (ps->n + 2 > ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 1024;
		ps->off = tl_xrealloc(ps->off, ps->cap * sizeof *ps->off);
		ps->datano = tl_xrealloc(ps->datano, ps->cap * sizeof *ps->datano);
	}
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *o);
	ps->off[ps->n] = ps->data.len;
	ps->datano[ps->n] = no;
	tl_buf_add(&ps->data, sb.data, sb.size);
	ps->n++;
	ps->off[ps->n] = ps->data.len;
	msgpack_sbuffer_destroy(&sb);
}

/* -f LIST: the keys between commas; an empty key ("", "a,,b", "a,") is a
 * usage error, not skipped. */
static void split_fields(const char *list)
{
	const char *p = list;
	for (;;) {
		size_t n = strcspn(p, ",");
		if (n == 0)
			tl_die(TL_EXIT_USAGE, "option -f: empty field name in '%s' (keys separated by commas)", list);
		fields = tl_xrealloc(fields, (size_t)(nfields + 1) * sizeof *fields);
		char *k = tl_xmalloc(n + 1);
		memcpy(k, p, n);
		k[n] = 0;
		fields[nfields++] = k;
		if (!p[n])
			break;
		p += n + 1;
	}
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
	if (fwrite(line.data, 1, line.len, outf) != line.len) {
		if (errno == EPIPE)
			exit(0);
		tl_die(TL_EXIT_IO, "write error:");
	}
	line.len = 0;
}

/* The keys of -f present in rec, each once, in -f's order: their indices
 * into fields[] in idx; returns how many. */
static int present_fields(const tl_record *rec, int *idx)
{
	int n = 0;
	for (int i = 0; i < nfields; i++) {
		int dup = 0;
		for (int j = 0; j < i && !dup; j++)
			dup = !strcmp(fields[j], fields[i]);
		if (!dup && tl_rec_get(rec, fields[i])) /* a key once: maps have no repeated keys */
			idx[n++] = i;
	}
	return n;
}

static void out_record(const tl_record *rec)
{
	if (shard_n && !rec->is_header && shard_count++ % shard_n != shard_i)
		return;
	if (split_mode) {
		if (rec->is_header)
			packed_add(&split_heads, rec->map, 0);
		else
			packed_add(&split_recs, rec->map, ++split_datano);
		return;
	}
	if (rec->is_header && !show_header && to != TO_MSGPACK)
		return;
	if (to == TO_MSGPACK) {
		msgpack_packer *pk = tl_writer_raw(W);
		if (fields && !rec->is_header) {
			/* -f: those keys, in that order */
			int *idx = tl_xmalloc((size_t)nfields * sizeof *idx);
			int n = present_fields(rec, idx);
			msgpack_pack_map(pk, (size_t)n);
			for (int i = 0; i < n; i++) {
				const char *k = fields[idx[i]];
				msgpack_pack_str(pk, strlen(k));
				msgpack_pack_str_body(pk, k, strlen(k));
				msgpack_pack_object(pk, *tl_rec_get(rec, k));
			}
			free(idx);
		} else
			msgpack_pack_object(pk, *rec->map);
		tl_writer_commit(W);
		return;
	}
	if (to == TO_JSONL) {
		if (fields && !rec->is_header) {
			/* -f: those keys, in that order; a key the record lacks is left out */
			int *idx = tl_xmalloc((size_t)nfields * sizeof *idx);
			int n = present_fields(rec, idx);
			tl_buf_addc(&line, '{');
			for (int i = 0; i < n; i++) {
				const char *k = fields[idx[i]];
				if (i)
					tl_buf_addc(&line, ',');
				tl_json_string(&line, k, strlen(k));
				tl_buf_addc(&line, ':');
				tl_json_from_msgpack(&line, tl_rec_get(rec, k), k, strlen(k));
			}
			tl_buf_addc(&line, '}');
			free(idx);
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
		if (to == TO_MSGPACK && !fields && !split_mode && !shard_n) {
			if (tl_json_to_msgpack(tl_writer_raw(W), buf, n, 1, err, sizeof err) < 0) {
				free(buf); /* nothing left for LeakSanitizer to report */
				tl_die_rec(TL_EXIT_DATA, recno, "%s: %s", name, err);
			}
			tl_writer_commit(W);
		} else {
			/* JSON -> JSON/TSV (or chosen fields, or --split): go
			 * through msgpack to normalise */
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
	if (!W && !split_mode)
		W = tl_writer_open(stdout);
	if (!jsonl)
		return 0;
	json_lines(gz, name);
	return 1;
}

/* ---------------- --split ---------------- */

/* Write the records of set whose mark is want (headers first) to path,
 * through a temporary sibling renamed over it. */
static void split_write(const char *path, const unsigned char *mark, int want, int names0)
{
	tl_buf tmp = {0};
	tl_buf_printf(&tmp, "%s.tmp-%ld-XXXXXX", path, (long)getpid());
	int fd = mkstemp(tl_buf_cstr(&tmp));
	if (fd < 0)
		tl_die(TL_EXIT_IO, "cannot create %s:", tl_buf_cstr(&tmp));
	FILE *f = fdopen(fd, "w");
	if (!f)
		tl_die(TL_EXIT_IO, "cannot open %s:", tl_buf_cstr(&tmp));
	outf = f;
	names = names0;
	W = tl_writer_open(f);
	split_mode = 0;
	for (int pass = 0; pass < 2; pass++) {
		packed_set *ps = pass ? &split_recs : &split_heads;
		for (size_t i = 0; i < ps->n; i++) {
			if (pass && mark[i] != want)
				continue;
			msgpack_unpacked up;
			msgpack_unpacked_init(&up);
			msgpack_unpack_next(&up, ps->data.data + ps->off[i], ps->off[i + 1] - ps->off[i], NULL);
			tl_record rec = {&up.data, i + 1, !pass};
			out_record(&rec);
			msgpack_unpacked_destroy(&up);
		}
	}
	int bad = tl_writer_free(W) != 0;
	W = NULL;
	bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
	bad |= fclose(f) != 0;
	if (bad || rename(tl_buf_cstr(&tmp), path) != 0) {
		int en = errno;
		unlink(tl_buf_cstr(&tmp));
		errno = en;
		tl_die(TL_EXIT_IO, "cannot write %s:", path);
	}
	split_mode = 1;
	outf = stdout;
	tl_buf_free(&tmp);
}

/* Which records go to the held-out part: within each value of the field
 * strat (NULL: all records as one group), round(F * n) records chosen by
 * a seeded shuffle of the group; groups in order of first appearance. */
static unsigned char *split_mark(double frac, uint64_t seed, const char *strat, size_t *nheld, size_t *ngroups)
{
	size_t n = split_recs.n;
	unsigned char *mark = tl_xcalloc(n ? n : 1, 1);
	size_t *group = tl_xmalloc((n ? n : 1) * sizeof *group);
	char **gkey = NULL;
	size_t ng = 0, found = 0;
	tl_buf kb = {0};
	for (size_t i = 0; i < n; i++) {
		msgpack_unpacked up;
		msgpack_unpacked_init(&up);
		msgpack_unpack_next(&up, split_recs.data.data + split_recs.off[i], split_recs.off[i + 1] - split_recs.off[i],
				    NULL);
		kb.len = 0;
		if (strat) {
			const msgpack_object *v = tl_map_get(&up.data, strat);
			if (!v) {
				msgpack_unpacked_destroy(&up);
				continue; /* reported below */
			}
			found++;
			tl_json_from_msgpack(&kb, v, strat, strlen(strat));
		}
		msgpack_unpacked_destroy(&up);
		const char *k = tl_buf_cstr(&kb);
		size_t g = 0;
		while (g < ng && strcmp(gkey[g], k))
			g++;
		if (g == ng) {
			gkey = tl_xrealloc(gkey, (ng + 1) * sizeof *gkey);
			gkey[ng++] = tl_xstrdup(k);
		}
		group[i] = g;
	}
	if (strat && found < n) {
		if (found == 0)
			tl_die(TL_EXIT_DATA, "--stratify: no record has a field \"%s\" (--stratify FIELD names another, "
					     "--no-stratify splits without one)",
			       strat);
		for (size_t i = 0; i < n; i++) {
			msgpack_unpacked up;
			msgpack_unpacked_init(&up);
			msgpack_unpack_next(&up, split_recs.data.data + split_recs.off[i],
					    split_recs.off[i + 1] - split_recs.off[i], NULL);
			int has = tl_map_get(&up.data, strat) != NULL;
			msgpack_unpacked_destroy(&up);
			if (!has)
				tl_die(TL_EXIT_DATA, "record %zu: no \"%s\" to stratify on (--no-stratify splits without it)",
				       split_recs.datano[i], strat);
		}
	}
	uint64_t st = tl_mix64(seed ^ 0x73706c6974ULL); /* "split" */
	size_t *idx = tl_xmalloc((n ? n : 1) * sizeof *idx);
	*nheld = 0;
	for (size_t g = 0; g < ng; g++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (group[i] == g)
				idx[m++] = i;
		for (size_t i = m; i > 1; i--) { /* Fisher-Yates */
			size_t j = tl_splitmix64_index(&st, i);
			size_t t = idx[i - 1];
			idx[i - 1] = idx[j];
			idx[j] = t;
		}
		size_t k = (size_t)(frac * (double)m + 0.5);
		for (size_t i = 0; i < k; i++)
			mark[idx[i]] = 1;
		*nheld += k;
		free(gkey[g]);
	}
	*ngroups = ng;
	free(gkey);
	free(group);
	free(idx);
	tl_buf_free(&kb);
	return mark;
}

/* ---------------- --merge ---------------- */

/* The next data record of r (headers: written when first, dropped
 * otherwise); 0 at the end. Dies on a bad stream. */
static int merge_next(tl_reader *r, const char *name, int first, tl_record *rec)
{
	for (;;) {
		int st = tl_reader_next(r, rec);
		if (st == TL_READ_ERR) {
			uint64_t no = tl_reader_error_recno(r);
			if (no)
				tl_die_rec(tl_reader_error_code(r), no, "%s: %s", name, tl_reader_error(r));
			tl_die(tl_reader_error_code(r), "%s", tl_reader_error(r));
		}
		if (st == TL_READ_EOF)
			return 0;
		if (!rec->is_header)
			return 1;
		if (first)
			out_record(rec);
	}
}

/* Shard k of N holds the records k, k+N, k+2N... of the whole, so taking
 * one record from each file in turn restores the order. The files' sizes
 * must fit: once one ends, every later file of that round ends too, and
 * the earlier ones end in the next round. */
static void merge(char **files, int n)
{
	tl_reader **r = tl_xcalloc((size_t)n, sizeof *r);
	for (int k = 0; k < n; k++) {
		if (!strcmp(files[k], "-"))
			tl_die(TL_EXIT_USAGE, "--merge: give the shards as files, not standard input");
		r[k] = tl_reader_open(files[k]);
		if (!r[k])
			tl_die(TL_EXIT_IO, "cannot open %s:", files[k]);
	}
	uint64_t round = 0;
	int end = -1; /* the first file to end */
	for (;;) {
		for (int k = 0; k < n; k++) {
			tl_record rec;
			int got = merge_next(r[k], files[k], k == 0, &rec);
			if (got && end >= 0)
				tl_die(TL_EXIT_DATA,
				       "--merge: %s has more records than %s ended with (%" PRIu64
				       "): the files are not the shards of one stream, in shard order",
				       files[k], files[end], round);
			if (!got && end < 0) {
				end = k;
				/* the files before k must end at the next round */
				for (int j = k + 1; j < n; j++) {
					if (merge_next(r[j], files[j], 0, &rec))
						tl_die(TL_EXIT_DATA,
						       "--merge: %s has more records than %s (%" PRIu64
						       "): the files are not the shards of one stream, in shard order",
						       files[j], files[k], round);
				}
				for (int j = 0; j < k; j++)
					if (merge_next(r[j], files[j], 0, &rec))
						tl_die(TL_EXIT_DATA,
						       "--merge: %s has two more records than %s (%" PRIu64
						       "): the files are not the shards of one stream, in shard order",
						       files[j], files[k], round);
				goto done;
			}
			if (got)
				out_record(&rec);
		}
		round++;
	}
done:
	for (int k = 0; k < n; k++)
		tl_reader_close(r[k]);
	free(r);
}

int main(int argc, char **argv)
{
	tl_init(argv[0]);
	outf = stdout;
	enum { O_SPLIT = 256, O_SEED, O_STRAT, O_NOSTRAT, O_FORCE, O_SHARD, O_MERGE };
	static const struct option opts[] = {
		{"to", required_argument, 0, 't'}, {"fields", required_argument, 0, 'f'},
		{"header", no_argument, 0, 'H'},   {"no-names", no_argument, 0, 'N'},
		{"help", no_argument, 0, 'h'},     {"version", no_argument, 0, 'V'},
		{"split", required_argument, 0, O_SPLIT}, {"seed", required_argument, 0, O_SEED},
		{"stratify", required_argument, 0, O_STRAT}, {"no-stratify", no_argument, 0, O_NOSTRAT},
		{"output", required_argument, 0, 'o'}, {"force", no_argument, 0, O_FORCE},
		{"shard", required_argument, 0, O_SHARD}, {"merge", no_argument, 0, O_MERGE},
		{0, 0, 0, 0}};
	int do_merge = 0;
	int c;
	const char *split = NULL, *strat = "label", *outdir = NULL;
	int have_seed = 0, have_strat = 0, force = 0;
	uint64_t seed = 1;
	while ((c = getopt_long(argc, argv, "t:f:Hho:", opts, NULL)) != -1) {
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
		case O_SPLIT: split = optarg; break;
		case O_SEED: seed = (uint64_t)tl_parse_long("--seed", optarg, 0, INT64_MAX); have_seed = 1; break;
		case O_STRAT:
			if (!*optarg)
				tl_die(TL_EXIT_USAGE, "option --stratify: empty field name");
			strat = optarg;
			have_strat = 1;
			break;
		case O_NOSTRAT: strat = NULL; have_strat = 1; break;
		case 'o': outdir = tl_parse_path("-o", optarg); break;
		case O_FORCE: force = 1; break;
		case O_SHARD: {
			char *end;
			errno = 0;
			unsigned long long i = strtoull(optarg, &end, 10), n = 0;
			int ok = end != optarg && *end == '/' && optarg[0] != '-';
			if (ok) {
				char *e2;
				n = strtoull(end + 1, &e2, 10);
				ok = e2 != end + 1 && !*e2 && end[1] != '-' && !errno && n >= 1 && i < n;
			}
			if (!ok)
				tl_die(TL_EXIT_USAGE, "option --shard: '%s' is not I/N with 0 <= I < N (e.g. 0/4)", optarg);
			shard_i = i;
			shard_n = n;
			break;
		}
		case O_MERGE: do_merge = 1; break;
		default: fputs(usage, stderr); return TL_EXIT_USAGE;
		}
	}
	if (!split && (have_seed || have_strat || outdir || force))
		tl_die(TL_EXIT_USAGE, "--seed, --stratify, --no-stratify, -o and --force are for --split");
	if ((split != NULL) + (shard_n != 0) + do_merge > 1)
		tl_die(TL_EXIT_USAGE, "--split, --shard and --merge are separate uses: give one");
	if (do_merge) {
		if (optind >= argc)
			tl_die(TL_EXIT_USAGE, "--merge: give the shard files, in shard order");
		if (to == TO_AUTO)
			to = TO_MSGPACK;
		W = tl_writer_open(stdout);
		merge(argv + optind, argc - optind);
		if (tl_writer_free(W) != 0)
			tl_die(TL_EXIT_IO, "write error:");
		tl_buf_free(&line);
		tl_close_stdout();
		return 0;
	}
	char held[64];
	double frac = 0;
	if (split) {
		const char *eq = strchr(split, '=');
		size_t nl = eq ? (size_t)(eq - split) : 0;
		if (!eq || nl == 0 || nl >= sizeof held)
			tl_die(TL_EXIT_USAGE, "option --split: '%s' is not NAME=FRACTION (e.g. dev=0.1)", split);
		memcpy(held, split, nl);
		held[nl] = 0;
		for (size_t i = 0; i < nl; i++)
			if (!((held[i] >= 'a' && held[i] <= 'z') || (held[i] >= 'A' && held[i] <= 'Z') ||
			      (held[i] >= '0' && held[i] <= '9') || held[i] == '_' || held[i] == '-'))
				tl_die(TL_EXIT_USAGE, "option --split: the name '%s' must be letters, digits, '_' or '-'", held);
		if (!strcmp(held, "train"))
			tl_die(TL_EXIT_USAGE, "option --split: the held-out part cannot be called 'train' (the rest is)");
		char *end;
		errno = 0;
		frac = strtod(eq + 1, &end);
		if (end == eq + 1 || *end || errno || !(frac > 0 && frac < 1))
			tl_die(TL_EXIT_USAGE, "option --split: the fraction '%s' is not a number between 0 and 1 (exclusive)",
			       eq + 1);
		if (to == TO_AUTO)
			to = TO_MSGPACK;
		split_mode = 1;
	}
	tl_buf pa = {0}, pb = {0};
	if (split) {
		/* before reading: refuse existing outputs, and a missing folder */
		const char *ext = to == TO_JSONL ? "jsonl" : to == TO_TSV ? "tsv" : "s";
		const char *dir = outdir ? outdir : ".";
		struct stat sb;
		if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
			tl_die(TL_EXIT_IO, "-o %s: not a directory", dir);
		tl_buf_printf(&pa, "%s/train.%s", dir, ext);
		tl_buf_printf(&pb, "%s/%s.%s", dir, held, ext);
		if (!force)
			for (int i = 0; i < 2; i++) {
				const char *p = tl_buf_cstr(i ? &pb : &pa);
				if (tl_fs_exists(p))
					tl_die(TL_EXIT_USAGE, "%s exists (use --force to replace it)", p);
			}
	}
	tl_source *src = tl_source_new(argv + optind, argc - optind);
	tl_source_set_file_hook(src, open_file, NULL);
	tl_record rec;
	while (tl_source_next_or_die(src, &rec))
		out_record(&rec);
	tl_source_free(src);
	if (split) {
		if (split_recs.n == 0)
			tl_die(TL_EXIT_DATA, "--split: no records");
		size_t nheld, ng;
		unsigned char *mark = split_mark(frac, seed, strat, &nheld, &ng);
		int names0 = names;
		split_write(tl_buf_cstr(&pa), mark, 0, names0);
		split_write(tl_buf_cstr(&pb), mark, 1, names0);
		fprintf(stderr, "tl-cat: %zu records: %zu in %s, %zu in %s", split_recs.n, split_recs.n - nheld,
			tl_buf_cstr(&pa), nheld, tl_buf_cstr(&pb));
		if (strat)
			fprintf(stderr, " (%s=%g of each of %zu values of \"%s\")\n", held, frac, ng, strat);
		else
			fprintf(stderr, " (%s=%g, not stratified)\n", held, frac);
		free(mark);
		tl_buf_free(&split_recs.data);
		free(split_recs.off);
		free(split_recs.datano);
		tl_buf_free(&split_heads.data);
		free(split_heads.off);
		free(split_heads.datano);
	}
	tl_buf_free(&pa);
	tl_buf_free(&pb);
	if (W && tl_writer_free(W) != 0)
		tl_die(TL_EXIT_IO, "write error:");
	tl_buf_free(&line);
	tl_close_stdout();
	return 0;
}
