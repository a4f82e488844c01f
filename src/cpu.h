/* SPDX-License-Identifier: MIT */
/*
 * The per-CPU structure and the interrupt fast path (private to the
 * machine). The public interface is include/ptlab/smp.h.
 *
 * Who touches a struct cpu:
 * - its owner thread, in normal context and in its IPI signal handler;
 * - IPI senders, which push call requests onto call_queue and read
 *   irq_seq, online and thread; smp_wait_irqs_off_sections(), which
 *   reads irq_seq and adds to irq_waiters while it sleeps;
 * - broadcast TLB flushers and the paravirt flush, which touch tlb and
 *   pv_state (see tlb.c);
 * - cpu_register()/cpu_unregister(), under cpu_hotplug_lock for write.
 */
#ifndef PTLAB_CPU_H
#define PTLAB_CPU_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include <urcu/urcu-memb.h>

#include "ptlab/barrier.h"
#include "ptlab/smp.h"
#include "tlb_soft.h"

struct mm_struct;

/* One request to run func(info) on one target (mirrors call_single_data). */
struct csd {
	/* Link in the target's call_queue; written by the sender before the
	 * push, read by the target after its acquiring exchange. */
	struct csd *next;
	smp_call_func_t func;
	void *info;
	/* CSD_LOCKED, set by the sender before the push; CSD_LOCKED_SLEEPER
	 * once the waiting sender is about to sleep on it (a CAS from
	 * CSD_LOCKED in csd_lock_wait()). Cleared by the target after func
	 * returned with an exchange: release, paired with the waiter's
	 * acquire load, so everything func did is visible to it; and it sees
	 * a sleeper's mark in the same atomic step, so a sleeper is always
	 * woken (both sides change this one word with read-modify-writes). */
	atomic_uint locked;
};

#define CSD_LOCKED 1U
#define CSD_LOCKED_SLEEPER 2U

struct cpu {
	/*
	 * Interrupts-off sequence: odd inside an interrupts-off section,
	 * bumped when the outermost section begins and when it ends. Written
	 * only by the owner thread (a load and a store, no locked
	 * instruction). Read by its own signal handler (same thread: barrier()
	 * orders them) and by smp_wait_irqs_off_sections(): the begin
	 * store is ordered with that waiter's earlier stores by the waiter's
	 * membarrier(); the end store is a release, paired with the waiter's
	 * acquire load, so everything the section did happens before the
	 * waiter goes on (frees the table, reads a refcount).
	 * Each struct cpu begins a cache line: otherwise the owner-written
	 * counters at the end of one CPU's would share a line with the next
	 * CPU's irq_seq, and two CPUs pinning pages at once would pass the
	 * line to and fro at every section.
	 */
	_Alignas(64) atomic_uint irq_seq;
	/*
	 * Waiters asleep (or about to sleep) until the section they saw in
	 * irq_seq ends: each smp_wait_irqs_off_sections() that gave up
	 * spinning adds 1 before its second membarrier() and takes it away
	 * once that section has ended (relaxed read-modify-writes: the
	 * membarrier() orders the add; a late take-away costs one needless
	 * wake). Read by the owner at every section end with one relaxed
	 * load: nonzero means a futex wake on irq_seq, after the store that
	 * ends the section (see cpu_irq_seq_end() for why no wake is lost).
	 * Next to irq_seq, in the cache line the owner writes anyway.
	 */
	atomic_uint irq_waiters;
	/*
	 * Set by cpu_register() under cpu_hotplug_lock for write, before the
	 * CPU goes online; read by IPI senders under it for read.
	 */
	int id;
	/*
	 * Pending IPI requests, a LIFO of csds (the kernel's
	 * call_single_queue). Senders push with a release CAS after writing
	 * the csd; the owner takes the whole list with an acquire exchange,
	 * which pairs with that release.
	 */
	_Atomic(struct csd *) call_queue;
	/*
	 * The mm this CPU runs (current->active_mm). Written by the owner in
	 * use_mm()/unuse_mm() only; read by the owner and by the lab.
	 */
	_Atomic(struct mm_struct *) mm;
	/*
	 * The mm this CPU is walking locklessly (the walkers sync policy's
	 * per-CPU marker, active_lockless_pt_walk_mm): written by the owner
	 * with interrupts off, set before its PMD load with a full fence
	 * between (pt_walk_lockless_start()), cleared with release at the
	 * end of the walk; read relaxed by syncers after their own full
	 * fence (tlb_remove_table_sync_mm()). NULL when not walking, and always unless
	 * the machine's sync policy is SYNC_WALKERS.
	 */
	_Atomic(struct mm_struct *) lockless_walk_mm;

	/* Set under cpu_hotplug_lock for write; read by senders under it for
	 * read, so a target cannot go away while a sender waits for it. The
	 * thread, for pthread_kill(), likewise. */
	atomic_bool online;
	pthread_t thread;

	/* Software TLB, see tlb_soft.h for its rules. */
	struct tlb_soft tlb;

	/*
	 * Paravirt state (kvm_steal_time.preempted): PV_PREEMPTED set by the
	 * owner while the lab marks it preempted; PV_FLUSH_PENDING added by a
	 * paravirt flusher with a CAS that requires PV_PREEMPTED; cleared by
	 * the owner's exchange when it runs again, which then flushes.
	 */
	atomic_int pv_state;

