// SPDX-License-Identifier: MIT
/*
 * Simulated CPUs and IPIs (mirrors kernel/smp.c).
 *
 * Locking:
 * - cpu_hotplug_lock (rw_semaphore): held for write by cpu_register() and
 *   cpu_unregister() while they change a CPU's online state; held for read
 *   by every IPI sender from choosing its targets until it has waited for
 *   them, so a target cannot go offline under a sender. Waiters poll their
 *   own IPIs (wait_backoff()), so an unregistering CPU still answers the
 *   senders it waits for.
 * - A csd is owned by its sender until pushed, by the target until it
 *   clears csd->locked (release), and by the sender again after its
 *   acquire load sees 0 (csd_lock_wait()).
 *
 * Waiting: a sender waits for its IPIs (csd_lock_wait()) and
 * smp_wait_irqs_off_sections() for interrupts-off sections by spinning
 * for WAIT_SPIN_NS, then by sleeping on a futex that the target wakes the
 * moment it is done, never by yielding: a yield can leave the waiter off
 * its core for the rest of another thread's time slice (milliseconds on
 * a busy machine) although what it waits for ends within microseconds.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cpu.h"
#include "lock.h"
#include "machine.h"
#include "mm_internal.h"
#include "ptlab/race.h"
#include "sanitizer.h"
#include "util/time.h"

struct cpu cpus[PTLAB_MAX_CPUS];
__thread struct cpu *this_cpu __attribute__((tls_model("initial-exec")));

static struct rw_semaphore cpu_hotplug_lock = {
	.count = 0, .writers_waiting = 0, .writer = 0,
};
/* Bit n set while CPU n is online; written under cpu_hotplug_lock for
 * write, read under it for read (or as a snapshot). */
static _Atomic cpumask_t online_mask;
/* Slots in use by a registered thread; under cpu_hotplug_lock for write. */
static cpumask_t slots_used;

static pthread_once_t ipi_once = PTHREAD_ONCE_INIT;
static int ipi_signo;
static pthread_key_t cpu_exit_key;

static atomic_ullong stat_ipis_sent, stat_signals, stat_membarriers, stat_waits_woken;

/* A target that has not answered within this long gets its signal again:
 * signals can be delayed (sanitizers defer them to certain calls). */
#define IPI_REKICK_NS 1000000ULL
/* How long a waiter spins before it sleeps: about what going to sleep
 * costs (a second membarrier(), a futex wait and wake), so that a waiter
 * never loses more than twice the better choice's time. A target that is
 * running ends a GUP-fast section within that; one that does not may be
 * waiting for a core, which a sleeping waiter gives it. */
#define WAIT_SPIN_NS 2000ULL
/* A waiter asleep on a section wakes at least this often: a bound on the
 * wait should its second membarrier() fail (a wake could then be missed).
 * Its own IPIs interrupt the sleep (no SA_RESTART under TSan, whose
 * deferred handlers then run). */
#define WAIT_SLEEP_MAX_NS 10000000ULL

/* The IPI handler (the interrupt entry of kernel/smp.c's
 * generic_smp_call_function_single_interrupt()). */
static void ipi_signal_handler(int sig, siginfo_t *si, void *uc)
{
	struct cpu *c = this_cpu;
	int saved_errno = errno;

	(void)sig;
	(void)si;
	(void)uc;
	if (c) {
		if (cpu_irqs_off(c)) {
			atomic_fetch_add_explicit(&c->ipis_deferred, 1,
						  memory_order_relaxed);
			RACE_POINT(RP_IPI_DEFERRED);
		} else {
			cpu_run_ipis(c);
		}
	}
	errno = saved_errno;
}

static void cpu_exit_destructor(void *arg)
{
	(void)arg;
	if (!this_cpu)
		return;
	/* A CPU thread that exits inside a section or with an mm would
	 * leave others waiting for it forever: end both first. */
	if (cpu_irqs_off(this_cpu))
		arch_local_irq_restore(this_cpu, 0);
	unuse_mm_at_exit();
	cpu_unregister();
}

static void ipi_install(void)
{
	struct sigaction sa;

	ipi_signo = SIGRTMIN + 3;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = ipi_signal_handler;
	/*
	 * A CPU blocked in a system call takes the IPI and goes back to its
	 * call (SA_RESTART), as an idle CPU would. TSan runs handlers only
	 * when an intercepted call returns, so there the call must return
	 * EINTR for the IPI to be taken; CPU threads retry on EINTR.
	 */
	sa.sa_flags = SA_SIGINFO;
#ifndef PTLAB_TSAN
	sa.sa_flags |= SA_RESTART;
#endif
	sigemptyset(&sa.sa_mask);
	sigaction(ipi_signo, &sa, NULL);
	pthread_key_create(&cpu_exit_key, cpu_exit_destructor);
}

