/* text.c - text cleaning: UTF-8 repair, HTML, controls, URLs/e-mails,
 * NFKC and case (utf8proc), character filter, stop words, whitespace.
 *
 * Hot path: steps 1-3 and 9 (the defaults) run fused in one pass over the
 * bytes, with runs of plain ASCII copied by memcpy and no utf8proc call for
 * ASCII. The optional steps are separate passes over the already valid
 * UTF-8, ping-ponging between two buffers owned by the cleaner. */
#include "tl/text.h"
#include "tl/hash.h"
#include "text_entities.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <zlib.h>

#include "tl/stream.h"

/* Private-use sentinels standing for a replaced URL / e-mail address
 * between step 4 and the final pass, so that later steps (case, filter,
 * stop words) leave the placeholder alone. */
#define SENT_URL 0xE000u
#define SENT_EMAIL 0xE001u

/* ---------------- UTF-8 primitives ---------------- */

/* Length of the valid sequence at s (1-4), or 0 if invalid; *cp gets the
 * code point. *bad gets the length of the maximal invalid subpart (>= 1)
 * when invalid. */
static inline int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp, size_t *bad)
{
	unsigned c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	unsigned lo = 0x80, hi = 0xBF;
	int need;
	uint32_t v;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		*bad = 1;
		return 0;
	}
	for (int k = 1; k <= need; k++) {
		if ((size_t)k >= n) {
			*bad = (size_t)k;
			return 0;
		}
		unsigned b = s[k];
		if (b < lo || b > hi) {
			*bad = (size_t)k;
			return 0;
		}
		lo = 0x80, hi = 0xBF;
		v = v << 6 | (b & 0x3F);
	}
	*cp = v;
	return need + 1;
}

/* Decode valid UTF-8 (the passes after step 1 only see valid text). */
static inline int utf8_next(const unsigned char *s, uint32_t *cp)
{
	unsigned c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c < 0xE0) {
		*cp = (c & 0x1Fu) << 6 | (s[1] & 0x3Fu);
		return 2;
	}
	if (c < 0xF0) {
		*cp = (c & 0x0Fu) << 12 | (s[1] & 0x3Fu) << 6 | (s[2] & 0x3Fu);
		return 3;
	}
	*cp = (c & 0x07u) << 18 | (s[1] & 0x3Fu) << 12 | (s[2] & 0x3Fu) << 6 | (s[3] & 0x3Fu);
	return 4;
}


static inline void buf_addcp(tl_buf *b, uint32_t cp)
{
	tl_buf_reserve(b, 4);
	b->len += (size_t)tl_utf8_encode(b->data + b->len, cp);
}

/* Unicode White_Space */
static inline int is_space_cp(uint32_t cp)
{
	if (cp < 0x80)
		return cp == ' ' || (cp >= 9 && cp <= 13);
	return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Step 3: Cc and Cf, except ZWNJ/ZWJ (whitespace is tested before). */
static inline int is_control_cp(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
		return 1;
	if (cp < 0xA0)
		return 0;
	if (cp == 0x200C || cp == 0x200D)
		return 0;
	return utf8proc_category((utf8proc_int32_t)cp) == UTF8PROC_CATEGORY_CF;
}

static inline int is_cjk_cp(uint32_t cp)
{
	return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
	       (cp >= 0x20000 && cp <= 0x323AF);
}

size_t tl_text_count_invalid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, nbad = 0;
	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		uint32_t cp;
		size_t bad;
		int k = utf8_decode(p + i, len - i, &cp, &bad);
		if (k) {
			i += (size_t)k;
		} else {
			nbad++;
			i += bad;
		}
	}
	return nbad;
}

size_t tl_text_repair_utf8(tl_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, nbad = 0;
	tl_buf_reserve(out, len + 16);
	while (i < len) {
		size_t j = i;
		while (j < len && p[j] < 0x80)
			j++;
		if (j > i) {
			tl_buf_add(out, s + i, j - i);
			i = j;
			continue;
		}
		uint32_t cp;
		size_t bad;
		int k = utf8_decode(p + i, len - i, &cp, &bad);
		if (k) {
			tl_buf_add(out, s + i, (size_t)k);
			i += (size_t)k;
		} else {
			tl_buf_add(out, "\xEF\xBF\xBD", 3);
			nbad++;
			i += bad;
		}
	}
	return nbad;
}

/* ---------------- HTML entities (html.unescape rules) ---------------- */

static const uint16_t cp1252[32] = {0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
				     0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D,   0x017D, 0x8F,
				     0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
				     0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178};

