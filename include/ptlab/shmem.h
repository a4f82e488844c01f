/* SPDX-License-Identifier: MIT */
/*
 * shmem files whose pages are huge folios, and their shared mappings
 * (mirrors mm/shmem.c and the file-THP paths of mm/memory.c and
 * mm/huge_memory.c, for what the retraction of file THP page tables
 * needs: collapse_pte_mapped_thp() in ptlab/huge.h).
 *
 * A shmem file holds one 2 MiB folio (a THP) per 2 MiB, allocated on
 * first fault and kept until the file is destroyed (the page cache's
 * reference), as a tmpfs mounted huge=always whose pages khugepaged
 * already collapsed. A MAP_SHARED mapping of it maps the folio's subpages
 * with PTEs when they are faulted in: ptlab's shmem fault is the kernel's
 * finish_fault() when do_set_pmd() falls back, as in a VM_NOHUGEPAGE VMA
 * (6.8+). Only collapse_pte_mapped_thp() with @install_pmd maps the
 * folio by a huge PMD (MADV_COLLAPSE's set_huge_pmd()); a zap or a split
 * of that PMD just clears it, as the kernel's does for a file THP. The
 * pages stay the file's whatever maps them: their struct pages carry the
 * file's owner id and their file offset (page->mm_id, page->index).
 */
#ifndef PTLAB_SHMEM_H
#define PTLAB_SHMEM_H

#include <stdint.h>

#include "ptlab/mm.h"

struct shmem_file;

/* Files are at most this large (and at least 2 MiB). */
#define SHMEM_FILE_MAX (1ULL << 36)

/* A file of @size bytes, a multiple of 2 MiB in [2 MiB, SHMEM_FILE_MAX];
 * NULL with errno EINVAL or ENOMEM (no CPU needed). */
struct shmem_file *shmem_file_create(uint64_t size);
/* Frees the file and its folios; -EBUSY while an mm maps it, -EINVAL for
 * NULL, -EPERM when the caller is not a CPU. */
int shmem_file_destroy(struct shmem_file *f);
/* A small number naming the file in reports and in struct page. */
uint32_t shmem_file_id(const struct shmem_file *f);

/*
 * mmap(MAP_SHARED) of [offset, offset + len) of @f at @addr (0: a free
 * 2 MiB-aligned range), @vm_flags of VM_READ | VM_WRITE. @addr, @len and
 * @offset must be page-aligned and inside the file; a 2 MiB range of the
 * mapping can be mapped huge only where the address and the file offset
 * are both 2 MiB-aligned. Returns the address or -EINVAL, -EEXIST,
 * -ENOMEM, -EPERM as mm_mmap().
 */
int64_t mm_mmap_shmem(struct mm_struct *mm, uint64_t addr, uint64_t len,
		      unsigned long vm_flags, struct shmem_file *f, uint64_t offset);

/* The owner id the struct pages of @f's folios carry (page->mm_id), so
 * that a walker's page can be told from another file's or an mm's. */
#define SHMEM_OWNER_BIT 0x40000000U

#endif /* PTLAB_SHMEM_H */
