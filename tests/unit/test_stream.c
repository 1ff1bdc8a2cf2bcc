/* Unit tests for the record stream: writer pass-through, replacement,
 * dropping, headers, field decoding, sha256; the input iterator over
 * several files (tl_source); sticky write errors. */
#include "testhelp.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include "tl/stream.h"
#include "tl/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Write a stream file: nrec records, the first a header when header. */
static void write_file(const char *path, int header, int nrec, int first_id)
{
	FILE *f = fopen(path, "w");
	tl_writer *w = tl_writer_open(f);
	char *argv[] = {"tl-test", NULL};
	if (header) {
		tl_header_start(w, NULL, 1, argv);
		tl_writer_end(w);
	}
	for (int i = 0; i < nrec; i++) {
		tl_writer_start(w, NULL);
		msgpack_pack_int(tl_writer_key(w, "id"), first_id + i);
		tl_writer_end(w);
	}
	tl_writer_free(w);
	fclose(f);
}

static long rec_id(const tl_record *rec)
{
	const msgpack_object *o = tl_rec_get(rec, "id");
	return o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (long)o->via.u64 : -1;
}

static int hook_calls;
static int skip_empty(void *ctx, void *gz, const char *name, tl_err *e)
{
	(void)gz, (void)e;
	hook_calls++;
	return strcmp(name, (const char *)ctx) == 0; /* consume that file */
}

