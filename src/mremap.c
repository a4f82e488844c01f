// SPDX-License-Identifier: MIT
/*
 * mremap() of an anonymous range to a fixed address (mirrors 6.12
 * mm/mremap.c: mremap_to() -> move_vma() -> move_page_tables()).
 *
 * Under mmap_lock for write the new VMA is linked, then the page tables
 * move, a whole table at a time where the architecture can
 * (machine.profile.move_pud / move_pmd: HAVE_MOVE_PUD / HAVE_MOVE_PMD and
 * arch_supports_page_table_move()) and the extent is a whole aligned PUD
 * or PMD at both ends, else entry by entry (move_ptes()); then the old
 * range is unmapped (do_munmap()), which frees the tables move_ptes()
 * emptied through the mmu_gather as munmap does. A table moved whole is
 * never freed: it is unhooked from the old entry and hung under the new
 * one, with its PTE lock (the lock lives in the table's struct page),
 * and the old range is flushed inside the page-table locks.
 *
 * Who walks concurrently: GUP-fast (interrupts off, no lock) and the
 * hardware walker only. RCU walkers (pte_offset_map_lock() under
 * mmap_lock for read or a VMA lock) are excluded: mremap holds mmap_lock
 * for write and write-locks both VMAs. The kernel also takes the rmap
 * locks for write around a table move (need_rmap_locks is forced for
 * NORMAL_PMD/NORMAL_PUD); ptlab has no rmap walker of anonymous memory,
 * so mmap_lock for write stands for them.
 *
 * Left out: MREMAP_FIXED over an existing mapping (the kernel unmaps the
 * destination first; here the caller must: -EEXIST), growing and
 * shrinking, file and hugetlb mappings, move_huge_pmd() (a huge PMD is
 * split first and its PTEs moved), the uffd and soft-dirty checks, and
 * try_realign_addr().
 */
#include <errno.h>

#include "machine.h"
#include "mm_internal.h"
#include "ptlab/huge.h"
#include "ptlab/race.h"
#include "ptlab/tlb.h"

/* The extent of one step of move_page_tables() (get_extent()): up to the
 * next @size boundary of the old and of the new address, and the end. */
static uint64_t get_extent(uint64_t size, uint64_t old_addr, uint64_t old_end,
			   uint64_t new_addr)
{
	uint64_t mask = ~(size - 1);
	uint64_t extent = ((old_addr + size) & mask) - old_addr;
	uint64_t to_new = ((new_addr + size) & mask) - new_addr;

	if (extent > old_end - old_addr)
		extent = old_end - old_addr;
	return extent < to_new ? extent : to_new;
}

/* The PUD slot of @addr, or NULL when the PGD entry is none
 * (get_old_pud()). */
static struct pud_slot *get_old_pud(struct mm_struct *mm, uint64_t addr)
{
	struct pgd_slot *pgdp = pgd_offset_pgd(mm->pgd, addr);
	pgd_t pgd = pgdp_get(pgdp);

	return pgd_none(pgd) ? NULL : pud_offset(pgd, addr);
}

/* The PMD slot of @addr, or NULL when an upper entry is none
 * (get_old_pmd()). */
static struct pmd_slot *get_old_pmd(struct mm_struct *mm, uint64_t addr)
{
	struct pud_slot *pudp = get_old_pud(mm, addr);

	if (!pudp || pud_none(pudp_get(pudp)))
		return NULL;
	return pmd_offset(pudp_get(pudp), addr);
}

/* The PUD slot of @addr, allocating the PUD table (alloc_new_pud()). */
static struct pud_slot *alloc_new_pud(struct mm_struct *mm, uint64_t addr)
{
	struct pgd_slot *pgdp = pgd_offset_pgd(mm->pgd, addr);

	if (upper_alloc(mm, &pgdp->val, &mm->nr_puds))
		return NULL;
	return pud_offset(pgdp_get(pgdp), addr);
}

/*
 * mirrors move_normal_pmd() (6.12): hang the PTE table of *old_pmd under
 * the empty *new_pmd. Under both PMD locks: re-read the old entry (it must
 * still name a table: "Racing with collapse?", 6fa1066fc5d0), clear it,
 * populate the new entry with the same table, and flush the old range
 * while the locks are held. pmd_populate() writes the value an entry of
 * that table always has, so an entry moved away and back is bit for bit
 * the one a walker read before (the ABA the lab counts).
 */
