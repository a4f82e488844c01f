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
 * The deposit list of a PMD table, in the kernel's order
 * (mm/pgtable-generic.c, and radix__pgtable_trans_huge_deposit() for the
 * in-table style): a ring of the deposited tables whose head,
 * pmd_huge_pte(), is always the table deposited last. A deposit inserts
 * the new table right after the old head and makes it the head; a withdraw
 * returns the head and makes its ring successor the new head. Deposit T1,
 * T2, T3 and withdraw three times: T3, T1, T2 (the kernel's comment says
 * FIFO; it is neither FIFO nor LIFO). Either way the first withdraw after
 * a collapse returns the table that collapse deposited, whichever huge PMD
 * under that PMD table is being zapped or split.
 *
 * The list style links the ring through the tables' struct pages
 * (page->lru); the in-table style through words 0 (next) and 1 (prev) of
 * each deposited table, holding the tables' kernel addresses, as radix
 * lays a struct list_head over the table. Both run under the PMD table's
 * lock.
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

static struct page *ring_next(struct page *t)
{
	if (machine.profile.deposit == DEPOSIT_IN_TABLE)
		return table_from_link(frame_load64(t, LINK_NEXT));
	return pfn_to_page(t->deposit_next);
}

static struct page *ring_prev(struct page *t)
{
	if (machine.profile.deposit == DEPOSIT_IN_TABLE)
		return table_from_link(frame_load64(t, LINK_PREV));
	return pfn_to_page(t->deposit_prev);
}

static void ring_set(struct page *t, struct page *next, struct page *prev)
{
	if (machine.profile.deposit == DEPOSIT_IN_TABLE) {
		frame_store64(t, LINK_NEXT, table_link_value(next));
		frame_store64(t, LINK_PREV, table_link_value(prev));
	} else {
		t->deposit_next = page_to_pfn(next);
		t->deposit_prev = page_to_pfn(prev);
	}
}

static void ring_set_next(struct page *t, struct page *next)
{
	ring_set(t, next, ring_prev(t));
}

static void ring_set_prev(struct page *t, struct page *prev)
{
	ring_set(t, ring_next(t), prev);
}

/* The detectors' mark (struct page, pt_deposit_seq); under the PMD lock. */
static void pt_seq_bump(struct page *t, unsigned int step)
{
	WRITE_ONCE(t->pt_deposit_seq, READ_ONCE(t->pt_deposit_seq) + step);
}

void pgtable_trans_huge_deposit(struct mm_struct *mm, struct pmd_slot *pmdp,
				struct page *pgtable)
{
	struct page *pmd_table = pmd_table_page(pmdp);

	lockdep_assert_held(pmd_lockptr(pmdp));
	/* In-table: from here the table holds non-PTE data (odd sequence). */
	if (machine.profile.deposit == DEPOSIT_IN_TABLE)
		pt_seq_bump(pgtable, PT_SEQ_DEPOSIT);
	if (pmd_table->pmd_huge_pte == PFN_NONE) {
		ring_set(pgtable, pgtable, pgtable);
	} else {
		/* list_add(new, head): new goes right after head. */
		struct page *head = pfn_to_page(pmd_table->pmd_huge_pte);
		struct page *next = ring_next(head);

		ring_set(pgtable, next, head);
		ring_set_prev(next, pgtable);
		ring_set_next(head, pgtable);
	}
	pmd_table->pmd_huge_pte = page_to_pfn(pgtable);
	atomic_fetch_add_explicit(&mm->nr_deposited, 1, memory_order_relaxed);
	RACE_POINT(RP_TABLE_DEPOSIT, .pmd_table = pmd_table, .pte_table = pgtable);
}

/* The head of the PMD table's ring (the table deposited last), whichever
 * huge PMD deposited it. */
struct page *pgtable_trans_huge_withdraw(struct mm_struct *mm, struct pmd_slot *pmdp)
{
	struct page *pmd_table = pmd_table_page(pmdp);
	struct page *pgtable, *next, *prev;

