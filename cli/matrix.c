// SPDX-License-Identifier: MIT
/*
 * ptlab matrix: every scenario on every profile with each of the four fix
 * settings, judged against the rule (rule.h): an unsafe cell must show a
 * violation (of a kind the rule allows), a safe cell none. This file
 * holds the options, the cells and the loop; matrix.h lists the others.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "matrix.h"
#include "profile_set.h"
#include "ptlab/machine.h"
#include "trace_json.h"
#include "util/cli.h"
#include "util/time.h"

enum {
	OPT_PROFILES = 'p', OPT_SCENARIOS = 's', OPT_FIXES = 'f', OPT_JOBS = 'j',
	OPT_SECONDS = CLI_OPT_FIRST, OPT_PROFILE_FILE, OPT_RETRIES, OPT_THREADS, OPT_SEED,
	OPT_MIN_OVERLAPS, OPT_JSON, OPT_REPORT, OPT_NO_REPORT, OPT_NO_RULE,
	OPT_PROGRESS, OPT_DROP_BARRIER,
};

static const struct cli_opt options[] = {
	{ "seconds", OPT_SECONDS, "S", "budget per cell, 0.05..600 (default 0.7)" },
	{ "profiles", OPT_PROFILES, "LIST",
	  "comma-separated profiles (default all, or none with --profile-file)" },
	{ "profile-file", OPT_PROFILE_FILE, "FILE",
	  "also run a profile of your own: one entry of `ptlab profiles --json` in a file, "
	  "renamed (repeatable)" },
	{ "scenarios", OPT_SCENARIOS, "LIST",
	  "comma-separated scenarios (default all; an unknown name lists them)" },
	{ "fixes", OPT_FIXES, "LIST", "none,pmd-recheck,ipi-sync,both (default all)" },
	{ "retries", OPT_RETRIES, "N",
	  "extra attempts for an unsafe cell that showed nothing or a cell short of "
	  "evidence (then with twice the budget), 0..10 (default 2); a cell that showed a "
	  "violation never retries" },
	{ "threads", OPT_THREADS, "N",
	  "walker CPUs per cell, 1.." CLI_XSTR(LAB_MAX_WALKERS) " (default 2)" },
	{ "jobs", OPT_JOBS, "N",
	  "cells run at once, each in a process of its own, 1.." CLI_XSTR(MATRIX_MAX_JOBS)
	  " (default 1); cells share the cores, so a cell gathers its evidence more "
	  "slowly" },
	{ "seed", OPT_SEED, "N", "random seed (default 1)" },
	{ "min-overlaps", OPT_MIN_OVERLAPS, "N",
	  "defended overlaps a safe cell needs to pass; with fewer it is inconclusive, "
	  "which fails (default " CLI_XSTR(LAB_MIN_OVERLAPS_DEFAULT) "); a safe cell stops "
	  "once it has " CLI_XSTR(MATRIX_EVIDENCE_MARGIN) " times as many" },
	LAB_CLI_KERNEL_OPTIONS,
	{ "json", OPT_JSON, "FILE",
	  "write every cell with its raw counts, and the trace of each unsafe cell (Chrome "
	  "trace-event JSON)" },
	{ "report", OPT_REPORT, "FILE",
	  "also write the HTML report there: the matrix, and the timeline of every unsafe "
	  "cell (none unless asked; ptlab report builds one from --json's file)" },
	{ "no-report", OPT_NO_REPORT, NULL, "write no report (the default; kept for scripts)" },
	{ "progress", OPT_PROGRESS, NULL,
	  "show progress on stderr even when it is no terminal: a line at each tenth of the "
	  "cells (on a terminal, one line redrawn, as always)" },
	{ "drop-barrier", OPT_DROP_BARRIER, "LIST", LAB_CLI_DROP_BARRIER_HELP },
	{ "no-rule", OPT_NO_RULE, NULL,
	  "observe only: each cell once for its budget, what the stress lab saw "
	  "(violations, evidence) beside what the Spin model proved, with no expectation "
	  "and no pass or fail (exit 0 unless a run fails; no report; needs spin and gcc)" },
	CLI_OPTS_END
};

static const struct cli_command cmd = {
	.name = "matrix",
	.synopsis = "[options]",
	.about = "Runs every scenario on every profile with each fix setting and checks\n"
		 "each cell against the rule (docs/rule.md): exit 0 only when every unsafe\n"
		 "cell showed a violation and every safe cell showed none, with at least\n"
		 "--min-overlaps defended overlaps as its evidence.\n",
	.opts = options,
};

/* Parses a count of 1..@max @unit for option @opt into @out: 0, or the
 * exit status of the usage error. */
