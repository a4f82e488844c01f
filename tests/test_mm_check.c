// SPDX-License-Identifier: MIT
/* mm_check_tables(): an mm's tables against its counters, through every
 * kind of change; and each kind of disagreement, made by hand, is found. */
#include <errno.h>
#include <string.h>

#include "machine_helpers.h"
#include "mm_internal.h"

#define CBASE (1ULL << 38)

/* Rounds of the split race: without the fix it showed within 3000 (a
 * few hundred, mostly) on a loaded 2-core machine; sanitizer builds run
 * several times slower. */
#ifdef PTLAB_DEBUG
#define SPLIT_RACE_ROUNDS 3000
#else
#define SPLIT_RACE_ROUNDS 8000
#endif

/* Checks @mm and requires it consistent and unreferenced. */
static void check_clean(struct mm_struct *mm, struct mm_check_report *r)
{
	CHECK_EQ(mm_check_tables(mm, r), 0);
	CHECK_MSG(!r->mismatches && !r->referenced, "%llu mismatches, %llu referenced: %s",
		  (unsigned long long)r->mismatches, (unsigned long long)r->referenced, r->first);
	CHECK(memcmp(&r->counted, &r->found, sizeof(r->found)) == 0);
	CHECK_EQ(r->first[0], '\0');
}

static void touch(uint64_t a, uint64_t len)
{
	for (uint64_t x = a; x < a + len; x += PAGE_SIZE)
		CHECK_EQ(user_write(x, &x, 8), 0);
}

/* Small pages, THP faults, collapse, split, partial munmap, MADV_DONTNEED:
 * the walk agrees with the counters after each, with the figures known. */
static void consistent_through_changes(const char *profile)
{
	struct mm_check_report r;
	struct mm_struct *mm;

	machine_up(profile, 32);
	mm = test_mm_up();
	check_clean(mm, &r);
	CHECK_EQ(r.found.pud_tables + r.found.pte_tables + r.found.anon_pages, 0);
	CHECK_EQ(mm_mmap(mm, CBASE, 4 * PMD_SIZE, VM_READ | VM_WRITE), (int64_t)CBASE);
	touch(CBASE, 2 * PMD_SIZE);
	check_clean(mm, &r);
	CHECK_EQ(r.found.pud_tables, 1);
	CHECK_EQ(r.found.pmd_tables, 1);
	CHECK_EQ(r.found.pte_tables, 2);
	CHECK_EQ(r.found.anon_pages, 1024);
	CHECK_EQ(mm_madvise(mm, CBASE, 4 * PMD_SIZE, MADV_HUGEPAGE), 0);
	CHECK_EQ(hpage_collapse(mm, CBASE), SCAN_SUCCEED);
	/* A THP fault in the third range. */
	touch(CBASE + 2 * PMD_SIZE, PAGE_SIZE);
	check_clean(mm, &r);
	CHECK_EQ(r.found.thp_mapped, 2);
	CHECK_EQ(r.found.deposited, 2);
	CHECK_EQ(r.found.pte_tables, 3);
	CHECK_EQ(r.found.anon_pages, 512);
	CHECK_EQ(split_huge_pmd_at(mm, CBASE), 0);
	check_clean(mm, &r);
	CHECK_EQ(r.found.anon_pages, 1024);
	/* Half of a THP unmapped: split, and 256 of its pages gone. */
	CHECK_EQ(mm_munmap(mm, CBASE + 2 * PMD_SIZE, PMD_SIZE / 2), 0);
	check_clean(mm, &r);
	CHECK_EQ(r.found.thp_mapped, 0);
	CHECK_EQ(r.found.anon_pages, 1024 + 256);
	CHECK_EQ(mm_madvise_dontneed(mm, CBASE, PMD_SIZE), 0);
	check_clean(mm, &r);
	CHECK_EQ(r.found.anon_pages, 512 + 256);
	CHECK_EQ(mm_munmap(mm, CBASE, 4 * PMD_SIZE), 0);
	check_clean(mm, &r);
	CHECK_EQ(r.found.pte_tables + r.found.anon_pages, 0);
	test_mm_down(mm);
	machine_down();
}

