// SPDX-License-Identifier: MIT
/* One version (include/ptlab/version.h): the command, its JSON, the
 * Debian changelog and ptlab.pc all carry the same one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_helpers.h"
#include "harness.h"
#include "ptlab/version.h"

static char out[1 << 16];

TEST(version_agrees_everywhere)
{
	static const char *const version[] = { "--version", NULL };
	static const char *const json[] = { "profiles", "--json", NULL };
	char *changelog = test_read_file("debian/changelog");
	char *pc = test_read_file("ptlab.pc.in");
	char want[64];

	/* The command (a stale build would print another). */
	CHECK_EQ(cli_run(version, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "ptlab %s\n", PTLAB_VERSION);
	CHECK_MSG(strcmp(out, want) == 0, "ptlab --version: %s", out);
	/* Every JSON document begins with it (this one indented). */
	CHECK_EQ(cli_run(json, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "{\n  \"ptlab_version\": \"%s\",", PTLAB_VERSION);
	CHECK_MSG(strncmp(out, want, strlen(want)) == 0, "profiles --json: %.80s", out);
	/* The package: the top entry of debian/changelog, "ptlab (V) ...". */
	snprintf(want, sizeof(want), "ptlab (%s) ", PTLAB_VERSION);
	CHECK_MSG(strncmp(changelog, want, strlen(want)) == 0,
		  "debian/changelog begins %.40s, not %s", changelog, want);
	/* ptlab.pc: the Makefile fills in the header's version. */
	CHECK(strstr(pc, "\nVersion: @VERSION@\n"));
	free(changelog);
	free(pc);
}