void cpu_run_ipis(struct cpu *c)
{
	while (READ_ONCE(c->call_queue)) {
		struct csd *list, *fifo = NULL;

		/* Interrupt context runs with interrupts off: a nested
		 * signal defers instead of re-entering. */
		cpu_irq_seq_begin(c);
		barrier();
		/* Acquire: pairs with the release CAS in csd_queue(), so
		 * each csd's fields are visible. */
		list = xchg_acquire(&c->call_queue, NULL);
		while (list) {
			struct csd *next = list->next;

			list->next = fifo;
			fifo = list;
			list = next;
		}
		while (fifo) {
			struct csd *next = fifo->next;

			RACE_POINT(RP_IPI_TAKEN, .csd = fifo);
			fifo->func(fifo->info);
			RACE_POINT(RP_IPI_DONE, .csd = fifo);
			atomic_fetch_add_explicit(&c->ipis_run, 1, memory_order_relaxed);
			/* Release: what func did is visible to the waiter;
			 * the sender may reuse the csd from here on (a wake
			 * that then finds it reused is only spurious). */
			if (xchg_release(&fifo->locked, 0) ==
			    CSD_LOCKED_SLEEPER)
				futex_wake_all(&fifo->locked);
			fifo = next;
		}
		barrier();
		cpu_irq_seq_end(c);
		barrier();
	}
}

static void send_ipi_signal(struct cpu *t)
{
	atomic_fetch_add_explicit(&stat_signals, 1, memory_order_relaxed);
	/* EAGAIN (real-time queue full) means a signal is pending already. */
	pthread_kill(t->thread, ipi_signo);
}

/* Pushes @csd on @t's queue and interrupts @t if the queue was empty
 * (mirrors __smp_call_single_queue(), 6.12). */
static void csd_queue(struct cpu *t, struct csd *csd)
{
	struct csd *old = READ_ONCE(t->call_queue);

	RACE_POINT(RP_IPI_SENT, .csd = csd, .cpu = t->id);
	do {
		csd->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&t->call_queue, &old, csd,
							memory_order_release,
							memory_order_relaxed));
	atomic_fetch_add_explicit(&stat_ipis_sent, 1, memory_order_relaxed);
	if (!old)
		send_ipi_signal(t);
}

static void count_wake(bool woken)
{
	if (woken)
		atomic_fetch_add_explicit(&stat_waits_woken, 1, memory_order_relaxed);
}

/* Waits until @t has run @csd (mirrors csd_lock_wait()): spins, then
 * sleeps on csd->locked marked CSD_LOCKED_SLEEPER, which the target's
 * exchange sees (see struct csd), taking this CPU's own IPIs meanwhile. */
static void csd_lock_wait(struct csd *csd, struct cpu *t)
{
	uint64_t start = 0, next_kick = 0;

	/* Acquire: pairs with the release in cpu_run_ipis(). */
	while (smp_load_acquire(&csd->locked)) {
		uint64_t now = monotonic_ns();
		unsigned int locked = CSD_LOCKED;

		if (!start) {
			start = now;
			next_kick = now + IPI_REKICK_NS;
		} else if (now >= next_kick) {
			send_ipi_signal(t);
			next_kick = now + IPI_REKICK_NS;
		}
		cpu_poll_ipis();
		if (now - start < WAIT_SPIN_NS) {
			cpu_relax();
			continue;
		}
		if (atomic_compare_exchange_strong_explicit(&csd->locked, &locked,
							    CSD_LOCKED_SLEEPER,
							    memory_order_relaxed,
							    memory_order_relaxed) ||
		    locked == CSD_LOCKED_SLEEPER)
			count_wake(futex_wait_ns(&csd->locked, CSD_LOCKED_SLEEPER, next_kick - now));
	}
}

static inline cpumask_t cpu_bit(int id)
{
	return (cpumask_t)1 << id;
}

/* Common checks of the IPI entry points; returns the caller's CPU bit
 * (0 for a non-CPU) through @self_bit. */
static int ipi_precheck(smp_call_func_t fn, bool wait, cpumask_t *self_bit)
{
	struct cpu *self = this_cpu;

	if (!fn)
		return -EINVAL;
	if (self && cpu_irqs_off(self))
		return -EDEADLK;
	if (!wait && !self)
		return -EPERM;
	*self_bit = self ? cpu_bit(self->id) : 0;
	return 0;
}

