// SPDX-License-Identifier: MIT
/*
 * The grid of verdicts (grid.h). Rows, scenarios, generations and fix
 * settings are read from the cells, in the order they first appear, so
 * that a scenario, a generation or a profile of a file adds its rows and
 * columns with no change here. A scenario's generations are the values of
 * the kernel-generation fields (doc_generation_keys) that differ among its cells;
 * cells that share a slot (other walker kinds, say) show the worst glyph.
 */
#include <stdlib.h>
#include <string.h>

#include "grid.h"
#include "report_doc.h"

#define NAME_LEN 48
/* The fix settings' keys in the header, one character each. */
static const char fix_keys[] = "123456789abcdefghijklmnopqrstuvwxyz";
/* Glyphs from the least to the most worth a look ('-': no cell). */
static const char severity[] = "-.x?!MSB";

struct names {
	char (*v)[NAME_LEN];
	size_t n;
};

/* @s's index in @l, or l->n when it has none. */
static size_t name_find(const struct names *l, const char *s)
{
	size_t i = 0;

	while (i < l->n && strcmp(l->v[i], s))
		i++;
	return i;
}

/* @s's index in @l, added when new (@l has room for every cell's). */
static size_t name_index(struct names *l, const char *s)
{
	size_t i = name_find(l, s);

	if (i == l->n)
		snprintf(l->v[l->n++], NAME_LEN, "%s", s);
	return i;
}

struct group {
	struct names gens;
	/* generation fields whose values differ among the scenario's cells, and the
	 * value of its first cell */
	bool varies[DOC_GENERATION_KEYS];
	const char *first[DOC_GENERATION_KEYS];
	size_t col;   /* its first column of glyphs */
	size_t width; /* its printed width */
};

struct grid {
	struct doc_pair *pairs;
	size_t n;
	struct names rows, scenarios, fixes;
	struct group *groups;
	size_t cols;
	char *glyphs;     /* rows x cols */
	size_t *slot;     /* each pair's index into glyphs */
	char *pair_glyph; /* each pair's own */
};

static const json_t *any(const struct doc_pair *p)
{
	return p->stress ? p->stress : p->model;
}

static void gen_label(const struct group *g, const json_t *c, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t k = 0; k < DOC_GENERATION_KEYS; k++)
		if (g->varies[k] && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "/" : "",
						 doc_str(c, doc_generation_keys[k]));
}

static size_t sub_width(const struct grid *g, const char *gen)
{
	size_t w = strlen(gen);

	return w > g->fixes.n ? w : g->fixes.n;
}

