// SPDX-License-Identifier: MIT
/*
 * The list of `make mutants` (tests/mutants.txt) against the tree as it
 * is: every mutant's text is found exactly once in its file, so that a
 * change of the protocol code cannot leave a mutant that no longer
 * applies (make mutants would report it as an error, not a verdict, but
 * only when someone runs it). And the list's checker itself: a missing
 * or repeated text, a malformed list and a bad option are errors that
 * name what is wrong. Running the mutants is make mutants' work, not the
 * quick tier's: each needs a build and a quick tier of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define MUTANTS_SH "scripts/mutants.sh"
#define MUTANTS_LIST "tests/mutants.txt"

static int mutants_run(const char *const *args, char *out, size_t len)
{
	const char *argv[16] = { "/bin/bash", MUTANTS_SH };
	int n = 2;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	return test_run_timeout(argv, out, len, 60);
}

/* Runs the checker on a list holding @text; returns its exit status. */
static int check_list(const char *text, char *out, size_t len)
{
	char dir[256], path[300];
	FILE *f;
	int rc;

	test_mkdtemp(dir, sizeof(dir), "mutants");
	snprintf(path, sizeof(path), "%s/list.txt", dir);
	f = fopen(path, "w");
	CHECK(f);
	fputs(text, f);
	CHECK(fclose(f) == 0);
	rc = mutants_run((const char *const[]){ "--check", "--list", path, NULL }, out, len);
	unlink(path);
	rmdir(dir);
	return rc;
}

/* How many mutants the list names: its lines that start with "mutant ". */
static size_t mutants_listed(void)
{
	char *text = test_read_file(MUTANTS_LIST);
	size_t n = strncmp(text, "mutant ", 7) == 0;

	n += test_count(text, "\nmutant ");
	free(text);
	return n;
}

TEST(mutants_all_apply_to_the_tree)
{
	static char out[1 << 16];
	char want[64];
	size_t n = mutants_listed();
	int rc = mutants_run((const char *const[]){ "--check", NULL }, out, sizeof(out));

	CHECK_MSG(rc == 0, "scripts/mutants.sh --check: exit %d:\n%s", rc, out);
	/* The mutations the brief names, at least, and each one checked. */
	CHECK_MSG(n >= 9, "only %zu mutants in %s", n, MUTANTS_LIST);
	snprintf(want, sizeof(want), "mutants: %zu apply\n", n);
	CHECK_MSG(strstr(out, want), "want \"%s\" in:\n%s", want, out);
}

TEST(mutants_stale_or_malformed_list_is_an_error)
{
	static char out[1 << 14];

	/* A text the code no longer has: named, never judged. */
	CHECK_EQ(check_list("mutant  gone\nremoves nothing\nfile    src/gup.c\n"
			    "find    this text is in no source file\nreplace x\n",
			    out, sizeof(out)), 1);
	CHECK_MSG(strstr(out, "mutant gone: src/gup.c: the text to find occurs 0 times"), "%s", out);
	/* A text found twice would make the mutation ambiguous. */
	CHECK_EQ(check_list("mutant  twice\nremoves nothing\nfile    src/gup.c\n"
			    "find    #include\nreplace #define\n", out, sizeof(out)), 1);
	CHECK_MSG(strstr(out, "mutant twice: src/gup.c: the text to find occurs "), "%s", out);
	CHECK_MSG(!strstr(out, "occurs 1 times") && !strstr(out, "occurs 0 times"), "%s", out);
	/* A second edit of one file sees the first's result: \n and \t
	 * escapes, and a text the first edit made. */
	CHECK_EQ(check_list("mutant  chain\nremoves nothing\nfile    src/gup.c\n"
			    "find    \\tarch_local_irq_disable(c);\\n\nreplace \\tPTLAB_MUTANT_X;\\n\n"
			    "find    PTLAB_MUTANT_X\nreplace (void)c\n", out, sizeof(out)), 0);
	CHECK_MSG(strstr(out, "mutants: 1 apply\n"), "%s", out);
	/* A file that is not there. */
	CHECK_EQ(check_list("mutant  nofile\nremoves nothing\nfile    src/nothing.c\n"
			    "find    x\nreplace y\n", out, sizeof(out)), 1);
	CHECK_MSG(strstr(out, "mutant nofile: no file src/nothing.c"), "%s", out);
	/* Malformed lists: the line and what is allowed. */
	CHECK_EQ(check_list("mutant  a\nremoves x\nfile    src/gup.c\nfnd     x\n", out,
			    sizeof(out)), 2);
	CHECK_MSG(strstr(out, ":4: unknown keyword: 'fnd' (allowed: mutant, removes, file, find, "
			      "replace, first)"), "%s", out);
	CHECK_EQ(check_list("mutant  a\nfile    src/gup.c\nfind    #include <errno.h>\nreplace\n",
			    out, sizeof(out)), 2);
	CHECK_MSG(strstr(out, "mutant a: no 'removes' line"), "%s", out);
	CHECK_EQ(check_list("mutant  a\nremoves x\nfile    src/gup.c\nfind    x\n", out,
			    sizeof(out)), 2);
	CHECK_MSG(strstr(out, "mutant a: a find with no replace"), "%s", out);
	CHECK_EQ(check_list("mutant  A b\nremoves x\n", out, sizeof(out)), 2);
	CHECK_MSG(strstr(out, "bad mutant name: 'A b' (allowed: lower-case letters, digits, "
			      "dashes)"), "%s", out);
	CHECK_EQ(check_list("mutant  a\nremoves x\nfile    src/gup.c\nfind    #include <errno.h>\n"
			    "replace\nmutant  a\n", out, sizeof(out)), 2);
	CHECK_MSG(strstr(out, "mutant a named twice"), "%s", out);
	/* Bad options and names. */
	CHECK_EQ(mutants_run((const char *const[]){ "--chek", NULL }, out, sizeof(out)), 2);
	CHECK_MSG(strstr(out, "mutants: unknown option: --chek (allowed: --list, --build, --check, "
			      "--help)"), "%s", out);
	CHECK_EQ(mutants_run((const char *const[]){ "--check", "no-such-mutant", NULL }, out,
			     sizeof(out)), 2);
	CHECK_MSG(strstr(out, "mutants: no mutant matches: no-such-mutant"), "%s", out);
}
