// SPDX-License-Identifier: MIT
/*
 * Race windows: delays injected at race points, as a kernel developer adds
 * an mdelay() to make a race reproducible. The table is written by
 * lab_windows_install() before a run's threads start and only read while
 * they run (thread creation orders the two).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lab_internal.h"
#include "ptlab/smp.h"
#include "ptlab/tlb.h"
#include "util/parse.h"
#include "util/rand.h"
#include "util/time.h"

static struct lab_window windows[LAB_MAX_WINDOWS];
static unsigned int nr_windows;
static uint64_t windows_seed;

/* Per-thread generator, seeded from the run's seed and the thread's CPU
 * id (the same in every run of a cell: CPUs are numbered in the order the
 * scenario starts its threads), so that --seed repeats every draw. */
static __thread uint64_t rng_state;
static __thread uint64_t rng_seeded_for;

static uint64_t *rng(void)
{
	if (!rng_state || rng_seeded_for != windows_seed) {
		rng_state = rand_seed(windows_seed, (uint64_t)(smp_processor_id() + 2));
		rng_seeded_for = windows_seed;
	}
	return &rng_state;
}

void lab_windows_install(const struct lab_window *w, unsigned int n, uint64_t seed)
{
	nr_windows = n < LAB_MAX_WINDOWS ? n : LAB_MAX_WINDOWS;
	if (nr_windows)
		memcpy(windows, w, nr_windows * sizeof(*w));
	windows_seed = seed;
}

/* Sleeps (long delays: lets the other threads of a 2-core machine run) or
 * spins (short ones); a signal (an IPI) does not cut it short. */
static void lab_delay(uint64_t ns)
{
	uint64_t start;

	if (ns >= 20000) {
		sleep_ns(ns);
		return;
	}
	start = monotonic_ns();
	while (monotonic_ns() - start < ns)
		;
}

void lab_windows_apply(enum race_point rp, bool walker)
{
	for (unsigned int i = 0; i < nr_windows; i++) {
		const struct lab_window *w = &windows[i];
		uint64_t ns;

		if (w->rp != rp || (w->walkers_only && !walker) ||
		    rand_unit(rng()) >= w->probability)
			continue;
		ns = w->jitter ? w->delay_ns / 2 + rand_next(rng()) % (w->delay_ns / 2 + 1)
			       : w->delay_ns;
		if (w->preempt)
			pv_vcpu_preempt();
		lab_delay(ns);
		if (w->preempt)
			pv_vcpu_resume();
	}
}

int lab_window_parse(const char *spec, struct lab_window *out, const char **err)
{
	char buf[160], *save = NULL, *tok;
	int field = 0;
	uint64_t u;

	static const char *ignored;

	if (!err)
		err = &ignored;
	if (!out) {
		*err = "no window to fill";
		return -EINVAL;
	}
	*out = (struct lab_window){ .probability = 1.0 };
	if (!spec || strlen(spec) >= sizeof(buf)) {
		*err = spec ? "too long" : "no window given";
		return -EINVAL;
	}
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save), field++) {
		if (field == 0) {
			int rp;

			for (rp = 0; rp < RACE_POINT_COUNT; rp++)
				if (!strcmp(tok, race_point_name((enum race_point)rp)))
					break;
			if (rp == RACE_POINT_COUNT) {
				*err = "unknown race point";
				return -EINVAL;
			}
			out->rp = (enum race_point)rp;
		} else if (field == 1) {
			if (!cli_parse_u64(tok, 1, LAB_MAX_DELAY_NS, &u)) {
				*err = "delay must be 1..100000000 ns";
				return -EINVAL;
			}
			out->delay_ns = u;
		} else if (!strcmp(tok, "jitter")) {
			out->jitter = true;
		} else if (!strcmp(tok, "preempt")) {
			out->preempt = true;
		} else if (!strcmp(tok, "walkers")) {
			out->walkers_only = true;
		} else if (field == 2) {
			if (!cli_parse_double(tok, 0.0, 1.0, &out->probability)) {
				*err = "probability must be 0..1";
				return -EINVAL;
			}
		} else {
			*err = "unknown field (allowed: jitter, preempt, walkers)";
			return -EINVAL;
		}
	}
	if (field < 2) {
		*err = "expected POINT:NS[:PROB][:jitter][:preempt][:walkers]";
		return -EINVAL;
	}
	return 0;
}
