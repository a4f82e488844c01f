// SPDX-License-Identifier: MIT
/*
 * Soaks: the cells come from the rule, each run's configuration from its
 * seed; a run that fails is judged a failure for any of the soak's checks;
 * `ptlab soak` passes a short soak with failures injected on every path,
 * and a failing soak names the run and the command that replays it.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "ptlab/soak.h"

/*
 * The quick tier's soak injects at five times the default rate, so that
 * every path fails many times in a short soak: the rarest path (the THP
 * fault's deposit table) makes about 600 allocations in 10 s here, but
 * only about 200 in 20 s in a sanitizer build, which runs several times
 * slower, with 17 profiles' cells taking turns, and 0.98^200 (2%) was too
 * likely a run without one failure (0.95^200: 3 in 10^5). The full tier's
 * soak runs longer at twice the default rate (a sanitizer build's 600
 * deposit tables in 60 s: 0.98^600, 5 in 10^6).
 */
#ifdef PTLAB_DEBUG
#define SOAK_QUICK_SECONDS "20"
#else
#define SOAK_QUICK_SECONDS "10"
#endif
#define SOAK_QUICK_FAIL_ALLOC "0.05"
#define SOAK_FULL_SECONDS "60"
#define SOAK_FULL_FAIL_ALLOC "0.02"

static size_t count_safe_cells(void)
{
	size_t n = 0;

	for (size_t p = 0; p < ptlab_profiles_count(); p++)
		for (unsigned int f = 0; f < PTLAB_FIX_SETTINGS; f++)
			for (int s = 0; s < SCENARIO_COUNT; s++)
				n += !ptlab_expect(&ptlab_profiles()[p], ptlab_fix_setting(f),
						   (enum scenario)s).unsafe;
	return n;
}

TEST(soak_cells_come_from_the_rule)
{
	static struct lab_soak_cell cells[1024], again[1024];
	size_t n = lab_soak_cells(cells, 1024, NULL, NULL, NULL);
	bool fix[PTLAB_FIX_SETTINGS] = { false, false, false, true };
	bool *prof = calloc(ptlab_profiles_count(), sizeof(bool));

	CHECK(n > 0 && n < 1024);
	CHECK_EQ(n, count_safe_cells());
	/* Each safe cell once; every one safe by the rule. */
	for (size_t i = 0; i < n; i++) {
		CHECK(!ptlab_expect(cells[i].profile, ptlab_fix_setting(cells[i].fix_setting),
				    cells[i].scenario).unsafe);
		CHECK(!cells[i].expect.unsafe);
		for (size_t j = 0; j < i; j++)
			CHECK(cells[j].profile != cells[i].profile ||
			      cells[j].fix_setting != cells[i].fix_setting ||
			      cells[j].scenario != cells[i].scenario);
	}
	/* Round robin: the scenarios take turns from the start. */
	for (int s = 0; s < SCENARIO_COUNT; s++)
		CHECK_EQ(cells[s].scenario, s);
	/* A short buffer still gets the count; a selection narrows. */
	CHECK_EQ(lab_soak_cells(again, 2, NULL, NULL, NULL), n);
	CHECK(memcmp(again, cells, 2 * sizeof(cells[0])) == 0);
	prof[0] = true;
	n = lab_soak_cells(cells, 1024, prof, fix, NULL);
	CHECK_EQ(n, SCENARIO_COUNT);
	for (size_t i = 0; i < n; i++)
		CHECK(cells[i].profile == &ptlab_profiles()[0] && cells[i].fix_setting == 3);
	free(prof);
}

/* Windows vary within [1/4, 2] x delay and [1/2, 1] x probability, from
 * the seed alone; the checks and the injection are on. */
