// SPDX-License-Identifier: MIT
/*
 * ptlab study sync: the 2026 question, which CPUs must
 * tlb_remove_table_sync_one() interrupt? Every policy (enum sync_policy)
 * on every profile: its safety by both oracles (the Spin model, complete;
 * the stress lab, with the matrix's evidence rules on a short budget) on
 * every scenario with and without the PMD re-check, the CPUs a collapse
 * interrupts when k of 64 CPUs run the mm, and what the walkers policy's
 * marker adds to GUP-fast; one table, and JSON.
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
#include "ptlab/synccost.h"
#include "util/cli.h"
#include "util/json.h"

#define MAX_K 8
/* Margin over --min-overlaps at which a safe cell stops, as the matrix. */
#define STUDY_EVIDENCE_MARGIN 3

struct sync_cell {
	struct ptlab_cell cell;
	struct ptlab_expectation exp;
	enum lab_verdict lab;
	char why[200];
	struct ptlab_model_result model;
};

struct sync_study {
	/* --profiles and --profile-file (none: every built-in profile) */
	struct profile_set profiles;
	bool policy[SYNC_POLICIES];
	unsigned int cpus, ks[MAX_K], nk, collapses, rounds;
	double seconds;
	bool run_model, run_lab, run_cost;
	const char *json;
	struct sync_cell *cells;
	size_t n;
	/* costs[profile][policy][k] */
	struct sync_cost (*costs)[SYNC_POLICIES][MAX_K];
	int cost_err;
	struct gup_marker_cost marker;
	int marker_err;
};

enum {
	OPT_PROFILES = 'p', OPT_PROFILE_FILE = CLI_OPT_FIRST, OPT_POLICIES, OPT_CPUS, OPT_MM_CPUS,
	OPT_COLLAPSES, OPT_SECONDS, OPT_ROUNDS, OPT_NO_MODEL, OPT_NO_LAB, OPT_NO_COST, OPT_JSON,
};

static const struct cli_opt options[] = {
	{ "profiles", OPT_PROFILES, "LIST", "profiles (default all, or none with --profile-file)" },
	{ "profile-file", OPT_PROFILE_FILE, "FILE",
	  "also a profile of your own: one entry of `ptlab profiles --json` in a file, "
	  "renamed (repeatable)" },
	{ "sync", OPT_POLICIES, "LIST", "sync policies (default all six)" },
	{ "policies", OPT_POLICIES, "LIST", NULL },
	{ "cpus", OPT_CPUS, "N", "simulated CPUs for the costs, 2..64 (default 64)" },
	{ "mm-cpus", OPT_MM_CPUS, "LIST",
	  "k: CPUs running the mm, up to " CLI_XSTR(MAX_K) " values of 1..--cpus (default "
	  "1,4,16,63)" },
	{ "collapses", OPT_COLLAPSES, "N", "collapses per cost cell, 1..1000 (default 5)" },
	{ "seconds", OPT_SECONDS, "S",
	  "stress budget per cell, 0.05..60 (default 0.3; a cell stops once its verdict is "
	  "in)" },
	{ "rounds", OPT_ROUNDS, "N", "rounds of the GUP-fast marker cost, 3..64 (default 7)" },
	{ "no-model", OPT_NO_MODEL, NULL, "leave the Spin model's part out" },
	{ "no-lab", OPT_NO_LAB, NULL, "leave the stress lab's part out" },
	{ "no-cost", OPT_NO_COST, NULL, "leave the costs out" },
	{ "json", OPT_JSON, "FILE", "also write every cell, cost and counterexample as JSON" },
	CLI_OPTS_END
};

static const struct cli_command cmd = {
	.name = "study sync",
	.synopsis = "[options]",
	.about = "The 2026 question: which CPUs must tlb_remove_table_sync_one() interrupt?\n"
		 "For each sync policy (none, all, skip-if-flush-ipi, skip-naive, walkers,\n"
		 "mm-cpumask) on each profile: its safety by the Spin model and by the\n"
		 "stress lab on every scenario, with and without the PMD re-check; the CPUs\n"
		 "a collapse interrupts when k of --cpus CPUs run the mm; and the cost of\n"
		 "the walkers policy's marker on GUP-fast. Exit 1 when an oracle disagrees\n"
		 "with the rule.\n",
	.opts = options,
};

