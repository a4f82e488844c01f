// SPDX-License-Identifier: MIT
/*
 * What ptlab matrix prints: a line per cell, from one list of columns
 * whichever the mode (judged against the rule, or --no-rule's observed
 * beside the model), its progress on stderr, and the summaries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "matrix.h"
#include "util/compare.h"
#include "util/time.h"

/* The columns of a cell's line. */
enum column {
	COL_PROFILE, COL_FIXES, COL_SCENARIO, COL_WALKERS, COL_OPS, COL_PAGES, COL_REFUSALS,
	COL_UNHELD, COL_READ, COL_PIN, COL_WRONG, COL_LOCK, COL_LOST, COL_OVERLAPS, COL_DEFENDED,
	COL_HELD, COL_RECHECK, COL_ISOLATION, COL_ABA, COL_FIRST_MS, COL_CYCLES, COL_EXPECT,
	COL_VERDICT, COL_SAW, COL_MODEL, COL_STATES, COL_MODEL_FOUND,
};

static const struct {
	const char *head;
	/* printf's field width: negative, left-aligned; 0 for the last */
	int width;
	/* spaces before the column (none before the first) */
	unsigned int gap;
} columns[] = {
	[COL_PROFILE] = { "profile", -15, 0 },     [COL_FIXES] = { "fixes", -22, 1 },
	[COL_SCENARIO] = { "scenario", -15, 1 },   [COL_WALKERS] = { "walkers", -7, 1 },
	[COL_OPS] = { "ops", 8, 1 },               [COL_PAGES] = { "pages", 6, 1 },
	[COL_REFUSALS] = { "refus", 5, 1 },        [COL_UNHELD] = { "unheld", 6, 1 },
	[COL_READ] = { "read", 5, 1 },             [COL_PIN] = { "pin", 5, 1 },
	[COL_WRONG] = { "wrong", 5, 1 },           [COL_LOCK] = { "lock", 4, 1 },
	[COL_LOST] = { "lost", 4, 1 },             [COL_OVERLAPS] = { "overlap", 7, 1 },
	[COL_DEFENDED] = { "defend", 7, 1 },       [COL_HELD] = { "held", 6, 1 },
	[COL_RECHECK] = { "rchk", 5, 1 },          [COL_ISOLATION] = { "iso", 4, 1 },
	[COL_ABA] = { "aba", 5, 1 },               [COL_FIRST_MS] = { "first-ms", 8, 1 },
	[COL_CYCLES] = { "cyc/s", 6, 1 },          [COL_EXPECT] = { "expect", -11, 1 },
	[COL_VERDICT] = { "verdict", 0, 1 },       [COL_SAW] = { "stress lab saw", -24, 2 },
	[COL_MODEL] = { "model", -7, 1 },          [COL_STATES] = { "states", 8, 1 },
	[COL_MODEL_FOUND] = { "model found", 0, 2 },
};

/* A judged cell's line, and an observed one's (--no-rule). */
static const enum column rule_line[] = {
	COL_PROFILE, COL_FIXES, COL_SCENARIO, COL_WALKERS, COL_OPS, COL_PAGES, COL_REFUSALS,
	COL_UNHELD, COL_READ, COL_PIN, COL_WRONG, COL_LOCK, COL_LOST, COL_OVERLAPS, COL_DEFENDED,
	COL_HELD, COL_RECHECK, COL_ISOLATION, COL_ABA, COL_FIRST_MS, COL_CYCLES, COL_EXPECT,
	COL_VERDICT,
};
static const enum column observed_line[] = {
	COL_PROFILE, COL_FIXES, COL_SCENARIO, COL_WALKERS, COL_OPS, COL_UNHELD, COL_READ, COL_PIN,
	COL_WRONG, COL_LOCK, COL_LOST, COL_OVERLAPS, COL_DEFENDED, COL_HELD, COL_RECHECK,
	COL_ISOLATION, COL_FIRST_MS, COL_SAW, COL_MODEL, COL_STATES, COL_MODEL_FOUND,
};
#define LINE(l) l, sizeof(l) / sizeof(l[0])

