/* SPDX-License-Identifier: MIT */
/*
 * Simulated CPUs, interrupts and IPIs (mirrors kernel/smp.c and the
 * local_irq_*() semantics).
 *
 * A thread becomes a CPU by calling cpu_register(). Every thread that walks
 * page tables, accesses user memory or changes an mm must be a CPU.
 *
 * "Interrupts off" is a per-CPU flag: local_irq_save() sets it, with no
 * system call. An IPI is a POSIX real-time signal: the target's handler
 * runs the requested function at once when the target's interrupts are on,
 * and otherwise leaves it queued until local_irq_restore() turns them back
 * on. An interrupts-off section is also an RCU read-side critical section
 * (liburcu's memb flavor), so synchronize_rcu() and call_rcu() wait for it
 * as RCU-sched waits for interrupts-off regions in the kernel.
 */
#ifndef PTLAB_SMP_H
#define PTLAB_SMP_H

#include <stdbool.h>

#include "ptlab/types.h"

/*
 * Makes the calling thread a CPU; returns its id (0..63), -EEXIST if the
 * thread already is one, -ENOSPC when 64 CPUs exist. A CPU thread that
 * exits unregisters itself.
 */
int cpu_register(void);
/* Undoes cpu_register(): -EPERM if the thread is not a CPU, -EBUSY if its
 * interrupts are off or it still runs an mm (see unuse_mm()). */
int cpu_unregister(void);

/* The calling CPU's id, or -1 when the thread is not a CPU. */
int smp_processor_id(void);
cpumask_t cpu_online_mask(void);
unsigned int num_online_cpus(void);

/* Interrupts on this CPU; no-ops (returning 0) on a thread that is not a
 * CPU. Sections nest: restore with the flags that save returned. */
unsigned long local_irq_save(void);
void local_irq_restore(unsigned long flags);
void local_irq_disable(void);
void local_irq_enable(void);
bool irqs_disabled(void);

typedef void (*smp_call_func_t)(void *info);

/*
 * Runs @fn(@info) on every online CPU in @mask other than the caller (as
 * the kernel's smp_call_function_many()), each in interrupt context: at
 * once if the target's interrupts are on, when it re-enables them
 * otherwise. With @wait, returns only after every target ran @fn. Without
 * @wait the caller must be a CPU (its per-CPU call data carries the
 * request). Returns 0, -EINVAL for a NULL @fn or bits beyond the CPU
 * limit, -EPERM for an asynchronous call from a non-CPU, -EDEADLK when
 * called with interrupts off (the target could be waiting for us).
 */
int smp_call_function_many(cpumask_t mask, smp_call_func_t fn, void *info,
			   bool wait);
/* Every other online CPU. */
int smp_call_function(smp_call_func_t fn, void *info, bool wait);
/* Every online CPU in @mask, the caller included (run with its interrupts
 * off, as the kernel does). */
int on_each_cpu_mask(cpumask_t mask, smp_call_func_t fn, void *info, bool wait);
/* Every online CPU, the caller included. */
int on_each_cpu(smp_call_func_t fn, void *info, bool wait);

/*
 * Returns once no CPU in @mask (the caller excluded) is still inside an
 * interrupts-off section that began before the call: the only effect of
 * the kernel's smp_call_function(<empty function>, NULL, 1) as used by
 * tlb_remove_table_sync_one(). Such an IPI is taken by each CPU the moment
 * its interrupts are on, so instead of interrupting every thread this
 * issues one expedited membarrier() (which orders each CPU's section flag
 * with the caller's earlier stores, as liburcu's memb flavor does) and
 * then waits for each CPU found inside a section to leave it. Same errors
 * as smp_call_function_many(); without membarrier() it sends real IPIs.
 */
int smp_wait_irqs_off_sections(cpumask_t mask);

/* Counters of this machine's IPI traffic, summed over CPUs. */
struct smp_stats {
	unsigned long long ipis_sent;      /* requests queued to a target */
	unsigned long long signals_sent;   /* pthread_kill() calls, re-kicks included */
	unsigned long long ipis_run;       /* functions run by targets */
	unsigned long long ipis_deferred;  /* signals that found interrupts off */
	unsigned long long membarriers;    /* smp_wait_irqs_off_sections() fast paths */
	unsigned long long waits_woken;    /* waits for an IPI or a section that slept
					    * and were woken by the CPU awaited */
};
void smp_get_stats(struct smp_stats *out);

#endif /* PTLAB_SMP_H */
