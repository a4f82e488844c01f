// SPDX-License-Identifier: MIT
/*
 * The page-table tree of an mm: allocating tables, the anonymous fault
 * path, zapping, freeing empty tables, munmap, and user-memory access with
 * a hardware-style walk (mirrors mm/memory.c, mm/mmap.c and the x86 page
 * walker).
 *
 * Locking: every function here runs under mmap_lock (read for faults,
 * write for zap/munmap/free_pgtables) except the hardware walk, which is
 * lockless with interrupts off. PTE entries change under their table's
 * PTE lock; PMD entries under the PMD table's lock (pmd_lock()); PGD and
 * PUD entries under mm->page_table_lock when populated, and under
 * mmap_lock for write when freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "machine.h"
#include "mm_internal.h"
#include "ptlab/race.h"
#include "tlb.h"

struct page *pte_alloc_one(struct mm_struct *mm, enum alloc_path path)
{
	(void)mm;
	return alloc_page_tagged(PAGE_TYPE_PGTABLE, path);
}

void pte_free(struct mm_struct *mm, struct page *table)
{
	(void)mm;
	pgtable_free(table, TABLE_FREE_DIRECT);
}

/* Populates an upper-level entry with a new table unless another thread
 * did first (__pud_alloc()/__pmd_alloc()); the new table is zeroed, and
 * the release store publishes it. */
