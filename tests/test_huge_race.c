// SPDX-License-Identifier: MIT
/*
 * Everything at once, under the safe defaults (both fixes on) of every
 * profile: user writes, pins with writes through them, khugepaged
 * collapsing, splits, and THPs faulted and zapped under the same PMD
 * table. No write may be lost and every frame must come back.
 */
#include <errno.h>

#include "machine_helpers.h"
#include "ptlab/rule.h"

#define R_BASE (1ULL << 38)
#define R_LEN (4 * PMD_SIZE)
#define Z_BASE (R_BASE + R_LEN)
#define Z_LEN (4 * PMD_SIZE)
#define SLOTS 48

static struct {
	struct mm_struct *mm;
	atomic_int stop;
	atomic_ullong writes, pin_writes, lost, splits, zaps, pins;
} env;

static uint64_t slot_addr(int owner, int k)
{
	/* Spread over the four 2 MiB ranges, distinct words per owner. */
	return R_BASE + ((uint64_t)k * 4096 * 43) % R_LEN + (uint64_t)owner * 64;
}

static void *writer(void *arg)
{
	int owner = (int)(uintptr_t)arg;
	uint64_t round = 0;

	CHECK_EQ(use_mm(env.mm), 0);
	while (!atomic_load(&env.stop)) {
		round++;
		for (int k = 0; k < SLOTS; k++) {
			uint64_t a = slot_addr(owner, k), v = (round << 16) | (uint64_t)k, r = 0;

			CHECK_EQ(user_write(a, &v, 8), 0);
			CHECK_EQ(user_read(a, &r, 8), 0);
			if (r != v)
				atomic_fetch_add(&env.lost, 1);
			atomic_fetch_add(&env.writes, 1);
		}
	}
	return NULL;
}

static void *pinner(void *arg)
{
	int owner = (int)(uintptr_t)arg;
	uint64_t round = 0;

	CHECK_EQ(use_mm(env.mm), 0);
	while (!atomic_load(&env.stop)) {
		round++;
		for (int k = 0; k < SLOTS; k++) {
			uint64_t a = slot_addr(owner, k), v = (round << 16) | (uint64_t)k, r = 0;
			struct page *p;

			if (pin_user_pages_fast(a & PAGE_MASK, 1, FOLL_WRITE, &p) != 1)
				continue;
			atomic_fetch_add(&env.pins, 1);
			CHECK_EQ(page_write(p, a & ~PAGE_MASK, &v, 8), 0);
			unpin_user_pages_dirty_lock(&p, 1, true);
			CHECK_EQ(user_read(a, &r, 8), 0);
			if (r != v)
				atomic_fetch_add(&env.lost, 1);
			atomic_fetch_add(&env.pin_writes, 1);
		}
	}
	return NULL;
}

static void *splitter(void *arg)
{
	uint64_t seed = 99;

	(void)arg;
	while (!atomic_load(&env.stop)) {
		CHECK_EQ(split_huge_pmd_at(env.mm, R_BASE + (test_rand(&seed) % 4) * PMD_SIZE), 0);
		atomic_fetch_add(&env.splits, 1);
		sleep_us(300);
	}
	return NULL;
}

static void *zapper(void *arg)
{
	(void)arg;
	CHECK_EQ(use_mm(env.mm), 0);
	while (!atomic_load(&env.stop)) {
		CHECK_EQ(mm_mmap(env.mm, Z_BASE, Z_LEN, VM_READ | VM_WRITE | VM_HUGEPAGE),
			 (int64_t)Z_BASE);
		for (uint64_t a = Z_BASE; a < Z_BASE + Z_LEN; a += PMD_SIZE)
			CHECK_EQ(user_write(a + 8, &a, 8), 0);
		CHECK_EQ(mm_munmap(env.mm, Z_BASE, Z_LEN), 0);
		atomic_fetch_add(&env.zaps, 1);
	}
	return NULL;
}

