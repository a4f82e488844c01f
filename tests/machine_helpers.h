/* SPDX-License-Identifier: MIT */
/* Setting a machine up and down in tests, and CPU threads. */
#ifndef PTLAB_TESTS_MACHINE_HELPERS_H
#define PTLAB_TESTS_MACHINE_HELPERS_H

#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"
#include "ptlab/gup.h"
#include "ptlab/huge.h"
#include "ptlab/machine.h"
#include "ptlab/mm.h"
#include "ptlab/smp.h"
#include "ptlab/tlb.h"

/* Inits a machine with @profile (NULL: x86) and both fixes, a pool of
 * @pool_mib MiB (0: 64), and registers the calling thread as a CPU. */
void machine_up(const char *profile, unsigned int pool_mib);
/* The same with kernel generation @k (NULL: the profile's default). */
void machine_up_kernel(const char *profile, unsigned int pool_mib, const struct ptlab_kernel *k);
/* Unregisters the caller and tears down, checking every frame is back. */
void machine_down(void);

/* A new mm the calling CPU runs, and its end (unuse + destroy). */
struct mm_struct *test_mm_up(void);
void test_mm_down(struct mm_struct *mm);

/* A CPU thread running fn(arg) after cpu_register(). */
struct cpu_thread {
	pthread_t thread;
	void *(*fn)(void *);
	void *arg;
	atomic_bool started;
	int cpu;
};
void cpu_thread_start(struct cpu_thread *t, void *(*fn)(void *), void *arg);
void cpu_thread_join(struct cpu_thread *t);

/* Sleeps @us microseconds. */
void sleep_us(unsigned int us);

/* A tiny deterministic PRNG for tests. */
static inline uint64_t test_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif /* PTLAB_TESTS_MACHINE_HELPERS_H */
