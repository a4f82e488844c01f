// SPDX-License-Identifier: MIT
/* The ptlab command: dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "util/cli.h"
#include "util/names.h"

static const struct cli_sub commands[] = {
	{ "profiles", cmd_profiles, "list the architecture profiles (--json)" },
	{ "matrix", cmd_matrix, "every scenario x profile x fix setting, judged by the rule (make run)" },
	{ "race", cmd_race, "run one scenario on one profile with chosen fixes" },
	{ "soak", cmd_soak, "the safe cells for hours, with allocation failures and every check" },
	{ "model", cmd_model, "check every cell exhaustively with the Spin model" },
	{ "report", cmd_report, "the HTML report of saved matrix and model results" },
	{ "bench", cmd_bench, "benchmarks of the machine (make bench)" },
	{ "study", cmd_study, "what a sync costs and which policy is safe (unshare, sync)" },
	{ NULL, NULL, NULL }
};

static const struct cli_opt options[] = { CLI_OPTS_END };

static const struct cli_command cmd = {
	.name = NULL,
	.synopsis = "<command> [options]\n"
		    "       ptlab help [<command> [<subcommand>]]\n"
		    "       ptlab --version",
	.opts = options,
	.subs = commands,
	.notes = "'ptlab help <command>' or 'ptlab <command> --help' describes a\n"
		 "command's options; 'man ptlab' describes them all.\n",
};

static const struct cli_sub *command_find(const char *name)
{
	for (const struct cli_sub *c = commands; c->name; c++)
		if (strcmp(name, c->name) == 0)
			return c;
	return NULL;
}

static const char *command_name_at(size_t i)
{
	return commands[i].name;
}

/*
 * ptlab help [<command> [<subcommand>]]: the command's own --help, so
 * that both print the same text. The words after the command go to it:
 * a command with subcommands finds the one named (or lists its own), one
 * without says that it takes none.
 */
static int help(int argc, char **argv)
{
	const struct cli_sub *c;
	char *help_argv[9] = { NULL };
	char allowed[256];

	if (argc < 2) {
		cli_usage(stdout, &cmd);
		return 0;
	}
	c = command_find(argv[1]);
	if (!c) {
		names_join(allowed, sizeof(allowed), command_name_at,
			   sizeof(commands) / sizeof(commands[0]) - 1);
		return cli_error("unknown help topic", argv[1], allowed);
	}
	/* ptlab help W... is ptlab W... --help */
	if (argc > 8)
		return cli_error("unexpected argument for help", argv[8],
				 "a command, and a subcommand of it");
	for (int i = 1; i < argc; i++)
		help_argv[i - 1] = argv[i];
	help_argv[argc - 1] = "--help";
	return c->fn(argc, help_argv);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "help") == 0)
		return help(argc - 1, argv + 1);
	return cli_dispatch(&cmd, "unknown command", argc, argv);
}
