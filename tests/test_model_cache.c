// SPDX-License-Identifier: MIT
/*
 * The model cache (PTLAB_MODEL_CACHE, src/model/tape.c): a cell checked
 * again with the same inputs reads its search's outputs from the cache,
 * through the same parsers, and gets the same result, counterexample and
 * trail; what the cache holds is what the result is read from; a tape
 * that is cut short, or whose steps are not the cell's, is a miss that
 * searches live; a kept cell read from it gets its model and trail
 * (which test_model.c replays with Spin); and a directory that cannot be
 * used is an error naming the value.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "ptlab/model.h"

#define OUT_LEN (1u << 20)

/* The one *.tape file in @dir into @path; the number of them. */
static int tapes(const char *dir, char *path, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l > 5 && !strcmp(e->d_name + l - 5, ".tape")) {
			n++;
			if (path)
				snprintf(path, len, "%s/%s", dir, e->d_name);
		}
	}
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	CHECK_MSG(f, "%s", path);
	CHECK_EQ(fwrite(text, 1, len, f), len);
	CHECK_EQ(fclose(f), 0);
}

/* @text with its first @from replaced by @to, of the same length. */
static void replace_once(char *text, const char *from, const char *to)
{
	char *p = strstr(text, from);

	CHECK_MSG(p, "no \"%s\" in the tape", from);
	CHECK_EQ(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
}

static void same_result(const struct ptlab_model_result *a, const struct ptlab_model_result *b)
{
	CHECK_EQ(a->verdict, b->verdict);
	CHECK_EQ(a->states, b->states);
	CHECK_EQ(a->kind, b->kind);
	CHECK_EQ(a->walker, b->walker);
	CHECK_EQ(a->aba_witness, b->aba_witness);
	CHECK(memcmp(a->found_by_walker, b->found_by_walker, sizeof(a->found_by_walker)) == 0);
	CHECK_EQ(a->nsteps, b->nsteps);
	for (size_t i = 0; i < a->nsteps; i++)
		CHECK_MSG(!strcmp(a->steps[i], b->steps[i]), "step %zu: %s / %s", i + 1,
			  a->steps[i], b->steps[i]);
}

static void check(const struct ptlab_cell *cells, size_t n, struct ptlab_model_result *r,
		  const char *keep)
{
	struct ptlab_model_options o = { .jobs = 1, .keep_dir = keep };

	CHECK_EQ(ptlab_model_check(&o, cells, n, r), 0);
	for (size_t i = 0; i < n; i++)
		CHECK_MSG(ptlab_model_judge(&cells[i], &r[i]) == MODEL_PASS, "cell %zu: %s (%s)",
			  i, model_verdict_name(r[i].verdict), r[i].error);
}

static void release(struct ptlab_model_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ptlab_model_result_release(&r[i]);
}

/* The cell's tape is whole again (pan's timings make it another text):
 * the next check reads it. */
static void replayed(const struct ptlab_cell *cell, const struct ptlab_model_result *live)
{
	struct ptlab_model_result r;

	check(cell, 1, &r, NULL);
	CHECK_MSG(r.from_cache, "the tape was not written again whole");
	same_result(live, &r);
	release(&r, 1);
}

/* An unsafe cell (its counterexample), an ABA witness's (its trail) and
 * a safe one: the second check reads all three from the cache. */
TEST_T(model_cache_gives_the_same_results, 120)
{
	const struct ptlab_profile *arm64 = ptlab_profile_find("arm64");
	const struct ptlab_fixes none = { false, false }, both = { true, true };
	const struct ptlab_cell cells[3] = {
		ptlab_cell_default(arm64, none, SCENARIO_COLLAPSE_ZAP),
		ptlab_cell_default(arm64, none, SCENARIO_MREMAP),
		ptlab_cell_default(arm64, both, SCENARIO_COLLAPSE_ZAP),
	};
	struct ptlab_model_result first[3], again[3];
	char dir[256], cache[300];

	test_mkdtemp(dir, sizeof(dir), "model-cache");
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	CHECK_EQ(setenv("PTLAB_MODEL_CACHE", cache, 1), 0);
	check(cells, 3, first, NULL);
	for (int i = 0; i < 3; i++)
		CHECK(!first[i].from_cache);
	CHECK_EQ(first[0].verdict, MODEL_UNSAFE);
	CHECK(first[0].nsteps > 0);
	CHECK(first[1].aba_witness && first[1].nsteps > 0);
	CHECK_EQ(tapes(cache, NULL, 0), 3);

	check(cells, 3, again, NULL);
	for (int i = 0; i < 3; i++) {
		CHECK_MSG(again[i].from_cache, "cell %d searched again", i);
		same_result(&first[i], &again[i]);
	}
	CHECK_EQ(tapes(cache, NULL, 0), 3);
	release(again, 3);

	/* a kept cell read from the cache gets the model and its trail */
	check(cells, 1, again, dir);
	CHECK(again[0].from_cache);
	same_result(&first[0], &again[0]);
	release(again, 1);
	{
		char name[128], path[600], *model, *trail;

		ptlab_model_cell_name(&cells[0], name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s/ptlab.pml", dir, name);
		model = test_read_file(path);
		CHECK_MSG(!strcmp(model, ptlab_model_builtin()), "%s is not the model", path);
		snprintf(path, sizeof(path), "%s/%s/ptlab.pml.trail", dir, name);
		trail = test_read_file(path);
		CHECK_MSG(strlen(trail) > 0 && strchr(trail, ':'), "%s: %s", path, trail);
		free(model);
		free(trail);
	}
	release(first, 3);
	CHECK_EQ(unsetenv("PTLAB_MODEL_CACHE"), 0);
	test_rmtree(dir);
}

/* A replay reads what the tape says: an edited state count is the
 * result's; a tape cut short, or with a step the search does not take,
 * is searched live, and rewritten whole. */
TEST_T(model_cache_reads_its_tape_and_misses_a_bad_one, 120)
{
	const struct ptlab_cell cell = ptlab_cell_default(
		ptlab_profile_find("x86"), (struct ptlab_fixes){ false, false }, SCENARIO_MUNMAP);
	struct ptlab_model_result live, r;
	char dir[256], cache[300], tape[600], needle[64], edited[64], *text, *orig;
	size_t len;

	test_mkdtemp(dir, sizeof(dir), "model-cache");
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	CHECK_EQ(setenv("PTLAB_MODEL_CACHE", cache, 1), 0);
	check(&cell, 1, &live, NULL);
	CHECK_EQ(tapes(cache, tape, sizeof(tape)), 1);
	orig = test_read_file(tape);
	len = strlen(orig);

	/* the state count the tape holds, one more */
	snprintf(needle, sizeof(needle), " %llu states, stored",
		 (unsigned long long)live.states);
	snprintf(edited, sizeof(edited), " %llu states, stored",
		 (unsigned long long)live.states + 1);
	CHECK_EQ(strlen(needle), strlen(edited));
	text = strdup(orig);
	CHECK(text);
	replace_once(text, needle, edited);
	write_file(tape, text, len);
	check(&cell, 1, &r, NULL);
	CHECK(r.from_cache);
	CHECK_EQ(r.states, live.states + 1);
	release(&r, 1);

	/* cut short: live, and the tape written again whole */
	write_file(tape, orig, len / 2);
	check(&cell, 1, &r, NULL);
	CHECK(!r.from_cache);
	same_result(&live, &r);
	release(&r, 1);
	free(text);
	replayed(&cell, &live);

	/* a first step that is not the search's (-c7 for -c1) */
	text = strdup(orig);
	CHECK(text);
	replace_once(text, "pan depth-first -c1 ", "pan depth-first -c7 ");
	write_file(tape, text, len);
	check(&cell, 1, &r, NULL);
	CHECK(!r.from_cache);
	CHECK_MSG(!r.error[0], "%s", r.error);
	same_result(&live, &r);
	release(&r, 1);
	free(text);
	replayed(&cell, &live);

	/* lengths that are not lengths: a miss, never a read outside the file */
	{
		static const char *const records[] = {
			"-5 3\nabc\nend\n",
			"99999999999999999999999 1\nx\nend\n",
			"3 18446744073709551615\nabc\nend\n",
			"4 4\nabc\nend\n",
		};
		char *head = strstr(orig, "records ");

		CHECK(head);
		for (size_t i = 0; i < sizeof(records) / sizeof(*records); i++) {
			FILE *f = fopen(tape, "w");

			CHECK(f);
			fprintf(f, "%.*srecords 1\n%s", (int)(head - orig), orig, records[i]);
			CHECK_EQ(fclose(f), 0);
			check(&cell, 1, &r, NULL);
			CHECK_MSG(!r.from_cache, "record %zu read", i);
			same_result(&live, &r);
			release(&r, 1);
		}
		replayed(&cell, &live);
	}

	/* the same model with another define: another key, a miss */
	{
		const char *defines[] = { "NWALKERS=1" };
		struct ptlab_model_options o = { .jobs = 1, .defines = defines, .ndefines = 1 };

		CHECK_EQ(ptlab_model_check(&o, &cell, 1, &r), 0);
		CHECK(!r.from_cache && r.verdict != MODEL_ERROR);
		release(&r, 1);
		CHECK_EQ(tapes(cache, NULL, 0), 2);
	}
	free(orig);
	release(&live, 1);
	CHECK_EQ(unsetenv("PTLAB_MODEL_CACHE"), 0);
	test_rmtree(dir);
}

/* A value that cannot be a cache names itself, in the API and in the
 * command; an empty one is no cache. */
TEST_T(model_cache_bad_directory, 60)
{
	const struct ptlab_cell cell = ptlab_cell_default(
		ptlab_profile_find("x86"), (struct ptlab_fixes){ false, false }, SCENARIO_MUNMAP);
	struct ptlab_model_options o = { .jobs = 1 };
	struct ptlab_model_result r;
	char dir[256], file[300], bad[320], *out = malloc(OUT_LEN);
	int status;

	CHECK(out);
	test_mkdtemp(dir, sizeof(dir), "model-cache");
	snprintf(file, sizeof(file), "%s/a-file", dir);
	write_file(file, "x", 1);
	snprintf(bad, sizeof(bad), "%s/sub", file);
	CHECK_EQ(setenv("PTLAB_MODEL_CACHE", bad, 1), 0);
	CHECK_EQ(ptlab_model_check(&o, &cell, 1, &r), 0);
	CHECK_EQ(r.verdict, MODEL_ERROR);
	CHECK_MSG(strstr(r.error, "PTLAB_MODEL_CACHE=") && strstr(r.error, bad), "%s", r.error);
	release(&r, 1);
	status = test_run((const char *const[]){ test_ptlab_path(), "model", "--profiles", "x86",
						 "--scenarios", "munmap", "--fixes", "none", NULL },
			  out, OUT_LEN);
	CHECK_MSG(status == 1, "exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, bad) && strstr(out, "1 without a verdict"), "%s", out);

	/* a file, not a directory */
	CHECK_EQ(setenv("PTLAB_MODEL_CACHE", file, 1), 0);
	CHECK_EQ(ptlab_model_check(&o, &cell, 1, &r), 0);
	CHECK_EQ(r.verdict, MODEL_ERROR);
	CHECK_MSG(strstr(r.error, file), "%s", r.error);
	release(&r, 1);

	CHECK_EQ(setenv("PTLAB_MODEL_CACHE", "", 1), 0);
	CHECK_EQ(ptlab_model_check(&o, &cell, 1, &r), 0);
	CHECK(r.verdict == MODEL_SAFE && !r.from_cache);
	release(&r, 1);
	CHECK_EQ(unsetenv("PTLAB_MODEL_CACHE"), 0);
	free(out);
	test_rmtree(dir);
}
