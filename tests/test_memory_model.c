// SPDX-License-Identifier: MIT
/*
 * Memory models and named barriers (include/ptlab/memory_model.h,
 * model/ptlab.pml's MEM_TSO and MEM_WEAK, `ptlab model --memory`,
 * `--drop-barrier`, `ptlab study barriers`): with every barrier present
 * tso and weak give the rule's verdicts (sc's); a dropped barrier turns
 * the cells that rest on it unsafe, with a counterexample that shows the
 * reordering; bad names and combinations are refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ptlab/model.h"

#define OUT_LEN (1u << 20)

static const char *const classic_names[] = { "collapse-zap", "collapse-pin", "munmap" };

/* Every profile (or those of @profiles, NULL-terminated) x the classic
 * three scenarios x PMD re-check (off and on, or on alone with
 * @recheck_only) x sync policy (those of the mask @policies), under @m. */
static struct ptlab_cell *classic_cells(enum memory_model m, const char *const *profiles,
					unsigned int policies, bool recheck_only, size_t *n)
{
	size_t np = ptlab_profiles_count(), k = 0;
	struct ptlab_cell *cells = calloc(np * 3 * 2 * SYNC_POLICIES, sizeof(*cells));

	CHECK(cells);
	for (size_t p = 0; p < np; p++) {
		const struct ptlab_profile *pr = &ptlab_profiles()[p];
		bool want = !profiles;

		for (size_t i = 0; profiles && profiles[i]; i++)
			want |= !strcmp(profiles[i], pr->name);
		if (!want)
			continue;
		for (int s = 0; s < 3; s++)
			for (int re = recheck_only; re < 2; re++)
				for (int pol = 0; pol < SYNC_POLICIES; pol++) {
					enum scenario sc;

					if (!(policies & (1u << pol)))
						continue;
					CHECK_EQ(scenario_parse(classic_names[s], &sc), 0);
					cells[k] = ptlab_cell_default(
						pr,
						(struct ptlab_fixes){ .pmd_recheck = re,
								      .sync = (enum sync_policy)pol },
						sc);
					cells[k++].memory = m;
				}
	}
	*n = k;
	return cells;
}

/* Checks @cells and that each agrees with the rule. */
static void check_agree(struct ptlab_cell *cells, size_t n, const char *what)
{
	struct ptlab_model_result *r = calloc(n, sizeof(*r));
	struct ptlab_model_options o = { .jobs = test_cpus() };
	double start = test_now();

	CHECK(r);
	CHECK_EQ(ptlab_model_check(&o, cells, n, r), 0);
	printf("    %s: %zu cells in %.1f s\n", what, n, test_now() - start);
	for (size_t i = 0; i < n; i++) {
		char name[160];

		ptlab_model_cell_name(&cells[i], name, sizeof(name));
		CHECK_MSG(ptlab_model_judge(&cells[i], &r[i]) == MODEL_PASS,
			  "%s: model %s, the rule %s (%s)", name, model_verdict_name(r[i].verdict),
			  ptlab_expect_cell(&cells[i]).unsafe ? "unsafe" : "safe", r[i].error);
		ptlab_model_result_release(&r[i]);
	}
	free(r);
}

/*
 * The quick tier's sample: a broadcast flush with RCU table free (arm64),
 * the IPI flush (x86) and powerpc hash (its collapse flush IPIs and
 * waits), with the PMD re-check, under no sync, today's and step 2's: the
 * cells where the study finds gup-pin-mb, walker-mark-mb, tlb-flush-mb,
 * sync-ipi-mb and ipi-csd-release needed, safe with every barrier. The
 * full tier checks every classic cell (below).
 */
static const char *const quick_profiles[] = { "arm64", "x86", "ppc64-hash", NULL };
#define QUICK_POLICIES ((1u << SYNC_NONE) | (1u << SYNC_ALL) | (1u << SYNC_WALKERS))

TEST_T(memory_tso_and_weak_keep_the_verdicts_of_a_sample, 300)
{
	for (int m = MEMORY_TSO; m < MEMORY_MODELS; m++) {
		size_t n;
		struct ptlab_cell *cells = classic_cells((enum memory_model)m, quick_profiles,
							 QUICK_POLICIES, true, &n);

		CHECK(n == 3 * 3 * 3);
		check_agree(cells, n, memory_model_name((enum memory_model)m));
		free(cells);
	}
}

TEST_FULL(memory_tso_and_weak_keep_every_classic_verdict, 1800)
{
	for (int m = MEMORY_TSO; m < MEMORY_MODELS; m++) {
		size_t n;
		struct ptlab_cell *cells = classic_cells((enum memory_model)m, NULL,
							 (1u << SYNC_POLICIES) - 1, false, &n);

		check_agree(cells, n, memory_model_name((enum memory_model)m));
		free(cells);
	}
}

