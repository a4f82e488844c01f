/* SPDX-License-Identifier: MIT */
/* Machine-wide state shared by the protocol code (private). */
#ifndef PTLAB_MACHINE_INTERNAL_H
#define PTLAB_MACHINE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "ptlab/barrier.h"
#include "ptlab/machine.h"
#include "ptlab/memory_model.h"

#define PAGE_ALLOC_MIN_BLOCKS (PTLAB_POOL_MIN / (2ULL << 20))
#define PAGE_ALLOC_MAX_BLOCKS (PTLAB_POOL_MAX / (2ULL << 20))

/*
 * The running machine. profile is written by ptlab_init() before any CPU
 * uses the machine and read-only afterwards; the fix switches are atomics
 * because the lab flips them between runs while CPUs are registered.
 */
struct machine {
	struct ptlab_profile profile;
	/* Written by ptlab_init(), read-only afterwards. */
	struct ptlab_kernel kernel;
	atomic_bool pmd_recheck;
	/* enum sync_policy of the seed's fix (SYNC_NONE: off). */
	atomic_int sync;
	uint64_t pool_bytes;
	/* BARRIER_BIT()s left out (struct ptlab_config): written by
	 * ptlab_init() before any CPU uses the machine, read-only afterwards;
	 * each walk and each sync reads it once (machine_dropped()). */
	unsigned int dropped_barriers;
	bool initialized;
};
extern struct machine machine;

static inline bool machine_pmd_recheck(void)
{
	return READ_ONCE(machine.pmd_recheck);
}

/* The fixes' sync policy (SYNC_NONE: the seed's fix is off). */
static inline enum sync_policy machine_sync(void)
{
	return (enum sync_policy)READ_ONCE(machine.sync);
}

/* Whether the barrier @b is left out (the stress lab's --drop-barrier). */
static inline bool machine_dropped(enum barrier b)
{
	return machine.dropped_barriers & BARRIER_BIT(b);
}

/* The hugetlb unshare sync in effect (the generation, or the sync fix
 * where the generation follows the fixes). */
static inline enum unshare_sync machine_unshare_sync(void)
{
	if (machine.kernel.unshare_sync == UNSHARE_SYNC_BY_FIXES)
		return machine_sync() != SYNC_NONE ? UNSHARE_SYNC_GATHER : UNSHARE_SYNC_NONE;
	return machine.kernel.unshare_sync;
}

int page_alloc_init(size_t bytes);
void page_alloc_exit(void);

/* An internal invariant broke (the kernel's BUG()): reports and aborts. */
__attribute__((noreturn)) void ptlab_bug(const char *what, uint64_t value);

#endif /* PTLAB_MACHINE_INTERNAL_H */
