// SPDX-License-Identifier: MIT
/*
 * GUP-fast's PTE re-check, step by step: a walker stopped between its
 * PTE read and its reference while the page is zapped, freed and faulted
 * in at another address. Its get-unless-zero then succeeds (the frame is
 * a live page again, of another mapping): only the re-read of the PTE
 * (gup_fast_pte_range(), after the reference) sees that the entry no
 * longer maps it and drops the reference. Without it GUP-fast would
 * return a page that was never mapped at that address while it held it.
 *
 * On a profile whose flush broadcasts (no IPI to wait for the walker) and
 * whose tables go by RCU, so that nothing but the re-check stands between
 * the walker and the reused page; the walker waits at a race point, so
 * the test is deterministic: no timing decides it.
 */
#include <errno.h>

#include "machine_helpers.h"
#include "ptlab/page.h"
#include "ptlab/race.h"

#define BASE (1ULL << 36)
/* Page 0: the walker's; page 1 keeps the PTE table populated; pages from
 * 2 on are faulted in until one gets the freed frame back. */
#define SPARE_PAGES 64

static struct {
	struct mm_struct *mm;
	atomic_int armed;      /* the walker stops at its next PTE read */
	atomic_int stopped;    /* it has stopped there */
	atomic_int go;         /* it may go on */
	struct page *got;      /* what it returned, or NULL */
	long nr;
} env;

static void stop_after_pte_read(enum race_point rp, const struct race_ctx *ctx)
{
	int one = 1;

	if (rp != RP_GUP_FAST_PTE_READ || ctx->addr != BASE ||
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
	env.nr = get_user_pages_fast(BASE, 1, FOLL_FAST_ONLY, &p);
	env.got = env.nr == 1 ? p : NULL;
	CHECK_EQ(unuse_mm(), 0);
	return NULL;
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
	struct gup_stats before, after;
	struct page *old, *reused = NULL;
	uint64_t v = 1;

	machine_up("arm64", 16);
	CHECK(ptlab_profile_find("arm64")->flush == TLB_FLUSH_BROADCAST &&
	      ptlab_profile_find("arm64")->rcu_table_free);
	env.mm = mm_create();
	CHECK(env.mm);
	CHECK_EQ(mm_mmap(env.mm, BASE, (2 + SPARE_PAGES) * PAGE_SIZE, VM_READ | VM_WRITE),
		 (int64_t)BASE);
	CHECK_EQ(use_mm(env.mm), 0);
	CHECK_EQ(user_write(BASE, &v, 8), 0);
	CHECK_EQ(user_write(BASE + PAGE_SIZE, &v, 8), 0);
	old = page_at(BASE);
	gup_get_stats(&before);

	atomic_store(&env.armed, 1);
	atomic_store(&env.stopped, 0);
	atomic_store(&env.go, 0);
	race_hook_set(stop_after_pte_read);
	cpu_thread_start(&w, walker, NULL);
	while (!atomic_load(&env.stopped))
		sleep_us(100);
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
	atomic_store(&env.go, 1);
	cpu_thread_join(&w);
	race_hook_set(NULL);
	gup_get_stats(&after);

	/* The reference was taken on the reused page, and dropped: nothing
	 * maps it at BASE. */
	CHECK_MSG(env.nr == 0 && !env.got, "GUP-fast returned %ld page(s) for an address that "
		  "no longer maps them (the frame is mapped at another address now)", env.nr);
	CHECK_EQ(after.recheck_fail - before.recheck_fail, 1);
	CHECK_EQ(unuse_mm(), 0);
	CHECK_EQ(mm_destroy(env.mm), 0);
	machine_down();
}
