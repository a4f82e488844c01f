// SPDX-License-Identifier: MIT
/*
 * ptlab soak: the cells the rule calls safe, round-robin for as long as
 * asked (hours), each run with a fresh seed, its windows varied, and
 * allocation failures injected on every path (ptlab/soak.h). A status
 * line every few seconds and a summary at the end go to stdout: a soak's
 * output is its log. A run that fails prints its cell, its seed and the
 * command that replays it. Exit 0 only when no run failed (no violation,
 * no lost write, no leaked frame, no table mismatch, no page left pinned)
 * and every path that allocated enough saw injected failures.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "commands.h"
#include "lab_cli.h"
#include "ptlab/soak.h"
#include "util/cli.h"
#include "util/time.h"

#define SOAK_MAX_SECONDS 604800.0        /* a week */
#define SOAK_MAX_RUNS 1000000000
/* Seconds between two status lines. */
#define SOAK_STATUS_EVERY 5.0
/* Failing runs kept for the JSON file (all are printed). */
#define SOAK_MAX_FAILURES 100
#define SOAK_DEFAULT_FAIL_ALLOC 0.01

struct soak_cell_stats {
	uint64_t runs, passed, inconclusive, failed;
};

struct soak_failure {
	uint64_t run, seed;
	size_t cell;
	enum lab_verdict verdict;
	char why[200];
};

struct soak {
	struct lab_soak_cell *cells;
	struct soak_cell_stats *stats;
	size_t ncells;
	struct lab_soak_options opt;
	double seconds;
	uint64_t seed, min_overlaps, max_runs;
	struct lab_soak_totals tot;
	struct soak_failure failures[SOAK_MAX_FAILURES];
	size_t nfailures;
	double t0, next_status;
	unsigned int never_failed;   /* lab_soak_paths_never_failed() */
	bool interrupted;
};

/* Set by SIGINT or SIGTERM: the run in progress finishes, then the
 * summary is printed. */
static volatile sig_atomic_t stop_requested;

static void request_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const char *cell_fixes(const struct lab_soak_cell *c)
{
	return ptlab_fixes_name(ptlab_fix_setting(c->fix_setting));
}

/* The totals so far, the run in progress (@sofar, on its machine)
 * included. */
static void print_status(struct soak *s, const struct lab_result *sofar)
{
	struct page_alloc_stats st;
	uint64_t injected;

	/* The run's machine counts its own injected failures. */
	page_alloc_get_stats(&st);
	injected = st.injected_failures;
	for (int p = 0; p < ALLOC_PATH_COUNT; p++)
		injected += s->tot.injected[p];
	printf("[%7.1f s] %llu runs: %llu pass, %llu inconclusive, %llu fail; %llu ops, "
	       "%llu overlaps, %llu violations; frames in use %llu of %llu; %llu failures "
	       "injected\n",
	       monotonic_s() - s->t0, (unsigned long long)s->tot.runs,
	       (unsigned long long)s->tot.passed, (unsigned long long)s->tot.inconclusive,
	       (unsigned long long)s->tot.failed,
	       (unsigned long long)(s->tot.ops + sofar->ops),
	       (unsigned long long)(s->tot.overlaps + sofar->evidence.overlaps),
	       (unsigned long long)(s->tot.violations + lab_total_violations(sofar)),
	       (unsigned long long)(st.nr_frames - st.nr_free), (unsigned long long)st.nr_frames,
	       (unsigned long long)injected);
	fflush(stdout);
}

/* lab_run()'s progress callback: the status line when it is due. */
static void progress(void *arg, double elapsed, const struct lab_result *sofar)
{
	struct soak *s = arg;
	double now = monotonic_s();

	(void)elapsed;
	if (now < s->next_status)
		return;
	while (s->next_status <= now)
		s->next_status += SOAK_STATUS_EVERY;
	print_status(s, sofar);
}

static void print_replay(FILE *f, const struct soak *s, const struct lab_soak_cell *c,
			 uint64_t seed)
{
	fprintf(f, "  replay: ptlab soak --profiles %s --fixes %s --scenarios %s --seed %llu "
		   "--runs 1 --cell-seconds %g --threads %u --fail-alloc %g --min-overlaps %llu\n",
		c->profile->name, cell_fixes(c), scenario_name(c->scenario),
		(unsigned long long)seed, s->opt.cell_seconds, s->opt.walkers,
		s->opt.fail_probability, (unsigned long long)s->min_overlaps);
}

