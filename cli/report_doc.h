/* SPDX-License-Identifier: MIT */
/*
 * The two saved documents the report and the grid read (ptlab matrix
 * --json, ptlab model --json): parsing them, pairing their cells, and
 * one cell's verdict glyph, the same in the terminal's grid (grid.c) and
 * the page's (report/report.js draws the glyph the page's data carries).
 */
#ifndef PTLAB_CLI_REPORT_DOC_H
#define PTLAB_CLI_REPORT_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* A member's string, "" when it has none. */
const char *doc_str(const json_t *o, const char *key);
/* "none", "pmd-recheck", "both/walkers", ... of a document's cell. */
void doc_cell_fixes(const json_t *c, char *buf, size_t len);
/* The walker kinds a cell runs, "gup,rcu". */
void doc_cell_walkers(const json_t *c, char *buf, size_t len);

/* The fields of a cell that name a kernel generation ("collapse_table",
 * "retract"): a scenario's columns in the grid are the values of those
 * that differ among its cells. */
extern const char *const doc_generation_keys[];
#define DOC_GENERATION_KEYS 2

/* Parses a document of @what ("matrix", "model") with an array of cells
 * and the rule's verdicts; NULL after printing why not. */
json_t *doc_load(const char *text, size_t len, const char *what);

/* A cell of either document or both: @stress from the matrix's, @model
 * from the model's (NULL: that document has no such cell). */
struct doc_pair {
	const json_t *stress, *model;
};

/* Each matrix cell with the model's same cell, then the model's cells the
 * matrix did not run; @model may be NULL. A malloc()ed array of *n pairs,
 * NULL when out of memory. */
struct doc_pair *doc_pair_cells(const json_t *matrix, const json_t *model, size_t *n);

/*
 * One character for a cell: the rule's verdict when both oracles agree
 * with it, else what went wrong, the worst first:
 *   '.' safe by the rule, 'x' unsafe by the rule: each oracle agrees
 *   'B' both oracles disagree with the rule, 'S' the stress matrix does,
 *   'M' the model does, '!' the model gave no verdict (an error),
 *   '?' the stress run was inconclusive (too little evidence)
 * An oracle whose document lacks the cell counts as agreeing.
 */
#define DOC_GLYPHS ".xBSM!?"
char doc_glyph(const struct doc_pair *p);
/* What @glyph means, in a few words (the legend). */
const char *doc_glyph_words(char glyph);
/* Whether @glyph marks a cell to look at (an oracle disagrees, gave no
 * verdict, or was inconclusive). */
bool doc_glyph_notable(char glyph);

#endif /* PTLAB_CLI_REPORT_DOC_H */
