// SPDX-License-Identifier: MIT
/*
 * The page cache of a file whose pages are 2 MiB each, shared by hugetlb
 * files and shmem files (the kernel's address_space with its i_pages
 * xarray, reduced to one slot per 2 MiB). Locking: mm_internal.h,
 * struct file_pages.
 */
#include <errno.h>
#include <stdlib.h>

#include "machine.h"
#include "mm_internal.h"

int file_pages_init(struct file_pages *fp, uint64_t size, uint64_t max, uint32_t owner_bit,
		    atomic_uint *next_id)
{
	if (!size || size % HPAGE_PMD_SIZE || size > max)
		return -EINVAL;
	fp->pages = calloc(size / HPAGE_PMD_SIZE, sizeof(*fp->pages));
	if (!fp->pages)
		return -ENOMEM;
	fp->id = atomic_fetch_add_explicit(next_id, 1, memory_order_relaxed);
	fp->owner_bit = owner_bit;
	fp->size = size;
	spin_lock_init(&fp->lock);
	i_mmap_init(&fp->i_mmap);
	return 0;
}

int file_pages_release(struct file_pages *fp)
{
	if (i_mmap_mapped(&fp->i_mmap))
		return -EBUSY;
	/* Unmapped: the page cache's reference is each page's last. */
	for (uint64_t i = 0; i < fp->size / HPAGE_PMD_SIZE; i++)
		put_page(fp->pages[i]);
	free(fp->pages);
	i_mmap_free(&fp->i_mmap);
	return 0;
}

struct page *file_pages_lookup(struct file_pages *fp, uint64_t off)
{
	struct page *page;

	spin_lock(&fp->lock);
	page = fp->pages[off / HPAGE_PMD_SIZE];
	spin_unlock(&fp->lock);
	return page;
}

struct page *file_pages_get(struct file_pages *fp, uint64_t off)
{
	uint64_t i = off / HPAGE_PMD_SIZE;
	struct page *page = file_pages_lookup(fp, off), *cached;

	if (page)
		return page;
	page = alloc_huge_page();
	if (!page)
		return NULL;
	/* Named before any entry can map it (the release of the PTE or PMD
	 * that first maps it publishes these). */
	for (uint32_t k = 0; k < HPAGE_PMD_NR; k++) {
		struct page *p = pfn_to_page(page_to_pfn(page) + k);

		WRITE_ONCE(p->mm_id, fp->owner_bit | fp->id);
		WRITE_ONCE(p->index, i * HPAGE_PMD_SIZE + ((uint64_t)k << PAGE_SHIFT));
	}
	spin_lock(&fp->lock);
	cached = fp->pages[i];
	if (!cached)
		fp->pages[i] = page;
	spin_unlock(&fp->lock);
	/* Another fault got there first: its page is the file's. */
	if (cached)
		put_page(page);
	return cached ? cached : page;
}
