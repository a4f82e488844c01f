// SPDX-License-Identifier: MIT
/*
 * ptlab report: the HTML report from saved results (report.h). The
 * matrix and model documents are read with jansson; the page's data is
 * one JSON document (its cells, each with its stress trace and the
 * model's counterexample as Chrome trace-event documents) embedded in a
 * <script type="application/json"> element, with every "/" escaped so
 * that no "</script>" can end it early.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "ptlab/profile.h"
#include "ptlab/version.h"
#include "grid.h"
#include "report.h"
#include "report_doc.h"
#include "report_timeline.h"
#include "trace_json.h"
#include "util/cli.h"
#include "util/out_file.h"

/* The page's style and script, embedded at build time (the Makefile makes
 * this object depend on both files). */
__asm__(".pushsection .rodata\n"
	".globl ptlab_report_css\n.hidden ptlab_report_css\n"
	"ptlab_report_css:\n.incbin \"report/report.css\"\n.byte 0\n"
	".globl ptlab_report_js\n.hidden ptlab_report_js\n"
	"ptlab_report_js:\n.incbin \"report/report.js\"\n.byte 0\n"
	".popsection\n");
extern const char ptlab_report_css[], ptlab_report_js[];

#define REPORT_DEFAULT "ptlab-report.html"

/* What the rule expects of each walker kind the cell runs: {"gup":
 * "unsafe", "rcu": "safe"} (a kind is unsafe when it can show some
 * violation). */
static json_t *rule_by_walker(const json_t *c)
{
	json_t *out = json_object(), *w, *by = json_object_get(c, "possible_by_walker");
	size_t i;

	json_array_foreach(json_object_get(c, "walkers"), i, w) {
		const char *name = json_string_value(w);

		if (name)
			json_object_set_new(out, name, json_string(json_array_size(json_object_get(
									   by, name))
									   ? "unsafe"
									   : "safe"));
	}
	return out;
}

/* The report's cell for a document's cell: one per profile, fixes,
 * scenario, kernel generation and walker kinds (the fields both documents
 * write), with what the rule says of it. */
static json_t *page_cell(const json_t *c)
{
	char walkers[32], fixes[40];

	doc_cell_walkers(c, walkers, sizeof(walkers));
	doc_cell_fixes(c, fixes, sizeof(fixes));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:O*, s:O*, s:o}", "profile",
			 doc_str(c, "profile"), "fixes", fixes, "scenario", doc_str(c, "scenario"),
			 "collapse_table", doc_str(c, "collapse_table"), "retract", doc_str(c, "retract"),
			 "unshare_sync",
			 doc_str(c, "unshare_sync"), "rcu_everywhere",
			 json_is_true(json_object_get(c, "rcu_everywhere")), "walkers_text", walkers,
			 "rule", json_object_get(c, "expected"), "possible",
			 json_object_get(c, "possible"), "rule_by_walker", rule_by_walker(c));
}

/*
 * The page is written as it is built, a cell at a time, so that its size
 * costs no memory but for the strings its timelines share: the head, the
 * page's data (a JSON object whose "cells" array is filled one dumped
 * cell after the other, then the shared strings), the script.
 */
struct report_page {
	struct out_file out;
	FILE *f;
	size_t cells;
	struct page_strings strings;
};

/* What a click on a cell shows of the stress run, beside its line: the
 * verdict and the evidence in a few numbers (the rest is in the line). */
static const char *const stress_fields[] = {
	"verdict", "verdict_reason", "first_violation_ms", "overlaps", "defended", "attempts",
	"seconds", "line", "aba", "aba_pud", "aba_wrong",
};

static int add_stress(struct report_page *p, json_t *x, const json_t *c)
{
	json_t *s = json_object(), *trace = json_object_get(c, "trace");

	for (size_t k = 0; k < sizeof(stress_fields) / sizeof(stress_fields[0]); k++)
		if (json_object_get(c, stress_fields[k]))
			json_object_set(s, stress_fields[k], json_object_get(c, stress_fields[k]));
	if (json_object_get(c, "first_violation"))
		json_object_set(s, "what", json_object_get(json_object_get(c, "first_violation"),
							   "what"));
	json_object_set_new(x, "stress", s);
	if (trace && json_object_set_new(x, "stress_timeline", report_timeline(trace, &p->strings)))
		return -1;
	return 0;
}