TEST(soak_config_from_the_seed)
{
	struct lab_soak_options o = { .cell_seconds = 0.5, .walkers = 3, .fail_probability = 0.01 };
	struct lab_soak_cell cells[64];
	struct lab_run_config def, a, b;
	bool varied = false;

	CHECK(lab_soak_cells(cells, 64, NULL, NULL, NULL) >= SCENARIO_COUNT);
	for (int s = 0; s < SCENARIO_COUNT; s++) {
		const struct lab_soak_cell *c = &cells[s];

		lab_run_config_default(&def, c->profile, ptlab_fix_setting(c->fix_setting),
				       c->scenario);
		for (uint64_t seed = 1; seed <= 200; seed++) {
			lab_soak_config(&a, c, seed, &o);
			lab_soak_config(&b, c, seed, &o);
			CHECK(memcmp(&a, &b, sizeof(a)) == 0);
			CHECK_EQ(a.seed, seed);
			CHECK(a.seconds == 0.5 && a.walkers == 3 && a.check_tables);
			CHECK(a.fail_alloc_probability == 0.01);
			CHECK_EQ(a.fail_alloc_paths,
				 FAIL_ALLOC_ALL_PATHS & ~FAIL_ALLOC_PATH(ALLOC_PATH_OTHER));
			CHECK_EQ(a.nr_windows, def.nr_windows);
			for (unsigned int w = 0; w < a.nr_windows; w++) {
				CHECK_EQ(a.windows[w].rp, def.windows[w].rp);
				CHECK(a.windows[w].delay_ns * 4 >= def.windows[w].delay_ns);
				CHECK(a.windows[w].delay_ns <= 2 * def.windows[w].delay_ns);
				CHECK(a.windows[w].probability <= def.windows[w].probability);
				CHECK(a.windows[w].probability * 2 >= def.windows[w].probability);
				varied |= a.windows[w].delay_ns != def.windows[w].delay_ns;
			}
		}
	}
	CHECK(varied);
	lab_soak_config(&b, &cells[0], 2, &o);
	lab_soak_config(&a, &cells[0], 1, &o);
	CHECK(a.nr_windows == 0 || a.windows[0].delay_ns != b.windows[0].delay_ns);
}

/* What the soak adds to the lab's checks fails a run: tables that disagree
 * with the counters, pages left pinned. */
TEST(soak_checks_fail_a_run)
{
	struct lab_soak_cell c;
	struct lab_soak_options o = { .cell_seconds = 1, .walkers = 2 };
	struct lab_run_config cfg;
	struct lab_result r = { .collapses = 1, .zap_table_frees = 1, .unlinks = 1,
				.evidence.defended = 200,
				.evidence.defended_by_walker = { [WALKER_GUP] = 100, [WALKER_RCU] = 100 } };
	char why[200];

	CHECK(lab_soak_cells(&c, 1, NULL, NULL, NULL) > 0);
	lab_soak_config(&cfg, &c, 1, &o);
	CHECK_EQ(lab_judge(&cfg, &r, 0, &c.expect, 20, why, sizeof(why)), LAB_PASS);
	r.table_mismatches = 1;
	snprintf(r.table_check, sizeof(r.table_check), "anon RSS is 3, but the tables hold 2");
	CHECK_EQ(lab_judge(&cfg, &r, 0, &c.expect, 20, why, sizeof(why)), LAB_FAIL);
	CHECK_MSG(strstr(why, "tables disagree") && strstr(why, "anon RSS is 3"), "%s", why);
	r.table_mismatches = 0;
	r.table_referenced = 2;
	CHECK_EQ(lab_judge(&cfg, &r, 0, &c.expect, 20, why, sizeof(why)), LAB_FAIL);
	CHECK_MSG(strstr(why, "2 pages still pinned"), "%s", why);
}

/* A path injected on that allocated 10/p times without one failure fails
 * the soak; one that hardly allocated does not. */