/* "safe", "unsafe", or per walker kind "safe/unsafe" (in the order of the
 * walkers column) when the cell runs both. */
static void expect_words(const struct cell *c, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int w = 0; w < WALKER_KINDS && used < len; w++) {
		bool unsafe = false;

		if (!(c->cfg.walker_kinds & WALKER_MASK(w)))
			continue;
		for (int k = 0; k < VIOLATION_KINDS; k++)
			unsafe |= c->exp.by_walker[w][k];
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "/" : "",
					 unsafe ? "unsafe" : "safe");
	}
}

void matrix_scenario_words(const struct cell *c, char *buf, size_t len)
{
	lab_cli_scenario_words(c->cfg.scenario, c->cfg.kernel, buf, len);
}

/* The kinds each walker kind of @c showed in the stress lab. */
static void observed_kinds(const struct cell *c, bool kinds[WALKER_KINDS][VIOLATION_KINDS])
{
	for (int w = 0; w < WALKER_KINDS; w++)
		for (int k = 0; k < VIOLATION_KINDS; k++)
			kinds[w][k] = c->res.violations_by_walker[w][k] > 0;
}

/* The text of column @col of @c: a count or a text in @buf (cut where
 * the lines always cut it, CAP: the size of its own buffer), or the
 * profile's name or the model's error as they are. */
static const char *column_text(const struct cell *c, enum column col, char *buf, size_t len)
{
	const struct lab_result *r = &c->res;
	const struct lab_evidence_counts *e = &r->evidence;
	bool seen[WALKER_KINDS][VIOLATION_KINDS];
	/* every column is named below: -Wswitch says which one is not */
	uint64_t n = 0;

#define CAP(size) ((len) < (size) ? (len) : (size))
	switch (col) {
	case COL_PROFILE:
		return c->cfg.profile.name;
	case COL_FIXES:
		ptlab_fixes_words(c->cfg.fixes, buf, CAP(40));
		return buf;
	case COL_SCENARIO:
		matrix_scenario_words(c, buf, CAP(32));
		return buf;
	case COL_WALKERS:
		walker_kinds_format(c->cfg.walker_kinds, buf, CAP(16));
		return buf;
	case COL_FIRST_MS:
		if (r->first_violation_ms >= 0)
			snprintf(buf, CAP(16), "%.1f", r->first_violation_ms);
		else
			snprintf(buf, len, "-");
		return buf;
	case COL_CYCLES:
		snprintf(buf, len, "%.0f", r->seconds > 0 ? (double)r->cycles / r->seconds : 0);
		return buf;
	case COL_EXPECT:
		expect_words(c, buf, CAP(24));
		return buf;
	case COL_VERDICT:
		return c->verdict == LAB_PASS ? "pass" :
		       c->verdict == LAB_FAIL ? "FAIL" :
		       c->verdict == LAB_UNJUDGED ? "n/a" : "INCONCLUSIVE";
	case COL_SAW:
		if (c->run_error)
			return "run error";
		observed_kinds(c, seen);
		lab_cli_kinds_text(c->cfg.walker_kinds, (const bool(*)[VIOLATION_KINDS])seen, buf,
				   CAP(80));
		return buf;
	case COL_MODEL:
		return model_verdict_name(c->model.verdict);
	case COL_MODEL_FOUND:
		if (c->model.verdict == MODEL_ERROR)
			return c->model.error;
		lab_cli_kinds_text(c->cfg.walker_kinds, c->model.found_by_walker, buf, CAP(80));
		return buf;
	case COL_OPS: n = r->ops; break;
	case COL_PAGES: n = r->pages; break;
	case COL_REFUSALS: n = r->refusals; break;
	case COL_UNHELD: n = r->violations[VIOLATION_STALE_TABLE]; break;
	case COL_READ: n = r->stale_read; break;
	case COL_PIN: n = r->violations[VIOLATION_STALE_PIN]; break;
	case COL_WRONG: n = r->violations[VIOLATION_WRONG_PAGE]; break;
	case COL_LOCK: n = r->violations[VIOLATION_STALE_LOCK]; break;
	case COL_LOST: n = r->lost_writes; break;
	case COL_OVERLAPS: n = e->overlaps; break;
	case COL_DEFENDED: n = e->defended; break;
	case COL_HELD: n = e->held_off; break;
	case COL_RECHECK: n = e->by[LAB_RECHECK_CAUGHT]; break;
	case COL_ISOLATION: n = e->by[LAB_ISOLATION_REFUSED]; break;
	case COL_ABA: n = e->aba; break;
	case COL_STATES: n = c->model.states; break;
	}
#undef CAP
	snprintf(buf, len, "%llu", (unsigned long long)n);
	return buf;
}