static const char *entity_lookup(const char *name, size_t n)
{
	size_t lo = 0, hi = tl_nentities;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *e = tl_entities[mid].name;
		int c = strncmp(e, name, n);
		if (c == 0 && e[n])
			c = 1;
		if (c == 0)
			return tl_entities[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t tl_text_decode_entity(tl_buf *out, const char *s, size_t len)
{
	if (len < 2 || s[0] != '&')
		return 0;
	size_t i = 1;
	if (s[1] == '#') {
		i = 2;
		int hex = 0;
		if (i < len && (s[i] == 'x' || s[i] == 'X')) {
			hex = 1;
			i++;
		}
		size_t d0 = i;
		uint64_t v = 0;
		while (i < len && (hex ? isxdigit((unsigned char)s[i]) : isdigit((unsigned char)s[i]))) {
			unsigned dv = isdigit((unsigned char)s[i]) ? (unsigned)(s[i] - '0')
								  : (unsigned)(tolower((unsigned char)s[i]) - 'a' + 10);
			if (v <= 0x10FFFFull * 16)
				v = v * (hex ? 16 : 10) + dv;
			i++;
		}
		if (i == d0)
			return 0;
		if (i < len && s[i] == ';')
			i++;
		uint32_t cp;
		if (v == 0)
			cp = 0xFFFD;
		else if (v == 0x0D)
			cp = 0x0D;
		else if (v >= 0x80 && v <= 0x9F)
			cp = cp1252[v - 0x80];
		else if ((v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
			cp = 0xFFFD;
		else if ((v >= 1 && v <= 8) || v == 0x0B || (v >= 0x0E && v <= 0x1F) || v == 0x7F ||
			 (v >= 0xFDD0 && v <= 0xFDEF) || (v & 0xFFFE) == 0xFFFE)
			return i; /* dropped, as html.unescape does */
		else
			cp = (uint32_t)v;
		buf_addcp(out, cp);
		return i;
	}
	/* named: [^\t\n\f <&#;]{1,32};? */
	while (i < len && i <= 32) {
		char c = s[i];
		if (c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';')
			break;
		i++;
	}
	size_t nlen = i - 1;
	if (nlen == 0)
		return 0;
	if (i < len && s[i] == ';')
		nlen++, i++;
	const char *v = entity_lookup(s + 1, nlen);
	if (v) {
		tl_buf_adds(out, v);
		return 1 + nlen;
	}
	/* longest known prefix (only the legacy names without ';' can match) */
	for (size_t x = nlen - 1; x >= 2; x--) {
		v = entity_lookup(s + 1, x);
		if (v) {
			tl_buf_adds(out, v);
			return 1 + x;
		}
	}
	return 0;
}

/* Step 0 (--fix-entities): entity references that lost their '&' or were
 * escaped twice, and backslash line breaks (AG News and other scraped
 * feeds). Only ASCII bytes are matched, so any input is safe. */
static size_t digits_ref(const char *s, size_t len)
{
	/* s[0] == '#': "#" digits{1,7} ";" or "#x" hex{1,6} ";"; its length or 0 */
	size_t i = 1;
	int hex = i < len && (s[i] == 'x' || s[i] == 'X');
	if (hex)
		i++;
	size_t d0 = i;
	while (i < len && i - d0 < 8 && (hex ? isxdigit((unsigned char)s[i]) : isdigit((unsigned char)s[i])))
		i++;
	if (i == d0 || i - d0 > (hex ? 6u : 7u) || i >= len || s[i] != ';')
		return 0;
	return i + 1;
}

static size_t named_ref(const char *s, size_t len)
{
	/* s[0] is a letter: name ";" of a known entity; its length or 0 */
	size_t i = 0;
	while (i < len && i < 32 && isalnum((unsigned char)s[i]))
		i++;
	if (i == 0 || i >= len || s[i] != ';' || !entity_lookup(s, i + 1))
		return 0;
	return i + 1;
}

/* Emit the reference ref[0..n) (without its '&'): as "&ref" for the HTML
 * step to decode, or decoded here when that step is off. */
static void put_ref(tl_buf *out, const char *ref, size_t n, int decode)
{
	char tmp[48];
	tmp[0] = '&';
	memcpy(tmp + 1, ref, n);
	if (!decode || !tl_text_decode_entity(out, tmp, n + 1))
		tl_buf_add(out, tmp, n + 1);
}

void tl_text_fix_entities(tl_buf *out, const char *s, size_t len, int decode)
{
	size_t i = 0;
	while (i < len) {
		char ch = s[i];
		if (ch == '\\') {
			while (i < len && s[i] == '\\')
				i++;
			tl_buf_addc(out, ' ');
			continue;
		}
		if (ch == '&' && len - i > 5 && !memcmp(s + i + 1, "amp;", 4)) {
			const char *r = s + i + 5;
			size_t n = *r == '#' ? digits_ref(r, len - i - 5) : named_ref(r, len - i - 5);
			if (n) { /* "&amp;#39;", "&amp;quot;": escaped twice */
				put_ref(out, r, n, decode);
				i += 5 + n;
				continue;
			}
		}
		if (ch == '&') { /* a reference already whole: left to the HTML step */
			size_t n = i + 1 < len && s[i + 1] == '#' ? digits_ref(s + i + 1, len - i - 1) : 0;
			if (n) {
				if (decode)
					put_ref(out, s + i + 1, n, 1);
				else
					tl_buf_add(out, s + i, n + 1);
				i += 1 + n;
				continue;
			}
		}
		if (ch == '#') { /* "#39;", "#36;": the '&' was lost */
			size_t n = digits_ref(s + i, len - i);
			if (n) {
				put_ref(out, s + i, n, decode);
				i += n;
				continue;
			}
		}
		tl_buf_addc(out, ch);
		i++;
	}
}

/* A tag at s (s[0] == '<'): <name ...>, </name>, <!...>, <!-- ... -->, <?...>.
 * Returns its length or 0. */
#define TAG_MAX 2048
#define COMMENT_MAX 65536
static size_t tag_len(const char *s, size_t len)
{
	if (len < 3)
		return 0;
	size_t i = 1;
	unsigned char c = (unsigned char)s[1];
	if (c == '!' && len >= 4 && s[2] == '-' && s[3] == '-') {
		size_t lim = len < COMMENT_MAX ? len : COMMENT_MAX;
		for (i = 4; i + 2 < lim; i++)
			if (s[i] == '-' && s[i + 1] == '-' && s[i + 2] == '>')
				return i + 3;
		return 0;
	}
	if (c == '/')
		i = 2;
	if (c == '!' || c == '?')
		i = 2;
	else if (i >= len || !isalpha((unsigned char)s[i]))
		return 0;
	else {
		while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == ':' || s[i] == '_'))
			i++;
		if (i < len && !(s[i] == '>' || s[i] == '/' || s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
				 s[i] == '\r' || s[i] == '\f'))
			return 0;
	}
	size_t lim = len < TAG_MAX ? len : TAG_MAX;
	for (; i < lim; i++) {
		if (s[i] == '>')
			return i + 1;
		if (s[i] == '<')
			return 0;
	}
	return 0;
}

/* ---------------- the cleaner ---------------- */

struct tl_cleaner {
	tl_clean_opts o;
	tl_buf a, b;       /* ping-pong pass buffers */
	tl_buf tmp, word;  /* scratch */
	tl_buf fix;        /* --fix-entities: the repaired input */
	utf8proc_int32_t *u32;
	size_t u32cap;
	unsigned char cls[256]; /* fused pass: 0 = plain byte to copy */
	unsigned char keep_ascii[128];
};

void tl_clean_opts_default(tl_clean_opts *o)
{
	memset(o, 0, sizeof *o);
	o->html = 1;
	o->controls = 1;
	o->space = 1;
	o->url_token = "<url>";
	o->email_token = "<email>";
}

void tl_clean_opts_raw(tl_clean_opts *o)
{
	tl_clean_opts_default(o);
	o->html = o->controls = o->space = 0;
}

static int parse_cp(const char *s, char **end, uint32_t *cp)
{
	if ((s[0] == 'U' || s[0] == 'u') && s[1] == '+')
		s += 2;
	else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!isxdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, end, 16);
	if (errno || v > 0x10FFFF)
		return -1;
	*cp = (uint32_t)v;
	return 0;
}

int tl_clean_parse_keep(tl_clean_opts *o, const char *list, char *err, size_t errsz)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"letters", TL_KEEP_LETTERS}, {"marks", TL_KEEP_MARKS},   {"digits", TL_KEEP_DIGITS},
		     {"numbers", TL_KEEP_NUMBERS}, {"punct", TL_KEEP_PUNCT},   {"symbols", TL_KEEP_SYMBOLS},
		     {"cjk", TL_KEEP_CJK},         {"ascii", TL_KEEP_ASCII}};
	char *copy = tl_xstrdup(list), *save = NULL;
	int rc = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t k;
		for (k = 0; k < sizeof names / sizeof names[0]; k++)
			if (!strcmp(t, names[k].name))
				break;
		if (k < sizeof names / sizeof names[0]) {
			o->keep |= names[k].bit;
			continue;
		}
		uint32_t lo, hi;
		char *end;
		if (parse_cp(t, &end, &lo) == 0) {
			hi = lo;
			if (*end == '-' && parse_cp(end + 1, &end, &hi) < 0)
				end = "x";
			if (*end == 0 && lo <= hi && o->nkeep_ranges < TL_KEEP_MAX_RANGES) {
				o->keep_lo[o->nkeep_ranges] = lo;
				o->keep_hi[o->nkeep_ranges++] = hi;
				continue;
			}
		}
		snprintf(err, errsz,
			 "unknown character class '%s' (letters, marks, digits, numbers, punct, symbols, cjk, ascii, "
			 "or a range such as U+4E00-U+9FA5)",
			 t);
		rc = -1;
		break;
	}
	free(copy);
	return rc;
}

