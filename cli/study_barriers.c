// SPDX-License-Identifier: MIT
/*
 * ptlab study barriers: which barrier each verdict rests on. For each
 * memory model (tso, weak) the Spin model checks every cell (profile x
 * scenario x PMD re-check x sync policy) with every barrier present, then
 * each safe cell again with one named barrier left out
 * (include/ptlab/memory_model.h); a cell "needs" a barrier when it is
 * safe with it and unsafe without. One table (barrier -> cells that need
 * it), the shortest counterexample of one cell of each, and JSON
 * (docs/memory.md). A cell unsafe with every barrier present needs none:
 * it is not checked again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "lab_cli.h"
#include "profile_set.h"
#include "ptlab/model.h"
#include "util/cli.h"
#include "util/json.h"
#include "util/time.h"

#define DEFAULT_SCENARIOS "collapse-zap, collapse-pin, munmap"

struct barrier_study {
	/* --profiles and --profile-file (none: every built-in profile) */
	struct profile_set profiles;
	bool scenario[SCENARIO_COUNT];
	bool policy[SYNC_POLICIES];
	bool memory[MEMORY_MODELS];
	unsigned int barriers;	/* BARRIER_BIT()s */
	unsigned int jobs;
	const char *json;
	/* The cells with every barrier present, per memory model; base[m]
	 * has nbase cells, in the same order for each m. */
	struct ptlab_cell *base[MEMORY_MODELS];
	struct ptlab_model_result *base_res[MEMORY_MODELS];
	size_t nbase;
	/* drop[m][b]: the base cells of m that were safe, with b dropped
	 * (NULL where b is not a barrier of m, or not asked for) */
	struct ptlab_cell *drop[MEMORY_MODELS][BARRIERS];
	struct ptlab_model_result *drop_res[MEMORY_MODELS][BARRIERS];
	size_t ndrop[MEMORY_MODELS][BARRIERS];
	size_t checked, total;
	double start;
};

enum {
	OPT_PROFILES = 'p', OPT_SCENARIOS = 's', OPT_JOBS = 'j',
	OPT_PROFILE_FILE = CLI_OPT_FIRST, OPT_POLICIES, OPT_MEMORY, OPT_BARRIERS, OPT_JSON,
};

static const struct cli_opt options[] = {
	{ "profiles", OPT_PROFILES, "LIST", "profiles (default all, or none with --profile-file)" },
	{ "profile-file", OPT_PROFILE_FILE, "FILE",
	  "also a profile of your own: one entry of `ptlab profiles --json` in a file, "
	  "renamed (repeatable)" },
	{ "scenarios", OPT_SCENARIOS, "LIST", "scenarios (default " DEFAULT_SCENARIOS ")" },
	{ "sync", OPT_POLICIES, "LIST", "sync policies (default all six)" },
	{ "memory", OPT_MEMORY, "LIST", "tso, weak (default both)" },
	{ "barriers", OPT_BARRIERS, "LIST",
	  "the barriers to drop, one at a time (default all: `ptlab model --list-barriers`)" },
	{ "jobs", OPT_JOBS, "N", "cells checked at once, 1..256 (default: online CPUs)" },
	{ "json", OPT_JSON, "FILE", "also write every cell that needs a barrier, and one "
				    "counterexample of each, as JSON" },
	CLI_OPTS_END
};

static const struct cli_command cmd = {
	.name = "study barriers",
	.synopsis = "[options]",
	.about = "Which barrier each verdict rests on. Under each memory model (tso: x86's\n"
		 "store buffers; weak: arm64-like) the Spin model checks every cell\n"
		 "(profile x scenario x PMD re-check x sync policy) with every barrier,\n"
		 "then each safe cell with one named barrier left out: the cells that turn\n"
		 "unsafe need it. Prints the table barrier -> cells, and one counterexample\n"
		 "for each barrier some cell needs. Exit 1 when a cell with every barrier\n"
		 "disagrees with the rule, or a check has no verdict.\n",
	.opts = options,
	.notes = "Needs spin and gcc (apt-get install spin gcc). docs/memory.md has the\n"
		 "table this prints for the default cells.\n",
};

static int add_memory(const char *name, void *arg)
{
	struct barrier_study *st = arg;
	enum memory_model m;

	if (memory_model_parse(name, &m) || m == MEMORY_SC)
		return cli_error("bad --memory", name,
				 "tso, weak (under sc no barrier is there to drop)");
	st->memory[m] = true;
	return 0;
}

