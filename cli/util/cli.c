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

/* The options every command has, after its own. */
static const struct cli_opt cli_common_opts[] = {
	{ "help", CLI_OPT_HELP, NULL, "this text" },
	{ "version", CLI_OPT_VERSION, NULL, "ptlab's version" },
	CLI_OPTS_END
};

/* The @i-th option of @cmd, its own then the common ones; NULL past them. */
static const struct cli_opt *cli_opt_at(const struct cli_command *cmd, size_t i)
{
	size_t n = 0;

	while (cmd->opts && cmd->opts[n].name)
		n++;
	if (i < n)
		return &cmd->opts[i];
	i -= n;
	return i < 2 ? &cli_common_opts[i] : NULL;
}

/* "--profiles, --profile-file, ..." for the options whose names begin
 * with the @n bytes of @prefix (all of them for n == 0), aliases among
 * them only when @aliases; returns how many. */
static int cli_options_named(const struct cli_command *cmd, const char *prefix, size_t n,
			     bool aliases, char *buf, size_t len)
{
	const struct cli_opt *o;
	size_t used = 0;
	int count = 0;

	buf[0] = '\0';
	for (size_t i = 0; (o = cli_opt_at(cmd, i)); i++) {
		if (strncmp(o->name, prefix, n) != 0 || (!o->help && !aliases))
			continue;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s--%s",
						 count ? ", " : "", o->name);
		count++;
	}
	return count;
}

/* Whether the options matching the prefix name more than one option (an
 * alias and the option it stands for are one). */
static bool cli_ambiguous(const struct cli_command *cmd, const char *prefix, size_t n)
{
	const struct cli_opt *o, *first = NULL;

	for (size_t i = 0; (o = cli_opt_at(cmd, i)); i++) {
		if (strncmp(o->name, prefix, n) != 0)
			continue;
		if (strlen(o->name) == n)
			return false;
		if (first && first->val != o->val)
			return true;
		first = first ? first : o;
	}
	return false;
}

/* The usage error for getopt_long()'s '?': from glibc, optopt is 0 for an
 * unknown or ambiguous long option, the option's value for a long option
 * given a value it does not take, and the character of an unknown short
 * option. */
static int cli_bad_option(const struct cli_command *cmd, char **argv)
{
	const char *arg = argv[optind - 1];
	char what[64], list[1024], shortopt[3] = { '-', (char)optopt, '\0' };
	bool is_long = strncmp(arg, "--", 2) == 0;

	if (is_long && optopt)
		return cli_error(cli_what(cmd, "unexpected value", what, sizeof(what)),
				 arg, NULL);
	if (is_long && cli_ambiguous(cmd, arg + 2, strcspn(arg + 2, "="))) {
		cli_options_named(cmd, arg + 2, strcspn(arg + 2, "="), false, list,
				  sizeof(list));
		return cli_error(cli_what(cmd, "ambiguous option", what, sizeof(what)), arg, list);
	}
	cli_options_named(cmd, "", 0, true, list, sizeof(list));
	return cli_error(cli_what(cmd, "unknown option", what, sizeof(what)),
			 optopt ? shortopt : arg, list);
}

/* How the option is written for a person: "--jobs" (the long name). */
static const char *cli_opt_name(const struct cli_command *cmd, int val)
{
	const struct cli_opt *o;

	for (size_t i = 0; (o = cli_opt_at(cmd, i)); i++)
		if (o->val == val)
			return o->name;
	return "?";
}

#define CLI_MAX_OPTS 64

/* getopt_long()'s tables, made from the command's. */
static void cli_getopt_tables(const struct cli_command *cmd, struct option *longs,
			      char *shorts, size_t shorts_len)
{
	const struct cli_opt *o;
	size_t i, n = 0;

	/* '+': stop at the first operand (a subcommand, whose options follow
	 * it); ':': a missing value returns ':'. */
	n = (size_t)snprintf(shorts, shorts_len, "+:");
	for (i = 0; (o = cli_opt_at(cmd, i)) && i < CLI_MAX_OPTS; i++) {
		longs[i] = (struct option){ o->name, o->arg ? required_argument : no_argument,
					    NULL, o->val };
		if (o->val < 128 && isalpha(o->val) && o->help && n + 3 < shorts_len) {
			shorts[n++] = (char)o->val;
			if (o->arg)
				shorts[n++] = ':';
			shorts[n] = '\0';
		}
	}
	longs[i] = (struct option){ NULL, 0, NULL, 0 };
}

