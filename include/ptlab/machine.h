/* SPDX-License-Identifier: MIT */
/*
 * The machine: one per process, set up once with a profile and the fix
 * switches, torn down with an account of every frame.
 */
#ifndef PTLAB_MACHINE_H
#define PTLAB_MACHINE_H

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "ptlab/config.h"
#include "ptlab/page.h"
#include "ptlab/profile.h"

#define PTLAB_POOL_DEFAULT (256ULL << 20)
#define PTLAB_POOL_MIN (8ULL << 20)
#define PTLAB_POOL_MAX (64ULL << 30)

struct ptlab_config {
	/* The architecture's properties (a copy of a profile row; tests may
	 * build rows of their own). */
	struct ptlab_profile profile;
	struct ptlab_fixes fixes;
	/* The kernel generation (ptlab_kernel_default() for the profile).
	 * With kernel.rcu_everywhere the machine's profile selects RCU table
	 * free whatever the row says. */
	struct ptlab_kernel kernel;
	/* Size of the frame pool in bytes: a multiple of 2 MiB within
	 * [PTLAB_POOL_MIN, PTLAB_POOL_MAX]. */
	uint64_t pool_bytes;
	/* BARRIER_BIT()s (ptlab/memory_model.h) of the barriers the machine
	 * leaves out, the stress lab's --drop-barrier: only those whose
	 * barrier_info() has .lab (a fence of ptlab's own code between a
	 * store and a later load); 0, the default, runs every barrier. */
	unsigned int dropped_barriers;
};

/* x86 profile, both fixes on, today's kernel, the default pool, every
 * barrier. */
void ptlab_config_default(struct ptlab_config *cfg);
/* The same with the named profile; -EINVAL for an unknown name. */
int ptlab_config_profile(struct ptlab_config *cfg, const char *profile_name);

/*
 * Sets the machine up: -EINVAL for a bad pool size, an unknown flush,
 * deposit style, upper-table free or kernel generation, a dropped barrier
 * that is not the lab's to drop (or not a barrier), a profile that
 * ptlab_profile_check() refuses, -EBUSY when a machine exists,
 * -ENOMEM when the pool cannot be mapped. ptlab_init() and ptlab_exit() are called from one
 * thread while no other CPU runs.
 */
int ptlab_init(const struct ptlab_config *cfg);

struct ptlab_teardown_report {
	/* Frames not free after teardown, by type: any is a leak. */
	uint64_t leaked[PAGE_TYPE_COUNT];
	uint64_t leaked_total;
	/* Pages whose refcount was not 0 while free. */
	uint64_t bad_refcounts;
	/* Frames the allocator's counts miss: by type, the difference
	 * between its count and the frames that have that type, plus the
	 * difference between its free count and its free frames (the
	 * accounting itself broken: free + in use != pool). */
	uint64_t miscounted;
};

/*
 * Tears the machine down once every mm is destroyed and every CPU but the
 * caller is unregistered: waits for pending RCU frees, then accounts for
 * every frame. Returns 0 when all frames came back free and the
 * allocator's counts agree with the frames, -ENOTEMPTY (with
 * @report filled, if given) when some did not, -EBUSY while CPUs other
 * than the caller are still registered, -EINVAL with no machine.
 */
int ptlab_exit(struct ptlab_teardown_report *report);

/* Waits until every table handed to RCU so far has been freed
 * (rcu_barrier()). Not from inside an interrupts-off section. */
void ptlab_rcu_barrier(void);

/*
 * fork() for a process that will set up a machine of its own in the
 * child: liburcu's call_rcu worker thread is not copied by fork(), so the
 * child would wait forever for the RCU frees of its own machine; this
 * forks with liburcu's fork handlers around it (call_rcu_before_fork(),
 * ..._after_fork_parent(), ..._after_fork_child()). Not while a machine
 * is up. Returns what fork() does.
 */
pid_t ptlab_fork(void);

/* The running machine's configuration (valid between init and exit; a
 * static copy, for the thread that manages the machine). */
const struct ptlab_config *ptlab_machine_config(void);

/* Switches of the running machine, readable and settable at run time
 * (the lab turns fixes off per run). */
void ptlab_set_fixes(struct ptlab_fixes fixes);
struct ptlab_fixes ptlab_get_fixes(void);

#endif /* PTLAB_MACHINE_H */
