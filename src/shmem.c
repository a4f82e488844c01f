// SPDX-License-Identifier: MIT
/*
 * shmem files of huge folios and their faults (mirrors mm/shmem.c
 * shmem_fault() and the page cache's folio lookup, and mm/memory.c
 * do_read_fault()/do_shared_fault() -> finish_fault() for a folio that
 * do_set_pmd() would not map: include/ptlab/shmem.h says why).
 *
 * Locking:
 * - f->pages_lock (a spinlock): f->folios, the file's page cache.
 * - f->i_mmap.rwsem (the file's i_mmap_rwsem): for write by
 *   vma_file_remap() and, in the free retraction generation (6.1-6.5),
 *   by collapse_pte_mapped_thp() around the retraction; it protects
 *   f->i_mmap.maps. Nothing in ptlab walks a shmem file's mappings
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
	uint32_t id;
	uint64_t size;
	spinlock_t pages_lock;
	struct page **folios;         /* per 2 MiB of the file, or NULL */
	struct i_mmap i_mmap;
};

/* Shared with no other kind of file: owner ids differ by their bit. */
static atomic_uint next_file_id = 1;

struct shmem_file *shmem_file_create(uint64_t size)
{
	struct shmem_file *f;

	if (!size || size % HPAGE_PMD_SIZE || size > SHMEM_FILE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (f)
		f->folios = calloc(size / HPAGE_PMD_SIZE, sizeof(*f->folios));
	if (!f || !f->folios) {
		free(f);
		errno = ENOMEM;
		return NULL;
	}
	f->id = atomic_fetch_add_explicit(&next_file_id, 1, memory_order_relaxed);
	f->size = size;
	spin_lock_init(&f->pages_lock);
	i_mmap_init(&f->i_mmap);
	return f;
}

uint32_t shmem_file_id(const struct shmem_file *f)
{
	return f ? f->id : 0;
}

int shmem_file_destroy(struct shmem_file *f)
{
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!f)
		return -EINVAL;
	if (i_mmap_mapped(&f->i_mmap))
		return -EBUSY;
	/* Unmapped: the page cache's reference is each folio's last. */
	for (uint64_t i = 0; i < f->size / HPAGE_PMD_SIZE; i++)
		put_page(f->folios[i]);
	free(f->folios);
	i_mmap_free(&f->i_mmap);
	free(f);
	return 0;
}

struct i_mmap *shmem_file_i_mmap(struct shmem_file *f)
{
	return &f->i_mmap;
}

struct page *shmem_file_folio(struct shmem_file *f, uint64_t off)
{
	struct page *folio;

	spin_lock(&f->pages_lock);
	folio = f->folios[off / HPAGE_PMD_SIZE];
	spin_unlock(&f->pages_lock);
	return folio;
}

/* mirrors shmem_get_folio_gfp() (6.12) for a huge folio: the file's folio
 * at @off, allocated, named and recorded on first use; the page cache
 * holds one reference. NULL when no 2 MiB block is free. */
static struct page *shmem_get_folio(struct shmem_file *f, uint64_t off)
{
	uint64_t i = off / HPAGE_PMD_SIZE;
	struct page *folio = shmem_file_folio(f, off);

	if (folio)
		return folio;
	folio = alloc_huge_page();
	if (!folio)
		return NULL;
	/* Named before any entry can map it (the release of the PTE or PMD
	 * that first maps it publishes these). */
	for (uint32_t k = 0; k < HPAGE_PMD_NR; k++) {
		struct page *p = pfn_to_page(page_to_pfn(folio) + k);

		WRITE_ONCE(p->mm_id, SHMEM_OWNER_BIT | f->id);
		WRITE_ONCE(p->index, i * HPAGE_PMD_SIZE + ((uint64_t)k << PAGE_SHIFT));
	}
	spin_lock(&f->pages_lock);
	if (f->folios[i]) {
		spin_unlock(&f->pages_lock);
		put_page(folio);
		return shmem_file_folio(f, off);
	}
	f->folios[i] = folio;
	spin_unlock(&f->pages_lock);
	return folio;
}

int64_t mm_mmap_shmem(struct mm_struct *mm, uint64_t addr, uint64_t len,
		      unsigned long vm_flags, struct shmem_file *f, uint64_t offset)
{
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm || !f || (vm_flags & ~(VM_READ | VM_WRITE)) || !len || len % PAGE_SIZE ||
	    addr % PAGE_SIZE || offset % PAGE_SIZE || offset > f->size || len > f->size - offset ||
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