static int keep_cp(const tl_cleaner *c, uint32_t cp);

tl_cleaner *tl_cleaner_new(const tl_clean_opts *o)
{
	tl_cleaner *c = tl_xcalloc(1, sizeof *c);
	c->o = *o;
	if (!c->o.url_token)
		c->o.url_token = "<url>";
	if (!c->o.email_token)
		c->o.email_token = "<email>";
	for (int i = 0; i < 256; i++) {
		int special = i >= 0x80 || i < 0x20 || i == 0x7F || i == ' ';
		if (c->o.html && (i == '<' || i == '&'))
			special = 1;
		c->cls[i] = (unsigned char)special;
	}
	for (uint32_t i = 0; i < 128; i++)
		c->keep_ascii[i] = (unsigned char)keep_cp(c, i);
	return c;
}

void tl_cleaner_free(tl_cleaner *c)
{
	if (!c)
		return;
	tl_buf_free(&c->a);
	tl_buf_free(&c->b);
	tl_buf_free(&c->tmp);
	tl_buf_free(&c->fix);
	tl_buf_free(&c->word);
	free(c->u32);
	free(c);
}

/* Fused steps 1, 2, 3 and 9. Output into out (cleared). */
struct fused {
	char *o;       /* write pointer */
	int pend;      /* a space is pending (collapse) */
	int started;   /* something was written (trim leading space) */
};

