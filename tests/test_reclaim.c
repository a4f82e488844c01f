// SPDX-License-Identifier: MIT
/*
 * Page-table reclaim (PT_RECLAIM, 6.14+) and the RCU walkers it depends
 * on: pte_offset_map_lock() and mincore().
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "machine_helpers.h"
#include "mm_internal.h"
#include "ptlab/race.h"

#define BASE (1ULL << 34)

static void write_every(uint64_t start, uint64_t len, uint64_t step)
{
	for (uint64_t a = start; a < start + len; a += step)
		CHECK_EQ(user_write(a, &a, sizeof(a)), 0);
}

static uint64_t pte_tables(struct mm_struct *mm)
{
	struct mm_stats st;

	mm_get_stats(mm, &st);
	return st.pte_tables;
}

/* With PT_RECLAIM, MADV_DONTNEED frees the PTE tables it leaves empty,
 * and only those; a later fault brings a table back. */
TEST(reclaim_dontneed_frees_empty_tables)
{
	struct ptlab_kernel k = ptlab_kernel_default(ptlab_profile_find("x86"));
	struct mm_struct *mm;
	unsigned char vec[512];
	uint64_t v;

	k.pt_reclaim = true;
	machine_up_kernel("x86", 32, &k);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, BASE, 3 * PMD_SIZE, VM_READ | VM_WRITE), (int64_t)BASE);
	write_every(BASE, 3 * PMD_SIZE, 64 << 10);
	CHECK_EQ(pte_tables(mm), 3);
	/* A whole table's range: its pages and the table go. */
	CHECK_EQ(mm_madvise_dontneed(mm, BASE, PMD_SIZE), 0);
	CHECK_EQ(pte_tables(mm), 2);
	CHECK_EQ(mm_mincore(mm, BASE, PMD_SIZE, vec), 0);
	for (int i = 0; i < 512; i++)
		CHECK_EQ(vec[i], 0);
	/* Half of a table's range: pages remain in it, the table stays. */
	CHECK_EQ(mm_madvise_dontneed(mm, BASE + PMD_SIZE, PMD_SIZE / 2), 0);
	CHECK_EQ(pte_tables(mm), 2);
	CHECK_EQ(user_read(BASE + PMD_SIZE + PMD_SIZE / 2, &v, sizeof(v)), 0);
	CHECK_EQ(v, BASE + PMD_SIZE + PMD_SIZE / 2);
	/* The emptied range reads zeroes; the fault allocates a table. */
	CHECK_EQ(user_read(BASE, &v, sizeof(v)), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(pte_tables(mm), 3);
	test_mm_down(mm);
	machine_down();
}

/* Without PT_RECLAIM the tables stay, however empty. */
TEST(reclaim_off_keeps_tables)
{
	struct ptlab_kernel k = ptlab_kernel_default(ptlab_profile_find("x86"));
	struct mm_struct *mm;

	k.pt_reclaim = false;
	machine_up_kernel("x86", 32, &k);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, BASE, 2 * PMD_SIZE, VM_READ | VM_WRITE), (int64_t)BASE);
	write_every(BASE, 2 * PMD_SIZE, 64 << 10);
	CHECK_EQ(mm_madvise_dontneed(mm, BASE, 2 * PMD_SIZE), 0);
	CHECK_EQ(pte_tables(mm), 2);
	test_mm_down(mm);
	machine_down();
}

