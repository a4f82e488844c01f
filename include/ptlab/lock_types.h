/* SPDX-License-Identifier: MIT */
/* The lock types embedded in public structures; operations in src/lock.h. */
#ifndef PTLAB_LOCK_TYPES_H
#define PTLAB_LOCK_TYPES_H

#include <stdatomic.h>
#include <stdint.h>

/* The kernel's spinlock_t: a test-and-set lock whose waiters back off. */
typedef struct {
	atomic_int locked;
	/* Holder's thread token, for lockdep_assert_held(); written by the
	 * holder under the lock, read only for assertions. */
	_Atomic uint32_t owner;
} spinlock_t;

/*
 * The kernel's rw_semaphore, writer-preferring. count is RWSEM_WRITER when
 * a writer holds it, else the number of readers; writers_waiting holds new
 * readers off so that collapse and munmap are not starved by faults.
 */
struct rw_semaphore {
	atomic_long count;
	atomic_int writers_waiting;
	/* Writer's thread token, for assertions. */
	_Atomic uint32_t writer;
};

#endif /* PTLAB_LOCK_TYPES_H */
