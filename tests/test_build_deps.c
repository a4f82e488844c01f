// SPDX-License-Identifier: MIT
/*
 * A plain make on a machine that lacks a dependency names the missing
 * Debian packages and the one command that installs them, before it
 * compiles anything (scripts/build-deps.sh), instead of a compiler error.
 * A missing header is simulated with a compiler that cannot see it: a
 * wrapper around gcc that hides the system headers (-nostdinc), or one
 * named header, or a compiler that does not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static char out[1 << 16];

/* Writes the shell script @body to @dir/@name, executable. */
static void write_script(char *path, size_t len, const char *dir, const char *name,
			 const char *body)
{
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	CHECK(fclose(f) == 0);
	CHECK(chmod(path, 0755) == 0);
}

/* make with compiler @cc into a build directory of its own under @dir:
 * its exit status, its output in out. */
static int make_with(const char *dir, const char *cc, const char *tag)
{
	char build[300], cc_arg[300], build_arg[320];
	/* make from PATH, as a user runs it */
	const char *argv[] = { "/bin/sh", "-c", "exec make --no-print-directory \"$0\" \"$1\"",
			       build_arg, cc_arg, NULL };

	snprintf(build, sizeof(build), "%s/build-%s", dir, tag);
	snprintf(build_arg, sizeof(build_arg), "BUILD=%s", build);
	snprintf(cc_arg, sizeof(cc_arg), "CC=%s", cc);
	return test_run(argv, out, sizeof(out));
}

/* What a missing dependency must print, and must not. */
static void check_names(const char *what, const char *packages)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "install them with: sudo apt-get install %s\n", packages);
	CHECK_MSG(strstr(out, "ptlab: the build needs Debian packages that are missing: ") &&
			  strstr(out, cmd),
		  "%s: no package list and command (%s) in:\n%s", what, packages, out);
	CHECK_MSG(!strstr(out, "error:") && !strstr(out, "  CC "),
		  "%s: the compiler ran before the check:\n%s", what, out);
}

TEST(build_names_missing_packages)
{
	char dir[256], cc[320], obj[320];

	test_mkdtemp(dir, sizeof(dir), "deps");
	write_script(cc, sizeof(cc), dir, "cc-no-headers", "exec gcc -nostdinc \"$@\"");
	CHECK(make_with(dir, cc, "none") != 0);
	check_names("no headers", "liburcu-dev libjansson-dev");
	snprintf(obj, sizeof(obj), "%s/build-none/obj", dir);
	CHECK_MSG(access(obj, F_OK) != 0, "objects were built: %s", obj);

	/* One header missing: that package only. The wrapper sees the
	 * check's one-line source on stdin. */
	write_script(cc, sizeof(cc), dir, "cc-no-jansson",
		     "src=$(cat); case \"$src\" in *jansson*) exit 1 ;; esac\n"
		     "printf '%s\\n' \"$src\" | exec gcc \"$@\"");
	CHECK(make_with(dir, cc, "jansson") != 0);
	check_names("no jansson.h", "libjansson-dev");
	CHECK(!strstr(out, "liburcu-dev"));

	/* No compiler at all: its package. */
	snprintf(cc, sizeof(cc), "%s/no-such-gcc", dir);
	CHECK(make_with(dir, cc, "nocc") != 0);
	check_names("no compiler", "gcc");
	test_rmtree(dir);
}