/* "1,4,16,63" into st->ks; false after the error. */
static bool parse_ks(const char *list, struct sync_study *st)
{
	char allowed[64];

	snprintf(allowed, sizeof(allowed), "up to %d values of 1..%d, comma-separated", MAX_K,
		 PTLAB_MAX_CPUS);
	st->nk = 0;
	for (const char *p = list;; p++) {
		size_t n = strcspn(p, ",");
		char one[16];
		uint64_t u;

		if (n >= sizeof(one) || st->nk == MAX_K) {
			cli_error("bad --mm-cpus", list, allowed);
			return false;
		}
		memcpy(one, p, n);
		one[n] = '\0';
		if (!cli_parse_u64(one, 1, PTLAB_MAX_CPUS, &u)) {
			cli_error("bad --mm-cpus", list, allowed);
			return false;
		}
		st->ks[st->nk++] = (unsigned int)u;
		p += n;
		if (!*p)
			return true;
	}
}

static int parse(struct sync_study *st, int argc, char **argv)
{
	struct lab_cli_kernel k = { 0 };
	uint64_t u;
	int c, ret = 0;

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
		case OPT_POLICIES:
			if (!lab_cli_kernel_parse(LAB_CLI_OPT_SYNC, v, true, &k))
				return CLI_EXIT_USAGE;
			memcpy(st->policy, k.sync, sizeof(st->policy));
			break;
		case OPT_CPUS:
			if (!cli_parse_u64(v, 2, PTLAB_MAX_CPUS, &u))
				return cli_error("bad --cpus", v, "2..64");
			st->cpus = (unsigned int)u;
			break;
		case OPT_MM_CPUS:
			if (!parse_ks(v, st))
				return CLI_EXIT_USAGE;
			break;
		case OPT_COLLAPSES:
			if (!cli_parse_u64(v, 1, 1000, &u))
				return cli_error("bad --collapses", v, "1..1000");
			st->collapses = (unsigned int)u;
			break;
		case OPT_SECONDS:
			if (!cli_parse_double(v, 0.05, 60, &st->seconds))
				return cli_error("bad --seconds", v, "0.05..60");
			break;
		case OPT_ROUNDS:
			if (!cli_parse_u64(v, 3, 64, &u))
				return cli_error("bad --rounds", v, "3..64");
			st->rounds = (unsigned int)u;
			break;
		case OPT_NO_MODEL:
			st->run_model = false;
			break;
		case OPT_NO_LAB:
			st->run_lab = false;
			break;
		case OPT_NO_COST:
			st->run_cost = false;
			break;
		case OPT_JSON:
			st->json = v;
			break;
		}
	}
	for (unsigned int i = 0; i < st->nk; i++)
		if (st->ks[i] > st->cpus) {
			char value[16], allowed[32];

			snprintf(value, sizeof(value), "%u", st->ks[i]);
			snprintf(allowed, sizeof(allowed), "1..%u (--cpus)", st->cpus);
			return cli_error("bad --mm-cpus", value, allowed);
		}
	return st->json ? cli_check_output("--json file", st->json) : 0;
}

/* The cells: profile x scenario x (PMD re-check off, on) x policy. */
static int make_cells(struct sync_study *st)
{
	size_t np = st->profiles.n;

	st->cells = calloc(np * SCENARIO_COUNT * 2 * SYNC_POLICIES, sizeof(*st->cells));
	if (!st->cells)
		return -ENOMEM;
	for (size_t p = 0; p < np; p++)
		for (int s = 0; s < SCENARIO_COUNT; s++)
			for (int pr = 0; pr < 2; pr++)
				for (int pol = 0; pol < SYNC_POLICIES; pol++) {
					struct sync_cell *c;

					if (!st->policy[pol])
						continue;
					c = &st->cells[st->n++];
					c->cell = ptlab_cell_default(
						st->profiles.list[p],
						(struct ptlab_fixes){ .pmd_recheck = pr,
								      .sync = (enum sync_policy)pol },
						(enum scenario)s);
					c->exp = ptlab_expect_cell(&c->cell);
					c->lab = LAB_INCONCLUSIVE;
				}
	return 0;
}

static void progress_line(const char *what, size_t i, size_t n)
{
	if (isatty(2))
		fprintf(stderr, "\r\033[K%s %zu/%zu", what, i + 1, n);
}

