// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cpu.h"
#include "lock.h"

/* Rounds of sched_yield() before a waiter starts sleeping. */
#define BACKOFF_YIELDS 16
/* Sleep per round after that: short enough to keep lock hand-offs fast,
 * long enough to let a descheduled holder run on a busy 2-core machine. */
#define BACKOFF_SLEEP_NS 20000

void wait_backoff(struct backoff *b)
{
	cpu_poll_ipis();
	if (b->rounds < BACKOFF_YIELDS) {
		b->rounds++;
		sched_yield();
	} else {
		struct timespec ts = { 0, BACKOFF_SLEEP_NS };

		nanosleep(&ts, NULL);
	}
}

bool futex_wait_ns(atomic_uint *word, unsigned int val, uint64_t timeout_ns)
{
	struct timespec ts = { (time_t)(timeout_ns / 1000000000ULL),
			       (long)(timeout_ns % 1000000000ULL) };

	return syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0) == 0;
}

void futex_wake_all(atomic_uint *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static atomic_uint next_token = 1;
static __thread uint32_t my_token;

uint32_t lock_owner_token(void)
{
	if (!my_token)
		my_token = atomic_fetch_add_explicit(&next_token, 1, memory_order_relaxed);
	return my_token;
}

void spin_lock_slow(spinlock_t *l)
{
	struct backoff b = BACKOFF_INIT;

	for (;;) {
		while (atomic_load_explicit(&l->locked, memory_order_relaxed))
			wait_backoff(&b);
		if (spin_trylock(l))
			return;
	}
}

void init_rwsem(struct rw_semaphore *s)
{
	atomic_init(&s->count, 0);
	atomic_init(&s->writers_waiting, 0);
	atomic_init(&s->writer, 0);
}

/* Acquire on success: pairs with the release in up_write()/up_read(). */
static bool down_read_trylock(struct rw_semaphore *s)
{
	long c = atomic_load_explicit(&s->count, memory_order_relaxed);

	if (c < 0 || atomic_load_explicit(&s->writers_waiting, memory_order_relaxed))
		return false;
	return atomic_compare_exchange_weak_explicit(&s->count, &c, c + 1,
						     memory_order_acquire,
						     memory_order_relaxed);
}

void down_read(struct rw_semaphore *s)
{
	struct backoff b = BACKOFF_INIT;

	while (!down_read_trylock(s))
		wait_backoff(&b);
}

void up_read(struct rw_semaphore *s)
{
	atomic_fetch_sub_explicit(&s->count, 1, memory_order_release);
}

void down_write(struct rw_semaphore *s)
{
	struct backoff b = BACKOFF_INIT;
	long expected = 0;

	atomic_fetch_add_explicit(&s->writers_waiting, 1, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&s->count, &expected,
						      RWSEM_WRITER,
						      memory_order_acquire,
						      memory_order_relaxed)) {
		expected = 0;
		wait_backoff(&b);
	}
	atomic_fetch_sub_explicit(&s->writers_waiting, 1, memory_order_relaxed);
	atomic_store_explicit(&s->writer, lock_owner_token(), memory_order_relaxed);
}

void up_write(struct rw_semaphore *s)
{
	atomic_store_explicit(&s->writer, 0, memory_order_relaxed);
	atomic_store_explicit(&s->count, 0, memory_order_release);
}

void downgrade_write(struct rw_semaphore *s)
{
	/* Release: what the writer did is visible to the readers it now
	 * lets in; the writer keeps one read hold. */
	atomic_store_explicit(&s->writer, 0, memory_order_relaxed);
	atomic_store_explicit(&s->count, 1, memory_order_release);
}

bool rwsem_is_locked(struct rw_semaphore *s)
{
	return atomic_load_explicit(&s->count, memory_order_relaxed) != 0;
}

bool rwsem_is_write_locked_by_me(struct rw_semaphore *s)
{
	return atomic_load_explicit(&s->count, memory_order_relaxed) == RWSEM_WRITER &&
	       atomic_load_explicit(&s->writer, memory_order_relaxed) ==
		       lock_owner_token();
}