static int grid_build(struct grid *g)
{
	size_t n = g->n ? g->n : 1;
	char fw[NAME_LEN];

	g->rows.v = calloc(n, NAME_LEN);
	g->scenarios.v = calloc(n, NAME_LEN);
	g->fixes.v = calloc(n, NAME_LEN);
	g->groups = calloc(n, sizeof(*g->groups));
	g->slot = calloc(n, sizeof(*g->slot));
	g->pair_glyph = calloc(n, 1);
	if (!g->rows.v || !g->scenarios.v || !g->fixes.v || !g->groups || !g->slot ||
	    !g->pair_glyph)
		return 1;
	for (size_t i = 0; i < g->n; i++) {
		const json_t *c = any(&g->pairs[i]);
		struct group *gr = &g->groups[name_index(&g->scenarios, doc_str(c, "scenario"))];

		name_index(&g->rows, doc_str(c, "profile"));
		doc_cell_fixes(c, fw, sizeof(fw));
		name_index(&g->fixes, fw);
		for (size_t k = 0; k < DOC_GENERATION_KEYS; k++) {
			const char *v = doc_str(c, doc_generation_keys[k]);

			if (!gr->first[k])
				gr->first[k] = v;
			gr->varies[k] |= strcmp(gr->first[k], v) != 0;
		}
	}
	for (size_t s = 0; s < g->scenarios.n; s++)
		if (!(g->groups[s].gens.v = calloc(n, NAME_LEN)))
			return 1;
	for (size_t i = 0; i < g->n; i++) {
		const json_t *c = any(&g->pairs[i]);
		struct group *gr = &g->groups[name_index(&g->scenarios, doc_str(c, "scenario"))];

		gen_label(gr, c, fw, sizeof(fw));
		name_index(&gr->gens, fw);
	}
	for (size_t s = 0; s < g->scenarios.n; s++) {
		struct group *gr = &g->groups[s];
		size_t inner = 0;

		gr->col = g->cols;
		g->cols += gr->gens.n * g->fixes.n;
		for (size_t k = 0; k < gr->gens.n; k++)
			inner += (k ? 1 : 0) + sub_width(g, gr->gens.v[k]);
		gr->width = inner > strlen(g->scenarios.v[s]) ? inner : strlen(g->scenarios.v[s]);
	}
	g->glyphs = malloc(g->rows.n * g->cols + 1);
	if (!g->glyphs)
		return 1;
	memset(g->glyphs, '-', g->rows.n * g->cols);
	for (size_t i = 0; i < g->n; i++) {
		const json_t *c = any(&g->pairs[i]);
		size_t s = name_index(&g->scenarios, doc_str(c, "scenario"));
		struct group *gr = &g->groups[s];
		size_t row = name_index(&g->rows, doc_str(c, "profile")), gen, fix;
		char glyph = doc_glyph(&g->pairs[i]);
		char *slot;

		gen_label(gr, c, fw, sizeof(fw));
		gen = name_index(&gr->gens, fw);
		doc_cell_fixes(c, fw, sizeof(fw));
		fix = name_index(&g->fixes, fw);
		g->slot[i] = row * g->cols + gr->col + gen * g->fixes.n + fix;
		g->pair_glyph[i] = glyph;
		slot = &g->glyphs[g->slot[i]];
		if (strchr(severity, glyph) > strchr(severity, *slot))
			*slot = glyph;
	}
	return 0;
}

static void grid_release(struct grid *g)
{
	for (size_t s = 0; g->groups && s < g->scenarios.n; s++)
		free(g->groups[s].gens.v);
	free(g->groups);
	free(g->rows.v);
	free(g->scenarios.v);
	free(g->fixes.v);
	free(g->slot);
	free(g->pair_glyph);
	free(g->glyphs);
	free(g->pairs);
}

static char fix_key(size_t f)
{
	return f < sizeof(fix_keys) - 1 ? fix_keys[f] : '*';
}

/* The scenarios @from..@to-1, side by side: their names, their
 * generations (when one has several), the fix keys, a row per profile. */
static void print_block(FILE *f, const struct grid *g, size_t label, size_t from, size_t to)
{
	bool gens = false;

	for (size_t s = from; s < to; s++)
		gens |= g->groups[s].gens.n > 1;
	fprintf(f, "\n%-*s", (int)label, "");
	for (size_t s = from; s < to; s++)
		fprintf(f, "%-*s%s", (int)g->groups[s].width, g->scenarios.v[s],
			s + 1 < to ? "  " : "\n");
	for (int line = gens ? 0 : 1; line < 2; line++) {
		fprintf(f, "%*s", (int)label, "");
		for (size_t s = from; s < to; s++) {
			const struct group *gr = &g->groups[s];
			size_t used = 0;

			for (size_t k = 0; k < gr->gens.n; k++) {
				size_t w = sub_width(g, gr->gens.v[k]);

				used += (k ? 1 : 0) + w;
				if (k)
					fputc(' ', f);
				if (!line) {
					fprintf(f, "%-*s", (int)w, gr->gens.v[k]);
					continue;
				}
				for (size_t x = 0; x < w; x++)
					fputc(x < g->fixes.n ? fix_key(x) : ' ', f);
			}
			fprintf(f, "%*s%s", (int)(gr->width - used), "", s + 1 < to ? "  " : "\n");
		}
	}
	for (size_t r = 0; r < g->rows.n; r++) {
		fprintf(f, "%-*s", (int)label, g->rows.v[r]);
		for (size_t s = from; s < to; s++) {
			const struct group *gr = &g->groups[s];
			size_t used = 0;

			for (size_t k = 0; k < gr->gens.n; k++) {
				size_t w = sub_width(g, gr->gens.v[k]);
				const char *glyphs =
					&g->glyphs[r * g->cols + gr->col + k * g->fixes.n];

				used += (k ? 1 : 0) + w;
				fprintf(f, "%s%.*s%*s", k ? " " : "", (int)g->fixes.n, glyphs,
					(int)(w - g->fixes.n), "");
			}
			fprintf(f, "%*s%s", (int)(gr->width - used), "", s + 1 < to ? "  " : "\n");
		}
	}
}

