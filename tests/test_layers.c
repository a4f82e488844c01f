// SPDX-License-Identifier: MIT
/*
 * The layering of the library: the machine under test (the .c and .h
 * files of src/ and src/util/, and the public headers of include/ptlab/
 * that are not the lab's) includes no header of the lab, so that it never calls its own
 * oracle (the rule) nor depends on the detectors that watch it. The
 * configuration both read lives in ptlab/config.h, which neither owns
 * (docs/architecture.md, "Layers").
 */
#include <glob.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* The lab's public headers; every other header of include/ptlab/ is the
 * machine's. The lab's private headers are those of src/lab/ and
 * src/model/. */
static const char *const lab_headers[] = {
	"ptlab/lab.h", "ptlab/model.h", "ptlab/rule.h", "ptlab/soak.h", "ptlab/synccost.h",
};

/* The files of the machine (each a glob), checked line by line. */
static const char *const machine_globs[] = {
	"src/*.c", "src/*.h", "src/util/*.c", "src/util/*.h", "include/ptlab/*.h",
};

static bool is_lab_header(const char *name)
{
	if (!strncmp(name, "lab/", 4) || !strncmp(name, "lab_", 4) ||
	    !strncmp(name, "model/", 6) || !strncmp(name, "model_", 6))
		return true;
	for (size_t i = 0; i < sizeof(lab_headers) / sizeof(lab_headers[0]); i++)
		if (!strcmp(name, lab_headers[i]))
			return true;
	return false;
}

static bool is_lab_public_header(const char *path)
{
	return !strncmp(path, "include/", 8) && is_lab_header(path + 8);
}

/* Off in the checker's own test, whose inclusions are wrong on purpose. */
static bool report = true;

/*
 * Counts the lines of @text (the file @file) that include a lab header,
 * naming each on stderr.
 */
static int lab_includes(const char *file, const char *text)
{
	regex_t rx;
	regmatch_t m[2];
	const char *p = text;
	int bad = 0;

	CHECK(regcomp(&rx, "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]",
		      REG_EXTENDED | REG_NEWLINE) == 0);
	while (*p && regexec(&rx, p, 2, m, p == text ? 0 : REG_NOTBOL) == 0) {
		char name[256];

		snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
			 p + m[1].rm_so);
		if (is_lab_header(name)) {
			if (report)
				fprintf(stderr, "%s: a machine file includes the lab's header %s\n",
					file, name);
			bad++;
		}
		p += m[0].rm_eo;
	}
	regfree(&rx);
	return bad;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	CHECK_MSG(f, "%s: cannot open", path);
	CHECK(fseek(f, 0, SEEK_END) == 0);
	n = ftell(f);
	CHECK(n >= 0 && fseek(f, 0, SEEK_SET) == 0);
	buf = malloc((size_t)n + 1);
	CHECK(buf);
	CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

TEST(layers_machine_includes_no_lab_header)
{
	unsigned int files = 0;
	int bad = 0;

	/* The list names real headers: a renamed one would check nothing. */
	for (size_t i = 0; i < sizeof(lab_headers) / sizeof(lab_headers[0]); i++) {
		char path[64];

		snprintf(path, sizeof(path), "include/%s", lab_headers[i]);
		CHECK_MSG(access(path, F_OK) == 0, "%s: listed as a lab header, not in the tree", path);
	}
	for (size_t g = 0; g < sizeof(machine_globs) / sizeof(machine_globs[0]); g++) {
		glob_t gl;

		CHECK_MSG(glob(machine_globs[g], 0, NULL, &gl) == 0, "%s: no file", machine_globs[g]);
		for (size_t i = 0; i < gl.gl_pathc; i++) {
			char *text;

			if (is_lab_public_header(gl.gl_pathv[i]))
				continue;
			text = read_text(gl.gl_pathv[i]);
			bad += lab_includes(gl.gl_pathv[i], text);
			free(text);
			files++;
		}
		globfree(&gl);
	}
	CHECK_MSG(files > 40, "only %u machine files found: run from the tree's top", files);
	CHECK_MSG(bad == 0, "%d inclusion(s) of a lab header in the machine (above)", bad);
}

/* The checker finds what it must: each form of inclusion of a lab header,
 * and nothing in the machine's own. */
TEST(layers_checker_finds_lab_includes)
{
	report = false;
	CHECK_EQ(lab_includes("x.c", "#include \"ptlab/rule.h\"\n"), 1);
	CHECK_EQ(lab_includes("x.c", "#include <stdio.h>\n  #  include <ptlab/lab.h>\n"), 1);
	CHECK_EQ(lab_includes("x.c", "#include \"lab/lab_internal.h\"\n#include \"lab_internal.h\"\n"), 2);
	CHECK_EQ(lab_includes("x.c", "#include \"model/model_internal.h\"\n"), 1);
	CHECK_EQ(lab_includes("x.c", "#include \"ptlab/config.h\"\n#include \"machine.h\"\n"
			      "/* #include is not ptlab/rule.h */\n"), 0);
}
