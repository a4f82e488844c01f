// SPDX-License-Identifier: MIT
/*
 * The consistency check of an mm: its tables against its counters
 * (mm_check_tables()). The kernel's check_mm() (kernel/fork.c) compares
 * the RSS counters and the page-table bytes with zero when an mm dies;
 * ptlab walks the tables at any time and compares every counter, every
 * deposit list and every mapped page's counts with what it finds, so that
 * a soak or a fuzzer can run it at each boundary.
 *
 * Locking: mmap_lock for write, so no fault, zap, munmap, collapse or
 * split changes a table or a counter meanwhile, and each PMD table's lock
 * around the look at its deposit list (the list's own lock). GUP-fast and
 * the hardware walker still run: they change only references and the
 * accessed and dirty bits, which the check takes as it finds them.
 * Anonymous pages are never shared between mms in ptlab (there is no
 * fork), so the mappings one mm's walk finds are all the mappings they
 * have; a file's page (shmem, hugetlb) also holds the page cache's
 * reference, and its mappings by other mms count as references beyond
 * this mm's mappings.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "machine.h"
#include "mm_internal.h"

/* Per frame, what the walk found mapping it: PTEs (saturating count) and
 * a huge PMD (THP heads). */
#define MAP_PTES 0x7f
#define MAP_PMD 0x80

struct check {
	struct mm_struct *mm;
	struct mm_check_report *r;
	uint8_t *maps;
};

__attribute__((format(printf, 2, 3)))
static void mismatch(struct check *c, const char *fmt, ...)
{
	va_list ap;

	/* The first mismatch replaces a note of an extra reference. */
	if (c->r->mismatches++)
		return;
	va_start(ap, fmt);
	vsnprintf(c->r->first, sizeof(c->r->first), fmt, ap);
	va_end(ap);
}

static void referenced(struct check *c, uint32_t pfn, int refs, long maps)
{
	if (!c->r->referenced++ && !c->r->mismatches)
		snprintf(c->r->first, sizeof(c->r->first),
			 "the page at pfn %u has %d references for %ld mappings (pinned?)", pfn,
			 refs, maps);
}

/* The page table an upper-level or PMD entry names, or NULL (a mismatch). */
static struct page *entry_table(struct check *c, uint64_t v, const char *level, uint64_t addr)
{
	if (!(v & _PAGE_PRESENT) || !pfn_valid(entry_pfn(v)) ||
	    page_type(pfn_to_page(entry_pfn(v))) != PAGE_TYPE_PGTABLE) {
		mismatch(c, "the %s entry for %#llx (%#llx) names no page table", level,
			 (unsigned long long)addr, (unsigned long long)v);
		return NULL;
	}
	return pfn_to_page(entry_pfn(v));
}

static void check_vma(struct check *c, uint64_t addr, uint64_t len)
{
	if (!vma_range_mapped(c->mm, addr, addr + len))
		mismatch(c, "a page is mapped at %#llx, where no VMA is", (unsigned long long)addr);
}

static void check_ptes(struct check *c, struct page *table, uint64_t base)
{
	for (unsigned int i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t v = frame_load64(table, i), addr = base + ((uint64_t)i << PAGE_SHIFT);
		enum page_type t;
		uint8_t *m;

		if (!v)
			continue;
		t = pfn_valid(entry_pfn(v)) ? page_type(pfn_to_page(entry_pfn(v))) : PAGE_TYPE_FREE;
		if (!(v & _PAGE_PRESENT) ||
		    (t != PAGE_TYPE_ANON && t != PAGE_TYPE_THP_HEAD && t != PAGE_TYPE_THP_TAIL)) {
			mismatch(c, "the PTE for %#llx (%#llx) maps no user page",
				 (unsigned long long)addr, (unsigned long long)v);
			continue;
		}
		if (folio_test_anon(pfn_to_page(entry_pfn(v))))
			c->r->found.anon_pages++;
		else
			c->r->found.shmem_pages++;
		check_vma(c, addr, PAGE_SIZE);
		m = &c->maps[entry_pfn(v)];
		if ((*m & MAP_PTES) < MAP_PTES)
			(*m)++;
	}
}

/* A huge PMD: a THP head, aligned, mapped by no other PMD. Returns
 * whether it is an anonymous THP's (which has a deposited table). */
static bool check_huge_pmd(struct check *c, uint64_t v, uint64_t addr)
{
	uint64_t pfn = entry_pfn(v);

	if (!pfn_valid(pfn) || pfn % HPAGE_PMD_NR ||
	    page_type(pfn_to_page(pfn)) != PAGE_TYPE_THP_HEAD) {
		mismatch(c, "the huge PMD for %#llx (%#llx) maps no huge page",
			 (unsigned long long)addr, (unsigned long long)v);
		return false;
	}
	check_vma(c, addr, HPAGE_PMD_SIZE);
	if (c->maps[pfn] & MAP_PMD)
		mismatch(c, "the huge page at pfn %llu is mapped by two PMDs",
			 (unsigned long long)pfn);
	c->maps[pfn] |= MAP_PMD;
	c->r->found.thp_mapped++;
	return folio_test_anon(pfn_to_page(pfn));
}

