// SPDX-License-Identifier: MIT
/*
 * The Spin model (model/ptlab.pml, `ptlab model`): every cell's verdict
 * and kinds of violation agree with the rule (in the quick tier, the
 * sample's: sample.h); every counterexample replays in Spin's own guided
 * simulation; a bug seeded into collapse is caught; a search cut short is
 * never "safe"; bad input is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "ptlab/model.h"
#include "model_matrix.h"
#include "sample.h"

#define OUT_LEN (1u << 20)

/* ---- helpers ---- */

/* Runs `ptlab model <args...>` (NULL-terminated); output into @out. */
static int run_model(char *out, const char *const *args)
{
	const char *argv[32] = { test_ptlab_path(), "model" };
	size_t n = 2;

	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	return test_run(argv, out, OUT_LEN);
}

static bool is_collapse(enum scenario s)
{
	return s == SCENARIO_COLLAPSE_ZAP || s == SCENARIO_COLLAPSE_PIN;
}

/* Every profile x fix setting x scenario, the default kernel (zeroed),
 * or with @sample the quick tier's sample of them (sample.h); with
 * @generations the collapse scenarios once per collapse-table generation
 * and retract once per retract generation. */
static const struct ptlab_cell *all_cells(size_t *n, bool generations, bool sample)
{
	static struct ptlab_cell cells[64 * PTLAB_FIX_SETTINGS * SCENARIO_COUNT *
				       COLLAPSE_TABLE_COUNT * RETRACT_COUNT];
	size_t k = 0;

	CHECK(ptlab_profiles_count() <= 64);
	for (size_t p = 0; p < ptlab_profiles_count(); p++)
		for (unsigned int f = 0; f < PTLAB_FIX_SETTINGS; f++)
			for (unsigned int s = 0; s < SCENARIO_COUNT; s++)
				for (int ct = 0; ct < COLLAPSE_TABLE_COUNT; ct++)
					for (int rg = 0; rg < RETRACT_COUNT; rg++) {
						if (ct != COLLAPSE_TABLE_REUSE &&
						    (!generations || !is_collapse((enum scenario)s)))
							continue;
						if (rg != RETRACT_FREE &&
						    (!generations || s != SCENARIO_RETRACT))
							continue;
						if (sample &&
						    (!sample_profile(&ptlab_profiles()[p]) ||
						     !sample_fix_setting(f)))
							continue;
						cells[k] = (struct ptlab_cell){
							.profile = &ptlab_profiles()[p],
							.fixes = ptlab_fix_setting(f),
							.scenario = (enum scenario)s,
						};
						cells[k].kernel.collapse_table = (enum collapse_table)ct;
						cells[k++].kernel.retract = (enum retract_gen)rg;
					}
	*n = k;
	return cells;
}

/* Whether two cells get the same model switches. */
static bool same_switches(const struct ptlab_cell *a, const struct ptlab_cell *b)
{
	const char *sa[PTLAB_MODEL_MAX_SWITCHES], *sb[PTLAB_MODEL_MAX_SWITCHES];
	size_t na = ptlab_model_switches(a, sa), nb = ptlab_model_switches(b, sb);

	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(sa[i], sb[i]))
			return false;
	return true;
}

/*
 * Replays the cell's trail, kept in @dir, with Spin's own guided
 * simulation and checks that it ends in a violation of @kind.
 */
static void check_replays(const char *dir, const struct ptlab_cell *c,
			  enum walker_kind walker, enum violation_kind kind, char *out)
{
	const char *sw[PTLAB_MODEL_MAX_SWITCHES];
	size_t nsw = ptlab_model_switches(c, sw);
	char cmd[1024], needle[64];
	int used, status;

	used = snprintf(cmd, sizeof(cmd), "cd '%s' && exec spin -t -T", dir);
	for (size_t i = 0; i < nsw; i++)
		used += snprintf(cmd + used, sizeof(cmd) - (size_t)used, " -D%s", sw[i]);
	snprintf(cmd + used, sizeof(cmd) - (size_t)used, " ptlab.pml");
	status = test_run((const char *const[]){ "/bin/sh", "-c", cmd, NULL }, out, OUT_LEN);
	snprintf(needle, sizeof(needle), "!(%s%s)", walker == WALKER_RCU ? "rcu_" : "",
		 violation_kind_name(kind));
	CHECK_MSG(status == 0, "%s: exit %d\n%s", cmd, status, out);
	CHECK_MSG(strstr(out, "assertion violated") && strstr(out, needle),
		  "%s: the trail does not replay to %s:\n%s", cmd, needle, out);
}

