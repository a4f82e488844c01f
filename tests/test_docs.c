// SPDX-License-Identifier: MIT
/*
 * README.md and the Markdown files of docs/ stand alone: every relative
 * link and every repository path they name (src/..., include/...,
 * tests/..., or a glob of them) exists in the tree, every Markdown file
 * they name is one of the tree's, and nothing points outside it ("../").
 * A user's clone has nothing else.
 */
#include <glob.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* The tree's top-level directories a document may name a path in. */
#define REPO_PATH "(src|include|cli|tests|docs|model|scripts|debian|examples|report|bench|\\.ci)/" \
		  "[A-Za-z0-9_.*/+-]*"

/* A path, a glob, or an object the build makes (src/gup.o: its source). */
static bool path_exists(const char *path)
{
	size_t len = strlen(path);
	glob_t g;
	bool ok;

	if (len > 2 && !strcmp(path + len - 2, ".o")) {
		char src[512];

		snprintf(src, sizeof(src), "%.*s.c", (int)(len - 2), path);
		return access(src, F_OK) == 0;
	}
	if (!strchr(path, '*'))
		return access(path, F_OK) == 0;
	ok = glob(path, 0, NULL, &g) == 0 && g.gl_pathc > 0;
	globfree(&g);
	return ok;
}

/* Off in the checker's own test, whose references dangle on purpose. */
static bool report = true;

/* Reports one dangling reference of @doc; returns 1 to be counted. */
static int dangling(const char *doc, const char *what, const char *ref, size_t len)
{
	if (report)
		fprintf(stderr, "%s: %s does not exist in the tree: %.*s\n", doc, what, (int)len, ref);
	return 1;
}

/* Each match of @re in @text (group @grp), with trailing dots dropped,
 * must exist under one of the directories @dirs (NULL-terminated). */
static int check_matches(const char *doc, const char *text, const char *re, int grp,
			 const char *what, const char *const *dirs)
{
	regex_t rx;
	regmatch_t m[4];
	const char *p = text;
	int bad = 0;

	CHECK(regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE) == 0);
	while (regexec(&rx, p, 4, m, p == text ? 0 : REG_NOTBOL) == 0) {
		const char *ref = p + m[grp].rm_so;
		size_t len = (size_t)(m[grp].rm_eo - m[grp].rm_so);
		char path[512];
		bool found = false;

		while (len && ref[len - 1] == '.')
			len--;
		for (const char *const *d = dirs; *d && !found; d++) {
			snprintf(path, sizeof(path), "%s%.*s", *d, (int)len, ref);
			found = path_exists(path);
		}
		if (len && !found)
			bad += dangling(doc, what, ref, len);
		p += m[0].rm_eo > 0 ? m[0].rm_eo : 1;
		if (!*p)
			break;
	}
	regfree(&rx);
	return bad;
}

/* Links as [text](target): relative ones must exist (relative to the
 * document's directory); web links and anchors are not files. */
static int check_links(const char *doc, const char *text, const char *dir)
{
	regex_t rx;
	regmatch_t m[2];
	const char *p = text;
	int bad = 0;

	CHECK(regcomp(&rx, "\\]\\(([^)[:space:]]+)\\)", REG_EXTENDED) == 0);
	while (regexec(&rx, p, 2, m, 0) == 0) {
		const char *ref = p + m[1].rm_so;
		size_t len = strcspn(ref, "#)");
		char path[512];

		if (len && strncmp(ref, "http://", 7) && strncmp(ref, "https://", 8) &&
		    strncmp(ref, "mailto:", 7)) {
			snprintf(path, sizeof(path), "%s%.*s", dir, (int)len, ref);
			if (!path_exists(path))
				bad += dangling(doc, "link", ref, len);
		}
		p += m[0].rm_eo;
	}
	regfree(&rx);
	return bad;
}

/* Every dangling reference of one document's text, counted. */
static int check_doc(const char *doc, const char *text, const char *dir)
{
	static const char *const top[] = { "", NULL };
	static const char *const top_or_docs[] = { "", "docs/", NULL };
	int bad = check_links(doc, text, dir);

	bad += check_matches(doc, text, "(^|[^A-Za-z0-9_./-])(" REPO_PATH ")", 2,
			     "repository path", top);
	/* A bare Markdown file name is one at the top or in docs/. */
	bad += check_matches(doc, text, "(^|[^A-Za-z0-9_./-])([A-Za-z0-9_-]+\\.md)\\b", 2,
			     "document (at the top or in docs/)", top_or_docs);
	if (strstr(text, "../"))
		bad += dangling(doc, "path outside the repository", strstr(text, "../"), 20);
	return bad;
}

TEST(docs_name_only_files_in_the_tree)
{
	glob_t g;
	int bad = 0;

	CHECK(glob("docs/*.md", 0, NULL, &g) == 0);
	CHECK(g.gl_pathc >= 3);   /* model.md, protocol.md, history.md */
	for (size_t i = 0; i <= g.gl_pathc; i++) {
		const char *doc = i < g.gl_pathc ? g.gl_pathv[i] : "README.md";
		char *text = test_read_file(doc);

		bad += check_doc(doc, text, i < g.gl_pathc ? "docs/" : "");
		free(text);
	}
	globfree(&g);
	CHECK_EQ(bad, 0);
}

/* The checker finds what it is there to find. A bare .md name is looked
 * for at the top and in docs/, as the README and docs name them. */