/* One cell: @profile, @scenario, both fixes with @policy, under @m with
 * @dropped. */
static struct ptlab_cell one_cell(const char *profile, const char *scenario,
				  enum sync_policy policy, enum memory_model m,
				  unsigned int dropped)
{
	struct ptlab_cell c;
	enum scenario s;

	CHECK(ptlab_profile_find(profile));
	CHECK_EQ(scenario_parse(scenario, &s), 0);
	c = ptlab_cell_default(ptlab_profile_find(profile),
			       (struct ptlab_fixes){ .pmd_recheck = true, .sync = policy }, s);
	c.memory = m;
	c.dropped = dropped;
	return c;
}

static bool steps_have(const struct ptlab_model_result *r, const char *needle)
{
	for (size_t i = 0; i < r->nsteps; i++)
		if (strstr(r->steps[i], needle))
			return true;
	return false;
}

/*
 * The case: step 2's walkers policy on a broadcast flush rests on
 * walker-mark-mb. Under tso without it collapse reads no marker of a
 * walker whose marker store still waits in its store buffer, while that
 * walker read the old PMD: the table it walks is freed (stale_table).
 * With it, the same cell is safe; on x86 the flush's IPI waits for the
 * walker anyway, so x86 does not need it.
 */
TEST_T(memory_walker_mark_mb_holds_the_walkers_policy, 120)
{
	struct ptlab_cell c[3] = {
		one_cell("arm64", "collapse-zap", SYNC_WALKERS, MEMORY_TSO,
			 BARRIER_BIT(BARRIER_WALKER_MARK_MB)),
		one_cell("arm64", "collapse-zap", SYNC_WALKERS, MEMORY_TSO, 0),
		one_cell("x86", "collapse-zap", SYNC_WALKERS, MEMORY_TSO,
			 BARRIER_BIT(BARRIER_WALKER_MARK_MB)),
	};
	struct ptlab_model_result r[3] = { 0 };
	struct ptlab_model_options o = { .jobs = test_cpus() };

	CHECK_EQ(ptlab_model_check(&o, c, 3, r), 0);
	CHECK_MSG(r[0].verdict == MODEL_UNSAFE && r[0].kind == VIOLATION_STALE_TABLE,
		  "arm64 tso without walker-mark-mb: %s (%s)", model_verdict_name(r[0].verdict),
		  r[0].error);
	CHECK(ptlab_model_judge(&c[0], &r[0]) == MODEL_UNJUDGED);
	CHECK_MSG(steps_have(&r[0], "waits in its store buffer") &&
		  steps_have(&r[0], "marker: not set"),
		  "the counterexample shows no buffered marker store");
	CHECK_MSG(r[1].verdict == MODEL_SAFE, "arm64 tso with every barrier: %s",
		  model_verdict_name(r[1].verdict));
	CHECK_MSG(r[2].verdict == MODEL_SAFE, "x86 tso without walker-mark-mb: %s",
		  model_verdict_name(r[2].verdict));
	for (int i = 0; i < 3; i++)
		ptlab_model_result_release(&r[i]);
}

/*
 * GUP-fast's own barrier: on arm64 with the PMD re-check and no sync,
 * collapse-pin is safe because the pin and collapse's PMD clear form a
 * store-buffering pair (the walker pins, then re-checks the PMD; collapse
 * clears the PMD, then reads the refcount): one of them sees the other.
 * Without gup-pin-mb the walker's re-checks may be satisfied before its
 * reference is seen, both miss, and collapse copies a page the walker
 * pinned (stale_pin), under both models.
 */
TEST_T(memory_gup_pin_mb_holds_collapse_against_a_pin, 120)
{
	struct ptlab_cell c[4];
	struct ptlab_model_result r[4] = { 0 };
	struct ptlab_model_options o = { .jobs = test_cpus() };

	for (int m = MEMORY_TSO, i = 0; m < MEMORY_MODELS; m++, i += 2) {
		c[i] = one_cell("arm64", "collapse-pin", SYNC_NONE, (enum memory_model)m, 0);
		c[i + 1] = c[i];
		c[i + 1].dropped = BARRIER_BIT(BARRIER_GUP_PIN_MB);
	}
	CHECK_EQ(ptlab_model_check(&o, c, 4, r), 0);
	for (int i = 0; i < 4; i += 2) {
		const char *m = memory_model_name(c[i].memory);

		CHECK_MSG(r[i].verdict == MODEL_SAFE, "%s with gup-pin-mb: %s", m,
			  model_verdict_name(r[i].verdict));
		CHECK_MSG(r[i + 1].verdict == MODEL_UNSAFE &&
			  r[i + 1].found[VIOLATION_STALE_PIN],
			  "%s without gup-pin-mb: %s", m, model_verdict_name(r[i + 1].verdict));
		CHECK(steps_have(&r[i + 1], "satisfied before its reference"));
	}
	for (int i = 0; i < 4; i++)
		ptlab_model_result_release(&r[i]);
}