/* The cells with barriers dropped (not judged) that showed a violation. */
static size_t unjudged_violated(const struct matrix *m)
{
	size_t k = 0;

	for (size_t i = 0; i < m->n; i++)
		k += m->cells[i].verdict == LAB_UNJUDGED && lab_total_violations(&m->cells[i].res);
	return k;
}

/* The columns @line of @c, or their heads when @c is NULL; no newline. */
static void print_columns(FILE *f, const enum column *line, size_t n, const struct cell *c)
{
	char buf[128];

	for (size_t i = 0; i < n; i++)
		fprintf(f, "%*s%*s", (int)columns[line[i]].gap, "", columns[line[i]].width,
			c ? column_text(c, line[i], buf, sizeof(buf)) : columns[line[i]].head);
}

void matrix_print_header(FILE *f, const struct matrix *m)
{
	if (m->dropped) {
		char names[128];

		barrier_list_format(m->dropped, names, sizeof(names));
		fprintf(f, "barriers dropped in every cell: %s (memory %s, this host's); the rule "
			   "assumes every barrier, so the cells are reported, not judged\n",
			names, memory_model_name(memory_model_host()));
	}
	if (m->no_rule)
		print_columns(f, LINE(observed_line), NULL);
	else
		print_columns(f, LINE(rule_line), NULL);
	fputc('\n', f);
}

static void print_cell(FILE *f, const struct cell *c)
{
	print_columns(f, LINE(rule_line), c);
	if (c->attempts > 1)
		fprintf(f, " (%u attempts)", c->attempts);
	if (c->verdict != LAB_PASS)
		fprintf(f, " (%s)", c->why);
	fputc('\n', f);
}

/* A cell observed: the lab's counts and evidence, the kinds it saw, and
 * the model's verdict and the kinds it found, with no expectation. */
static void print_observed_cell(FILE *f, const struct cell *c)
{
	print_columns(f, LINE(observed_line), c);
	fputc('\n', f);
	if (c->run_error)
		fprintf(f, "  the run failed: %s\n", strerror(-c->run_error));
}

void matrix_print_row(const struct matrix *m, const struct cell *c)
{
	if (m->no_rule)
		print_observed_cell(stdout, c);
	else
		print_cell(stdout, c);
}

void matrix_print_header_of(FILE *f, const void *m)
{
	matrix_print_header(f, m);
}

void matrix_print_cell_of(FILE *f, const void *c)
{
	print_cell(f, c);
}

void matrix_print_observed_cell_of(FILE *f, const void *c)
{
	print_observed_cell(f, c);
}