TEST(docs_check_finds_dangling_references)
{
	report = false;
	CHECK_EQ(check_doc("ok", "`src/gup.c`, include/ptlab/*.h, [m](docs/model.md), "
			   "[web](https://example.org/x), README.md, model.md.", ""), 0);
	CHECK_EQ(check_doc("link", "see [the spec](spec/nothing.md#s2)", ""), 1);
	CHECK_EQ(check_doc("relative link", "see [the model](model.md)", "docs/"), 0);
	CHECK_EQ(check_doc("path", "in `src/nothing.c` and src/lab/*.nothing", ""), 2);
	CHECK_EQ(check_doc("object", "`  CC      src/gup.o`, src/nothing.o", ""), 1);
	CHECK_EQ(check_doc("outside", "the thread (`../shared/seed/`)", ""), 1);
	CHECK_EQ(check_doc("bare md", "(kernel-protocol.md, section 7)", ""), 1);
}

/* The README is a front page: at most 200 lines, the two commands of its
 * quick start, and a link to every document of docs/, so that every
 * section moved there is reachable from it. */
TEST(readme_is_a_front_page)
{
	char *text = test_read_file("README.md");
	size_t lines = test_count(text, "\n");
	glob_t g;

	CHECK_MSG(lines <= 200, "README.md has %zu lines", lines);
	CHECK(strstr(text, "make run") && strstr(text, "make check"));
	CHECK(glob("docs/*.md", 0, NULL, &g) == 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char link[300];

		snprintf(link, sizeof(link), "](%s)", g.gl_pathv[i]);
		CHECK_MSG(strstr(text, link), "README.md does not link %s", g.gl_pathv[i]);
	}
	globfree(&g);
	CHECK(strstr(text, "](docs/ptlab.1)"));
	free(text);
}

/* @line as a regular expression: its numbers stand for any number. */
static void shape_regex(const char *line, size_t len, char *re, size_t cap)
{
	size_t n = 0;

	re[n++] = '^';
	for (size_t i = 0; i < len && n + 24 < cap; i++) {
		if (line[i] >= '0' && line[i] <= '9') {
			n += (size_t)snprintf(re + n, cap - n, "[0-9]+(\\.[0-9]+)?");
			while (i + 1 < len && ((line[i + 1] >= '0' && line[i + 1] <= '9') ||
					       line[i + 1] == '.'))
				i++;
			continue;
		}
		if (strchr(".[]()*+?{}|^$\\", line[i]))
			re[n++] = '\\';
		re[n++] = line[i];
	}
	re[n++] = '$';
	re[n] = '\0';
}

/* The first @n characters of @line that are not digits or dots: the
 * words that say which line it is, whatever its numbers. */
static void line_key(const char *line, char *key, size_t n)
{
	size_t k = 0;

	for (; *line && *line != '\n' && k + 1 < n; line++)
		if ((*line < '0' || *line > '9') && *line != '.')
			key[k++] = *line;
	key[k] = '\0';
}

/*
 * The README's sample of make run's screen has the shape of what make run
 * prints: its totals (the cell count, each oracle's line) match the grid
 * of a small run of both oracles (ptlab report --grid, as make run's)
 * with only the numbers changed. The grid's rows are left out: they have
 * as many columns as the run has scenarios.
 */
TEST_T(readme_sample_summary_matches_the_matrix, 180)
{
	static char out[1 << 16];
	char dir[256], mjson[300], ojson[300];
	const char *matrix[] = { test_ptlab_path(), "matrix", "-p", "x86,arm64", "-s", "munmap",
				 "-f", "both", "-j", "2", "--seconds", "0.05", "--retries", "0",
				 "--min-overlaps", "0", "--json", mjson, NULL };
	const char *model[] = { test_ptlab_path(), "model", "-p", "x86,arm64", "-s", "munmap",
				"-f", "both", "--json", ojson, NULL };
	const char *grid[] = { test_ptlab_path(), "report", "--grid", "--from", mjson, "--model",
			       ojson, NULL };
	char *text = test_read_file("README.md");
	const char *block = strstr(text, "The end of `make run`'s screen"), *p, *end;
	int matched = 0;

	test_mkdtemp(dir, sizeof(dir), "docs");
	snprintf(mjson, sizeof(mjson), "%s/matrix.json", dir);
	snprintf(ojson, sizeof(ojson), "%s/model.json", dir);
	CHECK(block && (block = strstr(block, "```\n")));
	block += 4;
	end = strstr(block, "```");
	CHECK(end);
	CHECK_EQ(test_run(matrix, out, sizeof(out)), 0);
	CHECK_EQ(test_run(model, out, sizeof(out)), 0);
	CHECK_EQ(test_run(grid, out, sizeof(out)), 0);
	for (p = block; p < end; p = strchr(p, '\n') + 1) {
		size_t len = strcspn(p, "\n");
		char re[1024], key[24], okey[24];
		regex_t rx;

		if (!(p[0] >= '0' && p[0] <= '9') && strncmp(p, "stress:", 7) &&
		    strncmp(p, "model:", 6))
			continue;
		line_key(p, key, sizeof(key));
		for (const char *o = out; *o; o += strcspn(o, "\n") + (o[strcspn(o, "\n")] != 0)) {
			bool found;

			line_key(o, okey, sizeof(okey));
			if (strcmp(key, okey) != 0)
				continue;
			shape_regex(p, len, re, sizeof(re));
			CHECK(regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE) == 0);
			found = regexec(&rx, o, 0, NULL, 0) == 0;
			regfree(&rx);
			CHECK_MSG(found, "README's sample line\n  %.*s\ndoes not have the shape of "
				  "make run's\n  %.*s", (int)len, p, (int)strcspn(o, "\n"), o);
			matched++;
			break;
		}
	}
	/* the cell count, the stress matrix's line, the model's */
	CHECK_MSG(matched == 3, "%d of README's 3 total lines found in:\n%s", matched, out);
	free(text);
}