static inline void fused_cp(const tl_cleaner *c, struct fused *f, uint32_t cp, const char *bytes, int n)
{
	if (cp == 0x85 && c->o.controls) {
		/* NEL is whitespace, but in real text it is a Windows-1252 '…' */
		bytes = "\xE2\x80\xA6";
		n = 3;
		cp = 0x2026;
	}
	if (is_space_cp(cp)) {
		if (c->o.space) {
			f->pend = f->started;
			return;
		}
	} else if (c->o.controls && is_control_cp(cp)) {
		/* C1 controls are, in practice, Windows-1252 punctuation decoded
		 * as Latin-1 (IMDB's U+0096/U+0097 dashes): map them back */
		if (cp < 0x80 || cp > 0x9F || cp1252[cp - 0x80] < 0xA0)
			return;
		char e[4];
		int m = tl_utf8_encode(e, cp1252[cp - 0x80]);
		if (f->pend) {
			*f->o++ = ' ';
			f->pend = 0;
		}
		memcpy(f->o, e, (size_t)m);
		f->o += m;
		f->started = 1;
		return;
	}
	if (f->pend) {
		*f->o++ = ' ';
		f->pend = 0;
	}
	memcpy(f->o, bytes, (size_t)n);
	f->o += n;
	f->started = 1;
}

static size_t run_fused(tl_cleaner *c, tl_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	out->len = 0;
	tl_buf_reserve(out, 4 * len + 64);
	struct fused f = {out->data, 0, 0};
	const unsigned char *cls = c->cls;
	size_t i = 0, nbad = 0;
	const int html = c->o.html, space = c->o.space;
	while (i < len) {
		unsigned ch = p[i];
		if (!cls[ch]) {
			/* a run of plain ASCII, with single spaces between words
			 * copied in the same loop (the common case of prose) */
			char *o = f.o;
			if (f.pend) {
				*o++ = ' ';
				f.pend = 0;
			}
			*o++ = (char)ch;
			i++;
			for (;;) {
				while (i < len && !cls[p[i]])
					*o++ = (char)p[i++];
				if (i + 1 < len && p[i] == ' ' && !cls[p[i + 1]]) {
					*o++ = ' ';
					*o++ = (char)p[i + 1];
					i += 2;
					continue;
				}
				break;
			}
			f.o = o;
			f.started = 1;
			continue;
		}
		if (ch == ' ') {
			if (space)
				f.pend = f.started;
			else
				*f.o++ = ' ', f.started = 1;
			i++;
			continue;
		}
		if (ch < 0x80) {
			if (html && ch == '<') {
				size_t t = tag_len(s + i, len - i);
				if (t) {
					if (space)
						f.pend = f.started;
					else
						*f.o++ = ' ', f.started = 1;
					i += t;
					continue;
				}
			} else if (html && ch == '&') {
				/* decode into tmp, then feed its code points through */
				c->tmp.len = 0;
				size_t t = tl_text_decode_entity(&c->tmp, s + i, len - i);
				if (t) {
					const unsigned char *q = (const unsigned char *)c->tmp.data;
					for (size_t k = 0; k < c->tmp.len;) {
						uint32_t cp;
						int m = utf8_next(q + k, &cp);
						fused_cp(c, &f, cp, (const char *)q + k, m);
						k += (size_t)m;
					}
					i += t;
					continue;
				}
			}
			char b = (char)ch;
			fused_cp(c, &f, ch, &b, 1);
			i++;
			continue;
		}
		uint32_t cp;
		size_t bad;
		int k = utf8_decode(p + i, len - i, &cp, &bad);
		if (k) {
			fused_cp(c, &f, cp, s + i, k);
			i += (size_t)k;
		} else {
			fused_cp(c, &f, 0xFFFD, "\xEF\xBF\xBD", 3);
			nbad++;
			i += bad;
		}
	}
	out->len = (size_t)(f.o - out->data);
	return nbad;
}

/* ---------------- step 4: URLs and e-mail addresses ---------------- */

static int url_char(unsigned char c)
{
	return c > 0x20 && c != 0x7F && c != '<' && c != '>' && c != '"';
}

static int is_trailing_punct(unsigned char c)
{
	return c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' || c == ')' || c == ']' ||
	       c == '}' || c == '\'' || c == '"';
}

static int email_local(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

/* Length of a URL starting at s[i] (scheme:// or www.), or 0. */
static size_t url_at(const char *s, size_t len, size_t i)
{
	static const char *const pre[] = {"https://", "http://", "ftp://", "www."};
	if (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '/' || s[i - 1] == '.'))
		return 0;
	for (size_t k = 0; k < 4; k++) {
		size_t n = strlen(pre[k]);
		if (len - i > n && strncasecmp(s + i, pre[k], n) == 0 && url_char((unsigned char)s[i + n]) &&
		    !is_trailing_punct((unsigned char)s[i + n])) {
			size_t j = i + n;
			while (j < len && url_char((unsigned char)s[j]))
				j++;
			while (j > i + n && is_trailing_punct((unsigned char)s[j - 1])) {
				/* keep a ')' that closes a '(' inside the URL */
				if (s[j - 1] == ')' && memchr(s + i, '(', j - i))
					break;
				j--;
			}
			return j - i;
		}
	}
	return 0;
}