static void run_one(struct soak *s, uint64_t k)
{
	size_t ci = (size_t)(k % s->ncells);
	const struct lab_soak_cell *c = &s->cells[ci];
	uint64_t seed = s->seed + k;
	struct lab_run_config cfg;
	struct lab_result res;
	enum lab_verdict v;
	char why[200];
	int err;

	lab_soak_config(&cfg, c, seed, &s->opt);
	err = lab_run(&cfg, &res);
	v = lab_judge(&cfg, &res, err, &c->expect, s->min_overlaps, why, sizeof(why));
	lab_soak_add(&s->tot, &res, err, v);
	s->stats[ci].runs++;
	s->stats[ci].passed += v == LAB_PASS;
	s->stats[ci].inconclusive += v == LAB_INCONCLUSIVE;
	s->stats[ci].failed += v == LAB_FAIL;
	if (v != LAB_FAIL)
		return;
	printf("FAIL run %llu: %s %s %s, seed %llu: %s\n", (unsigned long long)k,
	       c->profile->name, cell_fixes(c), scenario_name(c->scenario),
	       (unsigned long long)seed, why);
	if (res.have_detail)
		lab_cli_print_detail(stdout, &res.first);
	print_replay(stdout, s, c, seed);
	fflush(stdout);
	if (s->nfailures < SOAK_MAX_FAILURES) {
		struct soak_failure *fl = &s->failures[s->nfailures++];

		*fl = (struct soak_failure){ .run = k, .seed = seed, .cell = ci, .verdict = v };
		snprintf(fl->why, sizeof(fl->why), "%s", why);
	}
}

static void print_paths(FILE *f, const struct soak *s)
{
	fprintf(f, "  injected allocation failures (of allocations):");
	for (int p = 0; p < ALLOC_PATH_COUNT; p++)
		if (p != ALLOC_PATH_OTHER)
			fprintf(f, " %s %llu (%llu)", alloc_path_name((enum alloc_path)p),
				(unsigned long long)s->tot.injected[p],
				(unsigned long long)s->tot.alloc_attempts[p]);
	fputc('\n', f);
	for (int p = 0; p < ALLOC_PATH_COUNT; p++) {
		if (p == ALLOC_PATH_OTHER || s->tot.injected[p] || !s->opt.fail_probability)
			continue;
		if (s->never_failed & FAIL_ALLOC_PATH(p))
			fprintf(f, "  path %s never failed in %llu allocations: injection does "
				   "not reach it\n", alloc_path_name((enum alloc_path)p),
				(unsigned long long)s->tot.alloc_attempts[p]);
		else
			fprintf(f, "  path %s: too few allocations for a failure to be expected; "
				   "its fallback was not shown\n",
				alloc_path_name((enum alloc_path)p));
	}
}

static void print_summary(FILE *f, const struct soak *s, double secs, bool passed)
{
	const struct lab_soak_totals *t = &s->tot;

	fprintf(f, "\nptlab soak: %.1f s%s, %llu runs of %zu safe cells: %llu pass, "
		   "%llu inconclusive, %llu fail\n",
		secs, s->interrupted ? " (interrupted)" : "", (unsigned long long)t->runs,
		s->ncells, (unsigned long long)t->passed, (unsigned long long)t->inconclusive,
		(unsigned long long)t->failed);
	fprintf(f, "  %llu operations, %llu collapse/zap/munmap cycles, %llu overlaps, "
		   "%llu defended\n",
		(unsigned long long)t->ops, (unsigned long long)t->cycles,
		(unsigned long long)t->overlaps, (unsigned long long)t->defended);
	fprintf(f, "  violations %llu, lost writes %llu, leaked frames %llu, table mismatches "
		   "%llu, pages left pinned %llu, AddressSanitizer reports %llu, run errors %llu\n",
		(unsigned long long)t->violations, (unsigned long long)t->lost_writes,
		(unsigned long long)t->leaked_frames, (unsigned long long)t->table_mismatches,
		(unsigned long long)t->pinned_pages, (unsigned long long)t->asan_reports,
		(unsigned long long)t->run_errors);
	print_paths(f, s);
	fprintf(f, "  scenario steps that failed (fallbacks included):");
	for (int k = 0; k < LAB_FAILURE_KINDS; k++)
		fprintf(f, " %s %llu", lab_failure_name((enum lab_failure_kind)k),
			(unsigned long long)t->step_failures[k]);
	fputc('\n', f);
	for (size_t i = 0; i < s->ncells; i++)
		if (s->stats[i].inconclusive)
			fprintf(f, "  inconclusive: %s %s %s, %llu of %llu runs\n",
				s->cells[i].profile->name, cell_fixes(&s->cells[i]),
				scenario_name(s->cells[i].scenario),
				(unsigned long long)s->stats[i].inconclusive,
				(unsigned long long)s->stats[i].runs);
	fprintf(f, "  verdict: %s\n", passed ? "pass" : "FAIL");
}