int upper_alloc(struct mm_struct *mm, _Atomic uint64_t *slot, atomic_long *counter)
{
	struct page *table;

	if (smp_load_acquire(slot))
		return 0;
	table = pte_alloc_one(mm, ALLOC_PATH_TABLES);
	if (!table)
		return -ENOMEM;
	spin_lock(&mm->page_table_lock);
	if (!READ_ONCE(*slot)) {
		smp_store_release(slot, ((uint64_t)page_to_pfn(table) << PAGE_SHIFT) |
					_PAGE_TABLE);
		atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
		table = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	if (table)
		pte_free(mm, table);
	return 0;
}

/* The PMD slot of @addr, allocating the PUD and PMD tables on the way. */
struct pmd_slot *pmd_alloc_walk(struct mm_struct *mm, uint64_t addr)
{
	struct pgd_slot *pgdp = pgd_offset_pgd(mm->pgd, addr);
	struct pud_slot *pudp;

	if (upper_alloc(mm, &pgdp->val, &mm->nr_puds))
		return NULL;
	pudp = pud_offset(pgdp_get(pgdp), addr);
	if (upper_alloc(mm, &pudp->val, &mm->nr_pmds))
		return NULL;
	return pmd_offset(pudp_get(pudp), addr);
}

int __pte_alloc(struct mm_struct *mm, struct pmd_slot *pmdp)
{
	struct page *table = pte_alloc_one(mm, ALLOC_PATH_TABLES);
	spinlock_t *ptl;

	if (!table)
		return -ENOMEM;
	ptl = pmd_lock(pmdp);
	if (pmd_none(pmdp_get(pmdp))) {
		pmd_populate(pmdp, table);
		RACE_POINT(RP_PMD_WRITE, .pmdp = pmdp, .pmd = pmd_val(pmdp_get(pmdp)));
		atomic_fetch_add_explicit(&mm->nr_ptes, 1, memory_order_relaxed);
		table = NULL;
	}
	spin_unlock(ptl);
	if (table)
		pte_free(mm, table);
	return 0;
}

void page_add_anon_rmap(struct page *page, struct mm_struct *mm, uint64_t addr)
{
	WRITE_ONCE(page->mm_id, mm->id);
	WRITE_ONCE(page->index, addr);
	atomic_fetch_add_explicit(&page->mapcount, 1, memory_order_relaxed);
}

/*
 * mirrors do_anonymous_page(): a zeroed page for a missing PTE. 0 when
 * the PTE is (now) present, -EAGAIN when the PMD no longer names a PTE
 * table (reclaimed meanwhile: the caller faults again), -ENOMEM.
 */
static int do_anonymous_page(struct mm_struct *mm, struct vm_area_struct *vma,
			     struct pmd_slot *pmdp, uint64_t addr)
{
	uint64_t prot = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
	struct pte_slot *ptep;
	struct page *page;
	spinlock_t *ptl;
	bool none;

	/* Populated already (mm_populate() of a present page)? */
	ptep = pte_offset_map_lock(mm, pmdp, addr, &ptl);
	if (!ptep)
		return -EAGAIN;
	none = pte_none(ptep_get(ptep));
	pte_unmap_unlock(ptep, ptl);
	if (!none)
		return 0;
	/* Allocate with no lock held, then map under the PTE lock if the
	 * entry is still none. */
	page = alloc_page_tagged(PAGE_TYPE_ANON, ALLOC_PATH_PAGES);
	if (!page)
		return -ENOMEM;
	if (vma->vm_flags & VM_WRITE)
		prot |= _PAGE_RW;
	ptep = pte_offset_map_lock(mm, pmdp, addr, &ptl);
	if (!ptep) {
		put_page(page);
		return -EAGAIN;
	}
	if (!pte_none(ptep_get(ptep))) {
		pte_unmap_unlock(ptep, ptl);
		put_page(page);
		return 0;
	}
	page_add_anon_rmap(page, mm, addr & PAGE_MASK);
	set_pte(ptep, pfn_pte(page_to_pfn(page), prot));
	atomic_fetch_add_explicit(&mm->anon_rss, 1, memory_order_relaxed);
	pte_unmap_unlock(ptep, ptl);
	return 0;
}

int handle_mm_fault(struct mm_struct *mm, struct vm_area_struct *vma,
		    uint64_t addr, unsigned int flags)
{
	struct pmd_slot *pmdp;

	mmap_assert_locked(mm);
	if ((flags & FAULT_FLAG_WRITE) ? !(vma->vm_flags & VM_WRITE)
				       : !(vma->vm_flags & (VM_READ | VM_WRITE)))
		return -EFAULT;
	if (is_vm_hugetlb(vma))
		return hugetlb_fault(mm, vma, addr);
	if (is_vm_shmem(vma))
		return shmem_fault(mm, vma, addr);
	pmdp = pmd_alloc_walk(mm, addr);
	if (!pmdp)
		return -ENOMEM;
	for (;;) {
		pmd_t pmd = pmdp_get(pmdp);
		int ret;

		/* A huge PMD a split has invalidated: its lock is held until
		 * the PTE table is in. */
		if (pmd_trans_huge(pmd) && !pmd_present(pmd)) {
			spin_unlock(pmd_lock(pmdp));
			continue;
		}
		if (pmd_trans_huge(pmd))
			return 0;
		if (pmd_none(pmd) && vma_thp_eligible(vma, addr & PMD_MASK) &&
		    do_huge_pmd_anonymous_page(mm, vma, pmdp, addr) == 0)
			continue;
		if (pmd_none(pmd)) {
			ret = __pte_alloc(mm, pmdp);
			if (ret)
				return ret;
			continue;
		}
		ret = do_anonymous_page(mm, vma, pmdp, addr);
		if (ret != -EAGAIN)
			return ret;
	}
}

/* Zaps [addr, end) of the PTE table of *pmdp (zap_pte_range()); returns
 * where it stopped, and sets *full when the gather filled up and must be
 * flushed (after the PTE lock is dropped, as the kernel's force_flush). A
 * table that went away meanwhile (reclaimed by a concurrent MADV_DONTNEED)
 * has nothing left to zap. */
static uint64_t zap_pte_range(struct mmu_gather *tlb, struct mm_struct *mm,
			      struct pmd_slot *pmdp, uint64_t addr, uint64_t end, bool *full)
{
	spinlock_t *ptl;
	struct pte_slot *ptep = pte_offset_map_lock(mm, pmdp, addr, &ptl), *first = ptep;

	*full = false;
	if (!ptep)
		return end;
	for (; addr != end && !*full; addr += PAGE_SIZE, ptep++) {
		pte_t pte = ptep_get(ptep);
		struct page *page;

		if (pte_none(pte))
			continue;
		pte = ptep_get_and_clear(ptep);
		tlb_flush_range_add(tlb, addr, PAGE_SIZE);
		page = pfn_to_page(pte_pfn(pte));
		atomic_fetch_sub_explicit(&page->mapcount, 1, memory_order_relaxed);
		atomic_fetch_sub_explicit(folio_test_anon(page) ? &mm->anon_rss : &mm->shmem_rss, 1,
					  memory_order_relaxed);
		*full = __tlb_remove_page(tlb, page);
	}
	pte_unmap_unlock(first, ptl);
	return addr;
}

/*
 * Zaps the pages of [start, end), which lies inside one VMA
 * (unmap_page_range()). Caller holds mmap_lock, for read since munmap
 * downgrades it and MADV_DONTNEED never takes it for write: other zaps,
 * splits and faults of the mm may run meanwhile, each under the page-table
 * lock of what it changes, so a huge PMD is re-checked under its lock.
 */
void unmap_region(struct mm_struct *mm, struct mmu_gather *tlb, uint64_t start,
		  uint64_t end, bool reclaim_pt)
{
	mmap_assert_locked(mm);
	for (uint64_t addr = start, next; addr < end; addr = next) {
		struct pmd_slot *pmdp = mm_find_pmd(mm, addr);
		uint64_t base = addr & PMD_MASK;
		pmd_t pmd;

		next = pmd_addr_end(addr, end);
		if (!pmdp) {
			/* No PMD table: skip to the next PUD range. */
			next = pud_addr_end(addr, end);
			continue;
		}
		pmd = pmdp_get(pmdp);
		if (pmd_none(pmd))
			continue;
		if (pmd_trans_huge(pmd)) {
			if (next - addr == PMD_SIZE && zap_huge_pmd(tlb, mm, pmdp, addr))
				continue;
			__split_huge_pmd(mm, pmdp, addr);
		}
		while (addr != next) {
			bool full;

			addr = zap_pte_range(tlb, mm, pmdp, addr, next, &full);
			if (full)
				tlb_flush_mmu(tlb);
		}
		/* PT_RECLAIM (MADV_DONTNEED only, reclaim_pt_is_enabled():
		 * a range of a PMD or more): the table may now be empty. */
		if (reclaim_pt && end - start >= PMD_SIZE)
			try_to_free_pte(mm, pmdp, base, tlb);
	}
}

static bool table_empty(struct page *table)
{
	for (unsigned int i = 0; i < PTRS_PER_TABLE; i++)
		if (frame_load64(table, i))
			return false;
	return true;
}

/* The table of one level, to free when its whole range lies in
 * [floor, ceiling) and every entry is gone. */
static bool may_free(uint64_t base, uint64_t size, uint64_t floor, uint64_t ceiling)
{
	return base >= floor && base + size <= ceiling;
}

static void free_pmd_range(struct mmu_gather *tlb, struct mm_struct *mm,
			   struct page *pmd_table, uint64_t pud_base, uint64_t start,
			   uint64_t end, uint64_t floor, uint64_t ceiling)
{
	for (unsigned int i = pmd_index(start); i < PTRS_PER_TABLE; i++) {
		uint64_t base = pud_base + ((uint64_t)i << PMD_SHIFT);
		struct pmd_slot *pmdp = (struct pmd_slot *)page_address(pmd_table) + i;
		pmd_t pmd;

		if (base >= end)
			break;
		pmd = pmdp_get(pmdp);
		if (pmd_none(pmd) || pmd_trans_huge(pmd) ||
		    !may_free(base, PMD_SIZE, floor, ceiling))
			continue;
		if (!table_empty(pfn_to_page(pmd_pfn(pmd))))
			ptlab_bug("freeing a PTE table that still maps pages", pmd_pfn(pmd));
		/* free_pte_range(): unlink, then free through the gather. */
		pmd_clear(pmdp);
		RACE_POINT(RP_PMD_UNLINKED, .addr = base, .pmd = pmd_val(pmd), .pmdp = pmdp,
			   .pmd_table = pmd_table, .pte_table = pfn_to_page(pmd_pfn(pmd)));
		atomic_fetch_sub_explicit(&mm->nr_ptes, 1, memory_order_relaxed);
		tlb_flush_range_add(tlb, base, PMD_SIZE);
		pte_free_tlb(tlb, pfn_to_page(pmd_pfn(pmd)));
	}
}

static void free_pud_range(struct mmu_gather *tlb, struct mm_struct *mm,
			   struct page *pud_table, uint64_t pgd_base, uint64_t start,
			   uint64_t end, uint64_t floor, uint64_t ceiling)
{
	for (unsigned int i = pud_index(start); i < PTRS_PER_TABLE; i++) {
		uint64_t base = pgd_base + ((uint64_t)i << PUD_SHIFT);
		struct pud_slot *pudp = (struct pud_slot *)page_address(pud_table) + i;
		struct page *pmd_table;
		pud_t pud;

		if (base >= end)
			break;
		pud = pudp_get(pudp);
		if (pud_none(pud))
			continue;
		pmd_table = pfn_to_page(pud_pfn(pud));
		free_pmd_range(tlb, mm, pmd_table, base, base > start ? base : start,
			       end, floor, ceiling);
		if (!may_free(base, PUD_SIZE, floor, ceiling) || !table_empty(pmd_table))
			continue;
		/* Unlink, then free the way the architecture does: where that
		 * is pmd_free() at once (loongarch, mips up to 6.19), before
		 * the gather's flush, so that no flush, IPI or not, can hold
		 * off a GUP-fast walker that read the PUD entry. */
		pud_clear(pudp);
		RACE_POINT(RP_PUD_UNLINKED, .addr = base, .pmd = pud_val(pud), .pmdp = pudp,
			   .pmd_table = pmd_table);
		atomic_fetch_sub_explicit(&mm->nr_pmds, 1, memory_order_relaxed);
		tlb_flush_range_add(tlb, base, PUD_SIZE);
		pmd_free_tlb(tlb, pmd_table);
	}
}

/*
 * Frees the tables of [start, end) that no VMA needs any more
 * (free_pgtables()/free_pgd_range()): a table goes when the whole range
 * it maps lies in [floor, ceiling), the gap left between the neighbouring
 * VMAs. The PGD itself stays until mm_destroy().
 */
void free_pgtables(struct mmu_gather *tlb, struct mm_struct *mm, uint64_t start,
		   uint64_t end, uint64_t floor, uint64_t ceiling)
{
	/* Read is enough: no VMA covers [floor, ceiling) any more, so no
	 * fault populates the tables freed here. */
	mmap_assert_locked(mm);
	for (unsigned int i = pgd_index(start); i < PTRS_PER_TABLE; i++) {
		uint64_t base = (uint64_t)i << PGDIR_SHIFT;
		struct pgd_slot *pgdp = pgd_offset_pgd(mm->pgd, base);
		struct page *pud_table;
		pgd_t pgd;

		if (base >= end)
			break;
		pgd = pgdp_get(pgdp);
		if (pgd_none(pgd))
			continue;
		pud_table = pfn_to_page(pgd_pfn(pgd));
		free_pud_range(tlb, mm, pud_table, base, base > start ? base : start,
			       end, floor, ceiling);
		if (!may_free(base, PGDIR_SIZE, floor, ceiling) || !table_empty(pud_table))
			continue;
		pgd_clear(pgdp);
		atomic_fetch_sub_explicit(&mm->nr_puds, 1, memory_order_relaxed);
		tlb_flush_range_add(tlb, base, PGDIR_SIZE);
		pud_free_tlb(tlb, pud_table);
	}
}

/*
 * mirrors do_vmi_align_munmap() + vms_complete_munmap_vmas() (4.20+, see
 * docs/protocol.md):
 * under mmap_lock for write, split the VMAs at both ends and detach those
 * inside; then downgrade to read for the teardown itself: zap the pages
 * (unmap_region()), free the page tables no VMA needs (free_pgtables())
 * and flush, all through one mmu_gather.
 */
int mm_munmap(struct mm_struct *mm, uint64_t addr, uint64_t len)
{
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm || !user_range_ok(addr, len))
		return -EINVAL;
	down_write(&mm->mmap_lock);
	return do_munmap(mm, addr, len);
}

