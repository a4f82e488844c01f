/* SPDX-License-Identifier: MIT */
/*
 * The mmu_gather (mirrors mm/mmu_gather.c and include/asm-generic/tlb.h):
 * pages and page tables unlinked by a teardown are queued, the TLB is
 * flushed, and only then are they freed: pages at once, tables at once
 * without RCU table free, after an RCU grace period with it (and, for PMD
 * and PUD tables, at once before the flush where the architecture frees
 * them so: profile.upper_table_free).
 *
 * A gather belongs to the one thread that runs the teardown (it lives on
 * its stack); nothing in it is shared until a table batch is handed to
 * call_rcu().
 */
#ifndef PTLAB_TLB_INTERNAL_H
#define PTLAB_TLB_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <urcu/urcu-memb.h>

#include "ptlab/page.h"
#include "ptlab/race.h"
#include "ptlab/tlb.h"

struct mm_struct;

#define MMU_GATHER_BUNDLE 64

/*
 * A batch of tables waiting for a grace period (struct mmu_table_batch).
 * It lives in a pool frame of its own, allocated without waiting: when
 * that allocation fails, the table is freed through tlb_remove_table_one()
 * instead. Its words are written with atomics because a stale walker may
 * read any frame.
 */
struct mmu_table_batch {
	struct rcu_head rcu;
	/* Stored with release just before call_rcu() and loaded with
	 * acquire by the callback: the hand-off the sanitizers can see
	 * (liburcu's own queue is not instrumented). */
	atomic_int handed_off;
	atomic_uint nr;
	_Atomic uint32_t tables[];
};
#define MAX_TABLE_BATCH                                                      \
	((PAGE_SIZE - sizeof(struct mmu_table_batch)) / sizeof(uint32_t))

struct mmu_gather {
	struct mm_struct *mm;
	/* Range to flush; start > end when nothing is pending. */
	uint64_t start, end;
	/* Folios to put once flushed (one reference each); without RCU
	 * table free, unlinked tables wait here too. */
	unsigned int nr_pages;
	struct page *pages[MMU_GATHER_BUNDLE];
	/* With RCU table free: tables waiting for a grace period. */
	struct mmu_table_batch *batch;
	/* hugetlb PMD tables unshared since the last flush, and whether one
	 * of them is now used by a single process (6.19's
	 * tlb->unshared_tables, tlb->fully_unshared_tables). */
	bool unshared_tables, fully_unshared_tables;
};

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm);
/* Notes that [addr, addr+size) must be flushed (tlb_remove_tlb_entry()). */
void tlb_flush_range_add(struct mmu_gather *tlb, uint64_t addr, uint64_t size);
/*
 * Queues a folio reference to drop after the flush (__tlb_remove_page()).
 * Returns true when the gather is full: the caller must call
 * tlb_flush_mmu() once it has dropped its page-table lock.
 */
bool __tlb_remove_page(struct mmu_gather *tlb, struct page *page);
/*
 * Queues an unlinked page table on the RCU batch (tlb_remove_table(),
 * only where the architecture selects MMU_GATHER_RCU_TABLE_FREE): freed
 * after the flush and a grace period, or, when no batch page can be had,
 * through tlb_remove_table_one() at once.
 */
void tlb_remove_table(struct mmu_gather *tlb, struct page *table);
/* Queues an unlinked page table on the page batch
 * (tlb_remove_page_ptdesc()): freed right after the flush. */
void tlb_remove_page_ptdesc(struct mmu_gather *tlb, struct page *table);
/*
 * An unlinked table of each level, the way the profile's architecture
 * frees it (pte_free_tlb(), pmd_free_tlb(), pud_free_tlb(): the arch's
 * __pte_free_tlb() and friends): PTE tables by profile.rcu_table_free,
 * PMD and PUD tables by profile.upper_table_free (the RCU batch, the page
 * batch, or at once before the flush).
 */
void pte_free_tlb(struct mmu_gather *tlb, struct page *table);
void pmd_free_tlb(struct mmu_gather *tlb, struct page *table);
void pud_free_tlb(struct mmu_gather *tlb, struct page *table);
/* Flushes the TLB, then frees what is queued (tlb_flush_mmu()). */
void tlb_flush_mmu(struct mmu_gather *tlb);
/* After unsharing hugetlb PMD tables, before their lock is dropped: the
 * flush, and with the 6.19 generation one tlb_remove_table_sync_mm() if
 * a table became exclusive (tlb_flush_unshared_tables()). */
void tlb_flush_unshared_tables(struct mmu_gather *tlb);
void tlb_finish_mmu(struct mmu_gather *tlb);

/* Frees a page table whose last reference this is (__tlb_remove_table());
 * @how says which wait preceded (for the lab's race point). */
void pgtable_free(struct page *table, enum table_free_how how);

#endif /* PTLAB_TLB_INTERNAL_H */
