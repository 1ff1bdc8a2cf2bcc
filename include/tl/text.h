/* tl/text.h - text cleaning for tl-clean: UTF-8 repair, HTML tags and
 * entities, control characters, URLs and e-mail addresses, Unicode NFKC
 * and case folding (utf8proc), a character filter, stop words, whitespace.
 *
 * A tl_cleaner holds the options and reusable buffers; tl_cleaner_run
 * cleans one text and returns a pointer into the cleaner, valid until the
 * next call. No allocation per call once the buffers have grown. The
 * cleaner borrows its stop-word set (tl_stopwords_new, freed with
 * tl_stopwords_free after the cleaner), which copies the words added to it;
 * the step functions append to the caller's tl_buf and keep nothing.
 *
 * The order of the steps is fixed (each one can be switched off):
 *   0 (off by default) entity repair: "#39;"/"#36;" that lost their '&',
 *     "&amp;#39;"/"&amp;quot;" escaped twice, and runs of backslashes
 *     (scraped line breaks, AG News's "second\team") -> one space
 *   1 UTF-8 repair (always): each maximal invalid subpart -> U+FFFD
 *   2 HTML: tags -> a space, comments dropped, entities decoded (as
 *     Python's html.unescape does)
 *   3 control characters: Cc and Cf removed, except tab/CR/LF (whitespace)
 *     and ZWNJ/ZWJ (U+200C/U+200D)
 *   4 URLs and e-mail addresses: kept, removed, or replaced by a token
 *   5 NFKC (utf8proc)
 *   6 case: lower (simple per code point) or casefold (full, ß -> ss)
 *   7 character filter: characters outside the kept classes -> a space
 *   8 stop words removed
 *   9 whitespace: every run of Unicode White_Space -> one ' ', trimmed
 */
#ifndef TL_TEXT_H
#define TL_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "tl/util.h"

enum tl_url_mode { TL_URL_KEEP = 0, TL_URL_REMOVE, TL_URL_REPLACE };
enum tl_case_mode { TL_CASE_KEEP = 0, TL_CASE_LOWER, TL_CASE_FOLD };

/* Character classes for the filter (bit set). */
enum {
	TL_KEEP_LETTERS = 1 << 0, /* L* */
	TL_KEEP_MARKS = 1 << 1,   /* M* */
	TL_KEEP_DIGITS = 1 << 2,  /* Nd */
	TL_KEEP_NUMBERS = 1 << 3, /* N* */
	TL_KEEP_PUNCT = 1 << 4,   /* P* */
	TL_KEEP_SYMBOLS = 1 << 5, /* S* */
	TL_KEEP_CJK = 1 << 6,     /* CJK ideographs: U+3400-4DBF, 4E00-9FFF, F900-FAFF, 20000-323AF */
	TL_KEEP_ASCII = 1 << 7,   /* U+0021-007E */
};

#define TL_KEEP_MAX_RANGES 32

typedef struct tl_stopwords tl_stopwords;

typedef struct {
	int fix_entities; /* 0: see above (default 0) */
	int html;      /* 2: tags and entities (default 1) */
	int controls;  /* 3: drop control/format characters (default 1) */
	int urls;      /* 4: enum tl_url_mode (default keep) */
	int emails;    /* 4: enum tl_url_mode (default keep) */
	const char *url_token;   /* replacement (default "<url>") */
	const char *email_token; /* replacement (default "<email>") */
	int nfkc;      /* 5 (default 0) */
	int casemode;  /* 6: enum tl_case_mode (default keep) */
	unsigned keep; /* 7: TL_KEEP_* bits; 0 with nkeep_ranges 0: filter off */
	int nkeep_ranges;
	uint32_t keep_lo[TL_KEEP_MAX_RANGES], keep_hi[TL_KEEP_MAX_RANGES];
	const tl_stopwords *stopwords; /* 8: NULL = off; not owned */
	int zh_segmented; /* 8: CJK stop words match whole space-separated words only */
	int space;     /* 9: collapse and trim (default 1) */
} tl_clean_opts;

