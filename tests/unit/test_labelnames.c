/* test_labelnames.c - tl_label_names_* (tl/probs.h): the --label-names
 * map of tl-predict and tl-eval: files, inline pairs, binding and errors. */
#include "testhelp.h"
#include "tl/probs.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpl[] = "/tmp/tl-labelnames-XXXXXX";

static const char *write_tmp(const char *text)
{
	FILE *f = fopen(tmpl, "w");
	fputs(text, f);
	fclose(f);
	return tmpl;
}

static void test_inline(void)
{
	tl_label_names m;
	char err[256];
	CHECK_EQ_INT(tl_label_names_parse("0=World,1=Sports,3=Sci=Tech", &m, err, sizeof err), 0);
	CHECK_EQ_INT(m.n, 3);
	CHECK_EQ_INT(m.positional, 0);
	CHECK_STR(tl_label_names_get(&m, "0", 1), "World");
	CHECK_STR(tl_label_names_get(&m, "3", 1), "Sci=Tech"); /* split at the first '=' */
	CHECK(tl_label_names_get(&m, "2", 1) == NULL);
	CHECK(tl_label_names_get(&m, "01", 1) != NULL); /* length counts: "0" of "01" */
	CHECK(tl_label_names_get(&m, "01", 2) == NULL);
	/* binding a keyed map changes nothing */
	const char *labs[] = {"a", "b"};
	CHECK_EQ_INT(tl_label_names_bind(&m, labs, 2, err, sizeof err), 0);
	CHECK_STR(tl_label_names_get(&m, "1", 1), "Sports");
	tl_label_names_free(&m);
	CHECK_EQ_INT(m.n, 0);

	CHECK_EQ_INT(tl_label_names_parse("0=a,0=b", &m, err, sizeof err), -1);
	CHECK_STR(err, "label '0' is named twice");
	CHECK_EQ_INT(m.n, 0);
	CHECK_EQ_INT(tl_label_names_parse("0=a,1=a", &m, err, sizeof err), -1);
	CHECK_STR(err, "name 'a' is given to two labels");
	CHECK_EQ_INT(tl_label_names_parse("0=a,,1=b", &m, err, sizeof err), -1);
	CHECK_STR(err, "'' is not KEY=NAME (both non-empty)");
	CHECK_EQ_INT(tl_label_names_parse("=a", &m, err, sizeof err), -1);
	CHECK_EQ_INT(tl_label_names_parse("a=", &m, err, sizeof err), -1);
	CHECK_EQ_INT(tl_label_names_parse("", &m, err, sizeof err), -1);
	CHECK_EQ_INT(tl_label_names_parse("/no/such/file", &m, err, sizeof err), -1);
	CHECK_STR(err, "'/no/such/file' is neither a file nor KEY=NAME[,KEY=NAME...]");
}

static void test_file(void)
{
	tl_label_names m;
	char err[256];
	int fd = mkstemp(tmpl);
	CHECK(fd >= 0);
	close(fd);
	/* CRLF ends, no final newline; names may hold ',' and '=' */
	CHECK_EQ_INT(tl_label_names_parse(write_tmp("World\r\nSports, etc.\nx=y"), &m, err, sizeof err), 0);
	CHECK_EQ_INT(m.n, 3);
	CHECK_EQ_INT(m.positional, 1);
	CHECK(tl_label_names_get(&m, "0", 1) == NULL); /* not bound yet */
	const char *three[] = {"1", "2", "3"}, *four[] = {"0", "1", "2", "3"};
	CHECK_EQ_INT(tl_label_names_bind(&m, four, 4, err, sizeof err), -1);
	CHECK_STR(err, "3 names for 4 labels (one name a line, in label order)");
	CHECK_EQ_INT(tl_label_names_bind(&m, three, 3, err, sizeof err), 0);
	CHECK_EQ_INT(m.positional, 0);
	CHECK_STR(tl_label_names_get(&m, "1", 1), "World");
	CHECK_STR(tl_label_names_get(&m, "2", 1), "Sports, etc.");
	CHECK_STR(tl_label_names_get(&m, "3", 1), "x=y");
	tl_label_names_free(&m);

	CHECK_EQ_INT(tl_label_names_parse(write_tmp("a\n\nb\n"), &m, err, sizeof err), -1);
	CHECK(strstr(err, ": line 2 is empty (one name a line)") != NULL);
	CHECK_EQ_INT(tl_label_names_parse(write_tmp(""), &m, err, sizeof err), -1);
	CHECK(strstr(err, ": no names") != NULL);
	CHECK_EQ_INT(tl_label_names_parse(write_tmp("a\nb\na\n"), &m, err, sizeof err), -1);
	CHECK_STR(err, "name 'a' is given to two labels");
	CHECK_EQ_INT(tl_label_names_parse(write_tmp("a\nb\n"), &m, err, sizeof err), 0);
	const char *dup[] = {"x", "x"};
	CHECK_EQ_INT(tl_label_names_bind(&m, dup, 2, err, sizeof err), -1);
	CHECK_STR(err, "label 'x' occurs twice in the label order");
	tl_label_names_free(&m);
	CHECK_EQ_INT(tl_label_names_parse("/tmp", &m, err, sizeof err), -1);
	CHECK_STR(err, "/tmp: is a directory");
	unlink(tmpl);
}

int main(void)
{
	test_inline();
	test_file();
	TEST_REPORT("test_labelnames");
}
