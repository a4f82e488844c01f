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
/* The commands and, after each that has them, its subcommands as "study
 * sync" (from the "subcommands:" list of the command's help). */
void cli_commands_and_subcommands(struct cli_names *out);
/* @command's long options, without their "--" ("json", "help", ...);
 * @command may name a subcommand too ("study unshare"). */
void cli_long_options(const char *command, struct cli_names *out);

/* Runs ptlab with @args (NULL-terminated, after the program's name) into
 * @out; returns the exit status. */
int cli_run(const char *const args[], char *out, size_t len);

/*
 * Runs `ptlab race` with @args (NULL-terminated, after "race") for
 * @seconds, and again as `ptlab matrix` retries a cell: a run short of
 * evidence (a loaded machine, a sanitizer build, other tests at once)
 * with twice the budget, an unsafe cell that showed nothing with the next
 * seed, twice at most. A test of a verdict stays honest (a safe cell must
 * still show its evidence, an unsafe one its violation) without a time
 * budget that only an idle machine meets. Returns the last exit status.
 */
int cli_race(const char *const args[], double seconds, char *out, size_t len);

#endif /* PTLAB_TESTS_CLI_HELPERS_H */