/* An e-mail address whose '@' is at s[at]: returns the start in *b and the
 * end in *e. */
static int email_at(const char *s, size_t len, size_t at, size_t lo, size_t *b, size_t *e)
{
	size_t i = at;
	while (i > lo && email_local((unsigned char)s[i - 1]))
		i--;
	while (i < at && s[i] == '.')
		i++;
	if (i == at)
		return 0;
	size_t j = at + 1, lastdot = 0;
	while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '-' || s[j] == '.')) {
		if (s[j] == '.')
			lastdot = j;
		j++;
	}
	while (j > at + 1 && (s[j - 1] == '.' || s[j - 1] == '-'))
		j--;
	lastdot = 0;
	for (size_t k = at + 1; k < j; k++)
		if (s[k] == '.')
			lastdot = k;
	if (lastdot <= at + 1 || lastdot >= j - 1)
		return 0;
	/* the top-level domain is letters */
	for (size_t k = lastdot + 1; k < j; k++)
		if (!isalpha((unsigned char)s[k]))
			return 0;
	*b = i;
	*e = j;
	return 1;
}

static void put_replacement(tl_buf *out, int mode, uint32_t sentinel, const char *token)
{
	if (mode == TL_URL_REMOVE) {
		tl_buf_addc(out, ' ');
	} else if (sentinel) {
		tl_buf_addc(out, ' ');
		buf_addcp(out, sentinel);
		tl_buf_addc(out, ' ');
	} else {
		tl_buf_addc(out, ' ');
		tl_buf_adds(out, token);
		tl_buf_addc(out, ' ');
	}
}

static void urls_pass(tl_buf *out, const char *s, size_t len, int urls, const char *url_token, int emails,
		      const char *email_token, int sentinels)
{
	size_t i = 0, flushed = 0;
	out->len = 0;
	tl_buf_reserve(out, len + 16);
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (urls != TL_URL_KEEP && (c == 'h' || c == 'H' || c == 'f' || c == 'F' || c == 'w' || c == 'W')) {
			size_t n = url_at(s, len, i);
			if (n) {
				tl_buf_add(out, s + flushed, i - flushed);
				put_replacement(out, urls, sentinels ? SENT_URL : 0, url_token);
				i += n;
				flushed = i;
				continue;
			}
		}
		if (emails != TL_URL_KEEP && c == '@') {
			size_t b, e;
			if (email_at(s, len, i, flushed, &b, &e)) {
				tl_buf_add(out, s + flushed, b - flushed);
				put_replacement(out, emails, sentinels ? SENT_EMAIL : 0, email_token);
				i = e;
				flushed = i;
				continue;
			}
		}
		if (sentinels && c == 0xEE && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] == 0x80 || (unsigned char)s[i + 2] == 0x81)) {
			/* a literal sentinel in the input: not ours */
			tl_buf_add(out, s + flushed, i - flushed);
			tl_buf_add(out, "\xEF\xBF\xBD", 3);
			i += 3;
			flushed = i;
			continue;
		}
		i++;
	}
	tl_buf_add(out, s + flushed, len - flushed);
}

void tl_text_urls(tl_buf *out, const char *s, size_t len, int urls, const char *url_token, int emails,
		  const char *email_token)
{
	tl_buf tmp = {0};
	urls_pass(&tmp, s, len, urls, url_token ? url_token : "<url>", emails, email_token ? email_token : "<email>",
		  0);
	tl_buf_add(out, tmp.data, tmp.len);
	tl_buf_free(&tmp);
}

/* ---------------- steps 5-6: NFKC and case ---------------- */

static int all_ascii(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	uint64_t acc = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	for (; i < len; i++)
		acc |= p[i];
	return !(acc & 0x8080808080808080ull);
}

static void lower_pass(tl_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	out->len = 0;
	tl_buf_reserve(out, len + 16);
	for (size_t i = 0; i < len;) {
		if (p[i] < 0x80) {
			char ch = (char)p[i];
			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch + 32);
			out->data[out->len++] = ch;
			i++;
			continue;
		}
		uint32_t cp;
		int k = utf8_next(p + i, &cp);
		uint32_t l = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
		if (l == cp) {
			tl_buf_add(out, s + i, (size_t)k);
		} else {
			buf_addcp(out, l);
		}
		i += (size_t)k;
	}
}

static void utf8proc_pass(tl_cleaner *c, tl_buf *out, const char *s, size_t len, utf8proc_option_t opt)
{
	out->len = 0;
	for (;;) {
		utf8proc_ssize_t n = utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, c->u32,
						       (utf8proc_ssize_t)c->u32cap, opt);
		if (n < 0) {
			/* cannot happen on valid UTF-8; keep the text as it is */
			tl_buf_add(out, s, len);
			return;
		}
		if ((size_t)n <= c->u32cap) {
			utf8proc_ssize_t m = utf8proc_reencode(c->u32, n, opt);
			if (m < 0) {
				tl_buf_add(out, s, len);
				return;
			}
			tl_buf_add(out, c->u32, (size_t)m);
			return;
		}
		c->u32cap = (size_t)n + 64;
		free(c->u32);
		c->u32 = tl_xmalloc(c->u32cap * sizeof *c->u32);
	}
}

