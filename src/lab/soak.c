// SPDX-License-Identifier: MIT
/*
 * What a soak runs (ptlab/soak.h): the safe cells, taken from the rule and
 * never from a list, one run's configuration drawn from its seed, and the
 * sums over runs. The loop, its clock and its output are `ptlab soak`'s.
 */
#include <string.h>

#include "ptlab/soak.h"
#include "util/rand.h"

static bool selected(const bool *set, size_t i)
{
	return !set || set[i];
}

size_t lab_soak_cells(struct lab_soak_cell *out, size_t max, const bool *profiles,
		      const bool *fix_settings, const bool *scenarios)
{
	size_t nprof = ptlab_profiles_count(), n = 0;
	size_t next[SCENARIO_COUNT] = { 0 };
	bool more = true;

	/* Round robin: each scenario in turn gives its next safe cell, its
	 * cells ordered fix setting by fix setting, profile by profile. */
	while (more) {
		more = false;
		for (int s = 0; s < SCENARIO_COUNT; s++) {
			for (; next[s] < PTLAB_FIX_SETTINGS * nprof; next[s]++) {
				const struct ptlab_profile *p = &ptlab_profiles()[next[s] % nprof];
				unsigned int f = (unsigned int)(next[s] / nprof);
				struct ptlab_expectation e =
					ptlab_expect(p, ptlab_fix_setting(f), (enum scenario)s);

				if (e.unsafe || !selected(profiles, next[s] % nprof) ||
				    !selected(fix_settings, f) || !selected(scenarios, (size_t)s))
					continue;
				if (n < max)
					out[n] = (struct lab_soak_cell){ p, f, (enum scenario)s, e };
				n++;
				next[s]++;
				more = true;
				break;
			}
		}
	}
	return n;
}

void lab_soak_config(struct lab_run_config *cfg, const struct lab_soak_cell *cell,
		     uint64_t seed, const struct lab_soak_options *o)
{
	uint64_t rng = rand_seed(seed, 0x50a6);

	lab_run_config_default(cfg, cell->profile, ptlab_fix_setting(cell->fix_setting),
			       cell->scenario);
	cfg->seed = seed;
	cfg->seconds = o->cell_seconds;
	cfg->walkers = o->walkers;
	for (unsigned int i = 0; i < cfg->nr_windows; i++) {
		struct lab_window *w = &cfg->windows[i];
		double delay = (double)w->delay_ns * (0.25 + 1.75 * rand_unit(&rng));

		w->delay_ns = delay < 1 ? 1
			      : delay > LAB_MAX_DELAY_NS ? LAB_MAX_DELAY_NS
							 : (uint64_t)delay;
		w->probability *= 0.5 + 0.5 * rand_unit(&rng);
	}
	cfg->check_tables = true;
	cfg->fail_alloc_paths = FAIL_ALLOC_ALL_PATHS & ~FAIL_ALLOC_PATH(ALLOC_PATH_OTHER);
	cfg->fail_alloc_probability = o->fail_probability;
}

void lab_soak_add(struct lab_soak_totals *t, const struct lab_result *r, int run_error,
		  enum lab_verdict v)
{
	t->runs++;
	t->passed += v == LAB_PASS;
	t->inconclusive += v == LAB_INCONCLUSIVE;
	t->failed += v == LAB_FAIL;
	t->run_errors += run_error != 0;
	t->ops += r->ops;
	t->cycles += r->cycles;
	t->overlaps += r->evidence.overlaps;
	t->defended += r->evidence.defended;
	t->violations += lab_total_violations(r);
	t->lost_writes += r->lost_writes;
	t->leaked_frames += r->leaked_frames;
	t->table_mismatches += r->table_mismatches;
	t->pinned_pages += r->table_referenced;
	t->asan_reports += r->asan_reports;
	for (int p = 0; p < ALLOC_PATH_COUNT; p++) {
		t->alloc_attempts[p] += r->alloc_attempts[p];
		t->injected[p] += r->injected[p];
	}
	for (int k = 0; k < LAB_FAILURE_KINDS; k++)
		t->step_failures[k] += r->failures[k];
}

unsigned int lab_soak_paths_never_failed(const struct lab_soak_totals *t, double p)
{
	unsigned int mask = 0;

	for (int i = 0; p > 0 && i < ALLOC_PATH_COUNT; i++)
		if (i != ALLOC_PATH_OTHER && !t->injected[i] &&
		    (double)t->alloc_attempts[i] * p >= LAB_SOAK_PATH_EVIDENCE)
			mask |= FAIL_ALLOC_PATH(i);
	return mask;
}