static void test_source(void)
{
	char a[] = "/tmp/tl-test-srcA-XXXXXX", b[] = "/tmp/tl-test-srcB-XXXXXX", c[] = "/tmp/tl-test-srcC-XXXXXX",
	     t[] = "/tmp/tl-test-srcT-XXXXXX";
	close(mkstemp(a));
	close(mkstemp(b));
	close(mkstemp(c));
	close(mkstemp(t));
	write_file(a, 1, 2, 1); /* header, 1, 2 */
	write_file(b, 0, 0, 0); /* empty */
	write_file(c, 1, 1, 3); /* header, 3 */
	FILE *f = fopen(t, "w");  /* one record, then a truncated one */
	fwrite("\x81\xa2id\x05\x82\xa2id", 1, 9, f);
	fclose(f);

	/* several files, an empty one, a header in the second: numbers run on */
	char *files[] = {a, b, c};
	tl_source *s = tl_source_new(files, 3);
	tl_record rec;
	tl_err e;
	CHECK(tl_source_name(s) == NULL);
	CHECK_EQ_INT(tl_source_next(s, &rec, &e), TL_READ_OK);
	/* data records are numbered from 1, headers not counted (number 0) */
	CHECK(rec.is_header && rec.no == 0 && tl_source_first(s));
	CHECK_STR(tl_source_name(s), a);
	CHECK_EQ_INT(tl_source_next(s, &rec, &e), TL_READ_OK);
	CHECK(!rec.is_header && rec.no == 1 && rec_id(&rec) == 1 && !tl_source_first(s));
	CHECK_EQ_INT(tl_source_next(s, &rec, &e), TL_READ_OK);
	CHECK(rec.no == 2 && rec_id(&rec) == 2);
	CHECK_EQ_INT(tl_source_next(s, &rec, &e), TL_READ_OK);
	CHECK(rec.is_header && rec.no == 0);
	CHECK_STR(tl_source_name(s), c);
	CHECK_EQ_INT(tl_source_next(s, &rec, &e), TL_READ_OK);
	CHECK(rec.no == 3 && rec_id(&rec) == 3);
	CHECK_EQ_INT(tl_source_next(s, &rec, &e), TL_READ_EOF);
	tl_source_free(s);

	/* one header: the second file's header is skipped, numbers unchanged */
	s = tl_source_new(files, 3);
	tl_source_set_one_header(s, 1);
	int n = 0, nh = 0;
	uint64_t last = 0;
	while (tl_source_next(s, &rec, &e) == TL_READ_OK) {
		n++;
		nh += rec.is_header;
		last = rec.no;
	}
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_INT(nh, 1);
	CHECK_EQ_INT(last, 3);
	tl_source_free(s);

	/* file ends: one after each file, the empty one too */
	s = tl_source_new(files, 3);
	tl_source_set_file_ends(s, 1);
	int ends = 0, rc;
	n = 0;
	while ((rc = tl_source_next(s, &rec, &e)) != TL_READ_EOF) {
		if (rc == TL_SOURCE_FILE_END)
			ends++;
		else if (rc == TL_READ_OK)
			n++;
		else
			break;
	}
	CHECK_EQ_INT(ends, 3);
	CHECK_EQ_INT(n, 5);
	tl_source_free(s);

	/* a hook that consumes the second file */
	s = tl_source_new(files, 3);
	tl_source_set_file_hook(s, skip_empty, b);
	hook_calls = n = 0;
	while (tl_source_next(s, &rec, &e) == TL_READ_OK)
		n++;
	CHECK_EQ_INT(hook_calls, 3);
	CHECK_EQ_INT(n, 5);
	tl_source_free(s);

	/* a missing file: reported after the records before it, with no record number */
	char *files2[] = {a, "/nonexistent/tl-test", c};
	s = tl_source_new(files2, 3);
	n = 0;
	while ((rc = tl_source_next(s, &rec, &e)) == TL_READ_OK)
		n++;
	CHECK_EQ_INT(rc, TL_READ_ERR);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(e.code, TL_EXIT_IO);
	CHECK_STR(e.msg, "cannot open /nonexistent/tl-test: No such file or directory");
	CHECK_EQ_INT(tl_source_error_recno(s), 0);
	CHECK_STR(tl_source_name(s), "/nonexistent/tl-test");
	tl_source_free(s);

	/* tl_source_start reports it before any record */
	s = tl_source_new(files2 + 1, 1);
	CHECK_EQ_INT(tl_source_start(s, &e), -1);
	CHECK_EQ_INT(e.code, TL_EXIT_IO);
	tl_source_free(s);
	s = tl_source_new(files, 1);
	CHECK_EQ_INT(tl_source_start(s, &e), 0);
	CHECK_EQ_INT(tl_source_next(s, &rec, &e), TL_READ_OK);
	CHECK(rec.is_header);
	tl_source_free(s);

	/* bad data in the second file: its code, the number running on over
	 * the data records of the files before (2 in a, then t's second) */
	char *files3[] = {a, t};
	s = tl_source_new(files3, 2);
	n = 0;
	while ((rc = tl_source_next(s, &rec, &e)) == TL_READ_OK)
		n++;
	CHECK_EQ_INT(rc, TL_READ_ERR);
	CHECK_EQ_INT(n, 4); /* 3 from a, 1 from t */
	CHECK_EQ_INT(e.code, TL_EXIT_DATA);
	CHECK_STR(e.msg, "truncated record at end of input");
	CHECK_EQ_INT(tl_source_error_recno(s), 4);
	tl_source_free(s);

	unlink(a);
	unlink(b);
	unlink(c);
	unlink(t);
}

static int handler_calls, handler_errnum;
static void on_write_error(int errnum)
{
	handler_calls++;
	handler_errnum = errnum;
}

/* Write records until the writer fails (more than its 64 KiB buffer). */
static int write_until_error(tl_writer *w)
{
	char big[1000];
	memset(big, 'x', sizeof big);
	for (int i = 0; i < 1000; i++) {
		tl_writer_start(w, NULL);
		tl_pack_str(tl_writer_key(w, "text"), big, sizeof big);
		if (tl_writer_end(w) < 0)
			return i;
	}
	return -1;
}

