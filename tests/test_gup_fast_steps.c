// SPDX-License-Identifier: MIT
/*
 * GUP-fast step by step: a walker stopped between its read of an entry
 * and its reference while the page (a small one, or a THP mapped by a
 * huge PMD) is zapped and freed, and maybe faulted in at another address.
 * - Freed and faulted in elsewhere: the walker's get-unless-zero succeeds
 *   (the frame is a live page again, of another mapping), and only the
 *   re-read of the entry after the reference (the PTE in
 *   gup_fast_pte_range(), the PMD in gup_fast_pmd_leaf()) sees that it
 *   no longer maps the page and drops the reference. Without it GUP-fast
 *   would return a page never mapped at that address while it held it.
 * - Freed and left free: the get-unless-zero of a get or a pin refuses
 *   the count of 0 (try_get_folio()); a reference taken anyway would
 *   bring a free frame back, and its drop after the failed re-check would
 *   free it twice.
 *
 * On a profile whose flush broadcasts (no IPI to wait for the walker) and
 * whose tables go by RCU, so that nothing but these steps stands between
 * the walker and the freed page; the walker waits at a race point, so the
 * tests are deterministic: no timing decides them.
 */
#include <errno.h>

#include "machine_helpers.h"
#include "ptlab/page.h"
#include "ptlab/race.h"

#define BASE (1ULL << 36)
/* Page 0: the walker's; page 1 keeps the PTE table populated; pages from
 * 2 on are faulted in until one gets the freed frame back. */
#define SPARE_PAGES 64
/* THPs after the walker's, faulted in until one is its frames again. */
#define SPARE_THPS 8

static struct {
	struct mm_struct *mm;
	enum race_point stop_at; /* where the walker stops */
	unsigned int foll;       /* FOLL_PIN for a pin, else a get */
	atomic_int armed;      /* the walker stops at its next stop_at */
	atomic_int stopped;    /* it has stopped there */
	atomic_int go;         /* it may go on */
	struct page *got;      /* what it returned, or NULL */
	long nr;
} env;

static void stop_after_read(enum race_point rp, const struct race_ctx *ctx)
{
	int one = 1;

	if (rp != env.stop_at || ctx->addr != BASE ||
	    !atomic_compare_exchange_strong(&env.armed, &one, 0))
		return;
	atomic_store(&env.stopped, 1);
	/* Interrupts are off: the other CPU's zap and faults need none of
	 * this CPU's (a broadcast flush, RCU-freed tables). */
	while (!atomic_load(&env.go))
		sleep_us(100);
}

static void *walker(void *arg)
{
	struct page *p = NULL;

	(void)arg;
	CHECK_EQ(use_mm(env.mm), 0);
	env.nr = env.foll & FOLL_PIN ? pin_user_pages_fast(BASE, 1, FOLL_FAST_ONLY, &p)
				     : get_user_pages_fast(BASE, 1, FOLL_FAST_ONLY, &p);
	env.got = env.nr == 1 ? p : NULL;
	/* Only with a step gone: the test fails on it, and the page goes
	 * back so that the teardown's accounting stays the test's. */
	if (env.got && (env.foll & FOLL_PIN))
		unpin_user_pages(&env.got, 1);
	else if (env.got)
		put_page(env.got);
	CHECK_EQ(unuse_mm(), 0);
	return NULL;
}

/* Starts the walker at BASE and returns once it stopped at @rp. */
static void walker_start_and_stop_at(struct cpu_thread *w, enum race_point rp)
{
	env.stop_at = rp;
	atomic_store(&env.armed, 1);
	atomic_store(&env.stopped, 0);
	atomic_store(&env.go, 0);
	race_hook_set(stop_after_read);
	cpu_thread_start(w, walker, NULL);
	while (!atomic_load(&env.stopped))
		sleep_us(100);
}

/* Lets the walker go on and checks that it returned nothing, a
 * reference dropped by @rechecks failed re-checks. */
static void walker_go_and_check(struct cpu_thread *w, const struct gup_stats *before,
				unsigned long long rechecks)
{
	struct gup_stats after;

	atomic_store(&env.go, 1);
	cpu_thread_join(w);
	race_hook_set(NULL);
	gup_get_stats(&after);
	CHECK_MSG(env.nr == 0 && !env.got, "GUP-fast returned %ld page(s) for an address that "
		  "no longer maps them (the frame is mapped at another address now)", env.nr);
	CHECK_EQ(after.recheck_fail - before->recheck_fail, rechecks);
}

static void machine_up_broadcast_rcu(unsigned int pool_mib, unsigned int foll)
{
	const struct ptlab_profile *p = ptlab_profile_find("arm64");

	CHECK(p && p->flush == TLB_FLUSH_BROADCAST && p->rcu_table_free);
	machine_up("arm64", pool_mib);
	env.foll = foll;
	env.mm = mm_create();
	CHECK(env.mm);
}

/* The page mapped at @addr in the caller's mm (a reference, dropped). */
static struct page *page_at(uint64_t addr)
{
	struct page *p;