TEST(mm_check_consistent_list_deposit)
{
	consistent_through_changes("arm64");
}

TEST(mm_check_consistent_intable_deposit)
{
	consistent_through_changes("ppc64-radix");
}

/* A pinned page is referenced beyond its mapping until it is unpinned. */
TEST(mm_check_finds_pins)
{
	struct mm_check_report r;
	struct mm_struct *mm;
	struct page *pg[2];

	machine_up(NULL, 32);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, CBASE, 2 * PMD_SIZE, VM_READ | VM_WRITE | VM_HUGEPAGE),
		 (int64_t)CBASE);
	touch(CBASE, PAGE_SIZE);
	CHECK_EQ(mm_munmap(mm, CBASE + PMD_SIZE, PMD_SIZE), 0);
	CHECK_EQ(mm_mmap(mm, CBASE + PMD_SIZE, PMD_SIZE, VM_READ | VM_WRITE),
		 (int64_t)(CBASE + PMD_SIZE));
	touch(CBASE + PMD_SIZE, PAGE_SIZE);
	/* One pin on the THP, one on a small page. */
	CHECK_EQ(pin_user_pages_fast(CBASE + 8 * PAGE_SIZE, 1, FOLL_WRITE, &pg[0]), 1);
	CHECK_EQ(pin_user_pages_fast(CBASE + PMD_SIZE, 1, FOLL_WRITE, &pg[1]), 1);
	CHECK_EQ(mm_check_tables(mm, &r), 0);
	CHECK_EQ(r.mismatches, 0);
	CHECK_EQ(r.referenced, 2);
	CHECK_MSG(strstr(r.first, "references for 1 mappings"), "%s", r.first);
	unpin_user_pages(pg, 2);
	check_clean(mm, &r);
	test_mm_down(mm);
	machine_down();
}

/* Each kind of disagreement, made by hand and undone: found and named. */
TEST(mm_check_finds_mismatches)
{
	struct mm_check_report r;
	struct mm_struct *mm;
	struct pmd_slot *pmdp;
	struct page *pmd_table, *page;
	uint32_t head;

	machine_up(NULL, 32);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, CBASE, 2 * PMD_SIZE, VM_READ | VM_WRITE), (int64_t)CBASE);
	touch(CBASE, 2 * PAGE_SIZE);
	CHECK_EQ(mm_madvise(mm, CBASE + PMD_SIZE, PMD_SIZE, MADV_HUGEPAGE), 0);
	touch(CBASE + PMD_SIZE, PAGE_SIZE);
	check_clean(mm, &r);

	atomic_fetch_add(&mm->anon_rss, 1);
	CHECK_EQ(mm_check_tables(mm, &r), 0);
	CHECK_EQ(r.mismatches, 1);
	CHECK_MSG(strstr(r.first, "anon RSS is 3, but the tables hold 2"), "%s", r.first);
	atomic_fetch_sub(&mm->anon_rss, 1);

	atomic_fetch_sub(&mm->nr_ptes, 1);
	CHECK_EQ(mm_check_tables(mm, &r), 0);
	CHECK_MSG(r.mismatches == 1 && strstr(r.first, "nr_ptes is 1, but the tables hold 2"),
		  "%s", r.first);
	atomic_fetch_add(&mm->nr_ptes, 1);

	/* A mapcount that is not the number of PTEs. */
	CHECK_EQ(pin_user_pages_fast(CBASE, 1, 0, &page), 1);
	atomic_fetch_add(&page->mapcount, 1);
	CHECK_EQ(mm_check_tables(mm, &r), 0);
	CHECK_MSG(r.mismatches >= 1 && strstr(r.first, "mapcount 2 for 1 PTEs"), "%s", r.first);
	CHECK_EQ(r.referenced, 1);
	atomic_fetch_sub(&page->mapcount, 1);
	unpin_user_pages(&page, 1);

	/* The deposit list broken: its head named away from the table. */
	pmdp = mm_find_pmd(mm, CBASE);
	pmd_table = pmd_table_page(pmdp);
	head = pmd_table->pmd_huge_pte;
	CHECK(head != PFN_NONE);
	pmd_table->pmd_huge_pte = PFN_NONE;
	CHECK_EQ(mm_check_tables(mm, &r), 0);
	CHECK_MSG(strstr(r.first, "has 1 anonymous huge PMDs and 0 deposited tables"), "%s", r.first);
	pmd_table->pmd_huge_pte = page_to_pfn(pmd_table);
	CHECK_EQ(mm_check_tables(mm, &r), 0);
	CHECK_MSG(strstr(r.first, "deposit list of the PMD table for") && strstr(r.first, "broken"),
		  "%s", r.first);
	pmd_table->pmd_huge_pte = head;

	/* A page mapped where no VMA is: the VMA shrunk by hand. */
	mm->vmas[0].vm_start += PAGE_SIZE;
	CHECK_EQ(mm_check_tables(mm, &r), 0);
	CHECK_MSG(strstr(r.first, "where no VMA is"), "%s", r.first);
	mm->vmas[0].vm_start -= PAGE_SIZE;

	check_clean(mm, &r);
	test_mm_down(mm);
	machine_down();
}

