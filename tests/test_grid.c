// SPDX-License-Identifier: MIT
/*
 * The grid of verdicts (ptlab report --grid, make run's screen): read
 * back as a person reads it (find the scenario's column, the generation
 * under it, the fix key under that, the profile's row), every cell's
 * glyph is what its two documents say; a cell where an oracle disagrees
 * or is inconclusive shows its own glyph and is listed; make run's 816
 * cells fit one screen.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "ptlab/profile.h"
#include "ptlab/rule.h"

static char out[1 << 20];

static int ptlab(const char *const args[])
{
	const char *argv[32] = { test_ptlab_path() };

	for (size_t i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	return test_run(argv, out, sizeof(out));
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The grid's lines (pointers into @text, which is cut at each newline). */
struct lines {
	char *v[512];
	size_t n;
};

static void split(char *text, struct lines *l)
{
	l->n = 0;
	for (char *s = text, *e; *s && l->n < 512; s = e + 1) {
		l->v[l->n++] = s;
		e = strchr(s, '\n');
		if (!e)
			break;
		*e = '\0';
	}
}

/* Where @word stands alone in @line at a column in [from, to), or -1. */
static long token_at(const char *line, const char *word, size_t from, size_t to)
{
	size_t n = strlen(word);

	for (const char *p = line + from; (p = strstr(p, word)); p++) {
		size_t at = (size_t)(p - line);

		if (at >= to)
			break;
		if ((at == 0 || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return (long)at;
	}
	return -1;
}

/* Where the next word after column @at begins in @line (or a large
 * number: the line's end). */
static size_t next_word(const char *line, size_t at)
{
	size_t i = at;

	while (line[i] && line[i] != ' ')
		i++;
	while (line[i] == ' ')
		i++;
	return line[i] ? i : 1 << 20;
}

/*
 * The glyph the grid shows for the cell of @profile, @scenario,
 * generation @gen ("" in a scenario of one) and the @fix-th fix setting;
 * fails the test when the grid has no such cell. A block of the grid is
 * the lines after a blank line that begin with a space: the scenarios,
 * then their generations (when one has several), then the fix keys.
 */
static char glyph_of(const struct lines *l, const char *profile, const char *scenario,
		     const char *gen, size_t fix)
{
	static const char keys[] = "123456789abcdefghijklmnopqrstuvwxyz";

	for (size_t h = 1; h + 2 < l->n; h++) {
		const char *head = l->v[h], *gens, *fixes;
		long sc = l->v[h - 1][0] == '\0' && head[0] == ' ' ?
				  token_at(head, scenario, 0, 1 << 20) : -1;
		size_t end, col, rows;

		if (sc < 0)
			continue;
		end = next_word(head, (size_t)sc);
		/* (fix keys are digits while there are at most nine) */
		gens = l->v[h + 1][strspn(l->v[h + 1], " 123456789")] ? l->v[h + 1] : NULL;
		fixes = l->v[h + (gens ? 2 : 1)];
		col = (size_t)sc;
		if (*gen) {
			long at = gens ? token_at(gens, gen, (size_t)sc, end) : -1;

			CHECK_MSG(at >= 0, "no generation %s under %s", gen, scenario);
			col = (size_t)at;
		}
		CHECK_MSG(strlen(fixes) > col + fix && fixes[col + fix] == keys[fix],
			  "no fix key %c under %s/%s: %s", keys[fix], scenario, gen, fixes);
		for (rows = h + (gens ? 3 : 2); rows < l->n && l->v[rows][0]; rows++) {
			size_t n = strlen(profile);

			if (!strncmp(l->v[rows], profile, n) && l->v[rows][n] == ' ') {
				CHECK_MSG(strlen(l->v[rows]) > col + fix, "short row: %s",
					  l->v[rows]);
				return l->v[rows][col + fix];
			}
		}
		CHECK_MSG(0, "no row %s under %s", profile, scenario);
	}
	CHECK_MSG(0, "no scenario %s in the grid", scenario);
	return 0;
}

/* The glyph a cell must show, as the grid's legend says it: the rule's
 * verdict when both oracles agree with it, else the worst of what went
 * wrong. */
static char want_glyph(const json_t *stress, const json_t *model)
{
	const char *sv = str(stress, "verdict"), *mv = str(model, "verdict");
	bool sf = !strcmp(sv, "fail"), mf = !strcmp(mv, "fail");

	if (sf || mf)
		return sf && mf ? 'B' : sf ? 'S' : 'M';
	if (strcmp(mv, "pass"))
		return '!';
	if (strcmp(sv, "pass"))
		return '?';
	return strcmp(str(stress, "expected"), "unsafe") ? '.' : 'x';
}

/* The generation a cell's column has in @scenario's group: the values of
 * the generation fields that differ among the scenario's cells. */
static void gen_of(const json_t *cells, const json_t *c, char *buf, size_t len)
{
	static const char *const keys[] = { "collapse_table", "retract" };
	size_t used = 0, i;
	json_t *o;

	buf[0] = '\0';
	for (size_t k = 0; k < 2; k++) {
		bool varies = false;

		json_array_foreach(cells, i, o)
			varies |= !strcmp(str(o, "scenario"), str(c, "scenario")) &&
				  strcmp(str(o, keys[k]), str(c, keys[k]));
		if (varies)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "/" : "",
						 str(c, keys[k]));
	}
}

/* The fix setting's index, in the order the cells first show it. */
static size_t fix_of(const json_t *cells, const json_t *c)
{
	char seen[16][32], mine[32];
	size_t n = 0, i;
	json_t *o;

	snprintf(mine, sizeof(mine), "%d/%s", json_is_true(json_object_get(c, "pmd_recheck")),
		 str(c, "sync"));
	json_array_foreach(cells, i, o) {
		char f[32];
		size_t k;

		snprintf(f, sizeof(f), "%d/%s", json_is_true(json_object_get(o, "pmd_recheck")),
			 str(o, "sync"));
		for (k = 0; k < n && strcmp(seen[k], f); k++)
			;
		if (k == n && n < 16)
			snprintf(seen[n++], sizeof(seen[0]), "%s", f);
		if (!strcmp(f, mine))
			return k;
	}
	return 0;
}

/* @model's cell for the matrix's cell @c (the model lists its cells in an
 * order of its own), or NULL. */
static const json_t *twin(const json_t *model, const json_t *c)
{
	static const char *const keys[] = { "profile", "scenario", "collapse_table", "retract",
					    "sync" };
	json_t *o;
	size_t i;

	json_array_foreach(json_object_get(model, "cells"), i, o) {
		size_t k = 0;

		while (k < 5 && !strcmp(str(o, keys[k]), str(c, keys[k])))
			k++;
		if (k == 5 && json_equal(json_object_get(o, "pmd_recheck"),
					 json_object_get(c, "pmd_recheck")) &&
		    json_equal(json_object_get(o, "walkers"), json_object_get(c, "walkers")))
			return o;
	}
	return NULL;
}

/* Checks every cell's glyph in the grid @text of @matrix beside @model
 * (the same cells); returns the grid's line count. */
static size_t check_grid(char *text, const json_t *matrix, const json_t *model,
			 const char *dir)
{
	json_t *cells = json_object_get(matrix, "cells"), *c;
	struct lines l;
	size_t i;

	split(text, &l);
	for (size_t k = 0; k < l.n; k++)
		CHECK_MSG(strlen(l.v[k]) <= 80 || strstr(l.v[k], dir), "line %zu is %zu wide: %s",
			  k + 1, strlen(l.v[k]), l.v[k]);
	json_array_foreach(cells, i, c) {
		const json_t *m = twin(model, c);
		char gen[64];
		char got;

		CHECK_MSG(m, "cell %zu: not in the model's document", i);
		gen_of(cells, c, gen, sizeof(gen));
		got = glyph_of(&l, str(c, "profile"), str(c, "scenario"), gen, fix_of(cells, c));
		CHECK_MSG(got == want_glyph(c, m), "%s %s %s fix %zu: glyph %c, want %c",
			  str(c, "profile"), str(c, "scenario"), gen, fix_of(cells, c), got,
			  want_glyph(c, m));
	}
	return l.n;
}

static json_t *load(const char *path)
{
	json_error_t err;
	json_t *doc = json_load_file(path, 0, &err);

	CHECK_MSG(doc, "%s: %s (line %d)", path, err.text, err.line);
	return doc;
}

/* ptlab report --grid of the two documents (their paths); its output in
 * out[]. */
static void grid(const char *matrix, const char *model)
{
	const char *args[] = { "report", "--grid", "--from", matrix, "--model", model, NULL };
	int s = ptlab(args);

	CHECK_MSG(s == 0, "report --grid: exit %d:\n%s", s, out);
}

/*
 * A small run of both oracles: two profiles, a scenario with generations
 * of the collapse table and one with retract's, unsafe and safe cells;
 * the grid shows each cell's verdicts, and no report unless asked.
 */
TEST_T(grid_of_a_small_run, 300)
{
	char dir[256], matrix[300], model[300], report[300];
	const char *common[] = { "--profiles", "arm64,x86", "--scenarios", "collapse-zap,retract",
				 "--fixes", "none,both", "--collapse-table", "reuse,fresh",
				 "--retract", "free,defer" };
	const char *margs[24] = { "matrix" }, *oargs[24] = { "model" };
	size_t n = 1, lines;
	json_t *m, *o;
	int s;

	test_mkdtemp(dir, sizeof(dir), "grid");
	snprintf(matrix, sizeof(matrix), "%s/matrix.json", dir);
	snprintf(model, sizeof(model), "%s/model.json", dir);
	snprintf(report, sizeof(report), "%s/ptlab-report.html", dir);
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++, n++)
		margs[n] = oargs[n] = common[i];
	margs[n] = "--retries";
	margs[n + 1] = "4";
	margs[n + 2] = "--no-report";
	margs[n + 3] = "--json";
	margs[n + 4] = matrix;
	oargs[n] = "--json";
	oargs[n + 1] = model;
	s = ptlab(margs);
	CHECK_MSG(s == 0, "matrix: exit %d:\n%s", s, out);
	s = ptlab(oargs);
	CHECK_MSG(s == 0, "model: exit %d:\n%s", s, out);
	m = load(matrix);
	o = load(model);
	CHECK_EQ(json_array_size(json_object_get(m, "cells")),
		 json_array_size(json_object_get(o, "cells")));
	CHECK(json_is_number(json_object_get(m, "seconds")));
	CHECK_EQ(json_integer_value(json_object_get(m, "jobs")), 1);
	grid(matrix, model);
	CHECK_MSG(strstr(out, "\nstress: ") && strstr(out, "\nmodel: "), "%s", out);
	CHECK_MSG(!strstr(out, "VIOLATION"), "a counterexample on the terminal:\n%s", out);
	lines = check_grid(out, m, o, dir);
	CHECK(lines <= 40);
	CHECK_MSG(access(report, F_OK) != 0, "--grid wrote a report it was not asked for");
	json_decref(m);
	json_decref(o);
	test_rmtree(dir);
}

