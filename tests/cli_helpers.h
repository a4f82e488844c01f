/* SPDX-License-Identifier: MIT */
/*
 * The ptlab command's own lists, read from its usage errors ("(allowed:
 * a, b, c)"), so that tests cover every command and every option without
 * a copy of either list that could drift.
 */
#ifndef PTLAB_TESTS_CLI_HELPERS_H
#define PTLAB_TESTS_CLI_HELPERS_H

#include <stddef.h>

#define CLI_NAMES_MAX 32

struct cli_names {
	size_t n;
	char name[CLI_NAMES_MAX][32];
};

/* The commands ("profiles", "matrix", ...). */
void cli_commands(struct cli_names *out);
/* @command's long options, without their "--" ("json", "help", ...);
 * @command may name a subcommand too ("study unshare"). */
void cli_long_options(const char *command, struct cli_names *out);

/* Runs ptlab with @args (NULL-terminated, after the program's name) into
 * @out; returns the exit status. */
int cli_run(const char *const args[], char *out, size_t len);

#endif /* PTLAB_TESTS_CLI_HELPERS_H */
