// SPDX-License-Identifier: MIT
/*
 * Transparent huge pages: the THP fault, zap and split of a huge PMD, and
 * the deposit of PTE tables for them (mirrors mm/huge_memory.c,
 * mm/pgtable-generic.c and powerpc's radix__pgtable_trans_huge_deposit()).
 *
 * Every huge PMD has one PTE table deposited for it on the list of the PMD
 * table it lives in, so that splitting it never needs an allocation. The
 * list and the huge PMDs are under that PMD table's lock (pmd_lock()).
 */
#include <errno.h>

#include "cpu.h"
#include "machine.h"
#include "mm_internal.h"
#include "ptlab/race.h"
#include "tlb.h"

bool vma_thp_eligible(struct vm_area_struct *vma, uint64_t haddr)
{
	return (vma->vm_flags & VM_HUGEPAGE) && haddr >= vma->vm_start &&
	       haddr + HPAGE_PMD_SIZE <= vma->vm_end;
}

/*
 * In-table deposits keep a circular doubly linked list in words 0 (next)
 * and 1 (prev) of each deposited table, holding the tables' kernel
 * addresses, as radix__pgtable_trans_huge_deposit() does with a
 * struct list_head laid over the table.
 */
#define LINK_NEXT 0
#define LINK_PREV 1

static uint64_t table_link_value(struct page *table)
{
	return (uint64_t)(uintptr_t)page_address(table);
}

static struct page *table_from_link(uint64_t v)
{
	return virt_to_page((void *)(uintptr_t)v);
}

static void intable_deposit(struct page *pmd_table, struct page *pgtable)
{
	/* From here the table holds non-PTE data (odd sequence). */
	atomic_fetch_add_explicit(&pgtable->pt_deposit_seq, 1, memory_order_release);
	if (pmd_table->pmd_huge_pte == PFN_NONE) {
		frame_store64(pgtable, LINK_NEXT, table_link_value(pgtable));
		frame_store64(pgtable, LINK_PREV, table_link_value(pgtable));
	} else {
		/* list_add(new, head): new goes right after head. */
		struct page *head = pfn_to_page(pmd_table->pmd_huge_pte);
		struct page *next = table_from_link(frame_load64(head, LINK_NEXT));

		frame_store64(pgtable, LINK_NEXT, table_link_value(next));
		frame_store64(pgtable, LINK_PREV, table_link_value(head));
		frame_store64(next, LINK_PREV, table_link_value(pgtable));
		frame_store64(head, LINK_NEXT, table_link_value(pgtable));
	}
	pmd_table->pmd_huge_pte = page_to_pfn(pgtable);
}

static struct page *intable_withdraw(struct page *pmd_table)
{
	struct page *pgtable = pfn_to_page(pmd_table->pmd_huge_pte);
	struct page *next = table_from_link(frame_load64(pgtable, LINK_NEXT));
	struct page *prev = table_from_link(frame_load64(pgtable, LINK_PREV));

	if (next == pgtable) {
		pmd_table->pmd_huge_pte = PFN_NONE;
	} else {
		pmd_table->pmd_huge_pte = page_to_pfn(next);
		frame_store64(prev, LINK_NEXT, table_link_value(next));
		frame_store64(next, LINK_PREV, table_link_value(prev));
	}
	/* The withdraw clears the two words it used. */
	frame_store64(pgtable, LINK_NEXT, 0);
	frame_store64(pgtable, LINK_PREV, 0);
	atomic_fetch_add_explicit(&pgtable->pt_deposit_seq, 1, memory_order_release);
	return pgtable;
}

/* mirrors pgtable_trans_huge_deposit() */
void pgtable_trans_huge_deposit(struct mm_struct *mm, struct pmd_slot *pmdp,
				struct page *pgtable)
{
	struct page *pmd_table = pmd_table_page(pmdp);

	lockdep_assert_held(pmd_lockptr(pmdp));
	if (machine.profile.deposit == DEPOSIT_IN_TABLE) {
		intable_deposit(pmd_table, pgtable);
	} else {
		/* LIFO through the table's struct page. */
		pgtable->deposit_next = pmd_table->pmd_huge_pte;
		pmd_table->pmd_huge_pte = page_to_pfn(pgtable);
	}
	atomic_fetch_add_explicit(&mm->nr_deposited, 1, memory_order_relaxed);
	RACE_POINT(RP_TABLE_DEPOSIT, .pmd_table = pmd_table, .pte_table = pgtable);
}

/* mirrors pgtable_trans_huge_withdraw(): the most recently deposited
 * table of this PMD table, whichever huge PMD deposited it. */
struct page *pgtable_trans_huge_withdraw(struct mm_struct *mm, struct pmd_slot *pmdp)
{
	struct page *pmd_table = pmd_table_page(pmdp);
	struct page *pgtable;

	lockdep_assert_held(pmd_lockptr(pmdp));
	if (pmd_table->pmd_huge_pte == PFN_NONE)
		ptlab_bug("withdraw from an empty deposit list", page_to_pfn(pmd_table));
	if (machine.profile.deposit == DEPOSIT_IN_TABLE) {
		pgtable = intable_withdraw(pmd_table);
	} else {
		pgtable = pfn_to_page(pmd_table->pmd_huge_pte);
		pmd_table->pmd_huge_pte = pgtable->deposit_next;
		pgtable->deposit_next = PFN_NONE;
	}
	atomic_fetch_sub_explicit(&mm->nr_deposited, 1, memory_order_relaxed);
	RACE_POINT(RP_TABLE_WITHDRAW, .pmd_table = pmd_table, .pte_table = pgtable);
	return pgtable;
}

