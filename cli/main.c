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
	{ "model", cmd_model, "check every cell exhaustively with the Spin model" },
	{ "bench", cmd_bench, "benchmarks of the machine (make bench)" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *command_name_at(size_t i)
{
	return commands[i].name;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ptlab <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'ptlab <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
	char allowed[256];

	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	names_join(allowed, sizeof(allowed), command_name_at, NR_COMMANDS);
	return cli_error("unknown command", argv[1], allowed);
}
