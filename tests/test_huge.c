// SPDX-License-Identifier: MIT
/* Transparent huge pages: collapse, refusal, split, zap, deposit styles,
 * khugepaged, and bad input. */
#include <errno.h>
#include <string.h>

#include "machine_helpers.h"
#include "mm_internal.h"

#define HBASE (1ULL << 37)

static uint64_t pattern(uint64_t addr, unsigned int round)
{
	return (addr * 0x9e3779b97f4a7c15ULL) ^ round;
}

/* Writes a word of pattern into every 512th byte of [a, a+len). */
static void fill(uint64_t a, uint64_t len, unsigned int round)
{
	for (uint64_t x = a; x < a + len; x += 512) {
		uint64_t v = pattern(x, round);

		CHECK_EQ(user_write(x, &v, 8), 0);
	}
}

static void verify(uint64_t a, uint64_t len, unsigned int round)
{
	for (uint64_t x = a; x < a + len; x += 512) {
		uint64_t v = 0;

		CHECK_EQ(user_read(x, &v, 8), 0);
		CHECK_MSG(v == pattern(x, round), "word at %#llx: %#llx, want %#llx",
			  (unsigned long long)x, (unsigned long long)v,
			  (unsigned long long)pattern(x, round));
	}
}

/* The PMD and the 512 PTE values of the range at @a (0s when huge). */
static void snapshot(struct mm_struct *mm, uint64_t a, uint64_t *pmd, uint64_t ptes[512])
{
	struct pmd_slot *pmdp = mm_find_pmd(mm, a);

	CHECK(pmdp);
	*pmd = pmd_val(pmdp_get(pmdp));
	for (int i = 0; i < 512; i++)
		ptes[i] = pmd_trans_huge((pmd_t){ *pmd }) || !*pmd
				  ? 0
				  : frame_load64(pfn_to_page(pmd_pfn((pmd_t){ *pmd })), (unsigned int)i) &
					    ~(_PAGE_ACCESSED | _PAGE_DIRTY);
}

static void collapse_keeps_bytes(const char *profile)
{
	struct mm_struct *mm;
	struct mm_stats st;

	machine_up(profile, 32);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, HBASE, 2 * PMD_SIZE, VM_READ | VM_WRITE), (int64_t)HBASE);
	fill(HBASE, 2 * PMD_SIZE, 1);
	/* Not eligible until MADV_HUGEPAGE. */
	CHECK_EQ(hpage_collapse(mm, HBASE), SCAN_VMA_CHECK);
	CHECK_EQ(mm_madvise(mm, HBASE, 2 * PMD_SIZE, MADV_HUGEPAGE), 0);
	CHECK_EQ(hpage_collapse(mm, HBASE), SCAN_SUCCEED);
	CHECK_EQ(hpage_collapse(mm, HBASE), SCAN_PMD_MAPPED);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.thp_mapped, 1);
	CHECK_EQ(st.deposited, 1);
	/* nr_ptes: the second range's table, and the deposited one. */
	CHECK_EQ(st.pte_tables, 2);
	CHECK_EQ(st.anon_pages, 512);
	verify(HBASE, 2 * PMD_SIZE, 1);
	/* Writes to the huge page land. */
	fill(HBASE, PMD_SIZE, 2);
	verify(HBASE, PMD_SIZE, 2);
	test_mm_down(mm);
	machine_down();
}

TEST(huge_collapse_keeps_every_byte_list_deposit)
{
	collapse_keeps_bytes("x86");
}

TEST(huge_collapse_keeps_every_byte_intable_deposit)
{
	collapse_keeps_bytes("ppc64-radix");
}

