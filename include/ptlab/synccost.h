/* SPDX-License-Identifier: MIT */
/*
 * What each sync policy (enum sync_policy) costs: the CPUs a collapse
 * interrupts and waits for, on a machine of many CPUs of which some run
 * the collapsed mm, and what the walkers policy's marker adds to GUP-fast.
 * `ptlab study sync` prints them; `ptlab bench` may too.
 *
 * The counts are the kernel's (who is interrupted), taken at the race
 * points where each wait begins by a hook on the collapsing thread alone.
 * The latency is this machine's: ptlab's tlb_remove_table_sync_one() waits
 * with one membarrier() and then only for CPUs found inside a section, so
 * its time is no real IPI broadcast's; the flush's IPIs are real signals.
 */
#ifndef PTLAB_SYNCCOST_H
#define PTLAB_SYNCCOST_H

#include <stdint.h>

#include "ptlab/config.h"
#include "ptlab/profile.h"

struct sync_cost_config {
	const struct ptlab_profile *profile;
	enum sync_policy policy;
	/* Registered CPUs (2..64), of which @mm_cpus (1..@cpus) run the
	 * collapsed mm: the collapser and @mm_cpus - 1 GUP-fast walkers of
	 * it; the others walk another mm. */
	unsigned int cpus, mm_cpus;
	/* Collapse attempts measured (each attempt clears the PMD, flushes
	 * and syncs, whether isolation then succeeds or not). */
	unsigned int collapses;
};

struct sync_cost {
	unsigned int attempts;   /* collapse attempts that reached the sync */
	/* Per attempt: CPUs the TLB flush interrupted (and waited for),
	 * CPUs the sync interrupted (and waited for), and how many CPUs were
	 * waited for in all (a CPU both interrupt counts once here). */
	double flush_ipis, sync_ipis, waited;
	/* Per attempt: the sync's wall time here, ns (median). */
	double sync_ns;
};

/* Measures one configuration; 0, or -EINVAL (bad config), -ENOMEM,
 * -ENOSPC (no CPU), -EBUSY (a machine exists). Not from a CPU thread. */
int ptlab_sync_cost(const struct sync_cost_config *c, struct sync_cost *out);

struct gup_marker_cost {
	/* pin_user_pages_fast() + unpin of one page, ns per call (median
	 * of the rounds, interleaved): without the marker (policy all) and
	 * with it (policy walkers). */
	double ns_plain, ns_marked;
};

/* Measures the walkers policy's marker on one CPU, @rounds rounds (3..64)
 * of @ops calls (1..10^9) each. 0 or -EINVAL, -ENOMEM, -EBUSY. */
int ptlab_gup_marker_cost(unsigned int rounds, uint64_t ops, struct gup_marker_cost *out);

#endif /* PTLAB_SYNCCOST_H */
