// SPDX-License-Identifier: MIT
/* `ptlab study unshare`: the IPIs per munmap() of shared hugetlb memory,
 * by unshare generation; and its bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define OUT_LEN (1u << 16)

TEST_T(study_unshare_counts_by_generation, 120)
{
	char dir[256], json[300], *out = malloc(OUT_LEN), *text;
	const char *argv[] = { test_ptlab_path(), "study", "unshare", "--cpus", "8",
			       "--mm-cpus", "3", "--gib", "1,3", "--json", json, NULL };
	int status;

	CHECK(out);
	test_mkdtemp(dir, sizeof(dir), "study");
	snprintf(json, sizeof(json), "%s/unshare.json", dir);
	status = test_run(argv, out, OUT_LEN);
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	text = test_read_file(json);
	/* x86: a sync interrupts the 7 other CPUs; each of the two flushes
	 * (the unshared range before the i_mmap lock goes, then the freed
	 * PUD table) the 2 other CPUs that run A. */
	CHECK_MSG(strstr(text, "{\"generation\":\"none\",\"gib\":3,\"syncs\":0,\"sync_ipis\":0,"
			       "\"flushes\":2,\"flush_ipis\":4,\"ipis\":4}"), "%s", text);
	/* 2025: one sync per GiB unshared. */
	CHECK_MSG(strstr(text, "{\"generation\":\"per-unshare\",\"gib\":3,\"syncs\":3,"
			       "\"sync_ipis\":21,"), "%s", text);
	/* 6.19: one per munmap, whatever its size. */
	CHECK_MSG(strstr(text, "{\"generation\":\"gather\",\"gib\":1,\"syncs\":1,\"sync_ipis\":7,"),
		  "%s", text);
	CHECK_MSG(strstr(text, "{\"generation\":\"gather\",\"gib\":3,\"syncs\":1,\"sync_ipis\":7,"),
		  "%s", text);
	CHECK_MSG(strstr(text, "\"ptlab_version\""), "%s", text);
	free(text);
	test_rmtree(dir);
	free(out);
}

TEST(study_bad_input)
{
	static const struct {
		const char *args[5];
		const char *message;
	} cases[] = {
		/* Alone, study lists its studies (its usage, on stderr: it did no work). */
		{ { NULL }, "subcommands:\n  unshare " },
		{ { "async" }, "ptlab: unknown study: async (allowed: unshare, sync, barriers)" },
		{ { "unshare", "--gib", "0" }, "ptlab: bad --gib: 0 (allowed: up to 8 sizes" },
		{ { "unshare", "--gib", "1,,2" }, "ptlab: bad --gib: 1,,2" },
		{ { "unshare", "--cpus", "65" }, "ptlab: bad --cpus: 65 (allowed: 2..64)" },
		{ { "unshare", "--cpus", "4", "--mm-cpus", "5" }, "ptlab: bad --mm-cpus: 5" },
		{ { "unshare", "--profile", "vax" }, "ptlab: unknown profile: vax" },
		{ { "unshare", "extra" }, "ptlab: unexpected argument" },
	};
	char *out = malloc(OUT_LEN);

	CHECK(out);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[8] = { test_ptlab_path(), "study" };
		size_t n = 2;
		int status;

		for (size_t k = 0; k < 5 && cases[i].args[k]; k++)
			argv[n++] = cases[i].args[k];
		status = test_run(argv, out, OUT_LEN);
		CHECK_MSG(status == 2, "case %zu: exit %d:\n%s", i, status, out);
		CHECK_MSG(strstr(out, cases[i].message), "case %zu: expected '%s' in:\n%s", i,
			  cases[i].message, out);
	}
	free(out);
}
