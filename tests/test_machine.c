// SPDX-License-Identifier: MIT
/* Machine set-up, teardown accounting and bad configurations. */
#include <errno.h>

#include "machine_helpers.h"

TEST(machine_bad_config)
{
	struct ptlab_config cfg;

	CHECK_EQ(ptlab_init(NULL), -EINVAL);
	CHECK_EQ(ptlab_config_profile(&cfg, "vax"), -EINVAL);
	ptlab_config_default(&cfg);
	cfg.pool_bytes = 3 << 20;          /* not a multiple of 2 MiB */
	CHECK_EQ(ptlab_init(&cfg), -EINVAL);
	cfg.pool_bytes = 2 << 20;          /* too small */
	CHECK_EQ(ptlab_init(&cfg), -EINVAL);
	cfg.pool_bytes = 1ULL << 40;       /* too large */
	CHECK_EQ(ptlab_init(&cfg), -EINVAL);
	ptlab_config_default(&cfg);
	cfg.profile.flush = (enum tlb_flush_style)7;
	CHECK_EQ(ptlab_init(&cfg), -EINVAL);
	ptlab_config_default(&cfg);
	CHECK_EQ(ptlab_exit(NULL), -EINVAL);
	CHECK_EQ(ptlab_init(&cfg), 0);
	CHECK_EQ(ptlab_init(&cfg), -EBUSY);
	CHECK_EQ(ptlab_exit(NULL), 0);
}

TEST(machine_every_profile_boots)
{
	for (size_t i = 0; i < ptlab_profiles_count(); i++) {
		struct mm_struct *mm;
		int64_t a;
		char buf[8] = "profile";

		machine_up(ptlab_profiles()[i].name, 16);
		CHECK(ptlab_machine_config()->profile.flush == ptlab_profiles()[i].flush);
		mm = mm_create();
		CHECK(mm);
		CHECK_EQ(use_mm(mm), 0);
		a = mm_mmap(mm, 0, 4 << 20, VM_READ | VM_WRITE);
		CHECK(a > 0);
		CHECK_EQ(user_write((uint64_t)a + 5000, buf, sizeof(buf)), 0);
		CHECK_EQ(unuse_mm(), 0);
		CHECK_EQ(mm_destroy(mm), 0);
		machine_down();
	}
}

TEST(machine_teardown_finds_leaks)
{
	struct ptlab_teardown_report r;
	struct page *p;

	machine_up(NULL, 16);
	p = alloc_page(PAGE_TYPE_ANON);
	CHECK(p);
	CHECK_EQ(cpu_unregister(), 0);
	CHECK_EQ(ptlab_exit(&r), -ENOTEMPTY);
	CHECK_EQ(r.leaked_total, 1);
	CHECK_EQ(r.leaked[PAGE_TYPE_ANON], 1);
	CHECK_EQ(r.miscounted, 0);
}

/* A frame whose type disagrees with the allocator's counts (here changed
 * by hand) is found at teardown: free + in use must equal the pool. */
TEST(machine_teardown_finds_miscounts)
{
	struct ptlab_teardown_report r;
	struct page *p;

	machine_up(NULL, 16);
	p = alloc_page(PAGE_TYPE_ANON);
	CHECK(p);
	atomic_store(&p->type, PAGE_TYPE_KERNEL);
	CHECK_EQ(cpu_unregister(), 0);
	CHECK_EQ(ptlab_exit(&r), -ENOTEMPTY);
	CHECK_EQ(r.leaked_total, 1);
	CHECK_EQ(r.miscounted, 2);
}

static void *wait_stop(void *p)
{
	while (!atomic_load((atomic_int *)p))
		sleep_us(500);
	return NULL;
}

TEST(machine_exit_refuses_with_cpus)
{
	struct cpu_thread t;
	atomic_int stop = 0;

	machine_up(NULL, 16);
	cpu_thread_start(&t, wait_stop, &stop);
	CHECK_EQ(ptlab_exit(NULL), -EBUSY);
	atomic_store(&stop, 1);
	cpu_thread_join(&t);
	machine_down();
}