static void everything_at_once(const char *profile, double seconds)
{
	struct khugepaged_config kcfg = { .scan_sleep_us = 500, .max_ptes_none = 0 };
	struct khugepaged_stats ks;
	struct cpu_thread t[5];
	double start;

	machine_up(profile, 96);
	env.mm = mm_create();
	CHECK(env.mm);
	atomic_store(&env.stop, 0);
	atomic_store(&env.lost, 0);
	atomic_store(&env.writes, 0);
	atomic_store(&env.pin_writes, 0);
	atomic_store(&env.pins, 0);
	atomic_store(&env.splits, 0);
	atomic_store(&env.zaps, 0);
	CHECK_EQ(use_mm(env.mm), 0);
	CHECK_EQ(mm_mmap(env.mm, R_BASE, R_LEN, VM_READ | VM_WRITE), (int64_t)R_BASE);
	CHECK_EQ(mm_populate(env.mm, R_BASE, R_LEN, true), 0);
	CHECK_EQ(mm_madvise(env.mm, R_BASE, R_LEN, MADV_HUGEPAGE), 0);
	CHECK_EQ(unuse_mm(), 0);
	CHECK_EQ(khugepaged_start(&kcfg), 0);
	cpu_thread_start(&t[0], writer, (void *)1);
	cpu_thread_start(&t[1], writer, (void *)2);
	cpu_thread_start(&t[2], pinner, (void *)3);
	cpu_thread_start(&t[3], splitter, NULL);
	cpu_thread_start(&t[4], zapper, NULL);
	start = test_now();
	while (test_now() - start < seconds)
		sleep_us(10000);
	atomic_store(&env.stop, 1);
	for (int i = 0; i < 5; i++)
		cpu_thread_join(&t[i]);
	khugepaged_stop();
	khugepaged_get_stats(&ks);
	fprintf(stderr, "    %s: %llu writes, %llu pin writes, %llu collapses, %llu splits, %llu zaps, %llu lost\n",
		profile, (unsigned long long)atomic_load(&env.writes),
		(unsigned long long)atomic_load(&env.pin_writes), ks.collapsed,
		(unsigned long long)atomic_load(&env.splits),
		(unsigned long long)atomic_load(&env.zaps),
		(unsigned long long)atomic_load(&env.lost));
	CHECK_EQ(atomic_load(&env.lost), 0);
	CHECK(atomic_load(&env.writes) > 0);
	CHECK(atomic_load(&env.pin_writes) > 0);
	CHECK(ks.collapsed > 0);
	CHECK(atomic_load(&env.zaps) > 0);
	CHECK_EQ(mm_destroy(env.mm), 0);
	machine_down();
}

/* Whether the rule calls the scenarios this test mixes (collapse, zaps,
 * munmap; GUP-fast walkers) safe on @p with both fixes: the profiles
 * whose defaults are meant to be safe for them. */
static bool safe_defaults(const struct ptlab_profile *p)
{
	static const enum scenario mixed[] = { SCENARIO_COLLAPSE_ZAP, SCENARIO_COLLAPSE_PIN,
					       SCENARIO_MUNMAP };

	for (size_t s = 0; s < sizeof(mixed) / sizeof(mixed[0]); s++)
		if (ptlab_expect(p, (struct ptlab_fixes){ true, true }, mixed[s]).unsafe)
			return false;
	return true;
}

TEST_T(huge_race_all_profiles_safe_defaults, 300)
{
	size_t ran = 0;

	for (size_t i = 0; i < ptlab_profiles_count(); i++) {
		const struct ptlab_profile *p = &ptlab_profiles()[i];

		if (!safe_defaults(p)) {
			/* The negative control, and mips64-mmid up to 6.19:
			 * nothing waits for a walker, so the rule expects lost
			 * tables, which the lab's matrix shows; nothing to run
			 * here. Only such a profile may be skipped. */
			fprintf(stderr, "    %s: unsafe by the rule even with both fixes\n", p->name);
			CHECK_MSG(!profile_flush_waits(p) && !p->rcu_table_free,
				  "%s: skipped, but it has a flush that waits or RCU table free",
				  p->name);
			continue;
		}
		everything_at_once(p->name, 0.8);
		ran++;
	}
	CHECK(ran > 0);
}
