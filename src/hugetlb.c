// SPDX-License-Identifier: MIT
/*
 * hugetlbfs files, their faults, and PMD-table sharing (mirrors
 * mm/hugetlb.c: hugetlb_fault(), huge_pmd_share(), huge_pmd_unshare(),
 * __unmap_hugepage_range(), and the 6.19 mmu_gather unsharing of
 * mm/mmu_gather.c).
 *
 * Locking:
 * - mm->hugetlb_vma_lock (the hugetlb VMA lock, 6.1+): held for read by a
 *   hugetlb fault for as long as it uses the PUD and PMD entries it found
 *   (hugetlb_vma_lock_read() in hugetlb_fault()), for write by
 *   unmap_hugepage_range() around its unshares (__hugetlb_zap_begin()):
 *   no PMD table is unshared under a fault of the same mm. The kernel
 *   has one per shareable VMA; ptlab, whose VMAs are values in an array,
 *   one per mm, which excludes the same pairs and a few more (a fault of
 *   one hugetlb VMA against the unshare of another of the same mm).
 *   Taken inside mmap_lock, outside the i_mmap lock.
 * - f->pc.i_mmap.rwsem (the file's i_mmap_rwsem): held for read by
 *   huge_pmd_share() alone (a fault takes it only to look for a table to
 *   share: hugetlb_fault() holds the VMA lock, not this one), for write
 *   by unmap_hugepage_range() (so by huge_pmd_unshare()) and by
 *   vma_file_remap(). It protects f->pc.i_mmap.maps. A shared PMD table's share
 *   count changes only under it, and an unsharer waits for walkers (its
 *   flush, and the sync of the generation) before it lets go of it: until
 *   then no other process can share the table it just stopped sharing,
 *   nor unshare it and make it one process's own. Taken inside mmap_lock
 *   and the VMA lock.
 * - f->pc.lock (a spinlock): f->pc.pages, the file's huge pages
 *   (src/file_pages.c).
 * - A shared PMD table's entries: its PMD lock, as any PMD table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "machine.h"
#include "mm_internal.h"
#include "ptlab/hugetlb.h"
#include "ptlab/race.h"
#include "tlb.h"

struct hugetlb_file {
	struct file_pages pc;         /* the page cache: the huge pages */
};

static atomic_uint next_file_id = 1;

struct hugetlb_file *hugetlb_file_create(uint64_t size)
{
	struct hugetlb_file *f = calloc(1, sizeof(*f));
	int ret = f ? file_pages_init(&f->pc, size, HUGETLB_FILE_MAX, HUGETLB_OWNER_BIT,
				      &next_file_id)
		    : -ENOMEM;

	if (ret) {
		free(f);
		errno = -ret;
		return NULL;
	}
	return f;
}

uint32_t hugetlb_file_id(const struct hugetlb_file *f)
{
	return f ? f->pc.id : 0;
}

int hugetlb_file_destroy(struct hugetlb_file *f)
{
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!f)
		return -EINVAL;
	ret = file_pages_release(&f->pc);
	if (!ret)
		free(f);
	return ret;
}

/* The file's huge page at @off, allocated and recorded on first use; the
 * file holds one reference (the page cache's). */
static struct page *hugetlb_file_page(struct hugetlb_file *f, uint64_t off)
{
	return file_pages_get(&f->pc, off);
}

struct i_mmap *hugetlb_file_i_mmap(struct hugetlb_file *f)
{
	return &f->pc.i_mmap;
}

int64_t mm_mmap_hugetlb(struct mm_struct *mm, uint64_t addr, uint64_t len,
			unsigned long vm_flags, struct hugetlb_file *f, uint64_t offset)
{
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm || !f || (vm_flags & ~(VM_READ | VM_WRITE)) || !len || len % HPAGE_PMD_SIZE ||
	    addr % HPAGE_PMD_SIZE || offset % HPAGE_PMD_SIZE || offset > f->pc.size ||
	    len > f->pc.size - offset || !user_range_ok(addr ? addr : PAGE_SIZE, len))
		return -EINVAL;
	return mmap_region(mm, addr, len,
			   (struct vm_area_struct){ .vm_flags = vm_flags | VM_HUGETLB | VM_SHARED,
						    .vm_file = f, .vm_off = offset });
}