int smp_call_function_many(cpumask_t mask, smp_call_func_t fn, void *info,
			   bool wait)
{
	struct csd local[PTLAB_MAX_CPUS];
	struct cpu *self = this_cpu;
	cpumask_t self_bit, targets;
	int ret = ipi_precheck(fn, wait, &self_bit);

	if (ret)
		return ret;
	down_read(&cpu_hotplug_lock);
	targets = mask & READ_ONCE(online_mask) &
		  ~self_bit;
	for (int t = 0; t < PTLAB_MAX_CPUS; t++) {
		struct csd *csd;

		if (!(targets & cpu_bit(t)))
			continue;
		if (wait) {
			csd = &local[t];
		} else {
			csd = &self->cfd[t];
			csd_lock_wait(csd, &cpus[t]);
		}
		csd->func = fn;
		csd->info = info;
		WRITE_ONCE(csd->locked, CSD_LOCKED);
		csd_queue(&cpus[t], csd);
	}
	if (wait)
		for (int t = 0; t < PTLAB_MAX_CPUS; t++)
			if (targets & cpu_bit(t))
				csd_lock_wait(&local[t], &cpus[t]);
	up_read(&cpu_hotplug_lock);
	return 0;
}

int smp_call_function(smp_call_func_t fn, void *info, bool wait)
{
	return smp_call_function_many(~(cpumask_t)0, fn, info, wait);
}

int on_each_cpu_mask(cpumask_t mask, smp_call_func_t fn, void *info, bool wait)
{
	struct cpu *self = this_cpu;
	int ret = smp_call_function_many(mask, fn, info, wait);

	if (ret == 0 && self && (mask & cpu_bit(self->id))) {
		unsigned long flags = arch_local_irq_save(self);

		fn(info);
		arch_local_irq_restore(self, flags);
	}
	return ret;
}

int on_each_cpu(smp_call_func_t fn, void *info, bool wait)
{
	return on_each_cpu_mask(~(cpumask_t)0, fn, info, wait);
}

static void ipi_nop(void *info)
{
	(void)info;
}