TEST(memory_cells_out_of_range_are_refused)
{
	struct ptlab_cell c = one_cell("arm64", "munmap", SYNC_ALL, MEMORY_SC,
				       BARRIER_BIT(BARRIER_GUP_PIN_MB));
	struct ptlab_model_result r = { 0 };
	struct ptlab_model_options o = { .jobs = 1 };

	CHECK_EQ(ptlab_model_check(&o, &c, 1, &r), -EINVAL);
	c.memory = MEMORY_MODELS;
	c.dropped = 0;
	CHECK_EQ(ptlab_model_check(&o, &c, 1, &r), -EINVAL);
	c.memory = MEMORY_TSO;
	c.dropped = BARRIER_BIT(BARRIERS);
	CHECK_EQ(ptlab_model_check(&o, &c, 1, &r), -EINVAL);
}

TEST(memory_barrier_names_parse_and_are_in_the_model)
{
	const char *model = ptlab_model_builtin();
	unsigned int mask = 0;
	char err[768], buf[256];
	enum memory_model m;

	for (int b = 0; b < BARRIERS; b++) {
		const struct barrier_info *bi = barrier_info((enum barrier)b);
		char sw[64];

		CHECK(bi && bi->name && bi->kernel && bi->orders && bi->model_switch);
		CHECK_MSG(bi->models && !(bi->models & (1u << MEMORY_SC)),
			  "%s: no memory model, or sc", bi->name);
		/* the model tests the switch: a name nothing reads drops nothing */
		snprintf(sw, sizeof(sw), "defined(%s)", bi->model_switch);
		CHECK_MSG(strstr(model, sw), "model/ptlab.pml never reads %s", bi->model_switch);
		CHECK_EQ(barrier_list_parse(bi->name, &mask, err, sizeof(err)), 0);
		CHECK_EQ(mask, BARRIER_BIT(b));
	}
	CHECK(!barrier_info(BARRIERS));
	CHECK_EQ(barrier_list_parse("walker-mark-mb,gup-pin-mb", &mask, err, sizeof(err)), 0);
	barrier_list_format(mask, buf, sizeof(buf));
	CHECK_MSG(!strcmp(buf, "gup-pin-mb,walker-mark-mb"), "formatted: %s", buf);
	CHECK_EQ(barrier_list_parse("", &mask, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "empty"));
	CHECK_EQ(barrier_list_parse("gup-pin-mb,", &mask, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "comma"));
	CHECK_EQ(barrier_list_parse("gup-pin-mb,,walker-mark-mb", &mask, err, sizeof(err)),
		 -EINVAL);
	CHECK_EQ(barrier_list_parse("smp_mb", &mask, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "'smp_mb' is not a barrier") && strstr(err, "rcu-gp-mb"));
	CHECK_EQ(barrier_list_parse("gup-pin-mb,gup-pin-mb", &mask, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "twice"));
	CHECK_EQ(memory_model_parse("tso", &m), 0);
	CHECK_EQ(m, MEMORY_TSO);
	CHECK_EQ(memory_model_parse("arm64", &m), -EINVAL);
	CHECK_EQ(memory_model_parse(NULL, &m), -EINVAL);
}

static int run_ptlab(char *out, const char *const *args)
{
	const char *argv[32] = { test_ptlab_path() };
	size_t n = 1;

	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	return test_run(argv, out, OUT_LEN);
}