static int parse(struct barrier_study *st, int argc, char **argv)
{
	struct lab_cli_kernel k = { 0 };
	char err[768];
	uint64_t u;
	int c, ret = 0;
	bool any;

	while ((c = cli_getopt(&cmd, argc, argv, &ret)) != -1) {
		const char *v = optarg;

		switch (c) {
		case CLI_STOP:
			return ret ? ret : -1;
		case OPT_PROFILES:
			if (!profile_set_add_names(&st->profiles, v))
				return CLI_EXIT_USAGE;
			break;
		case OPT_PROFILE_FILE:
			if (!profile_set_add_file(&st->profiles, v))
				return CLI_EXIT_USAGE;
			break;
		case OPT_SCENARIOS:
			if (!lab_cli_scenarios(v, st->scenario))
				return CLI_EXIT_USAGE;
			break;
		case OPT_POLICIES:
			if (!lab_cli_kernel_parse(LAB_CLI_OPT_SYNC, v, true, &k))
				return CLI_EXIT_USAGE;
			memcpy(st->policy, k.sync, sizeof(st->policy));
			break;
		case OPT_MEMORY:
			if ((ret = cli_for_each_name(v, "tso, weak", add_memory, st)))
				return ret;
			break;
		case OPT_BARRIERS:
			if (barrier_list_parse(v, &st->barriers, err, sizeof(err))) {
				return cli_error("bad --barriers", v, err);
			}
			break;
		case OPT_JOBS:
			if (!cli_parse_u64(v, 1, 256, &u))
				return cli_error("bad --jobs", v, "1..256");
			st->jobs = (unsigned int)u;
			break;
		case OPT_JSON:
			st->json = v;
			break;
		}
	}
	profile_set_default(&st->profiles);
	any = false;
	for (int s = 0; s < SCENARIO_COUNT; s++)
		any |= st->scenario[s];
	if (!any)
		st->scenario[SCENARIO_COLLAPSE_ZAP] = st->scenario[SCENARIO_COLLAPSE_PIN] =
			st->scenario[SCENARIO_MUNMAP] = true;
	any = false;
	for (int p = 0; p < SYNC_POLICIES; p++)
		any |= st->policy[p];
	if (!any)
		memset(st->policy, 1, sizeof(st->policy));
	if (!st->memory[MEMORY_TSO] && !st->memory[MEMORY_WEAK])
		st->memory[MEMORY_TSO] = st->memory[MEMORY_WEAK] = true;
	if (!st->barriers)
		st->barriers = BARRIER_BIT(BARRIERS) - 1;
	return st->json ? cli_check_output("--json file", st->json) : 0;
}

/* ---- checking ---- */

static void progress(void *arg, size_t done, size_t n)
{
	const struct barrier_study *st = arg;

	(void)n;
	fprintf(stderr, "\r\033[K[%zu/%zu] checks, %.0f s", st->checked + done, st->total,
		monotonic_s() - st->start);
}

static int check(struct barrier_study *st, const struct ptlab_cell *cells, size_t n,
		 struct ptlab_model_result *res)
{
	struct ptlab_model_options o = { .jobs = st->jobs };
	int err;

	if (isatty(2)) {
		o.progress = progress;
		o.progress_arg = st;
	}
	err = n ? ptlab_model_check(&o, cells, n, res) : 0;
	st->checked += n;
	return err;
}

/* The base cells: profile x scenario x re-check x policy, under @m. */
static struct ptlab_cell *base_cells(const struct barrier_study *st, enum memory_model m,
				     size_t *n)
{
	struct ptlab_cell *cells = calloc(st->profiles.n * SCENARIO_COUNT * 2 * SYNC_POLICIES,
					  sizeof(*cells));
	size_t k = 0;

	for (size_t p = 0; cells && p < st->profiles.n; p++)
		for (int s = 0; s < SCENARIO_COUNT; s++)
			for (int pr = 0; st->scenario[s] && pr < 2; pr++)
				for (int pol = 0; pol < SYNC_POLICIES; pol++) {
					if (!st->policy[pol])
						continue;
					cells[k] = ptlab_cell_default(
						st->profiles.list[p],
						(struct ptlab_fixes){ .pmd_recheck = pr,
								      .sync = (enum sync_policy)pol },
						(enum scenario)s);
					cells[k++].memory = m;
				}
	*n = k;
	return cells;
}

/* Keeps the counterexample of the first unsafe result of @res alone (the
 * one the study prints, @keep_first), so that what the study holds is a
 * fixed-size result per check, not every check's steps. */