static int write_json(const char *path, const struct soak *s, double secs, bool passed)
{
	const struct lab_soak_totals *t = &s->tot;
	struct json j;
	FILE *f = json_file_open(&j, path);

	if (!f)
		return 1;
	json_object_begin(&j, NULL);
	json_double(&j, "seconds", secs);
	json_bool(&j, "interrupted", s->interrupted);
	json_u64(&j, "seed", s->seed);
	json_double(&j, "cell_seconds", s->opt.cell_seconds);
	json_u64(&j, "walkers", s->opt.walkers);
	json_double(&j, "fail_alloc", s->opt.fail_probability);
	json_u64(&j, "min_overlaps", s->min_overlaps);
	json_u64(&j, "safe_cells", s->ncells);
	json_u64(&j, "cells_run", t->runs);
	json_u64(&j, "runs_passed", t->passed);
	json_u64(&j, "runs_inconclusive", t->inconclusive);
	json_u64(&j, "runs_failed", t->failed);
	json_u64(&j, "operations", t->ops);
	json_u64(&j, "cycles", t->cycles);
	json_u64(&j, "overlaps", t->overlaps);
	json_u64(&j, "defended", t->defended);
	json_u64(&j, "violations", t->violations);
	json_u64(&j, "lost_writes", t->lost_writes);
	json_u64(&j, "leaked_frames", t->leaked_frames);
	json_u64(&j, "table_mismatches", t->table_mismatches);
	json_u64(&j, "pinned_pages", t->pinned_pages);
	json_u64(&j, "asan_reports", t->asan_reports);
	json_u64(&j, "run_errors", t->run_errors);
	json_object_begin(&j, "injected_failures");
	for (int p = 0; p < ALLOC_PATH_COUNT; p++)
		if (p != ALLOC_PATH_OTHER)
			json_u64(&j, alloc_path_name((enum alloc_path)p), t->injected[p]);
	json_object_end(&j);
	json_object_begin(&j, "allocations");
	for (int p = 0; p < ALLOC_PATH_COUNT; p++)
		if (p != ALLOC_PATH_OTHER)
			json_u64(&j, alloc_path_name((enum alloc_path)p), t->alloc_attempts[p]);
	json_object_end(&j);
	json_array_begin(&j, "paths_never_failed");
	for (int p = 0; p < ALLOC_PATH_COUNT; p++)
		if (s->never_failed & FAIL_ALLOC_PATH(p))
			json_string(&j, NULL, alloc_path_name((enum alloc_path)p));
	json_array_end(&j);
	json_object_begin(&j, "step_failures");
	for (int k = 0; k < LAB_FAILURE_KINDS; k++)
		json_u64(&j, lab_failure_name((enum lab_failure_kind)k), t->step_failures[k]);
	json_object_end(&j);
	json_array_begin(&j, "cells");
	for (size_t i = 0; i < s->ncells; i++) {
		json_object_begin(&j, NULL);
		json_string(&j, "profile", s->cells[i].profile->name);
		json_string(&j, "fixes", cell_fixes(&s->cells[i]));
		json_string(&j, "scenario", scenario_name(s->cells[i].scenario));
		json_u64(&j, "runs", s->stats[i].runs);
		json_u64(&j, "passed", s->stats[i].passed);
		json_u64(&j, "inconclusive", s->stats[i].inconclusive);
		json_u64(&j, "failed", s->stats[i].failed);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_array_begin(&j, "failures");
	for (size_t i = 0; i < s->nfailures; i++) {
		const struct soak_failure *fl = &s->failures[i];
		const struct lab_soak_cell *c = &s->cells[fl->cell];

		json_object_begin(&j, NULL);
		json_u64(&j, "run", fl->run);
		json_string(&j, "profile", c->profile->name);
		json_string(&j, "fixes", cell_fixes(c));
		json_string(&j, "scenario", scenario_name(c->scenario));
		json_u64(&j, "seed", fl->seed);
		json_string(&j, "verdict", lab_verdict_name(fl->verdict));
		json_string(&j, "why", fl->why);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_bool(&j, "passed", passed);
	json_object_end(&j);
	return json_file_close(&j, f, path);
}

static uint64_t random_seed(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)time(NULL);
	/* Small enough to type, far from the next soak's. */
	return seed % 1000000000000ULL;
}

enum {
	OPT_PROFILES = 'p', OPT_SCENARIOS = 's', OPT_FIXES = 'f',
	OPT_SECONDS = CLI_OPT_FIRST, OPT_CELL_SECONDS, OPT_RUNS, OPT_SEED, OPT_THREADS,
	OPT_FAIL_ALLOC, OPT_MIN_OVERLAPS, OPT_JSON,
};

static const struct cli_opt options[] = {
	{ "seconds", OPT_SECONDS, "S", "total time, 1..604800 (default 60)" },
	{ "cell-seconds", OPT_CELL_SECONDS, "S", "budget of one run, 0.05..600 (default 1)" },
	{ "runs", OPT_RUNS, "N", "stop after N runs, 1.." CLI_XSTR(SOAK_MAX_RUNS) },
	{ "seed", OPT_SEED, "N",
	  "seed of the first run, the next ones count up (default: a random one, printed)" },
	{ "threads", OPT_THREADS, "N",
	  "walker CPUs per run, 1.." CLI_XSTR(LAB_MAX_WALKERS) " (default 2)" },
	{ "fail-alloc", OPT_FAIL_ALLOC, "P",
	  "probability of an injected failure per allocation on every path, 0..1 (default "
	  CLI_XSTR(SOAK_DEFAULT_FAIL_ALLOC) "; 0: none)" },
	{ "min-overlaps", OPT_MIN_OVERLAPS, "N",
	  "defended overlaps a run needs to be conclusive (default "
	  CLI_XSTR(LAB_MIN_OVERLAPS_DEFAULT) ")" },
	{ "profiles", OPT_PROFILES, "LIST", "comma-separated profiles (default all)" },
	{ "scenarios", OPT_SCENARIOS, "LIST", "comma-separated scenarios (default all)" },
	{ "fixes", OPT_FIXES, "LIST", "none,pmd-recheck,ipi-sync,both (default all)" },
	{ "json", OPT_JSON, "FILE", "write the summary as JSON" },
	CLI_OPTS_END
};

static const struct cli_command cmd = {
	.name = "soak",
	.synopsis = "[options]",
	.about = "Runs the cells the rule calls safe round-robin, each run with a fresh\n"
		 "seed, its race windows varied at random and allocation failures\n"
		 "injected on every path, and checks every run: no violation, no lost\n"
		 "write, no leaked frame, the tables equal to the counters, no page left\n"
		 "pinned. A status line every " CLI_XSTR(SOAK_STATUS_EVERY) " s, a summary at the "
		 "end; exit 0 only when\n"
		 "no run failed (an inconclusive run is counted, not a failure).\n",
	.opts = options,
};

/* parse()'s "stop with this status". */
static bool stop(int *status, int code)
{
	*status = code;
	return false;
}

/* Parses the options into @s and the selections: true to go on, else
 * false with *@status the exit status (0 after --help or --version). */
static bool parse(int argc, char **argv, struct soak *s, bool *prof, size_t nprof,
		  bool scen[SCENARIO_COUNT], bool fix[PTLAB_FIX_SETTINGS], const char **json,
		  int *status)
{
	bool seeded = false;
	uint64_t u;
	int c;

	while ((c = cli_getopt(&cmd, argc, argv, status)) != -1) {
		const char *v = optarg;
		char allowed[64];

		switch (c) {
		case CLI_STOP:
			return false;
		case OPT_SECONDS:
			if (!cli_parse_double(v, 1, SOAK_MAX_SECONDS, &s->seconds))
				return stop(status, cli_error("bad --seconds", v, "1..604800"));
			break;
		case OPT_CELL_SECONDS:
			if (!cli_parse_double(v, 0.05, 600, &s->opt.cell_seconds))
				return stop(status, cli_error("bad --cell-seconds", v, "0.05..600"));
			break;
		case OPT_RUNS:
			snprintf(allowed, sizeof(allowed), "1..%d", SOAK_MAX_RUNS);
			if (!cli_parse_u64(v, 1, SOAK_MAX_RUNS, &s->max_runs))
				return stop(status, cli_error("bad --runs", v, allowed));
			break;
		case OPT_SEED:
			if (!cli_parse_u64(v, 0, UINT64_MAX, &s->seed))
				return stop(status, cli_error("bad --seed", v, "0..18446744073709551615"));
			seeded = true;
			break;
		case OPT_THREADS:
			snprintf(allowed, sizeof(allowed), "1..%d walker CPUs", LAB_MAX_WALKERS);
			if (!cli_parse_u64(v, 1, LAB_MAX_WALKERS, &u))
				return stop(status, cli_error("bad --threads", v, allowed));
			s->opt.walkers = (unsigned int)u;
			break;
		case OPT_FAIL_ALLOC:
			if (!cli_parse_double(v, 0, 1, &s->opt.fail_probability))
				return stop(status, cli_error("bad --fail-alloc", v, "0..1"));
			break;
		case OPT_MIN_OVERLAPS:
			if (!cli_parse_u64(v, 0, 1000000000, &s->min_overlaps))
				return stop(status, cli_error("bad --min-overlaps", v, "0..1000000000"));
			break;
		case OPT_PROFILES:
			if (!lab_cli_profiles(v, prof, nprof))
				return stop(status, CLI_EXIT_USAGE);
			break;
		case OPT_SCENARIOS:
			if (!lab_cli_scenarios(v, scen))
				return stop(status, CLI_EXIT_USAGE);
			break;
		case OPT_FIXES:
			if (!lab_cli_fixes(v, fix))
				return stop(status, CLI_EXIT_USAGE);
			break;
		case OPT_JSON:
			*json = v;
			break;
		}
	}
	if (!seeded)
		s->seed = random_seed();
	*status = *json ? cli_check_output("--json file", *json) : 0;
	return !*status;
}

int cmd_soak(int argc, char **argv)
{
	static struct soak s;
	size_t nprof = ptlab_profiles_count();
	bool *prof = calloc(nprof, sizeof(bool));
	bool scen[SCENARIO_COUNT], fix[PTLAB_FIX_SETTINGS];
	struct sigaction sa = { .sa_handler = request_stop, .sa_flags = SA_RESTART };
	const char *json = NULL;
	bool passed;
	double secs;
	int ret;

	memset(&s, 0, sizeof(s));
	s.seconds = 60;
	s.opt = (struct lab_soak_options){ .cell_seconds = 1.0, .walkers = 2,
					   .fail_probability = SOAK_DEFAULT_FAIL_ALLOC };
	s.min_overlaps = LAB_MIN_OVERLAPS_DEFAULT;
	memset(scen, 1, sizeof(scen));
	memset(fix, 1, sizeof(fix));
	if (!prof)
		return 1;
	memset(prof, 1, nprof * sizeof(bool));
	if (!parse(argc, argv, &s, prof, nprof, scen, fix, &json, &ret)) {
		free(prof);
		return ret;
	}
	s.ncells = lab_soak_cells(NULL, 0, prof, fix, scen);
	if (!s.ncells) {
		free(prof);
		return cli_error("no safe cell in the selection", "--profiles/--fixes/--scenarios",
				 "a selection with a cell the rule calls safe");
	}
	s.cells = calloc(s.ncells, sizeof(*s.cells));
	s.stats = calloc(s.ncells, sizeof(*s.stats));
	if (!s.cells || !s.stats) {
		free(prof);
		return 1;
	}
	lab_soak_cells(s.cells, s.ncells, prof, fix, scen);
	free(prof);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("ptlab soak: %zu safe cells round-robin for %g s, %g s per run, %u walkers, "
	       "seed %llu, allocation failures injected with probability %g\n",
	       s.ncells, s.seconds, s.opt.cell_seconds, s.opt.walkers,
	       (unsigned long long)s.seed, s.opt.fail_probability);
	fflush(stdout);
	s.t0 = monotonic_s();
	s.next_status = s.t0 + SOAK_STATUS_EVERY;
	lab_set_progress(progress, &s);
	for (uint64_t k = 0; !s.max_runs || k < s.max_runs; k++) {
		/* A run starts only if it can end within the budget (the first
		 * always does). */
		if (k && monotonic_s() - s.t0 + s.opt.cell_seconds > s.seconds)
			break;
		if (stop_requested) {
			s.interrupted = true;
			break;
		}
		run_one(&s, k);
	}
	lab_set_progress(NULL, NULL);
	secs = monotonic_s() - s.t0;
	s.never_failed = lab_soak_paths_never_failed(&s.tot, s.opt.fail_probability);
	passed = !s.tot.failed && !s.never_failed;
	print_summary(stdout, &s, secs, passed);
	ret = passed ? 0 : 1;
	if (json && write_json(json, &s, secs, passed))
		ret = 1;
	free(s.cells);
	free(s.stats);
	return ret;
}
