// SPDX-License-Identifier: MIT
/* The saved documents of both oracles (report_doc.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptlab/rule.h"
#include "report_doc.h"

const char *const doc_generation_keys[DOC_GENERATION_KEYS] = { "collapse_table", "retract" };

const char *doc_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* Its PMD re-check and its sync policy (a document without one: the sync
 * of its ipi_sync, all or none). */
void doc_cell_fixes(const json_t *c, char *buf, size_t len)
{
	struct ptlab_fixes f = { .pmd_recheck = json_is_true(json_object_get(c, "pmd_recheck")) };

	if (sync_policy_parse(doc_str(c, "sync"), &f.sync))
		f.sync = json_is_true(json_object_get(c, "ipi_sync")) ? SYNC_ALL : SYNC_NONE;
	ptlab_fixes_words(f, buf, len);
}

void doc_cell_walkers(const json_t *c, char *buf, size_t len)
{
	size_t i, used = 0;
	json_t *w;

	buf[0] = '\0';
	json_array_foreach(json_object_get(c, "walkers"), i, w)
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
						 json_string_value(w) ? json_string_value(w) : "?");
}

json_t *doc_load(const char *text, size_t len, const char *what)
{
	json_error_t err;
	json_t *doc = json_loadb(text, len, 0, &err);

	if (!doc) {
		fprintf(stderr, "ptlab: cannot read the %s document: %s (line %d)\n", what,
			err.text, err.line);
		return NULL;
	}
	if (!json_is_array(json_object_get(doc, "cells"))) {
		fprintf(stderr, "ptlab: the %s document has no \"cells\" array\n", what);
		json_decref(doc);
		return NULL;
	}
	/* The report draws the rule's verdicts, which an observation has
	 * not: its cells are in its JSON and its text output. */
	if (json_is_true(json_object_get(doc, "no_rule"))) {
		fprintf(stderr, "ptlab: the %s document was written by matrix --no-rule, "
				"without verdicts (allowed: a matrix --json document without "
				"--no-rule)\n", what);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Whether the two documents' cells @a and @b are the same cell: profile,
 * fixes, scenario, kernel generation and walker kinds (the fields both
 * documents write). */
static bool same_cell(const json_t *a, const json_t *b)
{
	static const char *const keys[] = { "profile", "scenario", "collapse_table", "retract",
					    "unshare_sync" };
	char fa[40], fb[40], wa[32], wb[32];

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (strcmp(doc_str(a, keys[k]), doc_str(b, keys[k])))
			return false;
	doc_cell_fixes(a, fa, sizeof(fa));
	doc_cell_fixes(b, fb, sizeof(fb));
	doc_cell_walkers(a, wa, sizeof(wa));
	doc_cell_walkers(b, wb, sizeof(wb));
	return !strcmp(fa, fb) && !strcmp(wa, wb) &&
	       json_is_true(json_object_get(a, "rcu_everywhere")) ==
		       json_is_true(json_object_get(b, "rcu_everywhere"));
}

struct doc_pair *doc_pair_cells(const json_t *matrix, const json_t *model, size_t *n)
{
	json_t *mcells = json_object_get(matrix, "cells"), *ocells = json_object_get(model, "cells");
	size_t nm = json_array_size(mcells), no = json_array_size(ocells), i, k;
	struct doc_pair *v = calloc(nm + no ? nm + no : 1, sizeof(*v));
	bool *paired = calloc(no ? no : 1, sizeof(*paired));
	json_t *c, *o;

	*n = 0;
	if (!v || !paired) {
		free(v);
		free(paired);
		return NULL;
	}
	json_array_foreach(mcells, i, c) {
		v[*n].stress = c;
		/* The cell at the same index first: the two documents often
		 * list their cells in the same order. */
		if (i < no && !paired[i] && same_cell(c, json_array_get(ocells, i))) {
			paired[i] = true;
			v[*n].model = json_array_get(ocells, i);
		}
		json_array_foreach(ocells, k, o)
			if (!v[*n].model && !paired[k] && same_cell(c, o)) {
				paired[k] = true;
				v[*n].model = o;
			}
		(*n)++;
	}
	json_array_foreach(ocells, k, o)
		if (!paired[k])
			v[(*n)++].model = o;
	free(paired);
	return v;
}

char doc_glyph(const struct doc_pair *p)
{
	const json_t *any = p->stress ? p->stress : p->model;
	const char *sv = doc_str(p->stress, "verdict"), *mv = doc_str(p->model, "verdict");
	bool stress_fails = p->stress && (!strcmp(sv, "fail") || json_object_get(p->stress, "error"));
	bool model_fails = p->model && !strcmp(mv, "fail");

	if (stress_fails && model_fails)
		return 'B';
	if (stress_fails)
		return 'S';
	if (model_fails)
		return 'M';
	if (p->model && strcmp(mv, "pass"))
		return '!';
	if (p->stress && strcmp(sv, "pass"))
		return '?';
	return strcmp(doc_str(any, "expected"), "unsafe") ? '.' : 'x';
}

const char *doc_glyph_words(char glyph)
{
	switch (glyph) {
	case '.':
		return "safe";
	case 'x':
		return "unsafe (by the rule; both oracles agree)";
	case 'B':
		return "both oracles disagree";
	case 'S':
		return "stress disagrees";
	case 'M':
		return "model disagrees";
	case '!':
		return "model: no verdict";
	case '?':
		return "stress inconclusive";
	}
	return "not run";
}

bool doc_glyph_notable(char glyph)
{
	return glyph != '.' && glyph != 'x';
}
