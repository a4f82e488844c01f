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
#include "report.h"
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

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* "none", "pmd-recheck", "both/walkers", ... of a document's cell: its
 * PMD re-check and its sync policy (a document without one: the sync of
 * its ipi_sync, all or none). */
static void cell_fixes(const json_t *c, char *buf, size_t len)
{
	struct ptlab_fixes f = { .pmd_recheck = json_is_true(json_object_get(c, "pmd_recheck")) };

	if (sync_policy_parse(str(c, "sync"), &f.sync))
		f.sync = json_is_true(json_object_get(c, "ipi_sync")) ? SYNC_ALL : SYNC_NONE;
	ptlab_fixes_words(f, buf, len);
}

/* The walker kinds a cell runs, "gup,rcu" (both documents list them). */
static void cell_walkers(const json_t *c, char *buf, size_t len)
{
	size_t i, used = 0;
	json_t *w;

	buf[0] = '\0';
	json_array_foreach(json_object_get(c, "walkers"), i, w)
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
						 json_string_value(w) ? json_string_value(w) : "?");
}

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

static bool same_cell(const json_t *x, const json_t *c, const char *fixes, const char *walkers)
{
	static const char *const keys[] = { "profile", "scenario", "collapse_table", "retract",
					    "unshare_sync" };

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (strcmp(str(x, keys[k]), str(c, keys[k])))
			return false;
	return !strcmp(str(x, "fixes"), fixes) && !strcmp(str(x, "walkers_text"), walkers) &&
	       json_is_true(json_object_get(x, "rcu_everywhere")) ==
		       json_is_true(json_object_get(c, "rcu_everywhere"));
}

/* The report's cell for a document's cell: one per profile, fixes,
 * scenario, kernel generation and walker kinds (the fields both documents
 * write), with what the rule says of it. */
static json_t *page_cell(const json_t *c)
{
	char walkers[32], fixes[40];

	cell_walkers(c, walkers, sizeof(walkers));
	cell_fixes(c, fixes, sizeof(fixes));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:O*, s:O*, s:o}", "profile",
			 str(c, "profile"), "fixes", fixes, "scenario", str(c, "scenario"),
			 "collapse_table", str(c, "collapse_table"), "retract", str(c, "retract"),
			 "unshare_sync",
			 str(c, "unshare_sync"), "rcu_everywhere",
			 json_is_true(json_object_get(c, "rcu_everywhere")), "walkers_text", walkers,
			 "rule", json_object_get(c, "expected"), "possible",
			 json_object_get(c, "possible"), "rule_by_walker", rule_by_walker(c));
}

/* Whether the document cells @a and @b are the same cell. */
static bool same_doc_cell(const json_t *a, const json_t *b)
{
	json_t *x = page_cell(a);
	char walkers[32], fixes[40];
	bool same;

	cell_walkers(b, walkers, sizeof(walkers));
	cell_fixes(b, fixes, sizeof(fixes));
	same = x && same_cell(x, b, fixes, walkers);
	json_decref(x);
	return same;
}

static const char *const stress_fields[] = {
	"verdict", "verdict_reason", "unheld", "stale_read", "first_violation_ms", "overlaps",
	"defended", "held_off", "recheck_caught", "isolation_refused", "undefended",
	"lost_writes", "cycles_per_sec", "seconds", "attempts", "violations",
	"violations_by_walker", "overlaps_by_walker", "defended_by_walker", "table_moves", "aba",
	"aba_pud", "aba_wrong",
};

static void add_stress(json_t *x, const json_t *c)
{
	json_t *s = json_object();

	for (size_t k = 0; k < sizeof(stress_fields) / sizeof(stress_fields[0]); k++)
		if (json_object_get(c, stress_fields[k]))
			json_object_set(s, stress_fields[k], json_object_get(c, stress_fields[k]));
	if (json_object_get(c, "first_violation"))
		json_object_set(s, "what", json_object_get(json_object_get(c, "first_violation"),
							   "what"));
	json_object_set_new(x, "stress", s);
	if (json_object_get(c, "trace"))
		json_object_set(x, "stress_trace", json_object_get(c, "trace"));
}

/* mremap's ABA trail (a safe cell's witness), drawn as a counterexample
 * is. */
