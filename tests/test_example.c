// SPDX-License-Identifier: MIT
/* examples/pin_vs_collapse, built against the in-tree library by make
 * check: what it reports on the ordered part is the protocol's answer. */
#include <libgen.h>
#include <string.h>

#include "harness.h"

static char out[1 << 16];

/* Runs the example (next to the ptlab under test) with @profile. */
static int example(const char *profile)
{
	char ptlab[512], path[600];
	const char *argv[] = { path, profile, NULL };

	snprintf(ptlab, sizeof(ptlab), "%s", test_ptlab_path());
	snprintf(path, sizeof(path), "%s/examples/pin_vs_collapse", dirname(ptlab));
	return test_run(argv, out, sizeof(out));
}

TEST_T(example_pin_vs_collapse, 120)
{
	/* NULL: no argument, the default profile. */
	static const char *const profiles[] = { "x86", "ppc64-radix", NULL };

	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		int status = example(profiles[i]);

		CHECK_MSG(status == 0, "%s: exit %d:\n%s", profiles[i] ? profiles[i] : "default",
			  status, out);
		/* A pin is a reference no mapping explains: collapse refuses. */
		CHECK(strstr(out, profiles[i] ? profiles[i] : "profile arm64:"));
		CHECK_MSG(strstr(out, "cpu0 collapses: a page is pinned or referenced"), "%s", out);
		CHECK_MSG(strstr(out, "cpu0 reads 0x1111: the write is there"), "%s", out);
		CHECK_MSG(strstr(out, "after the unpin: succeeded; the word reads 0x1111"), "%s", out);
		/* Both fixes are on: no pin goes stale, on any profile. */
		CHECK_MSG(strstr(out, "a later read did not see: 0\n"), "%s", out);
		CHECK_MSG(strstr(out, "teardown: every frame came back free"), "%s", out);
	}
	CHECK_EQ(example("vax"), 2);
	CHECK(strstr(out, "unknown profile: vax (allowed: x86"));
}
