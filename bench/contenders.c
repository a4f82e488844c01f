// SPDX-License-Identifier: MIT
/*
 * The other threads of a sync benchmark: idle, busy or parked.
 *
 * The controller sets a state and then bumps a generation; each thread
 * counts itself in (acks) once it has seen that generation, and the
 * controller measures only after every thread has. Fields of a set:
 *   state  written by the controller before gen, read by the threads after
 *          their acquire load of gen;
 *   gen    bumped by the controller with release (pairs with that acquire);
 *   acks   zeroed by the controller while no thread can add to it (all
 *          have counted themselves in for the previous generation), then
 *          added to by each thread once per generation; read by the
 *          controller.
 * This is the benchmark's bookkeeping: no protocol step touches it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "util/time.h"

/* Sleep of an idle contender: short, so that it wakes often, as an idle
 * CPU takes timer interrupts; a parked one sleeps longer. */
#define IDLE_SLEEP_NS 1000000ULL
#define PARKED_SLEEP_NS 2000000ULL
/* The controller's sleep while it waits for acknowledgements, and after
 * them, so that threads that just woke up have settled on the cores. */
#define ACK_POLL_NS 50000ULL
#define SETTLE_NS 5000000ULL

#define CONTENDERS_STOP (-1)

struct contenders {
	const struct contender_flavor *flavor;
	unsigned int n;
	pthread_t *threads;
	atomic_int state;
	atomic_uint gen;
	atomic_uint acks;
};

static void *contender_main(void *arg)
{
	struct contenders *set = arg;
	unsigned int seen = 0;

	set->flavor->enter();
	for (;;) {
		unsigned int gen = atomic_load_explicit(&set->gen, memory_order_acquire);
		int state = atomic_load_explicit(&set->state, memory_order_relaxed);

		if (state == CONTENDERS_STOP)
			break;
		if (gen != seen) {
			seen = gen;
			atomic_fetch_add_explicit(&set->acks, 1, memory_order_relaxed);
		}
		if (state == CONTENDERS_BUSY) {
			set->flavor->section();
			continue;
		}
		set->flavor->sleep_begin();
		sleep_ns(state == CONTENDERS_IDLE ? IDLE_SLEEP_NS : PARKED_SLEEP_NS);
		set->flavor->sleep_end();
	}
	set->flavor->leave();
	return NULL;
}

static void contenders_command(struct contenders *set, int state)
{
	atomic_store_explicit(&set->acks, 0, memory_order_relaxed);
	atomic_store_explicit(&set->state, state, memory_order_relaxed);
	atomic_fetch_add_explicit(&set->gen, 1, memory_order_release);
}

/* Joins in short sleeps: a CPU that leaves (cpu_unregister()) may wait
 * for this thread, which takes its IPIs only between the sleeps. */
static void contenders_join(struct contenders *set, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		while (pthread_tryjoin_np(set->threads[i], NULL) == EBUSY)
			sleep_ns(100000);
}

struct contenders *contenders_start(const struct contender_flavor *flavor, unsigned int n)
{
	struct contenders *set = calloc(1, sizeof(*set));

	if (!set || !(set->threads = calloc(n, sizeof(*set->threads)))) {
		free(set);
		fprintf(stderr, "ptlab: bench: no memory for %u %s contenders\n", n,
			flavor->name);
		return NULL;
	}
	set->flavor = flavor;
	set->n = n;
	atomic_init(&set->state, CONTENDERS_PARKED);
	for (unsigned int i = 0; i < n; i++) {
		int err = pthread_create(&set->threads[i], NULL, contender_main, set);

		if (err) {
			fprintf(stderr, "ptlab: bench: cannot start %s contender %u of %u: %s\n",
				flavor->name, i + 1, n, strerror(err));
			contenders_command(set, CONTENDERS_STOP);
			contenders_join(set, i);
			free(set->threads);
			free(set);
			return NULL;
		}
	}
	return set;
}

void contenders_set(struct contenders *set, enum contender_state state)
{
	contenders_command(set, (int)state);
	while (atomic_load_explicit(&set->acks, memory_order_relaxed) < set->n)
		sleep_ns(ACK_POLL_NS);
	sleep_ns(SETTLE_NS);
}

void contenders_stop(struct contenders *set)
{
	contenders_command(set, CONTENDERS_STOP);
	contenders_join(set, set->n);
	free(set->threads);
	free(set);
}