TEST(huge_collapse_refuses_pinned_and_restores)
{
	static uint64_t ptes0[512], ptes1[512];
	struct mm_struct *mm;
	struct page *pin;
	uint64_t pmd0, pmd1, v;

	machine_up(NULL, 32);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, HBASE, PMD_SIZE, VM_READ | VM_WRITE | VM_HUGEPAGE), (int64_t)HBASE);
	/* THP faults are taken in VM_HUGEPAGE mappings: populate first,
	 * then mark it. */
	CHECK_EQ(mm_madvise(mm, HBASE, PMD_SIZE, MADV_NOHUGEPAGE), 0);
	fill(HBASE, PMD_SIZE, 3);
	CHECK_EQ(mm_madvise(mm, HBASE, PMD_SIZE, MADV_HUGEPAGE), 0);
	CHECK_EQ(pin_user_pages_fast(HBASE + 77 * PAGE_SIZE, 1, FOLL_WRITE, &pin), 1);
	snapshot(mm, HBASE, &pmd0, ptes0);
	CHECK_EQ(hpage_collapse(mm, HBASE), SCAN_PAGE_COUNT);
	snapshot(mm, HBASE, &pmd1, ptes1);
	CHECK_EQ(pmd1, pmd0);
	CHECK(memcmp(ptes0, ptes1, sizeof(ptes0)) == 0);
	verify(HBASE, PMD_SIZE, 3);
	/* The pin still works and is still the mapped page. */
	v = 0xfeed;
	CHECK_EQ(page_write(pin, 8, &v, 8), 0);
	v = 0;
	CHECK_EQ(user_read(HBASE + 77 * PAGE_SIZE + 8, &v, 8), 0);
	CHECK_EQ(v, 0xfeed);
	unpin_user_pages(&pin, 1);
	/* Unpinned: the collapse goes through. */
	CHECK_EQ(hpage_collapse(mm, HBASE), SCAN_SUCCEED);
	v = 0;
	CHECK_EQ(user_read(HBASE + 77 * PAGE_SIZE + 8, &v, 8), 0);
	CHECK_EQ(v, 0xfeed);
	test_mm_down(mm);
	machine_down();
}

static void split_collapse_zap(const char *profile)
{
	struct mm_struct *mm;
	struct mm_stats st;
	struct page_alloc_stats ps0, ps1;

	machine_up(profile, 32);
	page_alloc_get_stats(&ps0);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, HBASE, 2 * PMD_SIZE, VM_READ | VM_WRITE | VM_HUGEPAGE), (int64_t)HBASE);
	fill(HBASE, 2 * PMD_SIZE, 4);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.thp_mapped, 2);
	CHECK_EQ(st.deposited, 2);
	CHECK_EQ(split_huge_pmd_at(mm, HBASE + 12345), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.thp_mapped, 1);
	CHECK_EQ(st.deposited, 1);
	/* nr_ptes: the split range's table (withdrawn and installed) and
	 * the table still deposited for the other THP. */
	CHECK_EQ(st.pte_tables, 2);
	CHECK_EQ(st.anon_pages, 512);
	verify(HBASE, 2 * PMD_SIZE, 4);
	fill(HBASE, PMD_SIZE, 5);
	/* A PTE-mapped THP collapses into a new THP. */
	CHECK_EQ(hpage_collapse(mm, HBASE), SCAN_SUCCEED);
	verify(HBASE, PMD_SIZE, 5);
	verify(HBASE + PMD_SIZE, PMD_SIZE, 4);
	/* Splitting a range that is not huge does nothing. */
	CHECK_EQ(split_huge_pmd_at(mm, HBASE + 2 * PMD_SIZE), 0);
	/* Unmapping half of a THP splits it first. */
	CHECK_EQ(mm_munmap(mm, HBASE + PMD_SIZE, PMD_SIZE / 2), 0);
	verify(HBASE + PMD_SIZE + PMD_SIZE / 2, PMD_SIZE / 2, 4);
	CHECK_EQ(mm_munmap(mm, HBASE, 2 * PMD_SIZE), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.thp_mapped + st.deposited + st.pte_tables + st.anon_pages, 0);
	test_mm_down(mm);
	ptlab_rcu_barrier();
	page_alloc_get_stats(&ps1);
	CHECK_EQ(ps1.nr_free, ps0.nr_free);
	machine_down();
}

TEST(huge_split_collapse_zap_round_trip_list)
{
	split_collapse_zap("x86");
}

TEST(huge_split_collapse_zap_round_trip_intable)
{
	split_collapse_zap("ppc64-radix");
}

/* Two collapses under one PMD table, then a zap at the first: the withdraw
 * takes the table the second collapse deposited (LIFO per PMD table), and
 * frees it at once. */
