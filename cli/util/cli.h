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
 * "--" ending the options, -h/--help and --version (which every command
 * has without naming them).
 *
 * A command's options are one table of struct cli_opt: the option's long
 * name, its value (a letter gives it that short form, "-p LIST"; the
 * others count from CLI_OPT_FIRST), the name of its argument and its
 * help. The usage (--help, `ptlab help <command>`) is printed from that
 * table and the command's texts, so an option's words are written once
 * (and in the man page, which a test checks against the table). Its
 * parser is
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

struct cli_opt {
	const char *name;
	/* What cli_getopt() returns for it: a letter is its short form too. */
	int val;
	/* Its argument's name in the usage ("LIST"); NULL: it takes none. */
	const char *arg;
	/* One paragraph, wrapped to the terminal's 80 columns. NULL: an alias
	 * of the entry before it (same val and arg), accepted and named in
	 * that entry's help, never listed on its own. */
	const char *help;
};

#define CLI_OPTS_END { NULL, 0, NULL, NULL }

/* A number's macro as text in a help string: CLI_XSTR(LAB_MAX_WALKERS). */
#define CLI_XSTR(x) CLI_STR(x)
#define CLI_STR(x) #x

/* A subcommand of a command (ptlab's commands, `ptlab study`'s studies). */
struct cli_sub {
	const char *name;
	/* Takes the arguments from its name on (argv[0] is @name). */
	int (*fn)(int argc, char **argv);
	const char *help;
};

struct cli_command {
	/* "race", "study sync"; NULL for ptlab itself (messages then name no
	 * command) */
	const char *name;
	/* What follows "usage: ptlab <name> " ("[options]"). */
	const char *synopsis;
	/* What the command does: paragraphs, each line ending in '\n'. */
	const char *about;
	/* The options, ending with CLI_OPTS_END (no -h or --version). */
	const struct cli_opt *opts;
	/* Its subcommands, ending with a NULL name; NULL when it has none. A
	 * command with subcommands takes the subcommand as its operand. */
	const struct cli_sub *subs;
	/* Printed after the options (exit status, what it needs); or NULL. */
	const char *notes;
};

/* cli_getopt()'s "return @status now". */
#define CLI_STOP (-2)

/*
 * The next option of argv (argv[0] the command's name; a new argv starts
 * a new scan): its value in the table, with optarg set for an option that
 * takes one; -1 after the last option (optind then indexes the first
 * operand, if the command takes subcommands); or CLI_STOP with *@status
 * set, after --help or --version were printed (0), or after a usage error
 * was printed (CLI_EXIT_USAGE): an unknown option (the allowed ones
 * listed), an ambiguous prefix (the candidates listed), a missing or an
 * unexpected value, an operand where none is taken.
 */
int cli_getopt(const struct cli_command *cmd, int argc, char **argv, int *status);

/* The command's usage, from its table: what --help prints. */
void cli_usage(FILE *f, const struct cli_command *cmd);

/*
 * For a command with subcommands: scans its own options (--help,
 * --version), then runs the subcommand named by the first operand with
 * the arguments from it on. Alone, the command prints its usage (which
 * lists the subcommands) to stderr and returns CLI_EXIT_USAGE: it did no
 * work, as `ptlab` alone. An unknown subcommand is a usage error naming
 * it and listing the others (@what: "unknown command").
 */
int cli_dispatch(const struct cli_command *cmd, const char *what, int argc, char **argv);

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
