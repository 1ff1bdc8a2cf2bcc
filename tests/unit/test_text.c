/* Unit tests for lib/text/text.c (cleaning steps, stop words) and lib/stream/input.c
 * (line, TSV and CSV readers), with exact expected outputs. */
#include "testhelp.h"
#include "tl/input.h"
#include "tl/text.h"
#include "tl/util.h"

#include <stdlib.h>
#include <unistd.h>

/* Clean s with o; returns a malloc'd copy. */
static char *run(const tl_clean_opts *o, const char *s, size_t *rep)
{
	tl_cleaner *c = tl_cleaner_new(o);
	size_t n, r = 0;
	const char *t = tl_cleaner_run(c, s, strlen(s), &n, &r);
	char *out = malloc(n + 1);
	memcpy(out, t, n);
	out[n] = 0;
	CHECK_EQ_INT(strlen(out), n);
	if (rep)
		*rep = r;
	tl_cleaner_free(c);
	return out;
}

static int nchecked;
#define CLEAN(o, in, want)                      \
	do {                                    \
		char *got_ = run(o, in, NULL);  \
		CHECK_STR(got_, want);          \
		free(got_);                     \
		nchecked++;                     \
	} while (0)

static void test_defaults(void)
{
	tl_clean_opts o;
	tl_clean_opts_default(&o);
	/* IMDB's <br />, entities, whitespace */
	CLEAN(&o, "Great film.<br /><br />The end", "Great film. The end");
	CLEAN(&o, "  a \t b\r\n c  ", "a b c");
	CLEAN(&o, "Tom &amp; Jerry &lt;3 &quot;x&quot; &#39;y&#x27; &eacute;t&eacute;", "Tom & Jerry <3 \"x\" 'y' été");
	/* html.unescape: legacy names without ';', longest prefix, unknown kept */
	CLEAN(&o, "&amp &ampx &notit; &foo; AT&T", "& &x ¬it; &foo; AT&T");
	/* numeric references: cp1252 range, invalid, dropped, huge */
	CLEAN(&o, "a&#150;b &#0; c&#1;d &#xD800; &#99999999999;", "a–b \xEF\xBF\xBD cd \xEF\xBF\xBD \xEF\xBF\xBD");
	CLEAN(&o, "&#; &#x; &", "&#; &#x; &");
	/* &nbsp; is whitespace and collapses */
	CLEAN(&o, "a&nbsp;&nbsp;b", "a b");
	/* tags: attributes, closing, comments, doctype; not tags */
	CLEAN(&o, "<p class=\"x\">Hi</p><!-- note -->there<!DOCTYPE html>", "Hi there");
	CLEAN(&o, "wo<i>r</i>d", "wo r d");
	CLEAN(&o, "1 < 2 and 3 > 2; a<-b; <荐书>", "1 < 2 and 3 > 2; a<-b; <荐书>");
	CLEAN(&o, "<unterminated tag", "<unterminated tag");
	/* controls removed (Cc, Cf), ZWJ kept, C1 as Windows-1252 */
	CLEAN(&o, "a\x01" "b\x7f" "c\xE2\x80\x8B" "d\xEF\xBB\xBF" "e", "abcde");
	CLEAN(&o, "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9", "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9");
	CLEAN(&o, "movie\xC2\x97just \xC2\x96 fun\xC2\x85", "movie—just – fun…");
	/* Unicode whitespace */
	CLEAN(&o, "a\xE3\x80\x80" "b\xE2\x80\x83" "c\xE2\x80\xA8" "d", "a b c d");
	CLEAN(&o, "", "");
	CLEAN(&o, "   ", "");
	/* the defaults do not touch case, URLs, NFKC */
	CLEAN(&o, "ＡＢＣ See http://x.com", "ＡＢＣ See http://x.com");
}