/* A block, without the spaces that pad its lines' ends. */
static void print_trimmed(FILE *f, const struct grid *g, size_t label, size_t from, size_t to)
{
	char *text = NULL, *line, *end;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	if (!mem) {
		print_block(f, g, label, from, to);
		return;
	}
	print_block(mem, g, label, from, to);
	if (fclose(mem)) {
		free(text);
		print_block(f, g, label, from, to);
		return;
	}
	for (line = text; (end = strchr(line, '\n')); line = end + 1) {
		char *last = end;

		while (last > line && last[-1] == ' ')
			last--;
		fprintf(f, "%.*s\n", (int)(last - line), line);
	}
	free(text);
}

/* Words in lines of at most GRID_WIDTH columns, after @lead (and as
 * much indentation on the next lines). */
struct wrap {
	FILE *f;
	size_t col, indent;
};

static void wrap_word(struct wrap *w, const char *word)
{
	size_t len = strlen(word);

	if (w->col > w->indent && w->col + 2 + len > GRID_WIDTH) {
		fprintf(w->f, "\n%*s", (int)w->indent, "");
		w->col = w->indent;
	} else if (w->col > w->indent) {
		fputs("  ", w->f);
		w->col += 2;
	}
	fputs(word, w->f);
	w->col += len;
}

static void print_legend(FILE *f, const struct grid *g)
{
	struct wrap w = { f, 8, 8 };
	char item[NAME_LEN + 8];

	fputs("glyphs: ", f);
	for (const char *c = DOC_GLYPHS "-"; *c; c++) {
		snprintf(item, sizeof(item), "%c %s", *c, doc_glyph_words(*c));
		wrap_word(&w, item);
	}
	fputs("\nfixes: ", f);
	w.col = w.indent;
	for (size_t k = 0; k < g->fixes.n; k++) {
		snprintf(item, sizeof(item), "%c %s", fix_key(k), g->fixes.v[k]);
		wrap_word(&w, item);
	}
	fputc('\n', f);
}

/* A cell in a few words: profile, fixes, scenario and its generation. */
static void cell_words(const struct grid *g, size_t i, char *buf, size_t len)
{
	const json_t *c = any(&g->pairs[i]);
	const struct group *gr = &g->groups[name_find(&g->scenarios, doc_str(c, "scenario"))];
	char fw[NAME_LEN], gen[NAME_LEN], walkers[32];

	doc_cell_fixes(c, fw, sizeof(fw));
	gen_label(gr, c, gen, sizeof(gen));
	doc_cell_walkers(c, walkers, sizeof(walkers));
	snprintf(buf, len, "%s %s %s%s%s (%s)", doc_str(c, "profile"), fw, doc_str(c, "scenario"),
		 *gen ? "/" : "", gen, walkers);
}

static void print_notable(FILE *f, const struct grid *g)
{
	size_t notable = 0, shown = 0;

	for (size_t i = 0; i < g->n; i++)
		notable += doc_glyph_notable(g->pair_glyph[i]);
	if (!notable)
		return;
	fprintf(f, "\ncells to look at (%zu):\n", notable);
	for (size_t i = 0; i < g->n && shown < GRID_NOTABLE; i++) {
		const struct doc_pair *p = &g->pairs[i];
		char words[160], line[512];

		if (!doc_glyph_notable(g->pair_glyph[i]))
			continue;
		shown++;
		cell_words(g, i, words, sizeof(words));
		snprintf(line, sizeof(line), "  %c %s: %s by the rule; stress %s%s%s%s; model %s%s%s",
			 g->pair_glyph[i], words, doc_str(any(p), "expected"),
			 p->stress ? doc_str(p->stress, "verdict") : "not run",
			 *doc_str(p->stress, "verdict_reason") ? " (" : "",
			 doc_str(p->stress, "verdict_reason"),
			 *doc_str(p->stress, "verdict_reason") ? ")" : "",
			 p->model ? doc_str(p->model, "verdict") : "not run",
			 p->model ? ", " : "", doc_str(p->model, "model_verdict"));
		/* One line each: the rest is in the per-cell lines. */
		if (strlen(line) > GRID_WIDTH)
			strcpy(line + GRID_WIDTH - 3, "...");
		fprintf(f, "%s\n", line);
	}
	if (notable > shown)
		fprintf(f, "  and %zu more (the per-cell lines and the report have them all)\n",
			notable - shown);
}