/* The defaults above (html, controls, space on; the rest off). */
void tl_clean_opts_default(tl_clean_opts *o);
/* Everything off: only UTF-8 repair (tl-clean --raw). */
void tl_clean_opts_raw(tl_clean_opts *o);

/* Parse a --keep list ("letters,digits,cjk,U+4E00-U+9FA5") into o. Returns
 * 0, or -1 with a message in err. */
int tl_clean_parse_keep(tl_clean_opts *o, const char *list, char *err, size_t errsz);

typedef struct tl_cleaner tl_cleaner;

/* The cleaner copies o (the stop-word set stays owned by the caller and
 * must outlive the cleaner). Free with tl_cleaner_free. */
tl_cleaner *tl_cleaner_new(const tl_clean_opts *o);
void tl_cleaner_free(tl_cleaner *c);

/* Clean s[0..len). Returns the cleaned text (NUL-terminated, owned by the
 * cleaner, valid until the next call) and its length in *outlen. The
 * number of invalid UTF-8 sequences replaced by U+FFFD is added to
 * *nrepaired (may be NULL). */
const char *tl_cleaner_run(tl_cleaner *c, const char *s, size_t len, size_t *outlen, size_t *nrepaired);

/* ---------------- the steps, usable on their own ----------------
 * Each appends its output to out and returns nothing but what it says. */

/* Step 1: valid UTF-8 is copied; each maximal invalid subpart (Unicode
 * "substitution of maximal subparts", as Python's errors="replace") becomes
 * U+FFFD. Also rejects surrogates and overlongs. Returns the number of
 * replacements. */
size_t tl_text_repair_utf8(tl_buf *out, const char *s, size_t len);
/* Number of invalid sequences in s (0 = valid UTF-8). */
size_t tl_text_count_invalid_utf8(const char *s, size_t len);

/* Step 2 on valid UTF-8: tags -> ' ', entities decoded. */
void tl_text_strip_html(tl_buf *out, const char *s, size_t len);
/* Decode one entity at s (s[0] == '&'): appends the UTF-8 value and returns
 * the bytes consumed, or 0 when s does not start a reference (html.unescape
 * rules: numeric with or without ';', named by longest known prefix). */
size_t tl_text_decode_entity(tl_buf *out, const char *s, size_t len);

/* Step 0: "#NNN;"/"#xHH;" with no '&' before, and "&amp;" + a numeric or
 * known named reference, become that reference ("&#39;", "&quot;"), for
 * step 2 to decode, or decoded here when decode is set (step 2 off; whole
 * "&#NNN;" references are then decoded too); every run of backslashes
 * becomes one space. Other bytes are copied. */
void tl_text_fix_entities(tl_buf *out, const char *s, size_t len, int decode);

/* Step 4 on valid UTF-8: mode TL_URL_KEEP leaves that kind alone. */
void tl_text_urls(tl_buf *out, const char *s, size_t len, int urls, const char *url_token, int emails,
		  const char *email_token);

/* Step 9: collapse Unicode whitespace to single spaces and trim. */
void tl_text_collapse_space(tl_buf *out, const char *s, size_t len);

/* ---------------- stop words ---------------- */

/* Built-in lists, NULL-terminated (lib/text/stopwords_en.c, lib/text/stopwords_zh.c). */
extern const char *const tl_stopwords_en[];
extern const char *const tl_stopwords_zh[];

/* An empty set. Free with tl_stopwords_free. */
tl_stopwords *tl_stopwords_new(void);
void tl_stopwords_free(tl_stopwords *sw);
/* Add one word (UTF-8; lower-cased on insertion; surrounding whitespace
 * ignored). */
void tl_stopwords_add(tl_stopwords *sw, const char *w, size_t len);
/* Add "en", "zh", or the words of FILE (one per line, '#' comments, blank
 * lines skipped, gzip allowed). Returns 0, or -1 with a message in err. */
int tl_stopwords_load(tl_stopwords *sw, const char *name_or_path, char *err, size_t errsz);
size_t tl_stopwords_count(const tl_stopwords *sw);
/* Is w (already lower-cased) in the set? */
int tl_stopwords_has(const tl_stopwords *sw, const char *w, size_t len);

#endif