TEST_T(memory_cli_lists_drops_and_refuses, 120)
{
	char *out = malloc(OUT_LEN);

	CHECK(out);
	CHECK_EQ(run_ptlab(out, (const char *const[]){ "model", "--list-barriers", NULL }), 0);
	for (int b = 0; b < BARRIERS; b++)
		CHECK_MSG(strstr(out, barrier_info((enum barrier)b)->name) &&
			  strstr(out, barrier_info((enum barrier)b)->kernel),
			  "--list-barriers lacks %s", barrier_info((enum barrier)b)->name);
	CHECK_EQ(run_ptlab(out, (const char *const[]){ "model", "--drop-barrier",
						       "walker-mark-mb", NULL }), 2);
	CHECK(strstr(out, "needs --memory tso or weak"));
	CHECK_EQ(run_ptlab(out, (const char *const[]){ "model", "--memory", "weak",
						       "--drop-barrier", "spin-lock-rmw", NULL }),
		 2);
	CHECK(strstr(out, "spin-lock-rmw") && strstr(out, "under --memory weak"));
	CHECK_EQ(run_ptlab(out, (const char *const[]){ "model", "--memory", "tso",
						       "--drop-barrier", "mb", NULL }), 2);
	CHECK(strstr(out, "'mb' is not a barrier"));
	CHECK_EQ(run_ptlab(out, (const char *const[]){ "model", "--memory", "pso", NULL }), 2);
	CHECK(strstr(out, "unknown memory model: pso (allowed: sc, tso, weak)"));
	CHECK_EQ(run_ptlab(out, (const char *const[]){ "study", "barriers", "--memory", "sc",
						       NULL }), 2);
	CHECK(strstr(out, "bad --memory: sc"));
	CHECK_EQ(run_ptlab(out, (const char *const[]){ "study", "barriers", "--barriers",
						       "gup-pin-mb,nope", NULL }), 2);
	CHECK(strstr(out, "'nope' is not a barrier"));
	/* a dropped barrier's cell: reported (unsafe, "n/a"), JSON names it */
	CHECK_EQ(run_ptlab(out, (const char *const[]){ "model", "--profiles", "arm64",
						       "--scenarios", "collapse-zap", "--fixes",
						       "both", "--sync", "walkers", "--memory",
						       "tso", "--drop-barrier", "walker-mark-mb",
						       NULL }), 0);
	CHECK_MSG(strstr(out, "tso    safe     unsafe") && strstr(out, "n/a"),
		  "the cell's line: %s", out);
	CHECK(strstr(out, "1 with barriers dropped, not judged (1 unsafe)"));
	free(out);
}

/* The study on a few cells: the table names the cells that need
 * walker-mark-mb, and a cell that needs none of them is not listed. */
TEST_T(memory_study_barriers_finds_the_cells, 300)
{
	char *out = malloc(OUT_LEN);

	CHECK(out);
	CHECK_EQ(run_ptlab(out, (const char *const[]){ "study", "barriers", "--profiles",
						       "arm64,x86", "--scenarios", "collapse-zap",
						       "--sync", "walkers", "--memory", "tso",
						       "--barriers", "walker-mark-mb,sync-scan-mb",
						       NULL }), 0);
	CHECK_MSG(strstr(out, "walker-mark-mb   tso          2        4") &&
		  strstr(out, "collapse-zap ipi-sync/walkers            arm64\n") &&
		  strstr(out, "sync-scan-mb     tso          0        4  none") &&
		  strstr(out, "walker-mark-mb dropped under tso: arm64 collapse-zap"),
		  "the study's table:\n%s", out);
	free(out);
}

/* The report shows the study's table (report --barriers): the page's data
 * holds it, and a file that is not the study's is refused. */
TEST_T(memory_report_holds_the_barrier_table, 300)
{
	char dir[256], matrix[300], study[300], page[300];
	char *out = malloc(OUT_LEN), *html;

	CHECK(out);
	test_mkdtemp(dir, sizeof(dir), "barriers");
	snprintf(matrix, sizeof(matrix), "%s/matrix.json", dir);
	snprintf(study, sizeof(study), "%s/study.json", dir);
	snprintf(page, sizeof(page), "%s/report.html", dir);
	CHECK_MSG(run_ptlab(out, (const char *const[]){ "matrix", "--profiles", "x86",
							"--scenarios", "munmap", "--fixes", "both",
							"--seconds", "0.3", "--json", matrix,
							"--no-report", NULL }) == 0,
		  "matrix:\n%s", out);
	CHECK_MSG(run_ptlab(out, (const char *const[]){ "study", "barriers", "--profiles",
							"arm64", "--scenarios", "collapse-zap",
							"--sync", "walkers", "--memory", "tso",
							"--barriers", "walker-mark-mb", "--json",
							study, NULL }) == 0,
		  "study:\n%s", out);
	CHECK_MSG(run_ptlab(out, (const char *const[]){ "report", "--from", matrix,
							"--barriers", study, "-o", page,
							NULL }) == 0,
		  "report:\n%s", out);
	html = test_read_file(page);
	CHECK(html);
	/* "/" is escaped in the page's data */
	CHECK_MSG(strstr(html, "\"barriers\":[{\"name\":\"walker-mark-mb\""), "no table data");
	CHECK(strstr(html, "\"needed_by\":[{\"profile\":\"arm64\",\"scenario\":\"collapse-zap\""));
	CHECK(strstr(html, "<div id=\"barriers\"></div>"));
	free(html);
	CHECK_EQ(run_ptlab(out, (const char *const[]){ "report", "--from", matrix, "--barriers",
						       matrix, "-o", page, NULL }), 2);
	CHECK_MSG(strstr(out, "has no \"barriers\" array"), "%s", out);
	test_rmtree(dir);
	free(out);
}