/* ---------------- step 7: character filter ---------------- */

static int keep_cp(const tl_cleaner *c, uint32_t cp)
{
	unsigned k = c->o.keep;
	if (cp == SENT_URL || cp == SENT_EMAIL)
		return 1;
	for (int r = 0; r < c->o.nkeep_ranges; r++)
		if (cp >= c->o.keep_lo[r] && cp <= c->o.keep_hi[r])
			return 1;
	if ((k & TL_KEEP_ASCII) && cp >= 0x21 && cp <= 0x7E)
		return 1;
	if ((k & TL_KEEP_CJK) && is_cjk_cp(cp))
		return 1;
	if (!(k & (TL_KEEP_LETTERS | TL_KEEP_MARKS | TL_KEEP_DIGITS | TL_KEEP_NUMBERS | TL_KEEP_PUNCT | TL_KEEP_SYMBOLS)))
		return 0;
	switch (utf8proc_category((utf8proc_int32_t)cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO: return !!(k & TL_KEEP_LETTERS);
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME: return !!(k & TL_KEEP_MARKS);
	case UTF8PROC_CATEGORY_ND: return !!(k & (TL_KEEP_DIGITS | TL_KEEP_NUMBERS));
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO: return !!(k & TL_KEEP_NUMBERS);
	case UTF8PROC_CATEGORY_PC:
	case UTF8PROC_CATEGORY_PD:
	case UTF8PROC_CATEGORY_PS:
	case UTF8PROC_CATEGORY_PE:
	case UTF8PROC_CATEGORY_PI:
	case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO: return !!(k & TL_KEEP_PUNCT);
	case UTF8PROC_CATEGORY_SM:
	case UTF8PROC_CATEGORY_SC:
	case UTF8PROC_CATEGORY_SK:
	case UTF8PROC_CATEGORY_SO: return !!(k & TL_KEEP_SYMBOLS);
	default: return 0;
	}
}

static void filter_pass(tl_cleaner *c, tl_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	out->len = 0;
	tl_buf_reserve(out, len + 16);
	for (size_t i = 0; i < len;) {
		if (p[i] < 0x80) {
			char ch = (char)p[i];
			out->data[out->len++] = (is_space_cp(p[i]) || c->keep_ascii[p[i]]) ? ch : ' ';
			i++;
			continue;
		}
		uint32_t cp;
		int k = utf8_next(p + i, &cp);
		if (is_space_cp(cp) || keep_cp(c, cp))
			memcpy(out->data + out->len, s + i, (size_t)k), out->len += (size_t)k;
		else
			out->data[out->len++] = ' ';
		i += (size_t)k;
	}
}

/* ---------------- step 8: stop words ---------------- */

struct tl_stopwords {
	char **keys; /* open addressing; NULL = empty */
	uint32_t *lens;
	size_t cap, n;
	size_t maxcjk; /* longest all-CJK entry, in code points */
};

tl_stopwords *tl_stopwords_new(void)
{
	tl_stopwords *sw = tl_xcalloc(1, sizeof *sw);
	sw->cap = 1024;
	sw->keys = tl_xcalloc(sw->cap, sizeof *sw->keys);
	sw->lens = tl_xcalloc(sw->cap, sizeof *sw->lens);
	return sw;
}

void tl_stopwords_free(tl_stopwords *sw)
{
	if (!sw)
		return;
	for (size_t i = 0; i < sw->cap; i++)
		free(sw->keys[i]);
	free(sw->keys);
	free(sw->lens);
	free(sw);
}

size_t tl_stopwords_count(const tl_stopwords *sw)
{
	return sw->n;
}

int tl_stopwords_has(const tl_stopwords *sw, const char *w, size_t len)
{
	size_t mask = sw->cap - 1;
	for (size_t i = tl_fnv1a(w, len) & mask;; i = (i + 1) & mask) {
		if (!sw->keys[i])
			return 0;
		if (sw->lens[i] == len && memcmp(sw->keys[i], w, len) == 0)
			return 1;
	}
}

static void sw_insert(tl_stopwords *sw, char *k, size_t len)
{
	size_t mask = sw->cap - 1;
	size_t i = tl_fnv1a(k, len) & mask;
	while (sw->keys[i])
		i = (i + 1) & mask;
	sw->keys[i] = k;
	sw->lens[i] = (uint32_t)len;
}

void tl_stopwords_add(tl_stopwords *sw, const char *w, size_t len)
{
	while (len && isspace((unsigned char)*w))
		w++, len--;
	while (len && isspace((unsigned char)w[len - 1]))
		len--;
	if (!len || len > 1024 || tl_text_count_invalid_utf8(w, len))
		return;
	tl_buf low = {0};
	lower_pass(&low, w, len);
	if (tl_stopwords_has(sw, low.data, low.len)) {
		tl_buf_free(&low);
		return;
	}
	if (2 * (sw->n + 1) > sw->cap) {
		char **ok = sw->keys;
		uint32_t *ol = sw->lens;
		size_t ocap = sw->cap;
		sw->cap *= 2;
		sw->keys = tl_xcalloc(sw->cap, sizeof *sw->keys);
		sw->lens = tl_xcalloc(sw->cap, sizeof *sw->lens);
		for (size_t i = 0; i < ocap; i++)
			if (ok[i])
				sw_insert(sw, ok[i], ol[i]);
		free(ok);
		free(ol);
	}
	size_t ncp = 0, cjk = 1;
	for (size_t i = 0; i < low.len;) {
		uint32_t cp;
		i += (size_t)utf8_next((const unsigned char *)low.data + i, &cp);
		ncp++;
		if (!is_cjk_cp(cp))
			cjk = 0;
	}
	if (cjk && ncp > sw->maxcjk)
		sw->maxcjk = ncp;
	sw_insert(sw, tl_buf_cstr(&low), low.len);
	sw->n++;
}

int tl_stopwords_load(tl_stopwords *sw, const char *what, char *err, size_t errsz)
{
	const char *const *list = !strcmp(what, "en") ? tl_stopwords_en : !strcmp(what, "zh") ? tl_stopwords_zh : NULL;
	if (list) {
		for (; *list; list++)
			tl_stopwords_add(sw, *list, strlen(*list));
		return 0;
	}
	gzFile gz = gzopen(what, "rb");
	if (!gz) {
		snprintf(err, errsz, "cannot open stop-word file %s: %s", what, strerror(errno ? errno : ENOMEM));
		return -1;
	}
	char line[4096];
	long lineno = 0;
	while (gzgets(gz, line, sizeof line)) {
		lineno++;
		size_t n = strlen(line);
		if (n == sizeof line - 1 && line[n - 1] != '\n') {
			snprintf(err, errsz, "stop-word file %s: line %ld is too long", what, lineno);
			gzclose(gz);
			return -1;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		line[n] = 0;
		size_t b = 0;
		while (b < n && isspace((unsigned char)line[b]))
			b++;
		if (b == n || line[b] == '#')
			continue;
		if (tl_text_count_invalid_utf8(line, n)) {
			snprintf(err, errsz, "stop-word file %s: line %ld is not valid UTF-8", what, lineno);
			gzclose(gz);
			return -1;
		}
		tl_stopwords_add(sw, line + b, n - b);
	}
	char zm[200];
	if (tl_gz_status(gz, NULL, zm, sizeof zm)) { /* a read error, or gzip cut short or corrupt */
		snprintf(err, errsz, "stop-word file %s: %s", what, zm);
		gzclose(gz);
		return -1;
	}
	gzclose(gz);
	return 0;
}

/* A word character for stop-word matching: letters, marks, digits. */
static inline int word_cp(uint32_t cp)
{
	if (cp < 0x80)
		return isalnum((int)cp);
	if (cp == SENT_URL || cp == SENT_EMAIL)
		return 0;
	utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)cp);
	return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_ND) || k == UTF8PROC_CATEGORY_NL ||
	       k == UTF8PROC_CATEGORY_NO;
}