/* mincore(): what is present, and clear errors for bad arguments. */
TEST(mincore_reports_present_pages)
{
	struct mm_struct *mm;
	unsigned char vec[1024];
	uint64_t one = 1;

	machine_up(NULL, 16);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, BASE, 2 * PMD_SIZE, VM_READ | VM_WRITE), (int64_t)BASE);
	CHECK_EQ(user_write(BASE, &one, 1), 0);
	CHECK_EQ(user_write(BASE + 600 * PAGE_SIZE, &one, 1), 0);
	memset(vec, 7, sizeof(vec));
	CHECK_EQ(mm_mincore(mm, BASE, 2 * PMD_SIZE, vec), 0);
	for (int i = 0; i < 1024; i++)
		CHECK_MSG(vec[i] == (i == 0 || i == 600), "page %d: %u", i, vec[i]);
	CHECK_EQ(mm_mincore(NULL, BASE, PAGE_SIZE, vec), -EINVAL);
	CHECK_EQ(mm_mincore(mm, BASE, PAGE_SIZE, NULL), -EINVAL);
	CHECK_EQ(mm_mincore(mm, BASE, 0, vec), -EINVAL);
	CHECK_EQ(mm_mincore(mm, BASE + 1, PAGE_SIZE, vec), -EINVAL);
	CHECK_EQ(mm_mincore(mm, BASE + 2 * PMD_SIZE, PAGE_SIZE, vec), -EFAULT);
	CHECK_EQ(mm_mincore(mm, BASE + PMD_SIZE, 2 * PMD_SIZE, vec), -EFAULT);
	test_mm_down(mm);
	machine_down();
}

/*
 * pte_offset_map_lock()'s re-check: the walker reads the PMD, and before
 * it takes the table's lock another CPU reclaims the table. The walker
 * then locks the old table, which RCU keeps alive, sees the PMD changed,
 * retries, and finds no table: mincore() says the page is gone.
 */
static struct {
	struct mm_struct *mm;
	atomic_int pmd_reads, retries, stale_locks;
	atomic_bool armed;
	struct page *table;
} rr;
static _Thread_local bool rr_walker;

static void *reclaim_now(void *arg)
{
	(void)arg;
	CHECK_EQ(use_mm(rr.mm), 0);
	CHECK_EQ(mm_madvise_dontneed(rr.mm, BASE, PMD_SIZE), 0);
	CHECK_EQ(unuse_mm(), 0);
	return NULL;
}

static void rr_hook(enum race_point rp, const struct race_ctx *ctx)
{
	struct cpu_thread t;

	if (!rr_walker)
		return;
	if (rp == RP_PTE_MAP_PMD_READ) {
		atomic_fetch_add(&rr.pmd_reads, 1);
		if (atomic_exchange(&rr.armed, false)) {
			rr.table = ctx->pte_table;
			cpu_thread_start(&t, reclaim_now, NULL);
			cpu_thread_join(&t);
		}
	} else if (rp == RP_PTE_MAP_LOCKED && rr.table &&
		   page_type(rr.table) != PAGE_TYPE_PGTABLE) {
		atomic_fetch_add(&rr.stale_locks, 1);
	} else if (rp == RP_PTE_MAP_RETRY) {
		atomic_fetch_add(&rr.retries, 1);
	}
}

TEST(pte_offset_map_lock_retries_after_reclaim)
{
	struct ptlab_kernel k = ptlab_kernel_default(ptlab_profile_find("x86"));
	unsigned char vec[4];
	uint64_t one = 1;

	k.pt_reclaim = true;
	machine_up_kernel("x86", 16, &k);
	rr.mm = test_mm_up();
	CHECK_EQ(mm_mmap(rr.mm, BASE, PMD_SIZE, VM_READ | VM_WRITE), (int64_t)BASE);
	CHECK_EQ(user_write(BASE, &one, 1), 0);
	atomic_store(&rr.armed, true);
	rr_walker = true;
	race_hook_set(rr_hook);
	CHECK_EQ(mm_mincore(rr.mm, BASE, 4 * PAGE_SIZE, vec), 0);
	race_hook_set(NULL);
	rr_walker = false;
	CHECK_EQ(vec[0], 0);
	CHECK_EQ(atomic_load(&rr.retries), 1);
	/* RCU kept the old table a table until the walker let go. */
	CHECK_EQ(atomic_load(&rr.stale_locks), 0);
	/* The retry's PMD read found no table: no second table read. */
	CHECK_EQ(atomic_load(&rr.pmd_reads), 1);
	CHECK_EQ(pte_tables(rr.mm), 0);
	test_mm_down(rr.mm);
	machine_down();
}
