// SPDX-License-Identifier: MIT
/*
 * mincore(): which pages of a range are present (mirrors mm/mincore.c,
 * mincore_pte_range()). Under mmap_lock for read, through
 * pte_offset_map_lock(): one of the kernel's RCU walkers, which the lab
 * runs against PT_RECLAIM.
 */
#include <errno.h>

#include "cpu.h"
#include "machine.h"
#include "mm_internal.h"

/* One PMD range of @vec (mincore_pte_range()). */
static void mincore_pmd_range(struct mm_struct *mm, uint64_t addr, uint64_t end,
			      unsigned char *vec)
{
	struct pmd_slot *pmdp = mm_find_pmd(mm, addr);
	unsigned int n = (unsigned int)((end - addr) >> PAGE_SHIFT);
	struct pte_slot *ptep;
	spinlock_t *ptl;
	pmd_t pmd;

	pmd = pmdp ? pmdp_get_lockless(pmdp) : (pmd_t){ 0 };
	if (pmd_trans_huge(pmd)) {
		for (unsigned int i = 0; i < n; i++)
			vec[i] = 1;
		return;
	}
	ptep = pmdp ? pte_offset_map_lock(mm, pmdp, addr, &ptl) : NULL;
	for (unsigned int i = 0; i < n; i++)
		vec[i] = ptep && pte_present(ptep_get(ptep + i));
	if (ptep)
		pte_unmap_unlock(ptep, ptl);
}

int mm_mincore(struct mm_struct *mm, uint64_t addr, uint64_t len, unsigned char *vec)
{
	uint64_t end = addr + len;
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm || !vec || !user_range_ok(addr, len))
		return -EINVAL;
	down_read(&mm->mmap_lock);
	if (!vma_range_mapped(mm, addr, end)) {
		up_read(&mm->mmap_lock);
		return -EFAULT;
	}
	for (uint64_t a = addr, next; a < end; a = next) {
		next = pmd_addr_end(a, end);
		mincore_pmd_range(mm, a, next, vec + ((a - addr) >> PAGE_SHIFT));
	}
	up_read(&mm->mmap_lock);
	return 0;
}