static void test_write_errors(void)
{
	/* /dev/full: no handler, the error is sticky and reported */
	FILE *f = fopen("/dev/full", "w");
	if (f) {
		tl_writer *w = tl_writer_open(f);
		CHECK(write_until_error(w) > 0);
		CHECK_EQ_INT(tl_writer_error(w), ENOSPC);
		tl_writer_start(w, NULL);
		msgpack_pack_int(tl_writer_key(w, "id"), 1);
		CHECK_EQ_INT(tl_writer_end(w), -1); /* still failed */
		CHECK_EQ_INT(tl_writer_commit(w), -1);
		errno = 0;
		CHECK_EQ_INT(tl_writer_free(w), -1);
		CHECK_EQ_INT(errno, ENOSPC);
		fclose(f);
	}

	/* a pipe whose reader has gone: EPIPE, the handler is called once */
	int p[2];
	CHECK(pipe(p) == 0);
	close(p[0]);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	tl_write_error_handler prev = tl_set_write_error_handler(on_write_error);
	CHECK(prev == NULL);
	f = fdopen(p[1], "w");
	tl_writer *w = tl_writer_open(f);
	CHECK(write_until_error(w) > 0);
	CHECK_EQ_INT(tl_writer_error(w), EPIPE);
	CHECK_EQ_INT(handler_calls, 1);
	CHECK_EQ_INT(handler_errnum, EPIPE);
	CHECK_EQ_INT(tl_writer_end(w), -1);
	CHECK_EQ_INT(handler_calls, 1); /* sticky: not reported again */
	CHECK_EQ_INT(tl_writer_free(w), -1);
	fclose(f);
	CHECK(tl_set_write_error_handler(NULL) == on_write_error);
	signal(SIGPIPE, old);

	/* a good writer has no error */
	f = fopen("/dev/null", "w");
	w = tl_writer_open(f);
	tl_writer_start(w, NULL);
	msgpack_pack_int(tl_writer_key(w, "id"), 1);
	CHECK_EQ_INT(tl_writer_end(w), 0);
	CHECK_EQ_INT(tl_writer_error(w), 0);
	CHECK_EQ_INT(tl_writer_free(w), 0);
	fclose(f);
}

/* Read the bytes b[0..n) as a stream (plain or gzip, from a file); the
 * result of the second read (the first record is {"a":1}). */
static int read_second(const void *b, size_t n, int gz, tl_reader **out)
{
	char path[] = "/tmp/tl-test-stream3-XXXXXX";
	int fd = mkstemp(path);
	if (gz) {
		gzFile g = gzdopen(fd, "wb");
		gzwrite(g, b, (unsigned)n);
		gzclose(g);
	} else {
		CHECK(write(fd, b, n) == (ssize_t)n);
		close(fd);
	}
	tl_reader *r = tl_reader_open(path);
	unlink(path);
	tl_record rec;
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	*out = r;
	return tl_reader_next(r, &rec);
}