static int parse_count(const char *opt, const char *v, unsigned int max, const char *unit,
		       unsigned int *out)
{
	char what[32], allowed[48];
	uint64_t u;

	if (!cli_parse_u64(v, 1, max, &u)) {
		snprintf(what, sizeof(what), "bad %s", opt);
		snprintf(allowed, sizeof(allowed), "1..%u %s", max, unit);
		return cli_error(what, v, allowed);
	}
	*out = (unsigned int)u;
	return 0;
}

/* Adds the cell of @p, @fixes, @s and generations @ct and @rg, if the
 * options ask for it (lab_cli_generation_wanted()); each runs the walker
 * kinds of --walkers that its scenario allows in that generation. */
static void add_cell(struct matrix *m, const struct ptlab_profile *p, struct ptlab_fixes fixes,
		     enum scenario s, enum collapse_table ct, enum retract_gen rg)
{
	struct ptlab_cell cell;
	struct cell *c;

	if (!lab_cli_generation_wanted(&m->kernel, s, ct, rg))
		return;
	c = &m->cells[m->n];
	lab_run_config_default(&c->cfg, p, fixes, s);
	lab_cli_kernel_apply(&c->cfg, &m->kernel, ct, rg);
	c->cfg.walker_kinds &= scenario_allowed_walkers(s, c->cfg.kernel);
	if (!c->cfg.walker_kinds)
		return;
	m->n++;
	c->cfg.seconds = m->seconds;
	c->cfg.walkers = m->walkers;
	c->cfg.dropped_barriers = m->dropped;
	cell = lab_run_cell(&c->cfg);
	c->exp = ptlab_expect_cell(&cell);
	/* Observing only, or with barriers dropped (the rule's expectation
	 * assumes them), a cell runs its whole budget: nothing says when its
	 * verdict is in. */
	if (m->no_rule || m->dropped)
		return;
	/* A cell is done once its verdict is in: a violation from each
	 * walker kind the rule calls unsafe, and a wide margin of defended
	 * overlaps for each it calls safe. */
	c->cfg.stop_at_defended = MATRIX_EVIDENCE_MARGIN * m->min_overlaps;
	/* An unsafe cell gets a timeline: its trace. */
	if (c->exp.unsafe) {
		c->cfg.trace_before_ms = LAB_TRACE_BEFORE_MS;
		c->cfg.trace_after_ms = LAB_TRACE_AFTER_MS;
	}
}

/* Whether a cell that did not pass may run again: an unsafe cell that
 * showed nothing, or a cell that lacked evidence (never one that showed a
 * violation the rule rules out, nor one whose run failed). */
static bool worth_retrying(const struct cell *c)
{
	if (c->run_error || c->verdict == LAB_PASS || c->verdict == LAB_UNJUDGED)
		return false;
	return c->verdict == LAB_INCONCLUSIVE || (c->exp.unsafe && !lab_total_violations(&c->res));
}

char *matrix_run_cell(struct matrix *m, struct cell *c)
{
	char *text = NULL;

	do {
		lab_result_release(&c->res);
		/* An attempt after an inconclusive one gets twice the budget:
		 * a loaded machine gathers evidence more slowly. */
		if (c->attempts && c->verdict == LAB_INCONCLUSIVE)
			c->cfg.seconds *= 2;
		c->attempts++;
		c->cfg.seed = m->seed + c->attempts - 1;
		c->run_error = lab_run(&c->cfg, &c->res);
		c->verdict = lab_judge(&c->cfg, &c->res, c->run_error, &c->exp, m->min_overlaps,
				       c->why, sizeof(c->why));
	} while (!m->no_rule && worth_retrying(c) && c->attempts <= m->retries);
	/* Kept as text: the events themselves are freed at once. */
	if (c->res.trace) {
		json_t *doc = trace_json_from_run(&c->cfg, &c->res);

		text = doc ? trace_json_text(doc) : NULL;
		trace_json_free(doc);
		lab_result_release(&c->res);
	}
	return text;
}

/* --no-rule: the model checks every cell first, so that each row can
 * show both oracles as the stress lab finishes it. 0, or -errno. */
static int check_model(struct matrix *m)
{
	struct ptlab_model_options o = { 0 };
	struct ptlab_cell *cells = calloc(m->n, sizeof(*cells));
	struct ptlab_model_result *res = calloc(m->n, sizeof(*res));
	int ret = -ENOMEM;

	if (cells && res) {
		/* A cell with barriers dropped is checked under the host's
		 * memory model, the one the stress lab runs on (the model
		 * refuses a drop under sc, where nothing is reordered). */
		for (size_t i = 0; i < m->n; i++) {
			cells[i] = lab_run_cell(&m->cells[i].cfg);
			if (cells[i].dropped)
				cells[i].memory = memory_model_host();
		}
		if (m->tty)
			fprintf(stderr, "the model: %zu cells...", m->n);
		ret = ptlab_model_check(&o, cells, m->n, res);
		if (m->tty)
			fprintf(stderr, "\r\033[K");
		for (size_t i = 0; !ret && i < m->n; i++)
			m->cells[i].model = res[i];
	}
	free(cells);
	free(res);
	return ret;
}

