// SPDX-License-Identifier: MIT
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "machine_helpers.h"

void machine_up_kernel(const char *profile, unsigned int pool_mib, const struct ptlab_kernel *k)
{
	struct ptlab_config cfg;

	CHECK_EQ(ptlab_config_profile(&cfg, profile ? profile : "x86"), 0);
	cfg.pool_bytes = (uint64_t)(pool_mib ? pool_mib : 64) << 20;
	if (k)
		cfg.kernel = *k;
	CHECK_EQ(ptlab_init(&cfg), 0);
	CHECK(cpu_register() >= 0);
}

void machine_up(const char *profile, unsigned int pool_mib)
{
	machine_up_kernel(profile, pool_mib, NULL);
}

void machine_down(void)
{
	struct ptlab_teardown_report r;
	int ret;

	CHECK_EQ(cpu_unregister(), 0);
	ret = ptlab_exit(&r);
	CHECK_MSG(ret == 0, "teardown: %d (%llu frames leaked: table %llu anon %llu thp %llu kernel %llu, bad refcounts %llu, miscounted %llu)",
		  ret, (unsigned long long)r.leaked_total,
		  (unsigned long long)r.leaked[PAGE_TYPE_PGTABLE],
		  (unsigned long long)r.leaked[PAGE_TYPE_ANON],
		  (unsigned long long)r.leaked[PAGE_TYPE_THP_HEAD],
		  (unsigned long long)r.leaked[PAGE_TYPE_KERNEL],
		  (unsigned long long)r.bad_refcounts, (unsigned long long)r.miscounted);
}

struct mm_struct *test_mm_up(void)
{
	struct mm_struct *mm = mm_create();

	CHECK(mm);
	CHECK_EQ(use_mm(mm), 0);
	return mm;
}

void test_mm_down(struct mm_struct *mm)
{
	CHECK_EQ(unuse_mm(), 0);
	CHECK_EQ(mm_destroy(mm), 0);
}

static void *cpu_thread_main(void *p)
{
	struct cpu_thread *t = p;
	void *ret;

	t->cpu = cpu_register();
	CHECK_MSG(t->cpu >= 0, "cpu_register: %d", t->cpu);
	atomic_store(&t->started, true);
	ret = t->fn(t->arg);
	if (current_mm())
		CHECK_EQ(unuse_mm(), 0);
	CHECK_EQ(cpu_unregister(), 0);
	return ret;
}

void cpu_thread_start(struct cpu_thread *t, void *(*fn)(void *), void *arg)
{
	t->fn = fn;
	t->arg = arg;
	atomic_store(&t->started, false);
	CHECK_EQ(pthread_create(&t->thread, NULL, cpu_thread_main, t), 0);
	while (!atomic_load(&t->started))
		sched_yield();
}

void cpu_thread_join(struct cpu_thread *t)
{
	/* Join in short sleeps, in which IPIs are taken (the thread may be
	 * waiting for this CPU). */
	while (pthread_tryjoin_np(t->thread, NULL) == EBUSY)
		sleep_us(100);
}

void sleep_us(unsigned int us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}