/* Nesting, declared counts and truncated gzip are bad data (issue 15). */
static void test_reader_faults(void)
{
	unsigned char b[128];
	size_t n = 0;
	const unsigned char first[] = {0x81, 0xa1, 'a', 0x01}, map_x[] = {0x81, 0xa1, 'x'};
	tl_reader *r;
	/* 32 levels: the map and 31 arrays */
	memcpy(b, first, 4), n = 4;
	memcpy(b + n, map_x, 3), n += 3;
	memset(b + n, 0x91, 31), n += 31;
	b[n++] = 0x01;
	CHECK_EQ_INT(read_second(b, n, 0, &r), TL_READ_OK);
	tl_reader_close(r);
	/* 33 levels */
	n = 7;
	memset(b + n, 0x91, 32), n += 32;
	b[n++] = 0x01;
	CHECK_EQ_INT(read_second(b, n, 0, &r), TL_READ_ERR);
	CHECK_STR(tl_reader_error(r), "nesting deeper than 32 levels");
	CHECK_EQ_INT(tl_reader_error_code(r), TL_EXIT_DATA);
	CHECK_EQ_INT(tl_reader_error_recno(r), 2);
	tl_reader_close(r);
	/* an empty array at level 33 counts too (as in msgpack-c) */
	n = 7;
	memset(b + n, 0x91, 31), n += 31;
	b[n++] = 0x90;
	CHECK_EQ_INT(read_second(b, n, 0, &r), TL_READ_ERR);
	tl_reader_close(r);
	/* array32 of 2^32-1 elements with 3 bytes after it */
	n = 7;
	memcpy(b + n, "\xdd\xff\xff\xff\xff\x01\x01\x01", 8), n += 8;
	CHECK_EQ_INT(read_second(b, n, 0, &r), TL_READ_ERR);
	CHECK_STR(tl_reader_error(r), "declared 4294967295 elements but the input is 11 bytes");
	CHECK_EQ_INT(tl_reader_error_code(r), TL_EXIT_DATA);
	tl_reader_close(r);
	/* a fixext and a bin inside a record are skipped whole */
	n = 4;
	memcpy(b + n, "\x82\xa1x\xd5\x01\xaa\xbb\xa1y\xc4\x02zz", 13), n += 13;
	CHECK_EQ_INT(read_second(b, n, 0, &r), TL_READ_OK);
	tl_reader_close(r);
	/* gzip without its trailer: every record is there, the end is not */
	char path[] = "/tmp/tl-test-stream4-XXXXXX";
	int fd = mkstemp(path);
	gzFile g = gzdopen(fd, "wb");
	gzwrite(g, first, 4);
	gzwrite(g, first, 4);
	gzclose(g);
	FILE *f = fopen(path, "rb");
	unsigned char z[256];
	size_t zn = fread(z, 1, sizeof z, f);
	fclose(f);
	f = fopen(path, "wb");
	fwrite(z, 1, zn - 8, f);
	fclose(f);
	r = tl_reader_open(path);
	tl_record rec;
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_ERR);
	char want[256];
	snprintf(want, sizeof want, "%s: unexpected end of file (truncated gzip)", path);
	CHECK_STR(tl_reader_error(r), want);
	CHECK_EQ_INT(tl_reader_error_code(r), TL_EXIT_DATA);
	CHECK_EQ_INT(tl_reader_error_recno(r), 0);
	tl_reader_close(r);
	unlink(path);
}

/* JSON lines through the stream reader: a header line (number 0), data
 * records numbered from 1, blank lines skipped, a long line across the
 * reader's 64 KiB reads, a line without its newline at the end; a bad
 * line is bad data naming the line; text that is not JSON is refused. */
static void test_jsonl(void)
{
	char p[] = "/tmp/tl-test-jsonl-XXXXXX";
	int fd = mkstemp(p);
	FILE *f = fdopen(fd, "w");
	fputs("\n  {\"tl\":1,\"kind\":\"header\"}\n{\"id\":1,\"ids\":[5,6]}\n\n\r\n{\"id\":2,\"text\":\"", f);
	for (int i = 0; i < 100000; i++)
		fputc('a' + i % 26, f);
	fputs("\"}\r\n{\"id\":3}", f);
	fclose(f);
	tl_reader *r = tl_reader_open(p);
	tl_record rec;
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	CHECK(rec.is_header && rec.no == 0);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	CHECK(!rec.is_header && rec.no == 1 && rec_id(&rec) == 1);
	int32_t *ids = NULL;
	size_t cap = 0;
	CHECK_EQ_INT(tl_rec_i32s(&rec, "ids", &ids, &cap), 2);
	CHECK(ids && ids[0] == 5 && ids[1] == 6);
	free(ids);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	size_t len = 0;
	const char *s = tl_rec_str(&rec, "text", &len, NULL);
	CHECK(rec.no == 2 && s && len == 100000 && s[99999] == 'a' + 99999 % 26);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	CHECK(rec.no == 3 && rec_id(&rec) == 3);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_EOF);
	CHECK_EQ_INT(tl_reader_count(r), 3);
	tl_reader_close(r);

	f = fopen(p, "w");
	fputs("{\"id\":1}\n\n{\"id\":\n", f);
	fclose(f);
	r = tl_reader_open(p);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_ERR);
	CHECK_EQ_INT(tl_reader_error_code(r), TL_EXIT_DATA);
	CHECK_EQ_INT(tl_reader_error_recno(r), 2);
	CHECK(strncmp(tl_reader_error(r), "line 3: invalid JSON", 20) == 0);
	tl_reader_close(r);

	f = fopen(p, "w");
	fputs("label\ttext\n1\tgood\n", f);
	fclose(f);
	r = tl_reader_open(p);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_ERR);
	CHECK_EQ_INT(tl_reader_error_recno(r), 0);
	CHECK(strstr(tl_reader_error(r), "this is text, not a tl record stream: run tl-clean first") != NULL);
	tl_reader_close(r);
	unlink(p);
}