static void add_aba_trail(json_t *x, const json_t *c)
{
	json_t *steps = json_object_get(c, "aba_trail");
	size_t n = json_array_size(steps);
	const char **text = n ? calloc(n, sizeof(*text)) : NULL;
	char title[256];

	if (!text)
		return;
	for (size_t i = 0; i < n; i++)
		text[i] = json_string_value(json_array_get(steps, i));
	snprintf(title, sizeof(title), "ptlab model %s %s %s: the ABA trail (it ends safe)",
		 str(x, "profile"), str(x, "fixes"), str(c, "scenario"));
	json_object_set_new(x, "aba_trace", trace_json_from_model(title, text, n));
	free(text);
}

static void add_model(json_t *x, const json_t *c)
{
	json_t *steps = json_object_get(c, "counterexample");
	size_t n = json_array_size(steps);
	const char **text = calloc(n ? n : 1, sizeof(*text));
	char title[256], gen[32] = "";

	json_object_set_new(x, "model",
			    json_pack("{s:s, s:s, s:O*, s:O*, s:O*, s:O*, s:O*}", "verdict",
				      str(c, "model_verdict"), "judgement", str(c, "verdict"),
				      "kinds", json_object_get(c, "violations"), "kinds_by_walker",
				      json_object_get(c, "violations_by_walker"), "kind",
				      json_object_get(c, "violation"), "walker",
				      json_object_get(c, "violation_walker"), "error",
				      json_object_get(c, "error")));
	add_aba_trail(x, c);
	if (!n || !text) {
		free(text);
		return;
	}
	for (size_t i = 0; i < n; i++)
		text[i] = json_string_value(json_array_get(steps, i));
	/* As ptlab model --trace titles it (cli/model.c): the generation
	 * where it is not the default. */
	if (*str(c, "collapse_table") && strcmp(str(c, "collapse_table"), "reuse"))
		snprintf(gen, sizeof(gen), "/%s", str(c, "collapse_table"));
	else if (*str(c, "retract") && strcmp(str(c, "retract"), "free"))
		snprintf(gen, sizeof(gen), "/%s", str(c, "retract"));
	snprintf(title, sizeof(title), "ptlab model %s %s %s%s: %s (%s walker)",
		 str(x, "profile"), str(x, "fixes"), str(c, "scenario"), gen,
		 str(c, "violation"), str(c, "violation_walker"));
	json_object_set_new(x, "model_trace", trace_json_from_model(title, text, n));
	free(text);
}

/* Parses a document of @what with an array of cells; prints why not. */
static json_t *load(const char *text, size_t len, const char *what)
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

/*
 * The page is written as it is built, a cell at a time, so that its size
 * costs no memory: the head, the page's data (a JSON object whose "cells"
 * array is filled one dumped cell after the other), the script.
 */
struct report_page {
	struct out_file out;
	FILE *f;
	size_t cells;
};

struct report_page *report_page_open(const char *path)
{
	struct report_page *p = calloc(1, sizeof(*p));

	if (!p) {
		fprintf(stderr, "ptlab: cannot write %s: out of memory\n", path);
		return NULL;
	}
	p->f = out_file_open(&p->out, path);
	if (!p->f) {
		free(p);
		return NULL;
	}
	fprintf(p->f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		      "<title>ptlab report</title>\n<style>\n%s</style>\n</head>\n"
		      "<body data-status=\"loading\" data-errors=\"0\">\n"
		      "<h1>ptlab: the page-table lifetime protocol, cell by cell</h1>\n"
		      "<p id=\"summary\"></p>\n<div id=\"legend\"></div>\n"
		      "<table id=\"matrix\"></table>\n<div id=\"timelines\"></div>\n"
		      "<script type=\"application/json\" id=\"ptlab-data\">"
		      "{\"ptlab_version\":\"%s\",\"cells\":[",
		ptlab_report_css, PTLAB_VERSION);
	return p;
}

static int page_add(struct report_page *p, const json_t *stress, const json_t *model)
{
	json_t *x = page_cell(stress ? stress : model);

	if (!x)
		return -1;
	if (stress)
		add_stress(x, stress);
	if (model)
		add_model(x, model);
	if (p->cells++)
		fputc(',', p->f);
	json_dumpf(x, p->f, JSON_COMPACT | JSON_ESCAPE_SLASH);
	json_decref(x);
	return 0;
}

int report_page_add_text(struct report_page *p, const char *cell, size_t len)
{
	json_t *c = json_loadb(cell, len, 0, NULL);
	int ret = c ? page_add(p, c, NULL) : -1;

	json_decref(c);
	return ret;
}