TEST(soak_paths_never_failed)
{
	struct lab_soak_totals t = { 0 };

	for (int p = 0; p < ALLOC_PATH_COUNT; p++) {
		t.alloc_attempts[p] = 5000;
		t.injected[p] = 20;
	}
	CHECK_EQ(lab_soak_paths_never_failed(&t, 0.005), 0);
	t.injected[ALLOC_PATH_RCU_BATCH] = 0;
	CHECK_EQ(lab_soak_paths_never_failed(&t, 0.005), FAIL_ALLOC_PATH(ALLOC_PATH_RCU_BATCH));
	CHECK_EQ(lab_soak_paths_never_failed(&t, 0), 0);
	t.alloc_attempts[ALLOC_PATH_RCU_BATCH] = 1999;
	CHECK_EQ(lab_soak_paths_never_failed(&t, 0.005), 0);
	/* The untagged path is never injected on by a soak. */
	t.injected[ALLOC_PATH_OTHER] = 0;
	CHECK_EQ(lab_soak_paths_never_failed(&t, 0.005), 0);
}

static char out[1 << 20];

static int ptlab_soak(const char *const args[])
{
	const char *argv[32] = { test_ptlab_path(), "soak" };
	size_t n = 2;

	for (; args[n - 2] && n < 31; n++)
		argv[n] = args[n - 2];
	argv[n] = NULL;
	return test_run(argv, out, sizeof(out));
}

/* The JSON number after "key": (or -1). */
static long long json_number(const char *text, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(text, k);
	return p ? strtoll(p + strlen(k), NULL, 10) : -1;
}

/* A soak of the safe cells for @seconds with failures injected at
 * @fail_alloc: every check holds and every path's fallback ran. */
static void soak_passes(const char *seconds, const char *fail_alloc)
{
	char dir[256], json[300];
	const char *args[] = { "--seconds", seconds, "--fail-alloc", fail_alloc, "--json", json,
			       NULL };
	char *text, *inj;
	int status;

	test_mkdtemp(dir, sizeof(dir), "soak");
	snprintf(json, sizeof(json), "%s/soak.json", dir);
	status = ptlab_soak(args);
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "s] ") && strstr(out, "frames in use"), "no status line:\n%s", out);
	CHECK(strstr(out, "verdict: pass"));
	text = test_read_file(json);
	for (const char *k = "violations\0leaked_frames\0table_mismatches\0pinned_pages\0"
			     "lost_writes\0runs_failed\0run_errors\0";
	     *k; k += strlen(k) + 1)
		CHECK_MSG(json_number(text, k) == 0, "%s in %s", k, text);
	CHECK(json_number(text, "cells_run") >= SCENARIO_COUNT);
	CHECK(json_number(text, "seconds") >= 0);
	CHECK(strstr(text, "\"passed\":true"));
	inj = strstr(text, "\"injected_failures\":{");
	CHECK(inj);
	for (int p = 0; p < ALLOC_PATH_COUNT; p++) {
		if (p == ALLOC_PATH_OTHER)
			continue;
		CHECK_MSG(json_number(inj, alloc_path_name((enum alloc_path)p)) > 0,
			  "no failure injected on %s:\n%s", alloc_path_name((enum alloc_path)p), out);
	}
	free(text);
	test_rmtree(dir);
}

TEST_T(soak_cli_short_soak_passes, 300)
{
	soak_passes(SOAK_QUICK_SECONDS, SOAK_QUICK_FAIL_ALLOC);
}

TEST_FULL(soak_cli_long_soak_passes, 600)
{
	soak_passes(SOAK_FULL_SECONDS, SOAK_FULL_FAIL_ALLOC);
}

/* A run that fails (here: every allocation fails, so no collapse can
 * succeed) is named with its seed and the command that replays it, which
 * fails the same way; the soak exits 1 and its JSON says why. */