static inline int apostrophe(uint32_t cp)
{
	return cp == '\'' || cp == 0x2019;
}

/* Is the word s[0..n) (any case) a stop word? */
static int sw_match(tl_cleaner *c, const char *s, size_t n)
{
	lower_pass(&c->word, s, n);
	return tl_stopwords_has(c->o.stopwords, c->word.data, c->word.len);
}

static void stop_pass(tl_cleaner *c, tl_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const tl_stopwords *sw = c->o.stopwords;
	out->len = 0;
	tl_buf_reserve(out, len + 16);
	size_t i = 0;
	while (i < len) {
		uint32_t cp;
		int k = utf8_next(p + i, &cp);
		if (!word_cp(cp)) {
			tl_buf_add(out, s + i, (size_t)k);
			i += (size_t)k;
			continue;
		}
		/* a word: letters/marks/digits with inner apostrophes */
		size_t b = i, e = i;
		while (e < len) {
			uint32_t q;
			int m = utf8_next(p + e, &q);
			if (word_cp(q)) {
				e += (size_t)m;
				continue;
			}
			if (apostrophe(q) && e + (size_t)m < len) {
				uint32_t r;
				utf8_next(p + e + m, &r);
				if (word_cp(r)) {
					e += (size_t)m;
					continue;
				}
			}
			break;
		}
		if (c->o.zh_segmented || sw->maxcjk == 0) {
			if (sw_match(c, s + b, e - b))
				tl_buf_addc(out, ' ');
			else
				tl_buf_add(out, s + b, e - b);
			i = e;
			continue;
		}
		/* unsegmented: split the word into CJK runs (greedy longest match
		 * of the list's entries) and the rest (whole-run match) */
		size_t j = b;
		while (j < e) {
			uint32_t q;
			utf8_next(p + j, &q);
			int cjk = is_cjk_cp(q);
			size_t r = j;
			while (r < e) {
				int m = utf8_next(p + r, &q);
				if (is_cjk_cp(q) != cjk)
					break;
				r += (size_t)m;
			}
			if (!cjk) {
				if (sw_match(c, s + j, r - j))
					tl_buf_addc(out, ' ');
				else
					tl_buf_add(out, s + j, r - j);
				j = r;
				continue;
			}
			while (j < r) {
				/* the ends of the next maxcjk characters */
				size_t ends[64], ne = 0, t = j;
				while (t < r && ne < sw->maxcjk && ne < 64) {
					t += (size_t)utf8_next(p + t, &q);
					ends[ne++] = t;
				}
				size_t hit = 0;
				for (size_t m = ne; m > 0; m--)
					if (tl_stopwords_has(sw, s + j, ends[m - 1] - j)) {
						hit = ends[m - 1];
						break;
					}
				if (hit) {
					tl_buf_addc(out, ' ');
					j = hit;
				} else {
					tl_buf_add(out, s + j, ends[0] - j);
					j = ends[0];
				}
			}
		}
		i = e;
	}
}

