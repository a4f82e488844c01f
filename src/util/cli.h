/* SPDX-License-Identifier: MIT */
/*
 * Command-line helpers shared by every `ptlab` subcommand: strict number
 * parsing and the one error format, "ptlab: <what>: <value> (allowed:
 * <allowed>)", with exit status 2 for usage errors.
 */
#ifndef PTLAB_UTIL_CLI_H
#define PTLAB_UTIL_CLI_H

#include <stdbool.h>
#include <stdint.h>

#define CLI_EXIT_USAGE 2

/* Prints the usage error and returns CLI_EXIT_USAGE. */
int cli_error(const char *what, const char *value, const char *allowed);

/* Whole-string decimal parse into [min, max]; false on anything else
 * (empty, sign, trailing junk, overflow, out of range). */
bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Whole-string finite decimal in [min, max]. */
bool cli_parse_double(const char *s, double min, double max, double *out);
/* "on"/"off"/"true"/"false"/"1"/"0". */
bool cli_parse_bool(const char *s, bool *out);

/*
 * Option scanning: cli_option(argc, argv, &i, "--seconds", &value) matches
 * "--seconds N" and "--seconds=N" at argv[i], sets *value, advances i past
 * the value and returns 1; returns 0 when argv[i] is another option and -1
 * (after printing an error) when the value is missing.
 */
int cli_option(int argc, char **argv, int *i, const char *name, const char **value);

/*
 * Checks, before any work, that an output file can be written at @path
 * (its directory exists and is writable; an existing file is writable).
 * Creates nothing that stays. 0, or the usage error's exit status after
 * printing "ptlab: cannot write <what>: <path> (<reason>)".
 */
int cli_check_output(const char *what, const char *path);

#endif /* PTLAB_UTIL_CLI_H */
