// SPDX-License-Identifier: MIT
/*
 * PT_RECLAIM: freeing the PTE tables MADV_DONTNEED leaves empty (mirrors
 * mm/pt_reclaim.c, 6.14+: try_to_free_pte()). It runs under mmap_lock for
 * read, so faults and other walkers of the same table may be at it: it
 * takes the PMD lock and the table's lock (the lock those walkers take in
 * pte_offset_map_lock()), checks under them that all 512 entries are none,
 * clears the PMD, and frees the table through the mmu_gather: after the
 * TLB flush, and after an RCU grace period where the profile frees its
 * PTE tables so (rcu_table_free; the kernel's PT_RECLAIM requires
 * MMU_GATHER_RCU_TABLE_FREE).
 *
 * The kernel also has a fast path that clears the PMD with a trylock of
 * the PMD lock while zap_pte_range() still holds the PTE lock; its effect
 * on walkers is the same as this path's, which is the one ptlab keeps.
 */
#include "machine.h"
#include "mm_internal.h"
#include "ptlab/race.h"
#include "tlb.h"

void try_to_free_pte(struct mm_struct *mm, struct pmd_slot *pmdp, uint64_t addr,
		     struct mmu_gather *tlb)
{
	spinlock_t *pml = pmd_lock(pmdp), *ptl;
	pmd_t pmd = pmdp_get(pmdp);
	struct pte_slot *ptep;

	if (!pmd_present(pmd) || pmd_trans_huge(pmd) || !(ptep = pte_offset_map(pmd, 0))) {
		spin_unlock(pml);
		return;
	}
	/* Nested under the PMD lock, as pte_offset_map_rw_nolock() +
	 * spin_lock_nested(); no walker holds them the other way round. */
	ptl = pte_lockptr(pmd);
	spin_lock(ptl);
	for (unsigned int i = 0; i < PTRS_PER_TABLE; i++) {
		if (!pte_none(ptep_get(ptep + i))) {
			spin_unlock(ptl);
			spin_unlock(pml);
			return;
		}
	}
	pmd_clear(pmdp);
	RACE_POINT(RP_PMD_UNLINKED, .addr = addr, .pmd = pmd_val(pmd), .pmdp = pmdp,
		   .pmd_table = pmd_table_page(pmdp), .pte_table = pte_table_page(ptep));
	spin_unlock(ptl);
	spin_unlock(pml);
	/* free_pte(): through the gather, uncounted. */
	atomic_fetch_sub_explicit(&mm->nr_ptes, 1, memory_order_relaxed);
	tlb_flush_range_add(tlb, addr, PMD_SIZE);
	pte_free_tlb(tlb, pte_table_page(ptep));
}