static void drop_steps(struct ptlab_model_result *res, size_t n, bool keep_first)
{
	for (size_t i = 0; i < n; i++) {
		if (keep_first && res[i].verdict == MODEL_UNSAFE) {
			keep_first = false;
			continue;
		}
		ptlab_model_result_release(&res[i]);
	}
}

static bool wanted(const struct barrier_study *st, enum memory_model m, int b)
{
	return st->memory[m] && (st->barriers & BARRIER_BIT(b)) &&
	       (barrier_info((enum barrier)b)->models & (1u << m));
}

static int run(struct barrier_study *st)
{
	size_t nsafe[MEMORY_MODELS] = { 0 };
	int err;

	st->start = monotonic_s();
	for (int m = MEMORY_TSO; m < MEMORY_MODELS; m++) {
		if (!st->memory[m])
			continue;
		st->base[m] = base_cells(st, (enum memory_model)m, &st->nbase);
		st->base_res[m] = calloc(st->nbase ? st->nbase : 1, sizeof(struct ptlab_model_result));
		if (!st->base[m] || !st->base_res[m])
			return -ENOMEM;
		st->total += st->nbase;
	}
	for (int m = MEMORY_TSO; m < MEMORY_MODELS; m++) {
		if (st->memory[m] && (err = check(st, st->base[m], st->nbase, st->base_res[m])))
			return err;
		if (st->memory[m])
			drop_steps(st->base_res[m], st->nbase, false);
	}
	for (int m = MEMORY_TSO; m < MEMORY_MODELS; m++)
		for (size_t i = 0; st->memory[m] && i < st->nbase; i++)
			nsafe[m] += st->base_res[m][i].verdict == MODEL_SAFE;
	for (int m = MEMORY_TSO; m < MEMORY_MODELS; m++)
		for (int b = 0; b < BARRIERS; b++)
			if (wanted(st, (enum memory_model)m, b))
				st->total += nsafe[m];
	for (int m = MEMORY_TSO; m < MEMORY_MODELS; m++)
		for (int b = 0; b < BARRIERS; b++) {
			size_t k = 0;

			if (!wanted(st, (enum memory_model)m, b))
				continue;
			st->drop[m][b] = calloc(nsafe[m] ? nsafe[m] : 1, sizeof(struct ptlab_cell));
			st->drop_res[m][b] = calloc(nsafe[m] ? nsafe[m] : 1,
						    sizeof(struct ptlab_model_result));
			if (!st->drop[m][b] || !st->drop_res[m][b])
				return -ENOMEM;
			for (size_t i = 0; i < st->nbase; i++)
				if (st->base_res[m][i].verdict == MODEL_SAFE) {
					st->drop[m][b][k] = st->base[m][i];
					st->drop[m][b][k++].dropped = BARRIER_BIT(b);
				}
			st->ndrop[m][b] = k;
			if ((err = check(st, st->drop[m][b], k, st->drop_res[m][b])))
				return err;
			drop_steps(st->drop_res[m][b], k, true);
		}
	if (isatty(2))
		fputs("\r\033[K", stderr);
	return 0;
}

/* ---- output ---- */

static void cell_words(const struct ptlab_cell *c, char *buf, size_t len)
{
	char fixes[40];

	ptlab_fixes_words(c->fixes, fixes, sizeof(fixes));
	snprintf(buf, len, "%s %s", scenario_name(c->scenario), fixes);
}

/*
 * The cells of drop[m][b] that turned unsafe, one line per scenario and
 * fix setting with the profiles that need it there; @limit lines at most
 * (0: all), then how many more.
 */
static size_t print_needing(FILE *f, const struct barrier_study *st, int m, int b,
			    const char *indent)
{
	const struct ptlab_cell *cells = st->drop[m][b];
	const struct ptlab_model_result *res = st->drop_res[m][b];
	size_t n = st->ndrop[m][b], lines = 0;
	bool *done = calloc(n ? n : 1, sizeof(*done));

	if (!done)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char key[96], other[96];

		if (done[i] || res[i].verdict != MODEL_UNSAFE)
			continue;
		cell_words(&cells[i], key, sizeof(key));
		fprintf(f, "%s%-40s %s", indent, key, cells[i].profile->name);
		for (size_t j = i + 1; j < n; j++) {
			if (done[j] || res[j].verdict != MODEL_UNSAFE)
				continue;
			cell_words(&cells[j], other, sizeof(other));
			if (!strcmp(key, other)) {
				fprintf(f, ", %s", cells[j].profile->name);
				done[j] = true;
			}
		}
		fprintf(f, "\n");
		lines++;
	}
	free(done);
	return lines;
}