/* ---- the matrix ---- */

static void check_cell(const struct ptlab_cell *c,
		       const struct ptlab_model_result *r, const char *keep,
		       char *out)
{
	struct ptlab_expectation e = ptlab_expect_cell(c);
	char name[128], dir[512], violation[64];

	ptlab_model_cell_name(c, name, sizeof(name));
	CHECK_MSG(r->verdict != MODEL_ERROR, "%s: no verdict: %s", name, r->error);
	CHECK_MSG((r->verdict == MODEL_UNSAFE) == e.unsafe,
		  "%s: model says %s, the rule %s", name,
		  model_verdict_name(r->verdict), e.unsafe ? "unsafe" : "safe");
	for (int w = 0; w < WALKER_KINDS; w++)
		for (int k = 0; k < VIOLATION_KINDS; k++)
			CHECK_MSG(r->found_by_walker[w][k] == e.by_walker[w][k],
				  "%s: %s by %s walkers %s by the model, %s by the rule", name,
				  violation_kind_name((enum violation_kind)k),
				  walker_kind_name((enum walker_kind)w),
				  r->found_by_walker[w][k] ? "found" : "not found",
				  e.by_walker[w][k] ? "possible" : "impossible");
	CHECK_MSG(r->states > 0, "%s: no states", name);
	CHECK(ptlab_model_judge(c, r) == MODEL_PASS);
	if (r->verdict != MODEL_UNSAFE) {
		/* a safe cell's only trail is mremap's ABA witness, ending
		 * safe */
		CHECK_EQ(!!r->nsteps, r->aba_witness);
		CHECK(!r->aba_witness || c->scenario == SCENARIO_MREMAP);
		CHECK(!r->nsteps || strstr(r->steps[r->nsteps - 1], "ABA: "));
		return;
	}
	/* a counterexample in the protocol's words, ending in its violation */
	CHECK_MSG(r->found_by_walker[r->walker][r->kind],
		  "%s: counterexample of a kind not found", name);
	CHECK_MSG(r->nsteps >= 4, "%s: %zu steps", name, r->nsteps);
	CHECK_MSG(strstr(r->steps[0], "start:"), "%s: %s", name, r->steps[0]);
	snprintf(violation, sizeof(violation), "VIOLATION %s: ", violation_kind_name(r->kind));
	CHECK_MSG(strncmp(r->steps[r->nsteps - 1], violation, strlen(violation)) == 0,
		  "%s: last step %s", name, r->steps[r->nsteps - 1]);
	bool reads_entry = false;
	const char *read = c->scenario == SCENARIO_HUGETLB_UNSHARE
				   ? "reads W's PUD -> the shared PMD table S"
				   : c->scenario == SCENARIO_MUNMAP_PMD ? "reads the PUD -> PMD table M1"
									: "reads PMD A -> table T1";
	for (size_t i = 0; i < r->nsteps; i++)
		reads_entry |= strstr(r->steps[i], read) != NULL;
	CHECK_MSG(reads_entry, "%s: no walker reads the entry (%s)", name, read);
	snprintf(dir, sizeof(dir), "%s/%s", keep, name);
	check_replays(dir, c, r->walker, r->kind, out);
}

/* Every cell (or the sample's) against the rule, with its counterexample
 * replayed by Spin (model_matrix.h). */
void model_agrees_with_rule(bool sample, struct model_matrix *keep)
{
	size_t n;
	const struct ptlab_cell *cells = all_cells(&n, true, sample);
	struct ptlab_model_result *results = calloc(n, sizeof(*results));
	struct ptlab_model_options o = { .jobs = test_cpus() };
	char keep_dir[256], msg[256];
	char *out = malloc(OUT_LEN);
	size_t unsafe = 0, cached = 0;
	double start;

	CHECK(results && out);
	CHECK_MSG(ptlab_model_tools(msg, sizeof(msg)) == 0, "%s", msg);
	if (!sample)
		CHECK_EQ(n, ptlab_profiles_count() * PTLAB_FIX_SETTINGS *
			       (SCENARIO_COUNT + 2 * (COLLAPSE_TABLE_COUNT - 1) + RETRACT_COUNT - 1));
	test_mkdtemp(keep_dir, sizeof(keep_dir), "model");
	o.keep_dir = keep_dir;
	start = test_now();
	CHECK_EQ(ptlab_model_check(&o, cells, n, results), 0);
	for (size_t i = 0; i < n; i++)
		cached += results[i].from_cache;
	printf("    %zu cells checked in %.1f s, %zu of them read from the model cache\n", n,
	       test_now() - start, cached);
	for (size_t i = 0; i < n; i++) {
		check_cell(&cells[i], &results[i], keep_dir, out);
		unsafe += results[i].verdict == MODEL_UNSAFE;
	}
	/* the model reads properties, never names: cells with the same
	 * switches get the same search, state for state (with
	 * PTLAB_MODEL_CACHE, later ones read the first one's outputs;
	 * model_same_search_whatever_the_hash_table searches two live) */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (same_switches(&cells[i], &cells[j]))
				CHECK_EQ(results[i].states, results[j].states);
	/* neither vacuous nor all-failing */
	CHECK(unsafe > 0 && unsafe < n);
	test_rmtree(keep_dir);
	free(out);
	*keep = (struct model_matrix){ .cells = cells, .results = results, .n = n };
}