/* mremap's ABA trail (a safe cell's witness: the seed's "moved back and
 * forth"), as the page draws a counterexample: its steps as strings of
 * the page, and its timeline. */
static int add_aba_trail(struct report_page *p, json_t *x, const json_t *c)
{
	json_t *steps = json_object_get(c, "aba_trail"), *ids, *trace, *timeline;
	size_t n = json_array_size(steps);
	const char **text;
	char title[256];

	if (!n)
		return 0;
	text = calloc(n, sizeof(*text));
	ids = json_array();
	if (!text || !ids) {
		free(text);
		json_decref(ids);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		text[i] = json_string_value(json_array_get(steps, i));
		if (json_array_append_new(ids, json_integer(page_string(&p->strings, text[i]))))
			break;
	}
	snprintf(title, sizeof(title), "ptlab model %s %s %s: the ABA trail (it ends safe)",
		 doc_str(x, "profile"), doc_str(x, "fixes"), doc_str(c, "scenario"));
	trace = trace_json_from_model(title, text, n);
	timeline = trace ? report_timeline(trace, &p->strings) : NULL;
	json_decref(trace);
	free(text);
	if (json_array_size(ids) != n || !timeline) {
		json_decref(ids);
		json_decref(timeline);
		return -1;
	}
	json_object_set_new(x, "aba_trail", ids);
	json_object_set_new(x, "aba_timeline", timeline);
	return 0;
}

static int add_model(struct report_page *p, json_t *x, const json_t *c)
{
	json_t *steps = json_object_get(c, "counterexample"), *ids, *trace, *timeline;
	size_t n = json_array_size(steps);
	const char **text = calloc(n ? n : 1, sizeof(*text));
	char title[256], gen[32] = "";
	int ret = -1;

	json_object_set_new(x, "model",
			    json_pack("{s:s, s:s, s:O*, s:O*, s:O*, s:O*}", "verdict",
				      doc_str(c, "model_verdict"), "judgement", doc_str(c, "verdict"),
				      "kind", json_object_get(c, "violation"), "walker",
				      json_object_get(c, "violation_walker"), "error",
				      json_object_get(c, "error"), "line", json_object_get(c, "line")));
	if (add_aba_trail(p, x, c))
		return -1;
	if (!n || !text) {
		free(text);
		return text ? 0 : -1;
	}
	ids = json_array();
	for (size_t i = 0; i < n; i++) {
		text[i] = json_string_value(json_array_get(steps, i));
		if (json_array_append_new(ids, json_integer(page_string(&p->strings, text[i]))))
			break;
	}
	/* As ptlab model --trace titles it (cli/model.c): the generation
	 * where it is not the default. */
	if (*doc_str(c, "collapse_table") && strcmp(doc_str(c, "collapse_table"), "reuse"))
		snprintf(gen, sizeof(gen), "/%s", doc_str(c, "collapse_table"));
	else if (*doc_str(c, "retract") && strcmp(doc_str(c, "retract"), "free"))
		snprintf(gen, sizeof(gen), "/%s", doc_str(c, "retract"));
	snprintf(title, sizeof(title), "ptlab model %s %s %s%s: %s (%s walker)",
		 doc_str(x, "profile"), doc_str(x, "fixes"), doc_str(c, "scenario"), gen,
		 doc_str(c, "violation"), doc_str(c, "violation_walker"));
	trace = trace_json_from_model(title, text, n);
	timeline = trace ? report_timeline(trace, &p->strings) : NULL;
	/* The steps as strings of the page (its timeline has the same
	 * names): the counterexample a click shows. */
	if (ids && json_array_size(ids) == n && timeline) {
		json_object_set_new(x, "counterexample", ids);
		json_object_set_new(x, "model_timeline", timeline);
		ret = 0;
	} else {
		json_decref(ids);
		json_decref(timeline);
	}
	json_decref(trace);
	free(text);
	return ret;
}