/* What the options ask for beyond the matrix's own settings. */
struct matrix_request {
	bool scen[SCENARIO_COUNT], fix[PTLAB_FIX_SETTINGS];
	const char *json, *report;
};

/* One option @c with value @v: 0, or the exit status of its error. */
static int parse_option(int c, const char *v, struct profile_set *ps, struct matrix *m,
			struct matrix_request *rq)
{
	uint64_t u;

	switch (c) {
	case OPT_SECONDS:
		if (!cli_parse_double(v, 0.05, 600, &m->seconds))
			return cli_error("bad --seconds", v, "0.05..600 per cell");
		break;
	case OPT_PROFILES:
		if (!profile_set_add_names(ps, v))
			return CLI_EXIT_USAGE;
		break;
	case OPT_PROFILE_FILE:
		if (!profile_set_add_file(ps, v))
			return CLI_EXIT_USAGE;
		break;
	case OPT_SCENARIOS:
		if (!lab_cli_scenarios(v, rq->scen))
			return CLI_EXIT_USAGE;
		break;
	case OPT_FIXES:
		if (!lab_cli_fixes(v, rq->fix))
			return CLI_EXIT_USAGE;
		break;
	case OPT_RETRIES:
		if (!cli_parse_u64(v, 0, 10, &u))
			return cli_error("bad --retries", v, "0..10");
		m->retries = (unsigned int)u;
		break;
	case OPT_THREADS:
		return parse_count("--threads", v, LAB_MAX_WALKERS, "walker CPUs", &m->walkers);
	case OPT_JOBS:
		return parse_count("--jobs", v, MATRIX_MAX_JOBS, "processes", &m->jobs);
	case OPT_SEED:
		if (!cli_parse_u64(v, 0, UINT64_MAX, &m->seed))
			return cli_error("bad --seed", v, "0..18446744073709551615");
		break;
	case OPT_MIN_OVERLAPS:
		if (!cli_parse_u64(v, 0, 1000000000, &m->min_overlaps))
			return cli_error("bad --min-overlaps", v, "0..1000000000");
		break;
	case OPT_JSON:
		rq->json = v;
		break;
	case OPT_REPORT:
		rq->report = v;
		break;
	case OPT_NO_REPORT:
		rq->report = NULL;
		break;
	case OPT_NO_RULE:
		m->no_rule = true;
		break;
	case OPT_PROGRESS:
		m->progress = true;
		break;
	case OPT_DROP_BARRIER:
		if (!lab_cli_drop_barriers(v, &m->dropped))
			return CLI_EXIT_USAGE;
		break;
	default:
		if (lab_cli_kernel_option(c) && !lab_cli_kernel_parse(c, v, true, &m->kernel))
			return CLI_EXIT_USAGE;
		break;
	}
	return 0;
}

/* Whether the options go together and the outputs can be written: 0, or
 * the exit status of the error. */
static int check_options(struct matrix *m, struct matrix_request *rq)
{
	char msg[256];
	int ret;

	if (m->no_rule && rq->report)
		return cli_error("--report with --no-rule", rq->report,
				 "one of them: the report shows the rule's verdicts");
	if (m->no_rule)
		rq->report = NULL;
	if (rq->json && (ret = cli_check_output("--json file", rq->json)))
		return ret;
	if (rq->report && (ret = cli_check_output("--report file", rq->report)))
		return ret;
	if (m->no_rule && ptlab_model_tools(msg, sizeof(msg))) {
		fprintf(stderr, "ptlab: --no-rule shows the model beside the stress lab: %s\n", msg);
		return 1;
	}
	return 0;
}

/* The options, and whether they go together: true when the matrix is
 * to run, else false with the exit status in *@status (0 after --help or
 * --version). */
static bool parse_options(int argc, char **argv, struct profile_set *ps, struct matrix *m,
			  struct matrix_request *rq, int *status)
{
	int c;

	memset(rq->scen, 1, sizeof(rq->scen));
	memset(rq->fix, 1, sizeof(rq->fix));
	*status = 0;
	while ((c = cli_getopt(&cmd, argc, argv, status)) != -1)
		if (c == CLI_STOP || (*status = parse_option(c, optarg, ps, m, rq)))
			return false;
	return !(*status = check_options(m, rq));
}

