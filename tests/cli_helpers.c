// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "cli_helpers.h"
#include "harness.h"

int cli_run(const char *const args[], char *out, size_t len)
{
	const char *argv[32] = { test_ptlab_path() };
	size_t n = 1;

	for (; args[n - 1] && n < 31; n++)
		argv[n] = args[n - 1];
	CHECK_MSG(!args[n - 1], "cli_run(): more than 30 arguments");
	argv[n] = NULL;
	return test_run(argv, out, len);
}

int cli_race(const char *const args[], double seconds, char *out, size_t len)
{
	const char *argv[32] = { test_ptlab_path(), "race" };
	char secs[32], seed[16];
	size_t n = 2;
	int status;

	for (; *args && n < 27; args++)
		argv[n++] = *args;
	argv[n++] = "--seconds";
	argv[n++] = secs;
	argv[n++] = "--seed";
	argv[n++] = seed;
	argv[n] = NULL;
	for (int attempt = 0;; attempt++) {
		snprintf(secs, sizeof(secs), "%g", seconds);
		snprintf(seed, sizeof(seed), "%d", 1 + attempt);
		status = test_run(argv, out, len);
		if (attempt == 2)
			return status;
		if (strstr(out, "verdict: inconclusive"))
			seconds *= 2;
		else if (!strstr(out, "showed no violation") && !strstr(out, "no violation was seen"))
			return status;
	}
}

/* Splits the list of a usage error, "... (allowed: a, b, c)", into @out,
 * dropping a leading "--" from each name. */
static void allowed_names(const char *msg, struct cli_names *out)
{
	const char *p = strstr(msg, "(allowed: "), *end;

	CHECK_MSG(p, "no list of allowed names in: %s", msg);
	p += strlen("(allowed: ");
	end = strchr(p, ')');
	CHECK_MSG(end, "unterminated list in: %s", msg);
	out->n = 0;
	while (p < end) {
		size_t len = strcspn(p, ",)");

		if (strncmp(p, "--", 2) == 0) {
			p += 2;
			len -= 2;
		}
		CHECK(out->n < CLI_NAMES_MAX && len > 0 && len < sizeof(out->name[0]));
		memcpy(out->name[out->n], p, len);
		out->name[out->n++][len] = '\0';
		p += len;
		p += strspn(p, ", ");
	}
}

void cli_commands(struct cli_names *out)
{
	static const char *const args[] = { "no-such-command", NULL };
	char msg[4096];

	CHECK_EQ(cli_run(args, msg, sizeof(msg)), 2);
	allowed_names(msg, out);
	CHECK(out->n >= 5);
}

void cli_commands_and_subcommands(struct cli_names *out)
{
	struct cli_names cmds;
	char help[8192];

	cli_commands(&cmds);
	out->n = 0;
	for (size_t i = 0; i < cmds.n; i++) {
		const char *args[] = { "help", cmds.name[i], NULL };
		const char *p;

		CHECK(out->n < CLI_NAMES_MAX);
		snprintf(out->name[out->n++], sizeof(out->name[0]), "%s", cmds.name[i]);
		CHECK_EQ(cli_run(args, help, sizeof(help)), 0);
		p = strstr(help, "\nsubcommands:\n");
		if (!p)
			continue;
		for (p = strchr(p + 1, '\n') + 1; strncmp(p, "  ", 2) == 0 && p[2] != ' ';
		     p = strchr(p, '\n') + 1) {
			size_t len = strcspn(p + 2, " \n");

			CHECK(out->n < CLI_NAMES_MAX);
			snprintf(out->name[out->n++], sizeof(out->name[0]), "%s %.*s", cmds.name[i],
				 (int)len, p + 2);
			/* a wrapped help line is indented further */
			while (strncmp(strchr(p, '\n') + 1, "   ", 3) == 0)
				p = strchr(p, '\n') + 1;
		}
	}
}

void cli_long_options(const char *command, struct cli_names *out)
{
	char words[64], *sub;
	const char *args[] = { words, "--no-such-option", NULL, NULL };
	char msg[4096];

	/* "study unshare": a command and its subcommand. */
	snprintf(words, sizeof(words), "%s", command);
	if ((sub = strchr(words, ' '))) {
		*sub++ = '\0';
		args[1] = sub;
		args[2] = "--no-such-option";
	}

	CHECK_EQ(cli_run(args, msg, sizeof(msg)), 2);
	CHECK_MSG(strstr(msg, "unknown option for"), "%s: %s", command, msg);
	allowed_names(msg, out);
}