int do_munmap(struct mm_struct *mm, uint64_t addr, uint64_t len)
{
	struct mmu_gather tlb;
	uint64_t end = addr + len, floor = 0, ceiling = TASK_SIZE;
	struct vm_area_struct *next, *gone = NULL;
	int first, nr_gone = 0, ret = 0;

	mmap_assert_write_locked(mm);
	/* A hugetlb mapping goes by whole huge pages. */
	for (int i = vma_index(mm, addr); i < mm->nr_vmas && mm->vmas[i].vm_start < end; i++)
		if (is_vm_hugetlb(&mm->vmas[i]) && ((addr | end) & ~HPAGE_PMD_MASK))
			ret = -EINVAL;
	if (!ret)
		ret = vma_split_at(mm, addr);
	if (!ret)
		ret = vma_split_at(mm, end);
	if (ret) {
		up_write(&mm->mmap_lock);
		return ret;
	}
	/* The gap the unmapped range leaves: from the end of the VMA below
	 * to the start of the VMA above. */
	first = vma_index(mm, addr);
	if (first > 0)
		floor = mm->vmas[first - 1].vm_end;
	next = find_vma(mm, end);
	if (next)
		ceiling = next->vm_start;
	while (first + nr_gone < mm->nr_vmas && mm->vmas[first + nr_gone].vm_start < end)
		nr_gone++;
	if (nr_gone) {
		gone = malloc((size_t)nr_gone * sizeof(*gone));
		if (!gone) {
			up_write(&mm->mmap_lock);
			return -ENOMEM;
		}
		memcpy(gone, &mm->vmas[first], (size_t)nr_gone * sizeof(*gone));
	}
	/* Detached: from here no fault finds a VMA in the range. */
	vma_remove_range(mm, addr, end);
	downgrade_write(&mm->mmap_lock);
	tlb_gather_mmu(&tlb, mm);
	unmap_vmas(&tlb, mm, gone, nr_gone);
	free_pgtables(&tlb, mm, addr, end, floor, ceiling);
	tlb_finish_mmu(&tlb);
	up_read(&mm->mmap_lock);
	free(gone);
	return 0;
}