static void progress_done(void)
{
	if (isatty(2))
		fputs("\r\033[K", stderr);
}

static int run_model(struct sync_study *st)
{
	struct ptlab_model_options o = { 0 };
	struct ptlab_cell *cells = calloc(st->n, sizeof(*cells));
	struct ptlab_model_result *res = calloc(st->n, sizeof(*res));
	char msg[256];
	int ret;

	if (!cells || !res) {
		free(cells);
		free(res);
		return -ENOMEM;
	}
	if (ptlab_model_tools(msg, sizeof(msg))) {
		fprintf(stderr, "ptlab: %s\n", msg);
		free(cells);
		free(res);
		return -ENOENT;
	}
	if (isatty(2))
		fprintf(stderr, "the model: %zu cells...", st->n);
	for (size_t i = 0; i < st->n; i++)
		cells[i] = st->cells[i].cell;
	ret = ptlab_model_check(&o, cells, st->n, res);
	progress_done();
	for (size_t i = 0; !ret && i < st->n; i++)
		st->cells[i].model = res[i];
	free(cells);
	free(res);
	return ret;
}

static void run_lab(struct sync_study *st)
{
	for (size_t i = 0; i < st->n; i++) {
		struct sync_cell *c = &st->cells[i];
		struct lab_run_config cfg;
		struct lab_result r;
		int err;

		progress_line("the stress lab: cell", i, st->n);
		lab_run_config_default(&cfg, c->cell.profile, c->cell.fixes, c->cell.scenario);
		cfg.seconds = st->seconds;
		cfg.stop_at_defended = STUDY_EVIDENCE_MARGIN * LAB_MIN_OVERLAPS_DEFAULT;
		/* As the matrix: more attempts, longer, for a cell short of
		 * evidence or an unsafe one that showed nothing. */
		for (int attempt = 0; attempt < 3; attempt++) {
			cfg.seed = 1 + (uint64_t)attempt;
			err = lab_run(&cfg, &r);
			c->lab = lab_judge(&cfg, &r, err, &c->exp, LAB_MIN_OVERLAPS_DEFAULT, c->why,
					   sizeof(c->why));
			if (c->lab == LAB_PASS || err ||
			    (c->lab == LAB_FAIL && !(c->exp.unsafe && !lab_total_violations(&r))))
				break;
			cfg.seconds *= 2;
		}
	}
	progress_done();
}

static void run_costs(struct sync_study *st)
{
	size_t np = st->profiles.n, done = 0, total = 0;

	for (size_t p = 0; p < np; p++)
		for (int pol = 0; pol < SYNC_POLICIES; pol++)
			total += st->policy[pol] ? st->nk : 0;
	for (size_t p = 0; p < np && !st->cost_err; p++)
		for (int pol = 0; pol < SYNC_POLICIES && !st->cost_err; pol++)
			for (unsigned int k = 0; k < st->nk && !st->cost_err; k++) {
				struct sync_cost_config c = {
					.profile = st->profiles.list[p],
					.policy = (enum sync_policy)pol, .cpus = st->cpus,
					.mm_cpus = st->ks[k], .collapses = st->collapses,
				};

				if (!st->policy[pol])
					continue;
				progress_line("the costs: cell", done++, total);
				st->cost_err = ptlab_sync_cost(&c, &st->costs[p][pol][k]);
			}
	progress_done();
	if (!st->cost_err) {
		if (isatty(2))
			fprintf(stderr, "the marker's cost on GUP-fast...");
		st->marker_err = ptlab_gup_marker_cost(st->rounds, 1000000, &st->marker);
		progress_done();
	}
}

/* The verdict of one oracle over @profile x @pol with the PMD re-check
 * on, into @buf: "safe", or "unsafe:" and the scenarios. @lab: the lab's
 * (by its verdict against the rule), else the model's. */
static void verdict_words(const struct sync_study *st, const struct ptlab_profile *profile,
			  enum sync_policy pol, bool lab, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < st->n; i++) {
		const struct sync_cell *c = &st->cells[i];
		bool unsafe;

		if (c->cell.profile != profile || c->cell.fixes.sync != pol ||
		    !c->cell.fixes.pmd_recheck)
			continue;
		if (lab)
			unsafe = c->lab == LAB_PASS ? c->exp.unsafe : !c->exp.unsafe;
		else
			unsafe = c->model.verdict == MODEL_UNSAFE;
		if (!unsafe)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "unsafe:",
					 scenario_name(c->cell.scenario));
		if (used >= len)
			break;
	}
	if (!buf[0])
		snprintf(buf, len, "safe");
}