	CHECK_EQ(get_user_pages_fast(addr, 1, 0, &p), 1);
	put_page(p);
	return p;
}

TEST(gup_fast_pte_recheck_drops_a_reused_page)
{
	struct cpu_thread w;
	struct gup_stats before;
	struct page *old, *reused = NULL;
	uint64_t v = 1;

	machine_up_broadcast_rcu(16, 0);
	CHECK_EQ(mm_mmap(env.mm, BASE, (2 + SPARE_PAGES) * PAGE_SIZE, VM_READ | VM_WRITE),
		 (int64_t)BASE);
	CHECK_EQ(use_mm(env.mm), 0);
	CHECK_EQ(user_write(BASE, &v, 8), 0);
	CHECK_EQ(user_write(BASE + PAGE_SIZE, &v, 8), 0);
	old = page_at(BASE);
	gup_get_stats(&before);

	walker_start_and_stop_at(&w, RP_GUP_FAST_PTE_READ);
	/* The walker read the PTE of page 0 and took nothing yet: zap the
	 * page (it is freed after the flush, which waits for nobody) and
	 * fault pages in until one is its frame again. */
	CHECK_EQ(mm_madvise_dontneed(env.mm, BASE, PAGE_SIZE), 0);
	for (int i = 0; i < SPARE_PAGES && !reused; i++) {
		uint64_t addr = BASE + (uint64_t)(2 + i) * PAGE_SIZE;

		CHECK_EQ(user_write(addr, &v, 8), 0);
		if (page_at(addr) == old)
			reused = old;
	}
	CHECK_MSG(reused, "the freed frame did not come back within %d faults", SPARE_PAGES);
	walker_go_and_check(&w, &before, 1);
	CHECK_EQ(unuse_mm(), 0);
	CHECK_EQ(mm_destroy(env.mm), 0);
	machine_down();
}

TEST(gup_fast_pmd_leaf_recheck_drops_a_reused_thp)
{
	struct cpu_thread w;
	struct gup_stats before;
	struct page *old, *reused = NULL;
	uint64_t v = 1;

	machine_up_broadcast_rcu(64, 0);
	CHECK_EQ(mm_mmap(env.mm, BASE, (1 + SPARE_THPS) * PMD_SIZE,
			 VM_READ | VM_WRITE | VM_HUGEPAGE), (int64_t)BASE);
	CHECK_EQ(use_mm(env.mm), 0);
	/* A write fault in a VM_HUGEPAGE mapping maps a THP. */
	CHECK_EQ(user_write(BASE, &v, 8), 0);
	old = page_at(BASE);
	CHECK(folio_test_large(page_folio(old)));
	gup_get_stats(&before);

	walker_start_and_stop_at(&w, RP_GUP_FAST_PMD_READ);
	/* The walker read the huge PMD and took nothing yet: zap the THP
	 * (freed after the flush, which waits for nobody) and fault THPs in
	 * until one is its frames again. */
	CHECK_EQ(mm_madvise_dontneed(env.mm, BASE, PMD_SIZE), 0);
	for (int i = 0; i < SPARE_THPS && !reused; i++) {
		uint64_t addr = BASE + (uint64_t)(1 + i) * PMD_SIZE;

		CHECK_EQ(user_write(addr, &v, 8), 0);
		if (page_at(addr) == old)
			reused = old;
	}
	CHECK_MSG(reused, "the freed THP did not come back within %d faults", SPARE_THPS);
	walker_go_and_check(&w, &before, 1);
	CHECK_EQ(unuse_mm(), 0);
	CHECK_EQ(mm_destroy(env.mm), 0);
	machine_down();
}

TEST(gup_fast_get_and_pin_refuse_a_freed_page)
{
	static const unsigned int folls[] = { 0, FOLL_PIN };

	for (unsigned int i = 0; i < sizeof(folls) / sizeof(folls[0]); i++) {
		struct cpu_thread w;
		struct gup_stats before;
		struct page *old;
		uint64_t v = 1;

		machine_up_broadcast_rcu(16, folls[i]);
		CHECK_EQ(mm_mmap(env.mm, BASE, 2 * PAGE_SIZE, VM_READ | VM_WRITE), (int64_t)BASE);
		CHECK_EQ(use_mm(env.mm), 0);
		CHECK_EQ(user_write(BASE, &v, 8), 0);
		CHECK_EQ(user_write(BASE + PAGE_SIZE, &v, 8), 0);
		old = page_at(BASE);
		gup_get_stats(&before);

		walker_start_and_stop_at(&w, RP_GUP_FAST_PTE_READ);
		/* Zapped and freed under the walker, and left free. */
		CHECK_EQ(mm_madvise_dontneed(env.mm, BASE, PAGE_SIZE), 0);
		CHECK_EQ(page_ref_count(old), 0);
		/* The get-unless-zero refuses it: no re-check to fail. */
		walker_go_and_check(&w, &before, 0);
		CHECK_EQ(page_ref_count(old), 0);
		CHECK_EQ(unuse_mm(), 0);
		CHECK_EQ(mm_destroy(env.mm), 0);
		machine_down();
	}
}
