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