/*
 * mirrors unmap_vmas() and free_pgtables()'s unlink_file_vma(): zaps each
 * of @vmas (detached from the mm already), a hugetlb one with its shared
 * PMD tables unshared, and then takes the mm's mappings of their files out
 * of the files' i_mmap records, before free_pgtables() frees tables.
 */
void unmap_vmas(struct mmu_gather *tlb, struct mm_struct *mm, const struct vm_area_struct *vmas,
		int n)
{
	for (int i = 0; i < n; i++) {
		struct vm_area_struct v = vmas[i];

		if (is_vm_hugetlb(&v))
			unmap_hugepage_range(tlb, mm, &v, v.vm_start, v.vm_end);
		else
			unmap_region(mm, tlb, v.vm_start, v.vm_end, false);
	}
	for (int i = 0; i < n; i++) {
		bool seen = false;

		for (int k = 0; k < i && !seen; k++)
			seen = vma_file(&vmas[k]) == vma_file(&vmas[i]);
		if (vma_file(&vmas[i]) && !seen)
			vma_file_remap(&vmas[i], mm);
	}
}

int mm_populate(struct mm_struct *mm, uint64_t addr, uint64_t len, bool write)
{
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm || !user_range_ok(addr, len))
		return -EINVAL;
	down_read(&mm->mmap_lock);
	for (uint64_t a = addr; a < addr + len && !ret; a += PAGE_SIZE) {
		struct vm_area_struct *vma = find_vma(mm, a);

		if (!vma || vma->vm_start > a)
			ret = -EFAULT;
		else
			ret = handle_mm_fault(mm, vma, a, write ? FAULT_FLAG_WRITE : 0);
	}
	up_read(&mm->mmap_lock);
	return ret;
}

