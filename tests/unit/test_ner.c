/* test_ner.c - lib/eval/ner.c against seqeval 1.2.2 (default mode): the
 * cases of tests/ref/ner/cases.txt (tests/ref/ner_ref.py): entity counts
 * exactly, scores within 1e-12. Plus the chunker and malformed tags. */
#include "tl/ner.h"
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXW 256

static void run_cases(void)
{
	FILE *f = fopen("tests/ref/ner/cases.txt", "r");
	CHECK(f != NULL);
	if (!f)
		return;
	char line[8192], name[128] = "";
	tl_ner_eval *e = NULL;
	int ncases = 0, ntypes = 0;
	size_t ti = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "case ", 5) == 0) {
			snprintf(name, sizeof name, "%.100s", line + 5);
			e = tl_ner_eval_new(TL_NER_IOB2);
			ti = 0;
		} else if (strncmp(line, "s ", 2) == 0 || strcmp(line, "s") == 0) {
			const char *g[MAXW], *p[MAXW];
			size_t ng = 0, np = 0;
			int side = 0;
			for (char *tok = strtok(line + 1, " "); tok; tok = strtok(NULL, " ")) {
				if (strcmp(tok, "|") == 0)
					side = 1;
				else if (side)
					p[np++] = tok;
				else
					g[ng++] = tok;
			}
			CHECK_EQ_INT(np, ng);
			char err[256];
			int rc = tl_ner_eval_add(e, g, p, ng, err, sizeof err);
			if (rc != 0)
				fprintf(stderr, "%s: %s\n", name, err);
			CHECK_EQ_INT(rc, 0);
		} else if (strncmp(line, "sum ", 4) == 0) {
			long c[5];
			double v[10];
			int k = sscanf(line + 4, "%ld %ld %ld %ld %ld %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf", &c[0], &c[1],
				       &c[2], &c[3], &c[4], &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
				       &v[9]);
			CHECK_EQ_INT(k, 15);
			tl_ner_summary s;
			tl_ner_eval_summary(e, &s);
			int bad = test_fail;
			CHECK_EQ_INT(s.tp, c[0]);
			CHECK_EQ_INT(s.npred, c[1]);
			CHECK_EQ_INT(s.ngold, c[2]);
			CHECK_EQ_INT(s.words, c[3]);
			CHECK_EQ_INT(s.words_correct, c[4]);
			double got[10] = {s.micro_p,    s.micro_r,    s.micro_f1,    s.macro_p, s.macro_r,
					  s.macro_f1, s.weighted_p, s.weighted_r, s.weighted_f1, s.accuracy};
			for (int i = 0; i < 10; i++)
				CHECK_NEAR(got[i], v[i], 1e-12);
			CHECK_NEAR(tl_ner_eval_micro_f1(e), v[2], 1e-12);
			if (test_fail != bad)
				fprintf(stderr, "  in case %s\n", name);
		} else if (strncmp(line, "type ", 5) == 0) {
			char tname[128];
			long tp, npred, ngold;
			double pr, rc, f1;
			CHECK_EQ_INT(sscanf(line + 5, "%127s %ld %ld %ld %lf %lf %lf", tname, &tp, &npred, &ngold, &pr, &rc, &f1),
				     7);
			CHECK(ti < tl_ner_eval_ntypes(e));
			if (ti >= tl_ner_eval_ntypes(e))
				continue;
			tl_ner_type_score t;
			tl_ner_eval_type(e, ti++, &t);
			int bad = test_fail;
			CHECK_STR(t.type, tname);
			CHECK_EQ_INT(t.tp, tp);
			CHECK_EQ_INT(t.npred, npred);
			CHECK_EQ_INT(t.ngold, ngold);
			CHECK_NEAR(t.precision, pr, 1e-12);
			CHECK_NEAR(t.recall, rc, 1e-12);
			CHECK_NEAR(t.f1, f1, 1e-12);
			if (test_fail != bad)
				fprintf(stderr, "  in case %s\n", name);
			ntypes++;
		} else if (strcmp(line, "end") == 0) {
			CHECK_EQ_INT(tl_ner_eval_ntypes(e), ti);
			tl_ner_eval_free(e);
			e = NULL;
			ncases++;
		}
	}
	fclose(f);
	CHECK(e == NULL);
	CHECK(ncases >= 50);
	CHECK(ntypes >= 100);
}

