/* SPDX-License-Identifier: MIT */
/*
 * Command-line helpers shared by every `ptlab` subcommand: option
 * scanning, strict number parsing and the one error format, "ptlab:
 * <what>: <value> (allowed: <allowed>)", with exit status 2 for usage
 * errors.
 */
#ifndef PTLAB_UTIL_CLI_H
#define PTLAB_UTIL_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/parse.h"

#define CLI_EXIT_USAGE 2

/* Prints the usage error and returns CLI_EXIT_USAGE. */
int cli_error(const char *what, const char *value, const char *allowed);


/*
 * Calls @one(name, @arg) for each name of the comma-separated @list, in
 * order; @one prints its own error for a name it does not know. An empty
 * list, or an empty name in it, is a usage error naming the list with
 * @allowed. Returns 0, @one's first non-zero return, or CLI_EXIT_USAGE.
 */
int cli_for_each_name(const char *list, const char *allowed,
		      int (*one)(const char *name, void *arg), void *arg);

/*
 * Option scanning with getopt_long(), the same for every command: both
 * "--opt value" and "--opt=value", unambiguous prefixes of long options,
 * "--" ending the options, -h/--help and --version.
 *
 * A command's option table (struct option) gives its own options values
 * from CLI_OPT_FIRST up (or a letter: the option's short form, "-o FILE")
 * and ends with CLI_OPTIONS_END. Its parser is
 *
 *	while ((c = cli_getopt(&cmd, argc, argv, &status)) != -1) {
 *		switch (c) {
 *		case CLI_STOP:
 *			return status;
 *		case OPT_SECONDS:  (optarg holds the value)
 *		...
 *		}
 *	}
 */
enum {
	CLI_OPT_HELP = 'h',
	CLI_OPT_VERSION = 256,
	CLI_OPT_FIRST,
};

#define CLI_OPTIONS_END                                          \
	{ "help", no_argument, NULL, CLI_OPT_HELP },             \
	{ "version", no_argument, NULL, CLI_OPT_VERSION },       \
	{ NULL, 0, NULL, 0 }

struct cli_command {
	/* "race"; NULL for ptlab itself (messages then name no command) */
	const char *name;
	/* The options, ending with CLI_OPTIONS_END. */
	const struct option *options;
	/* The text of --help (and of `ptlab help <name>`). */
	void (*usage)(FILE *f);
	/* Whether arguments that are not options may follow them (ptlab
	 * itself: the command); a command's own take none. */
	bool operands;
};

/* cli_getopt()'s "return @status now". */
#define CLI_STOP (-2)

/*
 * The next option of argv (argv[0] the command's name; a new argv starts
 * a new scan): its value in the table, with optarg set for an option that
 * takes one; -1 after the last option (optind then indexes the first
 * operand, if the command takes operands); or CLI_STOP with *@status set,
 * after --help or --version were printed (0), or after a usage error was
 * printed (CLI_EXIT_USAGE): an unknown option (the allowed ones listed),
 * an ambiguous prefix (the candidates listed), a missing or an unexpected
 * value, an operand where none is taken.
 */
int cli_getopt(const struct cli_command *cmd, int argc, char **argv, int *status);

/*
 * Checks, before any work, that an output file can be written at @path
 * (its directory exists and is writable; an existing file is writable).
 * Creates nothing that stays. 0, or the usage error's exit status after
 * printing "ptlab: cannot write <what>: <path> (<reason>)".
 */
int cli_check_output(const char *what, const char *path);
/* The same for a directory the command will write into: creates it if
 * need be (as the command's work would), then checks that it is a
 * directory it may write. */
int cli_check_output_dir(const char *what, const char *path);

#endif /* PTLAB_UTIL_CLI_H */
