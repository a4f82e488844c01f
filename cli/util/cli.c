// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptlab/version.h"
#include "util/cli.h"

int cli_error(const char *what, const char *value, const char *allowed)
{
	if (allowed && *allowed)
		fprintf(stderr, "ptlab: %s: %s (allowed: %s)\n", what, value, allowed);
	else
		fprintf(stderr, "ptlab: %s: %s\n", what, value);
	return CLI_EXIT_USAGE;
}

int cli_for_each_name(const char *list, const char *allowed,
		      int (*one)(const char *name, void *arg), void *arg)
{
	for (const char *p = list;; p++) {
		size_t n = p ? strcspn(p, ",") : 0;
		char *name;
		int ret;

		if (!n)
			return cli_error("empty name in the list", list ? list : "(none)", allowed);
		name = strndup(p, n);
		if (!name)
			return cli_error("out of memory for the list", list, NULL);
		ret = one(name, arg);
		free(name);
		if (ret || !p[n])
			return ret;
		p += n;
	}
}

/* "unknown option for race", or "unknown option" for ptlab itself. */
static const char *cli_what(const struct cli_command *cmd, const char *what,
			    char *buf, size_t len)
{
	if (!cmd->name)
		return what;
	snprintf(buf, len, "%s for %s", what, cmd->name);
	return buf;
}

/* "--profile, --scenario, ..." for the options whose names begin with the
 * @n bytes of @prefix (all of them for n == 0); returns how many. */
static int cli_options_named(const struct option *o, const char *prefix, size_t n,
			     char *buf, size_t len)
{
	size_t used = 0;
	int count = 0;

	buf[0] = '\0';
	for (; o->name; o++) {
		if (strncmp(o->name, prefix, n) != 0)
			continue;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s--%s",
						 count ? ", " : "", o->name);
		count++;
	}
	return count;
}

/* The usage error for getopt_long()'s '?': from glibc, optopt is 0 for an
 * unknown or ambiguous long option, the option's value for a long option
 * given a value it does not take, and the character of an unknown short
 * option (the table's values are no characters, but for -h). */
static int cli_bad_option(const struct cli_command *cmd, char **argv)
{
	const char *arg = argv[optind - 1];
	char what[64], list[1024], shortopt[3] = { '-', (char)optopt, '\0' };

	if (optopt == CLI_OPT_HELP || optopt >= CLI_OPT_VERSION)
		return cli_error(cli_what(cmd, "unexpected value", what, sizeof(what)),
				 arg, NULL);
	if (optopt == 0 && strncmp(arg, "--", 2) == 0 &&
	    cli_options_named(cmd->options, arg + 2, strcspn(arg + 2, "="), list,
			      sizeof(list)) > 1)
		return cli_error(cli_what(cmd, "ambiguous option", what, sizeof(what)), arg, list);
	cli_options_named(cmd->options, "", 0, list, sizeof(list));
	return cli_error(cli_what(cmd, "unknown option", what, sizeof(what)),
			 optopt ? shortopt : arg, list);
}

/* The long name of the option whose value is @val. */
static const char *cli_option_name(const struct option *o, int val)
{
	while (o->name && o->val != val)
		o++;
	return o->name ? o->name : "?";
}

int cli_getopt(const struct cli_command *cmd, int argc, char **argv, int *status)
{
	/* The argv being scanned: getopt_long() keeps its place in globals,
	 * which optind = 0 resets (glibc) when another argv comes. */
	static char **scanning;
	char what[64], name[64], shorts[16] = "+:h";
	size_t n = strlen(shorts);
	int c;

	/* An option whose value is a letter has that short form too. */
	for (const struct option *o = cmd->options; o->name && n + 2 < sizeof(shorts); o++)
		if (o->val != CLI_OPT_HELP && o->val < 128 && isalpha(o->val)) {
			shorts[n++] = (char)o->val;
			if (o->has_arg == required_argument)
				shorts[n++] = ':';
			shorts[n] = '\0';
		}
	if (argv != scanning) {
		scanning = argv;
		optind = 0;
	}
	opterr = 0;
	/* '+': stop at the first operand (ptlab's command, whose options
	 * follow it); ':': a missing value returns ':'. */
	c = getopt_long(argc, argv, shorts, cmd->options, NULL);
	switch (c) {
	case -1:
		if (optind >= argc || cmd->operands) {
			scanning = NULL;
			return -1;
		}
		*status = cli_error(cli_what(cmd, "unexpected argument", what, sizeof(what)),
				    argv[optind], "options only");
		break;
	case CLI_OPT_HELP:
		cmd->usage(stdout);
		if (cmd->name)
			printf("  -h, --help           this text\n"
			       "  --version            ptlab's version\n");
		*status = 0;
		break;
	case CLI_OPT_VERSION:
		printf("ptlab %s\n", PTLAB_VERSION);
		*status = 0;
		break;
	case ':':
		snprintf(name, sizeof(name), "--%s", cli_option_name(cmd->options, optopt));
		*status = cli_error("missing value for option", name,
				    "a value after it, as --option VALUE or --option=VALUE; "
				    "--help lists each option's values");
		break;
	case '?':
		*status = cli_bad_option(cmd, argv);
		break;
	default:
		return c;
	}
	scanning = NULL;
	return CLI_STOP;
}

int cli_check_output(const char *what, const char *path)
{
	char msg[160];
	int fd, err;

	if (!path || !*path)
		return cli_error("empty output path for", what, NULL);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0) {
		close(fd);
		unlink(path);
		return 0;
	}
	err = errno;
	if (err == EEXIST) {
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		err = errno;
	}
	snprintf(msg, sizeof(msg), "cannot write %s", what);
	fprintf(stderr, "ptlab: %s: %s (%s)\n", msg, path, strerror(err));
	return CLI_EXIT_USAGE;
}

int cli_check_output_dir(const char *what, const char *path)
{
	struct stat st;
	char msg[160];
	int err = 0;

	if (!path || !*path)
		return cli_error("empty output path for", what, NULL);
	if (mkdir(path, 0755) && errno != EEXIST)
		err = errno;
	else if (stat(path, &st))
		err = errno;
	else if (!S_ISDIR(st.st_mode))
		err = ENOTDIR;
	else if (access(path, W_OK | X_OK))
		err = errno;
	if (!err)
		return 0;
	snprintf(msg, sizeof(msg), "cannot write %s", what);
	fprintf(stderr, "ptlab: %s: %s (%s)\n", msg, path, strerror(err));
	return CLI_EXIT_USAGE;
}