	/* Per-sender call data for asynchronous IPIs (the kernel's
	 * cfd_data): cfd[t] carries this CPU's request to CPU t. Reused only
	 * after csd_lock_wait(), so one sender writes it at a time. */
	struct csd cfd[PTLAB_MAX_CPUS];

	/* Statistics; relaxed atomics, any thread may add. */
	atomic_ullong ipis_run;
	atomic_ullong ipis_deferred;
	/* GUP statistics, written by the owner only (cpu_stat_add()). */
	atomic_ullong gup_fast_pages, gup_fast_fallback, gup_recheck_fail,
		gup_slow_pages;
};

/* Adds to a per-CPU counter that only its owner writes: a load and a
 * store, no locked instruction on the fast path. */
static inline void cpu_stat_add(atomic_ullong *ctr, unsigned long long n)
{
	WRITE_ONCE(*ctr, READ_ONCE(*ctr) + n);
}

static inline bool cpu_irqs_off(struct cpu *c)
{
	return READ_ONCE(c->irq_seq) & 1;
}

/* Enters a section (the sequence turns odd): only the owner writes. */
static inline __attribute__((always_inline)) void cpu_irq_seq_begin(struct cpu *c)
{
	WRITE_ONCE(c->irq_seq, READ_ONCE(c->irq_seq) + 1);
}

void cpu_irq_wake_waiters(struct cpu *c);

/*
 * Leaves it (even again), with release: see irq_seq. Then wakes the
 * waiters asleep on it, if any. No wake is lost, although neither side
 * has a fence between its store and its load (the store-buffering
 * pattern: this CPU stores irq_seq then loads irq_waiters; a waiter adds
 * to irq_waiters then loads irq_seq in futex_wait_ns()), because the
 * waiter's membarrier() between its add and its load puts a full barrier
 * into this CPU's program at some point B:
 * - B before the store: the load of irq_waiters comes after B (barrier()
 *   keeps the compiler from hoisting it above the store; the CPU
 *   cannot move it above B), so it sees the add and the futex wake
 *   follows the store; the futex itself then guarantees that a waiter
 *   whose check saw the old value was queued before the wake looked.
 * - B after the store: the store is visible before the membarrier()
 *   returns, so the waiter's check sees the section ended and does not
 *   sleep.
 * A CPU that nobody waits for pays one relaxed load and a branch.
 */
static inline __attribute__((always_inline)) void cpu_irq_seq_end(struct cpu *c)
{
	smp_store_release(&c->irq_seq, READ_ONCE(c->irq_seq) + 1);
	barrier();
	if (READ_ONCE(c->irq_waiters))
		cpu_irq_wake_waiters(c);
}

#define PV_PREEMPTED 1
#define PV_FLUSH_PENDING 2

extern struct cpu cpus[PTLAB_MAX_CPUS];
/* The calling thread's CPU, NULL when it is not one. Initial-exec TLS so
 * that the signal handler may read it. */
extern __thread struct cpu *this_cpu __attribute__((tls_model("initial-exec")));

void cpu_run_ipis(struct cpu *c);

/*
 * The interrupt fast path, always inline for the lockless walkers. Turning
 * interrupts off makes irq_seq odd before anything in the section (the
 * barrier() keeps the compiler from moving section accesses above it;
 * the handler runs on this thread, so no CPU barrier is needed for it;
 * other CPUs are ordered by membarrier(), see irq_seq) and then enters the
 * RCU read-side section. Turning them on leaves RCU, makes irq_seq even
 * with release, and runs whatever IPI arrived meanwhile. A signal between
 * the load and the store of a bump can only run when the sequence was
 * even (the handler defers otherwise); its own begin/end pair is then
 * overwritten by the section's begin, which only makes a waiter wait for
 * that section too.
 *
 * arch_local_irq_disable()/_enable() are for a caller that knows the
 * interrupts are on (GUP-fast, which refuses to run with them off): the
 * outermost section, without save's test of the state.
 */
static inline __attribute__((always_inline)) void arch_local_irq_disable(struct cpu *c)
{
	cpu_irq_seq_begin(c);
	barrier();
	urcu_memb_read_lock();
}

static inline __attribute__((always_inline)) void arch_local_irq_enable(struct cpu *c)
{
	urcu_memb_read_unlock();
	barrier();
	cpu_irq_seq_end(c);
	barrier();
	/* An IPI that arrived while interrupts were off is taken now. */
	if (READ_ONCE(c->call_queue))
		cpu_run_ipis(c);
}

static inline __attribute__((always_inline)) unsigned long arch_local_irq_save(struct cpu *c)
{
	bool was = cpu_irqs_off(c);

	if (!was)
		arch_local_irq_disable(c);
	return was;
}

static inline __attribute__((always_inline)) void arch_local_irq_restore(struct cpu *c, unsigned long flags)
{
	if (!flags)
		arch_local_irq_enable(c);
}

/*
 * Polls for IPIs from a wait loop: a CPU that waits with interrupts on
 * takes its IPIs here, so that two CPUs waiting for each other (or a CPU
 * waiting for a lock held by a CPU that waits for it) always make progress
 * even where signal delivery is deferred (TSan delivers signals only at
 * certain calls).
 */
static inline void cpu_poll_ipis(void)
{
	struct cpu *c = this_cpu;

	if (c && !cpu_irqs_off(c) &&
	    READ_ONCE(c->call_queue))
		cpu_run_ipis(c);
}

#endif /* PTLAB_CPU_H */
