// SPDX-License-Identifier: MIT
/* docs/ptlab.1: renders without a warning, and names every option of
 * every command in that command's section. */
#include <stdlib.h>
#include <string.h>

#include "cli_helpers.h"
#include "harness.h"

#define MAN_PAGE "docs/ptlab.1"

static char out[1 << 16];

static void check_silent(const char *shell_command)
{
	const char *argv[] = { "/bin/sh", "-c", shell_command, NULL };
	int status = test_run(argv, out, sizeof(out));

	CHECK_MSG(status == 0 && out[0] == '\0', "%s: exit %d:\n%s", shell_command, status, out);
}

TEST(manpage_renders_without_warnings)
{
	/* groff's every warning, then man-db's rendering as lintian runs it. */
	check_silent("groff -ww -z -man " MAN_PAGE " 2>&1");
	check_silent("LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 "
		     "man --warnings -E UTF-8 -l " MAN_PAGE " 2>&1 >/dev/null");
}

/* Whether @text holds the roff spelling of --@name ("\-\-no\-windows") as
 * a whole option name (not the start of a longer one). */
static bool names_option(const char *text, const char *name)
{
	char roff[96] = "\\-\\-";
	size_t n = strlen(roff);

	/* a '-' in roff is "\-" */
	for (; *name && n + 3 < sizeof(roff); name++) {
		if (*name == '-')
			roff[n++] = '\\';
		roff[n++] = *name;
	}
	roff[n] = '\0';
	for (const char *p = strstr(text, roff); p; p = strstr(p + 1, roff))
		if ((p[n] < 'a' || p[n] > 'z') && strncmp(p + n, "\\-", 2) != 0)
			return true;
	return false;
}

/* A copy of the part of @page from @heading to the next heading, or NULL. */
static char *section(const char *page, const char *heading)
{
	const char *s = strstr(page, heading), *end;

	if (!s)
		return NULL;
	end = strstr(s + 1, "\n.S");
	return strndup(s, end ? (size_t)(end - s) : strlen(s));
}

TEST(manpage_names_every_option)
{
	char *page = test_read_file(MAN_PAGE);
	char *common = section(page, "\n.SH OPTIONS\n");
	struct cli_names cmds, opts;
	char heading[64];

	CHECK(common);
	/* Subcommands have sections and options of their own. */
	cli_commands_and_subcommands(&cmds);
	for (size_t i = 0; i < cmds.n; i++) {
		char *text;

		snprintf(heading, sizeof(heading), "\n.SS \"ptlab %s\"\n", cmds.name[i]);
		text = section(page, heading);
		CHECK_MSG(text, "no section %s in " MAN_PAGE, heading);
		cli_long_options(cmds.name[i], &opts);
		for (size_t o = 0; o < opts.n; o++)
			CHECK_MSG(names_option(text, opts.name[o]) ||
					  names_option(common, opts.name[o]),
				  MAN_PAGE " does not name --%s of ptlab %s", opts.name[o],
				  cmds.name[i]);
		free(text);
	}
	free(common);
	free(page);
}