static void print_table(const struct sync_study *st)
{
	size_t np = st->profiles.n;

	printf("\nWith the PMD re-check on; IPIs per collapse (the flush's + the sync's) when k "
	       "of %u CPUs run the mm\n", st->cpus);
	printf("%-18s %-15s %-44s %-44s", "policy", "profile", "stress lab", "model");
	for (unsigned int k = 0; k < st->nk; k++)
		printf(" k=%-7u", st->ks[k]);
	printf("\n");
	for (int pol = 0; pol < SYNC_POLICIES; pol++)
		for (size_t p = 0; p < np; p++) {
			char lab[160] = "-", model[160] = "-";

			if (!st->policy[pol])
				continue;
			if (st->run_lab)
				verdict_words(st, st->profiles.list[p], (enum sync_policy)pol, true,
					      lab, sizeof(lab));
			if (st->run_model)
				verdict_words(st, st->profiles.list[p], (enum sync_policy)pol,
					      false, model, sizeof(model));
			printf("%-18s %-15s %-44s %-44s", sync_policy_name((enum sync_policy)pol),
			       st->profiles.list[p]->name, lab, model);
			for (unsigned int k = 0; k < st->nk; k++) {
				const struct sync_cost *x = &st->costs[p][pol][k];
				char ipis[24] = "-";

				if (st->run_cost && !st->cost_err)
					snprintf(ipis, sizeof(ipis), "%.0f+%.0f", x->flush_ipis,
						 x->sync_ipis);
				printf(" %-9s", ipis);
			}
			printf("\n");
		}
	if (st->run_cost && st->cost_err)
		printf("costs: error: %s\n", strerror(-st->cost_err));
	else if (st->run_cost && !st->marker_err)
		printf("\nGUP-fast pin+unpin of one page: %.1f ns, with the walkers marker %.1f ns "
		       "(+%.1f%%)\n", st->marker.ns_plain, st->marker.ns_marked,
		       100.0 * (st->marker.ns_marked - st->marker.ns_plain) / st->marker.ns_plain);
}

/* Prints the disagreements; returns how many cells disagree. */
static size_t disagreements(const struct sync_study *st)
{
	size_t bad = 0, lab_pass = 0, model_pass = 0;

	for (size_t i = 0; i < st->n; i++) {
		const struct sync_cell *c = &st->cells[i];
		char name[128];
		bool lab_bad = st->run_lab && c->lab != LAB_PASS;
		bool model_bad = st->run_model && ptlab_model_judge(&c->cell, &c->model) != MODEL_PASS;

		lab_pass += st->run_lab && !lab_bad;
		model_pass += st->run_model && !model_bad;
		if (!lab_bad && !model_bad)
			continue;
		bad++;
		ptlab_model_cell_name(&c->cell, name, sizeof(name));
		printf("%s: rule %s", name, c->exp.unsafe ? "unsafe" : "safe");
		if (lab_bad)
			printf("; lab %s (%s)", lab_verdict_name(c->lab), c->why);
		if (model_bad)
			printf("; model %s%s%s", model_verdict_name(c->model.verdict),
			       c->model.error[0] ? ": " : "", c->model.error);
		printf("\n");
	}
	printf("\n%zu cells (profile x scenario x PMD re-check x policy):", st->n);
	if (st->run_lab)
		printf(" the stress lab agrees with the rule on %zu,", lab_pass);
	if (st->run_model)
		printf(" the model on %zu,", model_pass);
	printf(" %zu disagree\n", bad);
	return bad;
}