int cli_getopt(const struct cli_command *cmd, int argc, char **argv, int *status)
{
	/* The argv being scanned: getopt_long() keeps its place in globals,
	 * which optind = 0 resets (glibc) when another argv comes. */
	static char **scanning;
	static struct option longs[CLI_MAX_OPTS + 1];
	static char shorts[2 * CLI_MAX_OPTS + 4];
	char what[64], name[64];
	int c;

	if (argv != scanning) {
		scanning = argv;
		optind = 0;
		cli_getopt_tables(cmd, longs, shorts, sizeof(shorts));
	}
	opterr = 0;
	c = getopt_long(argc, argv, shorts, longs, NULL);
	switch (c) {
	case -1:
		if (optind >= argc || cmd->subs || !cmd->name) {
			scanning = NULL;
			return -1;
		}
		*status = cli_error(cli_what(cmd, "unexpected argument", what, sizeof(what)),
				    argv[optind], "options only");
		break;
	case CLI_OPT_HELP:
		cli_usage(stdout, cmd);
		*status = 0;
		break;
	case CLI_OPT_VERSION:
		printf("ptlab %s\n", PTLAB_VERSION);
		*status = 0;
		break;
	case ':':
		snprintf(name, sizeof(name), "--%s", cli_opt_name(cmd, optopt));
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

#define CLI_WIDTH 79
#define CLI_HELP_COLUMN 24

/* Writes @text from column @col on, wrapped at CLI_WIDTH, its later lines
 * indented to @col; @at is the column the cursor is at. */
static void cli_wrap(FILE *f, const char *text, int at, int col)
{
	while (*text) {
		size_t len = strlen(text), cut = len;

		if (at < col) {
			fprintf(f, "%*s", col - at, "");
			at = col;
		}
		if (at + (int)len > CLI_WIDTH) {
			cut = (size_t)(CLI_WIDTH - at);
			while (cut > 0 && text[cut] != ' ')
				cut--;
			if (!cut)
				cut = strcspn(text, " ");
		}
		fprintf(f, "%.*s\n", (int)cut, text);
		text += cut;
		text += strspn(text, " ");
		at = 0;
	}
}

/* "  -p, --profiles LIST" and its help, with its aliases named. */
static void cli_usage_opt(FILE *f, const struct cli_command *cmd, size_t i)
{
	const struct cli_opt *o = cli_opt_at(cmd, i), *a;
	char head[96], help[1024];
	bool letter = o->val < 128 && isalpha(o->val);
	int n;

	n = snprintf(head, sizeof(head), "  %c%c%s--%s%s%s", letter ? '-' : ' ',
		     letter ? o->val : ' ', letter ? ", " : "  ", o->name, o->arg ? " " : "",
		     o->arg ? o->arg : "");
	snprintf(help, sizeof(help), "%s", o->help);
	for (size_t j = i + 1; (a = cli_opt_at(cmd, j)) && !a->help; j++) {
		size_t used = strlen(help);

		snprintf(help + used, sizeof(help) - used, "%s--%s", j == i + 1 ? " (also " : ", ",
			 a->name);
		if (!(cli_opt_at(cmd, j + 1) && !cli_opt_at(cmd, j + 1)->help))
			snprintf(help + strlen(help), sizeof(help) - strlen(help), ")");
	}
	fputs(head, f);
	if (n + 1 >= CLI_HELP_COLUMN) {
		fputc('\n', f);
		n = 0;
	}
	cli_wrap(f, help, n, CLI_HELP_COLUMN);
}

void cli_usage(FILE *f, const struct cli_command *cmd)
{
	const struct cli_opt *o;

	fprintf(f, "usage: ptlab%s%s %s\n", cmd->name ? " " : "", cmd->name ? cmd->name : "",
		cmd->synopsis);
	if (cmd->about)
		fputs(cmd->about, f);
	if (cmd->subs) {
		fprintf(f, "\n%s:\n", cmd->name ? "subcommands" : "commands");
		for (const struct cli_sub *s = cmd->subs; s->name; s++) {
			fprintf(f, "  %-10s", s->name);
			cli_wrap(f, s->help, 12, 13);
		}
	}
	fprintf(f, "\noptions:\n");
	for (size_t i = 0; (o = cli_opt_at(cmd, i)); i++)
		if (o->help)
			cli_usage_opt(f, cmd, i);
	if (cmd->notes) {
		fputc('\n', f);
		fputs(cmd->notes, f);
	}
}

int cli_dispatch(const struct cli_command *cmd, const char *what, int argc, char **argv)
{
	char allowed[256];
	size_t used = 0;
	int c, status = 0;

	while ((c = cli_getopt(cmd, argc, argv, &status)) != -1)
		if (c == CLI_STOP)
			return status;
	if (optind >= argc) {
		cli_usage(stderr, cmd);
		return CLI_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	for (const struct cli_sub *s = cmd->subs; s->name; s++) {
		if (strcmp(argv[0], s->name) == 0)
			return s->fn(argc, argv);
		if (used < sizeof(allowed))
			used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, "%s%s",
						 s == cmd->subs ? "" : ", ", s->name);
	}
	return cli_error(what, argv[0], allowed);
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