static void deposit_lifo(const char *profile, bool in_table)
{
	struct mm_struct *mm;
	struct page *ta, *tb;
	unsigned int gen_b;

	machine_up(profile, 32);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, HBASE, 2 * PMD_SIZE, VM_READ | VM_WRITE), (int64_t)HBASE);
	fill(HBASE, 2 * PMD_SIZE, 6);
	CHECK_EQ(mm_madvise(mm, HBASE, 2 * PMD_SIZE, MADV_HUGEPAGE), 0);
	ta = pfn_to_page(pmd_pfn(pmdp_get(mm_find_pmd(mm, HBASE))));
	tb = pfn_to_page(pmd_pfn(pmdp_get(mm_find_pmd(mm, HBASE + PMD_SIZE))));
	CHECK_EQ(hpage_collapse(mm, HBASE), SCAN_SUCCEED);
	CHECK_EQ(hpage_collapse(mm, HBASE + PMD_SIZE), SCAN_SUCCEED);
	if (in_table) {
		/* The links live in the tables' first two words. */
		CHECK(frame_load64(ta, 0) && frame_load64(ta, 1));
		CHECK(frame_load64(tb, 0) && frame_load64(tb, 1));
		CHECK(atomic_load(&ta->pt_deposit_seq) % 2 == 1);
	} else {
		CHECK_EQ(frame_load64(ta, 0), 0);
		CHECK_EQ(atomic_load(&ta->pt_deposit_seq), 0);
	}
	gen_b = page_generation(tb);
	CHECK_EQ(mm_munmap(mm, HBASE, PMD_SIZE), 0);
	CHECK(page_generation(tb) != gen_b);
	CHECK_EQ(page_type(ta), PAGE_TYPE_PGTABLE);
	if (in_table)
		CHECK(frame_load64(ta, 0) && frame_load64(ta, 1));
	/* ta now serves the huge PMD at B: splitting B withdraws it. */
	CHECK_EQ(split_huge_pmd_at(mm, HBASE + PMD_SIZE), 0);
	CHECK_EQ(pmd_pfn(pmdp_get(mm_find_pmd(mm, HBASE + PMD_SIZE))), page_to_pfn(ta));
	CHECK_EQ(atomic_load(&ta->pt_deposit_seq) % 2, 0);
	verify(HBASE + PMD_SIZE, PMD_SIZE, 6);
	test_mm_down(mm);
	machine_down();
}

TEST(huge_deposit_lifo_list)
{
	deposit_lifo("x86", false);
}

TEST(huge_deposit_lifo_intable)
{
	deposit_lifo("ppc64-radix", true);
}

TEST(huge_collapse_bad_input)
{
	static uint64_t ptes0[512], ptes1[512];
	struct mm_struct *mm;
	uint64_t pmd0, pmd1;

	machine_up(NULL, 32);
	mm = test_mm_up();
	CHECK_EQ(hpage_collapse(mm, HBASE + PAGE_SIZE), -EINVAL);
	CHECK_EQ(hpage_collapse(NULL, HBASE), -EINVAL);
	CHECK_EQ(hpage_collapse(mm, TASK_SIZE), -EINVAL);
	CHECK_EQ(split_huge_pmd_at(mm, TASK_SIZE), -EINVAL);
	CHECK_EQ(hpage_collapse(mm, HBASE), SCAN_VMA_NULL);
	/* A mapping covering half the 2 MiB range. */
	CHECK_EQ(mm_mmap(mm, HBASE, PMD_SIZE / 2, VM_READ | VM_WRITE | VM_HUGEPAGE), (int64_t)HBASE);
	CHECK_EQ(hpage_collapse(mm, HBASE), SCAN_VMA_CHECK);
	/* Eligible, but nothing populated. */
	CHECK_EQ(mm_mmap(mm, HBASE + PMD_SIZE, PMD_SIZE, VM_READ | VM_WRITE), (int64_t)(HBASE + PMD_SIZE));
	CHECK_EQ(hpage_collapse(mm, HBASE + PMD_SIZE), SCAN_VMA_CHECK);
	CHECK_EQ(mm_madvise(mm, HBASE + PMD_SIZE, PMD_SIZE, MADV_HUGEPAGE), 0);
	CHECK_EQ(hpage_collapse(mm, HBASE + PMD_SIZE), SCAN_PMD_NULL);
	/* Partly populated: refused, untouched. */
	CHECK_EQ(mm_madvise(mm, HBASE + PMD_SIZE, PMD_SIZE, MADV_NOHUGEPAGE), 0);
	fill(HBASE + PMD_SIZE, PMD_SIZE / 2, 7);
	CHECK_EQ(mm_madvise(mm, HBASE + PMD_SIZE, PMD_SIZE, MADV_HUGEPAGE), 0);
	snapshot(mm, HBASE + PMD_SIZE, &pmd0, ptes0);
	CHECK_EQ(hpage_collapse(mm, HBASE + PMD_SIZE), SCAN_EXCEED_NONE_PTE);
	snapshot(mm, HBASE + PMD_SIZE, &pmd1, ptes1);
	CHECK_EQ(pmd0, pmd1);
	CHECK(memcmp(ptes0, ptes1, sizeof(ptes0)) == 0);
	verify(HBASE + PMD_SIZE, PMD_SIZE / 2, 7);
	CHECK(strcmp(scan_result_name(SCAN_PAGE_COUNT), "?") != 0);
	CHECK(strcmp(scan_result_name((enum scan_result)99), "?") == 0);
	test_mm_down(mm);
	machine_down();
}