static int write_json(const struct sync_study *st)
{
	size_t np = st->profiles.n;
	struct json j;
	FILE *f = json_file_open(&j, st->json);

	if (!f)
		return 1;
	json_object_begin(&j, NULL);
	json_string(&j, "study", "sync");
	json_array_begin(&j, "cells");
	for (size_t i = 0; i < st->n; i++) {
		const struct sync_cell *c = &st->cells[i];

		json_object_begin(&j, NULL);
		json_string(&j, "profile", c->cell.profile->name);
		json_string(&j, "scenario", scenario_name(c->cell.scenario));
		json_bool(&j, "pmd_recheck", c->cell.fixes.pmd_recheck);
		json_string(&j, "sync", sync_policy_name(c->cell.fixes.sync));
		json_string(&j, "expected", c->exp.unsafe ? "unsafe" : "safe");
		if (st->run_lab) {
			json_string(&j, "lab_verdict", lab_verdict_name(c->lab));
			if (c->why[0])
				json_string(&j, "lab_reason", c->why);
		}
		if (st->run_model) {
			json_string(&j, "model_verdict", model_verdict_name(c->model.verdict));
			json_string(&j, "model_judgement",
				    model_judgement_name(ptlab_model_judge(&c->cell, &c->model)));
			json_array_begin(&j, "counterexample");
			for (size_t k = 0; k < c->model.nsteps; k++)
				json_string(&j, NULL, c->model.steps[k]);
			json_array_end(&j);
		}
		json_object_end(&j);
	}
	json_array_end(&j);
	json_array_begin(&j, "sync_policy_cost");
	for (size_t p = 0; st->run_cost && !st->cost_err && p < np; p++)
		for (int pol = 0; pol < SYNC_POLICIES; pol++)
			for (unsigned int k = 0; k < st->nk; k++) {
				const struct sync_cost *x = &st->costs[p][pol][k];

				if (!st->policy[pol])
					continue;
				json_object_begin(&j, NULL);
				json_string(&j, "policy", sync_policy_name((enum sync_policy)pol));
				json_string(&j, "profile", st->profiles.list[p]->name);
				json_u64(&j, "cpus", st->cpus);
				json_u64(&j, "mm_cpus", st->ks[k]);
				json_double(&j, "interrupted", x->flush_ipis + x->sync_ipis);
				json_double(&j, "waited", x->waited);
				json_double(&j, "flush_ipis", x->flush_ipis);
				json_double(&j, "sync_ipis", x->sync_ipis);
				json_double(&j, "ns_per_op", x->sync_ns);
				json_u64(&j, "collapses", x->attempts);
				json_object_end(&j);
			}
	json_array_end(&j);
	if (st->run_cost && !st->cost_err && !st->marker_err) {
		json_object_begin(&j, "gup_marker");
		json_double(&j, "ns_plain", st->marker.ns_plain);
		json_double(&j, "ns_marked", st->marker.ns_marked);
		json_object_end(&j);
	}
	json_object_end(&j);
	return json_file_close(&j, f, st->json);
}

int study_sync(int argc, char **argv)
{
	struct sync_study st = { .cpus = PTLAB_MAX_CPUS, .ks = { 1, 4, 16, 63 }, .nk = 4,
				 .collapses = 5, .rounds = 7, .seconds = 0.3, .run_model = true,
				 .run_lab = true, .run_cost = true };
	size_t bad = 0;
	int ret;

	memset(st.policy, 1, sizeof(st.policy));
	ret = parse(&st, argc, argv);
	if (ret) {
		profile_set_release(&st.profiles);
		return ret < 0 ? 0 : ret;
	}
	profile_set_default(&st.profiles);
	st.costs = calloc(st.profiles.n, sizeof(*st.costs));
	if (!st.costs || make_cells(&st)) {
		free(st.costs);
		profile_set_release(&st.profiles);
		fprintf(stderr, "ptlab: out of memory\n");
		return 1;
	}
	printf("ptlab study sync: %zu cells", st.n);
	if (st.run_cost)
		printf(", costs at %u CPUs", st.cpus);
	printf("\n");
	fflush(stdout);
	if (st.run_model && (ret = run_model(&st))) {
		fprintf(stderr, "ptlab: the model could not run: %s\n", strerror(-ret));
		st.run_model = false;
		bad++;
	}
	if (st.run_lab)
		run_lab(&st);
	if (st.run_cost)
		run_costs(&st);
	bad += disagreements(&st);
	print_table(&st);
	if (st.json && write_json(&st))
		bad++;
	for (size_t i = 0; i < st.n; i++)
		ptlab_model_result_release(&st.cells[i].model);
	free(st.cells);
	free(st.costs);
	profile_set_release(&st.profiles);
	return bad || (st.run_cost && st.cost_err) ? 1 : 0;
}