const struct ptlab_model_result *model_matrix_find(const struct model_matrix *m,
						   const struct ptlab_cell *c)
{
	for (size_t i = 0; m && i < m->n; i++)
		if (same_switches(&m->cells[i], c))
			return &m->results[i];
	return NULL;
}

void model_matrix_release(struct model_matrix *m)
{
	for (size_t i = 0; i < m->n; i++)
		ptlab_model_result_release(&m->results[i]);
	free(m->results);
	*m = (struct model_matrix){ 0 };
}

/* The model's matrix against the rule is checked, and shared with the
 * lab's, by test_lab.c's lab_and_model_matrices_agree_with_rule (and its
 * quick tier's sample). */

/*
 * The model runs two GUP-fast walkers and one RCU walker; docs/model.md
 * argues that other numbers give the same verdicts and kinds (one walker
 * suffices for every violation, another adds states, not behaviour).
 * Checked on every cell of the default kernel, or (@rcu) on every cell of
 * every generation that runs RCU walkers (in the full tier only: the
 * searches of other numbers of walkers are longer). With @lean, the two
 * scenarios whose searches are the longest with three walkers
 * (collapse-zap and pt-reclaim: up to 2.5 million states a cell, 250 of
 * the 420 CPU seconds of the whole check) keep only their fix settings
 * none and both, the ends the other two lie between.
 */
static void walkers_keep_verdicts(const char *define, bool rcu, bool lean)
{
	size_t n, k = 0;
	const struct ptlab_cell *all = all_cells(&n, rcu, false);
	struct ptlab_cell *cells = calloc(n, sizeof(*cells));
	struct ptlab_model_result *results = calloc(n, sizeof(*results));
	const char *defines[] = { define };
	struct ptlab_model_options o = { .defines = defines, .ndefines = 1, .jobs = test_cpus() };
	double start = test_now();

	CHECK(results && cells);
	for (size_t i = 0; i < n; i++) {
		bool ends = all[i].fixes.pmd_recheck == (all[i].fixes.sync != SYNC_NONE);

		if (rcu && !(ptlab_cell_walkers(&all[i]) & WALKER_MASK(WALKER_RCU)))
			continue;
		if (lean && !ends && (all[i].scenario == SCENARIO_COLLAPSE_ZAP ||
				      all[i].scenario == SCENARIO_PT_RECLAIM))
			continue;
		cells[k++] = all[i];
	}
	n = k;
	CHECK_EQ(ptlab_model_check(&o, cells, n, results), 0);
	printf("    %s: %zu cells checked in %.1f s\n", define, n, test_now() - start);
	for (size_t i = 0; i < n; i++) {
		CHECK_MSG(ptlab_model_judge(&cells[i], &results[i]) == MODEL_PASS,
			  "%s: %s %s %s/%s: model %s (%s)", define, cells[i].profile->name,
			  ptlab_fixes_name(cells[i].fixes), scenario_name(cells[i].scenario),
			  retract_gen_name(cells[i].kernel.retract),
			  model_verdict_name(results[i].verdict), results[i].error);
		ptlab_model_result_release(&results[i]);
	}
	free(results);
	free(cells);
}

TEST_FULL(model_one_walker_keeps_verdicts, 600)
{
	walkers_keep_verdicts("NWALKERS=1", false, false);
}

TEST_FULL(model_three_walkers_keep_verdicts, 1800)
{
	walkers_keep_verdicts("NWALKERS=3", false, true);
}