/* sha256: FIPS 180-4 vectors, and the SHA-extension path (when the CPU
 * has it) against the portable one (TL_SHA256=portable) on every length
 * 0..300 and a 1 MB buffer, one call and in pieces of odd sizes. */
static void sha256_pieces(const unsigned char *p, size_t n, char out[65])
{
	char path[] = "/tmp/tl-sha-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	for (size_t off = 0, k = 1; off < n; off += k, k = k * 3 % 1021 + 1)
		CHECK(write(fd, p + off, off + k > n ? n - off : k) >= 0);
	close(fd);
	CHECK(tl_sha256_file(path, out) == 0);
	unlink(path);
}

/* writes the 200,000 bytes of test_sha256's buffer into the FIFO arg */
static void *fifo_writer(void *arg)
{
	int fd = open(arg, O_WRONLY);
	if (fd < 0)
		return NULL;
	unsigned char b[4096];
	for (size_t off = 0; off < 200000; off += sizeof b) {
		size_t n = 200000 - off < sizeof b ? 200000 - off : sizeof b;
		for (size_t i = 0; i < n; i++)
			b[i] = (unsigned char)((off + i) * 131 + ((off + i) >> 9));
		if (write(fd, b, n) != (ssize_t)n)
			break;
	}
	close(fd);
	return NULL;
}

static void test_sha256(void)
{
	static const struct {
		const char *in, *hex;
	} v[] = {
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
		{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	};
	char hex[65], ref[65];
	for (int mode = 0; mode < 2; mode++) {
		if (mode)
			setenv("TL_SHA256", "portable", 1);
		for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
			tl_sha256_hex(v[i].in, strlen(v[i].in), hex);
			CHECK_STR(hex, v[i].hex);
		}
	}
	unsetenv("TL_SHA256");
	/* tl_sha256_file on a regular file, an empty one and a pipe: the
	 * vectors' hashes; a missing file is an error with errno */
	{
		static unsigned char big[200000];
		for (size_t i = 0; i < sizeof big; i++)
			big[i] = (unsigned char)(i * 131 + (i >> 9));
		tl_sha256_hex(big, sizeof big, ref);
		sha256_pieces((const unsigned char *)"abc", 3, hex);
		CHECK_STR(hex, v[0].hex);
		sha256_pieces((const unsigned char *)"", 0, hex);
		CHECK_STR(hex, v[1].hex);
		sha256_pieces(big, sizeof big, hex);
		CHECK_STR(hex, ref);
		char dir[] = "/tmp/tl-sha-fifo-XXXXXX", fifo[64];
		CHECK(mkdtemp(dir) != NULL);
		snprintf(fifo, sizeof fifo, "%s/p", dir);
		CHECK(mkfifo(fifo, 0600) == 0);
		pthread_t th;
		CHECK(pthread_create(&th, NULL, fifo_writer, fifo) == 0);
		CHECK(tl_sha256_file(fifo, hex) == 0);
		CHECK(pthread_join(th, NULL) == 0);
		CHECK_STR(hex, ref);
		unlink(fifo);
		CHECK(tl_sha256_file("/nonexistent/tl-sha", hex) < 0 && errno == ENOENT);
		/* the threaded form: the same hash; the second path where the
		 * first is missing; both missing: -1 with errno */
		char bigf[64];
		snprintf(bigf, sizeof bigf, "%s/big", dir);
		FILE *bf = fopen(bigf, "wb");
		CHECK(bf && fwrite(big, 1, sizeof big, bf) == sizeof big && fclose(bf) == 0);
		memset(hex, 0, sizeof hex);
		CHECK(tl_sha256_file_join(tl_sha256_file_start(bigf, NULL), hex) == 0);
		CHECK_STR(hex, ref);
		memset(hex, 0, sizeof hex);
		CHECK(tl_sha256_file_join(tl_sha256_file_start("/nonexistent/tl-sha", bigf), hex) == 0);
		CHECK_STR(hex, ref);
		CHECK(tl_sha256_file_join(tl_sha256_file_start("/nonexistent/a", "/nonexistent/b"), hex) < 0 &&
		      errno == ENOENT);
		CHECK(tl_sha256_file_join(tl_sha256_file_start("/nonexistent/a", NULL), hex) < 0 && errno == ENOENT);
		unlink(bigf);
		rmdir(dir);
	}
#if defined(__x86_64__)
	unsigned a, b, c, d;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b >> 29 & 1)) {
		TEST_SKIP("sha256: this CPU has no SHA extensions: their path is not compared with the portable one");
		return;
	}