	lockdep_assert_held(pmd_lockptr(pmdp));
	if (pmd_table->pmd_huge_pte == PFN_NONE)
		ptlab_bug("withdraw from an empty deposit list", page_to_pfn(pmd_table));
	pgtable = pfn_to_page(pmd_table->pmd_huge_pte);
	next = ring_next(pgtable);
	prev = ring_prev(pgtable);
	if (next == pgtable) {
		pmd_table->pmd_huge_pte = PFN_NONE;
	} else {
		pmd_table->pmd_huge_pte = page_to_pfn(next);
		ring_set_next(prev, next);
		ring_set_prev(next, prev);
	}
	if (machine.profile.deposit == DEPOSIT_IN_TABLE) {
		/* The withdraw clears the two words it used. */
		frame_store64(pgtable, LINK_NEXT, 0);
		frame_store64(pgtable, LINK_PREV, 0);
		pt_seq_bump(pgtable, PT_SEQ_DEPOSIT);
	} else {
		pgtable->deposit_next = PFN_NONE;
		pgtable->deposit_prev = PFN_NONE;
	}
	atomic_fetch_sub_explicit(&mm->nr_deposited, 1, memory_order_relaxed);
	RACE_POINT(RP_TABLE_WITHDRAW, .pmd_table = pmd_table, .pte_table = pgtable);
	return pgtable;
}

/* A ring link for a check: NULL when it names no frame of the pool (a
 * corrupt ring must not send the check outside memory). */
static struct page *ring_link_checked(struct page *t, bool next)
{
	uint64_t v;

	if (machine.profile.deposit == DEPOSIT_IN_TABLE) {
		v = frame_load64(t, next ? LINK_NEXT : LINK_PREV) -
		    (uint64_t)(uintptr_t)ptlab_pool_base;
		return v < (uint64_t)ptlab_nr_frames << PAGE_SHIFT && !(v & ~PAGE_MASK)
			       ? pfn_to_page(v >> PAGE_SHIFT)
			       : NULL;
	}
	v = next ? t->deposit_next : t->deposit_prev;
	return pfn_valid(v) ? pfn_to_page(v) : NULL;
}

int pgtable_trans_huge_deposited(struct page *pmd_table, int max)
{
	struct page *head, *t;
	int n = 0;

	lockdep_assert_held(&pmd_table->ptl);
	if (pmd_table->pmd_huge_pte == PFN_NONE)
		return 0;
	if (!pfn_valid(pmd_table->pmd_huge_pte))
		return -1;
	head = t = pfn_to_page(pmd_table->pmd_huge_pte);
	do {
		struct page *next = ring_link_checked(t, true);

		if (page_type(t) != PAGE_TYPE_PGTABLE || ++n > max || !next ||
		    ring_link_checked(next, false) != t)
			return -1;
		t = next;
	} while (t != head);
	return n;
}

/* Records where each subpage of a new THP is mapped. */
void folio_add_new_anon_rmap(struct page *folio, struct mm_struct *mm,
				    uint64_t haddr)
{
	uint32_t pfn = page_to_pfn(folio);

	for (uint32_t i = 0; i < HPAGE_PMD_NR; i++) {
		struct page *p = pfn_to_page(pfn + i);

		WRITE_ONCE(p->mm_id, mm->id);
		WRITE_ONCE(p->index, haddr + ((uint64_t)i << PAGE_SHIFT));
	}
	WRITE_ONCE(folio->entire_mapcount, 1);
}

/* 0 when the PMD is (now) huge or was populated meanwhile, -ENOMEM to fall
 * back to small pages. */
int do_huge_pmd_anonymous_page(struct mm_struct *mm, struct vm_area_struct *vma,
			       struct pmd_slot *pmdp, uint64_t addr)
{
	uint64_t haddr = addr & HPAGE_PMD_MASK;
	struct page *folio, *pgtable;
	spinlock_t *ptl;

	folio = alloc_huge_page_tagged(ALLOC_PATH_THP_FAULT);
	if (!folio)
		return -ENOMEM;
	pgtable = pte_alloc_one(mm, ALLOC_PATH_DEPOSIT);
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
	RACE_POINT(RP_PMD_WRITE, .addr = haddr, .pmdp = pmdp, .pmd = pmd_val(pmdp_get(pmdp)));
	atomic_fetch_add_explicit(&mm->thp_mapped, 1, memory_order_relaxed);
	/* mm_inc_nr_ptes(): the deposited table counts as a PTE table. */
	atomic_fetch_add_explicit(&mm->nr_ptes, 1, memory_order_relaxed);
	spin_unlock(ptl);
	return 0;
}

/* mirrors zap_deposited_table(): withdraw one table and free it at once,
 * not through the gather; with the 2026 series' zap-rcu generation, after
 * a grace period (pte_free_defer()). Caller holds the PMD lock. */
