/* SPDX-License-Identifier: MIT */
/* What `ptlab race` and `ptlab matrix` share: option values and output. */
#ifndef PTLAB_CLI_LAB_CLI_H
#define PTLAB_CLI_LAB_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "ptlab/lab.h"
#include "ptlab/page.h"
#include "util/json.h"

/* Budget and walker limits of the lab's commands. */
#define LAB_CLI_MAX_SECONDS 3600.0
#define LAB_CLI_MAX_OPS 1000000000000ULL

/* Parses a comma-separated list of profile names into @out (indexes into
 * ptlab_profiles()); prints the error and returns false on a bad name. */
bool lab_cli_profiles(const char *list, bool out[], size_t n);
bool lab_cli_scenarios(const char *list, bool out[SCENARIO_COUNT]);
bool lab_cli_fixes(const char *list, bool out[PTLAB_FIX_SETTINGS]);

/* Writes the per-kind counts as "stale_table=N stale_pin=N wrong_page=N". */
void lab_cli_print_counts(FILE *f, const struct lab_result *r);
/* The first violation in words. */
void lab_cli_print_detail(FILE *f, const struct lab_violation_detail *d);
/* The evidence (overlaps and their defence) and the scenario's failed
 * steps, in words. */
void lab_cli_print_evidence(FILE *f, const struct lab_result *r);
/* The cell fields shared by both commands' JSON. */
void lab_cli_json_result(struct json *j, const struct lab_run_config *cfg,
			 const struct lab_result *r);
/* Parses a trace window "BEFORE[:AFTER]" in ms into @cfg (prints the
 * error and returns false on a bad one). */
bool lab_cli_trace_window(const char *spec, struct lab_run_config *cfg);
/* The rule's expectation and the verdict. */
void lab_cli_json_verdict(struct json *j, const struct ptlab_expectation *e,
			  enum lab_verdict v, const char *why, uint64_t min_overlaps);

#endif /* PTLAB_CLI_LAB_CLI_H */