TEST_T(soak_cli_failure_is_replayable, 300)
{
	char dir[256], json[300], replay[512], *line, *text;
	const char *args[] = { "--scenarios", "collapse-pin", "--profiles", "x86", "--fixes", "both",
			       "--runs", "2", "--seed", "41", "--cell-seconds", "0.3",
			       "--fail-alloc", "1", "--json", json, NULL };
	const char *rargv[32];
	size_t n = 0;
	int status;

	test_mkdtemp(dir, sizeof(dir), "soakfail");
	snprintf(json, sizeof(json), "%s/soak.json", dir);
	status = ptlab_soak(args);
	CHECK_MSG(status == 1, "exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "FAIL run 1: x86 both collapse-pin, seed 42: no collapse succeeded"),
		  "%s", out);
	CHECK(strstr(out, "verdict: FAIL"));
	text = test_read_file(json);
	CHECK(strstr(text, "\"passed\":false"));
	CHECK(strstr(text, "\"seed\":42,\"verdict\":\"fail\",\"why\":\"no collapse succeeded\""));
	CHECK_EQ(json_number(text, "runs_failed"), 2);
	free(text);
	/* The replay command of run 1, run as printed. */
	line = strstr(out, "replay: ptlab soak --profiles x86 --fixes both --scenarios "
			   "collapse-pin --seed 42 --runs 1");
	CHECK_MSG(line, "%s", out);
	line += strlen("replay: ptlab ");
	snprintf(replay, sizeof(replay), "%.*s", (int)strcspn(line, "\n"), line);
	rargv[n++] = test_ptlab_path();
	for (char *save, *tok = strtok_r(replay, " ", &save); tok && n < 31;
	     tok = strtok_r(NULL, " ", &save))
		rargv[n++] = tok;
	rargv[n] = NULL;
	status = test_run(rargv, out, sizeof(out));
	CHECK_MSG(status == 1, "replay: exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "FAIL run 0: x86 both collapse-pin, seed 42: no collapse succeeded"),
		  "%s", out);
	CHECK(strstr(out, "1 runs of 1 safe cells"));
	test_rmtree(dir);
}

/* An interrupted soak (SIGINT) finishes its run and prints its summary. */
TEST_T(soak_cli_interrupt_prints_the_summary, 300)
{
	char dir[256], path[300], *text;
	int status;
	pid_t pid;

	test_mkdtemp(dir, sizeof(dir), "soakint");
	snprintf(path, sizeof(path), "%s/out", dir);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		CHECK(freopen(path, "w", stdout));
		execl(test_ptlab_path(), "ptlab", "soak", "--seconds", "600", "--cell-seconds",
		      "0.2", "--seed", "3", (char *)NULL);
		_exit(127);
	}
	/* Until its first run has begun (the child may not have made the
	 * file yet). */
	for (int i = 0; i < 600; i++) {
		usleep(100000);
		if (access(path, R_OK))
			continue;
		text = test_read_file(path);
		if (strstr(text, "ptlab soak: ")) {
			free(text);
			break;
		}
		free(text);
	}
	usleep(500000);
	CHECK_EQ(kill(pid, SIGINT), 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	text = test_read_file(path);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, text);
	CHECK_MSG(strstr(text, "s (interrupted), "), "%s", text);
	CHECK(strstr(text, "verdict: pass"));
	free(text);
	test_rmtree(dir);
}

TEST(soak_cli_usage_errors)
{
	static const struct {
		const char *args[5];
		const char *expect;
	} bad[] = {
		{ { "--seconds", "0" }, "bad --seconds: 0 (allowed: 1..604800)" },
		{ { "--seconds", "1e9" }, "bad --seconds: 1e9" },
		{ { "--cell-seconds", "0.01" }, "bad --cell-seconds: 0.01 (allowed: 0.05..600)" },
		{ { "--runs", "0" }, "bad --runs: 0 (allowed: 1..1000000000)" },
		{ { "--fail-alloc", "1.5" }, "bad --fail-alloc: 1.5 (allowed: 0..1)" },
		{ { "--fail-alloc", "nan" }, "bad --fail-alloc: nan" },
		{ { "--threads", "0" }, "bad --threads: 0 (allowed: 1..56 walker CPUs)" },
		{ { "--profiles", "vax" }, "unknown profile: vax (allowed: x86" },
		{ { "--profiles", "broadcast-norcu", "--scenarios", "munmap" },
		  "no safe cell in the selection" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int status = ptlab_soak(bad[i].args);

		CHECK_MSG(status == 2, "%s: exit %d:\n%s", bad[i].expect, status, out);
		CHECK_MSG(strstr(out, bad[i].expect), "want %s:\n%s", bad[i].expect, out);
	}
}