static void check_pmds(struct check *c, struct page *pmd_table, uint64_t base)
{
	int huge = 0, deposited;

	for (unsigned int i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t v = frame_load64(pmd_table, i), addr = base + ((uint64_t)i << PMD_SHIFT);
		struct page *table;

		if (!v)
			continue;
		if (pmd_trans_huge((pmd_t){ v })) {
			huge += check_huge_pmd(c, v, addr);
			continue;
		}
		table = entry_table(c, v, "PMD", addr);
		if (!table)
			continue;
		c->r->found.pte_tables++;
		check_ptes(c, table, addr);
	}
	spin_lock(&pmd_table->ptl);
	deposited = pgtable_trans_huge_deposited(pmd_table, PTRS_PER_TABLE);
	spin_unlock(&pmd_table->ptl);
	if (deposited < 0) {
		mismatch(c, "the deposit list of the PMD table for %#llx is broken",
			 (unsigned long long)base);
		return;
	}
	c->r->found.deposited += (uint64_t)deposited;
	/* nr_ptes counts deposited tables too (mm_inc_nr_ptes()). */
	c->r->found.pte_tables += (uint64_t)deposited;
	if (deposited != huge)
		mismatch(c, "the PMD table for %#llx has %d anonymous huge PMDs and %d deposited tables",
			 (unsigned long long)base, huge, deposited);
}

static void check_tables(struct check *c)
{
	for (unsigned int i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t pgd = frame_load64(c->mm->pgd, i), pgd_base = (uint64_t)i << PGDIR_SHIFT;
		struct page *pud_table;

		if (!pgd || !(pud_table = entry_table(c, pgd, "PGD", pgd_base)))
			continue;
		c->r->found.pud_tables++;
		for (unsigned int j = 0; j < PTRS_PER_TABLE; j++) {
			uint64_t pud = frame_load64(pud_table, j);
			uint64_t pud_base = pgd_base + ((uint64_t)j << PUD_SHIFT);
			struct page *pmd_table;

			if (!pud || !(pmd_table = entry_table(c, pud, "PUD", pud_base)))
				continue;
			c->r->found.pmd_tables++;
			check_pmds(c, pmd_table, pud_base);
		}
	}
}

/* A mapped page's counts against the mappings found: mapcount equal,
 * references at least as many (more: pins or GUP references), plus the
 * page cache's for a file's page. */
static void check_page(struct check *c, uint32_t pfn, long maps)
{
	struct page *p = pfn_to_page(pfn);
	int mapcount = atomic_load_explicit(&p->mapcount, memory_order_relaxed);

	if (!folio_test_anon(p))
		maps++;

	if (mapcount != (c->maps[pfn] & MAP_PTES))
		mismatch(c, "the page at pfn %u has mapcount %d for %d PTEs mapping it", pfn,
			 mapcount, c->maps[pfn] & MAP_PTES);
	if (page_type(p) == PAGE_TYPE_THP_TAIL)
		return;
	if (page_ref_count(p) < maps)
		mismatch(c, "the page at pfn %u has %d references for %ld mappings", pfn,
			 page_ref_count(p), maps);
	else if (page_ref_count(p) > maps ||
		 atomic_load_explicit(&p->pincount, memory_order_relaxed))
		referenced(c, pfn, page_ref_count(p), maps);
}

static void check_pages(struct check *c)
{
	for (uint32_t pfn = 0; pfn < ptlab_nr_frames; pfn++) {
		struct page *head = pfn_to_page(pfn);
		bool pmd;
		long maps = 0;

		if (page_type(head) != PAGE_TYPE_THP_HEAD) {
			if (c->maps[pfn])
				check_page(c, pfn, c->maps[pfn] & MAP_PTES);
			continue;
		}
		/* A THP: its mappings are its subpages' PTEs and its PMD. */
		pmd = c->maps[pfn] & MAP_PMD;
		for (uint32_t i = 0; i < HPAGE_PMD_NR; i++)
			maps += c->maps[pfn + i] & MAP_PTES;
		if (maps || pmd) {
			int entire = atomic_load_explicit(&head->entire_mapcount,
							  memory_order_relaxed);

			if (entire != pmd)
				mismatch(c, "the huge page at pfn %u has entire_mapcount %d for %d "
					    "PMDs mapping it", pfn, entire, pmd);
			for (uint32_t i = HPAGE_PMD_NR; i-- > 0;)
				check_page(c, pfn + i, maps + pmd);
		}
		pfn += HPAGE_PMD_NR - 1;
	}
}

/* Each counter against the walk. */
static void check_counters(struct check *c)
{
	static const struct {
		const char *name;
		size_t off;
	} counters[] = {
		{ "nr_ptes", offsetof(struct mm_stats, pte_tables) },
		{ "nr_pmds", offsetof(struct mm_stats, pmd_tables) },
		{ "nr_puds", offsetof(struct mm_stats, pud_tables) },
		{ "deposited tables", offsetof(struct mm_stats, deposited) },
		{ "anon RSS", offsetof(struct mm_stats, anon_pages) },
		{ "shmem RSS", offsetof(struct mm_stats, shmem_pages) },
		{ "huge PMDs", offsetof(struct mm_stats, thp_mapped) },
	};

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		uint64_t counted = *(uint64_t *)((char *)&c->r->counted + counters[i].off);
		uint64_t found = *(uint64_t *)((char *)&c->r->found + counters[i].off);

		if (counted != found)
			mismatch(c, "%s is %lld, but the tables hold %llu", counters[i].name,
				 (long long)counted, (unsigned long long)found);
	}
}

int mm_check_tables(struct mm_struct *mm, struct mm_check_report *out)
{
	struct check c = { .mm = mm, .r = out };
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm || !out)
		return -EINVAL;
	*out = (struct mm_check_report){ 0 };
	c.maps = calloc(ptlab_nr_frames, 1);
	if (!c.maps)
		return -ENOMEM;
	down_write(&mm->mmap_lock);
	__mm_get_stats(mm, &out->counted);
	check_tables(&c);
	check_counters(&c);
	check_pages(&c);
	up_write(&mm->mmap_lock);
	free(c.maps);
	return 0;
}