static void *not_a_cpu(void *arg)
{
	struct mm_check_report r;

	*(int *)arg = mm_check_tables(current_mm(), &r);
	return NULL;
}

TEST(mm_check_bad_input)
{
	struct mm_check_report r;
	struct mm_struct *mm;
	unsigned long flags;
	pthread_t t;
	int ret = 0;

	machine_up(NULL, 16);
	mm = test_mm_up();
	CHECK_EQ(mm_check_tables(NULL, &r), -EINVAL);
	CHECK_EQ(mm_check_tables(mm, NULL), -EINVAL);
	flags = local_irq_save();
	ret = mm_check_tables(mm, &r);
	local_irq_restore(flags);
	CHECK_EQ(ret, -EPERM);
	CHECK_EQ(pthread_create(&t, NULL, not_a_cpu, &ret), 0);
	pthread_join(t, NULL);
	CHECK_EQ(ret, -EPERM);
	test_mm_down(mm);
	machine_down();
}

struct split_loop {
	struct mm_struct *mm;
	atomic_bool stop;
};

static void *split_loop(void *arg)
{
	struct split_loop *s = arg;

	while (!atomic_load(&s->stop))
		CHECK_EQ(split_huge_pmd_at(s->mm, CBASE), 0);
	return NULL;
}

/*
 * A split runs under mmap_lock for read, as MADV_DONTNEED's zap does (and
 * munmap's, after its downgrade): the zap must never read the PMD of a
 * huge page being split as empty and skip it (the kernel's split leaves
 * it invalid, never none: pmdp_invalidate()), or the split's 512 PTEs
 * survive the zap. The checker counts what is left.
 */
TEST_T(mm_check_split_racing_zap, 300)
{
	struct split_loop s = { 0 };
	struct mm_check_report r;
	struct cpu_thread t;
	char c = 1;

	machine_up(NULL, 32);
	s.mm = test_mm_up();
	cpu_thread_start(&t, split_loop, &s);
	/* A fresh huge page each round: munmap frees the table a split
	 * leaves. */
	for (int i = 0; i < SPLIT_RACE_ROUNDS; i++) {
		CHECK_EQ(mm_mmap(s.mm, CBASE, PMD_SIZE, VM_READ | VM_WRITE | VM_HUGEPAGE),
			 (int64_t)CBASE);
		CHECK_EQ(user_write(CBASE, &c, 1), 0);
		CHECK_EQ(mm_madvise_dontneed(s.mm, CBASE, PMD_SIZE), 0);
		CHECK_EQ(mm_check_tables(s.mm, &r), 0);
		CHECK_MSG(!r.mismatches, "round %d: %s", i, r.first);
		CHECK_MSG(!r.found.anon_pages && !r.found.thp_mapped,
			  "round %d: %llu pages and %llu huge pages survived MADV_DONTNEED", i,
			  (unsigned long long)r.found.anon_pages,
			  (unsigned long long)r.found.thp_mapped);
		CHECK_EQ(mm_munmap(s.mm, CBASE, PMD_SIZE), 0);
	}
	atomic_store(&s.stop, true);
	cpu_thread_join(&t);
	test_mm_down(s.mm);
	machine_down();
}