/* pt-reclaim and retract/defer, the cells with RCU walkers. */
TEST_FULL(model_two_rcu_walkers_keep_verdicts, 900)
{
	walkers_keep_verdicts("NRCU=2", true, false);
}

/* ---- the command ---- */

TEST_T(model_cli_json_and_counterexample, 120)
{
	char dir[256], json[300];
	char *out = malloc(OUT_LEN), *text;
	int status;

	/* live, two jobs: the driver's threads, its shared verifiers and
	 * searches run under every sanitizer, whatever CI's cache holds */
	CHECK_EQ(unsetenv("PTLAB_MODEL_CACHE"), 0);
	CHECK(out);
	test_mkdtemp(dir, sizeof(dir), "model");
	snprintf(json, sizeof(json), "%s/model.json", dir);
	status = run_model(out, (const char *const[]){
		"--profiles", "arm64,x86", "--scenarios", "collapse-zap",
		"--fixes", "none,both", "--jobs", "2", "--json", json, NULL });
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "4 cells: 4 agree with the rule"), "%s", out);
	/* the counterexample printed as numbered protocol steps */
	CHECK_MSG(strstr(out, "counterexample (stale_table, gup walker):"), "%s", out);
	CHECK_MSG(strstr(out, "  1. start:"), "%s", out);
	CHECK_MSG(strstr(out, "walker cpu"), "%s", out);
	CHECK_MSG(strstr(out, "zapper frees T1 at once"), "%s", out);

	text = test_read_file(json);
	CHECK_EQ(test_count(text, "{\"profile\":"), 4);
	CHECK_EQ(test_count(text, "\"verdict\":\"pass\""), 4);
	CHECK_MSG(strstr(text, "{\"profile\":\"arm64\",\"scenario\":\"collapse-zap\","
			       "\"pmd_recheck\":false,\"ipi_sync\":false,\"sync\":\"none\","
			       "\"collapse_table\":\"reuse\",\"retract\":\"free\",\"rcu_everywhere\":false,"
			       "\"unshare_sync\":\"none\",\"walkers\":[\"gup\"],"
			       "\"memory\":\"sc\",\"dropped_barriers\":[],"
			       "\"expected\":\"unsafe\",\"model_verdict\":\"unsafe\","
			       "\"states\":"), "%s", text);
	CHECK_MSG(strstr(text, "\"violations_by_walker\":{\"gup\":[\"stale_table\""), "%s", text);
	CHECK_MSG(strstr(text, "\"violation\":\"stale_table\""), "%s", text);
	CHECK_MSG(strstr(text, "\"counterexample\":[\"start:"), "%s", text);
	CHECK_MSG(strstr(text, "reads PMD A -> table T1"), "%s", text);
	CHECK_MSG(strstr(text, "\"profile\":\"x86\",\"scenario\":\"collapse-zap\","
			       "\"pmd_recheck\":true,\"ipi_sync\":true,\"sync\":\"all\","
			       "\"collapse_table\":\"reuse\",\"retract\":\"free\",\"rcu_everywhere\":false,"
			       "\"unshare_sync\":\"gather\",\"walkers\":[\"gup\"],"
			       "\"memory\":\"sc\",\"dropped_barriers\":[],"
			       "\"expected\":\"safe\",\"model_verdict\":\"safe\""), "%s", text);
	CHECK_MSG(strstr(text, "\"counterexample\":[],"), "%s", text);
	CHECK_MSG(strstr(text, "\"passed\":true"), "%s", text);
	free(text);
	test_rmtree(dir);
	free(out);
}

/*
 * The seed's order matters: tlb_remove_table_sync_one() after the PMD is
 * cleared. Moved before the clear, it waits for nothing that matters, and
 * a cell the rule calls safe (arm64 with ipi-sync) must turn unsafe.
 */