/* "120.4 s with 4 jobs" of a document that says. */
static void doc_time(const json_t *doc, char *buf, size_t len)
{
	json_t *s = json_object_get(doc, "seconds"), *j = json_object_get(doc, "jobs");

	buf[0] = '\0';
	if (json_is_number(s))
		snprintf(buf, len, "; %.1f s, %lld job%s", json_number_value(s),
			 (long long)json_integer_value(j), json_integer_value(j) == 1 ? "" : "s");
}

static void print_totals(FILE *f, const struct grid *g, const json_t *matrix,
			 const json_t *model)
{
	size_t unsafe = 0, stress[3] = { 0 }, mo[3] = { 0 }, ns = 0, nm = 0;
	char t[64];

	for (size_t i = 0; i < g->n; i++) {
		const struct doc_pair *p = &g->pairs[i];
		const char *sv = doc_str(p->stress, "verdict"), *mv = doc_str(p->model, "verdict");

		unsafe += !strcmp(doc_str(any(p), "expected"), "unsafe");
		if (p->stress) {
			ns++;
			stress[!strcmp(sv, "pass") ? 0 : !strcmp(sv, "inconclusive") ? 2 : 1]++;
		}
		if (p->model) {
			nm++;
			mo[!strcmp(mv, "pass") ? 0 : !strcmp(mv, "fail") ? 1 : 2]++;
		}
	}
	fprintf(f, "\n%zu cells: %zu safe and %zu unsafe by the rule", g->n, g->n - unsafe,
		unsafe);
	if (ns < g->n || (model && nm < g->n))
		fprintf(f, "; %zu in the matrix, %zu in the model", ns, nm);
	doc_time(matrix, t, sizeof(t));
	fprintf(f, "\nstress: %zu agree with the rule, %zu disagree, %zu inconclusive%s\n",
		stress[0], stress[1], stress[2], t);
	if (model) {
		doc_time(model, t, sizeof(t));
		fprintf(f, "model:  %zu agree with the rule, %zu disagree, %zu no verdict%s\n",
			mo[0], mo[1], mo[2], t);
	}
}

int grid_print(FILE *f, const json_t *matrix, const json_t *model,
	       const struct grid_outputs *out)
{
	struct grid g = { 0 };
	size_t label = 0, from = 0;

	g.pairs = doc_pair_cells(matrix, model, &g.n);
	if (!g.pairs || grid_build(&g)) {
		grid_release(&g);
		fprintf(stderr, "ptlab: the grid: out of memory\n");
		return 1;
	}
	for (size_t r = 0; r < g.rows.n; r++)
		if (strlen(g.rows.v[r]) + 1 > label)
			label = strlen(g.rows.v[r]) + 1;
	fprintf(f, "the rule and %s, cell by cell (ptlab %s)\n",
		model ? "both oracles (stress matrix, model)" : "the stress matrix",
		doc_str(matrix, "ptlab_version"));
	print_legend(f, &g);
	/* Scenarios side by side while they fit. */
	while (from < g.scenarios.n) {
		size_t to = from + 1, width = label + g.groups[from].width;

		while (to < g.scenarios.n && width + 2 + g.groups[to].width <= GRID_WIDTH)
			width += 2 + g.groups[to++].width;
		print_trimmed(f, &g, label, from, to);
		from = to;
	}
	print_notable(f, &g);
	print_totals(f, &g, matrix, model);
	if (out && out->matrix_json)
		fprintf(f, "matrix JSON (every cell, full traces): %s\n", out->matrix_json);
	if (out && out->model_json)
		fprintf(f, "model JSON (every cell, counterexamples): %s\n", out->model_json);
	if (out && out->report)
		fprintf(f, "report (a click on a cell: its lines, timeline, counterexample):\n  %s\n",
			out->report);
	grid_release(&g);
	return 0;
}