#endif
	size_t n = 1 << 20;
	unsigned char *buf = malloc(n);
	uint64_t x = 88172645463325252ULL;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
	for (size_t len = 0; len <= 300; len++) {
		setenv("TL_SHA256", "portable", 1);
		tl_sha256_hex(buf, len, ref);
		unsetenv("TL_SHA256");
		tl_sha256_hex(buf, len, hex);
		if (strcmp(hex, ref))
			CHECK_STR(hex, ref);
	}
	setenv("TL_SHA256", "portable", 1);
	tl_sha256_hex(buf, n, ref);
	unsetenv("TL_SHA256");
	tl_sha256_hex(buf, n, hex);
	CHECK_STR(hex, ref);
	sha256_pieces(buf, n, hex);
	CHECK_STR(hex, ref);
	free(buf);
}

/* tl_gzopen_input_buf: zlib's buffer fits a small regular file (its size
 * rounded up to 4 KiB, 8 KiB at least), stays as asked for a larger one,
 * and the bytes read are the file's, plain or gzip (a line longer than
 * the buffer is read whole by tl_reader). */
static void test_gz_buffer(void)
{
	char path[] = "/tmp/tl-test-gzbuf-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	static char data[300000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)('a' + i % 26);
	size_t sizes[4] = {100, 10000, 131072, 300000};
	unsigned want_after[4] = {8192, 12288, 1u << 17, 1u << 17};
	for (int k = 0; k < 4; k++) {
		CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
		CHECK(write(fd, data, sizes[k]) == (ssize_t)sizes[k]);
		unsigned want = 1u << 17;
		gzFile gz = tl_gzopen_input_buf(path, &want);
		CHECK(gz != NULL);
		CHECK_EQ_INT(want, want_after[k]);
		static char back[300001];
		int n = gzread(gz, back, sizeof back);
		CHECK_EQ_INT(n, (int)sizes[k]);
		CHECK(memcmp(back, data, sizes[k]) == 0);
		gzclose(gz);
	}
	/* gzip of 300000 bytes in a file of a few KiB: a small buffer, all bytes */
	gzFile out = gzopen(path, "wb");
	CHECK(out && gzwrite(out, data, sizeof data) == (int)sizeof data);
	gzclose(out);
	unsigned want = 1u << 17;
	gzFile gz = tl_gzopen_input_buf(path, &want);
	CHECK(gz != NULL && want == 8192);
	static char back[300001];
	size_t got = 0;
	int n;
	while ((n = gzread(gz, back + got, (unsigned)(sizeof back - got))) > 0)
		got += (size_t)n;
	CHECK(got == sizeof data && memcmp(back, data, sizeof data) == 0);
	gzclose(gz);
	/* a missing file: NULL with errno */
	unlink(path);
	want = 1u << 17;
	errno = 0;
	CHECK(tl_gzopen_input_buf(path, &want) == NULL && errno == ENOENT);
	close(fd);
}

