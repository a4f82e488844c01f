/* SPDX-License-Identifier: MIT */
/*
 * Soaks, in the manner of the kernel's rcutorture: the cells the rule
 * calls safe, run round-robin for hours with fresh seeds, race windows
 * varied at random, allocation failures injected on every path, and every
 * check at each cell boundary (violations, lost writes, frames, the tables
 * against the counters, pins). `ptlab soak` drives the loop; this is what
 * it runs, so that a run can be replayed from its cell and seed alone.
 */
#ifndef PTLAB_SOAK_H
#define PTLAB_SOAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptlab/lab.h"

/* One safe cell. */
struct lab_soak_cell {
	const struct ptlab_profile *profile;
	unsigned int fix_setting;         /* index for ptlab_fix_setting() */
	enum scenario scenario;
	struct ptlab_expectation expect;  /* safe, by the rule */
};

/*
 * The safe cells: every profile, fix setting and scenario that
 * ptlab_expect() calls safe, restricted to those marked in @profiles
 * (ptlab_profiles_count() entries), @fix_settings (PTLAB_FIX_SETTINGS)
 * and @scenarios (SCENARIO_COUNT); NULL selects all. In round-robin
 * order: the scenarios take turns, and within each the profiles change
 * before the fix settings, so that a short soak covers every scenario and
 * many profiles. Returns how many there are; fills up to @max.
 */
size_t lab_soak_cells(struct lab_soak_cell *out, size_t max, const bool *profiles,
		      const bool *fix_settings, const bool *scenarios);

struct lab_soak_options {
	double cell_seconds;        /* budget of one run (0, 1 day] */
	unsigned int walkers;       /* 1..LAB_MAX_WALKERS */
	double fail_probability;    /* per allocation on every named path, 0..1 */
};

/*
 * The configuration of one run of @cell with @seed: the scenario's
 * defaults (lab_run_config_default()) with each window's delay drawn in
 * [1/4, 2] x its default and its probability in [1/2, 1] x its default,
 * from @seed alone; the tables checked at the end; failures injected on
 * every named path (ALLOC_PATH_OTHER excepted) with the options'
 * probability.
 */
void lab_soak_config(struct lab_run_config *cfg, const struct lab_soak_cell *cell,
		     uint64_t seed, const struct lab_soak_options *o);

/* The sums over a soak's runs. */
struct lab_soak_totals {
	uint64_t runs, passed, inconclusive, failed;
	uint64_t ops, cycles, overlaps, defended;
	/* What fails a run (each must stay 0). */
	uint64_t violations, lost_writes, leaked_frames, table_mismatches, pinned_pages,
		run_errors, asan_reports;
	uint64_t alloc_attempts[ALLOC_PATH_COUNT], injected[ALLOC_PATH_COUNT];
	/* Scenario steps that failed (most are fallbacks of an injected
	 * failure: a THP fault served by small pages, a write that ran out
	 * of retries). */
	uint64_t step_failures[LAB_FAILURE_KINDS];
};

/* Adds one run, its error and its verdict. */
void lab_soak_add(struct lab_soak_totals *t, const struct lab_result *r, int run_error,
		  enum lab_verdict v);

/*
 * The paths on which failures were injected with probability @p but not
 * one failed although at least LAB_SOAK_PATH_EVIDENCE / @p allocations
 * were made: injection does not reach them, so their fallbacks did not
 * run (by chance alone: (1 - p)^(10/p) < e^-10). A mask of
 * FAIL_ALLOC_PATH() bits; 0 when @p is 0. A path with fewer allocations
 * (one the soak's cells hardly use) is not held against it.
 */
#define LAB_SOAK_PATH_EVIDENCE 10.0
unsigned int lab_soak_paths_never_failed(const struct lab_soak_totals *t, double p);

#endif /* PTLAB_SOAK_H */
