// SPDX-License-Identifier: MIT
/*
 * shmem files of huge folios and their faults (mirrors mm/shmem.c
 * shmem_fault() and the page cache's folio lookup, and mm/memory.c
 * do_read_fault()/do_shared_fault() -> finish_fault() for a folio that
 * do_set_pmd() would not map: include/ptlab/shmem.h says why).
 *
 * Locking:
 * - f->pc.lock (a spinlock): f->pc.pages, the file's page cache
 *   (src/file_pages.c).
 * - f->pc.i_mmap.rwsem (the file's i_mmap_rwsem): for write by
 *   vma_file_remap() and, in the free retraction generation (6.1-6.5),
 *   by collapse_pte_mapped_thp() around the retraction; it protects
 *   f->pc.i_mmap.maps. Nothing in ptlab walks a shmem file's mappings
 *   (ptlab has no rmap walk and no collapse_file(), whose
 *   retract_page_tables() would), so the records only keep a mapped file
 *   from being destroyed. Taken inside mmap_lock.
 * - A PTE mapping a subpage is set under its PTE table's lock, as every
 *   PTE; its folio reference and the subpage's mapcount are taken there
 *   (the folio's refcount: the page cache's one, plus one per PTE and per
 *   PMD mapping it).
 */
#include <errno.h>
#include <stdlib.h>

#include "cpu.h"
#include "machine.h"
#include "mm_internal.h"
#include "ptlab/race.h"
#include "ptlab/shmem.h"

struct shmem_file {
	struct file_pages pc;         /* the page cache: PMD-sized folios */
};

/* Shared with no other kind of file: owner ids differ by their bit. */
static atomic_uint next_file_id = 1;

struct shmem_file *shmem_file_create(uint64_t size)
{
	struct shmem_file *f = calloc(1, sizeof(*f));
	int ret = f ? file_pages_init(&f->pc, size, SHMEM_FILE_MAX, SHMEM_OWNER_BIT,
				      &next_file_id)
		    : -ENOMEM;

	if (ret) {
		free(f);
		errno = -ret;
		return NULL;
	}
	return f;
}

uint32_t shmem_file_id(const struct shmem_file *f)
{
	return f ? f->pc.id : 0;
}

int shmem_file_destroy(struct shmem_file *f)
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

struct i_mmap *shmem_file_i_mmap(struct shmem_file *f)
{
	return &f->pc.i_mmap;
}

struct page *shmem_file_folio(struct shmem_file *f, uint64_t off)
{
	return file_pages_lookup(&f->pc, off);
}

/* mirrors shmem_get_folio_gfp() (6.12) for a huge folio: the file's folio
 * at @off, allocated, named and recorded on first use; the page cache
 * holds one reference. NULL when no 2 MiB block is free. */
static struct page *shmem_get_folio(struct shmem_file *f, uint64_t off)
{
	return file_pages_get(&f->pc, off);
}

int64_t mm_mmap_shmem(struct mm_struct *mm, uint64_t addr, uint64_t len,
		      unsigned long vm_flags, struct shmem_file *f, uint64_t offset)
{
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm || !f || (vm_flags & ~(VM_READ | VM_WRITE)) || !len || len % PAGE_SIZE ||
	    addr % PAGE_SIZE || offset % PAGE_SIZE || offset > f->pc.size || len > f->pc.size - offset ||
	    !user_range_ok(addr ? addr : PAGE_SIZE, len))
		return -EINVAL;
	return mmap_region(mm, addr, len,
			   (struct vm_area_struct){ .vm_flags = vm_flags | VM_SHARED, .vm_shmem = f,
						    .vm_off = offset });
}

/*
 * mirrors do_read_fault()/do_shared_fault() (6.12) for a shmem VMA: the
 * folio from the page cache (shmem_fault()), then finish_fault(): a PTE
 * table if the PMD has none (do_set_pmd() falling back), and under its
 * lock a PTE for the subpage, with the folio reference and the subpage's
 * mapcount the mapping holds. A PMD that maps the folio huge already
 * (set_huge_pmd()) is left as it is. A shared mapping: the PTE is
 * writable where the VMA is (no copy on write, no write-notify).
 */
int shmem_fault(struct mm_struct *mm, struct vm_area_struct *vma, uint64_t addr)
{
	uint64_t off = vma->vm_off + ((addr & PAGE_MASK) - vma->vm_start);
	uint64_t prot = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
	struct page *folio, *page;
	struct pmd_slot *pmdp;

	mmap_assert_locked(mm);
	folio = shmem_get_folio(vma->vm_shmem, off);
	if (!folio)
		return -ENOMEM;
	page = pfn_to_page(page_to_pfn(folio) + ((off >> PAGE_SHIFT) & (HPAGE_PMD_NR - 1)));
	if (vma->vm_flags & VM_WRITE)
		prot |= _PAGE_RW | _PAGE_DIRTY;
	pmdp = pmd_alloc_walk(mm, addr);
	if (!pmdp)
		return -ENOMEM;
	for (;;) {
		pmd_t pmd = pmdp_get(pmdp);
		struct pte_slot *ptep;
		spinlock_t *ptl;
		int ret;

		if (pmd_trans_huge(pmd))
			return 0;
		if (pmd_none(pmd)) {
			ret = __pte_alloc(mm, pmdp);
			if (ret)
				return ret;
			continue;
		}
		/* The table may be retracted meanwhile (6.6+): again. */
		ptep = pte_offset_map_lock(mm, pmdp, addr, &ptl);
		if (!ptep)
			continue;
		if (pte_none(ptep_get(ptep))) {
			get_page(folio);
			atomic_fetch_add_explicit(&page->mapcount, 1, memory_order_relaxed);
			set_pte(ptep, pfn_pte(page_to_pfn(page), prot));
			atomic_fetch_add_explicit(&mm->shmem_rss, 1, memory_order_relaxed);
		}
		pte_unmap_unlock(ptep, ptl);
		return 0;
	}
}
