/* SPDX-License-Identifier: MIT */
/*
 * Locks of the machine: the kernel's spinlock_t (page-table locks, the
 * allocator's zone lock) and rw_semaphore (mmap_lock, cpu_hotplug_lock).
 *
 * Both wait with wait_backoff(): this machine runs many more CPU threads
 * than it has cores, so a waiter first yields and then sleeps briefly
 * rather than spinning, and a waiting CPU takes its IPIs (cpu_poll_ipis())
 * so that an IPI sender holding the lock is never waited for by a CPU that
 * is itself waiting for the lock.
 *
 * Never take these with interrupts off: an IPI sender may hold the lock
 * while it waits for this CPU (as in the kernel).
 */
#ifndef PTLAB_LOCK_H
#define PTLAB_LOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ptlab/lock_types.h"

struct backoff {
	unsigned int rounds;
};
#define BACKOFF_INIT { 0 }

/* One step of a wait loop: take IPIs, then yield, and after a while sleep
 * for tens of microseconds. */
void wait_backoff(struct backoff *b);

/* A spinning waiter's pause: it lets the sibling hyperthread run and the
 * awaited store arrive (the kernel's cpu_relax()). */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/*
 * Sleeping until a 32-bit word changes (futex(2), private to the
 * process). futex_wait_ns() returns at once unless *@word == @val, checked
 * by the kernel after queueing the caller (so a futex_wake_all() after a
 * store of another value cannot be missed), and otherwise after a wake, a
 * signal, or @timeout_ns: callers re-check the word and loop. True when
 * it slept and was woken. Safe in a signal handler (a system call and
 * nothing else).
 */
bool futex_wait_ns(atomic_uint *word, unsigned int val, uint64_t timeout_ns);
void futex_wake_all(atomic_uint *word);

/* A lock identity for debug assertions: a nonzero per-thread token. */
uint32_t lock_owner_token(void);


#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock_init(spinlock_t *l)
{
	atomic_init(&l->locked, 0);
	atomic_init(&l->owner, 0);
}

static inline bool spin_trylock(spinlock_t *l)
{
	if (atomic_exchange_explicit(&l->locked, 1, memory_order_acquire))
		return false;
	atomic_store_explicit(&l->owner, lock_owner_token(), memory_order_relaxed);
	return true;
}

void spin_lock_slow(spinlock_t *l);

/* Acquire: pairs with the release in spin_unlock(). */
static inline void spin_lock(spinlock_t *l)
{
	if (!spin_trylock(l))
		spin_lock_slow(l);
}

static inline void spin_unlock(spinlock_t *l)
{
	atomic_store_explicit(&l->owner, 0, memory_order_relaxed);
	atomic_store_explicit(&l->locked, 0, memory_order_release);
}

static inline bool spin_is_held_by_me(spinlock_t *l)
{
	return atomic_load_explicit(&l->locked, memory_order_relaxed) &&
	       atomic_load_explicit(&l->owner, memory_order_relaxed) ==
		       lock_owner_token();
}

#define RWSEM_WRITER (-1L)

void init_rwsem(struct rw_semaphore *s);
void down_read(struct rw_semaphore *s);
void up_read(struct rw_semaphore *s);
void down_write(struct rw_semaphore *s);
void up_write(struct rw_semaphore *s);
/* Turns the caller's write hold into a read hold (mmap_write_downgrade()). */
void downgrade_write(struct rw_semaphore *s);
bool rwsem_is_locked(struct rw_semaphore *s);
bool rwsem_is_write_locked_by_me(struct rw_semaphore *s);

/* lockdep_assert_held()-like checks, active in debug builds (PTLAB_DEBUG,
 * set for the sanitizer builds). */
#ifdef PTLAB_DEBUG
#include <stdio.h>
#include <stdlib.h>
#define PTLAB_ASSERT(cond)                                                   \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "ptlab: assertion failed: %s at %s:%d\n", \
				#cond, __FILE__, __LINE__);                  \
			abort();                                             \
		}                                                            \
	} while (0)
#else
#define PTLAB_ASSERT(cond) ((void)0)
#endif
#define lockdep_assert_held(l) PTLAB_ASSERT(spin_is_held_by_me(l))
#define mmap_assert_locked(mm) PTLAB_ASSERT(rwsem_is_locked(&(mm)->mmap_lock))
#define mmap_assert_write_locked(mm)                                         \
	PTLAB_ASSERT(rwsem_is_write_locked_by_me(&(mm)->mmap_lock))

#endif /* PTLAB_LOCK_H */