static int page_close(struct report_page *p, const char *path, bool matrix_passed,
		      bool have_model, const json_t *min_overlaps)
{
	json_t *tail = json_pack("{s:b, s:b, s:O*}", "have_model", have_model, "matrix_passed",
				 matrix_passed, "min_overlaps", min_overlaps);
	char *text = tail ? json_dumps(tail, JSON_COMPACT | JSON_ESCAPE_SLASH) : NULL;
	int ret;

	/* The rest of the data object: its members after "cells". */
	fprintf(p->f, "],%s</script>\n<script>\n%s</script>\n</body>\n</html>\n",
		text ? text + 1 : "}", ptlab_report_js);
	free(text);
	json_decref(tail);
	ret = out_file_commit(&p->out, p->f, path);
	free(p);
	return ret;
}

int report_page_close(struct report_page *p, const char *path, bool matrix_passed,
		      uint64_t min_overlaps)
{
	json_t *n = json_integer((json_int_t)min_overlaps);
	int ret = page_close(p, path, matrix_passed, false, n);

	json_decref(n);
	return ret;
}

void report_page_abort(struct report_page *p)
{
	if (!p)
		return;
	out_file_abort(&p->out, p->f);
	free(p);
}

/* The two documents' cells, page cell by page cell: each matrix cell with
 * the model's for the same cell, then the model's cells the matrix did not
 * run. */
static int write_page(const json_t *matrix, const json_t *model, const char *path)
{
	json_t *mcells = json_object_get(matrix, "cells"), *ocells = json_object_get(model, "cells");
	size_t n = json_array_size(ocells), i, k;
	bool *paired = calloc(n ? n : 1, sizeof(*paired));
	struct report_page *p = paired ? report_page_open(path) : NULL;
	json_t *c, *o;
	int ret = 0;

	if (!p) {
		free(paired);
		return 1;
	}
	json_array_foreach(mcells, i, c) {
		const json_t *twin = NULL;

		json_array_foreach(ocells, k, o)
			if (!paired[k] && same_doc_cell(c, o)) {
				paired[k] = true;
				twin = o;
				break;
			}
		ret |= page_add(p, c, twin);
	}
	json_array_foreach(ocells, k, o)
		if (!paired[k])
			ret |= page_add(p, NULL, o);
	free(paired);
	if (ret) {
		report_page_abort(p);
		fprintf(stderr, "ptlab: cannot write %s: out of memory\n", path);
		return 1;
	}
	return page_close(p, path, json_is_true(json_object_get(matrix, "passed")), model != NULL,
			  json_object_get(matrix, "min_overlaps"));
}

int report_write_text(const char *matrix, size_t matrix_len, const char *model,
		      size_t model_len, const char *path)
{
	json_t *m = load(matrix, matrix_len, "matrix"), *mo = NULL;
	int ret = 1;

	if (!m || (model && !(mo = load(model, model_len, "model"))))
		ret = CLI_EXIT_USAGE;
	else
		ret = write_page(m, mo, path);
	json_decref(m);
	json_decref(mo);
	return ret;
}

/* ---- the command ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ptlab report --from MATRIX.json [--model MODEL.json] [-o FILE]\n"
		"Builds the HTML report from saved results: the matrix (ptlab matrix --json)\n"
		"as a table by verdict, and for each unsafe cell the timeline of its stress\n"
		"trace beside the model's counterexample (ptlab model --json).\n"
		"  --from FILE          the matrix's JSON (required)\n"
		"  --model FILE         the model's JSON\n"
		"  -o, --output FILE    the report (default %s)\n",
		REPORT_DEFAULT);
}

enum { OPT_FROM = CLI_OPT_FIRST, OPT_MODEL, OPT_OUTPUT = 'o' };

static const struct option options[] = {
	{ "from", required_argument, NULL, OPT_FROM },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	CLI_OPTIONS_END
};

static const struct cli_command cmd = { "report", options, usage, false };

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

int cmd_report(int argc, char **argv)
{
	const char *from = NULL, *model = NULL, *out = REPORT_DEFAULT;
	char *mtext = NULL, *motext = NULL;
	size_t mlen = 0, molen = 0;
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
		case OPT_OUTPUT:
			out = optarg;
			break;
		}
	}
	if (!from)
		return cli_error("missing option for report", "--from", "--from MATRIX.json");
	if ((ret = cli_check_output("report file", out)))
		return ret;
	mtext = read_input("--from file", from, &mlen);
	if (mtext && model)
		motext = read_input("--model file", model, &molen);
	if (!mtext || (model && !motext)) {
		ret = CLI_EXIT_USAGE;
	} else {
		ret = report_write_text(mtext, mlen, motext, molen, out);
		if (!ret)
			printf("report: %s\n", out);
	}
	free(mtext);
	free(motext);
	return ret;
}