void matrix_progress(void *arg, double elapsed, const struct lab_result *r)
{
	struct matrix *m = arg;
	const struct cell *c = &m->cells[m->current];
	char fixes[40], scen[40];

	ptlab_fixes_words(c->cfg.fixes, fixes, sizeof(fixes));
	lab_cli_scenario_words(c->cfg.scenario, c->cfg.kernel, scen, sizeof(scen));
	fprintf(stderr, "\r\033[K[%zu/%zu] %s %s %s: %.1f s, %llu ops, %llu cycles, %llu violations",
		m->current + 1, m->n, c->cfg.profile.name, scen, fixes,
		elapsed, (unsigned long long)r->ops,
		(unsigned long long)r->cycles, (unsigned long long)lab_total_violations(r));
}

/* Where the matrix is, on stderr, after @done of its cells: one line
 * redrawn on a terminal; with --progress and no terminal, a plain line at
 * each tenth of the cells (a log reads it; a terminal would scroll). */
void matrix_show_done(struct matrix *m, size_t done, const bool *is_done)
{
	size_t failed = 0;

	if (!m->tty && (!m->progress || done * 10 / m->n <= m->tenths))
		return;
	for (size_t i = 0; i < m->n; i++)
		failed += (is_done ? is_done[i] : i < done) && m->cells[i].verdict != LAB_PASS &&
			  m->cells[i].verdict != LAB_UNJUDGED;
	if (m->tty) {
		fprintf(stderr, "\r\033[K[%zu/%zu] cells done, %zu not passed, %u job%s, %.0f s",
			done, m->n, failed, m->jobs, m->jobs == 1 ? "" : "s", monotonic_s() - m->t0);
		return;
	}
	m->tenths = (unsigned int)(done * 10 / m->n);
	fprintf(stderr, "matrix: %zu/%zu cells done, %zu not passed, %.0f s\n", done, m->n, failed,
		monotonic_s() - m->t0);
}

/* Where the two oracles differ, cell by cell; the counts. */
bool matrix_print_observed_summary(FILE *f, const struct matrix *m, double secs)
{
	size_t lab_seen = 0, model_found = 0, errors = 0, differ = 0;

	for (size_t i = 0; i < m->n; i++) {
		const struct cell *c = &m->cells[i];
		bool saw = lab_total_violations(&c->res) > 0;

		lab_seen += saw;
		model_found += c->model.verdict == MODEL_UNSAFE;
		errors += c->run_error || c->model.verdict == MODEL_ERROR;
		differ += !c->run_error && c->model.verdict != MODEL_ERROR &&
			  saw != (c->model.verdict == MODEL_UNSAFE);
	}
	fprintf(f, "\n%zu cells in %.1f s, observed with no rule: the stress lab saw a violation "
		   "in %zu, the model found one in %zu; %zu without a result\n",
		m->n, secs, lab_seen, model_found, errors);
	if (!differ)
		return !errors;
	fprintf(f, "where the two oracles differ (%zu cells):\n", differ);
	for (size_t i = 0; i < m->n; i++) {
		const struct cell *c = &m->cells[i];
		bool saw = lab_total_violations(&c->res) > 0;
		char scen[32], fw[40];

		if (c->run_error || c->model.verdict == MODEL_ERROR ||
		    saw == (c->model.verdict == MODEL_UNSAFE))
			continue;
		matrix_scenario_words(c, scen, sizeof(scen));
		ptlab_fixes_words(c->cfg.fixes, fw, sizeof(fw));
		fprintf(f, "  %s %s %s: %s\n", c->cfg.profile.name, fw, scen,
			saw ? "the stress lab saw a violation the model's complete search "
			      "did not find"
			    : "the model found a violation the stress lab did not show "
			      "within its budget");
	}
	return !errors;
}

/* getrusage()'s maxima, in MiB. */
void matrix_peak_rss(double *self, double *jobs)
{
	struct rusage ru;

	*self = *jobs = 0;
	if (!getrusage(RUSAGE_SELF, &ru))
		*self = (double)ru.ru_maxrss / 1024;
	if (!getrusage(RUSAGE_CHILDREN, &ru))
		*jobs = (double)ru.ru_maxrss / 1024;
}