/* ---- sharing ---- */

/* The PUD slot of @addr, allocating the PUD table (not the PMD table). */
static struct pud_slot *hugetlb_pud_alloc(struct mm_struct *mm, uint64_t addr)
{
	struct pgd_slot *pgdp = pgd_offset_pgd(mm->pgd, addr);

	if (pgd_none(pgdp_get(pgdp)) && upper_alloc(mm, &pgdp->val, &mm->nr_puds))
		return NULL;
	return pud_offset(pgdp_get(pgdp), addr);
}

/* Whether the PUD range of @addr may be shared: a VMA covering all of it
 * (want_pmd_share(), vma_shareable()). */
static bool vma_shareable(const struct vm_area_struct *vma, uint64_t addr)
{
	uint64_t base = addr & PUD_MASK;

	return (vma->vm_flags & VM_SHARED) && base >= vma->vm_start &&
	       base + PUD_SIZE <= vma->vm_end;
}

/*
 * mirrors huge_pmd_share(): another process maps the same file offsets
 * over a whole PUD range at the same offset within it and has a PMD table
 * there: take a share of it for @pudp. Takes f->pc.i_mmap.rwsem for read
 * (so no share count drops meanwhile); caller holds mmap_lock and the
 * hugetlb VMA lock.
 */
static void huge_pmd_share(struct mm_struct *mm, struct vm_area_struct *vma, uint64_t addr,
			   struct pud_slot *pudp)
{
	struct hugetlb_file *f = vma->vm_file;
	uint64_t idx = vma->vm_off + ((addr & PUD_MASK) - vma->vm_start);

	down_read(&f->pc.i_mmap.rwsem);
	for (int i = 0; i < f->pc.i_mmap.nr; i++) {
		struct file_map *m = &f->pc.i_mmap.maps[i];
		uint64_t saddr = m->start + (idx - m->off);
		struct pud_slot *spud;
		struct page *table;
		pud_t pud;

		if (m->mm == mm || idx < m->off || saddr % PUD_SIZE || saddr < m->start ||
		    saddr + PUD_SIZE > m->end)
			continue;
		/* page_table_shareable(): the other mm's PUD, read under its
		 * mapping's i_mmap lock, which keeps that table from being
		 * unshared or freed. */
		pud = (pud_t){ 0 };
		if (pgd_present(pgdp_get(pgd_offset_pgd(m->mm->pgd, saddr))) &&
		    (spud = pud_offset(pgdp_get(pgd_offset_pgd(m->mm->pgd, saddr)), saddr)))
			pud = pudp_get(spud);
		if (!pud_present(pud) || !pfn_valid(pud_pfn(pud)))
			continue;
		table = pfn_to_page(pud_pfn(pud));
		atomic_fetch_add_explicit(&table->pt_share_count, 1, memory_order_relaxed);
		spin_lock(&mm->page_table_lock);
		if (pud_none(pudp_get(pudp))) {
			set_pud(pudp, (pud_t){ pud_val(pud) });
			atomic_fetch_add_explicit(&mm->nr_pmds, 1, memory_order_relaxed);
			table = NULL;
		}
		spin_unlock(&mm->page_table_lock);
		if (table)
			atomic_fetch_sub_explicit(&table->pt_share_count, 1, memory_order_relaxed);
		break;
	}
	up_read(&f->pc.i_mmap.rwsem);
}

/* mirrors hugetlb_fault() with hugetlb_no_page(): map the file's page at
 * @addr's huge PMD, sharing the PMD table where it may, under the hugetlb
 * VMA lock for read (6.1+: no unshare of this mm's tables meanwhile). */