static size_t count_verdict(const struct ptlab_model_result *res, size_t n,
			    enum model_verdict v)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += res[i].verdict == v;
	return k;
}

static size_t base_disagreements(const struct barrier_study *st)
{
	size_t bad = 0;

	for (int m = MEMORY_TSO; m < MEMORY_MODELS; m++)
		for (size_t i = 0; st->memory[m] && i < st->nbase; i++)
			bad += ptlab_model_judge(&st->base[m][i], &st->base_res[m][i]) != MODEL_PASS;
	return bad;
}

static size_t drop_errors(const struct barrier_study *st)
{
	size_t bad = 0;

	for (int m = MEMORY_TSO; m < MEMORY_MODELS; m++)
		for (int b = 0; b < BARRIERS; b++)
			bad += count_verdict(st->drop_res[m][b], st->ndrop[m][b], MODEL_ERROR);
	return bad;
}

/* The first cell of drop[m][b] that turned unsafe, or -1. */
static long first_unsafe(const struct barrier_study *st, int m, int b)
{
	for (size_t i = 0; i < st->ndrop[m][b]; i++)
		if (st->drop_res[m][b][i].verdict == MODEL_UNSAFE)
			return (long)i;
	return -1;
}

static void print_table(const struct barrier_study *st)
{
	printf("%-16s %-6s %7s %8s  %s\n", "barrier", "memory", "needed", "of safe",
	       "cells that need it: scenario fixes, profiles");
	for (int b = 0; b < BARRIERS; b++)
		for (int m = MEMORY_TSO; m < MEMORY_MODELS; m++) {
			const struct barrier_info *bi = barrier_info((enum barrier)b);
			size_t n = st->ndrop[m][b];

			if (!st->memory[m] || !(st->barriers & BARRIER_BIT(b)))
				continue;
			if (!(bi->models & (1u << m))) {
				printf("%-16s %-6s %7s %8s  (not a barrier of %s)\n", bi->name,
				       memory_model_name((enum memory_model)m), "-", "-",
				       memory_model_name((enum memory_model)m));
				continue;
			}
			printf("%-16s %-6s %7zu %8zu%s\n", bi->name,
			       memory_model_name((enum memory_model)m),
			       count_verdict(st->drop_res[m][b], n, MODEL_UNSAFE), n,
			       count_verdict(st->drop_res[m][b], n, MODEL_UNSAFE) ? "" :
			       "  none");
			print_needing(stdout, st, m, b, "    ");
		}
}

static void print_trails(const struct barrier_study *st)
{
	for (int b = 0; b < BARRIERS; b++)
		for (int m = MEMORY_TSO; m < MEMORY_MODELS; m++) {
			long i = first_unsafe(st, m, b);
			const struct ptlab_model_result *r;
			char words[96];

			if (i < 0)
				continue;
			r = &st->drop_res[m][b][i];
			cell_words(&st->drop[m][b][i], words, sizeof(words));
			printf("\n%s dropped under %s: %s %s turns unsafe (%s, %s walker):\n",
			       barrier_info((enum barrier)b)->name,
			       memory_model_name((enum memory_model)m),
			       st->drop[m][b][i].profile->name, words,
			       violation_kind_name(r->kind), walker_kind_name(r->walker));
			for (size_t s = 0; s < r->nsteps; s++)
				printf("  %3zu. %s\n", s + 1, r->steps[s]);
		}
}

static void json_cell(struct json *j, const struct ptlab_cell *c,
		      const struct ptlab_model_result *r)
{
	json_object_begin(j, NULL);
	json_string(j, "profile", c->profile->name);
	json_string(j, "scenario", scenario_name(c->scenario));
	json_bool(j, "pmd_recheck", c->fixes.pmd_recheck);
	json_string(j, "sync", sync_policy_name(c->fixes.sync));
	lab_cli_json_memory(j, c->memory, c->dropped);
	json_string(j, "model", model_verdict_name(r->verdict));
	if (r->verdict == MODEL_UNSAFE)
		json_string(j, "kind", violation_kind_name(r->kind));
	json_u64(j, "states", r->states);
	json_object_end(j);
}