struct report_page *report_page_open(const char *path)
{
	struct report_page *p = calloc(1, sizeof(*p));

	if (!p || page_strings_init(&p->strings)) {
		fprintf(stderr, "ptlab: cannot write %s: out of memory\n", path);
		free(p);
		return NULL;
	}
	p->f = out_file_open(&p->out, path);
	if (!p->f) {
		page_strings_release(&p->strings);
		free(p);
		return NULL;
	}
	fprintf(p->f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		      "<title>ptlab report</title>\n<style>\n%s</style>\n</head>\n"
		      "<body data-status=\"loading\" data-errors=\"0\">\n"
		      "<h1>ptlab: the page-table lifetime protocol, cell by cell</h1>\n"
		      "<p id=\"summary\"></p>\n<div id=\"legend\"></div>\n"
		      "<div id=\"grid\"></div>\n<div id=\"detail\"></div>\n"
		      "<div id=\"timeline-legend\"></div>\n<div id=\"barriers\"></div>\n"
		      "<script type=\"application/json\" id=\"ptlab-data\">"
		      "{\"ptlab_version\":\"%s\",\"cells\":[",
		ptlab_report_css, PTLAB_VERSION);
	return p;
}

/* The page's numbers: a tenth of a microsecond is the finest a timeline
 * keeps, and no number needs more digits. */
#define PAGE_DUMP_FLAGS (JSON_COMPACT | JSON_ESCAPE_SLASH | JSON_REAL_PRECISION(10))

static int page_add(struct report_page *p, const json_t *stress, const json_t *model)
{
	json_t *x = page_cell(stress ? stress : model);
	struct doc_pair pair = { stress, model };
	char glyph[2] = { doc_glyph(&pair), '\0' };
	int ret = x ? 0 : -1;

	if (!ret && json_object_set_new(x, "glyph", json_string(glyph)))
		ret = -1;
	if (!ret && stress)
		ret = add_stress(p, x, stress);
	if (!ret && model)
		ret = add_model(p, x, model);
	if (!ret) {
		if (p->cells++)
			fputc(',', p->f);
		ret = json_dumpf(x, p->f, PAGE_DUMP_FLAGS) ? -1 : 0;
	}
	json_decref(x);
	return ret;
}

int report_page_add_text(struct report_page *p, const char *cell, size_t len)
{
	json_t *c = json_loadb(cell, len, 0, NULL);
	int ret = c ? page_add(p, c, NULL) : -1;

	json_decref(c);
	return ret;
}

/* The rest of the data object after "cells": the verdicts of the whole,
 * the header of each document's lines (@headers, NULL: none), the strings
 * the timelines share. */
static int page_close(struct report_page *p, const char *path, bool matrix_passed,
		      bool have_model, const json_t *min_overlaps, const json_t *headers,
		      const json_t *barriers)
{
	json_t *keys = json_array(), *tail;
	char *text;
	int ret;

	for (size_t k = 0; k < DOC_GENERATION_KEYS; k++)
		json_array_append_new(keys, json_string(doc_generation_keys[k]));
	tail = json_pack("{s:b, s:b, s:O*, s:O*, s:O, s:i, s:o*, s:O*}", "have_model", have_model,
			 "matrix_passed", matrix_passed, "min_overlaps", min_overlaps,
			 "line_headers", headers, "strings", p->strings.list, "timeline_events",
			 REPORT_TIMELINE_EVENTS, "generation_keys", keys, "barriers", barriers);
	text = tail ? json_dumps(tail, PAGE_DUMP_FLAGS) : NULL;
	if (!text) {
		json_decref(tail);
		fprintf(stderr, "ptlab: cannot write %s: out of memory\n", path);
		report_page_abort(p);
		return 1;
	}
	fprintf(p->f, "],%s</script>\n<script>\n%s</script>\n</body>\n</html>\n", text + 1,
		ptlab_report_js);
	free(text);
	json_decref(tail);
	ret = out_file_commit(&p->out, p->f, path);
	page_strings_release(&p->strings);
	free(p);
	return ret;
}