/* Records where each subpage of a new THP is mapped. */
void folio_add_new_anon_rmap(struct page *folio, struct mm_struct *mm,
				    uint64_t haddr)
{
	uint32_t pfn = page_to_pfn(folio);

	for (uint32_t i = 0; i < HPAGE_PMD_NR; i++) {
		struct page *p = pfn_to_page(pfn + i);

		atomic_store_explicit(&p->mm_id, mm->id, memory_order_relaxed);
		atomic_store_explicit(&p->index, haddr + ((uint64_t)i << PAGE_SHIFT),
				      memory_order_relaxed);
	}
	atomic_store_explicit(&folio->entire_mapcount, 1, memory_order_relaxed);
}

/* mirrors do_huge_pmd_anonymous_page(): 0 when the PMD is (now) huge or
 * was populated meanwhile, -ENOMEM to fall back to small pages. */
int do_huge_pmd_anonymous_page(struct mm_struct *mm, struct vm_area_struct *vma,
			       struct pmd_slot *pmdp, uint64_t addr)
{
	uint64_t haddr = addr & HPAGE_PMD_MASK;
	struct page *folio, *pgtable;
	spinlock_t *ptl;

	folio = alloc_huge_page();
	if (!folio)
		return -ENOMEM;
	pgtable = pte_alloc_one(mm);
	if (!pgtable) {
		put_page(folio);
		return -ENOMEM;
	}
	folio_add_new_anon_rmap(folio, mm, haddr);
	ptl = pmd_lock(pmdp);
	if (!pmd_none(pmdp_get(pmdp))) {
		spin_unlock(ptl);
		pte_free(mm, pgtable);
		put_page(folio);
		return 0;
	}
	pgtable_trans_huge_deposit(mm, pmdp, pgtable);
	set_pmd(pmdp, mk_huge_pmd(page_to_pfn(folio), vma->vm_flags & VM_WRITE));
	atomic_fetch_add_explicit(&mm->thp_mapped, 1, memory_order_relaxed);
	spin_unlock(ptl);
	return 0;
}

/*
 * mirrors zap_huge_pmd(): clears the huge PMD, queues the folio on the
 * gather, and withdraws one deposited table and frees it at once with
 * pte_free() (zap_deposited_table()), not through the gather: the table
 * withdrawn may be one another collapse deposited, and nothing waits for
 * walkers that may still hold it. That is the hazard of the seed.
 */
void zap_huge_pmd(struct mmu_gather *tlb, struct mm_struct *mm,
		  struct pmd_slot *pmdp, uint64_t addr)
{
	spinlock_t *ptl = pmd_lock(pmdp);
	pmd_t orig = pmdp_huge_get_and_clear(pmdp);
	struct page *folio = pfn_to_page(pmd_pfn(orig));

	tlb_flush_range_add(tlb, addr & HPAGE_PMD_MASK, HPAGE_PMD_SIZE);
	pte_free(mm, pgtable_trans_huge_withdraw(mm, pmdp));
	atomic_fetch_sub_explicit(&folio->entire_mapcount, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&mm->thp_mapped, 1, memory_order_relaxed);
	spin_unlock(ptl);
	if (__tlb_remove_page(tlb, folio))
		tlb_flush_mmu(tlb);
}

/*
 * mirrors __split_huge_pmd() for anonymous memory: invalidate and flush
 * the huge PMD, withdraw a deposited table, fill it with the 512 subpages
 * and install it. The folio stays one compound page, now PTE-mapped: each
 * PTE holds a reference and maps one subpage. Caller holds mmap_lock.
 */
void __split_huge_pmd(struct mm_struct *mm, struct pmd_slot *pmdp, uint64_t addr)
{
	uint64_t haddr = addr & HPAGE_PMD_MASK;
	spinlock_t *ptl;
	struct page *folio, *pgtable;
	uint64_t prot;
	pmd_t old;

	mmap_assert_locked(mm);
	ptl = pmd_lock(pmdp);
	if (!pmd_trans_huge(pmdp_get(pmdp))) {
		spin_unlock(ptl);
		return;
	}
	/* pmdp_invalidate(): gone from every TLB before the PTEs appear. */
	old = pmdp_huge_get_and_clear(pmdp);
	flush_tlb_mm_range(mm, haddr, haddr + HPAGE_PMD_SIZE);
	folio = pfn_to_page(pmd_pfn(old));
	pgtable = pgtable_trans_huge_withdraw(mm, pmdp);
	prot = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY |
	       (pmd_write(old) ? _PAGE_RW : 0);
	atomic_fetch_add_explicit(&folio->refcount, HPAGE_PMD_NR - 1, memory_order_relaxed);
	for (uint32_t i = 0; i < HPAGE_PMD_NR; i++) {
		struct page *sub = pfn_to_page(page_to_pfn(folio) + i);

		atomic_fetch_add_explicit(&sub->mapcount, 1, memory_order_relaxed);
		set_pte((struct pte_slot *)page_address(pgtable) + i,
			pfn_pte(page_to_pfn(sub), prot));
	}
	atomic_fetch_sub_explicit(&folio->entire_mapcount, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&mm->thp_mapped, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&mm->anon_rss, HPAGE_PMD_NR, memory_order_relaxed);
	/* Release: the filled table before the PMD that points to it. */
	pmd_populate(pmdp, pgtable);
	atomic_fetch_add_explicit(&mm->nr_ptes, 1, memory_order_relaxed);
	spin_unlock(ptl);
}