static void test_utf8(void)
{
	tl_clean_opts o;
	tl_clean_opts_raw(&o);
	size_t rep;
	/* maximal subparts, as Python's errors="replace" */
	char *got = run(&o, "a\xC3" "b\xE2\x82" "c\xF0\x9F\x98" "d\xFF\xC0\xAF" "e\xED\xA0\x80" "f", &rep);
	CHECK_STR(got, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD" "d\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
		       "e\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "f");
	CHECK_EQ_INT(rep, 9);
	free(got);
	got = run(&o, "ok \xE4\xB8\xAD\xF0\x9F\x98\x80", &rep);
	CHECK_STR(got, "ok \xE4\xB8\xAD\xF0\x9F\x98\x80");
	CHECK_EQ_INT(rep, 0);
	free(got);
	/* truncated at the end */
	got = run(&o, "x\xE4\xB8", &rep);
	CHECK_STR(got, "x\xEF\xBF\xBD");
	CHECK_EQ_INT(rep, 1);
	free(got);
	CHECK_EQ_INT(tl_text_count_invalid_utf8("\xC0\x80", 2), 2);
	CHECK_EQ_INT(tl_text_count_invalid_utf8("\xF4\x90\x80\x80", 4), 4);
	CHECK_EQ_INT(tl_text_count_invalid_utf8("\xF4\x8F\xBF\xBF", 4), 0);
	/* raw keeps everything else */
	CLEAN(&o, "  <br />&amp;\x01  ", "  <br />&amp;\x01  ");
	tl_buf b = {0};
	CHECK_EQ_INT(tl_text_repair_utf8(&b, "a\x80", 2), 1);
	CHECK(b.len == 4 && memcmp(b.data, "a\xEF\xBF\xBD", 4) == 0);
	tl_buf_free(&b);
}

static void test_urls(void)
{
	tl_clean_opts o;
	tl_clean_opts_default(&o);
	o.urls = TL_URL_REPLACE;
	o.emails = TL_URL_REPLACE;
	CLEAN(&o, "see https://example.com/a?b=1. Mail me: jo.doe+x@mail.example.org!",
	      "see <url> . Mail me: <email> !");
	CLEAN(&o, "(www.example.com) and http://en.wikipedia.org/wiki/Foo_(bar)", "( <url> ) and <url>");
	CLEAN(&o, "not a url: http:// or awww.x or x@y or a@b.c1", "not a url: http:// or awww.x or x@y or a@b.c1");
	o.url_token = "URL";
	o.emails = TL_URL_REMOVE;
	CLEAN(&o, "HTTP://X.ORG/p a@b.io.", "URL .");
	o.urls = TL_URL_KEEP;
	CLEAN(&o, "http://x.org a@b.io", "http://x.org");
	/* a placeholder survives lower-casing, the filter and stop words */
	tl_clean_opts_default(&o);
	o.urls = TL_URL_REPLACE;
	o.casemode = TL_CASE_LOWER;
	char err[200];
	CHECK(tl_clean_parse_keep(&o, "letters", err, sizeof err) == 0);
	CLEAN(&o, "Go to http://x.org NOW!", "go to <url> now");
	/* a literal private-use sentinel in the input is not taken for ours */
	CLEAN(&o, "a\xEE\x80\x80" "b", "a b");
	tl_buf b = {0};
	tl_text_urls(&b, "x http://a.b y", 14, TL_URL_REPLACE, NULL, TL_URL_KEEP, NULL);
	CHECK(b.len == 11 && memcmp(b.data, "x  <url>  y", 11) == 0);
	tl_buf_free(&b);
}

static void test_unicode(void)
{
	tl_clean_opts o;
	tl_clean_opts_default(&o);
	o.nfkc = 1;
	CLEAN(&o, "ＡＢＣ１２３ ﬁ ㈱ Å e\xCC\x81", "ABC123 fi (株) Å é");
	CLEAN(&o, "x\xE2\x80\x83y", "x y");
	tl_clean_opts_default(&o);
	o.casemode = TL_CASE_LOWER;
	CLEAN(&o, "HeLLo ÀÉÎ ΣΑΣ Straße", "hello àéî σασ straße");
	o.casemode = TL_CASE_FOLD;
	CLEAN(&o, "HeLLo ÀÉÎ Straße", "hello àéî strasse");
	CLEAN(&o, "ASCII ONLY", "ascii only");
	o.nfkc = 1;
	CLEAN(&o, "ＨＥＬＬＯ Ⅻ", "hello xii");
}

static void test_filter(void)
{
	tl_clean_opts o;
	char err[200];
	/* R5: keep only U+4E00-U+9FA5, everything else -> space */
	tl_clean_opts_default(&o);
	CHECK(tl_clean_parse_keep(&o, "U+4E00-U+9FA5", err, sizeof err) == 0);
	CLEAN(&o, "这本书,很好!ABC 123 ~~不错~~", "这本书 很好 不错");
	tl_clean_opts_default(&o);
	CHECK(tl_clean_parse_keep(&o, "letters,digits", err, sizeof err) == 0);
	CLEAN(&o, "It's 2 good—très bien! 中文", "It s 2 good très bien 中文");
	tl_clean_opts_default(&o);
	CHECK(tl_clean_parse_keep(&o, "cjk,ascii", err, sizeof err) == 0);
	CLEAN(&o, "a-b 中文 é ！", "a-b 中文");
	tl_clean_opts_default(&o);
	CHECK(tl_clean_parse_keep(&o, "letters,marks", err, sizeof err) == 0);
	CLEAN(&o, "e\xCC\x81t\xC3\xA9 42", "e\xCC\x81t\xC3\xA9");
	CHECK(tl_clean_parse_keep(&o, "vowels", err, sizeof err) < 0);
	CHECK(strstr(err, "unknown character class 'vowels'") != NULL);
	CHECK(tl_clean_parse_keep(&o, "U+9FA5-U+4E00", err, sizeof err) < 0);
	CHECK(tl_clean_parse_keep(&o, "0x41-0x5a", err, sizeof err) == 0);
}

static void test_stopwords(void)
{
	tl_clean_opts o;
	char err[200];
	tl_stopwords *sw = tl_stopwords_new();
	CHECK(tl_stopwords_load(sw, "en", err, sizeof err) == 0);
	CHECK_EQ_INT(tl_stopwords_count(sw), 318);
	CHECK(tl_stopwords_has(sw, "the", 3));
	CHECK(!tl_stopwords_has(sw, "movie", 5));
	tl_clean_opts_default(&o);
	o.stopwords = sw;
	CLEAN(&o, "The movie was not at all what I expected, it's great",
	      "movie expected, it's great");
	CLEAN(&o, "THE END", "END");
	tl_stopwords_free(sw);

	sw = tl_stopwords_new();
	CHECK(tl_stopwords_load(sw, "zh", err, sizeof err) == 0);
	CHECK(tl_stopwords_count(sw) > 150);
	CHECK(tl_stopwords_has(sw, "的", 3));
	CHECK(!tl_stopwords_has(sw, "不", 3));
	/* sentiment-bearing words stay (issue 16 item 7) */
	CHECK(!tl_stopwords_has(sw, "很", 3));
	CHECK(!tl_stopwords_has(sw, "一般", 6));
	CHECK(!tl_stopwords_has(sw, "不如", 6));
	CHECK(!tl_stopwords_has(sw, "可以", 6));
	o.stopwords = sw;
	/* unsegmented: greedy longest match over the characters */
	CLEAN(&o, "我们的酒店服务很好，但是房间不大", "酒店服务很好， 房间不大");
	CLEAN(&o, "iPhone的屏幕", "iPhone 屏幕");
	/* segmented: whole words only */
	o.zh_segmented = 1;
	CLEAN(&o, "我们 的 酒店 的确 很 好", "酒店 的确 很 好");
	tl_stopwords_free(sw);

	/* a file: comments, blanks, case, CRLF */
	char path[] = "/tmp/tl-test-stop-XXXXXX";
	int fd = mkstemp(path);
	const char *txt = "# my list\nFoo\r\n\n  bar  \n";
	CHECK(write(fd, txt, strlen(txt)) == (ssize_t)strlen(txt));
	close(fd);
	sw = tl_stopwords_new();
	CHECK(tl_stopwords_load(sw, path, err, sizeof err) == 0);
	CHECK_EQ_INT(tl_stopwords_count(sw), 2);
	tl_clean_opts_default(&o);
	o.stopwords = sw;
	CLEAN(&o, "foo FOO Bar baz foobar", "baz foobar");
	tl_stopwords_free(sw);
	unlink(path);
	sw = tl_stopwords_new();
	CHECK(tl_stopwords_load(sw, "/nonexistent/stop.txt", err, sizeof err) < 0);
	CHECK(strstr(err, "cannot open stop-word file /nonexistent/stop.txt") != NULL);
	tl_stopwords_free(sw);
}

static void test_entity_fn(void)
{
	tl_buf b = {0};
	CHECK_EQ_INT(tl_text_decode_entity(&b, "&hellip;x", 9), 8);
	CHECK(b.len == 3 && memcmp(b.data, "…", 3) == 0);
	b.len = 0;
	CHECK_EQ_INT(tl_text_decode_entity(&b, "&nosuch;", 8), 0);
	CHECK_EQ_INT(tl_text_decode_entity(&b, "&#x1F600;", 9), 9);
	CHECK(b.len == 4 && memcmp(b.data, "\xF0\x9F\x98\x80", 4) == 0);
	b.len = 0;
	tl_text_strip_html(&b, "a<br/>b", 7);
	CHECK(b.len == 3 && memcmp(b.data, "a b", 3) == 0);
	b.len = 0;
	tl_text_collapse_space(&b, "  x \n\t y ", 9);
	CHECK(b.len == 3 && memcmp(b.data, "x y", 3) == 0);
	tl_buf_free(&b);
}

/* ---------------- input readers ---------------- */

static char *tmpfile_with(const char *content, size_t n)
{
	static char path[64];
	strcpy(path, "/tmp/tl-test-input-XXXXXX");
	int fd = mkstemp(path);
	CHECK(write(fd, content, n) == (ssize_t)n);
	close(fd);
	return path;
}

static int field_is(const tl_row *r, size_t i, const char *want)
{
	return i < r->n && r->len[i] == strlen(want) && memcmp(r->field[i], want, r->len[i]) == 0;
}

static void test_csv(void)
{
	/* RFC 4180: quotes, doubled quotes, embedded CRLF and newline, CRLF
	 * line ends, empty fields, text after a closing quote (kept, as Python's csv) */
	const char *csv = "\"a\",\"b \"\"q\"\"\",c\r\n"
			  "\"multi\r\nline\nfield\",,\"\"\r\n"
			  "\r\n"
			  "x,\"y\"z,\"\"\n"
			  "last,row";
	char *p = tmpfile_with(csv, strlen(csv));
	tl_input *in = tl_input_open(p, TL_FMT_CSV);
	tl_row r;
	CHECK_EQ_INT(tl_input_next_row(in, ',', TL_QUOTE_RFC, &r), TL_INPUT_OK);
	CHECK_EQ_INT(r.n, 3);
	CHECK(field_is(&r, 0, "a") && field_is(&r, 1, "b \"q\"") && field_is(&r, 2, "c"));
	CHECK_EQ_INT(tl_input_line(in), 1);
	CHECK_EQ_INT(tl_input_next_row(in, ',', TL_QUOTE_RFC, &r), TL_INPUT_OK);
	CHECK_EQ_INT(r.n, 3);
	CHECK(field_is(&r, 0, "multi\r\nline\nfield") && field_is(&r, 1, "") && field_is(&r, 2, ""));
	CHECK_EQ_INT(tl_input_line(in), 2);
	CHECK_EQ_INT(tl_input_next_row(in, ',', TL_QUOTE_RFC, &r), TL_INPUT_OK);
	CHECK_EQ_INT(tl_input_line(in), 6); /* the blank line was skipped */
	CHECK(r.n == 3 && field_is(&r, 0, "x") && field_is(&r, 1, "yz") && field_is(&r, 2, ""));
	CHECK_EQ_INT(tl_input_next_row(in, ',', TL_QUOTE_RFC, &r), TL_INPUT_OK);
	CHECK(r.n == 2 && field_is(&r, 0, "last") && field_is(&r, 1, "row"));
	CHECK_EQ_INT(tl_input_next_row(in, ',', TL_QUOTE_RFC, &r), TL_INPUT_EOF);
	tl_input_close(in);
	unlink(p);

	/* unterminated quote: an error naming the line where it opened */
	const char *bad = "ok,1\n\"never closed,2\nmore\n";
	p = tmpfile_with(bad, strlen(bad));
	in = tl_input_open(p, TL_FMT_CSV);
	CHECK_EQ_INT(tl_input_next_row(in, ',', TL_QUOTE_RFC, &r), TL_INPUT_OK);
	CHECK_EQ_INT(tl_input_next_row(in, ',', TL_QUOTE_RFC, &r), TL_INPUT_ERR);
	CHECK_STR(tl_input_error(in), "line 2: unterminated quoted field (the quote opened there is never closed)");
	tl_input_close(in);
	unlink(p);
}

static void test_tsv_auto(void)
{
	/* auto quoting: "..." is unquoted only when quoting was needed */
	const char *tsv = "sentence\tlabel\r\n"
			  "\"multi\nline \"\"x\"\"\"\t1\r\n"
			  "\"Quoted\" title, then text\t0\r\n"
			  "\"plain quoted\"\t1\n"
			  "\"never closed\t0\n";
	char *p = tmpfile_with(tsv, strlen(tsv));
	tl_input *in = tl_input_open(p, TL_FMT_AUTO);
	CHECK_EQ_INT(tl_input_format(in), TL_FMT_TSV);
	tl_row r;
	CHECK_EQ_INT(tl_input_next_row(in, '\t', TL_QUOTE_AUTO, &r), TL_INPUT_OK);
	CHECK(r.n == 2 && field_is(&r, 0, "sentence") && field_is(&r, 1, "label"));
	CHECK_EQ_INT(tl_input_next_row(in, '\t', TL_QUOTE_AUTO, &r), TL_INPUT_OK);
	CHECK(r.n == 2 && field_is(&r, 0, "multi\nline \"x\"") && field_is(&r, 1, "1"));
	CHECK_EQ_INT(tl_input_next_row(in, '\t', TL_QUOTE_AUTO, &r), TL_INPUT_OK);
	CHECK(r.n == 2 && field_is(&r, 0, "\"Quoted\" title, then text") && field_is(&r, 1, "0"));
	CHECK_EQ_INT(tl_input_line(in), 4);
	CHECK_EQ_INT(tl_input_next_row(in, '\t', TL_QUOTE_AUTO, &r), TL_INPUT_OK);
	CHECK(r.n == 2 && field_is(&r, 0, "\"plain quoted\"") && field_is(&r, 1, "1"));
	CHECK_EQ_INT(tl_input_next_row(in, '\t', TL_QUOTE_AUTO, &r), TL_INPUT_OK);
	CHECK(r.n == 2 && field_is(&r, 0, "\"never closed") && field_is(&r, 1, "0"));
	CHECK_EQ_INT(tl_input_next_row(in, '\t', TL_QUOTE_AUTO, &r), TL_INPUT_EOF);
	tl_input_close(in);
	unlink(p);

	/* detection */
	static const struct {
		const char *text;
		int fmt;
	} det[] = {{"{\"text\":1}\n", TL_FMT_JSONL}, {"__label__a hi\n", TL_FMT_FASTTEXT},
		   {"plain text\nmore\n", TL_FMT_LINES}, {"", TL_FMT_LINES},
		   {"\xEF\xBB\xBFtext\tlabel\n", TL_FMT_TSV}, {"\x81\xa1" "a\x01", TL_FMT_STREAM}};
	for (size_t i = 0; i < sizeof det / sizeof det[0]; i++) {
		p = tmpfile_with(det[i].text, strlen(det[i].text));
		in = tl_input_open(p, TL_FMT_AUTO);
		CHECK_EQ_INT(tl_input_format(in), det[i].fmt);
		tl_input_close(in);
		unlink(p);
	}

	/* lines: CRLF, no final newline, a long line, the length limit */
	size_t big = 3 << 20;
	char *s = malloc(big + 16);
	memcpy(s, "a\r\n", 3);
	memset(s + 3, 'x', big);
	memcpy(s + 3 + big, "\nend", 4);
	p = tmpfile_with(s, big + 7);
	in = tl_input_open(p, TL_FMT_LINES);
	const char *line;
	size_t len;
	CHECK_EQ_INT(tl_input_next_line(in, &line, &len), TL_INPUT_OK);
	CHECK(len == 1 && line[0] == 'a');
	CHECK_EQ_INT(tl_input_next_line(in, &line, &len), TL_INPUT_OK);
	CHECK_EQ_INT(len, big);
	CHECK(line[0] == 'x' && line[big - 1] == 'x');
	CHECK_EQ_INT(tl_input_next_line(in, &line, &len), TL_INPUT_OK);
	CHECK(len == 3 && memcmp(line, "end", 3) == 0);
	CHECK_EQ_INT(tl_input_line(in), 3);
	CHECK_EQ_INT(tl_input_next_line(in, &line, &len), TL_INPUT_EOF);
	tl_input_close(in);
	in = tl_input_open(p, TL_FMT_LINES);
	tl_input_set_max(in, 1 << 20);
	CHECK_EQ_INT(tl_input_next_line(in, &line, &len), TL_INPUT_OK);
	CHECK_EQ_INT(tl_input_next_line(in, &line, &len), TL_INPUT_ERR);
	CHECK(strstr(tl_input_error(in), "line 2: record longer than 1048576 bytes") != NULL);
	tl_input_close(in);
	unlink(p);
	free(s);
	CHECK_EQ_INT(tl_format_parse("csv"), TL_FMT_CSV);
	CHECK_EQ_INT(tl_format_parse("xml"), -1);
	CHECK_STR(tl_format_name(TL_FMT_FASTTEXT), "fasttext");
}

int main(void)
{
	test_defaults();
	test_utf8();
	test_urls();
	test_unicode();
	test_filter();
	test_stopwords();
	test_entity_fn();
	test_csv();
	test_tsv_auto();
	TEST_REPORT("test_text");
}