TEST_T(model_seeded_bug_is_caught, 120)
{
	const char *cell[] = { "--profiles", "arm64", "--scenarios", "collapse-zap",
			       "--fixes", "ipi-sync" };
	char dir[256], json[300], model[300];
	char *out = malloc(OUT_LEN), *text;
	FILE *f;
	int status;

	CHECK(out);
	test_mkdtemp(dir, sizeof(dir), "model");
	snprintf(json, sizeof(json), "%s/model.json", dir);
	snprintf(model, sizeof(model), "%s/seeded.pml", dir);

	status = run_model(out, (const char *const[]){ cell[0], cell[1], cell[2],
		cell[3], cell[4], cell[5], NULL });
	CHECK_MSG(status == 0, "without the bug: exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "safe     safe"), "%s", out);

	status = run_model(out, (const char *const[]){ cell[0], cell[1], cell[2],
		cell[3], cell[4], cell[5], "--define", "SEED_BUG_SYNC_BEFORE_CLEAR",
		"--json", json, NULL });
	CHECK_MSG(status == 1, "with the bug: exit %d:\n%s", status, out);
	text = test_read_file(json);
	CHECK_MSG(strstr(text, "\"expected\":\"safe\",\"model_verdict\":\"unsafe\""), "%s", text);
	CHECK_MSG(strstr(text, "\"violation\":\"stale_table\""), "%s", text);
	CHECK_MSG(strstr(text, "synchronises before clearing the PMD"), "%s", text);
	CHECK_MSG(strstr(text, "\"verdict\":\"fail\""), "%s", text);
	CHECK_MSG(strstr(text, "\"passed\":false"), "%s", text);
	free(text);

	/* the same bug in another model file, given with --model */
	f = fopen(model, "w");
	CHECK(f);
	fprintf(f, "#define SEED_BUG_SYNC_BEFORE_CLEAR 1\n%s", ptlab_model_builtin());
	CHECK(fclose(f) == 0);
	status = run_model(out, (const char *const[]){ cell[0], cell[1], cell[2],
		cell[3], cell[4], cell[5], "--model", model, NULL });
	CHECK_MSG(status == 1, "--model: exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "safe     unsafe"), "%s", out);
	CHECK_MSG(strstr(out, model), "%s", out);
	test_rmtree(dir);
	free(out);
}

/*
 * pan's hash table is sized from the searches of the cell's scenario done
 * before it (src/model/model_internal.h): the first search of a scenario
 * gets 2^20 slots, the next one of the same cells twice as many as the
 * first stored states (fewer than 2^20 here), and both must store the same
 * states, find the same violations and replay the same counterexample. Two profiles with the same properties, one job
 * and kept files (no search shared) make the second search run with the
 * smaller table.
 */
TEST_T(model_same_search_whatever_the_hash_table, 120)
{
	struct ptlab_cell cells[2];
	struct ptlab_model_result r[2];
	struct ptlab_model_options o = { .jobs = 1 };
	const char *names[] = { "s390", "ppc64-radix" };
	char keep[256];

	for (int i = 0; i < 2; i++) {
		cells[i] = (struct ptlab_cell){ .profile = ptlab_profile_find(names[i]),
						.fixes = ptlab_fix_setting(0),
						.scenario = SCENARIO_COLLAPSE_ZAP };
		CHECK(cells[i].profile);
	}
	CHECK(same_switches(&cells[0], &cells[1]));
	CHECK(ptlab_expect_cell(&cells[0]).unsafe);
	/* both searched live: the model cache would give the second the
	 * first's outputs, its table's size left out of the key */
	CHECK_EQ(unsetenv("PTLAB_MODEL_CACHE"), 0);
	test_mkdtemp(keep, sizeof(keep), "model");
	o.keep_dir = keep;
	CHECK_EQ(ptlab_model_check(&o, cells, 2, r), 0);
	for (int i = 0; i < 2; i++)
		CHECK_MSG(ptlab_model_judge(&cells[i], &r[i]) == MODEL_PASS, "%s: %s (%s)",
			  names[i], model_verdict_name(r[i].verdict), r[i].error);
	/* small enough for the second table to be smaller (< 2^19 states) */
	CHECK(r[0].states > 0 && r[0].states < (1u << 19));
	CHECK_EQ(r[0].states, r[1].states);
	CHECK_EQ(r[0].kind, r[1].kind);
	CHECK_EQ(r[0].walker, r[1].walker);
	CHECK(memcmp(r[0].found_by_walker, r[1].found_by_walker, sizeof(r[0].found_by_walker)) == 0);
	CHECK_EQ(r[0].nsteps, r[1].nsteps);
	for (size_t i = 0; i < r[0].nsteps; i++)
		CHECK_MSG(strcmp(r[0].steps[i], r[1].steps[i]) == 0, "step %zu: %s / %s", i + 1,
			  r[0].steps[i], r[1].steps[i]);
	for (int i = 0; i < 2; i++)
		ptlab_model_result_release(&r[i]);
	test_rmtree(keep);
}

/* A truncated search proves nothing: depth or memory bounds reached are
 * errors with a message, never "safe". */
TEST_T(model_truncated_search_is_not_safe, 60)
{
	char *out = malloc(OUT_LEN);
	int status;

	CHECK(out);
	status = run_model(out, (const char *const[]){ "--profiles", "x86",
		"--scenarios", "munmap", "--fixes", "none", "--max-depth", "10", NULL });
	CHECK_MSG(status == 1, "exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "max search depth too small"), "%s", out);
	CHECK_MSG(strstr(out, "safe     error"), "%s", out);
	CHECK_MSG(strstr(out, "1 without a verdict"), "%s", out);

	status = run_model(out, (const char *const[]){ "--profiles", "x86",
		"--scenarios", "munmap", "--fixes", "none", "--memory-mb", "1", NULL });
	CHECK_MSG(status == 1, "exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "ran out of memory"), "%s", out);
	CHECK_MSG(strstr(out, "safe     error"), "%s", out);
	free(out);
}

TEST(model_bad_input)
{
	static const struct {
		const char *args[6];
		const char *message;
	} cases[] = {
		{ { "--profiles", "foo" },
		  "ptlab: unknown profile: foo (allowed: x86, x86-invlpgb," },
		{ { "--profiles", "arm64,,x86" }, "ptlab: empty name in the list: arm64,,x86" },
		{ { "--scenarios", "collapse" },
		  "ptlab: unknown scenario: collapse (allowed: collapse-zap, collapse-pin, munmap, "
		  "pt-reclaim, hugetlb-unshare, munmap-pmd, retract, mremap)" },
		{ { "--walkers", "gup,fast" },
		  "ptlab: unknown walker kinds: gup,fast (allowed: gup, rcu, gup,rcu)" },
		{ { "--walkers", "rcu", "--scenarios", "munmap" },
		  "ptlab: no cell runs the walker kinds of --walkers" },
		{ { "--collapse-table", "reuse,new" },
		  "ptlab: unknown collapse-table generation: new (allowed: reuse, zap-rcu, fresh)" },
		{ { "--retract", "free,nope" },
		  "ptlab: unknown retract generation: nope (allowed: free, defer)" },
		{ { "--walkers", "rcu", "--scenarios", "retract" },
		  "ptlab: no cell runs the walker kinds of --walkers" },
		{ { "--unshare-sync", "gather,none" },
		  "ptlab: unknown unshare sync: gather,none (allowed: none, per-unshare, gather)" },
		{ { "--fixes", "all" },
		  "ptlab: unknown fix setting: all (allowed: none, pmd-recheck, ipi-sync, both)" },
		{ { "--frobnicate" }, "ptlab: unknown option for model: --frobnicate (allowed:" },
		{ { "--jobs", "0" }, "ptlab: bad --jobs: 0 (allowed: 1..256)" },
		{ { "--define", "A B" }, "ptlab: bad --define: A B" },
		{ { "--max-depth", "-1" }, "ptlab: bad --max-depth: -1" },
		{ { "--profiles" }, "ptlab: missing value for option: --profiles" },
		{ { "--model", "/nonexistent/ptlab.pml" },
		  "ptlab: cannot read model file: /nonexistent/ptlab.pml" },
	};
	char *out = malloc(OUT_LEN);

	CHECK(out);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status = run_model(out, cases[i].args);

		CHECK_MSG(status == 2, "%s: exit %d:\n%s", cases[i].args[0], status, out);
		CHECK_MSG(strstr(out, cases[i].message), "%s: expected '%s' in:\n%s",
			  cases[i].args[0], cases[i].message, out);
	}
	free(out);
}

/* The absolute path of @name in PATH, or fails the test. */
static void which(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");

	while (path && *path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, len, "%.*s/%s", (int)n, path, name);
		if (buf[0] == '/' && access(buf, X_OK) == 0)
			return;
		path += n + (path[n] == ':');
	}
	test_fail(__FILE__, __LINE__, "%s not in PATH", name);
}

/* Without spin or gcc: say what to install, exit non-zero, never "safe". */
TEST(model_missing_tools)
{
	const char *cell = "--profiles=x86";
	char dir[256], spin[512], link[300], path[320];
	char *out = malloc(OUT_LEN);
	int status;

	CHECK(out);
	status = test_run((const char *const[]){ "/usr/bin/env", "PATH=/nonexistent",
		test_ptlab_path(), "model", cell, NULL }, out, OUT_LEN);
	CHECK_MSG(status == 1, "exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "spin not found") && strstr(out, "apt-get install spin"), "%s", out);
	CHECK_MSG(!strstr(out, "safe"), "%s", out);

	/* spin alone, no compiler */
	which("spin", spin, sizeof(spin));
	test_mkdtemp(dir, sizeof(dir), "model");
	snprintf(link, sizeof(link), "%s/spin", dir);
	CHECK(symlink(spin, link) == 0);
	snprintf(path, sizeof(path), "PATH=%s", dir);
	status = test_run((const char *const[]){ "/usr/bin/env", path,
		test_ptlab_path(), "model", cell, NULL }, out, OUT_LEN);
	CHECK_MSG(status == 1, "exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "gcc not found") && strstr(out, "apt-get install gcc"), "%s", out);
	test_rmtree(dir);
	free(out);
}

/* A directory for PATH holding spin and gcc with what gcc runs (as, ld),
 * and, with @tcc, a tcc that leaves DIR/tcc-used behind when it runs. */
static void tools_dir(char *dir, size_t len, bool tcc)
{
	static const char *const tools[] = { "spin", "gcc", "as", "ld" };
	char target[512], link[320];

	test_mkdtemp(dir, len, "tools");
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		which(tools[i], target, sizeof(target));
		snprintf(link, sizeof(link), "%s/%s", dir, tools[i]);
		CHECK(symlink(target, link) == 0);
	}
	if (tcc) {
		FILE *f;

		which("tcc", target, sizeof(target));
		snprintf(link, sizeof(link), "%s/tcc", dir);
		f = fopen(link, "w");
		CHECK(f);
		fprintf(f, "#!/bin/sh\n: > '%s/tcc-used'\nexec '%s' \"$@\"\n", dir, target);
		CHECK(fclose(f) == 0 && chmod(link, 0755) == 0);
	}
}

/* Runs the cells of @args with PATH=@dir, writing @json. */
static void model_with_path(const char *dir, const char *json, char *out)
{
	char path[320];
	int status;

	snprintf(path, sizeof(path), "PATH=%s", dir);
	status = test_run((const char *const[]){ "/usr/bin/env", path, test_ptlab_path(), "model",
		"--profiles=arm64,x86-nopv-6.0", "--scenarios=collapse-zap,pt-reclaim,hugetlb-unshare",
		"--fixes=none,both", "--json", json, NULL }, out, OUT_LEN);
	CHECK_MSG(status == 0, "PATH=%s: exit %d:\n%s", dir, status, out);
}

/* The verifiers are compiled with tcc when it is installed (make check
 * installs it), else with gcc: the search is the same, cell for cell (in
 * the full tier: gcc takes seconds per verifier). */
TEST_FULL(model_same_search_with_tcc_or_gcc, 300)
{
	char with[256], without[256], a[300], b[300], used[300];
	char *out = malloc(OUT_LEN), *ta, *tb;
	const char *keys[] = { "\"states\":", "\"violations\":", "\"model_verdict\":" };

	CHECK(out);
	tools_dir(with, sizeof(with), true);
	tools_dir(without, sizeof(without), false);
	snprintf(a, sizeof(a), "%s/tcc.json", with);
	snprintf(b, sizeof(b), "%s/gcc.json", without);
	model_with_path(with, a, out);
	snprintf(used, sizeof(used), "%s/tcc-used", with);
	CHECK_MSG(access(used, F_OK) == 0, "tcc was in PATH but did not compile the verifiers");
	model_with_path(without, b, out);
	ta = test_read_file(a);
	tb = test_read_file(b);
	/* Each cell's states, kinds found and verdict, in the same order. */
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *pa = ta, *pb = tb;
		size_t n = 0;

	/* every search live, with each compiler */
	CHECK_EQ(unsetenv("PTLAB_MODEL_CACHE"), 0);

		while ((pa = strstr(pa, keys[k])) && (pb = strstr(pb, keys[k]))) {
			/* up to the value's end: a number's comma, an array's ] */
			size_t la = strcspn(pa, strchr(pa, '[') == pa + strlen(keys[k]) ? "]" : ",}");
			size_t lb = strcspn(pb, strchr(pb, '[') == pb + strlen(keys[k]) ? "]" : ",}");

			CHECK_MSG(la == lb && !strncmp(pa, pb, la), "cell %zu: tcc %.*s, gcc %.*s", n,
				  (int)la, pa, (int)lb, pb);
			pa += la;
			pb += lb;
			n++;
		}
		CHECK_MSG(!pa && !strstr(pb, keys[k]), "%s: the documents differ in cells", keys[k]);
		CHECK_EQ(n, 12);
	}
	free(ta);
	free(tb);
	test_rmtree(with);
	test_rmtree(without);
	free(out);
}

/* ---- the model itself ---- */

/* The binary checks the model in the tree (the Makefile re-embeds it). */
TEST(model_embedded_is_the_file)
{
	char *text = test_read_file("model/ptlab.pml");

	CHECK_MSG(strcmp(text, ptlab_model_builtin()) == 0,
		  "the embedded model differs from model/ptlab.pml: rebuild");
	free(text);
}

/*
 * Evidence for docs/model.md: a split after the collapse puts the same
 * table back under the PMD (the seed's "moved back and forth"), so the PMD
 * re-check compares equal; the PTE re-check, done after it as in
 * gup_fast_pte_range(), still catches the walker: arm64 + pmd-recheck
 * stays safe with SPLIT_AFTER_COLLAPSE, while arm64 with no fix still finds
 * its stale pin with the switch on.
 */
TEST_T(model_split_reinstall_is_caught_by_pte_recheck, 120)
{
	const char *defines[] = { "SPLIT_AFTER_COLLAPSE" };
	struct ptlab_model_options o = { .defines = defines, .ndefines = 1 };
	struct ptlab_cell cells[2] = {
		ptlab_cell_default(ptlab_profile_find("arm64"), (struct ptlab_fixes){ true, false },
				   SCENARIO_COLLAPSE_PIN),
		ptlab_cell_default(ptlab_profile_find("arm64"), (struct ptlab_fixes){ false, false },
				   SCENARIO_COLLAPSE_PIN),
	};
	struct ptlab_model_result r[2];

	CHECK(cells[0].profile);
	CHECK_EQ(ptlab_model_check(&o, cells, 2, r), 0);
	CHECK_MSG(r[0].verdict == MODEL_SAFE, "%s %s", model_verdict_name(r[0].verdict),
		  r[0].error);
	CHECK_MSG(r[1].verdict == MODEL_UNSAFE, "%s %s", model_verdict_name(r[1].verdict),
		  r[1].error);
	CHECK_EQ(r[1].kind, VIOLATION_STALE_PIN);
	ptlab_model_result_release(&r[0]);
	ptlab_model_result_release(&r[1]);
}

/* The steps of @r joined, for searching. */
static bool steps_have(const struct ptlab_model_result *r, const char *text)
{
	for (size_t i = 0; i < r->nsteps; i++)
		if (strstr(r->steps[i], text))
			return true;
	return false;
}

/*
 * mremap: on a broadcast profile the search finds the seed's ABA (PMD A
 * moved away and back while a walker was inside, its re-checks passed on
 * the same value) and replays it as a trail that ends safe; where the
 * flush waits it finds none; where the destination's unmap frees the
 * table after a flush that does not wait, a trail that ends in a stale
 * table.
 */
TEST_T(model_mremap_aba_trails, 120)
{
	struct ptlab_model_options o = { 0 };
	struct ptlab_fixes both = ptlab_fix_setting(3);
	struct ptlab_cell cells[3] = {
		ptlab_cell_default(ptlab_profile_find("arm64"), both, SCENARIO_MREMAP),
		ptlab_cell_default(ptlab_profile_find("x86"), both, SCENARIO_MREMAP),
		ptlab_cell_default(ptlab_profile_find("broadcast-norcu"), both, SCENARIO_MREMAP),
	};
	struct ptlab_model_result r[3];

	CHECK_EQ(ptlab_model_check(&o, cells, 3, r), 0);
	for (int i = 0; i < 3; i++)
		CHECK_MSG(ptlab_model_judge(&cells[i], &r[i]) == MODEL_PASS, "%s: %s %s",
			  cells[i].profile->name, model_verdict_name(r[i].verdict), r[i].error);
	CHECK(r[0].verdict == MODEL_SAFE && r[0].aba_witness);
	CHECK(steps_have(&r[0], "moves T1 back from PMD B to PMD A"));
	CHECK(steps_have(&r[0], "re-checks PMD A: unchanged"));
	CHECK(steps_have(&r[0], "ABA: PMD A was written 2 times"));
	CHECK(r[1].verdict == MODEL_SAFE && !r[1].aba_witness && !r[1].nsteps);
	CHECK(r[2].verdict == MODEL_UNSAFE && r[2].kind == VIOLATION_STALE_TABLE);
	CHECK(steps_have(&r[2], "munmap of B clears PMD B"));
	CHECK(steps_have(&r[2], "VIOLATION stale_table"));
	for (int i = 0; i < 3; i++)
		ptlab_model_result_release(&r[i]);
}
