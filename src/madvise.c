// SPDX-License-Identifier: MIT
/*
 * madvise(): MADV_HUGEPAGE / MADV_NOHUGEPAGE change VMA flags under
 * mmap_lock for write; MADV_DONTNEED zaps under mmap_lock for read and,
 * with PT_RECLAIM, frees the PTE tables it leaves empty (mirrors
 * mm/madvise.c: madvise_vma_behavior(), madvise_dontneed_single_vma()).
 */
#include <errno.h>

#include "khugepaged.h"
#include "machine.h"
#include "mm_internal.h"
#include "tlb.h"

int mm_madvise(struct mm_struct *mm, uint64_t addr, uint64_t len, int advice)
{
	uint64_t end = addr + len;
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (advice == MADV_DONTNEED)
		return mm_madvise_dontneed(mm, addr, len);
	if (!mm || !user_range_ok(addr, len) ||
	    (advice != MADV_HUGEPAGE && advice != MADV_NOHUGEPAGE))
		return -EINVAL;
	down_write(&mm->mmap_lock);
	/* The range must be mapped without holes. */
	if (!vma_range_mapped(mm, addr, end)) {
		ret = -EFAULT;
		goto out;
	}
	ret = vma_split_at(mm, addr);
	if (!ret)
		ret = vma_split_at(mm, end);
	if (ret)
		goto out;
	for (int i = vma_index(mm, addr); i < mm->nr_vmas && mm->vmas[i].vm_start < end; i++) {
		/* THP advice means nothing to a hugetlb mapping, nor to a
		 * shmem one in ptlab (its faults map PTEs, as with
		 * VM_NOHUGEPAGE: see ptlab/shmem.h). */
		if (is_vm_hugetlb(&mm->vmas[i]) || is_vm_shmem(&mm->vmas[i]))
			continue;
		if (advice == MADV_HUGEPAGE)
			mm->vmas[i].vm_flags |= VM_HUGEPAGE;
		else
			mm->vmas[i].vm_flags &= ~VM_HUGEPAGE;
	}
out:
	up_write(&mm->mmap_lock);
	if (!ret && advice == MADV_HUGEPAGE)
		khugepaged_enter(mm);
	return ret;
}

/*
 * mirrors madvise_dontneed_single_vma() (6.12) for every VMA of the
 * range: zaps the pages (a whole huge PMD through zap_huge_pmd(), a part
 * of one after a split) under mmap_lock for read; with the machine's
 * PT_RECLAIM, the PTE tables left empty are freed through the mmu_gather.
 */
int mm_madvise_dontneed(struct mm_struct *mm, uint64_t addr, uint64_t len)
{
	struct mmu_gather tlb;
	uint64_t end = addr + len;
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm || !user_range_ok(addr, len))
		return -EINVAL;
	down_read(&mm->mmap_lock);
	if (!vma_range_mapped(mm, addr, end)) {
		up_read(&mm->mmap_lock);
		return -EFAULT;
	}
	tlb_gather_mmu(&tlb, mm);
	for (int i = vma_index(mm, addr); i < mm->nr_vmas && mm->vmas[i].vm_start < end; i++) {
		struct vm_area_struct *v = &mm->vmas[i];
		uint64_t s = v->vm_start > addr ? v->vm_start : addr;
		uint64_t e = v->vm_end < end ? v->vm_end : end;

		if (is_vm_hugetlb(v))
			unmap_hugepage_range(&tlb, mm, v, s & HPAGE_PMD_MASK,
					     (e + HPAGE_PMD_SIZE - 1) & HPAGE_PMD_MASK);
		else
			unmap_region(mm, &tlb, s, e, ptlab_kernel_pt_reclaim(machine.kernel));
	}
	tlb_finish_mmu(&tlb);
	up_read(&mm->mmap_lock);
	return 0;
}