static void test_chunks(void)
{
	/* seqeval get_entities(['I-PER','I-PER','B-PER','E-LOC','S-LOC','I-ORG']) ->
	 * [('PER',0,1),('PER',2,2),('LOC',3,3),('LOC',4,4),('ORG',5,5)] */
	const char *t[] = {"I-PER", "I-PER", "B-PER", "E-LOC", "S-LOC", "I-ORG"};
	tl_ner_chunk c[6];
	char err[128];
	long k = tl_ner_chunks(t, 6, c, err, sizeof err);
	CHECK_EQ_INT(k, 5);
	size_t s[] = {0, 2, 3, 4, 5}, en[] = {2, 3, 4, 5, 6};
	const char *ty[] = {"PER", "PER", "LOC", "LOC", "ORG"};
	for (int i = 0; i < 5 && i < k; i++) {
		CHECK_EQ_INT(c[i].start, s[i]);
		CHECK_EQ_INT(c[i].end, en[i]);
		CHECK(c[i].type_len == strlen(ty[i]) && memcmp(c[i].type, ty[i], c[i].type_len) == 0);
	}
	CHECK_EQ_INT(tl_ner_chunks(t, 0, c, err, sizeof err), 0);

	/* malformed tags: refused, the evaluator unchanged */
	const char *bad[] = {"B_PER", "PER", "O-X", "", "o", "X-PER"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *seq[] = {"O", bad[i]};
		CHECK_EQ_INT(tl_ner_chunks(seq, 2, c, err, sizeof err), -1);
		CHECK(strstr(err, "word 2") != NULL);
	}
	tl_ner_eval *e = tl_ner_eval_new(TL_NER_IOB2);
	const char *g[] = {"B-PER", "I-PER"}, *p[] = {"B-PER", "PER"};
	CHECK_EQ_INT(tl_ner_eval_add(e, g, p, 2, err, sizeof err), -1);
	CHECK(strncmp(err, "pred: word 2: malformed tag \"PER\"", 33) == 0);
	tl_ner_summary sm;
	tl_ner_eval_summary(e, &sm);
	CHECK(sm.ngold == 0 && sm.words == 0 && tl_ner_eval_ntypes(e) == 0 && sm.accuracy == 0 && sm.macro_f1 == 0);
	CHECK(tl_ner_eval_micro_f1(e) == 0);
	tl_ner_eval_free(e);

	/* out-of-scheme counts: E-/S- under IOB2, I- openings under IOB2 only */
	const char *g2[] = {"I-PER", "O", "S-LOC", "B-ORG", "I-MISC"};
	tl_ner_stats st;
	e = tl_ner_eval_new(TL_NER_IOB2);
	CHECK_EQ_INT(tl_ner_eval_add(e, g2, g2, 5, err, sizeof err), 0);
	tl_ner_eval_stats(e, &st);
	CHECK_EQ_INT(st.es_tags, 2);
	CHECK_EQ_INT(st.i_starts, 4);
	tl_ner_eval_free(e);
	e = tl_ner_eval_new(TL_NER_IOB1);
	CHECK_EQ_INT(tl_ner_eval_add(e, g2, g2, 5, err, sizeof err), 0);
	tl_ner_eval_stats(e, &st);
	CHECK_EQ_INT(st.es_tags, 2);
	CHECK_EQ_INT(st.i_starts, 0);
	tl_ner_eval_free(e);
}

int main(void)
{
	run_cases();
	test_chunks();
	TEST_REPORT("test_ner");
}