int hugetlb_fault(struct mm_struct *mm, struct vm_area_struct *vma, uint64_t addr)
{
	struct hugetlb_file *f = vma->vm_file;
	uint64_t haddr = addr & HPAGE_PMD_MASK, off = vma->vm_off + (haddr - vma->vm_start);
	struct pud_slot *pudp;
	struct pmd_slot *pmdp;
	struct page *folio;
	spinlock_t *ptl;
	int ret = 0;

	mmap_assert_locked(mm);
	down_read(&mm->hugetlb_vma_lock);
	pudp = hugetlb_pud_alloc(mm, haddr);
	if (!pudp) {
		ret = -ENOMEM;
		goto out;
	}
	if (pud_none(pudp_get(pudp)) && vma_shareable(vma, haddr))
		huge_pmd_share(mm, vma, haddr, pudp);
	if (pud_none(pudp_get(pudp)) && upper_alloc(mm, &pudp->val, &mm->nr_pmds)) {
		ret = -ENOMEM;
		goto out;
	}
	pmdp = pmd_offset(pudp_get(pudp), haddr);
	folio = hugetlb_file_page(f, off);
	if (!folio) {
		ret = -ENOMEM;
		goto out;
	}
	ptl = pmd_lock(pmdp);
	if (pmd_none(pmdp_get(pmdp))) {
		/* The mapping's reference, then the entry (release). */
		get_page(folio);
		atomic_fetch_add_explicit(&folio->entire_mapcount, 1, memory_order_relaxed);
		set_pmd(pmdp, mk_huge_pmd(page_to_pfn(folio), vma->vm_flags & VM_WRITE));
		RACE_POINT(RP_PMD_WRITE, .addr = haddr, .pmdp = pmdp,
			   .pmd = pmd_val(pmdp_get(pmdp)), .pmd_table = pmd_table_page(pmdp));
	}
	spin_unlock(ptl);
out:
	up_read(&mm->hugetlb_vma_lock);
	return ret;
}

/* The share count drops (ptdesc_pmd_pts_dec()): how many others share
 * the table now. Under f->pc.i_mmap.rwsem for write. */
static unsigned int pmd_pts_dec(struct page *table)
{
	return atomic_fetch_sub_explicit(&table->pt_share_count, 1, memory_order_relaxed) - 1;
}

/*
 * mirrors huge_pmd_unshare(): if the PMD table under @pudp is shared,
 * this mm stops using it: its PUD entry goes and the share count drops,
 * in the generation's order. Before 2025: pud_clear(), the drop. 2025's
 * fix (1013af4f585f): pud_clear(), tlb_remove_table_sync_one(), then the
 * drop. 6.19's (8ce720d5bd91, __huge_pmd_unshare() with
 * tlb_unshare_pmd_ptdesc()): pud_clear(), the drop, and the table
 * recorded in the gather, whose flush, and one sync if a table became
 * exclusive, come before the i_mmap lock is dropped: the lock, not the
 * order, keeps the table from being reused meanwhile. Returns the table
 * when it unshared, with *@exclusive set when one process alone uses it
 * now. Caller holds the hugetlb VMA lock and f->pc.i_mmap.rwsem for write.
 */
static struct page *huge_pmd_unshare(struct mmu_gather *tlb, struct mm_struct *mm,
				     uint64_t addr, struct pud_slot *pudp, bool *exclusive)
{
	pud_t pud = pudp_get(pudp);
	struct page *table = pfn_to_page(pud_pfn(pud));
	enum unshare_sync gen = machine_unshare_sync();
	unsigned int left;

	if (!READ_ONCE(table->pt_share_count))
		return NULL;
	pud_clear(pudp);
	RACE_POINT(RP_PUD_UNSHARED, .addr = addr & PUD_MASK, .pmd = pud_val(pud), .pmdp = pudp,
		   .pmd_table = table);
	/* 1013af4f585f's call, inside huge_pmd_unshare(): gone from the base
	 * of step 2 (6.19 replaced it), so no policy of step 2 converts it;
	 * step 1's skip, inside the function, still applies. */
	if (gen == UNSHARE_SYNC_PER_UNSHARE)
		tlb_remove_table_sync_one();
	left = pmd_pts_dec(table);
	*exclusive = !left;
	atomic_fetch_sub_explicit(&mm->nr_pmds, 1, memory_order_relaxed);
	tlb_flush_range_add(tlb, addr & PUD_MASK, PUD_SIZE);
	/* Every generation flushes what it unshared before the i_mmap lock
	 * goes (before 6.19 __unmap_hugepage_range()'s force_flush). */
	tlb->unshared_tables = true;
	if (gen == UNSHARE_SYNC_GATHER)
		tlb->fully_unshared_tables |= !left;
	return table;
}