static bool move_normal_pmd(struct mm_struct *mm, uint64_t old_addr, struct pmd_slot *old_pmd,
			    struct pmd_slot *new_pmd)
{
	spinlock_t *old_ptl, *new_ptl;
	struct page *table;
	pmd_t pmd;

	/* arch_supports_page_table_move() */
	if (!machine.profile.move_pmd)
		return false;
	/* The kernel WARNs and falls back (an execve stack overlap). */
	if (!pmd_none(pmdp_get(new_pmd)))
		return false;
	old_ptl = pmd_lock(old_pmd);
	new_ptl = pmd_lockptr(new_pmd);
	if (new_ptl != old_ptl)
		spin_lock(new_ptl);
	pmd = pmdp_get(old_pmd);
	if (!pmd_present(pmd) || pmd_trans_huge(pmd)) {
		if (new_ptl != old_ptl)
			spin_unlock(new_ptl);
		spin_unlock(old_ptl);
		return false;
	}
	table = pfn_to_page(pmd_pfn(pmd));
	pmd_clear(old_pmd);
	RACE_POINT(RP_PMD_MOVED, .addr = old_addr, .pmd = pmd_val(pmd), .pmdp = old_pmd,
		   .pmd_table = pmd_table_page(old_pmd), .pte_table = table);
	pmd_populate(new_pmd, table);
	RACE_POINT(RP_PMD_WRITE, .pmdp = new_pmd, .pmd = pmd_val(pmdp_get(new_pmd)));
	flush_tlb_mm_range(mm, old_addr, old_addr + PMD_SIZE);
	if (new_ptl != old_ptl)
		spin_unlock(new_ptl);
	spin_unlock(old_ptl);
	return true;
}

/*
 * mirrors move_normal_pud() (6.12): the same one level up, under
 * pud_lock(), which is mm->page_table_lock for both entries (so one lock):
 * clear the old PUD, populate the new one with the same PMD table, flush
 * the old range. GUP-fast has no PUD re-check and its PMD slot points into
 * the moved table, so one move is already a change its re-checks cannot
 * see.
 */
static bool move_normal_pud(struct mm_struct *mm, uint64_t old_addr, struct pud_slot *old_pud,
			    struct pud_slot *new_pud)
{
	struct page *table;
	pud_t pud;

	if (!machine.profile.move_pud)
		return false;
	if (!pud_none(pudp_get(new_pud)))
		return false;
	spin_lock(&mm->page_table_lock);
	pud = pudp_get(old_pud);
	if (!pud_present(pud)) {
		spin_unlock(&mm->page_table_lock);
		return false;
	}
	table = pfn_to_page(pud_pfn(pud));
	pud_clear(old_pud);
	RACE_POINT(RP_PUD_MOVED, .addr = old_addr, .pmd = pud_val(pud), .pmdp = old_pud,
		   .pmd_table = table);
	/* pud_populate(): the value upper_alloc() gave the entry */
	set_pud(new_pud, (pud_t){ ((uint64_t)page_to_pfn(table) << PAGE_SHIFT) | _PAGE_TABLE });
	flush_tlb_mm_range(mm, old_addr, old_addr + PUD_SIZE);
	spin_unlock(&mm->page_table_lock);
	return true;
}

/*
 * mirrors move_ptes() (6.12): each entry of [old_addr, old_end) cleared
 * and set at the new address, under both PTE locks; the old range flushed
 * before the locks go when an entry was present. The pages keep their
 * index: the kernel's anonymous page index is linear in the VMA's
 * vm_pgoff, which the moved VMA keeps. -EAGAIN when the old PMD no longer
 * names a table.
 */
static int move_ptes(struct mm_struct *mm, struct pmd_slot *old_pmd, uint64_t old_addr,
		     uint64_t old_end, struct pmd_slot *new_pmd, uint64_t new_addr)
{
	struct pte_slot *old_pte, *new_pte;
	spinlock_t *old_ptl, *new_ptl;
	bool flush = false;
	pmd_t npmd;

	old_pte = pte_offset_map_lock(mm, old_pmd, old_addr, &old_ptl);
	if (!old_pte)
		return -EAGAIN;
	npmd = pmdp_get(new_pmd);
	new_pte = pte_offset_map(npmd, new_addr);
	new_ptl = pte_lockptr(npmd);
	if (new_ptl != old_ptl)
		spin_lock(new_ptl);
	for (uint64_t a = old_addr; a < old_end; a += PAGE_SIZE, old_pte++, new_pte++) {
		pte_t pte = ptep_get_and_clear(old_pte);

		if (pte_none(pte))
			continue;
		flush |= pte_present(pte);
		set_pte(new_pte, pte);
	}
	if (flush)
		flush_tlb_mm_range(mm, old_addr, old_end);
	if (new_ptl != old_ptl)
		spin_unlock(new_ptl);
	pte_unmap_unlock(old_pte - 1, old_ptl);
	return 0;
}