enum hw_walk_result { HW_OK, HW_FAULT, HW_RETRY };

/*
 * The hardware page walker (x86's page-miss handler): lockless, inside a
 * hardware access (interrupts off, hw_seq odd). Loads are seq_cst, see
 * tlb_flush_remote_broadcast(). Sets the accessed and dirty bits with a
 * CAS as the hardware does, so it never resurrects a cleared entry.
 */
static enum hw_walk_result hw_walk(struct mm_struct *mm, uint64_t addr, bool write,
				   uint32_t *pfn, bool *writable)
{
	struct pgd_slot *pgdp = pgd_offset_pgd(mm->pgd, addr);
	uint64_t pgd = atomic_load_explicit(&pgdp->val, memory_order_seq_cst), pud, pmd, pte;
	_Atomic uint64_t *slot;
	uint64_t want;

	if (!(pgd & _PAGE_PRESENT) || !pfn_valid(entry_pfn(pgd)))
		return HW_FAULT;
	slot = (_Atomic uint64_t *)page_address(pfn_to_page(entry_pfn(pgd))) + pud_index(addr);
	pud = atomic_load_explicit(slot, memory_order_seq_cst);
	if (!(pud & _PAGE_PRESENT) || !pfn_valid(entry_pfn(pud)))
		return HW_FAULT;
	slot = (_Atomic uint64_t *)page_address(pfn_to_page(entry_pfn(pud))) + pmd_index(addr);
	pmd = atomic_load_explicit(slot, memory_order_seq_cst);
	if (!(pmd & _PAGE_PRESENT) || !pfn_valid(entry_pfn(pmd)))
		return HW_FAULT;
	if (pmd & _PAGE_PSE) {
		if (!pmd_access_permitted((pmd_t){ pmd }, write))
			return HW_FAULT;
		*pfn = (uint32_t)(entry_pfn(pmd) + pte_index(addr));
		*writable = pmd & _PAGE_RW;
		return pfn_valid(*pfn) ? HW_OK : HW_FAULT;
	}
	slot = (_Atomic uint64_t *)page_address(pfn_to_page(entry_pfn(pmd))) + pte_index(addr);
	pte = atomic_load_explicit(slot, memory_order_seq_cst);
	if (!pte_access_permitted((pte_t){ pte }, write) || !pfn_valid(entry_pfn(pte)))
		return HW_FAULT;
	want = pte | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0);
	if (want != pte && !atomic_compare_exchange_strong_explicit(
				   slot, &pte, want, memory_order_seq_cst,
				   memory_order_relaxed))
		return HW_RETRY;
	*pfn = (uint32_t)entry_pfn(pte);
	*writable = pte & _PAGE_RW;
	return HW_OK;
}