/*
 * The unsharer lets go of the tables it left to a single process (it is
 * about to drop the i_mmap lock, after its flush and sync): from now on
 * that process may change them. For the detectors, each table's sequence
 * is bumped by PT_SEQ_HANDOVER: a walker still inside one (of this mm, or
 * of one that unshared it earlier) sees its table become another's. A
 * table still shared holds the file's pages only: no hand-over yet.
 */
static void hand_over(struct page **tables, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		RACE_POINT(RP_UNSHARE_HANDOVER, .pmd_table = tables[i]);
		WRITE_ONCE(tables[i]->pt_deposit_seq,
			   READ_ONCE(tables[i]->pt_deposit_seq) + PT_SEQ_HANDOVER);
	}
}

void unmap_hugepage_range(struct mmu_gather *tlb, struct mm_struct *mm,
			  struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	struct hugetlb_file *f = vma->vm_file;
	struct page **unshared = NULL;
	size_t nr_unshared = 0, cap = 0;

	mmap_assert_locked(mm);
	/* __hugetlb_zap_begin(): the VMA lock, then the i_mmap lock. */
	down_write(&mm->hugetlb_vma_lock);
	down_write(&f->pc.i_mmap.rwsem);
	for (uint64_t addr = start, next; addr < end; addr = next) {
		struct pgd_slot *pgdp = pgd_offset_pgd(mm->pgd, addr);
		struct page *table;
		struct pud_slot *pudp;
		struct pmd_slot *pmdp;
		spinlock_t *ptl;
		bool exclusive;
		pmd_t pmd;

		next = pmd_addr_end(addr, end);
		if (!pgd_present(pgdp_get(pgdp)) || !(pudp = pud_offset(pgdp_get(pgdp), addr)) ||
		    !pud_present(pudp_get(pudp))) {
			next = pud_addr_end(addr, end);
			continue;
		}
		if ((table = huge_pmd_unshare(tlb, mm, addr, pudp, &exclusive))) {
			next = pud_addr_end(addr, end);
			if (!exclusive)
				continue;
			if (nr_unshared == cap) {
				struct page **more = realloc(unshared, (cap = cap ? 2 * cap : 16) *
									 sizeof(*more));

				/* No room to remember it: hand it over now
				 * (the detectors may then see it early). */
				if (!more)
					hand_over(&table, 1), cap = nr_unshared;
				else
					unshared = more;
			}
			if (nr_unshared < cap)
				unshared[nr_unshared++] = table;
			continue;
		}
		pmdp = pmd_offset(pudp_get(pudp), addr);
		ptl = pmd_lock(pmdp);
		pmd = pmdp_huge_get_and_clear(pmdp);
		RACE_POINT(RP_PMD_WRITE, .addr = addr, .pmdp = pmdp, .pmd_table = pmd_table_page(pmdp));
		spin_unlock(ptl);
		if (!pmd_trans_huge(pmd))
			continue;
		tlb_flush_range_add(tlb, addr & HPAGE_PMD_MASK, HPAGE_PMD_SIZE);
		atomic_fetch_sub_explicit(&pfn_to_page(pmd_pfn(pmd))->entire_mapcount, 1,
					  memory_order_relaxed);
		if (__tlb_remove_page(tlb, pfn_to_page(pmd_pfn(pmd))))
			tlb_flush_mmu(tlb);
	}
	/* The flush of what was unshared, before the lock goes
	 * (huge_pmd_unshare_flush(); before 6.19 the same flush at the end
	 * of __unmap_hugepage_range()). */
	tlb_flush_unshared_tables(tlb);
	hand_over(unshared, nr_unshared);
	up_write(&f->pc.i_mmap.rwsem);
	up_write(&mm->hugetlb_vma_lock);
	free(unshared);
}