static void zap_deposited_table(struct mm_struct *mm, struct pmd_slot *pmdp)
{
	struct page *pgtable = pgtable_trans_huge_withdraw(mm, pmdp);
	bool defer = machine.kernel.collapse_table == COLLAPSE_TABLE_ZAP_RCU;

	RACE_POINT(RP_ZAP_DEPOSITED_FREE, .pte_table = pgtable,
		   .how = defer ? TABLE_FREE_RCU : TABLE_FREE_DIRECT);
	if (defer)
		pte_free_defer(mm, pgtable);
	else
		pte_free(mm, pgtable);
	atomic_fetch_sub_explicit(&mm->nr_ptes, 1, memory_order_relaxed);
}

/*
 * mirrors zap_huge_pmd(): clears the huge PMD, queues the folio on the
 * gather, and withdraws one deposited table and frees it at once with
 * pte_free() (zap_deposited_table()), not through the gather: the table
 * withdrawn may be one another collapse deposited, and nothing waits for
 * walkers that may still hold it. That is the hazard of the seed.
 */
bool zap_huge_pmd(struct mmu_gather *tlb, struct mm_struct *mm,
		  struct pmd_slot *pmdp, uint64_t addr)
{
	spinlock_t *ptl = pmd_lock(pmdp);
	struct page *folio;
	pmd_t orig;

	/* __pmd_trans_huge_lock(): a split may have come first. */
	if (!pmd_trans_huge(pmdp_get(pmdp))) {
		spin_unlock(ptl);
		return false;
	}
	orig = pmdp_huge_get_and_clear(pmdp);
	RACE_POINT(RP_PMD_WRITE, .addr = addr, .pmdp = pmdp);
	folio = pfn_to_page(pmd_pfn(orig));

	tlb_flush_range_add(tlb, addr & HPAGE_PMD_MASK, HPAGE_PMD_SIZE);
	/* A file THP has no deposited table (but where
	 * arch_needs_pgtable_deposit(), powerpc hash, which ptlab's profiles
	 * do not tell: no verdict depends on it, the table deposited for a
	 * file THP being a fresh one that no walker reached). */
	if (folio_test_anon(folio))
		zap_deposited_table(mm, pmdp);
	atomic_fetch_sub_explicit(&folio->entire_mapcount, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&mm->thp_mapped, 1, memory_order_relaxed);
	spin_unlock(ptl);
	if (__tlb_remove_page(tlb, folio))
		tlb_flush_mmu(tlb);
	return true;
}

/*
 * mirrors __split_huge_pmd_locked() (6.12) for a file THP: the huge PMD
 * is cleared and flushed, and the folio loses the mapping and its
 * reference; the next fault maps PTEs. Caller holds the PMD lock.
 */
static void __split_huge_pmd_file(struct mm_struct *mm, struct pmd_slot *pmdp, uint64_t haddr)
{
	pmd_t old = pmdp_huge_get_and_clear(pmdp);
	struct page *folio = pfn_to_page(pmd_pfn(old));

	RACE_POINT(RP_PMD_WRITE, .addr = haddr, .pmdp = pmdp);
	flush_tlb_mm_range(mm, haddr, haddr + HPAGE_PMD_SIZE);
	atomic_fetch_sub_explicit(&folio->entire_mapcount, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&mm->thp_mapped, 1, memory_order_relaxed);
	put_page(folio);
}

/*
 * mirrors __split_huge_pmd() for anonymous memory: invalidate and flush
 * the huge PMD, withdraw a deposited table, fill it with the 512 subpages
 * and install it. The folio stays one compound page, now PTE-mapped: each
 * PTE holds a reference and maps one subpage. A file THP's PMD is zapped
 * instead (__split_huge_pmd_file()). Caller holds mmap_lock.
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
	if (!folio_test_anon(pfn_to_page(pmd_pfn(pmdp_get(pmdp))))) {
		__split_huge_pmd_file(mm, pmdp, haddr);
		spin_unlock(ptl);
		return;
	}
	/* pmdp_invalidate(): gone from every TLB before the PTEs appear,
	 * and never none meanwhile: a zap under mmap_lock for read that
	 * read it none would skip the PTEs about to appear. */
	old = pmdp_invalidate(pmdp);
	RACE_POINT(RP_PMD_WRITE, .addr = haddr, .pmdp = pmdp, .pmd = pmd_val(pmdp_get(pmdp)));
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
	/* Release: the filled table before the PMD that points to it. It
	 * was counted in nr_ptes while deposited and still is. */
	pmd_populate(pmdp, pgtable);
	RACE_POINT(RP_PMD_WRITE, .addr = haddr, .pmdp = pmdp, .pmd = pmd_val(pmdp_get(pmdp)));
	spin_unlock(ptl);
}