static int membarrier_private_expedited(void)
{
	return (int)syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

/* Whether @t's section seen[t] has ended. Acquire, with the release of
 * cpu_irq_seq_end(): what the section did happens before our return. */
static bool section_ended(int t, const unsigned int *seen)
{
	return smp_load_acquire(&cpus[t].irq_seq) != seen[t];
}

/* Spins until the sections of @open ended, for at most WAIT_SPIN_NS;
 * returns the CPUs still inside theirs. */
static cpumask_t sections_spin(cpumask_t open, const unsigned int *seen)
{
	uint64_t deadline = monotonic_ns() + WAIT_SPIN_NS;

	for (;;) {
		for (int t = 0; t < PTLAB_MAX_CPUS; t++)
			if ((open & cpu_bit(t)) && section_ended(t, seen))
				open &= ~cpu_bit(t);
		if (!open || monotonic_ns() >= deadline)
			return open;
		cpu_poll_ipis();
		cpu_relax();
	}
}

/*
 * Sleeps until the sections of @open ended. Each CPU of @open is told
 * that a waiter sleeps (irq_waiters), then a second membarrier() makes
 * sure that every section end from then on sees it, or that this waiter
 * sees the end (the argument is at cpu_irq_seq_end()); the futex wait
 * sleeps only while irq_seq still shows the section seen.
 */
static void sections_sleep(cpumask_t open, const unsigned int *seen)
{
	for (int t = 0; t < PTLAB_MAX_CPUS; t++)
		if (open & cpu_bit(t))
			atomic_fetch_add_explicit(&cpus[t].irq_waiters, 1, memory_order_relaxed);
	/* Without it a wake may be missed: the sleeps below are bounded. */
	membarrier_private_expedited();
	for (int t = 0; t < PTLAB_MAX_CPUS; t++) {
		if (!(open & cpu_bit(t)))
			continue;
		while (!section_ended(t, seen)) {
			cpu_poll_ipis();
			count_wake(futex_wait_ns(&cpus[t].irq_seq, seen[t], WAIT_SLEEP_MAX_NS));
		}
		atomic_fetch_sub_explicit(&cpus[t].irq_waiters, 1, memory_order_relaxed);
	}
}

void cpu_irq_wake_waiters(struct cpu *c)
{
	futex_wake_all(&c->irq_seq);
}

int smp_wait_irqs_off_sections(cpumask_t mask)
{
	unsigned int seen[PTLAB_MAX_CPUS];
	cpumask_t self_bit, targets, open = 0;
	int ret = ipi_precheck(ipi_nop, true, &self_bit);

	if (ret)
		return ret;
	down_read(&cpu_hotplug_lock);
	targets = mask & READ_ONCE(online_mask) &
		  ~self_bit;
	if (!targets)
		goto out;
	/*
	 * A full barrier on every running thread of the process: a CPU that
	 * entered its section before its barrier shows an odd irq_seq to the
	 * loads below; one that enters later reads, in its section,
	 * everything this caller stored before the call. Without membarrier,
	 * every target gets a real IPI instead.
	 */
	if (membarrier_private_expedited()) {
		up_read(&cpu_hotplug_lock);
		return smp_call_function_many(targets, ipi_nop, NULL, true);
	}
	atomic_fetch_add_explicit(&stat_membarriers, 1, memory_order_relaxed);
	for (int t = 0; t < PTLAB_MAX_CPUS; t++) {
		if (!(targets & cpu_bit(t)))
			continue;
		/*
		 * Acquire, like every later load of the wait below (the
		 * kernel's csd_lock_wait() waits with smp_cond_load_acquire()):
		 * when the section already ended, this load is the one that
		 * sees its end, and the caller's later stores (freeing or
		 * reusing the table) must not be ordered before that section's
		 * last reads of it, which the release in cpu_irq_seq_end()
		 * orders before the end.
		 */
		seen[t] = smp_load_acquire(&cpus[t].irq_seq);
		if (seen[t] & 1)
			open |= cpu_bit(t);
	}
	/* The IPI would be taken when the section ends: wait for that. A
	 * target asleep inside its section needs no signal either, it
	 * cannot take the IPI before it turns interrupts on. */
	if (open)
		open = sections_spin(open, seen);
	if (open)
		sections_sleep(open, seen);
out:
	up_read(&cpu_hotplug_lock);
	return 0;
}

int cpu_register(void)
{
	sigset_t set;
	struct cpu *c = NULL;

	if (this_cpu)
		return -EEXIST;
	pthread_once(&ipi_once, ipi_install);
	down_write(&cpu_hotplug_lock);
	for (int i = 0; i < PTLAB_MAX_CPUS; i++) {
		if (!(slots_used & cpu_bit(i))) {
			c = &cpus[i];
			c->id = i;
			slots_used |= cpu_bit(i);
			break;
		}
	}
	if (!c) {
		up_write(&cpu_hotplug_lock);
		return -ENOSPC;
	}
	WRITE_ONCE(c->irq_seq, 0);
	WRITE_ONCE(c->call_queue, NULL);
	WRITE_ONCE(c->mm, NULL);
	WRITE_ONCE(c->pv_state, 0);
	tlb_soft_init(&c->tlb);
	c->thread = pthread_self();
	sigemptyset(&set);
	sigaddset(&set, ipi_signo);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	urcu_memb_register_thread();
	this_cpu = c;
	smp_store_release(&c->online, true);
	atomic_fetch_or_explicit(&online_mask, cpu_bit(c->id), memory_order_relaxed);
	up_write(&cpu_hotplug_lock);
	pthread_setspecific(cpu_exit_key, c);
	return c->id;
}

int cpu_unregister(void)
{
	struct cpu *c = this_cpu;

	if (!c)
		return -EPERM;
	if (cpu_irqs_off(c) || READ_ONCE(c->mm))
		return -EBUSY;
	down_write(&cpu_hotplug_lock);
	atomic_fetch_and_explicit(&online_mask, ~cpu_bit(c->id), memory_order_relaxed);
	WRITE_ONCE(c->online, false);
	/* Asynchronous requests queued before we went offline. */
	cpu_run_ipis(c);
	urcu_memb_unregister_thread();
	this_cpu = NULL;
	slots_used &= ~cpu_bit(c->id);
	up_write(&cpu_hotplug_lock);
	pthread_setspecific(cpu_exit_key, NULL);
	return 0;
}

int smp_processor_id(void)
{
	return this_cpu ? this_cpu->id : -1;
}

cpumask_t cpu_online_mask(void)
{
	return READ_ONCE(online_mask);
}

unsigned int num_online_cpus(void)
{
	return (unsigned int)__builtin_popcountll(cpu_online_mask());
}

bool irqs_disabled(void)
{
	return this_cpu && cpu_irqs_off(this_cpu);
}

unsigned long local_irq_save(void)
{
	return this_cpu ? arch_local_irq_save(this_cpu) : 0;
}

void local_irq_restore(unsigned long flags)
{
	/* Restoring "on" when interrupts are on would unbalance RCU. */
	if (irqs_disabled())
		arch_local_irq_restore(this_cpu, flags);
}

void local_irq_disable(void)
{
	(void)local_irq_save();
}

void local_irq_enable(void)
{
	local_irq_restore(0);
}

void smp_get_stats(struct smp_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	out->ipis_sent = READ_ONCE(stat_ipis_sent);
	out->signals_sent = READ_ONCE(stat_signals);
	out->membarriers = READ_ONCE(stat_membarriers);
	out->waits_woken = READ_ONCE(stat_waits_woken);
	for (int i = 0; i < PTLAB_MAX_CPUS; i++) {
		out->ipis_run += READ_ONCE(cpus[i].ipis_run);
		out->ipis_deferred += READ_ONCE(cpus[i].ipis_deferred);
	}
}