/*
 * mirrors move_page_tables() (6.12): step by step, a whole PMD table
 * (NORMAL_PUD), else a whole PTE table (NORMAL_PMD), else the entries.
 * Returns how many bytes were moved (all of @len unless a table could
 * not be allocated).
 */
static uint64_t move_page_tables(struct mm_struct *mm, uint64_t old_addr, uint64_t new_addr,
				 uint64_t len)
{
	uint64_t old_end = old_addr + len, start = old_addr, extent;

	for (; old_addr < old_end; old_addr += extent, new_addr += extent) {
		struct pmd_slot *old_pmd, *new_pmd;
		pmd_t pmd;

		extent = get_extent(PUD_SIZE, old_addr, old_end, new_addr);
		if (extent == PUD_SIZE) {
			struct pud_slot *old_pud = get_old_pud(mm, old_addr), *new_pud;

			if (!old_pud || pud_none(pudp_get(old_pud)))
				continue;
			new_pud = alloc_new_pud(mm, new_addr);
			if (!new_pud)
				break;
			if (move_normal_pud(mm, old_addr, old_pud, new_pud))
				continue;
		}
		extent = get_extent(PMD_SIZE, old_addr, old_end, new_addr);
		old_pmd = get_old_pmd(mm, old_addr);
		if (!old_pmd || pmd_none(pmdp_get(old_pmd)))
			continue;
		new_pmd = pmd_alloc_walk(mm, new_addr);
		if (!new_pmd)
			break;
		pmd = pmdp_get(old_pmd);
		/* move_huge_pmd() is not mirrored: split, then move the PTEs */
		if (pmd_trans_huge(pmd))
			__split_huge_pmd(mm, old_pmd, old_addr);
		else if (extent == PMD_SIZE && move_normal_pmd(mm, old_addr, old_pmd, new_pmd))
			continue;
		if (pmd_none(pmdp_get(new_pmd)) && __pte_alloc(mm, new_pmd))
			break;
		if (move_ptes(mm, old_pmd, old_addr, old_addr + extent, new_pmd, new_addr))
			break;
	}
	return old_addr - start;
}

int mm_mremap(struct mm_struct *mm, uint64_t old_addr, uint64_t len, uint64_t new_addr)
{
	struct vm_area_struct *vma, v;
	uint64_t moved;
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm || !user_range_ok(old_addr, len) || !user_range_ok(new_addr, len) ||
	    (new_addr < old_addr + len && old_addr < new_addr + len))
		return -EINVAL;
	down_write(&mm->mmap_lock);
	vma = find_vma(mm, old_addr);
	if (!vma || vma->vm_start > old_addr || vma->vm_end < old_addr + len ||
	    vma_file(vma) || is_vm_hugetlb(vma)) {
		up_write(&mm->mmap_lock);
		return vma && vma->vm_start <= old_addr ? -EINVAL : -EFAULT;
	}
	/* copy_vma(): the new VMA first, linked and write-locked (under
	 * mmap_lock for write here) */
	v = *vma;
	v.vm_start = new_addr;
	v.vm_end = new_addr + len;
	ret = vma_insert(mm, v);
	if (ret) {
		up_write(&mm->mmap_lock);
		return ret;
	}
	moved = move_page_tables(mm, old_addr, new_addr, len);
	if (moved < len) {
		/* move_vma()'s failure path: move back what moved (the old
		 * tables are all still there: no allocation), then unmap the
		 * new range instead of the old */
		move_page_tables(mm, new_addr, old_addr, moved);
		ret = do_munmap(mm, new_addr, len);
		return ret ? ret : -ENOMEM;
	}
	/* The old range goes as munmap would (do_vmi_munmap()); releases
	 * mmap_lock. */
	return do_munmap(mm, old_addr, len);
}
