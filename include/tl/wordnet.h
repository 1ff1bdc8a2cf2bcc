/* tl/wordnet.h - a reader for the WordNet 3.0 database files (Princeton
 * "wndb" format, as Debian's wordnet-base installs them in
 * /usr/share/wordnet): index.{noun,verb,adj,adv}, data.*, and the
 * exception lists {noun,verb,adj,adv}.exc.
 *
 * tl_wordnet_open maps the files (mmap, read-only) and builds one hash
 * index per part of speech over the index files and the exception lists;
 * every synset offset in the index files is checked against its data file
 * while loading, and every file is text (a NUL byte anywhere is damage,
 * named by file and line), so a damaged copy is refused up front instead
 * of failing in the middle of a stream. Lookups afterwards allocate nothing but their
 * result lists.
 *
 * Base forms follow WordNet's morphy as NLTK implements it
 * (nltk.corpus.reader.wordnet._morphy): if the word is in the POS's
 * exception list, the candidates are the word and its listed base forms;
 * otherwise the word and the results of applying each detachment rule once;
 * candidates that are not lemmas of that POS are dropped.
 *
 * Words are ASCII lemma strings as WordNet spells them: lower case, '_'
 * for a space. Lookups lower-case their argument (ASCII); a word longer
 * than TL_WN_MAXWORD bytes has no entry.
 *
 * Ownership: tl_wordnet_open returns a database the caller frees with
 * tl_wordnet_close; it is read-only after opening, so several threads may
 * look words up at once, each with its own result list. Results go into a
 * caller's tl_wn_list (zero-initialised, reused across calls, freed with
 * tl_wn_list_free); the strings in it belong to the list and stay valid
 * until the next call that fills that list. No lookup keeps a pointer to
 * its word argument.
 */
#ifndef TL_WORDNET_H
#define TL_WORDNET_H

#include "tl/util.h"

#include <stddef.h>

#define TL_WN_MAXWORD 96
#define TL_WORDNET_DEFAULT_DIR "/usr/share/wordnet"

enum tl_wn_pos { TL_WN_NOUN = 0, TL_WN_VERB, TL_WN_ADJ, TL_WN_ADV, TL_WN_NPOS };

typedef struct tl_wordnet tl_wordnet;

/* Open the database in dir (NULL: $WNSEARCHDIR, else
 * TL_WORDNET_DEFAULT_DIR). Returns NULL with a one-line message in err
 * ("/x/index.noun: No such file or directory", "data.verb: damaged: ...")
 * when a file is missing, unreadable or inconsistent. Free with
 * tl_wordnet_close. */
tl_wordnet *tl_wordnet_open(const char *dir, char *err, size_t errsz);
void tl_wordnet_close(tl_wordnet *wn);

/* A list of strings owned by the list: strings are NUL-terminated and
 * stay valid until the next call that fills the list or tl_wn_list_free.
 * Zero-initialise before first use. */
typedef struct {
	tl_buf b;            /* the strings, back to back, NUL-terminated */
	size_t *off;         /* off[i]: start of string i in b.data */
	unsigned char *tag;  /* tag[i]: a small per-string value (see below) */
	size_t n, ncap;
} tl_wn_list;
void tl_wn_list_clear(tl_wn_list *l);
void tl_wn_list_push(tl_wn_list *l, const char *s, size_t len, unsigned tag);
static inline const char *tl_wn_list_at(const tl_wn_list *l, size_t i)
{
	return l->b.data + l->off[i];
}
void tl_wn_list_free(tl_wn_list *l);

/* Number of synsets of lemma (exact, lower-cased) in pos; 0 when absent. */
int tl_wordnet_has(const tl_wordnet *wn, const char *lemma, size_t len, int pos);

/* Base forms of word in pos (morphy), in NLTK's order, replacing the
 * contents of out. tag[i] is the inflection the word carries relative to
 * base form i (enum tl_wn_infl). Returns the count. */
enum tl_wn_infl {
	TL_WN_INFL_NONE = 0, /* the word is the lemma itself */
	TL_WN_INFL_PLURAL,   /* noun plural: rule or noun.exc */
	TL_WN_INFL_3SG,      /* verb -s */
	TL_WN_INFL_PAST,     /* verb -ed, or an irregular past form */
	TL_WN_INFL_GER,      /* verb -ing */
	TL_WN_INFL_COMPAR    /* adjective/adverb -er/-est, or irregular: not re-inflected */
};
size_t tl_wordnet_morphy(const tl_wordnet *wn, const char *word, size_t len, int pos, tl_wn_list *out);

/* The lemma names (WordNet spelling: case kept, '_' for a space, adjective
 * markers such as "(a)" removed) of every synset of word in every part of
 * speech, as nltk's wn.synsets(word) yields them, duplicates removed, in
 * first-seen order. tag[i] is the pos. Replaces the contents of out;
 * returns the count. */
size_t tl_wordnet_lemmas(const tl_wordnet *wn, const char *word, size_t len, tl_wn_list *out);

/* Synonyms for replacing word in running text (EDA's get_synonyms, made
 * safe for real text): the lemmas of every synset found through morphy,
 * lower-cased, '_' -> ' ', kept only when they consist of ASCII letters,
 * spaces, '-' and '\''; re-inflected like the word (plural nouns, verbs in
 * -s/-ed/-ing: the head word of a multi-word lemma is inflected, the last
 * for nouns and the first for verbs, irregular forms from the exception
 * lists); a synonym that cannot be inflected safely (an irregular verb
 * for an -ed form, any comparative) is skipped. Duplicates and the word
 * itself are removed. Replaces out; returns the count. */
size_t tl_wordnet_synonyms(const tl_wordnet *wn, const char *word, size_t len, tl_wn_list *out);

/* Inflect a base form (helper of tl_wordnet_synonyms, exposed for tests):
 * appends the inflected form of base to out (NUL-terminated) and returns
 * its length, or 0 when no safe form exists. infl: enum tl_wn_infl. */
size_t tl_wordnet_inflect(const tl_wordnet *wn, const char *base, size_t len, int pos, int infl, char *out,
			  size_t outsz);

#endif
