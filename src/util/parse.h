/* SPDX-License-Identifier: MIT */
/*
 * Strict parsing of values written on a command line: the command's
 * options (cli/util/cli.h) and the lab's race-window specs
 * (lab_parse_window(), which the library parses itself), so it lives in
 * the library while the rest of the command-line helpers do not.
 */
#ifndef PTLAB_UTIL_PARSE_H
#define PTLAB_UTIL_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* Whole-string decimal parse into [min, max]; false on anything else
 * (empty, sign, trailing junk, overflow, out of range). */
bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Whole-string finite decimal in [min, max]. */
bool cli_parse_double(const char *s, double min, double max, double *out);
/* "on"/"off"/"true"/"false"/"1"/"0". */
bool cli_parse_bool(const char *s, bool *out);

#endif /* PTLAB_UTIL_PARSE_H */