/* The cells the options ask for: 0, or the exit status of an error. */
static int make_cells(struct matrix *m, struct profile_set *ps, const struct matrix_request *rq)
{
	struct ptlab_fixes fixes[LAB_CLI_MAX_FIX_SETTINGS];
	size_t nfix;

	lab_cli_default_generations(&m->kernel);
	nfix = lab_cli_fix_settings(rq->fix, &m->kernel, fixes);
	profile_set_default(ps);
	m->cells = calloc(ps->n * SCENARIO_COUNT * LAB_CLI_MAX_FIX_SETTINGS * COLLAPSE_TABLE_COUNT *
				  RETRACT_COUNT,
			  sizeof(*m->cells));
	if (!m->cells)
		return 1;
	for (size_t p = 0; p < ps->n; p++)
		for (int s = 0; s < SCENARIO_COUNT; s++)
			for (size_t f = 0; f < nfix; f++)
				for (int ct = 0; ct < COLLAPSE_TABLE_COUNT; ct++)
					for (int rg = 0; rg < RETRACT_COUNT; rg++)
						if (rq->scen[s])
							add_cell(m, ps->list[p], fixes[f],
								 (enum scenario)s,
								 (enum collapse_table)ct,
								 (enum retract_gen)rg);
	if (m->n)
		return 0;
	if (!nfix) {
		return cli_error("no fix setting left", "--sync",
				 "none for none and pmd-recheck, another policy for "
				 "ipi-sync and both");
	}
	fprintf(stderr, "ptlab: no cell runs the walker kinds of --walkers in the "
			"scenarios asked for (rcu walkers run in pt-reclaim and "
			"retract/defer only)\n");
	return CLI_EXIT_USAGE;
}

/* The cells one after the other in this process, each printed as it ends. */
static void run_here(struct matrix *m)
{
	if (m->tty)
		lab_set_progress(matrix_progress, m);
	for (m->current = 0; m->current < m->n; m->current++) {
		char *text = matrix_run_cell(m, &m->cells[m->current]);

		if (text)
			matrix_spool_put(m, &m->cells[m->current], text);
		free(text);
		if (m->tty)
			fprintf(stderr, "\r\033[K");
		matrix_print_row(m, &m->cells[m->current]);
		fflush(stdout);
		if (!m->tty)
			matrix_show_done(m, m->current + 1, NULL);
	}
	lab_set_progress(NULL, NULL);
}

/* The summary and the documents, once every cell ran: the exit status. */
static int finish(struct matrix *m, const struct matrix_request *rq, double t0)
{
	size_t passed = 0, inconclusive = 0, unjudged = 0;
	int ret;

	for (size_t i = 0; i < m->n; i++) {
		passed += m->cells[i].verdict == LAB_PASS;
		inconclusive += m->cells[i].verdict == LAB_INCONCLUSIVE;
		unjudged += m->cells[i].verdict == LAB_UNJUDGED;
	}
	m->elapsed = monotonic_s() - t0;
	if (m->no_rule) {
		ret = matrix_print_observed_summary(stdout, m, monotonic_s() - t0) ? 0 : 1;
		matrix_print_peak_rss(stdout);
		if (rq->json && matrix_write_json(rq->json, m, false))
			ret = 1;
		return ret;
	}
	matrix_print_summary(stdout, m, passed, inconclusive, monotonic_s() - t0);
	matrix_print_details(stdout, m);
	/* Cells with barriers dropped are reported: sound runs count as
	 * done. */
	passed += unjudged;
	ret = passed == m->n ? 0 : 1;
	if (rq->json && matrix_write_json(rq->json, m, passed == m->n))
		ret = 1;
	if (rq->report && matrix_write_report(rq->report, m, passed == m->n))
		ret = 1;
	return ret;
}

static int matrix(int argc, char **argv, struct profile_set *ps, struct matrix *m)
{
	struct matrix_request rq = { 0 };
	double t0;
	int ret;

	if (!parse_options(argc, argv, ps, m, &rq, &ret) || (ret = make_cells(m, ps, &rq)))
		return ret;
	m->tty = isatty(2);
	t0 = m->t0 = monotonic_s();
	if (m->no_rule && (ret = check_model(m))) {
		fprintf(stderr, "ptlab: cannot run the model: %s\n", strerror(-ret));
		return 1;
	}
	matrix_print_header(stdout, m);
	fflush(stdout);
	if (m->jobs > 1 && m->n > 1) {
		if (matrix_run_jobs(m))
			return 1;
	} else {
		run_here(m);
	}
	return finish(m, &rq, t0);
}

int cmd_matrix(int argc, char **argv)
{
	struct profile_set ps = { 0 };
	struct matrix m = { .seconds = 0.7, .jobs = 1, .retries = 2, .walkers = 2, .seed = 1,
			    .min_overlaps = LAB_MIN_OVERLAPS_DEFAULT };
	int ret = matrix(argc, argv, &ps, &m);

	for (size_t i = 0; m.cells && m.no_rule && i < m.n; i++)
		ptlab_model_result_release(&m.cells[i].model);
	free(m.cells);
	if (m.spool)
		fclose(m.spool);
	profile_set_release(&ps);
	return ret;
}