void matrix_print_peak_rss(FILE *f)
{
	double self, jobs;

	matrix_peak_rss(&self, &jobs);
	fprintf(f, "peak memory: %.0f MiB resident in this process", self);
	if (jobs > 0)
		fprintf(f, ", %.0f MiB in the largest job process", jobs);
	fputc('\n', f);
}

/* Medians of the time to the first violation (unsafe cells), and of the
 * cycles per second and the defended overlaps (safe cells), with the
 * defence that held off most of each safe cell's overlaps. */
void matrix_print_summary(FILE *f, const struct matrix *m, size_t passed, size_t inconclusive,
			  double secs)
{
	double *first = calloc(m->n, sizeof(double)), *rate = calloc(m->n, sizeof(double));
	double *def = calloc(m->n, sizeof(double));
	uint64_t dominant[LAB_DEFENCES] = { 0 };
	size_t nf = 0, nr = 0, unjudged = 0;

	for (size_t i = 0; i < m->n; i++)
		unjudged += m->cells[i].verdict == LAB_UNJUDGED;

	for (size_t i = 0; first && rate && def && i < m->n; i++) {
		const struct cell *c = &m->cells[i];
		const struct lab_evidence_counts *e = &c->res.evidence;
		int best = LAB_UNDEFENDED;

		if (c->exp.unsafe) {
			if (c->res.first_violation_ms >= 0)
				first[nf++] = c->res.first_violation_ms;
			continue;
		}
		if (c->res.seconds > 0)
			rate[nr] = (double)c->res.cycles / c->res.seconds;
		def[nr++] = (double)e->defended;
		for (int d = 0; d < LAB_UNDEFENDED; d++)
			if (e->by[d] && (best == LAB_UNDEFENDED || e->by[d] > e->by[best]))
				best = d;
		dominant[best]++;
	}
	fprintf(f, "\n%zu cells: %zu pass, %zu fail, %zu inconclusive, ", m->n, passed,
		m->n - passed - inconclusive - unjudged, inconclusive);
	if (unjudged)
		fprintf(f, "%zu with barriers dropped, not judged (%zu showed violations), ",
			unjudged, unjudged_violated(m));
	fprintf(f, "in %.1f s (a safe cell needs %llu defended overlaps)\n", secs,
		(unsigned long long)m->min_overlaps);
	if (nf) {
		qsort(first, nf, sizeof(double), cmp_double);
		fprintf(f, "unsafe cells: first violation after %.1f ms (median), %.1f ms (max)\n",
			first[nf / 2], first[nf - 1]);
	}
	if (nr) {
		qsort(rate, nr, sizeof(double), cmp_double);
		qsort(def, nr, sizeof(double), cmp_double);
		fprintf(f, "safe cells: %.0f writer cycles per second (median), "
			   "%.0f (min); defended overlaps %.0f (min), %.0f (median), %.0f (max)\n",
			rate[nr / 2], rate[0], def[0], def[nr / 2], def[nr - 1]);
		fprintf(f, "safe cells by their main defence:");
		for (int d = 0; d < LAB_DEFENCES; d++)
			if (dominant[d])
				fprintf(f, " %s %llu", lab_defence_name((enum lab_defence)d),
					(unsigned long long)dominant[d]);
		fputc('\n', f);
	}
	matrix_print_peak_rss(f);
	free(first);
	free(rate);
	free(def);
}

void matrix_print_details(FILE *f, const struct matrix *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->cells[i].verdict != LAB_PASS && m->cells[i].res.have_detail) {
			char scen[32], fw[40];

			matrix_scenario_words(&m->cells[i], scen, sizeof(scen));
			ptlab_fixes_words(m->cells[i].cfg.fixes, fw, sizeof(fw));
			fprintf(f, "%s %s %s:\n", m->cells[i].cfg.profile.name, scen, fw);
			lab_cli_print_detail(f, &m->cells[i].res.first);
		}
}
