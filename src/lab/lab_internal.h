/* SPDX-License-Identifier: MIT */
/*
 * The lab's private interfaces: the race hook (windows + detectors), the
 * detectors' checks called by scenario threads, and the scenarios.
 *
 * Threads of a run: the thread in lab_run() (a CPU: sets up, watches the
 * budget, tears down), the walkers (CPUs running gup_fast), and the
 * scenario's writers (collapse, zap, munmap). Lab state written by several
 * threads is atomic; per-walker state is thread-local.
 */
#ifndef PTLAB_LAB_INTERNAL_H
#define PTLAB_LAB_INTERNAL_H

#include <stdatomic.h>

#include "ptlab/lab.h"
#include "ptlab/mm.h"
#include "ptlab/page.h"

/* Counters of a run, shared by its threads (relaxed atomics). */
struct lab_counters {
	atomic_ullong ops, pages, collapses, refusals, zaps, lost_writes;
	atomic_ullong violations[VIOLATION_KINDS];
};

extern struct lab_counters lab_ctr;

/* window.c */
void lab_windows_install(const struct lab_window *w, unsigned int n, uint64_t seed);
void lab_windows_apply(enum race_point rp);

/* detect.c */
/* Starts a run: clears counters, the first violation and the event log;
 * sizes the per-frame collapse markers for @nr_frames. */
int lab_detect_begin(uint32_t nr_frames);
void lab_detect_end(void);
/* The race hook installed during a run. */
void lab_race_hook(enum race_point rp, const struct race_ctx *ctx);
/* After gup_fast returned @n pages for @start: wrong page check. */
void lab_check_returned(struct page **pages, long n, uint64_t start, uint32_t mm_id);
/* Pins are checked for staleness a little later, once the collapse that
 * may have copied them away is done: remember one (just before unpinning
 * it), check the old ones. */
void lab_pin_note(struct page *page, uint64_t addr);
void lab_pins_check(bool all);
/* Records a violation (counts it; the first also fills the detail). */
void lab_violation(const struct lab_violation_detail *d);
bool lab_first_violation(struct lab_violation_detail *out);
double lab_now_ms(void);

/* scenario.c */
struct lab_scenario;
/* Sets the scenario up in @mm (called by a CPU), starts its threads. */
int lab_scenario_start(const struct lab_run_config *cfg, struct mm_struct *mm,
		       struct lab_scenario **out);
/* Stops and joins its threads (answering IPIs meanwhile). */
void lab_scenario_stop(struct lab_scenario *s);

#endif /* PTLAB_LAB_INTERNAL_H */