static int write_json(const struct barrier_study *st, double seconds)
{
	FILE *f = fopen(st->json, "w");
	struct json j;

	if (!f) {
		fprintf(stderr, "ptlab: cannot write %s: %s\n", st->json, strerror(errno));
		return -1;
	}
	json_init(&j, f);
	json_object_begin(&j, NULL);
	json_array_begin(&j, "barriers");
	for (int b = 0; b < BARRIERS; b++) {
		const struct barrier_info *bi = barrier_info((enum barrier)b);

		if (!(st->barriers & BARRIER_BIT(b)))
			continue;
		json_object_begin(&j, NULL);
		json_string(&j, "name", bi->name);
		json_string(&j, "kernel", bi->kernel);
		json_string(&j, "orders", bi->orders);
		json_bool(&j, "lab", bi->lab);
		json_array_begin(&j, "memory");
		for (int m = MEMORY_TSO; m < MEMORY_MODELS; m++) {
			long first = first_unsafe(st, m, b);

			if (!st->memory[m])
				continue;
			json_object_begin(&j, NULL);
			json_string(&j, "memory", memory_model_name((enum memory_model)m));
			json_bool(&j, "present", bi->models & (1u << m));
			json_u64(&j, "safe_cells", st->ndrop[m][b]);
			json_array_begin(&j, "needed_by");
			for (size_t i = 0; i < st->ndrop[m][b]; i++)
				if (st->drop_res[m][b][i].verdict == MODEL_UNSAFE)
					json_cell(&j, &st->drop[m][b][i], &st->drop_res[m][b][i]);
			json_array_end(&j);
			if (first >= 0) {
				const struct ptlab_model_result *r = &st->drop_res[m][b][first];

				json_object_begin(&j, "trail");
				json_string(&j, "profile", st->drop[m][b][first].profile->name);
				json_string(&j, "kind", violation_kind_name(r->kind));
				json_array_begin(&j, "steps");
				for (size_t s = 0; s < r->nsteps; s++)
					json_string(&j, NULL, r->steps[s]);
				json_array_end(&j);
				json_object_end(&j);
			}
			json_object_end(&j);
		}
		json_array_end(&j);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_u64(&j, "base_cells", st->nbase);
	json_u64(&j, "base_disagreements", base_disagreements(st));
	json_u64(&j, "errors", drop_errors(st));
	json_u64(&j, "checks", st->checked);
	json_double(&j, "seconds", seconds);
	json_object_end(&j);
	json_finish(&j);
	if (fclose(f)) {
		fprintf(stderr, "ptlab: cannot write %s: %s\n", st->json, strerror(errno));
		return -1;
	}
	return 0;
}

static void release(struct barrier_study *st)
{
	for (int m = 0; m < MEMORY_MODELS; m++) {
		for (size_t i = 0; st->base_res[m] && i < st->nbase; i++)
			ptlab_model_result_release(&st->base_res[m][i]);
		free(st->base[m]);
		free(st->base_res[m]);
		for (int b = 0; b < BARRIERS; b++) {
			for (size_t i = 0; i < st->ndrop[m][b]; i++)
				ptlab_model_result_release(&st->drop_res[m][b][i]);
			free(st->drop[m][b]);
			free(st->drop_res[m][b]);
		}
	}
	profile_set_release(&st->profiles);
}

int study_barriers(int argc, char **argv)
{
	struct barrier_study st = { 0 };
	char msg[256];
	size_t bad, errors;
	double seconds;
	int ret = parse(&st, argc, argv), err;

	if (ret) {
		release(&st);
		return ret < 0 ? 0 : ret;
	}
	if (ptlab_model_tools(msg, sizeof(msg))) {
		fprintf(stderr, "ptlab: %s\n", msg);
		release(&st);
		return 1;
	}
	err = run(&st);
	if (err) {
		fprintf(stderr, "ptlab: cannot run the model: %s\n", strerror(-err));
		release(&st);
		return 1;
	}
	seconds = monotonic_s() - st.start;
	bad = base_disagreements(&st);
	errors = drop_errors(&st);
	printf("ptlab study barriers: %zu cells per memory model, %zu checks in %.0f s\n",
	       st.nbase, st.checked, seconds);
	print_table(&st);
	print_trails(&st);
	printf("\nwith every barrier: %zu cells disagree with the rule (or have no verdict); "
	       "%zu checks without a barrier have no verdict\n", bad, errors);
	ret = bad || errors;
	if (st.json && write_json(&st, seconds))
		ret = 1;
	release(&st);
	return ret;
}
