// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cli.h"

int cli_error(const char *what, const char *value, const char *allowed)
{
	if (allowed && *allowed)
		fprintf(stderr, "ptlab: %s: %s (allowed: %s)\n", what, value, allowed);
	else
		fprintf(stderr, "ptlab: %s: %s\n", what, value);
	return CLI_EXIT_USAGE;
}

bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool cli_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s || ((*s < '0' || *s > '9') && *s != '.'))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool cli_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "on", "true", "1" };
	static const char *const no[] = { "off", "false", "0" };

	for (int i = 0; s && i < 3; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

int cli_option(int argc, char **argv, int *i, const char *name, const char **value)
{
	const char *arg = argv[*i];
	size_t n = strlen(name);

	if (strncmp(arg, name, n) != 0)
		return 0;
	if (arg[n] == '=') {
		*value = arg + n + 1;
		return 1;
	}
	if (arg[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		cli_error("missing value for option", name, NULL);
		return -1;
	}
	(*i)++;
	*value = argv[*i];
	return 1;
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
