// SPDX-License-Identifier: MIT
/* The ptlab command: dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "util/cli.h"
#include "util/names.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "profiles", cmd_profiles, "list the architecture profiles (--json)" },
	{ "matrix", cmd_matrix, "every scenario x profile x fix setting, judged by the rule (make run)" },
	{ "race", cmd_race, "run one scenario on one profile with chosen fixes" },
	{ "soak", cmd_soak, "the safe cells for hours, with allocation failures and every check" },
	{ "model", cmd_model, "check every cell exhaustively with the Spin model" },
	{ "report", cmd_report, "the HTML report of saved matrix and model results" },
	{ "bench", cmd_bench, "benchmarks of the machine (make bench)" },
	{ "study", cmd_study, "what a sync costs and which policy is safe (unshare, sync)" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *command_name_at(size_t i)
{
	return commands[i].name;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ptlab <command> [options]\n"
		   "       ptlab help [<command>]\n"
		   "       ptlab --version\n\ncommands:\n");
	for (size_t i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'ptlab help <command>' or 'ptlab <command> --help' describes a\n"
		   "command's options; 'man ptlab' describes them all.\n");
}

static const struct command *command_find(const char *name)
{
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

static int unknown(const char *what, const char *name)
{
	char allowed[256];

	names_join(allowed, sizeof(allowed), command_name_at, NR_COMMANDS);
	return cli_error(what, name, allowed);
}

/* ptlab help [<command>]: the command's own --help, so that both print
 * the same text. */
static int help(int argc, char **argv)
{
	const struct command *c;
	char *help_argv[] = { argv[1], "--help", NULL };

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	if (argc > 2)
		return cli_error("unexpected argument for help", argv[2], "one command");
	c = command_find(argv[1]);
	if (!c)
		return unknown("unknown help topic", argv[1]);
	return c->fn(2, help_argv);
}

int main(int argc, char **argv)
{
	static const struct option options[] = { CLI_OPTIONS_END };
	static const struct cli_command cmd = { NULL, options, usage, true };
	const struct command *c;
	int opt, status;

	while ((opt = cli_getopt(&cmd, argc, argv, &status)) != -1)
		if (opt == CLI_STOP)
			return status;
	if (optind >= argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "help") == 0)
		return help(argc, argv);
	c = command_find(argv[0]);
	if (!c)
		return unknown("unknown command", argv[0]);
	return c->fn(argc, argv);
}