int main(void)
{
	char path[] = "/tmp/tl-test-stream-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	tl_writer *w = tl_writer_open(f);

	/* record 1: built from scratch */
	tl_writer_start(w, NULL);
	tl_pack_cstr(tl_writer_key(w, "text"), "hello");
	int32_t ids[3] = {101, -7, 102};
	tl_pack_i32_bin(tl_writer_key(w, "ids"), ids, 3);
	msgpack_pack_int(tl_writer_key(w, "id"), 42);
	tl_writer_end(w);
	CHECK(tl_writer_free(w) == 0);
	fclose(f);

	/* read it back, then copy it with one key replaced and one dropped */
	tl_reader *r = tl_reader_open(path);
	CHECK(r != NULL);
	tl_record rec;
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	CHECK_EQ_INT(rec.no, 1);
	CHECK(!rec.is_header);
	size_t len = 0;
	const char *s = tl_rec_str(&rec, "text", &len, NULL);
	CHECK(s && len == 5 && memcmp(s, "hello", 5) == 0);
	int bad = 0;
	CHECK(tl_rec_str(&rec, "id", &len, &bad) == NULL && bad == 1);
	int32_t *buf = NULL;
	size_t cap = 0;
	CHECK_EQ_INT(tl_rec_i32s(&rec, "ids", &buf, &cap), 3);
	CHECK_EQ_INT(buf[1], -7);
	CHECK_EQ_INT(tl_rec_i32s(&rec, "nope", &buf, &cap), -1);
	CHECK_EQ_INT(tl_rec_i32s(&rec, "text", &buf, &cap), -2);

	char path2[] = "/tmp/tl-test-stream2-XXXXXX";
	int fd2 = mkstemp(path2);
	FILE *f2 = fdopen(fd2, "w");
	tl_writer *w2 = tl_writer_open(f2);
	char *argv[] = {"tl-test", "-x", NULL};
	tl_header_start(w2, NULL, 2, argv);
	tl_pack_cstr(tl_writer_key(w2, "extra"), "yes");
	tl_writer_end(w2);
	tl_writer_start(w2, rec.map);
	tl_pack_cstr(tl_writer_key(w2, "text"), "bye");
	tl_writer_drop(w2, "ids");
	tl_writer_end(w2);
	CHECK(tl_writer_free(w2) == 0);
	fclose(f2);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_EOF);
	tl_reader_close(r);

	r = tl_reader_open(path2);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	CHECK(rec.is_header);
	const msgpack_object *chain = tl_rec_get(&rec, "chain");
	CHECK(chain && chain->type == MSGPACK_OBJECT_ARRAY && chain->via.array.size == 1);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	CHECK_EQ_INT(rec.map->via.map.size, 2); /* id kept, text replaced, ids dropped */
	s = tl_rec_str(&rec, "text", &len, NULL);
	CHECK(s && len == 3 && memcmp(s, "bye", 3) == 0);
	const msgpack_object *id = tl_rec_get(&rec, "id");
	CHECK(id && id->type == MSGPACK_OBJECT_POSITIVE_INTEGER && id->via.u64 == 42);
	CHECK(tl_rec_get(&rec, "ids") == NULL);
	tl_reader_close(r);
	unlink(path);
	unlink(path2);
	free(buf);

	test_sha256();
	test_source();
	test_write_errors();
	test_reader_faults();
	test_jsonl();
	test_gz_buffer();
	TEST_REPORT("test_stream");
}