TEST(huge_collapse_fails_without_huge_page)
{
	struct mm_struct *mm;

	machine_up(NULL, 32);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, HBASE, PMD_SIZE, VM_READ | VM_WRITE), (int64_t)HBASE);
	fill(HBASE, PMD_SIZE, 8);
	CHECK_EQ(mm_madvise(mm, HBASE, PMD_SIZE, MADV_HUGEPAGE), 0);
	CHECK_EQ(fail_alloc_set(FAIL_ALLOC_PATH(ALLOC_PATH_THP_COLLAPSE) |
					FAIL_ALLOC_PATH(ALLOC_PATH_THP_FAULT), 1.0, 0), 0);
	CHECK_EQ(hpage_collapse(mm, HBASE), SCAN_ALLOC_HUGE_PAGE_FAIL);
	/* THP faults fall back to small pages too. */
	CHECK_EQ(mm_munmap(mm, HBASE, PMD_SIZE), 0);
	CHECK_EQ(mm_mmap(mm, HBASE, PMD_SIZE, VM_READ | VM_WRITE | VM_HUGEPAGE), (int64_t)HBASE);
	fill(HBASE, PMD_SIZE, 9);
	verify(HBASE, PMD_SIZE, 9);
	CHECK_EQ(fail_alloc_set(0, 0, 0), 0);
	CHECK_EQ(hpage_collapse(mm, HBASE), SCAN_SUCCEED);
	verify(HBASE, PMD_SIZE, 9);
	test_mm_down(mm);
	machine_down();
}

TEST(huge_khugepaged_thread)
{
	struct khugepaged_config bad = { .scan_sleep_us = 1000, .max_ptes_none = 512 };
	struct khugepaged_config cfg = { .scan_sleep_us = 1000, .max_ptes_none = 0 };
	struct khugepaged_stats ks;
	struct mm_struct *mm;
	struct mm_stats st;
	double start;

	machine_up(NULL, 32);
	CHECK_EQ(khugepaged_start(NULL), -EINVAL);
	CHECK_EQ(khugepaged_start(&bad), -EINVAL);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, HBASE, 2 * PMD_SIZE, VM_READ | VM_WRITE), (int64_t)HBASE);
	fill(HBASE, 2 * PMD_SIZE, 10);
	CHECK_EQ(khugepaged_start(&cfg), 0);
	CHECK_EQ(khugepaged_start(&cfg), -EBUSY);
	CHECK_EQ(mm_madvise(mm, HBASE, 2 * PMD_SIZE, MADV_HUGEPAGE), 0);
	start = test_now();
	do {
		sleep_us(2000);
		mm_get_stats(mm, &st);
	} while (st.thp_mapped < 2 && test_now() - start < 20);
	CHECK_EQ(st.thp_mapped, 2);
	khugepaged_get_stats(&ks);
	CHECK(ks.collapsed >= 2);
	CHECK(ks.full_scans >= 1);
	verify(HBASE, 2 * PMD_SIZE, 10);
	khugepaged_stop();
	khugepaged_stop();
	test_mm_down(mm);
	machine_down();
}
