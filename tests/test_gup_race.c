// SPDX-License-Identifier: MIT
/*
 * gup_fast racing with munmap and refaults: every page it returns must
 * have been mapped at that address in that mm during the call. Windows are
 * widened with a race hook so that a walker sits inside its section while
 * tables are freed, and the PMD re-check is off so that only the table's
 * lifetime protects it; the broadcast-norcu control shows the check fails
 * where nothing waits for walkers.
 */
#include <errno.h>

#include "machine_helpers.h"
#include "ptlab/race.h"

#define RACE_LEN (8ULL << 20)
#define RACE_BASE (1ULL << 36)

static struct {
	struct mm_struct *mm;
	atomic_int stop;
	atomic_ullong returned, bad, poisoned, cycles;
} env;

static uint64_t tag(uint64_t addr)
{
	return addr ^ 0x5a5a000000000000ULL;
}

/* Widens the window between reading the PMD and reading the PTE. */
static void widen_hook(enum race_point rp, const struct race_ctx *ctx)
{
	static __thread uint64_t seed;

	(void)ctx;
	if (rp != RP_GUP_FAST_PMD_READ)
		return;
	if (!seed)
		seed = (uint64_t)(uintptr_t)&seed | 1;
	if (test_rand(&seed) % 4 == 0)
		sleep_us(100);
}

static void *walker(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg * 7919 + 1;

	CHECK_EQ(use_mm(env.mm), 0);
	while (!atomic_load(&env.stop)) {
		uint64_t addr = RACE_BASE + (test_rand(&seed) % (RACE_LEN / PAGE_SIZE)) * PAGE_SIZE;
		struct page *p;
		uint64_t v;

		if (get_user_pages_fast(addr, 1, FOLL_FAST_ONLY, &p) != 1)
			continue;
		atomic_fetch_add(&env.returned, 1);
		/* We hold a reference: the page cannot change identity now. */
		if (page_type(p) != PAGE_TYPE_ANON ||
		    atomic_load(&p->mm_id) != mm_id(env.mm) ||
		    atomic_load(&p->index) != addr)
			atomic_fetch_add(&env.bad, 1);
		page_read(p, 0, &v, 8);
		if (v != 0 && v != tag(addr))
			atomic_fetch_add(&env.poisoned, 1);
		put_page(p);
	}
	return NULL;
}

static void remap_chunk(uint64_t addr, uint64_t len)
{
	CHECK_EQ(mm_mmap(env.mm, addr, len, VM_READ | VM_WRITE), (int64_t)addr);
}

static void refault_chunk(uint64_t addr, uint64_t len)
{
	for (uint64_t a = addr; a < addr + len; a += 4 * PAGE_SIZE) {
		uint64_t v = tag(a);

		CHECK_EQ(user_write(a, &v, 8), 0);
	}
}

static void *mutator(void *arg)
{
	uint64_t seed = 12345;

	(void)arg;
	CHECK_EQ(use_mm(env.mm), 0);
	while (!atomic_load(&env.stop)) {
		/* Unmap two chunks (of 2 MiB: their PTE tables go; of 64 KiB:
		 * pages only), map them again and fault pages back in, the
		 * first chunk first, so that freed tables come back in other
		 * places. */
		uint64_t len = test_rand(&seed) % 2 ? PMD_SIZE : 64 << 10;
		uint64_t n = RACE_LEN / len;
		uint64_t x = RACE_BASE + (test_rand(&seed) % n) * len;
		uint64_t y = RACE_BASE + ((x - RACE_BASE) / len + 1 + test_rand(&seed) % (n - 1)) % n * len;

		CHECK_EQ(mm_munmap(env.mm, x, len), 0);
		CHECK_EQ(mm_munmap(env.mm, y, len), 0);
		remap_chunk(x, len);
		remap_chunk(y, len);
		refault_chunk(x, len);
		refault_chunk(y, len);
		atomic_fetch_add(&env.cycles, 1);
	}
	return NULL;
}

static void gup_vs_munmap(const char *profile, double seconds, bool widen)
{
	struct cpu_thread w[2], m;
	double start;

	machine_up(profile, 64);
	env.mm = mm_create();
	CHECK(env.mm);
	/* Without the PMD re-check, only the table's lifetime protects the
	 * walker: the property under test. */
	ptlab_set_fixes((struct ptlab_fixes){ .pmd_recheck = false, .sync = SYNC_ALL });
	atomic_store(&env.stop, 0);
	atomic_store(&env.returned, 0);
	atomic_store(&env.bad, 0);
	atomic_store(&env.poisoned, 0);
	atomic_store(&env.cycles, 0);
	CHECK_EQ(mm_mmap(env.mm, RACE_BASE, RACE_LEN, VM_READ | VM_WRITE), (int64_t)RACE_BASE);
	for (uint64_t a = RACE_BASE; a < RACE_BASE + RACE_LEN; a += PAGE_SIZE) {
		uint64_t v = tag(a);

		CHECK_EQ(use_mm(env.mm), 0);
		CHECK_EQ(user_write(a, &v, 8), 0);
	}
	CHECK_EQ(unuse_mm(), 0);
	if (widen)
		race_hook_set(widen_hook);
	for (int i = 0; i < 2; i++)
		cpu_thread_start(&w[i], walker, (void *)(uintptr_t)(i + 1));
	cpu_thread_start(&m, mutator, NULL);
	/* The budget, stretched up to 8 times while the machine is too
	 * loaded for the evidence below (a sanitizer, other tests): what is
	 * judged is what happened, not how fast. */
	start = test_now();
	while (test_now() - start < seconds ||
	       ((atomic_load(&env.cycles) <= 10 || atomic_load(&env.returned) <= 100) &&
		test_now() - start < 8 * seconds))
		sleep_us(10000);
	atomic_store(&env.stop, 1);
	cpu_thread_join(&m);
	for (int i = 0; i < 2; i++)
		cpu_thread_join(&w[i]);
	race_hook_set(NULL);
	CHECK_EQ(mm_destroy(env.mm), 0);
	machine_down();
	fprintf(stderr, "    %s: %llu pages returned, %llu munmap cycles, %llu wrong, %llu bad data\n",
		profile, (unsigned long long)atomic_load(&env.returned),
		(unsigned long long)atomic_load(&env.cycles),
		(unsigned long long)atomic_load(&env.bad),
		(unsigned long long)atomic_load(&env.poisoned));
	CHECK(atomic_load(&env.returned) > 100);
	CHECK(atomic_load(&env.cycles) > 10);
}

TEST_T(gup_race_munmap_rcu_free_ipi, 120)
{
	gup_vs_munmap("x86", 1.5, true);
	CHECK_EQ(atomic_load(&env.bad), 0);
	CHECK_EQ(atomic_load(&env.poisoned), 0);
}

TEST_T(gup_race_munmap_nonrcu_ipi, 120)
{
	gup_vs_munmap("x86-nopv-6.0", 1.5, true);
	CHECK_EQ(atomic_load(&env.bad), 0);
	CHECK_EQ(atomic_load(&env.poisoned), 0);
}

TEST_T(gup_race_munmap_control_fails, 120)
{
	/* Nothing waits for the walkers: within a bounded number of tries,
	 * some walker returns a page that was never mapped at its address
	 * or reads freed memory. */
	for (int attempt = 0; attempt < 5; attempt++) {
		gup_vs_munmap("broadcast-norcu", 1.5, true);
		if (atomic_load(&env.bad) + atomic_load(&env.poisoned))
			return;
	}
	CHECK_MSG(0, "broadcast-norcu never showed a wrong page");
}