/* One access within one page: TLB, walk on a miss, then the data, all as
 * one hardware access. */
static enum hw_walk_result hw_access(struct cpu *c, struct mm_struct *mm, uint64_t addr,
				     void *buf, size_t len, bool write)
{
	enum hw_walk_result r = HW_OK;
	unsigned long flags = arch_local_irq_save(c);
	uint32_t pfn;
	bool writable;

	hw_access_begin(&c->tlb);
	if (!tlb_lookup(&c->tlb, addr, write, &pfn)) {
		r = hw_walk(mm, addr, write, &pfn, &writable);
		if (r == HW_OK)
			tlb_fill(&c->tlb, addr, pfn, writable);
	}
	if (r == HW_OK) {
		struct page *page = pfn_to_page(pfn);
		size_t off = addr & ~PAGE_MASK;

		if (write)
			page_write(page, off, buf, len);
		else
			page_read(page, off, buf, len);
	}
	hw_access_end(&c->tlb);
	arch_local_irq_restore(c, flags);
	return r;
}

/*
 * A fault that found no free frame. The kernel's arch fault handler calls
 * pagefault_out_of_memory() on VM_FAULT_OOM and returns to the faulting
 * instruction, which faults again: the access itself is retried, since
 * no caller above it could (a store to user memory has no error path).
 * The retry lives here for the same reason. ptlab has no OOM killer to
 * free memory meanwhile, so an access gives up after this many faults in
 * a row on one page (the task the kernel would kill) and returns -ENOMEM.
 * Callers of mm_populate() and of GUP's slow path get -ENOMEM at once and
 * retry themselves, as the kernel's do.
 */
#define USER_FAULT_OOM_RETRIES 16

static int user_access(uint64_t addr, void *buf, size_t len, bool write)
{
	struct cpu *c = this_cpu;
	struct backoff oom = BACKOFF_INIT;
	unsigned int oom_faults = 0;
	struct mm_struct *mm;

	if (mm_caller_check())
		return -EPERM;
	mm = READ_ONCE(c->mm);
	if (!mm)
		return -ESRCH;
	if (!buf || addr >= TASK_SIZE || len > TASK_SIZE - addr)
		return len ? (buf ? -EFAULT : -EINVAL) : 0;
	while (len) {
		size_t chunk = PAGE_SIZE - (addr & ~PAGE_MASK);
		enum hw_walk_result r;

		if (chunk > len)
			chunk = len;
		r = hw_access(c, mm, addr, buf, chunk, write);
		if (r == HW_FAULT) {
			struct vm_area_struct *vma;
			int ret;

			down_read(&mm->mmap_lock);
			vma = find_vma(mm, addr);
			ret = vma && vma->vm_start <= addr
				      ? handle_mm_fault(mm, vma, addr,
							write ? FAULT_FLAG_WRITE : 0)
				      : -EFAULT;
			up_read(&mm->mmap_lock);
			if (ret == -ENOMEM && ++oom_faults <= USER_FAULT_OOM_RETRIES) {
				wait_backoff(&oom);
				continue;
			}
			if (ret)
				return ret;
		}
		if (r != HW_OK)
			continue;
		oom = (struct backoff)BACKOFF_INIT;
		oom_faults = 0;
		addr += chunk;
		buf = (uint8_t *)buf + chunk;
		len -= chunk;
	}
	return 0;
}

int user_read(uint64_t addr, void *buf, size_t len)
{
	return user_access(addr, buf, len, false);
}

int user_write(uint64_t addr, const void *buf, size_t len)
{
	return user_access(addr, (void *)buf, len, true);
}