/* ---------------- final pass: whitespace and placeholders ---------------- */

static void final_pass(tl_cleaner *c, tl_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const int space = c->o.space;
	int pend = 0, started = 0;
	out->len = 0;
	tl_buf_reserve(out, len + 16);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		int k = p[i] < 0x80 ? (cp = p[i], 1) : utf8_next(p + i, &cp);
		if (space && is_space_cp(cp)) {
			pend = started;
			i += (size_t)k;
			continue;
		}
		if (pend) {
			tl_buf_addc(out, ' ');
			pend = 0;
		}
		started = 1;
		if (cp == SENT_URL)
			tl_buf_adds(out, c->o.url_token);
		else if (cp == SENT_EMAIL)
			tl_buf_adds(out, c->o.email_token);
		else
			tl_buf_add(out, s + i, (size_t)k);
		i += (size_t)k;
	}
}

/* One pass of a raw cleaner (only html, or only space) appended to out;
 * the passes write from the start of their buffer, hence tmp. */
static void single_pass(tl_buf *out, const char *s, size_t len, int html)
{
	tl_clean_opts o;
	tl_clean_opts_raw(&o);
	o.html = html;
	o.space = !html;
	tl_cleaner *c = tl_cleaner_new(&o);
	tl_buf tmp = {0};
	if (html)
		run_fused(c, &tmp, s, len);
	else
		final_pass(c, &tmp, s, len);
	tl_buf_add(out, tmp.data, tmp.len);
	tl_buf_free(&tmp);
	tl_cleaner_free(c);
}

void tl_text_collapse_space(tl_buf *out, const char *s, size_t len)
{
	single_pass(out, s, len, 0);
}

void tl_text_strip_html(tl_buf *out, const char *s, size_t len)
{
	single_pass(out, s, len, 1);
}

/* ---------------- driver ---------------- */

const char *tl_cleaner_run(tl_cleaner *c, const char *s, size_t len, size_t *outlen, size_t *nrepaired)
{
	tl_buf *cur = &c->a, *nxt = &c->b, *t;
	if (c->o.fix_entities) {
		c->fix.len = 0;
		tl_text_fix_entities(&c->fix, s, len, !c->o.html);
		s = c->fix.data ? c->fix.data : "";
		len = c->fix.len;
	}
	size_t nbad = run_fused(c, cur, s, len);
	if (nrepaired)
		*nrepaired += nbad;
	int extra = 0;
	const tl_clean_opts *o = &c->o;
	if (o->urls != TL_URL_KEEP || o->emails != TL_URL_KEEP) {
		urls_pass(nxt, cur->data, cur->len, o->urls, o->url_token, o->emails, o->email_token, 1);
		t = cur, cur = nxt, nxt = t;
		extra = 1;
	}
	if (o->nfkc || o->casemode == TL_CASE_FOLD) {
		if (!all_ascii(cur->data, cur->len)) {
			utf8proc_option_t opt = UTF8PROC_STABLE;
			if (o->nfkc)
				opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
			if (o->casemode == TL_CASE_FOLD)
				opt |= UTF8PROC_CASEFOLD;
			utf8proc_pass(c, nxt, cur->data, cur->len, opt);
			t = cur, cur = nxt, nxt = t;
			extra = 1;
		} else if (o->casemode == TL_CASE_FOLD) {
			lower_pass(nxt, cur->data, cur->len);
			t = cur, cur = nxt, nxt = t;
		}
	}
	if (o->casemode == TL_CASE_LOWER) {
		lower_pass(nxt, cur->data, cur->len);
		t = cur, cur = nxt, nxt = t;
	}
	if (o->keep || o->nkeep_ranges) {
		filter_pass(c, nxt, cur->data, cur->len);
		t = cur, cur = nxt, nxt = t;
		extra = 1;
	}
	if (o->stopwords && tl_stopwords_count(o->stopwords)) {
		stop_pass(c, nxt, cur->data, cur->len);
		t = cur, cur = nxt, nxt = t;
		extra = 1;
	}
	if (extra) {
		final_pass(c, nxt, cur->data, cur->len);
		t = cur, cur = nxt, nxt = t;
	}
	*outlen = cur->len;
	return tl_buf_cstr(cur);
}