/* Writes @doc to @dir/@name, its path in @path. */
static void save(json_t *doc, const char *dir, const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", dir, name);
	CHECK(json_dump_file(doc, path, JSON_COMPACT) == 0);
}

/*
 * make run's cells, written as both documents would have them: every
 * profile, every scenario, the four fix settings, the collapse scenarios
 * in each collapse-table generation and retract in each of its own (as
 * the command's --collapse-table and --retract give them), unsafe where
 * a profile's index and the fix's make it so. Then a cell where the
 * stress matrix disagrees, one where the model does, one where both do,
 * one where the stress run was inconclusive: each shows its own glyph
 * (in the report's grid too) and is listed, and the whole fits one screen with room for make run's
 * other lines (its progress, at most ten, and a few more).
 */
TEST_T(grid_of_make_run_fits_a_screen, 60)
{
	static const struct {
		bool recheck;
		const char *sync;
	} fixes[] = { { false, "none" }, { true, "none" }, { false, "all" }, { true, "all" } };
	json_t *m = json_pack("{s:[], s:s, s:f, s:i}", "cells", "ptlab_version", "test", "seconds",
			      100.0, "jobs", 4);
	json_t *o = json_pack("{s:[], s:f, s:i}", "cells", "seconds", 200.0, "jobs", 2);
	json_t *mc = json_object_get(m, "cells"), *oc = json_object_get(o, "cells");
	char dir[256], mpath[300], opath[300], *text;
	const struct ptlab_profile *p = ptlab_profiles();
	size_t np = ptlab_profiles_count(), n = 0, lines;
	static const size_t odd[4] = { 5, 77, 301, 600 };
	static const char *const sv[4] = { "fail", "pass", "fail", "inconclusive" };
	static const char *const mv[4] = { "pass", "fail", "fail", "pass" };

	for (size_t i = 0; i < np; i++)
		for (int s = 0; s < SCENARIO_COUNT; s++)
			for (size_t f = 0; f < 4; f++)
				for (int ct = 0; ct < COLLAPSE_TABLE_COUNT; ct++)
					for (int rg = 0; rg < RETRACT_COUNT; rg++) {
						bool collapse = s == SCENARIO_COLLAPSE_ZAP ||
								s == SCENARIO_COLLAPSE_PIN;
						const char *exp = (i + f + (size_t)s) % 3 ? "safe"
											   : "unsafe";
						json_t *c;

						if ((!collapse && ct) ||
						    (s != SCENARIO_RETRACT && rg))
							continue;
						c = json_pack("{s:s, s:s, s:b, s:s, s:b, s:s, s:s, "
							      "s:b, s:s, s:[s], s:s, s:s}",
							      "profile", p[i].name, "scenario",
							      scenario_name((enum scenario)s),
							      "pmd_recheck", fixes[f].recheck,
							      "sync", fixes[f].sync, "ipi_sync",
							      strcmp(fixes[f].sync, "none") != 0,
							      "collapse_table",
							      collapse_table_name((enum collapse_table)ct),
							      "retract",
							      retract_gen_name((enum retract_gen)rg),
							      "rcu_everywhere", false, "unshare_sync",
							      "none", "walkers", "gup", "expected", exp,
							      "verdict", "pass");
						json_array_append(mc, c);
						json_object_set_new(c, "model_verdict", json_string(exp));
						json_array_append_new(oc, json_deep_copy(c));
						json_decref(c);
						n++;
					}
	CHECK_EQ(n, np * 4 * (SCENARIO_COUNT + 2 * 2 + 1));
	for (size_t k = 0; k < 4; k++) {
		CHECK(odd[k] < n);
		json_object_set_new(json_array_get(mc, odd[k]), "verdict", json_string(sv[k]));
		json_object_set_new(json_array_get(oc, odd[k]), "verdict", json_string(mv[k]));
	}
	test_mkdtemp(dir, sizeof(dir), "grid");
	save(m, dir, "matrix.json", mpath, sizeof(mpath));
	save(o, dir, "model.json", opath, sizeof(opath));
	grid(mpath, opath);
	text = strdup(out);
	CHECK(text);
	CHECK_MSG(strstr(out, "cells to look at (4):"), "%s", out);
	for (size_t k = 0; k < 4; k++) {
		const json_t *c = json_array_get(mc, odd[k]);
		char line[160];

		snprintf(line, sizeof(line), "  %c %s ", want_glyph(c, json_array_get(oc, odd[k])),
			 str(c, "profile"));
		CHECK_MSG(strstr(out, line), "no line \"%s\" in:\n%s", line, out);
	}
	lines = check_grid(text, m, o, dir);
	CHECK_MSG(lines <= 80 - 14, "%zu lines", lines);
	free(text);
	/* The report's grid has the same glyphs (the page's data carries
	 * them, from the same function). */
	{
		char page[300];
		const char *args[] = { "report", "--from", mpath, "--model", opath, "-o", page, NULL };
		char *html, *data;
		json_t *doc;

		snprintf(page, sizeof(page), "%s/report.html", dir);
		CHECK_MSG(ptlab(args) == 0, "report:\n%s", out);
		html = test_read_file(page);
		data = strstr(html, "id=\"ptlab-data\">");
		CHECK(data && strstr(data, "</script>"));
		data += strlen("id=\"ptlab-data\">");
		*strstr(data, "</script>") = '\0';
		doc = json_loads(data, 0, NULL);
		CHECK(doc);
		CHECK_EQ(json_array_size(json_object_get(doc, "cells")), n);
		for (size_t k = 0; k < 4; k++) {
			const json_t *c = json_array_get(json_object_get(doc, "cells"), odd[k]);
			char want[2] = { want_glyph(json_array_get(mc, odd[k]),
						    json_array_get(oc, odd[k])), '\0' };

			CHECK_MSG(!strcmp(str(c, "glyph"), want), "page cell %zu: glyph %s, want %s",
				  odd[k], str(c, "glyph"), want);
		}
		json_decref(doc);
		free(html);
	}
	json_decref(m);
	json_decref(o);
	test_rmtree(dir);
}