int report_page_close(struct report_page *p, const char *path, bool matrix_passed,
		      uint64_t min_overlaps)
{
	json_t *n = json_integer((json_int_t)min_overlaps);
	int ret = page_close(p, path, matrix_passed, false, n, NULL, NULL);

	json_decref(n);
	return ret;
}

void report_page_abort(struct report_page *p)
{
	if (!p)
		return;
	out_file_abort(&p->out, p->f);
	page_strings_release(&p->strings);
	free(p);
}

/* The two documents' cells, page cell by page cell (doc_pair_cells()),
 * and the barrier table of @barriers (ptlab study barriers --json; NULL:
 * none). */
static int write_page(const json_t *matrix, const json_t *model, const json_t *barriers,
		      const char *path)
{
	size_t n = 0;
	struct doc_pair *pairs = doc_pair_cells(matrix, model, &n);
	struct report_page *p = pairs ? report_page_open(path) : NULL;
	json_t *headers;
	int ret = 0;

	if (!p) {
		if (!pairs)
			fprintf(stderr, "ptlab: cannot write %s: out of memory\n", path);
		free(pairs);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		ret |= page_add(p, pairs[i].stress, pairs[i].model);
	free(pairs);
	if (ret) {
		report_page_abort(p);
		fprintf(stderr, "ptlab: cannot write %s: out of memory\n", path);
		return 1;
	}
	headers = json_pack("{s:O*, s:O*}", "stress", json_object_get(matrix, "line_header"),
			    "model", json_object_get(model, "line_header"));
	ret = page_close(p, path, json_is_true(json_object_get(matrix, "passed")), model != NULL,
			 json_object_get(matrix, "min_overlaps"), headers,
			 barriers ? json_object_get(barriers, "barriers") : NULL);
	json_decref(headers);
	return ret;
}

/* ---- the command ---- */

enum { OPT_FROM = CLI_OPT_FIRST, OPT_MODEL, OPT_GRID, OPT_BARRIERS, OPT_OUTPUT = 'o' };

static const struct cli_opt options[] = {
	{ "from", OPT_FROM, "FILE", "the matrix's JSON (required)" },
	{ "model", OPT_MODEL, "FILE", "the model's JSON" },
	{ "barriers", OPT_BARRIERS, "FILE",
	  "the JSON of ptlab study barriers: the page shows its table, barrier -> cells that "
	  "need it" },
	{ "output", OPT_OUTPUT, "FILE",
	  "the report (default " REPORT_DEFAULT "; with --grid, none unless named)" },
	{ "grid", OPT_GRID, NULL,
	  "print the grid on the terminal: a glyph per cell, the cells to look at, the totals" },
	CLI_OPTS_END
};

static const struct cli_command cmd = {
	.name = "report",
	.synopsis = "--from MATRIX.json [--model MODEL.json]\n"
		    "       [--barriers STUDY.json] [-o FILE] [--grid]",
	.about = "Builds the HTML report from saved results: the grid of every cell's\n"
		 "verdicts by the rule, the stress matrix (ptlab matrix --json) and the\n"
		 "model (ptlab model --json); a click on a cell shows its lines, the\n"
		 "timeline of its stress trace and the model's counterexample. With --grid,\n"
		 "prints the grid on the terminal instead.\n",
	.opts = options,
};

/* Bounds an input document. */
#define INPUT_MAX (1ul << 30)

/* The whole of an input file; NULL after printing the usage error. */
static char *read_input(const char *what, const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL, msg[64];
	size_t cap = 0, n;
	const char *why = NULL;

	*len = 0;
	snprintf(msg, sizeof(msg), "cannot read %s", what);
	if (!f) {
		cli_error(msg, path, strerror(errno));
		return NULL;
	}
	do {
		if (*len == cap) {
			char *more = cap < INPUT_MAX ? realloc(buf, cap = cap ? cap * 2 : 1 << 16)
						     : NULL;

			if (!more) {
				why = cap < INPUT_MAX ? "out of memory" : "at most 1 GiB";
				break;
			}
			buf = more;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n);
	if (!why && ferror(f))
		why = strerror(EIO);
	fclose(f);
	if (why) {
		cli_error(msg, path, why);
		free(buf);
		return NULL;
	}
	return buf;
}

/* The grid (when asked) and the page (when it has a path) of the two
 * documents' texts. */
/* The study's document, or NULL after printing why not: it must have an
 * array "barriers" whose entries each have a "name". */
static json_t *barriers_load(const char *text, size_t len)
{
	json_error_t err;
	json_t *b = json_loadb(text, len, 0, &err);
	json_t *list = b ? json_object_get(b, "barriers") : NULL;
	size_t i;
	json_t *e;

	if (!b) {
		fprintf(stderr, "ptlab: cannot read the --barriers file: %s (line %d)\n", err.text,
			err.line);
		return NULL;
	}
	if (!json_is_array(list)) {
		fprintf(stderr, "ptlab: the --barriers file has no \"barriers\" array: is it the "
				"JSON of ptlab study barriers?\n");
		json_decref(b);
		return NULL;
	}
	json_array_foreach (list, i, e)
		if (!json_is_string(json_object_get(e, "name")) ||
		    !json_is_array(json_object_get(e, "memory"))) {
			fprintf(stderr, "ptlab: the --barriers file's barrier %zu has no name or "
					"no \"memory\" array\n", i);
			json_decref(b);
			return NULL;
		}
	return b;
}

static int report_docs(const char *mtext, size_t mlen, const char *motext, size_t molen,
		       const char *btext, size_t blen, const struct grid_outputs *grid,
		       const char *path)
{
	json_t *m = doc_load(mtext, mlen, "matrix"), *mo = NULL, *b = NULL;
	int ret = 0;

	if (!m || (motext && !(mo = doc_load(motext, molen, "model"))) ||
	    (btext && !(b = barriers_load(btext, blen))))
		ret = CLI_EXIT_USAGE;
	if (!ret && path)
		ret = write_page(m, mo, b, path);
	if (!ret && grid)
		ret = grid_print(stdout, m, mo, grid);
	else if (!ret)
		printf("report: %s\n", path);
	json_decref(m);
	json_decref(mo);
	json_decref(b);
	return ret;
}

int cmd_report(int argc, char **argv)
{
	const char *from = NULL, *model = NULL, *out = NULL, *barriers = NULL;
	char *mtext = NULL, *motext = NULL, *btext = NULL;
	size_t mlen = 0, molen = 0, blen = 0;
	bool grid = false;
	int c, ret;

	while ((c = cli_getopt(&cmd, argc, argv, &ret)) != -1) {
		switch (c) {
		case CLI_STOP:
			return ret;
		case OPT_FROM:
			from = optarg;
			break;
		case OPT_MODEL:
			model = optarg;
			break;
		case OPT_BARRIERS:
			barriers = optarg;
			break;
		case OPT_OUTPUT:
			out = optarg;
			break;
		case OPT_GRID:
			grid = true;
			break;
		}
	}
	if (!from)
		return cli_error("missing option for report", "--from", "--from MATRIX.json");
	if (!out && !grid)
		out = REPORT_DEFAULT;
	if (out && (ret = cli_check_output("report file", out)))
		return ret;
	mtext = read_input("--from file", from, &mlen);
	if (mtext && model)
		motext = read_input("--model file", model, &molen);
	if (mtext && barriers && (!model || motext))
		btext = read_input("--barriers file", barriers, &blen);
	if (!mtext || (model && !motext) || (barriers && !btext)) {
		ret = CLI_EXIT_USAGE;
	} else {
		struct grid_outputs where = { from, model, out };

		ret = report_docs(mtext, mlen, motext, molen, btext, blen, grid ? &where : NULL,
				  out);
	}
	free(mtext);
	free(motext);
	free(btext);
	return ret;
}
