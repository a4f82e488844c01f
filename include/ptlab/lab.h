/* SPDX-License-Identifier: MIT */
/*
 * The race lab: race windows, detectors, scenarios and one run of a cell
 * (profile x fixes x scenario). The protocol code knows nothing of it: the
 * lab hooks the named race points (ptlab/race.h) while a run lasts.
 */
#ifndef PTLAB_LAB_H
#define PTLAB_LAB_H

#include <stdbool.h>
#include <stdint.h>

#include "ptlab/profile.h"
#include "ptlab/race.h"
#include "ptlab/rule.h"

/*
 * A race window: at race point @rp, with @probability, the thread stops
 * for up to @delay_ns (uniformly at random in [delay_ns/2, delay_ns] when
 * @jitter, else exactly), as a kernel developer adds an mdelay(). With
 * @preempt the CPU is also marked as a preempted vCPU meanwhile (a host
 * preempting it), which only the paravirt flush looks at.
 */
struct lab_window {
	enum race_point rp;
	uint64_t delay_ns;
	double probability;
	bool jitter;
	bool preempt;
};

#define LAB_MAX_WINDOWS 8
#define LAB_MAX_WALKERS 56
#define LAB_MAX_DELAY_NS 100000000ULL   /* 100 ms */

struct lab_run_config {
	struct ptlab_profile profile;
	struct ptlab_fixes fixes;
	enum scenario scenario;
	/* Budget: stop after this long, or after this many walker
	 * operations when nonzero. */
	double seconds;
	uint64_t max_ops;
	/* Stop this long after the first violation (the verdict is known;
	 * the grace counts a few more); negative runs the whole budget. */
	double grace_after_violation;
	unsigned int walkers;
	uint64_t seed;
	unsigned int nr_windows;
	struct lab_window windows[LAB_MAX_WINDOWS];
	/* Frame pool of the run's machine, bytes. */
	uint64_t pool_bytes;
};

/* The scenario's default walkers, windows and pool. */
void lab_run_config_default(struct lab_run_config *cfg, const struct ptlab_profile *p,
			    struct ptlab_fixes fixes, enum scenario s);

/*
 * Parses a window "POINT:NS[:PROB][:jitter][:preempt]" (e.g.
 * "gup-pmd-read:1000000:0.5:preempt"); 0, or -EINVAL with @err set to
 * what was wrong.
 */
int lab_window_parse(const char *spec, struct lab_window *out, const char **err);

struct lab_violation_detail {
	enum violation_kind kind;
	double at_ms;            /* since the run started */
	int cpu;                 /* the walker's CPU */
	uint64_t addr;           /* the address it walked */
	uint32_t table_pfn;      /* the table (stale table), or PFN_NONE */
	unsigned int gen_seen, gen_now;
	uint32_t page_pfn;       /* the page referenced, or PFN_NONE */
	uint64_t page_index;     /* where that page is (was) mapped */
	char what[160];          /* one line in the protocol's words */
	char history[640];       /* what other threads did to that table */
};

struct lab_result {
	uint64_t ops;            /* walker gup_fast calls */
	uint64_t pages;          /* pages they returned */
	uint64_t cycles;         /* collapses + zaps/munmaps done */
	uint64_t collapses, refusals;
	/* Pinned writes a later read did not see (collapse-pin). */
	uint64_t lost_writes;
	uint64_t violations[VIOLATION_KINDS];
	uint64_t asan_reports;   /* walkers reading a poisoned freed table */
	double seconds;          /* how long it ran */
	double first_violation_ms; /* < 0 when none */
	bool have_detail;
	struct lab_violation_detail first;
	/* Frames not accounted for at teardown (must be 0). */
	uint64_t leaked_frames;
};

static inline uint64_t lab_total_violations(const struct lab_result *r)
{
	uint64_t n = 0;

	for (int k = 0; k < VIOLATION_KINDS; k++)
		n += r->violations[k];
	return n;
}

/*
 * Runs one cell: sets a machine up with the profile and fixes, runs the
 * scenario's threads for the budget with the windows and detectors
 * installed, tears the machine down and accounts for every frame. 0, or
 * -EINVAL for a bad config (NULL arguments, no walker or more than
 * LAB_MAX_WALKERS, a budget outside (0, 1 day], a window with an unknown
 * point, a delay outside [1 ns, LAB_MAX_DELAY_NS] or a probability outside
 * [0, 1]), -EBUSY when a machine exists, or another -errno when the machine
 * could not be set up.
 */
int lab_run(const struct lab_run_config *cfg, struct lab_result *res);

/* Progress callback for long runs (NULL: none): called from the thread
 * that runs lab_run() about every 100 ms. */
typedef void (*lab_progress_fn)(void *arg, double elapsed, const struct lab_result *sofar);
void lab_set_progress(lab_progress_fn fn, void *arg);

#endif /* PTLAB_LAB_H */
