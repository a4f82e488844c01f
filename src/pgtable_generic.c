// SPDX-License-Identifier: MIT
/*
 * The PTE-table accessors of walkers that hold mmap_lock only for read
 * (a fault, MADV_DONTNEED, mincore(), khugepaged's scan), and the
 * RCU-deferred free of a single table (mirrors mm/pgtable-generic.c,
 * 6.6+: __pte_offset_map_lock(), pte_free_defer()).
 *
 * Since 6.5/6.6 a PTE table may go away under such a walker: PT_RECLAIM
 * frees the empty tables MADV_DONTNEED leaves (under mmap_lock for read
 * too), and khugepaged retracts file tables. So the walker maps the table
 * inside an RCU read-side section with interrupts ON, takes the table's
 * lock, and re-checks under the lock that the PMD still names the table
 * (pmd_same()); if not, it unlocks and tries again. Whoever clears the
 * PMD does so under that same PTE lock (and the PMD lock), so a walker
 * that passed the re-check owns a live table until it unlocks.
 *
 * Between its PMD read and the re-check the walker holds only RCU: the
 * table must not be freed and reused before a grace period. No IPI holds
 * such a walker off (its interrupts are on): a table freed right after a
 * TLB flush, or after tlb_remove_table_sync_one(), can be reused under it;
 * it then takes the lock of a frame that is no longer its table ("stale
 * lock"). That is why PT_RECLAIM depends on MMU_GATHER_RCU_TABLE_FREE.
 */
#include <errno.h>
#include <stdlib.h>

#include "cpu.h"
#include "machine.h"
#include "mm_internal.h"
#include "ptlab/race.h"
#include "tlb.h"

/* pte_offset_map_lock() with __pte_offset_map_lock() in one (6.5+) */
struct pte_slot *pte_offset_map_lock(struct mm_struct *mm, struct pmd_slot *pmdp,
				     uint64_t addr, spinlock_t **ptlp)
{
	race_hook_fn hook = race_hook_get();

	(void)mm;
	for (;;) {
		struct pte_slot *ptep;
		spinlock_t *ptl;
		pmd_t pmd;

		/* __pte_offset_map(): rcu_read_lock(), then the PMD, once. */
		urcu_memb_read_lock();
		pmd = pmdp_get_lockless(pmdp);
		if (!pmd_present(pmd) || pmd_trans_huge(pmd) || !(ptep = pte_offset_map(pmd, addr))) {
			urcu_memb_read_unlock();
			return NULL;
		}
		RACE_POINT_AT(hook, RP_PTE_MAP_PMD_READ, .addr = addr, .pmd = pmd_val(pmd),
			      .pmdp = pmdp, .pmd_table = pmd_table_page(pmdp),
			      .pte_table = pte_table_page(ptep));
		ptl = pte_lockptr(pmd);
		spin_lock(ptl);
		RACE_POINT_AT(hook, RP_PTE_MAP_LOCKED, .addr = addr, .pmd = pmd_val(pmd),
			      .pmdp = pmdp, .pte_table = pte_table_page(ptep));
		/* pmd_same(): the lock's acquire orders this load after the
		 * clearing writer's unlock (it clears under this lock). */
		if (pmd_val(pmdp_get_lockless(pmdp)) == pmd_val(pmd)) {
			*ptlp = ptl;
			return ptep;
		}
		RACE_POINT_AT(hook, RP_PTE_MAP_RETRY, .addr = addr, .pmdp = pmdp,
			      .pte_table = pte_table_page(ptep));
		pte_unmap_unlock(ptep, ptl);
	}
}

/* The lock, then the RCU read-side section. */
void pte_unmap_unlock(struct pte_slot *ptep, spinlock_t *ptl)
{
	spin_unlock(ptl);
	RACE_POINT(RP_PTE_UNMAP, .pte_table = pte_table_page(ptep));
	urcu_memb_read_unlock();
}

/*
 * pte_free_defer()'s grace period: the table waits in an RCU callback.
 * The kernel threads the callback through the table's own struct ptdesc;
 * ptlab's struct page has no room for it, so the head comes from the
 * host's heap (nothing the protocol depends on).
 */
struct deferred_table {
	struct rcu_head rcu;
	/* Written before call_rcu(), read by the callback. */
	struct page *table;
	enum table_free_how how;
	/* Stored with release just before call_rcu(), loaded with acquire
	 * by the callback: the hand-off the sanitizers can see (liburcu's
	 * own queue is not instrumented). */
	atomic_int handed_off;
};

static void deferred_table_free(struct rcu_head *head)
{
	struct deferred_table *d = (struct deferred_table *)head;

	if (!smp_load_acquire(&d->handed_off))
		ptlab_bug("deferred table freed before it was handed off", 0);
	pgtable_free(d->table, d->how);
	free(d);
}

void pgtable_free_after_grace_period(struct page *table, enum table_free_how how)
{
	struct deferred_table *d = malloc(sizeof(*d));

	RACE_POINT(RP_TABLE_GATHERED, .pte_table = table, .how = TABLE_FREE_RCU);
	RACE_POINT(RP_TABLE_RCU_HANDOFF);
	if (!d) {
		/* No room for a callback: wait for the grace period here. */
		urcu_memb_synchronize_rcu();
		pgtable_free(table, how);
		return;
	}
	d->table = table;
	d->how = how;
	smp_store_release(&d->handed_off, 1);
	urcu_memb_call_rcu(&d->rcu, deferred_table_free);
}

/* Frees @table after a grace period (6.6+), whether or not the profile
 * selects MMU_GATHER_RCU_TABLE_FREE. */
void pte_free_defer(struct mm_struct *mm, struct page *table)
{
	(void)mm;
	pgtable_free_after_grace_period(table, TABLE_FREE_RCU);
}
